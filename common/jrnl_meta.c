/*
 * jrnl_meta.c — facts about the journal rather than about one person: the
 * directory attribute its person ids come from (a journal keyed by one id
 * read with another would make everyone look like a leaver), and what the
 * last full pass skipped, for `smimepub status`; which certificates were
 * put on by hand rather than issued through the CA. Short strings by name.
 */
#include <stdio.h>
#include <string.h>

#include "common/jrnl_priv.h"
#include "common/log.h"
#include "common/x509.h"

static int
meta_key(const char *name, MDB_val *k)
{
	size_t len = strlen(name);

	if (len == 0 || len > 100) {
		log_err("journal: meta name \"%.100s\" is empty or too long",
		    name);
		return -1;
	}
	k->mv_data = (void *)name;
	k->mv_size = len;
	return 0;
}

int
jrnl_meta_put(struct jrnl *j, const char *name, const char *val)
{
	struct jrnl_tx tx;

	jrnl_tx_init(j, &tx);
	(void)jrnl_tx_meta_put(&tx, name, val);
	return jrnl_tx_run(&tx);
}

int
jrnl_meta_put_in(struct jrnl_tx *tx, const char *name, const char *val)
{
	MDB_val k, v;
	int rc;

	if (meta_key(name, &k) == -1 || strlen(val) >= JRNL_META_MAX) {
		if (strlen(val) >= JRNL_META_MAX)
			log_err("journal: %s: value longer than %d bytes",
			    name, JRNL_META_MAX - 1);
		tx->failed = 1;
		return -1;
	}
	v.mv_data = (void *)val;
	v.mv_size = strlen(val);
	if ((rc = mdb_put(tx->txn, tx->j->meta, &k, &v, 0)) != 0) {
		jrnl_lmdb_err(tx->j, "record a fact", rc);
		tx->failed = 1;
		return -1;
	}
	return 0;
}

int
jrnl_meta_get(struct jrnl *j, const char *name, char *buf, size_t sz)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	size_t n;
	int rc, ret = -1;

	if (sz > 0)
		buf[0] = '\0';
	if (meta_key(name, &k) == -1)
		return -1;
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read a fact", rc);
		return -1;
	}
	rc = mdb_get(txn, j->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = 1;
	else if (rc != 0)
		jrnl_lmdb_err(j, "read a fact", rc);
	else {
		n = v.mv_size < sz ? v.mv_size : sz - 1;
		if (sz > 0) {
			memcpy(buf, v.mv_data, n);
			buf[n] = '\0';
		}
		ret = 0;
	}
	mdb_txn_abort(txn);
	return ret;
}

/* "manual:" and the certificate's SHA-256: put on by `smimepub publish`. */
int
jrnl_cert_mark_manual(struct jrnl *j, X509 *cert)
{
	char name[16 + X509_SHA256_HEX];
	char hex[X509_SHA256_HEX];

	if (x509_sha256_hex(cert, hex) == -1)
		return -1;
	snprintf(name, sizeof(name), "manual:%s", hex);
	return jrnl_meta_put(j, name, "1");
}

int
jrnl_cert_is_manual(struct jrnl *j, const struct jrnl_cert *r)
{
	char name[16 + X509_SHA256_HEX], val[8];
	int rc;

	snprintf(name, sizeof(name), "manual:%s", r->sha256);
	if ((rc = jrnl_meta_get(j, name, val, sizeof(val))) == -1)
		return -1;
	return rc == 0;
}
