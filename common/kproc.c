/*
 * kproc.c — the parent's side of a key process (kproc.h): fork it, wait for
 * its hello, ask it one request at a time, notice when it is gone; and the
 * framing both sides share. The child's side is kproc_child.c.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/kproc.h"
#include "common/kproc_priv.h"
#include "common/log.h"

struct kproc {
	const char	*name;
	pid_t		 pid;
	int		 fd;		/* -1 once the process is gone */
	char		 gone[96];	/* why, for every later call */
	pthread_mutex_t	 mu;
	struct kproc_buf hello;
};

static int kproc_early;

void
kproc_set_forked_early(void)
{
	kproc_early = 1;
}

int
kproc_forked_early(void)
{
	return kproc_early;
}

void
kproc_buf_free(struct kproc_buf *b)
{
	if (b == NULL)
		return;
	OPENSSL_clear_free(b->data, b->len);
	b->data = NULL;
	b->len = 0;
}

int
kproc_append(struct kproc_buf *b, const void *d, size_t len)
{
	unsigned char *n;

	if (len > KPROC_MAX || b->len > KPROC_MAX - len)
		return -1;
	/* clear_realloc: the old copy may hold a key */
	if ((n = OPENSSL_clear_realloc(b->data, b->len, b->len + len +
	    1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(n + b->len, d, len);
	b->data = n;
	b->len += len;
	return 0;
}

int
kproc_put(struct kproc_buf *b, const void *d, size_t len)
{
	unsigned char hdr[4];

	if (len > KPROC_MAX)
		return -1;
	kproc_be32(hdr, len);
	return kproc_append(b, hdr, 4) == 0 && kproc_append(b, d, len) == 0 ?
	    0 : -1;
}

int
kproc_item(const unsigned char *p, size_t len, size_t *off,
    const unsigned char **d, size_t *dl)
{
	size_t l;

	if (*off == len)
		return 1;
	if (*off > len || len - *off < 4)
		return -1;
	l = (size_t)p[*off] << 24 | (size_t)p[*off + 1] << 16 |
	    (size_t)p[*off + 2] << 8 | p[*off + 3];
	if (l > len - *off - 4)
		return -1;
	*d = p + *off + 4;
	*dl = l;
	*off += 4 + l;
	return 0;
}

int
kproc_frame_len(const unsigned char hdr[4], size_t *body)
{
	size_t l = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];

	if (l < 1 || l > (size_t)KPROC_MAX + 1)
		return -1;
	*body = l;
	return 0;
}

void
kproc_be32(unsigned char out[4], size_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

int
kproc_send(int fd, uint8_t op, const void *d, size_t len)
{
	unsigned char hdr[5];
	struct iovec iov[2];
	struct msghdr mh;
	size_t done = 0, total = 5 + len;
	ssize_t n;

	if (len > KPROC_MAX)
		return -1;
	kproc_be32(hdr, len + 1);
	hdr[4] = op;
	while (done < total) {
		memset(&mh, 0, sizeof(mh));
		if (done < 5) {
			iov[0].iov_base = hdr + done;
			iov[0].iov_len = 5 - done;
			iov[1].iov_base = (void *)(uintptr_t)d;
			iov[1].iov_len = len;
			mh.msg_iovlen = len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = (unsigned char *)(uintptr_t)d +
			    (done - 5);
			iov[0].iov_len = total - done;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		/* MSG_NOSIGNAL: a gone peer is an error, not SIGPIPE */
		if ((n = sendmsg(fd, &mh, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (deadline == NULL)
		return -1;	/* poll: no timeout */
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

int
kproc_read(int fd, void *buf, size_t len, const struct timespec *deadline)
{
	unsigned char *p = buf;
	struct pollfd pfd;
	size_t done = 0;
	ssize_t n;
	int r;

	while (done < len) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (deadline != NULL) {
			if ((r = poll(&pfd, 1, ms_left(deadline))) == -1 &&
			    errno == EINTR)
				continue;
			if (r == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (r == -1)
				return -1;
		}
		if ((n = read(fd, p + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;	/* EOF: the peer closed */
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int
kproc_recv(int fd, uint8_t *op, struct kproc_buf *body,
    const struct timespec *deadline)
{
	unsigned char hdr[5];
	size_t len;

	memset(body, 0, sizeof(*body));
	if (kproc_read(fd, hdr, 4, deadline) == -1)
		return -1;
	if (kproc_frame_len(hdr, &len) == -1) {
		errno = EPROTO;
		return -1;
	}
	if (kproc_read(fd, hdr + 4, 1, deadline) == -1)
		return -1;
	*op = hdr[4];
	len--;
	if ((body->data = OPENSSL_malloc(len + 1)) == NULL)
		return -1;
	body->len = len;
	if (kproc_read(fd, body->data, len, deadline) == -1) {
		kproc_buf_free(body);
		return -1;
	}
	return 0;
}

/* Reap pid if it has ended within about a second; its fate into buf. */
static void
kproc_reap(pid_t pid, char *buf, size_t sz)
{
	pid_t r;
	int st, i;

	for (i = 0; i < 100; i++) {
		if ((r = waitpid(pid, &st, WNOHANG)) == pid) {
			if (WIFSIGNALED(st))
				snprintf(buf, sz, "killed by signal %d",
				    WTERMSIG(st));
			else
				snprintf(buf, sz, "exited with status %d",
				    WEXITSTATUS(st));
			return;
		}
		if (r == -1)
			break;	/* reaped elsewhere: say what we saw */
		poll(NULL, 0, 10);
	}
}

/* The process no longer answers: close, reap, remember why. Locked. */
static void
kproc_lost(struct kproc *kp, const char *what, int err)
{
	char fate[64];

	snprintf(fate, sizeof(fate), "%s", err == EPIPE ? "it closed its "
	    "socket" : err == EPROTO ? "a malformed answer" : strerror(err));
	if (err == ETIMEDOUT)
		snprintf(fate, sizeof(fate), "no answer within %ds",
		    KPROC_TIMEOUT_S);
	/* ours and not reaped yet (so the pid is still its own): the stream
	 * is out of step, whatever state the process is in */
	kill(kp->pid, SIGKILL);
	close(kp->fd);
	kp->fd = -1;
	kproc_reap(kp->pid, fate, sizeof(fate));
	snprintf(kp->gone, sizeof(kp->gone), "%s", fate);
	log_err("%s key process (pid %ld) is gone while %s: %s; restart the "
	    "program to start it again", kp->name, (long)kp->pid, what,
	    kp->gone);
}

/* An error answer, printable only, into the log. */
static void
kproc_log_refusal(const struct kproc *kp, const struct kproc_buf *b)
{
	char text[KPROC_ERR_MAX + 1];
	size_t i, n = b->len < KPROC_ERR_MAX ? b->len : KPROC_ERR_MAX;

	for (i = 0; i < n; i++)
		text[i] = b->data[i] >= 0x20 && b->data[i] < 0x7f ?
		    (char)b->data[i] : '?';
	text[n] = '\0';
	log_err("%s key process: %s", kp->name, n > 0 ? text : "refused");
}

static void
kproc_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += KPROC_TIMEOUT_S;
}

struct kproc *
kproc_start(const struct kproc_server *srv)
{
	struct kproc *kp = NULL;
	struct timespec dl;
	struct kproc_buf b = { NULL, 0 };
	uint8_t st = 0;
	int sv[2] = { -1, -1 };
	pid_t pid;

	if ((kp = calloc(1, sizeof(*kp))) == NULL) {
		log_err("%s key process: out of memory", srv->name);
		return NULL;
	}
	kp->name = srv->name;
	kp->fd = -1;
	pthread_mutex_init(&kp->mu, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_err("%s key process: socketpair: %s", srv->name,
		    strerror(errno));
		goto err;
	}
	/* the configuration file is read here, not in the key process */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	fflush(NULL);	/* nothing buffered is written twice */
	if ((pid = fork()) == -1) {
		log_err("%s key process: fork: %s", srv->name, strerror(errno));
		goto err;
	}
	if (pid == 0) {
		close(sv[0]);
		kproc_child(srv, sv[1]);	/* never returns */
	}
	close(sv[1]);
	kp->pid = pid;
	kp->fd = sv[0];
	kproc_deadline(&dl);
	if (kproc_recv(kp->fd, &st, &b, &dl) == -1) {
		kproc_lost(kp, "starting", errno);
		goto err;
	}
	if (st != KPROC_OK || b.len < 1) {
		kproc_log_refusal(kp, &b);
		kproc_buf_free(&b);
		goto err;
	}
	if (b.data[0] == 0)
		log_warn("%s key process: no seccomp filter on this platform "
		    "or kernel; it runs with its other descriptors closed "
		    "only", srv->name);
	if (kproc_append(&kp->hello, b.data + 1, b.len - 1) == -1) {
		kproc_buf_free(&b);
		log_err("%s key process: out of memory", srv->name);
		goto err;
	}
	kproc_buf_free(&b);
	log_debug("%s key process started (pid %ld)", srv->name, (long)pid);
	return kp;
err:
	if (sv[0] != -1 && kp->fd == -1)
		close(sv[0]);
	kproc_stop(kp);
	return NULL;
}

void
kproc_stop(struct kproc *kp)
{
	char fate[64] = "";

	if (kp == NULL)
		return;
	if (kp->fd != -1) {
		close(kp->fd);	/* it exits at EOF */
		kp->fd = -1;
		kproc_reap(kp->pid, fate, sizeof(fate));
		if (fate[0] == '\0') {
			kill(kp->pid, SIGKILL);
			(void)waitpid(kp->pid, NULL, 0);
		}
	} else if (kp->pid > 0 && kp->gone[0] == '\0') {
		/* refused to start: it exits by itself */
		kproc_reap(kp->pid, fate, sizeof(fate));
	}
	kproc_buf_free(&kp->hello);
	pthread_mutex_destroy(&kp->mu);
	free(kp);
}

const unsigned char *
kproc_hello(const struct kproc *kp, size_t *len)
{
	*len = kp->hello.len;
	return kp->hello.data;
}

pid_t
kproc_pid(const struct kproc *kp)
{
	return kp->pid;
}

int
kproc_call(struct kproc *kp, uint8_t op, const void *req, size_t len,
    struct kproc_buf *ans)
{
	struct timespec dl;
	uint8_t st = 0;
	int rc = -1;

	memset(ans, 0, sizeof(*ans));
	pthread_mutex_lock(&kp->mu);
	if (kp->fd == -1) {
		log_err("%s key process (pid %ld) is gone: %s; restart the "
		    "program to start it again", kp->name, (long)kp->pid,
		    kp->gone);
		goto out;
	}
	if (len > KPROC_MAX) {
		log_err("%s key process: a request of %zu bytes is over %d",
		    kp->name, len, KPROC_MAX);
		goto out;
	}
	if (kproc_send(kp->fd, op, req, len) == -1) {
		kproc_lost(kp, "being asked", errno);
		goto out;
	}
	kproc_deadline(&dl);
	if (kproc_recv(kp->fd, &st, ans, &dl) == -1) {
		kproc_lost(kp, "answering", errno);
		goto out;
	}
	if (st != KPROC_OK) {
		kproc_log_refusal(kp, ans);
		kproc_buf_free(ans);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&kp->mu);
	return rc;
}
