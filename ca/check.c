/*
 * check.c — the check every certificate a CA returns must pass before it is
 * journalled as issued or published (DESIGN.md "Certificate authorities"):
 * our key, then the one S/MIME profile check of common/x509_profile.c (the
 * CA/Browser Forum S/MIME Baseline Requirements' strict mailbox profile:
 * the person's addresses (mail and the aliases our CSR asked for), every
 * one of them and no other name, emailProtection and no other EKU unless
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
#include "common/keys.h"
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

/*
 * keys.separate_signing: a certificate asked for one use must not allow
 * the other. A signing certificate that could also decrypt would receive
 * mail that no escrow can open; an escrowed encryption key that could also
 * sign would let the recovery officer sign as the person (issue 20).
 */
static int
check_purpose(X509 *cert, enum keys_purpose purpose, char **why)
{
	uint32_t ku = X509_get_key_usage(cert);
	const uint32_t enc = KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT |
	    KU_DATA_ENCIPHERMENT, sig = KU_DIGITAL_SIGNATURE |
	    KU_NON_REPUDIATION;

	if ((purpose == KEYS_SIGN || purpose == KEYS_SIGN_NR) && (ku & enc))
		return why_set(why, "a signing certificate (asked for "
		    "digitalSignature only) with a key usage for encryption");
	if (purpose == KEYS_SIGN_NR && !(ku & KU_NON_REPUDIATION))
		return why_set(why, "a signing certificate without the "
		    "nonRepudiation asked for (keys.signing_non_repudiation)");
	if (purpose == KEYS_ENCRYPT && (ku & sig))
		return why_set(why, "an encryption certificate (its key is "
		    "escrowed) with a key usage for signing");
	return 0;
}

static int
check_chain(X509 *cert, STACK_OF(X509) *chain, EVP_PKEY *pk,
    X509_STORE *trust, time_t now, enum keys_purpose purpose, char **why)
{
	X509_STORE_CTX *ctx = NULL;
	int rc = -1, err, sign = purpose == KEYS_SIGN ||
	    purpose == KEYS_SIGN_NR;

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
	if (EVP_PKEY_is_a(pk, "RSA") && !sign)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_ENCRYPT);
	else if (purpose != KEYS_ENCRYPT)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	/* else an EC encryption-only certificate (keys.separate_signing):
	 * keyAgreement alone fits neither OpenSSL S/MIME purpose; its key
	 * usage and EKU were checked above, the chain is verified as such */
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

#define CHECK_ADDRS_MAX	32	/* a CSR of ours names at most 16 */

/*
 * The person's addresses are mail and what our CSR asked for besides (the
 * aliases, DESIGN.md): the profile check refuses a name outside that set,
 * x509_names_all one of the set that is missing. Exactly the set.
 */
static int
check_names(X509 *cert, X509_REQ *csr, const char *mail,
    char *const *extra_ekus, enum x509_use use, time_t now, char *buf,
    size_t sz)
{
	const char *set[CHECK_ADDRS_MAX];
	char **req;
	size_t i, n = 0, k = 1;
	int rc = -1;

	set[0] = mail;
	req = x509_req_addrs(csr, &n);
	for (i = 0; i < n; i++) {
		if (strcasecmp(req[i], mail) == 0)
			continue;
		if (k == CHECK_ADDRS_MAX) {
			snprintf(buf, sz, "the CSR names more than %d "
			    "addresses", CHECK_ADDRS_MAX);
			goto out;
		}
		set[k++] = req[i];
	}
	if (x509_profile_check(cert, set, k, extra_ekus, use, now, buf,
	    sz) != X509_PROF_OK ||
	    x509_names_all(cert, set, k, buf, sz) == -1)
		goto out;
	rc = 0;
out:
	x509_addrs_free(req);
	return rc;
}

int
ca_check_issued(X509 *cert, STACK_OF(X509) *chain, X509_REQ *csr,
    const char *mail, char *const *extra_ekus, X509_STORE *trust, time_t now,
    char **why)
{
	EVP_PKEY *pk, *reqpk;
	enum keys_purpose purpose;
	char buf[512];
	int sign;

	*why = NULL;
	if (cert == NULL || csr == NULL || mail == NULL)
		return why_set(why, "nothing to check");
	if ((pk = X509_get0_pubkey(cert)) == NULL)
		return why_set(why, "unreadable public key");
	if ((reqpk = X509_REQ_get0_pubkey(csr)) == NULL)
		return why_set(why, "unreadable public key in the CSR");
	if (EVP_PKEY_eq(pk, reqpk) != 1)
		return why_set(why, "public key is not the one of the CSR");
	/* the use the CSR asked for (keys_csr_purpose): judged for it */
	purpose = keys_csr_purpose(csr, NULL);
	sign = purpose == KEYS_SIGN || purpose == KEYS_SIGN_NR;
	if (check_names(cert, csr, mail, extra_ekus, sign ? X509_USE_SIGN :
	    X509_USE_ENCRYPT, now, buf, sizeof(buf)) == -1)
		return why_set(why, "%s", buf);
	if (check_purpose(cert, purpose, why) == -1)
		return -1;
	return check_chain(cert, chain, pk, trust, now, purpose, why);
}
