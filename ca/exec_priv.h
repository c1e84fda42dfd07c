/*
 * exec_priv.h — what the exec driver's two files share: exec.c (the
 * driver: requests, answers, trust) and exec_run.c (running the helper:
 * its environment, pipes, timeout and process group).
 */
#ifndef SMIMEPUB_EXEC_PRIV_H
#define SMIMEPUB_EXEC_PRIV_H

#include <stddef.h>

#include <openssl/x509_vfy.h>

#include "common/run.h"

#define OUT_MAX		(1 << 20)	/* stdout: the chain */
#define ERR_MAX		(64 << 10)	/* stderr: kept for the reason */
#define LINE_MAX_	512		/* reason, poll id */
#define ENV_EXTRA	8

struct exec_ctx {
	char		*command;
	int		 certmonger;	/* ca.exec.protocol = "certmonger" */
	int		 timeout;
	X509_STORE	*store;
};

/*
 * Run the helper with input on its stdin and vars (NAME, value pairs, a
 * NULL value skipped) in its environment, reading stdout and stderr
 * concurrently until it exits or ca.exec.timeout. 0 when it ran to an exit
 * (r filled; exec_run_clear frees it), -1 logged otherwise.
 */
int	exec_run(struct exec_ctx *, const char *op, const char *in,
	    size_t inlen, const char *const vars[], struct run_out *r);
void	exec_run_clear(struct run_out *);
/*
 * exec.c: a finished run of enrol or poll (op) into res, by its exit status:
 * 0 issued (stdout a PEM chain), 1 rejected (stderr's first line), 2
 * pending (poll id, seconds); no I/O (tests/fuzz/fuzz_exec.c). 0, or -1
 * logged. r->out and r->err are NUL-terminated.
 */
struct ca_result;
int	exec_answer(struct exec_ctx *, const char *op,
	    const struct run_out *r, struct ca_result *res);
/* The same in certmonger's helper protocol (exec_cm.c). */
int	exec_cm_answer(struct exec_ctx *, const char *op,
	    const struct run_out *r, struct ca_result *res);
/* The first line of s, printable ASCII only, at most LINE_MAX_ bytes
 * (malloc'd; NULL when out of memory). */
char	*exec_first_line(const char *s, size_t len);

#endif
