/*
 * net.c — IP addresses and CIDR prefixes (see net.h). inet_pton reads the
 * text: it takes no leading zeros' octal, no zone id ("%eth0") and no
 * surrounding space, so what passes is an address and nothing else.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/net.h"

/* RFC 4291 §2.5.5.2: ::ffff:0:0/96 holds IPv4. */
static const unsigned char net_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
net_addr_parse(const char *s, size_t len, struct net_addr *out)
{
	char buf[64];
	unsigned char v4[4];

	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, v4) == 1) {
		memcpy(out->a, net_v4mapped, 12);
		memcpy(out->a + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, buf, out->a) == 1 ? 0 : -1;
}

int
net_addr_of(const struct sockaddr *sa, struct net_addr *out)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(out->a, net_v4mapped, 12);
		memcpy(out->a + 12, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->a, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

void
net_addr_sockaddr(const struct net_addr *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (memcmp(a->a, net_v4mapped, 12) == 0) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->a + 12, 4);
	} else {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->a, 16);
	}
}

const char *
net_addr_str(const struct net_addr *a, char buf[NET_ADDR_STR])
{
	if (memcmp(a->a, net_v4mapped, 12) == 0)
		return inet_ntop(AF_INET, a->a + 12, buf, NET_ADDR_STR);
	return inet_ntop(AF_INET6, a->a, buf, NET_ADDR_STR);
}

/* 1 if a and b agree in their first bits. */
static int
net_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int
net_cidr_parse(const char *s, struct net_cidr *out, const char **why)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int v4, max, bits, i;
	char *end;
	long n;

	*why = NULL;
	if (net_addr_parse(s, alen, &out->addr) == -1) {
		*why = "not an IPv4 or IPv6 address (or ADDRESS/BITS)";
		return -1;
	}
	v4 = memchr(s, ':', alen) == NULL;
	max = v4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (n = strtol(slash + 1, &end, 10), *end != '\0') ||
		    n > max) {
			*why = v4 ? "prefix length is not 0 to 32" :
			    "prefix length is not 0 to 128";
			return -1;
		}
		bits = (int)n;
	}
	out->bits = v4 ? 96 + bits : bits;
	/* no bit set past the prefix */
	for (i = out->bits; i < 128; i++)
		if (out->addr.a[i / 8] & (0x80 >> (i % 8))) {
			*why = "address has bits set past its prefix length";
			return -1;
		}
	return 0;
}

int
net_cidr_match(const struct net_cidr *c, size_t n, const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (net_prefix_eq(c[i].addr.a, a->a, c[i].bits))
			return 1;
	return 0;
}
