/*
 * revoke.c — a revocation through the journal: every certificate of ours
 * for the address revoked at the CA (REVOKE_PENDING, REVOKED), then taken
 * off the entry (UNPUBLISHED), found by its stable id when the person has
 * moved out of the base. The CLI's revoke and the sync pass's leavers;
 * and, after an enrolment, the certificates the new one supersedes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

struct enr_revoke_arg {
	const char	*mail;
	const char	*dn;		/* the entry, for the audit log */
	struct jrnl_cert *todo;		/* collected first, acted on after */
	size_t		 n, cap;
};

static int
enr_revoke_collect(const struct jrnl_cert *r, void *arg)
{
	struct enr_revoke_arg *a = arg;
	struct jrnl_cert *t;

	if (!mail_eq(r->mail, a->mail) || r->state == JRNL_CERT_REVOKED ||
	    r->not_after < time(NULL))	/* expired: nothing to revoke */
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4;

		if ((t = reallocarray(a->todo, cap, sizeof(*t))) == NULL)
			return -1;
		a->todo = t;
		a->cap = cap;
	}
	a->todo[a->n++] = *r;
	return 0;
}

/* A leaver's why for the audit log ("deleted", ...), or NULL. */
static const char *
enr_leave(const struct enr_ctx *e)
{
	const char *w = e->leave_why;

	if (w == NULL)
		return NULL;
	return strncmp(w, "left: ", 6) == 0 ? w + 6 : w;
}

/* Revoke each collected certificate at the CA; returns how many failed. */
static int
enr_revoke_all(struct enr_ctx *e, struct enr_revoke_arg *a, int reason)
{
	const struct jrnl_cert *r;
	X509 *c;
	size_t i;
	int failed = 0;

	for (i = 0; i < a->n; i++) {
		r = &a->todo[i];
		if ((c = jrnl_cert_x509(e->jrnl, r)) != NULL &&
		    jrnl_cert_is_manual(e->jrnl, r) == 1 &&
		    !ca_issued_here(e->ca, c)) {
			/* put on by hand, another CA's: that CA would only
			 * refuse (and a refusal retried forever); unpublished
			 * all the same by the caller */
			log_warn("%s: serial %s was put on by hand and not "
			    "issued by CA %s: not revocable here, unpublished "
			    "only", r->mail, r->serial, ca_name(e->ca));
			if (jrnl_cert_put(e->jrnl, c, r->mail, r->person_id,
			    JRNL_CERT_UNPUBLISHED) == -1)
				failed++;
			(void)audit_event("revocation", r->person_id, r->mail,
			    c, ca_name(e->ca), "not revocable here", NULL);
			X509_free(c);
			continue;
		}
		if (c == NULL || enr_ca_revoke(e, c, reason) == -1 ||
		    jrnl_cert_put(e->jrnl, c, r->mail, r->person_id,
		    JRNL_CERT_REVOKED) == -1)
			failed++;
		else {
			log_info("%s: revoked serial %s (%s)", r->mail,
			    r->serial, ca_reason_str(reason));
			(void)audit_event_at("revocation", r->person_id,
			    r->mail, c, ca_name(e->ca), "revoked",
			    ca_reason_str(reason), a->dn, enr_leave(e));
		}
		X509_free(c);
	}
	return failed;
}

/*
 * A leaver no longer under base: find the entry by its stable id anywhere
 * in the naming context (moved to another OU) and take our certificates
 * off it there. A DC that refuses (the service account may write in the
 * people OU only) is recorded, not failed: the revocation stands. The
 * record stays REVOKED with failed_in = UNPUBLISHED and a backoff, and
 * full passes try again (enr_unpublish_retry) until the delegation is
 * widened: reported (log warning, audit "refused") the first time only.
 * *removed counts what was taken off.
 */
static void
enr_unpublish_moved(struct enr_ctx *e, const char *mail, const char *id,
    struct jrnl_enr *r, size_t *removed)
{
	char *dn = NULL;
	int rc, again = r->state == JRNL_REVOKED &&
	    r->failed_in == JRNL_UNPUBLISHED;

	rc = enr_unpublish(e->jrnl, e->dir, id, removed, &dn);
	if (rc == 1) {
		log_warn("%s: not in the directory (deleted?); revoked, "
		    "nothing to unpublish", mail);
		if (again)
			(void)enr_step(e, r, JRNL_UNPUBLISHED);
	} else if (rc == 0) {
		log_info("%s: moved out of %s to %s; %zu certificate(s) of "
		    "ours unpublished there", mail, e->cfg->directory.base,
		    dn, *removed);
		r->serial[0] = '\0';
		r->not_after = 0;
		r->attempts = 0;
		r->next_retry = 0;
		if (r->person_id[0] != '\0')
			(void)enr_step(e, r, JRNL_UNPUBLISHED);
		(void)audit_event_at("unpublication", id, mail, NULL,
		    ca_name(e->ca), *removed > 0 ? "unpublished" : "none",
		    "moved out of base", dn, enr_leave(e));
	} else {
		snprintf(r->reason, sizeof(r->reason), "revoked; unpublish "
		    "%s at %s: %s", rc == DIR_REFUSED ? "refused" : "failed",
		    dn != NULL ? dn : id, rc == DIR_REFUSED ? "no write access "
		    "to the certificate attributes there" : log_last_err());
		r->failed_in = JRNL_UNPUBLISHED;
		r->attempts = again ? r->attempts + 1 : 1;
		r->next_retry = enr_backoff(r->attempts);
		if (again)
			log_info("%s: %s (try %d; the next after %lld s)",
			    mail, r->reason, r->attempts,
			    (long long)(r->next_retry - time(NULL)));
		else
			log_warn("%s: %s; tried again at full passes, "
			    "backing off", mail, r->reason);
		if (r->person_id[0] != '\0')
			(void)jrnl_enr_put(e->jrnl, r);
		if (!again)
			(void)audit_event_at("unpublication", id, mail, NULL,
			    ca_name(e->ca), rc == DIR_REFUSED ? "refused" :
			    "failed", r->reason, dn, enr_leave(e));
	}
	free(dn);
}

int
enr_unpublish_retry(struct enr_ctx *e, const char *person_id)
{
	struct jrnl_enr r;
	size_t removed = 0;

	if (jrnl_enr_get(e->jrnl, person_id, &r) != 0)
		return -1;
	if (r.state != JRNL_REVOKED || r.failed_in != JRNL_UNPUBLISHED)
		return 0;
	enr_unpublish_moved(e, r.mail, person_id, &r, &removed);
	return r.state == JRNL_UNPUBLISHED ? 0 : 1;
}

enum enr_outcome
enr_revoke(struct enr_ctx *e, const char *mail, const char *person_id,
    int reason)
{
	struct enr_revoke_arg a;
	struct dir_person *p = NULL;
	struct jrnl_enr r;
	size_t removed = 0;
	enum enr_outcome rc = ENR_FAILED;
	int frc;

	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	a.mail = mail;
	log_clear_err();
	if ((frc = dir_find_by_mail(e->dir, mail, &p)) == 0) {
		/* an entry whose id cannot be read: the pass's record (if
		 * any) is the one to close */
		if (p->id != NULL)
			enr_record_init(&r, NULL, p, mail, e->jrnl);
		else if (person_id == NULL ||
		    jrnl_enr_get(e->jrnl, person_id, &r) != 0)
			memset(&r, 0, sizeof(r));
		if (r.person_id[0] != '\0' &&
		    enr_step(e, &r, JRNL_REVOKE_PENDING) == -1)
			goto out;
	} else if (frc == -1) {
		/* the directory did not answer: that is not a leaver gone
		 * from it; the record stays as it is for the next pass */
		log_err("%s: revocation left for later: the directory could "
		    "not be searched", mail);
		goto out;
	} else {
		log_warn("%s: not under %s (deleted, or moved out); revoking "
		    "from the journal, then looking for the entry by its id",
		    mail, e->cfg->directory.base);
		/* the sync pass knows whose record it is: close it, or the
		 * next pass would find the same leaver again */
		if (person_id != NULL && jrnl_enr_get(e->jrnl, person_id,
		    &r) == 0 && enr_step(e, &r, JRNL_REVOKE_PENDING) == -1)
			goto out;
	}
	a.dn = p != NULL ? p->dn : NULL;
	if (jrnl_cert_each(e->jrnl, enr_revoke_collect, &a) == -1 ||
	    enr_revoke_all(e, &a, reason) > 0)
		goto out;
	if (r.person_id[0] != '\0' && enr_step(e, &r, JRNL_REVOKED) == -1)
		goto out;
	/* keys.deliver_history's kept keys: a leaver's go with them */
	if (r.person_id[0] != '\0')
		enr_history_prune(e, r.person_id, 0);
	if (p != NULL) {
		/* by its id; an entry whose id cannot be read (reported by
		 * the pass) can only be found again by its address */
		if ((p->id != NULL ? enr_unpublish(e->jrnl, e->dir, p->id,
		    &removed, NULL) : dir_unpublish(e->dir, mail, enr_is_ours,
		    e->jrnl, &removed)) < 0)
			goto out;
		r.serial[0] = '\0';
		r.not_after = 0;
		if (r.person_id[0] != '\0' &&
		    enr_step(e, &r, JRNL_UNPUBLISHED) == -1)
			goto out;
		(void)audit_event_at("unpublication", p->id, mail, NULL,
		    ca_name(e->ca), removed > 0 ? "unpublished" : "none", NULL,
		    p->dn, enr_leave(e));
		enr_status(e, p->dn, "revoked", &r);
	} else if (person_id != NULL)
		enr_unpublish_moved(e, mail, person_id, &r, &removed);
	rc = ENR_DONE;
	if (a.n == 0 && removed == 0) {
		/* not a failure of the person's record: there was nothing
		 * (an error to the command line; a pass closing the record
		 * of someone never enrolled just says so) */
		if (person_id == NULL)
			log_err("%s: no certificate of ours to revoke", mail);
		else
			log_info("%s: left; no certificate of ours to revoke; "
			    "record closed", mail);
		rc = ENR_NOTHING;
	}
out:
	if (rc == ENR_FAILED && p != NULL)
		enr_fail(e, &r);
	free(a.todo);
	dir_person_free(p);
	return rc;
}

struct enr_orphans {
	const char	*person, *mail;
	X509		*keep;
	struct jrnl	*j;
	struct ca	*ca;
	X509		*found[16];
	int		 why[16];	/* ORPHAN_* */
	int		 n;
};

enum { ORPHAN_UNPUBLISHED, ORPHAN_MOVED, ORPHAN_ADDRS };
static const char *const orphan_why[] = {
	"issued but never published",
	"a former address",
	"the addresses changed",
};

static int
enr_orphan_cb(const struct jrnl_cert *r, void *arg)
{
	struct enr_orphans *o = arg;
	int why = strcmp(r->mail, o->mail) != 0 ? ORPHAN_MOVED :
	    r->state == JRNL_CERT_ISSUED ? ORPHAN_UNPUBLISHED : ORPHAN_ADDRS;
	X509 *c;

	if (r->state == JRNL_CERT_REVOKED || strcmp(r->person_id, o->person) ||
	    o->n == 16 || r->not_after < time(NULL))
		return 0;
	if ((c = jrnl_cert_x509(o->j, r)) == NULL)
		return 0;
	/* a renewal's predecessor naming the same addresses stays valid, and
	 * one `smimepub publish` put there from another CA is not ours to
	 * revoke */
	if (X509_cmp(c, o->keep) == 0 || (why == ORPHAN_ADDRS &&
	    (x509_addrs_same(c, o->keep) || !ca_issued_here(o->ca, c))))
		X509_free(c);
	else {
		o->why[o->n] = why;
		o->found[o->n++] = c;
	}
	return 0;
}

/*
 * Certificates of this person that the new one supersedes, revoked so that
 * no unaccounted certificate stays valid (DESIGN.md: "found and
 * revoked"): those issued but never published (an enrolment a crash
 * interrupted after the CA answered, an answer that failed the check), and
 * any still valid for an address that is no longer the person's (an
 * address change, however the enrolment for the new one came about: a
 * pending CA, a failed renewal first), or naming another set of addresses
 * (an alias added, removed, or left out as contested). A renewal's
 * predecessor naming the same addresses is not revoked: it stays valid for
 * what was encrypted to it.
 */
void
enr_revoke_orphans(struct enr_ctx *e, const char *mail, const char *person,
    X509 *keep)
{
	struct enr_orphans o;
	char why[96];
	int i;

	memset(&o, 0, sizeof(o));
	o.person = person;
	o.mail = mail;
	o.keep = keep;
	o.j = e->jrnl;
	o.ca = e->ca;
	if (jrnl_cert_each_person(e->jrnl, person, enr_orphan_cb,
	    &o) == -1)
		return;
	for (i = 0; i < o.n; i++) {
		if (enr_ca_revoke(e, o.found[i], CA_REASON_SUPERSEDED) == 0 &&
		    jrnl_cert_put(e->jrnl, o.found[i], NULL, NULL,
		    JRNL_CERT_REVOKED) == 0) {
			snprintf(why, sizeof(why), "superseded: %s",
			    orphan_why[o.why[i]]);
			log_info("%s: revoked a certificate, %s", mail, why);
			(void)audit_event("revocation", person, mail,
			    o.found[i], ca_name(e->ca), "revoked", why);
		}
		X509_free(o.found[i]);
	}
}
