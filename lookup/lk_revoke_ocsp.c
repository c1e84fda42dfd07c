/*
 * lk_revoke_ocsp.c — the OCSP client of lookup.revocation (RFC 6960): one
 * request per certificate (its issuer's CertID, SHA-1 as RFC 5019 §2.1.1
 * has it; a nonce with lookup.ocsp_nonce) POSTed to the http:// responder
 * of its AIA, or read from ca.local.dir/ocsp for the local CA's own URL.
 * The answer counts only if OCSP_basic_verify takes it against the anchors
 * (signed by the issuer, or by a responder the issuer gave
 * id-kp-OCSPSigning, RFC 6960 §4.2.2.2), it names the certificate and is
 * current (thisUpdate/nextUpdate within SKEW); it is kept until its
 * nextUpdate (not at all without one, RFC 6960 §4.2.2.1).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "common/file.h"
#include "common/x509.h"
#include "lookup/lk.h"
#include "lookup/lk_rev_priv.h"

/* ---- OCSP -------------------------------------------------------------- */

/* The response for the DER request at url: the local CA's file, or POST. */
static int
ocsp_fetch(struct lk_rev *rv, const char *url, X509 *x,
    const unsigned char *req, size_t rlen, struct buf *b, char *why,
    size_t whysz)
{
	char path[PATH_MAX + 64], *hex;

	if (rv->local_ocsp_url == NULL || strcmp(url, rv->local_ocsp_url) != 0)
		return lk_rev_fetch(rv, url, req, rlen, b, why, whysz);
	/* the local CA's responses: the files lk_ocsp.c serves */
	if ((hex = x509_serial_hex(x)) == NULL) {
		snprintf(why, whysz, "unreadable serial");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ocsp/%s.der", rv->local_dir, hex);
	free(hex);
	if (access(path, R_OK) == -1 ||
	    file_read_all(path, FETCH_MAX, &b->p, &b->len) == -1) {
		snprintf(why, whysz, "no response signed for it yet");
		return -1;
	}
	return 0;
}

/* Verify resp for cid: RFC 6960 §3.2 (signature, responder authorised by
 * the issuer, chaining to the anchors), the nonce, the times. 0 with the
 * answer in s, -1 with *why. */
static int
ocsp_judge(struct lk_rev *rv, OCSP_REQUEST *req, const unsigned char *der,
    size_t len, OCSP_CERTID *cid, X509 *issuer, X509_STORE *anchors,
    time_t now, struct slot *s, char *why, size_t whysz)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *certs = NULL;
	ASN1_GENERALIZEDTIME *rt = NULL, *tu = NULL, *nu = NULL;
	int st, reason = -1, rc = -1;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		snprintf(why, whysz, "not an OCSP response");
		goto out;
	}
	if ((st = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(why, whysz, "responder says %s",
		    OCSP_response_status_str(st));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL ||
	    (certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(certs, issuer)) {
		snprintf(why, whysz, "no basic response");
		goto out;
	}
	if (rv->nonce && req != NULL && OCSP_check_nonce(req, bs) == 0) {
		snprintf(why, whysz, "nonce mismatch");
		goto out;
	}
	if (OCSP_basic_verify(bs, certs, anchors, 0) != 1) {
		snprintf(why, whysz, "signature or responder not authorised");
		goto out;
	}
	if (OCSP_resp_find_status(bs, cid, &st, &reason, &rt, &tu, &nu) != 1 ||
	    OCSP_check_validity(tu, nu, SKEW, -1) != 1) {
		snprintf(why, whysz, "no current status for the certificate");
		goto out;
	}
	if (st == V_OCSP_CERTSTATUS_UNKNOWN) {
		snprintf(why, whysz, "responder does not know it");
		goto out;
	}
	memset(s, 0, sizeof(*s));
	s->status = st == V_OCSP_CERTSTATUS_REVOKED ? LK_RS_REVOKED :
	    LK_RS_GOOD;
	s->reason = reason < 0 ? 0 : reason;
	s->rev_time = lk_rev_asn1_t(rt);
	s->until = lk_rev_ttl_until(nu, now);
	rc = 0;
out:
	ERR_clear_error();
	sk_X509_free(certs);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* Ask url about x; its answer (cached) into s: 0, or -1 with *why. */
static int
ocsp_ask(struct lk_rev *rv, const char *url, X509 *x, X509 *issuer,
    X509_STORE *anchors, time_t now, struct slot *s, char *why,
    size_t whysz)
{
	OCSP_CERTID *cid = NULL;
	OCSP_REQUEST *req = NULL;
	unsigned char *der = NULL;
	struct buf b = { NULL, 0 };
	char key[PATH_MAX], *hex = NULL;
	int n, rc = -1;

	if ((hex = x509_serial_hex(x)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "ocsp %s %08lx %s", url,
	    X509_issuer_name_hash(x), hex);
	free(hex);
	if (lk_rev_cache_get(rv, key, now, s)) {
		if (s->status == LK_RS_UNAVAILABLE)
			snprintf(why, whysz, "failed less than %d s ago",
			    FAIL_TTL);
		return s->status == LK_RS_UNAVAILABLE ? -1 : 0;
	}
	if ((cid = OCSP_cert_to_id(NULL, x, issuer)) == NULL ||
	    (req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(req, OCSP_CERTID_dup(cid)) == NULL ||
	    (rv->nonce && OCSP_request_add1_nonce(req, NULL, -1) != 1) ||
	    (n = i2d_OCSP_REQUEST(req, &der)) <= 0)
		snprintf(why, whysz, "cannot build the request");
	else if (ocsp_fetch(rv, url, x, der, (size_t)n, &b, why, whysz) == 0)
		rc = ocsp_judge(rv, rv->local_ocsp_url != NULL &&
		    strcmp(url, rv->local_ocsp_url) == 0 ? NULL : req, b.p,
		    b.len, cid, issuer, anchors, now, s, why, whysz);
	if (rc == -1) {
		memset(s, 0, sizeof(*s));
		s->status = LK_RS_UNAVAILABLE;
		s->until = now + FAIL_TTL;
	}
	lk_rev_cache_put(rv, key, s);
	ERR_clear_error();
	free(b.p);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(cid);
	return rc;
}

void
lk_rev_ocsp_check(struct lk_rev *rv, X509 *x, X509 *issuer, X509_STORE *anchors,
    time_t now, struct lk_rev_ans *a)
{
	STACK_OF(OPENSSL_STRING) *urls;
	struct slot s;
	char why[128] = "";
	const char *u;
	int i;

	if ((urls = X509_get1_ocsp(x)) == NULL)
		return;		/* LK_RS_NONE */
	for (i = 0; i < sk_OPENSSL_STRING_num(urls); i++) {
		u = sk_OPENSSL_STRING_value(urls, i);
		if (strncmp(u, "http://", 7) != 0)
			continue;
		a->status = LK_RS_UNAVAILABLE;
		if (ocsp_ask(rv, u, x, issuer, anchors, now, &s, why,
		    sizeof(why)) == -1) {
			snprintf(a->source, sizeof(a->source), "ocsp %s: %s", u,
			    why);
			continue;
		}
		snprintf(a->source, sizeof(a->source), "ocsp %s", u);
		a->status = s.status;
		a->reason = s.reason;
		a->rev_time = s.rev_time;
		break;
	}
	X509_email_free(urls);
	if (a->status != LK_RS_NONE)
		atomic_fetch_add(&rv->checks[SRC_OCSP][a->status - LK_RS_GOOD],
		    1);
}

