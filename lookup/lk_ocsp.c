/*
 * lk_ocsp.c — what smimepub-lookupd publishes for the local CA (issue 21):
 *   POST /ocsp, GET /ocsp/{base64}   the OCSP responder (RFC 6960, RFC 5019
 *                                    profile), answered from the responses
 *                                    smimepub-sync signed in advance into
 *                                    ca.local.dir/ocsp/SERIAL.der
 *   GET {path of ca.local.crl_url}   the CRL the local CA wrote
 *                                    (ca.local.dir/crl.pem), as DER
 * lookupd holds neither the CA key nor the responder's: it only hands out
 * files (ca/local_ocsp.c writes them). A request for a certificate it has
 * no response for (another issuer, an unknown serial, a hash other than
 * SHA-1, which RFC 5019 §2.1.1 makes the profile's) gets `unauthorized`
 * (RFC 6960 §2.3). Answers carry the RFC 5019 §6.2 caching headers and a
 * conditional GET (If-None-Match, If-Modified-Since) gets 304.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "common/file.h"
#include "common/log.h"
#include "lookup/lk.h"

#define OCSP_RESP_MAX	65536		/* one response: a few KB */
#define CRL_MAX		(64 << 20)	/* a CRL file read to serve */
#define SERIAL_HEX_MAX	40		/* RFC 5280 §4.1.2.2: 20 octets */

static const char CT_OCSP[] = "application/ocsp-response";
static const char CT_CRL[] = "application/pkix-crl";	/* RFC 2585 §4.2 */

struct lk_ocsp {
	char		 dir[PATH_MAX];		/* ca.local.dir/ocsp */
	char		 crl_path[PATH_MAX];	/* ca.local.dir/crl.pem */
	char		 crl_route[PATH_MAX];	/* path of crl_url, "" none */
	int		 ocsp;			/* ca.local.ocsp_url is set */
	X509		*ca;			/* ca.local.dir/ca.pem */
	pthread_mutex_t	 mu;			/* the CRL below */
	struct timespec	 crl_mtime;
	off_t		 crl_size;
	unsigned char	*crl_der;
	size_t		 crl_len;
	time_t		 crl_last;		/* its thisUpdate */
	char		 crl_etag[44];
};

/* ---- HTTP dates and validators ----------------------------------------- */

/* RFC 9110 §5.6.7 IMF-fixdate. */
static void
http_date(time_t t, char out[40])
{
	struct tm tm;
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wd[tm.tm_wday % 7], tm.tm_mday, mo[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An IMF-fixdate; -1 if s is not one (RFC 9110 §13.1.3: then ignored). */
static time_t
http_date_parse(const char *s)
{
	static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	const char *p;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) != 29 || sscanf(s + 5,
	    "%2d %3s %4d %2d:%2d:%2d GMT", &tm.tm_mday, mon, &tm.tm_year,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6 ||
	    (p = strstr(mo, mon)) == NULL || (p - mo) % 3 != 0)
		return -1;
	tm.tm_mon = (int)(p - mo) / 3;
	tm.tm_year -= 1900;
	return timegm(&tm);
}

static void
add_hdr(struct lk_reply *rp, const char *name, const char *value)
{
	if (rp->nhdr >= LK_HDR_MAX)
		return;
	rp->hdr[rp->nhdr].name = name;
	snprintf(rp->hdr[rp->nhdr].value, sizeof(rp->hdr[0].value), "%s",
	    value);
	rp->nhdr++;
}

/* A strong validator: the first 128 bits of the SHA-1 of the body. */
static void
etag_of(const unsigned char *p, size_t len, char out[44])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_Digest(p, len, md, &n, EVP_sha1(), NULL) != 1)
		n = 0;
	out[0] = '"';
	for (i = 0; i < n && i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
	snprintf(out + 1 + 2 * i, 2, "\"");
}

/*
 * RFC 9110 §13.1: If-None-Match, when present, decides alone (weak
 * comparison, §13.1.2); else If-Modified-Since. 1: answer 304.
 */
static int
not_modified(const struct lk_request *rq, const char *etag, time_t last)
{
	time_t since;

	if (rq->if_none_match != NULL)
		return strcmp(rq->if_none_match, "*") == 0 ||
		    strstr(rq->if_none_match, etag) != NULL;
	return (since = http_date_parse(rq->if_modified_since)) != -1 &&
	    last <= since;
}

static time_t
asn1_time_t(const ASN1_TIME *a)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	return timegm(&tm);
}

/* ---- the CRL ----------------------------------------------------------- */

/* Read crl.pem again if it changed; under o->mu. 0, or -1 logged. */
static int
crl_reload(struct lk_ocsp *o)
{
	struct stat sb;
	unsigned char *raw = NULL, *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	int n, rc = -1;

	if (stat(o->crl_path, &sb) == -1) {
		log_warn("%s: %s (the CRL at ca.local.crl_url)", o->crl_path,
		    strerror(errno));
		return -1;
	}
	if (o->crl_der != NULL && sb.st_size == o->crl_size &&
	    sb.st_mtim.tv_sec == o->crl_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == o->crl_mtime.tv_nsec)
		return 0;
	if (file_read_all(o->crl_path, CRL_MAX, &raw, &len) == -1)
		return -1;
	if ((b = BIO_new_mem_buf(raw, (int)len)) != NULL)
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	if (crl == NULL) {
		p = raw;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	}
	if (crl == NULL || (n = i2d_X509_CRL(crl, &der)) <= 0) {
		log_ssl("%s: not a CRL", o->crl_path);
		goto out;
	}
	OPENSSL_free(o->crl_der);
	o->crl_der = der;
	der = NULL;
	o->crl_len = (size_t)n;
	o->crl_last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	o->crl_size = sb.st_size;
	o->crl_mtime = sb.st_mtim;
	etag_of(o->crl_der, o->crl_len, o->crl_etag);
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_CRL_free(crl);
	BIO_free(b);
	free(raw);
	return rc;
}

/*
 * GET of the CRL: Last-Modified (its thisUpdate), ETag, and no-cache, so
 * that a cache asks again each time (a revocation rewrites the CRL long
 * before its nextUpdate) and a conditional GET makes that cheap.
 */
static void
crl_serve(struct lk_ocsp *o, const struct lk_request *rq,
    struct lk_reply *rp)
{
	char date[40];

	pthread_mutex_lock(&o->mu);
	if (crl_reload(o) == -1 && o->crl_der == NULL) {
		pthread_mutex_unlock(&o->mu);
		lk_api_error(rp, 503, "CRL unavailable", "the local CA has not "
		    "written its CRL");
		return;
	}
	http_date(o->crl_last, date);
	add_hdr(rp, "Last-Modified", date);
	add_hdr(rp, "ETag", o->crl_etag);
	add_hdr(rp, "Cache-Control", "no-cache");
	if (not_modified(rq, o->crl_etag, o->crl_last)) {
		rp->status = 304;
		rp->ctype = CT_CRL;
	} else if ((rp->body = malloc(o->crl_len)) != NULL) {
		memcpy(rp->body, o->crl_der, o->crl_len);
		rp->len = o->crl_len;
		rp->free_body = 1;
		rp->status = 200;
		rp->ctype = CT_CRL;
	}
	pthread_mutex_unlock(&o->mu);
	if (rp->status == 0)
		lk_api_error(rp, 500, "internal", "out of memory");
}

/* ---- OCSP -------------------------------------------------------------- */

int
lk_ocsp_b64(const char *s, unsigned char *out, size_t max, size_t *len)
{
	char buf[LK_OCSP_GET_MAX + 4];
	EVP_ENCODE_CTX *ctx;
	size_t n = strlen(s), i;
	int a = 0, b = 0, ok;

	/* RFC 6960 Appendix A.1: base64 (percent-decoded by lk_http.c);
	 * base64url's two letters are taken too */
	if (n == 0 || n > LK_OCSP_GET_MAX || max < n / 4 * 3 + 3)
		return -1;
	for (i = 0; i < n; i++)
		buf[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4 != 0)
		buf[n++] = '=';
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		return -1;
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, out, &a, (unsigned char *)buf, (int)n) !=
	    -1 && EVP_DecodeFinal(ctx, out + a, &b) == 1;
	EVP_ENCODE_CTX_free(ctx);
	if (!ok || a + b <= 0)
		return -1;
	*len = (size_t)(a + b);
	return 0;
}

int
lk_ocsp_parse(const unsigned char *der, size_t len, OCSP_CERTID **cid)
{
	OCSP_REQUEST *req;
	const unsigned char *p = der;
	int rc = -1;

	*cid = NULL;
	if (len == 0 || len > OCSP_RESP_MAX ||
	    (req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	/* RFC 5019 §2.1.1: one Request; trailing bytes are not one either */
	if (p == der + len && OCSP_request_onereq_count(req) == 1 &&
	    (*cid = OCSP_CERTID_dup(OCSP_onereq_get0_id(
	    OCSP_request_onereq_get0(req, 0)))) != NULL)
		rc = 0;
	OCSP_REQUEST_free(req);
	return rc;
}

/* The serial of cid in upper-case hex if the local CA is its issuer (with
 * SHA-1 hashes, RFC 5019 §2.1.1): 0, else -1. */
static int
ocsp_ours(struct lk_ocsp *o, OCSP_CERTID *cid, char hex[SERIAL_HEX_MAX + 1])
{
	ASN1_OBJECT *md;
	ASN1_INTEGER *sn;
	OCSP_CERTID *ours = NULL;
	BIGNUM *bn = NULL;
	char *h = NULL;
	int rc = -1;

	if (o->ca == NULL || !OCSP_id_get0_info(NULL, &md, NULL, &sn, cid) ||
	    OBJ_obj2nid(md) != NID_sha1)
		return -1;
	if ((ours = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(o->ca),
	    X509_get0_pubkey_bitstr(o->ca), sn)) != NULL &&
	    OCSP_id_issuer_cmp(ours, cid) == 0 &&
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    !BN_is_negative(bn) && (h = BN_bn2hex(bn)) != NULL &&
	    strlen(h) <= SERIAL_HEX_MAX) {
		strcpy(hex, h);
		rc = 0;
	}
	ERR_clear_error();
	OPENSSL_free(h);
	BN_free(bn);
	OCSP_CERTID_free(ours);
	return rc;
}

/* An OCSPResponse without a body: malformedRequest, tryLater, unauthorized. */
static void
ocsp_status(struct lk_reply *rp, int status)
{
	OCSP_RESPONSE *r;
	unsigned char *der = NULL;
	int n = -1;

	if ((r = OCSP_response_create(status, NULL)) != NULL)
		n = i2d_OCSP_RESPONSE(r, &der);
	OCSP_RESPONSE_free(r);
	if (n <= 0) {
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	rp->body = malloc((size_t)n);
	if (rp->body == NULL) {
		OPENSSL_free(der);
		lk_api_error(rp, 500, "internal", "out of memory");
		return;
	}
	memcpy(rp->body, der, (size_t)n);
	OPENSSL_free(der);
	rp->len = (size_t)n;
	rp->free_body = 1;
	rp->status = 200;	/* RFC 6960 A.1: the status is in the body */
	rp->ctype = CT_OCSP;
}

/* thisUpdate and nextUpdate of a stored response; -1 if unreadable. */
static int
ocsp_times(const unsigned char *der, size_t len, time_t *this, time_t *next)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
	int rc = -1;

	if ((r = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) != NULL &&
	    (bs = OCSP_response_get1_basic(r)) != NULL &&
	    OCSP_resp_count(bs) >= 1 && OCSP_single_get0_status(
	    OCSP_resp_get0(bs, 0), NULL, NULL, &tu, &nu) != -1 &&
	    nu != NULL) {
		*this = asn1_time_t(tu);
		*next = asn1_time_t(nu);
		rc = *this == -1 || *next == -1 ? -1 : 0;
	}
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	return rc;
}

void
lk_ocsp_answer(struct lk_ocsp *o, const unsigned char *req, size_t len,
    const struct lk_request *rq, time_t now, struct lk_reply *rp)
{
	char hex[SERIAL_HEX_MAX + 1], path[PATH_MAX], etag[44], date[40];
	char cc[80];
	OCSP_CERTID *cid = NULL;
	unsigned char *der = NULL;
	size_t dlen = 0;
	time_t this, next;

	rp->ctype = CT_OCSP;
	if (lk_ocsp_parse(req, len, &cid) == -1) {
		ocsp_status(rp, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		return;
	}
	if (ocsp_ours(o, cid, hex) == -1 ||
	    snprintf(path, sizeof(path), "%s/%s.der", o->dir, hex) >=
	    (int)sizeof(path) || access(path, R_OK) == -1 ||
	    file_read_all(path, OCSP_RESP_MAX, &der, &dlen) == -1) {
		ocsp_status(rp, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
		goto out;
	}
	if (ocsp_times(der, dlen, &this, &next) == -1 || next <= now) {
		/* smimepub-sync has not refreshed it: never an expired one */
		log_warn("%s: no current OCSP response (smimepub-sync "
		    "refreshes them)", path);
		ocsp_status(rp, OCSP_RESPONSE_STATUS_TRYLATER);
		goto out;
	}
	/* RFC 5019 §6.2 */
	etag_of(der, dlen, etag);
	http_date(this, date);
	add_hdr(rp, "Last-Modified", date);
	http_date(next, date);
	add_hdr(rp, "Expires", date);
	snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, "
	    "must-revalidate", (long long)(next - now));
	add_hdr(rp, "Cache-Control", cc);
	add_hdr(rp, "ETag", etag);
	rp->status = 200;
	if (strcmp(rq->method, "POST") != 0 && not_modified(rq, etag, this))
		rp->status = 304;
	else {
		rp->body = (char *)der;
		der = NULL;
		rp->len = dlen;
		rp->free_body = 1;
	}
out:
	free(der);
	OCSP_CERTID_free(cid);
}

/* ---- routes ------------------------------------------------------------ */

int
lk_ocsp_route(struct lk_ocsp *o, const struct lk_request *rq,
    struct lk_reply *rp)
{
	unsigned char der[LK_OCSP_GET_MAX];
	size_t len = 0;
	int get = strcmp(rq->method, "GET") == 0 ||
	    strcmp(rq->method, "HEAD") == 0;

	if (o == NULL)
		return 0;
	if (o->crl_route[0] != '\0' && strcmp(rq->path, o->crl_route) == 0) {
		rp->ep = LK_EP_CRL;
		if (!get) {
			lk_api_error(rp, 405, "method not allowed", "GET");
			rp->allow = "GET, HEAD";	/* RFC 9110 §15.5.6 */
		} else
			crl_serve(o, rq, rp);
		return 1;
	}
	if (!o->ocsp || (strcmp(rq->path, "/ocsp") != 0 &&
	    strncmp(rq->path, "/ocsp/", 6) != 0))
		return 0;
	rp->ep = LK_EP_OCSP;
	if (strcmp(rq->method, "POST") == 0 && strcmp(rq->path, "/ocsp") == 0)
		lk_ocsp_answer(o, (const unsigned char *)rq->body,
		    rq->body_len, rq, time(NULL), rp);
	else if (get && strncmp(rq->path, "/ocsp/", 6) == 0) {
		if (lk_ocsp_b64(rq->path + 6, der, sizeof(der), &len) == -1)
			ocsp_status(rp, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		else
			lk_ocsp_answer(o, der, len, rq, time(NULL), rp);
	} else {
		rp->allow = strcmp(rq->path, "/ocsp") == 0 ? "POST" :
		    "GET, HEAD";
		lk_api_error(rp, 405, "method not allowed", rp->allow);
	}
	return 1;
}

/* The path of an http:// URL ("/" when it has none). */
static void
url_path(const char *url, char *out, size_t sz)
{
	const char *p = strchr(url + 7, '/');

	snprintf(out, sz, "%s", p != NULL ? p : "/");
	out[strcspn(out, "?#")] = '\0';
}

int
lk_ocsp_new(const struct cfg *cfg, struct lk_ocsp **out)
{
	const struct cfg_ca_local *lc = &cfg->ca.local;
	struct lk_ocsp *o;
	char path[PATH_MAX];
	BIO *b = NULL;

	*out = NULL;
	if (cfg->ca.driver == NULL || strcmp(cfg->ca.driver, "local") != 0 ||
	    (lc->crl_url == NULL && lc->ocsp_url == NULL))
		return 0;	/* nothing of the local CA to publish */
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		log_err("lookup: out of memory");
		return -1;
	}
	pthread_mutex_init(&o->mu, NULL);
	snprintf(o->dir, sizeof(o->dir), "%s/ocsp", lc->dir);
	snprintf(o->crl_path, sizeof(o->crl_path), "%s/crl.pem", lc->dir);
	if (lc->crl_url != NULL && strncmp(lc->crl_url, "http://", 7) == 0)
		url_path(lc->crl_url, o->crl_route, sizeof(o->crl_route));
	if (lc->ocsp_url != NULL) {
		o->ocsp = 1;
		snprintf(path, sizeof(path), "%s/ca.pem", lc->dir);
		if ((b = BIO_new_file(path, "r")) == NULL ||
		    (o->ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
			log_ssl("%s: ca.local.ocsp_url is set but the local CA's "
			    "certificate cannot be read", path);
			BIO_free(b);
			lk_ocsp_free(o);
			return -1;
		}
		BIO_free(b);
	}
	*out = o;
	return 0;
}

void
lk_ocsp_free(struct lk_ocsp *o)
{
	if (o == NULL)
		return;
	X509_free(o->ca);
	OPENSSL_free(o->crl_der);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
