/*
 * jrnl_dns.c — per person, where their SMIMEA records in DNS stand (the
 * "dns" database, keyed by the person's stable id): in step with the
 * journal, or pending with the attempts so far, the next retry and the
 * last reason. DNS is updated after the enrolment is journalled and never
 * holds it up, so what is not yet in DNS is remembered here and retried
 * with backoff (sync/, `smimepub dns-sync`), and `smimepub status` shows it.
 * A versioned tab-separated line, as the other records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jrnl_priv.h"
#include "common/log.h"

#define DNS_LINE	512

/* "d1 pending attempts next_retry updated synced reason" */
static int
dns_format(const struct jrnl_dns *d, char *buf, size_t sz)
{
	char reason[sizeof(d->reason)];
	size_t i;
	int n;

	for (i = 0; d->reason[i] != '\0' && i + 1 < sizeof(reason); i++)
		reason[i] = (unsigned char)d->reason[i] < 0x20 ? ' ' :
		    d->reason[i];
	reason[i] = '\0';
	n = snprintf(buf, sz, "d1\t%d\t%d\t%lld\t%lld\t%lld\t%s",
	    d->pending ? 1 : 0, d->attempts, (long long)d->next_retry,
	    (long long)d->updated, (long long)d->synced, reason);
	return (n < 0 || (size_t)n >= sz) ? -1 : n;
}

static int
dns_parse(const MDB_val *k, const MDB_val *v, struct jrnl_dns *d)
{
	char buf[DNS_LINE];
	long long next, upd, syn;
	int pending, n = 0;

	memset(d, 0, sizeof(*d));
	if (k->mv_size == 0 || k->mv_size >= sizeof(d->person_id) ||
	    v->mv_size >= sizeof(buf))
		return -1;
	memcpy(d->person_id, k->mv_data, k->mv_size);
	memcpy(buf, v->mv_data, v->mv_size);
	buf[v->mv_size] = '\0';
	if (sscanf(buf, "d1\t%d\t%d\t%lld\t%lld\t%lld\t%n", &pending,
	    &d->attempts, &next, &upd, &syn, &n) != 5 || n == 0)
		return -1;
	d->pending = pending != 0;
	d->next_retry = (time_t)next;
	d->updated = (time_t)upd;
	d->synced = (time_t)syn;
	snprintf(d->reason, sizeof(d->reason), "%s", buf + n);
	return 0;
}

int
jrnl_dns_put_in(struct jrnl_tx *tx, const char *person_id, const char *line)
{
	MDB_val k, v;
	int rc;

	if (jrnl_held_key(person_id, &k) == -1) {
		tx->failed = 1;
		return -1;
	}
	v.mv_data = (void *)line;
	v.mv_size = strlen(line);
	if ((rc = mdb_put(tx->txn, tx->j->dns, &k, &v, 0)) != 0) {
		jrnl_lmdb_err(tx->j, "record a DNS state", rc);
		tx->failed = 1;
		return -1;
	}
	return 0;
}

int
jrnl_dns_put(struct jrnl *j, struct jrnl_dns *d)
{
	struct jrnl_tx tx;
	char line[DNS_LINE];

	d->updated = time(NULL);
	if (dns_format(d, line, sizeof(line)) == -1) {
		log_err("journal %s: DNS state of %s too long", j->dir,
		    d->person_id);
		return -1;
	}
	jrnl_tx_init(j, &tx);
	(void)jrnl_tx_dns_put(&tx, d->person_id, line);
	return jrnl_tx_run(&tx);
}

int
jrnl_dns_get(struct jrnl *j, const char *person_id, struct jrnl_dns *out)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (jrnl_held_key(person_id, &k) == -1)
		return -1;
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read a DNS state", rc);
		return -1;
	}
	rc = mdb_get(txn, j->dns, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = 1;
	else if (rc != 0)
		jrnl_lmdb_err(j, "read a DNS state", rc);
	else if (dns_parse(&k, &v, out) == -1)
		log_err("journal %s: the DNS state of %s is unreadable",
		    j->dir, person_id);
	else
		ret = 0;
	mdb_txn_abort(txn);
	return ret;
}

int
jrnl_dns_each(struct jrnl *j, int (*cb)(const struct jrnl_dns *, void *),
    void *arg)
{
	struct jrnl_dns d;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, j->dns, &cur)) != 0) {
		jrnl_lmdb_err(j, "read the DNS states", rc);
		goto out;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (dns_parse(&k, &v, &d) == -1) {
			log_warn("journal %s: an unreadable DNS state skipped",
			    j->dir);
			continue;
		}
		if (cb(&d, arg) == -1)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		jrnl_lmdb_err(j, "read the DNS states", rc);
	else
		ret = 0;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ret;
}
