/*
 * fuzz_lookup.c — libFuzzer target for smimepub-lookupd's request handling:
 * the input is split into method, path, ?q=, Accept and body, and goes
 * through lk_api_handle() exactly as lk_http.c hands a request over (with
 * the real cache, usable-only filtering, CRL and anchors, JSON rendering and
 * mail_canon/dir_filter_escape validation), on a fake directory (the
 * lk_dir_ops table fake_dir below, as in tests/unit/test_lk_api.c).
 *
 * Input: fields separated by '\n':  METHOD \n PATH \n Q \n ACCEPT \n BODY
 * (BODY is the rest, newlines and all; an empty Q or ACCEPT is absent).
 * PATH is percent-decoded by lk_unescape (as libmicrohttpd calls it:
 * never longer, no NUL inside) and BODY assembled by lk_body_append in
 * pieces whose sizes come from the input, as they arrive from a client
 * (the same bytes back, or refused past lookup.max_body), before the
 * request is handled.
 * A METHOD prefixed with '!' comes in on the admin socket; with '~' the
 * directory is down for this request.
 *
 * Never a crash, and checked on every reply:
 *   - a well-formed reply (status, type; JSON bodies parse, errors have
 *     "error");
 *   - no wildcard and nothing unescaped ever reaches an equality filter;
 *   - GET /v1/certs and POST /v1/lookup serve, for the canonical address
 *     asked, exactly the usable certificates issued to that address (each
 *     once, best first) and never another address's, although the fake
 *     directory also returns an entry (mallory) holding other people's
 *     certificates, expired, revoked and untrusted ones, with the address
 *     asked: for addresses nobody else has, and for FZ_DUP, which is then
 *     on two entries and must never be served (issue 15);
 *   - /v1/search lists only people who have a usable certificate.
 *
 * Build for coverage-guided fuzzing (clang):
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     $(pkg-config --cflags jansson) tests/fuzz/fuzz_lookup.c \
 *     build/liblookup.a build/libsmimepub.a $(pkg-config --libs ldap libcrypto libssl \
 *     libconfig lmdb libcurl jansson libmicrohttpd) -llber -lpthread
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "lookup/lk.h"


int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_lookup: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* ---- the certificates, each with the address it was issued to ---------- */

struct fz_cert {
	X509		*x;
	const char	*owner;		/* canonical address in its SAN */
	int		 usable;	/* what the daemon must serve */
	char		 sha256[X509_SHA256_HEX];
};

enum {
	C_ALICE_OLD, C_ALICE_NEW, C_CAROL_EXPIRED, C_CAROL_NOTYET,
	C_CAROL_NOEKU, C_CAROL_SIGNONLY, C_DAVE_REVOKED, C_DAVE_OK, C_ERIN,
	C_FRANK, C_MAX
};
static struct fz_cert fz_certs[C_MAX];
static X509 *fz_ca;

/* ---- the fake directory ------------------------------------------------- */

struct fz_person {
	const char	*mail, *name;
	int		 user[4], nuser;	/* userCertificate: fz_certs[] */
	int		 smime[2][3], nsmime;	/* bundles: leaf, then chain */
	struct dir_val	 uv[4], sv[2];
};

/* Mallory's entry comes back for every search, with the searched value as
 * its mail: a duplicate entry holding everybody's certificates. */
static struct fz_person fz_people[] = {
	{ "alice@example.com", "Alice", { C_ALICE_OLD, C_ALICE_NEW,
	    C_ALICE_NEW }, 3, { { -1 } }, 0, { { 0 } }, { { 0 } } },
	{ "bob@example.com", "Bob", { 0 }, 0, { { C_ALICE_NEW, -1 } }, 1,
	    { { 0 } }, { { 0 } } },
	{ "carol@example.com", "Carol", { C_CAROL_EXPIRED, C_CAROL_NOTYET,
	    C_CAROL_NOEKU, C_CAROL_SIGNONLY }, 4, { { -1 } }, 0, { { 0 } },
	    { { 0 } } },
	{ "dave@example.com", "Dave", { C_DAVE_OK }, 1,
	    { { C_DAVE_REVOKED, -1 } }, 1, { { 0 } }, { { 0 } } },
	{ "erin@example.com", "Erin", { C_ERIN }, 1, { { -1 } }, 0, { { 0 } },
	    { { 0 } } },
	{ "frank@example.com", NULL, { 0 }, 0, { { C_FRANK, -2, -1 } }, 1,
	    { { 0 } }, { { 0 } } },
	{ "mallory@example.com", "Mallory", { C_ALICE_NEW, C_CAROL_EXPIRED,
	    C_ERIN, C_FRANK }, 4, { { C_DAVE_OK, C_ALICE_OLD, -1 },
	    { C_DAVE_REVOKED, -2, -1 } }, 2, { { 0 } }, { { 0 } } },
};
#define FZ_NPEOPLE	(sizeof(fz_people) / sizeof(fz_people[0]))
#define FZ_MALLORY	(FZ_NPEOPLE - 1)
#define FZ_DUP		"dave@example.com"	/* mallory holds it too */

/* 1 if an equality search for v also finds mallory's entry. */
static int
fz_mallory_too(const char *v)
{
	size_t i;

	if (strcasecmp(v, FZ_DUP) == 0)
		return 1;
	for (i = 0; i < FZ_MALLORY; i++)
		if (strcasecmp(fz_people[i].mail, v) == 0)
			return 0;
	return 1;
}

static int fz_dir_down;

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
	return fz_dir_down ? -1 : 0;
}

static void
fake_close(struct dir *d)
{
	free(d);
}

/* The assertion value after "(mail=" up to ')', unescaped (RFC 4515). */
static int
fz_value(const char *v, char *out, size_t outsz, int *star)
{
	size_t o = 0;
	unsigned x;

	*star = 0;
	for (; *v != ')' && *v != '\0'; v++) {
		if (o + 1 >= outsz)
			return -1;
		if (*v == '*') {
			/* only ever at the end of a search's prefix */
			FZ_CHECK(v[1] == ')');
			*star = 1;
			continue;
		}
		FZ_CHECK(*v != '(');
		if (*v == '\\') {
			FZ_CHECK(sscanf(v + 1, "%2x", &x) == 1);
			FZ_CHECK(x != 0);
			out[o++] = (char)x;
			v += 2;
			continue;
		}
		out[o++] = *v;
	}
	FZ_CHECK(*v == ')');
	out[o] = '\0';
	return 0;
}

static int
fake_search(struct dir *d, const char *filter, dir_person_cb cb, void *arg)
{
	struct dir_person p;
	const char *m, *f;
	char val[1024];
	size_t i;
	int star, search;

	(void)d;
	for (f = filter; *f != '\0'; f++)
		FZ_CHECK(*f >= 0x20 && *f < 0x7f);	/* escaped to ASCII */
	if (fz_dir_down)
		return -1;
	if ((m = strstr(filter, "(mail=")) == NULL)
		return 0;
	search = strstr(filter, "(userCertificate=*)") != NULL;
	FZ_CHECK(fz_value(m + 6, val, sizeof(val), &star) == 0);
	/* /v1/certs and /v1/lookup: equality only, one assertion */
	FZ_CHECK(search == star);
	if (!search)
		FZ_CHECK(strstr(m + 6, "(") == NULL);
	for (i = 0; i < FZ_NPEOPLE; i++) {
		if (i == FZ_MALLORY ? !search && !fz_mallory_too(val) :
		    search ? strncasecmp(fz_people[i].mail, val,
		    strlen(val)) != 0 : strcasecmp(fz_people[i].mail, val) != 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.dn = "uid=x,dc=example,dc=com";
		p.mail = (char *)(i == FZ_MALLORY && !search ? val :
		    fz_people[i].mail);
		p.display_name = (char *)fz_people[i].name;
		p.usercert = fz_people[i].uv;
		p.n_usercert = (size_t)fz_people[i].nuser;
		p.smime = fz_people[i].sv;
		p.n_smime = (size_t)fz_people[i].nsmime;
		if (cb(&p, arg) == -1)
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

/* ---- set-up --------------------------------------------------------------- */

static EVP_PKEY *fz_cakey, *fz_otherkey, *fz_leafkey;
static X509 *fz_other;
static char fz_tmp[] = "/tmp/fuzz_lookup.XXXXXX";
static char fz_crlpath[64], fz_anchorpath[64];
static char *fz_crls[2];
static struct cfg fz_cfg;
static struct lk_ctx fz_ctx;

static X509 *
fz_mkcert(X509 *iss, EVP_PKEY *ikey, const char *cn, const char *san,
    const char *eku, const char *ku, long from, long to, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	const char *ext[3][2] = { { "subjectAltName", san },
	    { "extendedKeyUsage", eku }, { "keyUsage", ku } };
	int i;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, iss != NULL ? X509_get_subject_name(iss) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, iss != NULL ? fz_leafkey : ikey);
	X509V3_set_ctx(&v3, iss != NULL ? iss : x, x, NULL, NULL, 0);
	if (iss == NULL) {
		ext[0][0] = "basicConstraints";
		ext[0][1] = "critical,CA:TRUE";
		ext[1][1] = NULL;
		ext[2][1] = "critical,keyCertSign,cRLSign";
	}
	for (i = 0; i < 3; i++) {
		if (ext[i][1] == NULL)
			continue;
		e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
		FZ_CHECK(e != NULL);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	FZ_CHECK(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
fz_leaf(int i, X509 *iss, EVP_PKEY *ik, const char *mail, const char *eku,
    const char *ku, long from, long to, long serial, int usable)
{
	char san[128];

	snprintf(san, sizeof(san), "email:%s", mail);
	fz_certs[i].x = fz_mkcert(iss, ik, mail, san, eku, ku != NULL ? ku :
	    "critical,digitalSignature,keyAgreement", from, to, serial);
	fz_certs[i].owner = mail;
	fz_certs[i].usable = usable;
	FZ_CHECK(x509_sha256_hex(fz_certs[i].x, fz_certs[i].sha256) == 0);
}

static void
fz_cleanup(void)
{
	size_t i;
	int j;

	lk_ctx_fini(&fz_ctx);
	for (i = 0; i < FZ_NPEOPLE; i++) {
		for (j = 0; j < fz_people[i].nuser; j++)
			OPENSSL_free(fz_people[i].uv[j].data);
		for (j = 0; j < fz_people[i].nsmime; j++)
			OPENSSL_free(fz_people[i].sv[j].data);
	}
	for (i = 0; i < C_MAX; i++)
		X509_free(fz_certs[i].x);
	X509_free(fz_ca);
	X509_free(fz_other);
	EVP_PKEY_free(fz_cakey);
	EVP_PKEY_free(fz_otherkey);
	EVP_PKEY_free(fz_leafkey);
	unlink(fz_crlpath);
	unlink(fz_anchorpath);
	rmdir(fz_tmp);
}

static void
fz_write_crl(long serial)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *s = ASN1_INTEGER_new();
	ASN1_TIME *t = X509_gmtime_adj(NULL, 0);
	FILE *fp;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(fz_ca));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_INTEGER_set(s, serial);
	X509_REVOKED_set_serialNumber(r, s);
	X509_REVOKED_set_revocationDate(r, t);
	X509_CRL_add0_revoked(crl, r);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, fz_cakey, EVP_sha256());
	FZ_CHECK((fp = fopen(fz_crlpath, "w")) != NULL);
	PEM_write_X509_CRL(fp, crl);
	fclose(fp);
	ASN1_INTEGER_free(s);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static void
fz_init(void)
{
	STACK_OF(X509) *chain;
	struct fz_person *p;
	size_t i;
	int j, k, c;
	FILE *fp;

	log_init("fuzz_lookup", 0, LOG_LVL_ERR);
	log_set_level(LOG_LVL_ERR);
	FZ_CHECK(mkdtemp(fz_tmp) != NULL);
	snprintf(fz_crlpath, sizeof(fz_crlpath), "%s/crl.pem", fz_tmp);
	snprintf(fz_anchorpath, sizeof(fz_anchorpath), "%s/anchors.pem",
	    fz_tmp);
	fz_cakey = EVP_EC_gen("P-256");
	fz_otherkey = EVP_EC_gen("P-256");
	fz_leafkey = EVP_EC_gen("P-256");
	fz_ca = fz_mkcert(NULL, fz_cakey, "fuzz CA", NULL, NULL, NULL,
	    -86400, 86400 * 3650L, 1);
	fz_other = fz_mkcert(NULL, fz_otherkey, "other CA", NULL, NULL, NULL,
	    -86400, 86400 * 3650L, 1);
	FZ_CHECK((fp = fopen(fz_anchorpath, "w")) != NULL);
	PEM_write_X509(fp, fz_ca);
	fclose(fp);

	fz_leaf(C_ALICE_OLD, fz_ca, fz_cakey, "alice@example.com",
	    "emailProtection", NULL, -86400, 86400 * 30L, 10, 1);
	fz_leaf(C_ALICE_NEW, fz_ca, fz_cakey, "alice@example.com",
	    "emailProtection", NULL, -3600, 86400 * 300L, 11, 1);
	fz_leaf(C_CAROL_EXPIRED, fz_ca, fz_cakey, "carol@example.com",
	    "emailProtection", NULL, -86400 * 10L, -86400, 20, 0);
	fz_leaf(C_CAROL_NOTYET, fz_ca, fz_cakey, "carol@example.com",
	    "emailProtection", NULL, 86400, 86400 * 10L, 21, 0);
	fz_leaf(C_CAROL_NOEKU, fz_ca, fz_cakey, "carol@example.com",
	    NULL, NULL, -60, 86400, 22, 0);
	fz_leaf(C_CAROL_SIGNONLY, fz_ca, fz_cakey, "carol@example.com",
	    "emailProtection", "critical,digitalSignature", -60, 86400, 23, 0);
	fz_leaf(C_DAVE_REVOKED, fz_ca, fz_cakey, "dave@example.com",
	    "emailProtection", NULL, -60, 86400 * 400L, 30, 0);
	fz_leaf(C_DAVE_OK, fz_ca, fz_cakey, "dave@example.com",
	    "emailProtection", NULL, -60, 86400 * 2L, 31, 1);
	fz_leaf(C_ERIN, fz_other, fz_otherkey, "erin@example.com",
	    "emailProtection", NULL, -60, 86400, 40, 0);
	fz_leaf(C_FRANK, fz_ca, fz_cakey, "frank@example.com",
	    "emailProtection", NULL, -60, 86400 * 5L, 50, 1);
	fz_write_crl(30);

	/* The directory values, built once: DER, and certs-only bundles
	 * whose chain entries are -2 for the CA. */
	for (i = 0; i < FZ_NPEOPLE; i++) {
		p = &fz_people[i];
		for (j = 0; j < p->nuser; j++)
			FZ_CHECK(x509_to_der(fz_certs[p->user[j]].x,
			    &p->uv[j].data, &p->uv[j].len) == 0);
		for (j = 0; j < p->nsmime; j++) {
			FZ_CHECK((chain = sk_X509_new_null()) != NULL);
			for (k = 1; k < 3 && (c = p->smime[j][k]) != -1; k++)
				sk_X509_push(chain, c == -2 ? fz_ca :
				    fz_certs[c].x);
			FZ_CHECK(x509_certsonly_build(
			    fz_certs[p->smime[j][0]].x, chain, &p->sv[j].data,
			    &p->sv[j].len) == 0);
			sk_X509_free(chain);
		}
	}

	fz_crls[0] = fz_crlpath;
	fz_cfg.path = "fuzz.conf";
	fz_cfg.directory.filter = "(objectClass=inetOrgPerson)";
	fz_cfg.directory.mail_attribute = "mail";
	fz_cfg.directory.timeout = 1;
	fz_cfg.lookup = (struct cfg_lookup){ .cache_ttl = 300,
	    .negative_ttl = 60, .cache_max = 16, .pool_size = 1, .pool_depth = 2,
	    .threads = 1, .batch_max = 8, .rate = 0, .burst = 1,
	    .search_rate = 0, .search_burst = 1, .max_body = 4096 };
	fz_cfg.lookup.crl_files = fz_crls;
	fz_cfg.lookup.trust_anchors = fz_anchorpath;
	FZ_CHECK(lk_ctx_init_dir(&fz_ctx, &fz_cfg, &fake_dir) == 0);
	atexit(fz_cleanup);
}

/* ---- what a reply may hold ---------------------------------------------- */

/* The index of x among fz_certs, which it must be served for addr. */
static int
fz_served(X509 *x, const char *addr)
{
	char hex[X509_SHA256_HEX];
	int i;

	FZ_CHECK(x != NULL);
	FZ_CHECK(x509_sha256_hex(x, hex) == 0);
	for (i = 0; i < C_MAX; i++)
		if (strcmp(hex, fz_certs[i].sha256) == 0)
			break;
	FZ_CHECK(i < C_MAX);			/* not a chain certificate */
	FZ_CHECK(fz_certs[i].usable);
	FZ_CHECK(mail_eq(fz_certs[i].owner, addr));
	return i;
}

/* The usable certificates of addr as a bit set. */
static unsigned
fz_usable(const char *addr)
{
	unsigned set = 0;
	int i;

	for (i = 0; i < C_MAX; i++)
		if (fz_certs[i].usable && mail_eq(fz_certs[i].owner, addr))
			set |= 1u << i;
	return set;
}

/* What lookupd serves for addr: none for an address on two entries. */
static unsigned
fz_expected(const char *addr)
{
	return mail_eq(addr, FZ_DUP) ? 0 : fz_usable(addr);
}

/* A JSON certificates array for addr: all its usable ones, best first. */
static void
fz_check_json_certs(json_t *a, const char *addr)
{
	json_t *c;
	size_t i;
	unsigned seen = 0;
	const char *pem, *prev = NULL;
	BIO *bio;
	X509 *x;
	int k;

	FZ_CHECK(json_is_array(a) && json_array_size(a) > 0);
	json_array_foreach(a, i, c) {
		FZ_CHECK(json_is_object(c));
		FZ_CHECK((pem = json_string_value(json_object_get(c, "pem")))
		    != NULL);
		FZ_CHECK((bio = BIO_new_mem_buf(pem, -1)) != NULL);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		k = fz_served(x, addr);
		X509_free(x);
		FZ_CHECK(!(seen & 1u << k));		/* de-duplicated */
		seen |= 1u << k;
		FZ_CHECK(strcmp(json_string_value(json_object_get(c,
		    "sha256")), fz_certs[k].sha256) == 0);
		FZ_CHECK(json_string_value(json_object_get(c, "not_after")) !=
		    NULL);
		/* RFC 3339 UTC strings compare as the times they name */
		if (prev != NULL)
			FZ_CHECK(strcmp(prev, json_string_value(
			    json_object_get(c, "not_after"))) >= 0);
		prev = json_string_value(json_object_get(c, "not_after"));
	}
	FZ_CHECK(seen == fz_expected(addr));
}

static void
fz_check_certs(const struct lk_request *rq, const struct lk_reply *rp)
{
	char addr[MAIL_MAX + 1];
	const char *why, *raw = rq->path + 10;
	const unsigned char *d;
	STACK_OF(X509) *sk;
	json_t *o;
	BIO *bio;
	X509 *x;
	unsigned seen = 0;
	int k, i;

	if (rp->status != 200) {
		if (rp->status == 404 && strlen(raw) <= MAIL_MAX &&
		    mail_canon_idn(raw, strlen(raw), addr, &why) == 0)
			FZ_CHECK(fz_expected(addr) == 0);
		return;
	}
	FZ_CHECK(strlen(raw) <= MAIL_MAX &&
	    mail_canon_idn(raw, strlen(raw), addr, &why) == 0);
	FZ_CHECK(fz_expected(addr) != 0);
	if (strcmp(rp->ctype, "application/json") == 0) {
		FZ_CHECK((o = json_loadb(rp->body, rp->len, 0, NULL)) != NULL);
		FZ_CHECK(strcmp(json_string_value(json_object_get(o, "mail")),
		    addr) == 0);
		fz_check_json_certs(json_object_get(o, "certificates"), addr);
		json_decref(o);
	} else if (strcmp(rp->ctype, "application/pkix-cert") == 0) {
		/* the best one: the latest notAfter of the usable ones */
		d = (const unsigned char *)rp->body;
		x = d2i_X509(NULL, &d, (long)rp->len);
		(void)fz_served(x, addr);
		for (i = 0; i < C_MAX; i++)
			if (fz_expected(addr) & 1u << i)
				FZ_CHECK(ASN1_TIME_compare(X509_get0_notAfter(
				    fz_certs[i].x), X509_get0_notAfter(x)) <= 0);
		X509_free(x);
	} else if (strncmp(rp->ctype, "application/pkcs7-mime", 22) == 0) {
		sk = x509_certsonly_parse((const unsigned char *)rp->body,
		    rp->len);
		FZ_CHECK(sk != NULL);
		for (i = 0; i < sk_X509_num(sk); i++) {
			k = fz_served(sk_X509_value(sk, i), addr);
			FZ_CHECK(!(seen & 1u << k));
			seen |= 1u << k;
		}
		sk_X509_pop_free(sk, X509_free);
		FZ_CHECK(seen == fz_expected(addr));
	} else {
		FZ_CHECK(strcmp(rp->ctype, "application/x-pem-file") == 0);
		FZ_CHECK((bio = BIO_new_mem_buf(rp->body, (int)rp->len)) !=
		    NULL);
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			k = fz_served(x, addr);
			X509_free(x);
			FZ_CHECK(!(seen & 1u << k));
			seen |= 1u << k;
		}
		BIO_free(bio);
		ERR_clear_error();
		FZ_CHECK(seen == fz_expected(addr));
	}
}

static void
fz_check_lookup(const struct lk_reply *rp)
{
	char addr[MAIL_MAX + 1];
	const char *why, *st, *mail;
	json_t *o, *r;
	size_t i;

	if (rp->status != 200)
		return;
	FZ_CHECK((o = json_loadb(rp->body, rp->len, 0, NULL)) != NULL);
	json_array_foreach(json_object_get(o, "results"), i, r) {
		FZ_CHECK((st = json_string_value(json_object_get(r,
		    "status"))) != NULL);
		if (strcmp(st, "found") != 0 && strcmp(st, "not_found") != 0)
			continue;
		FZ_CHECK((mail = json_string_value(json_object_get(r,
		    "mail"))) != NULL);
		FZ_CHECK(mail_canon_idn(mail, json_string_length(json_object_get(r,
		    "mail")), addr, &why) == 0);
		if (strcmp(st, "found") == 0)
			fz_check_json_certs(json_object_get(r, "certificates"),
			    addr);
		else
			FZ_CHECK(fz_expected(addr) == 0);
	}
	json_decref(o);
}

static void
fz_check_search(const struct lk_reply *rp)
{
	json_t *o, *r;
	const char *mail;
	size_t i;

	if (rp->status != 200)
		return;
	FZ_CHECK((o = json_loadb(rp->body, rp->len, 0, NULL)) != NULL);
	json_array_foreach(json_object_get(o, "results"), i, r) {
		FZ_CHECK((mail = json_string_value(json_object_get(r,
		    "mail"))) != NULL);
		FZ_CHECK(fz_usable(mail) != 0);
		FZ_CHECK(json_object_get(r, "pem") == NULL);
	}
	json_decref(o);
}

static void
fz_check(const struct lk_request *rq, const struct lk_reply *rp)
{
	json_t *o;

	FZ_CHECK(rp->status >= 200 && rp->status < 600);
	FZ_CHECK(rp->ctype != NULL);
	FZ_CHECK(rp->body != NULL || rp->len == 0);
	if (strcmp(rp->ctype, "application/json") == 0) {
		FZ_CHECK((o = json_loadb(rp->body, rp->len, 0, NULL)) != NULL);
		/* /healthz answers 503 with its own status object */
		if (rp->status >= 400 && rp->ep != LK_EP_HEALTHZ)
			FZ_CHECK(json_is_string(json_object_get(o, "error")));
		json_decref(o);
	}
	if (rp->status == 429)
		FZ_CHECK(rp->retry_after > 0);
	if (rp->ep == LK_EP_CERTS)
		fz_check_certs(rq, rp);
	else if (rp->ep == LK_EP_LOOKUP)
		fz_check_lookup(rp);
	else if (rp->ep == LK_EP_SEARCH)
		fz_check_search(rp);
	else if (rp->ep == LK_EP_FLUSH)
		FZ_CHECK(rq->admin);
}

/* ---- the target ---------------------------------------------------------- */

/* The next '\n'-separated field of data as a string (NUL ends it early, as
 * in a C string from libmicrohttpd); the last field takes the rest. */
static char *
fz_field(const uint8_t **data, size_t *len, int last, size_t *outlen)
{
	const uint8_t *nl = last ? NULL : memchr(*data, '\n', *len);
	size_t n = nl != NULL ? (size_t)(nl - *data) : *len;
	char *s;

	FZ_CHECK((s = malloc(n + 1)) != NULL);
	memcpy(s, *data, n);
	s[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	*data += n;
	*len -= n;
	if (nl != NULL) {
		(*data)++;
		(*len)--;
	}
	return s;
}

/* The path as libmicrohttpd hands it over: decoded, never longer, no NUL
 * inside, %00 left as it is. */
static void
fz_path(char *path)
{
	size_t was = strlen(path), n;

	n = lk_unescape(path);
	FZ_CHECK(n <= was);
	FZ_CHECK(strlen(path) == n);
}

/* The rest of the input as a body that arrives in pieces: its first byte
 * says the size of each (1 to 16); lk_body_append gives the same bytes
 * back, or refuses them all once past lookup.max_body. */
static char *
fz_body(const uint8_t **data, size_t *len, size_t *outlen)
{
	size_t max = (size_t)fz_cfg.lookup.max_body, step, at, n = 0;
	char *raw, *body = NULL;
	size_t rawlen;
	int refused = 0;

	raw = fz_field(data, len, 1, &rawlen);
	step = rawlen > 0 ? 1 + (unsigned char)raw[0] % 16 : 1;
	for (at = 0; at < rawlen && !refused; at += step)
		if (lk_body_append(&body, &n, raw + at, rawlen - at < step ?
		    rawlen - at : step, max) == -1)
			refused = 1;
	FZ_CHECK(refused == (rawlen > max));
	if (!refused && rawlen > 0) {
		FZ_CHECK(n == rawlen && memcmp(body, raw, n) == 0);
		FZ_CHECK(body[n] == '\0');
	}
	free(body);
	*outlen = rawlen;
	return raw;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	struct lk_request rq;
	struct lk_reply rp;
	char *method, *path, *q, *accept, *body;
	const char *m;

	if (!ready) {
		fz_init();
		ready = 1;
	}
	memset(&rq, 0, sizeof(rq));
	method = fz_field(&data, &len, 0, NULL);
	path = fz_field(&data, &len, 0, NULL);
	q = fz_field(&data, &len, 0, NULL);
	accept = fz_field(&data, &len, 0, NULL);
	body = fz_body(&data, &len, &rq.body_len);
	fz_path(path);
	fz_dir_down = 0;
	for (m = method; *m == '!' || *m == '~'; m++)
		if (*m == '!')
			rq.admin = 1;
		else
			fz_dir_down = 1;
	rq.method = m;
	rq.path = path;
	rq.q = *q != '\0' ? q : NULL;
	rq.accept = *accept != '\0' ? accept : NULL;
	rq.body = body;

	lk_api_handle(&fz_ctx, &rq, &rp);
	if (getenv("FUZZ_LOOKUP_VERBOSE") != NULL)	/* what a seed does */
		fprintf(stderr, "%s %s -> %d %s %zu bytes\n", rq.method,
		    rq.path, rp.status, rp.ctype, rp.len);
	fz_check(&rq, &rp);
	if (rp.free_body)
		free(rp.body);
	fz_dir_down = 0;
	free(method);
	free(path);
	free(q);
	free(accept);
	free(body);
	return 0;
}
