/*
 * test_kproc.c — a real key process (common/kproc.h) with a small test
 * server: it answers, it refuses with its reason, its sandbox makes open()
 * and socket() fail, it holds two descriptors, a request over the limit is
 * refused, and once it is killed every call fails with a reason naming the
 * process and its end, without a hang or a crash.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kproc.h"
#include "common/log.h"

enum { OP_ECHO = 1, OP_OPEN, OP_SOCKET, OP_REFUSE };

static int
t_init(void *arg, char *err, size_t sz)
{
	if (arg != NULL) {
		snprintf(err, sz, "%s", (const char *)arg);
		return -1;
	}
	return 0;
}

static int
t_hello(void *arg, struct kproc_buf *ans)
{
	(void)arg;
	return kproc_append(ans, "hi", 2);
}

/* errno of a call as text: "0" when it succeeded */
static int
t_errno(int ok, struct kproc_buf *ans)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", ok ? 0 : errno);
	return kproc_append(ans, s, strlen(s));
}

static int
t_serve(void *arg, uint8_t op, const unsigned char *req, size_t len,
    struct kproc_buf *ans, char *err, size_t sz)
{
	int fd;

	(void)arg;
	switch (op) {
	case OP_ECHO:
		return kproc_append(ans, req, len);
	case OP_OPEN:
		fd = open("/etc/hostname", O_RDONLY);
		return t_errno(fd != -1, ans);
	case OP_SOCKET:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		return t_errno(fd != -1, ans);
	default:
		snprintf(err, sz, "no, because %.*s", (int)len,
		    (const char *)req);
		return -1;
	}
}

static struct kproc *
start(const char *fail)
{
	struct kproc_server srv = { "test", "smimepub-test", t_init, t_serve,
	    t_hello, (void *)(uintptr_t)fail };

	return kproc_start(&srv);
}

static int
seccomp_on(pid_t pid)
{
	char path[64], line[128];
	FILE *fp;
	int on = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strcmp(line, "Seccomp:\t2\n") == 0)
			on = 1;
	fclose(fp);
	return on;
}

START_TEST(test_answers)
{
	struct kproc *kp;
	struct kproc_buf ans;
	const unsigned char *h;
	unsigned char *big;
	size_t hl;

	ck_assert_ptr_nonnull(kp = start(NULL));
	h = kproc_hello(kp, &hl);
	ck_assert_uint_eq(hl, 2);
	ck_assert_int_eq(memcmp(h, "hi", 2), 0);
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, "abc", 3, &ans), 0);
	ck_assert_uint_eq(ans.len, 3);
	ck_assert_int_eq(memcmp(ans.data, "abc", 3), 0);
	kproc_buf_free(&ans);
	/* an empty request, and one of exactly the limit */
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, NULL, 0, &ans), 0);
	ck_assert_uint_eq(ans.len, 0);
	kproc_buf_free(&ans);
	ck_assert_ptr_nonnull(big = calloc(1, KPROC_MAX + 1));
	big[KPROC_MAX - 1] = 7;
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, big, KPROC_MAX, &ans), 0);
	ck_assert_uint_eq(ans.len, KPROC_MAX);
	ck_assert_int_eq(ans.data[KPROC_MAX - 1], 7);
	kproc_buf_free(&ans);
	/* one byte over: refused here, and the process still answers */
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, big, KPROC_MAX + 1, &ans),
	    -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), "over"));
	free(big);
	/* a refusal carries its reason; the process goes on */
	ck_assert_int_eq(kproc_call(kp, OP_REFUSE, "x\ny", 3, &ans), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(),
	    "test key process: no, because x?y"));
	ck_assert_ptr_null(ans.data);
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, "z", 1, &ans), 0);
	kproc_buf_free(&ans);
	kproc_stop(kp);
}
END_TEST

START_TEST(test_sandbox)
{
	char path[64];
	struct kproc *kp;
	struct kproc_buf ans;
	struct dirent *de;
	DIR *d;
	int n = 0;

	ck_assert_ptr_nonnull(kp = start(NULL));
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)kproc_pid(kp));
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	ck_assert_int_eq(n, 2);		/* stderr and its socket */
	if (!seccomp_on(kproc_pid(kp))) {
		fprintf(stderr, "test_kproc: no seccomp on this kernel: open "
		    "and socket not checked\n");
		kproc_stop(kp);
		return;
	}
	ck_assert_int_eq(kproc_call(kp, OP_OPEN, NULL, 0, &ans), 0);
	ck_assert_uint_eq(ans.len, 2);
	ck_assert_int_eq(memcmp(ans.data, "13", 2), 0);	/* EACCES */
	kproc_buf_free(&ans);
	ck_assert_int_eq(kproc_call(kp, OP_SOCKET, NULL, 0, &ans), 0);
	ck_assert_int_eq(memcmp(ans.data, "13", 2), 0);
	kproc_buf_free(&ans);
	kproc_stop(kp);
}
END_TEST

START_TEST(test_killed)
{
	char want[64];
	struct kproc *kp;
	struct kproc_buf ans;
	pid_t pid;

	ck_assert_ptr_nonnull(kp = start(NULL));
	pid = kproc_pid(kp);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, "a", 1, &ans), -1);
	snprintf(want, sizeof(want), "test key process (pid %ld) is gone",
	    (long)pid);
	ck_assert_ptr_nonnull(strstr(log_last_err(), want));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "killed by signal 9"));
	/* and so every later call, at once */
	log_clear_err();
	ck_assert_int_eq(kproc_call(kp, OP_ECHO, "a", 1, &ans), -1);
	ck_assert_ptr_nonnull(strstr(log_last_err(), want));
	ck_assert_ptr_nonnull(strstr(log_last_err(), "killed by signal 9"));
	kproc_stop(kp);
}
END_TEST

START_TEST(test_init_fails)
{
	ck_assert_ptr_null(start("/x/ca.key: No such file"));
	ck_assert_ptr_nonnull(strstr(log_last_err(),
	    "test key process: /x/ca.key: No such file"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("kproc");
	TCase *tc = tcase_create("kproc");
	SRunner *sr;
	int nf;

	log_init("test_kproc", 0, LOG_LVL_ERR);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_answers);
	tcase_add_test(tc, test_sandbox);
	tcase_add_test(tc, test_killed);
	tcase_add_test(tc, test_init_fails);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
