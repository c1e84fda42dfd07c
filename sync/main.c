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
#include "sync/dnsq.h"
#include "sync/lease.h"
#include "sync/metrics.h"
#include "sync/sync.h"

#define SYNC_EARLY_GAP	10	/* s between a pass and an early one */

static volatile sig_atomic_t sync_quit, sync_reload;
static int sync_dry;		/* --dry-run */
static int sync_metrics;	/* sync.metrics_listen is served */
static atomic_int sync_kick;	/* set by the syncrepl thread */

static void
sync_notify(void *arg)
{
	(void)arg;
	atomic_store(&sync_kick, 1);
}

static void
sync_sig(int sig)
{
	if (sig == SIGHUP)
		sync_reload = 1;
	else
		sync_quit = 1;
}

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
			    "cannot compare: see above");
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

/*
 * Start watching as cfg sync.watch says: the syncrepl thread (auto, where
 * offered; syncrepl, required), and the DirSync state (dirsync), primed so
 * that its first poll reports only what changes after this. -1 when the
 * required way is not available (logged).
 */
static int
sync_watch_start(struct enr_ctx *e, struct dir_watch **watch,
    struct dir_dirsync **ds)
{
	const struct cfg *cfg = e->cfg;
	const char *how = cfg->sync.watch;

	*watch = NULL;
	*ds = NULL;
	if (strcmp(how, "poll") == 0) {
		log_info("watching by polling (sync.watch = poll)");
		return 0;
	}
	if (strcmp(how, "dirsync") == 0) {
		if (e->dir == NULL ||
		    (*ds = dir_dirsync_new(DIR_DIRSYNC_OBJECT_SECURITY)) ==
		    NULL || dir_dirsync_poll(e->dir, *ds, NULL, NULL) == -1) {
			log_err("sync.watch = dirsync: DirSync is not "
			    "available (see above)");
			return -1;
		}
		log_info("%s: watching by DirSync (1.2.840.113556.1.4.841)",
		    cfg->directory.uri);
		return 0;
	}
	*watch = dir_watch_start(&cfg->directory, sync_notify, NULL);
	if (*watch == NULL && strcmp(how, "syncrepl") == 0) {
		log_err("sync.watch = syncrepl: %s does not offer syncrepl "
		    "(RFC 4533), or it did not start (see above)",
		    cfg->directory.uri);
		return -1;
	}
	return 0;
}

/*
 * Say at start which right the bind identity lacks (dir_check_access)
 * rather than skip everyone or poll blind; the service goes on (the
 * others may be readable).
 */
static void
sync_check_rights(struct enr_ctx *e, int polls)
{
	char report[512];

	if (dir_check_access(e->dir, polls, report, sizeof(report)) == 1)
		log_err("%s: %s", e->cfg->directory.uri, report);
}

static void
sync_watch_stop(struct dir_watch **watch, struct dir_dirsync **ds)
{
	dir_watch_stop(*watch);
	*watch = NULL;
	dir_dirsync_free(*ds);
	*ds = NULL;
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

static int
write_pid(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return file_write_atomic(path, buf, (size_t)n, 0644);
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

/*
 * The lease for --once: taken at once if free; if another instance holds
 * it, wait until it is seen renewed (then this run does nothing: -1) or
 * stays unrenewed for its ttl (then it is taken over).
 */
static int
sync_once_lease(struct lease *l, const struct cfg *cfg)
{
	char who[128];
	int waited = 0, rc;

	while ((rc = lease_step(l)) != 1) {
		if (rc == -1) {
			log_err("sync.lease_dn %s: the lease cannot be read "
			    "(see above); this instance did nothing",
			    cfg->sync.lease_dn);
			return -1;
		}
		if (lease_renewed_by_other(l)) {
			lease_holder(l, who, sizeof(who));
			log_err("sync.lease_dn %s: held by %s, who renews it; "
			    "this instance stands by and did nothing",
			    cfg->sync.lease_dn, who[0] ? who : "another");
			return -1;
		}
		if (sync_quit || waited > cfg->sync.lease_ttl + 5) {
			log_err("sync.lease_dn %s: the lease was not taken "
			    "(%s); this instance did nothing",
			    cfg->sync.lease_dn, sync_quit ? "stopped" :
			    "see above");
			return -1;
		}
		if (waited == 0) {
			lease_holder(l, who, sizeof(who));
			log_info("sync.lease_dn %s: held by %s; waiting up to "
			    "%d s to see whether it is renewed",
			    cfg->sync.lease_dn, who, cfg->sync.lease_ttl);
		}
		sleep(1);
		waited++;
	}
	return 0;
}

/* The lease as cfg says (none without sync.lease_dn), looked at once now
 * so that a free one is taken before the first pass. */
static int
sync_lease_open(const struct cfg *cfg, int once, struct lease **lease)
{
	if (cfg->sync.lease_dn == NULL)
		return 0;
	if ((*lease = lease_new(cfg)) == NULL)
		return -1;
	if (once && sync_once_lease(*lease, cfg) == -1)
		return -1;
	/* renewed by its thread, --once too: a pass may outlast the ttl */
	(void)lease_step(*lease);
	(void)lease_gained(*lease);	/* the first pass is next anyway */
	return lease_start(*lease);
}

/*
 * SIGHUP, whether or not the new configuration was good: log.level again,
 * syslog reopened, and the audit file opened again by name, so that the
 * events after logrotate's rename land in the new file.
 */
static void
sync_reopen_logs(const struct cfg *cfg)
{
	int lvl = log_level_parse(cfg->log.level);

	log_reopen();
	if (lvl != -1)
		log_set_level((enum log_level)lvl);
	(void)audit_reopen(cfg->log.audit_file);	/* logged */
}

/* The STATUS= of systemctl status: when the last pass ended, and how. */
static void
sync_notify_pass(int ok, const char *summary)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		when[0] = '\0';
	if (ok)
		notify_status("last pass %s: %s", when, summary);
	else
		notify_status("last pass %s failed (see the log)", when);
}

/* After a reload: keep a held lease when its DN stays (lease_reload). */
static int
sync_lease_reload(const struct cfg *cfg, struct lease **lease)
{
	if (cfg->sync.lease_dn == NULL) {
		lease_free(*lease);
		*lease = NULL;
		return 0;
	}
	if (*lease == NULL)
		return sync_lease_open(cfg, 0, lease);
	return lease_reload(*lease, cfg);
}

int
main(int argc, char *argv[])
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
	const char *path = CFG_DEFAULT_PATH, *pidfile = NULL;
	struct cfg *cfg = NULL, *ncfg;
	struct sync_stats st;
	struct sigaction sa;
	struct enr_ctx e;
	struct dir_watch *watch = NULL;
	struct dir_dirsync *ds = NULL;
	struct enr_keypool *kp = NULL;
	struct lease *lease = NULL;
	char summary[256], changed[64];
	int ch, once = 0, fg = 0, rc = 1, have_usn, watching = 1;
	long approve = -1;
	char *end;
	unsigned long long usn = 0;
	time_t next, last;

	memset(&e, 0, sizeof(e));
	log_init("smimepub-sync", 0, LOG_LVL_INFO);
	run_harden();	/* keys and passwords in memory: no core */
	/* a server closing the connection mid-write is an error, not a kill */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'n':
			sync_dry = 1;
			break;
		case 'a':
			/* the count the held pass reported (leavers.c) */
			approve = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || approve < 0 ||
			    approve > 1000000000) {
				log_err("--approve-leavers: \"%s\" is not a "
				    "count of leavers", optarg);
				usage(stderr, 2);
			}
			break;
		case 'F':
			fg = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			version_print(stdout, "smimepub-sync");
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc || ((sync_dry || approve >= 0) && !once))
		usage(stderr, 2);	/* a plan is of one pass: --dry-run needs --once */
	sync_leavers_approve(approve);
	if ((cfg = cfg_load(path)) == NULL)
		return 2;
	if (ca_cfg_check(cfg) == -1) {		/* ca/ owns ca.driver */
		cfg_free(cfg);
		return 2;
	}
	log_set_level((enum log_level)log_level_parse(cfg->log.level));
	if (!once && !fg) {
		if (daemon(0, 0) == -1) {
			log_err("daemon: %s", strerror(errno));
			goto out;
		}
		log_init("smimepub-sync", 1,
		    (enum log_level)log_level_parse(cfg->log.level));
	}
	if (pidfile != NULL && write_pid(pidfile) == -1)
		goto out;
	/* privilege separation: the key processes fork before any thread */
	if (!sync_dry && (ca_keyproc_start(cfg) == -1 ||
	    enr_kekproc_start(cfg) == -1))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (audit_open(cfg->log.audit_file) == -1)
		goto out;
	/* --once has no idle time to fill a pool in */
	if (!once && ((kp = enr_keypool_new()) == NULL || enr_keypool_config(kp, cfg->keys.type,
	    (size_t)cfg->keys.pool_size) == -1 || enr_keypool_start(kp) == -1))
		goto out;
	/* a dry run takes no lease: taking it is a directory write */
	if (!sync_dry && sync_lease_open(cfg, once, &lease) == -1)
		goto out;
	if (sync_open(cfg, kp, lease, &e) == -1)
		goto out;
	if (!once && sync_watch_start(&e, &watch, &ds) == -1)
		goto out;
	/* looking at modifyTimestamp between passes would find nothing,
	 * silently, if the account cannot read it */
	sync_check_rights(&e, !once && sync_polls(cfg, watch != NULL,
	    ds != NULL));
	/* after daemon(): its thread would not survive the fork */
	if (!once && sync_metrics_start(cfg, NULL) == -1)
		goto out;
	if (sync_metrics)
		(void)met_journal(cfg, e.jrnl);	/* before the first pass */
	if (!once)
		notify_ready();
	for (;;) {
		last = time(NULL);
		/* read before the pass: what changes during it is seen next */
		have_usn = !once && watching && ds == NULL &&
		    cfg->sync.watch_interval > 0 &&
		    dir_highest_usn(e.dir, &usn) == 0;
		if ((rc = sync_full_pass(&e, &st)) != 0) {
			if (rc == -1)
				sync_notify_pass(0, NULL);
			rc = 1;
			if (once)
				goto out;
		} else {
			sync_stats_str(&st, summary, sizeof(summary));
			sync_notify_pass(1, summary);
			if (once)
				printf("%s%s\n", sync_dry ? "dry run, nothing "
				    "done; would have: " : "", summary);
			log_info("pass done: %s", summary);
			if (once) {
				/* stopped by a signal: the pass is not done */
				rc = st.failed > 0 || sync_quit ||
				    st.leavers_held > 0 ? 1 : 0;
				goto out;
			}
		}
		/* Between full passes, look for people changed lately so a
		 * new hire is published within sync.watch_interval seconds:
		 * DirSync, or uSNChanged on AD, modifyTimestamp elsewhere. */
		next = sync_next_pass(&e);
		while (!sync_quit && !sync_reload && time(NULL) < next) {
			if (!atomic_load(&sync_kick))
				poll(NULL, 0, 200);
			/* taken over from a holder gone quiet: a full pass */
			if (lease != NULL && lease_gained(lease)) {
				sync_need_catchup = 1;
				break;
			}
			/* syncrepl said something changed; else poll */
			if (!atomic_exchange(&sync_kick, 0) && (!watching ||
			    cfg->sync.watch_interval == 0 ||
			    time(NULL) - last < cfg->sync.watch_interval))
				continue;
			if (ds != NULL) {
				sync_dirsync_look(&e, ds);
				last = time(NULL);
				continue;
			}
			sync_watch_filter(&e, &have_usn, &usn, last, changed,
			    sizeof(changed));
			last = time(NULL);
			if (changed[0] != '\0')
				log_debug("watch: looking at %s", changed);
			if (changed[0] != '\0' &&
			    sync_pass_kp(&e, changed, &st) == 0 &&
			    st.enrolled + st.renewed + st.republished +
			    st.failed > 0) {
				sync_stats_str(&st, summary, sizeof(summary));
				log_info("changes: %s", summary);
			}
		}
		if (sync_quit)
			break;
		if (sync_reload) {
			sync_reload = 0;
			notify_reloading();
			if ((ncfg = cfg_load(path)) == NULL ||
			    ca_cfg_check(ncfg) == -1) {
				cfg_free(ncfg);
				log_err("%s: the new configuration is bad; "
				    "keeping the old one", path);
				sync_reopen_logs(cfg);
				notify_ready();
				continue;
			}
			sync_watch_stop(&watch, &ds);
			sync_close(&e);
			/* before the old configuration goes: the lease's
			 * thread and connection borrow it */
			if (sync_lease_reload(ncfg, &lease) == -1)
				log_err("%s: sync.lease_dn: not looked at until "
				    "the next reload (see above)", path);
			if (sync_metrics_start(ncfg, cfg) == -1)
				log_err("%s: sync.metrics_listen: no metrics "
				    "until the next reload", path);
			cfg_free(cfg);
			cfg = ncfg;
			/* a new keys.type: the old pool is freed */
			(void)enr_keypool_config(kp, cfg->keys.type,
			    (size_t)cfg->keys.pool_size);
			sync_reopen_logs(cfg);
			log_info("%s: configuration reloaded", path);
			if (sync_open(cfg, kp, lease, &e) == -1)
				log_err("reconnect after reload failed; "
				    "retrying next pass");
			watching = sync_watch_start(&e, &watch, &ds) == 0;
			if (!watching)
				log_err("%s: sync.watch = %s cannot be "
				    "honoured; full passes only until the "
				    "next reload", path, cfg->sync.watch);
			notify_ready();
		}
	}
	rc = 0;
out:
	if (!once)
		notify_stopping();
	sync_watch_stop(&watch, &ds);
	met_stop();
	enr_keypool_free(kp);	/* stops the filler: a key in progress is dropped */
	sync_close(&e);
	lease_free(lease);	/* given up: a standby takes over at once */
	ca_keyproc_stop();
	enr_kekproc_stop();
	audit_close();
	if (pidfile != NULL)
		unlink(pidfile);
	cfg_free(cfg);
	return rc;
}
