/*
 * cfg.c — load the libconfig file into struct cfg and validate it. The table
 * cfg_keys[] is the whole list of keys: anything not in it is an error, and
 * every error names the file, the line and the key.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "common/cfg.h"
#include "common/cfg_priv.h"
#include "common/log.h"

static const char *const cfg_typename[] = {
	"a group { ... }", "a string", "a boolean (true/false)", "an integer",
	"a list of strings [ \"...\" ]", "a string",
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

/*
 * The index of v in k's allowed values; -1, reported with every allowed
 * value, when it is not one of them.
 */
static int
cfg_value_index(const struct cfg_key *k, const char *v,
    const config_setting_t *s, const char *file)
{
	char list[512];
	size_t i, len = 0;

	for (i = 0; k->values[i] != NULL; i++)
		if (strcmp(k->values[i], v) == 0)
			return (int)i;
	list[0] = '\0';
	for (i = 0; k->values[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : k->values[i + 1] == NULL ? " or " : ", ",
		    k->values[i]);
	SERR(s, file, k->path, "\"%s\" is not %s", v, list);
	return -1;
}

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
		if (k->values != NULL && cfg_value_index(k, str, s, file) == -1)
			return -1;
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
	case T_ENUM:
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			goto badtype;
		if ((i = cfg_value_index(k, config_setting_get_string(s), s,
		    file)) == -1)
			return -1;
		*(int *)(base + k->off) = i;
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

/* Remember where k was set, for cfg_key_err(). */
static int
cfg_where_set(struct cfg *c, const struct cfg_key *k,
    const config_setting_t *s, const char *file)
{
	struct cfg_where *w = &c->where[k - cfg_keys];
	const char *f = cfg_file(s, file);

	w->line = config_setting_source_line(s);
	free(w->file);
	w->file = NULL;
	if (strcmp(f, c->path) != 0 && (w->file = strdup(f)) == NULL) {
		log_err("%s: out of memory", file);
		return -1;
	}
	return 0;
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
		if (cfg_where_set(c, k, s, file) == -1)
			return -1;
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
		} else if (k->type == T_INT || k->type == T_BOOL ||
		    k->type == T_ENUM)
			*(int *)(base + k->off) = (int)k->idef;
	}
	return 0;
}

struct cfg *
cfg_load(const char *path)
{
	config_t lc;
	struct cfg *c = NULL;
	int ok = 0;

	config_init(&lc);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL ||
	    (c->where = calloc(cfg_nkeys, sizeof(*c->where))) == NULL ||
	    cfg_defaults(c) == -1) {
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
	if (cfg_check(c) == -1)
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
		if (c->where != NULL)
			free(c->where[i].file);
	}
	cfg_dns_zones_free(c);
	free(c->where);
	free(c->path);
	free(c);
}

void
cfg_key_err(const struct cfg *c, const char *key, const char *fmt, ...)
{
	const struct cfg_key *k = cfg_key_find(key);
	const struct cfg_where *w = NULL;
	const char *file = c->path != NULL ? c->path : "config";
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k != NULL && c->where != NULL)
		w = &c->where[k - cfg_keys];
	if (w != NULL && w->line > 0)
		log_err("%s:%u: %s: %s", w->file ? w->file : file, w->line,
		    key, msg);
	else
		log_err("%s: %s: %s", file, key, msg);
}

const char *
cfg_str(const struct cfg *c, const char *key)
{
	const struct cfg_key *k = cfg_key_find(key);

	if (k == NULL || k->type != T_STR)
		return NULL;
	return *(char *const *)((const char *)c + k->off);
}
