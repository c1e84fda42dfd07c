/*
 * audit.h — the audit log: one JSON object per line in log.audit_file for
 * every issuance, publication, revocation, unpublication and failure, so an
 * auditor can answer "who got which certificate from which CA, and when".
 */
#ifndef SMIMEPUB_AUDIT_H
#define SMIMEPUB_AUDIT_H

#include <openssl/x509.h>

/* Open path for appending (0600, created if needed); NULL path: off. */
int	audit_open(const char *path);
void	audit_close(void);
/*
 * SIGHUP: open path (NULL: off) and write there from now on, the old file
 * closed, so that a file renamed by logrotate is left alone. On failure
 * the old file stays in use (-1, logged).
 */
int	audit_reopen(const char *path);

/*
 * Who acts, on every line from now on: "daemon" (the default: the sync
 * service) or "cli" (the admin command; its real user and SUDO_USER are
 * recorded too). Call before the first event.
 */
void	audit_set_actor(const char *actor);

/*
 * One event. Every line carries {"time", "event", "person", "mail",
 * "serial", "sha256", "ca", "outcome", ["reason"], "issuer", "dn",
 * ["leave"], ["step"], "host", "actor", "user", ["sudo_user"]}: serial,
 * sha256 and issuer from cert, else serial from serial (issuer null); dn
 * the entry acted on (null when there is none: a deleted leaver).
 * event is one of issuance, publication, revocation, unpublication,
 * adoption, failure; outcome one of the list in smimepub-sync(8) (never a
 * journal state name); leave a leaver's why (deleted, disabled, out of
 * filter); step, for a failure, the step that failed. Only event and
 * outcome are required.
 */
struct audit_rec {
	const char	*event, *person, *mail;
	X509		*cert;
	const char	*serial;
	const char	*ca, *outcome, *reason;
	const char	*dn, *leave, *step;
};
/* 0, or -1 (logged) if the line could not be written. */
int	audit_log(const struct audit_rec *);
/* audit_event on the entry dn, for a leaver: why they left (leave). */
int	audit_event_at(const char *event, const char *person, const char *mail,
	    X509 *cert, const char *ca, const char *outcome,
	    const char *reason, const char *dn, const char *leave);
/* audit_log without dn, serial, leave or step. */
int	audit_event(const char *event, const char *person, const char *mail,
	    X509 *cert, const char *ca, const char *outcome,
	    const char *reason);

#endif
