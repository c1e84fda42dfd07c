/*
 * test_lk_cache.c — the lookup cache: positive and negative TTL on a fake
 * clock, the LRU bound, one fill for concurrent misses of one address, a
 * failed fill cached for nobody, and flush; certificates parsed once by
 * their DER bytes (lk_x509.c).
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "lookup/lk.h"

static time_t fake_now = 1000;
static time_t fake_clock(void) { return fake_now; }

static atomic_int fills;
static int fill_fail;
static int fill_positive;
static useconds_t fill_sleep;

/* A "positive" answer is faked with n = 1 and no certificate array. */
static int
fake_fill(const char *key, void *arg, struct lk_res **out)
{
	struct lk_res *r;

	(void)arg;
	atomic_fetch_add(&fills, 1);
	if (fill_sleep > 0)
		usleep(fill_sleep);
	if (fill_fail)
		return -1;
	if ((r = lk_res_new(key)) == NULL)
		return -1;
	if (fill_positive) {
		r->certs = calloc(1, sizeof(*r->certs));
		r->n = 1;
	}
	*out = r;
	return 0;
}

static void
reset(void)
{
	fake_now = 1000;
	atomic_store(&fills, 0);
	fill_fail = 0;
	fill_positive = 1;
	fill_sleep = 0;
}

/* Each key through fake_fill. */
static void
fill_each(const char *const *keys, size_t n, void *arg, struct lk_res **out,
    int *rcs)
{
	size_t i;

	for (i = 0; i < n; i++)
		rcs[i] = fake_fill(keys[i], arg, &out[i]);
}

/* One key, as lookupd asks (lk_cache_get_many): 0 or -1, *out. */
static int
get_one(struct lk_cache *c, const char *key, struct lk_res **out)
{
	int rc;

	lk_cache_get_many(c, &key, 1, fill_each, NULL, out, &rc);
	return rc;
}

/* How the cache answered, from its counters (one thread at a time). */
enum how { HIT, MISS, SHARED };

static void
get_ok(struct lk_cache *c, const char *key, enum how want)
{
	struct lk_cache_stats a, b;
	struct lk_res *r = NULL;

	lk_cache_stats(c, &a);
	ck_assert_int_eq(get_one(c, key, &r), 0);
	lk_cache_stats(c, &b);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->mail, key);
	ck_assert_uint_eq(b.hits - a.hits, want == HIT);
	ck_assert_uint_eq(b.misses - a.misses, want == MISS);
	ck_assert_uint_eq(b.shared - a.shared, want == SHARED);
	lk_res_unref(r);
}

/* A self-signed certificate for cn, as DER (OPENSSL_free). */
static int
der_cert(EVP_PKEY *k, const char *cn, long serial, unsigned char **der)
{
	X509 *x = X509_new();
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	*der = NULL;
	len = i2d_X509(x, der);
	X509_free(x);
	return len;
}

/* Parsed once: the same DER gives the same X509, others their own; an
 * unparsable value is NULL every time and never kept. */
START_TEST(test_parse_cache)
{
	struct lk_x509c *c = lk_x509c_new(0, 32768);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *a, *b, junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned long hits, misses;
	X509 *x1, *x2, *x3, *y;
	int la, lb, i;

	la = der_cert(k, "a", 1, &a);
	lb = der_cert(k, "b", 2, &b);
	ck_assert_int_gt(la, 0);
	x1 = lk_x509c_get(c, a, (size_t)la);
	x2 = lk_x509c_get(c, a, (size_t)la);
	x3 = lk_x509c_get(c, b, (size_t)lb);
	ck_assert_ptr_nonnull(x1);
	ck_assert_ptr_eq(x1, x2);
	ck_assert_ptr_ne(x1, x3);
	ck_assert_int_eq(X509_cmp(x1, x3) != 0, 1);
	/* one byte off (the signature's last): not the same value */
	a[la - 1] ^= 1;
	y = lk_x509c_get(c, a, (size_t)la);
	ck_assert_ptr_ne(y, x1);
	X509_free(y);
	a[la - 1] ^= 1;
	ck_assert_ptr_null(lk_x509c_get(c, junk, sizeof(junk)));
	ck_assert_ptr_null(lk_x509c_get(c, junk, sizeof(junk)));
	lk_x509c_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(misses, 5);
	/* a few hundred more values: each gets its own certificate back */
	for (i = 0; i < 500; i++) {
		unsigned char *d;
		int ld = der_cert(k, "many", 100 + i, &d);

		y = lk_x509c_get(c, d, (size_t)ld);
		ck_assert_ptr_nonnull(y);
		ck_assert_int_eq(ASN1_INTEGER_get(X509_get0_serialNumber(y)),
		    100 + i);
		X509_free(y);
		OPENSSL_free(d);
	}
	/* no table (lookup.cache_max under 4): parsed every time */
	ck_assert_ptr_null(lk_x509c_new(0, 3));
	y = lk_x509c_get(NULL, a, (size_t)la);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_ne(y, x1);
	ck_assert_int_eq(X509_cmp(y, x1), 0);
	X509_free(y);
	/* the references handed out outlive the table */
	lk_x509c_free(c);
	ck_assert_int_eq(ASN1_INTEGER_get(X509_get0_serialNumber(x1)), 1);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	OPENSSL_free(a);
	OPENSSL_free(b);
	EVP_PKEY_free(k);
}
END_TEST

/* Bundles too: the same bytes give the same certificates, in a stack of
 * the caller's own. */
START_TEST(test_parse_cache_bundle)
{
	struct lk_x509c *c = lk_x509c_new(1, 64);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *a, *p7 = NULL;
	const unsigned char *pa;
	unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	STACK_OF(X509) *s1, *s2, *chain = sk_X509_new_null();
	size_t p7len = 0;
	X509 *leaf, *ca;
	int la;

	la = der_cert(k, "leaf", 1, &a);
	pa = a;
	leaf = d2i_X509(NULL, &pa, la);
	OPENSSL_free(a);
	la = der_cert(k, "ca", 2, &a);
	pa = a;
	ca = d2i_X509(NULL, &pa, la);
	OPENSSL_free(a);
	sk_X509_push(chain, ca);
	ck_assert_int_eq(x509_certsonly_build(leaf, chain, &p7, &p7len), 0);
	s1 = lk_x509c_get_bundle(c, p7, p7len);
	s2 = lk_x509c_get_bundle(c, p7, p7len);
	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_nonnull(s2);
	ck_assert_ptr_ne(s1, s2);
	ck_assert_int_eq(sk_X509_num(s1), 2);
	ck_assert_int_eq(sk_X509_num(s2), 2);
	ck_assert_ptr_eq(sk_X509_value(s1, 0), sk_X509_value(s2, 0));
	ck_assert_int_eq(X509_cmp(sk_X509_value(s1, 0), leaf), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(s1, 1), ca), 0);
	ck_assert_ptr_null(lk_x509c_get_bundle(c, junk, sizeof(junk)));
	/* the caller's stack outlives the table */
	lk_x509c_free(c);
	ck_assert_int_eq(X509_cmp(sk_X509_value(s2, 0), leaf), 0);
	sk_X509_pop_free(s1, X509_free);
	sk_X509_pop_free(s2, X509_free);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	OPENSSL_free(p7);
	EVP_PKEY_free(k);
}
END_TEST

/* lk_cache_get_many: the fill sees each missing key once, in one call. */
static char many_seen[8][64];
static size_t many_n;
static int many_calls;

static void
fake_fill_many(const char *const *keys, size_t n, void *arg,
    struct lk_res **out, int *rcs)
{
	size_t i;

	many_calls++;
	many_n = n;
	for (i = 0; i < n; i++) {
		snprintf(many_seen[i], sizeof(many_seen[i]), "%s", keys[i]);
		/* "bad@" fails; the others answer as fake_fill does */
		if (strncmp(keys[i], "bad@", 4) == 0) {
			out[i] = NULL;
			rcs[i] = -1;
		} else
			rcs[i] = fake_fill(keys[i], arg, &out[i]);
	}
}

START_TEST(test_get_many)
{
	struct lk_cache *c;
	struct lk_cache_stats st;
	static const char *const keys[6] = { "a@x.org", "b@x.org",
	    "a@x.org", "bad@x.org", "c@x.org", "b@x.org" };
	struct lk_res *out[6];
	int rcs[6], i;

	reset();
	c = lk_cache_new(10, 300, 60, fake_clock);
	get_ok(c, "c@x.org", MISS);	/* cached: a hit below */
	lk_cache_get_many(c, keys, 6, fake_fill_many, NULL, out, rcs);
	/* one fill, of the three missing keys, each once */
	ck_assert_int_eq(many_calls, 1);
	ck_assert_uint_eq(many_n, 3);
	ck_assert_str_eq(many_seen[0], "a@x.org");
	ck_assert_str_eq(many_seen[1], "b@x.org");
	ck_assert_str_eq(many_seen[2], "bad@x.org");
	for (i = 0; i < 6; i++) {
		if (i == 3) {
			ck_assert_int_eq(rcs[i], -1);
			ck_assert_ptr_null(out[i]);
			continue;
		}
		ck_assert_int_eq(rcs[i], 0);
		ck_assert_ptr_nonnull(out[i]);
		ck_assert_str_eq(out[i]->mail, keys[i]);
	}
	/* a key twice: both share one answer */
	ck_assert_ptr_eq(out[0], out[2]);
	ck_assert_ptr_eq(out[1], out[5]);
	for (i = 0; i < 6; i++)
		lk_res_unref(out[i]);
	lk_cache_stats(c, &st);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.shared, 2);
	ck_assert_uint_eq(st.errors, 1);
	/* cached now, the failed one not */
	get_ok(c, "a@x.org", HIT);
	get_ok(c, "b@x.org", HIT);
	get_ok(c, "bad@x.org", MISS);
	lk_cache_free(c);
}
END_TEST

START_TEST(test_ttl)
{
	struct lk_cache *c;

	reset();
	c = lk_cache_new(10, 300, 60, fake_clock);
	get_ok(c, "a@example.com", MISS);
	get_ok(c, "a@example.com", HIT);
	fake_now += 299;
	get_ok(c, "a@example.com", HIT);
	fake_now += 1;
	get_ok(c, "a@example.com", MISS);
	ck_assert_int_eq(atomic_load(&fills), 2);

	/* negative answers live negative_ttl */
	fill_positive = 0;
	get_ok(c, "none@example.com", MISS);
	fake_now += 59;
	get_ok(c, "none@example.com", HIT);
	fake_now += 1;
	get_ok(c, "none@example.com", MISS);
	lk_cache_free(c);
}
END_TEST

START_TEST(test_ttl_zero)
{
	struct lk_cache *c;

	reset();
	c = lk_cache_new(10, 0, 0, fake_clock);
	get_ok(c, "a@example.com", MISS);
	get_ok(c, "a@example.com", MISS);
	ck_assert_int_eq(atomic_load(&fills), 2);
	lk_cache_free(c);
}
END_TEST

START_TEST(test_lru)
{
	struct lk_cache *c;
	struct lk_cache_stats st;

	reset();
	c = lk_cache_new(2, 300, 60, fake_clock);
	get_ok(c, "a@x.org", MISS);
	get_ok(c, "b@x.org", MISS);
	get_ok(c, "a@x.org", HIT);	/* a is now the most recent */
	get_ok(c, "c@x.org", MISS);	/* evicts b */
	get_ok(c, "a@x.org", HIT);
	get_ok(c, "c@x.org", HIT);
	get_ok(c, "b@x.org", MISS);	/* evicts a */
	get_ok(c, "c@x.org", HIT);
	get_ok(c, "a@x.org", MISS);
	lk_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.evictions, 3);
	ck_assert_uint_eq(st.hits, 4);
	ck_assert_uint_eq(st.misses, 5);
	lk_cache_flush(c);
	lk_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, 0);
	get_ok(c, "c@x.org", MISS);
	lk_cache_free(c);
}
END_TEST

START_TEST(test_error_not_cached)
{
	struct lk_cache *c;
	struct lk_res *r = (void *)1;

	reset();
	c = lk_cache_new(10, 300, 60, fake_clock);
	fill_fail = 1;
	ck_assert_int_eq(get_one(c, "a@x.org", &r), -1);
	ck_assert_ptr_null(r);
	fill_fail = 0;
	get_ok(c, "a@x.org", MISS);
	ck_assert_int_eq(atomic_load(&fills), 2);
	lk_cache_free(c);
}
END_TEST

struct thr { struct lk_cache *c; const char *key; int rc; };

static void *
getter(void *arg)
{
	struct thr *t = arg;
	struct lk_res *r = NULL;

	t->rc = get_one(t->c, t->key, &r);
	if (t->rc == 0 && strcmp(r->mail, t->key) != 0)
		t->rc = -2;
	lk_res_unref(r);
	return NULL;
}

static void
flight(int fail)
{
	enum { N = 16 };
	pthread_t th[N];
	struct thr t[N];
	struct lk_cache *c;
	struct lk_cache_stats st;
	int i;

	reset();
	fill_fail = fail;
	fill_sleep = 200000;	/* every other thread arrives during the fill */
	c = lk_cache_new(10, 300, 60, NULL);
	for (i = 0; i < N; i++) {
		t[i].c = c;
		t[i].key = "same@example.com";
		pthread_create(&th[i], NULL, getter, &t[i]);
	}
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].rc, fail ? -1 : 0);
	}
	ck_assert_int_eq(atomic_load(&fills), 1);
	lk_cache_stats(c, &st);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.shared, N - 1);
	lk_cache_free(c);
}

START_TEST(test_single_flight) { flight(0); }
END_TEST

START_TEST(test_single_flight_error) { flight(1); }
END_TEST

START_TEST(test_distinct_keys_parallel)
{
	enum { N = 8 };
	static const char *keys[N] = { "a@x.org", "b@x.org", "c@x.org",
	    "d@x.org", "a@x.org", "b@x.org", "c@x.org", "d@x.org" };
	pthread_t th[N];
	struct thr t[N];
	struct lk_cache *c;
	int i;

	reset();
	fill_sleep = 100000;
	c = lk_cache_new(2, 300, 60, NULL);	/* smaller than the key set */
	for (i = 0; i < N; i++) {
		t[i].c = c;
		t[i].key = keys[i];
		pthread_create(&th[i], NULL, getter, &t[i]);
	}
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].rc, 0);
	}
	ck_assert_int_eq(atomic_load(&fills), 4);
	lk_cache_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lk_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	log_init("test_lk_cache", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ttl);
	tcase_add_test(tc, test_get_many);
	tcase_add_test(tc, test_ttl_zero);
	tcase_add_test(tc, test_lru);
	tcase_add_test(tc, test_error_not_cached);
	tcase_add_test(tc, test_single_flight);
	tcase_add_test(tc, test_single_flight_error);
	tcase_add_test(tc, test_distinct_keys_parallel);
	tcase_add_test(tc, test_parse_cache);
	tcase_add_test(tc, test_parse_cache_bundle);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
