/*
 * cli.h — the commands of the smimepub admin CLI, one file per group.
 * Each returns the exit status: 0 success, 1 the operation failed (reason
 * on stderr, naming the input), 2 usage or configuration error.
 */
#ifndef SMIMEPUB_CLI_H
#define SMIMEPUB_CLI_H

#include "common/cfg.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* argv[0] is the command name ("publish", "show", ...). */
int	cmd_check_config(struct cfg *, int argc, char **argv);
int	cmd_publish(struct cfg *, int argc, char **argv);
int	cmd_unpublish(struct cfg *, int argc, char **argv);
int	cmd_show(struct cfg *, int argc, char **argv);
int	cmd_recover(struct cfg *, int argc, char **argv);
/* enrol and renew share one implementation. */
int	cmd_enrol(struct cfg *, int argc, char **argv);
int	cmd_revoke(struct cfg *, int argc, char **argv);
int	cmd_status(struct cfg *, int argc, char **argv);
/* argv[0] is "init", "list" or "crl". */
int	cmd_ca(struct cfg *, int argc, char **argv);
/* export-smimea --zone ZONE ...: DNS SMIMEA records (RFC 8162) on stdout. */
int	cmd_smimea(struct cfg *, int argc, char **argv);
/* dns-sync [--dry-run] [MAIL]: SMIMEA records of dns.zones (cmd_dns.c). */
int	cmd_dns_sync(struct cfg *, int argc, char **argv);
/* lookup MAIL [--format F]: what smimepub-lookupd would answer. */
int	cmd_lookup(struct cfg *, int argc, char **argv);

/* doctor: check-config, then the setup live; one line per check. */
int	cmd_doctor(struct cfg *, int argc, char **argv);

/* status --json (cmd_status_json.c): every record (mail NULL), or the
 * history of each of the n people ids who have mail. 0, or -1 logged. */
struct jrnl;
int	status_json(struct jrnl *j, const char *mail, char (*ids)[80], int n);
/* approve-leavers N: one held pass of mass leavers (sync.max_leavers). */
int	cmd_approve_leavers(struct cfg *, int argc, char **argv);

/* Validate a mail address from the command line into out (MAIL_MAX + 1). */
int	cli_mail_arg(const char *arg, char *out);

#endif
