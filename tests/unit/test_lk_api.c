/*
 * test_lk_api.c — the endpoints of smimepub-lookupd on a fake directory
 * (the lk_dir_ops table fake_dir below): JSON rendering against the certificate's own fields,
 * content negotiation, usable-only filtering with reasons counted (expired,
 * wrong address, no EKU, revoked by CRL, untrusted), request validation
 * (nothing invalid reaches the directory; search values escaped), the
 * batch, 404/405/406/413/429/503, /healthz and /metrics (only on the
 * metrics listener); an address on two entries is not found; the checks
 * lookupd starts with (its own bind, trust anchors).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "lookup/lk.h"

/* ---- a fake directory ---------------------------------------------------- */

struct fake { const char *mail, *name; X509 *c[4]; int n; int smime; };
static struct fake people[8];
static int npeople, dir_down, nsearch;
static char last_filter[4096];

struct dir { int unused; };

static struct dir *
fake_open(const struct cfg_directory *c)
{
	(void)c;
	return calloc(1, sizeof(struct dir));
}

static int
fake_connect(struct dir *d)
{
	(void)d;
	return dir_down ? -1 : 0;
}

static void
fake_close(struct dir *d)
{
	free(d);
}

static int
fake_search(struct dir *d, const char *filter, dir_person_cb cb, void *arg)
{
	struct dir_person p;
	struct dir_val v[4];
	const char *m;
	char val[512];
	size_t n;
	int i, j, prefix;

	(void)d;
	nsearch++;
	snprintf(last_filter, sizeof(last_filter), "%s", filter);
	if (dir_down)
		return -1;
	if ((m = strstr(filter, "(mail=")) == NULL)
		return 0;
	m += 6;
	n = strcspn(m, ")");
	snprintf(val, sizeof(val), "%.*s", (int)n, m);
	prefix = n > 0 && val[n - 1] == '*';
	if (prefix)
		val[n - 1] = '\0';
	for (i = 0; i < npeople; i++) {
		if (prefix ? strncasecmp(people[i].mail, val, strlen(val)) != 0 :
		    strcasecmp(people[i].mail, val) != 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.dn = "uid=x"; p.mail = (char *)people[i].mail;
		p.display_name = (char *)people[i].name;
		for (j = 0; j < people[i].n; j++) {
			v[j].data = NULL;
			if (people[i].smime) {
				STACK_OF(X509) *none = NULL;
				x509_certsonly_build(people[i].c[j], none,
				    &v[j].data, &v[j].len);
			} else
				x509_to_der(people[i].c[j], &v[j].data, &v[j].len);
		}
		if (people[i].smime) { p.smime = v; p.n_smime = (size_t)people[i].n; }
		else { p.usercert = v; p.n_usercert = (size_t)people[i].n; }
		j = cb(&p, arg);
		for (n = 0; n < (size_t)people[i].n; n++)
			OPENSSL_free(v[n].data);
		if (j == -1)
			return -1;
	}
	return 0;
}

/* The searches lk_pool.c sends together: one fake_search each. */
static int
fake_search_few(struct dir *d, struct dir_query *q, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++)
		if ((q[i].rc = fake_search(d, q[i].filter, q[i].cb,
		    q[i].arg)) == -1)
			rc = -1;
	return rc;
}

static const struct lk_dir_ops fake_dir = {
	fake_open, fake_connect, fake_close, fake_search, fake_search_few
};

/* ---- certificates -------------------------------------------------------- */

static EVP_PKEY *cakey, *otherkey, *leafkey;
static X509 *ca, *other;

static X509 *
mkcert(X509 *issuer, EVP_PKEY *ikey, const char *cn, const char *san,
    const char *eku, const char *ku, long from, long to, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, issuer ? leafkey : ikey);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
#define EXT(nid, val) if ((val) != NULL) { e = X509V3_EXT_conf_nid(NULL, &v3, nid, (char *)(val)); X509_add_ext(x, e, -1); X509_EXTENSION_free(e); }
	if (issuer == NULL) {
		EXT(NID_basic_constraints, "critical,CA:TRUE");
		EXT(NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		EXT(NID_subject_alt_name, san);
		EXT(NID_ext_key_usage, eku);
		EXT(NID_key_usage, ku);
	}
	X509_sign(x, ikey, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static X509 *
leaf(X509 *iss, EVP_PKEY *ik, const char *mail, long from, long to, long serial)
{
	char san[300];

	snprintf(san, sizeof(san), "email:%s", mail);
	return mkcert(iss, ik, mail, san, "emailProtection",
	    "critical,digitalSignature,keyAgreement", from, to, serial);
}

static char tmpdir[] = "/tmp/test_lk_api.XXXXXX";
static char crlpath[300], anchorpath[300];

/* A CRL revoking serial (0: none) with issuer's name, signed by key,
 * nextUpdate next_days from now (0: none), to path. */
static void
write_crl_ex(const char *path, X509 *issuer, EVP_PKEY *key, long serial,
    long next_days)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *r;
	ASN1_INTEGER *s = ASN1_INTEGER_new();
	ASN1_TIME *t = X509_gmtime_adj(NULL, next_days < 0 ?
	    next_days * 86400 * 2 : 0);
	ASN1_TIME *nt = NULL;
	FILE *fp;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_CRL_set1_lastUpdate(crl, t);
	if (next_days != 0) {
		nt = X509_gmtime_adj(NULL, next_days * 86400);
		X509_CRL_set1_nextUpdate(crl, nt);
	}
	if (serial != 0) {
		r = X509_REVOKED_new();
		ASN1_INTEGER_set(s, serial);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
	}
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, key, EVP_sha256());
	fp = fopen(path, "w");
	PEM_write_X509_CRL(fp, crl);
	fclose(fp);
	ASN1_INTEGER_free(s);
	ASN1_TIME_free(t);
	ASN1_TIME_free(nt);
	X509_CRL_free(crl);
}

static void
write_crl(long serial)
{
	write_crl_ex(crlpath, ca, cakey, serial, 0);
}

/* ---- the daemon state ---------------------------------------------------- */

static struct cfg cfg;
static struct lk_ctx ctx;
static char *crls[2];
static X509 *alice_old, *alice_new, *carol_bad[4], *revoked_one, *untrusted;

static void
setup(void)
{
	FILE *fp;

	log_init("test_lk_api", 0, LOG_LVL_ERR);
	strcpy(tmpdir, "/tmp/test_lk_api.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(crlpath, sizeof(crlpath), "%s/crl.pem", tmpdir);
	snprintf(anchorpath, sizeof(anchorpath), "%s/anchors.pem", tmpdir);
	cakey = EVP_EC_gen("P-256");
	otherkey = EVP_EC_gen("P-256");
	leafkey = EVP_EC_gen("P-256");
	ca = mkcert(NULL, cakey, "test CA", NULL, NULL, NULL, -86400, 86400 * 3650L, 1);
	other = mkcert(NULL, otherkey, "other CA", NULL, NULL, NULL, -86400, 86400 * 3650L, 1);
	fp = fopen(anchorpath, "w");
	PEM_write_X509(fp, ca);
	fclose(fp);

	alice_old = leaf(ca, cakey, "alice@example.com", -86400, 86400 * 30L, 10);
	alice_new = leaf(ca, cakey, "alice@example.com", -3600, 86400 * 300L, 11);
	people[0] = (struct fake){ "alice@example.com", "Alice Liddell",
	    { alice_old, alice_new, alice_new }, 3, 0 };
	people[1] = (struct fake){ "bob@example.com", "Bob Builder",
	    { alice_new }, 1, 1 };	/* userSMIMECertificate, wrong address */
	carol_bad[0] = leaf(ca, cakey, "carol@example.com", -86400 * 10L, -86400, 20);
	carol_bad[1] = leaf(ca, cakey, "carol@example.com", 86400, 86400 * 10L, 21);
	carol_bad[2] = mkcert(ca, cakey, "carol@example.com", "email:carol@example.com",
	    NULL, "critical,digitalSignature,keyAgreement", -60, 86400, 22);
	carol_bad[3] = mkcert(ca, cakey, "carol@example.com", "email:carol@example.com",
	    "emailProtection", "critical,digitalSignature", -60, 86400, 23);
	people[2] = (struct fake){ "carol@example.com", "Carol Danvers",
	    { carol_bad[0], carol_bad[1], carol_bad[2], carol_bad[3] }, 4, 0 };
	revoked_one = leaf(ca, cakey, "dave@example.com", -60, 86400, 30);
	people[3] = (struct fake){ "dave@example.com", "Dave Revoked",
	    { revoked_one }, 1, 1 };
	untrusted = leaf(other, otherkey, "erin@example.com", -60, 86400, 40);
	people[4] = (struct fake){ "erin@example.com", "Erin Else", { untrusted }, 1, 0 };
	people[5] = (struct fake){ "alfred@example.com", "Alfred Nocert", { NULL }, 0, 0 };
	npeople = 6;
	write_crl(30);
	crls[0] = crlpath;

	cfg.path = "test.conf";
	cfg.directory.filter = "(objectClass=inetOrgPerson)";
	cfg.directory.mail_attribute = "mail";
	cfg.directory.timeout = 1;
	cfg.lookup = (struct cfg_lookup){ .cache_ttl = 300, .negative_ttl = 60,
	    .cache_max = 100, .pool_size = 2, .pool_depth = 4, .threads = 1, .batch_max = 5,
	    .rate = 0, .burst = 1, .search_rate = 0, .search_burst = 1,
	    .max_body = 4096 };
	cfg.lookup.crl_files = crls;
	cfg.lookup.trust_anchors = anchorpath;
	ck_assert_int_eq(lk_ctx_init_dir(&ctx, &cfg, &fake_dir), 0);
}

static void
teardown(void)
{
	char cmd[400];

	lk_ctx_fini(&ctx);
	X509_free(alice_old); X509_free(alice_new); X509_free(revoked_one);
	X509_free(untrusted); X509_free(ca); X509_free(other);
	for (int i = 0; i < 4; i++)
		X509_free(carol_bad[i]);
	EVP_PKEY_free(cakey); EVP_PKEY_free(otherkey); EVP_PKEY_free(leafkey);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
}

static struct lk_reply
req(const char *method, const char *path, const char *accept, const char *q,
    const char *body)
{
	/* /metrics as lookup.metrics_listen asks it: the only place */
	struct lk_request rq = { .method = method, .path = path,
	    .accept = accept, .q = q, .body = body ? body : "",
	    .body_len = body ? strlen(body) : 0,
	    .metrics = strcmp(path, "/metrics") == 0 };
	struct lk_reply rp;

	lk_api_handle(&ctx, &rq, &rp);
	return rp;
}

static json_t *
body_json(struct lk_reply *rp)
{
	json_t *j = json_loadb(rp->body, rp->len, 0, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

static void
done(struct lk_reply *rp)
{
	if (rp->free_body)
		free(rp->body);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_certs_json)
{
	struct lk_reply rp = req("GET", "/v1/certs/alice@EXAMPLE.com", NULL, NULL, NULL);
	json_t *j, *a, *c;
	char hex[X509_SHA256_HEX], *serial, *issuer;

	ck_assert_int_eq(rp.status, 200);
	ck_assert_str_eq(rp.ctype, "application/json");
	j = body_json(&rp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "mail")), "alice@example.com");
	a = json_object_get(j, "certificates");
	ck_assert_uint_eq(json_array_size(a), 2);	/* the duplicate is gone */
	c = json_array_get(a, 0);			/* best: latest notAfter */
	x509_sha256_hex(alice_new, hex);
	serial = x509_serial_hex(alice_new);
	issuer = x509_name_str(X509_get_issuer_name(alice_new));
	ck_assert_str_eq(json_string_value(json_object_get(c, "sha256")), hex);
	ck_assert_str_eq(json_string_value(json_object_get(c, "serial")), serial);
	ck_assert_str_eq(json_string_value(json_object_get(c, "issuer")), issuer);
	ck_assert_str_eq(json_string_value(json_object_get(c, "subject")), "CN=alice@example.com");
	ck_assert_str_eq(json_string_value(json_object_get(c, "key")), "ec:P-256");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(c, "not_after"))), 20);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(c, "pem")),
	    "-----BEGIN CERTIFICATE-----"));
	x509_sha256_hex(alice_old, hex);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1),
	    "sha256")), hex);
	free(serial);
	free(issuer);
	json_decref(j);
	done(&rp);
}
END_TEST

START_TEST(test_negotiation)
{
	struct lk_reply rp;
	unsigned char *der;
	size_t len;
	STACK_OF(X509) *sk;

	rp = req("GET", "/v1/certs/alice@example.com", "application/pkix-cert", NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_str_eq(rp.ctype, "application/pkix-cert");
	x509_to_der(alice_new, &der, &len);
	ck_assert_uint_eq(rp.len, len);
	ck_assert_int_eq(memcmp(rp.body, der, len), 0);
	OPENSSL_free(der);
	done(&rp);

	rp = req("GET", "/v1/certs/alice@example.com",
	    "text/html;q=0.9, application/pkcs7-mime", NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(rp.ctype, "application/pkcs7-mime"));
	sk = x509_certsonly_parse((unsigned char *)rp.body, rp.len);
	ck_assert_ptr_nonnull(sk);
	ck_assert_int_eq(sk_X509_num(sk), 2);
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 0), alice_new), 0);
	sk_X509_pop_free(sk, X509_free);
	done(&rp);

	rp = req("GET", "/v1/certs/alice@example.com", "application/x-pem-file", NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_str_eq(rp.ctype, "application/x-pem-file");
	ck_assert_ptr_nonnull(strstr(rp.body, "-----END CERTIFICATE-----"));
	done(&rp);

	rp = req("GET", "/v1/certs/alice@example.com", "*/*", NULL, NULL);
	ck_assert_str_eq(rp.ctype, "application/json");
	done(&rp);
	rp = req("GET", "/v1/certs/alice@example.com", "text/html", NULL, NULL);
	ck_assert_int_eq(rp.status, 406);
	done(&rp);
}
END_TEST

static unsigned long
rej(enum lk_reject r)
{
	return atomic_load(&ctx.m.rejected[r]);
}

START_TEST(test_unusable_never_served)
{
	static const char *const who[] = { "carol@example.com",
	    "bob@example.com", "dave@example.com", "erin@example.com",
	    "alfred@example.com", "nobody@example.com" };
	struct lk_reply rp;
	size_t i;

	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		char path[300];

		snprintf(path, sizeof(path), "/v1/certs/%s", who[i]);
		rp = req("GET", path, NULL, NULL, NULL);
		ck_assert_int_eq(rp.status, 404);
		ck_assert_ptr_nonnull(strstr(rp.body, "\"error\":\"not found\""));
		done(&rp);
	}
	ck_assert_uint_eq(rej(LK_REJ_EXPIRED), 1);
	ck_assert_uint_eq(rej(LK_REJ_NOT_YET_VALID), 1);
	ck_assert_uint_eq(rej(LK_REJ_NO_EKU), 1);
	ck_assert_uint_eq(rej(LK_REJ_KEY_USAGE), 1);
	ck_assert_uint_eq(rej(LK_REJ_WRONG_ADDRESS), 1);
	ck_assert_uint_eq(rej(LK_REJ_REVOKED), 1);
	ck_assert_uint_eq(rej(LK_REJ_UNTRUSTED), 1);
	rp = req("GET", "/metrics", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_certificates_rejected_total{reason=\"revoked\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_requests_total{endpoint=\"certs\",status=\"404\"} 6\n"));
	ck_assert_ptr_nonnull(strstr(rp.body, "smimepub_lookupd_cache_misses_total 6\n"));
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_directory_seconds_count 6\n"));
	done(&rp);
}
END_TEST

START_TEST(test_invalid_never_searched)
{
	static const char *const bad[] = { "/v1/certs/", "/v1/certs/*",
	    "/v1/certs/*)(mail=*", "/v1/certs/alice", "/v1/certs/../healthz",
	    "/v1/certs/alice@example.com%00", "/v1/certs/al\xc3\xa9@example.com",
	    "/v1/certs/\xff\xfe@example.com", "/v1/certs/alice@example.com/x" };
	struct lk_reply rp;
	size_t i;
	char longp[10300];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rp = req("GET", bad[i], NULL, NULL, NULL);
		ck_assert_msg(rp.status == 400, "%s: %d", bad[i], rp.status);
		ck_assert_ptr_nonnull(strstr(rp.body, "invalid address"));
		done(&rp);
	}
	memcpy(longp, "/v1/certs/", 10);
	memset(longp + 10, 'a', 10240);
	strcpy(longp + 10250, "@example.com");
	rp = req("GET", longp, NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 400);
	done(&rp);
	ck_assert_int_eq(nsearch, 0);
}
END_TEST

START_TEST(test_batch)
{
	struct lk_reply rp;
	json_t *j, *r;

	rp = req("POST", "/v1/lookup", NULL, NULL,
	    "{\"recipients\": [\"alice@example.com\", \"nobody@example.com\", "
	    "\"*)(mail=*\", 42, \"carol@example.com\"]}");
	ck_assert_int_eq(rp.status, 200);
	j = body_json(&rp);
	r = json_object_get(j, "results");
	ck_assert_uint_eq(json_array_size(r), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "status")), "found");
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(r, 0), "certificates")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 1), "status")), "not_found");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 2), "status")), "invalid");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 3), "status")), "invalid");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 4), "status")), "not_found");
	json_decref(j);
	done(&rp);
	ck_assert_int_eq(nsearch, 3);

	rp = req("POST", "/v1/lookup", NULL, NULL,
	    "{\"recipients\": [\"a@x.org\",\"b@x.org\",\"c@x.org\",\"d@x.org\",\"e@x.org\",\"f@x.org\"]}");
	ck_assert_int_eq(rp.status, 413);
	done(&rp);
	rp = req("POST", "/v1/lookup", NULL, NULL, "{\"recipients\": ");
	ck_assert_int_eq(rp.status, 400);
	ck_assert_ptr_nonnull(strstr(rp.body, "malformed JSON"));
	done(&rp);
	{
		char deep[4001];

		memset(deep, '[', 4000);
		deep[4000] = '\0';
		rp = req("POST", "/v1/lookup", NULL, NULL, deep);
		ck_assert_int_eq(rp.status, 400);
		done(&rp);
	}
	rp = req("POST", "/v1/lookup", NULL, NULL, "[\"alice@example.com\"]");
	ck_assert_int_eq(rp.status, 400);
	done(&rp);
	rp = req("POST", "/v1/lookup", NULL, NULL,
	    "{\"recipients\": [], \"recipients\": []}");
	ck_assert_int_eq(rp.status, 400);
	done(&rp);
	rp = req("GET", "/v1/lookup", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 405);
	done(&rp);
}
END_TEST

START_TEST(test_search)
{
	struct lk_reply rp;
	json_t *j, *r;

	rp = req("GET", "/v1/search", NULL, "al", NULL);
	ck_assert_int_eq(rp.status, 400);
	done(&rp);
	rp = req("GET", "/v1/search", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 400);
	done(&rp);
	ck_assert_int_eq(nsearch, 0);
	rp = req("GET", "/v1/search", NULL, "al", NULL);
	done(&rp);
	/* alice has usable certificates, alfred none: only alice */
	rp = req("GET", "/v1/search", NULL, "ALI", NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_int_eq(nsearch, 1);
	rp = (done(&rp), req("GET", "/v1/search", NULL, "al", NULL));
	done(&rp);
	rp = req("GET", "/v1/search", NULL, "alI", NULL);
	j = body_json(&rp);
	r = json_object_get(j, "results");
	ck_assert_uint_eq(json_array_size(r), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "mail")), "alice@example.com");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "name")), "Alice Liddell");
	ck_assert_ptr_null(json_object_get(json_array_get(r, 0), "certificates"));
	json_decref(j);
	done(&rp);
	/* text only: invalid UTF-8 and control characters never reach it */
	nsearch = 0;
	{
		static const char *const badq[] = { "ab\xff", "\xc3\xa9\xc3",
		    "abc\x01", "\xc0\xafxx", "\xed\xa0\x80x", "\xf4\x90\x80\x80" };
		size_t k;

		for (k = 0; k < sizeof(badq) / sizeof(badq[0]); k++) {
			rp = req("GET", "/v1/search", NULL, badq[k], NULL);
			ck_assert_msg(rp.status == 400, "q %zu: %d", k, rp.status);
			done(&rp);
		}
		ck_assert_int_eq(nsearch, 0);
		rp = req("GET", "/v1/search", NULL, "J\xc3\xbcrgen", NULL);
		ck_assert_int_eq(rp.status, 200);
		done(&rp);
	}
	/* the query is escaped before it enters the filter */
	rp = req("GET", "/v1/search", NULL, "a*)(uid=*", NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(last_filter, "(mail=a\\2a\\29\\28uid=\\2a*)"));
	ck_assert_ptr_null(strstr(last_filter, "(uid=*"));
	done(&rp);
}
END_TEST

START_TEST(test_directory_down)
{
	struct lk_reply rp;

	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);	/* cached from now on */
	done(&rp);
	dir_down = 1;
	rp = req("GET", "/v1/certs/bob@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 503);
	ck_assert_ptr_nonnull(strstr(rp.body, "directory unavailable"));
	done(&rp);
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
	rp = req("GET", "/healthz", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 503);
	ck_assert_ptr_nonnull(strstr(rp.body, "\"directory\":\"unreachable\""));
	done(&rp);
	dir_down = 0;
	ctx.health_at = -1e9;
	rp = req("GET", "/healthz", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(rp.body, "\"directory\":\"up\""));
	done(&rp);
	rp = req("GET", "/v1/certs/bob@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
}
END_TEST

START_TEST(test_rate_limit)
{
	struct lk_reply rp;
	int i;

	lk_rate_free(ctx.rate);
	ctx.rate = lk_rate_new(0.5, 3, NULL);
	for (i = 0; i < 3; i++) {
		rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
		ck_assert_int_eq(rp.status, 200);
		done(&rp);
	}
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 429);
	ck_assert_uint_eq(rp.retry_after, 2);
	done(&rp);
	rp = req("POST", "/v1/lookup", NULL, NULL, "{\"recipients\":[]}");
	ck_assert_int_eq(rp.status, 429);
	done(&rp);
	rp = req("GET", "/healthz", NULL, NULL, NULL);	/* not limited */
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
}
END_TEST

/* POST /v1/lookup takes a token per recipient from lookup.batch_rate's
 * bucket: a batch short of tokens is refused whole, with Retry-After. */
START_TEST(test_batch_rate)
{
	struct lk_reply rp;
	const char *five = "{\"recipients\": [\"a@x.org\",\"b@x.org\","
	    "\"c@x.org\",\"d@x.org\",\"e@x.org\"]}";
	int n0;

	lk_rate_free(ctx.batch_rate);
	ctx.batch_rate = lk_rate_new(0.5, 5, NULL);
	rp = req("POST", "/v1/lookup", NULL, NULL, five);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
	n0 = nsearch;
	rp = req("POST", "/v1/lookup", NULL, NULL,
	    "{\"recipients\": [\"alice@example.com\"]}");
	ck_assert_int_eq(rp.status, 429);
	ck_assert_uint_eq(rp.retry_after, 2);	/* 1 token at 0.5/s */
	ck_assert_ptr_nonnull(strstr(rp.body, "lookup.batch_rate"));
	done(&rp);
	ck_assert_int_eq(nsearch, n0);		/* refused before any search */
	rp = req("POST", "/v1/lookup", NULL, NULL, "{\"recipients\": []}");
	ck_assert_int_eq(rp.status, 200);	/* nothing to take */
	done(&rp);
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);	/* GET has its own bucket */
	done(&rp);
}
END_TEST

START_TEST(test_routes)
{
	struct lk_reply rp;
	struct lk_request rq = { .method = "POST", .path = "/v1/cache/flush",
	    .body = "", .admin = 1 };

	rp = req("GET", "/nope", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rp = req("POST", "/v1/cache/flush", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);	/* only on the admin socket */
	done(&rp);
	rp = req("DELETE", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 405);
	done(&rp);
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	done(&rp);
	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
	ck_assert_int_eq(nsearch, 1);
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	done(&rp);
	ck_assert_int_eq(nsearch, 2);	/* flushed: searched again */
}
END_TEST

START_TEST(test_crl_reload)
{
	struct lk_reply rp;

	rp = req("GET", "/v1/certs/alice@example.com", "application/pkix-cert", NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
	sleep(1);
	write_crl(11);		/* now alice_new is revoked */
	sleep(1);
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_null(strstr(rp.body, "\"serial\":\"0B\""));
	ck_assert_ptr_nonnull(strstr(rp.body, "\"serial\":\"0A\""));
	done(&rp);
	rp = req("GET", "/v1/certs/dave@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 200);	/* no longer revoked */
	done(&rp);
}
END_TEST

/* A CRL counts only if it verifies with its issuer in the anchors. */
START_TEST(test_crl_signature)
{
	struct lk_reply rp;
	struct lk_crl_stats st;
	X509 *forger;
	EVP_PKEY *fkey = EVP_EC_gen("P-256");
	char *files[2] = { crlpath, NULL };

	/* the same name as the CA, another key */
	forger = mkcert(NULL, fkey, "test CA", NULL, NULL, NULL, -86400,
	    86400 * 3650L, 1);
	rp = req("GET", "/v1/certs/dave@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);		/* serial 30 revoked */
	done(&rp);
	lk_certs_stats(ctx.certs, &st);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert_uint_eq(st.errors, 0);

	/* a forged CRL revoking nothing: refused, the genuine one stays */
	sleep(1);
	write_crl_ex(crlpath, forger, fkey, 0, 7);
	lk_certs_refresh(ctx.certs, ctx.cache);
	lk_certs_stats(ctx.certs, &st);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_uint_eq(st.loaded, 1);
	lk_cache_flush(ctx.cache);
	rp = req("GET", "/v1/certs/dave@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);		/* still revoked */
	done(&rp);
	/* nor does it start */
	ck_assert_ptr_null(lk_certs_new(files, anchorpath, 100));
	/* a CRL of an issuer not among the anchors */
	write_crl_ex(crlpath, other, otherkey, 0, 7);
	ck_assert_ptr_null(lk_certs_new(files, anchorpath, 100));
	/* CRLs without anchors to check them with */
	write_crl(30);
	ck_assert_ptr_null(lk_certs_new(files, NULL, 100));

	/* past its nextUpdate: still used, and counted */
	sleep(1);
	write_crl_ex(crlpath, ca, cakey, 30, -1);
	lk_certs_refresh(ctx.certs, ctx.cache);
	lk_certs_stats(ctx.certs, &st);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert_uint_eq(st.expired, 1);
	rp = req("GET", "/v1/certs/dave@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rp = req("GET", "/metrics", NULL, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_crl_errors_total 1\n"));
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_crls_expired 1\n"));
	done(&rp);
	X509_free(forger);
	EVP_PKEY_free(fkey);
}
END_TEST

START_TEST(test_unescape)
{
	static const struct { const char *in, *out; } v[] = {
		{ "/v1/certs/alice%40example.com", "/v1/certs/alice@example.com" },
		{ "/v1/certs/a%00b", "/v1/certs/a%00b" },	/* never a NUL */
		{ "%2a%2A%29", "**)" },
		{ "%zz%4", "%zz%4" },			/* malformed: kept */
		{ "%", "%" },
		{ "", "" },
	};
	char buf[128];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", v[i].in);
		n = lk_unescape(buf);
		ck_assert_str_eq(buf, v[i].out);
		ck_assert_uint_eq(n, strlen(v[i].out));
	}
}
END_TEST

/*
 * A deterministic mutation loop over paths, queries and bodies: every
 * answer is one of the statuses the API documents, never a crash (run
 * under ASan/UBSan by make check SANITIZE=1), and nothing but valid
 * addresses reaches the fake directory unescaped.
 */
START_TEST(test_mutations)
{
	static const char *const seeds[] = {
		"/v1/certs/alice@example.com", "/v1/lookup", "/v1/search",
		"{\"recipients\":[\"alice@example.com\",\"bob@example.com\"]}",
		"*)(mail=*", "[[[[{\"a\":", "\"\\u0000\"",
	};
	static const char alphabet[] = "*()\\@.%/\"[]{}:,aZ0\x00\xff\xc3\xa9 ";
	unsigned long long x = 88172645463325252ULL;
	char buf[512];
	struct lk_reply rp;
	size_t i, len, k;
	int st;

	for (i = 0; i < 20000; i++) {
		const char *seed = seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];

		len = strlen(seed);
		memcpy(buf, seed, len);
		for (k = 0; k < 1 + i % 6; k++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			if (len < sizeof(buf) - 2 && (x & 1))
				buf[len++] = alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
			else if (len > 0)
				buf[(x >> 8) % len] = alphabet[(x >> 16) %
				    (sizeof(alphabet) - 1)];
		}
		buf[len] = '\0';
		if (i % 3 == 0) {
			char path[600];

			snprintf(path, sizeof(path), "/v1/certs/%s", buf);
			rp = req("GET", path, (x & 2) ? "application/pkcs7-mime" : NULL,
			    NULL, NULL);
		} else if (i % 3 == 1)
			rp = req("POST", "/v1/lookup", NULL, NULL, buf);
		else
			rp = req("GET", "/v1/search", NULL, buf, NULL);
		st = rp.status;
		ck_assert_msg(st == 200 || st == 400 || st == 404 || st == 406 ||
		    st == 413, "status %d for %s", st, buf);
		done(&rp);
		ck_assert_ptr_null(strstr(last_filter, "(mail=*)("));
	}
}
END_TEST

static void
reset_counts(void)
{
	nsearch = 0;
	dir_down = 0;
	setup();
}

/* With lookup.bind_dn, the daemon binds as that read-only account by
 * simple bind, never with the sync service's SASL identity. */
START_TEST(bind_is_the_lookup_account)
{
	struct cfg c = cfg;
	struct lk_ctx x;

	c.directory.bind_dn = "cn=smimepub,ou=services,dc=example,dc=com";
	c.directory.sasl_mech = "GSSAPI";
	c.directory.keytab = "/etc/smimepub/sync.keytab";
	c.directory.tls_cert_file = "/etc/smimepub/sync.pem";
	c.lookup.bind_dn = "cn=lookup,ou=services,dc=example,dc=com";
	c.lookup.bind_password_file = "/etc/smimepub/lookup.secret";
	ck_assert_int_eq(lk_ctx_init_dir(&x, &c, &fake_dir), 0);
	ck_assert_str_eq(x.dircfg.bind_dn, c.lookup.bind_dn);
	ck_assert_str_eq(x.dircfg.bind_password_file,
	    c.lookup.bind_password_file);
	ck_assert_ptr_null(x.dircfg.sasl_mech);
	ck_assert_ptr_null(x.dircfg.keytab);
	ck_assert_ptr_null(x.dircfg.tls_cert_file);
	lk_ctx_fini(&x);
	c.lookup.bind_dn = NULL;	/* anonymous: no DN at all */
	c.lookup.anonymous = 1;
	ck_assert_int_eq(lk_ctx_init_dir(&x, &c, &fake_dir), 0);
	ck_assert_ptr_null(x.dircfg.bind_dn);
	ck_assert_ptr_null(x.dircfg.bind_password_file);
	ck_assert_ptr_null(x.dircfg.sasl_mech);
	lk_ctx_fini(&x);
}
END_TEST

/* /metrics is not on the public listener; the metrics listener serves
 * /metrics and /healthz and nothing of the API (issue 15). */
START_TEST(test_metrics_listener)
{
	struct lk_request rq = { .method = "GET", .path = "/metrics",
	    .body = "" };
	struct lk_reply rp;

	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rq.metrics = 1;
	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(rp.body,
	    "smimepub_lookupd_duplicate_addresses_total 0\n"));
	done(&rp);
	rq.path = "/healthz";
	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
	rq.path = "/v1/certs/alice@example.com";
	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rq.metrics = 0;
	rq.admin = 1;		/* and on the admin socket */
	rq.path = "/metrics";
	lk_api_handle(&ctx, &rq, &rp);
	ck_assert_int_eq(rp.status, 200);
	done(&rp);
}
END_TEST

/* A second entry with alice's address (even with a usable certificate):
 * neither is served, in any format, nor in a batch; counted. */
START_TEST(test_duplicate_address)
{
	struct lk_reply rp;

	people[npeople++] = (struct fake){ "Alice@example.com", "Mallory",
	    { alice_new }, 1, 0 };
	rp = req("GET", "/v1/certs/alice@example.com", NULL, NULL, NULL);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rp = req("GET", "/v1/certs/alice@example.com", "application/pkix-cert",
	    NULL, NULL);
	ck_assert_int_eq(rp.status, 404);
	done(&rp);
	rp = req("POST", "/v1/lookup", NULL, NULL,
	    "{\"recipients\":[\"alice@example.com\"]}");
	ck_assert_int_eq(rp.status, 200);
	ck_assert_ptr_nonnull(strstr(rp.body, "\"not_found\""));
	done(&rp);
	ck_assert_uint_eq(atomic_load(&ctx.m.duplicates), 1);	/* cached */
}
END_TEST

/* lookupd binds as itself and has anchors, or does not start. */
START_TEST(test_cfg_check)
{
	struct cfg c;
	char buf[PATH_MAX];
	FILE *fp;

	memset(&c, 0, sizeof(c));
	c.path = "t.conf";
	c.directory.bind_dn = "cn=smimepub,ou=services,dc=example,dc=com";
	c.ca.driver = "local";
	c.ca.local.dir = tmpdir;
	ck_assert_int_eq(lk_cfg_check(&c), -1);		/* no own bind */
	c.lookup.anonymous = 1;
	ck_assert_int_eq(lk_cfg_check(&c), -1);		/* no ca.pem yet */
	snprintf(buf, sizeof(buf), "%s/ca.pem", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(buf, "w"));
	fclose(fp);
	ck_assert_int_eq(lk_cfg_check(&c), 0);
	ck_assert_str_eq(lk_anchors_path(&c, buf, sizeof(buf)), buf);
	c.lookup.bind_dn = "cn=lookup,ou=services,dc=example,dc=com";
	ck_assert_int_eq(lk_cfg_check(&c), -1);		/* both: choose */
	c.lookup.anonymous = 0;
	ck_assert_int_eq(lk_cfg_check(&c), 0);
	c.ca.driver = "exec";
	ck_assert_int_eq(lk_cfg_check(&c), -1);		/* no ca_cert */
	c.ca.exec.ca_cert = "/etc/hostname";
	ck_assert_int_eq(lk_cfg_check(&c), 0);
	ck_assert_str_eq(lk_anchors_path(&c, buf, sizeof(buf)),
	    "/etc/hostname");
	c.lookup.trust_anchors = "/x/anchors.pem";	/* overrides */
	ck_assert_str_eq(lk_anchors_path(&c, buf, sizeof(buf)),
	    "/x/anchors.pem");
	c.lookup.insecure_no_anchors = 1;
	ck_assert_int_eq(lk_cfg_check(&c), -1);		/* both: choose */
	c.lookup.trust_anchors = NULL;
	c.ca.driver = "cfssl";
	ck_assert_int_eq(lk_cfg_check(&c), 0);
	ck_assert_ptr_null(lk_anchors_path(&c, buf, sizeof(buf)));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lk_api");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, reset_counts, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_certs_json);
	tcase_add_test(tc, test_negotiation);
	tcase_add_test(tc, test_unusable_never_served);
	tcase_add_test(tc, test_invalid_never_searched);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_batch_rate);
	tcase_add_test(tc, test_crl_signature);
	tcase_add_test(tc, test_search);
	tcase_add_test(tc, test_directory_down);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_metrics_listener);
	tcase_add_test(tc, test_duplicate_address);
	tcase_add_test(tc, test_cfg_check);
	tcase_add_test(tc, test_crl_reload);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, bind_is_the_lookup_account);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
