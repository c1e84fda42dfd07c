/*
 * noid.c — entries without a readable stable id. Such an entry cannot be
 * journalled (the id is the journal's key), so the pass skips it and goes
 * on: one entry an ACI hides the id of, or one made while 389-ds's
 * entryuuid plugin was off, must never stop the enrolment of everyone
 * else. Each is reported once per process as a warning naming the fix
 * (then at debug level: a daemon passes every few minutes), counted in the
 * pass's figures, and the last full pass's count is kept in the journal
 * for `smimepub status`.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "enrol/enrol.h"
#include "sync/sync.h"
#include "sync/sync_priv.h"

#define NOID_REMEMBER	4096	/* entries warned about; then debug only */

static pthread_mutex_t noid_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t noid_warned[NOID_REMEMBER];
static size_t noid_n;
static char noid_last[512];	/* the last problem seen, for status */

/* FNV-1a (64 bits) of the DN and the kind of problem. */
static uint64_t
noid_hash(const char *dn, int why)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *dn != '\0'; dn++)
		h = (h ^ (unsigned char)*dn) * 0x100000001b3ULL;
	return (h ^ (uint64_t)why) * 0x100000001b3ULL;
}

/* 1 the first time (remembered), 0 after. */
static int
noid_first(uint64_t h)
{
	size_t i;

	for (i = 0; i < noid_n; i++)
		if (noid_warned[i] == h)
			return 0;
	if (noid_n < NOID_REMEMBER)
		noid_warned[noid_n++] = h;
	return 1;
}

void
sync_noid_seen(struct enr_ctx *e, const struct dir_person *p,
    struct sync_stats *st)
{
	char why[512];
	int first;

	dir_id_problem(e->dir, p, why, sizeof(why));
	pthread_mutex_lock(&noid_mu);
	first = noid_first(noid_hash(p->dn, p->id_bad));
	snprintf(noid_last, sizeof(noid_last), "%s", why);
	pthread_mutex_unlock(&noid_mu);
	if (first)
		log_warn("sync: %s; skipped (the others are not)", why);
	else
		log_debug("sync: %s; skipped", why);
	st->skipped++;
	st->noid++;
}

void
sync_noid_record(struct enr_ctx *e, const struct sync_stats *st)
{
	char val[JRNL_META_MAX], ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&noid_mu);
	if (st->noid > 0)
		snprintf(val, sizeof(val), "%d\t%s\t%s", st->noid, ts,
		    noid_last);
	else
		snprintf(val, sizeof(val), "0\t%s\t-", ts);
	pthread_mutex_unlock(&noid_mu);
	/* a report only: the pass has done its work either way */
	(void)jrnl_meta_put(e->jrnl, "pass_noid", val);
}
