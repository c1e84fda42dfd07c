/*
 * test_jrnl.c — the journal: certificate index (ours by issuer and serial,
 * DER kept), enrolment records and their history, surviving a reopen.
 */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/jrnl.h"
#include "common/log.h"

static char tmpdir[] = "/tmp/test_jrnl.XXXXXX";

static X509 *
mkcert(EVP_PKEY *k, const char *issuer, long serial)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"alice", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	return x;
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_jrnl.XXXXXX");
}

static int
count_cb(const struct jrnl_cert *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* Empty the "byperson" database, as a journal of an earlier version has. */
static void
drop_person_index(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
	ck_assert_int_eq(mdb_env_open(env, tmpdir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "byperson", MDB_DUPSORT, &dbi), 0);
	ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(test_certs)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *ours = mkcert(k, "CA one", 42), *same_serial = mkcert(k, "CA two",
	    42), *back;
	struct jrnl_cert r;
	struct jrnl *j;
	int n = 0;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_cert_is_ours(j, ours), 0);
	ck_assert_int_eq(jrnl_cert_put(j, ours, "alice@example.com", "uuid-1",
	    JRNL_CERT_PUBLISHED), 0);
	ck_assert_int_eq(jrnl_cert_is_ours(j, ours), 1);
	/* same serial from another issuer is not ours */
	ck_assert_int_eq(jrnl_cert_is_ours(j, same_serial), 0);
	jrnl_close(j);

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_cert_get(j, ours, &r), 0);
	ck_assert_str_eq(r.mail, "alice@example.com");
	ck_assert_str_eq(r.person_id, "uuid-1");
	ck_assert_str_eq(r.serial, "2A");
	ck_assert_int_eq(r.state, JRNL_CERT_PUBLISHED);
	ck_assert_ptr_nonnull(back = jrnl_cert_x509(j, &r));
	ck_assert_int_eq(X509_cmp(back, ours), 0);
	X509_free(back);
	ck_assert_int_eq(jrnl_cert_put(j, ours, "alice@example.com", "uuid-1",
	    JRNL_CERT_REVOKED), 0);
	ck_assert_int_eq(jrnl_cert_get(j, ours, &r), 0);
	ck_assert_int_eq(r.state, JRNL_CERT_REVOKED);
	ck_assert_str_eq(jrnl_cert_state_str(r.state), "revoked");
	ck_assert_int_eq(jrnl_cert_each(j, count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	/* the person index: "uuid-10" is not "uuid-1" */
	ck_assert_int_eq(jrnl_cert_put(j, same_serial, "bob@example.com",
	    "uuid-10", JRNL_CERT_ISSUED), 0);
	n = 0;
	ck_assert_int_eq(jrnl_cert_each_person(j, "uuid-1", count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(jrnl_cert_each_person(j, "uuid-10", count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(jrnl_cert_each_person(j, "uuid-2", count_cb, &n), 0);
	ck_assert_int_eq(n, 0);
	jrnl_close(j);
	/* a journal written before the index: built when it is opened */
	drop_person_index();
	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	n = 0;
	ck_assert_int_eq(jrnl_cert_each_person(j, "uuid-10", count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	jrnl_close(j);
	X509_free(ours);
	X509_free(same_serial);
	EVP_PKEY_free(k);
}
END_TEST

static int
hist_cb(const struct jrnl_enr *e, void *arg)
{
	char *s = arg;

	strcat(s, jrnl_state_str(e->state));
	strcat(s, " ");
	return 0;
}

START_TEST(test_enrolments)
{
	struct jrnl_enr e, got;
	struct jrnl *j;
	char hist[512] = "";
	static const enum jrnl_state path[] = { JRNL_PLANNED, JRNL_KEY_READY,
	    JRNL_SUBMITTED, JRNL_ISSUED, JRNL_DELIVERED, JRNL_PUBLISHED };
	size_t i;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-1", &got), 1);
	memset(&e, 0, sizeof(e));
	strcpy(e.person_id, "uuid-1");
	strcpy(e.mail, "alice@example.com");
	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		e.state = path[i];
		if (path[i] == JRNL_ISSUED) {
			strcpy(e.serial, "0ABC");
			e.not_after = 1900000000;
		}
		ck_assert_int_eq(jrnl_enr_put(j, &e), 0);
	}
	/* another person's history does not mix in ("uuid-10" shares a prefix) */
	strcpy(e.person_id, "uuid-10");
	e.state = JRNL_FAILED;
	e.failed_in = JRNL_SUBMITTED;
	e.attempts = 3;
	strcpy(e.reason, "CA down: connection refused\tand a tab");
	ck_assert_int_eq(jrnl_enr_put(j, &e), 0);
	jrnl_close(j);

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-1", &got), 0);
	ck_assert_int_eq(got.state, JRNL_PUBLISHED);
	ck_assert_str_eq(got.serial, "0ABC");
	ck_assert_int_eq(got.not_after, 1900000000);
	ck_assert_int_eq(jrnl_enr_history(j, "uuid-1", hist_cb, hist), 0);
	ck_assert_str_eq(hist, "PLANNED KEY_READY SUBMITTED ISSUED DELIVERED "
	    "PUBLISHED ");
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-10", &got), 0);
	ck_assert_int_eq(got.state, JRNL_FAILED);
	ck_assert_int_eq(got.failed_in, JRNL_SUBMITTED);
	ck_assert_int_eq(got.attempts, 3);
	ck_assert_str_eq(got.reason, "CA down: connection refused and a tab");
	ck_assert_int_eq(jrnl_enr_get(j, "", &got), -1);
	jrnl_close(j);
}
END_TEST

/*
 * Address sets (issue 20): addrs and named survive a reopen, "" as "";
 * an e1 record (written before address sets) reads with both "?", so the
 * sync pass plans no re-enrolment on its account; and it is rewritten as
 * e2 by the next put.
 */
START_TEST(test_enr_addrs)
{
	static const char e1[] = "e1\tuuid-old\tbob@example.com\t6\t0\t0DEF"
	    "\t1900000000\t0\t0\t1800000000\t-\t";
	struct jrnl_enr e, got;
	struct jrnl *j;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	memset(&e, 0, sizeof(e));
	strcpy(e.person_id, "uuid-a");
	strcpy(e.mail, "alice@example.com");
	e.state = JRNL_PUBLISHED;
	strcpy(e.addrs, "0123456789abcdef0123456789abcdef");
	strcpy(e.named, "");
	strcpy(e.txid, "tx\t1");
	strcpy(e.reason, "a reason");
	ck_assert_int_eq(jrnl_enr_put(j, &e), 0);
	jrnl_close(j);

	/* an e1 record as an earlier version wrote it */
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_open(env, tmpdir, MDB_NOTLS, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "enrol", 0, &dbi), 0);
	k.mv_data = "uuid-old";
	k.mv_size = strlen("uuid-old");
	v.mv_data = (void *)e1;
	v.mv_size = strlen(e1);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-a", &got), 0);
	ck_assert_str_eq(got.addrs, "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(got.named, "");
	ck_assert_str_eq(got.txid, "tx 1");
	ck_assert_str_eq(got.reason, "a reason");
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-old", &got), 0);
	ck_assert_str_eq(got.mail, "bob@example.com");
	ck_assert_int_eq(got.state, JRNL_PUBLISHED);
	ck_assert_str_eq(got.serial, "0DEF");
	ck_assert_str_eq(got.addrs, "?");
	ck_assert_str_eq(got.named, "?");
	ck_assert_str_eq(got.txid, "");
	ck_assert_str_eq(got.reason, "");
	/* written back as e2 */
	strcpy(got.named, "");
	ck_assert_int_eq(jrnl_enr_put(j, &got), 0);
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-old", &got), 0);
	ck_assert_str_eq(got.addrs, "?");
	ck_assert_str_eq(got.named, "");
	jrnl_close(j);
}
END_TEST

/*
 * A group of puts commits all or nothing: aborted, or with one put that
 * failed (a bad person id), none of its records is there afterwards; a
 * committed group holds every record and each transition in the history.
 */
START_TEST(test_grouped)
{
	struct jrnl_enr e, got;
	struct jrnl_tx *tx;
	struct jrnl *j;
	unsigned char *blob = NULL;
	size_t len = 0;
	char hist[512] = "";

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	memset(&e, 0, sizeof(e));
	strcpy(e.person_id, "uuid-g");
	strcpy(e.mail, "grace@example.com");

	ck_assert_ptr_nonnull(tx = jrnl_tx_begin(j));
	e.state = JRNL_PLANNED;
	ck_assert_int_eq(jrnl_tx_enr_put(tx, &e), 0);
	ck_assert_int_eq(jrnl_tx_held_put(tx, "uuid-g", "sealed", 6), 0);
	jrnl_tx_abort(tx);
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-g", &got), 1);
	ck_assert_int_eq(jrnl_held_get(j, "uuid-g", &blob, &len), 1);

	ck_assert_ptr_nonnull(tx = jrnl_tx_begin(j));
	ck_assert_int_eq(jrnl_tx_enr_put(tx, &e), 0);
	ck_assert_int_eq(jrnl_tx_held_put(tx, "", "sealed", 6), -1);
	ck_assert_int_eq(jrnl_tx_commit(tx), -1);
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-g", &got), 1);

	ck_assert_ptr_nonnull(tx = jrnl_tx_begin(j));
	ck_assert_int_eq(jrnl_tx_enr_put(tx, &e), 0);
	ck_assert_int_eq(jrnl_tx_held_put(tx, "uuid-g", "sealed", 6), 0);
	e.state = JRNL_KEY_READY;
	ck_assert_int_eq(jrnl_tx_enr_put(tx, &e), 0);
	e.state = JRNL_SUBMITTED;
	ck_assert_int_eq(jrnl_tx_enr_put(tx, &e), 0);
	ck_assert_int_eq(jrnl_tx_commit(tx), 0);
	jrnl_close(j);

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_enr_get(j, "uuid-g", &got), 0);
	ck_assert_int_eq(got.state, JRNL_SUBMITTED);
	ck_assert_int_eq(jrnl_held_get(j, "uuid-g", &blob, &len), 0);
	ck_assert_int_eq(len, 6);
	ck_assert_int_eq(memcmp(blob, "sealed", 6), 0);
	free(blob);
	ck_assert_int_eq(jrnl_enr_history(j, "uuid-g", hist_cb, hist), 0);
	ck_assert_str_eq(hist, "PLANNED KEY_READY SUBMITTED ");
	jrnl_close(j);
}
END_TEST

/* DNS state: put, get after a reopen, each; a reason with a tab and a
 * newline stays one field. */
static int
count_dns(const struct jrnl_dns *d, void *arg)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_dns_state)
{
	struct jrnl *j;
	struct jrnl_dns d, got;
	int n = 0;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_dns_get(j, "id-1", &got), 1);
	memset(&d, 0, sizeof(d));
	strcpy(d.person_id, "id-1");
	d.pending = 1;
	d.attempts = 3;
	d.next_retry = 1234567890;
	strcpy(d.reason, "no answer\tfrom\n127.0.0.1:53");
	ck_assert_int_eq(jrnl_dns_put(j, &d), 0);
	strcpy(d.person_id, "id-2");
	d.pending = 0;
	d.synced = 42;
	d.reason[0] = '\0';
	ck_assert_int_eq(jrnl_dns_put(j, &d), 0);
	jrnl_close(j);
	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	ck_assert_int_eq(jrnl_dns_get(j, "id-1", &got), 0);
	ck_assert_str_eq(got.person_id, "id-1");
	ck_assert_int_eq(got.pending, 1);
	ck_assert_int_eq(got.attempts, 3);
	ck_assert_int_eq(got.next_retry, 1234567890);
	ck_assert_str_eq(got.reason, "no answer from 127.0.0.1:53");
	ck_assert_int_ge(got.updated, time(NULL) - 60);
	ck_assert_int_eq(jrnl_dns_get(j, "id-2", &got), 0);
	ck_assert_int_eq(got.pending, 0);
	ck_assert_int_eq(got.synced, 42);
	ck_assert_str_eq(got.reason, "");
	ck_assert_int_eq(jrnl_dns_each(j, count_dns, &n), 0);
	ck_assert_int_eq(n, 2);
	jrnl_close(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("jrnl");
	TCase *tc = tcase_create("jrnl");
	SRunner *sr;
	int nf;

	log_init("test_jrnl", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_certs);
	tcase_add_test(tc, test_enrolments);
	tcase_add_test(tc, test_enr_addrs);
	tcase_add_test(tc, test_grouped);
	tcase_add_test(tc, test_dns_state);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
