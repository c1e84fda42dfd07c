/*
 * test_ca_exec.c — the exec driver against helper scripts the test writes
 * into a temporary directory: one that really signs the CSR with a test CA
 * (openssl x509 -req), one that rejects, one that leaves the request
 * pending, ones that print garbage, hang, chatter on stderr or flood
 * stdout, and one that returns a certificate for another key, which the
 * answer check of ca_enrol() must refuse.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/keys.h"
#include "common/log.h"

#define MAIL	"alice@example.com"
#define NAME	"Alice Example"

static char dir[] = "/tmp/test_ca_exec.XXXXXX";
static char cacert[600];
static struct cfg cfg;

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "setup failed: %s\n", cmd);
		exit(2);
	}
}

/* Write DIR/name, mode 0755, with body after a #!/bin/sh line. */
static void
script(const char *name, const char *body)
{
	char path[700];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL ||
	    fprintf(fp, "#!/bin/sh\nD=%s\n%s", dir, body) < 0 ||
	    fclose(fp) != 0 || chmod(path, 0755) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

static char *
slurp(const char *name)
{
	static char buf[65536];
	char path[700];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The issuing helper: signs with the test CA, S/MIME extensions. */
static const char issue_sh[] =
    "env | grep '^SMIMEPUB_' >\"$D/env.$SMIMEPUB_OPERATION\"\n"
    "if [ \"$SMIMEPUB_OPERATION\" = revoke ]; then\n"
    "	cat >\"$D/revoked.pem\"; exit 0\n"
    "fi\n"
    "[ \"$SMIMEPUB_OPERATION\" = enrol ] || exit 3\n"
    "t=$(mktemp -d)\n"
    "trap 'rm -rf \"$t\"' EXIT\n"
    "if [ -n \"${OTHER:-}\" ]; then cat >/dev/null; cp \"$D/other.csr\" \"$t/req.pem\";\n"
    "else cat >\"$t/req.pem\"; fi\n"
    "printf 'subjectAltName=email:%s\\nextendedKeyUsage=emailProtection\\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\\n"
    "basicConstraints=critical,CA:FALSE\\nsubjectKeyIdentifier=hash\\n"
    "authorityKeyIdentifier=keyid\\n' \"$SMIMEPUB_MAIL\" >\"$t/ext\"\n"
    "openssl x509 -req -in \"$t/req.pem\" -CA \"$D/ca.pem\" -CAkey \"$D/ca.key\" "
    "-set_serial 0x$(openssl rand -hex 16) -days 365 -extfile \"$t/ext\" "
    "-out \"$t/c.pem\" 2>\"$t/err\" || { cat \"$t/err\" >&2; exit 3; }\n"
    "cat \"$t/c.pem\" \"$D/ca.pem\"\n";

static void
setup_once(void)
{
	EVP_PKEY *k;
	X509_REQ *r;
	FILE *fp;
	char path[700];

	if (mkdtemp(dir) == NULL)
		exit(2);
	snprintf(cacert, sizeof(cacert), "%s/ca.pem", dir);
	sh("cd %s && openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
	    "-subj '/CN=exec test CA' -days 30 "
	    "-addext basicConstraints=critical,CA:TRUE "
	    "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null", dir);
	/* a CSR for someone else's key, for the helper that swaps it */
	k = keys_generate("rsa:2048");
	r = keys_csr_new(k, MAIL, NAME);
	snprintf(path, sizeof(path), "%s/other.csr", dir);
	if (k == NULL || r == NULL || (fp = fopen(path, "w")) == NULL ||
	    !PEM_write_X509_REQ(fp, r) || fclose(fp) != 0)
		exit(2);
	X509_REQ_free(r);
	EVP_PKEY_free(k);

	script("issue", issue_sh);
	script("other", "OTHER=1\nexport OTHER\nexec \"$D/issue\"\n");
	script("reject", "cat >/dev/null\n"
	    "echo 'no such person in HR' >&2\necho 'more detail' >&2\n"
	    "exit 1\n");
	script("reject-silent", "cat >/dev/null\nexit 1\n");
	script("pending", "if [ \"$SMIMEPUB_OPERATION\" = poll ]; then\n"
	    "	env | grep '^SMIMEPUB_' >\"$D/env.poll\"\n"
	    "	echo \"still waiting for $SMIMEPUB_POLL_ID\" >&2; exit 1\n"
	    "fi\n"
	    "cat >/dev/null\necho TX-42\necho 120\nexit 2\n");
	script("pending-noid", "cat >/dev/null\nexit 2\n");
	script("pending-default", "cat >/dev/null\necho TX-7\nexit 2\n");
	script("garbage", "cat >/dev/null\necho 'hello, world'\nexit 0\n");
	script("badpem", "cat >/dev/null\n"
	    "printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n"
	    "-----END CERTIFICATE-----\\n'\nexit 0\n");
	script("exit7", "cat >/dev/null\necho 'disk full' >&2\nexit 7\n");
	script("hang", "sleep 30 &\nsleep 30\n");
	/* 300 KiB on stderr before reading stdin: no deadlock */
	script("chatty", "head -c 307200 /dev/zero | tr '\\0' x >&2\n"
	    "cat >/dev/null\necho 'chatty refusal' >&2\nexit 1\n");
	script("flood", "cat >/dev/null\n"
	    "head -c 2000000 /dev/zero | tr '\\0' A\nexit 0\n");
}

static void
teardown_once(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static struct ca *
drv(const char *helper, int timeout)
{
	static char cmd[700];
	struct ca *ca;

	snprintf(cmd, sizeof(cmd), "%s/%s", dir, helper);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)"test.conf";
	cfg.ca.driver = (char *)"exec";
	cfg.ca.exec.command = cmd;
	cfg.ca.exec.timeout = timeout;
	cfg.ca.exec.ca_cert = cacert;
	ck_assert_ptr_nonnull(ca = ca_new(&cfg));
	ck_assert_str_eq(ca_name(ca), "exec");
	return ca;
}

static EVP_PKEY *key;
static X509_REQ *csr;

static void
setup(void)
{
	ck_assert_ptr_nonnull(key = keys_generate("rsa:2048"));
	ck_assert_ptr_nonnull(csr = keys_csr_new(key, MAIL, NAME));
	log_clear_err();
}

static void
teardown(void)
{
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
}

START_TEST(issued)
{
	struct ca *ca = drv("issue", 10);
	struct ca_result res;
	EVP_PKEY *pub;
	char *env;

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_ISSUED);
	ck_assert_ptr_nonnull(res.cert);
	ck_assert_ptr_nonnull(pub = X509_get0_pubkey(res.cert));
	ck_assert_int_eq(EVP_PKEY_eq(pub, key), 1);
	ck_assert_int_eq(sk_X509_num(res.chain), 1);
	ck_assert_ptr_nonnull(env = slurp("env.enrol"));
	ck_assert_ptr_nonnull(strstr(env, "SMIMEPUB_OPERATION=enrol\n"));
	ck_assert_ptr_nonnull(strstr(env, "SMIMEPUB_MAIL=" MAIL "\n"));
	ck_assert_ptr_nonnull(strstr(env, "SMIMEPUB_DISPLAY_NAME=" NAME "\n"));
	ck_assert_ptr_nonnull(strstr(env, "SMIMEPUB_REQUEST_ID="));
	ck_assert_int_eq((int)strcspn(strstr(env, "SMIMEPUB_REQUEST_ID=") +
	    20, "\n"), 32);

	ck_assert_int_eq(ca_revoke(ca, res.cert, CA_REASON_KEY_COMPROMISE), 0);
	ck_assert_ptr_nonnull(env = slurp("env.revoke"));
	ck_assert_ptr_nonnull(strstr(env, "SMIMEPUB_OPERATION=revoke\n"));
	ck_assert_ptr_nonnull(strstr(env,
	    "SMIMEPUB_REVOKE_REASON=keyCompromise\n"));
	ck_assert_ptr_nonnull(strstr(slurp("revoked.pem"),
	    "-----BEGIN CERTIFICATE-----"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(rejected)
{
	struct ca *ca = drv("reject", 10);
	struct ca_result res;

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ck_assert_str_eq(res.reason, "no such person in HR");
	ca_result_clear(&res);
	ca_free(ca);

	ca = drv("reject-silent", 10);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ck_assert_ptr_nonnull(strstr(res.reason, "no reason"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(pending)
{
	struct ca *ca = drv("pending", 10);
	struct ca_result res;
	time_t now = time(NULL);

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_PENDING);
	ck_assert_str_eq(res.txid, "TX-42");
	ck_assert(res.retry_after >= now + 119 && res.retry_after <= now + 125);
	ca_result_clear(&res);

	ck_assert_int_eq(ca_poll(ca, "TX-42", csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ck_assert_str_eq(res.reason, "still waiting for TX-42");
	ck_assert_ptr_nonnull(strstr(slurp("env.poll"),
	    "SMIMEPUB_OPERATION=poll\n"));
	ck_assert_ptr_nonnull(strstr(slurp("env.poll"),
	    "SMIMEPUB_POLL_ID=TX-42\n"));
	ca_result_clear(&res);
	ca_free(ca);

	ca = drv("pending-default", 10);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_PENDING);
	ck_assert_str_eq(res.txid, "TX-7");
	ck_assert(res.retry_after >= now + 59 && res.retry_after <= now + 65);
	ca_result_clear(&res);
	ca_free(ca);

	ca = drv("pending-noid", 10);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "poll id"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(garbage)
{
	const char *names[] = { "garbage", "badpem" };
	struct ca_result res;
	struct ca *ca;
	size_t i;

	for (i = 0; i < 2; i++) {
		ca = drv(names[i], 10);
		log_clear_err();
		ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
		ck_assert_ptr_null(res.cert);
		ck_assert_ptr_nonnull(strstr(log_last_err(),
		    "not a PEM certificate chain"));
		ck_assert_ptr_nonnull(strstr(log_last_err(), names[i]));
		ca_result_clear(&res);
		ca_free(ca);
	}
	ca = drv("exit7", 10);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "exit status 7"));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "disk full"));
	ca_result_clear(&res);
	ca_free(ca);

	ca = drv("flood", 10);
	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "bytes on stdout"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(hangs)
{
	struct ca *ca = drv("hang", 1);
	struct ca_result res;
	time_t t0 = time(NULL);

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
	ck_assert(time(NULL) - t0 <= 4);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "ca.exec.timeout"));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "killed"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(chatty)
{
	struct ca *ca = drv("chatty", 5);
	struct ca_result res;

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), 0);
	ck_assert_int_eq(res.status, CA_REJECTED);
	/* the reason is the first line, bounded */
	ck_assert_int_le(strlen(res.reason), 512);
	ck_assert_int_eq(res.reason[0], 'x');
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(other_key)
{
	struct ca *ca = drv("other", 10);
	struct ca_result res;

	ck_assert_int_eq(ca_enrol(ca, csr, MAIL, &res), -1);
	ck_assert_int_eq(res.status, CA_REJECTED);
	ck_assert_ptr_nonnull(res.cert);	/* kept for revocation */
	ck_assert_ptr_nonnull(strstr(res.reason, "fails the check"));
	ck_assert_ptr_nonnull(strstr(res.reason, "key"));
	ca_result_clear(&res);
	ca_free(ca);
}
END_TEST

START_TEST(config)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "%s/issue", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca.driver = (char *)"exec";
	cfg.ca.exec.command = cmd;
	cfg.ca.exec.timeout = 5;
	log_clear_err();
	ck_assert_ptr_null(ca_new(&cfg));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "ca.exec.ca_cert"));

	cfg.ca.exec.ca_cert = cacert;
	snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);	/* not executable */
	ck_assert_ptr_null(ca_new(&cfg));
	ck_assert_ptr_nonnull(strstr(log_last_err(), cmd));

	cfg.ca.exec.command = (char *)"issue";
	ck_assert_ptr_null(ca_new(&cfg));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "absolute"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ca_exec");
	TCase *tc = tcase_create("exec");
	SRunner *sr;
	int failed;

	log_init("test_ca_exec", 0, LOG_LVL_ERR);
	setup_once();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, issued);
	tcase_add_test(tc, rejected);
	tcase_add_test(tc, pending);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, hangs);
	tcase_add_test(tc, chatty);
	tcase_add_test(tc, other_key);
	tcase_add_test(tc, config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	teardown_once();
	return failed == 0 ? 0 : 1;
}
