/*
 * x509_addrs.c — the address sets of a person's certificate (DESIGN.md: "one
 * certificate names them all"): the rfc822Names a CSR asks for and a
 * certificate holds, in order, and the test that a certificate names every
 * address of a set (the CA answer check's "exactly": x509_profile_check
 * refuses any name outside the set, this refuses one missing from it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mail.h"
#include "common/x509.h"

void
x509_addrs_free(char **addrs)
{
	size_t i;

	for (i = 0; addrs != NULL && addrs[i] != NULL; i++)
		free(addrs[i]);
	free(addrs);
}

/* The rfc822Names of gens as NUL-terminated strings, in order. */
static char **
addrs_of(const GENERAL_NAMES *gens, size_t *n)
{
	const GENERAL_NAME *gen;
	const ASN1_STRING *s;
	char **v;
	int i, len;

	*n = 0;
	if ((v = calloc((size_t)sk_GENERAL_NAME_num(gens) + 1,
	    sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_EMAIL)
			continue;
		s = gen->d.rfc822Name;
		len = ASN1_STRING_length(s);
		/* an embedded NUL is no address: leave it to the checks */
		if (len <= 0 || len > MAIL_MAX ||
		    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL)
			continue;
		if ((v[*n] = strndup((const char *)ASN1_STRING_get0_data(s),
		    (size_t)len)) == NULL) {
			x509_addrs_free(v);
			*n = 0;
			return NULL;
		}
		(*n)++;
	}
	return v;
}

char **
x509_req_addrs(X509_REQ *csr, size_t *n)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens = NULL;
	char **v = NULL;

	*n = 0;
	if ((exts = X509_REQ_get_extensions(csr)) == NULL)
		goto out;
	if ((gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		goto out;
	v = addrs_of(gens, n);
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return v;
}

char **
x509_cert_addrs(X509 *cert, size_t *n)
{
	GENERAL_NAMES *gens;
	char **v;

	*n = 0;
	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	v = addrs_of(gens, n);
	GENERAL_NAMES_free(gens);
	return v;
}

int
x509_names_all(X509 *cert, const char *const *addrs, size_t n, char *why,
    size_t whysz)
{
	char **have;
	size_t i, j, nhave = 0;
	int found, rc = 0;

	have = x509_cert_addrs(cert, &nhave);
	for (i = 0; i < n && rc == 0; i++) {
		for (found = 0, j = 0; j < nhave && !found; j++)
			found = x509_addr_eq((const unsigned char *)have[j],
			    strlen(have[j]), addrs[i]);
		if (!found) {
			snprintf(why, whysz, "address not in certificate: "
			    "no rfc822Name %s (the person's addresses are "
			    "named by one certificate)", addrs[i]);
			rc = -1;
		}
	}
	x509_addrs_free(have);
	return rc;
}

int
x509_addrs_same(X509 *a, X509 *b)
{
	char **va, **vb;
	size_t na = 0, nb = 0, i, j;
	int same, found;

	va = x509_cert_addrs(a, &na);
	vb = x509_cert_addrs(b, &nb);
	same = va != NULL && vb != NULL && na == nb;
	for (i = 0; same && i < na; i++) {
		for (found = 0, j = 0; j < nb && !found; j++)
			found = strlen(va[i]) == strlen(vb[j]) &&
			    x509_addr_eq((const unsigned char *)va[i],
			    strlen(va[i]), vb[j]);
		same = found;
	}
	x509_addrs_free(va);
	x509_addrs_free(vb);
	return same;
}
