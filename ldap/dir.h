/*
 * dir.h — the directory client (OpenLDAP libldap): connect over ldap://,
 * ldaps:// or ldapi:// (optionally StartTLS), verify the server, bind,
 * search people page by page (RFC 2696), find one person by mail with the
 * value escaped (RFC 4515 §3), and publish/unpublish certificates by the
 * rules of DESIGN.md "What is in the directory".
 * Every OpenLDAP/AD difference lives in one table, in flavour.c.
 */
#ifndef SMIMEPUB_DIR_H
#define SMIMEPUB_DIR_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/cfg.h"

struct dir;	/* opaque: one connection and its settings */

/* One column of the flavour table (flavour.c). */
struct dir_flavour {
	const char	*name;		 /* "openldap", "ad" */
	const char	*attr_usercert;	 /* how userCertificate is spelled */
	const char	*attr_smime;	 /* how userSMIMECertificate is spelled */
	const char	*attr_id;	 /* stable identity: entryUUID, objectGUID */
	const char	*attr_id_alt;	 /* the other one a journal may hold, or NULL */
	int		 id_is_binary;	 /* objectGUID is 16 raw bytes */
	const char	*attr_usercert_plain; /* 389-ds: the plain subtype, read
					  * only (its values are foreign) */
	const char	*attr_disabled;	 /* NULL, userAccountControl, nsAccountLock */
	unsigned long	 disabled_bit;	 /* 0x2 ACCOUNTDISABLE on AD */
	const char	*disabled_match; /* or: disabled when the value equals
					  * this (case-insensitive) */
	const char	*attr_guard;	 /* entryCSN / uSNChanged: lost-update
					  * guard; NULL: exact-value deletes */
	const char	*default_filter;
	int		 max_page;	 /* AD's MaxPageSize is 1000 */
	const char	*lease_class;	 /* a lease entry: cn and description */
	const char	*id_fix;	 /* what makes a missing id readable */
	const char	*attr_role_owner; /* NULL, or fSMORoleOwner: the PDC */
	const char	*attr_sync_point; /* contextCSN, highestCommittedUSN */
	int		 sync_point_per_dc; /* USNs: one DC's own numbering */
	const char	*alias_default;	 /* directory.alias_attributes unset:
					  * proxyAddresses on AD, else none */
	const char	*alias_typed;	 /* values "type:address": only smtp:
					  * is mail, SMTP: the primary */
};
const struct dir_flavour *dir_flavour_get(enum cfg_flavour);

/* One value of an attribute, bytes as read. */
struct dir_val {
	unsigned char	*data;
	size_t		 len;
};

/* One person as read from the directory. */
struct dir_person {
	char		*dn;
	char		*id;		/* entryUUID, or objectGUID in string form;
					 * NULL when unreadable: see id_bad */
	int		 id_bad;	/* DIR_ID_MISSING, DIR_ID_MALFORMED, or 0 */
	char		*mail;		/* as stored (first value) */
	char		**addrs;	/* every address, canonical: mail first,
					 * then the aliases (dir_addrs.c);
					 * n_addrs 0 when mail is missing or
					 * invalid */
	size_t		 n_addrs;
	char		*display_name;	/* displayName, else cn; may be NULL */
	char		*trigger;	/* directory.trigger_attribute; may be NULL */
	int		 disabled;
	struct dir_val	*usercert;	/* userCertificate values in order */
	size_t		 n_usercert;
	struct dir_val	*smime;		/* userSMIMECertificate values in order */
	size_t		 n_smime;
	struct dir_val	*usercert_plain; /* 389-ds: plain userCertificate */
	size_t		 n_usercert_plain;
};
void	dir_person_free(struct dir_person *);
#define DIR_ID_MISSING		1	/* absent, or not readable by us */
#define DIR_ID_MALFORMED	2	/* present, not a value of its syntax */
/*
 * Why p has no id, and what would fix it, as one sentence into buf (for a
 * log line or a report): "no entryUUID (...)". p->id_bad must be set.
 */
void	dir_id_problem(const struct dir *, const struct dir_person *p,
	    char *buf, size_t sz);

/*
 * dir_new borrows cfg (it must outlive the dir). It does not connect:
 * dir_connect does, and every operation reconnects (with backoff) when the
 * server has gone away. Errors are logged naming the URI/DN/input at fault.
 */
struct dir	*dir_new(const struct cfg_directory *cfg);
int		 dir_connect(struct dir *);
void		 dir_free(struct dir *);
/*
 * Which stable id people are read with: the flavour's attr_id (the
 * default) or its attr_id_alt (389-ds: nsUniqueId), NULL for none (a
 * reader that never needs it: no ACI must grant it, no entry lacks it).
 * -1 (logged) for any other attribute.
 */
int		 dir_set_id_attr(struct dir *, const char *attr);
const char	*dir_id_attr(const struct dir *);
/*
 * For a flavour with two possible ids (389-ds): which one this directory
 * gives the bind identity. The first entry under base matching the filter
 * that shows attr_id (entryUUID: the entryuuid plugin is on and an ACI
 * grants it) picks attr_id, else attr_id_alt (nsUniqueId). Other
 * flavours: attr_id, nothing asked. 0 and *attr, or -1 (logged).
 */
int		 dir_probe_id_attr(struct dir *, const char **attr);
/*
 * Can the bind identity read what smimepub-sync relies on, on the first
 * person under base: the stable id, modifyTimestamp (polling for changes;
 * only when polls), the mail attribute and the disabled flag (where it is
 * on every entry)? 0 yes; 1 no, with report naming the identity, the
 * attributes, the entry and the right to grant; -1 the search failed
 * (logged).
 */
/*
 * Whether some person under base (within the filter) shows attr, an alias
 * attribute, to the bind identity: 1 (*dn, malloc'd, one of them), 0 none
 * (unknown to the server's schema, not readable, or nobody has a value),
 * -1 the search failed (logged).
 */
int		 dir_alias_seen(struct dir *, const char *attr, char **dn);
int		 dir_check_access(struct dir *, int polls, char *report,
		    size_t sz);
/*
 * 1 when connected; 0 when the last operation lost the connection and
 * could not get it back (the server is down), or none was ever made.
 */
int		 dir_connected(const struct dir *);
/*
 * One connection attempt, no backoff, a failure logged at debug level
 * only: for a caller waiting for the server to come back. 0 or -1.
 */
int		 dir_try_connect(struct dir *);

/*
 * Page through base/filter (filter NULL = cfg filter), calling cb for each
 * person; the result is never held whole. cb returns 0 to go on, -1 to stop
 * (dir_search_people then returns -1). The person is freed after cb returns.
 */
typedef int	(*dir_person_cb)(const struct dir_person *, void *arg);
int		 dir_search_people(struct dir *, const char *filter,
		    dir_person_cb cb, void *arg);

/*
 * n searches under base that each match a few entries (an equality on an
 * address), all sent on this connection before the first answer is read
 * (dir_many.c): the server works on them together. No paging; a query
 * matching more than DIR_FEW_MAX entries fails (logged). Each query's cb
 * sees its people in this thread, as dir_search_people's does. Queries that
 * saw no entry before the connection was lost are asked again once, after
 * a reconnect. Sets every q[i].rc (0 or -1); returns -1 if any is -1.
 */
#define DIR_FEW_MAX	16
struct dir_query {
	const char	*filter;
	dir_person_cb	 cb;
	void		*arg;
	int		 rc;
	/* dir_many.c's own */
	int		 state, msgid;
	size_t		 seen;
};
int		 dir_search_few(struct dir *, struct dir_query *q, size_t n);

/*
 * Find the one person under base whose mail equals addr (canonical) among
 * those the configured filter matches (every entry under base while
 * dir_set_unfiltered is on: a disabled AD account is a leaver). Returns
 * 0 and *out; 1 if there is none (logged as an error: most callers need
 * one); DIR_AMBIGUOUS if there is more than one (both DNs logged); -1 if
 * the search failed, so "no such person" (a leaver) is never mistaken for
 * a directory that did not answer. addr is escaped before it enters the
 * filter.
 */
#define DIR_AMBIGUOUS	(-3)
int		 dir_find_by_mail(struct dir *, const char *addr,
		    struct dir_person **out);

/*
 * A person's addresses (dir_addrs.c, DESIGN.md): mail, then the values of
 * directory.alias_attributes (default: the flavour's, proxyAddresses on AD,
 * whose smtp:/SMTP: values only are addresses), each through mail_canon(),
 * deduplicated ASCII case-insensitively, the aliases sorted so that the
 * set and its cap do not depend on the order the server returns values in.
 * At most DIR_ADDRS_MAX: every address is an rfc822Name of one
 * certificate, and the certificate, its chain and the userSMIMECertificate
 * bundle must stay well within AD's 32,768 bytes a value (16 addresses of
 * up to 254 bytes add at most ~4.3 KB); Exchange's own address policies
 * seldom give anyone more than a handful. Aliases beyond the cap are left
 * out, with a warning.
 */
#define DIR_ADDRS_MAX		16
#define DIR_ALIAS_ATTRS_MAX	CFG_ALIAS_ATTRS_MAX
/* The alias attributes in effect (NULL-terminated, borrowed from cfg or
 * the flavour table); their number. */
size_t		 dir_alias_attrs(const struct cfg_directory *,
		    const char *out[DIR_ALIAS_ATTRS_MAX + 1]);
/*
 * The filter matching an entry that holds addr (canonical) as its mail or
 * as an alias: "(|(mail=A)(mailLocalAddress=A)(proxyAddresses=smtp:A))",
 * addr RFC 4515-escaped; equality matching of these attributes is
 * case-insensitive. malloc'd, NULL when out of memory.
 */
char		*dir_addr_filter(const struct cfg_directory *, const char *addr);
/*
 * Which of p's addresses another entry under base (within the filter)
 * claims too, as its mail or an alias: contested[i] set for p->addrs[i]
 * (n_addrs bytes), and *other (may be NULL; caller frees) the DN of the
 * first such entry. 0, or -1 when the search failed (logged).
 */
int		 dir_addrs_contested(struct dir *, const struct dir_person *p,
		    unsigned char *contested, char **other);
/*
 * A stable digest of an address set, for the journal to see it change:
 * "" for a set of just one address (as every enrolment before aliases
 * was), else 32 hex digits of SHA-256 over the addresses lower-cased,
 * sorted and joined by newlines. out holds DIR_ADDRS_DIGEST bytes.
 */
#define DIR_ADDRS_DIGEST	33
void		 dir_addrs_digest(char *const *addrs, size_t n,
		    char out[DIR_ADDRS_DIGEST]);

/*
 * Change watching by syncrepl refreshAndPersist (RFC 4533) on a connection
 * of its own, in a thread: notify(arg) is called (from that thread) for each
 * person added, modified or deleted under base after the initial refresh.
 * NULL, logged, when the server does not offer it or it cannot start: the
 * caller then polls.
 */
struct dir_watch;
struct dir_watch *dir_watch_start(const struct cfg_directory *,
		    void (*notify)(void *), void *arg);
void		 dir_watch_stop(struct dir_watch *);
/* 1 if the root DSE lists the sync control (RFC 4533), 0 if not, -1 on
 * error. */
int		 dir_watch_offered(struct dir *);

/*
 * When on, dir_find_by_mail (and so publish/unpublish) looks at every entry
 * under base, not only those matching the filter: for people who left
 * (disabled, or out of the filter) and must still be unpublished.
 */
void		 dir_set_unfiltered(struct dir *, int on);

/*
 * RFC 4515 §3 escaping of an assertion value: '*', '(', ')', '\\', NUL
 * (and every byte outside printable ASCII) become \XX. Returns a malloc'd
 * string or NULL on allocation failure.
 */
char		*dir_filter_escape(const char *val, size_t len);

/*
 * Decides whether a certificate on an entry is one smimepub published (by
 * issuer and serial, from the journal). 1 ours, 0 not.
 */
typedef int	(*dir_is_ours_fn)(X509 *cert, void *arg);

/*
 * Publish leaf (+ chain) on the one person with mail addr: in one modify,
 * our certificate becomes the first value of userCertificate and its
 * certs-only bundle the first value of userSMIMECertificate; every other value
 * of ours (is_ours) is removed; foreign values follow, byte for byte, in
 * their order. A concurrent change makes the modify fail as a whole; it is
 * retried from a fresh read. If person_out is not NULL it receives the entry
 * as read before the change.
 */
int		 dir_publish(struct dir *, const char *addr, X509 *leaf,
		    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
		    struct dir_person **person_out);
/*
 * Remove every value of ours from both attributes of the person with mail
 * addr; foreign values stay. *removed (may be NULL) gets the number of
 * certificates of ours taken off. 0 done, 1 no such entry, -1 error.
 */
int		 dir_unpublish(struct dir *, const char *addr,
		    dir_is_ours_fn is_ours, void *arg, size_t *removed);

/*
 * The server's highestCommittedUSN (root DSE, Active Directory): every
 * change on that DC gives the changed entry a uSNChanged above the value
 * read before it, so "(uSNChanged>=N+1)" finds what changed since N was
 * read. Returns 0 and *usn, 1 when the root DSE has no such attribute
 * (OpenLDAP: watch modifyTimestamp instead), -1 on error (logged).
 */
int		 dir_highest_usn(struct dir *, unsigned long long *usn);

/*
 * Change watching by DirSync (Active Directory, 1.2.840.113556.1.4.841):
 * each poll searches the naming context that holds base with the cookie of
 * the last one and gives in *changed a filter fragment matching the people
 * under base changed since ("" when none; "(objectClass=*)" when too many
 * to list), *nchanged (may be NULL) their number. changed NULL primes the
 * cookie (the first poll returns every object: call it before the first
 * full pass). flags: 0, or DIR_DIRSYNC_OBJECT_SECURITY.
 * The cookie is kept in memory only. 0, or -1 logged (an account lacking
 * the right is named as such); *changed is malloc'd.
 */
#define DIR_DIRSYNC_OBJECT_SECURITY	0x1	/* what the account may read */
struct dir_dirsync;
struct dir_dirsync *dir_dirsync_new(int flags);
void		 dir_dirsync_free(struct dir_dirsync *);
int		 dir_dirsync_poll(struct dir *, struct dir_dirsync *,
		    char **changed, size_t *nchanged);

/*
 * Find the person whose stable id (entryUUID, or objectGUID in string
 * form) is id anywhere in the naming context that holds base, whatever the
 * filter: for someone moved out of base. 0 and *out, 1 when there is no
 * such entry, -1 on error (logged).
 */
int		 dir_find_by_id(struct dir *, const char *id,
		    struct dir_person **out);
#define DIR_REFUSED	(-2)	/* the server refused the modify: no write access */
/*
 * dir_publish (leaf NULL: dir_unpublish) on the entry whose stable id is
 * id, wherever it is in the naming context (dir_find_by_id): an enrolment
 * writes by the id its person was planned under, never by the address,
 * which can change meanwhile (DESIGN.md). *before (may be NULL) receives
 * the entry as read before the change, *removed (may be NULL) the number
 * of certificates of ours taken off. 0 done, 1 no such entry, DIR_REFUSED
 * (no write access: logged), -1 on any other error (logged).
 */
int		 dir_publish_id(struct dir *, const char *id, X509 *leaf,
		    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
		    struct dir_person **before, size_t *removed);
/*
 * The same for keys.separate_signing's pair: leaf (the encryption
 * certificate) first and second (the signing one, may be NULL) right after
 * it in both attributes, each with chain in its userSMIMECertificate
 * bundle; both kept, every other value of ours removed.
 */
int		 dir_publish_id_pair(struct dir *, const char *id, X509 *leaf,
		    X509 *second, STACK_OF(X509) *chain, dir_is_ours_fn is_ours,
		    void *arg, struct dir_person **before, size_t *removed);

/*
 * Write a one-line status into directory.status_attribute of dn (replace:
 * the attribute is single-valued and only smimepub writes it). A no-op when
 * no status attribute is configured. Control characters are replaced.
 */
int		 dir_set_status(struct dir *, const char *dn, const char *status);

/*
 * The lease of sync.lease_dn (dir_lease.c; sync/lease.c decides what the
 * values mean). read: 0 and *val, the attribute's one value (malloc'd;
 * NULL when it has none), 1 when the entry does not exist, -1 logged (also
 * for several values or one that is no lease). swap: old (NULL: no value)
 * becomes new in one modify under the assertion control on old (RFC 4528)
 * where the server offers it (AD does not: there old may not be NULL); 0
 * done, 1 the value was not old any more, -1 logged (the modify may have
 * happened: read again). create: add the entry, of the flavour's
 * lease_class, named by its cn= RDN, holding val; 0, 1 when it exists
 * already, -1 logged.
 */
int		 dir_lease_read(struct dir *, const char *dn, const char *attr,
		    char **val);
int		 dir_lease_swap(struct dir *, const char *dn, const char *attr,
		    const char *old, const char *new);
int		 dir_lease_create(struct dir *, const char *dn,
		    const char *attr, const char *val);

/*
 * `smimepub doctor` (dir_doctor.c). dir_probe_write proves the write right
 * on both certificate attributes of dn without changing it: add is a
 * throwaway valid certificate (DER), absent one that is not on the entry.
 * 1 proved, 0 refused (insufficientAccessRights), -1 anything else
 * (logged). OpenLDAP only: AD and 389-ds are not known to check rights
 * before values. dir_server_time: the server's clock, from AD's root DSE
 * currentTime or OpenLDAP's cn=Monitor where enabled; 0 (*src says which),
 * 1 when the server exposes none, -1 not connected (logged).
 */
int		 dir_probe_write(struct dir *, const char *dn,
		    const struct dir_val *add, const struct dir_val *absent);
int		 dir_server_time(struct dir *, time_t *t, const char **src);

/*
 * Replicas (dir_replica.c). lease_authority: the server the lease lives on
 * when sync.lease_uri is not set, in *uri (one URI), and *why in words for
 * the log: the first server of directory.uri (OpenLDAP), or the domain
 * controller holding the PDC emulator role (AD: fSMORoleOwner). 0, or -1
 * logged (both malloc'd). sync_point: where this server is now (contextCSN
 * values; AD: its invocationId and highestCommittedUSN), malloc'd;
 * 0 or -1 logged. sync_reached: whether this server has received
 * everything up to a point read on another: 1 yes, 0 not yet, -1 logged.
 */
int		 dir_lease_authority(struct dir *, char **uri, char **why);
int		 dir_sync_point(struct dir *, char **point);
int		 dir_sync_reached(struct dir *, const char *point);

#endif
