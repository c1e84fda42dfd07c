/*
 * dir_check.c — what the bind identity can read, asked of the server
 * rather than assumed: which stable id a 389-ds directory gives (the
 * entryuuid plugin's entryUUID, else nsUniqueId), and whether the
 * attributes smimepub-sync relies on (the id, modifyTimestamp for polling,
 * the disabled flag) are visible on the people it would enrol. A missing
 * ACI otherwise shows only as entries skipped or changes never seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

static int
has_attr(struct dir *d, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(d->ld, e, attr);
	int ok = v != NULL && v[0] != NULL;

	ldap_value_free_len(v);
	return ok;
}

/*
 * The first person under base matching the filter and, when attr is not
 * NULL, showing attr ("(attr=*)": a server evaluates it only where the
 * bind identity may search attr). *e NULL if none. 0, or -1 logged. The
 * caller frees *res.
 */
static int
first_person(struct dir *d, const char *attr, LDAPMessage **res,
    LDAPMessage **e)
{
	struct timeval tv = { dir_timeout(d), 0 };
	const char *base = d->cfg->filter != NULL ? d->cfg->filter :
	    d->fl->default_filter;
	char *attrs[3] = { (char *)(attr != NULL ? attr : "1.1"), NULL, NULL };
	char *filter = NULL;
	int rc, ret = -1;

	*res = NULL;
	*e = NULL;
	if (attr != NULL && asprintf(&filter, "(&%s(%s=*))", base, attr) == -1) {
		filter = NULL;
		log_err("%s: out of memory", d->cfg->uri);
		goto out;
	}
	if (dir_ensure(d) == -1)
		goto out;
	rc = ldap_search_ext_s(d->ld, d->cfg->base, LDAP_SCOPE_SUBTREE,
	    filter != NULL ? filter : base, attrs, 0, NULL, NULL, &tv, 1, res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		dir_log_ldap(d, rc, "search %s under %s", filter != NULL ?
		    filter : base, d->cfg->base);
		goto out;
	}
	*e = ldap_first_entry(d->ld, *res);
	if (*e != NULL && attr != NULL && !has_attr(d, *e, attr))
		*e = NULL;	/* matched, yet not shown: not readable */
	ret = 0;
out:
	free(filter);
	return ret;
}

int
dir_probe_id_attr(struct dir *d, const char **attr)
{
	LDAPMessage *res = NULL, *e;
	int rc = -1;

	*attr = d->fl->attr_id;
	if (d->fl->attr_id_alt == NULL)
		return 0;
	if (first_person(d, d->fl->attr_id, &res, &e) == -1)
		goto out;
	if (e == NULL) {
		*attr = d->fl->attr_id_alt;
		log_info("%s: no person under base shows %s to %s (the "
		    "entryuuid plugin is off, or no ACI grants it): person ids "
		    "are its %s", d->cfg->uri, d->fl->attr_id,
		    d->cfg->bind_dn != NULL ? d->cfg->bind_dn : "anonymous",
		    *attr);
	}
	rc = 0;
out:
	ldap_msgfree(res);
	return rc;
}

int
dir_check_access(struct dir *d, int polls, char *report, size_t sz)
{
	const char *check[4], *who = d->cfg->bind_dn != NULL ?
	    d->cfg->bind_dn : "anonymous";
	LDAPMessage *res = NULL, *e;
	char list[256], *dn = NULL;
	size_t len = 0;
	int n = 0, i, bad = 0, rc = -1;

	report[0] = list[0] = '\0';
	check[n++] = d->attr_id != NULL ? d->attr_id : d->fl->attr_id;
	if (polls)
		check[n++] = "modifyTimestamp";
	/* nsAccountLock is absent on an account that is not locked: only
	 * AD's userAccountControl is on every person to be seen */
	if (d->fl->attr_disabled != NULL && d->fl->disabled_match == NULL)
		check[n++] = d->fl->attr_disabled;
	if (first_person(d, NULL, &res, &e) == -1)
		goto out;
	if (e == NULL) {
		snprintf(report, sz, "%s sees no person under %s matching the "
		    "filter (wrong base or filter, or no ACI grants search)",
		    who, d->cfg->base);
		rc = 1;
		goto out;
	}
	dn = ldap_get_dn(d->ld, e);
	for (i = 0; i < n; i++) {
		ldap_msgfree(res);
		if (first_person(d, check[i], &res, &e) == -1)
			goto out;
		if (e != NULL)
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s%s", bad++ ? ", " : "", check[i]);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	rc = 0;
	if (bad > 0) {
		snprintf(report, sz, "%s cannot read %s on any person (e.g. "
		    "%s): grant it read and search on %s", who, list,
		    dn != NULL ? dn : "?", bad > 1 ? "them" : "it");
		rc = 1;
	}
out:
	ldap_memfree(dn);
	ldap_msgfree(res);
	return rc;
}

int
dir_alias_seen(struct dir *d, const char *attr, char **dn)
{
	LDAPMessage *res = NULL, *e;
	char *s;
	int rc = -1;

	*dn = NULL;
	if (first_person(d, attr, &res, &e) == -1)
		goto out;
	rc = e != NULL;
	if (e != NULL && (s = ldap_get_dn(d->ld, e)) != NULL) {
		*dn = strdup(s);
		ldap_memfree(s);
	}
out:
	ldap_msgfree(res);
	return rc;
}
