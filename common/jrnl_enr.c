/*
 * jrnl_enr.c — enrolment records and their history in the journal. A record
 * is a versioned tab-separated line, like the certificate index, so it is
 * readable with mdb_dump and a later version can read an earlier one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jrnl_priv.h"
#include "common/log.h"

#define ENR_LINE	8192
#define ENR_FIELDS	13	/* e2; e1 had 11: no addrs, named */

static const char *const jrnl_state_names[] = {
	"?", "PLANNED", "KEY_READY", "SUBMITTED", "ISSUED", "DELIVERED",
	"PUBLISHED", "REVOKE_PENDING", "REVOKED", "UNPUBLISHED", "FAILED",
};
#define NSTATES	(sizeof(jrnl_state_names) / sizeof(jrnl_state_names[0]))

const char *
jrnl_state_str(enum jrnl_state s)
{
	if ((int)s < 1 || (size_t)s >= NSTATES)
		return "?";
	return jrnl_state_names[s];
}

static void
enr_field(char *dst, size_t sz, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < sz; i++)
		dst[i] = ((unsigned char)src[i] < 0x20) ? ' ' : src[i];
	dst[i] = '\0';
}

/*
 * "e2 id mail state failed_in serial not_after attempts next updated addrs
 * named txid reason" ("-" for an empty addrs or named). e1 records, written
 * before address sets, lack addrs and named.
 */
static int
enr_format(const struct jrnl_enr *e, char *buf, size_t sz)
{
	char id[80], mail[256], serial[80], txid[4096], reason[256];
	char addrs[40], named[40];
	int n;

	enr_field(id, sizeof(id), e->person_id);
	enr_field(mail, sizeof(mail), e->mail);
	enr_field(serial, sizeof(serial), e->serial[0] ? e->serial : "-");
	enr_field(addrs, sizeof(addrs), e->addrs[0] ? e->addrs : "-");
	enr_field(named, sizeof(named), e->named[0] ? e->named : "-");
	enr_field(txid, sizeof(txid), e->txid[0] ? e->txid : "-");
	enr_field(reason, sizeof(reason), e->reason);
	n = snprintf(buf, sz, "e2\t%s\t%s\t%d\t%d\t%s\t%lld\t%d\t%lld\t%lld"
	    "\t%s\t%s\t%s\t%s", id, mail, (int)e->state, (int)e->failed_in,
	    serial, (long long)e->not_after, e->attempts,
	    (long long)e->next_retry, (long long)e->updated, addrs, named, txid,
	    reason);
	return (n < 0 || (size_t)n >= sz) ? -1 : n;
}

/* The field's value, "" for "-". */
static const char *
enr_opt(const char *f)
{
	return strcmp(f, "-") ? f : "";
}

static int
enr_parse(const char *v, size_t len, struct jrnl_enr *e)
{
	char buf[ENR_LINE], *f[ENR_FIELDS + 1], *p;
	int i, st, fi, nf, x;

	if (len >= sizeof(buf) || len < 3 || (memcmp(v, "e1\t", 3) != 0 &&
	    memcmp(v, "e2\t", 3) != 0))
		return -1;
	nf = v[1] == '1' ? ENR_FIELDS - 2 : ENR_FIELDS;
	x = v[1] == '1' ? 0 : 2;	/* e2's addrs and named before txid */
	memcpy(buf, v, len);
	buf[len] = '\0';
	/* split on every tab (empty fields allowed: the reason may be "") */
	p = buf + 3;
	for (i = 0; i < nf; i++) {
		f[i] = p;
		if (i == nf - 1)
			break;
		if ((p = strchr(p, '\t')) == NULL)
			return -1;
		*p++ = '\0';
	}
	st = atoi(f[2]);
	fi = atoi(f[3]);
	if (st < 1 || (size_t)st >= NSTATES || fi < 0 || (size_t)fi >= NSTATES)
		return -1;
	memset(e, 0, sizeof(*e));
	enr_field(e->person_id, sizeof(e->person_id), f[0]);
	enr_field(e->mail, sizeof(e->mail), f[1]);
	e->state = (enum jrnl_state)st;
	e->failed_in = (enum jrnl_state)fi;
	enr_field(e->serial, sizeof(e->serial), enr_opt(f[4]));
	e->not_after = (time_t)atoll(f[5]);
	e->attempts = atoi(f[6]);
	e->next_retry = (time_t)atoll(f[7]);
	e->updated = (time_t)atoll(f[8]);
	enr_field(e->addrs, sizeof(e->addrs), x ? enr_opt(f[9]) : "?");
	enr_field(e->named, sizeof(e->named), x ? enr_opt(f[10]) : "?");
	enr_field(e->txid, sizeof(e->txid), enr_opt(f[9 + x]));
	enr_field(e->reason, sizeof(e->reason), f[10 + x]);
	return 0;
}

int
jrnl_enr_get(struct jrnl *j, const char *person_id, struct jrnl_enr *out)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	k.mv_data = (void *)person_id;
	k.mv_size = strlen(person_id);
	if (k.mv_size == 0 || k.mv_size >= sizeof(out->person_id)) {
		log_err("journal: bad person id \"%s\"", person_id);
		return -1;
	}
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read", rc);
		return -1;
	}
	rc = mdb_get(txn, j->enr, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = 1;
	else if (rc != 0)
		jrnl_lmdb_err(j, "read", rc);
	else if (enr_parse(v.mv_data, v.mv_size, out) == -1)
		log_err("journal %s: unreadable enrolment record of %s", j->dir,
		    person_id);
	else
		ret = 0;
	mdb_txn_abort(txn);
	return ret;
}

int
jrnl_enr_put(struct jrnl *j, struct jrnl_enr *e)
{
	struct jrnl_tx tx;

	jrnl_tx_init(j, &tx);
	(void)jrnl_tx_enr_put(&tx, e);
	return jrnl_tx_run(&tx);
}

int
jrnl_enr_put_in(struct jrnl_tx *tx, struct jrnl_enr *e)
{
	struct jrnl *j = tx->j;
	unsigned char hk[80 + 1 + 8];
	char line[ENR_LINE];
	MDB_txn *txn = tx->txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v, ck, cv;
	size_t idlen = strlen(e->person_id);
	uint64_t seq = 0;
	int n, rc, i;

	if (idlen == 0 || idlen >= sizeof(e->person_id) ||
	    memchr(e->person_id, '\t', idlen) != NULL) {
		log_err("journal: bad person id \"%s\"", e->person_id);
		tx->failed = 1;
		return -1;
	}
	e->updated = time(NULL);
	if ((n = enr_format(e, line, sizeof(line))) == -1) {
		log_err("journal: record of %s too long", e->mail);
		tx->failed = 1;
		return -1;
	}
	k.mv_data = e->person_id;
	k.mv_size = idlen;
	v.mv_data = line;
	v.mv_size = (size_t)n;
	if ((rc = mdb_put(txn, j->enr, &k, &v, 0)) != 0)
		goto lmdb;
	/* history key: id NUL then a big-endian sequence one past the last */
	memcpy(hk, e->person_id, idlen);
	hk[idlen] = '\0';
	memset(hk + idlen + 1, 0xff, 8);
	ck.mv_data = hk;
	ck.mv_size = idlen + 9;
	if ((rc = mdb_cursor_open(txn, j->hist, &cur)) != 0)
		goto lmdb;
	rc = mdb_cursor_get(cur, &ck, &cv, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &ck, &cv, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &ck, &cv, MDB_LAST);
	if (rc == 0 && ck.mv_size == idlen + 9 &&
	    memcmp(ck.mv_data, hk, idlen + 1) == 0) {
		for (i = 0; i < 8; i++)
			seq = seq << 8 | ((unsigned char *)ck.mv_data)[idlen + 1 + i];
		seq++;
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		goto lmdb;
	mdb_cursor_close(cur);
	cur = NULL;
	for (i = 7; i >= 0; i--) {
		hk[idlen + 1 + i] = (unsigned char)(seq & 0xff);
		seq >>= 8;
	}
	ck.mv_data = hk;
	ck.mv_size = idlen + 9;
	if ((rc = mdb_put(txn, j->hist, &ck, &v, 0)) != 0)
		goto lmdb;
	/* A key held for an enrolment in progress (jrnl_held.c) goes in the
	 * same commit that says it is no longer in progress: never a record
	 * that needs its key without it, nor a key no step will collect. */
	if (e->state == JRNL_PUBLISHED || (e->state >= JRNL_REVOKE_PENDING &&
	    e->state != JRNL_FAILED)) {
		k.mv_data = e->person_id;
		k.mv_size = idlen;
		if ((rc = mdb_del(txn, j->held, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			goto lmdb;
	}
	return 0;
lmdb:
	jrnl_lmdb_err(j, "write enrolment", rc);
	if (cur != NULL)
		mdb_cursor_close(cur);
	tx->failed = 1;
	return -1;
}

static int
enr_scan(struct jrnl *j, MDB_dbi dbi, const char *prefix, size_t plen,
    int (*cb)(const struct jrnl_enr *, void *), void *arg)
{
	struct jrnl_enr e;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, ret = -1;
	MDB_cursor_op op = MDB_FIRST;

	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		jrnl_lmdb_err(j, "read", rc);
		goto out;
	}
	if (prefix != NULL) {
		k.mv_data = (void *)prefix;
		k.mv_size = plen;
		op = MDB_SET_RANGE;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (prefix != NULL && (k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (enr_parse(v.mv_data, v.mv_size, &e) == -1) {
			log_err("journal %s: unreadable enrolment record",
			    j->dir);
			goto out;
		}
		if (cb(&e, arg) == -1)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		jrnl_lmdb_err(j, "read", rc);
		goto out;
	}
	ret = 0;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ret;
}

int
jrnl_enr_each(struct jrnl *j, int (*cb)(const struct jrnl_enr *, void *),
    void *arg)
{
	return enr_scan(j, j->enr, NULL, 0, cb, arg);
}

int
jrnl_enr_history(struct jrnl *j, const char *person_id,
    int (*cb)(const struct jrnl_enr *, void *), void *arg)
{
	char prefix[81];
	size_t len = strlen(person_id);

	if (len == 0 || len >= 80)
		return -1;
	memcpy(prefix, person_id, len + 1);	/* includes the NUL */
	return enr_scan(j, j->hist, prefix, len + 1, cb, arg);
}
