/*
 * dns_priv.h — inside dns/ only: the context of dns_sync.c and the person
 * dns_person.c builds from the journal.
 */
#ifndef SMIMEPUB_DNS_PRIV_H
#define SMIMEPUB_DNS_PRIV_H

#include "common/jrnl.h"
#include "dns/dns.h"

struct dns_zone {
	char		 name[DNS_DOMAIN_MAX + 1];	/* canonical */
	struct dns_server *srv;		/* NULL: broken, see why */
	int		 down;		/* stopped answering in this batch */
	char		 why[512];
};

struct dns_ctx {
	struct dns_zone	*zones;
	size_t		 nzones;
	int		 usage, selector, matching, ttl;
	int		 retry_min, retry_max;
};

struct dns_pcert {
	X509		*x;
	enum jrnl_cert_state state;
	time_t		 not_after;
};

/* One owner name of the person: its zone, and the RDATA wanted there. */
struct dns_owner {
	int		 zone;		/* index into ctx->zones */
	struct dns_rrset want;		/* want.owner is the name */
};

struct dns_person {
	struct dns_pcert *certs;
	size_t		 ncerts;
	struct dns_owner *owners;
	size_t		 nowners;
};

int	dns_person_load(const struct dns_ctx *, struct jrnl *,
	    const char *person_id, struct dns_person *);
/* 1 if rd's data is one of the person's certificates, under rd's own
 * selector and matching type. */
int	dns_person_owns(const struct dns_person *, const struct dns_rdata *rd);
void	dns_person_free(struct dns_person *);

#endif
