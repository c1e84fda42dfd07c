/*
 * jrnl_tx.c — write transactions of the journal, committed in groups.
 *
 * A caller's transaction (jrnl_tx_begin, or a single put's own) records
 * its puts; commit queues it and waits. The first committer finds no
 * leader and becomes one: it writes every queued transaction into one
 * LMDB transaction, each in a nested one of its own (so one that fails
 * takes nothing of the others with it), commits once and wakes the
 * others. Those that queued meanwhile form the next group. LMDB syncs the
 * disk once per commit, which is most of what an enrolment costs on a
 * real disk, so workers that commit at the same moment share the sync.
 *
 * A commit returns only once its writes are on disk, as before: the
 * transition is durable before the caller's next side effect starts.
 * LMDB's writer lock belongs to the thread that took it, which is why the
 * leader writes the others' puts (recorded as copies) itself.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/jrnl_priv.h"
#include "common/log.h"

enum op_kind { OP_CERT, OP_ENR, OP_HELD, OP_HELD_DEL, OP_META, OP_DNS };

struct jrnl_op {
	enum op_kind		 kind;
	X509			*cert;		/* OP_CERT: a reference of ours */
	char			*mail;		/* OP_CERT: NULL = keep */
	char			*person_id;	/* OP_CERT, OP_HELD*; OP_META:
						 * the name */
	enum jrnl_cert_state	 cstate;
	struct jrnl_enr		*enr;		/* OP_ENR: a copy */
	unsigned char		*blob;		/* OP_HELD: sealed, cleansed;
						 * OP_META: the value */
	size_t			 len;
	struct jrnl_op		*next;
};

static void
op_free(struct jrnl_op *op)
{
	X509_free(op->cert);
	free(op->mail);
	free(op->person_id);
	free(op->enr);
	OPENSSL_clear_free(op->blob, op->len);
	free(op);
}

static void
tx_drop_ops(struct jrnl_tx *tx)
{
	struct jrnl_op *op, *next;

	for (op = tx->ops; op != NULL; op = next) {
		next = op->next;
		op_free(op);
	}
	tx->ops = NULL;
	tx->tail = &tx->ops;
}

static struct jrnl_op *
tx_add(struct jrnl_tx *tx, enum op_kind kind, const char *person_id)
{
	struct jrnl_op *op;
	MDB_val k;

	/* a held key's id is checked now, so the put says it failed */
	if ((kind == OP_HELD || kind == OP_HELD_DEL) &&
	    jrnl_held_key(person_id, &k) == -1) {
		tx->failed = 1;
		return NULL;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    (person_id != NULL && (op->person_id = strdup(person_id)) == NULL)) {
		log_err("journal %s: out of memory", tx->j->dir);
		free(op);
		tx->failed = 1;
		return NULL;
	}
	op->kind = kind;
	*tx->tail = op;
	tx->tail = &op->next;
	return op;
}

void
jrnl_tx_init(struct jrnl *j, struct jrnl_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->j = j;
	tx->tail = &tx->ops;
}

struct jrnl_tx *
jrnl_tx_begin(struct jrnl *j)
{
	struct jrnl_tx *tx;

	if ((tx = malloc(sizeof(*tx))) == NULL) {
		log_err("journal %s: out of memory", j->dir);
		return NULL;
	}
	jrnl_tx_init(j, tx);
	return tx;
}

int
jrnl_tx_cert_put(struct jrnl_tx *tx, X509 *cert, const char *mail,
    const char *person_id, enum jrnl_cert_state state)
{
	struct jrnl_op *op;

	if ((op = tx_add(tx, OP_CERT, person_id)) == NULL)
		return -1;
	if (mail != NULL && (op->mail = strdup(mail)) == NULL) {
		log_err("journal %s: out of memory", tx->j->dir);
		tx->failed = 1;
		return -1;
	}
	X509_up_ref(cert);
	op->cert = cert;
	op->cstate = state;
	return 0;
}

int
jrnl_tx_enr_put(struct jrnl_tx *tx, struct jrnl_enr *e)
{
	struct jrnl_op *op;

	if ((op = tx_add(tx, OP_ENR, NULL)) == NULL)
		return -1;
	if ((op->enr = malloc(sizeof(*e))) == NULL) {
		log_err("journal %s: out of memory", tx->j->dir);
		tx->failed = 1;
		return -1;
	}
	e->updated = time(NULL);	/* as the put will write it */
	*op->enr = *e;
	return 0;
}

int
jrnl_tx_held_put(struct jrnl_tx *tx, const char *person_id, const void *blob,
    size_t len)
{
	struct jrnl_op *op;

	if ((op = tx_add(tx, OP_HELD, person_id)) == NULL)
		return -1;
	if ((op->blob = malloc(len ? len : 1)) == NULL) {
		log_err("journal %s: out of memory", tx->j->dir);
		tx->failed = 1;
		return -1;
	}
	memcpy(op->blob, blob, len);
	op->len = len;
	return 0;
}

int
jrnl_tx_held_del(struct jrnl_tx *tx, const char *person_id)
{
	return tx_add(tx, OP_HELD_DEL, person_id) == NULL ? -1 : 0;
}

int
jrnl_tx_meta_put(struct jrnl_tx *tx, const char *name, const char *val)
{
	struct jrnl_op *op;
	size_t len = strlen(val);

	if ((op = tx_add(tx, OP_META, name)) == NULL)
		return -1;
	if ((op->blob = malloc(len + 1)) == NULL) {
		log_err("journal %s: out of memory", tx->j->dir);
		tx->failed = 1;
		return -1;
	}
	memcpy(op->blob, val, len + 1);
	op->len = len + 1;
	return 0;
}

/* A person's DNS state line (jrnl_dns.c), like a fact by name. */
int
jrnl_tx_dns_put(struct jrnl_tx *tx, const char *person_id, const char *line)
{
	struct jrnl_op *op;
	size_t len = strlen(line);

	if ((op = tx_add(tx, OP_DNS, person_id)) == NULL)
		return -1;
	if ((op->blob = malloc(len + 1)) == NULL) {
		log_err("journal %s: out of memory", tx->j->dir);
		tx->failed = 1;
		return -1;
	}
	memcpy(op->blob, line, len + 1);
	op->len = len + 1;
	return 0;
}

/* Write tx's puts into tx->txn; tx->failed says whether all went in. */
static void
tx_apply(struct jrnl_tx *tx)
{
	struct jrnl_op *op;

	for (op = tx->ops; op != NULL && !tx->failed; op = op->next) {
		switch (op->kind) {
		case OP_CERT:
			(void)jrnl_cert_put_in(tx, op->cert, op->mail,
			    op->person_id, op->cstate);
			break;
		case OP_ENR:
			(void)jrnl_enr_put_in(tx, op->enr);
			break;
		case OP_HELD:
			(void)jrnl_held_put_in(tx, op->person_id, op->blob,
			    op->len);
			break;
		case OP_HELD_DEL:
			(void)jrnl_held_del_in(tx, op->person_id);
			break;
		case OP_META:
			(void)jrnl_meta_put_in(tx, op->person_id,
			    (const char *)op->blob);
			break;
		case OP_DNS:
			(void)jrnl_dns_put_in(tx, op->person_id,
			    (const char *)op->blob);
			break;
		}
	}
}

/* The leader's part: one LMDB commit for the group; sets each tx->rc. */
static void
group_write(struct jrnl *j, struct jrnl_tx *group)
{
	struct jrnl_tx *tx;
	MDB_txn *parent = NULL;
	int rc, single = group->qnext == NULL;

	if ((rc = mdb_txn_begin(j->env, NULL, 0, &parent)) != 0) {
		jrnl_lmdb_err(j, "begin a write", rc);
		for (tx = group; tx != NULL; tx = tx->qnext)
			tx->rc = -1;
		return;
	}
	for (tx = group; tx != NULL; tx = tx->qnext) {
		tx->rc = -1;
		/* alone, it needs no transaction of its own inside */
		if (single)
			tx->txn = parent;
		else if ((rc = mdb_txn_begin(j->env, parent, 0,
		    &tx->txn)) != 0) {
			jrnl_lmdb_err(j, "begin a nested write", rc);
			continue;
		}
		tx_apply(tx);
		if (single)
			break;
		if (tx->failed)
			mdb_txn_abort(tx->txn);
		else if ((rc = mdb_txn_commit(tx->txn)) != 0)
			jrnl_lmdb_err(j, "commit a nested write", rc);
		else
			tx->rc = 0;
		tx->txn = NULL;
	}
	if (single && group->failed) {
		mdb_txn_abort(parent);
		group->txn = NULL;
		return;
	}
	rc = mdb_txn_commit(parent);
	if (rc != 0) {
		jrnl_lmdb_err(j, "commit", rc);
		for (tx = group; tx != NULL; tx = tx->qnext)
			tx->rc = -1;
	} else if (single)
		group->rc = 0;
	group->txn = NULL;
}

/* Queue tx and return once it is committed (0) or not (-1, logged). */
static int
tx_run(struct jrnl_tx *tx)
{
	struct jrnl *j = tx->j;
	struct jrnl_tx *group, *t;

	if (tx->failed)
		return -1;
	if (tx->ops == NULL)
		return 0;
	pthread_mutex_lock(&j->gmu);
	tx->qnext = NULL;
	*j->qtail = tx;
	j->qtail = &tx->qnext;
	while (!tx->done) {
		if (j->leading) {
			pthread_cond_wait(&j->gcv, &j->gmu);
			continue;
		}
		j->leading = 1;
		group = j->qhead;
		j->qhead = NULL;
		j->qtail = &j->qhead;
		pthread_mutex_unlock(&j->gmu);
		group_write(j, group);
		pthread_mutex_lock(&j->gmu);
		for (t = group; t != NULL; t = t->qnext)
			t->done = 1;
		j->leading = 0;
		pthread_cond_broadcast(&j->gcv);
	}
	pthread_mutex_unlock(&j->gmu);
	return tx->rc;
}

int
jrnl_tx_run(struct jrnl_tx *tx)
{
	int rc;

	rc = tx_run(tx);
	tx_drop_ops(tx);
	return rc;
}

int
jrnl_tx_commit(struct jrnl_tx *tx)
{
	int rc;

	if (tx == NULL)
		return -1;
	rc = jrnl_tx_run(tx);
	free(tx);
	return rc;
}

void
jrnl_tx_abort(struct jrnl_tx *tx)
{
	if (tx == NULL)
		return;
	tx_drop_ops(tx);
	free(tx);
}
