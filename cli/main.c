/*
 * main.c — smimepub, the admin CLI: parse -f, load the configuration, and
 * dispatch to one command. Usage errors and configuration errors exit 2.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "common/audit.h"
#include "common/log.h"
#include "common/run.h"
#include "common/mail.h"
#include "common/version.h"

struct cli_cmd {
	const char	*name;
	int		(*fn)(struct cfg *, int, char **);
	const char	*usage;
};

static const struct cli_cmd cli_cmds[] = {
	{ "check-config", cmd_check_config, "check-config" },
	{ "doctor", cmd_doctor, "doctor" },
	{ "publish", cmd_publish, "publish MAIL CERT.pem" },
	{ "unpublish", cmd_unpublish, "unpublish MAIL" },
	{ "show", cmd_show, "show MAIL" },
	{ "enrol", cmd_enrol, "enrol MAIL" },
	{ "renew", cmd_enrol, "renew MAIL" },
	{ "revoke", cmd_revoke, "revoke MAIL [--reason R]" },
	{ "status", cmd_status, "status [MAIL] [--json]" },
	{ "approve-leavers", cmd_approve_leavers, "approve-leavers N" },
	{ "lookup", cmd_lookup, "lookup MAIL [--format json|pem|der]" },
	{ "recover", cmd_recover, "recover MAIL --kra-key KEY [--kra-cert CERT] "
	    "[--all | --serial S] [--out FILE]" },
	{ "ca", cmd_ca, "ca init | ca list | ca crl [--out FILE]" },
	{ "export-smimea", cmd_smimea, "export-smimea --zone ZONE [--usage N] "
	    "[--selector 0|1] [--matching 0|1|2] [--ttl N] [--all]" },
	{ "dns-sync", cmd_dns_sync, "dns-sync [--dry-run] [MAIL]" },
};
#define NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

/* On stdout for --help (exit 0), on stderr for a usage error (exit 2). */
static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: smimepub [-v] [-f FILE] COMMAND ...\n"
	    "       smimepub --help | --version\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "       smimepub [-f FILE] %s\n",
		    cli_cmds[i].usage);
	fprintf(fp, "FILE defaults to %s; -v logs at debug level. "
	    "See smimepub(8).\n", CFG_DEFAULT_PATH);
}

int
cli_mail_arg(const char *arg, char *out)
{
	const char *why = NULL;

	if (mail_canon_idn(arg, strlen(arg), out, &why) == -1) {
		log_err("invalid mail address \"%s\": %s", arg, why);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CFG_DEFAULT_PATH;
	const struct cli_cmd *cmd = NULL;
	struct cfg *cfg = NULL;
	int ch, verbose = 0, rc = EXIT_USAGE, lvl;
	size_t i;

	log_init("smimepub", 0, LOG_LVL_INFO);
	run_harden();	/* keys and passwords in memory: no core */
	/* a server closing the connection mid-write is an error, not a kill */
	signal(SIGPIPE, SIG_IGN);
	/* "+": stop at the command so its own options are left to it */
	while ((ch = getopt_long(argc, argv, "+f:hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			version_print(stdout, "smimepub");
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[0], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (cmd == NULL) {
		log_err("unknown command \"%s\"", argv[0]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cfg = cfg_load(path)) == NULL)
		return EXIT_USAGE;
	if (ca_cfg_check(cfg) == -1) {		/* ca/ owns ca.driver */
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	lvl = log_level_parse(cfg->log.level);
	log_set_level(verbose ? LOG_LVL_DEBUG : (enum log_level)lvl);
	if (strcmp(cmd->name, "ca") == 0) {
		argc--;
		argv++;
		if (argc < 1) {
			fprintf(stderr, "usage: smimepub [-f FILE] %s\n",
			    cmd->usage);
			goto out;
		}
	}
	audit_set_actor("cli");	/* with the real user and SUDO_USER */
	if (audit_open(cfg->log.audit_file) == -1) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = cmd->fn(cfg, argc, argv);
	audit_close();
out:
	cfg_free(cfg);
	return rc;
}
