/*
 * test_keypool.c — the key pool (enrol/keypool.c): take hands out distinct
 * keys of the configured type, each once; an empty pool, or one of another
 * type, gives NULL; a type change frees the pool; the filler fills to the
 * size, pauses, refills, and drops a key in progress on shutdown or on a
 * type change; private keys land in OpenSSL's secure heap.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/keys.h"
#include "common/log.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"	/* the pool's counters */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to secs for the pool to hold n keys. */
static int
wait_count(struct enr_keypool *p, size_t n, double secs)
{
	double end = now() + secs;

	while (enr_keypool_count(p) != n && now() < end)
		nap(20);
	return enr_keypool_count(p) == n;
}

/* The curve of an EC key ("prime256v1", ...) into buf; "" for others. */
static const char *
curve(EVP_PKEY *k, char *buf, size_t sz)
{
	size_t len = 0;

	buf[0] = '\0';
	if (EVP_PKEY_is_a(k, "EC"))
		(void)EVP_PKEY_get_utf8_string_param(k, "group", buf, sz, &len);
	return buf;
}

/* The n keys are pairwise different objects and different key pairs. */
static void
assert_distinct(EVP_PKEY **k, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			ck_assert_ptr_ne(k[i], k[j]);
			ck_assert_int_ne(EVP_PKEY_eq(k[i], k[j]), 1);
		}
}

START_TEST(take_each_once)
{
	struct enr_keypool *p;
	EVP_PKEY *k[4], *extra;
	char g[32];
	size_t i;

	ck_assert_ptr_null(enr_keypool_take(NULL, "ec:P-256"));
	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_ptr_null(enr_keypool_take(p, "ec:P-256"));	/* size 0 */
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 3), 0);
	ck_assert_ptr_null(enr_keypool_take(p, "ec:P-256"));	/* empty */
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(k[i] = keys_generate("ec:P-256"));
		ck_assert_int_eq(enr_keypool_put(p, "ec:P-256", k[i]), 0);
	}
	ck_assert_ptr_nonnull(extra = keys_generate("ec:P-256"));
	ck_assert_int_eq(enr_keypool_put(p, "ec:P-256", extra), 1);	/* full: freed */
	ck_assert_uint_eq(enr_keypool_count(p), 3);
	/* another type asked for: nothing, and nothing taken */
	ck_assert_ptr_null(enr_keypool_take(p, "ec:P-384"));
	ck_assert_uint_eq(enr_keypool_count(p), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(k[i] = enr_keypool_take(p, "ec:P-256"));
		ck_assert_str_eq(curve(k[i], g, sizeof(g)), "prime256v1");
	}
	ck_assert_ptr_null(enr_keypool_take(p, "ec:P-256"));	/* each once */
	ck_assert_uint_eq(enr_keypool_count(p), 0);
	assert_distinct(k, 3);
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	enr_keypool_free(p);
}
END_TEST

START_TEST(type_change_discards)
{
	struct enr_keypool *p;
	EVP_PKEY *k;
	char g[32];
	int i;

	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 3), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(enr_keypool_put(p, "ec:P-256",
		    keys_generate("ec:P-256")), 0);
	/* smaller: the extra keys go */
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 2), 0);
	ck_assert_uint_eq(enr_keypool_count(p), 2);
	/* an invalid type changes nothing */
	ck_assert_int_eq(enr_keypool_config(p, "rsa:1024", 2), -1);
	ck_assert_int_eq(enr_keypool_config(p, NULL, 2), -1);
	ck_assert_uint_eq(enr_keypool_count(p), 2);
	/* another type: the whole pool goes */
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-384", 2), 0);
	ck_assert_uint_eq(enr_keypool_count(p), 0);
	ck_assert_ptr_null(enr_keypool_take(p, "ec:P-256"));
	/* a late key of the old type is refused */
	ck_assert_int_eq(enr_keypool_put(p, "ec:P-256", keys_generate("ec:P-256")), 1);
	ck_assert_int_eq(enr_keypool_put(p, "ec:P-384", keys_generate("ec:P-384")), 0);
	ck_assert_ptr_nonnull(k = enr_keypool_take(p, "ec:P-384"));
	ck_assert_str_eq(curve(k, g, sizeof(g)), "secp384r1");
	EVP_PKEY_free(k);
	/* size 0: off */
	ck_assert_int_eq(enr_keypool_put(p, "ec:P-384", keys_generate("ec:P-384")), 0);
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-384", 0), 0);
	ck_assert_uint_eq(enr_keypool_count(p), 0);
	ck_assert_int_eq(enr_keypool_put(p, "ec:P-384", keys_generate("ec:P-384")), 1);
	enr_keypool_free(p);
}
END_TEST

START_TEST(filler_fills_pauses_refills)
{
	struct enr_keypool *p;
	EVP_PKEY *k[5];
	size_t i;

	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 4), 0);
	ck_assert_int_eq(enr_keypool_start(p), 0);
	ck_assert(wait_count(p, 4, 20));
	nap(100);
	ck_assert_uint_eq(enr_keypool_count(p), 4);	/* never beyond the size */
	enr_keypool_pause(p, 1);
	ck_assert_ptr_nonnull(k[0] = enr_keypool_take(p, "ec:P-256"));
	ck_assert_ptr_nonnull(k[1] = enr_keypool_take(p, "ec:P-256"));
	nap(300);
	ck_assert_uint_eq(enr_keypool_count(p), 2);	/* paused: not refilled */
	enr_keypool_pause(p, 0);
	ck_assert(wait_count(p, 4, 20));
	for (i = 2; i < 5; i++)
		ck_assert_ptr_nonnull(k[i] = enr_keypool_take(p, "ec:P-256"));
	assert_distinct(k, 5);
	for (i = 0; i < 5; i++)
		EVP_PKEY_free(k[i]);
	enr_keypool_free(p);
}
END_TEST

START_TEST(filler_type_change)
{
	struct enr_keypool *p;
	EVP_PKEY *k[3];
	char g[32];
	size_t i;

	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 3), 0);
	ck_assert_int_eq(enr_keypool_start(p), 0);
	ck_assert(wait_count(p, 3, 20));
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-384", 3), 0);
	ck_assert(wait_count(p, 3, 20));
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(k[i] = enr_keypool_take(p, "ec:P-384"));
		ck_assert_str_eq(curve(k[i], g, sizeof(g)), "secp384r1");
	}
	assert_distinct(k, 3);
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	enr_keypool_free(p);
}
END_TEST

/*
 * An RSA-4096 key takes a second or more to generate; one in progress is
 * dropped (keygen callback) when the type changes or the pool is freed,
 * rather than finished.
 */
START_TEST(filler_drops_key_in_progress)
{
	struct enr_keypool *p;
	EVP_PKEY *k;
	int i;

	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_int_eq(enr_keypool_config(p, "rsa:4096", 1), 0);
	ck_assert_int_eq(enr_keypool_start(p), 0);
	for (i = 0; i < 2000 && !enr_keypool_busy(p); i++)
		nap(10);
	ck_assert(enr_keypool_busy(p));
	ck_assert_int_eq(enr_keypool_config(p, "ec:P-256", 1), 0);
	ck_assert(wait_count(p, 1, 20));
	/* the RSA key in progress was dropped, not finished and thrown away
	 * (no timing: a loaded machine may be slow either way) */
	ck_assert_uint_eq(enr_keypool_abandoned(p), 1);
	ck_assert_ptr_nonnull(k = enr_keypool_take(p, "ec:P-256"));
	ck_assert(EVP_PKEY_is_a(k, "EC"));
	EVP_PKEY_free(k);
	/* the same for shutdown: enr_keypool_free() returns with one in progress */
	ck_assert_int_eq(enr_keypool_config(p, "rsa:4096", 1), 0);
	for (i = 0; i < 2000 && !enr_keypool_busy(p); i++)
		nap(10);
	ck_assert(enr_keypool_busy(p));
	enr_keypool_free(p);
}
END_TEST

START_TEST(secure_heap)
{
	struct enr_keypool *p;
	EVP_PKEY *k;
	size_t before;

	ck_assert_ptr_nonnull(p = enr_keypool_new());
	ck_assert_int_eq(enr_keypool_config(p, "rsa:2048", 2), 0);
	ck_assert_int_ge(enr_keypool_secure_heap(2), 0);
	ck_assert(CRYPTO_secure_malloc_initialized());
	/* the first key sets up what OpenSSL keeps for good (its DRBG) */
	EVP_PKEY_free(keys_generate("rsa:2048"));
	before = CRYPTO_secure_used();
	ck_assert_int_eq(enr_keypool_start(p), 0);
	ck_assert(wait_count(p, 2, 60));
	/* the pooled keys' private halves are in the secure heap */
	ck_assert_uint_gt(CRYPTO_secure_used(), before + 2 * 256);
	ck_assert_ptr_nonnull(k = enr_keypool_take(p, "rsa:2048"));
	ck_assert(EVP_PKEY_is_a(k, "RSA"));
	ck_assert_int_eq(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
	enr_keypool_free(p);
	ck_assert_uint_eq(CRYPTO_secure_used(), before);	/* all freed */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keypool");
	TCase *tc = tcase_create("keypool");
	SRunner *sr;
	int failed;

	log_init("test_keypool", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, take_each_once);
	tcase_add_test(tc, type_change_discards);
	tcase_add_test(tc, filler_fills_pauses_refills);
	tcase_add_test(tc, filler_type_change);
	tcase_add_test(tc, filler_drops_key_in_progress);
	tcase_add_test(tc, secure_heap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
