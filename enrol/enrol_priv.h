/*
 * enrol_priv.h — inside the enrolment module only (enrol.c, enrol_step.c,
 * revoke.c): the journal steps they share.
 */
#ifndef SMIMEPUB_ENROL_PRIV_H
#define SMIMEPUB_ENROL_PRIV_H

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
};

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

#endif
