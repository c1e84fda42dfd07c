/*
 * x509.h — X.509 and CMS helpers shared by every program: load PEM/DER,
 * fingerprints, the certs-only CMS SignedData of userSMIMECertificate
 * (RFC 2798 §2.8; the person's certificate first, then its chain), the
 * S/MIME profile check, and the "usable for encryption" test built on it
 * that publish, show and lookup apply.
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
 * The S/MIME profile check (x509_profile.c): the CA/Browser Forum S/MIME
 * Baseline Requirements' strict mailbox profile, which every certificate
 * smimepub handles passes (a CA's answer, a publication by hand, adoption,
 * lookupd). The verdict is a code, with the reason in why.
 */
enum x509_prof {
	X509_PROF_OK = 0,
	X509_PROF_UNPARSABLE,		/* not a certificate, malformed */
	X509_PROF_EXPIRED,
	X509_PROF_NOT_YET_VALID,
	X509_PROF_NO_EKU,		/* no emailProtection */
	X509_PROF_KEY_USAGE,		/* lacks the bit the use needs */
	X509_PROF_KEY_TYPE,		/* a key that cannot do the use */
	X509_PROF_ADDRESS,		/* the address asked for is not named */
	X509_PROF_PROFILE		/* anything else the profile forbids */
};
enum x509_use { X509_USE_ENCRYPT, X509_USE_SIGN };

/*
 * Judge cert at time now for use by the person whose addresses are addrs
 * (canonical; addrs[0] the one it must name; naddrs 0 to skip the address
 * tests). extra_ekus (NULL-terminated, may be NULL) are the EKU names or
 * OIDs of ca.allowed_ekus. X509_PROF_OK, or the verdict with a
 * NUL-terminated reason in why (whysz bytes, 256 is enough) naming what is
 * wrong and the SBR section.
 */
enum x509_prof	 x509_profile_check(X509 *cert, const char *const *addrs,
		    size_t naddrs, char *const *extra_ekus, enum x509_use use,
		    time_t now, char *why, size_t whysz);
/* Can name go into ca.allowed_ekus? 0, or -1 with a static *why. */
int		 x509_profile_eku_ok(const char *name, const char **why);
/*
 * 1 if the len bytes at a (not NUL-terminated) are the address addr, ASCII
 * case-insensitively, local part included (as mail_eq, common/mail.h).
 */
int		 x509_addr_eq(const unsigned char *a, size_t len,
		    const char *addr);

/*
 * Address sets (x509_addrs.c). The rfc822Names a CSR's extensionRequest
 * asks for / a certificate's subjectAltName holds, in order, as a
 * NULL-terminated array (*n entries) freed with x509_addrs_free(); NULL
 * when there are none (or out of memory).
 */
char		**x509_req_addrs(X509_REQ *csr, size_t *n);
char		**x509_cert_addrs(X509 *cert, size_t *n);
void		 x509_addrs_free(char **addrs);
/* 0 if cert names every address of addrs; -1 with the first one missing
 * in why. */
int		 x509_names_all(X509 *cert, const char *const *addrs, size_t n,
		    char *why, size_t whysz);
/* 1 if a and b name the same rfc822Names (in any order), else 0. */
int		 x509_addrs_same(X509 *a, X509 *b);

/*
 * Usable for encrypting mail to addr (already canonical) at time now: the
 * profile check above, for encryption, with the EKUs of extra_ekus allowed.
 * Returns 1 usable, 0 not, with *why the reason, in a buffer of the calling
 * thread valid until its next call; for the verdicts lookupd counts it is
 * exactly "not a certificate", "expired", "not yet valid", "no
 * emailProtection EKU", "key usage forbids encryption", "key type cannot
 * encrypt" or "address not in certificate". addr may be
 * NULL to skip the address tests. x509_usable() allows no extra EKU.
 */
int		 x509_usable_ekus(X509 *cert, const char *addr,
		    char *const *extra_ekus, time_t now, const char **why);
int		 x509_usable(X509 *cert, const char *addr, time_t now,
		    const char **why);
/*
 * The same for a person with several addresses: addr must be named, and
 * every other name must be addr or one of set (n entries; the person's
 * addresses as the directory holds them). Addresses compare ASCII
 * case-insensitively here: addr takes the spelling of the set's entry it
 * equals, so a lookup in any case finds the certificate of that address.
 */
int		 x509_usable_set(X509 *cert, const char *addr,
		    char *const *set, size_t n, char *const *extra_ekus,
		    time_t now, const char **why);

#endif
