/*
 * fuzz_cfssl.c — libFuzzer target for the cfssl driver's reading of an
 * answer (cfssl_answer): the first byte picks the HTTP status (200, 400,
 * 500), the rest is the body, any bytes. No crash, no leak; 0 means a
 * certificate issued or a rejection with a printable reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "common/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long codes[] = { 200, 400, 500 };
	static int init;
	struct ca_result res;
	const char *p;

	if (!init) {
		log_init("fuzz_cfssl", 0, LOG_LVL_ERR);
		init = 1;
	}
	if (len < 1)
		return 0;
	memset(&res, 0, sizeof(res));
	if (cfssl_answer("http://127.0.0.1:1/api/v1/cfssl/sign",
	    codes[data[0] % 3], (const char *)data + 1, len - 1,
	    "alice@example.com", &res) == 0) {
		if (res.status == CA_ISSUED && res.cert == NULL)
			abort();
		if (res.status == CA_REJECTED) {
			if (res.reason == NULL)
				abort();
			for (p = res.reason; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 ||
				    (unsigned char)*p == 0x7f)
					abort();
		}
	}
	ca_result_clear(&res);
	return 0;
}
