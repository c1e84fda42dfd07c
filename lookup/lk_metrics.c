/*
 * lk_metrics.c — what smimepub-lookupd tells its operator: GET /metrics in
 * the Prometheus text format (requests by endpoint and status, cache hits
 * and misses, the directory latency histogram, certificates rejected by
 * reason, rate-limited clients, connections refused for
 * lookup.max_connections_per_ip, CRLs in use, expired, refused), and
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
	200, 400, 404, 405, 406, 413, 429, 500, 503
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

void
lk_api_metrics(struct lk_ctx *ctx, struct lk_reply *rp)
{
	static const char *const le[LK_NBUCKETS] = { "0.0005", "0.001",
	    "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	    "1", "+Inf" };
	struct lk_metrics *m = &ctx->m;
	struct lk_cache_stats st;
	struct lk_crl_stats cs;
	unsigned long v, cum = 0;
	size_t len = 0;
	char *buf = NULL;
	FILE *fp;
	int e, s;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	version_metric(fp);
	fputs("# HELP smimepub_lookupd_requests_total HTTP requests by "
	    "endpoint and status.\n"
	    "# TYPE smimepub_lookupd_requests_total counter\n", fp);
	for (e = 0; e < LK_EP_MAX; e++)
		for (s = 0; s < LK_NSTATUS; s++) {
			if ((v = atomic_load(&m->req[e][s])) == 0)
				continue;
			if (s < LK_NSTATUS - 1)
				fprintf(fp, "smimepub_lookupd_requests_total"
				    "{endpoint=\"%s\",status=\"%d\"} %lu\n",
				    lk_ep_names[e], lk_statuses[s], v);
			else
				fprintf(fp, "smimepub_lookupd_requests_total"
				    "{endpoint=\"%s\",status=\"other\"} %lu\n",
				    lk_ep_names[e], v);
		}
	lk_cache_stats(ctx->cache, &st);
	fprintf(fp, "# HELP smimepub_lookupd_cache_hits_total Answers from "
	    "the cache.\n# TYPE smimepub_lookupd_cache_hits_total counter\n"
	    "smimepub_lookupd_cache_hits_total %lu\n"
	    "# HELP smimepub_lookupd_cache_misses_total Directory searches "
	    "the cache started.\n"
	    "# TYPE smimepub_lookupd_cache_misses_total counter\n"
	    "smimepub_lookupd_cache_misses_total %lu\n"
	    "# HELP smimepub_lookupd_cache_shared_total Misses that waited "
	    "for another request's search.\n"
	    "# TYPE smimepub_lookupd_cache_shared_total counter\n"
	    "smimepub_lookupd_cache_shared_total %lu\n"
	    "# HELP smimepub_lookupd_cache_evictions_total Entries dropped "
	    "for lookup.cache_max.\n"
	    "# TYPE smimepub_lookupd_cache_evictions_total counter\n"
	    "smimepub_lookupd_cache_evictions_total %lu\n"
	    "# HELP smimepub_lookupd_cache_entries Entries in the cache.\n"
	    "# TYPE smimepub_lookupd_cache_entries gauge\n"
	    "smimepub_lookupd_cache_entries %zu\n",
	    st.hits, st.misses, st.shared, st.evictions, st.entries);
	fputs("# HELP smimepub_lookupd_certificates_rejected_total "
	    "Certificates found in the directory and not served, by reason.\n"
	    "# TYPE smimepub_lookupd_certificates_rejected_total counter\n",
	    fp);
	for (e = 0; e < LK_REJ_MAX; e++)
		fprintf(fp, "smimepub_lookupd_certificates_rejected_total"
		    "{reason=\"%s\"} %lu\n", lk_reject_names[e],
		    atomic_load(&m->rejected[e]));
	fprintf(fp, "# HELP smimepub_lookupd_duplicate_addresses_total "
	    "Searches that found the address on more than one entry (not "
	    "served).\n"
	    "# TYPE smimepub_lookupd_duplicate_addresses_total counter\n"
	    "smimepub_lookupd_duplicate_addresses_total %lu\n",
	    atomic_load(&m->duplicates));
	fputs("# HELP smimepub_lookupd_directory_seconds Directory search "
	    "latency.\n"
	    "# TYPE smimepub_lookupd_directory_seconds histogram\n", fp);
	for (e = 0; e < LK_NBUCKETS; e++) {
		cum += atomic_load(&m->dir_bucket[e]);
		fprintf(fp, "smimepub_lookupd_directory_seconds_bucket"
		    "{le=\"%s\"} %lu\n", le[e], cum);
	}
	fprintf(fp, "smimepub_lookupd_directory_seconds_sum %.6f\n"
	    "smimepub_lookupd_directory_seconds_count %lu\n"
	    "# HELP smimepub_lookupd_directory_errors_total Directory "
	    "searches that failed or found no free connection.\n"
	    "# TYPE smimepub_lookupd_directory_errors_total counter\n"
	    "smimepub_lookupd_directory_errors_total %lu\n"
	    "# HELP smimepub_lookupd_directory_pipelined_total Directory "
	    "searches sent on a connection behind others not answered yet "
	    "(lookup.pool_depth).\n"
	    "# TYPE smimepub_lookupd_directory_pipelined_total counter\n"
	    "smimepub_lookupd_directory_pipelined_total %lu\n"
	    "# HELP smimepub_lookupd_rate_clients Client addresses with a "
	    "partly used token bucket.\n"
	    "# TYPE smimepub_lookupd_rate_clients gauge\n"
	    "smimepub_lookupd_rate_clients %zu\n"
	    "# HELP smimepub_lookupd_connections_refused_total Connections "
	    "closed as soon as accepted, by reason (per_ip: the client "
	    "address had lookup.max_connections_per_ip open; max: "
	    "lookup.max_connections were open).\n"
	    "# TYPE smimepub_lookupd_connections_refused_total counter\n"
	    "smimepub_lookupd_connections_refused_total{reason=\"per_ip\"} "
	    "%lu\n"
	    "smimepub_lookupd_connections_refused_total{reason=\"max\"} "
	    "%lu\n",
	    (double)atomic_load(&m->dir_usec) / 1e6,
	    atomic_load(&m->dir_count), atomic_load(&m->dir_errors),
	    atomic_load(&m->dir_pipelined), lk_rate_clients(ctx->rate), atomic_load(&m->refused_per_ip),
	    atomic_load(&m->refused_max));
	lk_certs_stats(ctx->certs, &cs);
	fprintf(fp, "# HELP smimepub_lookupd_crls CRLs in use (each checked "
	    "against its issuer in lookup.trust_anchors).\n"
	    "# TYPE smimepub_lookupd_crls gauge\n"
	    "smimepub_lookupd_crls %zu\n"
	    "# HELP smimepub_lookupd_crls_expired CRLs in use past their "
	    "nextUpdate (still used).\n"
	    "# TYPE smimepub_lookupd_crls_expired gauge\n"
	    "smimepub_lookupd_crls_expired %zu\n"
	    "# HELP smimepub_lookupd_crl_reloads_total CRL sets put in use.\n"
	    "# TYPE smimepub_lookupd_crl_reloads_total counter\n"
	    "smimepub_lookupd_crl_reloads_total %lu\n"
	    "# HELP smimepub_lookupd_crl_errors_total CRL reloads refused (a "
	    "file unreadable, without a CRL, or a CRL whose signature or "
	    "issuer did not check); the set before stays in use.\n"
	    "# TYPE smimepub_lookupd_crl_errors_total counter\n"
	    "smimepub_lookupd_crl_errors_total %lu\n"
	    "# HELP smimepub_lookupd_parsed_hits_total Directory values "
	    "whose certificate was found parsed already.\n"
	    "# TYPE smimepub_lookupd_parsed_hits_total counter\n"
	    "smimepub_lookupd_parsed_hits_total %lu\n"
	    "# HELP smimepub_lookupd_parsed_misses_total Directory values "
	    "parsed.\n"
	    "# TYPE smimepub_lookupd_parsed_misses_total counter\n"
	    "smimepub_lookupd_parsed_misses_total %lu\n",
	    cs.loaded, cs.expired, cs.reloads, cs.errors, cs.parse_hits,
	    cs.parse_misses);
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
