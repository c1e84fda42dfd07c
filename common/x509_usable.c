/*
 * x509_usable.c — whether a certificate can be used to encrypt mail to an
 * address at a given time: the S/MIME profile check of x509_profile.c for
 * encryption. publish, show, adoption and lookup all apply this test; the
 * verdicts lookupd counts keep their fixed reasons. A person with aliases
 * passes the set of their addresses (x509_usable_set).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "common/x509.h"

#define USABLE_SET_MAX	32	/* beyond the directory's cap of 16 */

/* addrs[0] = addr (in the set's spelling), then the rest of set. */
static size_t
usable_list(const char *addr, char *const *set, size_t n,
    const char *list[USABLE_SET_MAX])
{
	size_t i, k = 1;

	list[0] = addr;
	for (i = 0; i < n; i++)
		if (strcasecmp(set[i], addr) == 0)
			list[0] = set[i];
	for (i = 0; i < n && k < USABLE_SET_MAX; i++)
		if (set[i] != list[0])
			list[k++] = set[i];
	return k;
}

static int
usable_verdict(X509 *cert, const char *const *addrs, size_t n,
    char *const *extra_ekus, time_t now, const char **why)
{
	static _Thread_local char buf[512];
	enum x509_prof v;

	v = x509_profile_check(cert, addrs, n, extra_ekus,
	    X509_USE_ENCRYPT, now, buf, sizeof(buf));
	/* lookupd counts these verdicts by their reason */
	if (why != NULL)
		*why = v == X509_PROF_OK ? "usable" : v == X509_PROF_ADDRESS ?
		    "address not in certificate" : v == X509_PROF_KEY_USAGE ?
		    "key usage forbids encryption" : buf;
	return v == X509_PROF_OK;
}

int
x509_usable_ekus(X509 *cert, const char *addr, char *const *extra_ekus,
    time_t now, const char **why)
{
	return usable_verdict(cert, &addr, addr != NULL ? 1 : 0, extra_ekus,
	    now, why);
}

int
x509_usable_set(X509 *cert, const char *addr, char *const *set, size_t n,
    char *const *extra_ekus, time_t now, const char **why)
{
	const char *list[USABLE_SET_MAX];

	if (addr == NULL)
		return x509_usable_ekus(cert, NULL, extra_ekus, now, why);
	return usable_verdict(cert, list, usable_list(addr, set, n, list),
	    extra_ekus, now, why);
}

int
x509_usable(X509 *cert, const char *addr, time_t now, const char **why)
{
	return x509_usable_ekus(cert, addr, NULL, now, why);
}
