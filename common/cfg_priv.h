/*
 * cfg_priv.h — what cfg.c, cfg_check.c, cfg_keys.c and cfg_print.c share:
 * the table of every configuration key and where each was set. Not for use
 * outside common/cfg*.c (and test_cfg.c, which checks the table).
 */
#ifndef SMIMEPUB_CFG_PRIV_H
#define SMIMEPUB_CFG_PRIV_H

#include <stddef.h>

#include "common/cfg.h"

/*
 * T_STR with values: a string that must be one of them (stored as the
 * string). T_ENUM: one of values, stored as its index into an enum field
 * (directory.flavour: enum cfg_flavour).
 */
enum cfg_type { T_GROUP, T_STR, T_BOOL, T_INT, T_STRLIST, T_ENUM,
	T_DNSZONES };

struct cfg_key {
	const char	*path;		/* dotted */
	enum cfg_type	 type;
	size_t		 off;		/* into struct cfg; count for lists */
	size_t		 countoff;
	int		 required;
	long		 min, max;	/* T_INT range */
	const char	*def;		/* default (T_STR), or NULL */
	long		 idef;		/* default (T_INT, T_BOOL, T_ENUM index) */
	const char *const *values;	/* T_STR, T_ENUM: allowed, NULL-ended */
};

/* Where a key was set: its file (NULL: cfg->path) and line; 0 = not set. */
struct cfg_where {
	char		*file;
	unsigned	 line;
};

#define O(f)		offsetof(struct cfg, f)

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* dns.zones (cfg_dns.c): set, print, free. */
struct config_setting_t;
int	cfg_dns_zones_set(struct cfg *, struct config_setting_t *,
	    const char *file);
void	cfg_dns_zones_print(const struct cfg *, FILE *);
void	cfg_dns_zones_free(struct cfg *);
/* "host:port" or "[v6]:port", the port 1-65535 (cfg_check.c). */
int	cfg_hostport_ok(const char *v);

/* The checks across keys and on values beyond their type (cfg_check.c). */
int		 cfg_check(const struct cfg *);

#endif
