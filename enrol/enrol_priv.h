/*
 * enrol_priv.h — inside the enrolment module only (enrol.c, enrol_step.c,
 * revoke.c): the journal steps they share; and the key pool's counters,
 * for its unit test.
 */
#ifndef SMIMEPUB_ENROL_PRIV_H
#define SMIMEPUB_ENROL_PRIV_H

#include "common/keys.h"
#include "enrol/enrol.h"

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
	/* keys.separate_signing: the signing certificate (recorded in
	 * cert_state too) and the signing key (held under enr_pair_name) */
	X509			*cert2;
	EVP_PKEY		*skey;
};

/* keys.separate_signing (pair.c): the keystore name the signing key of an
 * enrolment in progress is held under ("s:" and 40 hex digits). */
int	enr_pair_name(const char *person, char out[48]);
/* The held signing key: 0 (*skey yours), 1 none held, -1 logged. */
int	enr_pair_take(struct enr_ctx *, const char *person, EVP_PKEY **skey);
void	enr_pair_drop(struct enr_ctx *, const char *person);
/* The person's journalled (not revoked) certificate for key, or NULL. */
X509	*enr_pair_find(struct enr_ctx *, const char *person, EVP_PKEY *key);
/*
 * After enr_resume: the held signing key and whatever of the pair the CA
 * already issued (found by key). The state to go on from: PLANNED when no
 * signing key is held (*key, *cert, *chain freed: start afresh with two),
 * SUBMITTED while a certificate is missing (*cert / *scert NULL), else
 * from (ISSUED for a SUBMITTED whose two certificates are both there).
 */
enum jrnl_state enr_pair_resume(struct enr_ctx *, const char *person,
	    enum jrnl_state from, EVP_PKEY **key, X509 **cert,
	    STACK_OF(X509) **chain, EVP_PKEY **skey, X509 **scert);
/* Both new keys' PKCS#12 (named), with keys.deliver_history's. */
int	enr_deliver_pair(struct enr_ctx *, const char *mail,
	    const char *person, EVP_PKEY *key, X509 *cert, EVP_PKEY *skey,
	    X509 *scert, STACK_OF(X509) *chain, const char *serial,
	    char **p12);
/* enr_publish for the pair: enc first, then sign (publish.c). */
int	enr_publish_pair(struct jrnl *, struct dir *, const char *id,
	    X509 *enc, X509 *sign, STACK_OF(X509) *chain);

/*
 * Revoke (superseded) the person's certificates that keep, just
 * published for mail, replaces and that must not stay valid (revoke.c).
 */
void	enr_revoke_orphans(struct enr_ctx *, const char *mail,
	    const char *person, X509 *keep);

/* The addresses a certificate is to name (addrs.c): borrowed from the
 * person and the caller's mail; left_out aliases another entry claims. */
struct enr_claim {
	const char	*addrs[DIR_ADDRS_MAX];
	size_t		 n;
	size_t		 left_out;
};
int	enr_addrs_claim(struct enr_ctx *, const struct dir_person *p,
	    const char *mail, struct enr_claim *c, struct jrnl_enr *r);

/* Crash tests: _exit here when SMIMEPUB_TEST_FAILPOINT names the point. */
void	enr_failpoint(const char *name);
/* Commit r in state st (a failure reason cleared unless FAILED). */
int	enr_step(struct enr_ctx *, struct jrnl_enr *r, enum jrnl_state st);
/* The steps of g in one commit; each failpoint after it. */
int	enr_group(struct enr_ctx *, struct jrnl_enr *r,
	    const struct enr_group *g);
/* FAILED, counted towards sync.max_attempts, with its backoff. */
void	enr_fail(struct enr_ctx *, struct jrnl_enr *r);
/* When the next try after the attempts-th failure is due: 1 min doubling
 * to at most a day, plus up to a quarter of it at random. */
time_t	enr_backoff(int attempts);
/* FAILED because the CA could not be asked (why) or was not (NULL): not
 * counted. 1 if the journal changed. */
int	enr_fail_ca(struct enr_ctx *, struct jrnl_enr *r,
	    const struct jrnl_enr *old, const char *why);
/* r for p at mail from its journal record (*oldp: that record, or zeroes). */
void	enr_record_init(struct jrnl_enr *r, struct jrnl_enr *oldp,
	    const struct dir_person *p, const char *mail, struct jrnl *);
/* The one-line status on the entry (directory.status_attribute). */
void	enr_status(struct enr_ctx *, const char *dn, const char *what,
	    const struct jrnl_enr *r);
/* CLOCK_MONOTONIC in seconds, for timing CA requests. */
double	enr_clock(void);
/* Tell the observer (if any) that a CA request begun at t0 ended. */
void	enr_observe_ca(struct enr_ctx *, double t0);
/* ca_revoke under the CA lock. */
int	enr_ca_revoke(struct enr_ctx *, X509 *c, int reason);

/*
 * Keystore: the private key (and the CA's chain) of an enrolment in
 * progress, sealed into the journal so a crash or a failed delivery resumes
 * with the same key instead of asking the CA for a second certificate.
 * AES-256-GCM under a random key-encryption key in sync.state_dir
 * (keystore.key, mode 0600, made once); never a key in the clear on disk.
 */
/*
 * Seal key and chain (may be NULL) for person_id into tx, replacing what
 * was held: it is held once tx commits, with the transition it is for.
 */
int	enr_keystore_hold(const char *state_dir, struct jrnl_tx *, const char *person_id,
	    EVP_PKEY *key, STACK_OF(X509) *chain);
/*
 * What enr_keystore_hold() sealed for person_id: 0 with *key and *chain (possibly an
 * empty stack) for the caller to free, 1 if nothing is held, -1 logged
 * (unreadable key-encryption key, or a value that does not open: tampered).
 */
int	enr_keystore_take(const char *state_dir, struct jrnl *, const char *person_id,
	    EVP_PKEY **key, STACK_OF(X509) **chain);
/* Drop what is held for person_id (published, or abandoned). */
int	enr_keystore_drop(struct jrnl *, const char *person_id);

/*
 * keys.deliver_history (history.c): each new decryption key kept sealed by
 * the keystore under a name of the person id and serial, while
 * deliver_history > 0; the newest N taken back for a renewal's PKCS#12.
 */
struct enr_history {
	struct keys_bag	 bags[KEYS_HISTORY_MAX];
	char		 names[KEYS_HISTORY_MAX][384];
	size_t		 n;
};
/* Keep key (of the certificate with serial): 0, or -1 logged. */
int	enr_history_keep(struct enr_ctx *, const char *person, EVP_PKEY *key,
	    const char *serial);
/* The person's last keys.deliver_history kept keys but except's, newest
 * first, into *out (free with enr_history_free): how many. */
size_t	enr_history_take(struct enr_ctx *, const char *person,
	    const char *mail, const char *except, struct enr_history *out);
void	enr_history_free(struct enr_history *);
/* Deliver first (the new key(s), at most two) and the person's earlier
 * keys (not serial's) in one PKCS#12: enr_deliver_bags. */
int	enr_history_deliver(struct enr_ctx *, const char *mail,
	    const char *person, const struct keys_bag *first, size_t nfirst,
	    STACK_OF(X509) *chain, const char *serial, char **p12);
/* Drop the person's kept keys beyond the newest keep (0: all). */
void	enr_history_prune(struct enr_ctx *, const char *person, int keep);

/*
 * The key-encryption key's own process (kekproc.c): seal (seal 1: in is
 * the plaintext, ans IV || ciphertext || tag) or open (seal 0) with the
 * person id as additional data. 0, or -1 logged naming the key process.
 */
#define ENR_KS_IVLEN	12		/* SP 800-38D §8.2: 96-bit IV */
#define ENR_KS_TAGLEN	16
#define ENR_KS_MAX	(1024 * 1024)	/* key + chain, plenty */
#define ENR_KEK_AAD_MAX	1024		/* a person id */
struct kproc_buf;
int	enr_kek_call(const char *state_dir, int seal, const char *person_id,
	    const unsigned char *in, size_t inlen, struct kproc_buf *ans);
/* The key process's reading of a request: exactly two items, a person id
 * (1..ENR_KEK_AAD_MAX bytes, no NUL) and at most ENR_KS_MAX bytes; 0, or
 * -1 (tests/fuzz/fuzz_kproc.c). */
int	enr_kek_request(const unsigned char *req, size_t len,
	    const unsigned char **aad, size_t *aadlen,
	    const unsigned char **data, size_t *datalen);

/*
 * The key pool seen from inside, for its unit test (test_keypool.c) only:
 * nothing outside enrol/ needs them (the daemon only puts, takes and
 * pauses), and whether the pool refills, stays paused or drops a key in
 * progress cannot be seen through enr_keypool_take() without timing it.
 * Keys ready now; whether the filler is generating a key now; how many keys
 * in progress it dropped (type changed, or shutdown) rather than finished.
 */
size_t		 enr_keypool_count(struct enr_keypool *);
int		 enr_keypool_busy(struct enr_keypool *);
unsigned long	 enr_keypool_abandoned(struct enr_keypool *);

#endif
