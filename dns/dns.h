/*
 * dns.h — SMIMEA records (RFC 8162) in DNS: their owner names and RDATA
 * (dns_name.c), the TSIG key a zone is updated with (dns_key.c, BIND's
 * `key` syntax), and the client that reads a name's SMIMEA RRset and
 * changes it by RFC 2136 UPDATE signed with TSIG (RFC 8945) through ldns
 * (dns_client.c). Includes only common/; sync/ and cli/ decide what each
 * person's records should be.
 *
 * RFC 8162 §3: the owner is hex(SHA2-256(local-part)) truncated to 28
 * octets (56 hex digits), then "_smimecert", then the domain of the
 * address. RDATA (§2, the TLSA RDATA of RFC 6698 §2.1): usage, selector
 * (0 the whole certificate DER, 1 its SubjectPublicKeyInfo DER), matching
 * type (0 exact, 1 SHA-256, 2 SHA-512) and the association data.
 */
#ifndef SMIMEPUB_DNS_H
#define SMIMEPUB_DNS_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#define DNS_HASH_LEN		28			/* octets kept */
#define DNS_LABEL_HEX		(2 * DNS_HASH_LEN + 1)	/* + NUL */
#define DNS_DOMAIN_MAX		253	/* presentation form, no final dot */
/* label "." "_smimecert" "." domain "." NUL; a longer one is refused */
#define DNS_OWNER_MAX		(DNS_LABEL_HEX + 12 + DNS_DOMAIN_MAX + 2)

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void	dns_hex(const unsigned char *in, size_t len, char *out);

/*
 * The first label of the owner for the local part local (len bytes, as
 * given: no case folding here). Returns 0, -1 on a digest failure.
 */
int	dns_owner_label(const char *local, size_t len,
	    char out[DNS_LABEL_HEX]);

/*
 * The owner names of the canonical address mail (mail_canon'd): the local
 * part as it is and, when that is not all lower case, lower-cased too
 * (RFC 8162 §3 hashes the local part as given, but clients differ on
 * case), each "<label>._smimecert.<domain>." Returns how many (1 or 2), or
 * -1 when mail has no '@' or the name would be too long for DNS.
 */
int	dns_owners(const char *mail, char out[2][DNS_OWNER_MAX]);

/*
 * The association data of cert for selector (0, 1) and matching type (0, 1,
 * 2) into a malloc'd buffer (caller free()s) of *len bytes. NULL on an
 * invalid selector/matching type or a failure.
 */
unsigned char *dns_data(X509 *cert, int selector, int matching, size_t *len);
/* The same as lower-case hex, a malloc'd string. */
char	*dns_data_hex(X509 *cert, int selector, int matching);

/*
 * Check a zone name (presentation form, at most one final dot, labels of
 * 1..63 letters, digits, '-' or '_', not starting or ending with '-') and
 * write it lower-cased without the final dot into out (DNS_DOMAIN_MAX +
 * 1). Returns 0, or -1 with *why a static reason.
 */
int	dns_zone_canon(const char *zone, char *out, const char **why);

/*
 * 1 if domain (lower-case, no final dot) equals zone (dns_zone_canon'd)
 * or lies under it, else 0.
 */
int	dns_in_zone(const char *domain, const char *zone);

/*
 * A TSIG key (RFC 8945) in BIND's syntax, as tsig-keygen writes it:
 *   key "name" { algorithm hmac-sha256; secret "base64"; };
 * One key statement, comments (#, //, / * * /) allowed. The algorithm is
 * hmac-sha256 (RFC 8945 §6 mandatory), hmac-sha384 or hmac-sha512.
 */
struct dns_key {
	char	 name[DNS_DOMAIN_MAX + 2];	/* lower case, final dot */
	char	 alg[32];			/* ldns spelling, final dot */
	char	 secret[1024];			/* base64, no white space */
};

/* Parse buf (len bytes). 0, or -1 with *why (static). Logs nothing. */
int	dns_key_parse(const char *buf, size_t len, struct dns_key *k,
	    const char **why);
/*
 * Read and parse path, which only its owner may read (mode 0600 or 0400,
 * as every secret); what names the config key in messages. 0, -1 logged.
 */
int	dns_key_load(const char *path, const char *what, struct dns_key *k);
/* Cleanse k. */
void	dns_key_clear(struct dns_key *k);

/* One SMIMEA RDATA. */
struct dns_rdata {
	int		 usage, selector, matching;
	unsigned char	*data;
	size_t		 len;
};

/* The SMIMEA RRset of one owner name: what the server holds, or wants. */
struct dns_rrset {
	char		 owner[DNS_OWNER_MAX];
	struct dns_rdata *rd;
	size_t		 n;
};

int	dns_rrset_add(struct dns_rrset *, int usage, int selector,
	    int matching, const unsigned char *data, size_t len);
/* 1 if set holds rd (all four fields equal), else 0. */
int	dns_rrset_has(const struct dns_rrset *set, const struct dns_rdata *rd);
void	dns_rrset_clear(struct dns_rrset *);

/*
 * A connection's parameters to one zone's primary server: server is
 * "host:port" ("[v6]:port"), the key is used for every message.
 */
struct dns_server;

struct dns_server *dns_server_new(const char *zone, const char *server,
		    const struct dns_key *key, int timeout);
void	dns_server_free(struct dns_server *);

/* Results of a query or an update. */
enum dns_result {
	DNS_OK = 0,
	DNS_FAIL = -1,		/* unreachable, refused, bad answer: retry */
	DNS_CONFLICT = -2,	/* a prerequisite failed (RFC 2136 §3.2) */
	DNS_AUTH = -3,		/* TSIG refused or answer unsigned/bogus */
};

/*
 * Read the SMIMEA RRset at set->owner (TSIG-signed query over TCP, the
 * answer's signature checked); set->rd is replaced. DNS_OK also when the
 * name or the type does not exist (an empty set).
 */
enum dns_result	dns_query(struct dns_server *, struct dns_rrset *set,
		    char *why, size_t whysz);

/*
 * One UPDATE (RFC 2136) for owner: prerequisite that the RRset is still
 * exactly have as read (§2.4.2, value dependent; §2.4.3 that it does not
 * exist when have is empty), delete each RR of del (§2.5.4), add each of
 * add with ttl (§2.5.1). All or nothing at the server: DNS_CONFLICT when
 * the RRset changed meanwhile.
 */
enum dns_result	dns_update(struct dns_server *, const struct dns_rrset *have,
		    const struct dns_rrset *del, const struct dns_rrset *add,
		    int ttl, char *why, size_t whysz);

/*
 * Parse a DNS answer in wire form and collect its SMIMEA records at
 * set->owner (for the fuzz target and dns_query). Returns 0, or -1 with a
 * reason in why (a malformed message).
 */
int	dns_answer_parse(const unsigned char *wire, size_t len,
	    struct dns_rrset *set, int *rcode, char *why, size_t whysz);

/*
 * Keeping people's records in step with the journal (dns_sync.c). A
 * context holds dns.zones ready to use: each zone's key read and its
 * server resolved once; a zone whose key or server failed, or whose server
 * stopped answering, fails every person in it at once for the rest of the
 * context's life (one batch, one pass), with the same reason.
 *
 * Ownership: smimepub touches only SMIMEA records at the owner names
 * (dns_owners) of the addresses in the certificates its journal holds for
 * the person (any state), and of those only records whose association
 * data is one of those certificates (under the record's own selector and
 * matching type). The person's current certificates (the newest published
 * one that can encrypt, and the newest signing-only one, unexpired) are
 * wanted, with dns.usage/selector/matching; every other record of ours is
 * deleted, in the same UPDATE that adds what is missing.
 */
struct cfg;
struct jrnl;
struct dns_ctx;

struct dns_counts {
	unsigned long	 ok, failed, conflict;	/* UPDATE messages */
	unsigned long	 added, deleted;	/* RRs */
	unsigned long	 people, pending;	/* reconciled; left pending */
};

/* NULL only when out of memory (logged). */
struct dns_ctx	*dns_ctx_new(const struct cfg *);
void		 dns_ctx_free(struct dns_ctx *);

/*
 * Reconcile person_id's records with the journal j. With dry non-NULL,
 * print the UPDATEs it would send (nsupdate syntax) there and change
 * nothing, in DNS or in the journal. Otherwise the outcome goes into the
 * journal's DNS state (pending with backoff, or in step). 0 in step or
 * nothing to do, -1 not (logged, pending).
 */
int	dns_sync_person(struct dns_ctx *, struct jrnl *j,
	    const char *person_id, FILE *dry, struct dns_counts *);
/* Every person with a certificate in the journal; -1 if any failed. */
int	dns_sync_all(struct dns_ctx *, struct jrnl *j, FILE *dry,
	    struct dns_counts *);
/* Those whose DNS state is pending and due at now. */
int	dns_sync_due(struct dns_ctx *, struct jrnl *j, time_t now,
	    struct dns_counts *);

#endif
