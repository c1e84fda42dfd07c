/*
 * enrol_step.c — the journal side of an enrolment or a revocation, shared
 * by enrol.c and revoke.c: one transition committed before the next side
 * effect (or a group of them with nothing outside between), the failure of
 * a step with its backoff, the one-line status on the entry, and the CA
 * call under the lock its drivers need.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/audit.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

/* Crash tests: die here, as a power cut would (no cleanup, no flush of
 * anything else), when SMIMEPUB_TEST_FAILPOINT names this point. */
void
enr_failpoint(const char *name)
{
	const char *fp = getenv("SMIMEPUB_TEST_FAILPOINT");

	if (fp != NULL && strcmp(fp, name) == 0)
		_exit(99);
}

/* Commit the next state before the side effect that follows it. */
int
enr_step(struct enr_ctx *e, struct jrnl_enr *r, enum jrnl_state st)
{
	int rc;

	r->state = st;
	if (st != JRNL_FAILED) {
		r->reason[0] = '\0';
		r->failed_in = 0;
	}
	rc = jrnl_enr_put(e->jrnl, r);
	if (rc == 0)
		enr_failpoint(jrnl_state_str(st));	/* right after the commit */
	return rc;
}

int
enr_group(struct enr_ctx *e, struct jrnl_enr *r, const struct enr_group *g)
{
	struct jrnl_tx *tx;
	char sname[48];
	size_t i;

	if ((tx = jrnl_tx_begin(e->jrnl)) == NULL)
		return -1;
	if (g->cert != NULL && jrnl_tx_cert_put(tx, g->cert, r->mail,
	    r->person_id, g->cert_state) == -1)
		goto fail;
	if (g->key != NULL && enr_keystore_hold(e->cfg->sync.state_dir, tx,
	    r->person_id, g->key, g->chain) == -1)
		goto fail;
	/* keys.separate_signing: the signing certificate and key beside */
	if (g->cert2 != NULL && jrnl_tx_cert_put(tx, g->cert2, r->mail,
	    r->person_id, g->cert_state) == -1)
		goto fail;
	if (g->skey != NULL && (enr_pair_name(r->person_id, sname) == -1 ||
	    enr_keystore_hold(e->cfg->sync.state_dir, tx, sname, g->skey,
	    NULL) == -1))
		goto fail;
	for (i = 0; i < g->nsteps; i++) {
		r->state = g->steps[i];
		r->reason[0] = '\0';
		r->failed_in = 0;
		if (jrnl_tx_enr_put(tx, r) == -1)
			goto fail;
	}
	if (jrnl_tx_commit(tx) == -1) {
		r->state = g->steps[0];	/* none of them happened */
		return -1;
	}
	for (i = 0; i < g->nsteps; i++)
		enr_failpoint(jrnl_state_str(g->steps[i]));
	return 0;
fail:
	jrnl_tx_abort(tx);
	r->state = g->steps[0];
	return -1;
}

/* delay plus up to a quarter of it at random, so that people who failed
 * together (a CA outage) do not all come back in the same second */
static time_t
enr_jitter(long delay)
{
	unsigned char rnd[2] = { 0, 0 };

	(void)RAND_bytes(rnd, sizeof(rnd));
	return time(NULL) + delay + delay / 4 * ((long)rnd[0] << 8 | rnd[1]) /
	    65535;
}

time_t
enr_backoff(int attempts)
{
	long delay;

	/* exponential backoff, 1 min doubling to at most a day */
	delay = 60L << (attempts > 11 ? 10 : attempts < 1 ? 0 : attempts - 1);
	if (delay > 86400)
		delay = 86400;
	return enr_jitter(delay);
}

/* A failure in the audit log: the step in "step", never as the outcome. */
static void
enr_audit_fail(struct enr_ctx *e, const struct jrnl_enr *r,
    const char *outcome)
{
	struct audit_rec a;

	memset(&a, 0, sizeof(a));
	a.event = "failure";
	a.person = r->person_id;
	a.mail = r->mail;
	a.serial = r->serial;
	a.ca = ca_name(e->ca);
	a.outcome = outcome;
	a.reason = r->reason;
	a.step = jrnl_state_str(r->failed_in);
	(void)audit_log(&a);
}

/* Record the failure of the step r was in, with the last logged error. */
void
enr_fail(struct enr_ctx *e, struct jrnl_enr *r)
{
	if (r->person_id[0] == '\0')
		return;

	/* FAILED again before any step: keep the step it failed in */
	if (r->state != JRNL_FAILED)
		r->failed_in = r->state;
	r->attempts++;
	r->next_retry = enr_backoff(r->attempts);
	if (e->observer != NULL && e->observer->failure != NULL)
		e->observer->failure(r->failed_in, 0);
	snprintf(r->reason, sizeof(r->reason), "%s", log_last_err()[0] ?
	    log_last_err() : "failed");
	enr_audit_fail(e, r, "failed");
	(void)enr_step(e, r, JRNL_FAILED);
}

/*
 * The CA could not be asked: down, unreachable, or an answer that could not
 * be read. That says nothing about this person, so it is not counted
 * towards sync.max_attempts (an outage of a day must not leave everyone to
 * a manual `smimepub enrol`). why: this enrolment asked and the driver
 * said why it failed (it may ask again after a minute); NULL: an earlier
 * one in this pass did, and this one was not sent (due at the next pass).
 * 1 if the journal changed.
 */
int
enr_fail_ca(struct enr_ctx *e, struct jrnl_enr *r, const struct jrnl_enr *old,
    const char *why)
{
	if (r->person_id[0] == '\0')
		return 0;
	if (r->state != JRNL_FAILED)
		r->failed_in = r->state;
	if (why != NULL) {
		snprintf(r->reason, sizeof(r->reason), "CA %s unreachable (not "
		    "counted as an attempt): %.*s", ca_name(e->ca),
		    (int)(sizeof(r->reason) / 2), why[0] ? why : "no answer");
		r->next_retry = enr_jitter(60);
		if (e->observer != NULL && e->observer->failure != NULL)
			e->observer->failure(r->failed_in, 1);
		enr_audit_fail(e, r, "unreachable");
	} else {
		snprintf(r->reason, sizeof(r->reason), "not sent: CA %s was "
		    "unreachable earlier in the same pass", ca_name(e->ca));
		r->next_retry = 0;
		/* once per outage, not once a pass: the history (and the
		 * status on the entry) would grow by a line every pass */
		if (old->state == JRNL_FAILED && old->next_retry == 0 &&
		    strcmp(old->reason, r->reason) == 0)
			return 0;
		enr_audit_fail(e, r, "not sent");
	}
	/* enr_step() would clear the reason: FAILED keeps it */
	(void)enr_step(e, r, JRNL_FAILED);
	return 1;
}

/* r for p at mail, from its journal record (kept in *oldp, if asked for,
 * zeroed when there is none). */
void
enr_record_init(struct jrnl_enr *r, struct jrnl_enr *oldp,
    const struct dir_person *p, const char *mail, struct jrnl *j)
{
	struct jrnl_enr old;

	memset(r, 0, sizeof(*r));
	if (jrnl_enr_get(j, p->id, &old) == 0)
		*r = old;	/* keeps attempts and the current serial */
	else
		memset(&old, 0, sizeof(old));
	if (oldp != NULL)
		*oldp = old;
	snprintf(r->person_id, sizeof(r->person_id), "%s", p->id);
	snprintf(r->mail, sizeof(r->mail), "%s", mail);
}

/*
 * The code of a failure on the entry, by the step that failed: what a
 * helpdesk can act on. Never the reason itself: a CA's error text may name
 * its internals, and every reader of the entry would see it (the reason
 * is in the journal: `smimepub status MAIL`). smimepub.conf(5) lists them.
 */
static const char *
status_failed_code(enum jrnl_state failed_in)
{
	switch (failed_in) {
	case JRNL_PLANNED:
		return "failed-key";	/* the person or the key */
	case JRNL_KEY_READY:
	case JRNL_SUBMITTED:
		return "failed-ca";	/* refused, unreachable, bad answer */
	case JRNL_ISSUED:
		return "failed-delivery"; /* escrow or the delivery command */
	case JRNL_DELIVERED:
		return "failed-publish";
	case JRNL_REVOKE_PENDING:
		return "failed-revoke";
	case JRNL_REVOKED:
		return "failed-unpublish";
	default:
		return "failed";
	}
}

/* The one-line status on the entry (directory.status_attribute): a code
 * (published, revoked, failed-...), the serial and validity, an attempt
 * count; nothing else. */
void
enr_status(struct enr_ctx *e, const char *dn, const char *what,
    const struct jrnl_enr *r)
{
	char line[512], na[32];
	struct tm tm;

	if (e->cfg->directory.status_attribute == NULL || dn == NULL)
		return;
	na[0] = '\0';
	if (r->not_after != 0 && gmtime_r(&r->not_after, &tm) != NULL)
		strftime(na, sizeof(na), "%Y-%m-%d", &tm);
	if (r->state == JRNL_FAILED && r->attempts == 0)
		snprintf(line, sizeof(line), "smimepub: %s",
		    status_failed_code(r->failed_in));
	else if (r->state == JRNL_FAILED)
		snprintf(line, sizeof(line), "smimepub: %s (attempt %d)",
		    status_failed_code(r->failed_in), r->attempts);
	else
		snprintf(line, sizeof(line), "smimepub: %s%s%s%s%s", what,
		    r->serial[0] ? " serial " : "", r->serial,
		    na[0] ? ", valid until " : "", na);
	(void)dir_set_status(e->dir, dn, line);
}

double
enr_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
enr_observe_ca(struct enr_ctx *e, double t0)
{
	if (e->observer != NULL && e->observer->ca_request != NULL)
		e->observer->ca_request(enr_clock() - t0);
}

int
enr_ca_revoke(struct enr_ctx *e, X509 *c, int reason)
{
	double t0;
	int rc;

	if (e->ca_lock != NULL)
		pthread_mutex_lock(e->ca_lock);
	t0 = enr_clock();
	rc = ca_revoke(e->ca, c, reason);
	enr_observe_ca(e, t0);
	if (e->ca_lock != NULL)
		pthread_mutex_unlock(e->ca_lock);
	return rc;
}

