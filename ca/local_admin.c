/*
 * local_admin.c — administration of the local CA for `smimepub ca ...`:
 * init (the CA key and self-signed certificate in a fresh ca.local.dir),
 * list (the issuance index, one line per certificate) and crl (a signed v2
 * CRL of every revoked serial, RFC 5280 §5).
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/log.h"

#define DAY	86400

/* A URL for a certificate extension: http:// (S/MIME BR §7.1.2.3), IA5. */
static int
url_ok(const char *url, const char *key)
{
	const unsigned char *p;

	if (strncmp(url, "http://", 7) != 0) {
		log_err("%s: \"%s\" is not an http:// URL", key, url);
		return -1;
	}
	for (p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			log_err("%s: \"%s\" holds a space, control or non-ASCII "
			    "character", key, url);
			return -1;
		}
	return 0;
}

/* The profile settings beyond their type, checked before any signing. */
int
local_cfg_ok(const struct cfg_ca_local *lc)
{
	ASN1_OBJECT *obj;
	size_t i;

	if (lc->validity_days < 1 || lc->validity_days > CA_MAX_VALIDITY_DAYS) {
		log_err("ca.local.validity_days: %d is not 1..%d",
		    lc->validity_days, CA_MAX_VALIDITY_DAYS);
		return -1;
	}
	if ((lc->crl_url && url_ok(lc->crl_url, "ca.local.crl_url") == -1) ||
	    (lc->aia_url && url_ok(lc->aia_url, "ca.local.aia_url") == -1) ||
	    (lc->ocsp_url && url_ok(lc->ocsp_url, "ca.local.ocsp_url") == -1))
		return -1;
	for (i = 0; i < lc->n_policies; i++) {
		if ((obj = OBJ_txt2obj(lc->policies[i], 1)) == NULL) {
			log_err("ca.local.policies: \"%s\" is not an OID in "
			    "dotted form", lc->policies[i]);
			return -1;
		}
		ASN1_OBJECT_free(obj);
	}
	return 0;
}

static X509 *
ca_cert_new(const struct cfg_ca_local *lc, EVP_PKEY *key)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	AUTHORITY_KEYID *aki = NULL;
	int ok = 0;

	if ((name = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)lc->subject_cn, -1, -1, 0)) {
		log_ssl("ca.local.subject_cn \"%s\": not a usable name",
		    lc->subject_cn);
		goto out;
	}
	if ((x = local_cert_base(name, name, key, time(NULL),
	    lc->ca_validity_days)) == NULL ||
	    local_add_basic(x, 1) == -1 ||
	    local_add_ku(x, KU_BIT_KEY_CERT_SIGN, KU_BIT_CRL_SIGN) == -1 ||
	    local_add_ski(x) == -1 || (aki = local_aki(x)) == NULL ||
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0,
	    X509V3_ADD_REPLACE) != 1 ||
	    X509_sign(x, key, keys_sig_md(key)) <= 0) {
		log_ssl("ca.local.dir %s: cannot make the CA certificate",
		    lc->dir);
		goto out;
	}
	ok = 1;
out:
	X509_NAME_free(name);
	AUTHORITY_KEYID_free(aki);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Write data to path without ever replacing an existing file. */
static int
write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.init.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		log_err("%s: path too long", path);
		return -1;
	}
	if (file_write_atomic(tmp, data, len, mode) == -1)
		return -1;
	/* link(2), unlike rename(2), fails if path exists: no CA overwritten */
	if (link(tmp, path) == -1)
		log_err("%s: %s", path, errno == EEXIST ? "exists already; "
		    "refusing to overwrite a CA" : strerror(errno));
	else
		rc = 0;
	unlink(tmp);
	return rc;
}

int
ca_local_init(const struct cfg *cfg)
{
	const struct cfg_ca_local *lc = &cfg->ca.local;
	const char *type = lc->key_type ? lc->key_type : KEYS_DEFAULT_TYPE;
	char keypath[PATH_MAX], certpath[PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *kb = NULL, *cb = NULL;
	struct lidx *idx = NULL;
	struct stat st;
	char *data;
	long len;
	int rc = -1;

	if (!keys_type_valid(type)) {
		log_err("ca.local.key_type: \"%s\" is not rsa:2048, rsa:3072, "
		    "rsa:4096, ec:P-256 or ec:P-384", type);
		return -1;
	}
	if (local_cfg_ok(lc) == -1 || local_path(lc, CA_LOCAL_KEY,
	    keypath) == -1 || local_path(lc, CA_LOCAL_CERT, certpath) == -1)
		return -1;
	if (file_mkdirs(lc->dir, 0700) == -1)
		return -1;
	if (lstat(lc->dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_err("ca.local.dir %s: not a directory", lc->dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_err("ca.local.dir %s: not owned by uid %ld", lc->dir,
		    (long)geteuid());
		return -1;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(lc->dir, 0700) == -1) {
		log_err("ca.local.dir %s: chmod 0700: %s", lc->dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(keypath, &st) == 0 || lstat(certpath, &st) == 0) {
		log_err("ca.local.dir %s: a CA exists already; refusing to "
		    "overwrite it", lc->dir);
		return -1;
	}
	if ((key = keys_generate(type)) == NULL ||
	    (cert = ca_cert_new(lc, key)) == NULL)
		goto out;
	/* unencrypted, for the unattended sync service: 0600 in a 0700 dir */
	if ((kb = BIO_new(BIO_s_secmem())) == NULL ||
	    (cb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, cert)) {
		log_ssl("ca.local.dir %s: cannot encode the CA", lc->dir);
		goto out;
	}
	len = BIO_get_mem_data(kb, &data);
	if (write_new(keypath, data, (size_t)len, 0600) == -1)
		goto out;
	len = BIO_get_mem_data(cb, &data);
	if (write_new(certpath, data, (size_t)len, 0644) == -1) {
		unlink(keypath);	/* ours, just made: no half CA left */
		goto out;
	}
	if ((idx = lidx_open(lc->dir, 1)) == NULL)
		goto out;
	log_info("ca.local.dir %s: CA \"%s\" created (%s)", lc->dir,
	    lc->subject_cn, type);
	rc = 0;
out:
	lidx_close(idx);
	BIO_free(kb);		/* secure memory: cleansed when freed */
	BIO_free(cb);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

static int
list_one(const struct lidx_rec *r, void *arg)
{
	FILE *fp = arg;
	struct tm tm;
	char when[32];

	if (gmtime_r(&r->not_after, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	fprintf(fp, "%s %s %s %s\n", r->serial, r->mail,
	    r->revoked ? "revoked" : "valid", when);
	return 0;
}

int
ca_local_list(const struct cfg *cfg, FILE *fp)
{
	struct lidx *idx = NULL;
	int rc;

	if ((idx = lidx_open(cfg->ca.local.dir, 0)) == NULL)
		return -1;
	rc = lidx_each(idx, list_one, fp);
	lidx_close(idx);
	if (rc == 0 && fflush(fp) == EOF) {
		log_err("ca list: write: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

/* One revokedCertificates entry (RFC 5280 §5.1.2.6). */
static int
crl_add(const struct lidx_rec *r, void *arg)
{
	X509_CRL *crl = arg;
	X509_REVOKED *rv = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *e = NULL;
	int ok = 0;

	if (!r->revoked)
		return 0;
	if ((rv = X509_REVOKED_new()) == NULL ||
	    !BN_hex2bn(&bn, r->serial) ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rv, sn) ||
	    (t = ASN1_TIME_set(NULL, r->rev_time)) == NULL ||
	    !X509_REVOKED_set_revocationDate(rv, t))
		goto out;
	/* RFC 5280 §5.3.1: omit the reasonCode rather than say unspecified */
	if (r->reason != CA_REASON_UNSPECIFIED &&
	    ((e = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(e, r->reason) ||
	    !X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, e, 0, 0)))
		goto out;
	if (!X509_CRL_add0_revoked(crl, rv))
		goto out;
	rv = NULL;
	ok = 1;
out:
	if (!ok)
		log_ssl("CRL: cannot add serial %s", r->serial);
	X509_REVOKED_free(rv);
	BN_free(bn);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(e);
	return ok ? 0 : -1;
}

int
local_crl_write(struct local *l, const char *out_path)
{
	const struct cfg_ca_local *lc = l->lc;
	char path[PATH_MAX];
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *aki = NULL;
	BIO *b = NULL;
	uint64_t n = 0;
	time_t now = time(NULL);
	char *data;
	long len;
	int rc = -1;

	if (out_path == NULL) {
		if (local_path(lc, CA_LOCAL_CRL, path) == -1)
			return -1;
		out_path = path;
	}
	/* the number is spent before the file is written: it never repeats */
	if (lidx_crl_number_next(l->idx, &n) == -1)
		goto out;
	if ((crl = X509_CRL_new()) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(l->cert)) ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    X509_time_adj_ex(t, lc->crl_days, 0, &now) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t)) {
		log_ssl("CRL of %s: out of memory", lc->dir);
		goto out;
	}
	if (lidx_each(l->idx, crl_add, crl) == -1)
		goto out;
	/* RFC 5280 §5.2.1 AKI and §5.2.3 cRLNumber, both required */
	if ((aki = local_aki(l->cert)) == NULL ||
	    !X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0,
	    0) || (num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_uint64(num, n) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    !X509_CRL_sort(crl)) {
		log_ssl("CRL of %s: cannot build", lc->dir);
		goto out;
	}
	if (local_kp_sign_crl(l, &crl) == -1)
		goto out;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_CRL(b, crl)) {
		log_ssl("CRL of %s: cannot encode", lc->dir);
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	if (file_write_atomic(out_path, data, (size_t)len, 0644) == -1)
		goto out;
	log_info("CRL %" PRIu64 " written to %s", n, out_path);
	rc = 0;
out:
	BIO_free(b);
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

int
ca_local_crl(const struct cfg *cfg, const char *out_path)
{
	struct local *l;
	int rc;

	if ((l = local_open(cfg)) == NULL)
		return -1;
	rc = local_crl_write(l, out_path);
	local_close(l);
	return rc;
}

static int
crl_count_cb(const struct lidx_rec *r, void *arg)
{
	if (r->revoked)
		(*(int *)arg)++;
	return 0;
}

/*
 * Does ca.local.dir/crl.pem need writing again? Yes when it is missing or
 * unreadable, when half of its validity (ca.local.crl_days) has run out
 * (relying parties fetching it from ca.local.crl_url must never hold an
 * expired one), or when it lists fewer certificates than the index holds
 * revoked (by the sync service, the command line, or an orphan's
 * revocation: local_crl_write lists every one). 1 yes, 0 no.
 */
int
local_crl_stale(struct local *l)
{
	char path[PATH_MAX];
	X509_CRL *crl = NULL;
	struct tm tm;
	time_t next, now = time(NULL);
	FILE *fp;
	int stale = 1, revoked = 0, listed;

	if (local_path(l->lc, CA_LOCAL_CRL, path) == -1 ||
	    (fp = fopen(path, "r")) == NULL)
		return 1;
	crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
	fclose(fp);
	if (crl == NULL || X509_CRL_get0_nextUpdate(crl) == NULL ||
	    ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm) != 1)
		goto out;
	next = timegm(&tm);
	if (next - now < (time_t)l->lc->crl_days * 86400 / 2)
		goto out;
	/* an empty CRL has no list at all (sk_num(NULL) is -1) */
	if ((listed = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl))) < 0)
		listed = 0;
	if (lidx_each(l->idx, crl_count_cb, &revoked) == -1 ||
	    revoked != listed)
		goto out;
	stale = 0;
out:
	ERR_clear_error();
	X509_CRL_free(crl);
	return stale;
}
