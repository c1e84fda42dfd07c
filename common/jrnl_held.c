/*
 * jrnl_held.c — what an enrolment in progress must not lose in a crash: its
 * private key and the chain the CA sent, sealed by the caller (the journal
 * stores only the ciphertext and never sees a key). One value per person,
 * written before the transition that depends on it, removed once the
 * certificate is published, so a restart resumes with the same key instead
 * of asking the CA again.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/jrnl_priv.h"
#include "common/log.h"

int
jrnl_held_key(const char *person_id, MDB_val *k)
{
	size_t len = strlen(person_id);

	if (len == 0 || len >= 80) {
		log_err("journal: person id \"%.80s\" is empty or too long",
		    person_id);
		return -1;
	}
	k->mv_data = (void *)person_id;
	k->mv_size = len;
	return 0;
}

int
jrnl_held_put_in(struct jrnl_tx *tx, const char *person_id, const void *blob,
    size_t len)
{
	MDB_val k, v;
	int rc;

	if (jrnl_held_key(person_id, &k) == -1) {
		tx->failed = 1;
		return -1;
	}
	v.mv_data = (void *)blob;
	v.mv_size = len;
	if ((rc = mdb_put(tx->txn, tx->j->held, &k, &v, 0)) != 0) {
		jrnl_lmdb_err(tx->j, "hold a key", rc);
		tx->failed = 1;
		return -1;
	}
	return 0;
}

int
jrnl_held_get(struct jrnl *j, const char *person_id, unsigned char **blob,
    size_t *len)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	*blob = NULL;
	*len = 0;
	if (jrnl_held_key(person_id, &k) == -1)
		return -1;
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read a held key", rc);
		return -1;
	}
	rc = mdb_get(txn, j->held, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = 1;
	else if (rc != 0)
		jrnl_lmdb_err(j, "read a held key", rc);
	else if ((*blob = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
		log_err("journal: out of memory");
	else {
		memcpy(*blob, v.mv_data, v.mv_size);
		*len = v.mv_size;
		ret = 0;
	}
	mdb_txn_abort(txn);
	return ret;
}

int
jrnl_held_del(struct jrnl *j, const char *person_id)
{
	struct jrnl_tx tx;

	jrnl_tx_init(j, &tx);
	(void)jrnl_tx_held_del(&tx, person_id);
	return jrnl_tx_run(&tx);
}

int
jrnl_held_del_in(struct jrnl_tx *tx, const char *person_id)
{
	MDB_val k;
	int rc;

	if (jrnl_held_key(person_id, &k) == -1) {
		tx->failed = 1;
		return -1;
	}
	rc = mdb_del(tx->txn, tx->j->held, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		jrnl_lmdb_err(tx->j, "drop a held key", rc);
		tx->failed = 1;
		return -1;
	}
	return 0;
}
