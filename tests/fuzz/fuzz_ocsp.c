/*
 * fuzz_ocsp.c — libFuzzer target for what smimepub-lookupd reads of an OCSP
 * request (lookup/lk_ocsp.c): the base64 of GET /ocsp/{base64} (RFC 6960
 * A.1) and the DER OCSPRequest of a POST or of that GET. Any bytes in, no
 * crash, no read beyond len; a decoded request never longer than the
 * buffer; a CertID only when the parse succeeds, and then exactly one
 * request that OpenSSL itself reads back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>

#include "lookup/lk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
parse(const unsigned char *der, size_t len)
{
	OCSP_CERTID *cid = (OCSP_CERTID *)1;
	const unsigned char *p = der;
	OCSP_REQUEST *req;

	if (lk_ocsp_parse(der, len, &cid) == 0) {
		if (cid == NULL)
			abort();
		/* what was accepted is one request OpenSSL reads too */
		if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL ||
		    OCSP_request_onereq_count(req) != 1)
			abort();
		OCSP_REQUEST_free(req);
	} else if (cid != NULL)
		abort();
	OCSP_CERTID_free(cid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char *copy, out[LK_OCSP_GET_MAX];
	char *s;
	size_t n = 0;

	/* an exact-size copy: a read past len is a heap overflow (ASan) */
	if ((copy = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(copy, data, len);
	parse(copy, len);
	if ((s = malloc(len + 1)) != NULL) {
		memcpy(s, data, len);
		s[len] = '\0';
		if (lk_ocsp_b64(s, out, sizeof(out), &n) == 0) {
			if (n == 0 || n > sizeof(out))
				abort();
			parse(out, n);
		}
		free(s);
	}
	free(copy);
	return 0;
}
