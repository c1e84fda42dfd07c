/*
 * lk_conns.c — lookup.max_connections_per_ip and lookup.max_connections,
 * enforced here rather than by libmicrohttpd's
 * MHD_OPTION_PER_IP_CONNECTION_LIMIT and MHD_OPTION_CONNECTION_LIMIT, which
 * close a connection over the cap without telling anyone: the operator
 * could not see in /metrics that clients were being turned away. (MHD also
 * splits its limit between the threads of its pool, so one busy thread
 * refused while the daemon as a whole had room.)
 *
 * Open connections are counted by IPv4 address or IPv6 /64 prefix (a
 * client holding a /64 has 2^64 addresses to spread over; other families,
 * such as a unix socket, are not capped). lk_http.c asks
 * lk_conns_full() from MHD's accept policy callback, before MHD allocates
 * anything for the connection, and counts the connection with
 * lk_conns_open() once MHD has started it and lk_conns_close() when MHD
 * closes it (MHD_OPTION_NOTIFY_CONNECTION): so a connection MHD refuses or
 * fails to set up after the policy said yes is never counted, and no count
 * is left behind. Two connections from one address accepted at once by
 * two threads may both pass lk_conns_full(); lk_conns_open() then refuses
 * the one over the cap.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/lk.h"

#define LK_CONNS_BUCKETS	1024	/* a power of two */

struct lk_ipc {
	struct lk_ipc	*next;
	struct lk_ip	 ip;
	unsigned	 n;		/* open connections */
};

struct lk_conns {
	pthread_mutex_t	 mu;
	struct lk_ipc	*b[LK_CONNS_BUCKETS];
	unsigned	 cap;		/* per address; 0: none */
	unsigned	 max;		/* in all; 0: none */
	unsigned	 total;		/* open, counted by lk_conns_open */
	atomic_ulong	*refused;	/* the counters in /metrics */
	atomic_ulong	*refused_max;
};

struct lk_conns *
lk_conns_new(unsigned cap, atomic_ulong *refused, unsigned max,
    atomic_ulong *refused_max)
{
	struct lk_conns *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	c->cap = cap;
	c->refused = refused;
	c->max = max;
	c->refused_max = refused_max;
	return c;
}

void
lk_conns_free(struct lk_conns *c)
{
	struct lk_ipc *e, *next;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < LK_CONNS_BUCKETS; i++)
		for (e = c->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int
lk_conns_key(const struct sockaddr *sa, struct lk_ip *ip)
{
	const struct sockaddr_in6 *s6;

	memset(ip, 0, sizeof(*ip));
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		ip->len = 4;
		memcpy(ip->a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ip->len = 4;	/* an IPv4 client on a v6 socket */
			memcpy(ip->a, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			/* by /64: one site gets a /64 (RFC 6177) and picks
			 * any address in it, as lk_rate.c counts */
			ip->len = 8;
			memcpy(ip->a, s6->sin6_addr.s6_addr, 8);
		}
		return 1;
	}
	return 0;
}

static struct lk_ipc **
lk_conns_find(struct lk_conns *c, const struct lk_ip *ip)
{
	struct lk_ipc **pp;
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < ip->len; i++)
		h = (h ^ ip->a[i]) * 16777619u;
	for (pp = &c->b[h & (LK_CONNS_BUCKETS - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->ip.len == ip->len &&
		    memcmp((*pp)->ip.a, ip->a, ip->len) == 0)
			break;
	return pp;
}

int
lk_conns_full(struct lk_conns *c, const struct sockaddr *sa)
{
	struct lk_ipc *e;
	struct lk_ip ip;
	int full = 0, all = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (c->max != 0 && c->total >= c->max)
		all = 1;
	else if (c->cap != 0 && lk_conns_key(sa, &ip)) {
		e = *lk_conns_find(c, &ip);
		full = e != NULL && e->n >= c->cap;
	}
	pthread_mutex_unlock(&c->mu);
	if (all)
		atomic_fetch_add(c->refused_max, 1);
	if (full)
		atomic_fetch_add(c->refused, 1);
	return full || all;
}

int
lk_conns_open(struct lk_conns *c, const struct lk_ip *ip)
{
	struct lk_ipc **pp, *e;
	int rc = -1;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (c->max != 0 && c->total >= c->max) {
		/* accepted by two threads at once past the last free place */
		pthread_mutex_unlock(&c->mu);
		atomic_fetch_add(c->refused_max, 1);
		return -1;
	}
	if (c->cap == 0 || ip->len == 0) {
		c->total++;
		rc = 0;
		goto out;
	}
	pp = lk_conns_find(c, ip);
	if ((e = *pp) == NULL) {
		/* no memory for the count: refused, never uncounted */
		if ((e = calloc(1, sizeof(*e))) == NULL)
			goto out;
		e->ip = *ip;
		*pp = e;
	}
	if (e->n < c->cap) {
		e->n++;
		c->total++;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&c->mu);
	if (rc == -1)
		atomic_fetch_add(c->refused, 1);
	return rc;
}

void
lk_conns_close(struct lk_conns *c, const struct lk_ip *ip)
{
	struct lk_ipc **pp, *e;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->total > 0)
		c->total--;
	if (c->cap != 0 && ip->len != 0) {
		pp = lk_conns_find(c, ip);
		if ((e = *pp) != NULL && e->n > 0 && --e->n == 0) {
			*pp = e->next;
			free(e);
		}
	}
	pthread_mutex_unlock(&c->mu);
}
