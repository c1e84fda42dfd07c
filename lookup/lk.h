/*
 * lk.h — smimepub-lookupd, the lookup daemon: which certificate to encrypt
 * to for an address, over HTTP (DESIGN.md "smimepub-lookupd").
 *
 *   lk_main.c   daemon: flags, pid file, privileges, signals, drain
 *   lk_http.c   libmicrohttpd: limits, request assembly
 *   lk_hdr.c    the header fields of answers; the client (libmicrohttpd)
 *   lk_req.c    Accept, If-None-Match, the path's escapes, the body
 *   lk_fwd.c    the client behind lookup.trusted_proxies (Forwarded)
 *   lk_listen.c listen sockets, TLS files (opened before privileges drop)
 *   lk_api.c    endpoints, JSON (jansson), metrics
 *   lk_cache.c  positive/negative TTL, LRU bound, one search per address
 *   lk_rate.c   per-client token buckets
 *   lk_conns.c  open connections per client address (max_connections_per_ip)
 *   lk_certs.c  usable-only filtering (validity, EKU, KU, address, CRL, chain)
 *   lk_trust.c  trust anchors, CRLs (signature-checked, reloaded on change)
 *   lk_x509.c   certificates parsed once, by their DER bytes
 *   lk_ocsp.c   the local CA's OCSP responses and CRL, served from files
 *   lk_revoke.c revocation by CRL distribution point and OCSP (fetched)
 *   lk_pool.c   a pool of directory connections
 *   lk_work.c   directory workers: uncached lookups off the HTTP threads
 *
 * This module reads the directory only. It never includes sync/ or ca/: it
 * holds no CA secret and no private key.
 */
#ifndef SMIMEPUB_LK_H
#define SMIMEPUB_LK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "common/cfg.h"
#include "common/mail.h"
#include "common/net.h"
#include "common/x509.h"
#include "ldap/dir.h"

/* ---- results (lk_certs.c) ---------------------------------------------- */

/*
 * Bytes rendered on demand: computed when a request first asks for them and
 * then kept, published with one compare-and-swap (two requests racing both
 * render; one copy is kept, the other freed), so an answer never renders a
 * format nobody asked for and a cached one renders each format once.
 */
struct lk_blob {
	size_t		 len;
	char		 etag[36];	/* strong: '"', 32 hex of SHA-256, '"' */
	unsigned char	 data[];	/* NUL-terminated after len */
};

/* The strings a certificate's JSON object holds (lk_cert_text). */
struct lk_cert_text {
	char		*pem;
	char		 sha256[X509_SHA256_HEX];
	char		*serial;	/* upper-case hex */
	char		*issuer;	/* RFC 2253 */
	char		*subject;
	char		 not_before[32]; /* RFC 3339, UTC */
	char		 not_after[32];
	char		 key[24];	/* "rsa:3072", "ec:P-256" */
};

/* One usable certificate. */
struct lk_cert {
	X509		*x509;
	STACK_OF(X509)	*chain;		/* its issuers, as verified (may be NULL) */
	time_t		 not_after_t;
	unsigned char	 sha[X509_SHA256_LEN];	/* set when n > 1: ties */
	char		 revocation[192];	/* status and its source */
	_Atomic(struct lk_cert_text *) text;
};
/* Its strings, rendered the first time; NULL when out of memory. */
const struct lk_cert_text *lk_cert_text(struct lk_cert *);

/*
 * The answer for one address: its usable certificates, best (latest
 * notAfter) first; n == 0 is a negative answer. Shared, reference counted,
 * between the cache and the requests that serve it; immutable once
 * finished but for the bodies, each rendered when first asked for.
 */
struct lk_res {
	atomic_int	 refs;
	char		*mail;
	struct lk_cert	*certs;
	size_t		 n;
	_Atomic(struct lk_blob *) json;	/* GET /v1/certs body */
	_Atomic(struct lk_blob *) der;	/* the best certificate */
	_Atomic(struct lk_blob *) p7;	/* certs-only bundle of all usable */
	_Atomic(struct lk_blob *) pem;	/* PEM of all usable, best first */
	_Atomic(struct lk_blob *) chain; /* PEM: the best, then its chain */
};

struct lk_res	*lk_res_new(const char *mail);
/* Add cert (a reference is taken) with its issuers (chain, may be NULL:
 * kept when added) unless the same one is already there. */
int		 lk_res_add(struct lk_res *, X509 *cert, STACK_OF(X509) *chain);
/* Sort best first (nothing is rendered until asked for). */
int		 lk_res_finish(struct lk_res *);
/* The bodies (n > 0), rendered the first time; NULL when out of memory. */
const struct lk_blob *lk_res_json(struct lk_res *);
const struct lk_blob *lk_res_der(struct lk_res *);
const struct lk_blob *lk_res_p7(struct lk_res *);
const struct lk_blob *lk_res_pem(struct lk_res *);
/* RFC 8555 §9.1 application/pem-certificate-chain: the best certificate,
 * then each issuer the chain check found, up to its trust anchor. */
const struct lk_blob *lk_res_chain(struct lk_res *);
struct lk_res	*lk_res_ref(struct lk_res *);
void		 lk_res_unref(struct lk_res *);

/* Why a certificate found in the directory was not served. */
enum lk_reject {
	LK_REJ_UNPARSABLE = 0, LK_REJ_EXPIRED, LK_REJ_NOT_YET_VALID,
	LK_REJ_NO_EKU, LK_REJ_KEY_USAGE, LK_REJ_WRONG_ADDRESS, LK_REJ_REVOKED,
	LK_REJ_UNTRUSTED, LK_REJ_REVOCATION_UNKNOWN, LK_REJ_OTHER, LK_REJ_MAX
};
extern const char *const lk_reject_names[LK_REJ_MAX];

struct lk_certs;	/* CRLs and trust anchors, reloaded when they change */

/*
 * lk_trust.c. Every CRL must verify with its issuer's key from anchors
 * (crl_files without anchors is refused): NULL, with the file and reason
 * logged, when a file cannot be used. parse_max: certificates (and as many
 * bundles) kept parsed (lk_x509.c).
 */
struct lk_certs	*lk_certs_new(char *const *crl_files, const char *anchors,
		    size_t parse_max);
void		 lk_certs_free(struct lk_certs *);
/*
 * The EKUs the S/MIME profile check allows beside emailProtection
 * (ca.allowed_ekus, borrowed: it outlives lc), as for publishing.
 */
void		 lk_certs_allow_ekus(struct lk_certs *, char *const *ekus);
char *const	*lk_certs_ekus(const struct lk_certs *);
/*
 * Reload CRLs whose files changed (checked at most once a second) and then
 * flush cache (may be NULL), whose answers may hold a revoked certificate.
 */
struct lk_cache;
void		 lk_certs_refresh(struct lk_certs *, struct lk_cache *);
struct lk_crl_stats {
	unsigned long	 errors;	/* CRL loads refused */
	unsigned long	 reloads;	/* CRL sets put in use, the first too */
	size_t		 loaded;	/* CRLs in use */
	size_t		 expired;	/* of them past their nextUpdate */
	unsigned long	 parse_hits;	/* certificates found parsed */
	unsigned long	 parse_misses;
};
void		 lk_certs_stats(struct lk_certs *, struct lk_crl_stats *);
/* The certificate of a DER value (a new reference), parsed once for as
 * long as lk_x509.c keeps it; NULL if it is not one. */
X509		*lk_certs_parse(struct lk_certs *, const unsigned char *der,
		    size_t len);
STACK_OF(X509)	*lk_certs_parse_bundle(struct lk_certs *,
		    const unsigned char *der, size_t len);
/* lk_x509.c: parsed certificates by their DER bytes. */
struct lk_x509c;
/* At most max values (a power of two, at most 32768); NULL for none (every
 * value parsed each time: the functions below take a NULL table). */
struct lk_x509c	*lk_x509c_new(int bundles, size_t max);
void		 lk_x509c_free(struct lk_x509c *);
X509		*lk_x509c_get(struct lk_x509c *, const unsigned char *der,
		    size_t len);
/* A certs-only bundle's certificates (a new stack, references taken). */
STACK_OF(X509)	*lk_x509c_get_bundle(struct lk_x509c *,
		    const unsigned char *der, size_t len);
void		 lk_x509c_stats(struct lk_x509c *, unsigned long *hits,
		    unsigned long *misses);
/* 1 if a CRL in use lists x. */
int		 lk_certs_revoked(struct lk_certs *, X509 *x);
/*
 * lk_trust.c: the trust anchors file: lookup.trust_anchors, else the
 * certificate of the CA smimepub-sync issues under (buf holds the path when
 * it is ca.local.dir's); NULL with lookup.insecure_no_anchors.
 */
const char	*lk_anchors_path(const struct cfg *, char *buf, size_t len);
/*
 * lk_trust.c: what lookupd needs of the configuration before it starts:
 * its own bind (lookup.bind_dn or lookup.anonymous) and trust anchors (or
 * lookup.insecure_no_anchors, warned about). 0, or -1 logged naming the
 * keys: a configuration error (exit 2).
 */
int		 lk_cfg_check(const struct cfg *);
/* 1 if x chains to an anchor (or none are configured); with chain, its
 * issuers up to the anchor (a new stack, NULL for none) go there. */
int		 lk_certs_chains(struct lk_certs *, X509 *x,
		    STACK_OF(X509) *untrusted, time_t now,
		    STACK_OF(X509) **chain);
/*
 * Add to res every usable certificate of p for addr (canonical), reading
 * both userCertificate and userSMIMECertificate values; count each rejected
 * one in rej[reason]. Returns the number added, or -1 on allocation failure.
 */
int		 lk_certs_collect(struct lk_certs *, const struct dir_person *p,
		    const char *addr, time_t now, struct lk_res *res,
		    atomic_ulong rej[LK_REJ_MAX]);

/* ---- cache (lk_cache.c) ------------------------------------------------ */

typedef time_t	(*lk_clock_fn)(void);

struct lk_cache_stats {
	unsigned long	 hits, misses, shared, evictions, errors;
	size_t		 entries;
};

struct lk_cache	*lk_cache_new(size_t max, int ttl, int neg_ttl, lk_clock_fn);
void		 lk_cache_free(struct lk_cache *);
/*
 * The answers for up to LK_MANY_MAX keys: each from the cache, or from
 * fill. The misses among them go to one call of fill, so that their
 * searches can be in flight together; a key is filled once however many
 * threads miss on it at the same time (the others wait for that fill).
 * Sets out[i] (a reference) and rcs[i] (0, or -1 when its fill failed:
 * nothing cached) for each key.
 */
#define LK_MANY_MAX	64
/* lookup.pool_depth as a batch size: 1 to LK_MANY_MAX. */
static inline size_t
lk_batch_max(int depth)
{
	return depth < 1 ? 1 : depth > LK_MANY_MAX ? LK_MANY_MAX :
	    (size_t)depth;
}
typedef void	(*lk_fill_many_fn)(const char *const *keys, size_t n,
		    void *arg, struct lk_res **out, int *rcs);
void		 lk_cache_get_many(struct lk_cache *, const char *const *keys,
		    size_t n, lk_fill_many_fn, void *arg, struct lk_res **out,
		    int *rcs);
/* A finished, unexpired answer for key (a reference in *out, counted as
 * a hit): 1, else 0 (nothing counted; lk_cache_get_many will search). */
int		 lk_cache_peek(struct lk_cache *, const char *key,
		    struct lk_res **out);
void		 lk_cache_flush(struct lk_cache *);
void		 lk_cache_stats(struct lk_cache *, struct lk_cache_stats *);

/* ---- rate limits (lk_rate.c) ------------------------------------------- */

typedef double	(*lk_dclock_fn)(void);	/* monotonic seconds */

/* rate tokens/s (0 = unlimited), bucket of burst. */
struct lk_rate	*lk_rate_new(double rate, double burst, lk_dclock_fn);
void		 lk_rate_free(struct lk_rate *);
/* Take a token for the client: 1 allowed, 0 limited (*retry_after in s). */
int		 lk_rate_take(struct lk_rate *, const struct sockaddr *sa,
		    unsigned *retry_after);
/* Take cost tokens at once, or none: 1 allowed, 0 limited (*retry_after:
 * seconds until cost tokens are there; cost must not exceed the burst). */
int		 lk_rate_take_n(struct lk_rate *, const struct sockaddr *sa,
		    double cost, unsigned *retry_after);
size_t		 lk_rate_clients(struct lk_rate *);
double		 lk_monotonic(void);

/* ---- connections per client address (lk_conns.c) ---------------------- */

/* A client address as counted: 4 bytes (IPv4) or 8 (the IPv6 /64), len 0
 * for none (uncapped). */
struct lk_ip {
	unsigned char	 a[16];
	size_t		 len;
};

struct lk_conns;
/* cap (per address) and max (in all), 0: none. Each refusal adds one to
 * *refused or *refused_max. */
struct lk_conns	*lk_conns_new(unsigned cap, atomic_ulong *refused,
		    unsigned max, atomic_ulong *refused_max);
void		 lk_conns_free(struct lk_conns *);
/* The key of sa: 1, or 0 (len 0) when its family is not capped. */
int		 lk_conns_key(const struct sockaddr *sa, struct lk_ip *);
/* 1 (and counted as refused) when max connections are open, or sa
 * already has cap. */
int		 lk_conns_full(struct lk_conns *, const struct sockaddr *sa);
/* Count a connection that MHD started: 0, or -1 (counted as refused) when
 * that would pass the cap; each 0 needs its lk_conns_close. */
int		 lk_conns_open(struct lk_conns *, const struct lk_ip *);
void		 lk_conns_close(struct lk_conns *, const struct lk_ip *);

/* ---- directory pool (lk_pool.c) ---------------------------------------- */

/*
 * The directory as lookupd uses it: lk_dir_ldap is ldap/'s client; a test
 * gives its own table (a fake directory) to lk_ctx_init_dir. Each function
 * is the ldap/dir.h one of the same name.
 */
struct lk_dir_ops {
	struct dir	*(*open)(const struct cfg_directory *);	/* dir_new */
	int		 (*connect)(struct dir *);
	void		 (*close)(struct dir *);		/* dir_free */
	int		 (*search)(struct dir *, const char *filter,
			    dir_person_cb, void *arg);	/* dir_search_people */
	int		 (*search_few)(struct dir *, struct dir_query *,
			    size_t n);
};
extern const struct lk_dir_ops lk_dir_ldap;

struct lk_pool	*lk_pool_new(const struct cfg_directory *, int size,
		    int wait_sec, const struct lk_dir_ops *);
void		 lk_pool_free(struct lk_pool *);
/* A connection for this thread's use, NULL if none came free in time. */
struct dir	*lk_pool_get(struct lk_pool *);
void		 lk_pool_put(struct lk_pool *, struct dir *);

/* ---- directory workers (lk_work.c) ------------------------------------ */

struct lk_job {
	struct lk_job	*next;
};
/* n jobs taken at once (stopping: the daemon is stopping, answer without
 * the directory). */
typedef void	(*lk_batch_fn)(struct lk_job **jobs, size_t n, int stopping,
		    void *arg);
/* threads workers, each taking up to batch jobs at a time for run(arg). */
struct lk_work	*lk_work_new(int threads, int batch, lk_batch_fn run,
		    void *arg);
/* Queue j for a worker: 0, or -1 once stopped (j is not run). */
int		 lk_work_push(struct lk_work *, struct lk_job *);
/* Run every job still queued (stopping = 1), join the workers. */
void		 lk_work_stop(struct lk_work *);
void		 lk_work_free(struct lk_work *);

/* ---- what a request says (lk_req.c) ------------------------------------ */

struct lk_span {
	const char	*p;
	size_t		 len;
};
#define LK_ACCEPT_MAX	16
/* The index of the type (of n, "type/subtype", in the server's order of
 * preference) that Accept (NULL: absent) prefers, or -1 for none (406). */
int		 lk_accept_pick(const char *accept, const char *const *types,
		    size_t n);
/* 1 if If-None-Match (RFC 9110 §13.1.2) matches etag (with its quotes). */
int		 lk_etag_match(const char *inm, const char *etag);
/* The end of the list element at p (RFC 9110 §5.6.1): the next ',' outside
 * a quoted-string, or e. */
const char	*lk_list_next(const char *p, const char *e);

/* ---- the client behind proxies (lk_fwd.c) ------------------------------ */

struct lk_proxies {
	struct net_cidr	*c;
	size_t		 n;
	int		 unix_ok;	/* "unix": the clients of a unix socket */
};
enum lk_fwd {
	LK_FWD_NONE = 0,	/* no forwarding field */
	LK_FWD_BELIEVED,	/* from a trusted proxy: the client found */
	LK_FWD_UNTRUSTED,	/* from a peer not in the list: ignored */
	LK_FWD_MALFORMED,	/* from a trusted proxy, no address in it */
	LK_FWD_MAX
};
extern const char *const lk_fwd_names[LK_FWD_MAX];
/* lookup.trusted_proxies (CIDRs, addresses, "unix"): 0, or -1 logged. */
int		 lk_proxies_init(struct lk_proxies *, char *const *list);
void		 lk_proxies_fini(struct lk_proxies *);
/* 1 if peer (NULL: a unix socket) is a trusted proxy. */
int		 lk_proxies_trust(const struct lk_proxies *,
		    const struct sockaddr *peer);
/*
 * The client of a request from peer with these Forwarded and
 * X-Forwarded-For values (NULL: absent; several field lines joined with
 * ","): *client is set (family not 0) when someone other than the peer was
 * found; the outcome says how, for /metrics.
 */
enum lk_fwd	 lk_fwd_client(const struct lk_proxies *,
		    const struct sockaddr *peer, const char *forwarded,
		    const char *xff, struct sockaddr_storage *client);
/* A node of RFC 7239 §6 or X-Forwarded-For: 0 with its address, or -1. */
int		 lk_fwd_node(const char *p, size_t len, struct net_addr *);

/* ---- the daemon's state, endpoints (lk_api.c) -------------------------- */

enum lk_ep {
	LK_EP_CERTS = 0, LK_EP_LOOKUP, LK_EP_SEARCH, LK_EP_HEALTHZ,
	LK_EP_METRICS, LK_EP_FLUSH, LK_EP_OCSP, LK_EP_CRL, LK_EP_OTHER,
	LK_EP_MAX
};
#define LK_NSTATUS	11	/* 200 304 400 404 405 406 413 429 500 503 other */
#define LK_NBUCKETS	12	/* directory latency histogram */

struct lk_metrics {
	atomic_ulong	 req[LK_EP_MAX][LK_NSTATUS];
	atomic_ulong	 rejected[LK_REJ_MAX];
	atomic_ulong	 dir_bucket[LK_NBUCKETS];	/* cumulative at render */
	atomic_ulong	 dir_count;
	atomic_ulong	 dir_usec;
	atomic_ulong	 dir_errors;
	atomic_ulong	 dir_pipelined;	/* sent behind another, lk_pool.c */
	atomic_ulong	 refused_per_ip;	/* lookup.max_connections_per_ip */
	atomic_ulong	 refused_max;		/* lookup.max_connections */
	atomic_ulong	 duplicates;	/* addresses on several entries */
	atomic_ulong	 fwd[LK_FWD_MAX];	/* forwarding fields, by outcome */
};

#define LK_DUP_SLOTS	1024	/* addresses whose duplicate was logged */

struct lk_ctx {
	const struct cfg	*cfg;
	struct cfg_directory	 dircfg;	/* with the read-only bind */
	struct lk_cache		*cache;
	struct lk_rate		*rate;
	struct lk_rate		*search_rate;
	struct lk_rate		*batch_rate;	/* recipients of POST /v1/lookup */
	struct lk_certs		*certs;
	struct lk_pool		*pool;
	struct lk_ocsp		*ocsp;		/* NULL: nothing to publish */
	struct lk_rev		*rev;		/* NULL: lookup.revocation files */
	struct lk_proxies	 proxies;	/* lookup.trusted_proxies */
	struct lk_metrics	 m;
	time_t			 started;
	pthread_mutex_t		 health_mu;
	double			 health_at;	/* last directory probe */
	int			 health_up;
	pthread_mutex_t		 dup_mu;	/* duplicate addresses logged */
	uint32_t		 dup_hash[LK_DUP_SLOTS];
	time_t			 dup_at[LK_DUP_SLOTS];
};

#define LK_HDR_MAX	5
/* One answer: status, body (owned when free_body), content type. */
struct lk_reply {
	int		 status;
	char		*body;
	size_t		 len;
	int		 free_body;
	const char	*ctype;
	unsigned	 retry_after;	/* 429, 503: Retry-After seconds */
	enum lk_ep	 ep;
	/* more header fields (lk_ocsp.c: RFC 5019 §6.2 caching) */
	struct lk_hdr {
		const char	*name;
		char		 value[80];
	}		 hdr[LK_HDR_MAX];
	int		 nhdr;
	const char	*allow;		/* 405: the Allow field */
	char		 etag[36];	/* a strong ETag, "" for none */
	int		 cacheable;	/* Cache-Control: max-age=max_age */
	int		 max_age;
	int		 vary;		/* Vary: Accept */
};

/* One request as lk_http.c assembled it. */
struct lk_request {
	const char	*method;
	const char	*path;
	const char	*accept;	/* may be NULL */
	const char	*q;		/* ?q= of /v1/search, may be NULL */
	const char	*if_modified_since;	/* may be NULL */
	const char	*if_none_match;		/* may be NULL */
	const char	*body;
	size_t		 body_len;
	const struct sockaddr *peer;	/* the client, behind trusted proxies
					 * (lk_fwd.c); NULL: unix socket */
	int		 admin;		/* came in on the admin socket */
	int		 metrics;	/* on lookup.metrics_listen */
};

/* What an answer still needs from the directory (lk_api_begin). */
struct lk_defer {
	char		 addr[MAIL_MAX + 1];
	int		 fmt;
	const char	*inm;		/* If-None-Match (the request's) */
	enum lk_ep	 ep;
};

int		 lk_ctx_init(struct lk_ctx *, const struct cfg *);
/* lk_ctx_init on the directory dir (lk_ctx_init: lk_dir_ldap). */
int		 lk_ctx_init_dir(struct lk_ctx *, const struct cfg *,
		    const struct lk_dir_ops *dir);
void		 lk_ctx_fini(struct lk_ctx *);
/* The answer to rq, in this thread. */
void		 lk_api_handle(struct lk_ctx *, const struct lk_request *,
		    struct lk_reply *);
/*
 * The answer to rq without waiting for the directory: 1 with *rp, or 0
 * when it needs a search (an uncached GET /v1/certs), limits and input
 * checked already: lk_api_finish gives it, from any thread, for up to
 * LK_MANY_MAX such requests at once (their searches in flight together).
 */
int		 lk_api_begin(struct lk_ctx *, const struct lk_request *,
		    struct lk_reply *, struct lk_defer *d);
void		 lk_api_finish(struct lk_ctx *, const struct lk_defer *const *d,
		    struct lk_reply *const *rp, size_t n);
/* A JSON reply of o (its reference taken). */
struct json_t;
void		 lk_api_reply_json(struct lk_reply *, int status,
		    struct json_t *o);
/* lk_batch.c: POST /v1/lookup. */
void		 lk_api_lookup(struct lk_ctx *, const struct lk_request *,
		    struct lk_reply *);
/* Error reply {"error": err, "detail": detail}. */
void		 lk_api_error(struct lk_reply *, int status, const char *err,
		    const char *detail);
/* 503 "directory unavailable", with Retry-After. */
void		 lk_api_unavailable(struct lk_ctx *, struct lk_reply *,
		    const char *detail);
/* The client's address as text for a log line ("unix" for none): a
 * thread's own buffer. */
const char	*lk_api_client(const struct sockaddr *);
/* lk_metrics.c: counters, GET /metrics, GET /healthz. */
void		 lk_metrics_count(struct lk_metrics *, enum lk_ep, int status);
void		 lk_api_metrics(struct lk_ctx *, struct lk_reply *);
void		 lk_api_health(struct lk_ctx *, struct lk_reply *);
/* lk_pool.c: search the directory (a pool connection, timed); -1 on
 * error. */
int		 lk_dir_search(struct lk_ctx *, const char *filter,
		    dir_person_cb, void *arg);
/* lk_pool.c: the lk_fill_many_fn of the cache (arg: the lk_ctx): the
 * answers for n addresses from their equality searches, in flight together
 * on one pool connection. */
void		 lk_fill_many(const char *const *keys, size_t n, void *arg,
		    struct lk_res **out, int *rcs);
/* A JSON object for one certificate (new reference). */
struct json_t;
struct json_t	*lk_api_cert_json(struct lk_cert *);

/* ---- the local CA's OCSP responses and CRL (lk_ocsp.c) ----------------- */

struct lk_ocsp;
/* What ca.local (driver local, crl_url or ocsp_url set) asks lookupd to
 * publish into *out (NULL: nothing). 0, or -1 logged. */
int		 lk_ocsp_new(const struct cfg *, struct lk_ocsp **out);
void		 lk_ocsp_free(struct lk_ocsp *);
/* 1 with rp when rq is for POST /ocsp, GET /ocsp/..., or the CRL's path;
 * 0 when it is for none of them (o may be NULL). */
int		 lk_ocsp_route(struct lk_ocsp *o, const struct lk_request *rq,
		    struct lk_reply *rp);
/* The answer to the DER OCSPRequest req at now (rq: method, validators). */
void		 lk_ocsp_answer(struct lk_ocsp *, const unsigned char *req,
		    size_t len, const struct lk_request *rq, time_t now,
		    struct lk_reply *rp);
#define LK_OCSP_GET_MAX	4096	/* base64 characters of GET /ocsp/{b64} */
/* The base64 of a GET (RFC 6960 A.1), decoded into out: 0, or -1. */
int		 lk_ocsp_b64(const char *s, unsigned char *out, size_t max,
		    size_t *len);
/* The one CertID of an OCSPRequest (RFC 5019 §2.1.1): 0 with *cid (caller
 * frees), or -1 when it is not exactly one well-formed request. */
int		 lk_ocsp_parse(const unsigned char *der, size_t len,
		    OCSP_CERTID **cid);

/* ---- revocation by CDP and OCSP (lk_revoke.c) --------------------------- */

enum { LK_REVM_FILES, LK_REVM_CRL, LK_REVM_OCSP, LK_REVM_BOTH };
enum { LK_RS_NONE = 0, LK_RS_GOOD, LK_RS_REVOKED, LK_RS_UNAVAILABLE };
struct lk_rev_ans {
	int		 status;	/* LK_RS_* */
	int		 reason;	/* RFC 5280 §5.3.1, when revoked */
	time_t		 rev_time;
	char		 source[160];	/* "ocsp URL", "crl URL: why not" */
};
struct lk_rev;
/* lookup.revocation and its companions; NULL logged. */
struct lk_rev	*lk_rev_new(const struct cfg *);
void		 lk_rev_free(struct lk_rev *);
/*
 * Ask the CRL distribution point and/or the OCSP responder of x (issuer:
 * verified to anchors) as lookup.revocation says, into *a. 1 when x must
 * not be served (revoked; or no answer and lookup.revocation_fail = hard),
 * else 0. rv NULL or "files": 0, status LK_RS_NONE.
 */
int		 lk_rev_check(struct lk_rev *rv, X509 *x, X509 *issuer,
		    X509_STORE *anchors, time_t now, struct lk_rev_ans *a);
const char	*lk_rev_reason(int reason);
void		 lk_rev_metrics(struct lk_rev *, FILE *);
/* lk_trust.c: use rv (owned by the caller) in lk_certs_collect. */
void		 lk_certs_set_rev(struct lk_certs *, struct lk_rev *rv);
/*
 * lk_trust.c: the revocation status of x as lookupd judges it: the CRL
 * files, then lk_rev_check with the issuer from the chain verified to the
 * anchors (untrusted may help). 1 when it must not be served; the words
 * for it ("good (ocsp http://...)") in note.
 */
int		 lk_certs_revocation(struct lk_certs *, X509 *x,
		    STACK_OF(X509) *untrusted, time_t now, char *note,
		    size_t notesz);

/* ---- HTTP (lk_http.c) -------------------------------------------------- */

/* lk_listen.c: a non-blocking listening socket for spec (host:port,
 * [v6]:port, unix:/path made with mode); -1 logged naming key. */
int		 lk_listen(const char *spec, const char *key, mode_t mode);
/* lk_listen.c: the first 64 KB of path (config key), NUL-terminated. */
char		*lk_slurp(const char *path, const char *key);

/* Percent-decode s in place, leaving %00 (and malformed escapes) as they
 * are: its new length. */
size_t		 lk_unescape(char *s);
/* Append n bytes of a request body arriving in pieces to *body
 * (NUL-terminated): 0, or -1 (nothing changed) past max bytes in all or
 * out of memory. */
int		 lk_body_append(char **body, size_t *len, const char *data,
		    size_t n, size_t max);

struct lk_http;
/* Bind every listen socket (before privileges are dropped). */
struct lk_http	*lk_http_bind(struct lk_ctx *);
/* Start the server threads (after fork). */
int		 lk_http_start(struct lk_http *);
/* Stop accepting, wait up to drain seconds for requests, stop. */
void		 lk_http_stop(struct lk_http *, int drain);

#endif
