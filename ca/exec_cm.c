/*
 * exec_cm.c — the exec driver's reading of a helper that speaks certmonger's
 * helper protocol (ca.exec.protocol = "certmonger"; certmonger's
 * doc/submit.txt): the helper gets CERTMONGER_OPERATION (SUBMIT, POLL),
 * CERTMONGER_CSR (the PEM request) and CERTMONGER_CA_COOKIE (a poll), and
 * answers by its exit status:
 *   0 issued: stdout the certificate (PEM, a chain may follow);
 *   1 wait: stdout the cookie to poll with;
 *   2 rejected: stdout (else stderr) the reason;
 *   3 unreachable: try again later (the CA is counted as down);
 *   4 underconfigured: the helper's setup is incomplete;
 *   5 wait with a delay: stdout the seconds to wait, then the cookie.
 * So certmonger's helpers (local-submit, ipa-submit, scep-submit...) are CAs
 * for smimepub.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/exec_priv.h"
#include "common/log.h"

#define CM_ISSUED		0
#define CM_WAIT			1
#define CM_REJECTED		2
#define CM_UNREACHABLE		3
#define CM_UNDERCONFIGURED	4
#define CM_WAIT_WITH_DELAY	5
#define CM_RETRY_DEFAULT	60	/* seconds, for a plain wait */
#define CM_RETRY_MAX		(7 * 86400)

/* The helper's message: stdout's first line, else stderr's (malloc'd). */
static char *
cm_message(const struct run_out *r)
{
	char *m = exec_first_line(r->out, r->outlen);

	if (m != NULL && *m == '\0') {
		free(m);
		m = exec_first_line(r->err, r->errlen);
	}
	return m;
}

/* Exit 1 or 5: a cookie (and, for 5, a delay first) on stdout. */
static int
cm_wait(struct exec_ctx *x, const char *op, const struct run_out *r,
    struct ca_result *res)
{
	const char *cookie = r->out, *nl;
	char *end;
	long secs = CM_RETRY_DEFAULT;

	if (r->status == CM_WAIT_WITH_DELAY) {
		errno = 0;
		secs = strtol(r->out, &end, 10);
		if (errno != 0 || end == r->out || secs < 0 ||
		    secs > CM_RETRY_MAX || (*end != '\n' && *end != '\r')) {
			log_err("ca.exec.command %s: %s: exit 5 (wait) without "
			    "a number of seconds (0..%d) on stdout's first "
			    "line", x->command, op, CM_RETRY_MAX);
			return -1;
		}
		if ((nl = memchr(r->out, '\n', r->outlen)) == NULL) {
			log_err("ca.exec.command %s: %s: exit 5 (wait) without "
			    "a cookie on stdout's second line", x->command, op);
			return -1;
		}
		cookie = nl + 1;
	}
	if ((res->txid = exec_first_line(cookie, r->outlen -
	    (size_t)(cookie - r->out))) == NULL)
		return -1;
	if (*res->txid == '\0' || strlen(res->txid) >= LINE_MAX_) {
		log_err("ca.exec.command %s: %s: exit %d (wait) without a "
		    "cookie on stdout", x->command, op, r->status);
		ca_result_clear(res);
		return -1;
	}
	res->status = CA_PENDING;
	res->retry_after = time(NULL) + secs;
	return 0;
}

int
exec_cm_answer(struct exec_ctx *x, const char *op, const struct run_out *r,
    struct ca_result *res)
{
	char *m;

	switch (r->status) {
	case CM_ISSUED:
		return exec_answer(x, op, r, res);
	case CM_WAIT:
	case CM_WAIT_WITH_DELAY:
		return cm_wait(x, op, r, res);
	case CM_REJECTED:
		res->status = CA_REJECTED;
		if ((m = cm_message(r)) != NULL && *m == '\0') {
			free(m);
			m = strdup("rejected by ca.exec.command (certmonger "
			    "protocol, no reason given)");
		}
		res->reason = m;
		return m == NULL ? -1 : 0;
	case CM_UNREACHABLE:
	case CM_UNDERCONFIGURED:
		m = cm_message(r);
		log_err("ca.exec.command %s: %s: exit %d: %s%s%s", x->command,
		    op, r->status, r->status == CM_UNREACHABLE ?
		    "the CA is unreachable, trying again later" :
		    "the helper is not configured completely",
		    m != NULL && *m != '\0' ? ": " : "", m != NULL ? m : "");
		free(m);
		return -1;
	default:
		m = cm_message(r);
		log_err("ca.exec.command %s: %s: %s %d, not an answer of "
		    "certmonger's helper protocol%s%s", x->command, op,
		    r->status == -1 ? "killed by signal" : "exit status",
		    r->status == -1 ? r->sig : r->status,
		    m != NULL && *m != '\0' ? ": " : "", m != NULL ? m : "");
		free(m);
		return -1;
	}
}
