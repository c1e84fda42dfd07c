/*
 * test_dns.c — the pure part of dns/ (dns/dns.h), which export-smimea and
 * dns-sync share: RFC 8162 owner labels and names (the known vector "hugh", case variants), the
 * association data for every selector/matching type against values computed
 * independently (the openssl CLI for a fixed certificate; other OpenSSL
 * calls for a fresh one), the zone name checks, the TSIG key file parser
 * (what tsig-keygen writes, and what it must refuse), its loader's mode
 * check, and RRset membership.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "dns/dns.h"
#include "common/log.h"

/* A fixed self-signed EC P-256 certificate. The expected values below were
 * computed with the openssl CLI:
 *   openssl x509 -outform DER | sha256sum / sha512sum
 *   openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | xxd -p */
static const char vector_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIIBhDCCASugAwIBAgIUUCsZJm+4GSAfbvdCB7FbZhSx8DMwCgYIKoZIzj0EAwIw\n"
"GDEWMBQGA1UEAwwNc21pbWVhLXZlY3RvcjAeFw0yNjExMjkwNTAxMzNaFw0zNjEx\n"
"MjYwNTAxMzNaMBgxFjAUBgNVBAMMDXNtaW1lYS12ZWN0b3IwWTATBgcqhkjOPQIB\n"
"BggqhkjOPQMBBwNCAAQBNQMQplGKSILqqPnTsUzMd2we7REKsV260BoX6b5JAN6N\n"
"xnbC1L915VoA31H2Vo3zyyzp885F9AVZqsWBCnxfo1MwUTAdBgNVHQ4EFgQUbZRY\n"
"pKoF8MZIsQJJjU4EcqACf1EwHwYDVR0jBBgwFoAUbZRYpKoF8MZIsQJJjU4EcqAC\n"
"f1EwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBhh/W86m2N9Y4/\n"
"GZ6Lh+mfslTWTv0Nb8wBfmdoyCD52AIgDWo4mNyx3OavKaZZqkfPxJHFH4ikYPAW\n"
"NYOgdT1p3ZY=\n"
"-----END CERTIFICATE-----\n";
static const char vector_sha256[] =
    "f6450e78c92570c505124cd53c90c21365aa6f0055591b801427cc5dcfe42891";
static const char vector_sha512[] =
    "b63b9dc55ce086880db7d50c0790ab39e76a201ccc1ef1d91b6fa0dad7dbc114"
    "b14104af8bea31088be7425547280cf9c3ec069990a3f7955145c9d26afbe2d9";
static const char vector_spki[] =
    "3059301306072a8648ce3d020106082a8648ce3d0301070342000401350310a6"
    "518a4882eaa8f9d3b14ccc776c1eed110ab15dbad01a17e9be4900de8dc676c2"
    "d4bf75e55a00df51f6568df3cb2ce9f3ce45f40559aac5810a7c5f";
static const char vector_spki_sha256[] =
    "187bf767af7748995941689b71967c43fe9a8fadebbbce93c8a3ca223b8033e0";

static X509 *
load_vector(void)
{
	BIO *b = BIO_new_mem_buf(vector_pem, -1);
	X509 *c;

	ck_assert_ptr_nonnull(b);
	c = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void
check_data(X509 *c, int sel, int mt, const char *want)
{
	char *got = dns_data_hex(c, sel, mt);

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, want) == 0, "selector %d matching %d: got %s "
	    "want %s", sel, mt, got, want);
	free(got);
}

START_TEST(test_owner_vector)
{
	char out[DNS_LABEL_HEX];

	/* RFC 8162 §3 (and the example the issue names) */
	ck_assert_int_eq(dns_owner_label("hugh", 4, out), 0);
	ck_assert_str_eq(out,
	    "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6");
	ck_assert_uint_eq(strlen(out), 56);
}
END_TEST

START_TEST(test_owner_case)
{
	char a[DNS_LABEL_HEX], b[DNS_LABEL_HEX];

	/* no case folding: "Hugh" and "HUGH" are other names */
	ck_assert_int_eq(dns_owner_label("Hugh", 4, a), 0);
	ck_assert_str_eq(a,
	    "7063a398942ba5c6125429518d0608563f3974bb48013ddf58fb01d4");
	ck_assert_int_eq(dns_owner_label("HUGH", 4, b), 0);
	ck_assert_str_eq(b,
	    "811876dac736c7f6fda69c5b618c5866d79f3508b746566ee375c9da");
	ck_assert_str_ne(a, b);
	/* only len bytes are hashed */
	ck_assert_int_eq(dns_owner_label("hugh.o", 6, a), 0);
	ck_assert_str_eq(a,
	    "61140a4a900c3232c1fb47d80fa197f2551d098c19388817c76e956e");
	ck_assert_int_eq(dns_owner_label("hugh.o", 4, a), 0);
	ck_assert_str_eq(a,
	    "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6");
}
END_TEST

START_TEST(test_data_vector)
{
	X509 *c = load_vector();
	unsigned char *der = NULL;
	char *hex;
	int len;

	check_data(c, 0, 1, vector_sha256);
	check_data(c, 0, 2, vector_sha512);
	check_data(c, 1, 0, vector_spki);
	check_data(c, 1, 1, vector_spki_sha256);
	/* 0 0: the whole DER */
	len = i2d_X509(c, &der);
	ck_assert_int_gt(len, 0);
	hex = dns_data_hex(c, 0, 0);
	ck_assert_ptr_nonnull(hex);
	ck_assert_uint_eq(strlen(hex), 2 * (size_t)len);
	ck_assert(strncmp(hex, "30820184", 8) == 0);
	free(hex);
	OPENSSL_free(der);
	/* invalid selector / matching type */
	ck_assert_ptr_null(dns_data_hex(c, 2, 0));
	ck_assert_ptr_null(dns_data_hex(c, -1, 0));
	ck_assert_ptr_null(dns_data_hex(c, 0, 3));
	ck_assert_ptr_null(dns_data_hex(c, 1, 255));
	X509_free(c);
}
END_TEST

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* A fresh RSA certificate, the expected data through other OpenSSL calls
 * (X509_digest, i2d_PUBKEY of the key, SHA256()/SHA512()). */
START_TEST(test_data_fresh)
{
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL, *der = NULL;
	char want[2 * 4096 + 1];
	unsigned int mdlen = 0;
	EVP_PKEY *k;
	X509 *c;
	int slen, dlen;

	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ck_assert_ptr_nonnull(k);
	c = X509_new();
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(X509_set_version(c, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
	    (const unsigned char *)"fresh", -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	ck_assert_int_eq(X509_set_pubkey(c, k), 1);
	ck_assert_int_gt(X509_sign(c, k, EVP_sha256()), 0);

	ck_assert_int_eq(X509_digest(c, EVP_sha256(), md, &mdlen), 1);
	tohex(md, mdlen, want);
	check_data(c, 0, 1, want);
	ck_assert_int_eq(X509_digest(c, EVP_sha512(), md, &mdlen), 1);
	tohex(md, mdlen, want);
	check_data(c, 0, 2, want);

	dlen = i2d_X509(c, &der);
	ck_assert_int_gt(dlen, 0);
	ck_assert_int_lt(dlen, 4096);
	tohex(der, (size_t)dlen, want);
	check_data(c, 0, 0, want);

	slen = i2d_PUBKEY(k, &spki);
	ck_assert_int_gt(slen, 0);
	tohex(spki, (size_t)slen, want);
	check_data(c, 1, 0, want);
	SHA256(spki, (size_t)slen, md);
	tohex(md, SHA256_DIGEST_LENGTH, want);
	check_data(c, 1, 1, want);
	SHA512(spki, (size_t)slen, md);
	tohex(md, SHA512_DIGEST_LENGTH, want);
	check_data(c, 1, 2, want);

	OPENSSL_free(spki);
	OPENSSL_free(der);
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_zone)
{
	char out[DNS_DOMAIN_MAX + 1], big[300];
	const char *why = NULL;
	static const char *const bad[] = {
		"", ".", "example..com", ".example.com", "exa mple.com",
		"example.com..", "-example.com", "example-.com", "ex\\065.com",
		"example.com/24", "*.example.com", "ex\xc3\xa9.com",
	};
	size_t i;

	ck_assert_int_eq(dns_zone_canon("Example.COM.", out, &why), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(dns_zone_canon("com", out, &why), 0);
	ck_assert_str_eq(out, "com");
	ck_assert_int_eq(dns_zone_canon("_x.sub-1.example.com", out, &why), 0);
	ck_assert_str_eq(out, "_x.sub-1.example.com");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(dns_zone_canon(bad[i], out, &why) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	/* a 64-character label, and a name over 253 characters */
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	ck_assert_int_eq(dns_zone_canon(big, out, &why), -1);
	for (i = 0; i < 254; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[254] = '\0';
	big[253] = 'a';
	ck_assert_int_eq(dns_zone_canon(big, out, &why), -1);
	big[253] = '\0';	/* 253 characters, "a.a.....a" */
	ck_assert_int_eq(dns_zone_canon(big, out, &why), 0);

	ck_assert_int_eq(dns_in_zone("example.com", "example.com"), 1);
	ck_assert_int_eq(dns_in_zone("sub.example.com", "example.com"), 1);
	ck_assert_int_eq(dns_in_zone("a.b.example.com", "example.com"), 1);
	ck_assert_int_eq(dns_in_zone("example.com", "com"), 1);
	ck_assert_int_eq(dns_in_zone("badexample.com", "example.com"), 0);
	ck_assert_int_eq(dns_in_zone("example.org", "example.com"), 0);
	ck_assert_int_eq(dns_in_zone("com", "example.com"), 0);
	ck_assert_int_eq(dns_in_zone("example.com.evil", "example.com"), 0);
}
END_TEST

START_TEST(test_owners)
{
	char o[2][DNS_OWNER_MAX], big[400];

	ck_assert_int_eq(dns_owners("hugh@example.com", o), 1);
	ck_assert_str_eq(o[0], "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec0"
	    "1c1afd6._smimecert.example.com.");
	/* the local part as given, and lower-cased (one more name) */
	ck_assert_int_eq(dns_owners("Hugh@example.com", o), 2);
	ck_assert_str_eq(o[0], "7063a398942ba5c6125429518d0608563f3974bb48013ddf5"
	    "8fb01d4._smimecert.example.com.");
	ck_assert_str_eq(o[1], "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec0"
	    "1c1afd6._smimecert.example.com.");
	ck_assert_int_eq(dns_owners("no-at-sign", o), -1);
	ck_assert_int_eq(dns_owners("@example.com", o), -1);
	/* 56 + 12 + a 190-character domain is longer than DNS allows */
	memset(big, 'a', sizeof(big));
	big[0] = 'x';
	big[1] = '@';
	strcpy(big + 2 + 180, ".example.com");
	ck_assert_int_eq(dns_owners(big, o), -1);
}
END_TEST

/* what `tsig-keygen -a hmac-sha256 smimepub-example` writes */
static const char keygen[] =
    "key \"smimepub-example\" {\n"
    "\talgorithm hmac-sha256;\n"
    "\tsecret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\";\n"
    "};\n";

static int
parse(const char *txt, struct dns_key *k, const char **why)
{
	*why = NULL;
	return dns_key_parse(txt, strlen(txt), k, why);
}

START_TEST(test_key_parse)
{
	struct dns_key k;
	const char *why;
	size_t i;
	static const char *const bad[] = {
		"",
		"key",
		"key \"k\" { algorithm hmac-sha256; };",
		"key \"k\" { secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		/* no MD5, no SHA-1 (RFC 8945 §6) */
		"key k { algorithm hmac-md5; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		"key k { algorithm hmac-sha1; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		/* not base64, short, padding in the middle */
		"key k { algorithm hmac-sha256; secret \"hU0m!0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		"key k { algorithm hmac-sha256; secret \"c2hvcnQ=\"; };",
		"key k { algorithm hmac-sha256; secret \"hU0=J0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		/* two keys; an unknown statement; missing semicolons */
		"key a { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };"
		"key b { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		"key k { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; foo bar; };",
		"key k { algorithm hmac-sha256 secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		"key k { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; }",
		/* a bad name, an open comment, an open string */
		"key \"a..b\" { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
		"key k { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; }; /* x",
		"key k { algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCt",
		"key k { algorithm hmac-sha256; algorithm hmac-sha256; secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=\"; };",
	};

	ck_assert_int_eq(parse(keygen, &k, &why), 0);
	ck_assert_str_eq(k.name, "smimepub-example.");
	ck_assert_str_eq(k.alg, "hmac-sha256.");
	ck_assert_str_eq(k.secret,
	    "hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2rh0=");
	/* comments, an unquoted name, upper case, sha512 */
	ck_assert_int_eq(parse("# made by hand\n// two\n/* three\n */ key "
	    "Upd.Example.COM { secret \"hU0mJ0yGdUTGaP7bKzR4ZrCtZzcpSKtmHmdAzXd2"
	    "rh0=\"; algorithm HMAC-SHA512; }; # end\n", &k, &why), 0);
	ck_assert_str_eq(k.name, "upd.example.com.");
	ck_assert_str_eq(k.alg, "hmac-sha512.");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &k, &why) == -1, "accepted %s",
		    bad[i]);
		ck_assert_ptr_nonnull(why);
		/* nothing of a refused key stays behind */
		ck_assert_str_eq(k.secret, "");
	}
	/* an embedded NUL ends nothing: it is refused */
	ck_assert_int_eq(dns_key_parse(keygen, sizeof(keygen), &k, &why), -1);
}
END_TEST

START_TEST(test_key_load)
{
	char path[] = "/tmp/test_dns_keyXXXXXX";
	struct dns_key k;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, keygen, strlen(keygen)),
	    (int)strlen(keygen));
	close(fd);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(dns_key_load(path, "dns.zones[0].tsig_key_file", &k),
	    0);
	ck_assert_str_eq(k.name, "smimepub-example.");
	dns_key_clear(&k);
	ck_assert_str_eq(k.name, "");
	/* readable by the group: refused (a secret) */
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(dns_key_load(path, "dns.zones[0].tsig_key_file", &k),
	    -1);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(dns_key_load(path, "dns.zones[0].tsig_key_file", &k),
	    0);
	unlink(path);
	ck_assert_int_eq(dns_key_load(path, "dns.zones[0].tsig_key_file", &k),
	    -1);
}
END_TEST

START_TEST(test_rrset)
{
	struct dns_rrset set;
	struct dns_rdata a = { 3, 0, 0, (unsigned char *)"\x01\x02", 2 };
	struct dns_rdata b = { 3, 0, 1, (unsigned char *)"\x01\x02", 2 };
	struct dns_rdata c = { 3, 0, 0, (unsigned char *)"\x01\x03", 2 };

	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(dns_rrset_add(&set, 3, 0, 0, a.data, a.len), 0);
	ck_assert_int_eq(dns_rrset_add(&set, 3, 0, 0, a.data, a.len), 0);
	ck_assert_uint_eq(set.n, 1);	/* an RRset holds an RR once */
	ck_assert_int_eq(dns_rrset_has(&set, &a), 1);
	ck_assert_int_eq(dns_rrset_has(&set, &b), 0);
	ck_assert_int_eq(dns_rrset_has(&set, &c), 0);
	dns_rrset_clear(&set);
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

/* An answer with two SMIMEA records at the owner (made by hand, as in
 * tests/fuzz/seeds/dnskey/answer): both read, in order; at another owner,
 * none; cut short, refused. */
static const unsigned char answer_wire[] = {
	0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x38, 0x63, 0x39, 0x33, 0x66, 0x31, 0x65, 0x34,
	0x30, 0x30, 0x66, 0x32, 0x36, 0x37, 0x30, 0x38, 0x66, 0x39,
	0x38, 0x63, 0x62, 0x31, 0x39, 0x64, 0x39, 0x33, 0x36, 0x36,
	0x32, 0x30, 0x64, 0x61, 0x33, 0x35, 0x65, 0x65, 0x63, 0x38,
	0x66, 0x37, 0x32, 0x65, 0x35, 0x37, 0x66, 0x39, 0x65, 0x65,
	0x63, 0x30, 0x31, 0x63, 0x31, 0x61, 0x66, 0x64, 0x36, 0x0a,
	0x5f, 0x73, 0x6d, 0x69, 0x6d, 0x65, 0x63, 0x65, 0x72, 0x74,
	0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
	0x6f, 0x6d, 0x00, 0x00, 0x35, 0x00, 0x01, 0xc0, 0x0c, 0x00,
	0x35, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x2b, 0x03,
	0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
	0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0xc0, 0x0c, 0x00, 0x35, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2c, 0x00, 0x23, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

START_TEST(test_answer_parse)
{
	struct dns_rrset set;
	char why[256];
	int rcode = -1;

	memset(&set, 0, sizeof(set));
	strcpy(set.owner, "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1"
	    "afd6._smimecert.EXAMPLE.com.");
	ck_assert_int_eq(dns_answer_parse(answer_wire, sizeof(answer_wire),
	    &set, &rcode, why, sizeof(why)), 0);
	ck_assert_int_eq(rcode, 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_int_eq(set.rd[0].usage, 3);
	ck_assert_int_eq(set.rd[0].selector, 0);
	ck_assert_uint_eq(set.rd[0].len, 40);
	ck_assert_int_eq(set.rd[0].data[39], 39);
	ck_assert_int_eq(set.rd[1].selector, 1);
	ck_assert_int_eq(set.rd[1].matching, 1);
	ck_assert_uint_eq(set.rd[1].len, 32);
	strcpy(set.owner, "other._smimecert.example.com.");
	ck_assert_int_eq(dns_answer_parse(answer_wire, sizeof(answer_wire),
	    &set, &rcode, why, sizeof(why)), 0);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_int_eq(dns_answer_parse(answer_wire, sizeof(answer_wire) - 5,
	    &set, &rcode, why, sizeof(why)), -1);
	dns_rrset_clear(&set);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");
	SRunner *sr;
	int nf;

	log_init("test_dns", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_owner_vector);
	tcase_add_test(tc, test_owner_case);
	tcase_add_test(tc, test_data_vector);
	tcase_add_test(tc, test_data_fresh);
	tcase_add_test(tc, test_zone);
	tcase_add_test(tc, test_owners);
	tcase_add_test(tc, test_key_parse);
	tcase_add_test(tc, test_key_load);
	tcase_add_test(tc, test_rrset);
	tcase_add_test(tc, test_answer_parse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
