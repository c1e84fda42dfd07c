/*
 * lk_pool.c — a fixed pool of directory connections (lookup.pool_size),
 * each used by one request thread at a time. A thread that finds none free
 * waits up to wait_sec, then gets NULL (the caller answers 503). Each
 * connection reconnects by itself (dir.c) when the server went away.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
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
};

struct lk_pool *
lk_pool_new(const struct cfg_directory *cfg, int size, int wait_sec)
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
