/*
 * smimea.h — the pure part of `smimepub export-smimea`: DNS SMIMEA records
 * (RFC 8162). Kept apart from the command (cli/cmd_smimea.c) so the unit
 * tests check it without a directory; static inline, as the CLI is not in
 * the library the tests link.
 *
 * RFC 8162 §3: the owner is hex(SHA2-256(local-part)) truncated to 28
 * octets (56 hex digits), then "_smimecert", then the domain of the address.
 * RDATA (§2, the TLSA RDATA of RFC 6698 §2.1): usage, selector (0 the whole
 * certificate DER, 1 its SubjectPublicKeyInfo DER), matching type (0 exact,
 * 1 SHA-256, 2 SHA-512) and the association data.
 */
#ifndef SMIMEPUB_SMIMEA_H
#define SMIMEPUB_SMIMEA_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define SMIMEA_HASH_LEN		28			/* octets kept */
#define SMIMEA_LABEL_HEX	(2 * SMIMEA_HASH_LEN + 1)	/* + NUL */
#define SMIMEA_DOMAIN_MAX	253	/* presentation form, no final dot */

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
static inline void
smimea_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/*
 * The first label of the owner for the local part local (len bytes, as
 * given: no case folding here). Returns 0, -1 on a digest failure.
 */
static inline int
smimea_owner_label(const char *local, size_t len, char out[SMIMEA_LABEL_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(local, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < SMIMEA_HASH_LEN)
		return -1;
	smimea_hex(md, SMIMEA_HASH_LEN, out);
	return 0;
}

/*
 * The association data of cert for selector (0, 1) and matching type (0, 1,
 * 2), as lower-case hex in a malloc'd string (caller free()s). NULL on an
 * invalid selector/matching type or a failure.
 */
static inline char *
smimea_data_hex(X509 *cert, int selector, int matching)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	const unsigned char *data;
	unsigned int mdlen = 0;
	size_t dlen;
	char *hex = NULL;
	int len;

	if (selector == 0)
		len = i2d_X509(cert, &der);
	else if (selector == 1)
		len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	else
		return NULL;
	if (len <= 0)
		return NULL;
	data = der;
	dlen = (size_t)len;
	if (matching == 1 || matching == 2) {
		if (EVP_Digest(der, dlen, md, &mdlen, matching == 1 ?
		    EVP_sha256() : EVP_sha512(), NULL) != 1)
			goto out;
		data = md;
		dlen = mdlen;
	} else if (matching != 0)
		goto out;
	if ((hex = malloc(2 * dlen + 1)) != NULL)
		smimea_hex(data, dlen, hex);
out:
	OPENSSL_free(der);
	return hex;
}

/*
 * Check a zone name (presentation form, at most one final dot, labels of
 * 1..63 letters, digits, '-' or '_', not starting or ending with '-') and
 * write it lower-cased without the final dot into out (SMIMEA_DOMAIN_MAX +
 * 1). Returns 0, or -1 with *why a static reason.
 */
static inline int
smimea_zone_canon(const char *zone, char *out, const char **why)
{
	size_t len = strlen(zone), i, lab = 0;

	if (len > 0 && zone[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty (the root zone holds no addresses)";
		return -1;
	}
	if (len > SMIMEA_DOMAIN_MAX) {
		*why = "longer than 253 characters";
		return -1;
	}
	for (i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)zone[i] : '.';

		if (ch == '.') {
			if (lab == 0) {
				*why = "empty label";
				return -1;
			}
			if (lab > 63) {
				*why = "a label longer than 63 characters";
				return -1;
			}
			if (zone[i - 1] == '-' || zone[i - lab] == '-') {
				*why = "a label starts or ends with '-'";
				return -1;
			}
			lab = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			lab++;
		} else {
			*why = "a character other than letters, digits, '-', "
			    "'_' and '.'";
			return -1;
		}
		if (i < len)
			out[i] = (char)tolower(ch);
	}
	out[len] = '\0';
	return 0;
}

/*
 * 1 if domain (lower-case, no final dot) equals zone (smimea_zone_canon'd)
 * or lies under it, else 0.
 */
static inline int
smimea_in_zone(const char *domain, const char *zone)
{
	size_t dl = strlen(domain), zl = strlen(zone);

	if (dl == zl)
		return strcmp(domain, zone) == 0;
	return dl > zl && domain[dl - zl - 1] == '.' &&
	    strcmp(domain + dl - zl, zone) == 0;
}

#endif
