/*
 * local_keyproc.c — the local CA's signing key lives in a key process of
 * its own (common/kproc.h, as acme-client's keyproc): only that process
 * opens ca.local.dir/ca.key; the driver (local.c, local_admin.c) builds a
 * certificate or CRL, sends its DER, and gets it back signed. The key
 * process checks what it signs: issued by this CA (the issuer is ca.pem's
 * subject), a v3 leaf that is no CA (no cA, no keyCertSign or cRLSign, a
 * keyUsage present), not the CA's own key, valid for at most 825 days; a
 * CRL of this CA. The parent checks the signature it gets back against
 * ca.pem. smimepub-sync starts it before any thread (ca_keyproc_start); the
 * CLI and the tests get one per local_open().
 *
 * The parent's DER is signed once with a throwaway P-256 key first: OpenSSL
 * has no way to set a certificate's or CRL's signature algorithm without a
 * private key, and an unsigned one cannot be encoded. The key process signs
 * it again with the CA key (X509_sign sets both algorithm fields).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "common/keys.h"
#include "common/kproc.h"
#include "common/log.h"

enum { LKP_SIGN_CERT = 1, LKP_SIGN_CRL = 2 };

/* What the key process holds; the parent fills in the paths. */
struct lkp {
	char		 keypath[PATH_MAX];
	char		 certpath[PATH_MAX];
	EVP_PKEY	*key;
	X509		*cert;
};

/* started by ca_keyproc_start() for the whole program (smimepub-sync) */
static struct kproc *lkp_early;

/* The last OpenSSL error, for a reason sent to the parent. */
static void
lkp_ssl_err(char *err, size_t sz, const char *what)
{
	unsigned long e = ERR_peek_last_error();

	snprintf(err, sz, "%s%s%s", what, e ? ": " : "",
	    e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
	    "?" : "");
	ERR_clear_error();
}

/* The CA key must be private to us: 0600 or 0400, a regular file. */
static int
lkp_load_key(struct lkp *k, char *err, size_t sz)
{
	struct stat st;
	BIO *b = NULL;
	FILE *fp = NULL;
	int fd;

	if ((fd = open(k->keypath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, sz, "%s: %s%s", k->keypath, strerror(errno),
		    errno == ENOENT ? " (run smimepub ca init)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, sz, "%s: CA key must be a regular file of mode "
		    "0600 or 0400", k->keypath);
		close(fd);
		return -1;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, sz, "%s: %s", k->keypath, strerror(errno));
		close(fd);
		return -1;
	}
	if ((b = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		fclose(fp);
		lkp_ssl_err(err, sz, "cannot read the CA key");
		return -1;
	}
	if ((k->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		lkp_ssl_err(err, sz, "ca.key: not a PEM private key");
	BIO_free(b);
	return k->key == NULL ? -1 : 0;
}

static int
lkp_init(void *arg, char *err, size_t sz)
{
	struct lkp *k = arg;
	BIO *b;

	if (lkp_load_key(k, err, sz) == -1)
		return -1;
	if ((b = BIO_new_file(k->certpath, "r")) == NULL ||
	    (k->cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		BIO_free(b);
		lkp_ssl_err(err, sz, "ca.pem: cannot read a PEM certificate");
		return -1;
	}
	BIO_free(b);
	if (X509_check_private_key(k->cert, k->key) != 1) {
		snprintf(err, sz, "%s does not belong to %s", k->keypath,
		    k->certpath);
		return -1;
	}
	return 0;
}

/* The hello: the public key (SubjectPublicKeyInfo DER) it signs with. */
static int
lkp_hello(void *arg, struct kproc_buf *ans)
{
	struct lkp *k = arg;
	unsigned char *der = NULL;
	int len, rc;

	if ((len = i2d_PUBKEY(k->key, &der)) <= 0)
		return -1;
	rc = kproc_append(ans, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* Is x a leaf of this CA it may sign? NULL yes, else why not. */
static const char *
lkp_cert_refused(const struct lkp *k, X509 *x)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x),
	    *na = X509_get0_notAfter(x);
	uint32_t fl = X509_get_extension_flags(x);
	int days = 0, secs = 0;

	if (X509_get_version(x) != X509_VERSION_3)
		return "not a v3 certificate";
	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(k->cert)) != 0)
		return "its issuer is not this CA";
	if ((fl & EXFLAG_INVALID) != 0)
		return "its extensions do not decode";
	/* RFC 5280 §4.2.1.9 cA, §4.2.1.3 keyCertSign/cRLSign: no sub-CA */
	if ((fl & EXFLAG_CA) != 0 || (fl & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(x) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0)
		return "not a leaf (cA, keyCertSign or cRLSign, or no "
		    "keyUsage)";
	if (X509_get0_pubkey(x) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(x), k->key) == 1)
		return "the CA's own key, or none";
	if (nb == NULL || na == NULL || !ASN1_TIME_diff(&days, &secs, nb, na) ||
	    days < 0 || secs < 0 || days > CA_MAX_VALIDITY_DAYS ||
	    (days == CA_MAX_VALIDITY_DAYS && secs > 0))
		return "its validity is not 0..825 days (S/MIME BR §6.3.2)";
	return NULL;
}

static int
lkp_sign_cert(struct lkp *k, const unsigned char *req, size_t len,
    struct kproc_buf *ans, char *err, size_t sz)
{
	const unsigned char *p = req;
	unsigned char *der = NULL;
	const char *why;
	X509 *x = NULL;
	int dl, rc = -1;

	if (len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != req + len) {
		lkp_ssl_err(err, sz, "not one DER certificate");
		goto out;
	}
	if ((why = lkp_cert_refused(k, x)) != NULL) {
		snprintf(err, sz, "refused to sign a certificate: %s", why);
		goto out;
	}
	if (X509_sign(x, k->key, keys_sig_md(k->key)) <= 0 ||
	    (dl = i2d_X509(x, &der)) <= 0) {
		lkp_ssl_err(err, sz, "cannot sign the certificate");
		goto out;
	}
	rc = kproc_append(ans, der, (size_t)dl);
out:
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

static int
lkp_sign_crl(struct lkp *k, const unsigned char *req, size_t len,
    struct kproc_buf *ans, char *err, size_t sz)
{
	const unsigned char *p = req;
	unsigned char *der = NULL;
	X509_CRL *crl = NULL;
	int dl, rc = -1;

	if (len > LONG_MAX || (crl = d2i_X509_CRL(NULL, &p, (long)len)) ==
	    NULL || p != req + len) {
		lkp_ssl_err(err, sz, "not one DER CRL");
		goto out;
	}
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2 ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(k->cert)) != 0) {
		snprintf(err, sz, "refused to sign a CRL: not a v2 CRL of "
		    "this CA");
		goto out;
	}
	if (X509_CRL_sign(crl, k->key, keys_sig_md(k->key)) <= 0 ||
	    (dl = i2d_X509_CRL(crl, &der)) <= 0) {
		lkp_ssl_err(err, sz, "cannot sign the CRL");
		goto out;
	}
	rc = kproc_append(ans, der, (size_t)dl);
out:
	OPENSSL_free(der);
	X509_CRL_free(crl);
	return rc;
}

static int
lkp_serve(void *arg, uint8_t op, const unsigned char *req, size_t len,
    struct kproc_buf *ans, char *err, size_t sz)
{
	switch (op) {
	case LKP_SIGN_CERT:
		return lkp_sign_cert(arg, req, len, ans, err, sz);
	case LKP_SIGN_CRL:
		return lkp_sign_crl(arg, req, len, ans, err, sz);
	default:
		snprintf(err, sz, "unknown request %u", (unsigned)op);
		return -1;
	}
}

/* Fork the key process for the CA in lc->dir; NULL logged. */
static struct kproc *
lkp_spawn(const struct cfg_ca_local *lc)
{
	struct kproc_server srv;
	struct kproc *kp;
	struct lkp *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_err("ca.local.dir %s: out of memory", lc->dir);
		return NULL;
	}
	if (local_path(lc, CA_LOCAL_KEY, k->keypath) == -1 ||
	    local_path(lc, CA_LOCAL_CERT, k->certpath) == -1) {
		free(k);
		return NULL;
	}
	memset(&srv, 0, sizeof(srv));
	srv.name = "CA";
	srv.comm = "smimepub-cakey";
	srv.init = lkp_init;
	srv.serve = lkp_serve;
	srv.hello = lkp_hello;
	srv.arg = k;
	kp = kproc_start(&srv);
	free(k);	/* the parent never filled in a key */
	return kp;
}

int
ca_keyproc_start(const struct cfg *cfg)
{
	kproc_set_forked_early();
	if (strcmp(cfg->ca.driver, "local") != 0 || lkp_early != NULL)
		return 0;
	return (lkp_early = lkp_spawn(&cfg->ca.local)) == NULL ? -1 : 0;
}

void
ca_keyproc_stop(void)
{
	kproc_stop(lkp_early);
	lkp_early = NULL;
}

int
local_kp_attach(struct local *l)
{
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	size_t len;
	int rc = -1;

	if (kproc_forked_early()) {
		if (lkp_early == NULL) {
			log_err("ca.driver local: the CA key process starts "
			    "with the program only; restart it to use the "
			    "local CA");
			return -1;
		}
		l->kp = lkp_early;
	} else if ((l->kp = lkp_spawn(l->lc)) == NULL)
		return -1;
	else
		l->own_kp = 1;
	p = kproc_hello(l->kp, &len);
	if (len > LONG_MAX || (pub = d2i_PUBKEY(NULL, &p, (long)len)) == NULL ||
	    EVP_PKEY_eq(pub, X509_get0_pubkey(l->cert)) != 1) {
		ERR_clear_error();
		log_err("ca.local.dir %s: %s is not the certificate of the key "
		    "the CA key process holds (ca.local.dir changed? restart "
		    "the program)", l->lc->dir, CA_LOCAL_CERT);
		goto out;
	}
	/* a throwaway key, only to encode what the key process signs */
	if ((l->ph = EVP_EC_gen("P-256")) == NULL) {
		log_ssl("ca.local.dir %s: out of memory", l->lc->dir);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pub);
	return rc;
}

void
local_kp_detach(struct local *l)
{
	if (l->own_kp)
		kproc_stop(l->kp);
	l->kp = NULL;
	l->own_kp = 0;
	EVP_PKEY_free(l->ph);
	l->ph = NULL;
}

/* der of what was built, sent, and the signed DER back; -1 logged. */
static int
local_kp_ask(struct local *l, uint8_t op, const unsigned char *der, int len,
    struct kproc_buf *ans)
{
	if (len <= 0) {
		log_ssl("local CA: cannot encode what the key process is to "
		    "sign");
		return -1;
	}
	return kproc_call(l->kp, op, der, (size_t)len, ans);
}

int
local_kp_sign_cert(struct local *l, X509 **x)
{
	struct kproc_buf ans = { NULL, 0 };
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *y = NULL;
	int len = -1, rc = -1;

	if (X509_sign(*x, l->ph, EVP_sha256()) > 0)
		len = i2d_X509(*x, &der);
	if (local_kp_ask(l, LKP_SIGN_CERT, der, len, &ans) == -1)
		goto out;
	p = ans.data;
	if (ans.len > LONG_MAX || (y = d2i_X509(NULL, &p, (long)ans.len)) ==
	    NULL || p != ans.data + ans.len ||
	    X509_verify(y, X509_get0_pubkey(l->cert)) != 1 ||
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(y),
	    X509_get0_serialNumber(*x)) != 0) {
		log_ssl("local CA: the CA key process answered with a "
		    "certificate that is not the one asked for, signed by "
		    "%s", CA_LOCAL_CERT);
		goto out;
	}
	X509_free(*x);
	*x = y;
	y = NULL;
	rc = 0;
out:
	X509_free(y);
	OPENSSL_free(der);
	kproc_buf_free(&ans);
	return rc;
}

int
local_kp_sign_crl(struct local *l, X509_CRL **crl)
{
	struct kproc_buf ans = { NULL, 0 };
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_CRL *y = NULL;
	int len = -1, rc = -1;

	if (X509_CRL_sign(*crl, l->ph, EVP_sha256()) > 0)
		len = i2d_X509_CRL(*crl, &der);
	if (local_kp_ask(l, LKP_SIGN_CRL, der, len, &ans) == -1)
		goto out;
	p = ans.data;
	if (ans.len > LONG_MAX || (y = d2i_X509_CRL(NULL, &p,
	    (long)ans.len)) == NULL || p != ans.data + ans.len ||
	    X509_CRL_verify(y, X509_get0_pubkey(l->cert)) != 1) {
		log_ssl("local CA: the CA key process answered with a CRL "
		    "not signed by %s", CA_LOCAL_CERT);
		goto out;
	}
	X509_CRL_free(*crl);
	*crl = y;
	y = NULL;
	rc = 0;
out:
	X509_CRL_free(y);
	OPENSSL_free(der);
	kproc_buf_free(&ans);
	return rc;
}
