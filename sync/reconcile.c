/*
 * reconcile.c — one sync pass: read the people page by page, compare each
 * with the journal and plan; then carry the plan out. Planning holds only
 * the actions (id and addresses), never the entries, and no directory write
 * happens while the paged search is still open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"
#include "sync/sync.h"
#include "sync/sync_priv.h"


struct sync_plan {
	struct enr_ctx	*e;
	struct sync_stats *st;
	struct sync_item *items;
	size_t		 n, cap;
	char		(*seen)[80];
	size_t		 nseen, capseen;
	time_t		 now;
	struct sync_contest *contest;	/* full passes: addresses held twice */
};

static int
plan_add(struct sync_plan *pl, enum sync_act act, const char *id,
    const char *mail, const char *old_mail, const char *serial,
    const char *why)
{
	struct sync_item *it;

	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 64;

		if ((it = reallocarray(pl->items, cap, sizeof(*it))) == NULL) {
			log_err("sync: out of memory planning the pass");
			return -1;
		}
		pl->items = it;
		pl->cap = cap;
	}
	it = &pl->items[pl->n++];
	memset(it, 0, sizeof(*it));
	it->act = act;
	snprintf(it->id, sizeof(it->id), "%s", id);
	snprintf(it->mail, sizeof(it->mail), "%s", mail);
	snprintf(it->old_mail, sizeof(it->old_mail), "%s", old_mail ? old_mail : "");
	snprintf(it->serial, sizeof(it->serial), "%s", serial ? serial : "");
	snprintf(it->why, sizeof(it->why), "%s", why);
	return 0;
}

static int
seen_add(struct sync_plan *pl, const char *id)
{
	char (*s)[80];

	if (pl->nseen == pl->capseen) {
		size_t cap = pl->capseen ? pl->capseen * 2 : 256;

		if ((s = reallocarray(pl->seen, cap, sizeof(*s))) == NULL) {
			log_err("sync: out of memory planning the pass");
			return -1;
		}
		pl->seen = s;
		pl->capseen = cap;
	}
	snprintf(pl->seen[pl->nseen++], 80, "%s", id);
	return 0;
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Serial of the first userCertificate value, "" if none or unreadable. */
static void
first_serial(const struct dir_person *p, char *out, size_t sz)
{
	X509 *c;
	char *s;

	out[0] = '\0';
	if (p->n_usercert == 0 || x509_der_serial_hex(p->usercert[0].data,
	    p->usercert[0].len, out, sz) == 0)
		return;
	if ((c = x509_from_der(p->usercert[0].data,
	    p->usercert[0].len)) == NULL)
		return;
	if ((s = x509_serial_hex(c)) != NULL)
		snprintf(out, sz, "%s", s);
	free(s);
	X509_free(c);
}

/*
 * The entry's first userCertificate is ours and current; is the rest as
 * DESIGN.md wants it? Our bundle first in userSMIMECertificate and holding
 * that certificate (Outlook reads it first: a stale or missing one hides
 * the good userCertificate), and no other value of ours (an expired,
 * revoked or superseded one put back by hand or by a restore). Foreign
 * values are no reason. Cheap on the usual entry (one value each): a byte
 * search, no parse; only extra values are parsed.
 */
static int
entry_untidy(struct jrnl *j, const struct dir_person *p)
{
	const struct dir_val *uc = &p->usercert[0];
	STACK_OF(X509) *sk;
	X509 *c;
	size_t i;
	int ours = 0;

	if (p->n_smime == 0 || memmem(p->smime[0].data, p->smime[0].len,
	    uc->data, uc->len) == NULL)
		return 1;
	for (i = 1; i < p->n_usercert && !ours; i++) {
		if ((c = x509_from_der(p->usercert[i].data,
		    p->usercert[i].len)) == NULL)
			continue;	/* unreadable: not ours to judge */
		ours = jrnl_cert_is_ours(j, c) == 1;
		X509_free(c);
	}
	for (i = 1; i < p->n_smime && !ours; i++) {
		if ((sk = x509_certsonly_parse(p->smime[i].data,
		    p->smime[i].len)) == NULL)
			continue;
		ours = sk_X509_num(sk) > 0 &&
		    jrnl_cert_is_ours(j, sk_X509_value(sk, 0)) == 1;
		sk_X509_pop_free(sk, X509_free);
	}
	return ours;
}

/*
 * A leaver's record that still needs acting on: everything but a closed one
 * (REVOKED, UNPUBLISHED). A renewal that failed or waits at the CA keeps
 * the certificate published before it valid and on the entry, and a
 * revocation that failed must be tried again: those leave too. Leaving
 * does not wait for an enrolment's backoff; a revocation that failed waits
 * for its own, and sync.max_attempts never stops one.
 */
static int
leaver_due(const struct sync_plan *pl, const struct jrnl_enr *r)
{
	if (r->state == JRNL_REVOKED || r->state == JRNL_UNPUBLISHED)
		return 0;
	if (r->state == JRNL_FAILED && r->failed_in >= JRNL_REVOKE_PENDING &&
	    r->next_retry > pl->now)
		return 0;
	return 1;
}

/* sync_adopt where there is a lease (else 0); adopted counts unchanged. */
static int
plan_adopt(struct sync_plan *pl, const struct dir_person *p, const char *mail,
    const struct jrnl_enr *r)
{
	int rc;

	/* a dry run writes no journal: what adopting would find is left to
	 * the real pass (the plan then shows a republish) */
	if (pl->e->cfg->sync.lease_dn == NULL || pl->e->dry_run)
		return 0;
	if ((rc = sync_adopt(pl->e, p, mail, r)) == 1)
		pl->st->unchanged++;
	return rc;
}

/* "2026-12-06" */
static void
plan_date(char *buf, size_t sz, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sz, "%Y-%m-%d",
	    &tm) == 0)
		snprintf(buf, sz, "?");
}

static const char *
plan_moved(char *buf, size_t sz, const char *old_mail)
{
	snprintf(buf, sz, "address changed from %s", old_mail);
	return buf;
}

/* Someone the journal has never seen: adopted, held for the trigger, or
 * enrolled. */
static int
plan_new(struct sync_plan *pl, const struct dir_person *p, const char *mail)
{
	int adopted;

	if (p->disabled)
		return 0;
	if ((adopted = plan_adopt(pl, p, mail, NULL)) != 0)
		return adopted == 1 ? 0 : -1;
	/* HR asks for enrolment by setting the trigger attribute */
	if (pl->e->cfg->sync.require_trigger &&
	    (p->trigger == NULL || p->trigger[0] == '\0')) {
		pl->st->skipped++;
		return 0;
	}
	return plan_add(pl, ACT_ENROL, p->id, mail, NULL, NULL, "new");
}

/* A certificate of ours is out (PUBLISHED or DELIVERED): a new address,
 * a renewal due, or an entry to put right; first is the serial of the
 * entry's first certificate. */
static int
plan_published(struct sync_plan *pl, const struct dir_person *p,
    const char *mail, const struct jrnl_enr *r, const char *first)
{
	char why[512], due[16], na[16], digest[DIR_ADDRS_DIGEST];
	int renew_s = pl->e->cfg->sync.renew_before_days * 86400;

	if (strcmp(r->mail, mail) != 0)
		return plan_add(pl, ACT_REENROL, p->id, mail, r->mail, NULL,
		    plan_moved(why, sizeof(why), r->mail));
	if (r->not_after - pl->now < renew_s) {
		plan_date(due, sizeof(due), r->not_after - renew_s);
		plan_date(na, sizeof(na), r->not_after);
		snprintf(why, sizeof(why), "renewal due on %s (serial %s "
		    "expires %s)", due, r->serial, na);
		return plan_add(pl, ACT_RENEW, p->id, mail, NULL, NULL, why);
	}
	/* an alias added or removed; "?": a record from before address
	 * sets, whose certificate gets the aliases at its renewal (a renewal due
	 * names the new set anyway) */
	dir_addrs_digest(p->addrs, p->n_addrs, digest);
	if (strcmp(r->addrs, "?") != 0 && strcmp(r->addrs, digest) != 0) {
		snprintf(why, sizeof(why), "the addresses changed (%zu now)",
		    p->n_addrs);
		if (plan_add(pl, ACT_RENEW, p->id, mail, NULL, NULL, why) == -1)
			return -1;
		pl->items[pl->n - 1].addrs_only = 1;
		return 0;
	}
	if (r->state == JRNL_DELIVERED)
		snprintf(why, sizeof(why), "republish because serial %s was "
		    "delivered but never published", r->serial);
	else if (strcmp(first, r->serial) != 0)
		snprintf(why, sizeof(why), "republish because the entry's "
		    "first certificate is %s, not ours (%s)", first[0] ?
		    first : "none", r->serial);
	else if (entry_untidy(pl->e->jrnl, p))
		snprintf(why, sizeof(why), "republish because "
		    "userSMIMECertificate lacks serial %s or a stale value of "
		    "ours is on the entry", r->serial);
	else
		why[0] = '\0';
	if (why[0] != '\0')
		return plan_add(pl, ACT_REPUBLISH, p->id, mail, NULL,
		    r->serial, why);
	pl->st->unchanged++;
	return 0;
}

/* A failed enrolment: retried once its backoff is over, up to
 * sync.max_attempts (past them only `smimepub enrol` retries). */
static int
plan_failed(struct sync_plan *pl, const struct dir_person *p,
    const char *mail, const struct jrnl_enr *r)
{
	char why[512];

	if (r->next_retry > pl->now ||
	    r->attempts >= pl->e->cfg->sync.max_attempts) {
		pl->st->skipped++;
		return 0;
	}
	/* a renewal that failed, and meanwhile a new address: the old
	 * address's certificate goes too (as for PUBLISHED) */
	snprintf(why, sizeof(why), "retry after a failure in %s: %s",
	    jrnl_state_str(r->failed_in), r->reason);
	if (r->serial[0] != '\0' && strcmp(r->mail, mail) != 0)
		return plan_add(pl, ACT_REENROL, p->id, mail, r->mail, NULL,
		    plan_moved(why, sizeof(why), r->mail));
	return plan_add(pl, ACT_ENROL, p->id, mail, NULL, NULL, why);
}

static int
plan_person(const struct dir_person *p, void *arg)
{
	struct sync_plan *pl = arg;
	char mail[MAIL_MAX + 1], first[80], why[512];
	const char *bad = NULL;
	struct jrnl_enr r;
	int adopted;

	if (p->id == NULL) {
		/* one bad entry is never the end of the pass */
		sync_noid_seen(pl->e, p, pl->st);
		return 0;
	}
	if (p->mail == NULL) {
		log_warn("sync: %s has no mail; skipped", p->dn);
		pl->st->skipped++;
		return 0;
	}
	if (seen_add(pl, p->id) == -1)
		return -1;
	if (mail_canon(p->mail, strlen(p->mail), mail, &bad) == -1) {
		log_warn("sync: %s: mail \"%s\" is not a valid address (%s); "
		    "skipped", p->dn, p->mail, bad);
		pl->st->skipped++;
		return 0;
	}
	if (pl->contest != NULL && sync_contest_add(pl->contest, p, mail) == -1)
		return -1;
	switch (jrnl_enr_get(pl->e->jrnl, p->id, &r)) {
	case 1:
		return plan_new(pl, p, mail);
	case 0:
		break;
	default:
		return -1;
	}
	sync_contest_record(pl->contest, &r, p->disabled);
	if (p->disabled) {
		if (leaver_due(pl, &r))
			return plan_add(pl, ACT_LEAVE, p->id, r.mail, NULL,
			    NULL, "left: disabled");
		pl->st->unchanged++;
		return 0;
	}
	/* the first value is not the certificate this journal knows:
	 * perhaps one the former holder of the lease issued since */
	first_serial(p, first, sizeof(first));
	if (r.state != JRNL_REVOKE_PENDING && strcmp(first, r.serial) != 0 &&
	    (adopted = plan_adopt(pl, p, mail, &r)) != 0)
		return adopted == 1 ? 0 : -1;
	switch (r.state) {
	case JRNL_FAILED:
		return plan_failed(pl, p, mail, &r);
	case JRNL_PUBLISHED:
	case JRNL_DELIVERED:
		return plan_published(pl, p, mail, &r, first);
	case JRNL_REVOKE_PENDING:
		/* back (in the filter, enabled) before the grace ran out */
		if (r.serial[0] != '\0' && r.not_after > pl->now &&
		    strcmp(r.mail, mail) == 0)
			return plan_add(pl, ACT_RETURN, p->id, mail, NULL,
			    r.serial, "back within the leave grace period");
		if (r.serial[0] != '\0' && strcmp(r.mail, mail) != 0)
			return plan_add(pl, ACT_REENROL, p->id, mail, r.mail,
			    NULL, plan_moved(why, sizeof(why), r.mail));
		return plan_add(pl, ACT_ENROL, p->id, mail, NULL, NULL,
		    "back after the leave grace period");
	case JRNL_REVOKED:
	case JRNL_UNPUBLISHED:
		/* back in the filter after leaving: a new enrolment */
	case JRNL_SUBMITTED:
		if (r.txid[0] != '\0' && r.next_retry > pl->now) {
			/* the CA answered pending: not before retry_after */
			pl->st->skipped++;
			return 0;
		}
		/* FALLTHROUGH */
	default:
		/* PLANNED, KEY_READY, SUBMITTED, ISSUED: a crash in between,
		 * or a pending request to poll; enr_enrol() resumes with
		 * the key held in the journal */
		snprintf(why, sizeof(why), "%s: %s", r.state == JRNL_REVOKED ||
		    r.state == JRNL_UNPUBLISHED ? "back in the filter after "
		    "leaving" : "resume an enrolment left in",
		    jrnl_state_str(r.state));
		return plan_add(pl, ACT_ENROL, p->id, mail, NULL, NULL, why);
	}
}

/*
 * Why someone the search did not return left: the entry is gone, or it is
 * still in the naming context but out of base or filter. Looked up by the
 * stable id (one search per leaver: leavers are few, and sync.max_leavers
 * holds a mass leave); a lookup that fails says so rather than guess.
 */
static const char *
leaver_why(struct sync_plan *pl, const struct jrnl_enr *r)
{
	struct dir_person *p = NULL;
	const char *why;
	int rc;

	rc = dir_find_by_id(pl->e->dir, r->person_id, &p);
	if (rc == 1)
		return "left: deleted";
	if (rc == 0) {
		why = p != NULL && p->disabled ? "left: disabled" :
		    "left: out of filter";
		dir_person_free(p);
		return why;
	}
	return "left: not returned by the search (deleted or out of "
	    "filter: the lookup by id failed)";
}

/* Journal records of people not seen in this pass: they left. */
static int
plan_leaver(const struct jrnl_enr *r, void *arg)
{
	struct sync_plan *pl = arg;

	int grace = pl->e->cfg->sync.leave_grace_days;

	if (pl->nseen > 0 && bsearch(r->person_id, pl->seen, pl->nseen,
	    sizeof(pl->seen[0]), seen_cmp) != NULL)
		return 0;
	if (r->state == JRNL_REVOKED && r->failed_in == JRNL_UNPUBLISHED) {
		/* our revoked certificates still on a moved entry */
		if (r->next_retry > pl->now)
			return 0;
		return plan_add(pl, ACT_UNPUBLISH, r->person_id, r->mail,
		    NULL, NULL, "left: revoked; unpublish refused before, "
		    "tried again");
	}
	if (!leaver_due(pl, r))
		return 0;
	/* the grace starts once; a revocation that failed is not a new
	 * leave */
	if (grace > 0 && r->state != JRNL_REVOKE_PENDING &&
	    !(r->state == JRNL_FAILED && r->failed_in >= JRNL_REVOKE_PENDING))
		return plan_add(pl, ACT_GRACE, r->person_id, r->mail, NULL,
		    NULL, leaver_why(pl, r));
	if (grace > 0 && r->next_retry > pl->now) {
		pl->st->unchanged++;	/* still within the grace period */
		return 0;
	}
	return plan_add(pl, ACT_LEAVE, r->person_id, r->mail, NULL, NULL,
	    leaver_why(pl, r));
}

const char *
sync_act_str(enum sync_act a)
{
	static const char *const names[] = { "enrol", "renew", "re-enrol",
	    "republish", "leave", "leave-grace", "return", "unpublish" };

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/*
 * --dry-run: the plan on stdout, one line per person (action, address,
 * why), then what the pass would do in the words of its summary. Nothing
 * was asked of the CA and nothing written; a leaver's action is what
 * sync.on_leave says.
 */
static void
plan_print(struct sync_plan *pl)
{
	struct sync_stats *st = pl->st;
	size_t i;

	for (i = 0; i < pl->n; i++) {
		const struct sync_item *it = &pl->items[i];

		printf("%s\t%s\t%s\n", sync_act_str(it->act), it->mail,
		    it->why);
		switch (it->act) {
		case ACT_ENROL:
		case ACT_REENROL:
			st->enrolled++;
			break;
		case ACT_RENEW:
			st->renewed++;
			break;
		case ACT_REPUBLISH:
		case ACT_RETURN:
			st->republished++;
			break;
		case ACT_LEAVE:
		case ACT_UNPUBLISH:
			st->revoked++;
			break;
		case ACT_GRACE:
			st->unchanged++;
			break;
		}
	}
}

/* A renewal sync_contest_plan asks for, unless the person is already in
 * the plan (one action per person and pass). */
static int
plan_contest(const char *id, const char *mail, const char *why, void *arg)
{
	struct sync_plan *pl = arg;
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (strcmp(pl->items[i].id, id) == 0)
			return 0;
	if (pl->st->unchanged > 0)	/* counted so by plan_published */
		pl->st->unchanged--;
	if (plan_add(pl, ACT_RENEW, id, mail, NULL, NULL, why) == -1)
		return -1;
	pl->items[pl->n - 1].addrs_only = 1;
	return 0;
}

int
sync_pass(struct enr_ctx *e, const char *changed, struct sync_stats *st)
{
	struct sync_plan pl;
	char *filter = NULL;
	size_t flen;
	int rc = -1;

	memset(&pl, 0, sizeof(pl));
	memset(st, 0, sizeof(*st));
	pl.e = e;
	pl.st = st;
	pl.now = time(NULL);
	if (changed == NULL && (pl.contest = sync_contest_new()) == NULL) {
		log_err("sync: out of memory planning the pass");
		goto out;
	}
	if (changed != NULL) {
		flen = strlen(e->cfg->directory.filter) + strlen(changed) + 8;
		if ((filter = malloc(flen)) == NULL)
			goto out;
		snprintf(filter, flen, "(&%s%s)", e->cfg->directory.filter,
		    changed);
	}
	if (dir_search_people(e->dir, filter, plan_person, &pl) == -1) {
		log_err("sync: the directory search failed; no action taken");
		goto out;
	}
	if (pl.nseen > 0)	/* qsort/bsearch want a non-NULL array */
		qsort(pl.seen, pl.nseen, sizeof(pl.seen[0]), seen_cmp);
	if (pl.contest != NULL && sync_contest_plan(pl.contest, plan_contest,
	    &pl) == (size_t)-1)
		goto out;
	/* only a full pass knows who is gone */
	if (changed == NULL && (jrnl_enr_each(e->jrnl, plan_leaver, &pl) == -1 ||
	    sync_leavers_guard(e, pl.items, &pl.n, pl.nseen, st) == -1))
		goto out;
	/* before anything is recorded: a dry run writes no journal */
	if (e->dry_run) {
		plan_print(&pl);
		rc = 0;
		goto out;
	}
	if (changed == NULL)
		sync_noid_record(e, st);
	if (sync_run(e, pl.items, pl.n, st) == -1)
		goto out;
	/* the local CA's CRL: a leaver's revocation in it at once, and never
	 * left to expire (a failure is logged; the pass still counts). Full
	 * passes only: its check reads crl.pem and scans the CA's index, too
	 * much for each new hire a watch finds; leavers are full-pass work. */
	if (changed == NULL)
		(void)ca_crl_refresh(e->ca);
	rc = 0;
out:
	sync_contest_free(pl.contest);
	free(filter);
	free(pl.items);
	free(pl.seen);
	return rc;
}

void
sync_stats_str(const struct sync_stats *st, char *buf, size_t sz)
{
	snprintf(buf, sz, "enrolled %d, renewed %d, revoked %d, republished "
	    "%d, failed %d, unchanged %d, skipped %d", st->enrolled,
	    st->renewed, st->revoked, st->republished, st->failed,
	    st->unchanged, st->skipped);
	if (st->noid > 0)
		snprintf(buf + strlen(buf), sz - strlen(buf), " (%d without a "
		    "readable id)", st->noid);
	if (st->leavers_held > 0)
		snprintf(buf + strlen(buf), sz - strlen(buf), ", leavers held "
		    "%d (sync.max_leavers)", st->leavers_held);
}
