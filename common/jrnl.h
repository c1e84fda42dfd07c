/*
 * jrnl.h — the LMDB journal in sync.state_dir: the truth about what smimepub
 * issued and published. The certificate index: one record per certificate
 * of ours, keyed by SHA-256(issuer DER) || serial, so publish/unpublish can
 * tell our values from foreign ones on an entry (jrnl.c); one enrolment
 * record per person moving through the state machine of DESIGN.md
 * (jrnl_enr.c); held keys (jrnl_held.c); facts about the journal
 * (jrnl_meta.c); and the grouped writes all of them go through (jrnl_tx.c).
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

/*
 * Record cert (new or existing) in state; person_id may be NULL. With mail
 * NULL only the state of an existing record changes (-1 if there is none).
 */
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
/* The same, for the certificates of one person only (an index: a pass
 * over many people must not scan every certificate for each). */
int		 jrnl_cert_each_person(struct jrnl *, const char *person_id,
		    int (*cb)(const struct jrnl_cert *, void *), void *arg);
const char	*jrnl_cert_state_str(enum jrnl_cert_state);

/*
 * Enrolment records (jrnl_enr.c): one per person, keyed by the stable id
 * (entryUUID / objectGUID), moving through the state machine of DESIGN.md.
 * Every jrnl_enr_put() is committed (durable) when it returns, and also
 * appends the transition to the person's history, so `smimepub status MAIL`
 * can show it.
 */
enum jrnl_state {
	JRNL_PLANNED = 1,
	JRNL_KEY_READY,
	JRNL_SUBMITTED,
	JRNL_ISSUED,
	JRNL_DELIVERED,
	JRNL_PUBLISHED,
	JRNL_REVOKE_PENDING,
	JRNL_REVOKED,
	JRNL_UNPUBLISHED,
	JRNL_FAILED,
};

struct jrnl_enr {
	char		 person_id[80];
	char		 mail[256];
	enum jrnl_state	 state;
	enum jrnl_state	 failed_in;	/* FAILED: the step that failed */
	char		 serial[80];	/* current certificate, "" if none */
	time_t		 not_after;
	char		 reason[256];	/* last error, "" if none */
	int		 attempts;
	time_t		 next_retry;
	char		 txid[4096];	/* CA transaction of a pending request (EST: the CSR) */
	time_t		 updated;
	/*
	 * The person's address set at the last enrolment (dir_addrs_digest:
	 * "" for mail alone), and the set the certificate names: the same
	 * but for aliases left out because another entry claims them too.
	 * "?" in both for a record written before address sets (format e1):
	 * unknown, so no re-enrolment is planned on its account.
	 */
	char		 addrs[40];
	char		 named[40];
};

const char	*jrnl_state_str(enum jrnl_state);
/* 0 found, 1 not found, -1 error. */
int		 jrnl_enr_get(struct jrnl *, const char *person_id,
		    struct jrnl_enr *out);
/* Store e (e->updated is set to now) and append it to the history. */
int		 jrnl_enr_put(struct jrnl *, struct jrnl_enr *e);
int		 jrnl_enr_each(struct jrnl *,
		    int (*cb)(const struct jrnl_enr *, void *), void *arg);
/* The history of one person, oldest first. */
int		 jrnl_enr_history(struct jrnl *, const char *person_id,
		    int (*cb)(const struct jrnl_enr *, void *), void *arg);


/*
 * Held keys (jrnl_held.c): an opaque, caller-sealed blob per person for an
 * enrolment in progress (enrol/keystore.c seals the private key and chain;
 * the journal never sees them in the clear), put with the other steps of
 * the enrolment in one grouped write (jrnl_tx_held_put). get: 0 found
 * (*blob is the caller's to free), 1 none, -1 error.
 */
int		 jrnl_held_get(struct jrnl *, const char *person_id,
		    unsigned char **blob, size_t *len);
int		 jrnl_held_del(struct jrnl *, const char *person_id);

/*
 * Grouped writes (jrnl_tx.c): the steps of one enrolment with no outside
 * effect between them (the record's transitions, the sealed key, the
 * certificate) in one LMDB commit, so one fsync instead of several, and a
 * crash keeps all of them or none. The puts are recorded (copied) and
 * written at commit, together with whatever other threads commit at the
 * same moment (one LMDB commit and one sync for all of them); commit
 * returns once tx is on disk. commit and abort free tx; commit returns -1
 * (logged) and writes nothing of tx if any put in it failed. Every other
 * write of the journal goes the same way.
 */
struct jrnl_tx;

struct jrnl_tx	*jrnl_tx_begin(struct jrnl *);
int		 jrnl_tx_commit(struct jrnl_tx *);
void		 jrnl_tx_abort(struct jrnl_tx *);
int		 jrnl_tx_cert_put(struct jrnl_tx *, X509 *cert, const char *mail,
		    const char *person_id, enum jrnl_cert_state state);
int		 jrnl_tx_enr_put(struct jrnl_tx *, struct jrnl_enr *e);
int		 jrnl_tx_held_put(struct jrnl_tx *, const char *person_id,
		    const void *blob, size_t len);
int		 jrnl_tx_meta_put(struct jrnl_tx *, const char *name,
		    const char *val);

/*
 * DNS state (jrnl_dns.c): one per person whose SMIMEA records smimepub
 * keeps (dns.zones), keyed by the stable id: pending until DNS holds what
 * the journal says, with attempts and the next retry (backoff); synced is
 * when it last did. put sets updated to now. get: 0, 1 none, -1 error.
 */
struct jrnl_dns {
	char		 person_id[80];
	int		 pending;
	int		 attempts;
	time_t		 next_retry;
	time_t		 updated;	/* last attempt */
	time_t		 synced;	/* last time DNS matched, 0 never */
	char		 reason[256];	/* why it is pending, "" if not */
};

int		 jrnl_dns_get(struct jrnl *, const char *person_id,
		    struct jrnl_dns *out);
int		 jrnl_dns_put(struct jrnl *, struct jrnl_dns *d);
int		 jrnl_dns_each(struct jrnl *,
		    int (*cb)(const struct jrnl_dns *, void *), void *arg);

/*
 * Facts about the journal itself (jrnl_meta.c), one short string by name:
 * which directory attribute its person ids are values of ("id_attribute"),
 * what the last full pass had to skip ("pass_noid"). get: 0 and val in
 * buf (truncated to sz), 1 when unset, -1 error (logged).
 */
#define JRNL_META_MAX	1024
int		 jrnl_meta_put(struct jrnl *, const char *name, const char *val);
int		 jrnl_meta_get(struct jrnl *, const char *name, char *buf,
		    size_t sz);
/*
 * A certificate put on by hand (`smimepub publish`), not issued through
 * the configured CA: remembered by its SHA-256, so a leaver's revocation
 * asks the CA about it only if it is the CA's. is_manual: 1, 0, -1 error.
 */
int		 jrnl_cert_mark_manual(struct jrnl *, X509 *cert);
int		 jrnl_cert_is_manual(struct jrnl *, const struct jrnl_cert *);

#endif
