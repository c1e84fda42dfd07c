/*
 * dir_search.c — reading people from the directory: page through base and
 * filter with RFC 2696 paged results, one entry at a time (the result is
 * never held whole), turn each entry into a struct dir_person (the stable id
 * as entryUUID or objectGUID in string form, mail, name, disabled flag, the
 * certificate values in their order), and find the one person with a given
 * mail address, the value escaped (RFC 4515): within the configured filter,
 * or among every entry under base for a leaver (dir_set_unfiltered). The
 * connection is dir.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "common/cfg.h"
#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

#define DIR_DEFAULT_PAGE	500

/* Status of one search attempt, beyond 0 (done). */
#define SRCH_ERR	(-1)	/* failed, logged */
#define SRCH_LOST	(-2)	/* connection lost before any entry: retry */

void
dir_person_free(struct dir_person *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->dn);
	free(p->id);
	free(p->mail);
	for (i = 0; i < p->n_addrs; i++)
		free(p->addrs[i]);
	free(p->addrs);
	free(p->display_name);
	free(p->trigger);
	for (i = 0; i < p->n_usercert; i++)
		free(p->usercert[i].data);
	free(p->usercert);
	for (i = 0; i < p->n_smime; i++)
		free(p->smime[i].data);
	free(p->smime);
	for (i = 0; i < p->n_usercert_plain; i++)
		free(p->usercert_plain[i].data);
	free(p->usercert_plain);
	free(p);
}

static char *
bv_strdup(const struct berval *bv)
{
	char *s;

	if ((s = malloc(bv->bv_len + 1)) == NULL)
		return NULL;
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* First value of attr as a string; *out NULL if absent. -1 on ENOMEM. */
static int
first_str(const struct dir_entry_src *src, const char *attr, char **out)
{
	struct berval **v;
	int rc = 0;

	*out = NULL;
	if ((v = src->vals(src->arg, attr)) == NULL)
		return 0;
	if (v[0] != NULL && (*out = bv_strdup(v[0])) == NULL)
		rc = -1;
	ldap_value_free_len(v);
	return rc;
}

/* Every value of attr, in order. -1 on ENOMEM. */
static int
all_vals(const struct dir_entry_src *src, const char *attr,
    struct dir_val **out, size_t *n)
{
	struct berval **v;
	size_t i, cnt;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if ((v = src->vals(src->arg, attr)) == NULL)
		return 0;
	cnt = (size_t)ldap_count_values_len(v);
	if (cnt == 0) {
		rc = 0;
		goto out;
	}
	if ((*out = calloc(cnt, sizeof(**out))) == NULL)
		goto out;
	for (i = 0; i < cnt; i++) {
		if (((*out)[i].data = malloc(v[i]->bv_len ? v[i]->bv_len : 1))
		    == NULL)
			goto out;
		memcpy((*out)[i].data, v[i]->bv_val, v[i]->bv_len);
		(*out)[i].len = v[i]->bv_len;
		*n = i + 1;
	}
	rc = 0;
out:
	ldap_value_free_len(v);
	return rc;
}

/* ldap_get_values_len on the entry of an LDAPMessage source. */
struct ldap_src {
	LDAP		*ld;
	LDAPMessage	*e;
};

static struct berval **
ldap_vals(void *arg, const char *attr)
{
	struct ldap_src *ls = arg;

	return ldap_get_values_len(ls->ld, ls->e, attr);
}

/* Build a person from one entry; *guard gets the guard value (may be NULL).
 * An entry whose id cannot be read is still a person (p->id_bad). */
int
dir_person_from_entry(struct dir *d, LDAPMessage *e, struct dir_person **out,
    char **guard)
{
	struct ldap_src ls = { d->ld, e };
	struct dir_entry_src src = { NULL, ldap_vals, &ls };
	char *dn;
	int rc;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((dn = ldap_get_dn(d->ld, e)) == NULL) {
		log_err("%s: out of memory reading an entry", d->cfg->uri);
		return -1;
	}
	src.dn = dn;
	rc = dir_person_parse(d, &src, out, guard);
	ldap_memfree(dn);
	return rc;
}

int
dir_person_parse(struct dir *d, const struct dir_entry_src *src,
    struct dir_person **out, char **guard)
{
	const struct dir_flavour *fl = d->fl;
	const char *mailattr = d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail";
	struct dir_person *p;
	char *s = NULL;
	int rc = -1;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->dn = strdup(src->dn)) == NULL)
		goto nomem;
	if (dir_id_read(d, src, p) == -1)
		goto nomem;
	if (first_str(src, mailattr, &p->mail) == -1 ||
	    dir_person_addrs(d, src, p) == -1 ||
	    first_str(src, "displayName", &p->display_name) == -1)
		goto nomem;
	if (p->display_name == NULL &&
	    first_str(src, "cn", &p->display_name) == -1)
		goto nomem;
	if (d->cfg->trigger_attribute != NULL && first_str(src,
	    d->cfg->trigger_attribute, &p->trigger) == -1)
		goto nomem;
	if (fl->attr_disabled != NULL) {
		if (first_str(src, fl->attr_disabled, &s) == -1)
			goto nomem;
		if (s != NULL && fl->disabled_match != NULL)
			p->disabled = strcasecmp(s, fl->disabled_match) == 0;
		else if (s != NULL)
			p->disabled = (strtoul(s, NULL, 10) &
			    fl->disabled_bit) != 0;
	}
	if (all_vals(src, fl->attr_usercert, &p->usercert,
	    &p->n_usercert) == -1 ||
	    all_vals(src, fl->attr_smime, &p->smime, &p->n_smime) == -1)
		goto nomem;
	if (fl->attr_usercert_plain != NULL && all_vals(src,
	    fl->attr_usercert_plain, &p->usercert_plain,
	    &p->n_usercert_plain) == -1)
		goto nomem;
	if (guard != NULL && fl->attr_guard != NULL &&
	    first_str(src, fl->attr_guard, guard) == -1)
		goto nomem;
	*out = p;
	p = NULL;
	rc = 0;
	goto out;
nomem:
	log_err("%s: out of memory reading an entry", d->cfg->uri);
out:
	free(s);
	dir_person_free(p);
	return rc;
}

/* What one search asks for: every attribute a dir_person holds. */
void
dir_attrs(struct dir *d, char *attrs[DIR_NATTRS])
{
	const struct dir_flavour *fl = d->fl;
	const char *aliases[DIR_ALIAS_ATTRS_MAX + 1];
	size_t i, na;
	int n = 0;

	attrs[n++] = (char *)(d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail");
	na = dir_alias_attrs(d->cfg, aliases);
	for (i = 0; i < na; i++)
		attrs[n++] = (char *)aliases[i];
	attrs[n++] = "displayName";
	attrs[n++] = "cn";
	if (d->attr_id != NULL)
		attrs[n++] = (char *)d->attr_id;
	attrs[n++] = (char *)fl->attr_usercert;
	attrs[n++] = (char *)fl->attr_smime;
	if (fl->attr_usercert_plain != NULL)
		attrs[n++] = (char *)fl->attr_usercert_plain;
	if (fl->attr_guard != NULL)
		attrs[n++] = (char *)fl->attr_guard;
	if (fl->attr_disabled != NULL)
		attrs[n++] = (char *)fl->attr_disabled;
	if (d->cfg->trigger_attribute != NULL)
		attrs[n++] = d->cfg->trigger_attribute;
	attrs[n] = NULL;
}

/*
 * Read the answers to search msgid, handing each entry to fn, until its
 * final result, left in *res for the caller. 0; -1 stopped and abandoned
 * (no answer within the timeout, logged; or fn failed, as fn said); 1 the
 * LDAP error in *rc, for the caller to report.
 */
static int
dir_search_read(struct dir *d, int msgid, const char *base,
    const char *filter, struct timeval *tv, entry_fn fn, void *arg,
    size_t *delivered, LDAPMessage **res, int *rc)
{
	LDAPMessage *msg = NULL;
	int t;

	for (;;) {
		t = ldap_result(d->ld, msgid, LDAP_MSG_ONE, tv, &msg);
		if (t == 0) {
			log_err("%s: search %s under %s: no answer within "
			    "%d s", d->cfg->uri, filter, base, dir_timeout(d));
			(void)ldap_abandon_ext(d->ld, msgid, NULL, NULL);
			return -1;
		}
		if (t == -1) {
			ldap_msgfree(msg);
			(void)ldap_get_option(d->ld, LDAP_OPT_RESULT_CODE, rc);
			return 1;
		}
		if (t == LDAP_RES_SEARCH_ENTRY) {
			if (fn(d, msg, arg) == -1) {
				ldap_msgfree(msg);
				(void)ldap_abandon_ext(d->ld, msgid, NULL,
				    NULL);
				return -1;
			}
			(*delivered)++;
		} else if (t == LDAP_RES_SEARCH_RESULT) {
			*res = msg;
			return 0;
		}
		/* References: referrals are off; ignore them. */
		ldap_msgfree(msg);
		msg = NULL;
	}
}

/*
 * One search of filter under base (paged with page > 0), calling fn for
 * each entry. *delivered counts entries handed to fn. Returns 0,
 * SRCH_ERR (logged) or SRCH_LOST (nothing delivered, not logged).
 * A sizelimit of 0 means none; LDAP_SIZELIMIT_EXCEEDED is not an error
 * (*sizelimit_hit says it happened).
 */
static int
dir_search_once(struct dir *d, const char *base, const char *filter,
    int page, int sizelimit, entry_fn fn, void *arg, size_t *delivered,
    int *sizelimit_hit)
{
	struct timeval tv = { dir_timeout(d), 0 };
	struct berval cookie = { 0, NULL };
	LDAPControl *pctrl = NULL, *ctrls[2] = { NULL, NULL }, **sctrls = NULL;
	LDAPControl *resp;
	LDAPMessage *msg = NULL;
	char *attrs[DIR_NATTRS], *diag = NULL;
	ber_int_t count;
	int msgid = -1, rc, r, err, ret = SRCH_ERR, more;

	dir_attrs(d, attrs);
	if (sizelimit_hit != NULL)
		*sizelimit_hit = 0;
	do {
		more = 0;
		if (page > 0) {
			rc = ldap_create_page_control(d->ld, (ber_int_t)page,
			    cookie.bv_val != NULL ? &cookie : NULL, 1, &pctrl);
			if (rc != LDAP_SUCCESS) {
				dir_log_ldap(d, rc, "paged results control");
				goto out;
			}
			ctrls[0] = pctrl;
		}
		rc = ldap_search_ext(d->ld, base, LDAP_SCOPE_SUBTREE,
		    filter, attrs, 0, page > 0 ? ctrls : NULL, NULL, &tv,
		    sizelimit, &msgid);
		ldap_control_free(pctrl);
		pctrl = NULL;
		if (rc != LDAP_SUCCESS)
			goto ldap_failed;
		if ((r = dir_search_read(d, msgid, base, filter, &tv, fn, arg,
		    delivered, &msg, &rc)) == -1)
			goto out;
		if (r == 1)
			goto ldap_failed;
		rc = ldap_parse_result(d->ld, msg, &err, NULL, &diag, NULL,
		    &sctrls, 0);
		if (rc != LDAP_SUCCESS)
			goto ldap_failed;
		if (err == LDAP_SIZELIMIT_EXCEEDED && sizelimit > 0 &&
		    sizelimit_hit != NULL)
			*sizelimit_hit = 1;
		else if (err != LDAP_SUCCESS) {
			rc = err;
			goto ldap_failed;
		}
		if (page > 0) {
			ber_memfree(cookie.bv_val);
			cookie.bv_val = NULL;
			cookie.bv_len = 0;
			resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
			    sctrls, NULL);
			if (resp != NULL && ldap_parse_pageresponse_control(
			    d->ld, resp, &count, &cookie) == LDAP_SUCCESS &&
			    cookie.bv_len > 0)
				more = 1;
		}
		ldap_controls_free(sctrls);
		sctrls = NULL;
		ldap_memfree(diag);
		diag = NULL;
		ldap_msgfree(msg);
		msg = NULL;
	} while (more);
	ret = 0;
	goto out;
ldap_failed:
	if (dir_conn_lost(rc) && *delivered == 0) {
		ret = SRCH_LOST;
		goto out;
	}
	if (diag != NULL && diag[0] != '\0')
		log_err("%s: search %s under %s: %s (%s)", d->cfg->uri, filter,
		    base, ldap_err2string(rc), diag);
	else
		dir_log_ldap(d, rc, "search %s under %s", filter, base);
out:
	ber_memfree(cookie.bv_val);
	ldap_control_free(pctrl);
	ldap_controls_free(sctrls);
	ldap_memfree(diag);
	ldap_msgfree(msg);
	return ret;
}

/* The contract is in dir_priv.h. */
int
dir_search(struct dir *d, const char *base, const char *filter, int page,
    int sizelimit, entry_fn fn, void *arg, int *sizelimit_hit)
{
	size_t delivered = 0;
	int rc;

	if (base == NULL)
		base = d->cfg->base;
	if (dir_ensure(d) == -1)
		return -1;
	rc = dir_search_once(d, base, filter, page, sizelimit, fn, arg,
	    &delivered, sizelimit_hit);
	if (rc == SRCH_LOST) {
		log_warn("%s: connection lost; reconnecting", d->cfg->uri);
		if (dir_reconnect(d) == -1)
			return -1;
		rc = dir_search_once(d, base, filter, page, sizelimit, fn,
		    arg, &delivered, sizelimit_hit);
		if (rc == SRCH_LOST) {
			log_err("%s: search %s: connection lost again",
			    d->cfg->uri, filter);
			rc = -1;
		}
	}
	return rc == 0 ? 0 : -1;
}

struct people_arg {
	dir_person_cb	 cb;
	void		*arg;
};

static int
people_entry(struct dir *d, LDAPMessage *e, void *arg)
{
	struct people_arg *pa = arg;
	struct dir_person *p = NULL;
	int rc;

	if (dir_person_from_entry(d, e, &p, NULL) == -1)
		return -1;
	rc = pa->cb(p, pa->arg);
	dir_person_free(p);
	return rc == -1 ? -1 : 0;
}

int
dir_search_people(struct dir *d, const char *filter, dir_person_cb cb,
    void *arg)
{
	struct people_arg pa = { cb, arg };
	int page;

	if (filter == NULL)
		filter = d->cfg->filter != NULL ? d->cfg->filter :
		    d->fl->default_filter;
	page = d->cfg->page_size > 0 ? d->cfg->page_size : DIR_DEFAULT_PAGE;
	if (page > d->fl->max_page)
		page = d->fl->max_page;
	return dir_search(d, NULL, filter, page, 0, people_entry, &pa, NULL);
}
