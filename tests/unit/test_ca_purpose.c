/*
 * test_ca_purpose.c — keys.separate_signing's two certificates (issue 20
 * item 2): the CSR says the purpose in its keyUsage request, the local CA
 * issues exactly that key usage, and the answer check refuses a
 * certificate that allows the other use; a PKCS#12 of two keys pairs each
 * with its certificate and refuses a key that is not its certificate's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "common/keys.h"
#include "common/log.h"

#define MAIL	"alice@example.com"

static char tmpdir[] = "/tmp/test_ca_purpose.XXXXXX";
static char cadir[512];
static struct cfg cfg;

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(cadir, sizeof(cadir), "%s/ca", tmpdir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)"test.conf";
	cfg.ca.driver = (char *)"local";
	cfg.ca.local.dir = cadir;
	cfg.ca.local.validity_days = 365;
	cfg.ca.local.key_type = (char *)"ec:P-256";
	cfg.ca.local.subject_cn = (char *)"smimepub test CA";
	cfg.ca.local.ca_validity_days = 3650;
	cfg.ca.local.crl_days = 7;
	ck_assert_int_eq(ca_local_init(&cfg), 0);
}

static void
teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_ca_purpose.XXXXXX");
}

/* Issue for key with purpose p; the certificate (*csrp: the request). */
static X509 *
issue(struct ca *ca, EVP_PKEY *key, enum keys_purpose p, X509_REQ **csrp)
{
	struct ca_result res;
	X509_REQ *csr;
	X509 *x;

	ck_assert_ptr_nonnull(csr = keys_csr_new_for(key, MAIL, "Alice", p));
	ck_assert_int_eq(keys_csr_purpose(csr, NULL), p);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_msg(res.status == CA_ISSUED, "purpose %d: %s", (int)p,
	    res.reason ? res.reason : "?");
	x = res.cert;
	res.cert = NULL;
	ca_result_clear(&res);
	*csrp = csr;
	return x;
}

static const char *const types[] = { "rsa:2048", "ec:P-256" };

START_TEST(issued_by_purpose)
{
	struct ca *ca;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509 *x;
	uint32_t want_enc;
	int rsa = strncmp(types[_i], "rsa", 3) == 0;

	want_enc = rsa ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(key = keys_generate(types[_i]));
	x = issue(ca, key, KEYS_ENCRYPT, &csr);
	ck_assert_uint_eq(X509_get_key_usage(x), want_enc);
	X509_free(x);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);

	ck_assert_ptr_nonnull(key = keys_generate(types[_i]));
	x = issue(ca, key, KEYS_SIGN, &csr);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	X509_free(x);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);

	ck_assert_ptr_nonnull(key = keys_generate(types[_i]));
	x = issue(ca, key, KEYS_SIGN_NR, &csr);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE |
	    KU_NON_REPUDIATION);
	X509_free(x);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);

	/* one key for both, as without keys.separate_signing */
	ck_assert_ptr_nonnull(key = keys_generate(types[_i]));
	x = issue(ca, key, KEYS_BOTH, &csr);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE |
	    want_enc);
	X509_free(x);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(ca);
}
END_TEST

/* A certificate for both uses is refused as the answer to a request for
 * one: the escrowed key must not sign, the signing key must not decrypt. */
START_TEST(check_refuses_the_other_use)
{
	struct ca *ca;
	EVP_PKEY *key;
	X509_REQ *both, *enc, *sig, *signr;
	X509 *x, *xs;
	char *why = NULL;
	X509_STORE *st = NULL;
	STACK_OF(X509) *chain;

	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(key = keys_generate("rsa:2048"));
	x = issue(ca, key, KEYS_BOTH, &both);
	ck_assert_ptr_nonnull(enc = keys_csr_new_for(key, MAIL, NULL,
	    KEYS_ENCRYPT));
	ck_assert_ptr_nonnull(sig = keys_csr_new_for(key, MAIL, NULL,
	    KEYS_SIGN));
	ck_assert_ptr_nonnull(signr = keys_csr_new_for(key, MAIL, NULL,
	    KEYS_SIGN_NR));
	ck_assert_ptr_nonnull(chain = ca_chain(ca, x));
	ck_assert_ptr_nonnull(st = X509_STORE_new());
	ck_assert_int_eq(X509_STORE_add_cert(st, sk_X509_value(chain,
	    sk_X509_num(chain) - 1)), 1);
	ck_assert_msg(ca_check_issued(x, NULL, both, MAIL, NULL, st,
	    time(NULL), &why) == 0, "both: %s", why);
	ck_assert_int_eq(ca_check_issued(x, NULL, enc, MAIL, NULL, st,
	    time(NULL), &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "for signing"));
	free(why);
	ck_assert_int_eq(ca_check_issued(x, NULL, sig, MAIL, NULL, st,
	    time(NULL), &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "for encryption"));
	free(why);
	/* signing without the nonRepudiation asked for (another key: the
	 * local CA answers a request for the same key with the same
	 * certificate) */
	X509_REQ_free(both);
	X509_REQ_free(sig);
	X509_REQ_free(signr);
	EVP_PKEY_free(key);
	ck_assert_ptr_nonnull(key = keys_generate("rsa:2048"));
	ck_assert_ptr_nonnull(signr = keys_csr_new_for(key, MAIL, NULL,
	    KEYS_SIGN_NR));
	xs = issue(ca, key, KEYS_SIGN, &sig);
	both = NULL;
	ck_assert_msg(ca_check_issued(xs, NULL, sig, MAIL, NULL, st,
	    time(NULL), &why) == 0, "sign: %s", why);
	ck_assert_int_eq(ca_check_issued(xs, NULL, signr, MAIL, NULL, st,
	    time(NULL), &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "nonRepudiation"));
	free(why);
	X509_free(xs);
	X509_free(x);
	X509_REQ_free(both);
	X509_REQ_free(enc);
	X509_REQ_free(sig);
	X509_REQ_free(signr);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_free(st);
	EVP_PKEY_free(key);
	ca_free(ca);
}
END_TEST

/* Two keys in one PKCS#12: two shrouded key bags and two certificates,
 * paired by localKeyId, each named; a key that is not its certificate's is
 * refused. */
START_TEST(p12_two_keys)
{
	struct ca *ca;
	EVP_PKEY *k1, *k2;
	X509_REQ *c1, *c2;
	X509 *x1, *x2;
	struct keys_bag b[2];
	PKCS12 *p12;
	STACK_OF(PKCS7) *safes;
	STACK_OF(PKCS12_SAFEBAG) *bags;
	int i, j, nkeys = 0, ncerts = 0;

	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(k1 = keys_generate("ec:P-256"));
	ck_assert_ptr_nonnull(k2 = keys_generate("ec:P-256"));
	x1 = issue(ca, k1, KEYS_ENCRYPT, &c1);
	x2 = issue(ca, k2, KEYS_SIGN, &c2);
	b[0].key = k1;
	b[0].cert = x1;
	b[0].name = "alice encryption";
	b[1].key = k2;
	b[1].cert = x2;
	b[1].name = "alice signing";
	ck_assert_ptr_nonnull(p12 = keys_p12_new("pw", b, 2, NULL, 10000));
	ck_assert_int_eq(PKCS12_verify_mac(p12, "pw", -1), 1);
	ck_assert_ptr_nonnull(safes = PKCS12_unpack_authsafes(p12));
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		ck_assert_int_eq(OBJ_obj2nid(p7->type), NID_pkcs7_data);
		ck_assert_ptr_nonnull(bags = PKCS12_unpack_p7data(p7));
		for (j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(
			    bags, j);
			char *fn = PKCS12_get_friendlyname(
			    (PKCS12_SAFEBAG *)bag);

			ck_assert_ptr_nonnull(fn);
			ck_assert_ptr_nonnull(PKCS12_SAFEBAG_get0_attr(bag,
			    NID_localKeyID));
			if (PKCS12_SAFEBAG_get_nid(bag) ==
			    NID_pkcs8ShroudedKeyBag)
				ck_assert_str_eq(fn, nkeys++ ? "alice signing" :
				    "alice encryption");
			else
				ncerts++;
			OPENSSL_free(fn);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	ck_assert_int_eq(nkeys, 2);
	ck_assert_int_eq(ncerts, 2);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	/* crossed: refused */
	b[1].cert = x1;
	ck_assert_ptr_null(keys_p12_new("pw", b, 2, NULL, 10000));
	X509_free(x1);
	X509_free(x2);
	X509_REQ_free(c1);
	X509_REQ_free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	ca_free(ca);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ca_purpose");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	log_init("test_ca_purpose", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, issued_by_purpose, 0, 2);
	tcase_add_test(tc, check_refuses_the_other_use);
	tcase_add_test(tc, p12_two_keys);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
