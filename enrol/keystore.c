/*
 * keystore.c — seals the private key of an enrolment in progress (with the
 * chain the CA sent) into the journal, and opens it again after a crash or a
 * failed step. The only file besides deliver.c and escrow.c that touches a
 * person's private key. AES-256-GCM (NIST SP 800-38D) under a 256-bit
 * key-encryption key in sync.state_dir/keystore.key (0600, created once,
 * atomically) that only its key process (kekproc.c) ever reads; the person
 * id is the additional data, so a sealed value cannot be moved to another
 * person. A value is "SPK1" || IV || ciphertext || tag; the plaintext is
 * the key's DER then each certificate's, each with a 4-byte length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/kproc.h"
#include "common/log.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

#define ENR_KS_MAGIC	"SPK1"

/* Append one item of the plaintext, within ENR_KS_MAX. */
static int
enr_keystore_put(struct kproc_buf *pt, const unsigned char *d, size_t dl)
{
	if (dl > ENR_KS_MAX || pt->len + 4 + dl > ENR_KS_MAX) {
		log_err("keystore: key and chain over %d bytes", ENR_KS_MAX);
		return -1;
	}
	if (kproc_put(pt, d, dl) == -1) {
		log_err("keystore: out of memory");
		return -1;
	}
	return 0;
}

int
enr_keystore_hold(const char *state_dir, struct jrnl_tx *tx,
    const char *person_id, EVP_PKEY *key, STACK_OF(X509) *chain)
{
	struct kproc_buf pt = { NULL, 0 }, sealed = { NULL, 0 };
	unsigned char *der = NULL, *blob = NULL;
	int derlen = 0, i, rc = -1;

	if ((derlen = i2d_PrivateKey(key, &der)) <= 0) {
		log_ssl("%s: cannot encode the private key", person_id);
		goto out;
	}
	if (enr_keystore_put(&pt, der, (size_t)derlen) == -1)
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		unsigned char *cd = NULL;
		int cl = i2d_X509(sk_X509_value(chain, i), &cd);

		if (cl <= 0 || enr_keystore_put(&pt, cd, (size_t)cl) == -1) {
			OPENSSL_free(cd);
			log_err("%s: cannot encode the chain", person_id);
			goto out;
		}
		OPENSSL_free(cd);
	}
	if (enr_kek_call(state_dir, 1, person_id, pt.data, pt.len,
	    &sealed) == -1)
		goto out;
	if ((blob = malloc(4 + sealed.len)) == NULL) {
		log_err("keystore: out of memory");
		goto out;
	}
	memcpy(blob, ENR_KS_MAGIC, 4);
	memcpy(blob + 4, sealed.data, sealed.len);
	rc = jrnl_tx_held_put(tx, person_id, blob, 4 + sealed.len);
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	kproc_buf_free(&pt);
	kproc_buf_free(&sealed);
	free(blob);
	return rc;
}

int
enr_keystore_take(const char *state_dir, struct jrnl *j, const char *person_id,
    EVP_PKEY **key, STACK_OF(X509) **chain)
{
	struct kproc_buf pt = { NULL, 0 };
	unsigned char *blob = NULL;
	const unsigned char *d;
	size_t bloblen = 0, off = 0, l;
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
	/* the key process says why it does not open, naming keystore.key */
	if (enr_kek_call(state_dir, 0, person_id, blob + 4, bloblen - 4,
	    &pt) == -1)
		goto out;
	if (kproc_item(pt.data, pt.len, &off, &d, &l) != 0 ||
	    (*key = d2i_AutoPrivateKey(NULL, &d, (long)l)) == NULL) {
		ERR_clear_error();
		log_err("%s: the held key does not decode", person_id);
		goto out;
	}
	if ((*chain = sk_X509_new_null()) == NULL)
		goto out;
	while ((g = kproc_item(pt.data, pt.len, &off, &d, &l)) == 0) {
		if ((c = d2i_X509(NULL, &d, (long)l)) == NULL ||
		    !sk_X509_push(*chain, c)) {
			X509_free(c);
			log_err("%s: the held chain does not decode",
			    person_id);
			goto out;
		}
	}
	if (g == -1) {
		log_err("%s: the held chain does not decode", person_id);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		EVP_PKEY_free(*key);
		*key = NULL;
		sk_X509_pop_free(*chain, X509_free);
		*chain = NULL;
	}
	kproc_buf_free(&pt);
	free(blob);
	return rc;
}

int
enr_keystore_drop(struct jrnl *j, const char *person_id)
{
	return jrnl_held_del(j, person_id);
}
