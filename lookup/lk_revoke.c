/*
 * lk_revoke.c — revocation of certificates beyond lookup.crl_files (issue 21
 * item 3), as lookup.revocation says:
 *   files  lookup.crl_files only (lk_trust.c), nothing fetched
 *   crl    the CRL at the certificate's http:// distribution point (RFC 5280
 *          §4.2.1.13), its signature checked with the issuer's key from the
 *          chain verified to the anchors, kept until its nextUpdate
 *   ocsp   the responder of its authority information access (RFC 6960),
 *          the answer's signature and the responder's authorisation
 *          (the issuer, or a certificate it gave id-kp-OCSPSigning, §4.2.2.2)
 *          checked against the anchors, kept until its nextUpdate; a nonce
 *          (RFC 8954) with lookup.ocsp_nonce
 *   both   OCSP, and the CRL when OCSP gives no answer
 * Fetches go through libcurl: http:// only, redirects only to http://, at
 * most FETCH_MAX bytes and lookup.revocation_timeout seconds. The local
 * CA's own URLs are read from ca.local.dir instead (crl.pem, ocsp/), so
 * lookupd never asks itself. When no answer can be had, lookup.revocation_fail
 * decides: soft serves the certificate and counts it, hard does not. A
 * failure is remembered for FAIL_TTL seconds so that a dead responder is
 * not asked for every lookup. The OCSP client is lk_revoke_ocsp.c.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/file.h"
#include "common/x509.h"
#include "common/log.h"
#include "lookup/lk.h"
#include "lookup/lk_rev_priv.h"

static const char *const reasons[11] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", "unused",
	"removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

const char *
lk_rev_reason(int r)
{
	return r >= 0 && r <= 10 ? reasons[r] : "unspecified";
}

/* ---- the cache --------------------------------------------------------- */

/* A copy of the slot for key if it is current; 1 found. Under no lock. */
int
lk_rev_cache_get(struct lk_rev *rv, const char *key, time_t now,
    struct slot *out)
{
	int i, found = 0;

	pthread_mutex_lock(&rv->mu);
	for (i = 0; i < SLOTS && !found; i++)
		if (rv->slots[i].key != NULL && rv->slots[i].until > now &&
		    strcmp(rv->slots[i].key, key) == 0) {
			*out = rv->slots[i];
			out->key = NULL;
			if (out->crl != NULL)
				X509_CRL_up_ref(out->crl);
			found = 1;
		}
	pthread_mutex_unlock(&rv->mu);
	return found;
}

/* Keep s under key (its crl reference passes to the cache). */
void
lk_rev_cache_put(struct lk_rev *rv, const char *key, struct slot *s)
{
	int i, victim = 0;
	char *k;

	if ((k = strdup(key)) == NULL) {
		X509_CRL_free(s->crl);
		return;
	}
	pthread_mutex_lock(&rv->mu);
	for (i = 0; i < SLOTS; i++) {
		if (rv->slots[i].key != NULL &&
		    strcmp(rv->slots[i].key, key) == 0) {
			victim = i;
			break;
		}
		if (rv->slots[i].until < rv->slots[victim].until)
			victim = i;	/* the empty ones (0) first */
	}
	free(rv->slots[victim].key);
	X509_CRL_free(rv->slots[victim].crl);
	rv->slots[victim] = *s;
	rv->slots[victim].key = k;
	pthread_mutex_unlock(&rv->mu);
}

time_t
lk_rev_asn1_t(const ASN1_TIME *a)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	return timegm(&tm);
}

/* Keep an answer until its nextUpdate, at most MAX_TTL. */
time_t
lk_rev_ttl_until(const ASN1_TIME *next, time_t now)
{
	time_t t = lk_rev_asn1_t(next);

	if (t == -1)
		return now + NO_NEXT_TTL;
	return t > now + MAX_TTL ? now + MAX_TTL : t;
}

/* ---- fetching ---------------------------------------------------------- */

static size_t
fetch_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	unsigned char *np;

	n *= size;
	if (n > FETCH_MAX - b->len || (np = realloc(b->p, b->len + n)) ==
	    NULL)
		return 0;	/* past the bound: curl stops */
	b->p = np;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return n;
}

/* GET url (or POST an OCSP request): 0 with the body, -1 with *why. */
int
lk_rev_fetch(struct lk_rev *rv, const char *url, const unsigned char *post,
    size_t plen, struct buf *out, char *why, size_t whysz)
{
	struct curl_slist *h = NULL;
	struct buf b = { NULL, 0 };
	CURL *c;
	CURLcode cc;
	long code = 0;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, rv->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (post != NULL) {
		h = curl_slist_append(h, "Content-Type: application/ocsp-request");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)plen);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc != CURLE_OK || code != 200) {
		if (cc != CURLE_OK)
			snprintf(why, whysz, "%s", curl_easy_strerror(cc));
		else
			snprintf(why, whysz, "HTTP status %ld", code);
		free(b.p);
		return -1;
	}
	*out = b;
	return 0;
}

/* ---- CRL --------------------------------------------------------------- */

/* The verified CRL of issuer at url, fetched or from the cache; NULL with
 * *why. */
static X509_CRL *
crl_get(struct lk_rev *rv, const char *url, X509 *issuer, time_t now,
    char *why, size_t whysz)
{
	struct slot s;
	struct buf b = { NULL, 0 };
	const unsigned char *p;
	char path[PATH_MAX + 16];
	X509_CRL *crl = NULL;
	BIO *bio;

	if (lk_rev_cache_get(rv, url, now, &s)) {
		if (s.crl == NULL)
			snprintf(why, whysz, "failed less than %d s ago",
			    FAIL_TTL);
		return s.crl;
	}
	if (rv->local_crl_url != NULL && strcmp(url, rv->local_crl_url) == 0) {
		/* the local CA's: its file, not an HTTP request to ourselves */
		snprintf(path, sizeof(path), "%s/crl.pem", rv->local_dir);
		if (file_read_all(path, FETCH_MAX, &b.p, &b.len) == -1)
			snprintf(why, whysz, "the local CA has not written crl.pem");
	} else
		(void)lk_rev_fetch(rv, url, NULL, 0, &b, why, whysz);
	if (b.p != NULL) {
		p = b.p;
		if ((crl = d2i_X509_CRL(NULL, &p, (long)b.len)) == NULL &&
		    (bio = BIO_new_mem_buf(b.p, (int)b.len)) != NULL) {
			crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
			BIO_free(bio);
		}
		if (crl == NULL)
			snprintf(why, whysz, "not a CRL");
		else if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_subject_name(issuer)) != 0 ||
		    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
			snprintf(why, whysz, "not signed by the issuer");
			X509_CRL_free(crl);
			crl = NULL;
		} else if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		    X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &now) < 0) {
			snprintf(why, whysz, "past its nextUpdate");
			X509_CRL_free(crl);
			crl = NULL;
		}
		free(b.p);
	}
	ERR_clear_error();
	memset(&s, 0, sizeof(s));
	s.until = crl != NULL ? lk_rev_ttl_until(X509_CRL_get0_nextUpdate(crl), now) :
	    now + FAIL_TTL;
	if ((s.crl = crl) != NULL)
		X509_CRL_up_ref(crl);
	lk_rev_cache_put(rv, url, &s);
	return crl;
}

/* The http:// URLs of x's distribution points (fullName, RFC 5280
 * §4.2.1.13), NULL-terminated in urls[max]; their number. */
static int
crl_urls(X509 *x, const char *urls[], int max)
{
	STACK_OF(DIST_POINT) *dps;
	DIST_POINT *dp;
	GENERAL_NAME *g;
	const char *u;
	int i, j, n = 0;

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; i < sk_DIST_POINT_num(dps) && n < max - 1; i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname)
		    && n < max - 1; j++) {
			g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname,
			    j);
			if (g->type != GEN_URI)
				continue;
			u = (const char *)ASN1_STRING_get0_data(
			    g->d.uniformResourceIdentifier);
			if (strncmp(u, "http://", 7) == 0 &&
			    strlen(u) == (size_t)ASN1_STRING_length(
			    g->d.uniformResourceIdentifier))
				urls[n++] = OPENSSL_strdup(u);
		}
	}
	CRL_DIST_POINTS_free(dps);
	urls[n] = NULL;
	return n;
}

static void
crl_check(struct lk_rev *rv, X509 *x, X509 *issuer, time_t now,
    struct lk_rev_ans *a)
{
	const char *urls[5];
	char why[128] = "";
	X509_REVOKED *rev;
	X509_CRL *crl;
	ASN1_ENUMERATED *e;
	int i, n;

	if ((n = crl_urls(x, urls, 5)) == 0)
		return;		/* LK_RS_NONE: nothing to ask */
	a->status = LK_RS_UNAVAILABLE;
	for (i = 0; i < n && a->status == LK_RS_UNAVAILABLE; i++) {
		if ((crl = crl_get(rv, urls[i], issuer, now, why,
		    sizeof(why))) == NULL) {
			snprintf(a->source, sizeof(a->source), "crl %s: %s",
			    urls[i], why);
			continue;
		}
		snprintf(a->source, sizeof(a->source), "crl %s", urls[i]);
		if (X509_CRL_get0_by_cert(crl, &rev, x) == 1) {
			a->status = LK_RS_REVOKED;
			a->reason = (e = X509_REVOKED_get_ext_d2i(rev,
			    NID_crl_reason, NULL, NULL)) != NULL ?
			    (int)ASN1_ENUMERATED_get(e) : 0;
			ASN1_ENUMERATED_free(e);
			a->rev_time = lk_rev_asn1_t(X509_REVOKED_get0_revocationDate(
			    rev));
		} else
			a->status = LK_RS_GOOD;
		X509_CRL_free(crl);
	}
	for (i = 0; i < n; i++)
		OPENSSL_free((void *)urls[i]);
	ERR_clear_error();
	atomic_fetch_add(&rv->checks[SRC_CRL][a->status - LK_RS_GOOD], 1);
}

/* ---- the check --------------------------------------------------------- */

int
lk_rev_check(struct lk_rev *rv, X509 *x, X509 *issuer, X509_STORE *anchors,
    time_t now, struct lk_rev_ans *a)
{
	struct lk_rev_ans c;

	memset(a, 0, sizeof(*a));
	if (rv == NULL || rv->mode == LK_REVM_FILES)
		return 0;
	if (issuer == NULL || anchors == NULL) {
		a->status = LK_RS_UNAVAILABLE;
		snprintf(a->source, sizeof(a->source), "no verified issuer "
		    "(lookup.insecure_no_anchors)");
	} else {
		if (rv->mode != LK_REVM_CRL)
			lk_rev_ocsp_check(rv, x, issuer, anchors, now, a);
		if (rv->mode != LK_REVM_OCSP && (a->status == LK_RS_NONE ||
		    a->status == LK_RS_UNAVAILABLE)) {
			memset(&c, 0, sizeof(c));
			crl_check(rv, x, issuer, now, &c);
			if (c.status != LK_RS_NONE && (c.status !=
			    LK_RS_UNAVAILABLE || a->status == LK_RS_NONE))
				*a = c;
		}
	}
	switch (a->status) {
	case LK_RS_NONE:
		snprintf(a->source, sizeof(a->source), "no CRL or OCSP URL in "
		    "the certificate");
		return 0;
	case LK_RS_REVOKED:
		atomic_fetch_add(&rv->revoked[a->reason >= 0 && a->reason <= 10 ?
		    a->reason : 0], 1);
		return 1;
	case LK_RS_UNAVAILABLE:
		if (rv->hard)
			return 1;
		atomic_fetch_add(&rv->soft, 1);
		return 0;
	default:
		return 0;
	}
}

struct lk_rev *
lk_rev_new(const struct cfg *cfg)
{
	const struct cfg_lookup *l = &cfg->lookup;
	const struct cfg_ca_local *lc = &cfg->ca.local;
	static const char *const modes[] = { "files", "crl", "ocsp", "both" };
	struct lk_rev *rv;
	int i;

	if ((rv = calloc(1, sizeof(*rv))) == NULL) {
		log_err("lookup.revocation: out of memory");
		return NULL;
	}
	for (i = 0; i < 4; i++)
		if (l->revocation != NULL && strcmp(l->revocation, modes[i]) == 0)
			rv->mode = i;
	rv->hard = l->revocation_fail != NULL &&
	    strcmp(l->revocation_fail, "hard") == 0;
	rv->nonce = l->ocsp_nonce;
	rv->timeout = l->revocation_timeout > 0 ? l->revocation_timeout : 5;
	pthread_mutex_init(&rv->mu, NULL);
	if (cfg->ca.driver != NULL && strcmp(cfg->ca.driver, "local") == 0 &&
	    lc->dir != NULL) {
		snprintf(rv->local_dir, sizeof(rv->local_dir), "%s", lc->dir);
		rv->local_crl_url = lc->crl_url;
		rv->local_ocsp_url = lc->ocsp_url;
	}
	if (rv->mode != LK_REVM_FILES &&
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("lookup.revocation: libcurl does not start");
		lk_rev_free(rv);
		return NULL;
	}
	return rv;
}

void
lk_rev_free(struct lk_rev *rv)
{
	int i;

	if (rv == NULL)
		return;
	for (i = 0; i < SLOTS; i++) {
		free(rv->slots[i].key);
		X509_CRL_free(rv->slots[i].crl);
	}
	pthread_mutex_destroy(&rv->mu);
	free(rv);
}

void
lk_rev_metrics(struct lk_rev *rv, FILE *fp)
{
	static const char *const src[] = { "crl", "ocsp" };
	static const char *const res[] = { "good", "revoked", "unavailable" };
	int i, j;

	if (rv == NULL)
		return;
	fprintf(fp, "# HELP smimepub_lookupd_revocation_checks_total "
	    "Revocation answers by source (lookup.revocation).\n"
	    "# TYPE smimepub_lookupd_revocation_checks_total counter\n");
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++)
			fprintf(fp, "smimepub_lookupd_revocation_checks_total"
			    "{source=\"%s\",result=\"%s\"} %lu\n", src[i],
			    res[j], atomic_load(&rv->checks[i][j]));
	fprintf(fp, "# HELP smimepub_lookupd_revoked_total Certificates not "
	    "served because a CRL or responder says revoked, by reason.\n"
	    "# TYPE smimepub_lookupd_revoked_total counter\n");
	for (i = 0; i <= 10; i++)
		if (i != 7)	/* RFC 5280 §5.3.1: 7 is not used */
			fprintf(fp, "smimepub_lookupd_revoked_total"
			    "{reason=\"%s\"} %lu\n", reasons[i],
			    atomic_load(&rv->revoked[i]));
	fprintf(fp, "# HELP smimepub_lookupd_revocation_soft_fail_total "
	    "Certificates served without a revocation answer "
	    "(lookup.revocation_fail = soft).\n"
	    "# TYPE smimepub_lookupd_revocation_soft_fail_total counter\n"
	    "smimepub_lookupd_revocation_soft_fail_total %lu\n",
	    atomic_load(&rv->soft));
}
