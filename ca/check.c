/*
 * check.c — the check every certificate a CA returns must pass before it is
 * journalled as issued or published (DESIGN.md "Certificate authorities"):
 * our key, our address, S/MIME EKU, a key usage that allows encryption, a
 * current validity of at most 825 days, and a chain to the configured CA.
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

/* Local part exact, domain case-insensitive (RFC 5321 §2.4). */
static int
mail_eq(const char *a, size_t alen, const char *b)
{
	const char *at_a, *at_b;
	size_t blen = strlen(b);

	if (alen != blen)
		return 0;
	if ((at_a = memrchr(a, '@', alen)) == NULL ||
	    (at_b = strrchr(b, '@')) == NULL ||
	    at_a - a != at_b - b)
		return 0;
	return memcmp(a, b, (size_t)(at_a - a)) == 0 &&
	    strncasecmp(at_a, at_b, alen - (size_t)(at_a - a)) == 0;
}

/* Exactly the address among the rfc822Names (RFC 5280 §4.2.1.6). */
static int
check_mail(X509 *cert, const char *mail, char **why)
{
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *gen;
	const char *v;
	int i, n, found = 0, rc = -1, len;

	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return why_set(why, "no subjectAltName with rfc822Name %s",
		    mail);
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_EMAIL)
			continue;
		v = (const char *)ASN1_STRING_get0_data(gen->d.rfc822Name);
		len = ASN1_STRING_length(gen->d.rfc822Name);
		if (mail_eq(v, (size_t)len, mail))
			found = 1;
		else {
			why_set(why, "rfc822Name %.*s is not %s",
			    len > 256 ? 256 : len, v, mail);
			goto out;
		}
	}
	if (!found) {
		why_set(why, "no rfc822Name %s in subjectAltName", mail);
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int
check_usage(X509 *cert, EVP_PKEY *pk, char **why)
{
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t ku = X509_get_key_usage(cert);

	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SMIME))
		return why_set(why, "no emailProtection extended key usage");
	if (!(flags & EXFLAG_KUSAGE))
		return why_set(why, "no key usage extension");
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (!(ku & KU_KEY_ENCIPHERMENT))
			return why_set(why, "RSA key usage without "
			    "keyEncipherment: cannot encrypt to it");
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (!(ku & KU_KEY_AGREEMENT))
			return why_set(why, "EC key usage without "
			    "keyAgreement: cannot encrypt to it");
	} else
		return why_set(why, "%s key is not usable for S/MIME "
		    "encryption", EVP_PKEY_get0_type_name(pk));
	return 0;
}

static int
check_validity(X509 *cert, time_t now, char **why)
{
	const ASN1_TIME *nb = X509_get0_notBefore(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	int days = 0, secs = 0;
	long long period;

	if (X509_cmp_time(nb, &now) != -1)
		return why_set(why, "not yet valid (or unreadable notBefore)");
	if (X509_cmp_time(na, &now) != 1)
		return why_set(why, "expired (or unreadable notAfter)");
	if (!ASN1_TIME_diff(&days, &secs, nb, na))
		return why_set(why, "unreadable validity");
	/* RFC 5280 §4.1.2.5: both ends inclusive */
	period = (long long)days * 86400 + secs + 1;
	if (period > (long long)CA_MAX_VALIDITY_DAYS * 86400)
		return why_set(why, "validity of %lld days exceeds the %d "
		    "days of the S/MIME Baseline Requirements",
		    (period + 86399) / 86400, CA_MAX_VALIDITY_DAYS);
	return 0;
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
    const char *mail, X509_STORE *trust, time_t now, char **why)
{
	EVP_PKEY *pk, *reqpk;

	*why = NULL;
	if (cert == NULL || csr == NULL || mail == NULL)
		return why_set(why, "nothing to check");
	if ((pk = X509_get0_pubkey(cert)) == NULL)
		return why_set(why, "unreadable public key");
	if ((reqpk = X509_REQ_get0_pubkey(csr)) == NULL)
		return why_set(why, "unreadable public key in the CSR");
	if (EVP_PKEY_eq(pk, reqpk) != 1)
		return why_set(why, "public key is not the one of the CSR");
	if (check_mail(cert, mail, why) == -1 ||
	    check_usage(cert, pk, why) == -1 ||
	    check_validity(cert, now, why) == -1 ||
	    check_chain(cert, chain, pk, trust, now, why) == -1)
		return -1;
	return 0;
}
