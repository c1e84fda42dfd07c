/*
 * cmd_ca.c — `smimepub ca init | list | crl [--out FILE]`: administration
 * of the local CA in ca.local.dir (ca/local.c, ca/local_admin.c).
 */
#include <stdio.h>
#include <string.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "common/log.h"

static int
ca_usage(void)
{
	fprintf(stderr, "usage: smimepub [-f FILE] ca init\n"
	    "       smimepub [-f FILE] ca list\n"
	    "       smimepub [-f FILE] ca crl [--out FILE]\n");
	return EXIT_USAGE;
}

int
cmd_ca(struct cfg *cfg, int argc, char **argv)
{
	const char *out = NULL;
	int rc;

	if (argc < 1)
		return ca_usage();
	if (strcmp(argv[0], "init") == 0 && argc == 1)
		rc = ca_local_init(cfg);
	else if (strcmp(argv[0], "list") == 0 && argc == 1)
		rc = ca_local_list(cfg, stdout);
	else if (strcmp(argv[0], "crl") == 0) {
		if (argc == 3 && strcmp(argv[1], "--out") == 0 &&
		    argv[2][0] != '\0')
			out = argv[2];
		else if (argc == 2 && strncmp(argv[1], "--out=", 6) == 0 &&
		    argv[1][6] != '\0')
			out = argv[1] + 6;
		else if (argc != 1)
			return ca_usage();
		rc = ca_local_crl(cfg, out);
	} else
		return ca_usage();
	if (rc == -1) {
		log_err("ca %s failed (ca.local.dir %s)", argv[0],
		    cfg->ca.local.dir);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
