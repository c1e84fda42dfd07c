/*
 * keystore.c — seals the private key of an enrolment in progress (with the
 * chain the CA sent) into the journal, and opens it again after a crash or a
 * failed step. The only file besides deliver.c and escrow.c that touches a
 * person's private key. AES-256-GCM (NIST SP 800-38D) under a 256-bit
 * key-encryption key kept in sync.state_dir/keystore.key (0600, created
 * once, atomically); the person id is the additional data, so a sealed value
 * cannot be moved to another person.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "common/cfg.h"
#include "common/log.h"
#include "enrol/enrol.h"

#define ENR_KS_MAGIC	"SPK1"
#define ENR_KS_KEKLEN	32		/* AES-256 */
#define ENR_KS_IVLEN	12		/* SP 800-38D §8.2: 96-bit IV */
#define ENR_KS_TAGLEN	16
#define KS_MAX		(1024 * 1024)	/* key + chain, plenty */

/* Make state_dir/keystore.key once: temp file, fsync, link (never over). */
static int
enr_keystore_kek_create(const char *path)
{
	unsigned char rnd[ENR_KS_KEKLEN], tag[4];
	char hex[ENR_KS_KEKLEN * 2 + 2], tmp[PATH_MAX];
	int fd = -1, rc = -1;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		log_ssl("%s: no random bytes", path);
		goto out;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	hex[2 * ENR_KS_KEKLEN] = '\n';
	hex[2 * ENR_KS_KEKLEN + 1] = '\0';
	/* unique per thread too: workers may race to make it */
	if (RAND_bytes(tag, sizeof(tag)) != 1 ||
	    snprintf(tmp, sizeof(tmp), "%s.%ld.%02x%02x%02x%02x.tmp", path,
	    (long)getpid(), tag[0], tag[1], tag[2], tag[3]) >=
	    (int)sizeof(tmp)) {
		log_err("%s: path too long", path);
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600))
	    == -1) {
		log_err("%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, hex, 2 * ENR_KS_KEKLEN + 1) != 2 * ENR_KS_KEKLEN + 1 ||
	    fsync(fd) == -1) {
		log_err("%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	/* link, not rename: a second creator must not replace the key the
	 * first one may already have sealed with */
	if (link(tmp, path) == -1 && errno != EEXIST) {
		log_err("%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1) {
		close(fd);
		(void)unlink(tmp);
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/* The key-encryption key, made on first use. */
static int
enr_keystore_kek(const char *state_dir, unsigned char kek[ENR_KS_KEKLEN])
{
	char path[PATH_MAX], *s = NULL;
	size_t len = 0, n = 0;
	struct stat st;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/keystore.key", state_dir) >=
	    (int)sizeof(path)) {
		log_err("sync.state_dir %s: path too long", state_dir);
		return -1;
	}
	if (stat(path, &st) == -1 && errno == ENOENT &&
	    enr_keystore_kek_create(path) == -1)
		return -1;
	if (cfg_secret_read(path, "sync.state_dir keystore.key", &s,
	    &len) == -1)
		return -1;
	if (len != 2 * ENR_KS_KEKLEN || OPENSSL_hexstr2buf_ex(kek, ENR_KS_KEKLEN, &n,
	    s, '\0') != 1 || n != ENR_KS_KEKLEN) {
		ERR_clear_error();
		log_err("%s: not %d hexadecimal digits", path, 2 * ENR_KS_KEKLEN);
		goto out;
	}
	rc = 0;
out:
	cfg_secret_free(s, len);
	return rc;
}

/* Append a 32-bit big-endian length and the bytes. */
static int
enr_keystore_put(unsigned char **buf, size_t *len, const unsigned char *d, size_t dl)
{
	unsigned char *n;

	if (dl > KS_MAX || *len + 4 + dl > KS_MAX) {
		log_err("keystore: key and chain over %d bytes", KS_MAX);
		return -1;
	}
	if ((n = OPENSSL_clear_realloc(*buf, *len, *len + 4 + dl)) == NULL) {
		log_err("keystore: out of memory");
		return -1;
	}
	n[*len] = (unsigned char)(dl >> 24);
	n[*len + 1] = (unsigned char)(dl >> 16);
	n[*len + 2] = (unsigned char)(dl >> 8);
	n[*len + 3] = (unsigned char)dl;
	memcpy(n + *len + 4, d, dl);
	*buf = n;
	*len += 4 + dl;
	return 0;
}

/* AES-256-GCM of in under kek with aad; enc 1 seals, 0 opens. */
static int
enr_keystore_gcm(int enc, const unsigned char *kek, const unsigned char *iv,
    const char *aad, const unsigned char *in, size_t inlen,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, rc = -1;

	if (inlen > INT_MAX || (c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, ENR_KS_IVLEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, kek, iv, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad,
	    (int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ENR_KS_TAGLEN,
	    tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ENR_KS_TAGLEN,
	    tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
enr_keystore_hold(const char *state_dir, struct jrnl_tx *tx, const char *person_id,
    EVP_PKEY *key, STACK_OF(X509) *chain)
{
	unsigned char kek[ENR_KS_KEKLEN], *pt = NULL, *der = NULL, *blob = NULL;
	size_t ptlen = 0, bloblen = 0;
	int derlen, i, rc = -1;

	if (enr_keystore_kek(state_dir, kek) == -1)
		goto out;
	if ((derlen = i2d_PrivateKey(key, &der)) <= 0) {
		log_ssl("%s: cannot encode the private key", person_id);
		goto out;
	}
	if (enr_keystore_put(&pt, &ptlen, der, (size_t)derlen) == -1)
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		unsigned char *cd = NULL;
		int cl = i2d_X509(sk_X509_value(chain, i), &cd);

		if (cl <= 0 || enr_keystore_put(&pt, &ptlen, cd, (size_t)cl) == -1) {
			OPENSSL_free(cd);
			log_err("%s: cannot encode the chain", person_id);
			goto out;
		}
		OPENSSL_free(cd);
	}
	bloblen = 4 + ENR_KS_IVLEN + ptlen + ENR_KS_TAGLEN;
	if ((blob = malloc(bloblen)) == NULL) {
		log_err("keystore: out of memory");
		goto out;
	}
	memcpy(blob, ENR_KS_MAGIC, 4);
	if (RAND_bytes(blob + 4, ENR_KS_IVLEN) != 1 ||
	    enr_keystore_gcm(1, kek, blob + 4, person_id, pt, ptlen,
	    blob + 4 + ENR_KS_IVLEN, blob + 4 + ENR_KS_IVLEN + ptlen) == -1) {
		log_ssl("%s: cannot seal the key", person_id);
		goto out;
	}
	rc = jrnl_tx_held_put(tx, person_id, blob, bloblen);
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	OPENSSL_clear_free(pt, ptlen);
	free(blob);
	return rc;
}

/* Next length-prefixed item of pt at *off; NULL at the end or if bad. */
static const unsigned char *
enr_keystore_get(const unsigned char *pt, size_t ptlen, size_t *off, size_t *len)
{
	size_t l;

	if (*off + 4 > ptlen)
		return NULL;
	l = (size_t)pt[*off] << 24 | (size_t)pt[*off + 1] << 16 |
	    (size_t)pt[*off + 2] << 8 | pt[*off + 3];
	if (l > ptlen - *off - 4)
		return NULL;
	*len = l;
	*off += 4 + l;
	return pt + *off - l;
}

int
enr_keystore_take(const char *state_dir, struct jrnl *j, const char *person_id,
    EVP_PKEY **key, STACK_OF(X509) **chain)
{
	unsigned char kek[ENR_KS_KEKLEN], *blob = NULL, *pt = NULL;
	const unsigned char *d;
	size_t bloblen = 0, ptlen = 0, off = 0, l;
	X509 *c;
	int rc = -1, g;

	*key = NULL;
	*chain = NULL;
	if ((g = jrnl_held_get(j, person_id, &blob, &bloblen)) != 0) {
		rc = g;
		goto out;
	}
	if (bloblen < 4 + ENR_KS_IVLEN + ENR_KS_TAGLEN ||
	    memcmp(blob, ENR_KS_MAGIC, 4) != 0) {
		log_err("%s: the held key in the journal is not one of ours",
		    person_id);
		goto out;
	}
	if (enr_keystore_kek(state_dir, kek) == -1)
		goto out;
	ptlen = bloblen - 4 - ENR_KS_IVLEN - ENR_KS_TAGLEN;
	if ((pt = malloc(ptlen ? ptlen : 1)) == NULL) {
		log_err("keystore: out of memory");
		goto out;
	}
	if (enr_keystore_gcm(0, kek, blob + 4, person_id, blob + 4 + ENR_KS_IVLEN, ptlen,
	    pt, blob + 4 + ENR_KS_IVLEN + ptlen) == -1) {
		log_err("%s: the held key does not open with %s/keystore.key "
		    "(replaced key file, or the journal was altered)",
		    person_id, state_dir);
		goto out;
	}
	if ((d = enr_keystore_get(pt, ptlen, &off, &l)) == NULL ||
	    (*key = d2i_AutoPrivateKey(NULL, &d, (long)l)) == NULL) {
		log_err("%s: the held key does not decode", person_id);
		goto out;
	}
	if ((*chain = sk_X509_new_null()) == NULL)
		goto out;
	while ((d = enr_keystore_get(pt, ptlen, &off, &l)) != NULL) {
		if ((c = d2i_X509(NULL, &d, (long)l)) == NULL ||
		    !sk_X509_push(*chain, c)) {
			X509_free(c);
			log_err("%s: the held chain does not decode",
			    person_id);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		EVP_PKEY_free(*key);
		*key = NULL;
		sk_X509_pop_free(*chain, X509_free);
		*chain = NULL;
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_clear_free(pt, ptlen);
	free(blob);
	return rc;
}

int
enr_keystore_drop(struct jrnl *j, const char *person_id)
{
	return jrnl_held_del(j, person_id);
}
