/*
 * cmd_enrol.c — `smimepub enrol MAIL`, `renew MAIL` and `revoke MAIL
 * [--reason R]`: one enrolment, renewal or revocation now, through the
 * journal (enrol/enrol.c), the configured CA and the directory.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"
#include "ldap/dir.h"
#include "enrol/enrol.h"

static int
enrol_open(struct cfg *cfg, struct enr_ctx *e)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	if ((e->jrnl = jrnl_open(cfg->sync.state_dir)) == NULL)
		return -1;
	if ((e->ca = ca_new(cfg)) == NULL)
		return -1;
	if ((e->dir = dir_new(&cfg->directory)) == NULL ||
	    dir_connect(e->dir) == -1)
		return -1;
	return enr_id_attr(cfg, e->jrnl, e->dir);
}

static void
enrol_close(struct enr_ctx *e)
{
	dir_free(e->dir);
	ca_free(e->ca);
	jrnl_close(e->jrnl);
}

/* enrol and renew: renewal is an enrolment whose publish replaces ours. */
int
cmd_enrol(struct cfg *cfg, int argc, char **argv)
{
	char mail[MAIL_MAX + 1];
	struct enr_ctx e;
	int rc = EXIT_FAIL;

	if (argc != 2) {
		fprintf(stderr, "usage: smimepub [-f FILE] %s MAIL\n", argv[0]);
		return EXIT_USAGE;
	}
	if (cli_mail_arg(argv[1], mail) == -1)
		return EXIT_USAGE;
	if (enrol_open(cfg, &e) == 0) {
		switch (enr_enrol(&e, mail, NULL)) {
		case ENR_DONE:
			rc = EXIT_OK;
			break;
		case ENR_PENDING:
			/* not done: exit 1, and say what happens next */
			fprintf(stderr, "smimepub: %s: the CA has not issued "
			    "yet (pending); the key is held sealed in the "
			    "journal: run `%s` again later, or let "
			    "smimepub-sync poll\n", mail, argv[0]);
			break;
		default:
			break;
		}
	}
	enrol_close(&e);
	return rc;
}

int
cmd_revoke(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	char mail[MAIL_MAX + 1];
	struct enr_ctx e;
	int ch, reason = CA_REASON_UNSPECIFIED, rc = EXIT_FAIL;

	optind = 0;	/* glibc: 0 re-initialises (main used "+" ordering) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if ((reason = ca_reason_parse(optarg)) == -1) {
				log_err("--reason \"%s\": not an RFC 5280 "
				    "CRLReason name (e.g. keyCompromise, "
				    "affiliationChanged, superseded, "
				    "cessationOfOperation)", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	if (cli_mail_arg(argv[optind], mail) == -1)
		return EXIT_USAGE;
	if (enrol_open(cfg, &e) == 0 &&
	    enr_revoke(&e, mail, NULL, reason) == ENR_DONE &&
	    ca_crl_refresh(e.ca) == 0)	/* the local CA's CRL says so */
		rc = EXIT_OK;
	enrol_close(&e);
	return rc;
usage:
	fprintf(stderr, "usage: smimepub [-f FILE] revoke MAIL [--reason R]\n");
	return EXIT_USAGE;
}
