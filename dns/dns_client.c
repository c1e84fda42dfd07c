/*
 * dns_client.c — talking to a zone's primary server through ldns: read
 * one name's SMIMEA RRset and change it by one RFC 2136 UPDATE, every
 * message signed with TSIG (RFC 8945) and every answer's signature checked
 * by ldns (ldns_send() verifies the reply against the request's MAC and
 * says LDNS_STATUS_CRYPTO_TSIG_BOGUS otherwise). TCP only: a full
 * certificate in an SMIMEA record does not fit a 512-octet UDP answer
 * (RFC 1035 §4.2.1), and a fresh connection per message keeps no state.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "dns/dns.h"

#define DNS_FUDGE	300	/* RFC 8945 §5.2.3: the recommended 300 s */

struct dns_server {
	char		 zone[DNS_DOMAIN_MAX + 2];	/* final dot */
	char		 server[300];			/* as configured */
	char		 addr[INET6_ADDRSTRLEN];
	int		 v6;
	uint16_t	 port;
	int		 timeout;
	struct dns_key	 key;
};

/* "host:port" or "[v6]:port" into host and port; the host resolved once. */
static int
server_addr(struct dns_server *s, const char *server)
{
	char host[256];
	const char *colon = strrchr(server, ':'), *h = server;
	struct addrinfo hints, *ai = NULL;
	size_t hl;
	long port;
	char *end;
	int rc;

	if (colon == NULL || colon == server)
		goto bad;
	hl = (size_t)(colon - server);
	if (server[0] == '[') {
		if (colon[-1] != ']')
			goto bad;
		h++;
		hl -= 2;
	}
	port = strtol(colon + 1, &end, 10);
	if (hl == 0 || hl >= sizeof(host) || *end != '\0' || colon[1] < '0' ||
	    colon[1] > '9' || port < 1 || port > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	s->port = (uint16_t)port;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0) {
		log_err("dns: server %s: cannot resolve %s: %s", server, host,
		    gai_strerror(rc));
		return -1;
	}
	s->v6 = ai->ai_family == AF_INET6;
	if (s->v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)
		    ai->ai_addr)->sin6_addr, s->addr, sizeof(s->addr));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    ai->ai_addr)->sin_addr, s->addr, sizeof(s->addr));
	freeaddrinfo(ai);
	return 0;
bad:
	log_err("dns: server \"%s\" is not host:port or [address]:port",
	    server);
	return -1;
}

struct dns_server *
dns_server_new(const char *zone, const char *server, const struct dns_key *key,
    int timeout)
{
	struct dns_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err("dns: out of memory");
		return NULL;
	}
	snprintf(s->zone, sizeof(s->zone), "%s.", zone);
	snprintf(s->server, sizeof(s->server), "%s", server);
	s->timeout = timeout;
	s->key = *key;
	if (server_addr(s, server) == -1) {
		dns_server_free(s);
		return NULL;
	}
	return s;
}

void
dns_server_free(struct dns_server *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* A resolver that talks to s only, over TCP, with no retries of its own. */
static ldns_resolver *
server_resolver(const struct dns_server *s)
{
	ldns_resolver *r;
	ldns_rdf *ns;
	struct timeval tv = { s->timeout, 0 };

	if ((r = ldns_resolver_new()) == NULL)
		return NULL;
	ns = ldns_rdf_new_frm_str(s->v6 ? LDNS_RDF_TYPE_AAAA :
	    LDNS_RDF_TYPE_A, s->addr);
	if (ns == NULL || ldns_resolver_push_nameserver(r, ns) !=
	    LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		ldns_resolver_deep_free(r);
		return NULL;
	}
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(r, s->port);
	ldns_resolver_set_usevc(r, true);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_fail(r, true);
	ldns_resolver_set_tsig_keyname(r, s->key.name);
	ldns_resolver_set_tsig_algorithm(r, s->key.alg);
	ldns_resolver_set_tsig_keydata(r, s->key.secret);
	return r;
}

/* Sign pkt, send it, and judge the transport and the signature. */
static enum dns_result
server_send(const struct dns_server *s, ldns_pkt *pkt, ldns_pkt **answer,
    char *why, size_t whysz)
{
	ldns_resolver *r = NULL;
	ldns_status st;
	enum dns_result res = DNS_FAIL;

	*answer = NULL;
	if ((r = server_resolver(s)) == NULL) {
		snprintf(why, whysz, "cannot set up a resolver for %s",
		    s->server);
		goto out;
	}
	ldns_pkt_set_random_id(pkt);
	if ((st = ldns_pkt_tsig_sign(pkt, s->key.name, s->key.secret,
	    DNS_FUDGE, s->key.alg, NULL)) != LDNS_STATUS_OK) {
		snprintf(why, whysz, "signing with TSIG key %s failed: %s",
		    s->key.name, ldns_get_errorstr_by_id(st));
		goto out;
	}
	st = ldns_resolver_send_pkt(answer, r, pkt);
	if (*answer != NULL && ldns_pkt_get_rcode(*answer) ==
	    LDNS_RCODE_NOTAUTH) {
		/* RFC 8945 §5.3.2: BADKEY/BADSIG/BADTIME come as NOTAUTH */
		snprintf(why, whysz, "%s refused TSIG key %s (NOTAUTH): a "
		    "wrong key, secret or clock", s->server, s->key.name);
		res = DNS_AUTH;
	} else if (st == LDNS_STATUS_CRYPTO_TSIG_BOGUS ||
	    st == LDNS_STATUS_CRYPTO_TSIG_ERR) {
		/* a server that refuses the key answers unsigned (RFC 8945
		 * §5.2), which ldns reports as a bogus signature */
		snprintf(why, whysz, "%s refused TSIG key %s or did not sign "
		    "its answer with it: a wrong key, secret or clock",
		    s->server, s->key.name);
		res = DNS_AUTH;
	} else if (st != LDNS_STATUS_OK || *answer == NULL)
		/* ldns says only "General LDNS error" for a refused or
		 * timed-out connection */
		snprintf(why, whysz, "no answer from %s within %d s%s%s",
		    s->server, s->timeout, st == LDNS_STATUS_ERR ? "" : ": ",
		    st == LDNS_STATUS_ERR ? "" : ldns_get_errorstr_by_id(st));
	else
		res = DNS_OK;
out:
	ldns_resolver_deep_free(r);
	return res;
}

/* Collect the SMIMEA RRs at set->owner from an answer's answer section. */
static int
answer_collect(const ldns_pkt *p, struct dns_rrset *set, char *why,
    size_t whysz)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	ldns_rdf *owner;
	ldns_rr *rr;
	size_t i;
	int rc = 0;

	dns_rrset_clear(set);
	if ((owner = ldns_dname_new_frm_str(set->owner)) == NULL) {
		snprintf(why, whysz, "%s: not a domain name", set->owner);
		return -1;
	}
	for (i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rdf *f[4];
		size_t k;

		rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SMIMEA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		/* RFC 8162 §2: usage, selector, matching (one octet each),
		 * then the data; anything else is malformed, not ours */
		if (ldns_rr_rd_count(rr) != 4)
			continue;
		for (k = 0; k < 4; k++)
			f[k] = ldns_rr_rdf(rr, k);
		if (ldns_rdf_size(f[0]) != 1 || ldns_rdf_size(f[1]) != 1 ||
		    ldns_rdf_size(f[2]) != 1)
			continue;
		if (dns_rrset_add(set, ldns_rdf_data(f[0])[0],
		    ldns_rdf_data(f[1])[0], ldns_rdf_data(f[2])[0],
		    ldns_rdf_data(f[3]), ldns_rdf_size(f[3])) == -1) {
			snprintf(why, whysz, "out of memory");
			rc = -1;
			break;
		}
	}
	ldns_rdf_deep_free(owner);
	return rc;
}

int
dns_answer_parse(const unsigned char *wire, size_t len, struct dns_rrset *set,
    int *rcode, char *why, size_t whysz)
{
	ldns_pkt *p = NULL;
	ldns_status st;
	int rc;

	if ((st = ldns_wire2pkt(&p, wire, len)) != LDNS_STATUS_OK) {
		snprintf(why, whysz, "a malformed answer: %s",
		    ldns_get_errorstr_by_id(st));
		return -1;
	}
	*rcode = ldns_pkt_get_rcode(p);
	rc = answer_collect(p, set, why, whysz);
	ldns_pkt_free(p);
	return rc;
}

static const char *
rcode_str(int rcode)
{
	const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);

	return t != NULL ? t->name : "an unknown RCODE";
}

enum dns_result
dns_query(struct dns_server *s, struct dns_rrset *set, char *why,
    size_t whysz)
{
	ldns_pkt *q = NULL, *a = NULL;
	ldns_rdf *name;
	enum dns_result res = DNS_FAIL;
	int rcode;

	if ((name = ldns_dname_new_frm_str(set->owner)) == NULL) {
		snprintf(why, whysz, "%s: not a domain name", set->owner);
		return DNS_FAIL;
	}
	/* no RD: the zone's own server answers from its data */
	q = ldns_pkt_query_new(name, LDNS_RR_TYPE_SMIMEA, LDNS_RR_CLASS_IN, 0);
	if (q == NULL) {
		ldns_rdf_deep_free(name);
		snprintf(why, whysz, "out of memory");
		return DNS_FAIL;
	}
	if ((res = server_send(s, q, &a, why, whysz)) != DNS_OK)
		goto out;
	res = DNS_FAIL;
	rcode = ldns_pkt_get_rcode(a);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, whysz, "%s answered %s for %s SMIMEA", s->server,
		    rcode_str(rcode), set->owner);
		goto out;
	}
	if (!ldns_pkt_aa(a)) {
		snprintf(why, whysz, "%s is not authoritative for %s",
		    s->server, set->owner);
		goto out;
	}
	if (answer_collect(a, set, why, whysz) == 0)
		res = DNS_OK;
out:
	ldns_pkt_free(q);
	ldns_pkt_free(a);
	return res;
}

/* An SMIMEA RR at owner of class cls and ttl; NULL on no memory. */
static ldns_rr *
smimea_rr(const char *owner, const struct dns_rdata *rd, ldns_rr_class cls,
    uint32_t ttl)
{
	ldns_rr *rr;
	ldns_rdf *o, *f;
	int i;

	if ((rr = ldns_rr_new()) == NULL)
		return NULL;
	if ((o = ldns_dname_new_frm_str(owner)) == NULL)
		goto fail;
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_SMIMEA);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, ttl);
	for (i = 0; i < 3; i++) {
		f = ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, (uint8_t)(i == 0 ?
		    rd->usage : i == 1 ? rd->selector : rd->matching));
		if (f == NULL || !ldns_rr_push_rdf(rr, f)) {
			ldns_rdf_deep_free(f);
			goto fail;
		}
	}
	f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_HEX, rd->len, rd->data);
	if (f == NULL || !ldns_rr_push_rdf(rr, f)) {
		ldns_rdf_deep_free(f);
		goto fail;
	}
	return rr;
fail:
	ldns_rr_free(rr);
	return NULL;
}

/*
 * The prerequisite and update sections. RFC 2136 §2.4.2: "RRset exists
 * (value dependent)" holds only if the RRset is exactly have, so the whole
 * RRset as read is the prerequisite (class IN, TTL 0), or, when it was
 * empty, §2.4.3 "RRset does not exist" (class NONE, no RDATA): whatever
 * changed at the name since we read it fails the UPDATE as a whole.
 */
static int
update_lists(const struct dns_rrset *have, const struct dns_rrset *del,
    const struct dns_rrset *add, int ttl, ldns_rr_list *pre,
    ldns_rr_list *up)
{
	ldns_rr *rr = NULL;
	ldns_rdf *o;
	size_t i;

	for (i = 0; i < have->n; i++)
		if ((rr = smimea_rr(have->owner, &have->rd[i],
		    LDNS_RR_CLASS_IN, 0)) == NULL ||
		    !ldns_rr_list_push_rr(pre, rr))
			goto fail;
	if (have->n == 0) {
		if ((rr = ldns_rr_new()) == NULL ||
		    (o = ldns_dname_new_frm_str(have->owner)) == NULL)
			goto fail;
		ldns_rr_set_owner(rr, o);
		ldns_rr_set_type(rr, LDNS_RR_TYPE_SMIMEA);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(rr, 0);
		if (!ldns_rr_list_push_rr(pre, rr))
			goto fail;
	}
	for (i = 0; i < del->n; i++)
		/* §2.5.4: delete an RR from an RRset, class NONE, TTL 0 */
		if ((rr = smimea_rr(del->owner, &del->rd[i],
		    LDNS_RR_CLASS_NONE, 0)) == NULL ||
		    !ldns_rr_list_push_rr(up, rr))
			goto fail;
	for (i = 0; i < add->n; i++)
		/* §2.5.1: add to an RRset, class IN with its TTL */
		if ((rr = smimea_rr(add->owner, &add->rd[i], LDNS_RR_CLASS_IN,
		    (uint32_t)ttl)) == NULL || !ldns_rr_list_push_rr(up, rr))
			goto fail;
	return 0;
fail:
	ldns_rr_free(rr);
	return -1;
}

enum dns_result
dns_update(struct dns_server *s, const struct dns_rrset *have,
    const struct dns_rrset *del, const struct dns_rrset *add, int ttl,
    char *why, size_t whysz)
{
	ldns_rr_list *pre = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_pkt *u = NULL, *a = NULL;
	ldns_rdf *zone = ldns_dname_new_frm_str(s->zone);
	enum dns_result res = DNS_FAIL;
	int rcode;

	if (pre == NULL || up == NULL || zone == NULL ||
	    update_lists(have, del, add, ttl, pre, up) == -1 ||
	    (u = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, pre, up,
	    NULL)) == NULL) {
		snprintf(why, whysz, "cannot build the UPDATE for %s",
		    add->owner);
		ldns_rdf_deep_free(zone);
		goto out;
	}
	/* the packet owns zone now, and copies of the lists' RRs; RFC 2136
	 * §2.2 gives the RD bit no meaning in an UPDATE: clear it */
	ldns_pkt_set_rd(u, false);
	if ((res = server_send(s, u, &a, why, whysz)) != DNS_OK)
		goto out;
	rcode = ldns_pkt_get_rcode(a);
	if (rcode == LDNS_RCODE_NOERROR)
		res = DNS_OK;
	else if (rcode == LDNS_RCODE_NXRRSET || rcode == LDNS_RCODE_YXRRSET ||
	    rcode == LDNS_RCODE_NXDOMAIN || rcode == LDNS_RCODE_YXDOMAIN) {
		/* RFC 2136 §3.2.5: a prerequisite failed, nothing changed */
		snprintf(why, whysz, "%s changed meanwhile (%s): nothing "
		    "written", add->owner, rcode_str(rcode));
		res = DNS_CONFLICT;
	} else {
		snprintf(why, whysz, "%s refused the UPDATE of %s in zone %s: "
		    "%s%s", s->server, add->owner, s->zone, rcode_str(rcode),
		    rcode == LDNS_RCODE_REFUSED ? " (does the zone allow "
		    "updates with this key?)" : "");
		res = DNS_FAIL;
	}
out:
	ldns_pkt_free(u);
	ldns_pkt_free(a);
	ldns_rr_list_deep_free(pre);
	ldns_rr_list_deep_free(up);
	return res;
}
