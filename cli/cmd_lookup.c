/*
 * cmd_lookup.c — smimepub lookup MAIL [--format json|pem|der]: what
 * smimepub-lookupd would answer to GET /v1/certs/MAIL, without the daemon.
 *
 * The request goes through the daemon's own code (lk_api_handle): the same
 * read-only bind (lookup.bind_dn), the same search, the same usable-only
 * filtering (validity, EKU, key usage, rfc822Name, lookup.crl_files, the
 * trust anchors; de-duplicated, best first; an address on several entries
 * is not found) and the same JSON, PEM or DER body, written to stdout; on
 * stderr, each served certificate's revocation status and its source. Exit
 * 0 found, 1 no usable certificate (the daemon's 404) or the directory
 * unavailable (its 503), 2 invalid address or a configuration lookupd would
 * refuse (no lookup.bind_dn nor lookup.anonymous, no trust anchors).
 *
 * lookup/ less its main is a library (build/liblookup.a) that smimepub
 * links.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/mail.h"
#include "lookup/lk.h"

static int
lookup_usage(void)
{
	fprintf(stderr, "usage: smimepub [-f FILE] lookup MAIL "
	    "[--format json|pem|der]\n");
	return EXIT_USAGE;
}

/* Each served certificate's revocation status and where it came from
 * (lookup.revocation), on stderr: stdout is the daemon's answer. */
static void
lookup_revocation(struct lk_ctx *ctx, const char *mail)
{
	const struct lk_cert_text *t;
	struct lk_res *res = NULL;
	size_t i;

	if (!lk_cache_peek(ctx->cache, mail, &res))
		return;
	for (i = 0; i < res->n; i++)
		if ((t = lk_cert_text(&res->certs[i])) != NULL)
			fprintf(stderr, "%s: serial %s: revocation: %s\n", mail,
			    t->serial, res->certs[i].revocation);
	lk_res_unref(res);
}

int
cmd_lookup(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct { const char *name, *accept; } fmts[] = {
		{ "json", "application/json" },
		{ "pem", "application/x-pem-file" },
		{ "der", "application/pkix-cert" },
	};
	char mail[MAIL_MAX + 1], *path = NULL;
	const char *accept = fmts[0].accept, *detail;
	struct lk_request rq;
	struct lk_reply rp;
	struct lk_ctx ctx;
	json_t *o = NULL;
	size_t i;
	int ch, rc = EXIT_FAIL, json = 1;

	optind = 0;	/* glibc: 0 re-initialises (main used "+" ordering) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
				if (strcmp(optarg, fmts[i].name) == 0)
					break;
			if (i == sizeof(fmts) / sizeof(fmts[0])) {
				log_err("lookup: --format \"%s\": json, pem or "
				    "der", optarg);
				return lookup_usage();
			}
			accept = fmts[i].accept;
			json = i == 0;
			break;
		default:
			return lookup_usage();
		}
	}
	if (argc - optind != 1)
		return lookup_usage();
	if (cli_mail_arg(argv[optind], mail) == -1)
		return EXIT_USAGE;
	if (asprintf(&path, "/v1/certs/%s", mail) == -1) {
		log_err("%s: out of memory", mail);
		return EXIT_FAIL;
	}
	if (lk_cfg_check(cfg) == -1) {	/* the daemon's own bind, anchors */
		free(path);
		return EXIT_USAGE;
	}
	/* one search: one connection, the one lk_pool_new connects; the
	 * answer kept for the revocation lines below */
	cfg->lookup.pool_size = 1;
	cfg->lookup.cache_ttl = 60;
	if (lk_ctx_init(&ctx, cfg) == -1) {
		if (ctx.cache != NULL)
			lk_ctx_fini(&ctx);
		free(path);
		return EXIT_FAIL;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = path;
	rq.accept = accept;
	rq.body = "";
	rq.admin = 1;		/* no rate limit: this is the operator */
	lk_api_handle(&ctx, &rq, &rp);
	lookup_revocation(&ctx, mail);
	switch (rp.status) {
	case 200:
		if (fwrite(rp.body, 1, rp.len, stdout) != rp.len ||
		    (json && putchar('\n') == EOF) || fflush(stdout) == EOF)
			log_err("%s: cannot write the answer", mail);
		else
			rc = EXIT_OK;
		break;
	default:
		/* the daemon's error object: {"error": ..., "detail": ...} */
		o = json_loadb(rp.body, rp.len, 0, NULL);
		detail = json_string_value(json_object_get(o, "detail"));
		log_err("%s: %s%s%s (lookupd would answer %d)", mail,
		    o != NULL && json_string_value(json_object_get(o,
		    "error")) != NULL ? json_string_value(json_object_get(o,
		    "error")) : "error", detail != NULL ? ": " : "",
		    detail != NULL ? detail : "", rp.status);
		rc = rp.status == 400 ? EXIT_USAGE : EXIT_FAIL;
		json_decref(o);
		break;
	}
	if (rp.free_body)
		free(rp.body);
	lk_ctx_fini(&ctx);
	free(path);
	return rc;
}
