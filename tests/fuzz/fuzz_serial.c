/*
 * fuzz_serial.c — libFuzzer target for x509_der_serial_hex(), which reads a
 * certificate's serial straight from its DER without a full parse: any bytes
 * in, no crash, no read beyond len, the hex NUL-terminated within the
 * buffer; and whenever the bytes are one certificate OpenSSL parses, the
 * hex is exactly x509_serial_hex()'s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "common/x509.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char out[2 * 20 + 8], tiny[4], *full;
	unsigned char *copy;
	X509 *x;
	int rc;

	/* an exact-size copy: a read past len is a heap overflow (ASan) */
	if ((copy = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(copy, data, len);
	rc = x509_der_serial_hex(copy, len, out, sizeof(out));
	if (rc == 0 && memchr(out, '\0', sizeof(out)) == NULL)
		abort();
	if (x509_der_serial_hex(copy, len, tiny, sizeof(tiny)) == 0 &&
	    memchr(tiny, '\0', sizeof(tiny)) == NULL)
		abort();
	if (rc == 0 && (x = x509_from_der(copy, len)) != NULL) {
		full = x509_serial_hex(x);
		if (full != NULL && strcmp(full, out) != 0)
			abort();
		free(full);
		X509_free(x);
	}
	free(copy);
	return 0;
}
