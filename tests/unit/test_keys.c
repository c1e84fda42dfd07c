/*
 * test_keys.c — key generation for every keys.type and the CSR: it verifies,
 * carries CN and the rfc822Name SAN, and refuses control characters.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/keys.h"
#include "common/log.h"

static const char *const types[] = {
	"rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384",
};

/* The CN of req into buf. */
static void
req_cn(X509_REQ *req, char *buf, int len)
{
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(
	    req), NID_commonName, buf, len), 0);
}

/* The single rfc822Name of the CSR's extensionRequest. */
static void
req_san(X509_REQ *req, char *buf, size_t len)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	int i;

	ck_assert_ptr_nonnull(exts = X509_REQ_get_extensions(req));
	i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
	ck_assert_int_ge(i, 0);
	ck_assert_ptr_nonnull(gens = X509V3_EXT_d2i(sk_X509_EXTENSION_value(
	    exts, i)));
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 1);
	gen = sk_GENERAL_NAME_value(gens, 0);
	ck_assert_int_eq(gen->type, GEN_EMAIL);
	snprintf(buf, len, "%.*s", ASN1_STRING_length(gen->d.rfc822Name),
	    (const char *)ASN1_STRING_get0_data(gen->d.rfc822Name));
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

START_TEST(every_type)
{
	EVP_PKEY *key;
	X509_REQ *req;
	char cn[256], san[256];

	ck_assert(keys_type_valid(types[_i]));
	ck_assert_ptr_nonnull(key = keys_generate(types[_i]));
	if (strncmp(types[_i], "rsa:", 4) == 0) {
		ck_assert(EVP_PKEY_is_a(key, "RSA"));
		ck_assert_int_eq(EVP_PKEY_get_bits(key), atoi(types[_i] + 4));
	} else
		ck_assert(EVP_PKEY_is_a(key, "EC"));
	ck_assert_ptr_nonnull(req = keys_csr_new(key, "alice@Example.COM",
	    "Alice Émile Example"));
	ck_assert_int_eq(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	ck_assert_int_eq(EVP_PKEY_eq(key, X509_REQ_get0_pubkey(req)), 1);
	ck_assert_int_eq(X509_REQ_get_signature_nid(req),
	    EVP_PKEY_is_a(key, "RSA") ? NID_sha256WithRSAEncryption :
	    NID_ecdsa_with_SHA256);
	req_cn(req, cn, sizeof(cn));
	ck_assert_str_eq(cn, "Alice \xc3\x89mile Example");
	req_san(req, san, sizeof(san));
	ck_assert_str_eq(san, "alice@example.com");
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(bad_types)
{
	ck_assert(!keys_type_valid("rsa:1024"));
	ck_assert(!keys_type_valid("ec:P-521"));
	ck_assert(!keys_type_valid(""));
	ck_assert(!keys_type_valid(NULL));
	ck_assert_ptr_null(keys_generate("dsa:2048"));
}
END_TEST

START_TEST(cn_fallback_and_truncation)
{
	EVP_PKEY *key;
	X509_REQ *req;
	char cn[512], name[300];
	size_t i;

	ck_assert_ptr_nonnull(key = keys_generate("ec:P-256"));
	ck_assert_ptr_nonnull(req = keys_csr_new(key, "bob@example.com", NULL));
	req_cn(req, cn, sizeof(cn));
	ck_assert_str_eq(cn, "bob@example.com");
	X509_REQ_free(req);
	ck_assert_ptr_nonnull(req = keys_csr_new(key, "bob@example.com", ""));
	req_cn(req, cn, sizeof(cn));
	ck_assert_str_eq(cn, "bob@example.com");
	X509_REQ_free(req);
	/* 100 two-byte characters: cut to 64 characters, 128 bytes */
	for (i = 0; i < 100; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[200] = '\0';
	ck_assert_ptr_nonnull(req = keys_csr_new(key, "bob@example.com", name));
	req_cn(req, cn, sizeof(cn));
	ck_assert_uint_eq(strlen(cn), 128);
	ck_assert_int_eq(memcmp(cn, name, 128), 0);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(refused_names)
{
	static const char *const bad[] = {
		"Alice\nExample", "Alice\tExample", "Alice\x7f", "Alice\x1b[31m",
		"Alice \xc2\x85", "Alice \xe2\x80\xa8", "\xff\xfe", "\xc0\xaf",
		"\xed\xa0\x80",
	};
	EVP_PKEY *key;
	size_t i;

	ck_assert_ptr_nonnull(key = keys_generate("ec:P-256"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(keys_csr_new(key, "bob@example.com", bad[i]) ==
		    NULL, "name %zu accepted", i);
	ck_assert_ptr_null(keys_csr_new(key, "not an address", "Bob"));
	ck_assert_ptr_null(keys_csr_new(key, NULL, "Bob"));
	EVP_PKEY_free(key);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");
	SRunner *sr;
	int failed;

	log_init("test_keys", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, every_type, 0, sizeof(types) /
	    sizeof(types[0]));
	tcase_add_test(tc, bad_types);
	tcase_add_test(tc, cn_fallback_and_truncation);
	tcase_add_test(tc, refused_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
