/*
 * enrol.c — the steps of one enrolment in order, each recorded before the
 * next side effect: the certificate is in the journal (ISSUED) before its
 * key is delivered or it is published, so a crash never loses an issued
 * certificate nor leaves one of ours on an entry that the journal would call
 * foreign. The private key lives only in memory between keys_generate() and
 * delivery, and is freed (cleansed) on every path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/audit.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

static const enum jrnl_state fresh[] = { JRNL_PLANNED, JRNL_KEY_READY,
    JRNL_SUBMITTED };
static const enum jrnl_state issued[] = { JRNL_ISSUED };
static const enum jrnl_state published[] = { JRNL_PUBLISHED };

struct enr_orphans {
	const char	*person, *mail;
	X509		*keep;
	struct jrnl	*j;
	X509		*found[16];
	int		 moved[16];	/* for an address no longer theirs */
	int		 n;
};

static int
enr_orphan_cb(const struct jrnl_cert *r, void *arg)
{
	struct enr_orphans *o = arg;
	int moved = strcmp(r->mail, o->mail) != 0;
	X509 *c;

	if (r->state == JRNL_CERT_REVOKED || (r->state != JRNL_CERT_ISSUED &&
	    !moved) || strcmp(r->person_id, o->person) || o->n == 16 ||
	    r->not_after < time(NULL))
		return 0;
	if ((c = jrnl_cert_x509(o->j, r)) == NULL)
		return 0;
	if (X509_cmp(c, o->keep) == 0)
		X509_free(c);
	else {
		o->moved[o->n] = moved;
		o->found[o->n++] = c;
	}
	return 0;
}

/* The first enrolment of a pass that found the CA unreachable says so once
 * for the pass, and the rest of the pass does not ask it. */
static void
enr_ca_unreachable(struct enr_ctx *e, const char *why)
{
	if (e->ca_down == NULL || atomic_exchange(e->ca_down, 1))
		return;
	log_warn("CA %s is unreachable (%s): the rest of this pass does not "
	    "ask it; those people are due again at the next pass, and none "
	    "of this counts towards sync.max_attempts", ca_name(e->ca), why);
}

/*
 * Certificates of this person that the new one supersedes, revoked so that
 * no unaccounted certificate stays valid (DESIGN.md: "found and
 * revoked"): those issued but never published (an enrolment a crash
 * interrupted after the CA answered, an answer that failed the check), and
 * any still valid for an address that is no longer the person's (an
 * address change, however the enrolment for the new one came about: a
 * pending CA, a failed renewal first). A renewal's predecessor at the same
 * address is not revoked: it stays valid for what was encrypted to it.
 */
static void
enr_revoke_orphans(struct enr_ctx *e, const char *mail, const char *person,
    X509 *keep)
{
	struct enr_orphans o;
	int i;

	memset(&o, 0, sizeof(o));
	o.person = person;
	o.mail = mail;
	o.keep = keep;
	o.j = e->jrnl;
	if (jrnl_cert_each_person(e->jrnl, person, enr_orphan_cb,
	    &o) == -1)
		return;
	for (i = 0; i < o.n; i++) {
		if (enr_ca_revoke(e, o.found[i], CA_REASON_SUPERSEDED) == 0 &&
		    jrnl_cert_put(e->jrnl, o.found[i], NULL, NULL,
		    JRNL_CERT_REVOKED) == 0) {
			log_info("%s: revoked a certificate %s", mail,
			    o.moved[i] ? "for the person's former address" :
			    "issued but never published");
			(void)audit_event("revocation", person, mail,
			    o.found[i], ca_name(e->ca), "revoked",
			    o.moved[i] ? "superseded: a former address" :
			    "superseded: issued but never published");
		}
		X509_free(o.found[i]);
	}
}

static time_t
enr_not_after(X509 *cert)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	return timegm(&tm);
}

struct enr_find {
	const char	*person, *serial;
	struct jrnl	*j;
	X509		*found;
};

static int
enr_find_cb(const struct jrnl_cert *r, void *arg)
{
	struct enr_find *f = arg;

	if (f->found != NULL || strcmp(r->person_id, f->person) != 0 ||
	    strcmp(r->serial, f->serial) != 0)
		return 0;
	f->found = jrnl_cert_x509(f->j, r);
	return 0;
}

/*
 * Where an interrupted enrolment picks up. A crash, or a step that failed
 * (the CA down, delivery refused), left the key sealed in the journal
 * (keystore.c): with it, the CA is asked again for the same key rather than
 * a new one, and a certificate already issued is delivered and published
 * rather than issued twice. Returns the state to go on from: PLANNED (start
 * afresh), SUBMITTED (*key set: ask the CA), ISSUED (*key, *cert, *chain:
 * deliver) or DELIVERED (*cert, *chain: publish).
 */
static enum jrnl_state
enr_resume(struct enr_ctx *e, const struct jrnl_enr *old, const char *mail,
    EVP_PKEY **key, X509 **cert, STACK_OF(X509) **chain)
{
	enum jrnl_state from;
	struct enr_find f;

	from = old->state == JRNL_FAILED ? old->failed_in : old->state;
	if (old->person_id[0] == '\0')
		return JRNL_PLANNED;
	if (from < JRNL_KEY_READY || from > JRNL_DELIVERED ||
	    strcmp(old->mail, mail) != 0) {
		(void)enr_keystore_drop(e->jrnl, old->person_id);	/* stale: a new address */
		return JRNL_PLANNED;
	}
	if (enr_keystore_take(e->cfg->sync.state_dir, e->jrnl, old->person_id, key,
	    chain) != 0)
		return JRNL_PLANNED;	/* nothing held (or logged why) */
	if (from < JRNL_ISSUED || old->serial[0] == '\0')
		goto submit;
	memset(&f, 0, sizeof(f));
	f.person = old->person_id;
	f.serial = old->serial;
	f.j = e->jrnl;
	(void)jrnl_cert_each_person(e->jrnl, old->person_id, enr_find_cb,
	    &f);
	if (f.found == NULL || X509_check_private_key(f.found, *key) != 1) {
		X509_free(f.found);
		goto submit;
	}
	*cert = f.found;
	log_info("%s: resuming the enrolment left in %s with serial %s", mail,
	    jrnl_state_str(from), old->serial);
	return from;
submit:
	/* ca_enrol/ca_poll clear the result: the CA's answer has its chain */
	sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
	return JRNL_SUBMITTED;
}

/* The new key's PKCS#12, with keys.deliver_history's earlier keys. */
static int
enr_deliver_new(struct enr_ctx *e, const char *mail, const char *person,
    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, const char *serial,
    char **p12)
{
	struct keys_bag b;
	char name[384];

	snprintf(name, sizeof(name), "%s decryption key, serial %s", mail,
	    serial);
	b.key = key;
	b.cert = cert;
	/* named only beside other keys: alone, the PKCS#12 is as before */
	b.name = e->cfg->keys.deliver_history > 0 ? name : NULL;
	return enr_history_deliver(e, mail, person, &b, 1, chain, serial, p12);
}

enum enr_outcome
enr_enrol(struct enr_ctx *e, const char *mail, const char *person_id)
{
	struct ca_result res;
	struct jrnl_enr r, old;
	struct enr_group g;
	struct dir_person *p = NULL;
	char why[256];
	int crc, asked = 0;
	double t0;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	char *serial = NULL, *p12 = NULL;
	enum jrnl_state from;
	enum enr_outcome rc = ENR_FAILED;

	memset(&res, 0, sizeof(res));
	memset(&r, 0, sizeof(r));
	memset(&old, 0, sizeof(old));
	log_clear_err();
	if (person_id != NULL && jrnl_enr_get(e->jrnl, person_id, &r) == 1) {
		snprintf(r.person_id, sizeof(r.person_id), "%s", person_id);
		snprintf(r.mail, sizeof(r.mail), "%s", mail);
		r.state = JRNL_PLANNED;
	}
	if (dir_find_by_mail(e->dir, mail, &p) != 0)
		goto out;
	if (p->id == NULL) {
		dir_id_problem(e->dir, p, why, sizeof(why));
		log_err("%s: not enrolled: %s", mail, why);
		goto out;
	}
	enr_record_init(&r, &old, p, mail, e->jrnl);
	from = enr_resume(e, &old, mail, &key, &res.cert, &res.chain);
	/* the step this enrolment is in: what a failure from here records
	 * as failed_in, so the next attempt resumes there (not FAILED, the
	 * state of the record it was read from) */
	r.state = from;
	if (from <= JRNL_SUBMITTED && e->ca_down != NULL &&
	    atomic_load(e->ca_down)) {
		/* no key made, nothing sent: next pass */
		rc = ENR_CA_DOWN;
		goto out;
	}
	if (from == JRNL_PLANNED) {
		r.state = JRNL_PLANNED;	/* where a failure from here is */
		/* pre-generated in idle time (keys.pool_size), else now */
		if ((key = enr_keypool_take(e->keypool, e->cfg->keys.type)) == NULL &&
		    (key = keys_generate(e->cfg->keys.type)) == NULL)
			goto out;
	}
	if (from <= JRNL_SUBMITTED) {
		if ((csr = keys_csr_new(key, mail, p->display_name)) == NULL)
			goto out;
		/* the first outside effect is the CA request: until then one
		 * commit, with the key sealed (a crash from here on resumes
		 * with this key) */
		memset(&g, 0, sizeof(g));
		g.steps = from == JRNL_PLANNED ? fresh : fresh + 2;
		g.nsteps = from == JRNL_PLANNED ? 3 : 1;
		g.key = from == JRNL_PLANNED ? key : NULL;
		if (enr_group(e, &r, &g) == -1)
			goto out;
		if (e->ca_lock != NULL)
			pthread_mutex_lock(e->ca_lock);
		t0 = enr_clock();
		/* a pending request is polled, with the key it was made
		 * for, rather than sent again */
		if (from == JRNL_SUBMITTED && old.txid[0] != '\0')
			crc = ca_poll(e->ca, old.txid, csr, mail, &res);
		else
			crc = ca_enrol(e->ca, csr, mail, &res);
		enr_observe_ca(e, t0);
		if (e->ca_lock != NULL)
			pthread_mutex_unlock(e->ca_lock);
		/* the CA has issued, nothing of it is recorded yet */
		enr_failpoint("CA_ANSWERED");
		if (crc == -1) {
			if (res.status == CA_REJECTED && res.cert != NULL) {
				/* issued but unfit: journal it to revoke it */
				(void)jrnl_cert_put(e->jrnl, res.cert, mail,
				    p->id, JRNL_CERT_ISSUED);
				(void)audit_event_at("issuance", p->id, mail,
				    res.cert, ca_name(e->ca), "refused",
				    res.reason, p->dn, NULL);
			}
			/* the driver logged why; keep it as the reason */
			snprintf(why, sizeof(why), "%s", res.reason ?
			    res.reason : log_last_err());
			log_err("%s: enrolment with CA %s failed%s%s", mail,
			    ca_name(e->ca), why[0] ? ": " : "", why);
			if (res.status != CA_REJECTED) {
				/* not asked, or no readable answer */
				enr_ca_unreachable(e, why);
				asked = 1;
				rc = ENR_CA_DOWN;
			}
			goto out;
		}
		if (res.status == CA_REJECTED) {
			log_err("%s: CA %s rejected the request: %s", mail,
			    ca_name(e->ca), res.reason ? res.reason :
			    "no reason");
			goto out;
		}
		if (res.status == CA_PENDING) {
			/* the key stays sealed in the journal (keystore.c);
			 * the next pass after retry_after polls */
			if (res.txid == NULL || res.txid[0] == '\0' ||
			    strlen(res.txid) >= sizeof(r.txid)) {
				log_err("%s: CA %s answered pending without a "
				    "usable transaction id", mail,
				    ca_name(e->ca));
				goto out;
			}
			snprintf(r.txid, sizeof(r.txid), "%s", res.txid);
			r.next_retry = res.retry_after;
			if (enr_step(e, &r, JRNL_SUBMITTED) == -1)
				goto out;
			log_info("%s: CA %s answered pending (transaction "
			    "%.64s%s); polling again after %lds", mail,
			    ca_name(e->ca), res.txid, strlen(res.txid) > 64 ?
			    "..." : "", (long)(res.retry_after - time(NULL)));
			rc = ENR_PENDING;
			goto out;
		}
		r.txid[0] = '\0';
		r.next_retry = 0;
		serial = x509_serial_hex(res.cert);
		snprintf(r.serial, sizeof(r.serial), "%s", serial ? serial :
		    "");
		r.not_after = enr_not_after(res.cert);
		/* the certificate, and the chain joining the key (for a
		 * delivery after a crash), with ISSUED in one commit */
		memset(&g, 0, sizeof(g));
		g.steps = issued;
		g.nsteps = 1;
		g.key = key;
		g.chain = res.chain;
		g.cert = res.cert;
		g.cert_state = JRNL_CERT_ISSUED;
		if (enr_group(e, &r, &g) == -1)
			goto out;
		(void)audit_event_at("issuance", p->id, mail, res.cert,
		    ca_name(e->ca), "issued", NULL, p->dn, NULL);
	} else {
		serial = x509_serial_hex(res.cert);
		snprintf(r.serial, sizeof(r.serial), "%s", serial ? serial :
		    "");
		r.not_after = enr_not_after(res.cert);
	}
	if (from <= JRNL_ISSUED) {
		if (enr_escrow(e->cfg, key, res.cert) == -1 ||
		    enr_history_keep(e, p->id, key, r.serial) == -1)
			goto out;
		if (enr_deliver_new(e, mail, p->id, key, res.cert, res.chain,
		    r.serial, &p12) == -1)
			goto out;
		EVP_PKEY_free(key);	/* delivered: no copy stays here */
		key = NULL;
		if (enr_step(e, &r, JRNL_DELIVERED) == -1)
			goto out;
		/* keys.deliver_history's newest N stay kept (0: none) */
		enr_history_prune(e, p->id, e->cfg->keys.deliver_history);
	}
	/* by the id the person was found under: no second search by mail */
	if (enr_publish(e->jrnl, e->dir, p->id, res.cert, res.chain) == -1)
		goto out;
	r.attempts = 0;
	memset(&g, 0, sizeof(g));
	g.steps = published;
	g.nsteps = 1;
	g.cert = res.cert;
	g.cert_state = JRNL_CERT_PUBLISHED;
	if (enr_group(e, &r, &g) == -1)
		goto out;
	(void)audit_event_at("publication", p->id, mail, res.cert,
	    ca_name(e->ca), "published", NULL, p->dn, NULL);
	enr_status(e, p->dn, "published", &r);
	enr_revoke_orphans(e, mail, p->id, res.cert);
	log_info("%s: issued serial %s by %s, delivered%s%s, published on "
	    "%s", mail, serial ? serial : "?", ca_name(e->ca), p12 ? " to " :
	    " before", p12 ? p12 : "", p->dn);
	rc = ENR_DONE;
out:
	if (rc == ENR_FAILED) {
		enr_fail(e, &r);
		if (p != NULL)
			enr_status(e, p->dn, "failed", &r);
	} else if (rc == ENR_CA_DOWN && enr_fail_ca(e, &r, &old,
	    asked ? why : NULL) &&
	    p != NULL)
		enr_status(e, p->dn, "failed", &r);
	EVP_PKEY_free(key);
	X509_REQ_free(csr);
	ca_result_clear(&res);
	dir_person_free(p);
	free(serial);
	free(p12);
	return rc;
}
