/*
 * dns_name.c — SMIMEA records (RFC 8162): the owner names, the
 * association data, zone names, and the RRset a name holds (dns/dns.h says
 * what each does). Pure: no network, so the unit tests check it alone.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dns/dns.h"

void
dns_hex(const unsigned char *in, size_t len, char *out)
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
dns_owner_label(const char *local, size_t len, char out[DNS_LABEL_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(local, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < DNS_HASH_LEN)
		return -1;
	dns_hex(md, DNS_HASH_LEN, out);
	return 0;
}

int
dns_owners(const char *mail, char out[2][DNS_OWNER_MAX])
{
	char label[DNS_LABEL_HEX], lower[DNS_LABEL_HEX], lpart[256];
	const char *at = strrchr(mail, '@');
	size_t llen, i;
	int n = 1;

	if (at == NULL || at == mail || (llen = (size_t)(at - mail)) >=
	    sizeof(lpart) || strlen(at + 1) > DNS_DOMAIN_MAX)
		return -1;
	for (i = 0; i < llen; i++)
		lpart[i] = (char)tolower((unsigned char)mail[i]);
	lpart[llen] = '\0';
	if (dns_owner_label(mail, llen, label) == -1 ||
	    dns_owner_label(lpart, llen, lower) == -1)
		return -1;
	/* RFC 1035 §2.3.4: 255 octets in wire form, i.e. 253 characters
	 * of presentation form without the final dot */
	if (snprintf(out[0], DNS_OWNER_MAX, "%s._smimecert.%s.", label,
	    at + 1) > DNS_DOMAIN_MAX + 1)
		return -1;
	if (strcmp(label, lower) != 0) {
		snprintf(out[1], DNS_OWNER_MAX, "%s._smimecert.%s.", lower,
		    at + 1);
		n = 2;
	}
	return n;
}

unsigned char *
dns_data(X509 *cert, int selector, int matching, size_t *outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL, *out = NULL;
	const unsigned char *data;
	unsigned int mdlen = 0;
	size_t dlen;
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
	if ((out = malloc(dlen)) != NULL) {
		memcpy(out, data, dlen);
		*outlen = dlen;
	}
out:
	OPENSSL_free(der);
	return out;
}

char *
dns_data_hex(X509 *cert, int selector, int matching)
{
	unsigned char *data;
	size_t len = 0;
	char *hex;

	if ((data = dns_data(cert, selector, matching, &len)) == NULL)
		return NULL;
	if ((hex = malloc(2 * len + 1)) != NULL)
		dns_hex(data, len, hex);
	free(data);
	return hex;
}

int
dns_zone_canon(const char *zone, char *out, const char **why)
{
	size_t len = strlen(zone), i, lab = 0;

	if (len > 0 && zone[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty (the root zone holds no addresses)";
		return -1;
	}
	if (len > DNS_DOMAIN_MAX) {
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
dns_in_zone(const char *domain, const char *zone)
{
	size_t dl = strlen(domain), zl = strlen(zone);

	if (dl == zl)
		return strcmp(domain, zone) == 0;
	return dl > zl && domain[dl - zl - 1] == '.' &&
	    strcmp(domain + dl - zl, zone) == 0;
}

int
dns_rrset_add(struct dns_rrset *set, int usage, int selector, int matching,
    const unsigned char *data, size_t len)
{
	struct dns_rdata rd = { usage, selector, matching,
	    (unsigned char *)data, len }, *n;

	if (dns_rrset_has(set, &rd))
		return 0;	/* an RRset holds each RR once (RFC 2181 §5) */
	if ((n = realloc(set->rd, (set->n + 1) * sizeof(*n))) == NULL)
		return -1;
	set->rd = n;
	if ((rd.data = malloc(len ? len : 1)) == NULL)
		return -1;
	memcpy(rd.data, data, len);
	set->rd[set->n++] = rd;
	return 0;
}

int
dns_rrset_has(const struct dns_rrset *set, const struct dns_rdata *rd)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->rd[i].usage == rd->usage &&
		    set->rd[i].selector == rd->selector &&
		    set->rd[i].matching == rd->matching &&
		    set->rd[i].len == rd->len &&
		    memcmp(set->rd[i].data, rd->data, rd->len) == 0)
			return 1;
	return 0;
}

void
dns_rrset_clear(struct dns_rrset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		free(set->rd[i].data);
	free(set->rd);
	set->rd = NULL;
	set->n = 0;
}
