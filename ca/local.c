/*
 * local.c — the embedded CA (ca.driver = "local"): `smimepub ca init`
 * makes its key and self-signed certificate in ca.local.dir; it issues
 * certificates to the CA/Browser Forum S/MIME Baseline Requirements'
 * mailbox-validated strict profile (§7.1.2.3), records each in its index
 * (local_index.c), revokes, lists, and writes CRLs (RFC 5280 §5).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"

#define DAY		86400
#define PEM_MAX		(1 << 20)

int
local_path(const struct cfg_ca_local *lc, const char *name, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", lc->dir, name) >= PATH_MAX) {
		log_err("ca.local.dir %s: path too long", lc->dir);
		return -1;
	}
	return 0;
}

void
local_close(struct local *l)
{
	if (l == NULL)
		return;
	lidx_close(l->idx);
	X509_STORE_free(l->store);
	local_kp_detach(l);
	X509_free(l->cert);
	free(l);
}

static X509 *
load_cert(const char *path)
{
	X509 *x = NULL;
	BIO *b;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		log_ssl("%s: cannot open (run smimepub ca init)", path);
		return NULL;
	}
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		log_ssl("%s: not a PEM certificate", path);
	BIO_free(b);
	return x;
}

struct local *
local_open(const struct cfg *cfg)
{
	const struct cfg_ca_local *lc = &cfg->ca.local;
	char path[PATH_MAX];
	struct local *l = NULL;
	int ok = 0;

	if (local_cfg_ok(lc) == -1)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_err("ca.local.dir %s: out of memory", lc->dir);
		return NULL;
	}
	l->lc = lc;
	/* the key stays in the key process, which checks it against the
	 * certificate; local_kp_attach checks it is this certificate's */
	if (local_path(lc, CA_LOCAL_CERT, path) == -1 ||
	    (l->cert = load_cert(path)) == NULL || local_kp_attach(l) == -1)
		goto out;
	if ((l->store = X509_STORE_new()) == NULL ||
	    !X509_STORE_add_cert(l->store, l->cert)) {
		log_ssl("ca.local.dir %s: out of memory", lc->dir);
		goto out;
	}
	if ((l->idx = lidx_open(lc->dir, 0)) == NULL)
		goto out;
	ok = 1;
out:
	if (!ok) {
		local_close(l);
		l = NULL;
	}
	return l;
}

/* S/MIME BR §6.1.5: RSA of at least 2048 bits, EC P-256, P-384 or P-521. */
static const char *
key_refused(EVP_PKEY *pk)
{
	char group[32];
	size_t len = 0;
	int bits = EVP_PKEY_get_bits(pk);

	if (EVP_PKEY_is_a(pk, "RSA"))
		return bits >= 2048 && bits <= 8192 && bits % 8 == 0 ? NULL :
		    "RSA key size not 2048..8192 bits in whole octets";
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk, "group", group,
		    sizeof(group), &len) != 1)
			return "EC key without a named curve";
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "secp521r1") == 0)
			return NULL;
		return "EC curve is not P-256, P-384 or P-521";
	}
	return "key type is neither RSA nor EC";
}

static int
reject(struct ca_result *res, const char *mail, const char *why)
{
	log_warn("local CA: request for %s refused: %s", mail, why);
	res->status = CA_REJECTED;
	if ((res->reason = strdup(why)) == NULL) {
		log_err("local CA: out of memory");
		return -1;
	}
	return 0;
}

#define SERIAL_TRIES	4	/* a 127-bit collision is not expected even once */
/* The sync service asks for at most 16 (DIR_ADDRS_MAX, ldap/dir.h). */
#define LOCAL_ADDRS_MAX	16

struct local_addrs {
	char	 v[LOCAL_ADDRS_MAX][MAIL_MAX + 1];
	char	*p[LOCAL_ADDRS_MAX];
	size_t	 n;
};

/* 1 if x names exactly the addresses of a. */
static int
local_names_exactly(X509 *x, const struct local_addrs *a)
{
	char why[256], **have;
	size_t n = 0;

	have = x509_cert_addrs(x, &n);
	x509_addrs_free(have);
	return n == a->n && x509_names_all(x, (const char *const *)a->p,
	    a->n, why, sizeof(why)) == 0;
}

/*
 * The addresses to certify: mail (canonical), then every other rfc822Name
 * the CSR asks for (the person's aliases), each valid, none twice (ASCII
 * case-insensitively). 0, or -1 with the reason to refuse in buf.
 */
static int
local_addrs(X509_REQ *csr, const char *canon, struct local_addrs *a,
    char *buf, size_t sz)
{
	char **req, c[MAIL_MAX + 1];
	const char *why = NULL;
	size_t i, j, n = 0;
	int dup, rc = -1;

	memset(a, 0, sizeof(*a));
	snprintf(a->v[0], sizeof(a->v[0]), "%s", canon);
	a->p[0] = a->v[0];
	a->n = 1;
	req = x509_req_addrs(csr, &n);
	for (i = 0; i < n; i++) {
		if (mail_canon(req[i], strlen(req[i]), c, &why) == -1) {
			snprintf(buf, sz, "the CSR names \"%.254s\": %s",
			    req[i], why);
			goto out;
		}
		for (dup = 0, j = 0; j < a->n && !dup; j++)
			dup = strcasecmp(a->v[j], c) == 0;
		if (dup)
			continue;
		if (a->n == LOCAL_ADDRS_MAX) {
			snprintf(buf, sz, "the CSR names more than %d "
			    "addresses", LOCAL_ADDRS_MAX);
			goto out;
		}
		memcpy(a->v[a->n], c, sizeof(c));
		a->p[a->n] = a->v[a->n];
		a->n++;
	}
	rc = 0;
out:
	x509_addrs_free(req);
	return rc;
}

/*
 * The certificate this CA already issued to canon for this key and this
 * set of addresses, if any (the local CA's requests are idempotent: the
 * sync service resuming after a crash that lost the first answer gets the
 * same one). 0 and *x, 1 none, -1 logged.
 */
static int
local_reissue(struct local *l, const char *canon,
    const unsigned char *keyid, const struct local_addrs *addrs, time_t now,
    X509 **x, char *serial)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t dlen = 0;
	int rc;

	*x = NULL;
	if ((rc = lidx_find_key(l->idx, canon, keyid, now, serial, &der,
	    &dlen)) != 0)
		return rc == 1 ? 1 : -1;
	p = der;
	*x = d2i_X509(NULL, &p, (long)dlen);
	free(der);
	if (*x == NULL) {
		log_ssl("local CA: serial %s in the index", serial);
		return -1;
	}
	/* the same key for another set of addresses: a new one */
	if (!local_names_exactly(*x, addrs)) {
		X509_free(*x);
		*x = NULL;
		return 1;
	}
	log_info("local CA: serial %s was issued to %s for this key already; "
	    "answering with it", serial, canon);
	return 0;
}

/*
 * Issue a new certificate for pk and addrs (signed by the key process),
 * under a random serial not in the index yet, and index it: 0 and *x,
 * -1 logged.
 */
static int
local_issue(struct local *l, X509_REQ *csr, EVP_PKEY *pk, const char *canon,
    const struct local_addrs *addrs, const unsigned char *keyid, time_t now,
    X509 **x, char *serial)
{
	X509_NAME *subj;
	unsigned char *der = NULL;
	int empty = 0, len = 0, tries, added = 1, rc = -1;

	*x = NULL;
	if ((subj = local_leaf_subject(l->lc, canon, &empty)) == NULL) {
		log_ssl("local CA: subject for %s", canon);
		return -1;
	}
	for (tries = 0; added == 1 && tries < SERIAL_TRIES; tries++) {
		X509_free(*x);
		OPENSSL_free(der);
		der = NULL;
		if ((*x = local_cert_base(subj, X509_get_subject_name(l->cert),
		    pk, now, l->lc->validity_days)) == NULL ||
		    local_leaf_exts(l, *x, pk, csr, addrs->p, addrs->n, empty) == -1) {
			log_ssl("local CA: cannot issue for %s", canon);
			goto out;
		}
		if (local_kp_sign_cert(l, x) == -1)
			goto out;	/* logged, naming the key process */
		if ((len = i2d_X509(*x, &der)) <= 0 ||
		    local_serial_hex(X509_get0_serialNumber(*x), serial) == -1) {
			log_ssl("local CA: cannot issue for %s", canon);
			goto out;
		}
		if ((added = lidx_add(l->idx, serial, canon, now +
		    (time_t)l->lc->validity_days * DAY - 1, der,
		    (size_t)len, keyid)) == -1)
			goto out;
	}
	if (added != 0) {
		log_err("local CA: no free serial after %d tries", tries);
		goto out;
	}
	log_info("local CA: issued serial %s to %s", serial, canon);
	{
		struct lidx_rec r = { .serial = serial, .der = der,
		    .derlen = (size_t)len };

		(void)local_ocsp_one(l, &r, now);	/* OCSP at once */
	}
	rc = 0;
out:
	if (rc == -1) {
		X509_free(*x);
		*x = NULL;
	}
	OPENSSL_free(der);
	X509_NAME_free(subj);
	return rc;
}

static int
local_enrol(void *ctx, X509_REQ *csr, const char *mail,
    struct ca_result *res)
{
	struct local *l = ctx;
	char canon[MAIL_MAX + 1], serial[LIDX_SERIAL_MAX], whybuf[512];
	struct local_addrs addrs;
	const char *why = NULL;
	EVP_PKEY *pk;
	X509 *x = NULL;
	unsigned char keyid[LIDX_KEYID_LEN];
	time_t now = time(NULL);
	int rc = -1, found;

	if (mail == NULL || mail_canon(mail, strlen(mail), canon, &why) == -1)
		return reject(res, mail ? mail : "(null)", why ? why :
		    "no address");
	if ((pk = X509_REQ_get0_pubkey(csr)) == NULL)
		return reject(res, canon, "CSR without a readable public key");
	/* proof of possession: the CSR is signed by its own key */
	if (X509_REQ_verify(csr, pk) != 1) {
		ERR_clear_error();
		return reject(res, canon, "CSR signature does not verify");
	}
	if ((why = key_refused(pk)) != NULL)
		return reject(res, canon, why);
	if (local_addrs(csr, canon, &addrs, whybuf, sizeof(whybuf)) == -1)
		return reject(res, canon, whybuf);
	if (lidx_keyid(pk, keyid) == -1 ||
	    (found = local_reissue(l, canon, keyid, &addrs, now, &x,
	    serial)) == -1)
		goto out;
	if (found == 1 && local_issue(l, csr, pk, canon, &addrs, keyid, now,
	    &x, serial) == -1)
		goto out;
	if ((res->chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(res->chain, l->cert)) {
		log_err("local CA: out of memory");
		goto out;
	}
	X509_up_ref(l->cert);
	res->status = CA_ISSUED;
	res->cert = x;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	return rc;
}

static int
local_poll(void *ctx, const char *txid, struct ca_result *res)
{
	(void)ctx;
	(void)res;
	log_err("local CA: request %s: the local CA never leaves a request "
	    "pending", txid);
	return -1;
}

static int
local_revoke(void *ctx, X509 *cert, int reason)
{
	struct local *l = ctx;
	char serial[LIDX_SERIAL_MAX];
	unsigned char *der = NULL;
	struct lidx_rec r = { 0 };
	time_t now = time(NULL);
	int len, rc = -1;

	if (local_serial_hex(X509_get0_serialNumber(cert), serial) == -1 ||
	    (len = i2d_X509(cert, &der)) <= 0) {
		log_ssl("local CA: revoke: unreadable certificate");
		goto out;
	}
	switch (lidx_revoke(l->idx, serial, der, (size_t)len, now, reason)) {
	case 0:
		log_info("local CA: revoked serial %s (%s)", serial,
		    ca_reason_str(reason));
		/* OCSP says so at once; the CRL follows in crl_refresh */
		r.serial = serial;
		r.revoked = 1;
		r.rev_time = now;
		r.reason = reason;
		r.der = der;
		r.derlen = (size_t)len;
		(void)local_ocsp_one(l, &r, now);
		rc = 0;
		break;
	case 1:
		log_info("local CA: serial %s was revoked already", serial);
		rc = 0;
		break;
	default:
		break;
	}
out:
	OPENSSL_free(der);
	return rc;
}

/* Keep ca.local.dir/crl.pem current (local_crl_stale says when), and the
 * OCSP responses beside it (local_ocsp.c). */
static int
local_crl_refresh(void *ctx)
{
	struct local *l = ctx;
	int rc = 0;

	if (local_crl_stale(l) && local_crl_write(l, NULL) == -1)
		rc = -1;
	if (local_ocsp_refresh(l, time(NULL)) == -1)
		rc = -1;
	return rc;
}

static X509_STORE *
local_trust(void *ctx)
{
	return ((struct local *)ctx)->store;
}

static void *
local_new(const struct cfg *cfg)
{
	return local_open(cfg);
}

static void
local_free(void *ctx)
{
	local_close(ctx);
}

const struct ca_driver ca_driver_local = {
	.name = "local",
	.probe = ca_probe_local,
	.new = local_new,
	.enrol = local_enrol,
	.poll = local_poll,
	.revoke = local_revoke,
	.crl_refresh = local_crl_refresh,
	.trust = local_trust,
	.free = local_free,
};
