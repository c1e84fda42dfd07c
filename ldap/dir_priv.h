/*
 * dir_priv.h — what the files of the directory client (ldap/dir*.c) share,
 * and what its integration test (tests/helpers/dir_itest.c) reaches
 * inside. Not for the programs on top: they use ldap/dir.h only.
 */
#ifndef SMIMEPUB_DIR_PRIV_H
#define SMIMEPUB_DIR_PRIV_H

#include <stdint.h>

#include <ldap.h>

#include "ldap/dir.h"

struct dir {
	const struct cfg_directory *cfg;
	const struct dir_flavour *fl;
	const char	*attr_id;	/* the id read (dir_set_id_attr); NULL: none */
	LDAP		*ld;		/* NULL when not connected */
	int		 has_assert;	/* root DSE lists RFC 4528 1.3.6.1.1.12 */
	int		 unfiltered;	/* find by mail ignores the filter */
	char		*nc;		/* dir_naming_context, once read */
};

#define DIR_MAX_RETRY	5	/* publish: re-reads after a concurrent change */

/* cfg timeout in seconds, 10 when unset. */
int	dir_timeout(const struct dir *);
/* Make sure there is a connection (after a failed reconnect there is not). */
int	dir_ensure(struct dir *);
/* The server went away (or never answered): reconnect and retry once. */
int	dir_conn_lost(int rc);
/* Drop the connection and connect again with backoff; 0 or -1 (logged). */
int	dir_reconnect(struct dir *);
/* SASL GSSAPI bind (dir_sasl.c); tls: the connection is TLS. */
int	dir_bind_gssapi(struct dir *, LDAP *ld, int tls, char *err,
	    size_t errsz);
/* Is dn base itself or below it (case-insensitive, at a comma)? */
int	dir_dn_under(const char *dn, const char *base);
/*
 * The naming context (root DSE namingContexts) that holds cfg base, the
 * longest that does: DirSync and the search by id start there. 0 and a
 * malloc'd *nc, or -1 (logged). Read once per struct dir (it does not
 * change while a server runs), reconnecting once if the connection was
 * lost, as a search does.
 */
int	dir_naming_context(struct dir *, char **nc);
/* An entry of a search's answer, handed to a caller's fn; 0 or -1 (stop). */
typedef int (*entry_fn)(struct dir *, LDAPMessage *, void *);
/*
 * Search under base (NULL: cfg base) with filter, page entries a page (0:
 * not paged), at most sizelimit (0: any; *sizelimit_hit, may be NULL, says
 * it was reached), each entry to fn; reconnecting and retrying once if the
 * server went away first. 0, or -1 logged.
 */
int	dir_search(struct dir *d, const char *base, const char *filter,
	    int page, int sizelimit, entry_fn fn, void *arg,
	    int *sizelimit_hit);
/* dir_search.c: the attributes a dir_person is read from (NULL-terminated),
 * and the person built from one entry (*guard: the lost-update guard value,
 * when guard is not NULL). 0, or -1 logged. */
#define DIR_NATTRS	(12 + CFG_ALIAS_ATTRS_MAX)
void	dir_attrs(struct dir *, char *attrs[DIR_NATTRS]);
int	dir_person_from_entry(struct dir *, LDAPMessage *e,
	    struct dir_person **out, char **guard);
/*
 * The same from any source of attribute values: vals returns the values of
 * attr (freed with ldap_value_free_len) or NULL. dir_person_from_entry
 * reads an LDAPMessage through it; tests/fuzz/fuzz_person.c feeds it bytes.
 */
struct dir_entry_src {
	const char	*dn;
	struct berval	**(*vals)(void *arg, const char *attr);
	void		*arg;
};
/* dir_id.c: the stable id of src into p->id, or p->id NULL and p->id_bad
 * set; -1 only when out of memory (logged by the caller). */
int	dir_id_read(struct dir *, const struct dir_entry_src *src,
	    struct dir_person *p);
int	dir_person_parse(struct dir *, const struct dir_entry_src *,
	    struct dir_person **out, char **guard);
/* dir_addrs.c: p->addrs from src (p->mail read already); -1 on ENOMEM. */
int	dir_person_addrs(struct dir *, const struct dir_entry_src *src,
	    struct dir_person *p);
/*
 * dir_lease.c: the lease attribute's values v (may be NULL) as the one
 * lease value into *val (NULL: none); -1 logged for several values, an
 * empty or overlong one or one holding a NUL, which smimepub-sync never
 * writes. No I/O (tests/fuzz/fuzz_lease.c).
 */
int	dir_lease_value(const char *dn, const char *attr, struct berval **v,
	    char **val);
/* log_err "URI: what: ldap_err2string (diagnostic message)". */
void	dir_log_ldap(struct dir *, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * dir_find_by_mail that also returns the lost-update guard value (entryCSN,
 * uSNChanged) as read with the entry; *guard is NULL when the entry has
 * none. The caller frees *guard with free().
 */
int	dir_find_guarded(struct dir *, const char *addr,
	    struct dir_person **out, char **guard);

/* The same by stable id (dir_find_by_id): 0, 1 when none, or -1. */
int	dir_find_id_guarded(struct dir *, const char *id,
	    struct dir_person **out, char **guard);

/*
 * Test hook: when set, dir_publish/dir_unpublish call it after each read of
 * the entry and before the modify (with the attempt number, 0 first), so a
 * test can change the entry in between and see the modify fail and retry.
 */
extern void	(*dir_test_before_modify)(const char *dn, int attempt,
		    void *arg);
extern void	*dir_test_before_modify_arg;

/*
 * One modify of the two certificate attributes of dn: the current values
 * (cur_*) are replaced by the new lists (new_*) as dir_publish does it,
 * guarded by guard (may be NULL). Returns the LDAP result code. Exposed so
 * that the test can hand it a stale guard.
 */
int	dir_modify_certs(struct dir *, const char *dn, const char *guard,
	    const struct dir_val *cur_uc, size_t n_cur_uc,
	    const struct dir_val *new_uc, size_t n_new_uc,
	    const struct dir_val *cur_sm, size_t n_cur_sm,
	    const struct dir_val *new_sm, size_t n_new_sm);

/*
 * dir_replica.c's parsers of what a server sends, exposed for the fuzz
 * target. utd_cursor: the USN of the cursor for invocationId id in a
 * REPLUPTODATEVECTOR_BLOB (MS-DRSR 5.166); 0 and *usn, 1 none (or not such
 * a blob). csn_covered: 1 when have (NULL-terminated) holds a contextCSN
 * of the serverID of want (wlen bytes) at least as recent, or want is no
 * CSN; else 0.
 */
int	dir_utd_cursor(const void *blob, size_t len, const unsigned char id[16],
	    uint64_t *usn);
int	dir_csn_covered(struct berval **have, const char *want, size_t wlen);

#endif
