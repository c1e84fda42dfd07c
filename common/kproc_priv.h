/*
 * kproc_priv.h — what the two sides of a key process share inside common/
 * (kproc.c, the parent; kproc_child.c, the child): the frame I/O.
 */
#ifndef SMIMEPUB_KPROC_PRIV_H
#define SMIMEPUB_KPROC_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/kproc.h"

void	kproc_be32(unsigned char out[4], size_t v);
/* One frame (op, payload); -1 with errno. */
int	kproc_send(int fd, uint8_t op, const void *d, size_t len);
/* Exactly len bytes by deadline (NULL: none); -1 with errno (EPIPE at EOF,
 * ETIMEDOUT). */
int	kproc_read(int fd, void *buf, size_t len,
	    const struct timespec *deadline);
/* One frame: its op and body (caller kproc_buf_free()s); -1 with errno
 * (EPROTO: a length out of range). */
int	kproc_recv(int fd, uint8_t *op, struct kproc_buf *body,
	    const struct timespec *deadline);
/* The child: sandbox, init, hello, then serve until EOF; never returns. */
_Noreturn void	kproc_child(const struct kproc_server *, int fd);

#endif
