/*
 * est_http.c — one request of the EST driver (est.c) through libcurl:
 * HTTPS only (RFC 7030 §3.3), the server verified (peer and host name)
 * against ca.est.tls_ca_file alone, no redirect followed, the answer
 * bounded to 1 MiB, HTTP Basic (§3.2.3) and/or a TLS client certificate
 * (§3.3.2); the status, Content-Type and Retry-After kept for est.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ca/est_priv.h"
#include "common/log.h"
#include "common/version.h"

void
est_answer_clear(struct est_answer *a)
{
	free(a->ctype);
	free(a->body.data);
	memset(a, 0, sizeof(*a));
}

static size_t
est_write(char *p, size_t sz, size_t n, void *arg)
{
	struct est_buf *b = arg;
	unsigned char *nd;

	n *= sz;
	if (n > EST_MAX_ANSWER - b->len) {
		b->toobig = 1;
		return 0;
	}
	if ((nd = realloc(b->data, b->len + n + 1)) == NULL)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * The options of one request on cu: URL, TLS (1.2 at least, verified, the
 * configured anchors and client certificate), HTTP Basic, the body as
 * application/pkcs10, the answer into a->body. *hdrs: the header list,
 * for the caller to free. 0, or -1 logged naming url.
 */
static int
est_setup(struct est *e, CURL *cu, const char *url, const char *body,
    struct curl_slist **hdrs, char *err, struct est_answer *a)
{
	*hdrs = curl_slist_append(NULL, "Accept: application/pkcs7-mime");
	if (body != NULL) {
		*hdrs = curl_slist_append(*hdrs,
		    "Content-Type: application/pkcs10");
		*hdrs = curl_slist_append(*hdrs,
		    "Content-Transfer-Encoding: base64");
	}
	if (*hdrs == NULL ||
	    curl_easy_setopt(cu, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_TIMEOUT, (long)e->c->timeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)EST_MAX_ANSWER) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_USERAGENT, version_user_agent()) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, *hdrs) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, est_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &a->body) != CURLE_OK) {
		log_err("EST %s: cannot set up the request", url);
		return -1;
	}
	/* tls_ca_file alone: no default CA bundle or directory */
	if (e->c->tls_ca_file != NULL &&
	    (curl_easy_setopt(cu, CURLOPT_CAINFO, e->c->tls_ca_file) !=
	    CURLE_OK || curl_easy_setopt(cu, CURLOPT_CAPATH, NULL) !=
	    CURLE_OK)) {
		log_err("EST %s: cannot use ca.est.tls_ca_file %s", url,
		    e->c->tls_ca_file);
		return -1;
	}
	if (e->c->client_cert != NULL &&
	    (curl_easy_setopt(cu, CURLOPT_SSLCERT, e->c->client_cert) !=
	    CURLE_OK || curl_easy_setopt(cu, CURLOPT_SSLKEY,
	    e->c->client_key ? e->c->client_key : e->c->client_cert) !=
	    CURLE_OK)) {
		log_err("EST %s: cannot use ca.est.client_cert %s", url,
		    e->c->client_cert);
		return -1;
	}
	if (e->pass != NULL &&
	    (curl_easy_setopt(cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_USERNAME, e->c->user) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_PASSWORD, e->pass) != CURLE_OK)) {
		log_err("EST %s: cannot set HTTP Basic authentication", url);
		return -1;
	}
	if (body != NULL &&
	    (curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) != CURLE_OK)) {
		log_err("EST %s: cannot set the request body", url);
		return -1;
	}
	return 0;
}

/* The status, Content-Type (lower-cased) and Retry-After of the answer. */
static int
est_answer_info(CURL *cu, const char *url, struct est_answer *a)
{
	const char *ct = NULL;
	curl_off_t ra = -1;
	size_t i;

	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &a->status);
	if (curl_easy_getinfo(cu, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL) {
		if ((a->ctype = strdup(ct)) == NULL) {
			log_err("EST %s: out of memory", url);
			return -1;
		}
		for (i = 0; a->ctype[i] != '\0'; i++)
			a->ctype[i] = (char)tolower((unsigned char)a->ctype[i]);
	}
	if (curl_easy_getinfo(cu, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		a->retry = ra > EST_RETRY_MAX ? EST_RETRY_MAX : (long)ra;
	return 0;
}

/*
 * One HTTPS request to {base}/{op}: a GET when body is NULL, else a POST of
 * body as application/pkcs10. 0 with the answer read (any status), -1
 * logged when there is no HTTP answer (connection, TLS, timeout, size).
 */
int
est_request(struct est *e, const char *op, const char *body,
    struct est_answer *a)
{
	char url[2048], err[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	CURL *cu = NULL;
	CURLcode cc;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	a->retry = -1;
	err[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s/%s", e->base, op) >=
	    sizeof(url)) {
		log_err("ca.est.url %s: too long", e->base);
		return -1;
	}
	if ((cu = curl_easy_init()) == NULL) {
		log_err("EST %s: cannot initialise libcurl", url);
		return -1;
	}
	if (est_setup(e, cu, url, body, &hdrs, err, a) == -1)
		goto out;
	if ((cc = curl_easy_perform(cu)) != CURLE_OK) {
		if (a->body.toobig || cc == CURLE_FILESIZE_EXCEEDED)
			log_err("EST %s: answer larger than %d bytes", url,
			    EST_MAX_ANSWER);
		else
			log_err("EST %s: %s%s%s", url,
			    curl_easy_strerror(cc), err[0] ? ": " : "", err);
		goto out;
	}
	if (est_answer_info(cu, url, a) == -1)
		goto out;
	rc = 0;
 out:
	if (rc == -1)
		est_answer_clear(a);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(cu);
	return rc;
}

