/*
 * revoke.c — a revocation through the journal: every certificate of ours
 * for the address revoked at the CA (REVOKE_PENDING, REVOKED), then taken
 * off the entry (UNPUBLISHED), found by its stable id when the person has
 * moved out of the base. The CLI's revoke and the sync pass's leavers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/mail.h"
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
