/*
 * lk_batch.c — POST /v1/lookup, the batch for mail gateways:
 * {"recipients": [...]}, at most lookup.batch_max, a token per recipient
 * from the client's lookup.batch_rate bucket (all or none), each answered
 * found / not_found / invalid / unavailable in the order asked. The
 * addresses not cached are looked up lookup.pool_depth at a time, their
 * searches in flight together on one directory connection
 * (lk_cache_get_many): a cold batch of 100 used to be 100 round trips to
 * the directory one after another, on an HTTP thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/mail.h"
#include "lookup/lk.h"

struct batch {
	struct lk_ctx	*ctx;
	size_t		 max;		/* addresses looked up at once */
	size_t		 n;
	char		(*addr)[MAIL_MAX + 1];
	json_t		*o[LK_MANY_MAX];	/* borrowed: in the results */
	size_t		 down;
};

/* Answer the addresses collected, into their result objects. */
static void
batch_flush(struct batch *b)
{
	const char *keys[LK_MANY_MAX] = { NULL };
	struct lk_res *res[LK_MANY_MAX];
	int rcs[LK_MANY_MAX];
	json_t *a;
	size_t i, j;

	if (b->n == 0)
		return;
	for (i = 0; i < b->n; i++)
		keys[i] = b->addr[i];
	lk_cache_get_many(b->ctx->cache, keys, b->n, lk_fill_many, b->ctx,
	    res, rcs);
	for (i = 0; i < b->n; i++) {
		if (rcs[i] == -1) {
			b->down++;
			json_object_set_new(b->o[i], "status",
			    json_string("unavailable"));
			continue;
		}
		if (res[i]->n == 0)
			json_object_set_new(b->o[i], "status",
			    json_string("not_found"));
		else {
			json_object_set_new(b->o[i], "status",
			    json_string("found"));
			a = json_array();
			for (j = 0; j < res[i]->n; j++)
				json_array_append_new(a,
				    lk_api_cert_json(&res[i]->certs[j]));
			json_object_set_new(b->o[i], "certificates", a);
		}
		lk_res_unref(res[i]);
	}
	b->n = 0;
}

/* One recipient v into result o: invalid at once, or collected. */
static void
batch_add(struct batch *b, json_t *v, json_t *o)
{
	const char *s, *why = NULL;

	if (!json_is_string(v)) {
		json_object_set_new(o, "status", json_string("invalid"));
		json_object_set_new(o, "detail", json_string("not a string"));
		return;
	}
	s = json_string_value(v);
	json_object_set_new(o, "mail", json_stringn(s, json_string_length(v)));
	if (mail_canon_idn(s, json_string_length(v), b->addr[b->n], &why) ==
	    -1) {
		json_object_set_new(o, "status", json_string("invalid"));
		json_object_set_new(o, "detail", json_string(why));
		return;
	}
	b->o[b->n++] = o;
	if (b->n == b->max)
		batch_flush(b);
}

void
lk_api_lookup(struct lk_ctx *ctx, const struct lk_request *rq,
    struct lk_reply *rp)
{
	json_error_t jerr;
	json_t *in = NULL, *rcpts, *v, *out = NULL, *results, *o;
	struct batch b;
	char detail[96];
	size_t i, n;
	unsigned retry;

	memset(&b, 0, sizeof(b));
	if ((in = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		lk_api_error(rp, 400, "malformed JSON", jerr.text);
		goto out;
	}
	if (!json_is_object(in) ||
	    !json_is_array(rcpts = json_object_get(in, "recipients"))) {
		lk_api_error(rp, 400, "bad request",
		    "expected {\"recipients\": [\"addr\", ...]}");
		goto out;
	}
	n = json_array_size(rcpts);
	if (n > (size_t)ctx->cfg->lookup.batch_max) {
		snprintf(detail, sizeof(detail), "at most %d recipients",
		    ctx->cfg->lookup.batch_max);
		lk_api_error(rp, 413, "too many recipients", detail);
		goto out;
	}
	/* a token per recipient from the client's batch bucket, or none:
	 * one request must not harvest more than lookup.batch_rate allows */
	if (!rq->admin && !lk_rate_take_n(ctx->batch_rate, rq->peer,
	    (double)n, &retry)) {
		snprintf(detail, sizeof(detail), "%zu recipients over "
		    "lookup.batch_rate (%d/s); retry in %u s", n,
		    ctx->cfg->lookup.batch_rate, retry);
		lk_api_error(rp, 429, "too many recipients", detail);
		rp->retry_after = retry;
		goto out;
	}
	b.ctx = ctx;
	b.max = lk_batch_max(ctx->cfg->lookup.pool_depth);
	if ((b.addr = calloc(b.max, sizeof(*b.addr))) == NULL) {
		lk_api_error(rp, 500, "internal", "out of memory");
		goto out;
	}
	out = json_object();
	results = json_array();
	json_object_set_new(out, "results", results);
	json_array_foreach(rcpts, i, v) {
		o = json_object();
		json_array_append_new(results, o);
		batch_add(&b, v, o);
	}
	batch_flush(&b);
	if (b.down > 0 && b.down == n) {
		lk_api_unavailable(ctx, rp, NULL);
		goto out;
	}
	lk_api_reply_json(rp, 200, out);
	out = NULL;
out:
	free(b.addr);
	json_decref(out);
	json_decref(in);
}
