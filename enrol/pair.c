/*
 * pair.c — keys.separate_signing: each enrolment makes two key pairs and
 * asks for two certificates, an encryption one (its key escrowed) and a
 * signing one (its key never escrowed, never kept). The encryption key is
 * held in the keystore under the person id as ever, the signing key beside
 * it under a name of its own; after a crash both certificates are found
 * again among the person's journalled certificates by their keys, so the CA
 * is asked only for what it has not yet issued, and nothing is published
 * until both are issued and delivered (enrol.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/x509.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

int
enr_pair_name(const char *person, char out[48])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	/* "s:" and 40 hex digits of SHA-256(person id): fits any person id
	 * and never meets a person id or a kept key's name ("h:") */
	if (EVP_Digest(person, strlen(person), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return -1;
	out[0] = 's';
	out[1] = ':';
	for (i = 0; i < 20; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
enr_pair_take(struct enr_ctx *e, const char *person, EVP_PKEY **skey)
{
	STACK_OF(X509) *none = NULL;
	char name[48];
	int rc;

	*skey = NULL;
	if (enr_pair_name(person, name) == -1)
		return -1;
	rc = enr_keystore_take(e->cfg->sync.state_dir, e->jrnl, name, skey,
	    &none);
	sk_X509_pop_free(none, X509_free);
	return rc;
}

void
enr_pair_drop(struct enr_ctx *e, const char *person)
{
	char name[48];

	if (enr_pair_name(person, name) == 0)
		(void)enr_keystore_drop(e->jrnl, name);
}

struct pair_find {
	const char	*person;
	struct jrnl	*j;
	EVP_PKEY	*key;
	X509		*found;
};

static int
pair_find_cb(const struct jrnl_cert *r, void *arg)
{
	struct pair_find *f = arg;
	X509 *c;

	if (f->found != NULL || r->state == JRNL_CERT_REVOKED ||
	    strcmp(r->person_id, f->person) != 0 ||
	    (c = jrnl_cert_x509(f->j, r)) == NULL)
		return 0;
	if (X509_check_private_key(c, f->key) == 1)
		f->found = c;
	else
		X509_free(c);
	return 0;
}

X509 *
enr_pair_find(struct enr_ctx *e, const char *person, EVP_PKEY *key)
{
	struct pair_find f;

	memset(&f, 0, sizeof(f));
	f.person = person;
	f.j = e->jrnl;
	f.key = key;
	(void)jrnl_cert_each_person(e->jrnl, person, pair_find_cb, &f);
	ERR_clear_error();	/* the keys that did not match */
	return f.found;
}

int
enr_deliver_pair(struct enr_ctx *e, const char *mail, const char *person,
    EVP_PKEY *key, X509 *cert, EVP_PKEY *skey, X509 *scert,
    STACK_OF(X509) *chain, const char *serial, char **p12)
{
	struct keys_bag b[2];
	char n0[384], n1[384], *ss;

	ss = x509_serial_hex(scert);
	snprintf(n0, sizeof(n0), "%s encryption key, serial %s", mail, serial);
	snprintf(n1, sizeof(n1), "%s signing key, serial %s", mail,
	    ss ? ss : "?");
	free(ss);
	b[0].key = key;
	b[0].cert = cert;
	b[0].name = n0;
	b[1].key = skey;
	b[1].cert = scert;
	b[1].name = n1;
	return enr_history_deliver(e, mail, person, b, 2, chain, serial, p12);
}

enum jrnl_state
enr_pair_resume(struct enr_ctx *e, const char *person, enum jrnl_state from,
    EVP_PKEY **key, X509 **cert, STACK_OF(X509) **chain, EVP_PKEY **skey,
    X509 **scert)
{
	if (from == JRNL_PLANNED)
		return from;
	if (enr_pair_take(e, person, skey) != 0) {
		/* no signing key held (the setting changed meanwhile, or it
		 * was dropped after a refusal): start afresh with two */
		EVP_PKEY_free(*key);
		X509_free(*cert);
		sk_X509_pop_free(*chain, X509_free);
		*key = NULL;
		*cert = NULL;
		*chain = NULL;
		return JRNL_PLANNED;
	}
	if (*cert == NULL)
		*cert = enr_pair_find(e, person, *key);
	*scert = enr_pair_find(e, person, *skey);
	if (*cert == NULL || *scert == NULL)
		return JRNL_SUBMITTED;
	return from == JRNL_SUBMITTED ? JRNL_ISSUED : from;
}
