/*
 * dir_many.c — several small searches in flight on one connection. A
 * lookup is an equality on one address: a round trip for a few hundred
 * bytes, and a connection that waits for each answer before sending the
 * next question is idle most of the time. RFC 4511 §4.1.1 lets a client
 * have many operations outstanding on one connection, each with its own
 * message id; slapd works on them in its thread pool together. So every
 * query is sent first, then the answers are read in whatever order they
 * come and handed to their query by message id. No paged-results control
 * (it costs both ends for a search that returns a handful of entries):
 * a size limit instead, and reaching it is that query's error.
 */
#include <stdlib.h>

#include <lber.h>
#include <ldap.h>

#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

enum { Q_WAIT, Q_SENT, Q_LOST, Q_DONE };

static void
q_done(struct dir_query *q, int rc)
{
	q->rc = rc;
	q->state = Q_DONE;
}

/* One entry for q: its callback, or q fails (and is abandoned). */
static void
q_entry(struct dir *d, struct dir_query *q, LDAPMessage *msg)
{
	struct dir_person *p = NULL;
	int rc;

	if (dir_person_from_entry(d, msg, &p, NULL) == -1)
		rc = -1;
	else
		rc = q->cb(p, q->arg);
	dir_person_free(p);
	q->seen++;
	if (rc == -1) {
		(void)ldap_abandon_ext(d->ld, q->msgid, NULL, NULL);
		q_done(q, -1);
	}
}

/* The final result of q. */
static void
q_result(struct dir *d, struct dir_query *q, LDAPMessage *msg)
{
	char *diag = NULL;
	int rc, err;

	rc = ldap_parse_result(d->ld, msg, &err, NULL, &diag, NULL, NULL, 0);
	if (rc != LDAP_SUCCESS)
		err = rc;
	if (err == LDAP_SUCCESS)
		q_done(q, 0);
	else {
		if (err == LDAP_SIZELIMIT_EXCEEDED)
			log_err("%s: search %s: more than %d entries",
			    d->cfg->uri, q->filter, DIR_FEW_MAX);
		else if (diag != NULL && diag[0] != '\0')
			log_err("%s: search %s: %s (%s)", d->cfg->uri,
			    q->filter, ldap_err2string(err), diag);
		else
			dir_log_ldap(d, err, "search %s", q->filter);
		q_done(q, -1);
	}
	ldap_memfree(diag);
}

/*
 * Send every query not done yet, then read answers until each is done.
 * A connection lost takes the queries that saw no entry to Q_LOST (asked
 * again after a reconnect), the others fail. Returns how many are lost.
 */
static size_t
few_round(struct dir *d, struct dir_query *q, size_t n)
{
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *msg = NULL;
	char *attrs[DIR_NATTRS];
	size_t i, out = 0, lost = 0;
	int rc, id, gone = 0;

	dir_attrs(d, attrs);
	for (i = 0; i < n; i++) {
		if (q[i].state == Q_DONE)
			continue;
		if (gone) {
			q[i].state = Q_LOST;
			continue;
		}
		rc = ldap_search_ext(d->ld, d->cfg->base, LDAP_SCOPE_SUBTREE,
		    q[i].filter, attrs, 0, NULL, NULL, &tv, DIR_FEW_MAX,
		    &q[i].msgid);
		if (rc == LDAP_SUCCESS) {
			q[i].state = Q_SENT;
			out++;
		} else if (dir_conn_lost(rc)) {
			q[i].state = Q_LOST;
			gone = 1;
		} else {
			dir_log_ldap(d, rc, "search %s", q[i].filter);
			q_done(&q[i], -1);
		}
	}
	while (out > 0 && !gone) {
		rc = ldap_result(d->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &tv, &msg);
		if (rc == 0) {
			log_err("%s: %zu searches: no answer within %d s",
			    d->cfg->uri, out, dir_timeout(d));
			break;
		}
		if (rc == -1) {
			(void)ldap_get_option(d->ld, LDAP_OPT_RESULT_CODE, &rc);
			if (dir_conn_lost(rc))
				gone = 1;
			else
				dir_log_ldap(d, rc, "read %zu answers", out);
			break;
		}
		id = ldap_msgid(msg);
		for (i = 0; i < n; i++)
			if (q[i].state == Q_SENT && q[i].msgid == id)
				break;
		if (i < n && rc == LDAP_RES_SEARCH_ENTRY)
			q_entry(d, &q[i], msg);
		else if (i < n && rc == LDAP_RES_SEARCH_RESULT)
			q_result(d, &q[i], msg);
		/* else a reference (referrals are off) or an answer to a
		 * query given up: nothing to do */
		if (i < n && q[i].state == Q_DONE)
			out--;
		ldap_msgfree(msg);
		msg = NULL;
	}
	/* what is left: lost with the connection, or given up */
	for (i = 0; i < n; i++) {
		if (q[i].state != Q_SENT)
			continue;
		if (gone && q[i].seen == 0) {
			q[i].state = Q_LOST;
			continue;
		}
		if (gone)
			log_err("%s: search %s: connection lost",
			    d->cfg->uri, q[i].filter);
		else
			(void)ldap_abandon_ext(d->ld, q[i].msgid, NULL, NULL);
		q_done(&q[i], -1);
	}
	for (i = 0; i < n; i++)
		lost += q[i].state == Q_LOST;
	return lost;
}

int
dir_search_few(struct dir *d, struct dir_query *q, size_t n)
{
	size_t i, lost;
	int rc = 0;

	for (i = 0; i < n; i++) {
		q[i].state = Q_WAIT;
		q[i].seen = 0;
		q[i].msgid = -1;
		q[i].rc = -1;
	}
	if (dir_ensure(d) == -1)
		return -1;
	if (few_round(d, q, n) > 0) {
		log_warn("%s: connection lost; reconnecting", d->cfg->uri);
		if (dir_reconnect(d) == 0 && (lost = few_round(d, q, n)) > 0)
			log_err("%s: %zu searches: connection lost again",
			    d->cfg->uri, lost);
	}
	for (i = 0; i < n; i++) {
		if (q[i].state != Q_DONE)
			q_done(&q[i], -1);
		if (q[i].rc == -1)
			rc = -1;
	}
	return rc;
}
