/*
 * cfg_keys.c — the table of every configuration key, its type, range,
 * default and, for an enum key, its allowed values. A key not listed here
 * is an error in the file.
 *
 * An enum key (a string with a fixed set of values) is declared with
 * ENUM(path, field, default, values): values is a NULL-terminated array of
 * the allowed strings, defined below (or exported by the common/ module
 * that owns them, as log.h's log_level_names); the loader refuses any other
 * value with "FILE:LINE: KEY: "v" is not a, b or c" and the field holds
 * the string. INDEX() is the same for an enum field, which holds the
 * value's index (directory.flavour). Nothing in cfg_check() is needed.
 * ca.driver is the exception: ca/ owns the list of drivers, and
 * ca_cfg_check() checks it (with what each driver needs) after loading.
 */
#include "common/cfg_priv.h"
#include "common/keys.h"
#include "common/log.h"

#define GROUP(p)	{ p, T_GROUP, 0, 0, 0, 0, 0, NULL, 0, NULL }
#define STR(p, f, req, d) { p, T_STR, O(f), 0, req, 0, 0, d, 0, NULL }
#define BOOL(p, f, d)	{ p, T_BOOL, O(f), 0, 0, 0, 1, NULL, d, NULL }
#define INT(p, f, lo, hi, d) { p, T_INT, O(f), 0, 0, lo, hi, NULL, d, NULL }
#define LIST(p, f, n)	{ p, T_STRLIST, O(f), O(n), 0, 0, 0, NULL, 0, NULL }
#define ENUM(p, f, d, v) { p, T_STR, O(f), 0, 0, 0, 0, d, 0, v }
#define INDEX(p, f, d, v) { p, T_ENUM, O(f), 0, 0, 0, 0, NULL, d, v }

/* in the order of enum cfg_flavour */
static const char *const flavours[] = { "openldap", "ad", "389ds", NULL };
static const char *const sasl_mechs[] = { "EXTERNAL", "GSSAPI", NULL };
static const char *const exec_protocols[] = { "smimepub", "certmonger",
	NULL };
static const char *const on_leave[] = { "revoke", "unpublish", "keep", NULL };
static const char *const watch[] = { "auto", "syncrepl", "poll", "dirsync",
	NULL };
static const char *const revocation[] = { "files", "crl", "ocsp", "both",
	NULL };
static const char *const revocation_fail[] = { "soft", "hard", NULL };

const struct cfg_key cfg_keys[] = {
	GROUP("directory"),
	STR("directory.uri", directory.uri, 1, NULL),
	BOOL("directory.starttls", directory.starttls, 0),
	STR("directory.tls_ca_file", directory.tls_ca_file, 0, NULL),
	STR("directory.tls_cert_file", directory.tls_cert_file, 0, NULL),
	STR("directory.tls_key_file", directory.tls_key_file, 0, NULL),
	STR("directory.bind_dn", directory.bind_dn, 0, NULL),
	STR("directory.bind_password_file", directory.bind_password_file, 0, NULL),
	ENUM("directory.sasl_mech", directory.sasl_mech, NULL, sasl_mechs),
	STR("directory.keytab", directory.keytab, 0, NULL),
	STR("directory.base", directory.base, 1, NULL),
	STR("directory.filter", directory.filter, 0, NULL),
	STR("directory.mail_attribute", directory.mail_attribute, 0, "mail"),
	/* a person's other addresses; unset: proxyAddresses on AD */
	LIST("directory.alias_attributes", directory.alias_attributes,
	    directory.n_alias_attributes),
	STR("directory.trigger_attribute", directory.trigger_attribute, 0, NULL),
	STR("directory.status_attribute", directory.status_attribute, 0, NULL),
	INDEX("directory.flavour", directory.flavour, CFG_FLAVOUR_OPENLDAP,
	    flavours),
	INT("directory.timeout", directory.timeout, 1, 3600, 10),
	/* RFC 2696 page size; AD's MaxPageSize is 1000 */
	INT("directory.page_size", directory.page_size, 1, 1000, 500),
	BOOL("directory.allow_plaintext_bind", directory.allow_plaintext_bind, 0),

	GROUP("ca"),
	/* ca/ca.c owns the list of drivers: ca_cfg_check() */
	STR("ca.driver", ca.driver, 0, "local"),
	/* EKUs beside emailProtection the S/MIME profile check accepts */
	LIST("ca.allowed_ekus", ca.allowed_ekus, ca.n_allowed_ekus),
	GROUP("ca.local"),
	STR("ca.local.dir", ca.local.dir, 0, "/var/lib/smimepub/ca"),
	/* CA/B Forum S/MIME BR §6.3.2: at most 825 days */
	INT("ca.local.validity_days", ca.local.validity_days, 1, 825, 365),
	ENUM("ca.local.key_type", ca.local.key_type, "rsa:3072",
	    keys_type_names),
	STR("ca.local.subject_cn", ca.local.subject_cn, 0, "smimepub local CA"),
	INT("ca.local.ca_validity_days", ca.local.ca_validity_days, 1, 36500, 3650),
	STR("ca.local.crl_url", ca.local.crl_url, 0, NULL),
	STR("ca.local.aia_url", ca.local.aia_url, 0, NULL),
	LIST("ca.local.policies", ca.local.policies, ca.local.n_policies),
	BOOL("ca.local.subject_email", ca.local.subject_email, 0),
	INT("ca.local.crl_days", ca.local.crl_days, 1, 3650, 7),
	STR("ca.local.ocsp_url", ca.local.ocsp_url, 0, NULL),
	INT("ca.local.ocsp_days", ca.local.ocsp_days, 1, 30, 4),
	INT("ca.local.ocsp_responder_days", ca.local.ocsp_responder_days, 2, 825, 30),
	GROUP("ca.exec"),
	STR("ca.exec.command", ca.exec.command, 0, NULL),
	ENUM("ca.exec.protocol", ca.exec.protocol, "smimepub", exec_protocols),
	INT("ca.exec.timeout", ca.exec.timeout, 1, 3600, 60),
	STR("ca.exec.ca_cert", ca.exec.ca_cert, 0, NULL),
	GROUP("ca.cfssl"),
	STR("ca.cfssl.url", ca.cfssl.url, 0, NULL),
	STR("ca.cfssl.profile", ca.cfssl.profile, 0, NULL),
	/* keys.separate_signing: the profile of the signing certificates */
	STR("ca.cfssl.signing_profile", ca.cfssl.signing_profile, 0, NULL),
	STR("ca.cfssl.label", ca.cfssl.label, 0, NULL),
	STR("ca.cfssl.auth_key_file", ca.cfssl.auth_key_file, 0, NULL),
	STR("ca.cfssl.tls_ca_file", ca.cfssl.tls_ca_file, 0, NULL),
	STR("ca.cfssl.ca_cert", ca.cfssl.ca_cert, 0, NULL),
	INT("ca.cfssl.timeout", ca.cfssl.timeout, 1, 3600, 30),
	GROUP("ca.cmp"),
	STR("ca.cmp.url", ca.cmp.url, 0, NULL),
	STR("ca.cmp.reference", ca.cmp.reference, 0, NULL),
	STR("ca.cmp.secret_file", ca.cmp.secret_file, 0, NULL),
	STR("ca.cmp.client_cert", ca.cmp.client_cert, 0, NULL),
	STR("ca.cmp.client_key", ca.cmp.client_key, 0, NULL),
	STR("ca.cmp.server_cert", ca.cmp.server_cert, 0, NULL),
	STR("ca.cmp.trusted", ca.cmp.trusted, 0, NULL),
	STR("ca.cmp.tls_ca_file", ca.cmp.tls_ca_file, 0, NULL),
	STR("ca.cmp.ca_cert", ca.cmp.ca_cert, 0, NULL),
	BOOL("ca.cmp.implicit_confirm", ca.cmp.implicit_confirm, 0),
	INT("ca.cmp.timeout", ca.cmp.timeout, 1, 3600, 30),
	GROUP("ca.est"),
	STR("ca.est.url", ca.est.url, 0, NULL),
	STR("ca.est.tls_ca_file", ca.est.tls_ca_file, 0, NULL),
	STR("ca.est.user", ca.est.user, 0, NULL),
	STR("ca.est.password_file", ca.est.password_file, 0, NULL),
	STR("ca.est.client_cert", ca.est.client_cert, 0, NULL),
	STR("ca.est.client_key", ca.est.client_key, 0, NULL),
	STR("ca.est.ca_cert", ca.est.ca_cert, 0, NULL),
	INT("ca.est.timeout", ca.est.timeout, 1, 3600, 30),

	GROUP("keys"),
	ENUM("keys.type", keys.type, "rsa:3072", keys_type_names),
	STR("keys.delivery_dir", keys.delivery_dir, 0, "/var/lib/smimepub/delivery"),
	STR("keys.delivery_command", keys.delivery_command, 0, NULL),
	LIST("keys.escrow_certs", keys.escrow_certs, keys.n_escrow_certs),
	INT("keys.pkcs12_iterations", keys.pkcs12_iterations, 10000, 10000000, 10000),
	BOOL("keys.discard_passphrase", keys.discard_passphrase, 0),
	INT("keys.delivery_timeout", keys.delivery_timeout, 1, 3600, 60),
	/* pre-generated keys kept encrypted in sync.state_dir; 0 = off */
	INT("keys.pool_size", keys.pool_size, 0, 100000, 0),
	/* issue 20: an encryption and a signing key pair per person */
	BOOL("keys.separate_signing", keys.separate_signing, 0),
	BOOL("keys.signing_non_repudiation", keys.signing_non_repudiation, 0),
	/* issue 20: earlier decryption keys in a renewal's PKCS#12 */
	INT("keys.deliver_history", keys.deliver_history, 0, KEYS_HISTORY_MAX, 0),

	GROUP("sync"),
	STR("sync.state_dir", sync.state_dir, 0, "/var/lib/smimepub/state"),
	INT("sync.interval", sync.interval, 5, 86400 * 7, 300),
	INT("sync.watch_interval", sync.watch_interval, 0, 3600, 5),
	INT("sync.renew_before_days", sync.renew_before_days, 1, 365, 30),
	ENUM("sync.on_leave", sync.on_leave, "revoke", on_leave),
	BOOL("sync.require_trigger", sync.require_trigger, 0),
	INT("sync.workers", sync.workers, 0, 64, 0),
	INT("sync.max_attempts", sync.max_attempts, 1, 1000, 10),
	INT("sync.leave_grace_days", sync.leave_grace_days, 0, 365, 0),
	ENUM("sync.watch", sync.watch, "auto", watch),
	/* one active instance per directory: a lease entry (sync/lease.c) */
	STR("sync.lease_dn", sync.lease_dn, 0, NULL),
	STR("sync.lease_attribute", sync.lease_attribute, 0, "description"),
	INT("sync.lease_ttl", sync.lease_ttl, 10, 3600, 60),
	STR("sync.lease_uri", sync.lease_uri, 0, NULL),
	STR("sync.max_leavers", sync.max_leavers, 0, NULL),
	STR("sync.metrics_listen", sync.metrics_listen, 0, NULL),

	GROUP("lookup"),
	STR("lookup.listen", lookup.listen, 0, "127.0.0.1:8080"),
	INT("lookup.cache_ttl", lookup.cache_ttl, 0, 86400, 300),
	INT("lookup.negative_ttl", lookup.negative_ttl, 0, 86400, 60),
	INT("lookup.cache_max", lookup.cache_max, 0, 10000000, 100000),
	INT("lookup.pool_size", lookup.pool_size, 1, 256, 4),
	INT("lookup.pool_depth", lookup.pool_depth, 1, 64, 8),
	INT("lookup.threads", lookup.threads, 1, 256, 4),
	INT("lookup.batch_max", lookup.batch_max, 1, 100000, 1000),
	INT("lookup.rate", lookup.rate, 0, 1000000, 50),
	INT("lookup.burst", lookup.burst, 1, 1000000, 100),
	INT("lookup.search_rate", lookup.search_rate, 0, 1000000, 5),
	INT("lookup.search_burst", lookup.search_burst, 1, 1000000, 10),
	INT("lookup.max_connections", lookup.max_connections, 1, 1000000, 1024),
	INT("lookup.max_connections_per_ip", lookup.max_connections_per_ip, 0, 1000000, 128),
	INT("lookup.batch_rate", lookup.batch_rate, 0, 10000000, 1000),
	INT("lookup.batch_burst", lookup.batch_burst, 1, 10000000, 5000),
	INT("lookup.timeout", lookup.timeout, 1, 3600, 10),
	INT("lookup.max_body", lookup.max_body, 1024, 67108864, 1048576),
	INT("lookup.max_header", lookup.max_header, 4096, 1048576, 16384),
	INT("lookup.drain_timeout", lookup.drain_timeout, 0, 600, 10),
	LIST("lookup.crl_files", lookup.crl_files, lookup.n_crl_files),
	STR("lookup.trust_anchors", lookup.trust_anchors, 0, NULL),
	STR("lookup.tls_cert", lookup.tls_cert, 0, NULL),
	STR("lookup.tls_key", lookup.tls_key, 0, NULL),
	STR("lookup.user", lookup.user, 0, NULL),
	STR("lookup.pid_file", lookup.pid_file, 0, "/run/smimepub-lookupd.pid"),
	STR("lookup.admin_socket", lookup.admin_socket, 0, NULL),
	STR("lookup.bind_dn", lookup.bind_dn, 0, NULL),
	STR("lookup.bind_password_file", lookup.bind_password_file, 0, NULL),
	BOOL("lookup.anonymous", lookup.anonymous, 0),
	BOOL("lookup.insecure_no_anchors", lookup.insecure_no_anchors, 0),
	STR("lookup.metrics_listen", lookup.metrics_listen, 0, NULL),
	ENUM("lookup.revocation", lookup.revocation, "files", revocation),
	ENUM("lookup.revocation_fail", lookup.revocation_fail, "soft",
	    revocation_fail),
	INT("lookup.revocation_timeout", lookup.revocation_timeout, 1, 60, 5),
	BOOL("lookup.ocsp_nonce", lookup.ocsp_nonce, 0),
	/* peers whose Forwarded / X-Forwarded-For is believed (lk_fwd.c) */
	LIST("lookup.trusted_proxies", lookup.trusted_proxies,
	    lookup.n_trusted_proxies),

	GROUP("dns"),
	{ "dns.zones", T_DNSZONES, O(dns.zones), 0, 0, 0, 0, NULL, 0, NULL },
	/* RFC 8162 §2 / RFC 6698 §2.1: 3 0 0 = DANE-EE, the whole
	 * certificate, exact, as export-smimea: a sender needs all of it */
	INT("dns.usage", dns.usage, 0, 3, 3),
	INT("dns.selector", dns.selector, 0, 1, 0),
	INT("dns.matching", dns.matching, 0, 2, 0),
	/* RFC 2181 §8: 0 .. 2^31 - 1 */
	INT("dns.ttl", dns.ttl, 0, 2147483647, 3600),
	INT("dns.timeout", dns.timeout, 1, 300, 10),
	INT("dns.retry_min", dns.retry_min, 1, 86400, 60),
	INT("dns.retry_max", dns.retry_max, 1, 604800, 3600),

	GROUP("log"),
	ENUM("log.level", log.level, "info", log_level_names),
	STR("log.audit_file", log.audit_file, 0, NULL),
	BOOL("log.syslog", log.syslog, 0),
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

