/*
 * cmd_dns.c — `smimepub dns-sync [--dry-run] [MAIL]`: bring the SMIMEA
 * records of dns.zones in step with the journal now (every person, or the
 * one person with MAIL in the journal), as smimepub-sync does after each
 * action and each full pass; with --dry-run print the UPDATEs it would
 * send, in nsupdate syntax, and change nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "dns/dns.h"

struct find {
	const char	*mail;
	char		 id[80];
	int		 n;
};

static int
find_cb(const struct jrnl_enr *e, void *arg)
{
	struct find *f = arg;

	if (strcasecmp(e->mail, f->mail) == 0) {
		snprintf(f->id, sizeof(f->id), "%s", e->person_id);
		f->n++;
	}
	return 0;
}

int
cmd_dns_sync(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char mail[256];
	struct dns_counts n;
	struct dns_ctx *ctx = NULL;
	struct jrnl *j = NULL;
	struct find f;
	FILE *dry = NULL;
	int ch, rc = EXIT_FAIL, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n') {
			fprintf(stderr, "usage: smimepub [-f FILE] dns-sync "
			    "[--dry-run] [MAIL]\n");
			return EXIT_USAGE;
		}
		dry = stdout;
	}
	if (argc - optind > 1 || (argc - optind == 1 &&
	    cli_mail_arg(argv[optind], mail) == -1)) {
		fprintf(stderr, "usage: smimepub [-f FILE] dns-sync "
		    "[--dry-run] [MAIL]\n");
		return EXIT_USAGE;
	}
	if (cfg->dns.n_zones == 0) {
		log_err("dns-sync: %s sets no dns.zones: nothing to keep",
		    cfg->path);
		return EXIT_USAGE;
	}
	memset(&n, 0, sizeof(n));
	if ((j = jrnl_open(cfg->sync.state_dir)) == NULL ||
	    (ctx = dns_ctx_new(cfg)) == NULL)
		goto out;
	if (argc - optind == 1) {
		memset(&f, 0, sizeof(f));
		f.mail = mail;
		if (jrnl_enr_each(j, find_cb, &f) == -1)
			goto out;
		if (f.n != 1) {
			log_err("dns-sync: %s: %s in the journal", mail,
			    f.n == 0 ? "nobody" : "more than one person");
			goto out;
		}
		r = dns_sync_person(ctx, j, f.id, dry, &n);
	} else
		r = dns_sync_all(ctx, j, dry, &n);
	fprintf(stderr, "smimepub: dns-sync%s: %lu %s with records in "
	    "dns.zones; %lu added, %lu deleted in %lu UPDATE%s; %lu "
	    "conflict%s; %lu failed, %lu %s pending\n", dry ? " --dry-run" :
	    "", n.people, n.people == 1 ? "person" : "people", n.added,
	    n.deleted, n.ok, n.ok == 1 ? "" : "s", n.conflict,
	    n.conflict == 1 ? "" : "s", n.failed, n.pending,
	    n.pending == 1 ? "person" : "people");
	rc = r == 0 ? EXIT_OK : EXIT_FAIL;
out:
	dns_ctx_free(ctx);
	jrnl_close(j);
	return rc;
}
