/*
 * x509_usable.c — whether a certificate can be used to encrypt mail to an
 * address at a given time: the S/MIME profile check of x509_profile.c for
 * encryption. publish, show, adoption and lookup all apply this test; the
 * verdicts lookupd counts keep their fixed reasons.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/x509.h>

#include "common/x509.h"

int
x509_usable_ekus(X509 *cert, const char *addr, char *const *extra_ekus,
    time_t now, const char **why)
{
	static _Thread_local char buf[512];
	enum x509_prof v;

	v = x509_profile_check(cert, &addr, addr != NULL ? 1 : 0, extra_ekus,
	    X509_USE_ENCRYPT, now, buf, sizeof(buf));
	/* lookupd counts these verdicts by their reason */
	if (why != NULL)
		*why = v == X509_PROF_OK ? "usable" : v == X509_PROF_ADDRESS ?
		    "address not in certificate" : v == X509_PROF_KEY_USAGE ?
		    "key usage forbids encryption" : buf;
	return v == X509_PROF_OK;
}

int
x509_usable(X509 *cert, const char *addr, time_t now, const char **why)
{
	return x509_usable_ekus(cert, addr, NULL, now, why);
}
