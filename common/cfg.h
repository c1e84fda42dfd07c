/*
 * cfg.h — the one configuration file of all three programs (libconfig),
 * loaded into a typed struct and validated: an unknown key, a wrong type, a
 * missing required key or an out-of-range value is an error naming the file,
 * the line and the key. The key names are a stable interface (DESIGN.md).
 */
#ifndef SMIMEPUB_CFG_H
#define SMIMEPUB_CFG_H

#include <stddef.h>
#include <stdio.h>

#define CFG_DEFAULT_PATH	"/etc/smimepub/smimepub.conf"

/* directory.alias_attributes: each is asked for in every search and named
 * in lookupd's filter; a few are all a directory needs. */
#define CFG_ALIAS_ATTRS_MAX	8

enum cfg_flavour { CFG_FLAVOUR_OPENLDAP = 0, CFG_FLAVOUR_AD, CFG_FLAVOUR_389DS };

struct cfg_directory {
	char		*uri;		/* ldap://, ldaps://, ldapi:// */
	int		 starttls;
	char		*tls_ca_file;
	char		*tls_cert_file;	/* client certificate (SASL EXTERNAL) */
	char		*tls_key_file;
	char		*bind_dn;
	char		*bind_password_file;
	char		*sasl_mech;	/* "EXTERNAL" or NULL for simple bind */
	char		*keytab;	/* SASL GSSAPI: client keytab */
	char		*base;
	char		*filter;
	char		*mail_attribute;
	char		**alias_attributes; /* NULL: the flavour's default;
					 * at most CFG_ALIAS_ATTRS_MAX */
	size_t		 n_alias_attributes;
	char		*trigger_attribute;
	char		*status_attribute;
	enum cfg_flavour flavour;
	int		 timeout;	/* seconds, every operation */
	int		 page_size;	/* RFC 2696; AD caps at 1000 */
	int		 allow_plaintext_bind; /* simple bind over ldap:// to a non-loopback host */
};

struct cfg_ca_local {
	char		*dir;		/* CA key, certificate, index, CRL */
	int		 validity_days;	/* 1..825 (CA/B Forum S/MIME BR) */
	char		*key_type;	/* CA key: rsa:3072 default, ec:P-384 */
	char		*subject_cn;	/* the CA certificate's CN */
	int		 ca_validity_days;
	char		*crl_url;	/* CRL distribution point, optional */
	char		*aia_url;	/* caIssuers URL, optional */
	char		**policies;	/* certificate policy OIDs, NULL-terminated */
	size_t		 n_policies;
	int		 subject_email;	/* also put emailAddress in the subject */
	int		 crl_days;	/* nextUpdate of the CRL */
	char		*ocsp_url;	/* OCSP responder (AIA), optional */
	int		 ocsp_days;	/* nextUpdate of OCSP responses */
	int		 ocsp_responder_days; /* the responder certificate */
};

/* ca.exec: a certmonger-style helper (CSR on stdin, chain on stdout). */
struct cfg_ca_exec {
	char		*command;
	int		 timeout;	/* seconds before it is killed */
	char		*ca_cert;	/* anchor its certificates chain to */
	char		*protocol;	/* "smimepub" (default) | "certmonger" */
};

/* ca.cfssl: cfssl's HTTP API. */
struct cfg_ca_cfssl {
	char		*url;		/* e.g. http://127.0.0.1:8888 */
	char		*profile;
	char		*signing_profile; /* keys.separate_signing */
	char		*label;
	char		*auth_key_file;	/* hex HMAC key: /authsign */
	char		*tls_ca_file;	/* for https:// */
	char		*ca_cert;
	int		 timeout;
};

/* ca.cmp: RFC 4210/9480 CMP through OpenSSL's client. */
struct cfg_ca_cmp {
	char		*url;		/* http(s)://host:port/path */
	char		*reference;	/* MAC protection: sender reference */
	char		*secret_file;	/* MAC protection: shared secret */
	char		*client_cert;	/* signature protection */
	char		*client_key;
	char		*server_cert;	/* pinned CMP server certificate */
	char		*trusted;	/* or a trust store for its messages */
	char		*tls_ca_file;	/* for https:// */
	char		*ca_cert;
	int		 implicit_confirm;
	int		 timeout;
};

/* ca.est: RFC 7030 EST over HTTPS. */
struct cfg_ca_est {
	char		*url;		/* https://host:port/.well-known/est */
	char		*tls_ca_file;
	char		*user;		/* HTTP Basic */
	char		*password_file;
	char		*client_cert;	/* TLS client authentication */
	char		*client_key;
	char		*ca_cert;
	int		 timeout;
};

struct cfg_ca {
	char		*driver;
	char		**allowed_ekus;	/* NULL-terminated; beside emailProtection */
	size_t		 n_allowed_ekus;
	struct cfg_ca_local local;
	struct cfg_ca_exec exec;
	struct cfg_ca_cfssl cfssl;
	struct cfg_ca_cmp cmp;
	struct cfg_ca_est est;
};

struct cfg_keys {
	char		*type;
	char		*delivery_dir;
	char		*delivery_command;
	char		**escrow_certs;	/* NULL-terminated */
	size_t		 n_escrow_certs;
	int		 pkcs12_iterations;
	int		 pool_size;	/* pre-generated keys; 0 = off */
	int		 discard_passphrase; /* opt-out: no delivery command, no escrow */
	int		 delivery_timeout; /* seconds, then the command is killed */
	int		 separate_signing; /* two key pairs: encryption, signing */
	int		 signing_non_repudiation; /* the signing one's KU */
	int		 deliver_history; /* earlier keys in a renewal's PKCS#12 */
};
#define KEYS_HISTORY_MAX	16	/* keys.deliver_history at most */

struct cfg_sync {
	char		*state_dir;
	int		 interval;
	int		 watch_interval;	/* seconds; 0 = full passes only */
	int		 renew_before_days;
	char		*on_leave;	/* revoke | unpublish | keep */
	int		 require_trigger; /* enrol only on the trigger attribute */
	int		 workers;	/* threads per pass; 0 = one per core */
	int		 max_attempts;	/* then FAILED until `smimepub enrol` */
	int		 leave_grace_days; /* before acting on a leaver */
	char		*watch;		/* auto | syncrepl | poll | dirsync */
	char		*lease_dn;	/* NULL: no lease, always active */
	char		*lease_attribute;
	int		 lease_ttl;	/* seconds a lease lasts unrenewed */
	char		*lease_uri;	/* the lease authority; NULL: see DESIGN.md */
	char		*max_leavers;	/* a count or "N%"; NULL: max(10, 2%) */
	char		*metrics_listen; /* host:port of /metrics; NULL: off */
};

struct cfg_lookup {
	char		*listen;	/* host:port, [v6]:port or unix:/path */
	int		 cache_ttl;
	int		 negative_ttl;
	int		 cache_max;	/* entries, LRU beyond */
	int		 pool_size;	/* directory connections */
	int		 pool_depth;	/* searches in flight on each */
	int		 threads;	/* HTTP worker threads */
	int		 batch_max;	/* recipients per POST /v1/lookup */
	int		 rate;		/* requests/s per client address, 0 off */
	int		 burst;
	int		 search_rate;	/* /v1/search, per client address */
	int		 search_burst;
	int		 max_connections;
	int		 max_connections_per_ip; /* 0 = no cap */
	int		 batch_rate;	/* POST /v1/lookup recipients/s per client */
	int		 batch_burst;
	int		 timeout;	/* idle seconds before a client is cut */
	int		 max_body;	/* bytes, 413 beyond */
	int		 max_header;	/* bytes for the request line and headers */
	int		 drain_timeout;	/* seconds SIGTERM waits for requests */
	char		**crl_files;	/* NULL-terminated, reloaded on change */
	size_t		 n_crl_files;
	char		*trust_anchors;	/* PEM file; certificates must chain */
	char		*tls_cert;
	char		*tls_key;
	char		*user;		/* drop to this user after binding */
	char		*pid_file;
	char		*admin_socket;	/* unix socket: POST /v1/cache/flush */
	char		*bind_dn;	/* read-only account, else directory's */
	char		*bind_password_file;
	int		 anonymous;	/* explicit: bind anonymously */
	int		 insecure_no_anchors; /* explicit: no trust anchors */
	char		*metrics_listen; /* host:port of /metrics; NULL: none */
	char		*revocation;	/* files | crl | ocsp | both */
	char		*revocation_fail; /* soft | hard: no answer to be had */
	int		 revocation_timeout; /* seconds per CRL/OCSP fetch */
	int		 ocsp_nonce;	/* send a nonce (RFC 8954) and check it */
	char		**trusted_proxies; /* CIDRs, "unix": Forwarded believed */
	size_t		 n_trusted_proxies;
};

struct cfg_log {
	char		*level;
	char		*audit_file;
	int		 syslog;
};

/* dns: SMIMEA records kept current by RFC 2136 UPDATE (dns/dns.h). */
struct cfg_dns_zone {
	char		*zone;		/* lower case, no final dot */
	char		*server;	/* the primary: host:port */
	char		*tsig_key_file;	/* BIND key syntax, mode 0600 */
};

struct cfg_dns {
	struct cfg_dns_zone *zones;
	size_t		 n_zones;
	int		 usage, selector, matching;	/* RFC 8162 §2 */
	int		 ttl;
	int		 timeout;	/* seconds, each message */
	int		 retry_min, retry_max;	/* backoff after a failure */
};

struct cfg_where;

struct cfg {
	char		*path;		/* the file it came from */
	struct cfg_where *where;	/* per key: file and line it was set on */
	struct cfg_directory directory;
	struct cfg_ca	 ca;
	struct cfg_keys	 keys;
	struct cfg_sync	 sync;
	struct cfg_lookup lookup;
	struct cfg_log	 log;
	struct cfg_dns	 dns;
};

/*
 * The most leavers one pass may act on (sync.max_leavers) when it saw seen
 * people: spec is a count ("25") or a percentage of seen ("2%", rounded
 * down); NULL is the default, the larger of 10 and 2%. -1 when spec is
 * neither.
 */
long		 cfg_max_leavers(const char *spec, size_t seen);

/* Load and validate path. NULL on any error, each reported with file:line. */
struct cfg	*cfg_load(const char *path);
void		 cfg_free(struct cfg *);
/* The effective configuration (defaults filled in) in libconfig syntax. */
void		 cfg_print(const struct cfg *, FILE *);

/*
 * Report a bad value of key (dotted, e.g. "ca.driver") after loading, for
 * a module that checks a key itself (ca_cfg_check): "FILE:LINE: KEY: ..."
 * where the file set it, "FILE: KEY: ..." where it is a default.
 */
void		 cfg_key_err(const struct cfg *, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value of string key (dotted); NULL if unset or not a string key. */
const char	*cfg_str(const struct cfg *, const char *key);

/*
 * Read a secret from path into a NUL-terminated buffer the caller frees with
 * cfg_secret_free() (which cleanses it). Refuses a file that is not a regular
 * file or that its group or others may read, saying why. One trailing
 * newline is stripped. what names the config key for the message.
 */
int		 cfg_secret_read(const char *path, const char *what, char **out,
		    size_t *outlen);
void		 cfg_secret_free(char *secret, size_t len);

#endif
