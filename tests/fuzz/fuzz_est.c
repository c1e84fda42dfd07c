/*
 * fuzz_est.c — libFuzzer target for the EST driver's reading of a
 * /simpleenroll answer (est_answer_take): the first byte picks the HTTP
 * status (200, 202, 400, 401, 500) and the Content-Type, the second a
 * Retry-After, the rest is the body (base64 certs-only PKCS#7 when all is
 * well), any bytes. No crash, no leak, no overflow of the retry time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/est_priv.h"
#include "common/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long codes[] = { 200, 202, 400, 401, 500 };
	static const long retries[] = { -1, 0, 5, 86400, 2147483647L,
	    9223372036854775807L };
	static const char *const ctypes[] = { "application/pkcs7-mime",
	    "application/pkcs7-mime; smime-type=certs-only", "text/plain",
	    NULL };
	static int init;
	struct est_answer a;
	struct ca_result res;

	if (!init) {
		log_init("fuzz_est", 0, LOG_LVL_ERR);
		init = 1;
	}
	if (len < 2)
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&res, 0, sizeof(res));
	a.status = codes[data[0] % 5];
	a.ctype = ctypes[(data[0] / 5) % 4] != NULL ?
	    strdup(ctypes[(data[0] / 5) % 4]) : NULL;
	a.retry = retries[data[1] % 6];
	if ((a.body.data = malloc(len - 2 + 1)) == NULL)
		goto out;
	memcpy(a.body.data, data + 2, len - 2);
	a.body.data[len - 2] = '\0';
	a.body.len = len - 2;
	if (est_answer_take("https://127.0.0.1:1/.well-known/est/simpleenroll",
	    &a, "TUlJQg==", NULL, NULL, &res) == 0) {
		if ((res.status == CA_ISSUED && res.cert == NULL) ||
		    (res.status == CA_PENDING && (res.txid == NULL ||
		    res.retry_after > time(NULL) + EST_RETRY_MAX + 60)) ||
		    (res.status == CA_REJECTED && res.reason == NULL))
			abort();
	}
out:
	ca_result_clear(&res);
	est_answer_clear(&a);
	return 0;
}
