/*
 * lk_pool.c — a fixed pool of directory connections (lookup.pool_size),
 * each used by one thread at a time. A thread that finds none free
 * waits up to wait_sec, then gets NULL (the caller answers 503). Each
 * connection reconnects by itself (dir.c) when the server went away.
 * Also here, the searches run on it: timed for the latency histogram, and
 * lk_fill_many, the equality searches behind the cache for addresses (each
 * value RFC 4515-escaped), whose entries lk_certs.c judges.
 *
 * The address searches are pipelined (lookup.pool_depth): a directory
 * worker (lk_work.c) takes up to pool_depth waiting requests at once, and
 * lk_fill_many runs their searches together on one connection
 * (dir_search_few): all are sent before the first answer is read. With one
 * search at a time, a connection sat idle for a round trip and for the
 * judging between two searches: lookupd did half the searches a plain
 * libldap client does over as many connections.
 *
 * An address found on more than one entry is not found (issue 15): nobody
 * can tell which entry speaks for it, and a second entry is all it takes
 * to spoof one. smimepub-sync publishes to neither; lookupd serves
 * neither, counts it (smimepub_lookupd_duplicate_addresses_total) and logs
 * it once per address per LK_DUP_LOG_EVERY seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "lookup/lk.h"

struct lk_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct dir	**free;		/* stack of idle connections */
	size_t		 nfree;
	struct dir	**all;
	size_t		 n;
	int		 wait_sec;
	const struct lk_dir_ops *ops;
};

/* A lookup never needs the stable id: it is not asked for, so no ACI
 * must grant it (389-ds: a reader sees only mail and certificates). */
static struct dir *
lk_dir_new(const struct cfg_directory *cfg)
{
	struct dir *d = dir_new(cfg);

	if (d != NULL)
		(void)dir_set_id_attr(d, NULL);
	return d;
}

const struct lk_dir_ops lk_dir_ldap = {
	lk_dir_new, dir_connect, dir_free, dir_search_people, dir_search_few
};

struct lk_pool *
lk_pool_new(const struct cfg_directory *cfg, int size, int wait_sec,
    const struct lk_dir_ops *ops)
{
	struct lk_pool *p;
	pthread_condattr_t ca;
	int i, up = 0;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->free = calloc((size_t)size, sizeof(*p->free))) == NULL ||
	    (p->all = calloc((size_t)size, sizeof(*p->all))) == NULL) {
		log_err("lookup.pool_size %d: out of memory", size);
		goto fail;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->wait_sec = wait_sec;
	p->ops = ops;
	for (i = 0; i < size; i++) {
		if ((p->all[i] = ops->open(cfg)) == NULL)
			goto fail;
		p->n++;
		p->free[p->nfree++] = p->all[i];
	}
	/* Connect the first now so a wrong password shows at start; the
	 * others connect on first use. A directory that is down is not
	 * fatal: /healthz says so and requests answer 503 until it is back. */
	if (ops->connect(p->all[0]) == 0)
		up = 1;
	if (!up)
		log_warn("%s: directory not reachable at start; will retry",
		    cfg->uri);
	return p;
fail:
	lk_pool_free(p);
	return NULL;
}

void
lk_pool_free(struct lk_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		p->ops->close(p->all[i]);
	if (p->all != NULL) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->all);
	free(p->free);
	free(p);
}

struct dir *
lk_pool_get(struct lk_pool *p)
{
	struct timespec until;
	struct dir *d = NULL;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->wait_sec;
	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) ==
		    ETIMEDOUT)
			break;
	if (p->nfree > 0)
		d = p->free[--p->nfree];
	pthread_mutex_unlock(&p->mu);
	if (d == NULL)
		log_warn("no directory connection came free in %d s "
		    "(lookup.pool_size %zu)", p->wait_sec, p->n);
	return d;
}

void
lk_pool_put(struct lk_pool *p, struct dir *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->free[p->nfree++] = d;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ---- the directory search behind the cache ----------------------------- */

struct fill_arg {
	struct lk_ctx	*ctx;
	struct lk_res	*res;
	const char	*addr;
	int		 err;
	size_t		 entries;	/* found, disabled ones too */
	char		*dn[2];		/* the first two, for the log */
};

static int
fill_cb(const struct dir_person *p, void *arg)
{
	struct fill_arg *fa = arg;

	if (fa->entries < 2 && p->dn != NULL)
		fa->dn[fa->entries] = strdup(p->dn);
	if (++fa->entries > 1 || p->disabled)
		return 0;	/* a second entry: nothing will be served */
	if (lk_certs_collect(fa->ctx->certs, p, fa->addr, time(NULL),
	    fa->res, fa->ctx->m.rejected) == -1) {
		fa->err = 1;
		return -1;
	}
	return 0;
}

/* The default sync.interval: as smimepub-sync says it once a pass. */
#define LK_DUP_LOG_EVERY	300

/* fa found its address on several entries: an empty answer, counted, and
 * logged unless this address was logged in the last LK_DUP_LOG_EVERY s. */
static int
lk_dup(struct fill_arg *fa)
{
	struct lk_ctx *ctx = fa->ctx;
	struct lk_res *none;
	uint32_t h = 2166136261u;	/* FNV-1a */
	const char *c;
	time_t now = time(NULL);
	size_t slot;
	int say;

	if ((none = lk_res_new(fa->addr)) == NULL)
		return -1;
	lk_res_unref(fa->res);
	fa->res = none;
	atomic_fetch_add(&ctx->m.duplicates, 1);
	for (c = fa->addr; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	slot = h % LK_DUP_SLOTS;
	pthread_mutex_lock(&ctx->dup_mu);
	say = ctx->dup_hash[slot] != h ||
	    now - ctx->dup_at[slot] >= LK_DUP_LOG_EVERY;
	if (say) {
		ctx->dup_hash[slot] = h;
		ctx->dup_at[slot] = now;
	}
	pthread_mutex_unlock(&ctx->dup_mu);
	if (say)
		log_warn("%s: on %zu entries (%s, %s): not served (an address "
		    "must name one person; smimepub-sync publishes to "
		    "neither)", fa->addr, fa->entries,
		    fa->dn[0] != NULL ? fa->dn[0] : "?",
		    fa->dn[1] != NULL ? fa->dn[1] : "?");
	return 0;
}

static void
dir_observe(struct lk_metrics *m, double secs, int rc)
{
	static const double le[LK_NBUCKETS - 1] = { 0.0005, 0.001, 0.0025,
	    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1 };
	int i;

	for (i = 0; i < LK_NBUCKETS - 1 && secs > le[i]; i++)
		;
	atomic_fetch_add(&m->dir_bucket[i], 1);
	atomic_fetch_add(&m->dir_count, 1);
	atomic_fetch_add(&m->dir_usec, (unsigned long)(secs * 1e6));
	if (rc == -1)
		atomic_fetch_add(&m->dir_errors, 1);
}

int
lk_dir_search(struct lk_ctx *ctx, const char *filter, dir_person_cb cb,
    void *arg)
{
	struct dir *d;
	double t0;
	int rc;

	if ((d = lk_pool_get(ctx->pool)) == NULL) {
		atomic_fetch_add(&ctx->m.dir_errors, 1);
		return -1;
	}
	t0 = lk_monotonic();
	rc = ctx->pool->ops->search(d, filter, cb, arg);
	dir_observe(&ctx->m, lk_monotonic() - t0, rc);
	lk_pool_put(ctx->pool, d);
	return rc;
}

void
lk_fill_many(const char *const *keys, size_t n, void *arg,
    struct lk_res **out, int *rcs)
{
	struct lk_ctx *ctx = arg;
	struct fill_arg fa[LK_MANY_MAX];
	struct dir_query q[LK_MANY_MAX];
	char *esc, *filter[LK_MANY_MAX];
	size_t i, k = 0, at[LK_MANY_MAX];
	struct dir *d = NULL;
	double t0, secs;

	if (n > LK_MANY_MAX)
		n = LK_MANY_MAX;
	memset(q, 0, sizeof(q));
	for (i = 0; i < n; i++) {
		rcs[i] = -1;
		out[i] = NULL;
		filter[i] = NULL;
		fa[i] = (struct fill_arg){ ctx, NULL, keys[i], 0, 0,
		    { NULL, NULL } };
		/* mail or any alias (DESIGN.md), each value escaped */
		esc = dir_addr_filter(&ctx->cfg->directory, keys[i]);
		if (esc == NULL || (fa[i].res = lk_res_new(keys[i])) == NULL ||
		    asprintf(&filter[i], "(&%s%s)",
		    ctx->cfg->directory.filter, esc) == -1) {
			filter[i] = NULL;
			log_err("%s: out of memory", keys[i]);
		} else {
			q[k].filter = filter[i];
			q[k].cb = fill_cb;
			q[k].arg = &fa[i];
			at[k++] = i;
		}
		free(esc);
	}
	if (k > 0 && (d = lk_pool_get(ctx->pool)) == NULL)
		atomic_fetch_add(&ctx->m.dir_errors, (unsigned long)k);
	if (d != NULL) {
		if (k > 1)
			atomic_fetch_add(&ctx->m.dir_pipelined,
			    (unsigned long)(k - 1));
		t0 = lk_monotonic();
		(void)ctx->pool->ops->search_few(d, q, k);
		secs = lk_monotonic() - t0;
		lk_pool_put(ctx->pool, d);
		for (i = 0; i < k; i++) {
			dir_observe(&ctx->m, secs, q[i].rc);
			if (q[i].rc == -1 || fa[at[i]].err)
				continue;
			if (fa[at[i]].entries > 1 && lk_dup(&fa[at[i]]) == -1) {
				log_err("%s: out of memory", keys[at[i]]);
				continue;
			}
			if (lk_res_finish(fa[at[i]].res) == -1) {
				log_err("%s: cannot order the answer",
				    keys[at[i]]);
				continue;
			}
			out[at[i]] = fa[at[i]].res;
			fa[at[i]].res = NULL;
			rcs[at[i]] = 0;
		}
	}
	for (i = 0; i < n; i++) {
		lk_res_unref(fa[i].res);
		free(fa[i].dn[0]);
		free(fa[i].dn[1]);
		free(filter[i]);
	}
}
