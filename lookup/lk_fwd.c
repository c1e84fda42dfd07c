/*
 * lk_fwd.c — who the client is behind a reverse proxy. Only when the peer
 * of the connection is in lookup.trusted_proxies are its Forwarded
 * (RFC 7239) or, when that is absent, X-Forwarded-For fields believed; the
 * client is then the right-most address in them that is not itself a
 * trusted proxy (each trusted hop vouches for the one left of it, and
 * nothing further left can be told from what a client made up). A hop
 * that names no address ("unknown", an obfuscated identifier, garbage)
 * ends the walk at the trusted proxy that wrote it. The rate limits and
 * the logs use that client; the connection caps (lk_conns.c) stay with the
 * peer, decided before any header is read.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "lookup/lk.h"

#define LK_FWD_HOPS	32	/* right-most hops kept; a longer chain of
				 * trusted proxies is not a deployment */

const char *const lk_fwd_names[LK_FWD_MAX] = {
	"none", "believed", "untrusted", "malformed"
};

struct lk_hops {
	struct net_addr	 a[LK_FWD_HOPS];
	unsigned char	 ok[LK_FWD_HOPS];
	size_t		 n;		/* hops seen; the last LK_FWD_HOPS kept */
};

static void
lk_hop_add(struct lk_hops *h, int ok, const struct net_addr *a)
{
	size_t i = h->n++ % LK_FWD_HOPS;

	h->ok[i] = (unsigned char)ok;
	if (ok)
		h->a[i] = *a;
}

/* A node (RFC 7239 §6): "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]",
 * "[2001:db8::1]:80", or, as X-Forwarded-For writers do, "2001:db8::1":
 * 0 with its address, or -1 ("unknown", "_hidden", anything else). */
int
lk_fwd_node(const char *p, size_t len, struct net_addr *a)
{
	const char *e = p + len, *c;

	if (len > 0 && *p == '[') {
		if ((c = memchr(p, ']', len)) == NULL ||
		    (c + 1 != e && c[1] != ':'))
			return -1;
		return net_addr_parse(p + 1, (size_t)(c - p - 1), a);
	}
	/* one ':' is IPv4 with a port; more, an IPv6 address without one */
	if ((c = memchr(p, ':', len)) != NULL && memchr(c + 1, ':',
	    (size_t)(e - c - 1)) == NULL)
		e = c;
	return net_addr_parse(p, (size_t)(e - p), a);
}

static void
lk_trim(const char **p, const char **e)
{
	while (*p < *e && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*e > *p && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* The for= of one forwarded-element in [p, e) (RFC 7239 §4): 0 with its
 * address, or -1. A quoted value is unescaped (RFC 9110 §5.6.4). */
static int
lk_fwd_for(const char *p, const char *e, struct net_addr *a)
{
	char v[64];
	const char *n, *ne, *q;
	size_t vl;

	for (;;) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		if (p >= e)
			return -1;
		n = p;
		while (p < e && *p != '=' && *p != ';')
			p++;
		ne = p;
		if (p >= e || *p++ != '=')
			continue;
		vl = 0;
		if (p < e && *p == '"') {
			for (q = p + 1; q < e && *q != '"'; q++) {
				if (*q == '\\' && q + 1 < e)
					q++;
				if (vl < sizeof(v))
					v[vl++] = *q;
			}
			p = q < e ? q + 1 : e;
		} else
			for (; p < e && *p != ';' && *p != ' ' && *p != '\t';
			    p++)
				if (vl < sizeof(v))
					v[vl++] = *p;
		lk_trim(&n, &ne);
		if (ne - n == 3 && strncasecmp(n, "for", 3) == 0)
			return vl < sizeof(v) ? lk_fwd_node(v, vl, a) : -1;
	}
}

/* The hops of a Forwarded (forwarded = 1) or X-Forwarded-For value. */
static void
lk_hops_parse(struct lk_hops *h, const char *v, int forwarded)
{
	const char *p, *e, *end = v + strlen(v), *b, *be;
	struct net_addr a;
	int ok;

	for (p = v; p <= end; p = e + 1) {
		e = lk_list_next(p, end);
		b = p;
		be = e;
		lk_trim(&b, &be);
		if (b < be) {	/* empty list elements do not count */
			ok = forwarded ? lk_fwd_for(b, be, &a) == 0 :
			    lk_fwd_node(b, (size_t)(be - b), &a) == 0;
			lk_hop_add(h, ok, &a);
		}
		if (e == end)
			break;
	}
}

int
lk_proxies_init(struct lk_proxies *px, char *const *list)
{
	const char *why;
	size_t i, n;

	memset(px, 0, sizeof(*px));
	for (n = 0; list != NULL && list[n] != NULL; n++)
		;
	if (n > 0 && (px->c = calloc(n, sizeof(*px->c))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "unix") == 0)
			px->unix_ok = 1;
		else if (net_cidr_parse(list[i], &px->c[px->n], &why) == 0)
			px->n++;
		else {
			log_err("lookup.trusted_proxies: \"%s\": %s", list[i],
			    why);
			return -1;
		}
	}
	return 0;
}

void
lk_proxies_fini(struct lk_proxies *px)
{
	free(px->c);
	memset(px, 0, sizeof(*px));
}

int
lk_proxies_trust(const struct lk_proxies *px, const struct sockaddr *peer)
{
	struct net_addr a;

	if (peer == NULL || peer->sa_family == AF_UNIX)
		return px->unix_ok;
	return net_addr_of(peer, &a) == 0 && net_cidr_match(px->c, px->n, &a);
}

enum lk_fwd
lk_fwd_client(const struct lk_proxies *px, const struct sockaddr *peer,
    const char *forwarded, const char *xff, struct sockaddr_storage *client)
{
	struct lk_hops h;
	struct net_addr cur;
	size_t i, k, lo;
	int have = 0;

	memset(client, 0, sizeof(*client));
	if (forwarded == NULL && xff == NULL)
		return LK_FWD_NONE;
	if (!lk_proxies_trust(px, peer))
		return LK_FWD_UNTRUSTED;
	memset(&h, 0, sizeof(h));
	lk_hops_parse(&h, forwarded != NULL ? forwarded : xff,
	    forwarded != NULL);
	lo = h.n > LK_FWD_HOPS ? h.n - LK_FWD_HOPS : 0;
	for (i = h.n; i > lo; i--) {
		k = (i - 1) % LK_FWD_HOPS;
		if (!h.ok[k])
			break;
		cur = h.a[k];
		have = 1;
		if (!net_cidr_match(px->c, px->n, &cur))
			break;
	}
	/* the first untrusted hop from the right; or, every hop trusted,
	 * the left-most (as far as can be seen); or, at a hop without an
	 * address, the trusted proxy right of it (none: the peer) */
	if (have)
		net_addr_sockaddr(&cur, client);
	return i > lo && !h.ok[(i - 1) % LK_FWD_HOPS] ? LK_FWD_MALFORMED :
	    have ? LK_FWD_BELIEVED : LK_FWD_MALFORMED;
}

const char *
lk_api_client(const struct sockaddr *sa)
{
	static _Thread_local char buf[NET_ADDR_STR];
	struct net_addr a;

	if (net_addr_of(sa, &a) == -1)
		return "unix";
	return net_addr_str(&a, buf) != NULL ? buf : "?";
}
