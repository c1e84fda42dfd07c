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

/* What a thread asking for a key does next (lk_claim). */
enum lk_claim { CL_HIT, CL_WAIT, CL_FILL, CL_ERR };

/*
 * With c->mu held: a hit (*out referenced), another thread's flight to
 * wait for (*f, referenced), or a miss this thread fills (*e and *f, the
 * entry in flight outside the LRU list); CL_ERR when out of memory.
 */
static enum lk_claim
lk_claim(struct lk_cache *c, const char *key, struct lk_entry **ep,
    struct lk_flight **fp, struct lk_res **out)
{
	struct lk_entry **pp, *e;
	struct lk_flight *f;
	uint32_t h = lk_hash(key);

	pp = lk_find(c, key, h);
	e = *pp;
	if (e != NULL && e->flight != NULL) {
		f = e->flight;
		f->refs++;
		c->st.shared++;
		*fp = f;
		return CL_WAIT;
	}
	if (e != NULL && e->expires > c->clock()) {
		lru_unlink(c, e);
		lru_push(c, e);
		c->st.hits++;
		*out = lk_res_ref(e->res);
		return CL_HIT;
	}
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
	*ep = e;
	*fp = f;
	return CL_FILL;
nomem:
	c->st.errors++;
	return CL_ERR;
}

/* With c->mu held: the answer of another thread's flight f. */
static int
lk_wait(struct lk_cache *c, struct lk_flight *f, struct lk_res **out)
{
	int rc;

	while (!f->done)
		pthread_cond_wait(&f->cv, &c->mu);
	rc = f->rc;
	if (rc == 0)
		*out = lk_res_ref(f->res);
	lk_flight_release(f);
	return rc;
}

/* With c->mu held: the fill of e ended (rc, res: a reference taken over,
 * then handed to *out); cache it, wake the flight's waiters. */
static void
lk_complete(struct lk_cache *c, struct lk_entry *e, struct lk_flight *f,
    int rc, struct lk_res *res, struct lk_res **out)
{
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
}

void
lk_cache_get_many(struct lk_cache *c, const char *const *keys, size_t n,
    lk_fill_many_fn fill, void *arg, struct lk_res **out, int *rcs)
{
	struct lk_entry *e[LK_MANY_MAX];
	struct lk_flight *f[LK_MANY_MAX];
	enum lk_claim how[LK_MANY_MAX];
	const char *fkeys[LK_MANY_MAX];
	struct lk_res *fres[LK_MANY_MAX];
	int frc[LK_MANY_MAX];
	size_t i, m = 0, idx[LK_MANY_MAX];

	if (n > LK_MANY_MAX)
		n = LK_MANY_MAX;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < n; i++) {
		out[i] = NULL;
		rcs[i] = 0;
		e[i] = NULL;
		f[i] = NULL;
		/* a key twice here: the second waits for the first's flight,
		 * after every fill of this call has completed */
		how[i] = lk_claim(c, keys[i], &e[i], &f[i], &out[i]);
		if (how[i] == CL_FILL) {
			idx[m] = i;
			fkeys[m] = keys[i];
			fres[m] = NULL;
			frc[m] = -1;
			m++;
		} else if (how[i] == CL_ERR)
			rcs[i] = -1;
	}
	pthread_mutex_unlock(&c->mu);
	if (m > 0)
		fill(fkeys, m, arg, fres, frc);
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < m; i++) {
		lk_complete(c, e[idx[i]], f[idx[i]], frc[i], fres[i],
		    &out[idx[i]]);
		rcs[idx[i]] = frc[i];
	}
	for (i = 0; i < n; i++)
		if (how[i] == CL_WAIT)
			rcs[i] = lk_wait(c, f[i], &out[i]);
	pthread_mutex_unlock(&c->mu);
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
