/*
 * cfg_priv.h — what cfg.c, cfg_keys.c and cfg_print.c share: the table of
 * every configuration key. Not for use outside common/cfg*.c.
 */
#ifndef SMIMEPUB_CFG_PRIV_H
#define SMIMEPUB_CFG_PRIV_H

#include <stddef.h>

#include "common/cfg.h"

enum cfg_type { T_GROUP, T_STR, T_BOOL, T_INT, T_STRLIST, T_FLAVOUR,
	T_DNSZONES };

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

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* dns.zones (cfg_dns.c): set, print, free. */
struct config_setting_t;
int	cfg_dns_zones_set(struct cfg *, struct config_setting_t *,
	    const char *file);
void	cfg_dns_zones_print(const struct cfg *, FILE *);
void	cfg_dns_zones_free(struct cfg *);
int	cfg_hostport_ok(const char *v);

#endif
