/*
 * lk_x509.c — certificates parsed once: a bounded table of the X509
 * objects (or, for userSMIMECertificate, the certs-only bundles) parsed
 * from directory values, keyed by the DER bytes (compared in full, never by
 * a hash alone). OpenSSL 3.0 decodes a certificate's public
 * key through its provider decoders, which costs about 0.25 ms a
 * certificate here, more than the directory search itself; the answer
 * cache does not help when an answer expires (or with cache_ttl = 0), but
 * the values on the entries rarely change. The table is 4-way set
 * associative (the least recently used way of a set is replaced), with
 * striped locks, and holds at most as many values as lookup.cache_max
 * answers, rounded down to a power of two, and 32768 (a parsed EC
 * certificate takes about 5.5 KB, a bundle of two about twice that); only the parse is cached, never whether the certificate
 * is usable (that depends on the time and the CRLs, and is judged on every
 * lookup).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/x509.h"
#include "lookup/lk.h"

#define LK_X509_MAXSETS	8192
#define LK_X509_WAYS	4
#define LK_X509_STRIPES	64
#define LK_X509_MAXDER	65536	/* bigger values are parsed, not kept */

struct x5_ent {
	uint64_t	 h;
	unsigned char	*der;
	size_t		 len;
	X509		*x;
	STACK_OF(X509)	*sk;		/* a bundle's certificates */
	unsigned long	 used;		/* c->tick when last found */
};

struct lk_x509c {
	pthread_mutex_t	 mu[LK_X509_STRIPES];
	struct x5_ent	(*e)[LK_X509_WAYS];
	size_t		 nsets;		/* a power of two */
	atomic_ulong	 tick;
	atomic_ulong	 hits, misses;
	int		 bundles;	/* holds bundles, not certificates */
};

struct lk_x509c *
lk_x509c_new(int bundles, size_t max)
{
	struct lk_x509c *c;
	int i;

	if (max < LK_X509_WAYS)		/* no table: parse every time */
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->bundles = bundles;
	for (c->nsets = 1; c->nsets * 2 * LK_X509_WAYS <= max &&
	    c->nsets < LK_X509_MAXSETS; c->nsets *= 2)
		;
	if ((c->e = calloc(c->nsets, sizeof(*c->e))) == NULL) {
		free(c);
		return NULL;
	}
	for (i = 0; i < LK_X509_STRIPES; i++)
		pthread_mutex_init(&c->mu[i], NULL);
	return c;
}

void
lk_x509c_free(struct lk_x509c *c)
{
	int i, w;

	if (c == NULL)
		return;
	for (i = 0; (size_t)i < c->nsets; i++)
		for (w = 0; w < LK_X509_WAYS; w++) {
			X509_free(c->e[i][w].x);
			sk_X509_pop_free(c->e[i][w].sk, X509_free);
			free(c->e[i][w].der);
		}
	for (i = 0; i < LK_X509_STRIPES; i++)
		pthread_mutex_destroy(&c->mu[i]);
	free(c->e);
	free(c);
}

static uint64_t
fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* The entry of der (a reference to its X509 or a copy of its stack in
 * *x or *sk), or a parse of it kept for the next time. */
static int
x5_get(struct lk_x509c *c, const unsigned char *der, size_t len, X509 **x,
    STACK_OF(X509) **sk)
{
	struct x5_ent *e;
	unsigned char *copy;
	uint64_t h;
	size_t set;
	int w, stripe;

	*x = NULL;
	*sk = NULL;
	h = fnv1a(der, len);
	set = (size_t)(h & (c->nsets - 1));
	stripe = (int)(set % LK_X509_STRIPES);
	pthread_mutex_lock(&c->mu[stripe]);
	for (w = 0; w < LK_X509_WAYS; w++) {
		e = &c->e[set][w];
		if (e->der == NULL || e->h != h || e->len != len ||
		    memcmp(e->der, der, len) != 0)
			continue;
		if (e->x != NULL && X509_up_ref(e->x) == 1)
			*x = e->x;
		else if (e->sk != NULL)
			*sk = X509_chain_up_ref(e->sk);
		if (*x != NULL || *sk != NULL) {
			e->used = atomic_fetch_add(&c->tick, 1);
			pthread_mutex_unlock(&c->mu[stripe]);
			atomic_fetch_add(&c->hits, 1);
			return 0;
		}
	}
	pthread_mutex_unlock(&c->mu[stripe]);
	atomic_fetch_add(&c->misses, 1);
	/* parse outside the lock; an unparsable value is not kept */
	if (c->bundles) {
		if ((*sk = x509_certsonly_parse(der, len)) == NULL)
			return -1;
		if (sk_X509_num(*sk) == 0)
			return 0;
	} else if ((*x = x509_from_der(der, len)) == NULL)
		return -1;
	if ((copy = malloc(len)) == NULL)
		return 0;
	memcpy(copy, der, len);
	pthread_mutex_lock(&c->mu[stripe]);
	e = &c->e[set][0];
	for (w = 1; w < LK_X509_WAYS && e->der != NULL; w++)
		if (c->e[set][w].der == NULL || c->e[set][w].used < e->used)
			e = &c->e[set][w];
	X509_free(e->x);
	sk_X509_pop_free(e->sk, X509_free);
	e->x = NULL;
	e->sk = NULL;
	if (*x != NULL && X509_up_ref(*x) == 1)
		e->x = *x;
	else if (*sk != NULL)
		e->sk = X509_chain_up_ref(*sk);
	if (e->x == NULL && e->sk == NULL) {
		free(copy);
		copy = NULL;
	}
	free(e->der);
	e->h = h;
	e->der = copy;
	e->len = copy != NULL ? len : 0;
	e->used = atomic_fetch_add(&c->tick, 1);
	pthread_mutex_unlock(&c->mu[stripe]);
	return 0;
}

X509 *
lk_x509c_get(struct lk_x509c *c, const unsigned char *der, size_t len)
{
	STACK_OF(X509) *sk;
	X509 *x;

	if (c == NULL || c->bundles || len == 0 || len > LK_X509_MAXDER)
		return x509_from_der(der, len);
	if (x5_get(c, der, len, &x, &sk) == -1)
		return NULL;
	return x;
}

STACK_OF(X509) *
lk_x509c_get_bundle(struct lk_x509c *c, const unsigned char *der, size_t len)
{
	STACK_OF(X509) *sk;
	X509 *x;

	if (c == NULL || !c->bundles || len == 0 || len > LK_X509_MAXDER)
		return x509_certsonly_parse(der, len);
	if (x5_get(c, der, len, &x, &sk) == -1)
		return NULL;
	return sk;
}

void
lk_x509c_stats(struct lk_x509c *c, unsigned long *hits, unsigned long *misses)
{
	*hits = c != NULL ? atomic_load(&c->hits) : 0;
	*misses = c != NULL ? atomic_load(&c->misses) : 0;
}
