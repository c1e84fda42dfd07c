/*
 * fuzz_profile.c — libFuzzer target for the S/MIME profile check
 * (x509_profile_check, x509_usable_ekus): any DER certificate in, judged
 * for one and for two addresses, with and without allowed extra EKUs, for
 * encryption and signing; no crash, a verdict in range, a NUL-terminated
 * reason within the buffer (also a short one), and a certificate that
 * passes with no extra EKU allowed passes with them too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/x509.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char *const ekus[] = { "clientAuth", "1.3.6.1.4.1.311.10.3.12",
	    "not an oid", NULL };
	const char *addrs[] = { "alice@example.com", "a.smith@example.com" };
	const char *why;
	char buf[256], small[9];
	enum x509_prof v, w;
	time_t now = 1700000000;
	struct tm tm;
	X509 *x;

	if ((x = x509_from_der(data, len)) == NULL)
		return 0;
	/* a minute into its validity (from the input: runs repeat), so the
	 * checks after the validity's are reached */
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		now = timegm(&tm) + 60;
	v = x509_profile_check(x, addrs, 1, NULL, X509_USE_ENCRYPT, now, buf,
	    sizeof(buf));
	if (v > X509_PROF_PROFILE || memchr(buf, '\0', sizeof(buf)) == NULL)
		abort();
	w = x509_profile_check(x, addrs, 2, ekus, X509_USE_ENCRYPT, now,
	    small, sizeof(small));
	if (memchr(small, '\0', sizeof(small)) == NULL ||
	    (v == X509_PROF_OK && w != X509_PROF_OK))
		abort();
	(void)x509_profile_check(x, NULL, 0, ekus, X509_USE_SIGN, now, NULL,
	    0);
	if (x509_usable_ekus(x, "alice@example.com", ekus, now, &why) == 0 &&
	    why == NULL)
		abort();
	X509_free(x);
	return 0;
}
