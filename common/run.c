/*
 * run.c — run a helper program (run.h): the exec CA driver's helper and
 * the key delivery command share it, so both get the same care: no shell,
 * its own process group, a chosen environment, only its three pipes open
 * (pipe2 with O_CLOEXEC, then close_range in the child), input and output
 * concurrently, output capped, the group killed after the timeout.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/run.h"

/* the PATH of a minimal environment */
#define RUN_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

void
run_harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
}

void
run_out_clear(struct run_out *r)
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

/* The first line of s, printable ASCII only, at most max bytes. */
char *
run_first_line(const char *s, size_t len, size_t max)
{
	char *l;
	size_t i, n = 0;

	if ((l = malloc(max + 1)) == NULL)
		return NULL;
	for (i = 0; i < len && n < max && s[i] != '\n'; i++) {
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
 * The environment: ours without SMIMEPUB_* (or, minimal, only a fixed
 * PATH), then the NAME=value pairs of vars (a NULL value skips the pair).
 * The strings we add start at env[*first]; env_free() frees them.
 */
static char **
make_env(int minimal, const char *const vars[], size_t *first)
{
	char **env;
	size_t n = 0, nv = 0, i, j = 0, len;

	if (!minimal)
		while (environ != NULL && environ[n] != NULL)
			n++;
	while (vars != NULL && vars[nv] != NULL)
		nv += 2;
	if ((env = calloc(n + nv / 2 + 2, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SMIMEPUB_", 9) != 0)
			env[j++] = environ[i];
	*first = j;
	if (minimal && (env[j++] = strdup(RUN_PATH)) == NULL)
		goto fail;
	for (i = 0; i < nv; i += 2) {
		if (vars[i + 1] == NULL)
			continue;
		len = strlen(vars[i]) + strlen(vars[i + 1]) + 2;
		if ((env[j++] = malloc(len)) == NULL)
			goto fail;
		snprintf(env[j - 1], len, "%s=%s", vars[i], vars[i + 1]);
	}
	return env;
fail:
	env[j - 1] = NULL;
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

/* Our side of a running command: our ends of its pipes, what it is fed,
 * and where its output goes. */
struct run_io {
	int		 fd[3];		/* its stdin, stdout, stderr; -1 closed */
	const char	*in;
	size_t		 inlen, inoff;
	char		**dst[3];
	size_t		*dlen[3], max[3];
};

static void
run_io_close(struct run_io *io, int i)
{
	close(io->fd[i]);
	io->fd[i] = -1;
}

/* Feed its stdin (i 0) or drain its stdout or stderr (1, 2), which poll
 * says are ready. 0, or -1 logged (out of memory, too much on stdout). */
static int
run_io_step(const struct run_cmd *c, struct run_io *io, int i)
{
	char buf[8192];
	ssize_t n;
	int cut;

	if (i == 0) {
		n = write_nosig(io->fd[0], io->in + io->inoff,
		    io->inlen - io->inoff);
		if (n > 0)
			io->inoff += (size_t)n;
		/* EPIPE: it stopped reading; fine */
		if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
		    io->inoff == io->inlen)
			run_io_close(io, 0);
		return 0;
	}
	if ((n = read(io->fd[i], buf, sizeof(buf))) == -1 &&
	    (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		run_io_close(io, i);
		return 0;
	}
	cut = append(io->dst[i], io->dlen[i], buf, (size_t)n, io->max[i]);
	if (cut == -1) {
		log_err("%s: out of memory", c->what);
		return -1;
	}
	if (cut && i == 1 && c->out_strict) {
		log_err("%s: more than %zu bytes on stdout; killed", c->what,
		    c->out_max);
		return -1;
	}
	return 0;
}

/* Feed and drain the command until its pipes are closed and it has exited
 * (0, its wait status in *st), or until c->timeout (-1 logged; the caller
 * kills it). */
static int
run_pump(const struct run_cmd *c, struct run_io *io, pid_t pid, int *st)
{
	struct pollfd pfd[3];
	int64_t deadline = now_ms() + (int64_t)c->timeout * 1000;
	pid_t w;
	int nfd, i, k, t;

	for (;;) {
		for (i = nfd = 0; i < 3; i++)
			if (io->fd[i] != -1) {
				pfd[nfd].fd = io->fd[i];
				pfd[nfd++].events = i == 0 ? POLLOUT : POLLIN;
			}
		if (nfd == 0) {
			/* pipes closed: wait for the exit itself */
			if ((w = waitpid(pid, st, WNOHANG)) == pid)
				return 0;
			if (w == -1 && errno != EINTR) {
				log_err("%s: waitpid: %s", c->what,
				    strerror(errno));
				return -1;
			}
		}
		if ((t = (int)(deadline - now_ms())) <= 0) {
			log_err("%s: no answer within %s (%d s); killed",
			    c->what, c->timeout_key, c->timeout);
			return -1;
		}
		if (poll(pfd, (nfds_t)nfd, nfd == 0 && t > 20 ? 20 : t) == -1 &&
		    errno != EINTR) {
			log_err("%s: poll: %s", c->what, strerror(errno));
			return -1;
		}
		for (k = 0; k < nfd; k++) {
			if (pfd[k].revents == 0)
				continue;
			for (i = 0; i < 2 && io->fd[i] != pfd[k].fd; i++)
				;
			if (run_io_step(c, io, i) == -1)
				return -1;
		}
	}
}

int
run_cmd(const struct run_cmd *c, const char *in, size_t inlen,
    struct run_out *r)
{
	/* p[0] its stdin, p[1] its stdout, p[2] its stderr */
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct run_io io = { { -1, -1, -1 }, in, inlen, 0,
	    { NULL, &r->out, &r->err }, { NULL, &r->outlen, &r->errlen },
	    { 0, c->out_max, c->err_max } };
	char **env = NULL;
	size_t first = 0;
	pid_t pid = -1;
	int rc = -1, st = 0, i, k, reaped = 0;

	memset(r, 0, sizeof(*r));
	if ((env = make_env(c->minimal_env, c->vars, &first)) == NULL ||
	    pipe2(p[0], O_CLOEXEC) == -1 || pipe2(p[1], O_CLOEXEC) == -1 ||
	    pipe2(p[2], O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_err("%s: cannot start it: %s", c->what, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(c->path, env, p[0][0], p[1][1], p[2][1]);
	setpgid(pid, pid);	/* also here: no race with kill(-pid) */
	/* its ends are its own; ours move to io */
	for (i = 0; i < 3; i++) {
		close(p[i][i == 0 ? 0 : 1]);
		io.fd[i] = p[i][i == 0 ? 1 : 0];
		p[i][0] = p[i][1] = -1;
	}
	if (inlen == 0)
		run_io_close(&io, 0);
	else
		fcntl(io.fd[0], F_SETFL, O_NONBLOCK);
	if (run_pump(c, &io, pid, &st) == -1)
		goto out;
	reaped = 1;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if ((r->out == NULL && (r->out = strdup("")) == NULL) ||
	    (r->err == NULL && (r->err = strdup("")) == NULL)) {
		log_err("%s: out of memory", c->what);
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
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 2; k++)
			if (p[i][k] != -1)
				close(p[i][k]);
		if (io.fd[i] != -1)
			close(io.fd[i]);
	}
	env_free(env, first);
	if (rc == -1)
		run_out_clear(r);
	return rc;
}
