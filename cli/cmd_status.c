/*
 * cmd_status.c — `smimepub status [MAIL]`: the journal, one line per person
 * (address, state, serial, notAfter, last error, DNS when pending), or
 * the whole history of one person. Reads only the journal, never the directory or the CA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"

static void
status_time(char *buf, size_t sz, time_t t)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, sz, "-");
}

/* The person's SMIMEA records (dns.zones) when they are not in step. */
static void
status_dns(struct jrnl *j, const char *person_id)
{
	struct jrnl_dns d;
	char up[32];

	if (j == NULL || jrnl_dns_get(j, person_id, &d) != 0 || !d.pending)
		return;
	status_time(up, sizeof(up), d.next_retry);
	printf("	dns pending (attempt %d, next retry %s): %s", d.attempts, up,
	    d.reason);
}

static int
status_line(const struct jrnl_enr *e, void *arg)
{
	char na[32], up[32];

	status_time(na, sizeof(na), e->not_after);
	status_time(up, sizeof(up), e->updated);
	printf("%s\t%s\t%s\t%s\t%s", e->mail, jrnl_state_str(e->state),
	    e->serial[0] ? e->serial : "-", na, up);
	if (e->state == JRNL_FAILED) {
		status_time(up, sizeof(up), e->next_retry);
		if (e->next_retry == 0)
			snprintf(up, sizeof(up), "at the next pass");
		/* attempts 0: the CA could not be asked (not counted) */
		if (e->attempts > 0)
			printf("\tfailed in %s (attempt %d, next retry %s): %s",
			    jrnl_state_str(e->failed_in), e->attempts, up,
			    e->reason);
		else
			printf("\tfailed in %s (next retry %s): %s",
			    jrnl_state_str(e->failed_in), up, e->reason);
	} else if (e->state == JRNL_SUBMITTED && e->txid[0] != '\0') {
		status_time(up, sizeof(up), e->next_retry);
		printf("\tpending at the CA, next poll %s", up);
	} else if (e->reason[0] != '\0')
		printf("\t%s", e->reason);	/* e.g. an unpublish refused */
	status_dns(arg, e->person_id);	/* the overview only */
	putchar('\n');
	return 0;
}

struct dns_tally {
	unsigned long	 n, pending;
};

static int
status_dns_cb(const struct jrnl_dns *d, void *arg)
{
	struct dns_tally *t = arg;

	t->n++;
	t->pending += d->pending != 0;
	return 0;
}

/* One line on DNS (dns.zones), when smimepub keeps records there. */
static int
status_dns_sum(struct jrnl *j)
{
	struct dns_tally t = { 0, 0 };

	if (jrnl_dns_each(j, status_dns_cb, &t) == -1)
		return -1;
	if (t.n > 0)
		printf("# dns: SMIMEA records of %lu %s pending (not yet as the "
		    "journal says; retried with backoff)\n", t.pending,
		    t.pending == 1 ? "person" : "people");
	return 0;
}

/*
 * What the last full pass of smimepub-sync skipped for want of a readable
 * id (sync/noid.c records it): count, time, the last such entry.
 */
static int
status_noid(struct jrnl *j)
{
	char val[JRNL_META_MAX], *ts, *why;
	int rc;

	if ((rc = jrnl_meta_get(j, "pass_noid", val, sizeof(val))) != 0)
		return rc == 1 ? 0 : -1;
	if ((ts = strchr(val, '\t')) == NULL || atoi(val) <= 0)
		return 0;
	*ts++ = '\0';
	if ((why = strchr(ts, '\t')) != NULL)
		*why++ = '\0';
	printf("# the last full pass (%s) skipped %s entr%s without a "
	    "readable id, e.g. %s\n", ts, val, atoi(val) == 1 ? "y" : "ies",
	    why != NULL ? why : "?");
	return 0;
}

/* status MAIL: where the person's SMIMEA records stand. */
static void
status_person_dns(struct jrnl *j, const char *person_id)
{
	struct jrnl_dns d;
	char t[32];

	if (jrnl_dns_get(j, person_id, &d) != 0)
		return;
	if (d.pending) {
		status_time(t, sizeof(t), d.next_retry);
		printf("# dns: pending (attempt %d, next retry %s): %s\n",
		    d.attempts, t, d.reason);
	} else {
		status_time(t, sizeof(t), d.synced);
		printf("# dns: SMIMEA records in step since %s\n", t);
	}
}

struct status_find {
	const char	*mail;
	char		 ids[8][80];
	int		 n;
};

static int
status_find_cb(const struct jrnl_enr *e, void *arg)
{
	struct status_find *f = arg;

	if (mail_eq(e->mail, f->mail) && f->n < 8)
		snprintf(f->ids[f->n++], sizeof(f->ids[0]), "%s", e->person_id);
	return 0;
}

int
cmd_status(struct cfg *cfg, int argc, char **argv)
{
	char mail[MAIL_MAX + 1];
	struct status_find f;
	struct jrnl *j = NULL;
	const char *arg = NULL;
	int i, json = 0, rc = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (arg == NULL && argv[i][0] != '-')
			arg = argv[i];
		else {
			fprintf(stderr, "usage: smimepub [-f FILE] status "
			    "[MAIL] [--json]\n");
			return EXIT_USAGE;
		}
	}
	if (arg != NULL && cli_mail_arg(arg, mail) == -1)
		return EXIT_USAGE;
	if ((j = jrnl_open(cfg->sync.state_dir)) == NULL)
		goto out;
	if (arg == NULL && json) {
		rc = status_json(j, NULL, NULL, 0) == 0 ? EXIT_OK : EXIT_FAIL;
		goto out;
	}
	if (arg == NULL) {
		printf("# mail\tstate\tserial\tnot_after\tupdated\tlast error\n");
		if (jrnl_enr_each(j, status_line, j) == -1 ||
		    status_noid(j) == -1 || status_dns_sum(j) == -1)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	memset(&f, 0, sizeof(f));
	f.mail = mail;
	if (jrnl_enr_each(j, status_find_cb, &f) == -1)
		goto out;
	if (f.n == 0) {
		log_err("%s: no enrolment in the journal %s", mail,
		    cfg->sync.state_dir);
		goto out;
	}
	if (json) {
		rc = status_json(j, mail, f.ids, f.n) == 0 ? EXIT_OK :
		    EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < f.n; i++) {
		printf("# person %s\n", f.ids[i]);
		if (jrnl_enr_history(j, f.ids[i], status_line, NULL) == -1)
			goto out;
		status_person_dns(j, f.ids[i]);
	}
	rc = EXIT_OK;
out:
	jrnl_close(j);
	return rc;
}
