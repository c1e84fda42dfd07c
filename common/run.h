/*
 * run.h — running a helper program safely (the exec CA driver's helper,
 * the key delivery command): no shell, its own process group, a chosen
 * environment built before fork() (the child of a threaded program may only
 * call async-signal-safe functions), no descriptor of ours but its three
 * pipes (pipe2(O_CLOEXEC) and close_range), its input on stdin while its
 * stdout and stderr are read concurrently and capped, and the whole group
 * killed when it outlives its timeout.
 */
#ifndef SMIMEPUB_RUN_H
#define SMIMEPUB_RUN_H

#include <stddef.h>

struct run_out {
	char		*out;		/* NUL-terminated */
	size_t		 outlen;
	char		*err;
	size_t		 errlen;
	int		 status;	/* exit status; -1 if killed */
	int		 sig;		/* signal that ended it */
};

struct run_cmd {
	const char	*path;		/* run as argv[0], no shell */
	const char	*what;		/* message prefix: "ca.exec.command X: enrol" */
	const char	*timeout_key;	/* the config key of timeout */
	int		 timeout;	/* seconds; then its group is killed */
	int		 minimal_env;	/* PATH and vars only; else ours
					 * without SMIMEPUB_* and vars */
	const char *const *vars;	/* NAME, value pairs, NULL-terminated;
					 * a NULL value skips the pair */
	size_t		 out_max;	/* stdout bytes kept */
	int		 out_strict;	/* more on stdout: killed, an error */
	size_t		 err_max;	/* stderr bytes kept, the rest dropped */
};

/*
 * Run c with in on its stdin. 0 when it ran to an exit (o filled, free
 * with run_out_clear), -1 logged otherwise (could not start, timeout,
 * too much output).
 */
int	run_cmd(const struct run_cmd *c, const char *in, size_t inlen,
	    struct run_out *o);
void	run_out_clear(struct run_out *);
/*
 * For each of the three programs, first thing in main: no core file
 * (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0: no core, no ptrace
 * by another process of the same user, /proc/PID owned by root), since
 * they hold private keys, passphrases and bind passwords in memory. A
 * failure is logged; the program goes on.
 */
void	run_harden(void);
/* The first line of s, printable ASCII only, at most max bytes (malloc'd;
 * NULL when out of memory). */
char	*run_first_line(const char *s, size_t len, size_t max);

#endif
