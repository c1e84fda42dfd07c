/*
 * net.h — IP addresses and CIDR prefixes as an operator writes them
 * (lookup.trusted_proxies) and as a proxy forwards them (lookup/lk_fwd.c).
 * IPv4 is held as its IPv4-mapped IPv6 form (RFC 4291 §2.5.5.2), so that
 * one comparison serves both families and a v4-mapped peer of a dual-stack
 * socket matches an IPv4 prefix.
 */
#ifndef SMIMEPUB_NET_H
#define SMIMEPUB_NET_H

#include <stddef.h>
#include <sys/socket.h>

struct net_addr {
	unsigned char	 a[16];
};

struct net_cidr {
	struct net_addr	 addr;
	int		 bits;		/* of the 128, IPv4's /n as 96 + n */
};

/* "192.0.2.1", "2001:db8::1" (hex digits in either case) of len bytes: 0,
 * or -1 if it is neither. */
int	net_addr_parse(const char *s, size_t len, struct net_addr *);
/* The address of an AF_INET or AF_INET6 sockaddr: 0, or -1 for another
 * family (a unix socket). */
int	net_addr_of(const struct sockaddr *, struct net_addr *);
/* sa (room for a sockaddr_in6) as the address: AF_INET for a v4-mapped. */
void	net_addr_sockaddr(const struct net_addr *, struct sockaddr_storage *);
/* The address as text ("192.0.2.1", "2001:db8::1"), buf of 46 bytes. */
#define NET_ADDR_STR	46	/* INET6_ADDRSTRLEN */
const char *net_addr_str(const struct net_addr *, char buf[NET_ADDR_STR]);
/*
 * "ADDR" or "ADDR/BITS" (0-32 for IPv4, 0-128 for IPv6): 0, or -1 with a
 * static *why. Bits set past the prefix are refused: "10.1.2.3/8" is more
 * likely a typo than a way to write 10.0.0.0/8.
 */
int	net_cidr_parse(const char *s, struct net_cidr *, const char **why);
/* 1 if a is inside one of the n prefixes. */
int	net_cidr_match(const struct net_cidr *, size_t n,
	    const struct net_addr *a);

#endif
