/*
 * jrnl.h — the LMDB journal in sync.state_dir: the truth about what smimepub
 * issued and published. This first part holds the certificate index: one
 * record per certificate of ours, keyed by SHA-256(issuer DER) || serial, so
 * publish/unpublish can tell our values from foreign ones on an entry.
 * The enrolment state machine (DESIGN.md) will be added beside it.
 */
#ifndef SMIMEPUB_JRNL_H
#define SMIMEPUB_JRNL_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

struct jrnl;

enum jrnl_cert_state {
	JRNL_CERT_ISSUED = 1,
	JRNL_CERT_PUBLISHED,
	JRNL_CERT_UNPUBLISHED,
	JRNL_CERT_REVOKED,
};

struct jrnl_cert {
	char		 serial[80];	/* upper-case hex */
	char		 mail[256];
	char		 person_id[80];
	char		 sha256[65];
	char		 issuer[256];	/* RFC 2253, truncated for display */
	enum jrnl_cert_state state;
	time_t		 not_after;
	time_t		 updated;
	unsigned char	 key[96];	/* index key, for jrnl_cert_x509() */
	size_t		 keylen;
};

/* Open (creating state_dir 0700 and the database if needed). */
struct jrnl	*jrnl_open(const char *state_dir);
void		 jrnl_close(struct jrnl *);

/* Record cert (new or existing) in state; person_id may be NULL. */
int		 jrnl_cert_put(struct jrnl *, X509 *cert, const char *mail,
		    const char *person_id, enum jrnl_cert_state state);
/* 1 if cert (by issuer and serial) is in the index, 0 if not, -1 error. */
int		 jrnl_cert_is_ours(struct jrnl *, X509 *cert);
/* Fill *out for cert; 0 found, 1 not found, -1 error. */
int		 jrnl_cert_get(struct jrnl *, X509 *cert, struct jrnl_cert *out);
/* The certificate itself, as recorded; NULL logged if missing. */
X509		*jrnl_cert_x509(struct jrnl *, const struct jrnl_cert *);
/* Call cb for each record (in key order); cb returns -1 to stop. */
int		 jrnl_cert_each(struct jrnl *,
		    int (*cb)(const struct jrnl_cert *, void *), void *arg);
const char	*jrnl_cert_state_str(enum jrnl_cert_state);

#endif
