/*
 * sync_priv.h — between planning (reconcile.c) and doing (workers.c).
 */
#ifndef SMIMEPUB_SYNC_PRIV_H
#define SMIMEPUB_SYNC_PRIV_H

#include <stddef.h>

#include "common/mail.h"
#include "sync/sync.h"

enum sync_act {
	ACT_ENROL, ACT_RENEW, ACT_REENROL, ACT_REPUBLISH, ACT_LEAVE,
	ACT_GRACE,	/* left: wait sync.leave_grace_days before acting */
	ACT_RETURN,	/* back within the grace period: published again */
	ACT_UNPUBLISH,	/* revoked, moved where unpublishing was refused:
			 * try again (enr_unpublish_retry) */
};

struct sync_item {
	enum sync_act	 act;
	char		 id[80];
	char		 mail[MAIL_MAX + 1];
	char		 old_mail[MAIL_MAX + 1];
	char		 serial[80];
	/* why, for the dry run's plan and the audit log ("new",
	 * "left: disabled", ...) */
	char		 why[192];
	/* ACT_RENEW for a change of the address set only: nothing is issued
	 * when what the certificate names stays (enr_enrol_addrs) */
	int		 addrs_only;
};

/* The name of an action in the dry run's plan ("enrol", "leave", ...). */
const char *sync_act_str(enum sync_act);

/*
 * Carry out the plan with sync.workers threads, each with its own
 * directory connection; key generation runs in parallel, requests to the CA
 * one at a time (e->ca is shared). -1 only if no worker could start.
 */
int	sync_run(struct enr_ctx *e, const struct sync_item *items, size_t n,
	    struct sync_stats *st);

/*
 * A full pass's plan of n items, seen people: take every revoke and
 * unpublish out when there are more than sync.max_leavers of them (unless
 * approved) or when nobody was seen, counting them in st->leavers_held.
 */
int	sync_leavers_guard(struct enr_ctx *e, struct sync_item *items,
	    size_t *n, size_t seen, struct sync_stats *st);

/*
 * With sync.lease_dn: record the entry's first certificate as ours when
 * our CA issued it for mail and the journal does not know it (the former
 * holder of the lease issued it) and it is newer than r's (NULL: no
 * record). 1 adopted, 0 not, -1 journal error (adopt.c).
 */
struct dir_person;
int	sync_adopt(struct enr_ctx *e, const struct dir_person *p,
	    const char *mail, const struct jrnl_enr *r);

/*
 * An entry without a readable id (noid.c): skipped and counted in st
 * (skipped and noid), logged as a warning the first time this process
 * sees it (naming the fix), at debug level after. A full pass then
 * records the count and the first such entry in the journal for
 * `smimepub status` (sync_noid_record).
 */
void	sync_noid_seen(struct enr_ctx *e, const struct dir_person *p,
	    struct sync_stats *st);
void	sync_noid_record(struct enr_ctx *e, const struct sync_stats *st);

/*
 * Addresses more than one entry holds, over a full pass (contest.c): note
 * each entry the search returns (sync_contest_add, with its canonical
 * mail), then its journal record when it has one (sync_contest_record,
 * for the entry noted last); after the search, sync_contest_plan reports
 * every address held twice and calls plan for each person whose
 * certificate must change for it (-1 from plan stops it). It returns how
 * many addresses are contested, or (size_t)-1.
 */
struct sync_contest;
struct sync_contest *sync_contest_new(void);
void	sync_contest_free(struct sync_contest *);
int	sync_contest_add(struct sync_contest *, const struct dir_person *p,
	    const char *mail);
void	sync_contest_record(struct sync_contest *, const struct jrnl_enr *r,
	    int disabled);
size_t	sync_contest_plan(struct sync_contest *,
	    int (*plan)(const char *id, const char *mail, const char *why,
	    void *), void *arg);

#endif
