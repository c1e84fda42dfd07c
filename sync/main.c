/*
 * main.c — smimepub-sync, the sync service: run reconcile passes every
 * sync.interval seconds (or once with --once), in the background with a pid
 * file or in the foreground for systemd; between full passes it watches for
 * changes as sync.watch says: syncrepl where offered, else uSNChanged
 * against highestCommittedUSN on AD, modifyTimestamp elsewhere ("auto");
 * syncrepl or nothing ("syncrepl"); polling only ("poll"); AD's DirSync
 * control ("dirsync"). SIGTERM finishes the current step and exits; SIGHUP reloads
 * the configuration, keeping the old one if the new one is bad. With
 * keys.pool_size, the daemon (not --once) keeps a pool of keys generated
 * while no pass runs (enrol/keypool.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/audit.h"
#include "common/cfg.h"
#include "common/file.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/run.h"
#include "common/version.h"
#include "ldap/dir.h"
#include "enrol/enrol.h"
#include "sync/daemon.h"
#include "sync/dnsq.h"
#include "sync/lease.h"
#include "sync/metrics.h"
#include "sync/sync.h"

#define SYNC_EARLY_GAP	10	/* s between a pass and an early one */

static int sync_metrics;	/* sync.metrics_listen is served */

/* --help: on stdout, exit 0; a usage error: on stderr, exit 2. */
static void
usage(FILE *fp, int rc)
{
	fprintf(fp, "usage: smimepub-sync [-f FILE] [--once [--dry-run] "
	    "[--approve-leavers N]]\n"
	    "                     [--foreground] [--pid-file FILE]\n"
	    "       smimepub-sync --help | --version\n"
	    "FILE defaults to %s. See smimepub-sync(8).\n", CFG_DEFAULT_PATH);
	exit(rc);
}

static int
sync_open(const struct cfg *cfg, struct enr_keypool *kp, struct lease *lease,
    struct enr_ctx *e)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->keypool = kp;
	e->lease = lease;
	e->quit = &sync_quit;	/* SIGTERM ends a pass between people */
	e->dry_run = sync_dry;
	e->observer = &met_observer;
	/* a dry run never asks the CA: it is not even opened */
	if ((e->jrnl = jrnl_open(cfg->sync.state_dir)) == NULL ||
	    (!sync_dry && (e->ca = ca_new(cfg)) == NULL) ||
	    (e->dir = dir_new(&cfg->directory)) == NULL ||
	    dir_connect(e->dir) == -1)
		return -1;
	if (!sync_dry)
		(void)sync_dns_start(cfg, e->jrnl);	/* logged */
	return enr_id_attr(cfg, e->jrnl, e->dir);
}

/* Since the lease was (last) gained, no full pass has been run yet. */
static int sync_need_catchup = 1;

/*
 * Before the first full pass with the lease: wait until this instance's
 * replica has received what the lease authority had (lease_caught_up).
 * A former holder may have published on another replica; a pass over a
 * replica that has not received those publications yet would enrol those
 * people again. Waiting is the only safe answer, so there is no limit;
 * it is said every 30 s. 0 caught up; -1 stopped, reloaded or the lease
 * lost meanwhile.
 */
static int
sync_catch_up(struct enr_ctx *e)
{
	time_t start = time(NULL), told = 0;
	char auth[512];
	int rc;

	while (!sync_quit && !sync_reload && lease_active(e->lease)) {
		if ((rc = lease_caught_up(e->lease, e->dir)) == 1) {
			if (told != 0)
				log_info("%s has caught up with the lease "
				    "authority after %ld s", e->cfg->directory.uri,
				    (long)(time(NULL) - start));
			return 0;
		}
		if (told == 0 || time(NULL) - told >= 30) {
			lease_uri(e->lease, auth, sizeof(auth));
			log_info("waiting for %s to catch up with the lease "
			    "authority %s before the first pass (%s)",
			    e->cfg->directory.uri, auth,
			    rc == 0 ? "it has not received everything yet" :
			    "cannot compare them now");
			told = time(NULL);
		}
		poll(NULL, 0, 500);
	}
	return -1;
}

/* A pass; the key pool's filler waits meanwhile (no idle time). 1: none,
 * another instance holds the lease (said once, until this one is active),
 * or its replica has not caught up yet. */
static int
sync_pass_kp(struct enr_ctx *e, const char *changed, struct sync_stats *st)
{
	static int told;
	char who[128];
	int rc;

	if (e->lease != NULL && !lease_active(e->lease)) {
		if (!told) {
			lease_holder(e->lease, who, sizeof(who));
			log_info("standing by: the lease %s is %s%s",
			    e->cfg->sync.lease_dn, who[0] ? "held by " :
			    "not ours yet", who);
		}
		told = 1;
		return 1;
	}
	told = 0;
	if (e->lease != NULL && sync_need_catchup) {
		if (changed != NULL || sync_catch_up(e) == -1)
			return 1;	/* the full pass comes first */
		sync_need_catchup = 0;
	}
	enr_keypool_pause(e->keypool, 1);
	rc = sync_pass(e, changed, st);
	enr_keypool_pause(e->keypool, 0);
	return rc;
}

/* A full pass, timed for the metrics, and the journal counted after it
 * (people per state, certificates expiring) where metrics are served. */
static int
sync_full_pass(struct enr_ctx *e, struct sync_stats *st)
{
	double t0 = met_clock();
	int rc = sync_pass_kp(e, NULL, st);

	met_instance(e->cfg->sync.interval, rc != 1);
	if (rc != 1) {
		met_pass(rc == 0, met_clock() - t0);
		met_leavers_held((unsigned long)sync_leavers_held());
	}
	if (rc == 0)
		sync_dns_all();	/* every person's SMIMEA records */
	if (rc != 1 && sync_metrics && e->jrnl != NULL)
		(void)met_journal(e->cfg, e->jrnl);	/* logged */
	return rc;
}

/* sync.metrics_listen, at start and after a reload that changed it. */
static int
sync_metrics_start(const struct cfg *cfg, const struct cfg *old)
{
	const char *l = cfg->sync.metrics_listen;
	const char *o = old != NULL ? old->sync.metrics_listen : NULL;

	if (old != NULL && (l == NULL ? o == NULL : o != NULL &&
	    strcmp(l, o) == 0))
		return 0;
	sync_metrics = 0;
	if (met_start(l) == -1)
		return -1;
	sync_metrics = l != NULL;
	return 0;
}

static void
sync_close(struct enr_ctx *e)
{
	sync_dns_stop();	/* it works on e->jrnl and the cfg */
	dir_free(e->dir);
	ca_free(e->ca);
	jrnl_close(e->jrnl);
	memset(e, 0, sizeof(*e));
}

/* One DirSync poll and a pass over the people it reports changed. */
static void
sync_dirsync_look(struct enr_ctx *e, struct dir_dirsync *ds)
{
	struct sync_stats st;
	char *changed = NULL, summary[256];
	size_t n = 0;

	if (dir_dirsync_poll(e->dir, ds, &changed, &n) == -1)
		return;		/* logged; the next poll tries again */
	if (n > 0)
		log_debug("watch: DirSync: %zu changed under %s",
		    n, e->cfg->directory.base);
	if (changed[0] != '\0' && sync_pass_kp(e, changed, &st) == 0 &&
	    st.enrolled + st.renewed + st.republished + st.failed > 0) {
		sync_stats_str(&st, summary, sizeof(summary));
		log_info("changes: %s", summary);
	}
	free(changed);
}

/*
 * When the next full pass starts: after sync.interval, or earlier when the
 * journal has a retry due before that (a pending request the CA said to
 * poll at a given time, a backoff ending), but not within SYNC_EARLY_GAP
 * seconds of this one: retries due a few seconds apart (jitter) share one
 * early pass instead of each making its own.
 */
static time_t
sync_next_pass(struct enr_ctx *e)
{
	time_t now = time(NULL), next, due;
	char when[32];
	struct tm tm;

	next = now + e->cfg->sync.interval;
	due = sync_next_due(e, now);
	if (due == 0 || due >= next)
		return next;
	if (due < now + SYNC_EARLY_GAP)
		due = now + SYNC_EARLY_GAP;
	if (due >= next)
		return next;
	if (gmtime_r(&due, &tm) != NULL &&
	    strftime(when, sizeof(when), "%H:%M:%SZ", &tm) > 0)
		log_info("next pass at %s, before sync.interval: a retry is "
		    "due then", when);
	return due;
}

/* What smimepub-sync runs with: its options, then what it opened. */
struct sync_daemon {
	const char		*path;		/* -f */
	const char		*pidfile;
	int			 once, fg;
	long			 approve;	/* --approve-leavers, or -1 */
	struct cfg		*cfg;
	struct enr_ctx		 e;
	struct dir_watch	*watch;
	struct dir_dirsync	*ds;
	struct enr_keypool	*kp;
	struct lease		*lease;
	int			 watching;	/* sync.watch honoured */
};

/* The command line into d; usage() exits on an error. */
static void
sync_args(struct sync_daemon *d, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "approve-leavers", required_argument, NULL, 'a' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			d->path = optarg;
			break;
		case 'o':
			d->once = 1;
			break;
		case 'n':
			sync_dry = 1;
			break;
		case 'a':
			/* the count the held pass reported (leavers.c) */
			d->approve = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || d->approve < 0 ||
			    d->approve > 1000000000) {
				log_err("--approve-leavers: \"%s\" is not a "
				    "count of leavers", optarg);
				usage(stderr, 2);
			}
			break;
		case 'F':
			d->fg = 1;
			break;
		case 'p':
			d->pidfile = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			version_print(stdout, "smimepub-sync");
			exit(0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc || ((sync_dry || d->approve >= 0) && !d->once))
		usage(stderr, 2);	/* a plan is of one pass: --dry-run needs --once */
}

/* Everything a pass needs, in order (d->cfg loaded); -1 logged. */
static int
sync_start(struct sync_daemon *d)
{
	const struct cfg *cfg = d->cfg;

	log_set_level((enum log_level)log_level_parse(cfg->log.level));
	if (!d->once && !d->fg) {
		if (daemon(0, 0) == -1) {
			log_err("daemon: %s", strerror(errno));
			return -1;
		}
		log_init("smimepub-sync", 1,
		    (enum log_level)log_level_parse(cfg->log.level));
	}
	if (d->pidfile != NULL && sync_write_pid(d->pidfile) == -1)
		return -1;
	/* privilege separation: the key processes fork before any thread */
	if (!sync_dry && (ca_keyproc_start(cfg) == -1 ||
	    enr_kekproc_start(cfg) == -1))
		return -1;
	sync_signals();
	if (audit_open(cfg->log.audit_file) == -1)
		return -1;
	/* --once has no idle time to fill a pool in */
	if (!d->once && ((d->kp = enr_keypool_new()) == NULL ||
	    enr_keypool_config(d->kp, cfg->keys.type,
	    (size_t)cfg->keys.pool_size) == -1 ||
	    enr_keypool_start(d->kp) == -1))
		return -1;
	/* a dry run takes no lease: taking it is a directory write */
	if (!sync_dry && sync_lease_open(cfg, d->once, &d->lease) == -1)
		return -1;
	if (sync_open(cfg, d->kp, d->lease, &d->e) == -1)
		return -1;
	if (!d->once && sync_watch_start(&d->e, &d->watch, &d->ds) == -1)
		return -1;
	/* looking at modifyTimestamp between passes would find nothing,
	 * silently, if the account cannot read it */
	sync_check_rights(&d->e, !d->once && sync_polls(cfg, d->watch != NULL,
	    d->ds != NULL));
	/* after daemon(): its thread would not survive the fork */
	if (!d->once && sync_metrics_start(cfg, NULL) == -1)
		return -1;
	if (sync_metrics)
		(void)met_journal(cfg, d->e.jrnl);	/* before the first pass */
	if (!d->once)
		notify_ready();
	return 0;
}

/*
 * Between full passes, look for people changed lately so a new hire is
 * published within sync.watch_interval seconds: syncrepl's kick, DirSync,
 * or uSNChanged on AD, modifyTimestamp elsewhere (have_usn, usn: read
 * before the pass). Until the next pass, a signal, or a lease gained.
 */
static void
sync_between(struct sync_daemon *d, int have_usn, unsigned long long usn,
    time_t last)
{
	const struct cfg *cfg = d->cfg;
	struct sync_stats st;
	char summary[256], changed[64];
	time_t next = sync_next_pass(&d->e);

	while (!sync_quit && !sync_reload && time(NULL) < next) {
		if (!atomic_load(&sync_kick))
			poll(NULL, 0, 200);
		/* taken over from a holder gone quiet: a full pass */
		if (d->lease != NULL && lease_gained(d->lease)) {
			sync_need_catchup = 1;
			break;
		}
		/* syncrepl said something changed; else poll */
		if (!atomic_exchange(&sync_kick, 0) && (!d->watching ||
		    cfg->sync.watch_interval == 0 ||
		    time(NULL) - last < cfg->sync.watch_interval))
			continue;
		if (d->ds != NULL) {
			sync_dirsync_look(&d->e, d->ds);
			last = time(NULL);
			continue;
		}
		sync_watch_filter(&d->e, &have_usn, &usn, last, changed,
		    sizeof(changed));
		last = time(NULL);
		if (changed[0] != '\0')
			log_debug("watch: looking at %s", changed);
		if (changed[0] != '\0' && sync_pass_kp(&d->e, changed, &st) == 0 &&
		    st.enrolled + st.renewed + st.republished + st.failed > 0) {
			sync_stats_str(&st, summary, sizeof(summary));
			log_info("changes: %s", summary);
		}
	}
}

/* SIGHUP: the configuration again, the old one kept if the new is bad. */
static void
sync_reload_cfg(struct sync_daemon *d)
{
	const char *path = d->path;
	struct cfg *ncfg;

	notify_reloading();
	if ((ncfg = cfg_load(path)) == NULL || ca_cfg_check(ncfg) == -1) {
		cfg_free(ncfg);
		log_err("%s: the new configuration is bad; keeping the old one",
		    path);
		sync_reopen_logs(d->cfg);
		notify_ready();
		return;
	}
	sync_watch_stop(&d->watch, &d->ds);
	sync_close(&d->e);
	/* before the old configuration goes: the lease's thread and
	 * connection borrow it */
	if (sync_lease_reload(ncfg, &d->lease) == -1)
		log_err("%s: sync.lease_dn: not looked at until the next "
		    "reload", path);	/* sync_lease_reload said why */
	if (sync_metrics_start(ncfg, d->cfg) == -1)
		log_err("%s: sync.metrics_listen: no metrics until the next "
		    "reload", path);
	cfg_free(d->cfg);
	d->cfg = ncfg;
	/* a new keys.type: the old pool is freed */
	(void)enr_keypool_config(d->kp, ncfg->keys.type,
	    (size_t)ncfg->keys.pool_size);
	sync_reopen_logs(ncfg);
	log_info("%s: configuration reloaded", path);
	if (sync_open(ncfg, d->kp, d->lease, &d->e) == -1)
		log_err("reconnect after reload failed; retrying next pass");
	d->watching = sync_watch_start(&d->e, &d->watch, &d->ds) == 0;
	if (!d->watching)
		log_err("%s: sync.watch = %s cannot be honoured; full passes "
		    "only until the next reload", path, ncfg->sync.watch);
	notify_ready();
}

/*
 * Full passes until SIGTERM (--once: one). 0, or 1 when --once found a
 * failure, a held leaver or a stop (the pass is not done) or a pass
 * failed as a whole.
 */
static int
sync_loop(struct sync_daemon *d)
{
	struct sync_stats st;
	char summary[256];
	unsigned long long usn = 0;
	int rc, have_usn;
	time_t last;

	for (;;) {
		last = time(NULL);
		/* read before the pass: what changes during it is seen next */
		have_usn = !d->once && d->watching && d->ds == NULL &&
		    d->cfg->sync.watch_interval > 0 &&
		    dir_highest_usn(d->e.dir, &usn) == 0;
		if ((rc = sync_full_pass(&d->e, &st)) != 0) {
			if (rc == -1)
				sync_notify_pass(0, NULL);
			if (d->once)
				return 1;
		} else {
			sync_stats_str(&st, summary, sizeof(summary));
			sync_notify_pass(1, summary);
			if (d->once)
				printf("%s%s\n", sync_dry ? "dry run, nothing "
				    "done; would have: " : "", summary);
			log_info("pass done: %s", summary);
			/* stopped by a signal: the pass is not done */
			if (d->once)
				return st.failed > 0 || sync_quit ||
				    st.leavers_held > 0 ? 1 : 0;
		}
		sync_between(d, have_usn, usn, last);
		if (sync_quit)
			return 0;
		if (sync_reload) {
			sync_reload = 0;
			sync_reload_cfg(d);
		}
	}
}

static void
sync_stop(struct sync_daemon *d)
{
	if (!d->once)
		notify_stopping();
	sync_watch_stop(&d->watch, &d->ds);
	met_stop();
	enr_keypool_free(d->kp);	/* stops the filler: a key in progress is dropped */
	sync_close(&d->e);
	lease_free(d->lease);	/* given up: a standby takes over at once */
	ca_keyproc_stop();
	enr_kekproc_stop();
	audit_close();
	if (d->pidfile != NULL)
		unlink(d->pidfile);
	cfg_free(d->cfg);
}

int
main(int argc, char *argv[])
{
	struct sync_daemon d;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.path = CFG_DEFAULT_PATH;
	d.approve = -1;
	d.watching = 1;
	log_init("smimepub-sync", 0, LOG_LVL_INFO);
	run_harden();	/* keys and passwords in memory: no core */
	/* a server closing the connection mid-write is an error, not a kill */
	signal(SIGPIPE, SIG_IGN);
	sync_args(&d, argc, argv);
	sync_leavers_approve(d.approve);
	if ((d.cfg = cfg_load(d.path)) == NULL)
		return 2;
	if (ca_cfg_check(d.cfg) == -1) {		/* ca/ owns ca.driver */
		cfg_free(d.cfg);
		return 2;
	}
	if (sync_start(&d) == 0)
		rc = sync_loop(&d);
	sync_stop(&d);
	return rc;
}
