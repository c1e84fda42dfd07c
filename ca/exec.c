/*
 * exec.c — the exec driver (ca.driver = "exec"), the way certmonger reaches
 * any CA: run ca.exec.command (no shell) with the CSR PEM on stdin and
 * SMIMEPUB_OPERATION, SMIMEPUB_MAIL, SMIMEPUB_DISPLAY_NAME and
 * SMIMEPUB_REQUEST_ID in its environment. Its exit status is the answer:
 * 0 issued (stdout: the chain in PEM, leaf first), 1 rejected (stderr's
 * first line: the reason), 2 pending (stdout's first line: the poll id, an
 * optional second line: seconds to wait), anything else an error. A poll
 * runs it with SMIMEPUB_OPERATION=poll and SMIMEPUB_POLL_ID; a revocation
 * with SMIMEPUB_OPERATION=revoke, the certificate PEM on stdin and
 * SMIMEPUB_REVOKE_REASON. A helper that outlives ca.exec.timeout is killed
 * with its process group. The anchors come from ca.exec.ca_cert only:
 * nothing the helper prints is ever trusted as a root.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/log.h"
#include "common/x509.h"

#define OUT_MAX		(1 << 20)	/* stdout: the chain */
#define ERR_MAX		(64 << 10)	/* stderr: kept for the reason */
#define LINE_MAX_	512		/* reason, poll id */
#define RETRY_DEFAULT	60
#define RETRY_MAX	(7 * 86400)
#define ENV_EXTRA	8

extern char **environ;

struct exec_ctx {
	char		*command;
	int		 timeout;
	X509_STORE	*store;
};

struct exec_run {
	char		*out;		/* NUL-terminated */
	size_t		 outlen;
	char		*err;
	size_t		 errlen;
	int		 status;	/* exit status; -1 if killed */
	int		 sig;		/* signal that ended it */
};

static void
run_clear(struct exec_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of s, printable ASCII only, at most LINE_MAX_ bytes. */
static char *
first_line(const char *s, size_t len)
{
	char *l;
	size_t i, n = 0;

	if ((l = malloc(LINE_MAX_ + 1)) == NULL)
		return NULL;
	for (i = 0; i < len && n < LINE_MAX_ && s[i] != '\n'; i++) {
		if (s[i] == '\r')
			continue;
		l[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	l[n] = '\0';
	return l;
}

/* Append up to what fits below max; 1 if data was cut. */
static int
append(char **buf, size_t *len, const char *data, size_t n, size_t max)
{
	size_t take = n;
	char *p;

	if (*len + take > max)
		take = max - *len;
	if ((p = realloc(*buf, *len + take + 1)) == NULL)
		return -1;
	memcpy(p + *len, data, take);
	*len += take;
	p[*len] = '\0';
	*buf = p;
	return take < n;
}

/*
 * The environment of the helper: ours without SMIMEPUB_*, then
 * SMIMEPUB_OPERATION=op, SMIMEPUB_REQUEST_ID (random) and the NAME, value
 * pairs of vars (a NULL value skips the pair). Built before fork(): the
 * child of a threaded program may only call async-signal-safe functions.
 * The strings we add start at env[*first]; env_free() frees them.
 */
static char **
make_env(const char *op, const char *const vars[], size_t *first)
{
	unsigned char rnd[16];
	char **env, id[33];
	size_t n = 0, i, j = 0, len;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((env = calloc(n + ENV_EXTRA + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SMIMEPUB_", 9) != 0)
			env[j++] = environ[i];
	*first = j;
	if (asprintf(&env[j++], "SMIMEPUB_OPERATION=%s", op) == -1 ||
	    asprintf(&env[j++], "SMIMEPUB_REQUEST_ID=%s", id) == -1)
		goto fail;
	for (i = 0; vars[i] != NULL && j < n + ENV_EXTRA; i += 2) {
		if (vars[i + 1] == NULL)
			continue;
		len = strlen(vars[i]) + strlen(vars[i + 1]) + 2;
		if ((env[j++] = malloc(len)) == NULL)
			goto fail;
		snprintf(env[j - 1], len, "%s=%s", vars[i], vars[i + 1]);
	}
	return env;
fail:
	env[j - 1] = NULL;	/* asprintf() leaves it undefined */
	for (i = *first; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void
env_free(char **env, size_t first)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = first; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static void
child(const char *path, char **env, int in, int out, int err)
{
	sigset_t none;
	struct sigaction sa;
	char *argv[2];

	setpgid(0, 0);
	sigemptyset(&none);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	close_range(3, ~0U, 0);
	argv[0] = (char *)path;
	argv[1] = NULL;
	execve(path, argv, env);
	_exit(127);
}

/* Write to the pipe without dying of SIGPIPE when the helper went away. */
static ssize_t
write_nosig(int fd, const void *buf, size_t len)
{
	sigset_t pipe, old, pending;
	struct timespec zero = { 0, 0 };
	ssize_t n;
	int e, was_pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	n = write(fd, buf, len);
	e = errno;
	if (n == -1 && e == EPIPE && !was_pending)
		while (sigtimedwait(&pipe, NULL, &zero) == -1 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

/*
 * Run the helper with input on its stdin and extra in its environment,
 * reading stdout and stderr concurrently until it exits or the timeout.
 * 0 when it ran to an exit (r filled), -1 logged otherwise.
 */
static int
exec_run(struct exec_ctx *x, const char *op, const char *in, size_t inlen,
    const char *const vars[], struct exec_run *r)
{
	/* p[0] its stdin, p[1] its stdout, p[2] its stderr; fd[] our ends */
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, fd[3];
	char **env = NULL, buf[8192], **dst[3] = { NULL, &r->out, &r->err };
	size_t inoff = 0, first = 0, *dlen[3] = { NULL, &r->outlen,
	    &r->errlen }, max[3] = { 0, OUT_MAX, ERR_MAX };
	struct pollfd pfd[3];
	int64_t deadline;
	pid_t pid = -1, w;
	ssize_t n;
	int rc = -1, st = 0, nfd, i, k, t, reaped = 0, cut;

	memset(r, 0, sizeof(*r));
	if ((env = make_env(op, vars, &first)) == NULL ||
	    pipe2(p[0], O_CLOEXEC) == -1 || pipe2(p[1], O_CLOEXEC) == -1 ||
	    pipe2(p[2], O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_err("ca.exec.command %s: %s: cannot start it: %s",
		    x->command, op, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(x->command, env, p[0][0], p[1][1], p[2][1]);
	setpgid(pid, pid);	/* also here: no race with kill(-pid) */
	for (i = 0; i < 3; i++) {
		close(p[i][i == 0 ? 0 : 1]);
		p[i][i == 0 ? 0 : 1] = -1;
	}
	fd[0] = p[0][1];
	fd[1] = p[1][0];
	fd[2] = p[2][0];
	if (inlen == 0) {
		close(fd[0]);
		fd[0] = p[0][1] = -1;
	} else
		fcntl(fd[0], F_SETFL, O_NONBLOCK);

	deadline = now_ms() + (int64_t)x->timeout * 1000;
	for (;;) {
		for (i = nfd = 0; i < 3; i++)
			if (fd[i] != -1) {
				pfd[nfd].fd = fd[i];
				pfd[nfd++].events = i == 0 ? POLLOUT : POLLIN;
			}
		if (nfd == 0) {
			/* pipes closed: wait for the exit itself */
			if ((w = waitpid(pid, &st, WNOHANG)) == pid) {
				reaped = 1;
				break;
			}
			if (w == -1 && errno != EINTR) {
				log_err("ca.exec.command %s: %s: waitpid: %s",
				    x->command, op, strerror(errno));
				goto out;
			}
		}
		if ((t = (int)(deadline - now_ms())) <= 0) {
			log_err("ca.exec.command %s: %s: no answer within "
			    "ca.exec.timeout (%d s); killed", x->command, op,
			    x->timeout);
			goto out;
		}
		if (poll(pfd, (nfds_t)nfd, nfd == 0 && t > 20 ? 20 : t) == -1 &&
		    errno != EINTR) {
			log_err("ca.exec.command %s: %s: poll: %s",
			    x->command, op, strerror(errno));
			goto out;
		}
		for (k = 0; k < nfd; k++) {
			if (pfd[k].revents == 0)
				continue;
			for (i = 0; i < 2 && fd[i] != pfd[k].fd; i++)
				;
			if (i == 0) {
				n = write_nosig(fd[0], in + inoff,
				    inlen - inoff);
				if (n > 0)
					inoff += (size_t)n;
				/* EPIPE: it stopped reading; fine */
				if ((n == -1 && errno != EAGAIN &&
				    errno != EINTR) || inoff == inlen) {
					close(fd[0]);
					fd[0] = p[0][1] = -1;
				}
				continue;
			}
			if ((n = read(fd[i], buf, sizeof(buf))) == -1 &&
			    (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(fd[i]);
				fd[i] = p[i][0] = -1;
				continue;
			}
			cut = append(dst[i], dlen[i], buf, (size_t)n, max[i]);
			if (cut == -1) {
				log_err("ca.exec.command %s: %s: out of "
				    "memory", x->command, op);
				goto out;
			}
			if (cut && i == 1) {
				log_err("ca.exec.command %s: %s: more than "
				    "%d bytes on stdout; killed", x->command,
				    op, OUT_MAX);
				goto out;
			}
		}
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if ((r->out == NULL && (r->out = strdup("")) == NULL) ||
	    (r->err == NULL && (r->err = strdup("")) == NULL)) {
		log_err("ca.exec.command %s: %s: out of memory", x->command,
		    op);
		goto out;
	}
	rc = 0;
out:
	if (pid > 0 && !reaped) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < 3; i++)
		for (k = 0; k < 2; k++)
			if (p[i][k] != -1)
				close(p[i][k]);
	env_free(env, first);
	if (rc == -1)
		run_clear(r);
	return rc;
}

/* The helper failed: log its status and the first line of its stderr. */
static void
run_failed(struct exec_ctx *x, const char *op, const struct exec_run *r)
{
	char *why = first_line(r->err, r->errlen);

	if (r->status == -1)
		log_err("ca.exec.command %s: %s: killed by signal %d%s%s",
		    x->command, op, r->sig, why && *why ? ": " : "",
		    why ? why : "");
	else if (r->status == 127 && (why == NULL || *why == '\0'))
		log_err("ca.exec.command %s: %s: exit 127 (cannot be run?)",
		    x->command, op);
	else
		log_err("ca.exec.command %s: %s: exit status %d%s%s",
		    x->command, op, r->status,
		    why && *why ? ": " : "", why ? why : "");
	free(why);
}

/* Every PEM certificate of the helper's stdout, leaf first, into res. */
static int
parse_chain(struct exec_ctx *x, const char *op, const struct exec_run *r,
    struct ca_result *res)
{
	BIO *b = NULL;
	X509 *c = NULL;
	unsigned long e;
	int rc = -1;

	if ((b = BIO_new_mem_buf(r->out, (int)r->outlen)) == NULL ||
	    (res->chain = sk_X509_new_null()) == NULL) {
		log_ssl("ca.exec.command %s: out of memory", x->command);
		goto out;
	}
	while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (res->cert == NULL)
			res->cert = c;
		else if (!sk_X509_push(res->chain, c)) {
			X509_free(c);
			log_ssl("ca.exec.command %s: out of memory",
			    x->command);
			goto out;
		}
	}
	e = ERR_peek_last_error();
	if (res->cert == NULL || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		ERR_clear_error();
		log_err("ca.exec.command %s: %s: exit 0 but stdout is not a "
		    "PEM certificate chain (%zu bytes)", x->command, op,
		    r->outlen);
		goto out;
	}
	ERR_clear_error();
	res->status = CA_ISSUED;
	rc = 0;
out:
	BIO_free(b);
	if (rc == -1)
		ca_result_clear(res);
	return rc;
}

/* Turn a finished run of enrol or poll into the result. */
static int
answer(struct exec_ctx *x, const char *op, const struct exec_run *r,
    struct ca_result *res)
{
	const char *nl;
	char *end;
	long secs = RETRY_DEFAULT;

	switch (r->status) {
	case 0:
		return parse_chain(x, op, r, res);
	case 1:
		res->status = CA_REJECTED;
		if ((res->reason = first_line(r->err, r->errlen)) == NULL)
			return -1;
		if (*res->reason == '\0') {
			free(res->reason);
			res->reason = strdup("rejected by ca.exec.command "
			    "(no reason on stderr)");
		}
		return res->reason == NULL ? -1 : 0;
	case 2:
		if ((res->txid = first_line(r->out, r->outlen)) == NULL)
			return -1;
		if (*res->txid == '\0' || strlen(res->txid) >= LINE_MAX_) {
			log_err("ca.exec.command %s: %s: exit 2 (pending) "
			    "without a poll id on stdout's first line",
			    x->command, op);
			ca_result_clear(res);
			return -1;
		}
		if ((nl = memchr(r->out, '\n', r->outlen)) != NULL &&
		    nl[1] != '\0' && nl[1] != '\n') {
			errno = 0;
			secs = strtol(nl + 1, &end, 10);
			if (errno != 0 || end == nl + 1 || secs < 0 ||
			    secs > RETRY_MAX || (*end != '\0' &&
			    *end != '\n' && *end != '\r')) {
				log_err("ca.exec.command %s: %s: exit 2: "
				    "second line is not a number of seconds "
				    "(0..%d)", x->command, op, RETRY_MAX);
				ca_result_clear(res);
				return -1;
			}
		}
		res->status = CA_PENDING;
		res->retry_after = time(NULL) + secs;
		return 0;
	default:
		run_failed(x, op, r);
		return -1;
	}
}

/* The CN of the CSR's subject in UTF-8 when it is printable; else NULL. */
static char *
csr_cn(X509_REQ *csr)
{
	const X509_NAME *n = X509_REQ_get_subject_name(csr);
	unsigned char *u = NULL;
	char *s = NULL;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) < 0 ||
	    (len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(n, i)))) <= 0)
		goto out;
	for (i = 0; i < len; i++)
		if (u[i] < 0x20 || u[i] == 0x7f)
			goto out;
	s = strdup((char *)u);
out:
	OPENSSL_free(u);
	return s;
}

static int
exec_enrol(void *ctx, X509_REQ *csr, const char *mail, struct ca_result *res)
{
	struct exec_ctx *x = ctx;
	struct exec_run r = { 0 };
	const char *vars[] = { "SMIMEPUB_MAIL", mail,
	    "SMIMEPUB_DISPLAY_NAME", NULL, NULL };
	char *pem, *cn = NULL;
	BIO *b = NULL;
	long len;
	int rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(b, csr) ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		log_ssl("ca.exec.command %s: enrol %s: cannot encode the CSR",
		    x->command, mail);
		goto out;
	}
	vars[3] = cn = csr_cn(csr);
	if (exec_run(x, "enrol", pem, (size_t)len, vars, &r) == -1)
		goto out;
	rc = answer(x, "enrol", &r, res);
out:
	run_clear(&r);
	free(cn);
	BIO_free(b);
	return rc;
}

static int
exec_poll(void *ctx, const char *txid, struct ca_result *res)
{
	struct exec_ctx *x = ctx;
	struct exec_run r = { 0 };
	const char *vars[] = { "SMIMEPUB_POLL_ID", txid, NULL };
	int rc = -1;

	if (exec_run(x, "poll", "", 0, vars, &r) == 0)
		rc = answer(x, "poll", &r, res);
	run_clear(&r);
	return rc;
}

static int
exec_revoke(void *ctx, X509 *cert, int reason)
{
	struct exec_ctx *x = ctx;
	struct exec_run r = { 0 };
	const char *vars[] = { "SMIMEPUB_REVOKE_REASON", ca_reason_str(reason),
	    "SMIMEPUB_SERIAL", NULL, NULL };
	char *serial = NULL, *pem;
	BIO *b = NULL;
	long len;
	int rc = -1;

	if ((serial = x509_serial_hex(cert)) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, cert) ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		log_ssl("ca.exec.command %s: revoke: unreadable certificate",
		    x->command);
		goto out;
	}
	vars[3] = serial;
	if (exec_run(x, "revoke", pem, (size_t)len, vars, &r) == -1)
		goto out;
	if (r.status != 0) {
		run_failed(x, "revoke", &r);
		goto out;
	}
	log_info("ca.exec.command %s: revoked serial %s (%s)", x->command,
	    serial, ca_reason_str(reason));
	rc = 0;
out:
	run_clear(&r);
	BIO_free(b);
	free(serial);
	return rc;
}

static X509_STORE *
exec_trust(void *ctx)
{
	return ((struct exec_ctx *)ctx)->store;
}

static void
exec_free(void *ctx)
{
	struct exec_ctx *x = ctx;

	if (x == NULL)
		return;
	X509_STORE_free(x->store);
	free(x->command);
	free(x);
}

static void *
exec_new(const struct cfg *cfg)
{
	const struct cfg_ca_exec *ec = &cfg->ca.exec;
	STACK_OF(X509) *anchors = NULL;
	struct exec_ctx *x = NULL;
	int i, ok = 0;

	if (ec->command == NULL || ec->command[0] != '/') {
		log_err("ca.exec.command %s: must be an absolute path",
		    ec->command ? ec->command : "(not set)");
		goto out;
	}
	if (access(ec->command, X_OK) == -1) {
		log_err("ca.exec.command %s: %s", ec->command,
		    strerror(errno));
		goto out;
	}
	if (ec->ca_cert == NULL) {
		log_err("ca.exec.ca_cert is not set: the exec driver needs "
		    "the CA certificate its helper's certificates must chain "
		    "to, and never trusts a root the helper returns");
		goto out;
	}
	if ((anchors = x509_load_file(ec->ca_cert)) == NULL)
		goto out;
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->command = strdup(ec->command)) == NULL ||
	    (x->store = X509_STORE_new()) == NULL) {
		log_err("ca.exec.command %s: out of memory", ec->command);
		goto out;
	}
	x->timeout = ec->timeout > 0 ? ec->timeout : 60;
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(x->store, sk_X509_value(anchors,
		    i)) != 1) {
			log_ssl("ca.exec.ca_cert %s: cannot use certificate "
			    "%d", ec->ca_cert, i + 1);
			goto out;
		}
	ok = 1;
out:
	sk_X509_pop_free(anchors, X509_free);
	if (!ok) {
		exec_free(x);
		x = NULL;
	}
	return x;
}

const struct ca_driver ca_driver_exec = {
	.name = "exec",
	.new = exec_new,
	.enrol = exec_enrol,
	.poll = exec_poll,
	.revoke = exec_revoke,
	.trust = exec_trust,
	.free = exec_free,
};
