/*
 * lk_cache.c — the lookup cache: address -> lk_res, with a positive and a
 * negative TTL and a bound on entries (least recently used goes first).
 *
 * Concurrent misses for one address cause one directory search: the first
 * thread to miss puts an in-flight record (a "flight") on the entry and
 * fills it without the lock; the others wait on the flight's condition
 * variable and share its answer. A failed fill caches nothing, and its
 * waiters fail with it. One mutex guards the table; fills run unlocked.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/lk.h"

struct lk_flight {
	pthread_cond_t	 cv;
	int		 done;
	int		 rc;
	struct lk_res	*res;		/* one reference, dropped with the flight */
	int		 refs;		/* filler + waiters */
};

struct lk_entry {
	char		*key;
	uint32_t	 hash;
	struct lk_entry	*hnext;		/* bucket chain */
	struct lk_entry	*prev, *next;	/* LRU list; unlinked while in flight */
	struct lk_res	*res;		/* NULL while in flight */
	time_t		 expires;
	struct lk_flight *flight;
};

struct lk_cache {
	pthread_mutex_t	 mu;
	struct lk_entry	**buckets;
	size_t		 nbuckets;	/* power of two */
	size_t		 max;		/* 0: cache nothing, still single-flight */
	size_t		 count;		/* entries in the LRU list */
	struct lk_entry	 lru;		/* head: lru.next most recent */
	int		 ttl, neg_ttl;
	lk_clock_fn	 clock;
	struct lk_cache_stats st;
};

static uint32_t
lk_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static time_t
lk_clock_default(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct lk_cache *
lk_cache_new(size_t max, int ttl, int neg_ttl, lk_clock_fn clock)
{
	struct lk_cache *c;
	size_t nb = 64;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	while (nb < max && nb < ((size_t)1 << 24))
		nb <<= 1;
	if ((c->buckets = calloc(nb, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->nbuckets = nb;
	c->max = max;
	c->ttl = ttl;
	c->neg_ttl = neg_ttl;
	c->clock = clock != NULL ? clock : lk_clock_default;
	c->lru.next = c->lru.prev = &c->lru;
	return c;
}

static struct lk_entry **
lk_find(struct lk_cache *c, const char *key, uint32_t h)
{
	struct lk_entry **pp;

	for (pp = &c->buckets[h & (c->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

static void
lru_unlink(struct lk_cache *c, struct lk_entry *e)
{
	if (e->next == NULL)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = NULL;
	c->count--;
}

static void
lru_push(struct lk_cache *c, struct lk_entry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
	c->count++;
}

/* Take e out of the table and free it; it must not be in flight. */
static void
lk_drop(struct lk_cache *c, struct lk_entry *e)
{
	struct lk_entry **pp = lk_find(c, e->key, e->hash);

	if (*pp == e)
		*pp = e->hnext;
	lru_unlink(c, e);
	lk_res_unref(e->res);
	free(e->key);
	free(e);
}

static void
lk_flight_release(struct lk_flight *f)
{
	if (--f->refs > 0)
		return;
	pthread_cond_destroy(&f->cv);
	lk_res_unref(f->res);
	free(f);
}

int
lk_cache_get(struct lk_cache *c, const char *key, lk_fill_fn fill, void *arg,
    struct lk_res **out, enum lk_how *how)
{
	struct lk_entry **pp, *e;
	struct lk_flight *f;
	struct lk_res *res = NULL;
	uint32_t h = lk_hash(key);
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	pp = lk_find(c, key, h);
	e = *pp;
	if (e != NULL && e->flight != NULL) {
		f = e->flight;
		f->refs++;
		c->st.shared++;
		while (!f->done)
			pthread_cond_wait(&f->cv, &c->mu);
		rc = f->rc;
		if (rc == 0)
			*out = lk_res_ref(f->res);
		lk_flight_release(f);
		pthread_mutex_unlock(&c->mu);
		if (how != NULL)
			*how = LK_CACHE_SHARED;
		return rc;
	}
	if (e != NULL && e->expires > c->clock()) {
		lru_unlink(c, e);
		lru_push(c, e);
		c->st.hits++;
		*out = lk_res_ref(e->res);
		pthread_mutex_unlock(&c->mu);
		if (how != NULL)
			*how = LK_CACHE_HIT;
		return 0;
	}
	/* A miss: this thread fills, in flight, outside the LRU list. */
	c->st.misses++;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto nomem;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->key = strdup(key)) == NULL) {
			free(e);
			free(f);
			goto nomem;
		}
		e->hash = h;
		e->hnext = *pp;
		*pp = e;
	} else {
		lru_unlink(c, e);
		lk_res_unref(e->res);
		e->res = NULL;
	}
	pthread_cond_init(&f->cv, NULL);
	f->refs = 1;
	e->flight = f;
	pthread_mutex_unlock(&c->mu);

	rc = fill(key, arg, &res);

	pthread_mutex_lock(&c->mu);
	f->done = 1;
	f->rc = rc;
	if (rc == 0) {
		f->res = lk_res_ref(res);
		*out = res;
	} else {
		c->st.errors++;
		lk_res_unref(res);
	}
	e->flight = NULL;
	if (rc == 0 && c->max > 0 && (res->n > 0 ? c->ttl : c->neg_ttl) > 0) {
		e->res = lk_res_ref(res);
		e->expires = c->clock() + (res->n > 0 ? c->ttl : c->neg_ttl);
		lru_push(c, e);
		while (c->count > c->max) {
			c->st.evictions++;
			lk_drop(c, c->lru.prev);
		}
	} else
		lk_drop(c, e);
	pthread_cond_broadcast(&f->cv);
	lk_flight_release(f);
	pthread_mutex_unlock(&c->mu);
	if (how != NULL)
		*how = LK_CACHE_MISS;
	return rc;
nomem:
	c->st.errors++;
	pthread_mutex_unlock(&c->mu);
	return -1;
}

int
lk_cache_peek(struct lk_cache *c, const char *key, struct lk_res **out)
{
	struct lk_entry *e;
	int hit = 0;

	*out = NULL;
	if (c->max == 0)
		return 0;
	pthread_mutex_lock(&c->mu);
	e = *lk_find(c, key, lk_hash(key));
	if (e != NULL && e->flight == NULL && e->expires > c->clock()) {
		lru_unlink(c, e);
		lru_push(c, e);
		c->st.hits++;
		*out = lk_res_ref(e->res);
		hit = 1;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* Drop every finished entry; fills in flight complete and are kept. */
void
lk_cache_flush(struct lk_cache *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->lru.next != &c->lru)
		lk_drop(c, c->lru.next);
	pthread_mutex_unlock(&c->mu);
}

void
lk_cache_stats(struct lk_cache *c, struct lk_cache_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	st->entries = c->count;
	pthread_mutex_unlock(&c->mu);
}

void
lk_cache_free(struct lk_cache *c)
{
	if (c == NULL)
		return;
	lk_cache_flush(c);
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c);
}
