/*
 * daemon.c — smimepub-sync's plumbing around its passes (main.c): the
 * signals (SIGTERM, SIGINT stop; SIGHUP reloads), the pid file, the change
 * watch as sync.watch says and the filters of a look between passes
 * (modifyTimestamp or uSNChanged), the lease at start and after a reload,
 * the logs reopened and the STATUS= systemd shows.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/file.h"
#include "common/log.h"
#include "common/notify.h"
#include "enrol/enrol.h"
#include "ldap/dir.h"
#include "sync/daemon.h"
#include "sync/lease.h"
#include "sync/sync.h"

volatile sig_atomic_t sync_quit, sync_reload;
int sync_dry;
atomic_int sync_kick;

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

void
sync_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/*
 * Start watching as cfg sync.watch says: the syncrepl thread (auto, where
 * offered; syncrepl, required), and the DirSync state (dirsync), primed so
 * that its first poll reports only what changes after this. -1 when the
 * required way is not available (logged).
 */
int
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
			/* the directory client logged why */
			log_err("sync.watch = dirsync: DirSync is not "
			    "available");
			return -1;
		}
		log_info("%s: watching by DirSync (1.2.840.113556.1.4.841)",
		    cfg->directory.uri);
		return 0;
	}
	*watch = dir_watch_start(&cfg->directory, sync_notify, NULL);
	if (*watch == NULL && strcmp(how, "syncrepl") == 0) {
		log_err("sync.watch = syncrepl: %s does not offer syncrepl "
		    "(RFC 4533), or it did not start",
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
void
sync_check_rights(struct enr_ctx *e, int polls)
{
	char report[512];

	if (dir_check_access(e->dir, polls, report, sizeof(report)) == 1)
		log_err("%s: %s", e->cfg->directory.uri, report);
}

void
sync_watch_stop(struct dir_watch **watch, struct dir_dirsync **ds)
{
	dir_watch_stop(*watch);
	*watch = NULL;
	dir_dirsync_free(*ds);
	*ds = NULL;
}

int
sync_write_pid(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return file_write_atomic(path, buf, (size_t)n, 0644);
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
			/* lease_step logged why */
			log_err("sync.lease_dn %s: the lease cannot be read; "
			    "this instance did nothing",
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
			    "not free within sync.lease_ttl");
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
int
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
void
sync_reopen_logs(const struct cfg *cfg)
{
	int lvl = log_level_parse(cfg->log.level);

	log_reopen();
	if (lvl != -1)
		log_set_level((enum log_level)lvl);
	(void)audit_reopen(cfg->log.audit_file);	/* logged */
}

/* The STATUS= of systemctl status: when the last pass ended, and how. */
void
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
int
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

void
sync_changed_filter(time_t since, char *buf, size_t sz)
{
	struct tm tm;
	char ts[32];

	gmtime_r(&since, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d%H%M%SZ", &tm);
	snprintf(buf, sz, "(modifyTimestamp>=%s)", ts);
}

/*
 * What changed since the last look. Where the root DSE has
 * highestCommittedUSN (Active Directory) that is every entry whose
 * uSNChanged is above the value read before the last look: *changed is
 * "" (nothing changed: no search at all) or "(uSNChanged>=N)". Elsewhere,
 * or when the USN went backwards (another DC answered after a reconnect),
 * modifyTimestamp since last, overlapping by a minute: repeating a person
 * is a no-op, missing one (clock skew) is not. *usn is updated.
 */
void
sync_watch_filter(struct enr_ctx *e, int *have_usn, unsigned long long *usn,
    time_t last, char *changed, size_t sz)
{
	unsigned long long cur;

	if (*have_usn && dir_highest_usn(e->dir, &cur) == 0) {
		if (cur >= *usn) {
			if (cur == *usn)
				changed[0] = '\0';
			else
				snprintf(changed, sz, "(uSNChanged>=%llu)",
				    *usn + 1);
			*usn = cur;
			return;
		}
		log_info("highestCommittedUSN went back from %llu to %llu "
		    "(another domain controller?); looking at modifyTimestamp "
		    "this time", *usn, cur);
		*usn = cur;
	}
	sync_changed_filter(last - 60, changed, sz);
}

int
sync_polls(const struct cfg *cfg, int syncrepl, int dirsync)
{
	/* a look between passes filters by modifyTimestamp, whether timed
	 * or kicked by syncrepl (sync_watch_filter); AD is looked at by
	 * uSNChanged (highestCommittedUSN) or DirSync instead */
	return !dirsync && cfg->directory.flavour != CFG_FLAVOUR_AD &&
	    (syncrepl || cfg->sync.watch_interval > 0);
}

/* When the next record is due (a retry, a poll, the end of a grace
 * period), for the daemon's sleep: sync_next_due. */
struct next_due {
	time_t	now, when;
	int	max_attempts;
};

static int
next_due_cb(const struct jrnl_enr *r, void *arg)
{
	struct next_due *d = arg;

	if (r->next_retry <= d->now)
		return 0;
	if ((r->state == JRNL_FAILED && r->attempts < d->max_attempts) ||
	    (r->state == JRNL_SUBMITTED && r->txid[0] != '\0') ||
	    r->state == JRNL_REVOKE_PENDING) {
		if (d->when == 0 || r->next_retry < d->when)
			d->when = r->next_retry;
	}
	return 0;
}

time_t
sync_next_due(struct enr_ctx *e, time_t now)
{
	struct next_due d;

	memset(&d, 0, sizeof(d));
	d.now = now;
	d.max_attempts = e->cfg->sync.max_attempts;
	if (jrnl_enr_each(e->jrnl, next_due_cb, &d) == -1)
		return 0;
	return d.when;
}
