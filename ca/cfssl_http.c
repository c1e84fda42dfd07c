/*
 * cfssl_http.c — the cfssl driver's exchange with cfssl: one POST through
 * libcurl (http or https, no redirects, the answer bounded to RESP_MAX),
 * cfssl's {"success", "result", "errors"} envelope checked by type, and a
 * sign answer turned into a ca_result (issued, or cfssl's refusal as
 * CA_REJECTED with its message).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/cfssl_priv.h"
#include "common/log.h"
#include "common/version.h"
#include "common/x509.h"

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	char *d;

	if (b->len + len > RESP_MAX) {
		b->overflow = 1;
		return 0;
	}
	if ((d = realloc(b->data, b->len + len + 1)) == NULL)
		return 0;
	memcpy(d + b->len, p, len);
	b->len += len;
	d[b->len] = '\0';
	b->data = d;
	return len;
}

/*
 * POST body (JSON) to url + path. 0 when the server answered (the status
 * in *code, the body in *resp), -1 logged naming the URL otherwise.
 */
int
cfssl_post(struct cfssl *c, const char *path, const char *body, long *code,
    struct buf *resp, char *url, size_t urlsz)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURL *h = NULL;
	CURLcode e;
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	snprintf(url, urlsz, "%s%s", c->url, path);
	if ((h = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL) {
		log_err("ca.cfssl.url %s: cannot set up libcurl", url);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, version_user_agent());
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->tls_ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->tls_ca_file);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if ((e = curl_easy_perform(h)) != CURLE_OK) {
		if (resp->overflow)
			log_err("ca.cfssl.url %s: answer larger than %d bytes",
			    url, RESP_MAX);
		else
			log_err("ca.cfssl.url %s: %s", url,
			    *errbuf ? errbuf : curl_easy_strerror(e));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	rc = 0;
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc == -1) {
		free(resp->data);
		memset(resp, 0, sizeof(*resp));
	}
	return rc;
}

/*
 * Read cfssl's envelope. 0 with *ok = success and *result (borrowed from
 * *root), or *msg (caller frees) holding the first error's code and
 * message when there is one; -1 if the body is not cfssl's JSON.
 */
int
cfssl_envelope(const struct buf *resp, json_t **root, int *ok, json_t **result,
    char **msg)
{
	json_t *s, *errs, *e0, *m, *code;
	json_error_t jerr;
	char tmp[MSG_MAX + 64];
	size_t i;

	*root = NULL;
	*result = NULL;
	*msg = NULL;
	*ok = 0;
	if (resp->data == NULL || (*root = json_loadb(resp->data, resp->len,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL || !json_is_object(*root))
		return -1;
	if (!json_is_boolean(s = json_object_get(*root, "success")))
		return -1;
	*ok = json_is_true(s);
	*result = json_object_get(*root, "result");
	errs = json_object_get(*root, "errors");
	if (json_is_array(errs) && json_array_size(errs) > 0 &&
	    json_is_object(e0 = json_array_get(errs, 0)) &&
	    json_is_string(m = json_object_get(e0, "message"))) {
		code = json_object_get(e0, "code");
		if (json_is_integer(code))
			snprintf(tmp, sizeof(tmp), "cfssl error %lld: %.*s",
			    (long long)json_integer_value(code), MSG_MAX,
			    json_string_value(m));
		else
			snprintf(tmp, sizeof(tmp), "cfssl error: %.*s",
			    MSG_MAX, json_string_value(m));
		for (i = 0; tmp[i] != '\0'; i++)
			if (!isprint((unsigned char)tmp[i]))
				tmp[i] = '?';
		if ((*msg = strdup(tmp)) == NULL)
			return -1;
	}
	return 0;
}

/* The PEM certificate(s) of result.certificate, leaf first, into res. */
static int
take_cert(const char *url, json_t *result, struct ca_result *res)
{
	json_t *pem;
	BIO *b = NULL;
	X509 *x;
	int rc = -1;

	if (!json_is_object(result) || !json_is_string(pem =
	    json_object_get(result, "certificate"))) {
		log_err("ca.cfssl.url %s: success without result.certificate",
		    url);
		goto out;
	}
	if ((b = BIO_new_mem_buf(json_string_value(pem),
	    (int)json_string_length(pem))) == NULL ||
	    (res->chain = sk_X509_new_null()) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (res->cert == NULL)
			res->cert = x;
		else if (!sk_X509_push(res->chain, x)) {
			X509_free(x);
			goto out;
		}
	}
	ERR_clear_error();
	if (res->cert == NULL) {
		log_err("ca.cfssl.url %s: result.certificate is not a PEM "
		    "certificate", url);
		goto out;
	}
	res->status = CA_ISSUED;
	rc = 0;
out:
	BIO_free(b);
	if (rc == -1)
		ca_result_clear(res);
	return rc;
}

int
cfssl_answer(const char *url, long code, const char *body, size_t blen,
    const char *mail, struct ca_result *res)
{
	struct buf resp = { (char *)body, blen, 0 };
	json_t *root = NULL, *result;
	char *msg = NULL;
	size_t len;
	int rc = -1, ok;

	if (cfssl_envelope(&resp, &root, &ok, &result, &msg) == -1) {
		log_err("ca.cfssl.url %s: HTTP %ld: the answer is not cfssl's "
		    "JSON (%zu bytes)", url, code, blen);
		goto out;
	}
	if (code == 200 && ok) {
		rc = take_cert(url, result, res);
		goto out;
	}
	if (msg == NULL) {
		log_err("ca.cfssl.url %s: HTTP %ld, success %s, and no error "
		    "message", url, code, ok ? "true" : "false");
		goto out;
	}
	log_warn("ca.cfssl.url %s: enrol %s refused: HTTP %ld: %s", url,
	    mail, code, msg);
	res->status = CA_REJECTED;
	len = strlen(url) + strlen(msg) + 32;
	if ((res->reason = malloc(len)) == NULL)
		goto out;
	snprintf(res->reason, len, "%s: HTTP %ld: %s", url, code, msg);
	rc = 0;
out:
	if (rc == -1)
		ca_result_clear(res);
	json_decref(root);
	free(msg);
	return rc;
}
