/*
 * cfg_priv.h — what cfg.c, cfg_keys.c and cfg_print.c share: the table of
 * every configuration key. Not for use outside common/cfg*.c.
 */
#ifndef SMIMEPUB_CFG_PRIV_H
#define SMIMEPUB_CFG_PRIV_H

#include <stddef.h>

#include "common/cfg.h"

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

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

#endif
