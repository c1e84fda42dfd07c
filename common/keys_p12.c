/*
 * keys_p12.c — a PKCS#12 (RFC 7292) holding several private keys, each with
 * its certificate: a person's encryption and signing keys delivered
 * together, or the decryption keys of earlier certificates put back by
 * `smimepub recover --all` or a renewal's key history. Each key and its
 * certificate carry the same localKeyId and friendlyName (RFC 2985 §5.5.1,
 * §5.5.2), so a mail client pairs them and shows which is which.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "common/file.h"
#include "common/keys.h"
#include "common/log.h"

/*
 * The bags of one key and its certificate, paired by the certificate's
 * SHA-1 fingerprint as localKeyId, as PKCS12_create() and Windows do (an
 * identifier, not a security function).
 */
static int
keys_p12_pair(STACK_OF(PKCS12_SAFEBAG) **kb, STACK_OF(PKCS12_SAFEBAG) **cb,
    const struct keys_bag *b, const char *pass, int iterations)
{
	unsigned char id[EVP_MAX_MD_SIZE];
	unsigned int idlen = 0;
	PKCS12_SAFEBAG *cbag, *kbag;

	if (b->key == NULL || b->cert == NULL ||
	    X509_check_private_key(b->cert, b->key) != 1) {
		log_ssl("PKCS#12: %s: the key does not belong to its "
		    "certificate", b->name ? b->name : "a key");
		return -1;
	}
	if (!X509_digest(b->cert, EVP_sha1(), id, &idlen) ||
	    (cbag = PKCS12_add_cert(cb, b->cert)) == NULL ||
	    !PKCS12_add_localkeyid(cbag, id, (int)idlen) ||
	    (b->name != NULL && !PKCS12_add_friendlyname_asc(cbag, b->name,
	    -1)))
		return -1;
	/* the key shrouded with PBES2, AES-256-CBC and PBKDF2 (RFC 8018 §6.2) */
	if ((kbag = PKCS12_add_key(kb, b->key, 0, iterations, NID_aes_256_cbc,
	    pass)) == NULL ||
	    !PKCS12_add_localkeyid(kbag, id, (int)idlen) ||
	    (b->name != NULL && !PKCS12_add_friendlyname_asc(kbag, b->name,
	    -1)))
		return -1;
	return 0;
}

PKCS12 *
keys_p12_new(const char *pass, const struct keys_bag *bags, size_t n,
    STACK_OF(X509) *chain, int iterations)
{
	STACK_OF(PKCS12_SAFEBAG) *kb = NULL, *cb = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	size_t i;
	int ok = 0;

	if (n == 0) {
		log_err("PKCS#12: no key to put in it");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (keys_p12_pair(&kb, &cb, &bags[i], pass, iterations) == -1)
			goto out;
	for (i = 0; chain != NULL && i < (size_t)sk_X509_num(chain); i++)
		if (PKCS12_add_cert(&cb, sk_X509_value(chain, (int)i)) == NULL)
			goto out;
	/* The certificates in a plain SafeContents (RFC 7292 §4.1 allows it;
	 * `openssl pkcs12 -certpbe NONE`): they are public, and a PBKDF2 over
	 * them costs CPU for no secrecy. The keys are shrouded one by one, so
	 * their SafeContents needs no second encryption either. */
	if (!PKCS12_add_safe(&safes, cb, -1, 0, NULL) ||
	    !PKCS12_add_safe(&safes, kb, -1, 0, NULL) ||
	    (p12 = PKCS12_add_safes(safes, 0)) == NULL)
		goto out;
	/* the MAC over both, SHA-256 rather than PKCS#12's SHA-1 (RFC 7292 §5) */
	if (PKCS12_set_mac(p12, pass, -1, NULL, 0, iterations,
	    EVP_sha256()) != 1)
		goto out;
	ok = 1;
out:
	if (!ok) {
		log_ssl("PKCS#12: cannot build it with %zu key(s)", n);
		PKCS12_free(p12);
		p12 = NULL;
	}
	sk_PKCS12_SAFEBAG_pop_free(kb, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(cb, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return p12;
}

int
keys_p12_write(const char *path, const char *pass,
    const struct keys_bag *bags, size_t n, STACK_OF(X509) *chain,
    int iterations)
{
	PKCS12 *p12;
	unsigned char *der = NULL;
	int len, rc = -1;

	if ((p12 = keys_p12_new(pass, bags, n, chain, iterations)) == NULL) {
		log_err("%s: cannot build the PKCS#12", path);
		return -1;
	}
	if ((len = i2d_PKCS12(p12, &der)) <= 0) {
		log_ssl("%s: cannot encode the PKCS#12", path);
		goto out;
	}
	rc = file_write_atomic(path, der, (size_t)len, 0600);
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	return rc;
}
