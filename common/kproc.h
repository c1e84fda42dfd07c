/*
 * kproc.h — privilege separation as OpenBSD acme-client's keyproc and
 * acctproc do it: a secret (the local CA's signing key, the journal's
 * key-encryption key) is opened and used only by a small process of its
 * own, forked at start, that talks to its parent over a socketpair and
 * nothing else: every other descriptor closed, not dumpable (no ptrace, no
 * core), and on Linux a seccomp filter that lets it read and write its
 * socket, allocate memory and get random bytes, and refuses the rest
 * (open, socket, connect, exec, fork, ... fail with EACCES).
 *
 * The wire, both ways: a 4-byte big-endian length N (1..KPROC_MAX + 1),
 * then N bytes: one byte of operation (request) or status (answer), then
 * the payload. A payload of several values is a list of items, each a
 * 4-byte big-endian length and its bytes (kproc_put/kproc_item). Both sides
 * check every length before they use it.
 */
#ifndef SMIMEPUB_KPROC_H
#define SMIMEPUB_KPROC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define KPROC_MAX	(8 * 1024 * 1024)	/* a payload: a CRL of ~100k */
#define KPROC_ERR_MAX	512			/* an error answer's text */
#define KPROC_OK	0			/* answer status */
#define KPROC_FAIL	1			/* answer status: text follows */

/* A growing buffer; kproc_buf_free cleanses it (it may hold a secret). */
struct kproc_buf {
	unsigned char	*data;
	size_t		 len;
};
void	kproc_buf_free(struct kproc_buf *);
/* Append one item (length and bytes); -1 (out of memory, too big). */
int	kproc_put(struct kproc_buf *, const void *d, size_t len);
/* Append raw bytes; -1 (out of memory, too big). */
int	kproc_append(struct kproc_buf *, const void *d, size_t len);

/*
 * The next item of p[0..len) at *off: 0 with *d, *dl; 1 at the end; -1 if
 * a length runs past the end (a malformed payload).
 */
int	kproc_item(const unsigned char *p, size_t len, size_t *off,
	    const unsigned char **d, size_t *dl);
/* A frame header: 0 with *body (1..KPROC_MAX + 1), or -1 if out of range. */
int	kproc_frame_len(const unsigned char hdr[4], size_t *body);

/*
 * The key process's side. init runs in the child before the sandbox (it
 * opens its files): 0, or -1 with a reason in err. serve answers one
 * request: 0 with the answer in ans, or -1 with the reason in err; it never
 * logs (the parent does, with the reason sent to it).
 */
struct kproc_server {
	const char	*name;		/* "CA key", for messages */
	const char	*comm;		/* its name in ps (at most 15 bytes) */
	int		(*init)(void *arg, char *err, size_t errsz);
	int		(*serve)(void *arg, uint8_t op, const unsigned char *req,
			    size_t len, struct kproc_buf *ans, char *err,
			    size_t errsz);
	/* the hello payload, sent once init has succeeded (may be NULL) */
	int		(*hello)(void *arg, struct kproc_buf *ans);
	void		*arg;
};

struct kproc;

/*
 * Fork the key process of srv and wait for its hello: the handle, or NULL
 * logged (cannot fork, or init failed: its reason). Call it while the
 * program has one thread only; kproc_forked_early() says a program did.
 */
struct kproc	*kproc_start(const struct kproc_server *srv);
/* Close the socket (the child exits at EOF) and reap it. */
void		 kproc_stop(struct kproc *);
/* What the hello carried (valid while the handle lives). */
const unsigned char *kproc_hello(const struct kproc *, size_t *len);
/*
 * One request and its answer, one caller at a time (a mutex): 0 with ans
 * (caller kproc_buf_free()s), -1 logged naming the process and why: it
 * refused (its reason), or it is gone (exit status or signal), or it did
 * not answer within KPROC_TIMEOUT_S; once gone, every later call fails.
 */
#define KPROC_TIMEOUT_S	60
int		 kproc_call(struct kproc *, uint8_t op, const void *req,
		    size_t len, struct kproc_buf *ans);
pid_t		 kproc_pid(const struct kproc *);

/* The program starts its key processes itself, early (smimepub-sync):
 * later opens must not fork (threads run by then). */
void		 kproc_set_forked_early(void);
int		 kproc_forked_early(void);

#endif
