/*
 * cmd_recover.c — `smimepub recover MAIL --kra-key KEY [--kra-cert CERT]
 * [--out FILE]`: a recovery officer opens the newest escrowed key of MAIL
 * and gets it back as a PKCS#12 under a fresh passphrase, printed once.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"
#include "sync/deliver.h"

struct recover_pick {
	const struct cfg *cfg;
	const char	*mail;
	char		 serial[80];
	time_t		 not_after;
};

static int
recover_pick_cb(const struct jrnl_cert *r, void *arg)
{
	struct recover_pick *p = arg;
	X509 *c;

	if (strcmp(r->mail, p->mail) != 0 || r->not_after < p->not_after)
		return 0;
	if ((c = dlv_escrow_cert(p->cfg, r->serial)) == NULL)
		return 0;
	X509_free(c);
	snprintf(p->serial, sizeof(p->serial), "%s", r->serial);
	p->not_after = r->not_after;
	return 0;
}

int
cmd_recover(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kra-key", required_argument, NULL, 'k' },
		{ "kra-cert", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char mail[MAIL_MAX + 1], out[PATH_MAX];
	unsigned char rnd[DLV_PASS_BYTES];
	char pass[2 * DLV_PASS_BYTES + 1];
	const char *kkey = NULL, *kcert = NULL, *outp = NULL;
	struct recover_pick pick;
	struct jrnl *j = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	size_t i;
	int ch, rc = EXIT_FAIL;

	memset(pass, 0, sizeof(pass));
	optind = 0;	/* glibc: 0 re-initialises (main used "+" ordering) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kkey = optarg;
			break;
		case 'c':
			kcert = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || kkey == NULL)
		goto usage;
	if (cli_mail_arg(argv[optind], mail) == -1)
		return EXIT_USAGE;
	if ((j = jrnl_open(cfg->sync.state_dir)) == NULL)
		goto out;
	memset(&pick, 0, sizeof(pick));
	pick.cfg = cfg;
	pick.mail = mail;
	if (jrnl_cert_each(j, recover_pick_cb, &pick) == -1)
		goto out;
	if (pick.serial[0] == '\0') {
		log_err("%s: no escrowed key in %s/escrow", mail,
		    cfg->sync.state_dir);
		goto out;
	}
	if ((cert = dlv_escrow_cert(cfg, pick.serial)) == NULL)
		goto out;
	if ((key = dlv_escrow_open(cfg, cert, kkey, kcert)) == NULL)
		goto out;
	if (outp == NULL) {
		snprintf(out, sizeof(out), "%s.%s.recovered.p12", mail,
		    pick.serial);
		for (i = 0; out[i] != '\0'; i++)
			if (out[i] == '/')
				out[i] = '_';
		outp = out;
	}
	if (RAND_priv_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(pass + 2 * i, 3, "%02x", rnd[i]);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (dlv_write_p12(outp, pass, key, cert, NULL,
	    cfg->keys.pkcs12_iterations) == -1)
		goto out;
	printf("recovered serial %s into %s\npassphrase: %s\n", pick.serial,
	    outp, pass);
	rc = EXIT_OK;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	EVP_PKEY_free(key);
	X509_free(cert);
	jrnl_close(j);
	return rc;
usage:
	fprintf(stderr, "usage: smimepub [-f FILE] recover MAIL --kra-key KEY "
	    "[--kra-cert CERT] [--out FILE]\n");
	return EXIT_USAGE;
}
