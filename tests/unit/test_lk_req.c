/*
 * test_lk_req.c — the request header parsers of lookupd and what they
 * rest on: Accept with weights, wildcards and specificity (RFC 9110
 * §12.5.1), If-None-Match (§13.1.2), Forwarded (RFC 7239) and
 * X-Forwarded-For behind lookup.trusted_proxies (right-most untrusted
 * hop), CIDR prefixes (common/net.c), and the address rules they serve:
 * mail_canon_idn (IDNA2008 domains, no non-ASCII local part) and mail_eq.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "common/mail.h"
#include "common/net.h"
#include "lookup/lk.h"

static const char *const types[] = {
	"application/json", "application/pkix-cert", "application/pkcs7-mime",
	"application/x-pem-file", "application/pem-certificate-chain",
};
#define NT	(sizeof(types) / sizeof(types[0]))

static int
pick(const char *accept)
{
	return lk_accept_pick(accept, types, NT);
}

START_TEST(test_accept)
{
	ck_assert_int_eq(pick(NULL), 0);
	ck_assert_int_eq(pick(""), 0);
	ck_assert_int_eq(pick("  "), 0);
	ck_assert_int_eq(pick("*/*"), 0);
	ck_assert_int_eq(pick("application/*"), 0);
	ck_assert_int_eq(pick("application/pkix-cert"), 1);
	/* the weight decides, not the order */
	ck_assert_int_eq(pick("application/pkix-cert;q=0.5, "
	    "application/x-pem-file"), 3);
	ck_assert_int_eq(pick("application/json;q=0.2,application/pkix-cert;"
	    "q=0.9"), 1);
	/* equal weights: the server's order */
	ck_assert_int_eq(pick("application/x-pem-file, application/pkix-cert"),
	    1);
	/* q=0: not acceptable, and nothing else: none */
	ck_assert_int_eq(pick("application/pkix-cert;q=0"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q=0, application/json"),
	    0);
	ck_assert_int_eq(pick("text/html"), -1);
	ck_assert_int_eq(pick("text/html, */*;q=0"), -1);
	ck_assert_int_eq(pick("text/*, image/png"), -1);
	/* the most specific range decides each type's weight */
	ck_assert_int_eq(pick("application/*;q=0.3, application/json;q=0"), 1);
	ck_assert_int_eq(pick("*/*;q=0.1, application/pkcs7-mime"), 2);
	ck_assert_int_eq(pick("application/json;q=0, */*"), 1);
	/* case, white space, other parameters, quoted strings */
	ck_assert_int_eq(pick("APPLICATION/X-PEM-FILE"), 3);
	ck_assert_int_eq(pick(" application/pkix-cert ; Q=0.8 , "
	    "application/x-pem-file;q=0.7"), 1);
	ck_assert_int_eq(pick("application/pkcs7-mime; smime-type=certs-only; "
	    "q=1"), 2);
	ck_assert_int_eq(pick("application/pem-certificate-chain;"
	    "x=\"a,b;q=0\""), 4);
	ck_assert_int_eq(pick("application/json;;q=0.5, application/pkix-cert;"
	    "q=0.4"), 0);
	/* q: 0 to 1 with at most three decimals */
	ck_assert_int_eq(pick("application/pkix-cert;q=0.001"), 1);
	ck_assert_int_eq(pick("application/pkix-cert;q=1.000"), 1);
	ck_assert_int_eq(pick("application/pkix-cert;q=0.0000"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q=1.5"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q=2"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q=-1"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q="), -1);
	/* malformed elements are skipped, never widen */
	ck_assert_int_eq(pick("garbage"), -1);
	ck_assert_int_eq(pick("*/json"), -1);
	ck_assert_int_eq(pick("/json, application/x-pem-file"), 3);
	ck_assert_int_eq(pick("application/json \"x\""), -1);
	ck_assert_int_eq(pick(",,,"), -1);
	ck_assert_int_eq(pick("application/pkix-cert;q=\"0"), -1);
}
END_TEST

START_TEST(test_if_none_match)
{
	const char *e = "\"j0123\"";

	ck_assert_int_eq(lk_etag_match(NULL, e), 0);
	ck_assert_int_eq(lk_etag_match("", e), 0);
	ck_assert_int_eq(lk_etag_match("\"j0123\"", e), 1);
	ck_assert_int_eq(lk_etag_match("*", e), 1);
	ck_assert_int_eq(lk_etag_match(" * ", e), 1);
	ck_assert_int_eq(lk_etag_match("W/\"j0123\"", e), 1);
	ck_assert_int_eq(lk_etag_match("\"a\", \"j0123\"", e), 1);
	ck_assert_int_eq(lk_etag_match("\"a\",W/\"j0123\" ,\"b\"", e), 1);
	ck_assert_int_eq(lk_etag_match("\"j012\"", e), 0);
	ck_assert_int_eq(lk_etag_match("j0123", e), 0);
	ck_assert_int_eq(lk_etag_match("\"J0123\"", e), 0);
	ck_assert_int_eq(lk_etag_match("\"j0123\"x", e), 0);
	ck_assert_int_eq(lk_etag_match("**", e), 0);
}
END_TEST

static struct sockaddr_storage
sa(const char *s)
{
	struct sockaddr_storage ss;
	struct net_addr a;

	memset(&ss, 0, sizeof(ss));
	ck_assert_int_eq(net_addr_parse(s, strlen(s), &a), 0);
	net_addr_sockaddr(&a, &ss);
	return ss;
}

/* The client lk_fwd_client finds, as text ("peer" when none), and the
 * outcome. */
static const char *
client(struct lk_proxies *px, const char *peer, const char *fw,
    const char *xff, enum lk_fwd *o)
{
	static char buf[NET_ADDR_STR];
	struct sockaddr_storage p = sa(peer), c;
	struct net_addr a;

	*o = lk_fwd_client(px, (struct sockaddr *)&p, fw, xff, &c);
	if (c.ss_family == 0)
		return "peer";
	ck_assert_int_eq(net_addr_of((struct sockaddr *)&c, &a), 0);
	return net_addr_str(&a, buf);
}

START_TEST(test_forwarded)
{
	char *list[] = { "127.0.0.2", "10.0.0.0/8", "2001:db8:ffff::/48",
	    NULL };
	struct lk_proxies px;
	enum lk_fwd o;

	ck_assert_int_eq(lk_proxies_init(&px, list), 0);
	/* no field */
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, NULL, &o), "peer");
	ck_assert_int_eq(o, LK_FWD_NONE);
	/* from a peer not trusted: ignored */
	ck_assert_str_eq(client(&px, "127.0.0.1", NULL, "192.0.2.1", &o),
	    "peer");
	ck_assert_int_eq(o, LK_FWD_UNTRUSTED);
	ck_assert_str_eq(client(&px, "10.1.2.3", NULL, "192.0.2.1", &o),
	    "192.0.2.1");
	ck_assert_int_eq(o, LK_FWD_BELIEVED);
	/* the right-most hop that is not a trusted proxy */
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL,
	    "198.51.100.9, 192.0.2.1, 10.0.0.7", &o), "192.0.2.1");
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL,
	    "10.9.9.9, 10.0.0.7", &o), "10.9.9.9");
	ck_assert_int_eq(o, LK_FWD_BELIEVED);
	/* ports, brackets, IPv6 in X-Forwarded-For */
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, "192.0.2.1:4711",
	    &o), "192.0.2.1");
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, "2001:DB8::1", &o),
	    "2001:db8::1");
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, "[2001:db8::1]:80",
	    &o), "2001:db8::1");
	/* Forwarded: for=, quoted IPv6 with a port, other pairs, case */
	ck_assert_str_eq(client(&px, "127.0.0.2",
	    "for=192.0.2.60;proto=http;by=203.0.113.43", NULL, &o),
	    "192.0.2.60");
	ck_assert_str_eq(client(&px, "127.0.0.2",
	    "For=\"[2001:db8:cafe::17]:4711\"", NULL, &o), "2001:db8:cafe::17");
	ck_assert_str_eq(client(&px, "127.0.0.2",
	    "for=192.0.2.43, for=\"[2001:db8:ffff::1]\"", NULL, &o),
	    "192.0.2.43");
	/* Forwarded wins over X-Forwarded-For */
	ck_assert_str_eq(client(&px, "127.0.0.2", "for=192.0.2.5",
	    "192.0.2.6", &o), "192.0.2.5");
	/* a hop without an address: the trusted proxy right of it */
	ck_assert_str_eq(client(&px, "127.0.0.2", "for=unknown, for=10.0.0.5",
	    NULL, &o), "10.0.0.5");
	ck_assert_int_eq(o, LK_FWD_MALFORMED);
	ck_assert_str_eq(client(&px, "127.0.0.2", "for=_hidden", NULL, &o),
	    "peer");
	ck_assert_int_eq(o, LK_FWD_MALFORMED);
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, "garbage", &o),
	    "peer");
	ck_assert_int_eq(o, LK_FWD_MALFORMED);
	ck_assert_str_eq(client(&px, "127.0.0.2", "proto=https", NULL, &o),
	    "peer");
	ck_assert_str_eq(client(&px, "127.0.0.2", NULL, "", &o), "peer");
	ck_assert_int_eq(o, LK_FWD_MALFORMED);
	/* an IPv4-mapped peer is the IPv4 address */
	ck_assert_str_eq(client(&px, "::ffff:10.0.0.1", NULL, "192.0.2.1",
	    &o), "192.0.2.1");
	lk_proxies_fini(&px);
}
END_TEST

START_TEST(test_cidr)
{
	struct net_cidr c[4];
	struct net_addr a;
	const char *why;

	ck_assert_int_eq(net_cidr_parse("10.0.0.0/8", &c[0], &why), 0);
	ck_assert_int_eq(net_cidr_parse("2001:DB8::/32", &c[1], &why), 0);
	ck_assert_int_eq(net_cidr_parse("192.0.2.1", &c[2], &why), 0);
	ck_assert_int_eq(net_cidr_parse("::1", &c[3], &why), 0);
	ck_assert_int_eq(net_addr_parse("10.255.0.1", 10, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 1);
	ck_assert_int_eq(net_addr_parse("11.0.0.1", 8, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 0);
	ck_assert_int_eq(net_addr_parse("2001:db8:1::5", 13, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 1);
	ck_assert_int_eq(net_addr_parse("2001:db9::5", 11, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 0);
	ck_assert_int_eq(net_addr_parse("192.0.2.1", 9, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 1);
	ck_assert_int_eq(net_addr_parse("192.0.2.2", 9, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 0);
	ck_assert_int_eq(net_addr_parse("::ffff:192.0.2.1", 16, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 1);
	ck_assert_int_eq(net_addr_parse("::1", 3, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 4, &a), 1);
	ck_assert_int_eq(net_cidr_parse("0.0.0.0/0", &c[0], &why), 0);
	ck_assert_int_eq(net_addr_parse("203.0.113.9", 11, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 1, &a), 1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/12", &c[0], &why), 0);
	ck_assert_int_eq(net_addr_parse("10.15.0.1", 9, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 1, &a), 1);
	ck_assert_int_eq(net_addr_parse("10.16.0.1", 9, &a), 0);
	ck_assert_int_eq(net_cidr_match(c, 1, &a), 0);
	/* refused, with a reason */
	ck_assert_int_eq(net_cidr_parse("10.1.2.3/8", &c[0], &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "past its prefix"));
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/33", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("::/129", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/-1", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/8x", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("host.example", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("010.0.0.1", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("fe80::1%eth0", &c[0], &why), -1);
	ck_assert_int_eq(net_cidr_parse("", &c[0], &why), -1);
	ck_assert_int_eq(net_addr_parse("1.2.3.4\0", 8, &a), -1);
}
END_TEST

static int
canon(const char *in, char *out, const char **why)
{
	return mail_canon_idn(in, strlen(in), out, why);
}

START_TEST(test_mail_idn)
{
	char out[MAIL_MAX + 1];
	const char *why;

	ck_assert_int_eq(canon("jurgen@b\xc3\xbc" "cher.example", out, &why),
	    0);
	ck_assert_str_eq(out, "jurgen@xn--bcher-kva.example");
	ck_assert_int_eq(canon("Jurgen@B\xc3\x9c" "CHER.Example", out, &why),
	    0);
	ck_assert_str_eq(out, "Jurgen@xn--bcher-kva.example");
	ck_assert_int_eq(canon("a@Example.COM", out, &why), 0);
	ck_assert_str_eq(out, "a@example.com");
	ck_assert_int_eq(canon("j\xc3\xbcrgen@example.com", out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "non-ASCII local part"));
	ck_assert_int_eq(canon("a@\xff\xfe.example", out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "IDNA2008"));
	ck_assert_int_eq(canon("a@b\xc3\xbc" "cher", out, &why), -1);
	ck_assert_int_eq(mail_canon_idn("a\0@b\xc3\xbc.de", 9, out, &why), -1);
	ck_assert_int_eq(mail_eq("Alice@Example.COM", "alice@example.com"), 1);
	ck_assert_int_eq(mail_eq("alice@example.com", "alicf@example.com"), 0);
	ck_assert_int_eq(mail_eq("alice@example.com", "alice@example.co"), 0);
	ck_assert_int_eq(mail_eq("\xc3\x84@x.de", "\xc3\xa4@x.de"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lk_req");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_accept);
	tcase_add_test(tc, test_if_none_match);
	tcase_add_test(tc, test_forwarded);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_mail_idn);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
