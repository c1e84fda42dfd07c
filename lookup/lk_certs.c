/*
 * lk_certs.c — only usable certificates leave the daemon. A person's
 * userCertificate values (DER) and userSMIMECertificate values (certs-only
 * SignedData: the person's certificate first, then its chain) are read,
 * de-duplicated by SHA-256, and each is kept only if x509_usable() accepts
 * it for the address asked (validity, emailProtection EKU, key usage for
 * encryption, rfc822Name), no configured CRL lists it, and, when
 * lookup.trust_anchors is set, it chains to one of them (lk_trust.c holds
 * the CRLs and anchors). Rejections are
 * counted by reason for /metrics. Also here: the lk_res answer object,
 * sorted best (latest notAfter) first and rendered once for every request.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "lookup/lk.h"

const char *const lk_reject_names[LK_REJ_MAX] = {
	"unparsable", "expired", "not_yet_valid", "no_email_eku",
	"key_usage", "wrong_address", "revoked", "untrusted", "other",
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
lk_cert_clear(struct lk_cert *c)
{
	X509_free(c->x509);
	OPENSSL_free(c->der);
	free(c->pem);
	free(c->serial);
	free(c->issuer);
	free(c->subject);
}

void
lk_res_unref(struct lk_res *r)
{
	size_t i;

	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (i = 0; i < r->n; i++)
		lk_cert_clear(&r->certs[i]);
	free(r->certs);
	free(r->mail);
	free(r->json);
	OPENSSL_free(r->p7);
	free(r->pem);
	free(r);
}

static int
lk_time_str(const ASN1_TIME *t, char out[32], time_t *tt)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if (strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
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

int
lk_res_add(struct lk_res *r, X509 *x)
{
	struct lk_cert *c, *nc;
	BIO *bio = NULL;
	char *p;
	long plen;
	size_t i;
	int rc = -1;
	char hex[X509_SHA256_HEX];

	if (x509_sha256_hex(x, hex) == -1)
		return -1;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->certs[i].sha256, hex) == 0)
			return 0;
	if ((nc = realloc(r->certs, (r->n + 1) * sizeof(*nc))) == NULL)
		return -1;
	r->certs = nc;
	c = &r->certs[r->n];
	memset(c, 0, sizeof(*c));
	memcpy(c->sha256, hex, sizeof(hex));
	X509_up_ref(x);
	c->x509 = x;
	if (x509_to_der(x, &c->der, &c->der_len) == -1 ||
	    (c->serial = x509_serial_hex(x)) == NULL ||
	    (c->issuer = x509_name_str(X509_get_issuer_name(x))) == NULL ||
	    (c->subject = x509_name_str(X509_get_subject_name(x))) == NULL ||
	    lk_time_str(X509_get0_notBefore(x), c->not_before, NULL) == -1 ||
	    lk_time_str(X509_get0_notAfter(x), c->not_after,
	    &c->not_after_t) == -1)
		goto out;
	lk_key_str(x, c->key);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (plen = BIO_get_mem_data(bio, &p)) <= 0 ||
	    (c->pem = strndup(p, (size_t)plen)) == NULL)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	if (rc == 0)
		r->n++;
	else
		lk_cert_clear(c);
	return rc;
}

static int
lk_cert_cmp(const void *a, const void *b)
{
	const struct lk_cert *x = a, *y = b;

	if (x->not_after_t != y->not_after_t)
		return x->not_after_t > y->not_after_t ? -1 : 1;
	return strcmp(x->sha256, y->sha256);
}

int
lk_res_finish(struct lk_res *r)
{
	STACK_OF(X509) *chain = NULL;
	json_t *o = NULL, *a;
	size_t i, len = 0;
	int rc = -1;

	if (r->n == 0)
		return 0;
	qsort(r->certs, r->n, sizeof(*r->certs), lk_cert_cmp);
	if ((o = json_object()) == NULL || (a = json_array()) == NULL)
		goto out;
	json_object_set_new(o, "mail", json_string(r->mail));
	json_object_set_new(o, "certificates", a);
	for (i = 0; i < r->n; i++)
		if (json_array_append_new(a, lk_api_cert_json(&r->certs[i])))
			goto out;
	if ((r->json = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	r->json_len = strlen(r->json);
	if ((chain = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 1; i < r->n; i++)
		if (!sk_X509_push(chain, r->certs[i].x509))
			goto out;
	if (x509_certsonly_build(r->certs[0].x509, chain, &r->p7,
	    &r->p7_len) == -1)
		goto out;
	for (i = 0; i < r->n; i++)
		len += strlen(r->certs[i].pem);
	if ((r->pem = malloc(len + 1)) == NULL)
		goto out;
	for (len = 0, i = 0; i < r->n; i++) {
		memcpy(r->pem + len, r->certs[i].pem, strlen(r->certs[i].pem));
		len += strlen(r->certs[i].pem);
	}
	r->pem[len] = '\0';
	r->pem_len = len;
	rc = 0;
out:
	sk_X509_free(chain);
	json_decref(o);
	return rc;
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

/* The checks in order; -1 usable, else the reason. */
static int
lk_judge(struct lk_certs *lc, X509 *x, STACK_OF(X509) *untrusted,
    const char *addr, time_t now)
{
	const char *why = NULL;

	if (x509_usable(x, addr, now, &why) != 1)
		return (int)lk_reason(why);
	if (lk_certs_revoked(lc, x))
		return LK_REJ_REVOKED;
	if (!lk_certs_chains(lc, x, untrusted, now))
		return LK_REJ_UNTRUSTED;
	return -1;
}

struct seen {
	unsigned char	(*h)[X509_SHA256_LEN];
	size_t		 n;
};

/* 1 if x was seen already (by SHA-256), else remember it and 0. */
static int
lk_seen(struct seen *s, X509 *x)
{
	unsigned char h[X509_SHA256_LEN], (*nh)[X509_SHA256_LEN];
	size_t i;

	if (x509_sha256(x, h) == -1)
		return 1;
	for (i = 0; i < s->n; i++)
		if (memcmp(s->h[i], h, sizeof(h)) == 0)
			return 1;
	if ((nh = realloc(s->h, (s->n + 1) * sizeof(*nh))) == NULL)
		return 1;
	s->h = nh;
	memcpy(s->h[s->n++], h, sizeof(h));
	return 0;
}

static int
lk_consider(struct lk_certs *lc, struct seen *s, X509 *x,
    STACK_OF(X509) *untrusted, const char *addr, time_t now,
    struct lk_res *res, atomic_ulong rej[LK_REJ_MAX])
{
	int r;

	if (lk_seen(s, x))
		return 0;
	if ((r = lk_judge(lc, x, untrusted, addr, now)) >= 0) {
		atomic_fetch_add(&rej[r], 1);
		log_debug("%s: certificate rejected: %s", addr,
		    lk_reject_names[r]);
		return 0;
	}
	return lk_res_add(res, x) == -1 ? -1 : 1;
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
		r = lk_consider(lc, &s, x, chain, addr, now, res, rej);
		X509_free(x);
		if (r == -1) {
			n = -1;
			goto out;
		}
		n += r;
	}
	for (r = 0; r < sk_X509_num(leaves); r++) {
		switch (lk_consider(lc, &s, sk_X509_value(leaves, r), chain,
		    addr, now, res, rej)) {
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
	free(s.h);
	return n;
}
