/*
 * cmd_config.c — `smimepub check-config`: the file was already loaded and
 * validated by main(); also check the secrets it points to (the bind
 * password, the TSIG keys of dns.zones), then print the
 * effective configuration (secrets are only ever named by path).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cfg.h"
#include "common/log.h"
#include "dns/dns.h"

int
cmd_check_config(struct cfg *cfg, int argc, char **argv)
{
	char *secret = NULL;
	struct dns_key key;
	char what[64];
	size_t len = 0, i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: smimepub [-f FILE] check-config\n");
		return EXIT_USAGE;
	}
	if (cfg->directory.bind_password_file != NULL) {
		if (cfg_secret_read(cfg->directory.bind_password_file,
		    "directory.bind_password_file", &secret, &len) == -1)
			return EXIT_USAGE;
		cfg_secret_free(secret, len);
	}
	/* each zone's TSIG key: its mode and its syntax (dns/dns_key.c) */
	for (i = 0; i < cfg->dns.n_zones; i++) {
		snprintf(what, sizeof(what), "dns.zones[%zu].tsig_key_file", i);
		if (dns_key_load(cfg->dns.zones[i].tsig_key_file, what,
		    &key) == -1)
			return EXIT_USAGE;
		dns_key_clear(&key);
	}
	cfg_print(cfg, stdout);
	fprintf(stderr, "%s: configuration OK\n", cfg->path);
	return EXIT_OK;
}
