/*
 * lk_rate.c — anti-harvesting: one token bucket per client address (IPv4,
 * IPv6 by /64, or "unix" for the local socket). A request takes a token
 * (a batch takes one per recipient, lk_rate_take_n, all or none); a bucket
 * short of them means 429 with Retry-After until there are enough. Buckets
 * are kept in a striped hash; a bucket that has refilled to full carries no
 * state, so it is dropped when its chain is next walked, which bounds the
 * table by the clients active within burst/rate seconds.
 */
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/lk.h"

#define RATE_STRIPES	64
#define RATE_BUCKETS	4096	/* per stripe chains: RATE_BUCKETS / RATE_STRIPES */

struct rate_ent {
	unsigned char	 key[17];	/* family + up to 16 address bytes */
	double		 tokens;
	double		 last;
	struct rate_ent	*next;
};

struct lk_rate {
	double		 rate, burst;
	lk_dclock_fn	 clock;
	pthread_mutex_t	 mu[RATE_STRIPES];
	struct rate_ent	*b[RATE_BUCKETS];
	atomic_size_t	 n;		/* buckets held, all stripes */
};

double
lk_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct lk_rate *
lk_rate_new(double rate, double burst, lk_dclock_fn clock)
{
	struct lk_rate *r;
	int i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
	r->clock = clock != NULL ? clock : lk_monotonic;
	for (i = 0; i < RATE_STRIPES; i++)
		pthread_mutex_init(&r->mu[i], NULL);
	return r;
}

void
lk_rate_free(struct lk_rate *r)
{
	struct rate_ent *e, *n;
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < RATE_BUCKETS; i++)
		for (e = r->b[i]; e != NULL; e = n) {
			n = e->next;
			free(e);
		}
	for (i = 0; i < RATE_STRIPES; i++)
		pthread_mutex_destroy(&r->mu[i]);
	free(r);
}

/* The bucket key of a client: IPv6 clients by their /64. */
static void
rate_key(const struct sockaddr *sa, unsigned char key[17])
{
	memset(key, 0, 17);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		/* an IPv4-mapped address counts as that IPv4 address */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
		}
	} else
		key[0] = 1;	/* unix: one bucket for local clients */
}

int
lk_rate_take(struct lk_rate *r, const struct sockaddr *sa, unsigned *retry)
{
	return lk_rate_take_n(r, sa, 1, retry);
}

int
lk_rate_take_n(struct lk_rate *r, const struct sockaddr *sa, double cost,
    unsigned *retry)
{
	unsigned char key[17];
	struct rate_ent **pp, *e, *found = NULL;
	uint32_t h = 2166136261u;
	double now, full, wait;
	size_t i;
	int ok, stripe;

	*retry = 0;
	if (r->rate <= 0 || cost <= 0)
		return 1;
	rate_key(sa, key);
	for (i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 16777619u;
	h &= RATE_BUCKETS - 1;
	stripe = (int)(h % RATE_STRIPES);
	full = r->burst / r->rate;	/* seconds from empty to full */

	pthread_mutex_lock(&r->mu[stripe]);
	now = r->clock();
	for (pp = &r->b[h]; (e = *pp) != NULL;) {
		if (memcmp(e->key, key, sizeof(key)) == 0) {
			found = e;
			pp = &e->next;
			continue;
		}
		if (now - e->last >= full) {	/* refilled: forget it */
			*pp = e->next;
			free(e);
			r->n--;
			continue;
		}
		pp = &e->next;
	}
	if ((e = found) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			pthread_mutex_unlock(&r->mu[stripe]);
			return 1;	/* fail open rather than refuse all */
		}
		memcpy(e->key, key, sizeof(key));
		e->tokens = r->burst;
		e->last = now;
		e->next = r->b[h];
		r->b[h] = e;
		r->n++;
	}
	e->tokens += (now - e->last) * r->rate;
	if (e->tokens > r->burst)
		e->tokens = r->burst;
	e->last = now;
	if (e->tokens >= cost) {
		e->tokens -= cost;
		ok = 1;
	} else {
		/* a cost over the burst never passes: the caller (cfg.c
		 * keeps batch_burst >= batch_max) must not ask for it */
		wait = ceil((cost - e->tokens) / r->rate);
		*retry = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
		ok = 0;
	}
	pthread_mutex_unlock(&r->mu[stripe]);
	return ok;
}

size_t
lk_rate_clients(struct lk_rate *r)
{
	return r->n;
}
