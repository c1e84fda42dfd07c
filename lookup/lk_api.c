/*
 * lk_api.c — the endpoints of smimepub-lookupd (DESIGN.md table):
 *   GET  /v1/certs/{mail}   JSON, or DER / certs-only / PEM / PEM chain by
 *                           Accept, with a strong ETag (304 on
 *                           If-None-Match), Cache-Control and Vary
 *   POST /v1/lookup         batch {"recipients": [...]} (lk_batch.c)
 *   GET  /v1/search?q=      autocomplete: people with a usable certificate
 *   GET  /healthz, /metrics (lk_metrics.c; /metrics only on
 *        lookup.metrics_listen and the admin socket)
 *   POST /v1/cache/flush    admin socket only
 *   POST /ocsp, GET /ocsp/..., the local CA's CRL (lk_ocsp.c)
 * Every address is validated with mail_canon_idn() (a Unicode domain as its
 * A-label) and RFC 4515-escaped before it enters a filter; /v1/certs and
 * /v1/lookup search for equality only.
 * An uncached GET /v1/certs is answered in two steps, lk_api_begin (limits,
 * input, the cache) and lk_api_finish (the search), so that lk_http.c can
 * run the second on a directory worker (lk_work.c).
 * Errors are {"error": ..., "detail": ...} with the status that fits.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/log.h"
#include "common/mail.h"
#include "lookup/lk.h"

#define SEARCH_MIN	3
#define SEARCH_MAX_Q	64
#define SEARCH_RESULTS	20
#define SEARCH_SCAN	200	/* people examined at most per search */

static const char CT_JSON[] = "application/json";

int
lk_ctx_init(struct lk_ctx *ctx, const struct cfg *cfg)
{
	return lk_ctx_init_dir(ctx, cfg, &lk_dir_ldap);
}

int
lk_ctx_init_dir(struct lk_ctx *ctx, const struct cfg *cfg,
    const struct lk_dir_ops *dir)
{
	const struct cfg_lookup *l = &cfg->lookup;
	char anchors[PATH_MAX];

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->dircfg = cfg->directory;
	/* lookupd binds as itself (lk_cfg_check: lookup.bind_dn or
	 * lookup.anonymous): never with the sync service's write account,
	 * its SASL identity (keytab) or its TLS client certificate */
	ctx->dircfg.bind_dn = l->anonymous ? NULL : l->bind_dn;
	ctx->dircfg.bind_password_file = l->anonymous ? NULL :
	    l->bind_password_file;
	ctx->dircfg.sasl_mech = NULL;
	ctx->dircfg.keytab = NULL;
	ctx->dircfg.tls_cert_file = NULL;
	ctx->dircfg.tls_key_file = NULL;
	ctx->started = time(NULL);
	pthread_mutex_init(&ctx->health_mu, NULL);
	pthread_mutex_init(&ctx->dup_mu, NULL);
	ctx->health_at = -1e9;
	if ((ctx->cache = lk_cache_new((size_t)l->cache_max, l->cache_ttl,
	    l->negative_ttl, NULL)) == NULL ||
	    (ctx->rate = lk_rate_new(l->rate, l->burst, NULL)) == NULL ||
	    (ctx->search_rate = lk_rate_new(l->search_rate, l->search_burst,
	    NULL)) == NULL ||
	    (ctx->batch_rate = lk_rate_new(l->batch_rate, l->batch_burst,
	    NULL)) == NULL) {
		log_err("%s: out of memory", cfg->path);
		return -1;
	}
	if ((ctx->certs = lk_certs_new(l->crl_files, lk_anchors_path(cfg,
	    anchors, sizeof(anchors)), (size_t)l->cache_max)) == NULL)
		return -1;
	lk_certs_allow_ekus(ctx->certs, cfg->ca.allowed_ekus);
	if (lk_ocsp_new(cfg, &ctx->ocsp) == -1)
		return -1;
	if (cfg->lookup.revocation != NULL &&
	    strcmp(cfg->lookup.revocation, "files") != 0) {
		if ((ctx->rev = lk_rev_new(cfg)) == NULL)
			return -1;
		lk_certs_set_rev(ctx->certs, ctx->rev);
	}
	if ((ctx->pool = lk_pool_new(&ctx->dircfg, l->pool_size,
	    cfg->directory.timeout, dir)) == NULL ||
	    lk_proxies_init(&ctx->proxies, l->trusted_proxies) == -1)
		return -1;
	return 0;
}

void
lk_ctx_fini(struct lk_ctx *ctx)
{
	lk_proxies_fini(&ctx->proxies);
	lk_pool_free(ctx->pool);
	lk_ocsp_free(ctx->ocsp);
	lk_certs_free(ctx->certs);
	lk_rev_free(ctx->rev);
	lk_rate_free(ctx->batch_rate);
	lk_rate_free(ctx->search_rate);
	lk_rate_free(ctx->rate);
	lk_cache_free(ctx->cache);
	pthread_mutex_destroy(&ctx->health_mu);
	pthread_mutex_destroy(&ctx->dup_mu);
}

/* ---- replies ----------------------------------------------------------- */

void
lk_api_reply_json(struct lk_reply *rp, int status, json_t *o)
{
	rp->status = status;
	rp->ctype = CT_JSON;
	rp->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (rp->body == NULL) {
		rp->status = 500;
		rp->body = strdup("{\"error\":\"internal\"}");
	}
	rp->len = rp->body != NULL ? strlen(rp->body) : 0;
	rp->free_body = 1;
}

void
lk_api_error(struct lk_reply *rp, int status, const char *err,
    const char *detail)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(err));
	if (detail != NULL)
		json_object_set_new(o, "detail", json_string(detail));
	lk_api_reply_json(rp, status, o);
}

void
lk_api_unavailable(struct lk_ctx *ctx, struct lk_reply *rp,
    const char *detail)
{
	lk_api_error(rp, 503, "directory unavailable", detail);
	/* a search gives up after directory.timeout: ask again after that
	 * (RFC 9110 §10.2.3) */
	rp->retry_after = (unsigned)ctx->cfg->directory.timeout;
}

json_t *
lk_api_cert_json(struct lk_cert *c)
{
	const struct lk_cert_text *t;

	if ((t = lk_cert_text(c)) == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "pem", t->pem, "sha256", t->sha256, "serial", t->serial,
	    "issuer", t->issuer, "subject", t->subject,
	    "not_before", t->not_before, "not_after", t->not_after,
	    "key", t->key);
}

/* ---- GET /v1/certs/{mail} ---------------------------------------------- */

enum fmt { FMT_JSON, FMT_DER, FMT_P7, FMT_PEM, FMT_CHAIN, FMT_NONE };

/*
 * The types GET /v1/certs serves, in the order it prefers among equal
 * weights (JSON for no Accept, or any type, or application/ any); the second
 * pkcs7 name is the one older clients send (RFC 8551 §3.2.1 notes it).
 */
static const char *const lk_types[] = {
	"application/json", "application/pkix-cert",
	"application/pkcs7-mime", "application/x-pkcs7-mime",
	"application/x-pem-file", "application/pem-certificate-chain",
};
static const enum fmt lk_type_fmt[] = {
	FMT_JSON, FMT_DER, FMT_P7, FMT_P7, FMT_PEM, FMT_CHAIN
};
#define LK_TYPES_ALL	"application/json, application/pkix-cert, " \
	"application/pkcs7-mime, application/x-pem-file, " \
	"application/pem-certificate-chain"

static enum fmt
lk_negotiate(const char *accept)
{
	int i = lk_accept_pick(accept, lk_types, sizeof(lk_types) /
	    sizeof(lk_types[0]));

	return i < 0 ? FMT_NONE : lk_type_fmt[i];
}

/* The canonical address, or a 400 reply and -1. */
static int
lk_addr(const char *in, size_t len, char out[MAIL_MAX + 1],
    struct lk_reply *rp)
{
	const char *why = NULL;

	if (mail_canon_idn(in, len, out, &why) == -1) {
		lk_api_error(rp, 400, "invalid address", why);
		return -1;
	}
	return 0;
}

/* The body of res in format f, with its type. */
static const struct lk_blob *
certs_body(struct lk_res *res, int f, struct lk_reply *rp)
{
	/* only the format asked for is rendered (once per answer) */
	switch (f) {
	case FMT_DER:
		rp->ctype = "application/pkix-cert";
		return lk_res_der(res);
	case FMT_P7:
		rp->ctype = "application/pkcs7-mime; smime-type=certs-only";
		return lk_res_p7(res);
	case FMT_PEM:
		rp->ctype = "application/x-pem-file";
		return lk_res_pem(res);
	case FMT_CHAIN:
		rp->ctype = "application/pem-certificate-chain";
		return lk_res_chain(res);
	default:
		rp->ctype = CT_JSON;
		return lk_res_json(res);
	}
}

/*
 * The reply for res, the answer for addr, in format f: 200 with a strong
 * ETag (the same bytes each time: RFC 9110 §8.8.3), 304 when inm
 * (If-None-Match) names it, 404 when nothing is usable; all of them cached
 * by a client for as long as lookupd caches the answer, per Accept.
 */
static void
certs_reply(struct lk_ctx *ctx, struct lk_res *res, const char *addr, int f,
    const char *inm, struct lk_reply *rp)
{
	const struct lk_blob *b;
	char *detail = NULL;

	if (res->n == 0) {
		if (asprintf(&detail, "no usable certificate for %s", addr) ==
		    -1)
			detail = NULL;
		lk_api_error(rp, 404, "not found", detail);
		free(detail);
		rp->max_age = ctx->cfg->lookup.negative_ttl;
		rp->cacheable = rp->vary = 1;
		return;
	}
	if ((b = certs_body(res, f, rp)) != NULL && lk_etag_match(inm,
	    b->etag)) {
		rp->status = 304;	/* RFC 9110 §13.1.2: no body */
		rp->body = NULL;
		rp->len = 0;
	} else if (b != NULL && (rp->body = malloc(b->len + 1)) != NULL) {
		memcpy(rp->body, b->data, b->len + 1);
		rp->len = b->len;
		rp->status = 200;
		rp->free_body = 1;
	}
	if (rp->status == 0) {
		log_err("%s: cannot render the answer", addr);
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	memcpy(rp->etag, b->etag, sizeof(rp->etag));
	rp->max_age = ctx->cfg->lookup.cache_ttl;
	rp->cacheable = rp->vary = 1;
}

/*
 * GET /v1/certs as far as it goes without a search: 1 with the reply (a
 * bad address or Accept, or a cached answer), 0 with d for lk_api_finish.
 */
static int
api_certs(struct lk_ctx *ctx, const struct lk_request *rq, const char *raw,
    struct lk_reply *rp, struct lk_defer *d)
{
	char addr[MAIL_MAX + 1];
	struct lk_res *res = NULL;
	enum fmt f;

	if (lk_addr(raw, strlen(raw), addr, rp) == -1)
		return 1;
	if ((f = lk_negotiate(rq->accept)) == FMT_NONE) {
		lk_api_error(rp, 406, "not acceptable", LK_TYPES_ALL);
		rp->vary = 1;
		return 1;
	}
	if (lk_cache_peek(ctx->cache, addr, &res)) {
		certs_reply(ctx, res, addr, f, rq->if_none_match, rp);
		lk_res_unref(res);
		return 1;
	}
	memcpy(d->addr, addr, sizeof(d->addr));
	d->fmt = f;
	d->inm = rq->if_none_match;
	d->ep = rp->ep;
	return 0;
}

void
lk_api_finish(struct lk_ctx *ctx, const struct lk_defer *const *d,
    struct lk_reply *const *rp, size_t n)
{
	const char *keys[LK_MANY_MAX] = { NULL };
	struct lk_res *res[LK_MANY_MAX];
	int rcs[LK_MANY_MAX];
	size_t i;

	if (n > LK_MANY_MAX)
		n = LK_MANY_MAX;
	for (i = 0; i < n; i++)
		keys[i] = d[i]->addr;
	lk_cache_get_many(ctx->cache, keys, n, lk_fill_many, ctx, res, rcs);
	for (i = 0; i < n; i++) {
		memset(rp[i], 0, sizeof(*rp[i]));
		rp[i]->ep = d[i]->ep;
		if (rcs[i] == -1)
			lk_api_unavailable(ctx, rp[i], d[i]->addr);
		else
			certs_reply(ctx, res[i], d[i]->addr, d[i]->fmt,
			    d[i]->inm, rp[i]);
		lk_res_unref(res[i]);
		lk_metrics_count(&ctx->m, rp[i]->ep, rp[i]->status);
	}
}

/* ---- GET /v1/search?q= ------------------------------------------------- */

struct search_arg {
	struct lk_ctx	*ctx;
	json_t		*results;
	size_t		 scanned;
	int		 full;
};

static int
search_cb(const struct dir_person *p, void *arg)
{
	struct search_arg *sa = arg;
	atomic_ulong ignored[LK_REJ_MAX];
	char addr[MAIL_MAX + 1];
	struct lk_res *res;
	const char *why;
	int n;

	if (++sa->scanned > SEARCH_SCAN ||
	    json_array_size(sa->results) >= SEARCH_RESULTS) {
		sa->full = 1;
		return -1;
	}
	if (p->disabled || p->mail == NULL ||
	    mail_canon(p->mail, strlen(p->mail), addr, &why) == -1)
		return 0;
	if ((res = lk_res_new(addr)) == NULL)
		return 0;
	memset(ignored, 0, sizeof(ignored));
	n = lk_certs_collect(sa->ctx->certs, p, addr, time(NULL), res,
	    ignored);
	lk_res_unref(res);
	if (n > 0)
		json_array_append_new(sa->results, json_pack("{s:s?, s:s}",
		    "name", p->display_name, "mail", addr));
	return 0;
}

/* 1 if s[0..len) is well-formed UTF-8 without control characters. */
static int
lk_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (i + n >= len)	/* truncated sequence */
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
api_search(struct lk_ctx *ctx, const char *q, struct lk_reply *rp)
{
	struct search_arg sa = { ctx, NULL, 0, 0 };
	char *esc = NULL, *filter = NULL;
	json_t *out;
	size_t len = q != NULL ? strlen(q) : 0;

	if (len < SEARCH_MIN || len > SEARCH_MAX_Q) {
		lk_api_error(rp, 400, "bad query", "q must be 3 to 64 "
		    "characters");
		return;
	}
	if (!lk_utf8_ok((const unsigned char *)q, len)) {
		lk_api_error(rp, 400, "bad query", "not UTF-8 text");
		return;
	}
	if ((esc = dir_filter_escape(q, len)) == NULL ||
	    asprintf(&filter, "(&%s(|(%s=%s*)(cn=%s*)(displayName=%s*)"
	    "(sn=%s*)(givenName=%s*))(|(userCertificate=*)"
	    "(userSMIMECertificate=*)))", ctx->cfg->directory.filter,
	    ctx->cfg->directory.mail_attribute, esc, esc, esc, esc, esc) ==
	    -1) {
		free(esc);
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	out = json_object();
	sa.results = json_array();
	json_object_set_new(out, "results", sa.results);
	if (lk_dir_search(ctx, filter, search_cb, &sa) == -1 && !sa.full) {
		json_decref(out);
		lk_api_unavailable(ctx, rp, NULL);
	} else
		lk_api_reply_json(rp, 200, out);
	free(filter);
	free(esc);
}

/* ---- dispatch ---------------------------------------------------------- */

/* RFC 9110 §15.5.6: a 405 names the methods the resource has in Allow. */
static void
api_405(struct lk_reply *rp, const char *allow)
{
	lk_api_error(rp, 405, "method not allowed", allow);
	rp->allow = allow;
}

static int
lk_limited(struct lk_rate *r, const struct lk_request *rq,
    struct lk_reply *rp)
{
	unsigned retry;

	if (rq->admin || lk_rate_take(r, rq->peer, &retry))
		return 0;
	lk_api_error(rp, 429, "too many requests", "slow down");
	rp->retry_after = retry;
	log_debug("%s: 429, rate-limited for %u s", lk_api_client(rq->peer),
	    retry);
	return 1;
}

void
lk_api_handle(struct lk_ctx *ctx, const struct lk_request *rq,
    struct lk_reply *rp)
{
	struct lk_defer d;
	const struct lk_defer *dp = &d;

	if (lk_api_begin(ctx, rq, rp, &d) == 0)
		lk_api_finish(ctx, &dp, &rp, 1);
}

int
lk_api_begin(struct lk_ctx *ctx, const struct lk_request *rq,
    struct lk_reply *rp, struct lk_defer *d)
{
	const char *path = rq->path;
	int get = strcmp(rq->method, "GET") == 0 ||
	    strcmp(rq->method, "HEAD") == 0;
	int post = strcmp(rq->method, "POST") == 0;

	memset(rp, 0, sizeof(*rp));
	if (rq->metrics && strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/healthz") != 0) {
		/* lookup.metrics_listen: the operator's, not the API */
		rp->ep = LK_EP_OTHER;
		lk_api_error(rp, 404, "not found", "no such endpoint");
	} else if (strncmp(path, "/v1/certs/", 10) == 0) {
		rp->ep = LK_EP_CERTS;
		if (!get)
			api_405(rp, "GET, HEAD");
		else if (!lk_limited(ctx->rate, rq, rp)) {
			lk_certs_refresh(ctx->certs, ctx->cache);
			if (api_certs(ctx, rq, path + 10, rp, d) == 0)
				return 0;
		}
	} else if (strcmp(path, "/v1/lookup") == 0) {
		rp->ep = LK_EP_LOOKUP;
		if (!post)
			api_405(rp, "POST");
		else if (!lk_limited(ctx->rate, rq, rp)) {
			lk_certs_refresh(ctx->certs, ctx->cache);
			lk_api_lookup(ctx, rq, rp);
		}
	} else if (strcmp(path, "/v1/search") == 0) {
		rp->ep = LK_EP_SEARCH;
		if (!get)
			api_405(rp, "GET, HEAD");
		else if (!lk_limited(ctx->search_rate, rq, rp))
			api_search(ctx, rq->q, rp);
	} else if (strcmp(path, "/healthz") == 0) {
		rp->ep = LK_EP_HEALTHZ;
		if (!get)
			api_405(rp, "GET, HEAD");
		else
			lk_api_health(ctx, rp);
	} else if (strcmp(path, "/metrics") == 0 &&
	    (rq->admin || rq->metrics)) {
		/* never on the public listener (issue 15): what it counts
		 * tells found-but-unusable from unknown addresses */
		rp->ep = LK_EP_METRICS;
		if (!get)
			api_405(rp, "GET, HEAD");
		else
			lk_api_metrics(ctx, rp);
	} else if (rq->admin && strcmp(path, "/v1/cache/flush") == 0) {
		rp->ep = LK_EP_FLUSH;
		if (!post)
			api_405(rp, "POST");
		else {
			lk_cache_flush(ctx->cache);
			log_info("cache flushed (admin socket)");
			lk_api_reply_json(rp, 200, json_pack("{s:b}", "flushed", 1));
		}
	} else if (!lk_ocsp_route(ctx->ocsp, rq, rp)) {	/* lk_ocsp.c */
		rp->ep = LK_EP_OTHER;
		lk_api_error(rp, 404, "not found", "no such endpoint");
	}
	lk_metrics_count(&ctx->m, rp->ep, rp->status);
	return 1;
}
