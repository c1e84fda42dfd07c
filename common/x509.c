/*
 * x509.c — X.509 helpers shared by every program: loading certificates from
 * PEM or DER files, DER encoding, SHA-256 fingerprints, serial and name
 * strings, and the certs-only SignedData of userSMIMECertificate (RFC 2798
 * §2.8). The "usable for encryption" test is in x509_usable.c.
 *
 * The certs-only bundle is built with the PKCS#7 API on purpose: its
 * certificate set is encoded in the order given (leaf first, then chain),
 * whereas the CMS encoder sorts it as a DER SET OF, and clients take the
 * first certificate as the person's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "common/file.h"
#include "common/log.h"
#include "common/x509.h"

/* Far above any real certificate file, small enough to read whole. */
#define X509_FILE_MAX	(4 * 1024 * 1024)

/* Append every PEM CERTIFICATE block of buf to certs; -1 if one is bad. */
static int
x509_pem_all(const char *path, const unsigned char *buf, size_t len,
    STACK_OF(X509) *certs)
{
	BIO *bio = NULL;
	X509 *cert = NULL;
	unsigned long e;
	int rc = -1;

	if (len > INT_MAX) {
		log_err("%s: file too large", path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		log_ssl("%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ERR_set_mark();
		if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				/* No further CERTIFICATE block: done. */
				ERR_pop_to_mark();
				break;
			}
			ERR_clear_last_mark();
			log_ssl("%s: bad PEM certificate block %d", path,
			    sk_X509_num(certs) + 1);
			goto out;
		}
		ERR_clear_last_mark();
		if (!sk_X509_push(certs, cert)) {
			log_ssl("%s: out of memory", path);
			goto out;
		}
		cert = NULL;
	}
	rc = 0;
out:
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

STACK_OF(X509) *
x509_load_file(const char *path)
{
	STACK_OF(X509) *certs = NULL, *ret = NULL;
	unsigned char *buf = NULL;
	X509 *cert = NULL;
	size_t len = 0;

	if (file_read_all(path, X509_FILE_MAX, &buf, &len) == -1)
		goto out;
	if (len == 0) {
		log_err("%s: empty file, no certificate", path);
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		log_ssl("%s: out of memory", path);
		goto out;
	}
	if (x509_pem_all(path, buf, len, certs) == -1)
		goto out;
	if (sk_X509_num(certs) == 0) {
		/* No PEM CERTIFICATE block: the whole file as one DER. */
		if ((cert = x509_from_der(buf, len)) == NULL) {
			log_err("%s: no certificate (neither PEM CERTIFICATE "
			    "blocks nor exactly one DER certificate)", path);
			goto out;
		}
		if (!sk_X509_push(certs, cert)) {
			log_ssl("%s: out of memory", path);
			goto out;
		}
		cert = NULL;
	}
	ret = certs;
	certs = NULL;
out:
	X509_free(cert);
	sk_X509_pop_free(certs, X509_free);
	free(buf);
	return ret;
}

X509 *
x509_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *cert = NULL, *ret = NULL;

	if (der == NULL || len == 0 || len > LONG_MAX)
		goto out;
	if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL)
		goto out;
	if (p != der + len)
		goto out;	/* trailing bytes: not exactly one */
	ret = cert;
	cert = NULL;
out:
	X509_free(cert);
	ERR_clear_error();	/* nothing logged, nothing left behind */
	return ret;
}

int
x509_to_der(X509 *cert, unsigned char **der, size_t *len)
{
	unsigned char *out = NULL;
	int n, rc = -1;

	*der = NULL;
	*len = 0;
	if ((n = i2d_X509(cert, &out)) <= 0) {
		log_ssl("cannot DER-encode certificate");
		goto out;
	}
	*der = out;
	*len = (size_t)n;
	out = NULL;
	rc = 0;
out:
	OPENSSL_free(out);
	return rc;
}

int
x509_sha256(X509 *cert, unsigned char out[X509_SHA256_LEN])
{
	unsigned int n = 0;
	int rc = -1;

	if (!X509_digest(cert, EVP_sha256(), out, &n) ||
	    n != X509_SHA256_LEN) {
		log_ssl("cannot compute SHA-256 of certificate");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
x509_sha256_hex(X509 *cert, char out[X509_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[X509_SHA256_LEN];
	size_t i;
	int rc = -1;

	if (x509_sha256(cert, md) == -1)
		goto out;
	for (i = 0; i < X509_SHA256_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * X509_SHA256_LEN] = '\0';
	rc = 0;
out:
	return rc;
}

char *
x509_serial_hex(X509 *cert)
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *ret = NULL;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert),
	    NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		log_ssl("cannot convert certificate serial number");
		goto out;
	}
	if ((ret = strdup(hex)) == NULL)
		log_err("cannot convert certificate serial number: out of "
		    "memory");
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

/* One DER header at *p (< end): tag, then the content's length. */
static int
x509_der_hdr(const unsigned char **p, const unsigned char *end, int *tag,
    size_t *len)
{
	size_t n, i;

	if (end - *p < 2)
		return -1;
	*tag = *(*p)++;
	n = *(*p)++;
	if (n & 0x80) {		/* X.690 §8.1.3.5: long form */
		i = n & 0x7f;
		if (i == 0 || i > 4 || (size_t)(end - *p) < i)
			return -1;
		for (n = 0; i > 0; i--)
			n = n << 8 | *(*p)++;
	}
	if (n > (size_t)(end - *p))
		return -1;
	*len = n;
	return 0;
}

int
x509_der_serial_hex(const unsigned char *der, size_t len, char *out,
    size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = der, *end = der + len;
	size_t l, o = 0;
	int tag;

	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
	 * OPTIONAL, serialNumber INTEGER, ... (RFC 5280 §4.1) */
	if (x509_der_hdr(&p, end, &tag, &l) == -1 || tag != 0x30 ||
	    x509_der_hdr(&p, end, &tag, &l) == -1 || tag != 0x30 ||
	    x509_der_hdr(&p, end, &tag, &l) == -1)
		return -1;
	if (tag == 0xa0) {
		p += l;
		if (x509_der_hdr(&p, end, &tag, &l) == -1)
			return -1;
	}
	if (tag != 0x02 || l == 0 || (p[0] & 0x80))
		return -1;	/* not an INTEGER, or negative: ask OpenSSL */
	/* as BN_bn2hex: whole octets, leading zero octets dropped */
	while (l > 1 && p[0] == 0) {
		p++;
		l--;
	}
	if (l == 1 && p[0] == 0) {
		if (outsz < 2)
			return -1;
		memcpy(out, "0", 2);
		return 0;
	}
	if (outsz < 2 * l + 1)
		return -1;
	for (; l > 0; l--, p++) {
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 0x0f];
	}
	out[o] = '\0';
	return 0;
}

char *
x509_name_str(const X509_NAME *name)
{
	BIO *bio = NULL;
	char *data = NULL, *ret = NULL;
	long n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
		log_ssl("cannot print distinguished name");
		goto out;
	}
	if ((n = BIO_get_mem_data(bio, &data)) < 0)
		n = 0;
	if ((ret = malloc((size_t)n + 1)) == NULL) {
		log_err("cannot print distinguished name: out of memory");
		goto out;
	}
	if (n > 0)
		memcpy(ret, data, (size_t)n);
	ret[n] = '\0';
out:
	BIO_free(bio);
	return ret;
}

int
x509_certsonly_build(X509 *leaf, STACK_OF(X509) *chain, unsigned char **der,
    size_t *len)
{
	PKCS7 *p7 = NULL;
	unsigned char *out = NULL;
	int i, n, rc = -1;

	*der = NULL;
	*len = 0;
	/* As `openssl crl2pkcs7 -nocrl`: version 1, no digest algorithms,
	 * detached (absent) data content, no CRLs, no signers. */
	if ((p7 = PKCS7_new()) == NULL ||
	    !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data) ||
	    !PKCS7_set_detached(p7, 1))
		goto err;
	if (!PKCS7_add_certificate(p7, leaf))
		goto err;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (!PKCS7_add_certificate(p7, sk_X509_value(chain, i)))
			goto err;
	if ((n = i2d_PKCS7(p7, &out)) <= 0)
		goto err;
	*der = out;
	*len = (size_t)n;
	out = NULL;
	rc = 0;
	goto out;
err:
	log_ssl("cannot build the certs-only SignedData");
out:
	OPENSSL_free(out);
	PKCS7_free(p7);
	return rc;
}

STACK_OF(X509) *
x509_certsonly_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) *ret = NULL;

	if (der == NULL || len == 0 || len > LONG_MAX)
		goto out;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	/* [0] EXPLICIT content is optional in the encoding: check it. */
	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    p7->d.sign->cert == NULL || sk_X509_num(p7->d.sign->cert) <= 0)
		goto out;
	/* Signers, if any, are not checked: only the certificates count. */
	ret = X509_chain_up_ref(p7->d.sign->cert);
out:
	PKCS7_free(p7);
	ERR_clear_error();	/* nothing logged, nothing left behind */
	return ret;
}
