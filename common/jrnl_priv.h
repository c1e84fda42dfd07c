/*
 * jrnl_priv.h — inside the journal module only (jrnl.c, jrnl_enr.c,
 * jrnl_held.c, jrnl_tx.c).
 */
#ifndef SMIMEPUB_JRNL_PRIV_H
#define SMIMEPUB_JRNL_PRIV_H

#include <pthread.h>

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
	MDB_dbi		 meta;		/* name -> short string (jrnl_meta.c) */
	MDB_dbi		 dns;		/* person id -> DNS state (jrnl_dns.c) */
	char		*dir;
	/* group commit (jrnl_tx.c): the queue of transactions to write */
	pthread_mutex_t	 gmu;
	pthread_cond_t	 gcv;
	struct jrnl_tx	*qhead, **qtail;
	int		 leading;	/* a thread is writing a group */
	int		 glock;		/* gmu and gcv were made */
};

/* One write transaction: the puts a caller recorded (copies), then its
 * place in the group commit. A put that fails marks it failed, so it can
 * only abort. txn is the leader's LMDB transaction while it is written. */
struct jrnl_op;
struct jrnl_tx {
	struct jrnl	*j;
	struct jrnl_op	*ops, **tail;
	int		 failed;
	MDB_txn		*txn;
	struct jrnl_tx	*qnext;
	int		 done, rc;
};

void	jrnl_lmdb_err(const struct jrnl *, const char *what, int rc);
/* A transaction in the caller's storage: init, record puts, run (group
 * commit; 0, or -1 logged, also when a put had failed; frees the copies). */
void	jrnl_tx_init(struct jrnl *, struct jrnl_tx *);
int	jrnl_tx_run(struct jrnl_tx *);
int	jrnl_tx_held_del(struct jrnl_tx *, const char *person_id);
/* The puts, written into tx->txn by the group's leader (jrnl.c,
 * jrnl_enr.c, jrnl_held.c). */
int	jrnl_cert_put_in(struct jrnl_tx *, X509 *, const char *mail,
	    const char *person_id, enum jrnl_cert_state);
int	jrnl_enr_put_in(struct jrnl_tx *, struct jrnl_enr *);
int	jrnl_held_put_in(struct jrnl_tx *, const char *person_id,
	    const void *blob, size_t len);
int	jrnl_held_del_in(struct jrnl_tx *, const char *person_id);
int	jrnl_meta_put_in(struct jrnl_tx *, const char *name, const char *val);
int	jrnl_tx_dns_put(struct jrnl_tx *, const char *person_id,
	    const char *line);
int	jrnl_dns_put_in(struct jrnl_tx *, const char *person_id,
	    const char *line);
/* The held key's LMDB key: the person id, checked (-1 logged if bad). */
int	jrnl_held_key(const char *person_id, MDB_val *k);

#endif
