/*
 * history.c — keys.deliver_history: a renewal's PKCS#12 also holds the
 * person's last N decryption keys, so the new device opens old mail too.
 *
 * Where those keys come from: escrow holds them only as CMS to the
 * key-recovery certificates, whose private keys smimepub never has (that is
 * the point of escrow). So, only while deliver_history > 0, each new
 * decryption key is also kept sealed in the journal with the keystore
 * (keystore.c: AES-256-GCM under sync.state_dir/keystore.key, the sealed
 * value bound to its name), under a name derived from the person id and the
 * certificate's serial; the newest N are kept, older ones dropped at the
 * next delivery, all of them when the person is revoked. The trade-off,
 * documented in smimepub.conf(5): whoever holds the sync host's state
 * directory (journal and keystore.key) can open the last N decryption keys
 * of every person, where without it only keys of enrolments in progress.
 * Keys issued before deliver_history was set were never kept: they come
 * back only through `smimepub recover --all` with a recovery officer's key.
 * Signing keys (keys.separate_signing) are never kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/keys.h"
#include "common/log.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

#define HIST_SCAN	64	/* certificates of one person looked at */

/* The keystore name of the kept key of serial: "h:" and 40 hex digits of
 * SHA-256(person id NUL serial), short enough for any person id. */
static int
hist_name(const char *person, const char *serial, char out[48])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c;
	int i, ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, person, strlen(person) + 1) == 1 &&
	    EVP_DigestUpdate(c, serial, strlen(serial)) == 1 &&
	    EVP_DigestFinal_ex(c, md, &mdlen) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	out[0] = 'h';
	out[1] = ':';
	for (i = 0; i < 20; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
enr_history_keep(struct enr_ctx *e, const char *person, EVP_PKEY *key,
    const char *serial)
{
	struct jrnl_tx *tx;
	char name[48];

	if (e->cfg->keys.deliver_history <= 0)
		return 0;
	if (hist_name(person, serial, name) == -1 ||
	    (tx = jrnl_tx_begin(e->jrnl)) == NULL)
		return -1;
	if (enr_keystore_hold(e->cfg->sync.state_dir, tx, name, key,
	    NULL) == -1) {
		jrnl_tx_abort(tx);
		return -1;
	}
	return jrnl_tx_commit(tx);
}

struct hist_scan {
	const char	*person;
	struct jrnl	*j;
	X509		*certs[HIST_SCAN];
	char		 serials[HIST_SCAN][80];
	size_t		 n;
};

static int
hist_scan_cb(const struct jrnl_cert *r, void *arg)
{
	struct hist_scan *h = arg;
	X509 *c;

	if (h->n == HIST_SCAN || strcmp(r->person_id, h->person) != 0 ||
	    (c = jrnl_cert_x509(h->j, r)) == NULL)
		return 0;
	h->certs[h->n] = c;
	snprintf(h->serials[h->n], sizeof(h->serials[0]), "%s", r->serial);
	h->n++;
	return 0;
}

/* The person's certificates, newest (notBefore) first. */
static int
hist_scan(struct enr_ctx *e, const char *person, struct hist_scan *h)
{
	size_t i, k;

	memset(h, 0, sizeof(*h));
	h->person = person;
	h->j = e->jrnl;
	if (jrnl_cert_each_person(e->jrnl, person, hist_scan_cb, h) == -1)
		return -1;
	for (i = 1; i < h->n; i++)	/* insertion sort: a handful */
		for (k = i; k > 0 && ASN1_TIME_compare(X509_get0_notBefore(
		    h->certs[k - 1]), X509_get0_notBefore(h->certs[k])) < 0;
		    k--) {
			X509 *t = h->certs[k];
			char s[80];

			h->certs[k] = h->certs[k - 1];
			h->certs[k - 1] = t;
			memcpy(s, h->serials[k], sizeof(s));
			memcpy(h->serials[k], h->serials[k - 1], sizeof(s));
			memcpy(h->serials[k - 1], s, sizeof(s));
		}
	return 0;
}

static void
hist_scan_free(struct hist_scan *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		X509_free(h->certs[i]);
	h->n = 0;
}

size_t
enr_history_take(struct enr_ctx *e, const char *person, const char *mail,
    const char *except, struct enr_history *out)
{
	struct hist_scan h;
	STACK_OF(X509) *none = NULL;
	EVP_PKEY *key;
	char name[48];
	size_t i;
	int want = e->cfg->keys.deliver_history;

	memset(out, 0, sizeof(*out));
	if (want <= 0 || hist_scan(e, person, &h) == -1)
		return 0;
	for (i = 0; i < h.n && out->n < (size_t)want; i++) {
		if (strcmp(h.serials[i], except) == 0 ||
		    hist_name(person, h.serials[i], name) == -1 ||
		    enr_keystore_take(e->cfg->sync.state_dir, e->jrnl, name,
		    &key, &none) != 0)
			continue;
		sk_X509_pop_free(none, X509_free);
		none = NULL;
		if (X509_check_private_key(h.certs[i], key) != 1) {
			EVP_PKEY_free(key);
			continue;
		}
		snprintf(out->names[out->n], sizeof(out->names[0]),
		    "%s earlier decryption key, serial %s", mail,
		    h.serials[i]);
		out->bags[out->n].key = key;
		out->bags[out->n].cert = h.certs[i];
		out->bags[out->n].name = out->names[out->n];
		h.certs[i] = NULL;
		out->n++;
	}
	hist_scan_free(&h);
	return out->n;
}

void
enr_history_free(struct enr_history *hs)
{
	size_t i;

	for (i = 0; i < hs->n; i++) {
		EVP_PKEY_free(hs->bags[i].key);	/* cleanses */
		X509_free(hs->bags[i].cert);
	}
	hs->n = 0;
}

void
enr_history_prune(struct enr_ctx *e, const char *person, int keep)
{
	struct hist_scan h;
	unsigned char *blob = NULL;
	size_t i, len = 0, kept = 0;
	char name[48];

	if (hist_scan(e, person, &h) == -1)
		return;
	/* newest first: the first keep kept keys stay, the rest go */
	for (i = 0; i < h.n; i++) {
		if (hist_name(person, h.serials[i], name) == -1 ||
		    jrnl_held_get(e->jrnl, name, &blob, &len) != 0)
			continue;
		free(blob);
		blob = NULL;
		if (keep <= 0 || kept++ >= (size_t)keep)
			(void)enr_keystore_drop(e->jrnl, name);
	}
	hist_scan_free(&h);
}

int
enr_history_deliver(struct enr_ctx *e, const char *mail, const char *person,
    const struct keys_bag *first, size_t nfirst, STACK_OF(X509) *chain,
    const char *serial, char **p12)
{
	struct keys_bag bags[2 + KEYS_HISTORY_MAX];
	struct enr_history hs;
	size_t i, n = 0;
	int rc;

	if (nfirst > 2)
		return -1;
	for (i = 0; i < nfirst; i++)
		bags[n++] = first[i];
	(void)enr_history_take(e, person, mail, serial, &hs);
	for (i = 0; i < hs.n; i++)
		bags[n++] = hs.bags[i];
	if (hs.n > 0)
		log_info("%s: %zu earlier decryption key%s join the PKCS#12 "
		    "(keys.deliver_history)", mail, hs.n, hs.n == 1 ? "" :
		    "s");
	rc = enr_deliver_bags(&e->cfg->keys, mail, bags, n, chain, p12);
	enr_history_free(&hs);
	return rc;
}
