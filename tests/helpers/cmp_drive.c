/*
 * cmp_drive.c — drives a CA driver for the integration tests through
 * ca_new()/ca_enrol()/ca_revoke() with a configuration file.
 *
 * cmp_drive CONF enrol MAIL OUT   new ec:P-256 key and CSR for MAIL; writes
 *                                 OUT.pem (certificate) and OUT.pub (our
 *                                 public key); prints "issued SERIAL"
 * cmp_drive CONF revoke CERT [REASON]
 * Exit: 0 issued/revoked, 1 error, 2 rejected by the CA, 3 issued but
 * refused by ca_check_issued, 4 pending.
 */
#include <limits.h>
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
write_pem(const char *out, const char *ext, X509 *x, EVP_PKEY *pk)
{
	char path[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s.%s", out, ext);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = x != NULL ? PEM_write_X509(f, x) : PEM_write_PUBKEY(f, pk);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
enrol(struct ca *ca, const char *mail, const char *out)
{
	struct ca_result res;
	EVP_PKEY *pk = NULL;
	X509_REQ *csr = NULL;
	char *serial;
	int rc = 1, r;

	memset(&res, 0, sizeof(res));
	if ((pk = keys_generate("ec:P-256")) == NULL ||
	    (csr = keys_csr_new(pk, mail, "Test Person")) == NULL ||
	    write_pem(out, "pub", NULL, pk) == -1)
		goto out;
	r = ca_enrol(ca, csr, mail, &res);
	if (r == 0 && res.status == CA_ISSUED) {
		serial = x509_serial_hex(res.cert);
		printf("issued %s chain %d key %s\n", serial ? serial : "?",
		    res.chain ? sk_X509_num(res.chain) : 0,
		    EVP_PKEY_eq(X509_get0_pubkey(res.cert), pk) == 1 ?
		    "ours" : "other");
		free(serial);
		rc = write_pem(out, "pem", res.cert, NULL) == 0 ? 0 : 1;
	} else if (r == 0 && res.status == CA_REJECTED) {
		printf("rejected: %s\n", res.reason ? res.reason : "?");
		rc = 2;
	} else if (r == 0 && res.status == CA_PENDING) {
		printf("pending %s\n", res.txid ? res.txid : "?");
		rc = 4;
	} else if (res.status == CA_REJECTED && res.cert != NULL) {
		printf("refused: %s\n", res.reason ? res.reason : "?");
		rc = 3;
	}
out:
	ca_result_clear(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(pk);
	return rc;
}

int
main(int argc, char **argv)
{
	STACK_OF(X509) *certs = NULL;
	struct cfg *cfg = NULL;
	struct ca *ca = NULL;
	int rc = 1, reason = CA_REASON_UNSPECIFIED;

	log_init("cmp_drive", 0, getenv("CMP_DRIVE_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_INFO);
	if (argc < 4) {
		fprintf(stderr, "usage: cmp_drive CONF enrol MAIL OUT | "
		    "CONF revoke CERT [REASON]\n");
		return 1;
	}
	if ((cfg = cfg_load(argv[1])) == NULL || (ca = ca_new(cfg)) == NULL)
		goto out;
	if (strcmp(argv[2], "enrol") == 0 && argc == 5)
		rc = enrol(ca, argv[3], argv[4]);
	else if (strcmp(argv[2], "revoke") == 0) {
		if (argc > 4 && (reason = ca_reason_parse(argv[4])) == -1) {
			fprintf(stderr, "unknown reason %s\n", argv[4]);
			goto out;
		}
		if ((certs = x509_load_file(argv[3])) != NULL &&
		    ca_revoke(ca, sk_X509_value(certs, 0), reason) == 0) {
			printf("revoked\n");
			rc = 0;
		}
	}
out:
	sk_X509_pop_free(certs, X509_free);
	ca_free(ca);
	cfg_free(cfg);
	return rc;
}
