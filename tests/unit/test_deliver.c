/*
 * test_deliver.c — key delivery and escrow: the PKCS#12 opens with the
 * passphrase the delivery command received and holds the same key, with
 * AES-256/PBKDF2 and a SHA-256 MAC, mode 0600; a failing command is an
 * error; escrow round-trips with the key-recovery key and only with it.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cfg.h"
#include "common/log.h"
#include "enrol/enrol.h"

static char tmpdir[] = "/tmp/test_deliver.XXXXXX";

static X509 *
selfsigned(EVP_PKEY *k, const char *cn, long serial)
{
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	return x;
}

static void
write_pem(const char *path, EVP_PKEY *k, X509 *x)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	if (k != NULL)
		ck_assert_int_eq(PEM_write_PrivateKey(fp, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	if (x != NULL)
		ck_assert_int_eq(PEM_write_X509(fp, x), 1);
	fclose(fp);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_deliver.XXXXXX");
}

/*
 * The key is a shrouded key bag under PBES2 with AES-256-CBC (RFC 8018
 * §6.2); the certificate is in plain data (public: not worth a second
 * PBKDF2); nothing else is encrypted as a whole.
 */
static void
p12_check_bags(PKCS12 *p12)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	STACK_OF(PKCS12_SAFEBAG) *bags;
	const PKCS12_SAFEBAG *bag;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *param;
	PBE2PARAM *pbe2;
	int i, k, ptype, keys = 0, certs = 0;

	ck_assert_ptr_nonnull(safes);
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		ck_assert_int_eq(OBJ_obj2nid(p7->type), NID_pkcs7_data);
		ck_assert_ptr_nonnull(bags = PKCS12_unpack_p7data(p7));
		for (k = 0; k < sk_PKCS12_SAFEBAG_num(bags); k++) {
			bag = sk_PKCS12_SAFEBAG_value(bags, k);
			if (PKCS12_SAFEBAG_get_nid(bag) == NID_certBag) {
				certs++;
				continue;
			}
			ck_assert_int_eq(PKCS12_SAFEBAG_get_nid(bag),
			    NID_pkcs8ShroudedKeyBag);
			keys++;
			X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg,
			    NULL);
			X509_ALGOR_get0(&obj, &ptype, &param, alg);
			ck_assert_int_eq(OBJ_obj2nid(obj), NID_pbes2);
			pbe2 = ASN1_TYPE_unpack_sequence(
			    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
			ck_assert_ptr_nonnull(pbe2);
			ck_assert_int_eq(OBJ_obj2nid(pbe2->encryption->algorithm),
			    NID_aes_256_cbc);
			ck_assert_int_eq(OBJ_obj2nid(pbe2->keyfunc->algorithm),
			    NID_id_pbkdf2);
			PBE2PARAM_free(pbe2);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	ck_assert_int_eq(keys, 1);
	ck_assert_int_eq(certs, 1);
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

START_TEST(test_deliver_p12)
{
	char script[512], dir[512], cmd[512], got[256], envf[512];
	struct cfg_keys k;
	EVP_PKEY *key = EVP_EC_gen("P-256"), *pk = NULL;
	X509 *cert = selfsigned(key, "alice", 0x1234), *pc = NULL;
	STACK_OF(X509) *ca = NULL;
	char *path = NULL;
	const X509_ALGOR *macalg = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj = NULL;
	struct stat st;
	PKCS12 *p12;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/delivery", tmpdir);
	snprintf(script, sizeof(script), "%s/hand-over", tmpdir);
	snprintf(envf, sizeof(envf), "%s/env", tmpdir);
	fp = fopen(script, "w");
	fprintf(fp, "#!/bin/sh\ncat > %s/pass\n"
	    "echo \"$SMIMEPUB_MAIL $SMIMEPUB_P12\" > %s\n", tmpdir, envf);
	fclose(fp);
	chmod(script, 0700);

	memset(&k, 0, sizeof(k));
	k.delivery_dir = dir;
	k.delivery_command = script;
	k.pkcs12_iterations = 10000;
	ck_assert_int_eq(enr_deliver(&k, "alice/x@example.com", key, cert,
	    NULL, &path), 0);
	ck_assert_ptr_nonnull(path);
	/* the slash of the (valid) local part never reaches the path */
	ck_assert_ptr_nonnull(strstr(path, "/alice_x@example.com.1234.p12"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	snprintf(cmd, sizeof(cmd), "%s/pass", tmpdir);
	fp = fopen(cmd, "r");
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), fp));
	fclose(fp);
	got[strcspn(got, "\n")] = '\0';
	ck_assert_uint_eq(strlen(got), ENR_PASS_LEN);
	fp = fopen(envf, "r");
	ck_assert_ptr_nonnull(fgets(cmd, sizeof(cmd), fp));
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(cmd, "alice/x@example.com "));
	ck_assert_ptr_nonnull(strstr(cmd, path));

	fp = fopen(path, "rb");
	p12 = d2i_PKCS12_fp(fp, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(p12);
	ck_assert_int_eq(PKCS12_verify_mac(p12, "wrong", -1), 0);
	ck_assert_int_eq(PKCS12_verify_mac(p12, got, -1), 1);
	PKCS12_get0_mac(NULL, &macalg, NULL, &iter, p12);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	ck_assert_int_eq(OBJ_obj2nid(obj), NID_sha256);
	ck_assert_int_eq(ASN1_INTEGER_get(iter), 10000);
	p12_check_bags(p12);
	ck_assert_int_eq(PKCS12_parse(p12, got, &pk, &pc, &ca), 1);
	ck_assert_int_eq(EVP_PKEY_eq(pk, key), 1);
	ck_assert_int_eq(X509_cmp(pc, cert), 0);

	/* a failing delivery command is a failure */
	fp = fopen(script, "w");
	fprintf(fp, "#!/bin/sh\ncat >/dev/null\nexit 3\n");
	fclose(fp);
	ck_assert_int_eq(enr_deliver(&k, "alice@example.com", key, cert, NULL,
	    NULL), -1);
	k.delivery_command = "/nonexistent/hand-over";
	ck_assert_int_eq(enr_deliver(&k, "alice@example.com", key, cert, NULL,
	    NULL), -1);

	free(path);
	PKCS12_free(p12);
	EVP_PKEY_free(pk);
	X509_free(pc);
	sk_X509_pop_free(ca, X509_free);
	EVP_PKEY_free(key);
	X509_free(cert);
}
END_TEST

/* Running, not gone nor a zombie waiting for a reaper. */
static int
alive(pid_t pid)
{
	char path[64], line[256], *p;
	FILE *fp;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    (p = strrchr(line, ')')) != NULL)
		ok = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	fclose(fp);
	return ok;
}

/*
 * The delivery command runs apart (issue 15 item 7): a minimal
 * environment, none of our descriptors, its own process group, and a
 * command that outlives keys.delivery_timeout is killed with its group.
 */
START_TEST(test_deliver_apart)
{
	char script[512], dir[512], envf[512], fdf[512], pidf[512], buf[4096];
	struct cfg_keys k;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = selfsigned(key, "bob", 0x77);
	int keep, n;
	long pid;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/delivery", tmpdir);
	snprintf(script, sizeof(script), "%s/hand-over2", tmpdir);
	snprintf(envf, sizeof(envf), "%s/env2", tmpdir);
	snprintf(fdf, sizeof(fdf), "%s/fds", tmpdir);
	snprintf(pidf, sizeof(pidf), "%s/pid", tmpdir);
	fp = fopen(script, "w");
	fprintf(fp, "#!/bin/sh\ncat >/dev/null\nenv > %s\n"
	    "ls /proc/$$/fd > %s\n"
	    "echo \"$$ $(ps -o pgid= -p $$)\" >> %s\n", envf, fdf, envf);
	fclose(fp);
	chmod(script, 0700);
	/* a secret of ours in the environment and an open descriptor */
	setenv("SMIMEPUB_TEST_SECRET", "s3cret", 1);
	setenv("TEST_DAEMON_SECRET", "s3cret", 1);
	keep = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC */
	ck_assert_int_ge(keep, 3);

	memset(&k, 0, sizeof(k));
	k.delivery_dir = dir;
	k.delivery_command = script;
	k.pkcs12_iterations = 10000;
	k.delivery_timeout = 30;
	ck_assert_int_eq(enr_deliver(&k, "bob@example.com", key, cert, NULL,
	    NULL), 0);
	fp = fopen(envf, "r");
	n = (int)fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_msg(strstr(buf, "s3cret") == NULL, "env leaked: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "PATH="));
	ck_assert_ptr_nonnull(strstr(buf, "SMIMEPUB_MAIL=bob@example.com"));
	{
		/* its own process group: pgid == its pid */
		char *last = strrchr(buf, '\n'), *l;
		long a = 0, b = 0;

		*last = '\0';
		l = strrchr(buf, '\n');
		ck_assert_int_eq(sscanf(l ? l + 1 : buf, "%ld %ld", &a, &b), 2);
		ck_assert_int_eq(a, b);
	}
	fp = fopen(fdf, "r");
	n = (int)fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n > 0 ? n : 0] = '\0';
	/* the shell's 0 1 2 (and its script), never our descriptor */
	snprintf(envf, sizeof(envf), "\n%d\n", keep);
	ck_assert_msg(strstr(buf, envf) == NULL, "fds leaked: %s", buf);
	close(keep);
	unsetenv("SMIMEPUB_TEST_SECRET");
	unsetenv("TEST_DAEMON_SECRET");

	/* a command that hangs, with a child of its own, is killed */
	fp = fopen(script, "w");
	fprintf(fp, "#!/bin/sh\nsleep 300 &\necho $! > %s\nsleep 300\n",
	    pidf);
	fclose(fp);
	k.delivery_timeout = 1;
	ck_assert_int_eq(enr_deliver(&k, "bob@example.com", key, cert, NULL,
	    NULL), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "keys.delivery_timeout"));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "killed"));
	fp = fopen(pidf, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	/* its background child went with its group (give the kernel a
	 * moment to deliver SIGKILL; reaped by init) */
	for (n = 0; n < 100 && alive((pid_t)pid); n++)
		usleep(50000);
	ck_assert_msg(!alive((pid_t)pid), "pid %ld survived", pid);

	EVP_PKEY_free(key);
	X509_free(cert);
}
END_TEST

START_TEST(test_escrow)
{
	char krakey[512], kracert[512], otherkey[512], state[512];
	char *escrow[2] = { kracert, NULL };
	struct cfg cfg;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	EVP_PKEY *kra = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048), *back;
	X509 *cert = selfsigned(key, "alice", 77);
	X509 *kc = selfsigned(kra, "KRA", 1);

	snprintf(krakey, sizeof(krakey), "%s/kra.key", tmpdir);
	snprintf(kracert, sizeof(kracert), "%s/kra.pem", tmpdir);
	snprintf(otherkey, sizeof(otherkey), "%s/other.key", tmpdir);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	write_pem(krakey, kra, NULL);
	write_pem(kracert, NULL, kc);
	write_pem(otherkey, other, NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.sync.state_dir = state;
	/* nothing configured: nothing written, no error */
	ck_assert_int_eq(enr_escrow(&cfg, key, cert), 0);
	cfg.keys.escrow_certs = escrow;
	cfg.keys.n_escrow_certs = 1;
	ck_assert_int_eq(enr_escrow(&cfg, key, cert), 0);
	back = enr_escrow_open(&cfg, cert, krakey, kracert);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(EVP_PKEY_eq(back, key), 1);
	EVP_PKEY_free(back);
	back = enr_escrow_open(&cfg, cert, krakey, NULL);
	ck_assert_ptr_nonnull(back);
	EVP_PKEY_free(back);
	ck_assert_ptr_null(enr_escrow_open(&cfg, cert, otherkey, NULL));

	EVP_PKEY_free(key);
	EVP_PKEY_free(kra);
	EVP_PKEY_free(other);
	X509_free(cert);
	X509_free(kc);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc = tcase_create("deliver");
	SRunner *sr;
	int nf;

	log_init("test_deliver", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deliver_p12);
	tcase_add_test(tc, test_deliver_apart);
	tcase_add_test(tc, test_escrow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
