/*
 * fuzz_exec.c — libFuzzer target for the exec CA driver's reading of a
 * helper's answer (exec_answer, and exec_cm_answer for certmonger's helper
 * protocol): the first byte picks the protocol and the exit status, the
 * rest is split at the first
 * 0xff byte into stdout and stderr. No crash, no leak; issued means a
 * certificate, pending a poll id, rejected a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "ca/exec_priv.h"
#include "common/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
nulterm(const uint8_t *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int init;
	struct exec_ctx x = { .command = "fuzz-helper", .timeout = 1 };
	struct run_out r;
	struct ca_result res;
	const uint8_t *sep;
	size_t olen;

	if (!init) {
		log_init("fuzz_exec", 0, LOG_LVL_ERR);
		init = 1;
	}
	if (len < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	/* low bits: the exit status (7: killed); bit 3: certmonger's
	 * protocol instead of smimepub's */
	r.status = (data[0] & 7) == 7 ? -1 : data[0] & 7;
	x.certmonger = (data[0] & 8) != 0;
	r.sig = 9;
	sep = memchr(data + 1, 0xff, len - 1);
	olen = sep != NULL ? (size_t)(sep - (data + 1)) : len - 1;
	r.out = nulterm(data + 1, olen);
	r.outlen = olen;
	r.err = sep != NULL ? nulterm(sep + 1, len - 1 - olen - 1) :
	    nulterm(data, 0);
	r.errlen = sep != NULL ? len - 1 - olen - 1 : 0;
	if (r.out == NULL || r.err == NULL)
		goto out;
	if ((x.certmonger ? exec_cm_answer(&x, "enrol", &r, &res) :
	    exec_answer(&x, "enrol", &r, &res)) == 0) {
		if ((res.status == CA_ISSUED && res.cert == NULL) ||
		    (res.status == CA_PENDING && res.txid == NULL) ||
		    (res.status == CA_REJECTED && res.reason == NULL))
			abort();
	}
out:
	ca_result_clear(&res);
	free(r.out);
	free(r.err);
	return 0;
}
