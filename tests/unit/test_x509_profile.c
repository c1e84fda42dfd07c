/*
 * test_x509_profile.c — common/x509_profile.c: each rule of the S/MIME
 * profile check (CA/Browser Forum S/MIME BR, strict mailbox profile) refuses
 * the certificate that breaks it, naming what is wrong, and a good
 * certificate that differs in that one thing passes. Certificates are made
 * here (P-256, RSA 2048 and Ed25519 keys), signed by a test CA.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/x509.h"

#define DAY	(24L * 60 * 60)
#define ALICE	"alice@example.com"

static EVP_PKEY	*ca_key, *ec_key, *rsa_key, *ed_key;
static X509	*ca;

/* One certificate: what differs from the good one; NULL keeps the good. */
struct spec {
	EVP_PKEY	*key;		/* NULL: ec_key */
	const char	*bc;		/* basicConstraints */
	const char	*ku;		/* keyUsage; "" none */
	const char	*eku;		/* extKeyUsage; "" none */
	const char	*san;		/* subjectAltName; "" none */
	const char	*subj_mail;	/* subject emailAddress */
	long		 nb, na;	/* validity from now, seconds */
};

static void
add_ext(X509 *x, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	if (v == NULL || v[0] == '\0')
		return;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	ck_assert_ptr_nonnull(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v));
	ck_assert_int_eq(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *
mk(const struct spec *s)
{
	EVP_PKEY *key = s->key != NULL ? s->key : ec_key;
	X509_NAME *n;
	X509 *x;

	ck_assert_ptr_nonnull(x = X509_new());
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Alice", -1, -1, 0);
	if (s->subj_mail != NULL)
		X509_NAME_add_entry_by_txt(n, "emailAddress", MBSTRING_ASC,
		    (const unsigned char *)s->subj_mail, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), s->nb != 0 ? s->nb : -DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), s->na != 0 ? s->na : 365 * DAY);
	X509_set_pubkey(x, key);
	add_ext(x, NID_basic_constraints, s->bc);
	add_ext(x, NID_key_usage, s->ku != NULL ? s->ku : key == rsa_key ?
	    "critical,digitalSignature,keyEncipherment" : key == ed_key ?
	    "critical,digitalSignature" :
	    "critical,digitalSignature,keyAgreement");
	add_ext(x, NID_ext_key_usage, s->eku != NULL ? s->eku :
	    "emailProtection");
	add_ext(x, NID_subject_alt_name, s->san != NULL ? s->san :
	    "email:" ALICE);
	ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
	return x;
}

/* s judged for addrs (NULL: alice) gives want, its reason holding frag. */
static void
judge(const struct spec *s, char *const *ekus, enum x509_use use,
    enum x509_prof want, const char *frag)
{
	const char *addrs[] = { ALICE, "a.smith@example.com" };
	char why[512];
	enum x509_prof v;
	X509 *x = mk(s);

	v = x509_profile_check(x, addrs, 2, ekus, use, time(NULL), why,
	    sizeof(why));
	ck_assert_msg(v == want, "verdict %d, want %d: %s", v, want, why);
	if (frag != NULL)
		ck_assert_msg(strstr(why, frag) != NULL, "\"%s\" lacks \"%s\"",
		    why, frag);
	X509_free(x);
}

static void
ok(const struct spec *s)
{
	judge(s, NULL, X509_USE_ENCRYPT, X509_PROF_OK, NULL);
}

static void
bad(const struct spec *s, const char *frag)
{
	judge(s, NULL, X509_USE_ENCRYPT, X509_PROF_PROFILE, frag);
}

START_TEST(good)
{
	ok(&(struct spec){ 0 });
	ok(&(struct spec){ .key = rsa_key });
	ok(&(struct spec){ .bc = "critical,CA:FALSE" });
	/* nonRepudiation is in the strict table for both key types */
	ok(&(struct spec){ .ku = "digitalSignature,nonRepudiation,"
	    "keyAgreement" });
	/* both of the person's addresses, any case in the domain */
	ok(&(struct spec){ .san = "email:alice@EXAMPLE.com,"
	    "email:a.smith@example.com" });
	ok(&(struct spec){ .subj_mail = "a.smith@Example.COM",
	    .san = "email:alice@example.com,email:a.smith@example.com" });
	/* RFC 9598 SmtpUTF8Mailbox beside the rfc822Name */
	ok(&(struct spec){ .san = "email:" ALICE ",otherName:"
	    "1.3.6.1.5.5.7.8.9;UTF8:a.smith@example.com" });
}
END_TEST

/* SBR 7.1.2.3 d */
START_TEST(basic_constraints)
{
	bad(&(struct spec){ .bc = "critical,CA:TRUE" }, "cA=TRUE");
	bad(&(struct spec){ .bc = "critical,CA:FALSE,pathlen:0" },
	    "pathLenConstraint");
}
END_TEST

/* SBR 7.1.2.3 e */
START_TEST(key_usage)
{
	bad(&(struct spec){ .ku = "" }, "no keyUsage");
	bad(&(struct spec){ .ku = "digitalSignature,keyAgreement,"
	    "keyCertSign" }, "keyCertSign is for CAs");
	bad(&(struct spec){ .ku = "digitalSignature,keyAgreement,cRLSign" },
	    "cRLSign is for CAs");
	/* strict: dataEncipherment is only for multipurpose RSA */
	bad(&(struct spec){ .key = rsa_key, .ku = "keyEncipherment,"
	    "dataEncipherment" }, "dataEncipherment is not allowed for an RSA");
	/* keyAgreement is no RSA bit, keyEncipherment no EC bit */
	bad(&(struct spec){ .key = rsa_key, .ku = "keyEncipherment,"
	    "keyAgreement" }, "keyAgreement is not allowed");
	bad(&(struct spec){ .ku = "keyAgreement,keyEncipherment" },
	    "keyEncipherment is not allowed for an EC");
	judge(&(struct spec){ .ku = "digitalSignature,encipherOnly" }, NULL,
	    X509_USE_SIGN, X509_PROF_PROFILE, "without keyAgreement");
	/* fit for its purpose */
	judge(&(struct spec){ .ku = "digitalSignature" }, NULL,
	    X509_USE_ENCRYPT, X509_PROF_KEY_USAGE,
	    "forbids encryption (an EC key needs keyAgreement)");
	judge(&(struct spec){ .key = rsa_key, .ku = "digitalSignature" },
	    NULL, X509_USE_ENCRYPT, X509_PROF_KEY_USAGE,
	    "(an RSA key needs keyEncipherment)");
	judge(&(struct spec){ .ku = "keyAgreement" }, NULL, X509_USE_SIGN,
	    X509_PROF_KEY_USAGE, "forbids signing");
	judge(&(struct spec){ .ku = "digitalSignature" }, NULL, X509_USE_SIGN,
	    X509_PROF_OK, NULL);
	judge(&(struct spec){ .key = ed_key }, NULL, X509_USE_ENCRYPT,
	    X509_PROF_KEY_TYPE, "cannot encrypt");
}
END_TEST

/* SBR 7.1.2.3 f */
START_TEST(eku)
{
	char *const client[] = { "clientAuth", NULL };
	char *const oid[] = { "1.3.6.1.4.1.311.10.3.12", NULL };

	judge(&(struct spec){ .eku = "" }, NULL, X509_USE_ENCRYPT,
	    X509_PROF_NO_EKU, "no emailProtection");
	judge(&(struct spec){ .eku = "clientAuth" }, client, X509_USE_ENCRYPT,
	    X509_PROF_NO_EKU, "no emailProtection");
	bad(&(struct spec){ .eku = "emailProtection,clientAuth" },
	    "clientAuth beside emailProtection is not allowed");
	bad(&(struct spec){ .eku = "emailProtection,anyExtendedKeyUsage" },
	    "anyExtendedKeyUsage");
	bad(&(struct spec){ .eku = "emailProtection,serverAuth" },
	    "serverAuth");
	/* allowed by configuration (ca.allowed_ekus) */
	judge(&(struct spec){ .eku = "emailProtection,clientAuth" }, client,
	    X509_USE_ENCRYPT, X509_PROF_OK, NULL);
	judge(&(struct spec){ .eku = "emailProtection,1.3.6.1.4.1.311.10.3.12"
	    }, oid, X509_USE_ENCRYPT, X509_PROF_OK, NULL);
	/* ... but not the others, and never serverAuth */
	judge(&(struct spec){ .eku = "emailProtection,clientAuth,codeSigning" },
	    client, X509_USE_ENCRYPT, X509_PROF_PROFILE, "codeSigning");
	judge(&(struct spec){ .eku = "emailProtection,serverAuth" },
	    (char *const[]){ "serverAuth", NULL }, X509_USE_ENCRYPT,
	    X509_PROF_PROFILE, "serverAuth");
}
END_TEST

START_TEST(eku_config)
{
	const char *why;

	ck_assert_int_eq(x509_profile_eku_ok("clientAuth", &why), 0);
	ck_assert_int_eq(x509_profile_eku_ok("1.3.6.1.4.1.311.10.3.12", &why),
	    0);
	ck_assert_int_eq(x509_profile_eku_ok("serverAuth", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "7.1.2.3"));
	ck_assert_int_eq(x509_profile_eku_ok("anyExtendedKeyUsage", &why), -1);
	ck_assert_int_eq(x509_profile_eku_ok("codeSigning", &why), -1);
	ck_assert_int_eq(x509_profile_eku_ok("timeStamping", &why), -1);
	ck_assert_int_eq(x509_profile_eku_ok("no such usage", &why), -1);
	ck_assert_int_eq(x509_profile_eku_ok("", &why), -1);
}
END_TEST

/* SBR 7.1.2.3 h, 7.1.4.2.1 */
START_TEST(names)
{
	bad(&(struct spec){ .san = "email:" ALICE ",DNS:www.example.com" },
	    "dNSName");
	bad(&(struct spec){ .san = "email:" ALICE ",URI:https://example.com/" },
	    "uniformResourceIdentifier");
	bad(&(struct spec){ .san = "email:" ALICE ",IP:127.0.0.1" },
	    "iPAddress");
	bad(&(struct spec){ .san = "email:" ALICE ",otherName:"
	    "1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp" }, "otherName");
	/* another person's address beside hers */
	bad(&(struct spec){ .san = "email:" ALICE ",email:mallory@example.com" },
	    "rfc822Name mallory@example.com is not the person's");
	bad(&(struct spec){ .san = "email:" ALICE ",otherName:"
	    "1.3.6.1.5.5.7.8.9;UTF8:mallory@example.com" }, "mallory");
	/* the local part without regard to case, as the directory matches
	 * mail (issue 17); another local part is another person */
	ok(&(struct spec){ .san = "email:" ALICE ",email:Alice@example.com" });
	ok(&(struct spec){ .san = "email:ALICE@Example.COM" });
	bad(&(struct spec){ .san = "email:" ALICE ",email:alicf@example.com" },
	    "alicf@example.com");
	/* hers missing */
	judge(&(struct spec){ .san = "email:mallory@example.com" }, NULL,
	    X509_USE_ENCRYPT, X509_PROF_ADDRESS,
	    "rfc822Name mallory@example.com is not " ALICE);
	judge(&(struct spec){ .san = "" }, NULL, X509_USE_ENCRYPT,
	    X509_PROF_ADDRESS, "no subjectAltName");
	/* a subject emailAddress of someone else */
	bad(&(struct spec){ .subj_mail = "mallory@example.com" },
	    "subject emailAddress mallory@example.com");
	ok(&(struct spec){ .subj_mail = "alice@example.COM" });
}
END_TEST

START_TEST(names_without_address)
{
	char why[256];
	X509 *x;

	/* no address to compare with: the SAN types still count */
	x = mk(&(struct spec){ .san = "email:" ALICE ",DNS:example.com" });
	ck_assert_int_eq(x509_profile_check(x, NULL, 0, NULL, X509_USE_ENCRYPT,
	    time(NULL), why, sizeof(why)), X509_PROF_PROFILE);
	X509_free(x);
	x = mk(&(struct spec){ .san = "" });
	ck_assert_int_eq(x509_profile_check(x, NULL, 0, NULL, X509_USE_ENCRYPT,
	    time(NULL), why, sizeof(why)), X509_PROF_PROFILE);
	X509_free(x);
	x = mk(&(struct spec){ 0 });
	ck_assert_int_eq(x509_profile_check(x, NULL, 0, NULL, X509_USE_ENCRYPT,
	    time(NULL), why, sizeof(why)), X509_PROF_OK);
	X509_free(x);
}
END_TEST

/* SBR 6.3.2 */
START_TEST(validity)
{
	ok(&(struct spec){ .nb = -DAY, .na = 824 * DAY - 1 });
	bad(&(struct spec){ .nb = -DAY, .na = 825 * DAY },
	    "exceeds the 825 days");
	judge(&(struct spec){ .nb = -10 * DAY, .na = -DAY }, NULL,
	    X509_USE_ENCRYPT, X509_PROF_EXPIRED, "expired");
	judge(&(struct spec){ .nb = DAY, .na = 10 * DAY }, NULL,
	    X509_USE_ENCRYPT, X509_PROF_NOT_YET_VALID, "not yet valid");
}
END_TEST

START_TEST(not_a_cert)
{
	char why[64];

	ck_assert_int_eq(x509_profile_check(NULL, NULL, 0, NULL,
	    X509_USE_ENCRYPT, time(NULL), why, sizeof(why)),
	    X509_PROF_UNPARSABLE);
	/* a short buffer: cut, NUL-terminated */
	{
		X509 *x = mk(&(struct spec){ .bc = "critical,CA:TRUE" });

		ck_assert_int_eq(x509_profile_check(x, NULL, 0, NULL,
		    X509_USE_ENCRYPT, time(NULL), why, 8), X509_PROF_PROFILE);
		ck_assert_uint_eq(strlen(why), 7);
		X509_free(x);
	}
}
END_TEST

static void
setup_all(void)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	log_init("test_x509_profile", 0, LOG_LVL_ERR);
	ck_assert_ptr_nonnull(ca_key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(ec_key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(rsa_key = EVP_RSA_gen(2048));
	ck_assert_ptr_nonnull(ed_key = EVP_PKEY_Q_keygen(NULL, NULL,
	    "ED25519"));
	ck_assert_ptr_nonnull(ca = X509_new());
	X509_set_version(ca, X509_VERSION_3);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN",
	    MBSTRING_ASC, (const unsigned char *)"Profile Test CA", -1, -1, 0);
	X509_set_issuer_name(ca, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(ca), -DAY);
	X509_gmtime_adj(X509_getm_notAfter(ca), 3650 * DAY);
	X509_set_pubkey(ca, ca_key);
	X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash");
	X509_add_ext(ca, e, -1);
	X509_EXTENSION_free(e);
	ck_assert_int_gt(X509_sign(ca, ca_key, EVP_sha256()), 0);
}

static void
teardown_all(void)
{
	X509_free(ca);
	EVP_PKEY_free(ed_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ca_key);
}

int
main(void)
{
	Suite *s = suite_create("x509_profile");
	TCase *tc = tcase_create("rules");
	SRunner *sr;
	int nfail;

	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_test(tc, good);
	tcase_add_test(tc, basic_constraints);
	tcase_add_test(tc, key_usage);
	tcase_add_test(tc, eku);
	tcase_add_test(tc, eku_config);
	tcase_add_test(tc, names);
	tcase_add_test(tc, names_without_address);
	tcase_add_test(tc, validity);
	tcase_add_test(tc, not_a_cert);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
