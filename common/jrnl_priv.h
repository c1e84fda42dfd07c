/*
 * jrnl_priv.h — inside the journal module only (jrnl.c, jrnl_enr.c,
 * jrnl_held.c).
 */
#ifndef SMIMEPUB_JRNL_PRIV_H
#define SMIMEPUB_JRNL_PRIV_H

#include <lmdb.h>

#include "common/jrnl.h"

#define JRNL_MAPSIZE	(1UL << 30)	/* 1 GiB address space, grows on disk */
#define JRNL_KEYMAX	(32 + 64)	/* SHA-256(issuer) || serial (RFC 5280 §4.1.2.2: <= 20 octets) */

struct jrnl {
	MDB_env		*env;
	MDB_dbi		 certs;		/* cert index: key -> record line */
	MDB_dbi		 der;		/* same key: the certificate's DER */
	MDB_dbi		 enr;		/* person id -> enrolment record */
	MDB_dbi		 hist;		/* person id NUL seq(8, BE) -> record */
	MDB_dbi		 held;		/* person id -> sealed key (jrnl_held.c) */
	char		*dir;
};

void	jrnl_lmdb_err(const struct jrnl *, const char *what, int rc);

#endif
