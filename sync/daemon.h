/*
 * daemon.h — what smimepub-sync's main.c and daemon.c share; nothing else
 * includes it.
 */
#ifndef SMIMEPUB_SYNC_DAEMON_H
#define SMIMEPUB_SYNC_DAEMON_H

#include <signal.h>
#include <stdatomic.h>

#include "common/cfg.h"
#include "enrol/enrol.h"
#include "ldap/dir.h"
#include "sync/lease.h"

extern volatile sig_atomic_t sync_quit, sync_reload;	/* set by signals */
extern int sync_dry;		/* --dry-run */
extern atomic_int sync_kick;	/* set by the syncrepl thread */

/* SIGTERM and SIGINT set sync_quit, SIGHUP sync_reload. */
void	sync_signals(void);
/* This process's pid into path (atomically); -1 logged. */
int	sync_write_pid(const char *path);

/*
 * Start watching as cfg sync.watch says: the syncrepl thread (auto, where
 * offered; syncrepl, required), or the DirSync state (dirsync). -1 when
 * the required way is not available (logged).
 */
int	sync_watch_start(struct enr_ctx *e, struct dir_watch **watch,
	    struct dir_dirsync **ds);
void	sync_watch_stop(struct dir_watch **watch, struct dir_dirsync **ds);
/* Say at start which right the bind identity lacks (dir_check_access). */
void	sync_check_rights(struct enr_ctx *e, int polls);

/* The lease as cfg says (none without sync.lease_dn), looked at once. */
int	sync_lease_open(const struct cfg *cfg, int once, struct lease **lease);
/* After a reload: keep a held lease when its DN stays (lease_reload). */
int	sync_lease_reload(const struct cfg *cfg, struct lease **lease);

/* SIGHUP: log.level again, syslog and the audit file reopened. */
void	sync_reopen_logs(const struct cfg *cfg);
/* The STATUS= of systemctl status: when the last pass ended, and how. */
void	sync_notify_pass(int ok, const char *summary);

#endif
