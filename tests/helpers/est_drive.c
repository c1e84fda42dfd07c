/*
 * est_drive.c — drive a CA driver (ca.driver from the configuration, "est"
 * in the tests) the way `smimepub enrol` will: an ec:P-256 key, its CSR
 * for MAIL, ca_new() and ca_enrol() (which checks an issued certificate).
 *
 *   est_drive [-p] [-R] [-o CERT.pem] CONFIG MAIL
 *
 * Prints status=issued|pending|rejected, then serial= and key=ours|other
 * (issued), retry_in= (pending) or reason= (rejected). -p polls once right
 * away when pending, printing the answer the same way; -R asks the CA to
 * revoke the issued certificate and prints revoke=ok|failed; -o writes the
 * issued certificate (PEM). Exits 0 when every CA call returned 0, else 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"

static void
show(const struct ca_result *r, EVP_PKEY *key)
{
	char *serial;

	/* a driver error leaves a zeroed result: nothing to show */
	if (r->status == CA_ISSUED && r->cert == NULL)
		return;

	switch (r->status) {
	case CA_ISSUED:
		serial = r->cert ? x509_serial_hex(r->cert) : NULL;
		printf("status=issued\nserial=%s\nkey=%s\n",
		    serial ? serial : "?",
		    r->cert && X509_check_private_key(r->cert, key) == 1 ?
		    "ours" : "other");
		free(serial);
		break;
	case CA_PENDING:
		printf("status=pending\nretry_in=%lld\n",
		    (long long)(r->retry_after - time(NULL)));
		break;
	case CA_REJECTED:
		printf("status=rejected\nreason=%s\n",
		    r->reason ? r->reason : "");
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct ca_result res = { 0 }, pres = { 0 };
	struct cfg *cfg = NULL;
	struct ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	const char *out = NULL;
	FILE *f;
	int ch, poll = 0, revoke = 0, rc = 1;

	while ((ch = getopt(argc, argv, "pRo:")) != -1) {
		switch (ch) {
		case 'p': poll = 1; break;
		case 'R': revoke = 1; break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	log_init("est_drive", 0, LOG_LVL_INFO);
	if ((cfg = cfg_load(argv[optind])) == NULL ||
	    (key = keys_generate("ec:P-256")) == NULL ||
	    (csr = keys_csr_new(key, argv[optind + 1], "Test Person")) ==
	    NULL || (ca = ca_new(cfg)) == NULL)
		goto out;
	rc = ca_enrol(ca, csr, argv[optind + 1], &res) == 0 ? 0 : 1;
	show(&res, key);
	if (rc == 0 && poll && res.status == CA_PENDING) {
		rc = ca_poll(ca, res.txid, csr, argv[optind + 1], &pres) == 0 ?
		    0 : 1;
		printf("poll:\n");
		show(&pres, key);
		ca_result_clear(&res);
		res = pres;
		pres.cert = NULL;
		pres.chain = NULL;
		pres.txid = NULL;
		pres.reason = NULL;
	}
	if (rc == 0 && res.status == CA_ISSUED && out != NULL) {
		if ((f = fopen(out, "w")) == NULL ||
		    !PEM_write_X509(f, res.cert) || fclose(f) != 0) {
			fprintf(stderr, "est_drive: %s: cannot write\n", out);
			rc = 1;
		}
	}
	if (rc == 0 && res.status == CA_ISSUED && revoke) {
		if (ca_revoke(ca, res.cert, CA_REASON_SUPERSEDED) == 0)
			printf("revoke=ok\n");
		else {
			printf("revoke=failed\n");
			rc = 1;
		}
	}
 out:
	ca_result_clear(&res);
	ca_free(ca);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	cfg_free(cfg);
	return rc;
 usage:
	fprintf(stderr, "usage: est_drive [-p] [-R] [-o cert.pem] config "
	    "mail\n");
	return 2;
}
