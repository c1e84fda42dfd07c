/*
 * jrnl_tx.c — write transactions of the journal: one per put, or a group
 * of puts a caller commits together (jrnl.h). LMDB syncs the disk once per
 * commit; an enrolment's steps that have no outside effect between them
 * share one, which is most of what an enrolment costs on a real disk.
 */
#include <stdlib.h>

#include "common/jrnl_priv.h"
#include "common/log.h"

int
jrnl_tx_start(struct jrnl *j, struct jrnl_tx *tx)
{
	int rc;

	tx->j = j;
	tx->txn = NULL;
	tx->failed = 0;
	if ((rc = mdb_txn_begin(j->env, NULL, 0, &tx->txn)) != 0) {
		tx->txn = NULL;
		jrnl_lmdb_err(j, "begin a write", rc);
		return -1;
	}
	return 0;
}

int
jrnl_tx_end(struct jrnl_tx *tx, int abort)
{
	int rc;

	if (tx->txn == NULL)
		return -1;
	if (abort || tx->failed) {
		mdb_txn_abort(tx->txn);
		tx->txn = NULL;
		return abort ? 0 : -1;
	}
	rc = mdb_txn_commit(tx->txn);
	tx->txn = NULL;		/* commit frees it, whatever it returns */
	if (rc != 0) {
		jrnl_lmdb_err(tx->j, "commit", rc);
		return -1;
	}
	return 0;
}

struct jrnl_tx *
jrnl_tx_begin(struct jrnl *j)
{
	struct jrnl_tx *tx;

	if ((tx = calloc(1, sizeof(*tx))) == NULL) {
		log_err("journal %s: out of memory", j->dir);
		return NULL;
	}
	if (jrnl_tx_start(j, tx) == -1) {
		free(tx);
		return NULL;
	}
	return tx;
}

int
jrnl_tx_commit(struct jrnl_tx *tx)
{
	int rc;

	if (tx == NULL)
		return -1;
	rc = jrnl_tx_end(tx, 0);
	free(tx);
	return rc;
}

void
jrnl_tx_abort(struct jrnl_tx *tx)
{
	if (tx == NULL)
		return;
	(void)jrnl_tx_end(tx, 1);
	free(tx);
}

int
jrnl_tx_cert_put(struct jrnl_tx *tx, X509 *cert, const char *mail,
    const char *person_id, enum jrnl_cert_state state)
{
	return jrnl_cert_put_in(tx, cert, mail, person_id, state);
}

int
jrnl_tx_enr_put(struct jrnl_tx *tx, struct jrnl_enr *e)
{
	return jrnl_enr_put_in(tx, e);
}

int
jrnl_tx_held_put(struct jrnl_tx *tx, const char *person_id, const void *blob,
    size_t len)
{
	return jrnl_held_put_in(tx, person_id, blob, len);
}
