/*
 * deliver.h — who hands a private key over: the PKCS#12 written to
 * keys.delivery_dir and the delivery command (deliver.c), and key escrow
 * to the key-recovery certificates with its recovery (escrow.c).
 * These two files and keys.c (generation) are the only ones that touch a
 * person's private key.
 */
#ifndef SMIMEPUB_DELIVER_H
#define SMIMEPUB_DELIVER_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cfg.h"

#define DLV_PASS_BYTES	18	/* 144 bits of entropy, 24 base64url chars */
#define DLV_PASS_LEN	24

/*
 * Write key + cert (+ chain) as a PKCS#12 (PBES2: AES-256-CBC with PBKDF2,
 * SHA-256 MAC, keys.pkcs12_iterations) under a fresh random passphrase to
 * keys.delivery_dir (mode 0600: temp file, fsync, rename), then run
 * keys.delivery_command, if set, with the passphrase on its stdin and
 * SMIMEPUB_P12 / SMIMEPUB_MAIL in its environment. *p12_path (may be NULL)
 * receives the file's path (caller frees). The passphrase is cleansed.
 */
int	dlv_deliver(const struct cfg_keys *, const char *mail, EVP_PKEY *key,
	    X509 *cert, STACK_OF(X509) *chain, char **p12_path);

/*
 * Write a PKCS#12 of key + cert with the given passphrase to path (0600,
 * atomic); used by delivery and by recovery.
 */
int	dlv_write_p12(const char *path, const char *pass, EVP_PKEY *key,
	    X509 *cert, STACK_OF(X509) *chain, int iterations);

/*
 * Escrow: when keys.escrow_certs is set, store key as CMS EnvelopedData
 * (AES-256-CBC content, one recipient per key-recovery certificate) in
 * sync.state_dir/escrow/SERIAL.p7m (0600, atomic). 0 also when no escrow is
 * configured.
 */
int	dlv_escrow(const struct cfg *, EVP_PKEY *key, X509 *cert);
/*
 * Open the escrowed key of cert with a recovery officer's key and
 * certificate (PEM files) and return it.
 */
/* The certificate stored beside the escrowed key of serial (hex). */
X509	*dlv_escrow_cert(const struct cfg *, const char *serial);
EVP_PKEY *dlv_escrow_open(const struct cfg *, X509 *cert,
	    const char *kra_key_path, const char *kra_cert_path);

#endif
