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

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/audit.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"
#include "sync/deliver.h"
#include "sync/enrol.h"
#include "sync/keypool.h"
#include "sync/keystore.h"

/* Crash tests: die here, as a power cut would (no cleanup, no flush of
 * anything else), when SMIMEPUB_TEST_FAILPOINT names this point. */
static void
enr_failpoint(const char *name)
{
	const char *fp = getenv("SMIMEPUB_TEST_FAILPOINT");

	if (fp != NULL && strcmp(fp, name) == 0)
		_exit(99);
}

/* Commit the next state before the side effect that follows it. */
static int
enr_step(struct enr_ctx *e, struct jrnl_enr *r, enum jrnl_state st)
{
	int rc;

	r->state = st;
	if (st != JRNL_FAILED) {
		r->reason[0] = '\0';
		r->failed_in = 0;
	}
	rc = jrnl_enr_put(e->jrnl, r);
	if (rc == 0)
		enr_failpoint(jrnl_state_str(st));	/* right after the commit */
	return rc;
}

/*
 * Steps with no outside effect between them, committed together (one fsync
 * for all, and a crash keeps all or none): the certificate in cert_state
 * (when cert is set), the key and chain sealed (when key is set), then the
 * transitions in order, each in the history. Each step's failpoint fires
 * after the commit, as enr_step's does.
 */
struct enr_group {
	const enum jrnl_state	*steps;
	size_t			 nsteps;
	EVP_PKEY		*key;		/* hold: borrowed */
	STACK_OF(X509)		*chain;
	X509			*cert;		/* record: borrowed */
	enum jrnl_cert_state	 cert_state;
};

static const enum jrnl_state fresh[] = { JRNL_PLANNED, JRNL_KEY_READY,
    JRNL_SUBMITTED };
static const enum jrnl_state issued[] = { JRNL_ISSUED };
static const enum jrnl_state published[] = { JRNL_PUBLISHED };

static int
enr_group(struct enr_ctx *e, struct jrnl_enr *r, const struct enr_group *g)
{
	struct jrnl_tx *tx;
	size_t i;

	if ((tx = jrnl_tx_begin(e->jrnl)) == NULL)
		return -1;
	if (g->cert != NULL && jrnl_tx_cert_put(tx, g->cert, r->mail,
	    r->person_id, g->cert_state) == -1)
		goto fail;
	if (g->key != NULL && ks_hold(e->cfg->sync.state_dir, tx,
	    r->person_id, g->key, g->chain) == -1)
		goto fail;
	for (i = 0; i < g->nsteps; i++) {
		r->state = g->steps[i];
		r->reason[0] = '\0';
		r->failed_in = 0;
		if (jrnl_tx_enr_put(tx, r) == -1)
			goto fail;
	}
	if (jrnl_tx_commit(tx) == -1) {
		r->state = g->steps[0];	/* none of them happened */
		return -1;
	}
	for (i = 0; i < g->nsteps; i++)
		enr_failpoint(jrnl_state_str(g->steps[i]));
	return 0;
fail:
	jrnl_tx_abort(tx);
	r->state = g->steps[0];
	return -1;
}

/* delay plus up to a quarter of it at random, so that people who failed
 * together (a CA outage) do not all come back in the same second */
static time_t
enr_jitter(long delay)
{
	unsigned char rnd[2] = { 0, 0 };

	(void)RAND_bytes(rnd, sizeof(rnd));
	return time(NULL) + delay + delay / 4 * ((long)rnd[0] << 8 | rnd[1]) /
	    65535;
}

/* Record the failure of the step r was in, with the last logged error. */
static void
enr_fail(struct enr_ctx *e, struct jrnl_enr *r)
{
	if (r->person_id[0] == '\0')
		return;
	long delay;

	r->failed_in = r->state;
	r->attempts++;
	/* exponential backoff, 1 min doubling to at most a day */
	delay = 60L << (r->attempts > 11 ? 10 : r->attempts - 1);
	if (delay > 86400)
		delay = 86400;
	r->next_retry = enr_jitter(delay);
	snprintf(r->reason, sizeof(r->reason), "%s", log_last_err()[0] ?
	    log_last_err() : "failed");
	(void)audit_event("failure", r->person_id, r->mail, NULL,
	    ca_name(e->ca), jrnl_state_str(r->failed_in), r->reason);
	(void)enr_step(e, r, JRNL_FAILED);
}

/*
 * The CA could not be asked: down, unreachable, or an answer that could not
 * be read. That says nothing about this person, so it is not counted
 * towards sync.max_attempts (an outage of a day must not leave everyone to
 * a manual `smimepub enrol`). why: this enrolment asked and the driver
 * said why it failed (it may ask again after a minute); NULL: an earlier
 * one in this pass did, and this one was not sent (due at the next pass).
 * 1 if the journal changed.
 */
static int
enr_fail_ca(struct enr_ctx *e, struct jrnl_enr *r, const struct jrnl_enr *old,
    const char *why)
{
	if (r->person_id[0] == '\0')
		return 0;
	r->failed_in = r->state;
	if (why != NULL) {
		snprintf(r->reason, sizeof(r->reason), "CA %s unreachable (not "
		    "counted as an attempt): %.*s", ca_name(e->ca),
		    (int)(sizeof(r->reason) / 2), why[0] ? why : "no answer");
		r->next_retry = enr_jitter(60);
		(void)audit_event("failure", r->person_id, r->mail, NULL,
		    ca_name(e->ca), jrnl_state_str(r->failed_in), r->reason);
	} else {
		snprintf(r->reason, sizeof(r->reason), "not sent: CA %s was "
		    "unreachable earlier in the same pass", ca_name(e->ca));
		r->next_retry = 0;
		/* once per outage, not once a pass: the history (and the
		 * status on the entry) would grow by a line every pass */
		if (old->state == JRNL_FAILED && old->next_retry == 0 &&
		    strcmp(old->reason, r->reason) == 0)
			return 0;
	}
	/* enr_step() would clear the reason: FAILED keeps it */
	(void)enr_step(e, r, JRNL_FAILED);
	return 1;
}

/* r for p at mail, from its journal record (kept in *oldp, if asked for,
 * zeroed when there is none). */
static void
enr_record_init(struct jrnl_enr *r, struct jrnl_enr *oldp,
    const struct dir_person *p, const char *mail, struct jrnl *j)
{
	struct jrnl_enr old;

	memset(r, 0, sizeof(*r));
	if (jrnl_enr_get(j, p->id, &old) == 0)
		*r = old;	/* keeps attempts and the current serial */
	else
		memset(&old, 0, sizeof(old));
	if (oldp != NULL)
		*oldp = old;
	snprintf(r->person_id, sizeof(r->person_id), "%s", p->id);
	snprintf(r->mail, sizeof(r->mail), "%s", mail);
}

static int
enr_is_ours(X509 *cert, void *arg)
{
	return jrnl_cert_is_ours(arg, cert) == 1;
}

/* Journal every certificate of ours that the entry held, but keep. */
static void
enr_mark_replaced(struct jrnl *j, const struct dir_person *p, X509 *keep,
    enum jrnl_cert_state state)
{
	X509 *c;
	size_t i;

	for (i = 0; p != NULL && i < p->n_usercert; i++) {
		c = x509_from_der(p->usercert[i].data, p->usercert[i].len);
		if (c == NULL)
			continue;
		if ((keep == NULL || X509_cmp(c, keep) != 0) &&
		    jrnl_cert_is_ours(j, c) == 1)
			(void)jrnl_cert_put(j, c, NULL, NULL, state);
		X509_free(c);
	}
}

/* The one-line status on the entry (directory.status_attribute). */
static void
enr_status(struct enr_ctx *e, const char *dn, const char *what,
    const struct jrnl_enr *r)
{
	char line[512], na[32];
	struct tm tm;

	if (e->cfg->directory.status_attribute == NULL || dn == NULL)
		return;
	na[0] = '\0';
	if (r->not_after != 0 && gmtime_r(&r->not_after, &tm) != NULL)
		strftime(na, sizeof(na), "%Y-%m-%d", &tm);
	if (r->state == JRNL_FAILED && r->attempts == 0)
		snprintf(line, sizeof(line), "smimepub: failed in %s: %s",
		    jrnl_state_str(r->failed_in), r->reason);
	else if (r->state == JRNL_FAILED)
		snprintf(line, sizeof(line), "smimepub: failed in %s (attempt "
		    "%d): %s", jrnl_state_str(r->failed_in), r->attempts,
		    r->reason);
	else
		snprintf(line, sizeof(line), "smimepub: %s%s%s%s%s", what,
		    r->serial[0] ? " serial " : "", r->serial,
		    na[0] ? ", valid until " : "", na);
	(void)dir_set_status(e->dir, dn, line);
}

struct enr_orphans {
	const char	*person;
	X509		*keep;
	struct jrnl	*j;
	X509		*found[16];
	int		 n;
};

static int
enr_orphan_cb(const struct jrnl_cert *r, void *arg)
{
	struct enr_orphans *o = arg;
	X509 *c;

	if (r->state != JRNL_CERT_ISSUED || strcmp(r->person_id, o->person) ||
	    o->n == 16 || r->not_after < time(NULL))
		return 0;
	if ((c = jrnl_cert_x509(o->j, r)) == NULL)
		return 0;
	if (X509_cmp(c, o->keep) == 0)
		X509_free(c);
	else
		o->found[o->n++] = c;
	return 0;
}

static int enr_ca_revoke(struct enr_ctx *, X509 *, int);

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
 * Certificates of this person that were issued but never published: an
 * enrolment a crash interrupted after the CA answered, or an answer that
 * failed the check. The new certificate supersedes them; revoke them so no
 * unaccounted certificate stays valid (DESIGN.md: "found and revoked").
 */
static void
enr_revoke_orphans(struct enr_ctx *e, const char *mail, const char *person,
    X509 *keep)
{
	struct enr_orphans o;
	int i;

	memset(&o, 0, sizeof(o));
	o.person = person;
	o.keep = keep;
	o.j = e->jrnl;
	if (jrnl_cert_each_person(e->jrnl, person, enr_orphan_cb,
	    &o) == -1)
		return;
	for (i = 0; i < o.n; i++) {
		if (enr_ca_revoke(e, o.found[i], CA_REASON_SUPERSEDED) == 0 &&
		    jrnl_cert_put(e->jrnl, o.found[i], NULL, NULL,
		    JRNL_CERT_REVOKED) == 0) {
			log_info("%s: revoked a certificate issued but never "
			    "published", mail);
			(void)audit_event("revocation", person, mail,
			    o.found[i], ca_name(e->ca), "revoked",
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
		(void)ks_drop(e->jrnl, old->person_id);	/* stale: a new address */
		return JRNL_PLANNED;
	}
	if (ks_take(e->cfg->sync.state_dir, e->jrnl, old->person_id, key,
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

enum enr_outcome
enr_enrol(struct enr_ctx *e, const char *mail, const char *person_id)
{
	struct ca_result res;
	struct jrnl_enr r, old;
	struct enr_group g;
	struct dir_person *p = NULL, *before = NULL;
	char why[256];
	int crc, asked = 0;
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
	enr_record_init(&r, &old, p, mail, e->jrnl);
	from = enr_resume(e, &old, mail, &key, &res.cert, &res.chain);
	if (r.state == 0)
		r.state = JRNL_PLANNED;	/* a person new to the journal */
	if (from <= JRNL_SUBMITTED && e->ca_down != NULL &&
	    atomic_load(e->ca_down)) {
		/* no key made, nothing sent: next pass */
		rc = ENR_CA_DOWN;
		goto out;
	}
	if (from == JRNL_PLANNED) {
		r.state = JRNL_PLANNED;	/* where a failure from here is */
		/* pre-generated in idle time (keys.pool_size), else now */
		if ((key = kp_take(e->keypool, e->cfg->keys.type)) == NULL &&
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
		/* a pending request is polled, with the key it was made
		 * for, rather than sent again */
		if (from == JRNL_SUBMITTED && old.txid[0] != '\0')
			crc = ca_poll(e->ca, old.txid, csr, mail, &res);
		else
			crc = ca_enrol(e->ca, csr, mail, &res);
		if (e->ca_lock != NULL)
			pthread_mutex_unlock(e->ca_lock);
		/* the CA has issued, nothing of it is recorded yet */
		enr_failpoint("CA_ANSWERED");
		if (crc == -1) {
			if (res.status == CA_REJECTED && res.cert != NULL) {
				/* issued but unfit: journal it to revoke it */
				(void)jrnl_cert_put(e->jrnl, res.cert, mail,
				    p->id, JRNL_CERT_ISSUED);
				(void)audit_event("issuance", p->id, mail,
				    res.cert, ca_name(e->ca), "refused",
				    res.reason);
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
		(void)audit_event("issuance", p->id, mail, res.cert,
		    ca_name(e->ca), "issued", NULL);
	} else {
		serial = x509_serial_hex(res.cert);
		snprintf(r.serial, sizeof(r.serial), "%s", serial ? serial :
		    "");
		r.not_after = enr_not_after(res.cert);
	}
	if (from <= JRNL_ISSUED) {
		if (dlv_escrow(e->cfg, key, res.cert) == -1)
			goto out;
		if (dlv_deliver(&e->cfg->keys, mail, key, res.cert, res.chain,
		    &p12) == -1)
			goto out;
		EVP_PKEY_free(key);	/* delivered: no copy stays here */
		key = NULL;
		if (enr_step(e, &r, JRNL_DELIVERED) == -1)
			goto out;
	}
	if (dir_publish(e->dir, mail, res.cert, res.chain, enr_is_ours,
	    e->jrnl, &before) == -1)
		goto out;
	r.attempts = 0;
	memset(&g, 0, sizeof(g));
	g.steps = published;
	g.nsteps = 1;
	g.cert = res.cert;
	g.cert_state = JRNL_CERT_PUBLISHED;
	if (enr_group(e, &r, &g) == -1)
		goto out;
	(void)audit_event("publication", p->id, mail, res.cert, ca_name(e->ca),
	    "published", NULL);
	enr_status(e, p->dn, "published", &r);
	enr_revoke_orphans(e, mail, p->id, res.cert);
	enr_mark_replaced(e->jrnl, before, res.cert, JRNL_CERT_UNPUBLISHED);
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
	dir_person_free(before);
	dir_person_free(p);
	free(serial);
	free(p12);
	return rc;
}

struct enr_revoke_arg {
	const char	*mail;
	struct jrnl_cert *todo;		/* collected first, acted on after */
	size_t		 n, cap;
};

static int
enr_revoke_collect(const struct jrnl_cert *r, void *arg)
{
	struct enr_revoke_arg *a = arg;
	struct jrnl_cert *t;

	if (strcmp(r->mail, a->mail) != 0 || r->state == JRNL_CERT_REVOKED ||
	    r->not_after < time(NULL))	/* expired: nothing to revoke */
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4;

		if ((t = reallocarray(a->todo, cap, sizeof(*t))) == NULL)
			return -1;
		a->todo = t;
		a->cap = cap;
	}
	a->todo[a->n++] = *r;
	return 0;
}

static int
enr_ca_revoke(struct enr_ctx *e, X509 *c, int reason)
{
	int rc;

	if (e->ca_lock != NULL)
		pthread_mutex_lock(e->ca_lock);
	rc = ca_revoke(e->ca, c, reason);
	if (e->ca_lock != NULL)
		pthread_mutex_unlock(e->ca_lock);
	return rc;
}

/* Revoke each collected certificate at the CA; returns how many failed. */
static int
enr_revoke_all(struct enr_ctx *e, struct enr_revoke_arg *a, int reason)
{
	const struct jrnl_cert *r;
	X509 *c;
	size_t i;
	int failed = 0;

	for (i = 0; i < a->n; i++) {
		r = &a->todo[i];
		if ((c = jrnl_cert_x509(e->jrnl, r)) == NULL ||
		    enr_ca_revoke(e, c, reason) == -1 ||
		    jrnl_cert_put(e->jrnl, c, r->mail, r->person_id,
		    JRNL_CERT_REVOKED) == -1)
			failed++;
		else {
			log_info("%s: revoked serial %s (%s)", r->mail,
			    r->serial, ca_reason_str(reason));
			(void)audit_event("revocation", r->person_id, r->mail,
			    c, ca_name(e->ca), "revoked", ca_reason_str(reason));
		}
		X509_free(c);
	}
	return failed;
}

/*
 * A leaver no longer under base: find the entry by its stable id anywhere
 * in the naming context (moved to another OU) and take our certificates
 * off it there. A DC that refuses (the service account may write in the
 * people OU only) is recorded (journal reason, audit outcome "refused"),
 * not failed: the revocation stands. *removed counts what was taken off.
 */
static void
enr_unpublish_moved(struct enr_ctx *e, const char *mail, const char *id,
    struct jrnl_enr *r, size_t *removed)
{
	char *dn = NULL;
	int rc;

	rc = dir_unpublish_id(e->dir, id, enr_is_ours, e->jrnl, removed, &dn);
	if (rc == 1)
		log_warn("%s: not in the directory (deleted?); revoked, "
		    "nothing to unpublish", mail);
	else if (rc == 0) {
		log_info("%s: moved out of %s to %s; %zu certificate(s) of "
		    "ours unpublished there", mail, e->cfg->directory.base,
		    dn, *removed);
		r->serial[0] = '\0';
		r->not_after = 0;
		if (r->person_id[0] != '\0')
			(void)enr_step(e, r, JRNL_UNPUBLISHED);
		(void)audit_event("unpublication", id, mail, NULL,
		    ca_name(e->ca), *removed > 0 ? "unpublished" : "none",
		    dn);
	} else {
		snprintf(r->reason, sizeof(r->reason), "revoked; unpublish "
		    "%s at %s: %s", rc == DIR_REFUSED ? "refused" : "failed",
		    dn != NULL ? dn : id, rc == DIR_REFUSED ? "no write access "
		    "to the certificate attributes there" : "see the log");
		log_warn("%s: %s", mail, r->reason);
		if (r->person_id[0] != '\0')
			(void)jrnl_enr_put(e->jrnl, r);
		(void)audit_event("unpublication", id, mail, NULL,
		    ca_name(e->ca), rc == DIR_REFUSED ? "refused" : "failed",
		    r->reason);
	}
	free(dn);
}

enum enr_outcome
enr_revoke(struct enr_ctx *e, const char *mail, const char *person_id,
    int reason)
{
	struct enr_revoke_arg a;
	struct dir_person *p = NULL;
	struct jrnl_enr r;
	size_t removed = 0;
	enum enr_outcome rc = ENR_FAILED;
	int frc;

	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	a.mail = mail;
	log_clear_err();
	if ((frc = dir_find_by_mail(e->dir, mail, &p)) == 0) {
		enr_record_init(&r, NULL, p, mail, e->jrnl);
		if (enr_step(e, &r, JRNL_REVOKE_PENDING) == -1)
			goto out;
	} else if (frc == -1) {
		/* the directory did not answer: that is not a leaver gone
		 * from it; the record stays as it is for the next pass */
		log_err("%s: revocation left for later: the directory could "
		    "not be searched", mail);
		goto out;
	} else {
		log_warn("%s: not under %s (deleted, or moved out); revoking "
		    "from the journal, then looking for the entry by its id",
		    mail, e->cfg->directory.base);
		/* the sync pass knows whose record it is: close it, or the
		 * next pass would find the same leaver again */
		if (person_id != NULL && jrnl_enr_get(e->jrnl, person_id,
		    &r) == 0 && enr_step(e, &r, JRNL_REVOKE_PENDING) == -1)
			goto out;
	}
	if (jrnl_cert_each(e->jrnl, enr_revoke_collect, &a) == -1 ||
	    enr_revoke_all(e, &a, reason) > 0)
		goto out;
	if (r.person_id[0] != '\0' && enr_step(e, &r, JRNL_REVOKED) == -1)
		goto out;
	if (p != NULL) {
		if (dir_unpublish(e->dir, mail, enr_is_ours, e->jrnl,
		    &removed) == -1)
			goto out;
		r.serial[0] = '\0';
		r.not_after = 0;
		if (enr_step(e, &r, JRNL_UNPUBLISHED) == -1)
			goto out;
		(void)audit_event("unpublication", p->id, mail, NULL,
		    ca_name(e->ca), removed > 0 ? "unpublished" : "none", NULL);
		enr_status(e, p->dn, "revoked and unpublished", &r);
	} else if (person_id != NULL)
		enr_unpublish_moved(e, mail, person_id, &r, &removed);
	rc = ENR_DONE;
	if (a.n == 0 && removed == 0) {
		/* not a failure of the person's record: there was nothing */
		log_err("%s: no certificate of ours to revoke", mail);
		rc = ENR_NOTHING;
	}
out:
	if (rc == ENR_FAILED && p != NULL)
		enr_fail(e, &r);
	free(a.todo);
	dir_person_free(p);
	return rc;
}
