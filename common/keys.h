/*
 * keys.h — a person's key pair and the PKCS#10 request (RFC 2986) that
 * carries its public half to a CA. The private key stays in memory: it is
 * handed only to key delivery and escrow (enrol/enrol.h), which write it
 * encrypted; EVP_PKEY_free() clears the key material of OpenSSL's keys.
 */
#ifndef SMIMEPUB_KEYS_H
#define SMIMEPUB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#define KEYS_DEFAULT_TYPE	"rsa:3072"
#define KEYS_CN_MAX		64	/* RFC 5280 App. A: ub-common-name */

/* 1 if type is one of rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384. */
int		 keys_type_valid(const char *type);
/* Those names, NULL-terminated (keys.type's allowed values). */
extern const char *const keys_type_names[];
/* A fresh key pair of type (NULL: the default); NULL logged on failure. */
EVP_PKEY	*keys_generate(const char *type);
/*
 * A CSR for key, signed with SHA-256: subject CN = display_name (NULL or
 * empty: the address; cut to 64 characters), extensionRequest (RFC 2985
 * §5.4.2) with subjectAltName rfc822Name = mail. A display name with a
 * control character or invalid UTF-8 is refused. NULL logged on failure.
 */
X509_REQ	*keys_csr_new(EVP_PKEY *key, const char *mail,
		    const char *display_name);
/*
 * What a certificate is for (keys.separate_signing): one key for both, the
 * encryption key (escrowed), or the signing key (never escrowed), with or
 * without nonRepudiation. The CSR says it in its keyUsage request.
 */
enum keys_purpose { KEYS_BOTH = 0, KEYS_ENCRYPT, KEYS_SIGN, KEYS_SIGN_NR };
/* keys_csr_new() asking for the key usage of purpose. */
X509_REQ	*keys_csr_new_for(EVP_PKEY *key, const char *mail,
		    const char *display_name, enum keys_purpose purpose);
/*
 * The purpose a CSR asks for, read from its keyUsage request: signing
 * (digitalSignature, no encryption bit), encryption (keyEncipherment or
 * keyAgreement, no signature bit), else both (also with no request). The
 * requested KU_* bits in *ku (may be NULL).
 */
enum keys_purpose keys_csr_purpose(X509_REQ *req, uint32_t *ku);
/* "encryption", "signing", "encryption and signing". */
const char	*keys_purpose_str(enum keys_purpose);
/*
 * keys_csr_new_for() naming every address of addrs (n >= 1, addrs[0] the primary,
 * each validated) as an rfc822Name, in that order: the set the CA's answer
 * must name exactly (ca_check_issued).
 */
X509_REQ	*keys_csr_new_addrs(EVP_PKEY *key, const char *const *addrs,
		    size_t n, const char *display_name, enum keys_purpose);
/* The digest a key of this kind signs with: SHA-384 for P-384, else SHA-256. */
const EVP_MD	*keys_sig_md(EVP_PKEY *key);

/*
 * A PKCS#12 of several keys (keys_p12.c): each key with its certificate,
 * paired by a localKeyId and shown by name (friendlyName), in the order
 * given, then chain (may be NULL). Keys shrouded with PBES2 (AES-256-CBC,
 * PBKDF2, iterations), certificates unencrypted, SHA-256 MAC. A key that
 * does not belong to its certificate is refused. NULL / -1 logged.
 */
struct keys_bag {
	EVP_PKEY	*key;
	X509		*cert;
	const char	*name;		/* friendlyName; NULL: none */
};
PKCS12		*keys_p12_new(const char *pass, const struct keys_bag *,
		    size_t n, STACK_OF(X509) *chain, int iterations);
/* The same, written to path (mode 0600: temp file, fsync, rename). */
int		 keys_p12_write(const char *path, const char *pass,
		    const struct keys_bag *, size_t n, STACK_OF(X509) *chain,
		    int iterations);

#endif
