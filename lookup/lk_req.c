/*
 * lk_req.c — what a request's header fields say, parsed without
 * allocating (each is bounded by lookup.max_header):
 *   Accept (RFC 9110 §12.5.1): the served type of the highest weight, the
 *   most specific media range deciding each type's weight, ties in the
 *   server's order; q=0 is "not acceptable";
 *   If-None-Match (RFC 9110 §13.1.2): "*" or entity-tags, compared weakly;
 * and the path's escapes and a body arriving in pieces.
 * A malformed list element is skipped, as RFC 9110 §5.6.1 lets a recipient
 * do with what it cannot parse; it never widens what is acceptable.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup/lk.h"

/* RFC 9110 §5.6.2 tchar. */
static int
lk_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *
lk_ows(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *
lk_token(const char *p, const char *e)
{
	while (p < e && lk_tchar((unsigned char)*p))
		p++;
	return p;
}

/* Past a quoted-string at p (RFC 9110 §5.6.4), or NULL if it is not one. */
static const char *
lk_quoted(const char *p, const char *e)
{
	if (p >= e || *p != '"')
		return NULL;
	for (p++; p < e; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\' && ++p >= e)
			return NULL;
	}
	return NULL;
}

/* The end of the list element at p: the next ',' outside a quoted-string. */
const char *
lk_list_next(const char *p, const char *e)
{
	int q = 0;

	for (; p < e; p++) {
		if (q && *p == '\\' && p + 1 < e)
			p++;
		else if (*p == '"')
			q = !q;
		else if (!q && *p == ',')
			break;
	}
	return p;
}

/* RFC 9110 §12.4.2 qvalue in thousandths, or -1. */
static int
lk_qvalue(const char *p, const char *e)
{
	int v, i, d;

	if (p >= e || (*p != '0' && *p != '1'))
		return -1;
	v = (*p++ - '0') * 1000;
	if (p == e)
		return v;
	if (*p++ != '.')
		return -1;
	for (i = 0, d = 100; p < e && i < 3; i++, p++, d /= 10) {
		if (*p < '0' || *p > '9' || (v == 1000 && *p != '0'))
			return -1;
		v += (*p - '0') * d;
	}
	return p == e ? v : -1;
}

/* One media range of Accept in [p, e): 0 with type, subtype and q (1000
 * when absent), or -1 if malformed. Other parameters are skipped. */
static int
lk_range(const char *p, const char *e, struct lk_span *type,
    struct lk_span *sub, int *q)
{
	const char *n, *v;

	*q = 1000;
	p = lk_ows(p, e);
	type->p = p;
	p = lk_token(p, e);
	type->len = (size_t)(p - type->p);
	if (type->len == 0 || p >= e || *p++ != '/')
		return -1;
	sub->p = p;
	p = lk_token(p, e);
	sub->len = (size_t)(p - sub->p);
	if (sub->len == 0 || (type->len == 1 && *type->p == '*' &&
	    !(sub->len == 1 && *sub->p == '*')))
		return -1;	/* "*" + "/" + "html" is no media range */
	for (p = lk_ows(p, e); p < e; p = lk_ows(p, e)) {
		if (*p++ != ';')
			return -1;
		if ((p = lk_ows(p, e)) == e || *p == ';')
			continue;	/* an empty parameter */
		n = p;
		p = lk_token(p, e);
		if (p == n || p >= e || *p++ != '=')
			return -1;
		v = p;
		if ((p = *p == '"' ? lk_quoted(p, e) : lk_token(p, e)) == NULL ||
		    p == v)
			return -1;
		/* the weight: a parameter named "q" (RFC 9110 §12.4.2) */
		if (v - n == 2 && (n[0] == 'q' || n[0] == 'Q') &&
		    (*q = lk_qvalue(v, p)) == -1)
			return -1;
	}
	return 0;
}

static int
lk_span_is(const struct lk_span *s, const char *lit, size_t len)
{
	return s->len == len && strncasecmp(s->p, lit, len) == 0;
}

int
lk_accept_pick(const char *accept, const char *const *types, size_t n)
{
	struct lk_span t, s;
	const char *p, *e, *end, *slash;
	int q, best = -1, bestq = 0, spec, i;
	int tq[LK_ACCEPT_MAX], tspec[LK_ACCEPT_MAX];

	if (accept == NULL || *lk_ows(accept, accept + strlen(accept)) == '\0')
		return 0;	/* no preference: the first */
	if (n > LK_ACCEPT_MAX)
		n = LK_ACCEPT_MAX;
	memset(tq, 0, sizeof(tq));
	memset(tspec, 0, sizeof(tspec));
	end = accept + strlen(accept);
	for (p = accept; p < end; p = e + 1) {
		e = lk_list_next(p, end);
		if (lk_range(p, e, &t, &s, &q) == -1)
			continue;
		for (i = 0; i < (int)n; i++) {
			slash = strchr(types[i], '/');
			if (lk_span_is(&t, "*", 1))
				spec = 1;
			else if (!lk_span_is(&t, types[i],
			    (size_t)(slash - types[i])))
				continue;
			else if (lk_span_is(&s, "*", 1))
				spec = 2;
			else if (lk_span_is(&s, slash + 1, strlen(slash + 1)))
				spec = 3;
			else
				continue;
			/* the most specific range decides; among equals, the
			 * first */
			if (spec > tspec[i]) {
				tspec[i] = spec;
				tq[i] = q;
			}
		}
		if (e == end)
			break;
	}
	for (i = 0; i < (int)n; i++)
		if (tq[i] > bestq) {
			bestq = tq[i];
			best = i;
		}
	return best;
}

int
lk_etag_match(const char *inm, const char *etag)
{
	const char *p, *e, *end, *t, *te;
	size_t elen = strlen(etag);

	if (inm == NULL)
		return 0;
	end = inm + strlen(inm);
	for (p = inm; p < end; p = e + 1) {
		e = lk_list_next(p, end);
		t = lk_ows(p, e);
		te = e;
		while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (te - t == 1 && *t == '*')
			return 1;
		/* weak comparison (RFC 9110 §8.8.3.2): W/ does not count */
		if (te - t >= 2 && t[0] == 'W' && t[1] == '/')
			t += 2;
		if ((size_t)(te - t) == elen && memcmp(t, etag, elen) == 0)
			return 1;
		if (e == end)
			break;
	}
	return 0;
}

/* ---- the path, the body -------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
lk_unescape(char *s)
{
	char *w = s, *r = s;
	int hi, lo;

	while (*r != '\0') {
		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 &&
		    (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

int
lk_body_append(char **body, size_t *len, const char *data, size_t n,
    size_t max)
{
	char *nb;

	if (n > max || *len > max - n)
		return -1;
	if ((nb = realloc(*body, *len + n + 1)) == NULL)
		return -1;
	*body = nb;
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = '\0';
	return 0;
}
