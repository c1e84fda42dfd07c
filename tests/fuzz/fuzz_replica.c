/*
 * fuzz_replica.c — libFuzzer target for what a replica check parses from a
 * server (ldap/dir_replica.c): a replUpToDateVector blob (the first 16
 * bytes are the invocationId looked for, the rest the blob), and contextCSN
 * values (lines: the last is the one wanted, the others what the replica
 * has). No crash; a cursor found lies inside the blob; a CSN always covers
 * itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ldap/dir_priv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NVALS	8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct berval bv[NVALS], *have[NVALS + 1], self, *selfv[2];
	const char *p = (const char *)data, *nl;
	size_t n = 0, rest = len;
	uint64_t usn;

	if (len >= 16 && dir_utd_cursor(data + 16, len - 16, data, &usn) == 0 &&
	    len - 16 < 16 + 24)
		abort();	/* a cursor needs a header and 24 bytes */
	while (n < NVALS && (nl = memchr(p, '\n', rest)) != NULL) {
		bv[n].bv_val = (char *)p;
		bv[n].bv_len = (ber_len_t)(nl - p);
		have[n] = &bv[n];
		n++;
		rest -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	have[n] = NULL;
	(void)dir_csn_covered(have, p, rest);
	/* what is compared must be a string the way a server sends it */
	if (rest > 0 && memchr(p, '\0', rest) == NULL) {
		self.bv_val = (char *)p;
		self.bv_len = (ber_len_t)rest;
		selfv[0] = &self;
		selfv[1] = NULL;
		if (dir_csn_covered(selfv, p, rest) != 1)
			abort();
	}
	return 0;
}
