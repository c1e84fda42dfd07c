/*
 * cfg_dns.c — dns.zones, the one configuration key that is a list of
 * groups: { zone, server, tsig_key_file } each, every member required,
 * nothing else allowed, errors naming the file, the line and the element.
 * The key file itself is read when it is used (dns/dns_key.c), by the
 * program that holds the right to read it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "common/cfg_priv.h"
#include "common/log.h"

#define ZERR(s, file, i, fmt, ...)					\
	log_err("%s:%u: dns.zones[%d]: " fmt,				\
	    config_setting_source_file(s) ? config_setting_source_file(s) : \
	    file, config_setting_source_line(s), i, __VA_ARGS__)

/* A zone name: letters, digits, '-', '_' in labels of 1..63 (RFC 1035
 * §2.3.4), at most 253 characters; lower-cased, final dot dropped. */
static char *
zone_canon(const char *v)
{
	size_t len = strlen(v), i, lab = 0;
	char *out;

	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return NULL;
	for (i = 0; i < len; i++) {
		if (v[i] == '.') {
			if (lab == 0)
				return NULL;
			lab = 0;
		} else if ((isalnum((unsigned char)v[i]) || v[i] == '-' ||
		    v[i] == '_') && ++lab <= 63)
			continue;
		else
			return NULL;
	}
	if ((out = strndup(v, len)) != NULL)
		for (i = 0; i < len; i++)
			out[i] = (char)tolower((unsigned char)out[i]);
	return out;
}

static int
zone_member(config_setting_t *g, const char *file, int i, const char *name,
    char **out)
{
	config_setting_t *m = config_setting_get_member(g, name);

	if (m == NULL) {
		ZERR(g, file, i, "%s is missing", name);
		return -1;
	}
	if (config_setting_type(m) != CONFIG_TYPE_STRING ||
	    *config_setting_get_string(m) == '\0') {
		ZERR(m, file, i, "%s must be a non-empty string", name);
		return -1;
	}
	if ((*out = strdup(config_setting_get_string(m))) == NULL)
		return -1;
	return 0;
}

static int
zone_one(struct cfg_dns_zone *z, config_setting_t *g, const char *file,
    int i)
{
	config_setting_t *m;
	char *raw = NULL;
	int j, rc = -1;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		ZERR(g, file, i, "%s", "must be a group { zone = ...; server = "
		    "...; tsig_key_file = ...; }");
		return -1;
	}
	for (j = 0; (m = config_setting_get_elem(g, (unsigned)j)) != NULL;
	    j++)
		if (strcmp(config_setting_name(m), "zone") != 0 &&
		    strcmp(config_setting_name(m), "server") != 0 &&
		    strcmp(config_setting_name(m), "tsig_key_file") != 0) {
			ZERR(m, file, i, "%s: unknown key",
			    config_setting_name(m));
			return -1;
		}
	if (zone_member(g, file, i, "zone", &raw) == -1 ||
	    zone_member(g, file, i, "server", &z->server) == -1 ||
	    zone_member(g, file, i, "tsig_key_file", &z->tsig_key_file) == -1)
		goto out;
	if ((z->zone = zone_canon(raw)) == NULL) {
		ZERR(g, file, i, "zone \"%s\" is not a domain name", raw);
		goto out;
	}
	if (!cfg_hostport_ok(z->server)) {
		ZERR(g, file, i, "server \"%s\" is not host:port (a port "
		    "1-65535; [address]:port for IPv6)", z->server);
		goto out;
	}
	if (z->tsig_key_file[0] != '/') {
		ZERR(g, file, i, "tsig_key_file \"%s\" must be an absolute "
		    "path", z->tsig_key_file);
		goto out;
	}
	rc = 0;
out:
	free(raw);
	return rc;
}

int
cfg_dns_zones_set(struct cfg *c, config_setting_t *s, const char *file)
{
	int i, j, n = config_setting_length(s);

	cfg_dns_zones_free(c);
	if (n == 0)
		return 0;
	if ((c->dns.zones = calloc((size_t)n, sizeof(*c->dns.zones))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		c->dns.n_zones = (size_t)i + 1;
		if (zone_one(&c->dns.zones[i], config_setting_get_elem(s,
		    (unsigned)i), file, i) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(c->dns.zones[j].zone,
			    c->dns.zones[i].zone) == 0) {
				ZERR(config_setting_get_elem(s, (unsigned)i),
				    file, i, "zone %s is listed twice",
				    c->dns.zones[i].zone);
				return -1;
			}
	}
	return 0;
}

static void
print_str(FILE *fp, const char *name, const char *v)
{
	fprintf(fp, "%s = \"", name);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', fp);
		fputc(*v, fp);
	}
	fputs("\"; ", fp);
}

void
cfg_dns_zones_print(const struct cfg *c, FILE *fp)
{
	size_t i;

	fputs("(", fp);
	for (i = 0; i < c->dns.n_zones; i++) {
		fputs(i > 0 ? ", { " : " { ", fp);
		print_str(fp, "zone", c->dns.zones[i].zone);
		print_str(fp, "server", c->dns.zones[i].server);
		print_str(fp, "tsig_key_file", c->dns.zones[i].tsig_key_file);
		fputs("}", fp);
	}
	fputs(" );", fp);
}

void
cfg_dns_zones_free(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->dns.n_zones; i++) {
		free(c->dns.zones[i].zone);
		free(c->dns.zones[i].server);
		free(c->dns.zones[i].tsig_key_file);
	}
	free(c->dns.zones);
	c->dns.zones = NULL;
	c->dns.n_zones = 0;
}
