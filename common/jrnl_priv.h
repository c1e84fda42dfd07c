/*
 * jrnl_priv.h — inside the journal module only (jrnl.c, jrnl_enr.c,
 * jrnl_held.c, jrnl_tx.c).
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
	MDB_dbi		 byperson;	/* person id -> cert keys (dupsort) */
	char		*dir;
};

/* One write transaction: a caller's group (jrnl_tx_begin) or a single
 * put's own. A put that fails marks it failed, so it can only abort. */
struct jrnl_tx {
	struct jrnl	*j;
	MDB_txn		*txn;
	int		 failed;
};

void	jrnl_lmdb_err(const struct jrnl *, const char *what, int rc);
/* Start tx in the caller's storage; end it: commit (if !abort and nothing
 * failed) or abort. 0, or -1 logged (also when it had failed). */
int	jrnl_tx_start(struct jrnl *, struct jrnl_tx *);
int	jrnl_tx_end(struct jrnl_tx *, int abort);
/* The puts, inside tx (jrnl.c, jrnl_enr.c, jrnl_held.c). */
int	jrnl_cert_put_in(struct jrnl_tx *, X509 *, const char *mail,
	    const char *person_id, enum jrnl_cert_state);
int	jrnl_enr_put_in(struct jrnl_tx *, struct jrnl_enr *);
int	jrnl_held_put_in(struct jrnl_tx *, const char *person_id,
	    const void *blob, size_t len);

#endif
