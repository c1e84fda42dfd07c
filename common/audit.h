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
 * One line: {"time", "event", "person", "mail", "serial", "sha256", "ca",
 * "outcome", "reason"}. cert, person, ca and reason may be NULL.
 * Returns 0, or -1 (logged) if the line could not be written.
 */
int	audit_event(const char *event, const char *person, const char *mail,
	    X509 *cert, const char *ca, const char *outcome,
	    const char *reason);

#endif
