/*
 * cmp.c — the CMP driver (ca.driver = "cmp"): RFC 4210/9480 through
 * OpenSSL's own client (OSSL_CMP_*). Enrolment is a p10cr carrying our
 * PKCS#10 CSR; revocation is an rr. Messages are protected with a MAC
 * (ca.cmp.reference + the shared secret in ca.cmp.secret_file) or with a
 * signature (ca.cmp.client_cert + client_key); the server's signed answers
 * are authenticated by a pinned ca.cmp.server_cert or the ca.cmp.trusted
 * store, MAC-protected ones by the MAC. http:// and https:// (the server
 * verified with ca.cmp.tls_ca_file and its host name). A waiting status is
 * polled inside OpenSSL's exec for at most ca.cmp.timeout seconds; what is
 * still waiting then is reported as an error. Every issued certificate is
 * checked by ca_enrol() against the anchors of ca.cmp.ca_cert.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "common/log.h"
#include "common/x509.h"

struct cmp {
	const struct cfg_ca_cmp	*cc;
	OSSL_CMP_CTX		*ctx;
	SSL_CTX			*ssl;	/* https:// only */
	char			*host;
	int			 host_ip;	/* no SNI for an address */
	X509_STORE		*anchors;	/* ca.cmp.ca_cert */
};

/*
 * The last two lines OpenSSL's CMP client logged: some refusals (a sender
 * name that is not the pinned server's) are only logged, not queued as
 * errors, so these are the reason when the error queue is empty.
 */
static _Thread_local char cmp_said[2][160];

/* OpenSSL's CMP diagnostics, at our debug level. */
static int
cmp_log_cb(const char *func, const char *file, int line,
    OSSL_CMP_severity level, const char *msg)
{
	(void)func;
	(void)file;
	(void)line;
	(void)level;
	log_debug("cmp: %s", msg);
	memcpy(cmp_said[0], cmp_said[1], sizeof(cmp_said[0]));
	snprintf(cmp_said[1], sizeof(cmp_said[1]), "%s", msg);
	return 1;
}

static void
cmp_said_clear(void)
{
	memset(cmp_said, 0, sizeof(cmp_said));
	ERR_clear_error();
}

/* TLS under OpenSSL's HTTP client, for https:// URLs. */
static BIO *
cmp_tls_cb(BIO *bio, void *arg, int connect, int detail)
{
	struct cmp *c = arg;
	BIO *sbio = NULL;
	SSL *ssl = NULL;

	if (!connect || !detail)
		return bio;
	if ((ssl = SSL_new(c->ssl)) == NULL ||
	    (!c->host_ip && !SSL_set_tlsext_host_name(ssl, c->host)) ||
	    !SSL_set1_host(ssl, c->host) ||	/* an IP address too */
	    (sbio = BIO_new(BIO_f_ssl())) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	BIO_set_ssl(sbio, ssl, BIO_CLOSE);
	return BIO_push(sbio, bio);
}

static X509_STORE *
store_from(const char *path, const char *key)
{
	STACK_OF(X509) *certs = NULL;
	X509_STORE *st = NULL;
	int i, ok = 0;

	if ((certs = x509_load_file(path)) == NULL)
		return NULL;
	if ((st = X509_STORE_new()) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(certs, i)))
			goto out;
	ok = 1;
out:
	if (!ok) {
		log_ssl("%s: %s: cannot build a trust store", key, path);
		X509_STORE_free(st);
		st = NULL;
	}
	sk_X509_pop_free(certs, X509_free);
	return st;
}

/* The first certificate of path; NULL logged. */
static X509 *
cert_from(const char *path, const char *key)
{
	STACK_OF(X509) *certs;
	X509 *x;

	if ((certs = x509_load_file(path)) == NULL) {
		log_err("%s: %s: no certificate", key, path);
		return NULL;
	}
	x = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return x;
}

/* A private key file, held to the permissions of a secret. */
static EVP_PKEY *
key_from(const char *path, const char *key)
{
	EVP_PKEY *pk = NULL;
	BIO *b = NULL;
	char *pem = NULL;
	size_t len = 0;

	if (cfg_secret_read(path, key, &pem, &len) == -1)
		return NULL;
	if (len > INT_MAX || (b = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		log_ssl("%s: %s: not an unencrypted PEM private key", key,
		    path);
	BIO_free(b);
	cfg_secret_free(pem, len);
	return pk;
}

static int
cmp_url(struct cmp *c)
{
	const char *url = c->cc->url;
	char *port = NULL, *path = NULL;
	ASN1_OCTET_STRING *ip;
	int tls = 0, portnum = 0, rc = -1;

	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		log_err("ca.cmp.url %s: only http:// and https:// are "
		    "supported", url);
		return -1;
	}
	if (!OSSL_HTTP_parse_url(url, &tls, NULL, &c->host, &port, &portnum,
	    &path, NULL, NULL)) {
		log_ssl("ca.cmp.url %s: not a URL", url);
		goto out;
	}
	if (!OSSL_CMP_CTX_set1_server(c->ctx, c->host) ||
	    !OSSL_CMP_CTX_set_serverPort(c->ctx, portnum) ||
	    !OSSL_CMP_CTX_set1_serverPath(c->ctx, path)) {
		log_ssl("ca.cmp.url %s", url);
		goto out;
	}
	if (tls) {
		if ((ip = a2i_IPADDRESS(c->host)) != NULL)
			c->host_ip = 1;
		ASN1_OCTET_STRING_free(ip);
		ERR_clear_error();
		if ((c->ssl = SSL_CTX_new(TLS_client_method())) == NULL ||
		    !SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION)) {
			log_ssl("ca.cmp.url %s: TLS", url);
			goto out;
		}
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		if (c->cc->tls_ca_file != NULL ?
		    !SSL_CTX_load_verify_locations(c->ssl, c->cc->tls_ca_file,
		    NULL) : !SSL_CTX_set_default_verify_paths(c->ssl)) {
			log_ssl("ca.cmp.tls_ca_file %s: cannot load",
			    c->cc->tls_ca_file ? c->cc->tls_ca_file :
			    "(system default)");
			goto out;
		}
		/* OpenSSL 3.0 uses TLS when the http_cb argument is set */
		if (!OSSL_CMP_CTX_set_http_cb(c->ctx, cmp_tls_cb) ||
		    !OSSL_CMP_CTX_set_http_cb_arg(c->ctx, c)) {
			log_ssl("ca.cmp.url %s: TLS", url);
			goto out;
		}
	}
	rc = 0;
out:
	OPENSSL_free(port);
	OPENSSL_free(path);
	return rc;
}

/* MAC or signature protection of our requests; how to trust the answers. */
static int
cmp_protection(struct cmp *c)
{
	const struct cfg_ca_cmp *cc = c->cc;
	char *secret = NULL;
	size_t len = 0;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	X509_STORE *st = NULL;
	int rc = -1;

	if (cc->secret_file != NULL) {
		if (cc->reference == NULL) {
			log_err("ca.cmp.secret_file needs ca.cmp.reference "
			    "(the sender reference the CA knows the secret "
			    "by)");
			return -1;
		}
		if (cfg_secret_read(cc->secret_file, "ca.cmp.secret_file",
		    &secret, &len) == -1)
			return -1;
		if (len > INT_MAX || strlen(cc->reference) > INT_MAX ||
		    !OSSL_CMP_CTX_set1_referenceValue(c->ctx,
		    (const unsigned char *)cc->reference,
		    (int)strlen(cc->reference)) ||
		    !OSSL_CMP_CTX_set1_secretValue(c->ctx,
		    (const unsigned char *)secret, (int)len)) {
			log_ssl("ca.cmp.secret_file %s", cc->secret_file);
			goto out;
		}
	} else if (cc->client_cert != NULL && cc->client_key != NULL) {
		if ((x = cert_from(cc->client_cert, "ca.cmp.client_cert")) ==
		    NULL || (pk = key_from(cc->client_key,
		    "ca.cmp.client_key")) == NULL)
			goto out;
		if (!OSSL_CMP_CTX_set1_cert(c->ctx, x) ||
		    !OSSL_CMP_CTX_set1_pkey(c->ctx, pk)) {
			log_ssl("ca.cmp.client_key %s does not match "
			    "ca.cmp.client_cert %s", cc->client_key,
			    cc->client_cert);
			goto out;
		}
	} else {
		log_err("ca.cmp: set reference and secret_file (MAC "
		    "protection) or client_cert and client_key (signature "
		    "protection)");
		return -1;
	}
	if (cc->server_cert != NULL) {
		X509_free(x);
		if ((x = cert_from(cc->server_cert, "ca.cmp.server_cert")) ==
		    NULL || !OSSL_CMP_CTX_set1_srvCert(c->ctx, x)) {
			log_ssl("ca.cmp.server_cert %s", cc->server_cert);
			goto out;
		}
	} else if (cc->trusted != NULL) {
		if ((st = store_from(cc->trusted, "ca.cmp.trusted")) == NULL)
			goto out;
		if (!OSSL_CMP_CTX_set0_trustedStore(c->ctx, st)) {
			log_ssl("ca.cmp.trusted %s", cc->trusted);
			X509_STORE_free(st);
			goto out;
		}
	} else if (cc->secret_file == NULL) {
		log_err("ca.cmp: signature protection needs ca.cmp.server_cert "
		    "or ca.cmp.trusted to authenticate the CA's answers");
		goto out;
	}
	rc = 0;
out:
	if (secret != NULL)
		cfg_secret_free(secret, len);
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

static void
cmp_free(void *arg)
{
	struct cmp *c = arg;

	if (c == NULL)
		return;
	OSSL_CMP_CTX_free(c->ctx);	/* cleanses the secret */
	SSL_CTX_free(c->ssl);
	OPENSSL_free(c->host);
	X509_STORE_free(c->anchors);
	free(c);
}

static void *
cmp_new(const struct cfg *cfg)
{
	const struct cfg_ca_cmp *cc = &cfg->ca.cmp;
	struct cmp *c;

	if (cc->url == NULL) {
		log_err("ca.cmp.url is not set");
		return NULL;
	}
	if (cc->ca_cert == NULL) {
		log_err("ca.cmp.ca_cert is not set: the CA certificate that "
		    "issued certificates must chain to is required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("CMP %s: out of memory", cc->url);
		return NULL;
	}
	c->cc = cc;
	if ((c->anchors = store_from(cc->ca_cert, "ca.cmp.ca_cert")) == NULL)
		goto err;
	if ((c->ctx = OSSL_CMP_CTX_new(NULL, NULL)) == NULL ||
	    !OSSL_CMP_CTX_set_log_cb(c->ctx, cmp_log_cb) ||
	    !OSSL_CMP_CTX_set_option(c->ctx, OSSL_CMP_OPT_MSG_TIMEOUT,
	    cc->timeout) ||
	    !OSSL_CMP_CTX_set_option(c->ctx, OSSL_CMP_OPT_TOTAL_TIMEOUT,
	    cc->timeout) ||
	    !OSSL_CMP_CTX_set_option(c->ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM,
	    cc->implicit_confirm ? 1 : 0)) {
		log_ssl("CMP %s: cannot set up the client", cc->url);
		goto err;
	}
	if (cmp_url(c) == -1 || cmp_protection(c) == -1)
		goto err;
	return c;
err:
	cmp_free(c);
	return NULL;
}

/* The status the CA sent, for a message: "rejection; badCertTemplate; ...". */
static const char *
cmp_status(struct cmp *c, char *buf, size_t len)
{
	if (OSSL_CMP_CTX_get_status(c->ctx) < OSSL_CMP_PKISTATUS_accepted ||
	    OSSL_CMP_CTX_snprint_PKIStatus(c->ctx, buf, len) == NULL)
		return NULL;
	return buf;
}

/* Log a failed exchange once: the URL, what we did, the CA's status. */
static void
cmp_fail(struct cmp *c, const char *what, const char *whom)
{
	char buf[OSSL_CMP_PKISI_BUFLEN];
	const char *st = cmp_status(c, buf, sizeof(buf));
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_peek_error_data(&data, &flags);
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	if (!(flags & ERR_TXT_STRING) || data == NULL)
		data = "";
	if (why == NULL && cmp_said[1][0] != '\0') {
		why = "answer not accepted";
		log_err("CMP %s: %s %s failed: %s (%s%s%s)%s%s",
		    c->cc->url, what, whom, why, cmp_said[0],
		    cmp_said[0][0] ? "; " : "", cmp_said[1],
		    st ? "; CA status: " : "", st ? st : "");
		return;
	}
	log_ssl("CMP %s: %s %s failed: %s%s%s%s%s%s", c->cc->url, what,
	    whom, why ? why : "no answer", *data ? " (" : "", data,
	    *data ? ")" : "", st ? "; CA status: " : "", st ? st : "");
}

/* The CA certificates the answer carried (caPubs, extraCerts), no others. */
static STACK_OF(X509) *
cmp_chain(struct cmp *c, X509 *leaf)
{
	STACK_OF(X509) *in[2], *out;
	X509 *x;
	int i, j, k, dup;

	if ((out = sk_X509_new_null()) == NULL)
		return NULL;
	in[0] = OSSL_CMP_CTX_get1_caPubs(c->ctx);
	in[1] = OSSL_CMP_CTX_get1_extraCertsIn(c->ctx);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < sk_X509_num(in[i]); j++) {
			x = sk_X509_value(in[i], j);
			if (X509_cmp(x, leaf) == 0 || X509_check_ca(x) == 0)
				continue;	/* ours, or the CMP signer */
			for (dup = 0, k = 0; k < sk_X509_num(out); k++)
				if (X509_cmp(x, sk_X509_value(out, k)) == 0)
					dup = 1;
			if (dup || !X509_up_ref(x))
				continue;
			if (!sk_X509_push(out, x))
				X509_free(x);
		}
		sk_X509_pop_free(in[i], X509_free);
	}
	return out;
}

static int
cmp_enrol(void *arg, X509_REQ *csr, const char *mail, struct ca_result *res)
{
	struct cmp *c = arg;
	char buf[OSSL_CMP_PKISI_BUFLEN];
	X509 *x;
	int status, refused = 0;

	cmp_said_clear();
	if (!OSSL_CMP_CTX_reinit(c->ctx) ||
	    !OSSL_CMP_CTX_set1_oldCert(c->ctx, NULL) ||
	    !OSSL_CMP_CTX_set1_p10CSR(c->ctx, csr)) {
		log_ssl("CMP %s: cannot prepare the request for %s",
		    c->cc->url, mail);
		return -1;
	}
	x = OSSL_CMP_exec_P10CR_ses(c->ctx);
	status = OSSL_CMP_CTX_get_status(c->ctx);
	if (x == NULL && status == OSSL_CMP_PKISTATUS_rejection &&
	    OSSL_CMP_CTX_get0_newCert(c->ctx) == NULL) {
		if (OSSL_CMP_CTX_snprint_PKIStatus(c->ctx, buf,
		    sizeof(buf)) == NULL)
			strcpy(buf, "rejection");
		ERR_clear_error();
		log_info("CMP %s: request for %s rejected: %s", c->cc->url,
		    mail, buf);
		res->status = CA_REJECTED;
		if ((res->reason = strdup(buf)) == NULL) {
			log_err("CMP %s: out of memory", c->cc->url);
			return -1;
		}
		return 0;
	}
	if (x == NULL && status == OSSL_CMP_PKISTATUS_waiting) {
		log_err("CMP %s: request for %s still waiting after the "
		    "%d s of ca.cmp.timeout", c->cc->url, mail,
		    c->cc->timeout);
		ERR_clear_error();
		return -1;
	}
	/*
	 * OpenSSL refuses a certificate for another key itself and tells the
	 * CA so in certConf; ca_enrol()'s check then records it as refused.
	 */
	if (x == NULL && (x = OSSL_CMP_CTX_get0_newCert(c->ctx)) != NULL) {
		if (EVP_PKEY_eq(X509_get0_pubkey(x),
		    X509_REQ_get0_pubkey(csr)) == 1)
			x = NULL;
		else
			refused = 1;
	}
	if (x == NULL) {
		cmp_fail(c, "enrolment for", mail);
		return -1;
	}
	ERR_clear_error();
	if (!X509_up_ref(x) || (res->chain = cmp_chain(c, x)) == NULL) {
		log_err("CMP %s: out of memory", c->cc->url);
		X509_free(x);
		return -1;
	}
	res->status = CA_ISSUED;
	res->cert = x;
	log_info("CMP %s: certificate issued for %s%s", c->cc->url, mail,
	    refused ? " for another key (certConf told the CA it is refused)"
	    : "");
	return 0;
}

static int
cmp_poll(void *arg, const char *txid, struct ca_result *res)
{
	struct cmp *c = arg;

	(void)res;
	log_err("CMP %s: request %s: waiting requests are polled within "
	    "ca.cmp.timeout and never left pending", c->cc->url, txid);
	return -1;
}

static int
cmp_revoke(void *arg, X509 *cert, int reason)
{
	struct cmp *c = arg;
	char *serial = x509_serial_hex(cert);
	const char *sn = serial ? serial : "?";
	int rc = -1, fi;

	cmp_said_clear();
	if (!OSSL_CMP_CTX_reinit(c->ctx) ||
	    !OSSL_CMP_CTX_set1_p10CSR(c->ctx, NULL) ||
	    !OSSL_CMP_CTX_set1_oldCert(c->ctx, cert) ||
	    !OSSL_CMP_CTX_set_option(c->ctx, OSSL_CMP_OPT_REVOCATION_REASON,
	    reason)) {
		log_ssl("CMP %s: cannot prepare revocation of serial %s",
		    c->cc->url, sn);
		goto out;
	}
	if (OSSL_CMP_exec_RR_ses(c->ctx) == 1) {
		log_info("CMP %s: revoked serial %s (%s)", c->cc->url, sn,
		    ca_reason_str(reason));
		rc = 0;
		goto out;
	}
	/* revoking twice is not an error (RFC 4210 failInfo certRevoked) */
	fi = OSSL_CMP_CTX_get_failInfoCode(c->ctx);
	if (fi > 0 && (fi & (1 << OSSL_CMP_PKIFAILUREINFO_certRevoked))) {
		ERR_clear_error();
		log_info("CMP %s: serial %s was revoked already", c->cc->url,
		    sn);
		rc = 0;
		goto out;
	}
	cmp_fail(c, "revocation of serial", sn);
out:
	free(serial);
	return rc;
}

static X509_STORE *
cmp_trust(void *arg)
{
	return ((struct cmp *)arg)->anchors;
}

const struct ca_driver ca_driver_cmp = {
	.name = "cmp",
	.needs = "ca.cmp.url",
	.probe = ca_probe_cmp,
	.new = cmp_new,
	.enrol = cmp_enrol,
	.poll = cmp_poll,
	.revoke = cmp_revoke,
	.trust = cmp_trust,
	.free = cmp_free,
};
