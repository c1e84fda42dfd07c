/*
 * kproc_child.c — the key process itself (kproc.h): right after the fork it
 * closes every descriptor but its socket and stderr, makes itself
 * undumpable (no ptrace by its own uid, no core file with the key), opens
 * its secret (the server's init), installs a seccomp filter, says hello and
 * answers requests until its parent closes the socket. It never logs: a
 * reason goes back to the parent in the answer.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif

#include <openssl/crypto.h>

#include "common/kproc.h"
#include "common/kproc_priv.h"

#if defined(__linux__) && defined(__x86_64__)
#define KPROC_ARCH	AUDIT_ARCH_X86_64
#elif defined(__linux__) && defined(__aarch64__)
#define KPROC_ARCH	AUDIT_ARCH_AARCH64
#endif

#ifdef KPROC_ARCH
/*
 * What a key process may do once its secret is open (as OpenBSD's
 * pledge("stdio")): its socket and stderr, memory, random bytes, the clock,
 * leaving. Anything else (open, socket, connect, exec, fork, ptrace, ...)
 * fails with EACCES: an error the code reports, never a crash.
 */
static const int kproc_allowed[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_recvfrom, SYS_sendto,
	SYS_recvmsg, SYS_sendmsg, SYS_close, SYS_lseek, SYS_fstat,
#ifdef SYS_newfstatat
	SYS_newfstatat,
#endif
	SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise,
	SYS_futex, SYS_getrandom, SYS_clock_gettime, SYS_gettimeofday,
#ifdef SYS_time
	SYS_time,
#endif
#ifdef SYS_poll
	SYS_poll,
#endif
	SYS_ppoll, SYS_getpid, SYS_gettid, SYS_tgkill, SYS_rt_sigreturn,
	SYS_rt_sigprocmask, SYS_sigaltstack, SYS_sched_yield,
	SYS_restart_syscall, SYS_exit, SYS_exit_group,
};
#define KPROC_NALLOWED	(sizeof(kproc_allowed) / sizeof(kproc_allowed[0]))

/* 1 if the filter is in place, 0 if the kernel refused it. */
static int
kproc_seccomp(void)
{
	struct sock_filter f[KPROC_NALLOWED + 8];
	struct sock_fprog prog;
	size_t i, n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	/* another ABI's numbers mean other calls: refuse them all */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    KPROC_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 calls: __X32_SYSCALL_BIT (0x40000000) and above */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
	    0x40000000, (unsigned char)KPROC_NALLOWED, 0);
#endif
	for (i = 0; i < KPROC_NALLOWED; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (unsigned)kproc_allowed[i],
		    (unsigned char)(KPROC_NALLOWED - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1)
		return 0;
	return 1;
}
#else
static int
kproc_seccomp(void)
{
	return 0;
}
#endif

/* Keep stderr (fd 2) and the socket; close the rest. The socket's number
 * is returned (it may move). */
static int
kproc_close_fds(int fd)
{
	long max = sysconf(_SC_OPEN_MAX), i;

	if (fd < 3) {
		int nfd = fcntl(fd, F_DUPFD, 3);

		if (nfd == -1)
			_exit(3);
		fd = nfd;
	}
	if (max < 0 || max > 65536)
		max = 65536;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, (unsigned)fd - 1, 0U) == 0 &&
	    syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U) == 0)
		max = 0;
#endif
	for (i = 3; i < max; i++)
		if (i != fd)
			(void)close((int)i);
	(void)close(STDIN_FILENO);
	(void)close(STDOUT_FILENO);
	return fd;
}

_Noreturn void
kproc_child(const struct kproc_server *srv, int fd)
{
	char err[KPROC_ERR_MAX];
	struct kproc_buf req = { NULL, 0 }, ans = { NULL, 0 };
	struct rlimit rl = { 0, 0 };
	unsigned char filtered;
	uint8_t op;

	fd = kproc_close_fds(fd);
	(void)prctl(PR_SET_NAME, srv->comm, 0, 0, 0);
	/* no core file holding the key, no ptrace by the parent's uid */
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	err[0] = '\0';
	if (srv->init(srv->arg, err, sizeof(err)) == -1) {
		(void)kproc_send(fd, KPROC_FAIL, err, strlen(err));
		_exit(1);
	}
	filtered = (unsigned char)kproc_seccomp();
	if (kproc_append(&ans, &filtered, 1) == -1 ||
	    (srv->hello != NULL && srv->hello(srv->arg, &ans) == -1) ||
	    kproc_send(fd, KPROC_OK, ans.data, ans.len) == -1)
		_exit(1);
	kproc_buf_free(&ans);
	for (;;) {
		if (kproc_recv(fd, &op, &req, NULL) == -1)
			_exit(errno == EPIPE ? 0 : 2);	/* EOF: parent done */
		err[0] = '\0';
		if (srv->serve(srv->arg, op, req.data, req.len, &ans, err,
		    sizeof(err)) == -1) {
			kproc_buf_free(&ans);
			if (err[0] == '\0')
				snprintf(err, sizeof(err), "refused");
			if (kproc_send(fd, KPROC_FAIL, err, strlen(err)) == -1)
				_exit(2);
		} else if (kproc_send(fd, KPROC_OK, ans.data, ans.len) == -1)
			_exit(2);
		kproc_buf_free(&req);
		kproc_buf_free(&ans);
	}
}
