/*
 * enrol.h — one person's enrolment, renewal and revocation, step by step
 * through the journal: key, CSR, CA, check, record, escrow, deliver,
 * publish. The CLI's enrol/renew/revoke use it, and the sync service runs
 * it from its worker pool (workers.c).
 */
#ifndef SMIMEPUB_ENROL_H
#define SMIMEPUB_ENROL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/jrnl.h"
#include "ldap/dir.h"

struct kp_pool;
struct lease;

struct enr_ctx {
	const struct cfg *cfg;		/* borrowed, like the rest */
	struct dir	*dir;		/* one per thread */
	struct ca	*ca;		/* shared: calls under ca_lock */
	struct jrnl	*jrnl;
	pthread_mutex_t	*ca_lock;	/* NULL when single-threaded */
	struct kp_pool	*keypool;	/* pre-generated keys; NULL: none */
	/* set by the first enrolment of a pass that could not reach the CA:
	 * the rest of the pass does not ask it (NULL: always ask) */
	atomic_int	*ca_down;
	/* set (by SIGTERM) to end the pass after each worker's current
	 * person: NULL, never */
	volatile sig_atomic_t *quit;
	/* sync.lease_dn: work only while it is held (NULL: always) */
	struct lease	*lease;
	/* --dry-run: sync_pass plans and prints, asks no CA, writes nothing;
	 * ca is NULL then */
	int		 dry_run;
	/* the plan's why of the leaver being acted on ("left: deleted"),
	 * for the audit log; NULL outside a leave */
	const char	*leave_why;
};

enum enr_outcome {
	ENR_DONE = 0,		/* issued, delivered and published */
	ENR_PENDING,		/* the CA will answer later */
	ENR_FAILED,		/* reason logged; nothing unchecked published */
	ENR_NOTHING,		/* revoke: no certificate of ours to revoke */
	ENR_CA_DOWN,		/* the CA could not be asked (or not this pass):
				 * journalled FAILED, not counted as an attempt */
};

/*
 * Enrol (or renew: same steps, the new certificate replaces ours).
 * person_id, when the caller knows it (the sync pass), is where a failure
 * to even find the person is journalled; NULL from the command line.
 */
enum enr_outcome enr_enrol(struct enr_ctx *, const char *mail,
	    const char *person_id);
/* Revoke every certificate of ours for mail at the CA and unpublish it. */
/* person_id as for enr_enrol: the record closed when no entry is found. */
enum enr_outcome enr_revoke(struct enr_ctx *, const char *mail,
	    const char *person_id, int reason);
/*
 * Try again to take our (revoked) certificates off the entry of a leaver
 * who moved out of base where the directory refused it: 0 done (or nothing
 * left to try), 1 still refused (backing off), -1 on a journal error.
 */
int		 enr_unpublish_retry(struct enr_ctx *, const char *person_id);

/*
 * Read people with the id this journal's person ids are values of
 * (idattr.c): the one recorded in it, or, for a journal that has none yet,
 * the one the directory gives (dir_probe_id_attr), recorded now. -1
 * (logged) when the flavour cannot read the recorded one, or on error:
 * the caller must not go on.
 */
int		 enr_id_attr(const struct cfg *, struct jrnl *, struct dir *);

#endif
