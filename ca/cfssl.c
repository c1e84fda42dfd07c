/*
 * cfssl.c — the cfssl driver (ca.driver = "cfssl"): cfssl's HTTP API
 * through libcurl, JSON through jansson. Enrolment POSTs the CSR to
 * {url}/api/v1/cfssl/sign, or, with ca.cfssl.auth_key_file, to
 * /api/v1/cfssl/authsign wrapped as {"token": base64(HMAC-SHA256(key,
 * request)), "request": base64(request)}; revocation POSTs
 * /api/v1/cfssl/revoke with the serial in decimal and an empty
 * authority_key_id, the way cfssl 1.2.0's certdb stores them. Every answer
 * is {"success", "result", "errors": [{"code", "message"}]}, checked by
 * type; cfssl's own refusal becomes CA_REJECTED with its message, anything
 * unreadable an error naming the URL. The anchors come from
 * ca.cfssl.ca_cert only. The exchange itself is in cfssl_http.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"
#include "common/version.h"
#include "ca/cfssl_priv.h"

/* cfssl's reason names (ocsp.ReasonStringToCode), by RFC 5280 code. */
static const char *const cfssl_reasons[] = {
	"unspecified", "keycompromise", "cacompromise", "affiliationchanged",
	"superseded", "cessationofoperation", "certificatehold", NULL,
	"removefromcrl", "privilegewithdrawn", "aacompromise",
};

static char *
b64(const unsigned char *in, size_t len)
{
	char *out;

	if (len > (1 << 24) || (out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* {"token", "request"} of /authsign around the sign request req. */
static char *
authsign_body(struct cfssl *c, const char *req)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *tok = NULL, *r64 = NULL, *body = NULL;
	json_t *o = NULL;

	if (HMAC(EVP_sha256(), c->key, (int)c->keylen,
	    (const unsigned char *)req, strlen(req), mac, &maclen) == NULL ||
	    (tok = b64(mac, maclen)) == NULL ||
	    (r64 = b64((const unsigned char *)req, strlen(req))) == NULL ||
	    (o = json_pack("{s:s, s:s}", "token", tok, "request",
	    r64)) == NULL)
		goto out;
	body = json_dumps(o, JSON_COMPACT);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(o);
	free(tok);
	free(r64);
	return body;
}

/*
 * "hosts" overrides the CSR's subjectAltName in cfssl's sign: mail, then
 * the person's other addresses as our CSR names them (the aliases).
 * NULL when out of memory (json_pack then fails).
 */
static json_t *
cfssl_hosts(X509_REQ *csr, const char *mail)
{
	json_t *a;
	char **req;
	size_t i, n = 0;

	if ((a = json_array()) == NULL ||
	    json_array_append_new(a, json_string(mail)) == -1) {
		json_decref(a);
		return NULL;
	}
	req = x509_req_addrs(csr, &n);
	for (i = 0; i < n; i++)
		if (strcasecmp(req[i], mail) != 0 &&
		    json_array_append_new(a, json_string(req[i])) == -1) {
			json_decref(a);
			a = NULL;
			break;
		}
	x509_addrs_free(req);
	return a;
}

static int
cfssl_enrol(void *ctx, X509_REQ *csr, const char *mail, struct ca_result *res)
{
	struct cfssl *c = ctx;
	struct buf resp = { 0 };
	json_t *req = NULL;
	char url[2048], *pem, *reqs = NULL, *body = NULL;
	const char *profile = c->profile;
	enum keys_purpose purpose = keys_csr_purpose(csr, NULL);
	BIO *b = NULL;
	long len, code = 0;
	int rc = -1;

	/* cfssl issues by profile: a signing request (keys.separate_signing)
	 * names the signing one; the answer check holds both to their use */
	if (purpose == KEYS_SIGN || purpose == KEYS_SIGN_NR)
		profile = c->signing_profile;
	snprintf(url, sizeof(url), "%s%s", c->url,
	    c->key ? PATH_AUTHSIGN : PATH_SIGN);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(b, csr) ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		log_ssl("ca.cfssl.url %s: enrol %s: cannot encode the CSR",
		    url, mail);
		goto out;
	}
	if ((req = json_pack("{s:s%, s:o}", "certificate_request", pem,
	    (size_t)len, "hosts", cfssl_hosts(csr, mail))) == NULL ||
	    (profile != NULL && json_object_set_new(req, "profile",
	    json_string(profile)) == -1) ||
	    (c->label != NULL && json_object_set_new(req, "label",
	    json_string(c->label)) == -1) ||
	    (reqs = json_dumps(req, JSON_COMPACT)) == NULL ||
	    (body = c->key ? authsign_body(c, reqs) : strdup(reqs)) == NULL) {
		log_err("ca.cfssl.url %s: enrol %s: cannot build the request",
		    url, mail);
		goto out;
	}
	if (cfssl_post(c, c->key ? PATH_AUTHSIGN : PATH_SIGN, body, &code, &resp,
	    url, sizeof(url)) == -1)
		goto out;
	rc = cfssl_answer(url, code, resp.data, resp.len, mail, res);
out:
	if (rc == -1)
		ca_result_clear(res);
	json_decref(req);
	free(resp.data);
	free(body);
	free(reqs);
	BIO_free(b);
	return rc;
}

static int
cfssl_poll(void *ctx, const char *txid, struct ca_result *res)
{
	(void)res;
	log_err("ca.cfssl.url %s: request %s: cfssl signs at once and never "
	    "leaves a request pending", ((struct cfssl *)ctx)->url, txid);
	return -1;
}

/*
 * One revoke request. 0 revoked, 1 refused by cfssl (*msg its message,
 * caller frees), -1 logged otherwise.
 */
static int
revoke_once(struct cfssl *c, const char *dec, const char *aki,
    const char *reason, char *url, size_t urlsz, long *code, char **msg)
{
	struct buf resp = { 0 };
	json_t *req = NULL, *root = NULL, *result;
	char *body = NULL;
	int rc = -1, ok;

	if ((req = json_pack("{s:s, s:s, s:s}", "serial", dec,
	    "authority_key_id", aki, "reason", reason)) == NULL ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		log_err("ca.cfssl.url %s%s: revoke %s: cannot build the "
		    "request", c->url, PATH_REVOKE, dec);
		goto out;
	}
	if (cfssl_post(c, PATH_REVOKE, body, code, &resp, url, urlsz) == -1)
		goto out;
	if (cfssl_envelope(&resp, &root, &ok, &result, msg) == -1) {
		log_err("ca.cfssl.url %s: revoke serial %s: HTTP %ld: the "
		    "answer is not cfssl's JSON", url, dec, *code);
		goto out;
	}
	rc = *code == 200 && ok ? 0 : 1;
out:
	json_decref(root);
	json_decref(req);
	free(resp.data);
	free(body);
	return rc;
}

/* Lower-case hex of the certificate's AKI keyIdentifier, or "". */
static char *
aki_hex(X509 *cert)
{
	const ASN1_OCTET_STRING *id = X509_get0_authority_key_id(cert);
	const unsigned char *p;
	char *s;
	int i, n;

	n = id ? ASN1_STRING_length(id) : 0;
	if ((s = malloc(2 * (size_t)n + 1)) == NULL)
		return NULL;
	s[0] = '\0';
	p = n ? ASN1_STRING_get0_data(id) : NULL;
	for (i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	return s;
}

static int
cfssl_revoke(void *ctx, X509 *cert, int reason)
{
	struct cfssl *c = ctx;
	BIGNUM *bn = NULL;
	char url[2048], *dec = NULL, *aki = NULL, *msg = NULL, *msg2 = NULL;
	long code = 0;
	int rc = -1, r;

	snprintf(url, sizeof(url), "%s%s", c->url, PATH_REVOKE);
	if (reason < 0 || (size_t)reason >= sizeof(cfssl_reasons) /
	    sizeof(cfssl_reasons[0]) || cfssl_reasons[reason] == NULL) {
		log_err("ca.cfssl.url %s: reason %d has no cfssl name", url,
		    reason);
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert),
	    NULL)) == NULL || (dec = BN_bn2dec(bn)) == NULL ||
	    (aki = aki_hex(cert)) == NULL) {
		log_ssl("ca.cfssl.url %s: revoke: unreadable certificate", url);
		goto out;
	}
	/*
	 * cfssl 1.2.0 records an empty authority_key_identifier and finds
	 * the certificate only by that; later versions store the AKI.
	 */
	r = revoke_once(c, dec, "", cfssl_reasons[reason], url, sizeof(url),
	    &code, &msg);
	if (r == 1 && *aki != '\0')
		r = revoke_once(c, dec, aki, cfssl_reasons[reason], url,
		    sizeof(url), &code, &msg2);
	if (r == 1) {
		log_err("ca.cfssl.url %s: revoke serial %s: HTTP %ld: %s", url,
		    dec, code, msg ? msg : "refused without a message");
		goto out;
	}
	if (r == -1)
		goto out;
	log_info("ca.cfssl.url %s: revoked serial %s (%s)", url, dec,
	    cfssl_reasons[reason]);
	rc = 0;
out:
	free(msg);
	free(msg2);
	free(aki);
	OPENSSL_free(dec);
	BN_free(bn);
	return rc;
}

static X509_STORE *
cfssl_trust(void *ctx)
{
	return ((struct cfssl *)ctx)->store;
}

static void
cfssl_free(void *ctx)
{
	struct cfssl *c = ctx;

	if (c == NULL)
		return;
	if (c->key != NULL)
		OPENSSL_clear_free(c->key, c->keylen);
	X509_STORE_free(c->store);
	free(c->url);
	free(c->profile);
	free(c->signing_profile);
	free(c->label);
	free(c->tls_ca_file);
	free(c);
}

/* The hex key of ca.cfssl.auth_key_file (as in cfssl's auth_keys). */
static int
load_key(struct cfssl *c, const char *path)
{
	char *hex = NULL;
	size_t len = 0, i, n = 0;
	int rc = -1, hi, lo;

	if (cfg_secret_read(path, "ca.cfssl.auth_key_file", &hex, &len) == -1)
		return -1;
	while (len > 0 && isspace((unsigned char)hex[len - 1]))
		len--;
	if (len == 0 || len % 2 != 0 ||
	    (c->key = OPENSSL_malloc(len / 2)) == NULL) {
		log_err("ca.cfssl.auth_key_file %s: not a hex key (an even "
		    "number of hex digits, as in cfssl's auth_keys)", path);
		goto out;
	}
	for (i = 0; i < len; i += 2) {
		hi = OPENSSL_hexchar2int((unsigned char)hex[i]);
		lo = OPENSSL_hexchar2int((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0) {
			log_err("ca.cfssl.auth_key_file %s: not a hex key",
			    path);
			goto out;
		}
		c->key[n++] = (unsigned char)(hi << 4 | lo);
	}
	c->keylen = n;
	rc = 0;
out:
	if (rc == -1 && c->key != NULL) {
		OPENSSL_clear_free(c->key, len / 2);
		c->key = NULL;
	}
	cfg_secret_free(hex, len);
	return rc;
}

static int
dup_opt(char **dst, const char *src)
{
	return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -1;
}

static void *
cfssl_new(const struct cfg *cfg)
{
	const struct cfg_ca_cfssl *cc = &cfg->ca.cfssl;
	STACK_OF(X509) *anchors = NULL;
	struct cfssl *c = NULL;
	size_t len;
	int i, ok = 0;

	if (cc->url == NULL || (strncmp(cc->url, "http://", 7) != 0 &&
	    strncmp(cc->url, "https://", 8) != 0)) {
		log_err("ca.cfssl.url %s: must be an http:// or https:// URL",
		    cc->url ? cc->url : "(not set)");
		goto out;
	}
	if (cc->ca_cert == NULL) {
		log_err("ca.cfssl.ca_cert is not set: the cfssl driver needs "
		    "the CA certificate its certificates must chain to");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("ca.cfssl.url %s: libcurl does not start", cc->url);
		goto out;
	}
	if ((anchors = x509_load_file(cc->ca_cert)) == NULL)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    dup_opt(&c->url, cc->url) == -1 ||
	    dup_opt(&c->profile, cc->profile) == -1 ||
	    dup_opt(&c->signing_profile, cc->signing_profile) == -1 ||
	    dup_opt(&c->label, cc->label) == -1 ||
	    dup_opt(&c->tls_ca_file, cc->tls_ca_file) == -1 ||
	    (c->store = X509_STORE_new()) == NULL) {
		log_err("ca.cfssl.url %s: out of memory", cc->url);
		goto out;
	}
	len = strlen(c->url);
	while (len > 0 && c->url[len - 1] == '/')
		c->url[--len] = '\0';
	c->timeout = cc->timeout > 0 ? cc->timeout : 30;
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(c->store, sk_X509_value(anchors,
		    i)) != 1) {
			log_ssl("ca.cfssl.ca_cert %s: cannot use certificate "
			    "%d", cc->ca_cert, i + 1);
			goto out;
		}
	if (cc->auth_key_file != NULL && load_key(c, cc->auth_key_file) == -1)
		goto out;
	ok = 1;
out:
	sk_X509_pop_free(anchors, X509_free);
	if (!ok) {
		cfssl_free(c);
		c = NULL;
	}
	return c;
}

const struct ca_driver ca_driver_cfssl = {
	.name = "cfssl",
	.needs = "ca.cfssl.url",
	.probe = ca_probe_cfssl,
	.new = cfssl_new,
	.enrol = cfssl_enrol,
	.poll = cfssl_poll,
	.revoke = cfssl_revoke,
	.trust = cfssl_trust,
	.free = cfssl_free,
};
