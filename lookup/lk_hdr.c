/*
 * lk_hdr.c — header fields on libmicrohttpd: those of an answer (the type,
 * Retry-After on 429 and 503, Allow on 405, ETag, Cache-Control and Vary
 * on GET /v1/certs: RFC 9110 §10.2.1, §10.2.3, §8.8.3, RFC 9111 §5.2.2.1,
 * RFC 9110 §12.5.5) and the client behind a trusted proxy (lk_fwd.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "common/log.h"
#include "lookup/lk.h"
#include "lookup/lk_mhd.h"

enum MHD_Result
lk_http_queue(struct MHD_Connection *c, struct lk_reply *rp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char ra[24];
	int i;

	if (rp->free_body)
		r = MHD_create_response_from_buffer(rp->len, rp->body,
		    MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(rp->len, rp->body,
		    MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		if (rp->free_body)
			free(rp->body);
		return MHD_NO;
	}
	/* RFC 9110 §15.4.5: a 304 carries no representation metadata */
	if (rp->status != 304)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    rp->ctype != NULL ? rp->ctype : "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (rp->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%u", rp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (rp->allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rp->allow);
	if (rp->etag[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rp->etag);
	if (rp->cacheable) {
		snprintf(ra, sizeof(ra), "max-age=%d", rp->max_age);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, ra);
	}
	if (rp->vary)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept");
	for (i = 0; i < rp->nhdr && i < LK_HDR_MAX; i++)
		MHD_add_response_header(r, rp->hdr[i].name, rp->hdr[i].value);
	ret = MHD_queue_response(c, (unsigned)rp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The values of every field line named name, joined with "," (RFC 9110
 * §5.3), or NULL: an MHD_KeyValueIterator. */
struct lk_join {
	const char	*name;
	char		*v;
	size_t		 len;
};

static enum MHD_Result
lk_join_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct lk_join *j = cls;
	size_t n = value != NULL ? strlen(value) : 0;
	char *nv;

	(void)kind;
	if (key == NULL || strcasecmp(key, j->name) != 0 || value == NULL)
		return MHD_YES;
	if ((nv = realloc(j->v, j->len + n + 2)) == NULL)
		return MHD_NO;
	if (j->len > 0)
		nv[j->len++] = ',';
	memcpy(nv + j->len, value, n + 1);
	j->len += n;
	j->v = nv;
	return MHD_YES;
}

/* The client of the request (lk_fwd.c): peer, or the address a trusted
 * proxy forwarded (kept in ss); counted by outcome. */
const struct sockaddr *
lk_http_client(struct lk_ctx *ctx, struct MHD_Connection *c,
    const struct sockaddr *peer, struct sockaddr_storage *ss)
{
	struct lk_join fw = { "Forwarded", NULL, 0 };
	struct lk_join xf = { "X-Forwarded-For", NULL, 0 };
	enum lk_fwd o;

	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, fw.name) == NULL &&
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, xf.name) == NULL)
		return peer;
	if (lk_proxies_trust(&ctx->proxies, peer)) {
		(void)MHD_get_connection_values(c, MHD_HEADER_KIND,
		    lk_join_cb, &fw);
		(void)MHD_get_connection_values(c, MHD_HEADER_KIND,
		    lk_join_cb, &xf);
	} else
		fw.v = strdup("");	/* present; not read */
	o = lk_fwd_client(&ctx->proxies, peer, fw.v, fw.v != NULL ? NULL :
	    xf.v, ss);
	atomic_fetch_add(&ctx->m.fwd[o], 1);
	if (o == LK_FWD_MALFORMED)
		log_debug("a trusted proxy forwarded no client address "
		    "(Forwarded: %.80s; X-Forwarded-For: %.80s)",
		    fw.v != NULL ? fw.v : "-", xf.v != NULL ? xf.v : "-");
	free(fw.v);
	free(xf.v);
	return ss->ss_family != 0 ? (const struct sockaddr *)ss : peer;
}
