/*
 * dir_dirsync.c — change watching by Active Directory's DirSync control
 * (1.2.840.113556.1.4.841, [MS-ADTS] 3.1.1.3.4.1.3): a search of the naming
 * context that holds base, carrying the cookie the previous one returned,
 * answers with only the objects changed since. The cookie lives in memory:
 * after a start the first poll would return everything, so the caller
 * primes it (and throws that answer away) before its first full pass, which
 * looks at everyone anyway. Also here: the naming context of base, from the
 * root DSE (DirSync and the search by id start there).
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

#define DS_MAX_IDS	200	/* more changes at once: look at everyone */
#define DS_MAX_ROUNDS	1000	/* "more data" answers in one poll */

struct dir_dirsync {
	struct berval	 cookie;	/* bv_val malloc'd; empty at first */
	int		 flags;
	char		*nc;		/* the naming context, read once */
};

/* Is dn equal to base or below it (case-insensitive, at a comma)? */
int
dir_dn_under(const char *dn, const char *base)
{
	size_t n = strlen(dn), b = strlen(base);

	if (n < b || strcasecmp(dn + n - b, base) != 0)
		return 0;
	return n == b || dn[n - b - 1] == ',';
}

int
dir_naming_context(struct dir *d, char **nc)
{
	static char *attrs[] = { "namingContexts", NULL };
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	size_t best = 0;
	int rc, i, ret = -1;

	*nc = NULL;
	if (d->nc != NULL) {
		if ((*nc = strdup(d->nc)) == NULL) {
			log_err("%s: out of memory", d->cfg->uri);
			return -1;
		}
		return 0;
	}
	if (dir_ensure(d) == -1)
		return -1;
	rc = ldap_search_ext_s(d->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res);
	if (dir_conn_lost(rc)) {
		/* as a search does: the worker waits for the directory
		 * when the reconnect fails (the connection is dropped) */
		log_warn("%s: connection lost; reconnecting", d->cfg->uri);
		ldap_msgfree(res);
		res = NULL;
		if (dir_reconnect(d) == -1)
			return -1;
		rc = ldap_search_ext_s(d->ld, "", LDAP_SCOPE_BASE,
		    "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	}
	if (rc != LDAP_SUCCESS) {
		dir_log_ldap(d, rc, "read namingContexts from the root DSE");
		goto out;
	}
	if ((e = ldap_first_entry(d->ld, res)) != NULL)
		v = ldap_get_values_len(d->ld, e, "namingContexts");
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		char s[1024];

		if (v[i]->bv_len == 0 || v[i]->bv_len >= sizeof(s) ||
		    v[i]->bv_len <= best)
			continue;
		memcpy(s, v[i]->bv_val, v[i]->bv_len);
		s[v[i]->bv_len] = '\0';
		if (!dir_dn_under(d->cfg->base, s))
			continue;
		free(*nc);
		if ((*nc = strdup(s)) == NULL) {
			log_err("%s: out of memory", d->cfg->uri);
			goto out;
		}
		best = v[i]->bv_len;
	}
	if (*nc == NULL) {
		log_err("%s: no naming context in the root DSE holds %s",
		    d->cfg->uri, d->cfg->base);
		goto out;
	}
	if ((d->nc = strdup(*nc)) == NULL) {
		log_err("%s: out of memory", d->cfg->uri);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		free(*nc);
		*nc = NULL;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return ret;
}

struct dir_dirsync *
dir_dirsync_new(int flags)
{
	struct dir_dirsync *ds;

	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		log_err("dirsync: out of memory");
		return NULL;
	}
	ds->flags = flags;
	return ds;
}

void
dir_dirsync_free(struct dir_dirsync *ds)
{
	if (ds == NULL)
		return;
	free(ds->cookie.bv_val);
	free(ds->nc);
	free(ds);
}

/* Append "(ATTR=\xx\xx...)" for one id value to *buf. -1 on ENOMEM. */
static int
ds_append(char **buf, size_t *len, const char *attr, const struct berval *v)
{
	char *esc = NULL, *nb;
	size_t add;
	int rc = -1;

	if ((esc = dir_filter_escape(v->bv_val, v->bv_len)) == NULL)
		return -1;
	add = strlen(attr) + strlen(esc) + 4;
	if ((nb = realloc(*buf, *len + add + 1)) == NULL)
		goto out;
	*buf = nb;
	*len += (size_t)snprintf(nb + *len, add + 1, "(%s=%s)", attr, esc);
	rc = 0;
out:
	free(esc);
	return rc;
}

/*
 * One DirSync search of nc with the current cookie; ids of the entries
 * under base are appended to *buf (when buf is not NULL), *n counts them.
 * *more says the DC has more. Returns the LDAP result code.
 */
static int
ds_round(struct dir *d, struct dir_dirsync *ds, const char *nc,
    const char *filter, char **buf, size_t *len, size_t *n, int *more)
{
	struct timeval tv = { dir_timeout(d), 0 };
	struct berval empty = { 0, "" }, cookie = { 0, NULL };
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL }, **sctrls = NULL;
	LDAPControl *resp;
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	char *attrs[6 + DIR_ALIAS_ATTRS_MAX], *dn = NULL;
	const char *aliases[DIR_ALIAS_ATTRS_MAX + 1];
	int rc, err = LDAP_SUCCESS, k = 0;
	size_t i, na;

	*more = 0;
	attrs[k++] = (char *)d->fl->attr_id;
	attrs[k++] = (char *)(d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail");
	attrs[k++] = "name";	/* changes on a rename or move */
	/* an alias added or removed is a change of the person's addresses */
	na = dir_alias_attrs(d->cfg, aliases);
	for (i = 0; i < na; i++)
		attrs[k++] = (char *)aliases[i];
	if (d->fl->attr_disabled != NULL)
		attrs[k++] = (char *)d->fl->attr_disabled;
	if (d->cfg->trigger_attribute != NULL)
		attrs[k++] = d->cfg->trigger_attribute;
	attrs[k] = NULL;
	rc = ldap_create_dirsync_control(d->ld, ds->flags, 0,
	    ds->cookie.bv_len > 0 ? &ds->cookie : &empty, &ctrl);
	if (rc != LDAP_SUCCESS)
		goto out;
	ctrls[0] = ctrl;
	rc = ldap_search_ext_s(d->ld, nc, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
	    ctrls, NULL, &tv, 0, &res);
	if (rc != LDAP_SUCCESS)
		goto out;
	for (e = ldap_first_entry(d->ld, res); e != NULL;
	    e = ldap_next_entry(d->ld, e)) {
		ldap_memfree(dn);
		ldap_value_free_len(v);
		v = NULL;
		if ((dn = ldap_get_dn(d->ld, e)) == NULL ||
		    !dir_dn_under(dn, d->cfg->base))
			continue;
		v = ldap_get_values_len(d->ld, e, d->fl->attr_id);
		if (v == NULL || v[0] == NULL)
			continue;
		if (buf != NULL)	/* not while priming: that is everyone */
			log_debug("DirSync: %s changed", dn);
		(*n)++;
		if (buf != NULL && *n <= DS_MAX_IDS &&
		    ds_append(buf, len, d->fl->attr_id, v[0]) == -1) {
			rc = LDAP_NO_MEMORY;
			goto out;
		}
	}
	rc = ldap_parse_result(d->ld, res, &err, NULL, NULL, NULL, &sctrls,
	    0);
	if (rc != LDAP_SUCCESS)
		goto out;
	if ((rc = err) != LDAP_SUCCESS)
		goto out;
	resp = ldap_control_find(LDAP_CONTROL_X_DIRSYNC, sctrls, NULL);
	if (resp == NULL || ldap_parse_dirsync_control(d->ld, resp, more,
	    &cookie) != LDAP_SUCCESS) {
		rc = LDAP_CONTROL_NOT_FOUND;
		goto out;
	}
	free(ds->cookie.bv_val);
	ds->cookie.bv_val = NULL;
	ds->cookie.bv_len = 0;
	if (cookie.bv_len > 0) {
		if ((ds->cookie.bv_val = malloc(cookie.bv_len)) == NULL) {
			rc = LDAP_NO_MEMORY;
			goto out;
		}
		memcpy(ds->cookie.bv_val, cookie.bv_val, cookie.bv_len);
		ds->cookie.bv_len = cookie.bv_len;
	}
out:
	ber_memfree(cookie.bv_val);
	ldap_memfree(dn);
	ldap_value_free_len(v);
	ldap_control_free(ctrl);
	ldap_controls_free(sctrls);
	ldap_msgfree(res);
	return rc;
}

int
dir_dirsync_poll(struct dir *d, struct dir_dirsync *ds, char **changed,
    size_t *nchanged)
{
	const char *filter = d->cfg->filter != NULL ? d->cfg->filter :
	    d->fl->default_filter;
	char *buf = NULL;
	size_t len = 0, n = 0;
	int rc, more, round, reconnected = 0, ret = -1;

	if (changed != NULL)
		*changed = NULL;
	if (ds->nc == NULL && dir_naming_context(d, &ds->nc) == -1)
		goto out;
	if (dir_ensure(d) == -1)
		goto out;
	for (round = 0; round < DS_MAX_ROUNDS; round++) {
		rc = ds_round(d, ds, ds->nc, filter, changed != NULL ? &buf : NULL,
		    &len, &n, &more);
		if (dir_conn_lost(rc) && !reconnected) {
			log_warn("%s: connection lost; reconnecting",
			    d->cfg->uri);
			reconnected = 1;
			if (dir_reconnect(d) == -1)
				goto out;
			round--;
			continue;
		}
		if (rc == LDAP_CONTROL_NOT_FOUND) {
			log_err("%s: DirSync search of %s: the answer carries "
			    "no DirSync control", d->cfg->uri, ds->nc);
			goto out;
		}
		if (rc != LDAP_SUCCESS) {
			dir_log_ldap(d, rc, "DirSync (1.2.840.113556.1.4.841) "
			    "search of %s%s", ds->nc, rc ==
			    LDAP_INSUFFICIENT_ACCESS ? " (the bind identity "
			    "needs the \"Replicating Directory Changes\" right "
			    "on the naming context)" : "");
			goto out;
		}
		if (!more)
			break;
	}
	if (changed != NULL) {
		if (n > DS_MAX_IDS)
			*changed = strdup("(objectClass=*)");
		else if (n > 1 && asprintf(changed, "(|%s)", buf) == -1)
			*changed = NULL;
		else if (n <= 1)
			*changed = strdup(buf != NULL ? buf : "");
		if (*changed == NULL) {
			log_err("%s: DirSync: out of memory", d->cfg->uri);
			goto out;
		}
	}
	if (nchanged != NULL)
		*nchanged = n;
	ret = 0;
out:
	free(buf);
	return ret;
}
