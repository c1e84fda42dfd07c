/*
 * lk_pool.c — a fixed pool of directory connections (lookup.pool_size),
 * each used by one thread at a time. A thread that finds none free
 * waits up to wait_sec, then gets NULL (the caller answers 503). Each
 * connection reconnects by itself (dir.c) when the server went away.
 * Also here, the searches run on it: timed for the latency histogram, and
 * lk_fill, the one equality search behind the cache for an address (the
 * value RFC 4515-escaped), whose entries lk_certs.c judges.
 *
 * The address searches are pipelined (lookup.pool_depth): a thread queues
 * its search and, when a connection is free, takes up to pool_depth queued
 * searches (its own or others') and runs them together on it
 * (dir_search_few), judging each one's entries for its owner, who waits.
 * With one search a connection, the connection sat idle for a round trip
 * and for the judging between two searches: lookupd did half the searches
 * a plain libldap client does over as many connections.
 */
#include <errno.h>
#include <pthread.h>
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
	int		 depth;		/* searches taken at once */
	struct lk_query	*head, **tail;	/* searches waiting for a connection */
};

/* A search waiting in the pool's queue, on its owner's stack. */
enum { LKQ_QUEUED, LKQ_TAKEN, LKQ_DONE };
struct lk_query {
	struct dir_query q;
	struct lk_query	*next;
	int		 state;
	pthread_cond_t	 cv;		/* done, or a connection to lead on */
};

struct lk_pool *
lk_pool_new(const struct cfg_directory *cfg, int size, int depth,
    int wait_sec)
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
	p->depth = depth < 1 ? 1 : depth > LK_DEPTH_MAX ? LK_DEPTH_MAX : depth;
	p->tail = &p->head;
	for (i = 0; i < size; i++) {
		if ((p->all[i] = dir_new(cfg)) == NULL)
			goto fail;
		p->n++;
		p->free[p->nfree++] = p->all[i];
	}
	/* Connect the first now so a wrong password shows at start; the
	 * others connect on first use. A directory that is down is not
	 * fatal: /healthz says so and requests answer 503 until it is back. */
	if (dir_connect(p->all[0]) == 0)
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
		dir_free(p->all[i]);
	if (p->all != NULL) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->all);
	free(p->free);
	free(p);
}

/*
 * A connection came free (p->mu held): the oldest queued search's owner may
 * lead on it, and a waiting lk_pool_get may take it. One thread each, not
 * every waiter: with pool_depth searches waiting on each connection, waking
 * them all at each answer cost more than the searches.
 */
static void
lk_wake(struct lk_pool *p)
{
	if (p->head != NULL)
		pthread_cond_signal(&p->head->cv);
	pthread_cond_signal(&p->cv);
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
	lk_wake(p);
	pthread_mutex_unlock(&p->mu);
}

/* ---- the directory search behind the cache ----------------------------- */

struct fill_arg {
	struct lk_ctx	*ctx;
	struct lk_res	*res;
	const char	*addr;
	int		 err;
};

static int
fill_cb(const struct dir_person *p, void *arg)
{
	struct fill_arg *fa = arg;

	if (p->disabled)
		return 0;
	if (lk_certs_collect(fa->ctx->certs, p, fa->addr, time(NULL),
	    fa->res, fa->ctx->m.rejected) == -1) {
		fa->err = 1;
		return -1;
	}
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
	rc = dir_search_people(d, filter, cb, arg);
	dir_observe(&ctx->m, lk_monotonic() - t0, rc);
	lk_pool_put(ctx->pool, d);
	return rc;
}

/* Take q out of the queue (it gave up waiting). */
static void
lk_unqueue(struct lk_pool *p, struct lk_query *q)
{
	struct lk_query **pp;

	for (pp = &p->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			if ((*pp = q->next) == NULL)
				p->tail = pp;
			return;
		}
}

/*
 * Run up to depth queued searches on d, with p->mu held on entry and on
 * return (released while the directory works).
 */
static void
lk_lead(struct lk_pool *p, struct lk_metrics *m, struct dir *d)
{
	struct lk_query *batch[LK_DEPTH_MAX];
	struct dir_query qs[LK_DEPTH_MAX];
	double t0, secs;
	int i, n = 0;

	while (n < p->depth && p->head != NULL) {
		batch[n] = p->head;
		if ((p->head = p->head->next) == NULL)
			p->tail = &p->head;
		batch[n]->state = LKQ_TAKEN;
		qs[n] = batch[n]->q;
		n++;
	}
	pthread_mutex_unlock(&p->mu);
	if (n > 1)
		atomic_fetch_add(&m->dir_pipelined, (unsigned long)(n - 1));
	t0 = lk_monotonic();
	(void)dir_search_few(d, qs, (size_t)n);
	secs = lk_monotonic() - t0;
	for (i = 0; i < n; i++)
		dir_observe(m, secs, qs[i].rc);
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < n; i++) {
		batch[i]->q.rc = qs[i].rc;
		batch[i]->state = LKQ_DONE;
		pthread_cond_signal(&batch[i]->cv);
	}
	p->free[p->nfree++] = d;
	lk_wake(p);
}

int
lk_dir_lookup(struct lk_ctx *ctx, const char *filter, dir_person_cb cb,
    void *arg)
{
	struct lk_pool *p = ctx->pool;
	struct lk_query me;
	struct timespec until;
	pthread_condattr_t ca;
	int rc = -1;

	memset(&me, 0, sizeof(me));
	me.q.filter = filter;
	me.q.cb = cb;
	me.q.arg = arg;
	me.state = LKQ_QUEUED;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&me.cv, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->wait_sec;
	pthread_mutex_lock(&p->mu);
	*p->tail = &me;
	p->tail = &me.next;
	while (me.state != LKQ_DONE) {
		if (p->head != NULL && p->nfree > 0) {
			lk_lead(p, &ctx->m, p->free[--p->nfree]);
			continue;
		}
		if (me.state == LKQ_TAKEN) {
			/* its leader ends it, within the search timeout */
			pthread_cond_wait(&me.cv, &p->mu);
			continue;
		}
		if (pthread_cond_timedwait(&me.cv, &p->mu, &until) ==
		    ETIMEDOUT && me.state == LKQ_QUEUED) {
			lk_unqueue(p, &me);
			break;
		}
	}
	if (me.state == LKQ_DONE)
		rc = me.q.rc;
	/* pass on a wake-up meant for the queue's head that came to me
	 * after I was taken: a connection may be free with searches queued */
	if (p->head != NULL && p->nfree > 0)
		pthread_cond_signal(&p->head->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&me.cv);
	if (me.state != LKQ_DONE) {
		log_warn("no directory connection came free in %d s "
		    "(lookup.pool_size %zu)", p->wait_sec, p->n);
		atomic_fetch_add(&ctx->m.dir_errors, 1);
	}
	return rc;
}

int
lk_fill(const char *addr, void *arg, struct lk_res **out)
{
	struct lk_ctx *ctx = arg;
	struct fill_arg fa = { ctx, NULL, addr, 0 };
	char *esc = NULL, *filter = NULL;
	int rc = -1;

	if ((fa.res = lk_res_new(addr)) == NULL ||
	    (esc = dir_filter_escape(addr, strlen(addr))) == NULL ||
	    asprintf(&filter, "(&%s(%s=%s))", ctx->cfg->directory.filter,
	    ctx->cfg->directory.mail_attribute, esc) == -1) {
		filter = NULL;
		log_err("%s: out of memory", addr);
		goto out;
	}
	if (lk_dir_lookup(ctx, filter, fill_cb, &fa) == -1 || fa.err)
		goto out;
	if (lk_res_finish(fa.res) == -1) {
		log_err("%s: cannot order the answer", addr);
		goto out;
	}
	*out = fa.res;
	fa.res = NULL;
	rc = 0;
out:
	lk_res_unref(fa.res);
	free(filter);
	free(esc);
	return rc;
}
