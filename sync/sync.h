/*
 * sync.h — smimepub-sync's reconcile pass: page through the people, compare
 * each with the journal, plan (enrol, renew, republish, re-enrol on a new
 * address, leave), then carry the plan out person by person, so one
 * person's failure never stops the pass.
 */
#ifndef SMIMEPUB_SYNC_H
#define SMIMEPUB_SYNC_H

#include <time.h>

#include "enrol/enrol.h"

struct sync_stats {
	int	enrolled;
	int	renewed;
	int	republished;
	int	revoked;	/* leavers handled per sync.on_leave */
	int	failed;
	int	unchanged;
	int	skipped;	/* invalid address, waiting for a retry or a CA */
	int	noid;		/* of those: entries without a readable id
				 * (sync_noid_report) */
	int	leavers_held;	/* leaver actions held back (leavers.c) */
};

/*
 * One full pass (changed NULL), or a pass over the people matching the
 * extra filter changed as well (between full passes: only those modified
 * lately; leavers are then left to the next full pass). -1 only when the
 * pass itself could not run.
 */
int	sync_pass(struct enr_ctx *, const char *changed, struct sync_stats *);
/*
 * The earliest time after now at which the journal has a retry due: a
 * pending request to poll (the CA's retry time), a failure's backoff
 * ending (below sync.max_attempts), a leaver's grace running out. 0 if
 * none, or on error (logged): the daemon then waits for sync.interval.
 */
time_t	sync_next_due(struct enr_ctx *, time_t now);
/*
 * The guard against mass leavers (leavers.c): the number of leaver actions
 * the last full pass held back (0: none), for the metric
 * smimepub_sync_leavers_held; and --approve-leavers N for this process's
 * passes (-1: none).
 */
int	sync_leavers_held(void);
void	sync_leavers_approve(long n);
/* "(modifyTimestamp>=...)" for changes since t (RFC 4517 §3.3.13). */
void	sync_changed_filter(time_t since, char *buf, size_t sz);
/*
 * The filter of what changed since the last look into changed: a
 * uSNChanged range where the server has highestCommittedUSN (AD), else
 * modifyTimestamp since last (see reconcile.c). *usn is updated.
 */
void	sync_watch_filter(struct enr_ctx *e, int *have_usn,
	    unsigned long long *usn, time_t last, char *changed, size_t sz);
/*
 * 1 if the daemon looks for people changed between full passes by
 * modifyTimestamp (so needs to read it): timed looks (sync.watch_interval
 * > 0) and looks kicked by syncrepl both filter by it; not with DirSync,
 * never on AD (uSNChanged). Shared by smimepub-sync's start check and
 * `smimepub doctor`.
 */
int	sync_polls(const struct cfg *, int syncrepl, int dirsync);
/* "enrolled 3, renewed 0, ..." into buf. */
void	sync_stats_str(const struct sync_stats *, char *buf, size_t sz);

#endif
