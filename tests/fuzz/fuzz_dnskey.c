/*
 * fuzz_dnskey.c — libFuzzer target for the TSIG key file parser
 * (dns_key_parse) and the DNS answer parsing of dns/ (dns_answer_parse):
 * any bytes in, no crash; an accepted key has a dotted name, a known
 * algorithm and a secret of base64 characters only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dns_key k;
	struct dns_rrset set;
	const char *why = NULL;
	char err[256];
	int rcode;
	size_t i;

	if (dns_key_parse((const char *)data, len, &k, &why) == 0) {
		if (k.name[strlen(k.name) - 1] != '.' ||
		    strncmp(k.alg, "hmac-sha", 8) != 0 ||
		    strspn(k.secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789+/=") != strlen(k.secret))
			abort();
	} else if (why == NULL)
		abort();
	dns_key_clear(&k);

	memset(&set, 0, sizeof(set));
	strcpy(set.owner, "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1"
	    "afd6._smimecert.example.com.");
	if (dns_answer_parse(data, len, &set, &rcode, err, sizeof(err)) == 0)
		for (i = 0; i < set.n; i++)
			if (set.rd[i].usage > 255 || (set.rd[i].len > 0 &&
			    set.rd[i].data == NULL))
				abort();
	dns_rrset_clear(&set);
	return 0;
}
