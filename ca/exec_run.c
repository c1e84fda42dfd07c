/*
 * exec_run.c — running the exec driver's helper (exec.c) through the
 * shared runner (common/run.c: no shell, its own process group, only its
 * pipes open, output capped, killed with its group after ca.exec.timeout):
 * here only what is the driver's own, SMIMEPUB_OPERATION and a random
 * SMIMEPUB_REQUEST_ID in its environment, which otherwise is ours without
 * SMIMEPUB_* (certmonger's helpers may need e.g. KRB5CCNAME).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ca/exec_priv.h"
#include "common/log.h"

void
exec_run_clear(struct run_out *r)
{
	run_out_clear(r);
}

char *
exec_first_line(const char *s, size_t len)
{
	return run_first_line(s, len, LINE_MAX_);
}

int
exec_run(struct exec_ctx *x, const char *op, const char *in, size_t inlen,
    const char *const vars[], struct run_out *r)
{
	const char *all[2 * ENV_EXTRA + 5];
	unsigned char rnd[16];
	char id[33], what[512];
	struct run_cmd c;
	size_t i, j = 0;

	memset(r, 0, sizeof(*r));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		log_ssl("ca.exec.command %s: %s: no random request id",
		    x->command, op);
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	all[j++] = "SMIMEPUB_OPERATION";
	all[j++] = op;
	all[j++] = "SMIMEPUB_REQUEST_ID";
	all[j++] = id;
	for (i = 0; vars[i] != NULL && j + 2 < sizeof(all) / sizeof(all[0]);
	    i += 2) {
		all[j++] = vars[i];
		all[j++] = vars[i + 1];
	}
	all[j] = NULL;
	snprintf(what, sizeof(what), "ca.exec.command %s: %s", x->command, op);
	memset(&c, 0, sizeof(c));
	c.path = x->command;
	c.what = what;
	c.timeout_key = "ca.exec.timeout";
	c.timeout = x->timeout;
	c.vars = all;
	c.out_max = OUT_MAX;
	c.out_strict = 1;
	c.err_max = ERR_MAX;
	return run_cmd(&c, in, inlen, r);
}
