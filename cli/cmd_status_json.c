/*
 * cmd_status_json.c — `smimepub status [MAIL] --json`: the same journal
 * records as the text form, as one JSON document on stdout for scripts
 * (documented in smimepub(8)): {"people": [RECORD...]}, or for one address
 * {"mail": MAIL, "people": [{"person": ID, "history": [RECORD...]}]}.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/log.h"

static json_t *
sj_time(time_t t)
{
	char buf[32];
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

static json_t *
sj_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* One record; strings pass through jansson, which escapes them. */
static json_t *
sj_record(const struct jrnl_enr *e)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "person", json_string(e->person_id));
	json_object_set_new(o, "mail", json_string(e->mail));
	json_object_set_new(o, "state", json_string(jrnl_state_str(e->state)));
	json_object_set_new(o, "serial", sj_str(e->serial));
	json_object_set_new(o, "not_after", sj_time(e->not_after));
	json_object_set_new(o, "updated", sj_time(e->updated));
	if (e->state == JRNL_FAILED) {
		json_object_set_new(o, "failed_in",
		    json_string(jrnl_state_str(e->failed_in)));
		json_object_set_new(o, "attempts", json_integer(e->attempts));
		json_object_set_new(o, "next_retry", sj_time(e->next_retry));
	} else if (e->state == JRNL_SUBMITTED && e->txid[0] != '\0')
		json_object_set_new(o, "next_poll", sj_time(e->next_retry));
	json_object_set_new(o, "reason", sj_str(e->reason));
	return o;
}

/* The person's SMIMEA records (dns.zones): null when smimepub keeps
 * none for them. */
static json_t *
sj_dns(struct jrnl *j, const char *person_id)
{
	struct jrnl_dns d;
	json_t *o;

	if (j == NULL || jrnl_dns_get(j, person_id, &d) != 0 ||
	    (o = json_object()) == NULL)
		return json_null();
	json_object_set_new(o, "pending", json_boolean(d.pending));
	json_object_set_new(o, "attempts", json_integer(d.attempts));
	json_object_set_new(o, "next_retry", sj_time(d.pending ?
	    d.next_retry : 0));
	json_object_set_new(o, "synced", sj_time(d.synced));
	json_object_set_new(o, "reason", sj_str(d.reason));
	return o;
}

struct sj_list {
	json_t		*arr;
	struct jrnl	*j;	/* the overview: each record's DNS state */
};

static int
sj_append(const struct jrnl_enr *e, void *arg)
{
	struct sj_list *l = arg;
	json_t *rec = sj_record(e);

	if (rec != NULL && l->j != NULL)
		json_object_set_new(rec, "dns", sj_dns(l->j, e->person_id));
	if (rec == NULL || json_array_append_new(l->arr, rec) == -1) {
		log_err("status --json: out of memory");
		return -1;
	}
	return 0;
}

static int
sj_print(json_t *doc)
{
	if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII) == -1 || putchar('\n') == EOF) {
		log_err("status --json: cannot write to stdout");
		return -1;
	}
	return 0;
}

int
status_json(struct jrnl *j, const char *mail, char (*ids)[80], int n)
{
	json_t *doc = json_object(), *people = json_array(), *p, *h;
	struct sj_list l = { people, j };
	int i, rc = -1;

	if (doc == NULL || people == NULL)
		goto out;
	if (mail == NULL) {
		if (jrnl_enr_each(j, sj_append, &l) == -1)
			goto out;
	} else {
		json_object_set_new(doc, "mail", json_string(mail));
		for (i = 0; i < n; i++) {
			if ((p = json_object()) == NULL ||
			    (h = json_array()) == NULL ||
			    json_array_append_new(people, p) == -1)
				goto out;
			json_object_set_new(p, "person", json_string(ids[i]));
			json_object_set_new(p, "history", h);
			json_object_set_new(p, "dns", sj_dns(j, ids[i]));
			l.arr = h;
			l.j = NULL;
			if (jrnl_enr_history(j, ids[i], sj_append, &l) == -1)
				goto out;
		}
	}
	json_object_set(doc, "people", people);
	rc = sj_print(doc);
out:
	json_decref(people);
	json_decref(doc);
	return rc;
}
