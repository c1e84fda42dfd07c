/*
 * local_index.c — the local CA's issuance index: an LMDB environment of its
 * own in ca.local.dir/index. Database "certs" maps the serial (upper-case
 * hex) to a record: a versioned header line of tab-separated fields
 *	1 <TAB> mail <TAB> valid|revoked <TAB> not_after <TAB> rev_time <TAB> reason
 * (times in seconds since the epoch) then the certificate's DER. Database
 * "bykey" maps mail NUL SHA-256(SubjectPublicKeyInfo) to the serial, so a
 * request repeated for the same key is answered with the same certificate.
 * Database "meta" holds the last CRL number. Each change is one LMDB
 * transaction.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/local.h"
#include "common/log.h"

#define LIDX_MAPSIZE	(1UL << 30)	/* address space; the file grows */
#define LIDX_HDR_MAX	(MAIL_MAX + 96)
#define LIDX_CRLNUM	"crl_number"

struct lidx {
	MDB_env		*env;
	MDB_dbi		 certs;
	MDB_dbi		 meta;
	MDB_dbi		 bykey;
	char		 path[PATH_MAX];
};

static void
lidx_err(const struct lidx *x, const char *what, int rc)
{
	log_err("CA index %s: %s: %s", x->path, what, mdb_strerror(rc));
}

struct lidx *
lidx_open(const char *ca_dir, int create)
{
	struct lidx *x = NULL;
	MDB_txn *txn = NULL;
	struct stat st;
	int rc, ok = 0;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_err("CA index in %s: out of memory", ca_dir);
		return NULL;
	}
	if (snprintf(x->path, sizeof(x->path), "%s/index", ca_dir) >=
	    (int)sizeof(x->path)) {
		log_err("ca.local.dir %s: path too long", ca_dir);
		goto out;
	}
	if (create && mkdir(x->path, 0700) == -1 && errno != EEXIST) {
		log_err("CA index %s: cannot create: %s", x->path,
		    strerror(errno));
		goto out;
	}
	if (stat(x->path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_err("ca.local.dir %s: no CA index (run smimepub ca init)",
		    ca_dir);
		goto out;
	}
	if ((rc = mdb_env_create(&x->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(x->env, LIDX_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(x->env, 4)) != 0 ||
	    (rc = mdb_env_open(x->env, x->path, 0, 0600)) != 0) {
		lidx_err(x, "open", rc);
		goto out;
	}
	if ((rc = mdb_txn_begin(x->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "certs", MDB_CREATE, &x->certs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &x->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "bykey", MDB_CREATE, &x->bykey)) != 0) {
		lidx_err(x, "open databases", rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;		/* commit frees it, whatever it returns */
	if (rc != 0) {
		lidx_err(x, "open databases", rc);
		goto out;
	}
	ok = 1;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (!ok) {
		lidx_close(x);
		x = NULL;
	}
	return x;
}

void
lidx_close(struct lidx *x)
{
	if (x == NULL)
		return;
	if (x->env != NULL)
		mdb_env_close(x->env);
	free(x);
}

/* The record of r (serial aside) into a malloc()ed buffer. */
static int
lidx_encode(const struct lidx_rec *r, unsigned char **out, size_t *outlen)
{
	char hdr[LIDX_HDR_MAX];
	int n;

	n = snprintf(hdr, sizeof(hdr), "1\t%s\t%s\t%lld\t%lld\t%d\n", r->mail,
	    r->revoked ? "revoked" : "valid", (long long)r->not_after,
	    (long long)r->rev_time, r->reason);
	if (n < 0 || n >= (int)sizeof(hdr) ||
	    (*out = malloc((size_t)n + r->derlen)) == NULL)
		return -1;
	memcpy(*out, hdr, (size_t)n);
	memcpy(*out + n, r->der, r->derlen);
	*outlen = (size_t)n + r->derlen;
	return 0;
}

static int
lidx_decode(const MDB_val *v, struct lidx_rec *r)
{
	char hdr[LIDX_HDR_MAX], *nl, *f[6], *save = NULL, *p;
	long long na, rt;
	size_t hlen, i;

	memset(r, 0, sizeof(*r));
	hlen = v->mv_size < sizeof(hdr) - 1 ? v->mv_size : sizeof(hdr) - 1;
	memcpy(hdr, v->mv_data, hlen);
	hdr[hlen] = '\0';
	if ((nl = strchr(hdr, '\n')) == NULL)
		return -1;
	*nl = '\0';
	for (i = 0, p = hdr; i < 6; i++, p = NULL)
		if ((f[i] = strtok_r(p, "\t", &save)) == NULL)
			return -1;
	if (strcmp(f[0], "1") != 0 || strlen(f[1]) > MAIL_MAX)
		return -1;
	strcpy(r->mail, f[1]);
	r->revoked = strcmp(f[2], "revoked") == 0;
	na = strtoll(f[3], NULL, 10);
	rt = strtoll(f[4], NULL, 10);
	r->not_after = (time_t)na;
	r->rev_time = (time_t)rt;
	r->reason = atoi(f[5]);
	hlen = (size_t)(nl - hdr) + 1;
	r->der = (const unsigned char *)v->mv_data + hlen;
	r->derlen = v->mv_size - hlen;
	return 0;
}

/* The "bykey" key: mail NUL keyid. */
static size_t
lidx_keykey(const char *mail, const unsigned char keyid[LIDX_KEYID_LEN],
    unsigned char *out)
{
	size_t ml = strlen(mail);

	memcpy(out, mail, ml + 1);
	memcpy(out + ml + 1, keyid, LIDX_KEYID_LEN);
	return ml + 1 + LIDX_KEYID_LEN;
}

int
lidx_add(struct lidx *x, const char *serial, const char *mail,
    time_t not_after, const unsigned char *der, size_t len,
    const unsigned char keyid[LIDX_KEYID_LEN])
{
	struct lidx_rec r;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	unsigned char *buf = NULL, kk[MAIL_MAX + 1 + LIDX_KEYID_LEN];
	size_t buflen = 0;
	int rc, ret = -1;

	memset(&r, 0, sizeof(r));
	if (strlen(mail) > MAIL_MAX) {
		log_err("CA index %s: address too long: %s", x->path, mail);
		return -1;
	}
	strcpy(r.mail, mail);
	r.not_after = not_after;
	r.der = der;
	r.derlen = len;
	if (lidx_encode(&r, &buf, &buflen) == -1) {
		log_err("CA index %s: out of memory", x->path);
		return -1;
	}
	k.mv_data = (void *)serial;
	k.mv_size = strlen(serial);
	v.mv_data = buf;
	v.mv_size = buflen;
	if ((rc = mdb_txn_begin(x->env, NULL, 0, &txn)) != 0) {
		lidx_err(x, "begin", rc);
		goto out;
	}
	rc = mdb_put(txn, x->certs, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		ret = 1;
		goto out;
	}
	if (rc != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	/* the newest certificate for this key answers a repeated request */
	k.mv_data = kk;
	k.mv_size = lidx_keykey(mail, keyid, kk);
	v.mv_data = (void *)serial;
	v.mv_size = strlen(serial);
	if ((rc = mdb_put(txn, x->bykey, &k, &v, 0)) != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	ret = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(buf);
	return ret;
}

int
lidx_find_key(struct lidx *x, const char *mail,
    const unsigned char keyid[LIDX_KEYID_LEN], time_t now,
    char serial[LIDX_SERIAL_MAX], unsigned char **der, size_t *len)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	struct lidx_rec r;
	unsigned char kk[MAIL_MAX + 1 + LIDX_KEYID_LEN];
	int rc, ret = -1;

	*der = NULL;
	*len = 0;
	if (strlen(mail) > MAIL_MAX)
		return 1;
	if ((rc = mdb_txn_begin(x->env, NULL, MDB_RDONLY, &txn)) != 0) {
		lidx_err(x, "read", rc);
		return -1;
	}
	k.mv_data = kk;
	k.mv_size = lidx_keykey(mail, keyid, kk);
	if ((rc = mdb_get(txn, x->bykey, &k, &v)) == MDB_NOTFOUND) {
		ret = 1;
		goto out;
	}
	if (rc != 0 || v.mv_size >= LIDX_SERIAL_MAX) {
		lidx_err(x, "read by key", rc);
		goto out;
	}
	memcpy(serial, v.mv_data, v.mv_size);
	serial[v.mv_size] = '\0';
	k.mv_data = serial;
	k.mv_size = strlen(serial);
	if ((rc = mdb_get(txn, x->certs, &k, &v)) != 0 ||
	    lidx_decode(&v, &r) == -1) {
		log_err("CA index %s: serial %s: listed by key, unreadable",
		    x->path, serial);
		goto out;
	}
	if (r.revoked || r.not_after <= now) {
		ret = 1;	/* not one to hand out again */
		goto out;
	}
	if ((*der = malloc(r.derlen)) == NULL) {
		log_err("CA index %s: out of memory", x->path);
		goto out;
	}
	memcpy(*der, r.der, r.derlen);
	*len = r.derlen;
	ret = 0;
out:
	mdb_txn_abort(txn);
	return ret;
}

int
lidx_revoke(struct lidx *x, const char *serial, const unsigned char *der,
    size_t len, time_t when, int reason)
{
	struct lidx_rec r;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	unsigned char *buf = NULL;
	size_t buflen = 0;
	int rc, ret = -1;

	k.mv_data = (void *)serial;
	k.mv_size = strlen(serial);
	if ((rc = mdb_txn_begin(x->env, NULL, 0, &txn)) != 0) {
		lidx_err(x, "begin", rc);
		goto out;
	}
	if ((rc = mdb_get(txn, x->certs, &k, &v)) == MDB_NOTFOUND) {
		log_err("certificate serial %s was not issued by this CA "
		    "(not in %s)", serial, x->path);
		goto out;
	} else if (rc != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	if (lidx_decode(&v, &r) == -1) {
		log_err("CA index %s: record %s is unreadable", x->path,
		    serial);
		goto out;
	}
	if (r.derlen != len || memcmp(r.der, der, len) != 0) {
		log_err("certificate serial %s is not the one this CA issued "
		    "with that serial", serial);
		goto out;
	}
	if (r.revoked) {
		ret = 1;
		goto out;
	}
	r.revoked = 1;
	r.rev_time = when;
	r.reason = reason;
	if (lidx_encode(&r, &buf, &buflen) == -1) {
		log_err("CA index %s: out of memory", x->path);
		goto out;
	}
	v.mv_data = buf;
	v.mv_size = buflen;
	if ((rc = mdb_put(txn, x->certs, &k, &v, 0)) != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		lidx_err(x, serial, rc);
		goto out;
	}
	ret = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(buf);
	return ret;
}

int
lidx_each(struct lidx *x, int (*fn)(const struct lidx_rec *, void *),
    void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct lidx_rec r;
	char serial[LIDX_SERIAL_MAX];
	int rc, ret = -1;

	if ((rc = mdb_txn_begin(x->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, x->certs, &cur)) != 0) {
		lidx_err(x, "read", rc);
		goto out;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (k.mv_size >= sizeof(serial) || lidx_decode(&v, &r) == -1) {
			log_err("CA index %s: unreadable record", x->path);
			goto out;
		}
		memcpy(serial, k.mv_data, k.mv_size);
		serial[k.mv_size] = '\0';
		r.serial = serial;
		if (fn(&r, arg) == -1)
			goto out;
	}
	if (rc != MDB_NOTFOUND) {
		lidx_err(x, "read", rc);
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
lidx_crl_number_next(struct lidx *x, uint64_t *out)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	char buf[32];
	uint64_t n = 0;
	int rc, ret = -1;

	k.mv_data = (void *)LIDX_CRLNUM;
	k.mv_size = strlen(LIDX_CRLNUM);
	if ((rc = mdb_txn_begin(x->env, NULL, 0, &txn)) != 0) {
		lidx_err(x, "begin", rc);
		goto out;
	}
	rc = mdb_get(txn, x->meta, &k, &v);
	if (rc == 0 && v.mv_size < sizeof(buf)) {
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		n = strtoull(buf, NULL, 10);
	} else if (rc != MDB_NOTFOUND) {
		lidx_err(x, "CRL number", rc ? rc : MDB_CORRUPTED);
		goto out;
	}
	n++;
	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	v.mv_data = buf;
	v.mv_size = strlen(buf);
	if ((rc = mdb_put(txn, x->meta, &k, &v, 0)) != 0) {
		lidx_err(x, "CRL number", rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		lidx_err(x, "CRL number", rc);
		goto out;
	}
	*out = n;
	ret = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ret;
}

/* SHA-256 of the DER SubjectPublicKeyInfo: what "the same key" means. */
int
lidx_keyid(EVP_PKEY *pk, unsigned char keyid[LIDX_KEYID_LEN])
{
	unsigned char *spki = NULL;
	unsigned int mdlen = 0;
	int len, ok;

	if ((len = i2d_PUBKEY(pk, &spki)) <= 0) {
		log_ssl("local CA: cannot encode the request's public key");
		return -1;
	}
	ok = EVP_Digest(spki, (size_t)len, keyid, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == LIDX_KEYID_LEN;
	OPENSSL_free(spki);
	if (!ok)
		log_ssl("local CA: SHA-256");
	return ok ? 0 : -1;
}
