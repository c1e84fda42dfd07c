/*
 * cfg.c — load the libconfig file into struct cfg and validate it. The table
 * cfg_keys[] is the whole list of keys: anything not in it is an error, and
 * every error names the file, the line and the key.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "common/cfg.h"
#include "common/keys.h"
#include "common/log.h"

enum cfg_type { T_GROUP, T_STR, T_BOOL, T_INT, T_STRLIST, T_FLAVOUR };

struct cfg_key {
	const char	*path;		/* dotted */
	enum cfg_type	 type;
	size_t		 off;		/* into struct cfg; count for lists */
	size_t		 countoff;
	int		 required;
	long		 min, max;	/* T_INT range */
	const char	*def;		/* default (T_STR), or NULL */
	long		 idef;		/* default (T_INT, T_BOOL) */
};

#define O(f)		offsetof(struct cfg, f)
#define GROUP(p)	{ p, T_GROUP, 0, 0, 0, 0, 0, NULL, 0 }
#define STR(p, f, req, d) { p, T_STR, O(f), 0, req, 0, 0, d, 0 }
#define BOOL(p, f, d)	{ p, T_BOOL, O(f), 0, 0, 0, 1, NULL, d }
#define INT(p, f, lo, hi, d) { p, T_INT, O(f), 0, 0, lo, hi, NULL, d }
#define LIST(p, f, n)	{ p, T_STRLIST, O(f), O(n), 0, 0, 0, NULL, 0 }

static const struct cfg_key cfg_keys[] = {
	GROUP("directory"),
	STR("directory.uri", directory.uri, 1, NULL),
	BOOL("directory.starttls", directory.starttls, 0),
	STR("directory.tls_ca_file", directory.tls_ca_file, 0, NULL),
	STR("directory.tls_cert_file", directory.tls_cert_file, 0, NULL),
	STR("directory.tls_key_file", directory.tls_key_file, 0, NULL),
	STR("directory.bind_dn", directory.bind_dn, 0, NULL),
	STR("directory.bind_password_file", directory.bind_password_file, 0, NULL),
	STR("directory.sasl_mech", directory.sasl_mech, 0, NULL),
	STR("directory.base", directory.base, 1, NULL),
	STR("directory.filter", directory.filter, 0, NULL),
	STR("directory.mail_attribute", directory.mail_attribute, 0, "mail"),
	STR("directory.trigger_attribute", directory.trigger_attribute, 0, NULL),
	STR("directory.status_attribute", directory.status_attribute, 0, NULL),
	{ "directory.flavour", T_FLAVOUR, O(directory.flavour), 0, 0, 0, 0, NULL, 0 },
	INT("directory.timeout", directory.timeout, 1, 3600, 10),
	/* RFC 2696 page size; AD's MaxPageSize is 1000 */
	INT("directory.page_size", directory.page_size, 1, 1000, 500),

	GROUP("ca"),
	STR("ca.driver", ca.driver, 0, "local"),
	GROUP("ca.local"),
	STR("ca.local.dir", ca.local.dir, 0, "/var/lib/smimepub/ca"),
	/* CA/B Forum S/MIME BR §6.3.2: at most 825 days */
	INT("ca.local.validity_days", ca.local.validity_days, 1, 825, 365),
	STR("ca.local.key_type", ca.local.key_type, 0, "rsa:3072"),
	STR("ca.local.subject_cn", ca.local.subject_cn, 0, "smimepub local CA"),
	INT("ca.local.ca_validity_days", ca.local.ca_validity_days, 1, 36500, 3650),
	STR("ca.local.crl_url", ca.local.crl_url, 0, NULL),
	STR("ca.local.aia_url", ca.local.aia_url, 0, NULL),
	LIST("ca.local.policies", ca.local.policies, ca.local.n_policies),
	BOOL("ca.local.subject_email", ca.local.subject_email, 0),
	INT("ca.local.crl_days", ca.local.crl_days, 1, 3650, 7),
	GROUP("ca.exec"),
	STR("ca.exec.command", ca.exec.command, 0, NULL),
	INT("ca.exec.timeout", ca.exec.timeout, 1, 3600, 60),
	STR("ca.exec.ca_cert", ca.exec.ca_cert, 0, NULL),
	GROUP("ca.cfssl"),
	STR("ca.cfssl.url", ca.cfssl.url, 0, NULL),
	STR("ca.cfssl.profile", ca.cfssl.profile, 0, NULL),
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
	STR("keys.type", keys.type, 0, "rsa:3072"),
	STR("keys.delivery_dir", keys.delivery_dir, 0, "/var/lib/smimepub/delivery"),
	STR("keys.delivery_command", keys.delivery_command, 0, NULL),
	LIST("keys.escrow_certs", keys.escrow_certs, keys.n_escrow_certs),
	INT("keys.pkcs12_iterations", keys.pkcs12_iterations, 10000, 10000000, 100000),

	GROUP("sync"),
	STR("sync.state_dir", sync.state_dir, 0, "/var/lib/smimepub/state"),
	INT("sync.interval", sync.interval, 5, 86400 * 7, 300),
	INT("sync.watch_interval", sync.watch_interval, 0, 3600, 5),
	INT("sync.renew_before_days", sync.renew_before_days, 1, 365, 30),
	STR("sync.on_leave", sync.on_leave, 0, "revoke"),
	BOOL("sync.require_trigger", sync.require_trigger, 0),
	INT("sync.workers", sync.workers, 0, 64, 0),
	INT("sync.max_attempts", sync.max_attempts, 1, 1000, 10),
	INT("sync.leave_grace_days", sync.leave_grace_days, 0, 365, 0),

	GROUP("lookup"),
	STR("lookup.listen", lookup.listen, 0, "127.0.0.1:8080"),
	INT("lookup.cache_ttl", lookup.cache_ttl, 0, 86400, 300),
	INT("lookup.negative_ttl", lookup.negative_ttl, 0, 86400, 60),
	INT("lookup.cache_max", lookup.cache_max, 0, 10000000, 100000),
	INT("lookup.pool_size", lookup.pool_size, 1, 256, 4),
	INT("lookup.threads", lookup.threads, 1, 256, 4),
	INT("lookup.batch_max", lookup.batch_max, 1, 100000, 1000),
	INT("lookup.rate", lookup.rate, 0, 1000000, 50),
	INT("lookup.burst", lookup.burst, 1, 1000000, 100),
	INT("lookup.search_rate", lookup.search_rate, 0, 1000000, 5),
	INT("lookup.search_burst", lookup.search_burst, 1, 1000000, 10),
	INT("lookup.max_connections", lookup.max_connections, 1, 1000000, 1024),
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

	GROUP("log"),
	STR("log.level", log.level, 0, "info"),
	STR("log.audit_file", log.audit_file, 0, NULL),
	BOOL("log.syslog", log.syslog, 0),
};
#define NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const char *const cfg_typename[] = {
	"a group { ... }", "a string", "a boolean (true/false)", "an integer",
	"a list of strings [ \"...\" ]", "\"openldap\" or \"ad\"",
};

static const struct cfg_key *
cfg_key_find(const char *path)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
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
		else {
			SERR(s, file, k->path, "\"%s\" is not \"openldap\" "
			    "or \"ad\"", str);
			return -1;
		}
		return 0;
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

	for (i = 0; i < NKEYS; i++) {
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
static int
cfg_check(struct cfg *c, config_t *lc, const char *file)
{
	static const char *const on_leave[] = { "revoke", "unpublish", "keep" };
	const struct cfg_key *k;
	config_setting_t *s;
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

	for (i = 0; i < NKEYS; i++) {
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
	    strcmp(c->directory.sasl_mech, "EXTERNAL") != 0)
		KEYERR("directory.sasl_mech", "\"%s\" is not supported "
		    "(EXTERNAL)", c->directory.sasl_mech);
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
	if (c->sync.require_trigger && c->directory.trigger_attribute == NULL)
		KEYERR("sync.require_trigger", "%s", "needs "
		    "directory.trigger_attribute");
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
	for (i = 0; i < NKEYS; i++) {
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
	free(c->path);
	free(c);
}

static void
cfg_print_str(FILE *fp, const char *v)
{
	const char *p;

	fputc('"', fp);
	for (p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}

/*
 * Print every key with its effective value, in the table's order, closing a
 * group when the next key is outside it. No secret is held inline (they come
 * from files), so only paths are printed; the file contents never are.
 */
void
cfg_print(const struct cfg *c, FILE *fp)
{
	const char *base = (const char *)c;
	const char *open[4];
	const struct cfg_key *k;
	const char *name, *v;
	size_t i, depth = 0, j, plen;
	char **lv;

	fprintf(fp, "# effective configuration of %s\n", c->path);
	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		/* close groups that k is not inside */
		while (depth > 0) {
			plen = strlen(open[depth - 1]);
			if (strncmp(k->path, open[depth - 1], plen) == 0 &&
			    k->path[plen] == '.')
				break;
			depth--;
			fprintf(fp, "%*s};\n", (int)depth * 2, "");
		}
		name = strrchr(k->path, '.');
		name = name != NULL ? name + 1 : k->path;
		if (k->type == T_STR && *(char *const *)(base + k->off) == NULL) {
			fprintf(fp, "%*s# %s is unset\n", (int)depth * 2, "",
			    name);
			continue;
		}
		fprintf(fp, "%*s%s = ", (int)depth * 2, "", name);
		switch (k->type) {
		case T_GROUP:
			fputs("{\n", fp);
			open[depth++] = k->path;
			continue;
		case T_STR:
			v = *(char *const *)(base + k->off);
			cfg_print_str(fp, v);
			fputc(';', fp);
			break;
		case T_BOOL:
			fprintf(fp, "%s;", *(const int *)(base + k->off) ?
			    "true" : "false");
			break;
		case T_INT:
			fprintf(fp, "%d;", *(const int *)(base + k->off));
			break;
		case T_FLAVOUR:
			fprintf(fp, "\"%s\";", *(const enum cfg_flavour *)
			    (base + k->off) == CFG_FLAVOUR_AD ? "ad" :
			    "openldap");
			break;
		case T_STRLIST:
			fputs("[ ", fp);
			lv = *(char **const *)(base + k->off);
			for (j = 0; lv != NULL && lv[j] != NULL; j++) {
				if (j > 0)
					fputs(", ", fp);
				cfg_print_str(fp, lv[j]);
			}
			fputs(" ];", fp);
			break;
		}
		fputc('\n', fp);
	}
	while (depth > 0) {
		depth--;
		fprintf(fp, "%*s};\n", (int)depth * 2, "");
	}
}
