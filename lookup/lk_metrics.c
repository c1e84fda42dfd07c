/*
 * lk_metrics.c — what smimepub-lookupd tells its operator: GET /metrics in
 * the Prometheus text format (requests by endpoint and status, cache hits
 * and misses, the directory latency histogram, certificates rejected by
 * reason, rate-limited clients, connections refused for
 * lookup.max_connections_per_ip, forwarding fields believed or ignored
 * (lookup.trusted_proxies), CRLs in use, expired, refused), and
 * GET /healthz, which also says whether the directory answers (probed at
 * most once a second).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/version.h"
#include "lookup/lk.h"

static const int lk_statuses[LK_NSTATUS - 1] = {
	200, 304, 400, 404, 405, 406, 413, 429, 500, 503
};
static const char *const lk_ep_names[LK_EP_MAX] = {
	"certs", "lookup", "search", "healthz", "metrics", "cache_flush",
	"ocsp", "crl", "other"
};

void
lk_metrics_count(struct lk_metrics *m, enum lk_ep ep, int status)
{
	int i;

	for (i = 0; i < LK_NSTATUS - 1 && lk_statuses[i] != status; i++)
		;
	atomic_fetch_add(&m->req[ep][i], 1);
}

/* HELP and TYPE of a metric. */
static void
lk_m_head(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one sample. */
static void
lk_m_one(FILE *fp, const char *name, const char *type, const char *help,
    unsigned long v)
{
	lk_m_head(fp, name, type, help);
	fprintf(fp, "%s %lu\n", name, v);
}

static void
lk_m_requests(FILE *fp, struct lk_metrics *m)
{
	unsigned long v;
	int e, s;

	lk_m_head(fp, "smimepub_lookupd_requests_total", "counter",
	    "HTTP requests by endpoint and status.");
	for (e = 0; e < LK_EP_MAX; e++)
		for (s = 0; s < LK_NSTATUS; s++) {
			if ((v = atomic_load(&m->req[e][s])) == 0)
				continue;
			fprintf(fp, "smimepub_lookupd_requests_total"
			    "{endpoint=\"%s\",status=\"", lk_ep_names[e]);
			if (s < LK_NSTATUS - 1)
				fprintf(fp, "%d\"} %lu\n", lk_statuses[s], v);
			else
				fprintf(fp, "other\"} %lu\n", v);
		}
	lk_m_head(fp, "smimepub_lookupd_forwarded_total", "counter",
	    "Requests with a Forwarded or X-Forwarded-For field, by outcome "
	    "(believed: from lookup.trusted_proxies, the client found; "
	    "untrusted: from another peer, ignored; malformed: from a trusted "
	    "proxy without a client address, the proxy counted instead).");
	for (e = LK_FWD_BELIEVED; e < LK_FWD_MAX; e++)
		fprintf(fp, "smimepub_lookupd_forwarded_total{outcome=\"%s\"} "
		    "%lu\n", lk_fwd_names[e], atomic_load(&m->fwd[e]));
}

static void
lk_m_cache(FILE *fp, struct lk_ctx *ctx)
{
	struct lk_cache_stats st;

	lk_cache_stats(ctx->cache, &st);
	lk_m_one(fp, "smimepub_lookupd_cache_hits_total", "counter",
	    "Answers from the cache.", st.hits);
	lk_m_one(fp, "smimepub_lookupd_cache_misses_total", "counter",
	    "Directory searches the cache started.", st.misses);
	lk_m_one(fp, "smimepub_lookupd_cache_shared_total", "counter",
	    "Misses that waited for another request's search.", st.shared);
	lk_m_one(fp, "smimepub_lookupd_cache_evictions_total", "counter",
	    "Entries dropped for lookup.cache_max.", st.evictions);
	lk_m_one(fp, "smimepub_lookupd_cache_entries", "gauge",
	    "Entries in the cache.", (unsigned long)st.entries);
}

static void
lk_m_directory(FILE *fp, struct lk_ctx *ctx)
{
	static const char *const le[LK_NBUCKETS] = { "0.0005", "0.001",
	    "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	    "1", "+Inf" };
	struct lk_metrics *m = &ctx->m;
	unsigned long cum = 0;
	int e;

	lk_m_head(fp, "smimepub_lookupd_certificates_rejected_total",
	    "counter", "Certificates found in the directory and not served, "
	    "by reason.");
	for (e = 0; e < LK_REJ_MAX; e++)
		fprintf(fp, "smimepub_lookupd_certificates_rejected_total"
		    "{reason=\"%s\"} %lu\n", lk_reject_names[e],
		    atomic_load(&m->rejected[e]));
	lk_m_one(fp, "smimepub_lookupd_duplicate_addresses_total", "counter",
	    "Searches that found the address on more than one entry (not "
	    "served).", atomic_load(&m->duplicates));
	lk_m_head(fp, "smimepub_lookupd_directory_seconds", "histogram",
	    "Directory search latency.");
	for (e = 0; e < LK_NBUCKETS; e++) {
		cum += atomic_load(&m->dir_bucket[e]);
		fprintf(fp, "smimepub_lookupd_directory_seconds_bucket"
		    "{le=\"%s\"} %lu\n", le[e], cum);
	}
	fprintf(fp, "smimepub_lookupd_directory_seconds_sum %.6f\n"
	    "smimepub_lookupd_directory_seconds_count %lu\n",
	    (double)atomic_load(&m->dir_usec) / 1e6,
	    atomic_load(&m->dir_count));
	lk_m_one(fp, "smimepub_lookupd_directory_errors_total", "counter",
	    "Directory searches that failed or found no free connection.",
	    atomic_load(&m->dir_errors));
	lk_m_one(fp, "smimepub_lookupd_directory_pipelined_total", "counter",
	    "Directory searches sent on a connection behind others not "
	    "answered yet (lookup.pool_depth).",
	    atomic_load(&m->dir_pipelined));
}

static void
lk_m_limits(FILE *fp, struct lk_ctx *ctx)
{
	lk_m_one(fp, "smimepub_lookupd_rate_clients", "gauge", "Client "
	    "addresses with a partly used token bucket.",
	    (unsigned long)lk_rate_clients(ctx->rate));
	lk_m_head(fp, "smimepub_lookupd_connections_refused_total", "counter",
	    "Connections closed as soon as accepted, by reason (per_ip: the "
	    "client address had lookup.max_connections_per_ip open; max: "
	    "lookup.max_connections were open).");
	fprintf(fp, "smimepub_lookupd_connections_refused_total"
	    "{reason=\"per_ip\"} %lu\n"
	    "smimepub_lookupd_connections_refused_total{reason=\"max\"} %lu\n",
	    atomic_load(&ctx->m.refused_per_ip),
	    atomic_load(&ctx->m.refused_max));
}

static void
lk_m_crls(FILE *fp, struct lk_ctx *ctx)
{
	struct lk_crl_stats cs;

	lk_certs_stats(ctx->certs, &cs);
	lk_m_one(fp, "smimepub_lookupd_crls", "gauge", "CRLs in use (each "
	    "checked against its issuer in lookup.trust_anchors).",
	    (unsigned long)cs.loaded);
	lk_m_one(fp, "smimepub_lookupd_crls_expired", "gauge", "CRLs in use "
	    "past their nextUpdate (still used).", (unsigned long)cs.expired);
	lk_m_one(fp, "smimepub_lookupd_crl_reloads_total", "counter",
	    "CRL sets put in use.", cs.reloads);
	lk_m_one(fp, "smimepub_lookupd_crl_errors_total", "counter", "CRL "
	    "reloads refused (a file unreadable, without a CRL, or a CRL "
	    "whose signature or issuer did not check); the set before stays "
	    "in use.", cs.errors);
	lk_m_one(fp, "smimepub_lookupd_parsed_hits_total", "counter",
	    "Directory values whose certificate was found parsed already.",
	    cs.parse_hits);
	lk_m_one(fp, "smimepub_lookupd_parsed_misses_total", "counter",
	    "Directory values parsed.", cs.parse_misses);
}

void
lk_api_metrics(struct lk_ctx *ctx, struct lk_reply *rp)
{
	size_t len = 0;
	char *buf = NULL;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	version_metric(fp);
	lk_m_requests(fp, &ctx->m);
	lk_m_cache(fp, ctx);
	lk_m_directory(fp, ctx);
	lk_m_limits(fp, ctx);
	lk_m_crls(fp, ctx);
	lk_rev_metrics(ctx->rev, fp);	/* lk_revoke.c */
	if (fclose(fp) != 0 || buf == NULL) {
		free(buf);
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	rp->status = 200;
	rp->ctype = "text/plain; version=0.0.4";
	rp->body = buf;
	rp->len = len;
	rp->free_body = 1;
}

static int
probe_cb(const struct dir_person *p, void *arg)
{
	(void)p;
	(void)arg;
	return 0;
}

/* 1 if the directory answered a search within the last second. */
static int
lk_dir_up(struct lk_ctx *ctx)
{
	double now = lk_monotonic();
	int up;

	pthread_mutex_lock(&ctx->health_mu);
	if (now - ctx->health_at >= 1.0) {
		/* an equality search on the indexed mail attribute that
		 * matches nobody: the cheapest round trip dir.h offers */
		ctx->health_up = lk_dir_search(ctx,
		    "(mail=healthz.probe@smimepub.invalid)", probe_cb,
		    NULL) == 0;
		ctx->health_at = lk_monotonic();
	}
	up = ctx->health_up;
	pthread_mutex_unlock(&ctx->health_mu);
	return up;
}

void
lk_api_health(struct lk_ctx *ctx, struct lk_reply *rp)
{
	struct lk_cache_stats st;
	json_t *o;
	int up = lk_dir_up(ctx);

	lk_cache_stats(ctx->cache, &st);
	o = json_pack("{s:s, s:s, s:I, s:I}", "status", up ? "ok" : "degraded",
	    "directory", up ? "up" : "unreachable",
	    "uptime", (json_int_t)(time(NULL) - ctx->started),
	    "cache_entries", (json_int_t)st.entries);
	rp->status = up ? 200 : 503;
	if (!up)	/* probed again a second later (lk_dir_up) */
		rp->retry_after = 1;
	rp->ctype = "application/json";
	rp->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (rp->body == NULL) {
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	rp->len = strlen(rp->body);
	rp->free_body = 1;
}
