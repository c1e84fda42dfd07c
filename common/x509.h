/*
 * x509.h — X.509 and CMS helpers shared by every program: load PEM/DER,
 * fingerprints, the certs-only CMS SignedData of userSMIMECertificate
 * (RFC 2798 §2.8; the person's certificate first, then its chain), and the
 * "usable for encryption" test that publish, show and lookup apply.
 */
#ifndef SMIMEPUB_X509_H
#define SMIMEPUB_X509_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define X509_SHA256_LEN		32
#define X509_SHA256_HEX		(2 * X509_SHA256_LEN + 1)

/*
 * Load every certificate in path, PEM (one or more blocks) or DER (one), in
 * file order. The first is the leaf. Returns a stack the caller frees with
 * sk_X509_pop_free(.., X509_free), or NULL with the reason logged naming path.
 */
STACK_OF(X509)	*x509_load_file(const char *path);
/* Parse one DER certificate; NULL (nothing logged) if it is not exactly one. */
X509		*x509_from_der(const unsigned char *der, size_t len);
/* DER of cert into *der (caller OPENSSL_free()s); -1 on failure. */
int		 x509_to_der(X509 *cert, unsigned char **der, size_t *len);

/* SHA-256 of the DER; hex is lower-case, NUL-terminated. */
int		 x509_sha256(X509 *cert, unsigned char out[X509_SHA256_LEN]);
int		 x509_sha256_hex(X509 *cert, char out[X509_SHA256_HEX]);
/* Serial in upper-case hex without separators; caller frees with free(). */
char		*x509_serial_hex(X509 *cert);
/*
 * The same hex read straight from a certificate's DER, without parsing the
 * rest (a full parse costs more than the pass's search): 0, or -1 when the
 * bytes are not what it expects (then parse them with x509_from_der()).
 */
int		 x509_der_serial_hex(const unsigned char *der, size_t len,
		    char *out, size_t outsz);
/* RFC 2253 string of a name; caller frees with free(). */
char		*x509_name_str(const X509_NAME *name);

/*
 * Build a DER certs-only SignedData (no signers, no content) holding leaf then
 * chain (may be NULL), in that order. Order is kept on the wire: the PKCS#7
 * encoder writes the certificate set in the order given, whereas the CMS one
 * would sort it as DER SET OF. Caller OPENSSL_free()s *der.
 */
int		 x509_certsonly_build(X509 *leaf, STACK_OF(X509) *chain,
		    unsigned char **der, size_t *len);
/*
 * Parse a DER certs-only SignedData (PKCS#7 or CMS encoding) into its
 * certificates in encoded order. NULL if it is not one (nothing logged).
 */
STACK_OF(X509)	*x509_certsonly_parse(const unsigned char *der, size_t len);

/*
 * Usable for encrypting mail to addr (already canonical) at time now:
 * within validity, EKU emailProtection, key usage permitting encryption
 * (RSA keyEncipherment, EC keyAgreement), an rfc822Name SAN equal to addr
 * (local part exact, domain case-insensitive). Returns 1 usable, 0 not (with
 * *why a static reason such as "expired", "not yet valid", "no emailProtection
 * EKU", "key usage forbids encryption", "address not in certificate").
 * addr may be NULL to skip the address test.
 */
int		 x509_usable(X509 *cert, const char *addr, time_t now,
		    const char **why);

#endif
