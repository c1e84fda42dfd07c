/*
 * check.c — the check every certificate a CA returns must pass before it is
 * journalled as issued or published (DESIGN.md "Certificate authorities"):
 * our key, then the one S/MIME profile check of common/x509_profile.c (the
 * CA/Browser Forum S/MIME Baseline Requirements' strict mailbox profile:
 * our address and no other name, emailProtection and no other EKU unless
 * ca.allowed_ekus allows it, not a CA, a key usage fit for encryption, a
 * current validity of at most 825 days), and a chain to the configured CA.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "common/x509.h"

static int
why_set(char **why, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = strdup(buf);
	return -1;
}

static int
check_chain(X509 *cert, STACK_OF(X509) *chain, EVP_PKEY *pk,
    X509_STORE *trust, time_t now, char **why)
{
	X509_STORE_CTX *ctx = NULL;
	int rc = -1, err;

	if (trust == NULL)
		return why_set(why, "no CA configured to verify the chain");
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, trust, cert, chain)) {
		why_set(why, "out of memory");
		goto out;
	}
	/*
	 * OpenSSL's smimeencrypt purpose insists on keyEncipherment, which an
	 * EC key cannot use; an EC leaf is held to S/MIME signing's checks of
	 * the chain instead, its keyAgreement having been checked above.
	 */
	X509_STORE_CTX_set_purpose(ctx, EVP_PKEY_is_a(pk, "RSA") ?
	    X509_PURPOSE_SMIME_ENCRYPT : X509_PURPOSE_SMIME_SIGN);
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		why_set(why, "does not chain to the configured CA: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

int
ca_check_issued(X509 *cert, STACK_OF(X509) *chain, X509_REQ *csr,
    const char *mail, char *const *extra_ekus, X509_STORE *trust, time_t now,
    char **why)
{
	EVP_PKEY *pk, *reqpk;
	char buf[512];

	*why = NULL;
	if (cert == NULL || csr == NULL || mail == NULL)
		return why_set(why, "nothing to check");
	if ((pk = X509_get0_pubkey(cert)) == NULL)
		return why_set(why, "unreadable public key");
	if ((reqpk = X509_REQ_get0_pubkey(csr)) == NULL)
		return why_set(why, "unreadable public key in the CSR");
	if (EVP_PKEY_eq(pk, reqpk) != 1)
		return why_set(why, "public key is not the one of the CSR");
	if (x509_profile_check(cert, &mail, 1, extra_ekus, X509_USE_ENCRYPT,
	    now, buf, sizeof(buf)) != X509_PROF_OK)
		return why_set(why, "%s", buf);
	return check_chain(cert, chain, pk, trust, now, why);
}
