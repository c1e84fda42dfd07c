/*
 * dir_itest.c — the directory client (ldap/) against a real slapd started by
 * tests/integration/20_dir.sh through tests/lib/slapd.sh, whose values come
 * in the environment (SLAPD_URI, SLAPD_LDAPS_URI, SLAPD_LDAPI_URI,
 * SLAPD_PEOPLE, SLAPD_ROOT_DN, SLAPD_ROOT_PW, SLAPD_SVC_DN,
 * SLAPD_SVC_PW_FILE, SLAPD_TLS_CA, SLAPD_BAD_CA, DIR_ITEST_TMP).
 * Transports, TLS verification, binds, lookups by mail, paging, and the
 * publish rules (ours first, foreign kept byte for byte, no-op writes nothing,
 * a concurrent change detected and retried). Everything written is read back
 * as the rootdn with libldap.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/x509.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

static const char *E_URI, *E_LDAPS, *E_LDAPI, *E_PEOPLE, *E_ROOT_DN,
    *E_ROOT_PW, *E_SVC_DN, *E_SVC_PW, *E_CA, *E_BAD_CA, *E_TMP;

/* Certificates made at start: our CA and leaves, and a foreign CA's leaf. */
static X509 *ca, *fca, *leaf1, *leaf2, *leaf3, *foreign;
static EVP_PKEY *cakey, *fcakey;

/* ---- certificates ------------------------------------------------------ */

/* Usable outside a test too (main makes the certificates before any runs). */
static void
need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "dir_itest: cannot make certificates: %s\n",
		    what);
		abort();
	}
}

static EVP_PKEY *
eckey(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	need(k != NULL, "EC key");
	return k;
}

static void
ext(X509 *c, X509 *iss, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, iss, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
	need(e != NULL && X509_add_ext(c, e, -1) == 1, val);
	X509_EXTENSION_free(e);
}

static X509 *
mkcert(X509 *iss, EVP_PKEY *isskey, EVP_PKEY *key, const char *cn,
    const char *mail, long serial)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	char san[300];

	need(c != NULL, "X509_new");
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, iss != NULL ? X509_get_subject_name(iss) : n);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
	X509_set_pubkey(c, key);
	if (mail == NULL) {
		ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
		ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		snprintf(san, sizeof(san), "email:%s", mail);
		ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
		ext(c, iss, NID_key_usage,
		    "critical,digitalSignature,keyAgreement");
		ext(c, iss, NID_ext_key_usage, "emailProtection");
		ext(c, iss, NID_subject_alt_name, san);
	}
	need(X509_sign(c, isskey, EVP_sha256()) > 0, "X509_sign");
	X509_NAME_free(n);
	return c;
}

static X509 *
mkleaf(X509 *iss, EVP_PKEY *isskey, const char *mail, long serial)
{
	EVP_PKEY *k = eckey();
	X509 *c = mkcert(iss, isskey, k, mail, mail, serial);

	EVP_PKEY_free(k);
	return c;
}

static void
make_certs(void)
{
	cakey = eckey();
	ca = mkcert(NULL, cakey, cakey, "smimepub itest CA", NULL, 1);
	fcakey = eckey();
	fca = mkcert(NULL, fcakey, fcakey, "Someone else's CA", NULL, 1);
	leaf1 = mkleaf(ca, cakey, "bob@example.com", 1001);
	leaf2 = mkleaf(ca, cakey, "bob@example.com", 1002);
	leaf3 = mkleaf(ca, cakey, "alice@example.com", 1003);
	foreign = mkleaf(fca, fcakey, "bob@example.com", 1001);
}

static int
same_issuer_serial(X509 *a, X509 *b)
{
	return X509_NAME_cmp(X509_get_issuer_name(a),
	    X509_get_issuer_name(b)) == 0 &&
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
	    X509_get0_serialNumber(b)) == 0;
}

/* is_ours over a stack of "our" certificates, by issuer and serial. */
static int
is_ours(X509 *c, void *arg)
{
	STACK_OF(X509) *ours = arg;
	int i;

	for (i = 0; ours != NULL && i < sk_X509_num(ours); i++)
		if (same_issuer_serial(c, sk_X509_value(ours, i)))
			return 1;
	return 0;
}

static STACK_OF(X509) *
ours_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (a != NULL)
		sk_X509_push(sk, a);
	if (b != NULL)
		sk_X509_push(sk, b);
	return sk;
}

static STACK_OF(X509) *
chain_of_ca(void)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	sk_X509_push(sk, ca);
	return sk;
}

static struct dir_val
der_of(X509 *c)
{
	struct dir_val v;

	ck_assert_int_eq(x509_to_der(c, &v.data, &v.len), 0);
	return v;
}

static struct dir_val
bundle_of(X509 *c, X509 *chain1)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct dir_val v;

	if (chain1 != NULL)
		sk_X509_push(sk, chain1);
	ck_assert_int_eq(x509_certsonly_build(c, sk, &v.data, &v.len), 0);
	sk_X509_free(sk);
	return v;
}

/* ---- the rootdn's view --------------------------------------------------- */

static LDAP *
root_ld(void)
{
	LDAP *ld = NULL;
	struct berval cred;
	int v3 = LDAP_VERSION3;

	ck_assert_int_eq(ldap_initialize(&ld, E_URI), LDAP_SUCCESS);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	cred.bv_val = (char *)E_ROOT_PW;
	cred.bv_len = strlen(E_ROOT_PW);
	ck_assert_int_eq(ldap_sasl_bind_s(ld, E_ROOT_DN, LDAP_SASL_SIMPLE,
	    &cred, NULL, NULL, NULL), LDAP_SUCCESS);
	return ld;
}

static char *
person_dn(const char *uid)
{
	static char dn[256];

	snprintf(dn, sizeof(dn), "uid=%s,%s", uid, E_PEOPLE);
	return dn;
}

/* The values of attr on dn, as the rootdn reads them (NULL if none). */
static struct berval **
root_vals(const char *dn, const char *attr)
{
	LDAP *ld = root_ld();
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	char *attrs[] = { (char *)attr, NULL };

	ck_assert_int_eq(ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE,
	    "(objectClass=*)", attrs, 0, NULL, NULL, NULL, 0, &res),
	    LDAP_SUCCESS);
	e = ldap_first_entry(ld, res);
	ck_assert_ptr_nonnull(e);
	v = ldap_get_values_len(ld, e, attr);
	ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return v;
}

static char *
root_csn(const char *dn)
{
	struct berval **v = root_vals(dn, "entryCSN");
	char *s;

	ck_assert_ptr_nonnull(v);
	s = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return s;
}

/* Set attr on dn to vals (none: delete the attribute), as the rootdn. */
static void
root_set(const char *dn, const char *attr, const struct dir_val *vals,
    size_t n)
{
	LDAP *ld = root_ld();
	LDAPMod m, *mods[2] = { &m, NULL };
	struct berval bv[8], *bvp[9];
	size_t i;
	int rc;

	ck_assert_uint_le(n, 8);
	for (i = 0; i < n; i++) {
		bv[i].bv_val = (char *)vals[i].data;
		bv[i].bv_len = vals[i].len;
		bvp[i] = &bv[i];
	}
	bvp[n] = NULL;
	m.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
	m.mod_type = (char *)attr;
	m.mod_bvalues = bvp;
	rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
	ck_assert_msg(rc == LDAP_SUCCESS, "root modify %s %s: %s", dn, attr,
	    ldap_err2string(rc));
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/* Add one value to attr on dn, as the rootdn; the LDAP result code. */
static int
root_add(const char *dn, const char *attr, const struct dir_val *val)
{
	LDAP *ld = root_ld();
	struct berval bv = { val->len, (char *)val->data }, *bvp[2] = { &bv,
	    NULL };
	LDAPMod m = { LDAP_MOD_ADD | LDAP_MOD_BVALUES, (char *)attr,
	    { .modv_bvals = bvp } }, *mods[2] = { &m, NULL };
	int rc;

	rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/*
 * Append one value to attr on dn, as the rootdn. A plain add cannot do it
 * for userSMIMECertificate once the attribute exists (no equality rule:
 * inappropriateMatching), so: read, then replace with one more value.
 */
static void
root_append(const char *dn, const char *attr, const struct dir_val *val)
{
	struct berval **v = root_vals(dn, attr);
	struct dir_val all[8];
	size_t n = 0;

	for (; v != NULL && v[n] != NULL && n < 7; n++) {
		all[n].data = (unsigned char *)v[n]->bv_val;
		all[n].len = v[n]->bv_len;
	}
	all[n++] = *val;
	root_set(dn, attr, all, n);
	ldap_value_free_len(v);
}

/* v (NULL-terminated) equals exactly want[0..n) in that order. */
static void
assert_vals(struct berval **v, const struct dir_val *want, size_t n,
    const char *what)
{
	size_t i;

	ck_assert_msg((size_t)ldap_count_values_len(v) == n,
	    "%s: %d values, want %zu", what, ldap_count_values_len(v), n);
	for (i = 0; i < n; i++)
		ck_assert_msg(v[i]->bv_len == want[i].len &&
		    memcmp(v[i]->bv_val, want[i].data, want[i].len) == 0,
		    "%s: value %zu differs", what, i);
}

/* Every dn=entryCSN under the people, as one string. */
static char *
csn_snapshot(void)
{
	LDAP *ld = root_ld();
	LDAPMessage *res = NULL, *e;
	char *attrs[] = { "entryCSN", NULL }, *out = NULL, *dn, *tmp;
	struct berval **v;

	ck_assert_int_eq(ldap_search_ext_s(ld, E_PEOPLE, LDAP_SCOPE_SUBTREE,
	    "(objectClass=*)", attrs, 0, NULL, NULL, NULL, 0, &res),
	    LDAP_SUCCESS);
	out = strdup("");
	for (e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
		dn = ldap_get_dn(ld, e);
		v = ldap_get_values_len(ld, e, "entryCSN");
		ck_assert_int_ne(asprintf(&tmp, "%s%s=%.*s\n", out, dn,
		    (int)v[0]->bv_len, v[0]->bv_val), -1);
		free(out);
		out = tmp;
		ldap_value_free_len(v);
		ldap_memfree(dn);
	}
	ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return out;
}

/* ---- configurations ---------------------------------------------------- */

static struct cfg_directory cfg;

static struct cfg_directory *
mkcfg(const char *uri)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.uri = (char *)uri;
	cfg.base = (char *)E_PEOPLE;
	cfg.bind_dn = (char *)E_SVC_DN;
	cfg.bind_password_file = (char *)E_SVC_PW;
	cfg.mail_attribute = "mail";
	cfg.flavour = CFG_FLAVOUR_OPENLDAP;
	cfg.timeout = 5;
	return &cfg;
}

static struct dir *
svc_dir(void)
{
	struct dir *d = dir_new(mkcfg(E_URI));

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dir_connect(d), 0);
	return d;
}

/* ---- transports, TLS, binds --------------------------------------------- */

START_TEST(t_ldap)
{
	struct dir *d = dir_new(mkcfg(E_URI));

	ck_assert_int_eq(dir_connect(d), 0);
	ck_assert_msg(d->has_assert, "slapd lists the assertion control");
	dir_free(d);
}
END_TEST

START_TEST(t_ldaps_good_ca)
{
	struct dir *d = dir_new(mkcfg(E_LDAPS));

	cfg.tls_ca_file = (char *)E_CA;
	ck_assert_int_eq(dir_connect(d), 0);
	dir_free(d);
}
END_TEST

START_TEST(t_starttls_good_ca)
{
	struct dir *d = dir_new(mkcfg(E_URI));
	struct dir_person *p = NULL;

	cfg.tls_ca_file = (char *)E_CA;
	cfg.starttls = 1;
	ck_assert_int_eq(dir_connect(d), 0);
	ck_assert_int_eq(dir_find_by_mail(d, "carol@example.com", &p), 0);
	dir_person_free(p);
	dir_free(d);
}
END_TEST

START_TEST(t_ldaps_bad_ca)
{
	struct dir *d = dir_new(mkcfg(E_LDAPS));

	cfg.tls_ca_file = (char *)E_BAD_CA;
	log_clear_err();
	ck_assert_int_eq(dir_connect(d), -1);
	fprintf(stderr, "ldaps bad CA: %s\n", log_last_err());
	ck_assert_ptr_nonnull(strstr(log_last_err(), E_LDAPS));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "TLS"));
	dir_free(d);
}
END_TEST

START_TEST(t_starttls_bad_ca)
{
	struct dir *d = dir_new(mkcfg(E_URI));

	cfg.tls_ca_file = (char *)E_BAD_CA;
	cfg.starttls = 1;
	log_clear_err();
	ck_assert_int_eq(dir_connect(d), -1);
	fprintf(stderr, "StartTLS bad CA: %s\n", log_last_err());
	ck_assert_ptr_nonnull(strstr(log_last_err(), "StartTLS"));
	dir_free(d);
}
END_TEST

START_TEST(t_wrong_password)
{
	char path[512];
	struct dir *d;
	int fd;

	snprintf(path, sizeof(path), "%s/wrong.pw", E_TMP);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not-the-password\n", 17), 17);
	close(fd);
	d = dir_new(mkcfg(E_URI));
	cfg.bind_password_file = path;
	log_clear_err();
	ck_assert_int_eq(dir_connect(d), -1);
	fprintf(stderr, "wrong password: %s\n", log_last_err());
	ck_assert_ptr_nonnull(strstr(log_last_err(), "Invalid credentials"));
	ck_assert_ptr_nonnull(strstr(log_last_err(), E_SVC_DN));
	dir_free(d);
}
END_TEST

START_TEST(t_password_file_0644)
{
	char path[512], cmd[1200];
	struct dir *d;

	snprintf(path, sizeof(path), "%s/open.pw", E_TMP);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0644 '%s'", E_SVC_PW,
	    path, path);
	ck_assert_int_eq(system(cmd), 0);
	d = dir_new(mkcfg(E_URI));
	cfg.bind_password_file = path;
	log_clear_err();
	ck_assert_int_eq(dir_connect(d), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "0644"));
	dir_free(d);
}
END_TEST

START_TEST(t_ldapi_external)
{
	struct dir *d = dir_new(mkcfg(E_LDAPI));

	cfg.bind_dn = NULL;
	cfg.bind_password_file = NULL;
	cfg.sasl_mech = "EXTERNAL";
	ck_assert_int_eq(dir_connect(d), 0);
	dir_free(d);
}
END_TEST

START_TEST(t_anonymous)
{
	struct dir *d = dir_new(mkcfg(E_URI));
	struct dir_person *p = NULL;

	cfg.bind_dn = NULL;
	cfg.bind_password_file = NULL;
	ck_assert_int_eq(dir_connect(d), 0);
	ck_assert_int_eq(dir_find_by_mail(d, "bob@example.com", &p), 0);
	dir_person_free(p);
	dir_free(d);
}
END_TEST

/* The socket is cut under the client: the next operation reconnects. */
START_TEST(t_reconnect)
{
	struct dir *d = svc_dir();
	struct dir_person *p = NULL;
	int fd = -1;

	ck_assert_int_eq(ldap_get_option(d->ld, LDAP_OPT_DESC, &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(shutdown(fd, SHUT_RDWR), 0);
	ck_assert_int_eq(dir_find_by_mail(d, "alice@example.com", &p), 0);
	ck_assert_str_eq(p->mail, "alice@example.com");
	dir_person_free(p);
	dir_free(d);
}
END_TEST

/* ---- find by mail, paging ---------------------------------------------- */

START_TEST(t_find_alice)
{
	struct dir *d = svc_dir();
	struct dir_person *p = NULL;
	struct berval **v;
	size_t i;

	ck_assert_int_eq(dir_find_by_mail(d, "alice@example.com", &p), 0);
	ck_assert_str_eq(p->dn, person_dn("alice"));
	ck_assert_str_eq(p->mail, "alice@example.com");
	ck_assert_str_eq(p->display_name, "Alice Liddell");
	ck_assert_int_eq(p->disabled, 0);
	ck_assert_uint_eq(strlen(p->id), 36);
	for (i = 0; i < 36; i++)
		ck_assert(i == 8 || i == 13 || i == 18 || i == 23 ?
		    p->id[i] == '-' : strchr("0123456789abcdef", p->id[i]) !=
		    NULL);
	v = root_vals(p->dn, "entryUUID");
	ck_assert_uint_eq(v[0]->bv_len, 36);
	ck_assert(memcmp(v[0]->bv_val, p->id, 36) == 0);
	ldap_value_free_len(v);
	dir_person_free(p);
	dir_free(d);
}
END_TEST

START_TEST(t_find_unknown)
{
	struct dir *d = svc_dir();
	struct dir_person *p = (struct dir_person *)1;

	log_clear_err();
	ck_assert_int_eq(dir_find_by_mail(d, "nobody@example.com", &p), 1);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(log_last_err(),
	    "no entry with mail=nobody@example.com under"));
	ck_assert_int_eq(dir_unpublish(d, "nobody@example.com", is_ours,
	    NULL, NULL), 1);
	dir_free(d);
	/* a search that fails (here: a base that does not exist) is an error,
	 * not "nobody": a leaver must not be taken for one */
	d = dir_new(mkcfg(E_URI));
	cfg.base = "ou=nowhere,dc=example,dc=com";
	ck_assert_int_eq(dir_connect(d), 0);
	p = (struct dir_person *)1;
	ck_assert_int_eq(dir_find_by_mail(d, "alice@example.com", &p), -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(dir_unpublish(d, "alice@example.com", is_ours, NULL,
	    NULL), -1);
	dir_free(d);
}
END_TEST

START_TEST(t_find_dup)
{
	struct dir *d = svc_dir();
	struct dir_person *p = NULL;

	log_clear_err();
	ck_assert_int_eq(dir_find_by_mail(d, "dup@example.com", &p),
	    DIR_AMBIGUOUS);
	ck_assert_ptr_null(p);
	fprintf(stderr, "dup: %s\n", log_last_err());
	ck_assert_ptr_nonnull(strstr(log_last_err(), person_dn("dup1")));
	ck_assert_ptr_nonnull(strstr(log_last_err(), person_dn("dup2")));
	dir_free(d);
}
END_TEST

START_TEST(t_injection)
{
	struct dir *d = svc_dir();
	struct dir_person *p = NULL;
	STACK_OF(X509) *ours = ours_of(leaf3, NULL);
	char *before = csn_snapshot(), *after;

	ck_assert_int_eq(dir_find_by_mail(d, "*)(mail=*", &p), 1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(dir_find_by_mail(d, "*", &p), 1);
	ck_assert_int_eq(dir_publish(d, "*)(mail=*", leaf3, NULL, is_ours,
	    ours, NULL), -1);
	ck_assert_int_eq(dir_publish(d, "alice@example.com)(mail=*", leaf3,
	    NULL, is_ours, ours, NULL), -1);
	ck_assert_int_eq(dir_publish(d, "dup@example.com", leaf3, NULL,
	    is_ours, ours, NULL), -1);
	ck_assert_int_eq(dir_unpublish(d, "*", is_ours, ours, NULL), 1);
	after = csn_snapshot();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	sk_X509_free(ours);
	dir_free(d);
}
END_TEST

struct seen { char dn[8][256]; int n, dupes, stop_after; };

static int
count_cb(const struct dir_person *p, void *arg)
{
	struct seen *s = arg;
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->dn[i], p->dn) == 0)
			s->dupes++;
	if (s->n < 8)
		snprintf(s->dn[s->n++], sizeof(s->dn[0]), "%s", p->dn);
	ck_assert_ptr_nonnull(p->id);
	ck_assert_ptr_nonnull(p->mail);
	return s->stop_after > 0 && s->n >= s->stop_after ? -1 : 0;
}

START_TEST(t_paged)
{
	struct dir *d = dir_new(mkcfg(E_URI));
	struct seen s;
	int i;
	static const char *const uids[] = { "alice", "bob", "carol", "dup1",
	    "dup2" };

	cfg.page_size = 2;
	ck_assert_int_eq(dir_connect(d), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dir_search_people(d, NULL, count_cb, &s), 0);
	ck_assert_int_eq(s.n, 5);
	ck_assert_int_eq(s.dupes, 0);
	for (i = 0; i < 5; i++) {
		int j, found = 0;

		for (j = 0; j < s.n; j++)
			found += strcmp(s.dn[j], person_dn(uids[i])) == 0;
		ck_assert_msg(found == 1, "%s seen %d times", uids[i], found);
	}
	/* A callback that stops: the search stops and says so. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	ck_assert_int_eq(dir_search_people(d, NULL, count_cb, &s), -1);
	ck_assert_int_eq(s.n, 3);
	/* And the connection is still good for the next search. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dir_search_people(d, "(mail=dup@example.com)",
	    count_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
	dir_free(d);
}
END_TEST

/* ---- several searches in flight (dir_many.c) --------------------------- */

START_TEST(t_few)
{
	struct dir *d = svc_dir();
	struct seen s[7];
	struct dir_query q[7];
	static const char *const f[7] = {
		"(mail=carol@example.com)", "(mail=alice@example.com)",
		"(mail=nobody@example.com)", "(mail=dup@example.com)",
		"(mail=bob@example.com)", "(&(mail=alice@example.com)(",
		"(|(uid=alice)(uid=bob)(uid=carol)(uid=dup1)(uid=dup2))",
	};
	int i, fd = -1;

	memset(s, 0, sizeof(s));
	memset(q, 0, sizeof(q));
	for (i = 0; i < 7; i++) {
		q[i].filter = f[i];
		q[i].cb = count_cb;
		q[i].arg = &s[i];
	}
	/* the last callback stops after 2: only that query fails */
	s[6].stop_after = 2;
	ck_assert_int_eq(dir_search_few(d, q, 7), -1);
	/* each query got its own people, however the answers came back */
	ck_assert_int_eq(q[0].rc, 0);
	ck_assert_int_eq(s[0].n, 1);
	ck_assert_str_eq(s[0].dn[0], person_dn("carol"));
	ck_assert_int_eq(q[1].rc, 0);
	ck_assert_int_eq(s[1].n, 1);
	ck_assert_str_eq(s[1].dn[0], person_dn("alice"));
	ck_assert_int_eq(q[2].rc, 0);
	ck_assert_int_eq(s[2].n, 0);
	ck_assert_int_eq(q[3].rc, 0);
	ck_assert_int_eq(s[3].n, 2);
	ck_assert_int_eq(q[4].rc, 0);
	ck_assert_int_eq(s[4].n, 1);
	ck_assert_str_eq(s[4].dn[0], person_dn("bob"));
	ck_assert_int_eq(q[5].rc, -1);		/* a bad filter */
	ck_assert_int_eq(s[5].n, 0);
	ck_assert_int_eq(q[6].rc, -1);		/* its callback said stop */
	ck_assert_int_eq(s[6].n, 2);

	/* the connection lost under it: reconnected, every query asked again */
	ck_assert_int_eq(ldap_get_option(d->ld, LDAP_OPT_DESC, &fd), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_RDWR), 0);
	memset(s, 0, sizeof(s));
	ck_assert_int_eq(dir_search_few(d, q, 5), 0);
	ck_assert_int_eq(s[0].n, 1);
	ck_assert_int_eq(s[1].n, 1);
	ck_assert_int_eq(s[2].n, 0);
	ck_assert_int_eq(s[3].n, 2);
	ck_assert_str_eq(s[4].dn[0], person_dn("bob"));
	dir_free(d);
}
END_TEST

/* ---- publish ----------------------------------------------------------- */

START_TEST(t_publish_alice)
{
	struct dir *d = svc_dir();
	STACK_OF(X509) *ours = ours_of(leaf3, NULL), *chain = chain_of_ca();
	STACK_OF(X509) *sk;
	struct dir_val der = der_of(leaf3), cader = der_of(ca);
	struct dir_person *before = NULL;
	struct berval **v;
	X509 *c;

	ck_assert_int_eq(dir_publish(d, "alice@example.com", leaf3, chain,
	    is_ours, ours, &before), 0);
	ck_assert_ptr_nonnull(before);
	ck_assert_uint_eq(before->n_usercert, 0);
	v = root_vals(person_dn("alice"), "userCertificate;binary");
	assert_vals(v, &der, 1, "alice userCertificate;binary");
	ldap_value_free_len(v);
	v = root_vals(person_dn("alice"), "userSMIMECertificate");
	ck_assert_int_eq(ldap_count_values_len(v), 1);
	sk = x509_certsonly_parse((unsigned char *)v[0]->bv_val,
	    v[0]->bv_len);
	ck_assert_ptr_nonnull(sk);
	ck_assert_int_eq(sk_X509_num(sk), 2);
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 0), leaf3), 0);
	c = sk_X509_value(sk, 1);
	ck_assert_int_eq(X509_cmp(c, ca), 0);
	(void)cader;
	sk_X509_pop_free(sk, X509_free);
	ldap_value_free_len(v);
	OPENSSL_free(der.data);
	OPENSSL_free(cader.data);
	dir_person_free(before);
	sk_X509_free(ours);
	sk_X509_free(chain);
	dir_free(d);
}
END_TEST

/*
 * bob carries a foreign certificate in both attributes and an unparseable
 * userSMIMECertificate value; ours goes in front and is replaced on renewal,
 * a no-op writes nothing, unpublish takes exactly ours away.
 */
START_TEST(t_publish_foreign)
{
	const char *dn = person_dn("bob");
	struct dir *d = svc_dir();
	STACK_OF(X509) *ours1 = ours_of(leaf1, NULL);
	STACK_OF(X509) *ours12 = ours_of(leaf1, leaf2);
	struct dir_val fder = der_of(foreign), fsm = bundle_of(foreign, fca);
	struct dir_val junk = { (unsigned char *)"not a certs-only bundle", 23 };
	struct dir_val d1 = der_of(leaf1), d2 = der_of(leaf2);
	struct dir_val b1 = bundle_of(leaf1, NULL), b2 = bundle_of(leaf2, NULL);
	struct dir_val want[3], fsm_both[2] = { fsm, junk };
	struct berval **v;
	char *csn1, *csn2;
	size_t removed = 99;

	root_set(dn, "userCertificate;binary", &fder, 1);
	root_set(dn, "userSMIMECertificate", fsm_both, 2);

	/* First publication: ours first, foreign after, unchanged. */
	ck_assert_int_eq(dir_publish(d, "bob@example.com", leaf1, NULL,
	    is_ours, ours1, NULL), 0);
	want[0] = d1;
	want[1] = fder;
	v = root_vals(dn, "userCertificate;binary");
	assert_vals(v, want, 2, "publish 1: userCertificate;binary");
	ldap_value_free_len(v);
	want[0] = b1;
	want[1] = fsm;
	want[2] = junk;
	v = root_vals(dn, "userSMIMECertificate");
	assert_vals(v, want, 3, "publish 1: userSMIMECertificate");
	ldap_value_free_len(v);

	/* Renewal: leaf1 is ours, replaced by leaf2 in the same place. */
	ck_assert_int_eq(dir_publish(d, "bob@example.com", leaf2, NULL,
	    is_ours, ours12, NULL), 0);
	want[0] = d2;
	want[1] = fder;
	v = root_vals(dn, "userCertificate;binary");
	assert_vals(v, want, 2, "publish 2: userCertificate;binary");
	ldap_value_free_len(v);
	want[0] = b2;
	want[1] = fsm;
	want[2] = junk;
	v = root_vals(dn, "userSMIMECertificate");
	assert_vals(v, want, 3, "publish 2: userSMIMECertificate");
	ldap_value_free_len(v);

	/* The same again: nothing to write, entryCSN unchanged. */
	csn1 = root_csn(dn);
	ck_assert_int_eq(dir_publish(d, "bob@example.com", leaf2, NULL,
	    is_ours, ours12, NULL), 0);
	csn2 = root_csn(dn);
	ck_assert_str_eq(csn1, csn2);
	free(csn1);
	free(csn2);

	/* Ours pushed behind the foreign value (a plain add would do that):
	 * publishing moves it back in front. */
	want[0] = fder;
	want[1] = d2;
	root_set(dn, "userCertificate;binary", want, 2);
	ck_assert_int_eq(dir_publish(d, "bob@example.com", leaf2, NULL,
	    is_ours, ours12, NULL), 0);
	want[0] = d2;
	want[1] = fder;
	v = root_vals(dn, "userCertificate;binary");
	assert_vals(v, want, 2, "reordered: userCertificate;binary");
	ldap_value_free_len(v);

	/* Unpublish: exactly ours goes, the foreign values stay. */
	ck_assert_int_eq(dir_unpublish(d, "bob@example.com", is_ours, ours12,
	    &removed), 0);
	ck_assert_uint_eq(removed, 1);
	v = root_vals(dn, "userCertificate;binary");
	assert_vals(v, &fder, 1, "unpublish: userCertificate;binary");
	ldap_value_free_len(v);
	v = root_vals(dn, "userSMIMECertificate");
	assert_vals(v, fsm_both, 2, "unpublish: userSMIMECertificate");
	ldap_value_free_len(v);

	/* Nothing of ours left: unpublish again writes nothing. */
	csn1 = root_csn(dn);
	ck_assert_int_eq(dir_unpublish(d, "bob@example.com", is_ours, ours12,
	    &removed), 0);
	ck_assert_uint_eq(removed, 0);
	csn2 = root_csn(dn);
	ck_assert_str_eq(csn1, csn2);
	free(csn1);
	free(csn2);

	OPENSSL_free(fder.data);
	OPENSSL_free(fsm.data);
	OPENSSL_free(d1.data);
	OPENSSL_free(d2.data);
	OPENSSL_free(b1.data);
	OPENSSL_free(b2.data);
	sk_X509_free(ours1);
	sk_X509_free(ours12);
	dir_free(d);
}
END_TEST

/* ---- concurrent changes ------------------------------------------------ */

struct hook_arg { int calls, every; struct dir_val val; };

/* Between our read and our modify, someone else adds a value. */
static void
meddle(const char *dn, int attempt, void *arg)
{
	struct hook_arg *h = arg;
	struct dir_val v;
	char buf[64];

	h->calls++;
	if (attempt > 0 && !h->every)
		return;
	if (h->every) {
		snprintf(buf, sizeof(buf), "meddler value %d", attempt);
		v.data = (unsigned char *)buf;
		v.len = strlen(buf);
		root_append(dn, "userSMIMECertificate", &v);
	} else
		root_append(dn, "userSMIMECertificate", &h->val);
}

START_TEST(t_concurrent_retry)
{
	const char *dn = person_dn("carol");
	struct dir *d = svc_dir();
	STACK_OF(X509) *ours = ours_of(leaf1, NULL);
	X509 *carol = mkleaf(ca, cakey, "carol@example.com", 2001);
	struct dir_val other = { (unsigned char *)"someone else's value", 20 };
	struct dir_val bc = bundle_of(carol, NULL), want[2];
	struct hook_arg h = { 0, 0, other };
	struct berval **v;

	dir_test_before_modify = meddle;
	dir_test_before_modify_arg = &h;
	ck_assert_int_eq(dir_publish(d, "carol@example.com", carol, NULL,
	    is_ours, ours, NULL), 0);
	dir_test_before_modify = NULL;
	ck_assert_int_eq(h.calls, 2);	/* read, meddled, failed, re-read */
	/* The value added meanwhile survived the whole-attribute delete. */
	want[0] = bc;
	want[1] = other;
	v = root_vals(dn, "userSMIMECertificate");
	assert_vals(v, want, 2, "after the retry: userSMIMECertificate");
	ldap_value_free_len(v);
	OPENSSL_free(bc.data);
	X509_free(carol);
	sk_X509_free(ours);
	dir_free(d);
}
END_TEST

START_TEST(t_concurrent_give_up)
{
	struct dir *d = svc_dir();
	STACK_OF(X509) *ours = ours_of(leaf1, NULL);
	X509 *carol = mkleaf(ca, cakey, "carol@example.com", 2002);
	struct hook_arg h = { 0, 1, { NULL, 0 } };

	dir_test_before_modify = meddle;
	dir_test_before_modify_arg = &h;
	log_clear_err();
	ck_assert_int_eq(dir_publish(d, "carol@example.com", carol, NULL,
	    is_ours, ours, NULL), -1);
	dir_test_before_modify = NULL;
	ck_assert_int_eq(h.calls, DIR_MAX_RETRY);
	fprintf(stderr, "give up: %s\n", log_last_err());
	ck_assert_ptr_nonnull(strstr(log_last_err(), "Assertion Failed"));
	X509_free(carol);
	sk_X509_free(ours);
	dir_free(d);
}
END_TEST

/* A stale entryCSN makes the modify fail as a whole with assertionFailed;
 * without the guard OpenLDAP refuses a value delete of userSMIMECertificate. */
START_TEST(t_stale_guard)
{
	const char *dn = person_dn("alice");
	struct dir *d = svc_dir();
	struct dir_person *p = NULL;
	struct dir_val junk = { (unsigned char *)"x", 1 };
	char *guard = NULL, *csn;
	int rc;

	ck_assert_int_eq(dir_find_guarded(d, "alice@example.com", &p, &guard),
	    0);
	ck_assert_ptr_nonnull(guard);
	csn = root_csn(dn);
	ck_assert_str_eq(guard, csn);
	free(csn);
	ck_assert_uint_ge(p->n_smime, 1);
	rc = dir_modify_certs(d, p->dn, "20000101000000.000000Z#000000#000#000000",
	    p->usercert, p->n_usercert, p->usercert, p->n_usercert,
	    p->smime, p->n_smime, &junk, 1);
	ck_assert_int_eq(rc, LDAP_ASSERTION_FAILED);
	rc = dir_modify_certs(d, p->dn, NULL, p->usercert, p->n_usercert,
	    p->usercert, p->n_usercert, p->smime, p->n_smime, &junk, 1);
	ck_assert_int_eq(rc, LDAP_INAPPROPRIATE_MATCHING);
	/* A userCertificate;binary value that is gone: noSuchAttribute. */
	rc = dir_modify_certs(d, p->dn, NULL, &junk, 1, p->usercert,
	    p->n_usercert, NULL, 0, NULL, 0);
	ck_assert_msg(rc == LDAP_NO_SUCH_ATTRIBUTE ||
	    rc == LDAP_INVALID_SYNTAX, "got %s", ldap_err2string(rc));
	/* Even the rootdn cannot add a value to an existing
	 * userSMIMECertificate: adding needs the equality rule it lacks. */
	ck_assert_int_eq(root_add(dn, "userSMIMECertificate", &junk),
	    LDAP_INAPPROPRIATE_MATCHING);
	/* Nothing changed on the entry. */
	csn = root_csn(dn);
	ck_assert_str_eq(guard, csn);
	free(csn);
	free(guard);
	dir_person_free(p);
	dir_free(d);
}
END_TEST

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "dir_itest: %s is not set (run "
		    "tests/integration/20_dir.sh)\n", name);
		exit(2);
	}
	return v;
}

int
main(void)
{
	Suite *s = suite_create("dir");
	TCase *tc = tcase_create("slapd");
	SRunner *sr;
	int nf;

	E_URI = env("SLAPD_URI");
	E_LDAPS = env("SLAPD_LDAPS_URI");
	E_LDAPI = env("SLAPD_LDAPI_URI");
	E_PEOPLE = env("SLAPD_PEOPLE");
	E_ROOT_DN = env("SLAPD_ROOT_DN");
	E_ROOT_PW = env("SLAPD_ROOT_PW");
	E_SVC_DN = env("SLAPD_SVC_DN");
	E_SVC_PW = env("SLAPD_SVC_PW_FILE");
	E_CA = env("SLAPD_TLS_CA");
	E_BAD_CA = env("SLAPD_BAD_CA");
	E_TMP = env("DIR_ITEST_TMP");
	log_init("dir_itest", 0, getenv("DIR_ITEST_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_ERR);
	make_certs();
	/* t_reconnect cuts the socket; a write to it must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_ldap);
	tcase_add_test(tc, t_ldaps_good_ca);
	tcase_add_test(tc, t_starttls_good_ca);
	tcase_add_test(tc, t_ldaps_bad_ca);
	tcase_add_test(tc, t_starttls_bad_ca);
	tcase_add_test(tc, t_wrong_password);
	tcase_add_test(tc, t_password_file_0644);
	tcase_add_test(tc, t_ldapi_external);
	tcase_add_test(tc, t_anonymous);
	tcase_add_test(tc, t_reconnect);
	tcase_add_test(tc, t_find_alice);
	tcase_add_test(tc, t_find_unknown);
	tcase_add_test(tc, t_find_dup);
	tcase_add_test(tc, t_injection);
	tcase_add_test(tc, t_paged);
	tcase_add_test(tc, t_few);
	tcase_add_test(tc, t_publish_alice);
	tcase_add_test(tc, t_publish_foreign);
	tcase_add_test(tc, t_concurrent_retry);
	tcase_add_test(tc, t_concurrent_give_up);
	tcase_add_test(tc, t_stale_guard);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	X509_free(ca);
	X509_free(fca);
	X509_free(leaf1);
	X509_free(leaf2);
	X509_free(leaf3);
	X509_free(foreign);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(fcakey);
	return nf == 0 ? 0 : 1;
}
