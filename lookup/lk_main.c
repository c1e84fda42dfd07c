/*
 * lk_main.c — smimepub-lookupd -f FILE [--foreground]: load the config,
 * bind the listen sockets, go to the background (pid file; the parent exits
 * only once the child serves, with its status) unless --foreground, drop to
 * lookup.user, connect the directory pool, serve. SIGHUP reloads the
 * configuration (lk_reload) and reopens the log; SIGTERM/SIGINT stop
 * accepting, drain requests under way for up to lookup.drain_timeout
 * seconds, and exit 0. Exit 2 for usage/config errors. Under systemd,
 * Type=notify: READY=1 once serving, RELOADING=1, STOPPING=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/notify.h"
#include "common/run.h"
#include "common/version.h"
#include "lookup/lk.h"

/* --help: on stdout, exit 0; a usage error: on stderr, exit 2. */
static void
usage(FILE *fp, int rc)
{
	fprintf(fp, "usage: smimepub-lookupd [-f FILE] [--foreground]\n"
	    "       smimepub-lookupd --help | --version\n"
	    "FILE defaults to %s. See smimepub-lookupd(8).\n",
	    CFG_DEFAULT_PATH);
	exit(rc);
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_err("%s: lookup.user: no such user", user);
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;
	if (initgroups(user, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_err("%s: lookup.user: cannot become this user: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		log_err("%s: lookup.user: root privileges were not dropped",
		    user);
		return -1;
	}
	return 0;
}

static int
write_pid(const char *path)
{
	char buf[32];
	int fd, n, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1) {
		log_err("%s: lookup.pid_file: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) == n)
		rc = 0;
	else
		log_err("%s: lookup.pid_file: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Fork into the background; returns in the child the pipe to report on. */
static int
daemonize(void)
{
	int p[2], fd;
	char st = 1;
	pid_t pid;

	if (pipe(p) == -1 || (pid = fork()) == -1) {
		log_err("cannot go to the background: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st);
	}
	close(p[0]);
	setsid();
	if (chdir("/") == -1)
		log_warn("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return p[1];
}

/* log.level and syslog again, from cfg (SIGHUP, the new one or the old). */
static void
lk_reopen_logs(const struct cfg *cfg)
{
	int lvl = log_level_parse(cfg->log.level);

	log_reopen();
	if (lvl != -1)
		log_set_level((enum log_level)lvl);
}

/* Serve ctx (its cfg) on a new listener: the HTTP side or NULL (logged). */
static struct lk_http *
lk_serve(struct lk_ctx *ctx)
{
	struct lk_http *h;

	if ((h = lk_http_bind(ctx)) == NULL)
		return NULL;
	if (lk_http_start(h) == -1) {
		lk_http_stop(h, 0);
		return NULL;
	}
	return h;
}

/*
 * SIGHUP: the configuration at path in place of *cfg, as smimepub-sync
 * reloads: a new one that does not load, or whose directory pool, trust
 * anchors or CRLs cannot be set up, is reported and the old one kept,
 * serving on. Otherwise the old listener stops accepting and drains
 * (lookup.drain_timeout), and the new one serves with a new cache and new
 * counters; if it cannot (a port taken, or one below 1024 after
 * lookup.user), the old one serves again. lookup.user and lookup.pid_file
 * take effect at a restart.
 */
static void
lk_reload(const char *path, struct cfg **cfg, struct lk_ctx **ctx,
    struct lk_http **h)
{
	struct cfg *ncfg;
	struct lk_ctx *nctx = NULL;
	struct lk_http *nh;

	notify_reloading();
	/* its own bind and trust anchors, as at start */
	if ((ncfg = cfg_load(path)) == NULL || lk_cfg_check(ncfg) == -1) {
		log_err("%s: the new configuration is bad; keeping the old "
		    "one", path);
		goto drop;
	}
	if ((nctx = calloc(1, sizeof(*nctx))) == NULL) {
		log_err("%s: reload: out of memory; keeping the old "
		    "configuration", path);
		goto drop;
	}
	if (lk_ctx_init(nctx, ncfg) == -1) {
		/* lk_ctx_init logged why */
		log_warn("%s: the new configuration cannot be put in use; "
		    "keeping the old one", path);
		goto drop;
	}
	lk_http_stop(*h, (*cfg)->lookup.drain_timeout);
	if ((nh = lk_serve(nctx)) == NULL) {
		/* lk_serve logged why */
		log_warn("%s: the new configuration cannot serve; keeping "
		    "the old one", path);
		if ((*h = lk_serve(*ctx)) == NULL)
			log_err("%s: the old configuration cannot serve "
			    "again either; not serving until the next reload",
			    path);
		goto drop;
	}
	lk_ctx_fini(*ctx);
	free(*ctx);
	cfg_free(*cfg);
	*ctx = nctx;
	*cfg = ncfg;
	*h = nh;
	lk_reopen_logs(ncfg);	/* before saying so, at the new level */
	log_info("%s: configuration reloaded; serving on %s", path,
	    ncfg->lookup.listen);
	notify_status("serving on %s", ncfg->lookup.listen);
	notify_ready();
	return;
drop:
	/* as before reloads: a SIGHUP empties the cache in any case */
	lk_cache_flush((*ctx)->cache);
	log_info("SIGHUP: cache flushed");
	if (nctx != NULL) {
		lk_ctx_fini(nctx);	/* safe after a failed lk_ctx_init */
		free(nctx);
	}
	cfg_free(ncfg);
	lk_reopen_logs(*cfg);
	notify_ready();
}

/* The command line: the config path (-f) and --foreground; --help and
 * --version answer and exit. */
static const char *
lk_args(int argc, char **argv, int *fg)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CFG_DEFAULT_PATH;
	int c;

	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'F':
			*fg = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			version_print(stdout, "smimepub-lookupd");
			exit(0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	return path;
}

/* Load and check the configuration and set up logging: NULL (logged) is
 * a configuration error, exit 2. */
static struct cfg *
lk_config(const char *path, int fg)
{
	struct cfg *cfg;
	int lvl;

	log_init("smimepub-lookupd", 0, LOG_LVL_INFO);
	run_harden();	/* passwords in memory: no core */
	if ((cfg = cfg_load(path)) == NULL)
		return NULL;
	if ((lvl = log_level_parse(cfg->log.level)) != -1)
		log_set_level((enum log_level)lvl);
	if (!fg || cfg->log.syslog)
		log_init("smimepub-lookupd", !fg || cfg->log.syslog,
		    (enum log_level)lvl);
	if (lk_cfg_check(cfg) == -1) {	/* its own bind, trust anchors */
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Wait for SIGTERM or SIGINT, reloading on SIGHUP; signals are taken
 * by sigwait() here, in this thread only. */
static void
lk_wait(const char *path, const sigset_t *set, struct cfg **cfg,
    struct lk_ctx **ctx, struct lk_http **h)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			lk_reload(path, cfg, ctx, h);
			continue;
		}
		log_info("signal %d: draining (up to %d s)", sig,
		    (*cfg)->lookup.drain_timeout);
		notify_stopping();
		return;
	}
}

int
main(int argc, char **argv)
{
	const char *path;
	struct lk_ctx *ctx = NULL;
	struct lk_http *h = NULL;
	struct cfg *cfg;
	sigset_t set;
	int fg = 0, report = -1, pidfile = 0, rc = 1;
	char st, pidpath[PATH_MAX];

	path = lk_args(argc, argv, &fg);
	if ((cfg = lk_config(path, fg)) == NULL)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* on the heap: a reload puts another in its place (lk_reload) */
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		log_err("out of memory");
		goto out;
	}
	ctx->cfg = cfg;
	if ((h = lk_http_bind(ctx)) == NULL)
		goto out;
	if (!fg) {
		report = daemonize();
		if (write_pid(cfg->lookup.pid_file) == -1)
			goto out;
		pidfile = 1;
		snprintf(pidpath, sizeof(pidpath), "%s", cfg->lookup.pid_file);
	}
	if (drop_privileges(cfg->lookup.user) == -1 ||
	    lk_ctx_init(ctx, cfg) == -1 || lk_http_start(h) == -1)
		goto out;
	log_info("serving on %s (%d threads, %d directory connections)",
	    cfg->lookup.listen, cfg->lookup.threads, cfg->lookup.pool_size);
	notify_status("serving on %s", cfg->lookup.listen);
	notify_ready();
	if (report != -1) {
		st = 0;
		if (write(report, &st, 1) != 1)
			log_warn("cannot report to the parent");
		close(report);
		report = -1;
	}
	lk_wait(path, &set, &cfg, &ctx, &h);
	lk_http_stop(h, cfg->lookup.drain_timeout);
	h = NULL;
	rc = 0;
out:
	lk_http_stop(h, 0);
	if (ctx != NULL && ctx->cache != NULL)
		lk_ctx_fini(ctx);
	free(ctx);
	if (pidfile)	/* the one written: a reload does not move it */
		(void)unlink(pidpath);
	if (report != -1) {
		st = (char)rc;
		(void)!write(report, &st, 1);
		close(report);
	}
	cfg_free(cfg);
	log_info("stopped");
	return rc;
}
