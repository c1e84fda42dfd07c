/*
 * ca_drive.c — drive the configured CA driver the way `smimepub enrol`
 * and `smimepub revoke` do, for the integration tests.
 *
 *   ca_drive CONFIG enrol MAIL [KEYTYPE]    issued certificate PEM on stdout
 *   ca_drive CONFIG revoke CERT.pem [REASON]
 *
 * enrol makes a key (KEYTYPE, default rsa:2048) and its CSR, then
 * ca_new() and ca_enrol(), which checks an issued certificate.
 * Exit status: 0 issued (or revoked), 1 the driver failed (logged),
 * 2 usage or configuration error, 3 rejected (the reason on stderr),
 * 4 pending (the transaction id on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"

static int
enrol(struct ca *ca, const char *mail, const char *type)
{
	struct ca_result res = { 0 };
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	int rc = 1, i;

	if ((key = keys_generate(type)) == NULL ||
	    (csr = keys_csr_new(key, mail, NULL)) == NULL)
		goto out;
	if (ca_enrol(ca, csr, mail, &res) == -1) {
		if (res.status == CA_REJECTED && res.reason != NULL)
			fprintf(stderr, "ca_drive: rejected: %s\n",
			    res.reason);
		goto out;
	}
	switch (res.status) {
	case CA_ISSUED:
		PEM_write_X509(stdout, res.cert);
		for (i = 0; i < sk_X509_num(res.chain); i++)
			PEM_write_X509(stdout, sk_X509_value(res.chain, i));
		rc = 0;
		break;
	case CA_REJECTED:
		fprintf(stderr, "ca_drive: rejected: %s\n",
		    res.reason ? res.reason : "?");
		rc = 3;
		break;
	case CA_PENDING:
		fprintf(stderr, "ca_drive: pending: %s\n", res.txid);
		rc = 4;
		break;
	}
out:
	ca_result_clear(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return rc;
}

static int
revoke(struct ca *ca, const char *path, const char *reason)
{
	STACK_OF(X509) *certs;
	int r, rc = 1;

	if ((r = ca_reason_parse(reason)) == -1) {
		fprintf(stderr, "ca_drive: %s: not a CRLReason\n", reason);
		return 2;
	}
	if ((certs = x509_load_file(path)) == NULL)
		return 1;
	if (ca_revoke(ca, sk_X509_value(certs, 0), r) == 0)
		rc = 0;
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct cfg *cfg = NULL;
	struct ca *ca = NULL;
	int rc = 2;

	if (argc < 4 || argc > 5 || (strcmp(argv[2], "enrol") != 0 &&
	    strcmp(argv[2], "revoke") != 0)) {
		fprintf(stderr, "usage: ca_drive CONFIG enrol MAIL [KEYTYPE]\n"
		    "       ca_drive CONFIG revoke CERT.pem [REASON]\n");
		return 2;
	}
	log_init("ca_drive", 0, LOG_LVL_INFO);
	if ((cfg = cfg_load(argv[1])) == NULL || (ca = ca_new(cfg)) == NULL)
		goto out;
	if (strcmp(argv[2], "enrol") == 0)
		rc = enrol(ca, argv[3], argc == 5 ? argv[4] : "rsa:2048");
	else
		rc = revoke(ca, argv[3], argc == 5 ? argv[4] :
		    "keyCompromise");
out:
	ca_free(ca);
	cfg_free(cfg);
	return rc;
}
