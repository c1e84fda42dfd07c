/*
 * x509_usable.c — whether a certificate can be used to encrypt mail to an
 * address at a given time: within its validity, extended key usage
 * emailProtection (strict: no EKU extension means no), a key usage that
 * permits encryption for its key type (RSA keyEncipherment, EC
 * keyAgreement; an absent keyUsage permits all), and an rfc822Name
 * subjectAltName equal to the address (local part byte for byte, domain
 * ASCII case-insensitive). publish, show and lookup all apply this test.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/x509.h"

static int
x509_ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 if the rfc822Name san (len bytes, not NUL-terminated) is addr. */
static int
x509_addr_eq(const unsigned char *san, size_t len, const char *addr)
{
	const unsigned char *at_san, *at_addr;
	size_t alen = strlen(addr), local, i;
	int rc = 0;

	if (san == NULL || len != alen || memchr(san, '\0', len) != NULL)
		goto out;
	/* The domain follows the last '@'; the local part may quote one. */
	if ((at_san = memrchr(san, '@', len)) == NULL ||
	    (at_addr = memrchr(addr, '@', alen)) == NULL)
		goto out;
	local = (size_t)(at_san - san);
	if (local != (size_t)(at_addr - (const unsigned char *)addr) ||
	    memcmp(san, addr, local) != 0)
		goto out;
	for (i = local; i < len; i++)
		if (x509_ascii_lower(san[i]) !=
		    x509_ascii_lower((unsigned char)addr[i]))
			goto out;
	rc = 1;
out:
	return rc;
}

/* 1 if one rfc822Name of the subjectAltName extension is addr. */
static int
x509_has_addr(X509 *cert, const char *addr)
{
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *gen;
	int i, crit = 0, rc = 0;

	/* NULL also when the extension appears twice (crit == -2). */
	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit,
	    NULL)) == NULL)
		goto out;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_EMAIL)
			continue;
		if (x509_addr_eq(ASN1_STRING_get0_data(gen->d.rfc822Name),
		    (size_t)ASN1_STRING_length(gen->d.rfc822Name), addr)) {
			rc = 1;
			break;
		}
	}
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

int
x509_usable(X509 *cert, const char *addr, time_t now, const char **why)
{
	EVP_PKEY *pkey;
	const char *reason;
	uint32_t flags, need;
	int cmp, rc = 0;

	reason = "not a certificate";
	if (cert == NULL)
		goto out;
	flags = X509_get_extension_flags(cert);	/* caches the extensions */
	if (flags & EXFLAG_INVALID) {
		reason = "malformed extensions";
		goto out;
	}

	cmp = X509_cmp_time(X509_get0_notBefore(cert), &now);
	if (cmp == 0) {
		reason = "malformed validity dates";
		goto out;
	}
	if (cmp > 0) {
		reason = "not yet valid";
		goto out;
	}
	/* -1 also when notAfter equals now: the last second has passed. */
	cmp = X509_cmp_time(X509_get0_notAfter(cert), &now);
	if (cmp == 0) {
		reason = "malformed validity dates";
		goto out;
	}
	if (cmp < 0) {
		reason = "expired";
		goto out;
	}

	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SMIME)) {
		reason = "no emailProtection EKU";
		goto out;
	}

	if ((pkey = X509_get0_pubkey(cert)) == NULL) {
		reason = "unreadable public key";
		goto out;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		need = KU_KEY_ENCIPHERMENT;
		break;
	case EVP_PKEY_EC:
	case EVP_PKEY_X25519:
	case EVP_PKEY_X448:
		need = KU_KEY_AGREEMENT;
		break;
	default:
		/* DSA, RSA-PSS, Ed25519...: signature keys only. */
		reason = "key type cannot encrypt";
		goto out;
	}
	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & need)) {
		reason = "key usage forbids encryption";
		goto out;
	}

	if (addr != NULL && !x509_has_addr(cert, addr)) {
		reason = "address not in certificate";
		goto out;
	}
	reason = "usable";
	rc = 1;
out:
	if (why != NULL)
		*why = reason;
	ERR_clear_error();
	return rc;
}
