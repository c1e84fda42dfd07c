/*
 * test_keystore.c — the sealed key of an enrolment in progress: what is held
 * comes back (same key, same chain), nothing held is "none", a value altered
 * in the journal or opened under another person's id or another
 * key-encryption key does not open, and the key-encryption key is a 0600
 * file made once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/jrnl.h"
#include "common/keys.h"
#include "common/log.h"
#include "enrol/enrol_priv.h"

static char tmpdir[] = "/tmp/test_keystore.XXXXXX";

static X509 *
mkcert(EVP_PKEY *k, long serial)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"test CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	return x;
}

/* enr_keystore_hold seals into a write transaction; these tests commit it alone. */
static int
hold(struct jrnl *j, const char *id, EVP_PKEY *k, STACK_OF(X509) *chain)
{
	struct jrnl_tx *tx = jrnl_tx_begin(j);

	ck_assert_ptr_nonnull(tx);
	if (enr_keystore_hold(tmpdir, tx, id, k, chain) == -1) {
		jrnl_tx_abort(tx);
		return -1;
	}
	return jrnl_tx_commit(tx);
}

/* A blob as it is, where enr_keystore_hold would have sealed one. */
static int
held_put(struct jrnl *j, const char *id, const void *blob, size_t len)
{
	struct jrnl_tx *tx = jrnl_tx_begin(j);

	ck_assert_ptr_nonnull(tx);
	if (jrnl_tx_held_put(tx, id, blob, len) == -1) {
		jrnl_tx_abort(tx);
		return -1;
	}
	return jrnl_tx_commit(tx);
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
	strcpy(tmpdir, "/tmp/test_keystore.XXXXXX");
}

START_TEST(test_round_trip)
{
	struct jrnl *j = jrnl_open(tmpdir);
	EVP_PKEY *k = keys_generate("ec:P-256"), *back = NULL;
	EVP_PKEY *cak = keys_generate("ec:P-256");
	STACK_OF(X509) *chain = sk_X509_new_null(), *cb = NULL;
	X509 *ca = mkcert(cak, 7);
	char path[300];
	struct stat st;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-1", &back, &cb), 1);
	ck_assert_ptr_null(back);
	sk_X509_push(chain, ca);
	ck_assert_int_eq(hold(j, "id-1", k, NULL), 0);
	ck_assert_int_eq(hold(j, "id-1", k, chain), 0);
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-1", &back, &cb), 0);
	ck_assert_int_eq(EVP_PKEY_eq(k, back), 1);
	ck_assert_int_eq(sk_X509_num(cb), 1);
	ck_assert_int_eq(X509_cmp(sk_X509_value(cb, 0), ca), 0);
	EVP_PKEY_free(back);
	sk_X509_pop_free(cb, X509_free);
	/* the key-encryption key: a 0600 file, 64 hex digits and a newline */
	snprintf(path, sizeof(path), "%s/keystore.key", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 65);
	ck_assert_int_eq(enr_keystore_drop(j, "id-1"), 0);
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-1", &back, &cb), 1);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	jrnl_close(j);
}
END_TEST

START_TEST(test_tamper)
{
	struct jrnl *j = jrnl_open(tmpdir);
	EVP_PKEY *k = keys_generate("ec:P-256"), *back = NULL;
	STACK_OF(X509) *cb = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;
	char path[300];
	FILE *fp;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(hold(j, "id-1", k, NULL), 0);
	/* moved to another person: the id is authenticated */
	ck_assert_int_eq(jrnl_held_get(j, "id-1", &blob, &len), 0);
	ck_assert_int_eq(held_put(j, "id-2", blob, len), 0);
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-2", &back, &cb), -1);
	ck_assert_ptr_null(back);
	/* one bit flipped */
	blob[len / 2] ^= 1;
	ck_assert_int_eq(held_put(j, "id-2", blob, len), 0);
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-2", &back, &cb), -1);
	free(blob);
	/* the key-encryption key replaced */
	snprintf(path, sizeof(path), "%s/keystore.key", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "%064d\n", 0);
	fclose(fp);
	/* the key process read the KEK when it started: it still opens */
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-1", &back, &cb), 0);
	EVP_PKEY_free(back);
	sk_X509_pop_free(cb, X509_free);
	/* a new key process reads the new file: it does not */
	enr_kekproc_stop();
	ck_assert_int_eq(enr_keystore_take(tmpdir, j, "id-1", &back, &cb), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "does not open"));
	/* and one that others may read is refused outright */
	ck_assert_int_eq(chmod(path, 0644), 0);
	enr_kekproc_stop();
	ck_assert_int_eq(hold(j, "id-3", k, NULL), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "mode 0600 or 0400"));
	EVP_PKEY_free(k);
	jrnl_close(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keystore");
	TCase *tc = tcase_create("keystore");
	SRunner *sr;
	int nf;

	log_init("test_keystore", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_tamper);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
