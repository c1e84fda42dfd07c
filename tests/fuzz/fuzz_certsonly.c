/*
 * fuzz_certsonly.c — libFuzzer target for x509_certsonly_parse() and
 * x509_from_der(): any bytes in, no crash, no leak, and whatever parses
 * survives a rebuild and a second parse with the same certificates in order.
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. tests/fuzz/fuzz_certsonly.c common/x509.c common/x509_usable.c common/file.c common/log.c -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "common/x509.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	STACK_OF(X509) *certs = NULL, *chain = NULL, *again = NULL;
	unsigned char *der = NULL;
	const char *why;
	size_t dlen = 0;
	X509 *cert = NULL;
	int i;

	if ((cert = x509_from_der(data, len)) != NULL)
		(void)x509_usable(cert, "alice@example.com", 0, &why);
	if ((certs = x509_certsonly_parse(data, len)) == NULL)
		goto out;
	if (sk_X509_num(certs) < 1)
		abort();
	if ((chain = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(chain, sk_X509_value(certs, i)))
			goto out;
	/* A certificate that decoded may still fail to re-encode. */
	if (x509_certsonly_build(sk_X509_value(certs, 0), chain, &der,
	    &dlen) == -1)
		goto out;
	if ((again = x509_certsonly_parse(der, dlen)) == NULL ||
	    sk_X509_num(again) != sk_X509_num(certs))
		abort();
	for (i = 0; i < sk_X509_num(certs); i++)
		if (X509_cmp(sk_X509_value(certs, i),
		    sk_X509_value(again, i)) != 0)
			abort();
out:
	OPENSSL_free(der);
	sk_X509_pop_free(again, X509_free);
	sk_X509_free(chain);
	sk_X509_pop_free(certs, X509_free);
	X509_free(cert);
	return 0;
}
