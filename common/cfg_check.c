/*
 * cfg_check.c — the checks of a loaded configuration that its table cannot
 * express: across keys (StartTLS needs ldap://, a bind DN needs its
 * password file, ...) and on values beyond their type (URIs, DNs, attribute
 * names, listen addresses, absolute paths). A key's type, range and allowed
 * values are checked by the loader from the table (cfg_keys.c); ca.driver
 * and what each driver needs by ca_cfg_check() (ca/ca.c owns the drivers).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cfg.h"
#include "common/cfg_priv.h"
#include "common/net.h"
#include "common/x509.h"

/* Report a bad key and fail the check (rc is the checking function's). */
#define KEYERR(...)	(cfg_key_err(c, __VA_ARGS__), rc = -1)

/* An attribute's short name (RFC 4512 §1.4 descr): the lease's value goes
 * in it, named in a filter and a modify, so nothing else gets through. */
static int
cfg_attr_name_ok(const char *a)
{
	size_t i;

	if (a == NULL || !((a[0] >= 'A' && a[0] <= 'Z') ||
	    (a[0] >= 'a' && a[0] <= 'z')))
		return 0;
	for (i = 1; a[i] != '\0'; i++)
		if (!((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' &&
		    a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
			return 0;
	return i <= 64;
}

/*
 * Is the host of this ldap:// URI (RFC 4516 §2: host[:port], an IPv6
 * literal in brackets) loopback? An empty host is libldap's default,
 * localhost. Nothing is resolved: any other name counts as remote.
 */
static int
cfg_uri_loopback(const char *uri, size_t len)
{
	char host[256];
	const char *h = uri + 7, *end = uri + len, *e;
	unsigned char a[16];

	if (h < end && *h == '[') {
		if ((e = memchr(h, ']', (size_t)(end - h))) == NULL)
			return 0;
		h++;
	} else {
		for (e = h; e < end && *e != ':' && *e != '/'; e++)
			;
	}
	if ((size_t)(e - h) >= sizeof(host))
		return 0;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	if (host[0] == '\0' || strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;			/* RFC 1122 §3.2.1.3 */
	if (inet_pton(AF_INET6, host, a) == 1)		/* ::1, RFC 4291 §2.5.3 */
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0 ||
		    (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\377\377", 12) == 0 &&
		    a[12] == 127);
	return 0;
}

/*
 * The first URI of list (libldap takes several, separated by spaces or
 * commas) that is plain ldap:// to a host that is not loopback, copied into
 * buf; 0 when there is none.
 */
static int
cfg_plaintext_remote(const char *list, char *buf, size_t sz)
{
	const char *p = list;
	size_t n;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		if (n > 7 && strncasecmp(p, "ldap://", 7) == 0 &&
		    !cfg_uri_loopback(p, n)) {
			snprintf(buf, sz, "%.*s", (int)n, p);
			return 1;
		}
		p += n;
	}
	return 0;
}

long
cfg_max_leavers(const char *spec, size_t seen)
{
	long v = 0;
	size_t i;

	if (spec == NULL) {
		v = (long)(seen * 2 / 100);
		return v > 10 ? v : 10;
	}
	for (i = 0; spec[i] >= '0' && spec[i] <= '9'; i++) {
		if (i >= 9)
			return -1;	/* a billion leavers is no limit */
		v = v * 10 + (spec[i] - '0');
	}
	if (i == 0)
		return -1;
	if (spec[i] == '\0')
		return v;
	if (spec[i] != '%' || spec[i + 1] != '\0' || v > 100)
		return -1;
	return (long)(seen * (size_t)v / 100);
}

/* "host:port" or "[v6]:port", the port 1-65535 (a listen address). */
int
cfg_hostport_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (colon == NULL || colon == v || colon[1] == '\0' ||
	    (v[0] == '[' && colon[-1] != ']') ||
	    (v[0] != '[' && memchr(v, ':', (size_t)(colon - v)) != NULL))
		return 0;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && colon[1] != '-' && colon[1] != '+' &&
	    port >= 1 && port <= 65535;
}

/* Is uri one of the LDAP schemes (RFC 4516 ldap://, ldaps://, ldapi://)? */
static int
cfg_ldap_uri(const char *uri)
{
	return strncmp(uri, "ldap://", 7) == 0 ||
	    strncmp(uri, "ldaps://", 8) == 0 || strncmp(uri, "ldapi://", 8) == 0;
}

static int
cfg_check_required(const struct cfg *c)
{
	const struct cfg_key *k;
	size_t i;
	int rc = 0;

	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		if (k->required && *(char *const *)((const char *)c + k->off) ==
		    NULL)
			KEYERR(k->path, "%s", "required key is missing");
	}
	return rc;
}

/* directory.*: the URI, TLS and the way it binds. */
static int
cfg_check_directory(const struct cfg *c)
{
	const struct cfg_directory *d = &c->directory;
	size_t i;
	int rc = 0, gssapi;

	if (d->uri != NULL && !cfg_ldap_uri(d->uri))
		KEYERR("directory.uri", "\"%s\" is not an ldap://, ldaps:// "
		    "or ldapi:// URI", d->uri);
	if (d->starttls && d->uri != NULL && strncmp(d->uri, "ldap://", 7) != 0)
		KEYERR("directory.starttls", "%s", "StartTLS needs an ldap:// "
		    "URI");
	if (d->bind_dn != NULL && d->bind_password_file == NULL &&
	    d->sasl_mech == NULL)
		KEYERR("directory.bind_dn", "%s", "needs "
		    "directory.bind_password_file (secrets come from files)");
	/* GSSAPI: a keytab, or the ticket cache of the environment */
	gssapi = d->sasl_mech != NULL && strcmp(d->sasl_mech, "GSSAPI") == 0;
	if (gssapi && d->bind_password_file != NULL)
		KEYERR("directory.bind_password_file", "%s", "is not used with "
		    "sasl_mech \"GSSAPI\" (the key is in directory.keytab)");
	if (gssapi && d->keytab == NULL && getenv("KRB5CCNAME") == NULL)
		KEYERR("directory.sasl_mech", "%s", "\"GSSAPI\" needs "
		    "directory.keytab, or a ticket cache in KRB5CCNAME");
	if (d->keytab != NULL && !gssapi)
		KEYERR("directory.keytab", "%s", "is only used with sasl_mech "
		    "\"GSSAPI\"");
	if ((d->tls_cert_file == NULL) != (d->tls_key_file == NULL))
		KEYERR(d->tls_cert_file ? "directory.tls_cert_file" :
		    "directory.tls_key_file", "%s", "tls_cert_file and "
		    "tls_key_file go together");
	if (d->filter != NULL && d->filter[0] != '(')
		KEYERR("directory.filter", "\"%s\" is not an LDAP filter in "
		    "parentheses (RFC 4515)", d->filter);
	/* named in every search and in lookupd's filter */
	for (i = 0; i < d->n_alias_attributes; i++)
		if (!cfg_attr_name_ok(d->alias_attributes[i]))
			KEYERR("directory.alias_attributes", "\"%s\" is not an "
			    "attribute name (RFC 4512 §1.4: a letter, then "
			    "letters, digits, hyphens)", d->alias_attributes[i]);
	if (d->n_alias_attributes > CFG_ALIAS_ATTRS_MAX)
		KEYERR("directory.alias_attributes", "%zu attributes: at most "
		    "%d", d->n_alias_attributes, CFG_ALIAS_ATTRS_MAX);
	return rc;
}

/* sync.*: the lease, the metrics listener, the leaver limit. */
static int
cfg_check_sync(const struct cfg *c)
{
	const struct cfg_sync *y = &c->sync;
	int rc = 0;

	if (y->lease_dn != NULL && strchr(y->lease_dn, '=') == NULL)
		KEYERR("sync.lease_dn", "\"%s\" is not a DN (RFC 4514)",
		    y->lease_dn);
	/* one server: the lease is swapped on one server only (DESIGN.md
	 * "Scaling out"); a list would let libldap pick another */
	if (y->lease_uri != NULL && (!cfg_ldap_uri(y->lease_uri) ||
	    strcspn(y->lease_uri, " \t,") != strlen(y->lease_uri)))
		KEYERR("sync.lease_uri", "\"%s\" is not one ldap://, ldaps:// "
		    "or ldapi:// URI (one server: the lease authority)",
		    y->lease_uri);
	else if (y->lease_uri != NULL && c->directory.starttls &&
	    strncmp(y->lease_uri, "ldap://", 7) != 0)
		KEYERR("sync.lease_uri", "%s", "directory.starttls is on: "
		    "StartTLS needs an ldap:// URI");
	if (y->lease_uri != NULL && y->lease_dn == NULL)
		KEYERR("sync.lease_uri", "%s", "is only used with "
		    "sync.lease_dn");
	if (!cfg_attr_name_ok(y->lease_attribute))
		KEYERR("sync.lease_attribute", "\"%s\" is not an attribute "
		    "name (RFC 4512 §1.4: a letter, then letters, digits, "
		    "hyphens)", y->lease_attribute);
	if (y->metrics_listen != NULL && !cfg_hostport_ok(y->metrics_listen))
		KEYERR("sync.metrics_listen", "\"%s\" is not host:port or "
		    "[v6]:port", y->metrics_listen);
	if (y->require_trigger && c->directory.trigger_attribute == NULL)
		KEYERR("sync.require_trigger", "%s", "needs "
		    "directory.trigger_attribute");
	if (cfg_max_leavers(y->max_leavers, 0) == -1)
		KEYERR("sync.max_leavers", "\"%s\" is not a count (\"25\") or "
		    "a percentage of the people seen (\"2%%\")",
		    y->max_leavers);
	return rc;
}

/* lookup.*: limits that contradict each other, TLS, its own bind. */
static int
cfg_check_lookup(const struct cfg *c)
{
	const struct cfg_lookup *l = &c->lookup;
	struct net_cidr cidr;
	const char *why;
	size_t i;
	int rc = 0;

	if (l->batch_rate > 0 && l->batch_burst < l->batch_max)
		KEYERR("lookup.batch_burst", "%d is below lookup.batch_max (%d): "
		    "a full batch could never pass", l->batch_burst,
		    l->batch_max);
	if (l->negative_ttl > l->cache_ttl && l->cache_ttl > 0)
		KEYERR("lookup.negative_ttl", "%d is longer than "
		    "lookup.cache_ttl (%d)", l->negative_ttl, l->cache_ttl);
	if ((l->tls_cert == NULL) != (l->tls_key == NULL))
		KEYERR(l->tls_cert ? "lookup.tls_cert" : "lookup.tls_key", "%s",
		    "tls_cert and tls_key go together");
	if (l->bind_dn != NULL && l->bind_password_file == NULL)
		KEYERR("lookup.bind_dn", "%s", "needs "
		    "lookup.bind_password_file (secrets come from files)");
	for (i = 0; i < l->n_trusted_proxies; i++)
		if (strcmp(l->trusted_proxies[i], "unix") != 0 &&
		    net_cidr_parse(l->trusted_proxies[i], &cidr, &why) == -1)
			KEYERR("lookup.trusted_proxies", "\"%s\": %s",
			    l->trusted_proxies[i], why);
	return rc;
}

/*
 * A simple bind sends the password as it is (RFC 4513 §5.1.1): over plain
 * ldap:// without StartTLS only to this machine, unless the operator says
 * otherwise. Checked here, before anything connects.
 */
static int
cfg_check_plaintext(const struct cfg *c)
{
	char u[256];
	int rc = 0;

	if (c->directory.allow_plaintext_bind || c->directory.starttls ||
	    !((c->directory.bind_dn != NULL && c->directory.sasl_mech == NULL) ||
	    (c->lookup.bind_dn != NULL && !c->lookup.anonymous)))
		return 0;
	if (cfg_plaintext_remote(c->directory.uri, u, sizeof(u)) ||
	    (c->sync.lease_uri != NULL &&
	    cfg_plaintext_remote(c->sync.lease_uri, u, sizeof(u))))
		KEYERR("directory.uri", "%s: a simple bind would send the "
		    "password in clear to a host that is not loopback; use "
		    "ldaps://, directory.starttls = true, ldapi://, or set "
		    "directory.allow_plaintext_bind = true", u);
	return rc;
}

/* keys.*, ca.allowed_ekus and the paths that must be absolute. */
static int
cfg_check_keys(const struct cfg *c)
{
	static const char *const paths[] = { "ca.local.dir",
	    "keys.delivery_dir", "sync.state_dir", "log.audit_file" };
	const char *v, *why;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->ca.n_allowed_ekus; i++)
		if (x509_profile_eku_ok(c->ca.allowed_ekus[i], &why) == -1)
			KEYERR("ca.allowed_ekus", "\"%s\" %s",
			    c->ca.allowed_ekus[i], why);
	/*
	 * No key is lost (DESIGN.md, Keys): the PKCS#12 passphrase goes to
	 * the delivery command, the key to escrow; with neither, it would be
	 * thrown away and nobody could ever open the key.
	 */
	if (c->keys.delivery_command == NULL && c->keys.n_escrow_certs == 0 &&
	    !c->keys.discard_passphrase)
		KEYERR("keys.delivery_command", "%s", "neither "
		    "keys.delivery_command nor keys.escrow_certs is set: every "
		    "PKCS#12 passphrase would be discarded and the private keys "
		    "lost; set one of them, or keys.discard_passphrase = true "
		    "to accept that");
	if (c->keys.signing_non_repudiation && !c->keys.separate_signing)
		KEYERR("keys.signing_non_repudiation", "%s", "needs "
		    "keys.separate_signing = true (nonRepudiation goes on the "
		    "signing certificate only)");
	/* cfssl signs by its profile, whatever the CSR asks for */
	if (c->keys.separate_signing && c->ca.driver != NULL &&
	    strcmp(c->ca.driver, "cfssl") == 0 &&
	    c->ca.cfssl.signing_profile == NULL)
		KEYERR("keys.separate_signing", "%s", "ca.driver = \"cfssl\" "
		    "issues by its profile, not by the key usage the request "
		    "asks for: set ca.cfssl.signing_profile to a profile with "
		    "the \"digital signature\" usage only (and ca.cfssl.profile "
		    "to one with \"key encipherment\" only)");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if ((v = cfg_str(c, paths[i])) != NULL && v[0] != '/')
			KEYERR(paths[i], "\"%s\" must be an absolute path", v);
	return rc;
}

int
cfg_check(const struct cfg *c)
{
	int rc = 0;

	rc |= cfg_check_required(c);
	rc |= cfg_check_directory(c);
	rc |= cfg_check_sync(c);
	rc |= cfg_check_lookup(c);
	rc |= cfg_check_plaintext(c);
	rc |= cfg_check_keys(c);
	return rc != 0 ? -1 : 0;
}
