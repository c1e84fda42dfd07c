/*
 * fuzz_lease.c — libFuzzer target for reading a lease value: the values of
 * the lease attribute (the input split at 0xff bytes, any count) through
 * dir_lease_value() (one value, not empty, at most 512 bytes, no NUL), then
 * the holder it names (lease_value_holder) into a buffer of 128 and of 4
 * bytes. No crash, no leak; what is accepted is exactly the one value, and
 * the holder is NUL-terminated within the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>

#include "common/log.h"
#include "ldap/dir_priv.h"
#include "sync/lease.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int init;
	struct berval **v = NULL, *bv;
	const uint8_t *p = data, *end = data + len, *sep;
	char *val = NULL, who[128], tiny[4];
	size_t n = 0, i;

	if (!init) {
		log_init("fuzz_lease", 0, LOG_LVL_ERR);
		init = 1;
	}
	/* as libldap hands them over: a NULL-terminated array of values */
	while (len > 0 && n < 8) {
		struct berval **nv;

		sep = memchr(p, 0xff, (size_t)(end - p));
		if (sep == NULL)
			sep = end;
		if ((bv = ber_mem2bv((char *)p, (ber_len_t)(sep - p), 1,
		    NULL)) == NULL)
			goto out;
		if ((nv = ber_memrealloc(v, (n + 2) * sizeof(*v))) == NULL) {
			ber_bvfree(bv);
			goto out;
		}
		v = nv;
		v[n++] = bv;
		v[n] = NULL;
		if (sep == end)
			break;
		p = sep + 1;
	}
	if (dir_lease_value("cn=lease,dc=example,dc=com", "description", v,
	    &val) == 0) {
		if (n > 1 || (n == 1 && (val == NULL ||
		    strlen(val) != v[0]->bv_len)) || (n == 0 && val != NULL))
			abort();
		lease_value_holder(val, who, sizeof(who));
		lease_value_holder(val, tiny, sizeof(tiny));
		if (memchr(who, '\0', sizeof(who)) == NULL ||
		    memchr(tiny, '\0', sizeof(tiny)) == NULL)
			abort();
	} else if (val != NULL)
		abort();
out:
	free(val);
	if (v != NULL) {
		for (i = 0; v[i] != NULL; i++)
			ber_bvfree(v[i]);
		ber_memfree(v);
	}
	return 0;
}
