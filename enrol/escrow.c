/*
 * escrow.c — key escrow: each new private key, as PKCS#8, enveloped with CMS
 * (RFC 5652 §6) to the key-recovery certificates of keys.escrow_certs, kept
 * in sync.state_dir/escrow/SERIAL.p7m; and opening it again with a recovery
 * officer's key for `smimepub recover`.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/file.h"
#include "common/log.h"
#include "common/x509.h"
#include "enrol/enrol.h"

#define ESCROW_MAX	(1 << 20)

static int
escrow_path(const struct cfg *cfg, X509 *cert, char *path, size_t sz,
    int mkdirs)
{
	char dir[PATH_MAX], *serial;
	int rc = -1;

	if ((serial = x509_serial_hex(cert)) == NULL)
		return -1;
	if (snprintf(dir, sizeof(dir), "%s/escrow", cfg->sync.state_dir) >=
	    (int)sizeof(dir) || snprintf(path, sz, "%s/%s.p7m", dir, serial) >=
	    (int)sz) {
		log_err("sync.state_dir %s: path too long", cfg->sync.state_dir);
		goto out;
	}
	if (mkdirs && file_mkdirs(dir, 0700) == -1)
		goto out;
	rc = 0;
out:
	free(serial);
	return rc;
}

int
enr_escrow(const struct cfg *cfg, EVP_PKEY *key, X509 *cert)
{
	STACK_OF(X509) *kras = NULL, *one = NULL;
	unsigned char *p8 = NULL, *der = NULL;
	char path[PATH_MAX];
	CMS_ContentInfo *cms = NULL;
	PKCS8_PRIV_KEY_INFO *pki = NULL;
	BIO *in = NULL;
	size_t i;
	int p8len = 0, len, rc = -1;

	if (cfg->keys.n_escrow_certs == 0)
		return 0;
	if ((kras = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 0; i < cfg->keys.n_escrow_certs; i++) {
		if ((one = x509_load_file(cfg->keys.escrow_certs[i])) == NULL)
			goto out;
		if (!sk_X509_push(kras, sk_X509_value(one, 0)))
			goto out;
		X509_up_ref(sk_X509_value(one, 0));
		sk_X509_pop_free(one, X509_free);
		one = NULL;
	}
	if ((pki = EVP_PKEY2PKCS8(key)) == NULL ||
	    (p8len = i2d_PKCS8_PRIV_KEY_INFO(pki, &p8)) <= 0) {
		log_ssl("escrow: cannot encode the private key as PKCS#8");
		goto out;
	}
	if ((in = BIO_new_mem_buf(p8, p8len)) == NULL)
		goto out;
	cms = CMS_encrypt(kras, in, EVP_aes_256_cbc(), CMS_BINARY);
	if (cms == NULL || (len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		log_ssl("escrow: cannot envelope the key to keys.escrow_certs");
		goto out;
	}
	if (escrow_path(cfg, cert, path, sizeof(path), 1) == -1)
		goto out;
	if (file_write_atomic(path, der, (size_t)len, 0600) == -1)
		goto out;
	/* the certificate beside it, so recovery can rebuild a PKCS#12 */
	OPENSSL_free(der);
	der = NULL;
	if ((len = i2d_X509(cert, &der)) <= 0)
		goto out;
	memcpy(path + strlen(path) - 4, ".crt", 4);
	rc = file_write_atomic(path, der, (size_t)len, 0600);
out:
	BIO_free(in);
	if (p8 != NULL)
		OPENSSL_clear_free(p8, (size_t)p8len);
	PKCS8_PRIV_KEY_INFO_free(pki);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	sk_X509_pop_free(one, X509_free);
	sk_X509_pop_free(kras, X509_free);
	return rc;
}

EVP_PKEY *
enr_escrow_open(const struct cfg *cfg, X509 *cert, const char *kra_key_path,
    const char *kra_cert_path)
{
	STACK_OF(X509) *kcert = NULL;
	CMS_ContentInfo *cms = NULL;
	EVP_PKEY *kra = NULL, *key = NULL;
	unsigned char *der = NULL, *plain = NULL;
	const unsigned char *p;
	char path[PATH_MAX];
	BIO *kb = NULL, *out = NULL;
	size_t len = 0;
	long plen;

	if (escrow_path(cfg, cert, path, sizeof(path), 0) == -1)
		goto out;
	if (file_read_all(path, ESCROW_MAX, &der, &len) == -1)
		goto out;
	p = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		log_ssl("%s: not a CMS structure", path);
		goto out;
	}
	if ((kb = BIO_new_file(kra_key_path, "r")) == NULL ||
	    (kra = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		log_ssl("--kra-key %s: cannot read a PEM private key",
		    kra_key_path);
		goto out;
	}
	if (kra_cert_path != NULL &&
	    (kcert = x509_load_file(kra_cert_path)) == NULL)
		goto out;
	if ((out = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (CMS_decrypt(cms, kra, kcert ? sk_X509_value(kcert, 0) : NULL,
	    NULL, out, CMS_BINARY) != 1) {
		log_ssl("%s: the key-recovery key %s does not open it", path,
		    kra_key_path);
		goto out;
	}
	plen = BIO_get_mem_data(out, &plain);
	p = plain;
	if (plen <= 0 || (key = d2i_AutoPrivateKey(NULL, &p, plen)) == NULL)
		log_ssl("%s: the escrowed content is not a private key", path);
out:
	if (out != NULL) {
		plen = BIO_get_mem_data(out, &plain);
		if (plen > 0)
			OPENSSL_cleanse(plain, (size_t)plen);
	}
	BIO_free(out);
	BIO_free(kb);
	EVP_PKEY_free(kra);
	sk_X509_pop_free(kcert, X509_free);
	CMS_ContentInfo_free(cms);
	free(der);
	return key;
}

X509 *
enr_escrow_cert(const struct cfg *cfg, const char *serial)
{
	char path[PATH_MAX];
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *cert = NULL;

	if (snprintf(path, sizeof(path), "%s/escrow/%s.crt",
	    cfg->sync.state_dir, serial) >= (int)sizeof(path)) {
		log_err("sync.state_dir %s: path too long", cfg->sync.state_dir);
		return NULL;
	}
	if (access(path, F_OK) == -1) {
		log_debug("%s: no escrowed key for serial %s", path, serial);
		return NULL;
	}
	if (file_read_all(path, ESCROW_MAX, &der, &len) == -1)
		return NULL;
	if ((cert = x509_from_der(der, len)) == NULL)
		log_err("%s: not a DER certificate", path);
	free(der);
	return cert;
}
