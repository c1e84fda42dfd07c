/*
 * est.c — RFC 7030 Enrollment over Secure Transport (ca.driver = "est")
 * through libcurl. Only HTTPS is spoken (§3.3), the server is verified
 * (peer and host name) against ca.est.tls_ca_file alone (the system store
 * only when it is unset), no redirect is followed, answers are bounded to
 * 1 MiB, and the client authenticates with HTTP Basic
 * (ca.est.user + password_file, §3.2.3) and/or a TLS client certificate
 * (ca.est.client_cert + client_key, §3.3.2).
 *
 * enrol: POST {url}/simpleenroll, the base64 DER PKCS#10 as
 * application/pkcs10 (§4.2.1); 200 carries a base64 certs-only
 * application/pkcs7-mime (§4.2.3) whose certificate with the CSR's public
 * key is the leaf, the rest chain (no such certificate: the first is
 * returned and ca_enrol()'s check refuses it); 202 is pending with
 * Retry-After (default 60 s); 401 is an authentication failure; another
 * 4xx is a rejection carrying the server's text.
 * poll: §4.2.3 has the client repeat the same request, so the transaction
 * id is the request body itself (base64 DER of the CSR, one line).
 * revoke: EST has none; it fails saying so.
 * trust: the anchors in ca.est.ca_cert; when that is unset, the
 * self-signed certificates of GET {url}/cacerts (§4.1), which is explicit
 * trust-anchor bootstrapping (§4.1.1) and therefore allowed only when
 * ca.est.tls_ca_file is set, so that the TLS server that sent them was
 * verified against an anchor the operator chose, never the system store.
 * Its other certificates are offered as intermediates.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/est_priv.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/x509.h"

/* Base64 (RFC 4648, whitespace tolerated) to bytes; caller frees. */
static unsigned char *
b64_decode(const unsigned char *in, size_t inlen, size_t *outlen)
{
	unsigned char *s = NULL, *d = NULL;
	size_t i, n = 0, pad = 0;
	int r;

	if ((s = malloc(inlen + 1)) == NULL)
		return NULL;
	for (i = 0; i < inlen; i++)
		if (!isspace(in[i]))
			s[n++] = in[i];
	if (n == 0 || n % 4 != 0 || n > INT32_MAX)
		goto fail;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	if ((d = malloc(n / 4 * 3 + 1)) == NULL)
		goto fail;
	if ((r = EVP_DecodeBlock(d, s, (int)n)) < 0 || (size_t)r < pad)
		goto fail;
	*outlen = (size_t)r - pad;
	free(s);
	return d;
 fail:
	free(s);
	free(d);
	return NULL;
}

/* The certificates of a base64 certs-only answer; NULL logged. */
static STACK_OF(X509) *
answer_certs(const char *url, const struct est_answer *a)
{
	STACK_OF(X509) *certs = NULL;
	unsigned char *der = NULL;
	size_t len = 0;

	if (a->ctype == NULL ||
	    strncmp(a->ctype, "application/pkcs7-mime", 22) != 0 ||
	    (a->ctype[22] != '\0' && a->ctype[22] != ';' &&
	    a->ctype[22] != ' ')) {
		log_err("EST %s: HTTP %ld: Content-Type %s, not "
		    "application/pkcs7-mime", url, a->status,
		    a->ctype ? a->ctype : "missing");
		return NULL;
	}
	if ((der = b64_decode(a->body.data, a->body.len, &len)) == NULL ||
	    (certs = x509_certsonly_parse(der, len)) == NULL ||
	    sk_X509_num(certs) == 0) {
		log_err("EST %s: HTTP %ld: the answer is not a base64 "
		    "certs-only PKCS#7 with a certificate", url, a->status);
		sk_X509_pop_free(certs, X509_free);
		certs = NULL;
	}
	free(der);
	return certs;
}

/* Fetch /cacerts and keep its self-signed certificates as anchors. */
static int
est_cacerts(struct est *e)
{
	struct est_answer a;
	STACK_OF(X509) *certs = NULL;
	X509_STORE *st = NULL;
	X509 *x;
	char url[2048];
	int n = 0, rc = -1;

	snprintf(url, sizeof(url), "%s/cacerts", e->base);
	if (e->c->tls_ca_file == NULL) {
		log_err("EST %s: neither ca.est.ca_cert nor ca.est.tls_ca_file "
		    "is set; trust-anchor bootstrapping from /cacerts needs a "
		    "TLS server verified against tls_ca_file (RFC 7030 "
		    "§4.1.1)", url);
		return -1;
	}
	if (est_request(e, "cacerts", NULL, &a) == -1)
		return -1;
	if (a.status != 200) {
		log_err("EST %s: HTTP %ld%s", url, a.status, a.status == 401 ?
		    ": authentication failed" : "");
		goto out;
	}
	if ((certs = answer_certs(url, &a)) == NULL)
		goto out;
	if ((st = X509_STORE_new()) == NULL ||
	    (e->extra = sk_X509_new_null()) == NULL)
		goto out;
	while ((x = sk_X509_shift(certs)) != NULL) {
		if (X509_check_issued(x, x) == X509_V_OK) {
			if (!X509_STORE_add_cert(st, x)) {
				X509_free(x);
				goto out;
			}
			X509_free(x);
			n++;
		} else if (!sk_X509_push(e->extra, x)) {
			X509_free(x);
			goto out;
		}
	}
	if (n == 0) {
		log_err("EST %s: no self-signed CA certificate in the answer; "
		    "set ca.est.ca_cert", url);
		goto out;
	}
	log_info("EST %s: %d trust anchor(s) taken over the verified TLS "
	    "channel", url, n);
	e->store = st;
	st = NULL;
	rc = 0;
 out:
	if (rc == -1 && e->extra != NULL) {
		sk_X509_pop_free(e->extra, X509_free);
		e->extra = NULL;
	}
	X509_STORE_free(st);
	sk_X509_pop_free(certs, X509_free);
	est_answer_clear(&a);
	return rc;
}

/* The server's text, bounded and printable, for a rejection reason. */
static char *
reason_text(long status, const struct est_buf *b)
{
	char text[EST_REASON_MAX + 1], *r;
	size_t i, n = 0;
	int len;

	for (i = 0; i < b->len && n < EST_REASON_MAX; i++) {
		if (b->data[i] == '\r' || b->data[i] == '\n' ||
		    b->data[i] == '\t')
			text[n++] = ' ';
		else if (b->data[i] >= 0x20 && b->data[i] < 0x7f)
			text[n++] = (char)b->data[i];
		else
			text[n++] = '?';
	}
	while (n > 0 && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	len = snprintf(NULL, 0, "EST server refused (HTTP %ld)%s%s", status,
	    n ? ": " : "", text);
	if ((r = malloc((size_t)len + 1)) != NULL)
		snprintf(r, (size_t)len + 1, "EST server refused (HTTP %ld)%s%s",
		    status, n ? ": " : "", text);
	return r;
}

/*
 * An answer of /simpleenroll at url into res: 200 the certificates (the one
 * with csr's key first, then extra), 202 pending with body as the poll id,
 * 4xx a rejection with the server's text. 0, or -1 logged.
 */
int
est_answer_take(const char *url, const struct est_answer *a, const char *body,
    X509_REQ *csr, STACK_OF(X509) *extra, struct ca_result *res)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *pk;
	X509 *x;
	int i, leaf = 0, rc = -1;

	switch (a->status) {
	case 200:
		break;
	case 202:
		res->status = CA_PENDING;
		res->retry_after = time(NULL) +
		    (a->retry > 0 && a->retry <= EST_RETRY_MAX ? a->retry :
		    EST_RETRY_DFLT);
		if ((res->txid = strdup(body)) == NULL) {
			log_err("EST %s: out of memory", url);
			goto out;
		}
		log_info("EST %s: HTTP 202: pending, retry in %ld s", url,
		    (long)(res->retry_after - time(NULL)));
		rc = 0;
		goto out;
	case 401:
		log_err("EST %s: HTTP 401: authentication failed (check "
		    "ca.est.user and password_file, or client_cert)", url);
		goto out;
	default:
		if (a->status >= 400 && a->status < 500) {
			res->status = CA_REJECTED;
			if ((res->reason = reason_text(a->status, &a->body)) ==
			    NULL) {
				log_err("EST %s: out of memory", url);
				goto out;
			}
			log_warn("EST %s: %s", url, res->reason);
			rc = 0;
		} else
			log_err("EST %s: HTTP %ld: %s", url, a->status,
			    a->status >= 500 ? "server error" :
			    "unexpected answer");
		goto out;
	}
	if ((certs = answer_certs(url, a)) == NULL)
		goto out;
	pk = csr != NULL ? X509_REQ_get0_pubkey(csr) : NULL;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (pk != NULL &&
		    EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)),
		    pk) == 1) {
			leaf = i;
			break;
		}
	res->cert = sk_X509_delete(certs, leaf);
	for (i = 0; extra != NULL && i < sk_X509_num(extra); i++) {
		x = sk_X509_value(extra, i);
		if (!X509_up_ref(x))
			goto out;
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			goto out;
		}
	}
	res->chain = certs;
	certs = NULL;
	res->status = CA_ISSUED;
	rc = 0;
 out:
	if (rc == -1)
		ca_result_clear(res);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* POST body (base64 DER CSR) to /simpleenroll and read the answer. */
static int
est_simpleenroll(struct est *e, X509_REQ *csr, const char *body,
    struct ca_result *res)
{
	struct est_answer a;
	char url[2048];
	int rc;

	snprintf(url, sizeof(url), "%s/simpleenroll", e->base);
	if (e->store == NULL && e->c->ca_cert == NULL && est_cacerts(e) == -1)
		return -1;
	if (est_request(e, "simpleenroll", body, &a) == -1)
		return -1;
	rc = est_answer_take(url, &a, body, csr, e->extra, res);
	est_answer_clear(&a);
	return rc;
}

static int
est_enrol(void *ctx, X509_REQ *csr, const char *mail, struct ca_result *res)
{
	unsigned char *der = NULL;
	char *body = NULL;
	int len, rc = -1;

	(void)mail;	/* the address travels in the CSR's extensionRequest */
	if ((len = i2d_X509_REQ(csr, &der)) <= 0) {
		log_ssl("EST %s: cannot encode the CSR",
		    ((struct est *)ctx)->base);
		goto out;
	}
	if ((body = malloc(((size_t)len + 2) / 3 * 4 + 1)) == NULL) {
		log_err("EST %s: out of memory", ((struct est *)ctx)->base);
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)body, der, len);
	rc = est_simpleenroll(ctx, csr, body, res);
 out:
	OPENSSL_free(der);
	free(body);
	return rc;
}

static int
est_poll(void *ctx, const char *txid, struct ca_result *res)
{
	struct est *e = ctx;
	const unsigned char *p;
	unsigned char *der = NULL;
	X509_REQ *csr = NULL;
	size_t len = 0;
	int rc = -1;

	if ((der = b64_decode((const unsigned char *)txid, strlen(txid),
	    &len)) == NULL || len > INT32_MAX ||
	    (p = der, csr = d2i_X509_REQ(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		log_err("EST %s: poll: the transaction id is not a base64 "
		    "PKCS#10 request", e->base);
		goto out;
	}
	rc = est_simpleenroll(e, csr, txid, res);
 out:
	X509_REQ_free(csr);
	free(der);
	return rc;
}

static int
est_revoke(void *ctx, X509 *cert, int reason)
{
	struct est *e = ctx;
	char *serial = x509_serial_hex(cert);

	log_err("EST %s: RFC 7030 has no revocation; ask the CA operator to "
	    "revoke serial %s (%s)", e->base, serial ? serial : "?",
	    ca_reason_str(reason));
	free(serial);
	return -1;
}

static X509_STORE *
est_trust(void *ctx)
{
	struct est *e = ctx;

	if (e->store == NULL)
		(void)est_cacerts(e);
	return e->store;
}

static void
est_free(void *ctx)
{
	struct est *e = ctx;

	if (e == NULL)
		return;
	if (e->pass != NULL)
		cfg_secret_free(e->pass, e->passlen);
	X509_STORE_free(e->store);
	sk_X509_pop_free(e->extra, X509_free);
	free(e->base);
	free(e);
	curl_global_cleanup();
}

static void *
est_new(const struct cfg *cfg)
{
	const struct cfg_ca_est *c = &cfg->ca.est;
	STACK_OF(X509) *anchors = NULL;
	struct est *e = NULL;
	size_t n;
	int i, ok = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("ca.est.url %s: cannot initialise libcurl", c->url);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_err("ca.est.url %s: out of memory", c->url);
		curl_global_cleanup();
		return NULL;
	}
	e->c = c;
	if (strncasecmp(c->url, "https://", 8) != 0) {
		log_err("ca.est.url %s: EST is spoken over HTTPS only "
		    "(RFC 7030 §3.3)", c->url);
		goto out;
	}
	if ((e->base = strdup(c->url)) == NULL) {
		log_err("ca.est.url %s: out of memory", c->url);
		goto out;
	}
	for (n = strlen(e->base); n > 8 && e->base[n - 1] == '/'; n--)
		e->base[n - 1] = '\0';
	if ((c->user == NULL) != (c->password_file == NULL)) {
		log_err("ca.est.url %s: ca.est.user and ca.est.password_file "
		    "go together", c->url);
		goto out;
	}
	if (c->client_key != NULL && c->client_cert == NULL) {
		log_err("ca.est.url %s: ca.est.client_key without "
		    "ca.est.client_cert", c->url);
		goto out;
	}
	if (c->password_file != NULL && cfg_secret_read(c->password_file,
	    "ca.est.password_file", &e->pass, &e->passlen) == -1)
		goto out;
	if (c->ca_cert != NULL) {
		if ((anchors = x509_load_file(c->ca_cert)) == NULL)
			goto out;
		if ((e->store = X509_STORE_new()) == NULL) {
			log_err("ca.est.ca_cert %s: out of memory", c->ca_cert);
			goto out;
		}
		for (i = 0; i < sk_X509_num(anchors); i++)
			if (!X509_STORE_add_cert(e->store,
			    sk_X509_value(anchors, i))) {
				log_ssl("ca.est.ca_cert %s: cannot add "
				    "certificate %d", c->ca_cert, i + 1);
				goto out;
			}
	} else if (c->tls_ca_file == NULL) {
		log_err("ca.est.url %s: set ca.est.ca_cert, or "
		    "ca.est.tls_ca_file to take the anchors from /cacerts "
		    "(RFC 7030 §4.1.1)", c->url);
		goto out;
	}
	ok = 1;
 out:
	sk_X509_pop_free(anchors, X509_free);
	if (!ok) {
		est_free(e);
		return NULL;
	}
	return e;
}

const struct ca_driver ca_driver_est = {
	.name = "est",
	.needs = "ca.est.url",
	.probe = ca_probe_est,
	.new = est_new,
	.enrol = est_enrol,
	.poll = est_poll,
	.revoke = est_revoke,
	.trust = est_trust,
	.free = est_free,
};
