/*
 * local_ocsp.c — OCSP for the local CA (RFC 6960, RFC 5019 profile)
 * without the CA key in smimepub-lookupd: smimepub-sync (and `smimepub
 * revoke`) sign one response per certificate in the CA's index with a
 * delegated responder (RFC 6960 §4.2.2.2: issued by the CA, id-kp-
 * OCSPSigning, id-pkix-ocsp-nocheck so that clients need not check the
 * responder's own status) and write them to ca.local.dir/ocsp/SERIAL.der
 * (temporary file, fsync, rename: common/file.c); lookupd only hands those
 * files out (lookup/lk_ocsp.c).
 *
 * The responder's key (ocsp-responder.key, 0600) is its own, never the CA
 * key; its certificate (ocsp-responder.pem) is signed by the CA key process
 * (local_kp_sign_cert), as every certificate of the local CA, and renewed
 * once half of ca.local.ocsp_responder_days has run out. A response is
 * signed at issue and at once on a revocation (local_enrol, local_revoke:
 * smimepub-sync and `smimepub revoke` alike), and again by
 * local_ocsp_refresh (crl_refresh, each full pass) when it is missing,
 * half of ca.local.ocsp_days has run out, another responder signed it, or
 * its status is not the index's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/log.h"

#define DAY		86400
#define RESP_MAX	65536
#define OCSP_DIR	"ocsp"
#define RESPONDER_KEY	"ocsp-responder.key"
#define RESPONDER_CERT	"ocsp-responder.pem"

struct ocsp_run {
	struct local	*l;
	X509		*rcert;
	EVP_PKEY	*rkey;
	time_t		 now;
	size_t		 signed_n, kept, failed;
};

/* ---- the responder ----------------------------------------------------- */

/* The responder profile: RFC 6960 §4.2.2.2 and §4.2.2.2.1. */
static int
responder_exts(struct local *l, X509 *x)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	AUTHORITY_KEYID *aki = NULL;
	ASN1_NULL *nocheck = NULL;
	int ok;

	ok = local_add_basic(x, 0) == 0 &&
	    local_add_ku(x, KU_BIT_DIGITAL_SIGNATURE,
	    KU_BIT_DIGITAL_SIGNATURE) == 0 &&
	    (eku = sk_ASN1_OBJECT_new_null()) != NULL &&
	    sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_OCSP_sign)) &&
	    X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) == 1 &&
	    (nocheck = ASN1_NULL_new()) != NULL &&
	    X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, nocheck, 0, 0) ==
	    1 && local_add_ski(x) == 0 && (aki = local_aki(l->cert)) != NULL &&
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, 0) == 1;
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ASN1_NULL_free(nocheck);
	AUTHORITY_KEYID_free(aki);
	return ok ? 0 : -1;
}

/* 1 if rc (with rk) is a responder of this CA good for a while yet. */
static int
responder_good(struct local *l, X509 *rc, EVP_PKEY *rk, time_t now)
{
	time_t half = now + (time_t)l->lc->ocsp_responder_days * DAY / 2;
	int ok;

	ok = X509_check_private_key(rc, rk) == 1 &&
	    X509_check_issued(l->cert, rc) == X509_V_OK &&
	    X509_verify(rc, X509_get0_pubkey(l->cert)) == 1 &&
	    X509_cmp_time(X509_get0_notAfter(rc), &half) > 0 &&
	    (X509_get_extended_key_usage(rc) & XKU_OCSP_SIGN) != 0;
	ERR_clear_error();
	return ok;
}

/* Write a new key (0600, first) and its certificate; -1 logged. */
static int
responder_write(struct local *l, EVP_PKEY *rk, X509 *rc)
{
	char path[PATH_MAX];
	BIO *b = NULL;
	char *p;
	long n;
	int rc_ = -1;

	if ((b = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(b, rk, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    local_path(l->lc, RESPONDER_KEY, path) == -1 ||
	    file_write_atomic(path, p, (size_t)n, 0600) == -1)
		goto out;
	BIO_free(b);
	if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, rc) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    local_path(l->lc, RESPONDER_CERT, path) == -1 ||
	    file_write_atomic(path, p, (size_t)n, 0644) == -1)
		goto out;
	rc_ = 0;
out:
	if (rc_ == -1)
		log_ssl("ca.local.dir %s: cannot write the OCSP responder",
		    l->lc->dir);
	BIO_free(b);	/* secmem: cleansed */
	return rc_;
}

/* Issue a new responder certificate for a new key; 0 or -1 logged. */
static int
responder_new(struct local *l, time_t now, X509 **rc, EVP_PKEY **rk)
{
	char cn[80];
	X509_NAME *subj = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int ok = 0;

	/* ub-common-name is 64 (RFC 5280 Appendix A.1) */
	snprintf(cn, sizeof(cn), "%.49s OCSP responder", l->lc->subject_cn);
	if ((k = keys_generate(l->lc->key_type)) == NULL)
		goto out;
	if ((subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    (x = local_cert_base(subj, X509_get_subject_name(l->cert), k, now,
	    l->lc->ocsp_responder_days)) == NULL ||
	    responder_exts(l, x) == -1) {
		log_ssl("local CA: cannot issue the OCSP responder certificate");
		goto out;
	}
	/* signed as every certificate of the CA: by its key process */
	if (local_kp_sign_cert(l, &x) == -1)
		goto out;
	if (responder_write(l, k, x) == -1)
		goto out;
	log_info("local CA: new OCSP responder certificate, valid %d days",
	    l->lc->ocsp_responder_days);
	ok = 1;
out:
	X509_NAME_free(subj);
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(k);
		return -1;
	}
	*rc = x;
	*rk = k;
	return 0;
}

/* The responder on disk if it is good, else a new one. */
static int
responder_get(struct local *l, time_t now, X509 **rc, EVP_PKEY **rk)
{
	char path[PATH_MAX];
	FILE *fp;

	*rc = NULL;
	*rk = NULL;
	if (local_path(l->lc, RESPONDER_KEY, path) == 0 &&
	    (fp = fopen(path, "r")) != NULL) {
		*rk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (local_path(l->lc, RESPONDER_CERT, path) == 0 &&
	    (fp = fopen(path, "r")) != NULL) {
		*rc = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	ERR_clear_error();
	if (*rc != NULL && *rk != NULL && responder_good(l, *rc, *rk, now))
		return 0;
	X509_free(*rc);
	EVP_PKEY_free(*rk);
	return responder_new(l, now, rc, rk);
}

/* ---- the responses ----------------------------------------------------- */

/* 1 if the response in path is current for r (see the top). */
static int
resp_current(struct ocsp_run *o, const struct lidx_rec *r, const char *path)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *nu = NULL;
	const STACK_OF(X509) *certs;
	time_t half = o->now + (time_t)o->l->lc->ocsp_days * DAY / 2;
	int status, ok = 0;

	if (access(path, F_OK) == -1 ||
	    file_read_all(path, RESP_MAX, &der, &len) == -1)
		return 0;
	p = der;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL ||
	    OCSP_resp_count(bs) != 1)
		goto out;
	status = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL,
	    NULL, &nu);
	certs = OCSP_resp_get0_certs(bs);
	ok = (status == V_OCSP_CERTSTATUS_REVOKED) == (r->revoked != 0) &&
	    nu != NULL && X509_cmp_time(nu, &half) > 0 &&
	    sk_X509_num(certs) > 0 &&
	    X509_cmp(sk_X509_value(certs, 0), o->rcert) == 0;
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);
	return ok;
}

/* The signed response for r (RFC 6960 §4.2.1, no nonce: RFC 5019 §2.2). */
static OCSP_RESPONSE *
resp_sign(struct ocsp_run *o, const struct lidx_rec *r)
{
	const unsigned char *p = r->der;
	X509 *x = NULL;
	OCSP_CERTID *cid = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rt = NULL;
	int ok = 0;

	if ((x = d2i_X509(NULL, &p, (long)r->derlen)) == NULL ||
	    (cid = OCSP_cert_to_id(EVP_sha1(), x, o->l->cert)) == NULL ||
	    (bs = OCSP_BASICRESP_new()) == NULL ||
	    (tu = ASN1_GENERALIZEDTIME_set(NULL, o->now)) == NULL ||
	    (nu = ASN1_GENERALIZEDTIME_set(NULL, o->now +
	    (time_t)o->l->lc->ocsp_days * DAY)) == NULL)
		goto out;
	if (r->revoked && (rt = ASN1_GENERALIZEDTIME_set(NULL,
	    r->rev_time)) == NULL)
		goto out;
	/* RFC 5280 §5.3.1: unspecified (0) is better left out */
	if (OCSP_basic_add1_status(bs, cid, r->revoked ?
	    V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
	    r->revoked && r->reason > 0 ? r->reason :
	    OCSP_REVOKED_STATUS_NOSTATUS, rt, tu, nu) == NULL)
		goto out;
	/* responderID byKey (RFC 5019 §2.2.3); the responder's certificate
	 * goes in, so a client can check it chains to the CA */
	if (OCSP_basic_sign(bs, o->rcert, o->rkey, keys_sig_md(o->rkey),
	    NULL, OCSP_RESPID_KEY) != 1)
		goto out;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	ok = resp != NULL;
out:
	if (!ok)
		log_ssl("local CA: cannot sign the OCSP response for serial %s",
		    r->serial);
	ASN1_GENERALIZEDTIME_free(tu);
	ASN1_GENERALIZEDTIME_free(nu);
	ASN1_GENERALIZEDTIME_free(rt);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(cid);
	X509_free(x);
	return resp;
}

static int
resp_one(const struct lidx_rec *r, void *arg)
{
	struct ocsp_run *o = arg;
	char path[PATH_MAX];
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	int n;

	if (snprintf(path, sizeof(path), "%s/%s/%s.der", o->l->lc->dir,
	    OCSP_DIR, r->serial) >= (int)sizeof(path)) {
		log_err("ca.local.dir %s: path too long", o->l->lc->dir);
		return -1;
	}
	if (resp_current(o, r, path)) {
		o->kept++;
		return 0;
	}
	if ((resp = resp_sign(o, r)) == NULL ||
	    (n = i2d_OCSP_RESPONSE(resp, &der)) <= 0 ||
	    file_write_atomic(path, der, (size_t)n, 0644) == -1)
		o->failed++;	/* the others still get theirs */
	else
		o->signed_n++;
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	return 0;
}

int
local_ocsp_one(struct local *l, const struct lidx_rec *r, time_t now)
{
	struct ocsp_run o = { l, NULL, NULL, now, 0, 0, 0 };
	char dir[PATH_MAX];
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (l->lc->ocsp_url == NULL)
		return 0;
	if (local_path(l->lc, OCSP_DIR, dir) == -1 ||
	    file_mkdirs(dir, 0755) == -1 ||
	    responder_get(l, now, &o.rcert, &o.rkey) == -1 ||
	    (resp = resp_sign(&o, r)) == NULL ||
	    (n = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
		goto out;
	if (snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s.der",
	    r->serial) >= (int)(sizeof(dir) - strlen(dir))) {
		log_err("ca.local.dir %s: path too long", l->lc->dir);
		goto out;
	}
	if (file_write_atomic(dir, der, (size_t)n, 0644) == -1)
		goto out;
	log_info("local CA: OCSP response for serial %s: %s", r->serial,
	    r->revoked ? "revoked" : "good");
	rc = 0;
out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	X509_free(o.rcert);
	EVP_PKEY_free(o.rkey);
	return rc;
}

int
local_ocsp_refresh(struct local *l, time_t now)
{
	struct ocsp_run o = { l, NULL, NULL, now, 0, 0, 0 };
	char dir[PATH_MAX];
	int rc = -1;

	if (l->lc->ocsp_url == NULL)
		return 0;
	if (local_path(l->lc, OCSP_DIR, dir) == -1 ||
	    file_mkdirs(dir, 0755) == -1 ||
	    responder_get(l, now, &o.rcert, &o.rkey) == -1)
		goto out;
	if (lidx_each(l->idx, resp_one, &o) == -1)
		goto out;
	if (o.signed_n > 0 || o.failed > 0)
		log_info("local CA: OCSP responses: %zu signed, %zu current, "
		    "%zu failed", o.signed_n, o.kept, o.failed);
	rc = o.failed > 0 ? -1 : 0;
out:
	X509_free(o.rcert);
	EVP_PKEY_free(o.rkey);
	return rc;
}
