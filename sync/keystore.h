/*
 * keystore.h — the private key (and the CA's chain) of an enrolment in
 * progress, sealed into the journal so a crash or a failed delivery resumes
 * with the same key instead of asking the CA for a second certificate.
 * AES-256-GCM under a random key-encryption key in sync.state_dir
 * (keystore.key, mode 0600, made once); never a key in the clear on disk.
 */
#ifndef SMIMEPUB_KEYSTORE_H
#define SMIMEPUB_KEYSTORE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/jrnl.h"

/*
 * Seal key and chain (may be NULL) for person_id into tx, replacing what
 * was held: it is held once tx commits, with the transition it is for.
 */
int	ks_hold(const char *state_dir, struct jrnl_tx *, const char *person_id,
	    EVP_PKEY *key, STACK_OF(X509) *chain);
/*
 * What ks_hold() sealed for person_id: 0 with *key and *chain (possibly an
 * empty stack) for the caller to free, 1 if nothing is held, -1 logged
 * (unreadable key-encryption key, or a value that does not open: tampered).
 */
int	ks_take(const char *state_dir, struct jrnl *, const char *person_id,
	    EVP_PKEY **key, STACK_OF(X509) **chain);
/* Drop what is held for person_id (published, or abandoned). */
int	ks_drop(struct jrnl *, const char *person_id);

#endif
