/*
 * smimea.c — DNS SMIMEA records (RFC 8162): the owner name's first label,
 * the association data and zone names (cli/smimea.h says what each does).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli/smimea.h"

void
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

int
smimea_owner_label(const char *local, size_t len,
    char out[SMIMEA_LABEL_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(local, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < SMIMEA_HASH_LEN)
		return -1;
	smimea_hex(md, SMIMEA_HASH_LEN, out);
	return 0;
}

char *
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

int
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

int
smimea_in_zone(const char *domain, const char *zone)
{
	size_t dl = strlen(domain), zl = strlen(zone);

	if (dl == zl)
		return strcmp(domain, zone) == 0;
	return dl > zl && domain[dl - zl - 1] == '.' &&
	    strcmp(domain + dl - zl, zone) == 0;
}
