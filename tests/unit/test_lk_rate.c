/*
 * test_lk_rate.c — per-client token buckets on a fake clock: the burst,
 * then 429 with the right Retry-After, refill at the rate, clients apart,
 * IPv6 by /64 and IPv4-mapped as IPv4, rate 0 = unlimited; batches that
 * take one token per recipient, all or none. The connection cap
 * (lk_conns.c) counts alike: IPv6 by /64, IPv4-mapped as IPv4.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "lookup/lk.h"

static double now;
static double fake(void) { return now; }

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static int
take(struct lk_rate *r, const char *a, unsigned *retry)
{
	struct sockaddr_storage ss = addr(a);
	unsigned dummy;

	return lk_rate_take(r, (struct sockaddr *)&ss, retry ? retry : &dummy);
}

START_TEST(test_burst_then_limit)
{
	struct lk_rate *r;
	unsigned retry = 0;
	int i;

	now = 100;
	r = lk_rate_new(2, 5, fake);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(take(r, "127.0.0.1", NULL), 1);
	ck_assert_int_eq(take(r, "127.0.0.1", &retry), 0);
	ck_assert_uint_eq(retry, 1);	/* 1 token at 2/s: 0.5 s, rounded up */
	now += 0.5;
	ck_assert_int_eq(take(r, "127.0.0.1", NULL), 1);
	ck_assert_int_eq(take(r, "127.0.0.1", NULL), 0);
	now += 10;			/* full again, never more than burst */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(take(r, "127.0.0.1", NULL), 1);
	ck_assert_int_eq(take(r, "127.0.0.1", NULL), 0);
	lk_rate_free(r);
}
END_TEST

START_TEST(test_retry_after_slow_rate)
{
	struct lk_rate *r;
	unsigned retry = 0;

	now = 0;
	r = lk_rate_new(0.1, 1, fake);	/* one every 10 s */
	ck_assert_int_eq(take(r, "10.0.0.1", NULL), 1);
	ck_assert_int_eq(take(r, "10.0.0.1", &retry), 0);
	ck_assert_uint_eq(retry, 10);
	now = 4;
	ck_assert_int_eq(take(r, "10.0.0.1", &retry), 0);
	ck_assert_uint_eq(retry, 6);
	lk_rate_free(r);
}
END_TEST

START_TEST(test_clients_apart)
{
	struct lk_rate *r;

	now = 0;
	r = lk_rate_new(1, 1, fake);
	ck_assert_int_eq(take(r, "10.0.0.1", NULL), 1);
	ck_assert_int_eq(take(r, "10.0.0.1", NULL), 0);
	ck_assert_int_eq(take(r, "10.0.0.2", NULL), 1);
	/* IPv4-mapped is the same client as the IPv4 address */
	ck_assert_int_eq(take(r, "::ffff:10.0.0.2", NULL), 0);
	/* IPv6 by /64 */
	ck_assert_int_eq(take(r, "2001:db8:1:2::1", NULL), 1);
	ck_assert_int_eq(take(r, "2001:db8:1:2::ffff", NULL), 0);
	ck_assert_int_eq(take(r, "2001:db8:1:3::1", NULL), 1);
	ck_assert_uint_eq(lk_rate_clients(r), 4);
	lk_rate_free(r);
}
END_TEST

START_TEST(test_forget_full_buckets)
{
	struct lk_rate *r;
	char a[32];
	int i;

	now = 0;
	r = lk_rate_new(10, 10, fake);
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		ck_assert_int_eq(take(r, a, NULL), 1);
	}
	ck_assert_uint_eq(lk_rate_clients(r), 5000);
	now = 5;	/* every bucket has refilled: they go as chains are walked */
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "11.%d.%d.1", i / 256, i % 256);
		ck_assert_int_eq(take(r, a, NULL), 1);
	}
	ck_assert_uint_lt(lk_rate_clients(r), 7000);
	lk_rate_free(r);
}
END_TEST

START_TEST(test_unlimited)
{
	struct lk_rate *r;
	unsigned retry = 7;
	int i;

	r = lk_rate_new(0, 1, fake);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(take(r, "10.0.0.1", &retry), 1);
	ck_assert_uint_eq(retry, 0);
	ck_assert_int_eq(lk_rate_take(r, NULL, &retry), 1);
	lk_rate_free(r);
}
END_TEST

static int
take_n(struct lk_rate *r, const char *a, double cost, unsigned *retry)
{
	struct sockaddr_storage ss = addr(a);

	return lk_rate_take_n(r, (struct sockaddr *)&ss, cost, retry);
}

START_TEST(test_batch_cost)
{
	struct lk_rate *r;
	unsigned retry = 0;

	now = 0;
	r = lk_rate_new(10, 20, fake);	/* batch_rate 10, batch_burst 20 */
	ck_assert_int_eq(take_n(r, "10.0.0.1", 20, &retry), 1);
	ck_assert_uint_eq(retry, 0);
	/* empty: 20 more need 2 s at 10/s */
	ck_assert_int_eq(take_n(r, "10.0.0.1", 20, &retry), 0);
	ck_assert_uint_eq(retry, 2);
	/* refused whole: nothing was taken, so 0.1 s later one token is in */
	now = 0.1;
	ck_assert_int_eq(take_n(r, "10.0.0.1", 1, &retry), 1);
	/* 1.5 s later 15 tokens: 16 are short by one, 0.1 s, rounded to 1 */
	now = 1.6;
	ck_assert_int_eq(take_n(r, "10.0.0.1", 16, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(take_n(r, "10.0.0.1", 15, &retry), 1);
	ck_assert_int_eq(take_n(r, "10.0.0.1", 1, &retry), 0);
	/* another client has its own bucket */
	ck_assert_int_eq(take_n(r, "10.0.0.2", 20, &retry), 1);
	/* a cost of 0 (an empty batch) always passes, takes nothing */
	ck_assert_int_eq(take_n(r, "10.0.0.2", 0, &retry), 1);
	ck_assert_uint_eq(retry, 0);
	/* a cost over the burst never passes; Retry-After is bounded */
	now = 100;
	ck_assert_int_eq(take_n(r, "10.0.0.3", 21, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(take_n(r, "10.0.0.3", 1e12, &retry), 0);
	ck_assert_uint_eq(retry, 86400);
	lk_rate_free(r);
}
END_TEST

START_TEST(test_no_peer)
{
	struct lk_rate *r;
	unsigned retry;

	now = 0;
	r = lk_rate_new(1, 1, fake);
	ck_assert_int_eq(lk_rate_take(r, NULL, &retry), 1);
	ck_assert_int_eq(lk_rate_take(r, NULL, &retry), 0);
	lk_rate_free(r);
}
END_TEST

/* lookup.max_connections_per_ip: two addresses of one /64 share the cap */
START_TEST(test_conns_by_64)
{
	atomic_ulong refused = 0, refused_max = 0;
	struct lk_conns *c = lk_conns_new(2, &refused, 0, &refused_max);
	struct sockaddr_storage a = addr("2001:db8:1:2::1"),
	    b = addr("2001:db8:1:2:ffff::9"), o = addr("2001:db8:1:3::1"),
	    m = addr("::ffff:192.0.2.7"), v4 = addr("192.0.2.7");
	struct lk_ip ia, ib, io, im, i4;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(lk_conns_key((struct sockaddr *)&a, &ia), 1);
	ck_assert_int_eq(lk_conns_key((struct sockaddr *)&b, &ib), 1);
	ck_assert_int_eq(lk_conns_key((struct sockaddr *)&o, &io), 1);
	ck_assert_int_eq(lk_conns_key((struct sockaddr *)&m, &im), 1);
	ck_assert_int_eq(lk_conns_key((struct sockaddr *)&v4, &i4), 1);
	ck_assert_int_eq(lk_conns_open(c, &ia), 0);
	ck_assert_int_eq(lk_conns_open(c, &ib), 0);
	ck_assert_int_eq(lk_conns_open(c, &ia), -1);	/* /64 full */
	ck_assert_int_eq(lk_conns_full(c, (struct sockaddr *)&b), 1);
	ck_assert_int_eq(lk_conns_open(c, &io), 0);	/* the next /64 */
	ck_assert_int_eq(lk_conns_open(c, &im), 0);
	ck_assert_int_eq(lk_conns_open(c, &i4), 0);
	ck_assert_int_eq(lk_conns_open(c, &i4), -1);	/* mapped = IPv4 */
	ck_assert_uint_eq(atomic_load(&refused), 3);
	lk_conns_close(c, &ia);
	ck_assert_int_eq(lk_conns_open(c, &ib), 0);
	lk_conns_close(c, &ia);
	lk_conns_close(c, &ib);
	lk_conns_close(c, &io);
	lk_conns_close(c, &im);
	lk_conns_close(c, &i4);
	lk_conns_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lk_rate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_burst_then_limit);
	tcase_add_test(tc, test_retry_after_slow_rate);
	tcase_add_test(tc, test_clients_apart);
	tcase_add_test(tc, test_forget_full_buckets);
	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_no_peer);
	tcase_add_test(tc, test_batch_cost);
	tcase_add_test(tc, test_conns_by_64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
