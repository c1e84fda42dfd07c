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
    const char *named, EVP_PKEY **key, X509 **cert, STACK_OF(X509) **chain)
{
	enum jrnl_state from;
	struct enr_find f;

	from = old->state == JRNL_FAILED ? old->failed_in : old->state;
	if (old->person_id[0] == '\0')
		return JRNL_PLANNED;
	/* a record from before address sets ("?") named mail alone */
	if (from < JRNL_KEY_READY || from > JRNL_DELIVERED ||
	    strcmp(old->mail, mail) != 0 || strcmp(strcmp(old->named, "?") ?
	    old->named : "", named) != 0) {
		/* stale: a new address, or another set of them */
		(void)enr_keystore_drop(e->jrnl, old->person_id);
		enr_pair_drop(e, old->person_id);
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

/* One enrolment as it goes through the steps below. */
struct enr_run {
	const char		*mail;
	struct dir_person	*p;		/* the entry, found by mail */
	struct enr_claim	 cl;		/* the addresses to name */
	struct jrnl_enr		 r;		/* the record being written */
	struct jrnl_enr		 old;		/* as it was read */
	enum jrnl_state		 from;		/* where it resumes */
	struct ca_result	 res;
	EVP_PKEY		*key;
	/* keys.separate_signing: the signing key, its certificate, the
	 * CA's answer for it (the encryption one is key, res) */
	int			 pair;
	EVP_PKEY		*skey;
	X509			*scert;
	struct ca_result	 sres;
	char			*serial, *p12;
	char			 why[256];	/* the CA's failure */
	int			 asked;		/* the CA was asked, and failed */
	int			 addrs_only;	/* enr_enrol_addrs */
};

/* The serial and expiry of the certificate in hand, on the record. */
static void
enr_record_cert(struct enr_run *u)
{
	free(u->serial);
	u->serial = x509_serial_hex(u->res.cert);
	snprintf(u->r.serial, sizeof(u->r.serial), "%s", u->serial ?
	    u->serial : "");
	u->r.not_after = enr_not_after(u->res.cert);
}

/* The CA's request failed (crc -1): journal an unfit certificate to revoke
 * it, keep the driver's reason, and say whether the CA could be asked. */
static enum enr_outcome
enr_ca_failed(struct enr_ctx *e, struct enr_run *u, struct ca_result *res)
{
	if (res->status == CA_REJECTED && res->cert != NULL) {
		/* issued but unfit: journal it to revoke it */
		(void)jrnl_cert_put(e->jrnl, res->cert, u->mail, u->p->id,
		    JRNL_CERT_ISSUED);
		(void)audit_event_at("issuance", u->p->id, u->mail,
		    res->cert, ca_name(e->ca), "refused", res->reason,
		    u->p->dn, NULL);
	}
	/* the driver logged why; keep it as the reason */
	snprintf(u->why, sizeof(u->why), "%s", res->reason ?
	    res->reason : log_last_err());
	log_err("%s: enrolment with CA %s failed%s%s", u->mail, ca_name(e->ca),
	    u->why[0] ? ": " : "", u->why);
	if (res->status == CA_REJECTED)
		return ENR_FAILED;
	/* not asked, or no readable answer */
	enr_ca_unreachable(e, u->why);
	u->asked = 1;
	return ENR_CA_DOWN;
}

/* The CA will answer later: the key stays sealed in the journal
 * (keystore.c); the next pass after retry_after polls. */
static enum enr_outcome
enr_ca_pending(struct enr_ctx *e, struct enr_run *u, struct ca_result *res)
{
	const char *tx = res->txid;

	if (tx == NULL || tx[0] == '\0' || strlen(tx) >= sizeof(u->r.txid)) {
		log_err("%s: CA %s answered pending without a usable "
		    "transaction id", u->mail, ca_name(e->ca));
		return ENR_FAILED;
	}
	snprintf(u->r.txid, sizeof(u->r.txid), "%s", tx);
	u->r.next_retry = res->retry_after;
	if (enr_step(e, &u->r, JRNL_SUBMITTED) == -1)
		return ENR_FAILED;
	log_info("%s: CA %s answered pending (transaction %.64s%s); polling "
	    "again after %lds", u->mail, ca_name(e->ca), tx, strlen(tx) > 64 ?
	    "..." : "", (long)(res->retry_after - time(NULL)));
	return ENR_PENDING;
}

/*
 * One request to the CA for key, its CSR asking for purpose: polled with
 * txid when set (a pending request, with the key it was made for), else
 * sent. ENR_DONE when issued (in *res); ENR_PENDING (committed),
 * ENR_FAILED or ENR_CA_DOWN otherwise.
 */
static enum enr_outcome
enr_ask_one(struct enr_ctx *e, struct enr_run *u, EVP_PKEY *key,
    enum keys_purpose purpose, const char *txid, struct ca_result *res)
{
	X509_REQ *csr;
	double t0;
	int crc;

	if ((csr = keys_csr_new_addrs(key, u->cl.addrs, u->cl.n,
	    u->p->display_name, purpose)) == NULL)
		return ENR_FAILED;
	if (e->ca_lock != NULL)
		pthread_mutex_lock(e->ca_lock);
	t0 = enr_clock();
	if (txid != NULL && txid[0] != '\0')
		crc = ca_poll(e->ca, txid, csr, u->mail, res);
	else
		crc = ca_enrol(e->ca, csr, u->mail, res);
	enr_observe_ca(e, t0);
	if (e->ca_lock != NULL)
		pthread_mutex_unlock(e->ca_lock);
	X509_REQ_free(csr);
	/* the CA has issued, nothing of it is recorded yet */
	enr_failpoint("CA_ANSWERED");
	if (crc == -1)
		return enr_ca_failed(e, u, res);
	if (res->status == CA_REJECTED) {
		log_err("%s: CA %s rejected the request: %s", u->mail,
		    ca_name(e->ca), res->reason ? res->reason : "no reason");
		return ENR_FAILED;
	}
	if (res->status == CA_PENDING)
		return enr_ca_pending(e, u, res);
	u->r.txid[0] = '\0';
	u->r.next_retry = 0;
	return ENR_DONE;
}

/*
 * keys.separate_signing: the encryption certificate is journalled (ours,
 * SUBMITTED again) before the signing one is asked for, so a crash between
 * them asks only for the signing one; then that one, polled with the
 * pending transaction if the encryption one was there before.
 */
static enum enr_outcome
enr_ask_pair(struct enr_ctx *e, struct enr_run *u, int enc_was)
{
	struct enr_group g;
	enum enr_outcome o;

	if (!enc_was) {
		memset(&g, 0, sizeof(g));
		g.steps = fresh + 2;
		g.nsteps = 1;
		g.cert = u->res.cert;
		g.cert_state = JRNL_CERT_ISSUED;
		if (enr_group(e, &u->r, &g) == -1)
			return ENR_FAILED;
		(void)audit_event_at("issuance", u->p->id, u->mail,
		    u->res.cert, ca_name(e->ca), "issued", "encryption",
		    u->p->dn, NULL);
		enr_failpoint("PAIR_ENCRYPTION_ISSUED");
	}
	if (u->scert != NULL)
		return ENR_DONE;
	o = enr_ask_one(e, u, u->skey, e->cfg->keys.signing_non_repudiation ?
	    KEYS_SIGN_NR : KEYS_SIGN, u->from == JRNL_SUBMITTED && enc_was ?
	    u->old.txid : NULL, &u->sres);
	if (o != ENR_DONE)
		return o;
	u->scert = u->sres.cert;
	u->sres.cert = NULL;
	if (u->res.chain == NULL) {	/* the same CA's chain */
		u->res.chain = u->sres.chain;
		u->sres.chain = NULL;
	}
	return ENR_DONE;
}

/*
 * Ask the CA for the certificate of u->key (and with keys.separate_signing
 * the one of u->skey), or poll it for a pending one, and journal the
 * answer: ISSUED with the certificate(s) and the chain (and the key, for a
 * delivery after a crash) in one commit. ENR_DONE when issued;
 * ENR_PENDING, ENR_FAILED or ENR_CA_DOWN otherwise (journalled by the
 * caller).
 */
static enum enr_outcome
enr_ask_ca(struct enr_ctx *e, struct enr_run *u)
{
	struct enr_group g;
	enum enr_outcome o;
	int enc_was = u->res.cert != NULL;

	/* the first outside effect is the CA request: until then one commit,
	 * with the key(s) sealed (a crash from here on resumes with them) */
	memset(&g, 0, sizeof(g));
	g.steps = u->from == JRNL_PLANNED ? fresh : fresh + 2;
	g.nsteps = u->from == JRNL_PLANNED ? 3 : 1;
	g.key = u->from == JRNL_PLANNED ? u->key : NULL;
	g.skey = u->from == JRNL_PLANNED ? u->skey : NULL;
	if (enr_group(e, &u->r, &g) == -1)
		return ENR_FAILED;
	/* a pending request is polled, with the key it was made for, rather
	 * than sent again */
	if (!enc_was && (o = enr_ask_one(e, u, u->key, u->pair ? KEYS_ENCRYPT :
	    KEYS_BOTH, u->from == JRNL_SUBMITTED ? u->old.txid : NULL,
	    &u->res)) != ENR_DONE)
		return o;
	if (u->pair && (o = enr_ask_pair(e, u, enc_was)) != ENR_DONE)
		return o;
	enr_record_cert(u);
	memset(&g, 0, sizeof(g));
	g.steps = issued;
	g.nsteps = 1;
	g.key = u->key;
	g.chain = u->res.chain;
	g.cert = u->res.cert;
	g.cert2 = u->scert;
	g.cert_state = JRNL_CERT_ISSUED;
	if (enr_group(e, &u->r, &g) == -1)
		return ENR_FAILED;
	(void)audit_event_at("issuance", u->p->id, u->mail, u->res.cert,
	    ca_name(e->ca), "issued", NULL, u->p->dn, NULL);
	if (u->scert != NULL)
		(void)audit_event_at("issuance", u->p->id, u->mail, u->scert,
		    ca_name(e->ca), "issued", "signing", u->p->dn, NULL);
	return ENR_DONE;
}

/* Escrow, keep for keys.deliver_history, and deliver the key, then
 * DELIVERED: no copy of it stays here. */
static int
enr_hand_over(struct enr_ctx *e, struct enr_run *u)
{
	/* only the encryption key is escrowed and kept: a signing key in
	 * escrow would let the officer sign as the person */
	if (enr_escrow(e->cfg, u->key, u->res.cert) == -1 ||
	    enr_history_keep(e, u->p->id, u->key, u->r.serial) == -1)
		return -1;
	if ((u->pair ? enr_deliver_pair(e, u->mail, u->p->id, u->key,
	    u->res.cert, u->skey, u->scert, u->res.chain, u->r.serial,
	    &u->p12) : enr_deliver_new(e, u->mail, u->p->id, u->key,
	    u->res.cert, u->res.chain, u->r.serial, &u->p12)) == -1)
		return -1;
	EVP_PKEY_free(u->key);
	u->key = NULL;
	EVP_PKEY_free(u->skey);
	u->skey = NULL;
	if (enr_step(e, &u->r, JRNL_DELIVERED) == -1)
		return -1;
	/* keys.deliver_history's newest N stay kept (0: none) */
	enr_history_prune(e, u->p->id, e->cfg->keys.deliver_history);
	return 0;
}

/* Publish by the id the person was found under (no second search by
 * mail), then PUBLISHED, and revoke what the new certificate supersedes. */
static int
enr_put_on_entry(struct enr_ctx *e, struct enr_run *u)
{
	struct enr_group g;

	/* keys.separate_signing's pair in one modify: never one alone */
	if (enr_publish_pair(e->jrnl, e->dir, u->p->id, u->res.cert,
	    u->scert, u->res.chain) == -1)
		return -1;
	u->r.attempts = 0;
	memset(&g, 0, sizeof(g));
	g.steps = published;
	g.nsteps = 1;
	g.cert = u->res.cert;
	g.cert2 = u->scert;
	g.cert_state = JRNL_CERT_PUBLISHED;
	if (enr_group(e, &u->r, &g) == -1)
		return -1;
	if (u->pair)
		enr_pair_drop(e, u->p->id);	/* never needed again */
	(void)audit_event_at("publication", u->p->id, u->mail, u->res.cert,
	    ca_name(e->ca), "published", NULL, u->p->dn, NULL);
	enr_status(e, u->p->dn, "published", &u->r);
	enr_revoke_orphans(e, u->mail, u->p->id, u->res.cert);
	log_info("%s: issued serial %s%s by %s, delivered%s%s, published on "
	    "%s", u->mail, u->serial ? u->serial : "?", u->scert ? " and a "
	    "signing certificate" : "", ca_name(e->ca), u->p12 ? " to " :
	    " before", u->p12 ? u->p12 : "", u->p->dn);
	return 0;
}

/* Find the person and where their enrolment resumes (u->from, with the
 * key and certificate a crash or a failure left). -1 logged. */
static int
enr_begin(struct enr_ctx *e, struct enr_run *u, const char *person_id)
{
	char why[256];

	if (person_id != NULL && jrnl_enr_get(e->jrnl, person_id, &u->r) ==
	    1) {
		snprintf(u->r.person_id, sizeof(u->r.person_id), "%s",
		    person_id);
		snprintf(u->r.mail, sizeof(u->r.mail), "%s", u->mail);
		u->r.state = JRNL_PLANNED;
	}
	if (dir_find_by_mail(e->dir, u->mail, &u->p) != 0)
		return -1;
	if (u->p->id == NULL) {
		dir_id_problem(e->dir, u->p, why, sizeof(why));
		log_err("%s: not enrolled: %s", u->mail, why);
		return -1;
	}
	enr_record_init(&u->r, &u->old, u->p, u->mail, e->jrnl);
	if (enr_addrs_claim(e, u->p, u->mail, &u->cl, &u->r) == -1)
		return -1;
	u->from = enr_resume(e, &u->old, u->mail, u->r.named, &u->key,
	    &u->res.cert, &u->res.chain);
	if (u->pair)
		u->from = enr_pair_resume(e, u->p->id, u->from, &u->key,
		    &u->res.cert, &u->res.chain, &u->skey, &u->scert);
	/* the step this enrolment is in: what a failure from here records as
	 * failed_in, so the next attempt resumes there (not FAILED, the state
	 * of the record it was read from) */
	u->r.state = u->from;
	return 0;
}

/*
 * enr_enrol_addrs: the certificate out (PUBLISHED or DELIVERED, for the
 * same mail) names what it is to name still; the record takes the new
 * set's digest and nothing is issued. 1 so, 0 go on, -1 journal error.
 */
static int
enr_addrs_unchanged(struct enr_ctx *e, struct enr_run *u)
{
	if (!u->addrs_only || (u->old.state != JRNL_PUBLISHED &&
	    u->old.state != JRNL_DELIVERED) || u->old.serial[0] == '\0' ||
	    strcmp(u->old.mail, u->mail) != 0 ||
	    strcmp(u->old.named, "?") == 0 ||
	    strcmp(u->old.named, u->r.named) != 0)
		return 0;
	u->r.state = u->old.state;
	if (jrnl_enr_put(e->jrnl, &u->r) == -1)
		return -1;
	log_info("%s: the addresses changed, but not those serial %s names: "
	    "nothing to issue", u->mail, u->old.serial);
	return 1;
}

/* The steps from where the enrolment resumes to PUBLISHED. */
static enum enr_outcome
enr_steps(struct enr_ctx *e, struct enr_run *u)
{
	enum enr_outcome o;
	int same;

	if ((same = enr_addrs_unchanged(e, u)) != 0)
		return same == 1 ? ENR_NOTHING : ENR_FAILED;

	if (u->from <= JRNL_SUBMITTED && e->ca_down != NULL &&
	    atomic_load(e->ca_down))
		return ENR_CA_DOWN;	/* no key made, nothing sent: next pass */
	/* pre-generated in idle time (keys.pool_size), else now */
	if (u->from == JRNL_PLANNED &&
	    (u->key = enr_keypool_take(e->keypool, e->cfg->keys.type)) ==
	    NULL && (u->key = keys_generate(e->cfg->keys.type)) == NULL)
		return ENR_FAILED;
	if (u->pair && u->from == JRNL_PLANNED &&
	    (u->skey = enr_keypool_take(e->keypool, e->cfg->keys.type)) ==
	    NULL && (u->skey = keys_generate(e->cfg->keys.type)) == NULL)
		return ENR_FAILED;
	if (u->from <= JRNL_SUBMITTED) {
		if ((o = enr_ask_ca(e, u)) != ENR_DONE)
			return o;
	} else
		enr_record_cert(u);
	if (u->from <= JRNL_ISSUED && enr_hand_over(e, u) == -1)
		return ENR_FAILED;
	return enr_put_on_entry(e, u) == -1 ? ENR_FAILED : ENR_DONE;
}

static enum enr_outcome
enr_enrol_run(struct enr_ctx *e, const char *mail, const char *person_id,
    int addrs_only)
{
	struct enr_run u;
	enum enr_outcome rc = ENR_FAILED;

	memset(&u, 0, sizeof(u));
	u.mail = mail;
	u.addrs_only = addrs_only;
	u.pair = e->cfg->keys.separate_signing;
	log_clear_err();
	if (enr_begin(e, &u, person_id) == 0)
		rc = enr_steps(e, &u);
	if (u.pair && rc == ENR_FAILED && u.p != NULL && u.p->id != NULL &&
	    ((u.res.status == CA_REJECTED && u.res.cert != NULL) ||
	    (u.sres.status == CA_REJECTED && u.sres.cert != NULL))) {
		/* a certificate refused by the check (journalled, revoked as
		 * an orphan later) must not be found again by its key: the
		 * next attempt starts with two new keys */
		(void)enr_keystore_drop(e->jrnl, u.p->id);
		enr_pair_drop(e, u.p->id);
	}
	if (rc == ENR_FAILED) {
		enr_fail(e, &u.r);
		if (u.p != NULL)
			enr_status(e, u.p->dn, "failed", &u.r);
	} else if (rc == ENR_CA_DOWN && enr_fail_ca(e, &u.r, &u.old,
	    u.asked ? u.why : NULL) && u.p != NULL)
		enr_status(e, u.p->dn, "failed", &u.r);
	EVP_PKEY_free(u.key);
	EVP_PKEY_free(u.skey);
	X509_free(u.scert);
	ca_result_clear(&u.res);
	ca_result_clear(&u.sres);
	dir_person_free(u.p);
	free(u.serial);
	free(u.p12);
	return rc;
}

enum enr_outcome
enr_enrol(struct enr_ctx *e, const char *mail, const char *person_id)
{
	return enr_enrol_run(e, mail, person_id, 0);
}

enum enr_outcome
enr_enrol_addrs(struct enr_ctx *e, const char *mail, const char *person_id)
{
	return enr_enrol_run(e, mail, person_id, 1);
}
