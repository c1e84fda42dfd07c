/*
 * leavers.c — the guard against mass leavers (DESIGN.md "Operating it"). A
 * wrong base, a typo in the filter or an ACL change makes everyone vanish
 * from the search at once, and a pass would revoke and unpublish them all.
 * So a full pass that would revoke or unpublish more than sync.max_leavers
 * people does everything else but no leaver action, says so (error log,
 * audit line, the held count for --once's exit status and the metric) and
 * keeps refusing until an operator approves that one pass with its count:
 * `smimepub-sync --once --approve-leavers N`, or `smimepub approve-leavers
 * N`, recorded in the journal ("approve_leavers") and consumed by the next
 * full pass, used only when N is what that pass would act on. A search
 * that returned nobody never means everyone left: no approval overrides
 * that.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/audit.h"
#include "common/log.h"
#include "sync/sync.h"
#include "sync/sync_priv.h"

static atomic_int leavers_held;	/* of the last full pass */
static long approve_arg = -1;	/* --approve-leavers; -1: none */

int
sync_leavers_held(void)
{
	return atomic_load(&leavers_held);
}

void
sync_leavers_approve(long n)
{
	approve_arg = n;
}

static int
is_leaver_act(const struct enr_ctx *e, const struct sync_item *it)
{
	if (it->act == ACT_UNPUBLISH)
		return 1;
	/* on_leave = "keep" neither revokes nor unpublishes */
	return it->act == ACT_LEAVE &&
	    strcmp(e->cfg->sync.on_leave, "keep") != 0;
}

/*
 * Whether the operator approved exactly n leavers for this pass: the
 * command line's count, else the journal's, which this pass consumes
 * (but not a dry run). who says whose approval it was.
 */
static int
approved(struct enr_ctx *e, size_t n, char *who, size_t whosz)
{
	char val[JRNL_META_MAX], *end;
	long want;

	if (approve_arg >= 0) {
		snprintf(who, whosz, "--approve-leavers %ld", approve_arg);
		want = approve_arg;
	} else {
		if (jrnl_meta_get(e->jrnl, "approve_leavers", val,
		    sizeof(val)) != 0 || strcmp(val, "none") == 0)
			return 0;
		if (!e->dry_run)
			(void)jrnl_meta_put(e->jrnl, "approve_leavers", "none");
		want = strtol(val, &end, 10);
		/* "N\ttime\tactor" (cli/cmd_leavers.c) */
		snprintf(who, whosz, "smimepub approve-leavers %s", val);
		for (end = who; (end = strchr(end, '\t')) != NULL; )
			*end = ' ';
	}
	if (want == (long)n)
		return 1;
	log_err("sync: the approval \"%s\" is for %ld leavers, but this pass "
	    "would act on %zu: not used (approve the count this pass "
	    "reports)", who, want, n);
	return 0;
}

/* Take the leaver actions out of the plan, keeping the rest in order. */
static void
drop_leavers(struct enr_ctx *e, struct sync_item *items, size_t *n)
{
	size_t i, k;

	for (i = k = 0; i < *n; i++)
		if (!is_leaver_act(e, &items[i]))
			items[k++] = items[i];
	*n = k;
}

static void
held(struct enr_ctx *e, size_t nleave, const char *why,
    struct sync_stats *st)
{
	char val[64];

	log_err("sync: %s; no leaver action this pass (%zu held)", why,
	    nleave);
	st->leavers_held = (int)nleave;
	atomic_store(&leavers_held, (int)nleave);
	if (e->dry_run)
		return;
	(void)audit_event("leavers_held", NULL, NULL, NULL, NULL, "held", why);
	snprintf(val, sizeof(val), "%zu\t%lld", nleave, (long long)time(NULL));
	(void)jrnl_meta_put(e->jrnl, "leavers_held", val);
}

int
sync_leavers_guard(struct enr_ctx *e, struct sync_item *items, size_t *n,
    size_t seen, struct sync_stats *st)
{
	char why[512], who[JRNL_META_MAX + 32];
	size_t i, nleave = 0;
	long limit;

	for (i = 0; i < *n; i++)
		nleave += is_leaver_act(e, &items[i]);
	if (nleave == 0) {
		atomic_store(&leavers_held, 0);
		if (!e->dry_run)
			(void)jrnl_meta_put(e->jrnl, "leavers_held", "0");
		return 0;
	}
	if (seen == 0) {
		snprintf(why, sizeof(why), "the search under %s with %s "
		    "returned nobody, yet %zu people of the journal would be "
		    "revoked or unpublished as leavers: an empty search (a "
		    "wrong base or filter, an ACL change) never means everyone "
		    "left", e->cfg->directory.base, e->cfg->directory.filter,
		    nleave);
		drop_leavers(e, items, n);
		held(e, nleave, why, st);
		return 0;
	}
	limit = cfg_max_leavers(e->cfg->sync.max_leavers, seen);
	if ((long)nleave <= limit) {
		atomic_store(&leavers_held, 0);
		if (!e->dry_run)
			(void)jrnl_meta_put(e->jrnl, "leavers_held", "0");
		return 0;
	}
	if (approved(e, nleave, who, sizeof(who))) {
		log_warn("sync: %zu leavers, above sync.max_leavers (%ld of %zu "
		    "people seen): approved by %s; acting on them", nleave,
		    limit, seen, who);
		if (!e->dry_run)
			(void)audit_event("leavers_approved", NULL, NULL, NULL,
			    NULL, "ok", who);
		atomic_store(&leavers_held, 0);
		return 0;
	}
	snprintf(why, sizeof(why), "%zu people would be revoked or unpublished "
	    "as leavers, more than sync.max_leavers allows (%ld of the %zu "
	    "seen): check directory.base and directory.filter; if they did "
	    "leave, approve exactly this count with `smimepub approve-leavers "
	    "%zu` (the next pass) or `smimepub-sync --once --approve-leavers "
	    "%zu`", nleave, limit, seen, nleave, nleave);
	drop_leavers(e, items, n);
	held(e, nleave, why, st);
	return 0;
}
