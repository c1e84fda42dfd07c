/*
 * fuzz_kproc.c — libFuzzer target for the key processes' wire (common/
 * kproc.h), the parser both sides run: any bytes written into a socketpair
 * are read back frame by frame with kproc_recv() until it refuses or meets
 * the end, and each body is walked with kproc_item(). No crash, no read
 * beyond what was received, every length checked: a frame's body is 1 to
 * KPROC_MAX + 1 bytes, every item lies inside its body, and the walk ends
 * exactly at the end or reports the item that runs past it. Each body is
 * also read as the keystore's key process reads a request
 * (enr_kek_request): two items, a person id without NUL, within bounds.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kproc.h"
#include "common/kproc_priv.h"
#include "enrol/enrol_priv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
walk(const struct kproc_buf *b)
{
	const unsigned char *d;
	size_t off = 0, dl, seen = 0;
	int r;

	while ((r = kproc_item(b->data, b->len, &off, &d, &dl)) == 0) {
		if (d < b->data || dl > b->len || d + dl > b->data + b->len ||
		    off > b->len)
			abort();
		seen += 4 + dl;
	}
	if ((r == 1 && (off != b->len || seen != b->len)) ||
	    (r == -1 && off >= b->len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kproc_buf b, out = { NULL, 0 };
	unsigned char hdr[4];
	size_t body;
	uint8_t op;
	int sv[2];

	/* the header check alone */
	if (len >= 4) {
		memcpy(hdr, data, 4);
		if (kproc_frame_len(hdr, &body) == 0 &&
		    (body < 1 || body > (size_t)KPROC_MAX + 1))
			abort();
	}
	/* the stream: written whole (a socketpair holds 64 KB), then read */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 0;
	if (len > 0 && write(sv[1], data, len) != (ssize_t)len)
		abort();
	close(sv[1]);
	while (kproc_recv(sv[0], &op, &b, NULL) == 0) {
		const unsigned char *aad, *d;
		size_t aadlen, dl;

		walk(&b);
		if (enr_kek_request(b.data, b.len, &aad, &aadlen, &d,
		    &dl) == 0 && (aadlen < 1 || aadlen > ENR_KEK_AAD_MAX ||
		    memchr(aad, '\0', aadlen) != NULL || dl > ENR_KS_MAX ||
		    aad < b.data || d + dl > b.data + b.len ||
		    aad + aadlen + 4 != d))
			abort();
		kproc_buf_free(&b);
	}
	close(sv[0]);
	/* building items: what kproc_put writes, kproc_item reads back */
	if (kproc_put(&out, data, len / 2) == 0 &&
	    kproc_put(&out, data + len / 2, len - len / 2) == 0) {
		const unsigned char *d;
		size_t off = 0, dl;

		if (kproc_item(out.data, out.len, &off, &d, &dl) != 0 ||
		    dl != len / 2 || memcmp(d, data, dl) != 0 ||
		    kproc_item(out.data, out.len, &off, &d, &dl) != 0 ||
		    dl != len - len / 2 || memcmp(d, data + len / 2, dl) != 0 ||
		    kproc_item(out.data, out.len, &off, &d, &dl) != 1)
			abort();
	}
	kproc_buf_free(&out);
	return 0;
}
