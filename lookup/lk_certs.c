/*
 * lk_certs.c — only usable certificates leave the daemon. A person's
 * userCertificate values (DER) and userSMIMECertificate values (certs-only
 * SignedData: the person's certificate first, then its chain) are read,
 * de-duplicated by their bytes, and each is kept only if x509_usable() accepts
 * it for the address asked (validity, emailProtection EKU, key usage for
 * encryption, rfc822Name), it is not self-issued, no configured CRL lists
 * it, and it chains to a trust anchor (lk_trust.c holds the CRLs and
 * anchors; none only with lookup.insecure_no_anchors). Rejections are
 * counted by reason for /metrics. Also here: the lk_res answer object,
 * sorted best (latest notAfter) first. Its bodies (JSON, DER, certs-only,
 * PEM) and each certificate's strings are rendered only when a request asks
 * for that format, then kept with the answer: with cache_ttl = 0 every
 * answer is new, and rendering all four formats for a client that wants
 * one cost more than judging the certificate.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "lookup/lk.h"

const char *const lk_reject_names[LK_REJ_MAX] = {
	"unparsable", "expired", "not_yet_valid", "no_email_eku",
	"key_usage", "wrong_address", "revoked", "untrusted",
	"revocation_unknown", "other",
};


/* ---- the answer object ------------------------------------------------- */

struct lk_res *
lk_res_new(const char *mail)
{
	struct lk_res *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->mail = strdup(mail)) == NULL) {
		free(r);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	atomic_init(&r->json, NULL);
	atomic_init(&r->der, NULL);
	atomic_init(&r->p7, NULL);
	atomic_init(&r->pem, NULL);
	atomic_init(&r->chain, NULL);
	return r;
}

struct lk_res *
lk_res_ref(struct lk_res *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

static void
lk_text_free(struct lk_cert_text *t)
{
	if (t == NULL)
		return;
	free(t->pem);
	free(t->serial);
	free(t->issuer);
	free(t->subject);
	free(t);
}

void
lk_res_unref(struct lk_res *r)
{
	size_t i;

	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (i = 0; i < r->n; i++) {
		X509_free(r->certs[i].x509);
		sk_X509_pop_free(r->certs[i].chain, X509_free);
		lk_text_free(atomic_load(&r->certs[i].text));
	}
	free(r->certs);
	free(r->mail);
	free(atomic_load(&r->json));
	free(atomic_load(&r->der));
	free(atomic_load(&r->p7));
	free(atomic_load(&r->pem));
	free(atomic_load(&r->chain));
	free(r);
}

/* A blob of len bytes from p (NULL: uninitialised), NUL-terminated. */
static struct lk_blob *
lk_blob_new(const void *p, size_t len)
{
	struct lk_blob *b;

	if ((b = malloc(sizeof(*b) + len + 1)) == NULL)
		return NULL;
	b->len = len;
	if (p != NULL)
		memcpy(b->data, p, len);
	b->data[len] = '\0';
	return b;
}

/*
 * Publish b in *slot unless another thread did first; what is there. Its
 * strong ETag (RFC 9110 §8.8.3) is kind, a letter per representation (two
 * types may carry the same bytes), and 124 bits of the SHA-256 of the
 * bytes: the same answer rendered again has the same ETag.
 */
static struct lk_blob *
lk_blob_publish(_Atomic(struct lk_blob *) *slot, struct lk_blob *b, char kind)
{
	struct lk_blob *was = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	int i;

	if (b == NULL)
		return NULL;
	SHA256(b->data, b->len, md);
	b->etag[0] = '"';
	b->etag[1] = kind;
	for (i = 0; i < 31; i++)
		b->etag[2 + i] = "0123456789abcdef"[(md[i / 2] >> (i % 2 ?
		    0 : 4)) & 0xf];
	b->etag[33] = '"';
	b->etag[34] = '\0';
	if (atomic_compare_exchange_strong(slot, &was, b))
		return b;
	free(b);
	return was;
}

static int
lk_time_str(const ASN1_TIME *t, char out[32], time_t *tt)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if (out != NULL && strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	if (tt != NULL)
		*tt = timegm(&tm);
	return 0;
}

static void
lk_key_str(X509 *x, char out[24])
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[20];
	const char *nist;

	snprintf(out, 24, "unknown");
	if (pk == NULL)
		return;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
		snprintf(out, 24, "rsa:%d", EVP_PKEY_get_bits(pk));
	else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) == 1) {
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(out, 24, "ec:%s", nist != NULL ? nist : group);
	}
}

/* PEM of x, malloc'd. */
static char *
lk_pem(X509 *x)
{
	BIO *bio;
	char *p, *pem = NULL;
	long plen;

	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(bio, x) == 1 &&
	    (plen = BIO_get_mem_data(bio, &p)) > 0)
		pem = strndup(p, (size_t)plen);
	BIO_free(bio);
	return pem;
}

const struct lk_cert_text *
lk_cert_text(struct lk_cert *c)
{
	struct lk_cert_text *t, *was = NULL;
	X509 *x = c->x509;

	if ((t = atomic_load_explicit(&c->text, memory_order_acquire)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (x509_sha256_hex(x, t->sha256) == -1 ||
	    (t->serial = x509_serial_hex(x)) == NULL ||
	    (t->issuer = x509_name_str(X509_get_issuer_name(x))) == NULL ||
	    (t->subject = x509_name_str(X509_get_subject_name(x))) == NULL ||
	    lk_time_str(X509_get0_notBefore(x), t->not_before, NULL) == -1 ||
	    lk_time_str(X509_get0_notAfter(x), t->not_after, NULL) == -1 ||
	    (t->pem = lk_pem(x)) == NULL) {
		lk_text_free(t);
		return NULL;
	}
	lk_key_str(x, t->key);
	if (atomic_compare_exchange_strong(&c->text, &was, t))
		return t;
	lk_text_free(t);
	return was;
}

int
lk_res_add(struct lk_res *r, X509 *x, STACK_OF(X509) *chain)
{
	struct lk_cert *c, *nc;
	size_t i;

	/* the same bytes (X509_cmp: the cached SHA-1 of the whole DER, then
	 * the encoding), from both attributes: served once */
	for (i = 0; i < r->n; i++)
		if (X509_cmp(r->certs[i].x509, x) == 0)
			return 0;
	if ((nc = realloc(r->certs, (r->n + 1) * sizeof(*nc))) == NULL)
		return -1;
	r->certs = nc;
	c = &r->certs[r->n];
	memset(c, 0, sizeof(*c));
	atomic_init(&c->text, NULL);
	if (lk_time_str(X509_get0_notAfter(x), NULL, &c->not_after_t) == -1)
		return -1;
	X509_up_ref(x);
	c->x509 = x;
	c->chain = chain;
	r->n++;
	return 0;
}

static int
lk_cert_cmp(const void *a, const void *b)
{
	const struct lk_cert *x = a, *y = b;

	if (x->not_after_t != y->not_after_t)
		return x->not_after_t > y->not_after_t ? -1 : 1;
	/* the order of their SHA-256 in hex, as the JSON shows them */
	return memcmp(x->sha, y->sha, sizeof(x->sha));
}

int
lk_res_finish(struct lk_res *r)
{
	size_t i;

	if (r->n < 2)
		return 0;
	for (i = 0; i < r->n; i++)
		if (x509_sha256(r->certs[i].x509, r->certs[i].sha) == -1)
			return -1;
	qsort(r->certs, r->n, sizeof(*r->certs), lk_cert_cmp);
	return 0;
}

const struct lk_blob *
lk_res_json(struct lk_res *r)
{
	struct lk_blob *b;
	json_t *o, *a;
	char *s = NULL;
	size_t i;

	if ((b = atomic_load_explicit(&r->json, memory_order_acquire)) != NULL)
		return b;
	if ((o = json_object()) == NULL)
		return NULL;
	if ((a = json_array()) == NULL ||
	    json_object_set_new(o, "mail", json_string(r->mail)) == -1 ||
	    json_object_set_new(o, "certificates", a) == -1)
		goto out;
	for (i = 0; i < r->n; i++)
		if (json_array_append_new(a, lk_api_cert_json(&r->certs[i])))
			goto out;
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
		b = lk_blob_publish(&r->json, lk_blob_new(s, strlen(s)), 'j');
out:
	free(s);
	json_decref(o);
	return b;
}

const struct lk_blob *
lk_res_der(struct lk_res *r)
{
	struct lk_blob *b;
	unsigned char *der = NULL;
	size_t len;

	if ((b = atomic_load_explicit(&r->der, memory_order_acquire)) != NULL)
		return b;
	if (r->n == 0 || x509_to_der(r->certs[0].x509, &der, &len) == -1)
		return NULL;
	b = lk_blob_publish(&r->der, lk_blob_new(der, len), 'd');
	OPENSSL_free(der);
	return b;
}

const struct lk_blob *
lk_res_p7(struct lk_res *r)
{
	STACK_OF(X509) *chain = NULL;
	struct lk_blob *b;
	unsigned char *p7 = NULL;
	size_t i, len;

	if ((b = atomic_load_explicit(&r->p7, memory_order_acquire)) != NULL)
		return b;
	if (r->n == 0 || (chain = sk_X509_new_null()) == NULL)
		return NULL;
	for (i = 1; i < r->n; i++)
		if (!sk_X509_push(chain, r->certs[i].x509))
			goto out;
	if (x509_certsonly_build(r->certs[0].x509, chain, &p7, &len) == 0)
		b = lk_blob_publish(&r->p7, lk_blob_new(p7, len), 's');
out:
	OPENSSL_free(p7);
	sk_X509_free(chain);
	return b;
}

const struct lk_blob *
lk_res_pem(struct lk_res *r)
{
	const struct lk_cert_text *t;
	struct lk_blob *b;
	size_t i, len = 0, n;

	if ((b = atomic_load_explicit(&r->pem, memory_order_acquire)) != NULL)
		return b;
	for (i = 0; i < r->n; i++) {
		if ((t = lk_cert_text(&r->certs[i])) == NULL)
			return NULL;
		len += strlen(t->pem);
	}
	if ((b = lk_blob_new(NULL, len)) == NULL)
		return NULL;
	for (len = 0, i = 0; i < r->n; i++) {
		t = lk_cert_text(&r->certs[i]);
		n = strlen(t->pem);
		memcpy(b->data + len, t->pem, n);
		len += n;
	}
	return lk_blob_publish(&r->pem, b, 'p');
}

const struct lk_blob *
lk_res_chain(struct lk_res *r)
{
	struct lk_blob *b;
	BIO *bio;
	char *p;
	long len;
	int i, ok;

	if ((b = atomic_load_explicit(&r->chain, memory_order_acquire)) !=
	    NULL)
		return b;
	if (r->n == 0 || (bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	ok = PEM_write_bio_X509(bio, r->certs[0].x509);
	for (i = 0; ok && i < sk_X509_num(r->certs[0].chain); i++)
		ok = PEM_write_bio_X509(bio, sk_X509_value(r->certs[0].chain,
		    i));
	if (ok && (len = BIO_get_mem_data(bio, &p)) > 0)
		b = lk_blob_publish(&r->chain, lk_blob_new(p, (size_t)len),
		    'c');
	BIO_free(bio);
	return b;
}

/* ---- the usable test --------------------------------------------------- */

static enum lk_reject
lk_reason(const char *why)
{
	static const struct { const char *why; enum lk_reject r; } map[] = {
		{ "expired", LK_REJ_EXPIRED },
		{ "not yet valid", LK_REJ_NOT_YET_VALID },
		{ "no emailProtection EKU", LK_REJ_NO_EKU },
		{ "key usage forbids encryption", LK_REJ_KEY_USAGE },
		{ "key type cannot encrypt", LK_REJ_KEY_USAGE },
		{ "address not in certificate", LK_REJ_WRONG_ADDRESS },
		{ "not a certificate", LK_REJ_UNPARSABLE },
	};
	size_t i;

	for (i = 0; why != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(why, map[i].why) == 0)
			return map[i].r;
	return LK_REJ_OTHER;
}

/* The checks in order; -1 usable (its issuers in *chain), else the
 * reason. */
static int
lk_judge(struct lk_certs *lc, X509 *x, STACK_OF(X509) *untrusted,
    const struct dir_person *p, const char *addr, time_t now, char *note,
    size_t notesz, STACK_OF(X509) **chain)
{
	/* the certificate names the person's addresses (mail, aliases):
	 * every name must be one of them, addr among them */
	char *const *set = p->addrs;
	size_t nset = p->n_addrs;
	const char *why = NULL;

	if (x509_usable_set(x, addr, set, nset, lk_certs_ekus(lc), now,
	    &why) != 1)
		return (int)lk_reason(why);
	/* self-issued (subject = issuer) or self-signed: nobody vouches for
	 * it, whatever the anchors (issue 15); an anchor is a CA, never the
	 * person's own certificate */
	if (X509_get_extension_flags(x) & (EXFLAG_SI | EXFLAG_SS))
		return LK_REJ_UNTRUSTED;
	if (lk_certs_revoked(lc, x))
		return LK_REJ_REVOKED;
	if (!lk_certs_chains(lc, x, untrusted, now, chain))
		return LK_REJ_UNTRUSTED;
	/* the CDP and OCSP of lookup.revocation (lk_revoke.c) */
	switch (lk_certs_revocation(lc, x, untrusted, now, note, notesz)) {
	case 1:
		return LK_REJ_REVOKED;
	case 2:
		return LK_REJ_REVOCATION_UNKNOWN;
	}
	return -1;
}

/* The certificates considered so far (a reference on each). */
struct seen {
	X509		**x;
	size_t		 n;
};

/* 1 if x was seen already (the same bytes), else remember it and 0. */
static int
lk_seen(struct seen *s, X509 *x)
{
	X509 **nx;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (X509_cmp(s->x[i], x) == 0)
			return 1;
	if ((nx = realloc(s->x, (s->n + 1) * sizeof(*nx))) == NULL)
		return 1;
	s->x = nx;
	X509_up_ref(x);
	s->x[s->n++] = x;
	return 0;
}

static int
lk_consider(struct lk_certs *lc, struct seen *s, X509 *x,
    STACK_OF(X509) *untrusted, const struct dir_person *p, const char *addr,
    time_t now,
    struct lk_res *res, atomic_ulong rej[LK_REJ_MAX])
{
	char note[sizeof(res->certs[0].revocation)] = "";
	STACK_OF(X509) *chain = NULL;
	size_t n = res->n;
	int r;

	if (lk_seen(s, x))
		return 0;
	if ((r = lk_judge(lc, x, untrusted, p, addr, now, note,
	    sizeof(note), &chain)) >= 0) {
		sk_X509_pop_free(chain, X509_free);	/* verified, then refused */
		atomic_fetch_add(&rej[r], 1);
		log_debug("%s: certificate rejected: %s%s%s", addr,
		    lk_reject_names[r], note[0] ? ": " : "", note);
		return 0;
	}
	if ((r = lk_res_add(res, x, chain)) == -1 || res->n == n) {
		sk_X509_pop_free(chain, X509_free);	/* not kept */
		return r == -1 ? -1 : 1;
	}
	memcpy(res->certs[n].revocation, note, sizeof(note));
	return 1;
}

int
lk_certs_collect(struct lk_certs *lc, const struct dir_person *p,
    const char *addr, time_t now, struct lk_res *res,
    atomic_ulong rej[LK_REJ_MAX])
{
	struct seen s = { NULL, 0 };
	STACK_OF(X509) *leaves, *chain, *sk;
	X509 *x;
	size_t i;
	int n = -1, r;

	/* Each bundle holds the person's certificate first, then its chain;
	 * every chain certificate may help any value chain to an anchor. */
	leaves = sk_X509_new_null();
	chain = sk_X509_new_null();
	if (leaves == NULL || chain == NULL)
		goto out;
	for (i = 0; i < p->n_smime; i++) {
		sk = lk_certs_parse_bundle(lc, p->smime[i].data,
		    p->smime[i].len);
		if (sk == NULL || sk_X509_num(sk) == 0) {
			sk_X509_pop_free(sk, X509_free);
			atomic_fetch_add(&rej[LK_REJ_UNPARSABLE], 1);
			continue;
		}
		for (r = 0; (x = sk_X509_shift(sk)) != NULL; r++)
			if (!sk_X509_push(r == 0 ? leaves : chain, x)) {
				X509_free(x);
				sk_X509_pop_free(sk, X509_free);
				goto out;
			}
		sk_X509_free(sk);
	}
	n = 0;
	for (i = 0; i < p->n_usercert; i++) {
		x = lk_certs_parse(lc, p->usercert[i].data,
		    p->usercert[i].len);
		if (x == NULL) {
			atomic_fetch_add(&rej[LK_REJ_UNPARSABLE], 1);
			continue;
		}
		r = lk_consider(lc, &s, x, chain, p, addr, now, res, rej);
		X509_free(x);
		if (r == -1) {
			n = -1;
			goto out;
		}
		n += r;
	}
	for (r = 0; r < sk_X509_num(leaves); r++) {
		switch (lk_consider(lc, &s, sk_X509_value(leaves, r), chain,
		    p, addr, now, res, rej)) {
		case -1:
			n = -1;
			goto out;
		case 1:
			n++;
			break;
		}
	}
out:
	sk_X509_pop_free(leaves, X509_free);
	sk_X509_pop_free(chain, X509_free);
	while (s.n > 0)
		X509_free(s.x[--s.n]);
	free(s.x);
	return n;
}
