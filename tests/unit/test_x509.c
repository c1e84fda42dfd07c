/*
 * test_x509.c — common/x509.c and common/x509_usable.c: loading PEM/DER
 * files, exact DER parsing, fingerprints, serial and name strings, the
 * certs-only SignedData keeping leaf-then-chain order on the wire, and every
 * reason x509_usable() refuses a certificate. Certificates are made here at
 * test time (P-256 keys, one RSA key), signed by a test CA.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/x509.h"

#define DAY	(24L * 60 * 60)

static EVP_PKEY	*ca_key, *int_key, *leaf_key, *rsa_key;
static X509	*root, *inter;

struct ext {
	int		 nid;
	const char	*value;
};

#define SAN_ALICE	{ NID_subject_alt_name, "email:alice@example.com" }
#define EKU_EMAIL	{ NID_ext_key_usage, "emailProtection" }
#define KU_AGREE	{ NID_key_usage, "critical,digitalSignature,keyAgreement" }
#define END		{ NID_undef, NULL }

/*
 * A certificate for key with subject CN=cn, signed by issuer/ikey (itself
 * when issuer is NULL), valid from now+nb to now+na seconds.
 */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial, long nb, long na, const struct ext *exts)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	X509_NAME *name;
	X509 *x;

	ck_assert_ptr_nonnull(x = X509_new());
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	ck_assert_ptr_nonnull(name = X509_NAME_new());
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Example", -1, -1, 0), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	ck_assert_int_eq(X509_set_subject_name(x, name), 1);
	X509_NAME_free(name);
	ck_assert_int_eq(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(x)), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), nb));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), na));
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (; exts != NULL && exts->nid != NID_undef; exts++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, exts->nid, exts->value);
		ck_assert_ptr_nonnull(ext);
		ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(x, ikey, EVP_sha256()), 0);
	return x;
}

/* A good S/MIME certificate for alice, issued by inter. */
static X509 *
mkleaf(long serial)
{
	static const struct ext e[] = { SAN_ALICE, EKU_EMAIL, KU_AGREE, END };

	return mkcert("Alice", leaf_key, inter, int_key, serial, -DAY,
	    365 * DAY, e);
}

static void
der_of(X509 *x, unsigned char **der, size_t *len)
{
	ck_assert_int_eq(x509_to_der(x, der, len), 0);
	ck_assert_ptr_nonnull(*der);
	ck_assert_uint_gt(*len, 0);
}

static void
assert_same_cert(X509 *a, X509 *b)
{
	unsigned char *da, *db;
	size_t la, lb;

	der_of(a, &da, &la);
	der_of(b, &db, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(da, db, la);
	OPENSSL_free(da);
	OPENSSL_free(db);
}

static void
setup_all(void)
{
	static const struct ext ca[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		END
	};

	log_init("test_x509", 0, LOG_LVL_ERR);
	ck_assert_ptr_nonnull(ca_key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(int_key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(leaf_key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(rsa_key = EVP_RSA_gen(2048));
	root = mkcert("Test Root", ca_key, NULL, ca_key, 1, -DAY, 3650 * DAY,
	    ca);
	inter = mkcert("Test Intermediate", int_key, root, ca_key, 2, -DAY,
	    1825 * DAY, ca);
}

static void
teardown_all(void)
{
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(ca_key);
}

/* Build first + rest, parse it back, and check order and bytes. */
static void
roundtrip(X509 *first, X509 *second, X509 *third)
{
	STACK_OF(X509) *chain, *got;
	unsigned char *der;
	size_t len;
	X509 *want[3];
	int i;

	want[0] = first;
	want[1] = second;
	want[2] = third;
	ck_assert_ptr_nonnull(chain = sk_X509_new_null());
	ck_assert_int_gt(sk_X509_push(chain, second), 0);
	ck_assert_int_gt(sk_X509_push(chain, third), 0);
	ck_assert_int_eq(x509_certsonly_build(first, chain, &der, &len), 0);
	ck_assert_ptr_nonnull(got = x509_certsonly_parse(der, len));
	ck_assert_int_eq(sk_X509_num(got), 3);
	for (i = 0; i < 3; i++)
		assert_same_cert(sk_X509_value(got, i), want[i]);
	sk_X509_pop_free(got, X509_free);
	sk_X509_free(chain);
	OPENSSL_free(der);
}

/* The serial read from the DER agrees with OpenSSL's, whatever its size
 * and top bit; bytes that are not a certificate are refused. */
START_TEST(der_serial_hex)
{
	static const char *const serials[] = { "01", "7F", "80", "FF",
	    "0100", "8000000000000000000000000000000001",
	    "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" };
	unsigned char *der = NULL;
	char out[128], *want;
	BIGNUM *bn = NULL;
	X509 *x;
	size_t i;
	int len;

	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		x = mkcert("serial", leaf_key, root, ca_key, 1, 0, DAY, NULL);
		ck_assert_int_gt(BN_hex2bn(&bn, serials[i]), 0);
		ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn,
		    X509_get_serialNumber(x)));
		ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
		ck_assert_int_gt(len = i2d_X509(x, &der), 0);
		ck_assert_int_eq(x509_der_serial_hex(der, (size_t)len, out,
		    sizeof(out)), 0);
		ck_assert_ptr_nonnull(want = x509_serial_hex(x));
		ck_assert_str_eq(out, want);
		ck_assert_str_eq(out, serials[i]);
		/* truncated anywhere: refused, never read past the end */
		ck_assert_int_eq(x509_der_serial_hex(der, 6, out,
		    sizeof(out)), -1);
		ck_assert_int_eq(x509_der_serial_hex(der, (size_t)len, out,
		    4), strlen(serials[i]) < 4 ? 0 : -1);
		free(want);
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
	}
	ck_assert_int_eq(x509_der_serial_hex((const unsigned char *)"\x30",
	    1, out, sizeof(out)), -1);
	ck_assert_int_eq(x509_der_serial_hex((const unsigned char *)
	    "\x30\x84\xff\xff\xff\xff", 6, out, sizeof(out)), -1);
	BN_free(bn);
}
END_TEST

START_TEST(certsonly_keeps_order)
{
	X509 *leaf = mkleaf(100);

	roundtrip(leaf, inter, root);
	/* The reverse too: whatever the DER sort order, none is applied. */
	roundtrip(root, inter, leaf);
	roundtrip(inter, leaf, root);
	X509_free(leaf);
}
END_TEST

START_TEST(certsonly_shape)
{
	STACK_OF(X509) *got;
	CMS_ContentInfo *cms;
	const unsigned char *p;
	unsigned char *der;
	size_t len;
	PKCS7 *p7;
	X509 *leaf = mkleaf(101);

	/* No chain at all. */
	ck_assert_int_eq(x509_certsonly_build(leaf, NULL, &der, &len), 0);
	p = der;
	ck_assert_ptr_nonnull(p7 = d2i_PKCS7(NULL, &p, (long)len));
	ck_assert(PKCS7_type_is_signed(p7));
	ck_assert_int_eq(ASN1_INTEGER_get(p7->d.sign->version), 1);
	ck_assert_int_eq(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	ck_assert_int_eq(sk_X509_ALGOR_num(p7->d.sign->md_algs), 0);
	ck_assert_int_eq(OBJ_obj2nid(p7->d.sign->contents->type),
	    NID_pkcs7_data);
	ck_assert_ptr_null(p7->d.sign->contents->d.ptr);	/* detached */
	ck_assert_ptr_null(p7->d.sign->crl);
	PKCS7_free(p7);
	/* The CMS reader sees the same one certificate. */
	p = der;
	ck_assert_ptr_nonnull(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len));
	ck_assert_ptr_nonnull(got = CMS_get1_certs(cms));
	ck_assert_int_eq(sk_X509_num(got), 1);
	assert_same_cert(sk_X509_value(got, 0), leaf);
	sk_X509_pop_free(got, X509_free);
	CMS_ContentInfo_free(cms);
	OPENSSL_free(der);
	X509_free(leaf);
}
END_TEST

/* A certs-only bundle written by the CMS encoder (set order) parses too. */
START_TEST(certsonly_parse_cms_encoding)
{
	STACK_OF(X509) *certs, *got;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	int len, i, j, found;
	X509 *leaf = mkleaf(102);

	ck_assert_ptr_nonnull(certs = sk_X509_new_null());
	ck_assert_int_gt(sk_X509_push(certs, leaf), 0);
	ck_assert_int_gt(sk_X509_push(certs, inter), 0);
	ck_assert_int_gt(sk_X509_push(certs, root), 0);
	cms = CMS_sign(NULL, NULL, certs, NULL, CMS_PARTIAL | CMS_DETACHED);
	ck_assert_ptr_nonnull(cms);
	ck_assert_int_gt(len = i2d_CMS_ContentInfo(cms, &der), 0);
	ck_assert_ptr_nonnull(got = x509_certsonly_parse(der, (size_t)len));
	ck_assert_int_eq(sk_X509_num(got), 3);
	for (i = 0; i < 3; i++) {
		found = 0;
		for (j = 0; j < 3; j++)
			found += X509_cmp(sk_X509_value(got, i),
			    sk_X509_value(certs, j)) == 0;
		ck_assert_int_eq(found, 1);
	}
	sk_X509_pop_free(got, X509_free);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	sk_X509_free(certs);
	X509_free(leaf);
}
END_TEST

START_TEST(certsonly_parse_rejects)
{
	static const unsigned char garbage[] = "hello, not DER at all";
	STACK_OF(X509) *chain;
	unsigned char *der, *longer, *cder;
	size_t len, clen, n;
	X509 *leaf = mkleaf(103);

	ck_assert_ptr_nonnull(chain = sk_X509_new_null());
	ck_assert_int_gt(sk_X509_push(chain, inter), 0);
	ck_assert_int_eq(x509_certsonly_build(leaf, chain, &der, &len), 0);

	ck_assert_ptr_null(x509_certsonly_parse(garbage, sizeof(garbage)));
	ck_assert_ptr_null(x509_certsonly_parse(der, 0));
	ck_assert_ptr_null(x509_certsonly_parse(NULL, 0));
	/* Every truncation. */
	for (n = 1; n < len; n++)
		ck_assert_ptr_null(x509_certsonly_parse(der, n));
	/* Trailing bytes. */
	ck_assert_ptr_nonnull(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	ck_assert_ptr_null(x509_certsonly_parse(longer, len + 1));
	/* A bare certificate is not a bundle. */
	der_of(leaf, &cder, &clen);
	ck_assert_ptr_null(x509_certsonly_parse(cder, clen));
	ck_assert_int_eq((int)ERR_peek_error(), 0);	/* queue left empty */
	OPENSSL_free(cder);
	free(longer);
	OPENSSL_free(der);
	sk_X509_free(chain);
	X509_free(leaf);
}
END_TEST

START_TEST(certsonly_parse_rejects_enveloped)
{
	STACK_OF(X509) *recips;
	CMS_ContentInfo *cms;
	BIO *in;
	unsigned char *der = NULL;
	int len;
	X509 *leaf = mkleaf(104);

	ck_assert_ptr_nonnull(recips = sk_X509_new_null());
	ck_assert_int_gt(sk_X509_push(recips, leaf), 0);
	ck_assert_ptr_nonnull(in = BIO_new_mem_buf("secret", -1));
	cms = CMS_encrypt(recips, in, EVP_aes_128_cbc(), CMS_BINARY);
	ck_assert_ptr_nonnull(cms);
	ck_assert_int_eq(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_enveloped);
	ck_assert_int_gt(len = i2d_CMS_ContentInfo(cms, &der), 0);
	ck_assert_ptr_null(x509_certsonly_parse(der, (size_t)len));
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(recips);
	X509_free(leaf);
}
END_TEST

/* SignedData without any certificate is refused: nothing to publish. */
START_TEST(certsonly_parse_rejects_no_certs)
{
	unsigned char *der = NULL;
	int len;
	PKCS7 *p7;

	ck_assert_ptr_nonnull(p7 = PKCS7_new());
	ck_assert_int_eq(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	ck_assert_int_eq(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	ck_assert_int_gt(len = i2d_PKCS7(p7, &der), 0);
	ck_assert_ptr_null(x509_certsonly_parse(der, (size_t)len));
	OPENSSL_free(der);
	PKCS7_free(p7);
}
END_TEST

START_TEST(from_der_exact)
{
	unsigned char *der, *longer;
	size_t len;
	X509 *leaf = mkleaf(105), *x;

	der_of(leaf, &der, &len);
	ck_assert_ptr_nonnull(x = x509_from_der(der, len));
	ck_assert_int_eq(X509_cmp(x, leaf), 0);
	X509_free(x);
	ck_assert_ptr_nonnull(longer = malloc(len + 3));
	memcpy(longer, der, len);
	memcpy(longer + len, "xyz", 3);
	ck_assert_ptr_null(x509_from_der(longer, len + 1));
	ck_assert_ptr_null(x509_from_der(longer, len + 3));
	ck_assert_ptr_null(x509_from_der(der, len - 1));
	ck_assert_ptr_null(x509_from_der(der, 0));
	ck_assert_ptr_null(x509_from_der((const unsigned char *)"xyz", 3));
	ck_assert_int_eq((int)ERR_peek_error(), 0);
	free(longer);
	OPENSSL_free(der);
	X509_free(leaf);
}
END_TEST

START_TEST(sha256_matches_evp)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], got[X509_SHA256_LEN], *der = NULL;
	char want[X509_SHA256_HEX], gothex[X509_SHA256_HEX];
	unsigned int mdlen = 0, i;
	int len;
	X509 *leaf = mkleaf(106);

	ck_assert_int_gt(len = i2d_X509(leaf, &der), 0);
	ck_assert_int_eq(EVP_Digest(der, (size_t)len, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(mdlen, X509_SHA256_LEN);
	for (i = 0; i < mdlen; i++) {
		want[2 * i] = hex[md[i] >> 4];
		want[2 * i + 1] = hex[md[i] & 15];
	}
	want[2 * mdlen] = '\0';
	ck_assert_int_eq(x509_sha256(leaf, got), 0);
	ck_assert_mem_eq(got, md, X509_SHA256_LEN);
	ck_assert_int_eq(x509_sha256_hex(leaf, gothex), 0);
	ck_assert_str_eq(gothex, want);
	OPENSSL_free(der);
	X509_free(leaf);
}
END_TEST

START_TEST(serial_name_issuer)
{
	X509 *a = mkleaf(0x0A1B2C), *c = mkleaf(7);
	char *s;

	ck_assert_ptr_nonnull(s = x509_serial_hex(a));
	ck_assert_str_eq(s, "0A1B2C");
	free(s);
	ck_assert_ptr_nonnull(s = x509_serial_hex(c));
	ck_assert_str_eq(s, "07");
	free(s);
	ck_assert_ptr_nonnull(s = x509_name_str(X509_get_subject_name(a)));
	ck_assert_str_eq(s, "CN=Alice,O=Example");
	free(s);
	ck_assert_ptr_nonnull(s = x509_name_str(X509_get_issuer_name(a)));
	ck_assert_str_eq(s, "CN=Test Intermediate,O=Example");
	free(s);
	X509_free(c);
	X509_free(a);
}
END_TEST

static void
assert_unusable(X509 *x, const char *addr, time_t now, const char *reason)
{
	const char *why = NULL;

	ck_assert_int_eq(x509_usable(x, addr, now, &why), 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, reason);
}

START_TEST(usable_good)
{
	const char *why = NULL;
	X509 *leaf = mkleaf(200);

	ck_assert_int_eq(x509_usable(leaf, "alice@example.com", time(NULL),
	    &why), 1);
	ck_assert_int_eq(x509_usable(leaf, NULL, time(NULL), &why), 1);
	/* Case-insensitive, local part included, as the directory matches
	 * mail (issue 17: Alice@Example.com was "usable: no"). */
	ck_assert_int_eq(x509_usable(leaf, "alice@EXAMPLE.Com", time(NULL),
	    &why), 1);
	ck_assert_int_eq(x509_usable(leaf, "ALICE@example.com", time(NULL),
	    &why), 1);
	ck_assert_int_eq(x509_usable(leaf, "Alice@Example.com", time(NULL),
	    &why), 1);
	assert_unusable(leaf, "alicf@example.com", time(NULL),
	    "address not in certificate");
	assert_unusable(leaf, "alice@example.con", time(NULL),
	    "address not in certificate");
	assert_unusable(leaf, "bob@example.com", time(NULL),
	    "address not in certificate");
	assert_unusable(leaf, "alice@example.co", time(NULL),
	    "address not in certificate");
	assert_unusable(leaf, "alice@example.com.evil", time(NULL),
	    "address not in certificate");
	/* now is the caller's: a year on it has expired. */
	assert_unusable(leaf, NULL, time(NULL) + 400 * DAY, "expired");
	assert_unusable(leaf, NULL, time(NULL) - 2 * DAY, "not yet valid");
	X509_free(leaf);
}
END_TEST

START_TEST(usable_validity)
{
	static const struct ext e[] = { SAN_ALICE, EKU_EMAIL, KU_AGREE, END };
	X509 *x;

	x = mkcert("Alice", leaf_key, inter, int_key, 201, -10 * DAY, -DAY, e);
	assert_unusable(x, "alice@example.com", time(NULL), "expired");
	X509_free(x);
	x = mkcert("Alice", leaf_key, inter, int_key, 202, DAY, 10 * DAY, e);
	assert_unusable(x, "alice@example.com", time(NULL), "not yet valid");
	X509_free(x);
}
END_TEST

START_TEST(usable_eku)
{
	static const struct ext none[] = { SAN_ALICE, KU_AGREE, END };
	static const struct ext server[] = { SAN_ALICE, KU_AGREE,
	    { NID_ext_key_usage, "serverAuth" }, END };
	static const struct ext any[] = { SAN_ALICE, KU_AGREE,
	    { NID_ext_key_usage, "anyExtendedKeyUsage" }, END };
	static const struct ext both[] = { SAN_ALICE, KU_AGREE,
	    { NID_ext_key_usage, "clientAuth,emailProtection" }, END };
	const char *why;
	X509 *x;

	x = mkcert("Alice", leaf_key, inter, int_key, 210, -DAY, DAY, none);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "no emailProtection EKU");
	X509_free(x);
	x = mkcert("Alice", leaf_key, inter, int_key, 211, -DAY, DAY, server);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "no emailProtection EKU");
	X509_free(x);
	x = mkcert("Alice", leaf_key, inter, int_key, 212, -DAY, DAY, any);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "no emailProtection EKU");
	X509_free(x);
	/* strict: nothing beside emailProtection (SBR 7.1.2.3 f), unless
	 * ca.allowed_ekus says so */
	x = mkcert("Alice", leaf_key, inter, int_key, 213, -DAY, DAY, both);
	ck_assert_int_eq(x509_usable(x, "alice@example.com", time(NULL), &why),
	    0);
	ck_assert_ptr_nonnull(strstr(why, "clientAuth"));
	ck_assert_int_eq(x509_usable_ekus(x, "alice@example.com",
	    (char *const[]){ "clientAuth", NULL }, time(NULL), &why), 1);
	X509_free(x);
}
END_TEST

START_TEST(usable_key_usage)
{
	static const struct ext sign[] = { SAN_ALICE, EKU_EMAIL,
	    { NID_key_usage, "critical,digitalSignature" }, END };
	static const struct ext noku[] = { SAN_ALICE, EKU_EMAIL, END };
	static const struct ext rsa_ok[] = { SAN_ALICE, EKU_EMAIL,
	    { NID_key_usage, "critical,digitalSignature,keyEncipherment" },
	    END };
	const struct ext *rsa_agree = (const struct ext[]){ SAN_ALICE,
	    EKU_EMAIL, KU_AGREE, END };
	const char *why;
	X509 *x;

	x = mkcert("Alice", leaf_key, inter, int_key, 220, -DAY, DAY, sign);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "key usage forbids encryption");
	X509_free(x);
	/* No keyUsage extension: refused, SBR 7.1.2.3 e wants one. */
	x = mkcert("Alice", leaf_key, inter, int_key, 221, -DAY, DAY, noku);
	ck_assert_int_eq(x509_usable(x, "alice@example.com", time(NULL), &why),
	    0);
	ck_assert_ptr_nonnull(strstr(why, "no keyUsage"));
	X509_free(x);
	/* RSA needs keyEncipherment; keyAgreement does not do. */
	x = mkcert("Alice", rsa_key, inter, int_key, 222, -DAY, DAY, rsa_ok);
	ck_assert_int_eq(x509_usable(x, "alice@example.com", time(NULL), &why),
	    1);
	X509_free(x);
	x = mkcert("Alice", rsa_key, inter, int_key, 223, -DAY, DAY,
	    rsa_agree);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "key usage forbids encryption");
	X509_free(x);
	/* EC with keyEncipherment only cannot do ECDH. */
	x = mkcert("Alice", leaf_key, inter, int_key, 224, -DAY, DAY, rsa_ok);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "key usage forbids encryption");
	X509_free(x);
}
END_TEST

START_TEST(usable_san)
{
	static const struct ext nosan[] = { EKU_EMAIL, KU_AGREE, END };
	static const struct ext many[] = { EKU_EMAIL, KU_AGREE,
	    { NID_subject_alt_name,
	    "DNS:example.com,email:bob@example.com,email:alice@Example.COM" },
	    END };
	const char *why;
	X509 *x;

	x = mkcert("Alice", leaf_key, inter, int_key, 230, -DAY, DAY, nosan);
	assert_unusable(x, "alice@example.com", time(NULL),
	    "address not in certificate");
	ck_assert_int_eq(x509_usable(x, NULL, time(NULL), &why), 0);
	X509_free(x);
	/* a name that is not the person's: refused (SBR 7.1.4.2.1) */
	x = mkcert("Alice", leaf_key, inter, int_key, 231, -DAY, DAY, many);
	ck_assert_int_eq(x509_usable(x, "alice@example.com", time(NULL), &why),
	    0);
	ck_assert_ptr_nonnull(strstr(why, "dNSName"));
	assert_unusable(x, "carol@example.com", time(NULL),
	    "address not in certificate");
	X509_free(x);
}
END_TEST

/*
 * A person with aliases (issue 20 item 1): a certificate naming all three
 * is usable for each, looked up in any case, when the caller gives the
 * person's set; without the set the other names are someone else's. An
 * address outside the set, or a set member the certificate lacks, is not
 * served. x509_names_all wants every member; x509_addrs_same compares sets.
 */
START_TEST(usable_set)
{
	static const struct ext three[] = { EKU_EMAIL, KU_AGREE,
	    { NID_subject_alt_name, "email:alice@example.com,"
	    "email:Alice.Smith@example.com,email:as@example.org" }, END };
	static const struct ext two[] = { EKU_EMAIL, KU_AGREE,
	    { NID_subject_alt_name, "email:as@example.org,"
	    "email:alice@example.com" }, END };
	char *set[] = { "alice@example.com", "Alice.Smith@example.com",
	    "as@example.org" };
	const char *want[] = { "alice@example.com", "Alice.Smith@example.com",
	    "as@example.org", "new@example.org" };
	char why[256], **v;
	const char *w;
	size_t n = 0;
	X509 *x, *y;

	x = mkcert("Alice", leaf_key, inter, int_key, 240, -DAY, DAY, three);
	ck_assert_int_eq(x509_usable_set(x, "as@example.org", set, 3, NULL,
	    time(NULL), &w), 1);
	ck_assert_int_eq(x509_usable_set(x, "alice.smith@example.com", set, 3,
	    NULL, time(NULL), &w), 1);
	ck_assert_int_eq(x509_usable_set(x, "ALICE@example.com", set, 3, NULL,
	    time(NULL), &w), 1);
	/* no set: the aliases are names of someone else */
	ck_assert_int_eq(x509_usable(x, "alice@example.com", time(NULL), &w),
	    0);
	/* an address outside the set, or a set that lacks a name */
	ck_assert_int_eq(x509_usable_set(x, "bob@example.com", set, 3, NULL,
	    time(NULL), &w), 0);
	ck_assert_str_eq(w, "address not in certificate");
	ck_assert_int_eq(x509_usable_set(x, "alice@example.com", set, 2, NULL,
	    time(NULL), &w), 0);
	ck_assert_int_eq(x509_names_all(x, (const char *const *)set, 3, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(x509_names_all(x, want, 4, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "new@example.org"));
	ck_assert_ptr_nonnull(v = x509_cert_addrs(x, &n));
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(v[1], "Alice.Smith@example.com");
	ck_assert_ptr_null(v[3]);
	x509_addrs_free(v);
	y = mkcert("Alice", leaf_key, inter, int_key, 241, -DAY, DAY, two);
	ck_assert_int_eq(x509_addrs_same(x, x), 1);
	ck_assert_int_eq(x509_addrs_same(x, y), 0);
	X509_free(y);
	X509_free(x);
}
END_TEST

/* Write len bytes to a new temporary file; its path into path. */
static void
write_tmp(char *path, size_t pathsz, const void *data, size_t len)
{
	int fd;

	snprintf(path, pathsz, "/tmp/test_x509.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	if (len > 0)
		ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Load path with stderr captured into err. */
static STACK_OF(X509) *
load_capture(const char *path, char *err, size_t errsz)
{
	STACK_OF(X509) *certs;
	char errpath[64];
	ssize_t n;
	int fd, saved;

	snprintf(errpath, sizeof(errpath), "/tmp/test_x509.err.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(errpath), -1);
	fflush(stderr);
	ck_assert_int_ne(saved = dup(2), -1);
	ck_assert_int_ne(dup2(fd, 2), -1);
	certs = x509_load_file(path);
	fflush(stderr);
	ck_assert_int_ne(dup2(saved, 2), -1);
	close(saved);
	ck_assert_int_ne(n = pread(fd, err, errsz - 1, 0), -1);
	err[n] = '\0';
	close(fd);
	unlink(errpath);
	return certs;
}

START_TEST(load_file_pem_der_empty)
{
	STACK_OF(X509) *certs;
	char path[64], err[4096];
	unsigned char *der, *longer;
	const char *text;
	char *pem;
	size_t len;
	long plen;
	BIO *bio;
	X509 *leaf = mkleaf(300);

	/* PEM: a key block is skipped, then two certificates in order. */
	ck_assert_ptr_nonnull(bio = BIO_new(BIO_s_mem()));
	BIO_puts(bio, "leading text\n");
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, leaf_key), 1);
	ck_assert_int_eq(PEM_write_bio_X509(bio, leaf), 1);
	ck_assert_int_eq(PEM_write_bio_X509(bio, inter), 1);
	ck_assert_int_gt(plen = BIO_get_mem_data(bio, &pem), 0);
	write_tmp(path, sizeof(path), pem, (size_t)plen);
	BIO_free(bio);
	ck_assert_ptr_nonnull(certs = x509_load_file(path));
	ck_assert_int_eq(sk_X509_num(certs), 2);
	assert_same_cert(sk_X509_value(certs, 0), leaf);
	assert_same_cert(sk_X509_value(certs, 1), inter);
	sk_X509_pop_free(certs, X509_free);
	unlink(path);

	/* DER. */
	der_of(leaf, &der, &len);
	write_tmp(path, sizeof(path), der, len);
	ck_assert_ptr_nonnull(certs = x509_load_file(path));
	ck_assert_int_eq(sk_X509_num(certs), 1);
	assert_same_cert(sk_X509_value(certs, 0), leaf);
	sk_X509_pop_free(certs, X509_free);
	unlink(path);

	/* DER with a trailing byte, or truncated, is not one certificate. */
	ck_assert_ptr_nonnull(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = '\n';
	write_tmp(path, sizeof(path), longer, len + 1);
	ck_assert_ptr_null(load_capture(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	unlink(path);
	write_tmp(path, sizeof(path), der, len - 1);
	ck_assert_ptr_null(load_capture(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	unlink(path);
	free(longer);
	OPENSSL_free(der);

	/* Empty: refused, the message names the file. */
	write_tmp(path, sizeof(path), "", 0);
	ck_assert_ptr_null(load_capture(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	unlink(path);

	/* Text without a certificate. */
	text = "no certificate here\n";
	write_tmp(path, sizeof(path), text, strlen(text));
	ck_assert_ptr_null(load_capture(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "no certificate"));
	unlink(path);

	/* A damaged PEM block. */
	text = "-----BEGIN CERTIFICATE-----\nAAAA!!\n"
	    "-----END CERTIFICATE-----\n";
	write_tmp(path, sizeof(path), text, strlen(text));
	ck_assert_ptr_null(load_capture(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	unlink(path);

	/* Missing file. */
	ck_assert_ptr_null(load_capture("/nonexistent/x.pem", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.pem"));
	ck_assert_int_eq((int)ERR_peek_error(), 0);
	X509_free(leaf);
}
END_TEST

static Suite *
x509_suite(void)
{
	Suite *s = suite_create("x509");
	TCase *tc = tcase_create("x509");

	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, certsonly_keeps_order);
	tcase_add_test(tc, certsonly_shape);
	tcase_add_test(tc, certsonly_parse_cms_encoding);
	tcase_add_test(tc, certsonly_parse_rejects);
	tcase_add_test(tc, certsonly_parse_rejects_enveloped);
	tcase_add_test(tc, certsonly_parse_rejects_no_certs);
	tcase_add_test(tc, from_der_exact);
	tcase_add_test(tc, sha256_matches_evp);
	tcase_add_test(tc, serial_name_issuer);
	tcase_add_test(tc, usable_good);
	tcase_add_test(tc, usable_validity);
	tcase_add_test(tc, usable_eku);
	tcase_add_test(tc, usable_key_usage);
	tcase_add_test(tc, usable_san);
	tcase_add_test(tc, usable_set);
	tcase_add_test(tc, load_file_pem_der_empty);
	tcase_add_test(tc, der_serial_hex);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(x509_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
