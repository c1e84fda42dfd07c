/*
 * cfg.c — load the libconfig file into struct cfg and validate it. The table
 * cfg_keys[] is the whole list of keys: anything not in it is an error, and
 * every error names the file, the line and the key.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "common/cfg.h"
#include "common/cfg_priv.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"

static const char *const cfg_typename[] = {
	"a group { ... }", "a string", "a boolean (true/false)", "an integer",
	"a list of strings [ \"...\" ]", "\"openldap\" or \"ad\"",
	"a list of groups ( { zone = ...; server = ...; tsig_key_file = "
	"...; } )",
};

static const struct cfg_key *
cfg_key_find(const char *path)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return &cfg_keys[i];
	return NULL;
}

static const char *
cfg_file(const config_setting_t *s, const char *path)
{
	const char *f = config_setting_source_file(s);

	return f != NULL ? f : path;
}

/* Report err at setting s, naming file, line and the dotted key. */
#define SERR(s, path, key, fmt, ...)					\
	log_err("%s:%u: %s: " fmt, cfg_file(s, path),			\
	    config_setting_source_line(s), key, __VA_ARGS__)

static int
cfg_set_one(struct cfg *c, const struct cfg_key *k, config_setting_t *s,
    const char *file)
{
	char *base = (char *)c;
	const char *str;
	int i, n;

	switch (k->type) {
	case T_GROUP:
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			goto badtype;
		return 0;
	case T_STR:
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			goto badtype;
		str = config_setting_get_string(s);
		if (*str == '\0') {
			SERR(s, file, k->path, "%s", "must not be empty");
			return -1;
		}
		free(*(char **)(base + k->off));
		if ((*(char **)(base + k->off) = strdup(str)) == NULL)
			return -1;
		return 0;
	case T_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			goto badtype;
		*(int *)(base + k->off) = config_setting_get_bool(s);
		return 0;
	case T_INT:
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64)
			goto badtype;
		{
			long long v = config_setting_get_int64(s);

			if (v < k->min || v > k->max) {
				SERR(s, file, k->path, "%lld is out of range "
				    "(%ld..%ld)", v, k->min, k->max);
				return -1;
			}
			*(int *)(base + k->off) = (int)v;
		}
		return 0;
	case T_FLAVOUR:
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			goto badtype;
		str = config_setting_get_string(s);
		if (strcmp(str, "openldap") == 0)
			*(enum cfg_flavour *)(base + k->off) =
			    CFG_FLAVOUR_OPENLDAP;
		else if (strcmp(str, "ad") == 0)
			*(enum cfg_flavour *)(base + k->off) = CFG_FLAVOUR_AD;
		else if (strcmp(str, "389ds") == 0)
			*(enum cfg_flavour *)(base + k->off) =
			    CFG_FLAVOUR_389DS;
		else {
			SERR(s, file, k->path, "\"%s\" is not \"openldap\", "
			    "\"ad\" or \"389ds\"", str);
			return -1;
		}
		return 0;
	case T_DNSZONES:
		if (config_setting_type(s) != CONFIG_TYPE_LIST)
			goto badtype;
		return cfg_dns_zones_set(c, s, file);
	case T_STRLIST:
		if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
		    config_setting_type(s) != CONFIG_TYPE_LIST)
			goto badtype;
		n = config_setting_length(s);
		{
			char **v = calloc((size_t)n + 1, sizeof(*v));

			if (v == NULL)
				return -1;
			*(char ***)(base + k->off) = v;
			*(size_t *)(base + k->countoff) = 0;
			for (i = 0; i < n; i++) {
				config_setting_t *e = config_setting_get_elem(s,
				    (unsigned)i);

				if (config_setting_type(e) != CONFIG_TYPE_STRING) {
					SERR(e, file, k->path, "element %d must be "
					    "a string", i + 1);
					return -1;
				}
				if ((v[i] = strdup(config_setting_get_string(e)))
				    == NULL)
					return -1;
				*(size_t *)(base + k->countoff) = (size_t)i + 1;
			}
		}
		return 0;
	}
badtype:
	SERR(s, file, k->path, "must be %s", cfg_typename[k->type]);
	return -1;
}

/* Walk group g (dotted name prefix) and set every key; unknown = error. */
static int
cfg_walk(struct cfg *c, config_setting_t *g, const char *prefix,
    const char *file)
{
	char path[256];
	const struct cfg_key *k;
	config_setting_t *s;
	int i, n, rc = 0;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", config_setting_name(s));
		if ((k = cfg_key_find(path)) == NULL) {
			SERR(s, file, path, "%s", "unknown key");
			rc = -1;
			continue;
		}
		if (cfg_set_one(c, k, s, file) == -1) {
			rc = -1;
			continue;
		}
		if (k->type == T_GROUP && cfg_walk(c, s, path, file) == -1)
			rc = -1;
	}
	return rc;
}

static int
cfg_defaults(struct cfg *c)
{
	char *base = (char *)c;
	const struct cfg_key *k;
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		if (k->type == T_STR && k->def != NULL) {
			if ((*(char **)(base + k->off) = strdup(k->def)) == NULL)
				return -1;
		} else if (k->type == T_INT || k->type == T_BOOL)
			*(int *)(base + k->off) = (int)k->idef;
	}
	return 0;
}

/* Checks across keys and on values beyond their type. */
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

static int
cfg_check(struct cfg *c, config_t *lc, const char *file)
{
	static const char *const on_leave[] = { "revoke", "unpublish", "keep" };
	const struct cfg_key *k;
	config_setting_t *s;
	const char *why;
	size_t i;
	int rc = 0, ok;

#define KEYERR(key, fmt, ...) do {					\
	s = config_lookup(lc, key);					\
	if (s != NULL)							\
		SERR(s, file, key, fmt, __VA_ARGS__);			\
	else								\
		log_err("%s: %s: " fmt, file, key, __VA_ARGS__);	\
	rc = -1;							\
} while (0)

	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		if (k->required && *(char **)((char *)c + k->off) == NULL) {
			log_err("%s: %s: required key is missing", file,
			    k->path);
			rc = -1;
		}
	}
	if (c->directory.uri != NULL &&
	    strncmp(c->directory.uri, "ldap://", 7) != 0 &&
	    strncmp(c->directory.uri, "ldaps://", 8) != 0 &&
	    strncmp(c->directory.uri, "ldapi://", 8) != 0)
		KEYERR("directory.uri", "\"%s\" is not an ldap://, ldaps:// "
		    "or ldapi:// URI", c->directory.uri);
	if (c->directory.starttls && c->directory.uri != NULL &&
	    strncmp(c->directory.uri, "ldap://", 7) != 0)
		KEYERR("directory.starttls", "%s", "StartTLS needs an ldap:// "
		    "URI");
	if (c->directory.bind_dn != NULL &&
	    c->directory.bind_password_file == NULL &&
	    c->directory.sasl_mech == NULL)
		KEYERR("directory.bind_dn", "%s", "needs "
		    "directory.bind_password_file (secrets come from files)");
	if (c->directory.sasl_mech != NULL &&
	    strcmp(c->directory.sasl_mech, "EXTERNAL") != 0 &&
	    strcmp(c->directory.sasl_mech, "GSSAPI") != 0)
		KEYERR("directory.sasl_mech", "\"%s\" is not supported "
		    "(EXTERNAL, GSSAPI)", c->directory.sasl_mech);
	/* GSSAPI: a keytab, or the ticket cache of the environment */
	if (c->directory.sasl_mech != NULL &&
	    strcmp(c->directory.sasl_mech, "GSSAPI") == 0 &&
	    c->directory.bind_password_file != NULL)
		KEYERR("directory.bind_password_file", "%s", "is not used with "
		    "sasl_mech \"GSSAPI\" (the key is in directory.keytab)");
	if (c->directory.sasl_mech != NULL &&
	    strcmp(c->directory.sasl_mech, "GSSAPI") == 0 &&
	    c->directory.keytab == NULL && getenv("KRB5CCNAME") == NULL)
		KEYERR("directory.sasl_mech", "%s", "\"GSSAPI\" needs "
		    "directory.keytab, or a ticket cache in KRB5CCNAME");
	if (c->directory.keytab != NULL && (c->directory.sasl_mech == NULL ||
	    strcmp(c->directory.sasl_mech, "GSSAPI") != 0))
		KEYERR("directory.keytab", "%s", "is only used with sasl_mech "
		    "\"GSSAPI\"");
	if ((c->directory.tls_cert_file == NULL) !=
	    (c->directory.tls_key_file == NULL))
		KEYERR(c->directory.tls_cert_file ? "directory.tls_cert_file" :
		    "directory.tls_key_file", "%s", "tls_cert_file and "
		    "tls_key_file go together");
	if (c->directory.filter != NULL && c->directory.filter[0] != '(')
		KEYERR("directory.filter", "\"%s\" is not an LDAP filter in "
		    "parentheses (RFC 4515)", c->directory.filter);
	for (ok = 0, i = 0; i < 3; i++)
		if (strcmp(c->sync.on_leave, on_leave[i]) == 0)
			ok = 1;
	if (!ok)
		KEYERR("sync.on_leave", "\"%s\" is not revoke, unpublish or "
		    "keep", c->sync.on_leave);
	if (strcmp(c->sync.watch, "auto") != 0 &&
	    strcmp(c->sync.watch, "syncrepl") != 0 &&
	    strcmp(c->sync.watch, "poll") != 0 &&
	    strcmp(c->sync.watch, "dirsync") != 0)
		KEYERR("sync.watch", "\"%s\" is not auto, syncrepl, poll or "
		    "dirsync", c->sync.watch);
	if (strcmp(c->lookup.revocation, "files") != 0 &&
	    strcmp(c->lookup.revocation, "crl") != 0 &&
	    strcmp(c->lookup.revocation, "ocsp") != 0 &&
	    strcmp(c->lookup.revocation, "both") != 0)
		KEYERR("lookup.revocation", "\"%s\" is not files, crl, ocsp or "
		    "both", c->lookup.revocation);
	if (strcmp(c->lookup.revocation_fail, "soft") != 0 &&
	    strcmp(c->lookup.revocation_fail, "hard") != 0)
		KEYERR("lookup.revocation_fail", "\"%s\" is not soft or hard",
		    c->lookup.revocation_fail);
	if (c->sync.lease_dn != NULL && strchr(c->sync.lease_dn, '=') == NULL)
		KEYERR("sync.lease_dn", "\"%s\" is not a DN (RFC 4514)",
		    c->sync.lease_dn);
	/* one server: the lease is swapped on one server only (DESIGN.md
	 * "Scaling out"); a list would let libldap pick another */
	if (c->sync.lease_uri != NULL &&
	    ((strncmp(c->sync.lease_uri, "ldap://", 7) != 0 &&
	    strncmp(c->sync.lease_uri, "ldaps://", 8) != 0 &&
	    strncmp(c->sync.lease_uri, "ldapi://", 8) != 0) ||
	    strcspn(c->sync.lease_uri, " \t,") != strlen(c->sync.lease_uri)))
		KEYERR("sync.lease_uri", "\"%s\" is not one ldap://, ldaps:// "
		    "or ldapi:// URI (one server: the lease authority)",
		    c->sync.lease_uri);
	else if (c->sync.lease_uri != NULL && c->directory.starttls &&
	    strncmp(c->sync.lease_uri, "ldap://", 7) != 0)
		KEYERR("sync.lease_uri", "%s", "directory.starttls is on: "
		    "StartTLS needs an ldap:// URI");
	if (c->sync.lease_uri != NULL && c->sync.lease_dn == NULL)
		KEYERR("sync.lease_uri", "%s", "is only used with "
		    "sync.lease_dn");
	if (!cfg_attr_name_ok(c->sync.lease_attribute))
		KEYERR("sync.lease_attribute", "\"%s\" is not an attribute "
		    "name (RFC 4512 §1.4: a letter, then letters, digits, "
		    "hyphens)", c->sync.lease_attribute);
	if (c->sync.metrics_listen != NULL &&
	    !cfg_hostport_ok(c->sync.metrics_listen))
		KEYERR("sync.metrics_listen", "\"%s\" is not host:port or "
		    "[v6]:port", c->sync.metrics_listen);
	if (c->lookup.batch_rate > 0 &&
	    c->lookup.batch_burst < c->lookup.batch_max)
		KEYERR("lookup.batch_burst", "%d is below lookup.batch_max (%d): "
		    "a full batch could never pass", c->lookup.batch_burst,
		    c->lookup.batch_max);
	if (log_level_parse(c->log.level) == -1)
		KEYERR("log.level", "\"%s\" is not err, warn, info or debug",
		    c->log.level);
	if (strcmp(c->ca.driver, "local") != 0 &&
	    strcmp(c->ca.driver, "cmp") != 0 &&
	    strcmp(c->ca.driver, "est") != 0 &&
	    strcmp(c->ca.driver, "cfssl") != 0 &&
	    strcmp(c->ca.driver, "exec") != 0)
		KEYERR("ca.driver", "\"%s\" is not local, cmp, est, cfssl or "
		    "exec", c->ca.driver);
	for (i = 0; i < c->ca.n_allowed_ekus; i++)
		if (x509_profile_eku_ok(c->ca.allowed_ekus[i], &why) == -1)
			KEYERR("ca.allowed_ekus", "\"%s\" %s",
			    c->ca.allowed_ekus[i], why);
	if (c->sync.require_trigger && c->directory.trigger_attribute == NULL)
		KEYERR("sync.require_trigger", "%s", "needs "
		    "directory.trigger_attribute");
	if (strcmp(c->ca.exec.protocol, "smimepub") != 0 &&
	    strcmp(c->ca.exec.protocol, "certmonger") != 0)
		KEYERR("ca.exec.protocol", "\"%s\" is not smimepub or "
		    "certmonger", c->ca.exec.protocol);
	if (strcmp(c->ca.driver, "exec") == 0 && c->ca.exec.command == NULL)
		KEYERR("ca.driver", "%s", "\"exec\" needs ca.exec.command");
	if (strcmp(c->ca.driver, "cfssl") == 0 && c->ca.cfssl.url == NULL)
		KEYERR("ca.driver", "%s", "\"cfssl\" needs ca.cfssl.url");
	if (strcmp(c->ca.driver, "cmp") == 0 && c->ca.cmp.url == NULL)
		KEYERR("ca.driver", "%s", "\"cmp\" needs ca.cmp.url");
	if (strcmp(c->ca.driver, "est") == 0 && c->ca.est.url == NULL)
		KEYERR("ca.driver", "%s", "\"est\" needs ca.est.url");
	if (!keys_type_valid(c->keys.type))
		KEYERR("keys.type", "\"%s\" is not rsa:2048, rsa:3072, "
		    "rsa:4096, ec:P-256 or ec:P-384", c->keys.type);
	if (!keys_type_valid(c->ca.local.key_type))
		KEYERR("ca.local.key_type", "\"%s\" is not rsa:2048, rsa:3072, "
		    "rsa:4096, ec:P-256 or ec:P-384", c->ca.local.key_type);
	if (c->lookup.negative_ttl > c->lookup.cache_ttl &&
	    c->lookup.cache_ttl > 0)
		KEYERR("lookup.negative_ttl", "%d is longer than "
		    "lookup.cache_ttl (%d)", c->lookup.negative_ttl,
		    c->lookup.cache_ttl);
	if ((c->lookup.tls_cert == NULL) != (c->lookup.tls_key == NULL))
		KEYERR(c->lookup.tls_cert ? "lookup.tls_cert" :
		    "lookup.tls_key", "%s", "tls_cert and tls_key go together");
	if (c->lookup.bind_dn != NULL && c->lookup.bind_password_file == NULL)
		KEYERR("lookup.bind_dn", "%s", "needs "
		    "lookup.bind_password_file (secrets come from files)");
	/*
	 * A simple bind sends the password as it is (RFC 4513 §5.1.1): over
	 * plain ldap:// without StartTLS only to this machine, unless the
	 * operator says otherwise. Checked here, before anything connects.
	 */
	if (!c->directory.allow_plaintext_bind && !c->directory.starttls &&
	    ((c->directory.bind_dn != NULL && c->directory.sasl_mech == NULL) ||
	    (c->lookup.bind_dn != NULL && !c->lookup.anonymous))) {
		char u[256];

		if (cfg_plaintext_remote(c->directory.uri, u, sizeof(u)) ||
		    (c->sync.lease_uri != NULL &&
		    cfg_plaintext_remote(c->sync.lease_uri, u, sizeof(u))))
			KEYERR("directory.uri", "%s: a simple bind would send "
			    "the password in clear to a host that is not "
			    "loopback; use ldaps://, directory.starttls = true, "
			    "ldapi://, or set directory.allow_plaintext_bind = "
			    "true", u);
	}
	if (cfg_max_leavers(c->sync.max_leavers, 0) == -1)
		KEYERR("sync.max_leavers", "\"%s\" is not a count (\"25\") or "
		    "a percentage of the people seen (\"2%%\")",
		    c->sync.max_leavers);
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
	for (i = 0; i < 4; i++) {
		static const char *const paths[] = { "ca.local.dir",
		    "keys.delivery_dir", "sync.state_dir", "log.audit_file" };
		static const size_t offs[] = { O(ca.local.dir),
		    O(keys.delivery_dir), O(sync.state_dir), O(log.audit_file) };
		const char *v = *(char **)((char *)c + offs[i]);

		if (v != NULL && v[0] != '/')
			KEYERR(paths[i], "\"%s\" must be an absolute path", v);
	}
#undef KEYERR
	return rc;
}

struct cfg *
cfg_load(const char *path)
{
	config_t lc;
	struct cfg *c = NULL;
	int ok = 0;

	config_init(&lc);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL || cfg_defaults(c) == -1) {
		log_err("%s: out of memory", path);
		goto out;
	}
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			log_err("%s: cannot read: %s", path, strerror(errno));
		else
			log_err("%s:%d: %s", config_error_file(&lc) ?
			    config_error_file(&lc) : path,
			    config_error_line(&lc), config_error_text(&lc));
		goto out;
	}
	if (cfg_walk(c, config_root_setting(&lc), "", path) == -1)
		goto out;
	if (c->directory.filter == NULL) {
		/* Default per flavour; see ldap/flavour.c for the AD one. */
		c->directory.filter = strdup(c->directory.flavour ==
		    CFG_FLAVOUR_AD ? "(&(objectCategory=person)"
		    "(objectClass=user)(mail=*)"
		    "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))" :
		    "(&(objectClass=inetOrgPerson)(mail=*))");
		if (c->directory.filter == NULL)
			goto out;
	}
	if (cfg_check(c, &lc, path) == -1)
		goto out;
	ok = 1;
out:
	config_destroy(&lc);
	if (!ok) {
		cfg_free(c);
		c = NULL;
	}
	return c;
}

void
cfg_free(struct cfg *c)
{
	char *base = (char *)c;
	const struct cfg_key *k;
	size_t i;
	char **v;

	if (c == NULL)
		return;
	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		if (k->type == T_STR)
			free(*(char **)(base + k->off));
		else if (k->type == T_STRLIST &&
		    (v = *(char ***)(base + k->off)) != NULL) {
			for (; *v != NULL; v++)
				free(*v);
			free(*(char ***)(base + k->off));
		}
	}
	cfg_dns_zones_free(c);
	free(c->path);
	free(c);
}

