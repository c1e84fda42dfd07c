/*
 * test_ca_local.c — the local CA: init (modes, never twice), issuance to
 * the S/MIME BR strict profile for RSA and EC keys, the answer check and
 * the bad certificates it must reject, revocation, the CRL, the list, and
 * the `ca` command.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/local.h"
#include "cli/cli.h"
#include "common/keys.h"
#include "common/log.h"

#define MAIL	"alice@example.com"
#define CRLURL	"http://ca.example.com/crl.pem"
#define AIAURL	"http://ca.example.com/ca.pem"
#define POLICY	"2.23.140.1.5.1.3"	/* S/MIME BR mailbox-validated strict */

static char tmpdir[] = "/tmp/test_ca_local.XXXXXX";
static char cadir[512];
static char *policies[] = { (char *)POLICY, NULL };
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
	cfg.ca.local.key_type = (char *)"rsa:3072";
	cfg.ca.local.subject_cn = (char *)"smimepub test CA";
	cfg.ca.local.ca_validity_days = 3650;
	cfg.ca.local.crl_url = (char *)CRLURL;
	cfg.ca.local.aia_url = (char *)AIAURL;
	cfg.ca.local.policies = policies;
	cfg.ca.local.n_policies = 1;
	cfg.ca.local.crl_days = 7;
}

static void
teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_ca_local.XXXXXX");
}

static mode_t
mode_of(const char *name)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", cadir, name);
	ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
	return st.st_mode & 07777;
}

static X509 *
ca_cert(void)
{
	char path[600];
	X509 *x;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/" CA_LOCAL_CERT, cadir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	return x;
}

static EVP_PKEY *
ca_key(void)
{
	char path[600];
	EVP_PKEY *k;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/" CA_LOCAL_KEY, cadir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(k = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
	return k;
}

static X509_STORE *
store_of(X509 *anchor)
{
	X509_STORE *st;

	ck_assert_ptr_nonnull(st = X509_STORE_new());
	ck_assert_int_eq(X509_STORE_add_cert(st, anchor), 1);
	return st;
}

static X509_EXTENSION *
ext(X509 *x, int nid, int critical)
{
	X509_EXTENSION *e;
	int i;

	i = X509_get_ext_by_NID(x, nid, -1);
	ck_assert_msg(i >= 0, "no %s", OBJ_nid2sn(nid));
	ck_assert_int_eq(X509_get_ext_by_NID(x, nid, i), -1);
	e = X509_get_ext(x, i);
	ck_assert_int_eq(X509_EXTENSION_get_critical(e), critical);
	return e;
}

START_TEST(init_modes_and_once)
{
	X509 *ca;
	BASIC_CONSTRAINTS *bc;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_int_eq(mode_of(""), 0700);
	ck_assert_int_eq(mode_of(CA_LOCAL_KEY), 0600);
	ck_assert_int_eq(mode_of(CA_LOCAL_CERT), 0644);
	ck_assert_int_eq(mode_of(CA_LOCAL_INDEX), 0700);
	ck_assert_int_eq(mode_of(CA_LOCAL_INDEX "/data.mdb"), 0600);
	ca = ca_cert();
	bc = X509V3_EXT_d2i(ext(ca, NID_basic_constraints, 1));
	ck_assert_int_ne(bc->ca, 0);
	ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ext(ca, NID_key_usage, 1);
	ck_assert_uint_eq(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	ext(ca, NID_subject_key_identifier, 0);
	ck_assert_int_eq(X509_verify(ca, X509_get0_pubkey(ca)), 1);
	ck_assert(EVP_PKEY_is_a(X509_get0_pubkey(ca), "RSA"));
	ck_assert_int_eq(EVP_PKEY_get_bits(X509_get0_pubkey(ca)), 3072);
	X509_free(ca);
	/* never twice: the second init fails and leaves the key alone */
	ck_assert_int_eq(ca_local_init(&cfg), -1);
	ck_assert_int_eq(mode_of(CA_LOCAL_KEY), 0600);
}
END_TEST

START_TEST(init_p384_and_bad_type)
{
	X509 *ca;

	cfg.ca.local.key_type = (char *)"rsa:1024";
	ck_assert_int_eq(ca_local_init(&cfg), -1);
	cfg.ca.local.key_type = (char *)"ec:P-384";
	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ca = ca_cert();
	ck_assert_int_eq(X509_get_signature_nid(ca), NID_ecdsa_with_SHA384);
	X509_free(ca);
}
END_TEST

/* Enrol a fresh key of type for MAIL; the issued certificate. */
static X509 *
issue(struct ca *ca, const char *type, EVP_PKEY **keyp, X509_REQ **csrp)
{
	struct ca_result res;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509 *x;

	ck_assert_ptr_nonnull(key = keys_generate(type));
	ck_assert_ptr_nonnull(csr = keys_csr_new(key, MAIL, "Alice Example"));
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	ck_assert_int_eq(sk_X509_num(res.chain), 1);
	x = res.cert;
	res.cert = NULL;
	ca_result_clear(&res);
	if (keyp)
		*keyp = key;
	else
		EVP_PKEY_free(key);
	if (csrp)
		*csrp = csr;
	else
		X509_REQ_free(csr);
	return x;
}

START_TEST(profile)
{
	static const char *const types[] = { "ec:P-256", "rsa:2048" };
	struct ca *ca;
	X509 *x, *cax;
	X509_REQ *csr;
	X509_STORE *st;
	BIGNUM *bn;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	AUTHORITY_KEYID *aki;
	CRL_DIST_POINTS *dps;
	AUTHORITY_INFO_ACCESS *aia;
	CERTIFICATEPOLICIES *pols;
	X509_NAME *subj;
	static const int capnids[] = { NID_aes_256_cbc, NID_aes_192_cbc,
	    NID_aes_128_cbc };
	STACK_OF(X509_ALGOR) *caps;
	const ASN1_OBJECT *capobj;
	const ASN1_OCTET_STRING *os;
	const unsigned char *p;
	char buf[128], *why = NULL;
	int days, secs, rsa = _i == 1, i, ptype;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	x = issue(ca, types[_i], NULL, &csr);
	cax = ca_cert();

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	ck_assert_int_eq(X509_get_signature_nid(x),
	    NID_sha256WithRSAEncryption);
	/* random positive serial of at most 128 bits, not tiny */
	ck_assert_ptr_nonnull(bn = ASN1_INTEGER_to_BN(
	    X509_get0_serialNumber(x), NULL));
	ck_assert(!BN_is_negative(bn));
	ck_assert_int_le(BN_num_bits(bn), 127);
	ck_assert_int_gt(BN_num_bits(bn), 64);
	BN_free(bn);
	/* subject: CN = the address, nothing else */
	subj = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_entry_count(subj), 1);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(subj, NID_commonName, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, MAIL);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(cax)), 0);

	bc = X509V3_EXT_d2i(ext(x, NID_basic_constraints, 1));
	ck_assert_int_eq(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);
	ext(x, NID_key_usage, 1);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE |
	    (rsa ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT));
	eku = X509V3_EXT_d2i(ext(x, NID_ext_key_usage, 0));
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_email_protect);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	gens = X509V3_EXT_d2i(ext(x, NID_subject_alt_name, 0));
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 1);
	gen = sk_GENERAL_NAME_value(gens, 0);
	ck_assert_int_eq(gen->type, GEN_EMAIL);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(
	    gen->d.rfc822Name), MAIL);
	GENERAL_NAMES_free(gens);
	ext(x, NID_subject_key_identifier, 0);
	aki = X509V3_EXT_d2i(ext(x, NID_authority_key_identifier, 0));
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(cax)), 0);
	AUTHORITY_KEYID_free(aki);
	dps = X509V3_EXT_d2i(ext(x, NID_crl_distribution_points, 0));
	gen = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->
	    distpoint->name.fullname, 0);
	ck_assert_int_eq(gen->type, GEN_URI);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(
	    gen->d.uniformResourceIdentifier), CRLURL);
	CRL_DIST_POINTS_free(dps);
	aia = X509V3_EXT_d2i(ext(x, NID_info_access, 0));
	ck_assert_int_eq(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->
	    method), NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	pols = X509V3_EXT_d2i(ext(x, NID_certificate_policies, 0));
	OBJ_obj2txt(buf, sizeof(buf), sk_POLICYINFO_value(pols, 0)->policyid,
	    1);
	ck_assert_str_eq(buf, POLICY);
	CERTIFICATEPOLICIES_free(pols);
	/* smimeCapabilities (RFC 4262): AES-256/192/128-CBC, in that order */
	os = X509_EXTENSION_get_data(ext(x, NID_SMIMECapabilities, 0));
	p = ASN1_STRING_get0_data(os);
	caps = d2i_X509_ALGORS(NULL, &p, ASN1_STRING_length(os));
	ck_assert_ptr_nonnull(caps);
	ck_assert_int_eq(sk_X509_ALGOR_num(caps), 3);
	for (i = 0; i < 3; i++) {
		X509_ALGOR_get0(&capobj, &ptype, NULL,
		    sk_X509_ALGOR_value(caps, i));
		ck_assert_int_eq(OBJ_obj2nid(capobj), capnids[i]);
		ck_assert_int_eq(ptype, V_ASN1_UNDEF);	/* RFC 3565 §4.2 */
	}
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	ck_assert_int_eq(X509_get_ext_count(x), 10);
	/* validity: 365 days, both ends inclusive */
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	ck_assert_int_eq(days * 86400 + secs + 1, 365 * 86400);

	st = store_of(cax);
	ck_assert_msg(ca_check_issued(x, NULL, csr, MAIL, NULL, st, time(NULL),
	    &why) == 0, "check: %s", why);
	X509_STORE_free(st);
	X509_REQ_free(csr);
	X509_free(cax);
	X509_free(x);
	ca_free(ca);
}
END_TEST

/* A leaf for pub, signed by issuer: the parts a bad CA gets wrong. */
static X509 *
make_leaf(EVP_PKEY *ikey, X509 *issuer, EVP_PKEY *pub, const char *mail,
    const char *eku, long nb_off, long na_off)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	X509 *x;
	char san[300];
	time_t now = time(NULL);
	const struct { int nid; const char *v; } exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature,keyEncipherment" },
		{ NID_ext_key_usage, eku },
		{ NID_subject_alt_name, san },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid" },
	};
	size_t i;

	snprintf(san, sizeof(san), "email:%s", mail);
	ck_assert_ptr_nonnull(x = X509_new());
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_set_subject_name(x, X509_get_subject_name(issuer));
	X509_set_pubkey(x, pub);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, nb_off, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, na_off, &now);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		ck_assert_ptr_nonnull(e = X509V3_EXT_conf_nid(NULL, &ctx,
		    exts[i].nid, exts[i].v));
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	ck_assert_int_gt(X509_sign(x, ikey, EVP_sha256()), 0);
	return x;
}

/* A self-signed CA that is not ours. */
static X509 *
make_ca(EVP_PKEY *key)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	X509 *x;

	ck_assert_ptr_nonnull(x = X509_new());
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"smimepub test CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	return x;
}

static void
expect_bad(X509 *x, X509_REQ *csr, X509_STORE *st, const char *want)
{
	char *why = NULL;

	ck_assert_int_eq(ca_check_issued(x, NULL, csr, MAIL, NULL, st, time(NULL),
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want) != NULL, "why \"%s\" lacks \"%s\"",
	    why, want);
	free(why);
	X509_free(x);
}

START_TEST(check_rejects)
{
	EVP_PKEY *ck, *key, *other, *rogue_key;
	X509 *cax, *rogue, *good;
	X509_REQ *csr;
	X509_STORE *st;
	char *why = NULL;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck = ca_key();
	cax = ca_cert();
	st = store_of(cax);
	ck_assert_ptr_nonnull(key = keys_generate("rsa:2048"));
	ck_assert_ptr_nonnull(other = keys_generate("rsa:2048"));
	ck_assert_ptr_nonnull(csr = keys_csr_new(key, MAIL, "Alice"));

	/* the helper's own good certificate passes: the cases below differ
	 * from it in one thing each */
	good = make_leaf(ck, cax, key, MAIL, "emailProtection", -60, 86400);
	ck_assert_msg(ca_check_issued(good, NULL, csr, MAIL, NULL, st, time(NULL),
	    &why) == 0, "good: %s", why);
	X509_free(good);
	expect_bad(make_leaf(ck, cax, other, MAIL, "emailProtection", -60,
	    86400), csr, st, "public key");
	expect_bad(make_leaf(ck, cax, key, "bob@example.com",
	    "emailProtection", -60, 86400), csr, st,
	    "rfc822Name bob@example.com is not " MAIL);
	expect_bad(make_leaf(ck, cax, key, MAIL, "clientAuth", -60, 86400),
	    csr, st, "emailProtection");
	expect_bad(make_leaf(ck, cax, key, MAIL, "emailProtection",
	    -400 * 86400L, -86400), csr, st, "expired");
	expect_bad(make_leaf(ck, cax, key, MAIL, "emailProtection", 3600,
	    86400), csr, st, "not yet valid");
	expect_bad(make_leaf(ck, cax, key, MAIL, "emailProtection", -60,
	    826 * 86400L), csr, st, "825");
	/* same name, another key: looks like ours but does not chain */
	ck_assert_ptr_nonnull(rogue_key = keys_generate("ec:P-256"));
	rogue = make_ca(rogue_key);
	expect_bad(make_leaf(rogue_key, rogue, key, MAIL, "emailProtection",
	    -60, 86400), csr, st, "does not chain");
	/* no trust configured: fail closed */
	expect_bad(make_leaf(ck, cax, key, MAIL, "emailProtection", -60,
	    86400), csr, NULL, "no CA");
	X509_free(rogue);
	EVP_PKEY_free(rogue_key);
	X509_REQ_free(csr);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	X509_STORE_free(st);
	X509_free(cax);
	EVP_PKEY_free(ck);
}
END_TEST

START_TEST(refuses_bad_requests)
{
	struct ca_result res;
	struct ca *ca;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509_NAME *n;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(key = keys_generate("ec:P-256"));
	/* the primary address comes from the caller, whatever the CSR
	 * says; the CSR's other addresses follow it (the aliases) */
	ck_assert_ptr_nonnull(csr = keys_csr_new(key, "bob@example.com",
	    "Bob"));
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	gens = X509_get_ext_d2i(res.cert, NID_subject_alt_name, NULL, NULL);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 2);
	gen = sk_GENERAL_NAME_value(gens, 0);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(
	    gen->d.rfc822Name), MAIL);
	GENERAL_NAMES_free(gens);
	ca_result_clear(&res);
	/* a CSR whose signature no longer matches: no proof of possession */
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Mallory", -1, -1, 0);
	X509_REQ_set_subject_name(csr, n);
	X509_NAME_free(n);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ck_assert_ptr_null(res.cert);
	ck_assert_ptr_nonnull(strstr(res.reason, "signature"));
	ca_result_clear(&res);
	/* an invalid address */
	ck_assert_int_eq(ca_enrol(ca, csr, "not an address", &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ca_result_clear(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(ca);
	/* an unknown driver names the key and the value */
	cfg.ca.driver = (char *)"cmp";
	ck_assert_ptr_null(ca_new(&cfg));
}
END_TEST

/* The rfc822Names of x, in order, joined by spaces. */
static void
sans(X509 *x, char *buf, size_t sz)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	int i;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ck_assert_ptr_nonnull(gens);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		ck_assert_int_eq(gen->type, GEN_EMAIL);
		snprintf(buf + strlen(buf), sz - strlen(buf), "%s%s",
		    i ? " " : "", ASN1_STRING_get0_data(gen->d.rfc822Name));
	}
	GENERAL_NAMES_free(gens);
}

/*
 * A person with aliases (issue 20 item 1): one certificate names every
 * address, the primary first, canonical, each once; the answer check wants
 * exactly the CSR's set: one missing fails it. A CSR naming an invalid
 * address is refused; the same key for another set gets a new certificate.
 */
START_TEST(aliases)
{
	static const char *const set[] = { MAIL, "Alias.One@Example.COM",
	    "two@example.org", "ALICE@example.com" };
	static const char *const more[] = { MAIL, "Alias.One@example.com",
	    "two@example.org", "three@example.org" };
	static const char *const bad[] = { MAIL, "not an address" };
	struct ca_result res, res2;
	struct ca *ca;
	EVP_PKEY *key;
	X509_REQ *csr, *csr2;
	X509 *cax;
	X509_STORE *st;
	char *why = NULL, buf[512];

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(key = keys_generate("ec:P-256"));
	ck_assert_ptr_nonnull(csr = keys_csr_new_addrs(key, set, 4, NULL, KEYS_BOTH));
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	sans(res.cert, buf, sizeof(buf));
	/* ALICE@example.com is alice@example.com, ASCII case-insensitively */
	ck_assert_str_eq(buf, MAIL " Alias.One@example.com two@example.org");
	cax = ca_cert();
	st = store_of(cax);
	ck_assert_msg(ca_check_issued(res.cert, res.chain, csr, MAIL, NULL, st,
	    time(NULL), &why) == 0, "check: %s", why);
	/* asked for one more address than it names: refused */
	ck_assert_ptr_nonnull(csr2 = keys_csr_new_addrs(key, more, 4, NULL, KEYS_BOTH));
	ck_assert_int_eq(ca_check_issued(res.cert, res.chain, csr2, MAIL, NULL,
	    st, time(NULL), &why), -1);
	ck_assert_msg(strstr(why, "three@example.org") != NULL, "%s", why);
	free(why);
	why = NULL;
	/* the same key for that other set: a new certificate naming it */
	ck_assert_int_eq(ca_enrol(ca, csr2, MAIL, &res2), 0);
	ck_assert_int_eq(res2.status, CA_ISSUED);
	ck_assert_int_ne(X509_cmp(res.cert, res2.cert), 0);
	sans(res2.cert, buf, sizeof(buf));
	ck_assert_str_eq(buf, MAIL " Alias.One@example.com two@example.org "
	    "three@example.org");
	ca_result_clear(&res2);
	X509_REQ_free(csr2);
	/* an invalid address in the CSR: refused, naming it */
	ck_assert_ptr_null(keys_csr_new_addrs(key, bad, 2, NULL, KEYS_BOTH));
	ck_assert_ptr_nonnull(csr2 = keys_csr_new(key, "x@example.com",
	    NULL));
	X509_REQ_free(csr2);
	X509_STORE_free(st);
	X509_free(cax);
	ca_result_clear(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(ca);
}
END_TEST

/* An address longer than ub-common-name: empty subject, critical SAN. */
START_TEST(long_address)
{
	static const char longmail[] = "a.very.long.local.part.for.testing."
	    "purposes@subdomain.example.com";
	struct ca_result res;
	struct ca *ca;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509 *cax;
	X509_STORE *st;
	char *why = NULL;

	ck_assert_uint_gt(strlen(longmail), 64);
	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_ptr_nonnull(key = keys_generate("ec:P-256"));
	ck_assert_ptr_nonnull(csr = keys_csr_new(key, longmail, NULL));
	ck_assert_int_eq(ca_enrol(ca, csr, longmail, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(
	    res.cert)), 0);
	ext(res.cert, NID_subject_alt_name, 1);
	cax = ca_cert();
	st = store_of(cax);
	ck_assert_msg(ca_check_issued(res.cert, res.chain, csr, longmail, NULL, st,
	    time(NULL), &why) == 0, "check: %s", why);
	X509_STORE_free(st);
	X509_free(cax);
	ca_result_clear(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(ca);
}
END_TEST

/* The same key and address asked again: the same certificate, until it is
 * revoked; another key or another address: a new one. */
START_TEST(repeated_request)
{
	struct ca *ca;
	struct ca_result res;
	EVP_PKEY *key;
	X509_REQ *csr, *csr2;
	X509 *x, *y;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	x = issue(ca, "ec:P-256", &key, &csr);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	ck_assert_int_eq(X509_cmp(res.cert, x), 0);
	ck_assert_int_eq(sk_X509_num(res.chain), 1);
	ca_result_clear(&res);
	/* a fresh CSR for the same key is the same request */
	ck_assert_ptr_nonnull(csr2 = keys_csr_new(key, MAIL, "Alice Example"));
	ck_assert_int_eq(ca_enrol(ca, csr2, MAIL, &res), 0);
	ck_assert_int_eq(X509_cmp(res.cert, x), 0);
	ca_result_clear(&res);
	y = issue(ca, "ec:P-256", NULL, NULL);
	ck_assert_int_ne(X509_cmp(x, y), 0);
	ck_assert_int_eq(ca_revoke(ca, x, CA_REASON_SUPERSEDED), 0);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	ck_assert_int_ne(X509_cmp(res.cert, x), 0);
	ca_result_clear(&res);
	X509_free(x);
	X509_free(y);
	X509_REQ_free(csr);
	X509_REQ_free(csr2);
	EVP_PKEY_free(key);
	ca_free(ca);
}
END_TEST

/* The CRL number of ca.local.dir/crl.pem; 0 if there is none. */
static long
crl_number(void)
{
	char path[600];
	X509_CRL *crl;
	ASN1_INTEGER *num;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/" CA_LOCAL_CRL, cadir);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(crl);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	n = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return n;
}

/*
 * ca_crl_refresh writes crl.pem when it is missing, when a revocation is
 * not in it, and when less than half of crl_days is left of it; else not.
 */
START_TEST(crl_refresh)
{
	struct ca *ca;
	X509 *x;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	x = issue(ca, "ec:P-256", NULL, NULL);
	ck_assert_int_eq(crl_number(), 0);
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 1);		/* was missing */
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 1);		/* fresh: left alone */
	ck_assert_int_eq(ca_revoke(ca, x, CA_REASON_CESSATION), 0);
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 2);		/* a revocation */
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 2);
	/* 7 days of validity left, half of 30 is 15: too little */
	cfg.ca.local.crl_days = 30;
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 3);
	ck_assert_int_eq(ca_crl_refresh(ca), 0);
	ck_assert_int_eq(crl_number(), 3);		/* now 30 days left */
	cfg.ca.local.crl_days = 7;
	X509_free(x);
	ca_free(ca);
}
END_TEST

START_TEST(revoke_crl_list)
{
	struct ca *ca;
	X509 *x, *x2, *cax;
	X509_CRL *crl;
	X509_REVOKED *rv = NULL;
	ASN1_ENUMERATED *reason;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *aki;
	EVP_PKEY *ck, *rk;
	char path[600], *out = NULL, *serial, line[256];
	size_t outlen = 0;
	FILE *fp;
	BIGNUM *bn;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	x = issue(ca, "ec:P-256", NULL, NULL);
	x2 = issue(ca, "ec:P-256", NULL, NULL);
	ck_assert_int_eq(ca_revoke(ca, x, CA_REASON_KEY_COMPROMISE), 0);
	ck_assert_int_eq(ca_revoke(ca, x, CA_REASON_SUPERSEDED), 0);
	ck_assert_int_eq(ca_revoke(ca, x, 7), -1);	/* not a CRLReason */
	/* a certificate this CA never issued */
	ck_assert_ptr_nonnull(rk = keys_generate("ec:P-256"));
	cax = make_ca(rk);
	ck_assert_int_eq(ca_revoke(ca, cax, CA_REASON_UNSPECIFIED), -1);
	X509_free(cax);
	EVP_PKEY_free(rk);

	ck_assert_int_eq(ca_local_crl(&cfg, NULL), 0);
	snprintf(path, sizeof(path), "%s/" CA_LOCAL_CRL, cadir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL));
	fclose(fp);
	cax = ca_cert();
	ck = X509_get0_pubkey(cax);
	ck_assert_int_eq(X509_CRL_verify(crl, ck), 1);
	ck_assert_int_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	ck_assert_int_eq(X509_CRL_get0_by_serial(crl, &rv,
	    X509_get0_serialNumber(x)), 1);
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	ck_assert_int_eq(ASN1_ENUMERATED_get(reason),
	    CA_REASON_KEY_COMPROMISE);	/* the first revocation stands */
	ASN1_ENUMERATED_free(reason);
	ck_assert_int_eq(X509_CRL_get0_by_serial(crl, &rv,
	    X509_get0_serialNumber(x2)), 0);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ck_assert_int_eq(ASN1_INTEGER_get(num), 1);
	ASN1_INTEGER_free(num);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	ck_assert_ptr_nonnull(aki);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(cax)), 0);
	AUTHORITY_KEYID_free(aki);
	X509_CRL_free(crl);
	/* a second CRL, elsewhere, carries the next number */
	snprintf(path, sizeof(path), "%s/other.crl", tmpdir);
	ck_assert_int_eq(ca_local_crl(&cfg, path), 0);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL));
	fclose(fp);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ck_assert_int_eq(ASN1_INTEGER_get(num), 2);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &outlen));
	ck_assert_int_eq(ca_local_list(&cfg, fp), 0);
	fclose(fp);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	serial = BN_bn2hex(bn);
	snprintf(line, sizeof(line), "%s " MAIL " revoked 20", serial);
	ck_assert_msg(strstr(out, line) != NULL, "list: %s", out);
	OPENSSL_free(serial);
	BN_free(bn);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x2), NULL);
	serial = BN_bn2hex(bn);
	snprintf(line, sizeof(line), "%s " MAIL " valid 20", serial);
	ck_assert_msg(strstr(out, line) != NULL, "list: %s", out);
	ck_assert_ptr_nonnull(strchr(strstr(out, line), 'Z'));
	OPENSSL_free(serial);
	BN_free(bn);
	free(out);
	X509_free(cax);
	X509_free(x);
	X509_free(x2);
	ca_free(ca);
}
END_TEST

START_TEST(command)
{
	char *init[] = { (char *)"init", NULL };
	char *list[] = { (char *)"list", NULL };
	char out[600];
	char *crl[] = { (char *)"crl", (char *)"--out", out, NULL };
	char *bad[] = { (char *)"frobnicate", NULL };
	char *badcrl[] = { (char *)"crl", (char *)"--out", NULL };

	cfg.ca.local.key_type = (char *)"ec:P-256";
	snprintf(out, sizeof(out), "%s/x.crl", tmpdir);
	ck_assert_int_eq(cmd_ca(&cfg, 1, list), EXIT_FAIL);	/* no CA yet */
	ck_assert_int_eq(cmd_ca(&cfg, 1, init), EXIT_OK);
	ck_assert_int_eq(cmd_ca(&cfg, 1, init), EXIT_FAIL);
	ck_assert_int_eq(cmd_ca(&cfg, 1, list), EXIT_OK);
	ck_assert_int_eq(cmd_ca(&cfg, 3, crl), EXIT_OK);
	ck_assert_int_eq(access(out, R_OK), 0);
	ck_assert_int_eq(cmd_ca(&cfg, 1, bad), EXIT_USAGE);
	ck_assert_int_eq(cmd_ca(&cfg, 2, badcrl), EXIT_USAGE);
	ck_assert_int_eq(cmd_ca(&cfg, 0, bad), EXIT_USAGE);
}
END_TEST

/* A leaf of this CA, days long, as the key process is asked to sign it. */
static X509 *
leaf(struct local *l, const char *issuer_cn, int days, int ca)
{
	X509_NAME *n, *iss = NULL;
	EVP_PKEY *pk;
	X509 *x;

	ck_assert_ptr_nonnull(n = X509_NAME_new());
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"leaf", -1, -1, 0);
	if (issuer_cn != NULL) {
		ck_assert_ptr_nonnull(iss = X509_NAME_new());
		X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
		    (const unsigned char *)issuer_cn, -1, -1, 0);
	}
	ck_assert_ptr_nonnull(pk = keys_generate("ec:P-256"));
	ck_assert_ptr_nonnull(x = local_cert_base(n, iss ? iss :
	    X509_get_subject_name(l->cert), pk, time(NULL), days));
	ck_assert_int_eq(local_add_basic(x, ca), 0);
	ck_assert_int_eq(local_add_ku(x, ca ? KU_BIT_KEY_CERT_SIGN :
	    KU_BIT_DIGITAL_SIGNATURE, ca ? KU_BIT_CRL_SIGN :
	    KU_BIT_KEY_AGREEMENT), 0);
	EVP_PKEY_free(pk);
	X509_NAME_free(n);
	X509_NAME_free(iss);
	return x;
}

/*
 * The key process signs only what it checked: a leaf of this CA for at most
 * 825 days; not a sub-CA, not for another issuer. What it signs verifies
 * with ca.pem.
 */
START_TEST(keyproc_checks)
{
	struct local *l;
	X509 *x;

	ck_assert_int_eq(ca_local_init(&cfg), 0);
	ck_assert_ptr_nonnull(l = local_open(&cfg));
	x = leaf(l, NULL, 365, 0);
	ck_assert_int_eq(local_kp_sign_cert(l, &x), 0);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(l->cert)), 1);
	X509_free(x);
	x = leaf(l, NULL, 365, 1);
	ck_assert_int_eq(local_kp_sign_cert(l, &x), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "not a leaf"));
	X509_free(x);
	x = leaf(l, "another CA", 365, 0);
	ck_assert_int_eq(local_kp_sign_cert(l, &x), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "issuer is not this CA"));
	X509_free(x);
	x = leaf(l, NULL, 826, 0);
	ck_assert_int_eq(local_kp_sign_cert(l, &x), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "825 days"));
	X509_free(x);
	x = leaf(l, NULL, 825, 0);
	ck_assert_int_eq(local_kp_sign_cert(l, &x), 0);
	X509_free(x);
	local_close(l);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ca_local");
	TCase *tc = tcase_create("ca_local");
	SRunner *sr;
	int failed;

	log_init("test_ca_local", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_modes_and_once);
	tcase_add_test(tc, init_p384_and_bad_type);
	tcase_add_loop_test(tc, profile, 0, 2);
	tcase_add_test(tc, check_rejects);
	tcase_add_test(tc, refuses_bad_requests);
	tcase_add_test(tc, long_address);
	tcase_add_test(tc, aliases);
	tcase_add_test(tc, repeated_request);
	tcase_add_test(tc, keyproc_checks);
	tcase_add_test(tc, revoke_crl_list);
	tcase_add_test(tc, crl_refresh);
	tcase_add_test(tc, command);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
