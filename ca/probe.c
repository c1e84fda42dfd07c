/*
 * probe.c — `smimepub doctor`'s look at the CA: reached through the
 * configured driver with a request that issues nothing. local: the key is
 * readable, private (0600/0400) and belongs to the certificate, and the
 * index opens (local_open does all of it); cfssl: POST /api/v1/cfssl/info
 * (the signer's certificate); est: GET {url}/cacerts (RFC 7030 §4.1);
 * cmp: an HTTP round trip to the server (an empty POST, which it answers
 * with an error: reached, but the protection of a request is not tried,
 * as a genm would need the MAC secret or client key sent); exec: the
 * helper is an executable file.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "common/log.h"
#include "common/version.h"

static size_t
probe_sink(char *p, size_t sz, size_t n, void *arg)
{
	size_t *got = arg;

	(void)p;
	*got += sz * n;
	return *got > 1 << 20 ? 0 : sz * n;	/* 1 MiB is no answer of theirs */
}

/* One HTTP request (POST body when not NULL); the status into *code. */
static int
probe_http(const char *url, const char *body, const char *ctype,
    const char *cafile, long timeout, long *code, char *msg, size_t sz)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	size_t got = 0;
	CURLcode e;
	CURL *h;

	if ((h = curl_easy_init()) == NULL) {
		snprintf(msg, sz, "%s: cannot set up libcurl", url);
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, version_user_agent());
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 10L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cafile != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	if (body != NULL) {
		hdr = curl_slist_append(NULL, ctype);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	e = curl_easy_perform(h);
	if (e == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	else
		snprintf(msg, sz, "%s: %s", url, err[0] ? err :
		    curl_easy_strerror(e));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return e == CURLE_OK ? 0 : -1;
}

int
ca_probe_local(const struct cfg *cfg, char *msg, size_t sz)
{
	struct local *l;
	char na[32];
	struct tm tm;

	if ((l = local_open(cfg)) == NULL) {
		snprintf(msg, sz, "local CA in %s: %s", cfg->ca.local.dir,
		    log_last_err());
		return -1;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(l->cert), &tm) != 1 ||
	    strftime(na, sizeof(na), "%Y-%m-%d", &tm) == 0)
		snprintf(na, sizeof(na), "?");
	snprintf(msg, sz, "local CA in %s: key readable, private and "
	    "matching %s (valid until %s)", cfg->ca.local.dir, CA_LOCAL_CERT,
	    na);
	local_close(l);
	return 0;
}

int
ca_probe_exec(const struct cfg *cfg, char *msg, size_t sz)
{
	const char *cmd = cfg->ca.exec.command;
	struct stat st;

	if (cmd == NULL || stat(cmd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    access(cmd, X_OK) == -1) {
		snprintf(msg, sz, "ca.exec.command %s: not an executable file",
		    cmd ? cmd : "(unset)");
		return -1;
	}
	snprintf(msg, sz, "ca.exec.command %s is executable (not run)", cmd);
	return 0;
}

/* An HTTP answer 200 is a reached CA. */
static int
probe_http_200(const char *driver, const char *url, const char *body,
    const char *ctype, const char *cafile, long timeout, char *msg, size_t sz)
{
	long code = 0;

	if (probe_http(url, body, ctype, cafile, timeout, &code, msg, sz) == -1)
		return -1;
	if (code != 200) {
		snprintf(msg, sz, "%s %s answered HTTP %ld", driver, url, code);
		return -1;
	}
	snprintf(msg, sz, "%s %s answered (HTTP 200)", driver, url);
	return 0;
}

int
ca_probe_cfssl(const struct cfg *cfg, char *msg, size_t sz)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s/api/v1/cfssl/info", cfg->ca.cfssl.url);
	return probe_http_200("cfssl", url, "{}",
	    "Content-Type: application/json", cfg->ca.cfssl.tls_ca_file,
	    cfg->ca.cfssl.timeout, msg, sz);
}

int
ca_probe_est(const struct cfg *cfg, char *msg, size_t sz)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s/cacerts", cfg->ca.est.url);
	return probe_http_200("est", url, NULL, NULL, cfg->ca.est.tls_ca_file,
	    cfg->ca.est.timeout, msg, sz);
}

int
ca_probe_cmp(const struct cfg *cfg, char *msg, size_t sz)
{
	const char *url = cfg->ca.cmp.url;
	long code = 0;

	if (probe_http(url, "", "Content-Type: application/pkixcmp",
	    cfg->ca.cmp.tls_ca_file, cfg->ca.cmp.timeout, &code, msg, sz) == -1)
		return -1;
	snprintf(msg, sz, "cmp server %s reached (HTTP %ld to an empty "
	    "request; a protected request is not tried)", url, code);
	return 0;
}

int
ca_probe(const struct cfg *cfg, char *msg, size_t sz)
{
	const struct ca_driver *d = ca_driver_find(cfg->ca.driver);

	if (d == NULL) {
		snprintf(msg, sz, "ca.driver %s: unknown", cfg->ca.driver);
		return -1;
	}
	return d->probe(cfg, msg, sz);
}
