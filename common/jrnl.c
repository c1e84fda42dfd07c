/*
 * jrnl.c — the LMDB journal: the certificate index ("certs" database).
 * A record is a versioned line of tab-separated fields, so a later version
 * can read what an earlier one wrote and a human can read it with mdb_dump.
 * Every write is part of one committed LMDB transaction (jrnl_tx.c): a
 * crash leaves either the old record or the new one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "common/jrnl.h"
#include "common/log.h"
#include "common/x509.h"

#include "common/jrnl_priv.h"

static const char *const jrnl_state_names[] = {
	"?", "issued", "published", "unpublished", "revoked",
};

const char *
jrnl_cert_state_str(enum jrnl_cert_state s)
{
	if ((int)s < 1 || (size_t)s >= sizeof(jrnl_state_names) /
	    sizeof(jrnl_state_names[0]))
		return "?";
	return jrnl_state_names[s];
}

void
jrnl_lmdb_err(const struct jrnl *j, const char *what, int rc)
{
	log_err("journal %s: %s: %s", j->dir, what, mdb_strerror(rc));
}

/* Index a certificate (key k, record line v) under its person, if any. */
static int
jrnl_index_one(struct jrnl *j, MDB_txn *txn, const MDB_val *k,
    const struct jrnl_cert *r)
{
	MDB_val pk, ck = *k;
	int rc;

	if (r->person_id[0] == '\0')
		return 0;
	pk.mv_data = (void *)r->person_id;
	pk.mv_size = strlen(r->person_id);
	rc = mdb_put(txn, j->byperson, &pk, &ck, MDB_NODUPDATA);
	if (rc != 0 && rc != MDB_KEYEXIST) {
		jrnl_lmdb_err(j, "index a certificate", rc);
		return -1;
	}
	return 0;
}

static int jrnl_cert_parse(const char *, size_t, struct jrnl_cert *);

/* A journal from before the person index: build it once, at open. */
static int
jrnl_index_people(struct jrnl *j, MDB_txn *txn)
{
	struct jrnl_cert r;
	MDB_stat st;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	if ((rc = mdb_stat(txn, j->byperson, &st)) != 0)
		goto lmdb;
	if (st.ms_entries > 0)
		return 0;
	if ((rc = mdb_cursor_open(txn, j->certs, &cur)) != 0)
		goto lmdb;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (jrnl_cert_parse(v.mv_data, v.mv_size, &r) == -1)
			continue;	/* jrnl_cert_each() reports it */
		if (jrnl_index_one(j, txn, &k, &r) == -1)
			goto out;
	}
	if (rc != MDB_NOTFOUND)
		goto lmdb;
	ret = 0;
	goto out;
lmdb:
	jrnl_lmdb_err(j, "index certificates by person", rc);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return ret;
}

struct jrnl *
jrnl_open(const char *state_dir)
{
	struct jrnl *j = NULL;
	MDB_txn *txn = NULL;
	struct stat st;
	int rc, ok = 0;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->dir = strdup(state_dir)) == NULL) {
		log_err("journal %s: out of memory", state_dir);
		goto out;
	}
	j->qtail = &j->qhead;
	if (pthread_mutex_init(&j->gmu, NULL) != 0 ||
	    pthread_cond_init(&j->gcv, NULL) != 0) {
		log_err("journal %s: cannot make its lock", state_dir);
		goto out;
	}
	j->glock = 1;
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST) {
		log_err("sync.state_dir %s: cannot create: %s", state_dir,
		    strerror(errno));
		goto out;
	}
	if (stat(state_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_err("sync.state_dir %s: not a directory", state_dir);
		goto out;
	}
	if ((rc = mdb_env_create(&j->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(j->env, JRNL_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(j->env, 16)) != 0) {
		jrnl_lmdb_err(j, "create", rc);
		goto out;
	}
	/* MDB_NOTLS: a read transaction is not tied to its thread, so a
	 * callback of jrnl_*_each() may read the journal again */
	if ((rc = mdb_env_open(j->env, state_dir, MDB_NOTLS, 0600)) != 0) {
		jrnl_lmdb_err(j, "open", rc);
		goto out;
	}
	if ((rc = mdb_txn_begin(j->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "certs", MDB_CREATE, &j->certs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "certder", MDB_CREATE, &j->der)) != 0 ||
	    (rc = mdb_dbi_open(txn, "enrol", MDB_CREATE, &j->enr)) != 0 ||
	    (rc = mdb_dbi_open(txn, "history", MDB_CREATE, &j->hist)) != 0 ||
	    (rc = mdb_dbi_open(txn, "held", MDB_CREATE, &j->held)) != 0 ||
	    (rc = mdb_dbi_open(txn, "byperson", MDB_CREATE | MDB_DUPSORT,
	    &j->byperson)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &j->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "dns", MDB_CREATE, &j->dns)) != 0) {
		jrnl_lmdb_err(j, "open certs", rc);
		goto out;
	}
	if (jrnl_index_people(j, txn) == -1)
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;		/* commit frees it, whatever it returns */
	if (rc != 0) {
		jrnl_lmdb_err(j, "open certs", rc);
		goto out;
	}
	ok = 1;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (!ok) {
		jrnl_close(j);
		j = NULL;
	}
	return j;
}

void
jrnl_close(struct jrnl *j)
{
	if (j == NULL)
		return;
	if (j->env != NULL)
		mdb_env_close(j->env);
	if (j->glock) {
		pthread_mutex_destroy(&j->gmu);
		pthread_cond_destroy(&j->gcv);
	}
	free(j->dir);
	free(j);
}

/* Key: SHA-256 of the issuer name DER, then the serial's content octets. */
static int
jrnl_cert_key(X509 *cert, unsigned char *key, size_t *keylen)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, rc = -1;

	if ((len = i2d_X509_NAME(X509_get_issuer_name(cert), &der)) <= 0)
		goto out;
	if (!EVP_Digest(der, (size_t)len, key, &mdlen, EVP_sha256(), NULL))
		goto out;
	if (sn->length <= 0 || (size_t)sn->length > JRNL_KEYMAX - mdlen)
		goto out;
	memcpy(key + mdlen, sn->data, (size_t)sn->length);
	*keylen = mdlen + (size_t)sn->length;
	rc = 0;
out:
	OPENSSL_free(der);
	if (rc == -1)
		log_err("journal: cannot index a certificate (bad issuer or "
		    "serial)");
	return rc;
}

static void
jrnl_clean_field(char *dst, size_t dstsz, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = (src[i] == '\t' || src[i] == '\n' ||
		    (unsigned char)src[i] < 0x20) ? ' ' : src[i];
	dst[i] = '\0';
}

/* "v1\tstate\tserial\tmail\tperson\tsha256\tnot_after\tupdated\tissuer" */
static int
jrnl_cert_parse(const char *v, size_t len, struct jrnl_cert *out)
{
	char buf[1024], *f[9], *p, *save = NULL;
	long long na, up;
	int i, st;

	if (len >= sizeof(buf) || len < 3 || memcmp(v, "v1\t", 3) != 0)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	for (i = 0, p = buf; i < 9; i++, p = NULL) {
		if ((f[i] = strtok_r(p, "\t", &save)) == NULL)
			return -1;
	}
	st = atoi(f[1]);
	if (st < JRNL_CERT_ISSUED || st > JRNL_CERT_REVOKED)
		return -1;
	memset(out, 0, sizeof(*out));
	out->state = (enum jrnl_cert_state)st;
	jrnl_clean_field(out->serial, sizeof(out->serial), f[2]);
	jrnl_clean_field(out->mail, sizeof(out->mail), f[3]);
	jrnl_clean_field(out->person_id, sizeof(out->person_id),
	    strcmp(f[4], "-") == 0 ? "" : f[4]);
	jrnl_clean_field(out->sha256, sizeof(out->sha256), f[5]);
	na = atoll(f[6]);
	up = atoll(f[7]);
	out->not_after = (time_t)na;
	out->updated = (time_t)up;
	jrnl_clean_field(out->issuer, sizeof(out->issuer), f[8]);
	return 0;
}

int
jrnl_cert_put(struct jrnl *j, X509 *cert, const char *mail,
    const char *person_id, enum jrnl_cert_state state)
{
	struct jrnl_tx tx;

	jrnl_tx_init(j, &tx);
	(void)jrnl_tx_cert_put(&tx, cert, mail, person_id, state);
	return jrnl_tx_run(&tx);
}

int
jrnl_cert_put_in(struct jrnl_tx *tx, X509 *cert, const char *mail,
    const char *person_id, enum jrnl_cert_state state)
{
	struct jrnl *j = tx->j;
	unsigned char key[JRNL_KEYMAX];
	struct jrnl_cert r, old;
	char rec[1024], *serial = NULL, *issuer = NULL;
	unsigned char *der = NULL;
	size_t keylen;
	MDB_val k, v, dv;
	struct tm tm;
	int n, dlen, rc, ret = -1;

	memset(&r, 0, sizeof(r));
	if (mail == NULL) {
		/* a change of state only: keep the address and person */
		if (jrnl_cert_get(j, cert, &old) != 0)
			goto out;
		mail = old.mail;
		person_id = old.person_id;
		/* revoked is final: taking it off an entry does not undo it */
		if (old.state == JRNL_CERT_REVOKED) {
			ret = 0;
			goto out;
		}
	}
	if (jrnl_cert_key(cert, key, &keylen) == -1)
		goto out;
	if ((serial = x509_serial_hex(cert)) == NULL ||
	    (issuer = x509_name_str(X509_get_issuer_name(cert))) == NULL ||
	    x509_sha256_hex(cert, r.sha256) == -1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
		log_err("journal: cannot describe the certificate for %s",
		    mail);
		goto out;
	}
	r.not_after = timegm(&tm);
	jrnl_clean_field(r.serial, sizeof(r.serial), serial);
	jrnl_clean_field(r.mail, sizeof(r.mail), mail);
	jrnl_clean_field(r.person_id, sizeof(r.person_id),
	    person_id != NULL && *person_id != '\0' ? person_id : "-");
	jrnl_clean_field(r.issuer, sizeof(r.issuer), issuer);
	n = snprintf(rec, sizeof(rec), "v1\t%d\t%s\t%s\t%s\t%s\t%lld\t%lld\t%s",
	    (int)state, r.serial, r.mail, r.person_id, r.sha256,
	    (long long)r.not_after, (long long)time(NULL), r.issuer);
	if (n < 0 || (size_t)n >= sizeof(rec)) {
		log_err("journal: record for %s too long", mail);
		goto out;
	}
	k.mv_data = key;
	k.mv_size = keylen;
	v.mv_data = rec;
	v.mv_size = (size_t)n;
	if ((dlen = i2d_X509(cert, &der)) <= 0) {
		log_err("journal: cannot encode the certificate for %s", mail);
		goto out;
	}
	dv.mv_data = der;
	dv.mv_size = (size_t)dlen;
	if ((rc = mdb_put(tx->txn, j->certs, &k, &v, 0)) != 0 ||
	    (rc = mdb_put(tx->txn, j->der, &k, &dv, 0)) != 0) {
		jrnl_lmdb_err(j, "write", rc);
		goto out;
	}
	if (strcmp(r.person_id, "-") == 0)
		r.person_id[0] = '\0';
	if (jrnl_index_one(j, tx->txn, &k, &r) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		tx->failed = 1;
	OPENSSL_free(der);
	free(serial);
	free(issuer);
	return ret;
}

int
jrnl_cert_get(struct jrnl *j, X509 *cert, struct jrnl_cert *out)
{
	unsigned char key[JRNL_KEYMAX];
	size_t keylen;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret = -1;

	if (jrnl_cert_key(cert, key, &keylen) == -1)
		return -1;
	k.mv_data = key;
	k.mv_size = keylen;
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read", rc);
		return -1;
	}
	rc = mdb_get(txn, j->certs, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = 1;
	else if (rc != 0)
		jrnl_lmdb_err(j, "read", rc);
	else if (jrnl_cert_parse(v.mv_data, v.mv_size, out) == -1)
		log_err("journal %s: unreadable certificate record", j->dir);
	else {
		memcpy(out->key, key, keylen);
		out->keylen = keylen;
		ret = 0;
	}
	mdb_txn_abort(txn);
	return ret;
}

int
jrnl_cert_is_ours(struct jrnl *j, X509 *cert)
{
	struct jrnl_cert r;

	switch (jrnl_cert_get(j, cert, &r)) {
	case 0:
		return 1;
	case 1:
		return 0;
	default:
		return -1;
	}
}

/*
 * Each certificate record, in key order (person_id NULL), or each of one
 * person's through the byperson index; cb returns -1 to stop.
 */
static int
jrnl_cert_scan(struct jrnl *j, const char *person_id,
    int (*cb)(const struct jrnl_cert *, void *), void *arg)
{
	struct jrnl_cert r;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, ck, v;
	MDB_cursor_op op = person_id != NULL ? MDB_SET : MDB_NEXT;
	int rc, ret = -1;

	if (person_id != NULL) {
		k.mv_data = (void *)person_id;
		if ((k.mv_size = strlen(person_id)) == 0)
			return 0;
	}
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, person_id != NULL ? j->byperson :
	    j->certs, &cur)) != 0) {
		jrnl_lmdb_err(j, "read", rc);
		goto out;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		ck = k;
		if (person_id != NULL) {
			op = MDB_NEXT_DUP;
			ck = v;		/* the index holds the record's key */
			if ((rc = mdb_get(txn, j->certs, &ck, &v)) != 0) {
				log_err("journal %s: certificate index of %s "
				    "names a missing record", j->dir,
				    person_id);
				goto out;
			}
		}
		if (jrnl_cert_parse(v.mv_data, v.mv_size, &r) == -1 ||
		    ck.mv_size > sizeof(r.key)) {
			log_err("journal %s: unreadable certificate record",
			    j->dir);
			goto out;
		}
		memcpy(r.key, ck.mv_data, ck.mv_size);
		r.keylen = ck.mv_size;
		if (cb(&r, arg) == -1)
			goto out;
	}
	if (rc != MDB_NOTFOUND) {
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
jrnl_cert_each(struct jrnl *j, int (*cb)(const struct jrnl_cert *, void *),
    void *arg)
{
	return jrnl_cert_scan(j, NULL, cb, arg);
}

int
jrnl_cert_each_person(struct jrnl *j, const char *person_id,
    int (*cb)(const struct jrnl_cert *, void *), void *arg)
{
	return jrnl_cert_scan(j, person_id, cb, arg);
}

X509 *
jrnl_cert_x509(struct jrnl *j, const struct jrnl_cert *r)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	X509 *cert = NULL;
	int rc;

	k.mv_data = (void *)r->key;
	k.mv_size = r->keylen;
	if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		jrnl_lmdb_err(j, "read", rc);
		return NULL;
	}
	if ((rc = mdb_get(txn, j->der, &k, &v)) != 0)
		log_err("journal %s: no certificate recorded for serial %s of "
		    "%s", j->dir, r->serial, r->mail);
	else if ((cert = x509_from_der(v.mv_data, v.mv_size)) == NULL)
		log_err("journal %s: unreadable certificate for serial %s",
		    j->dir, r->serial);
	mdb_txn_abort(txn);
	return cert;
}
