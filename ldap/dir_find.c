/*
 * dir_find.c — finding the one person: by mail under base (the filter
 * applies unless dir_set_unfiltered), or by stable id anywhere in the
 * naming context; two entries are never one person. Each can also read
 * the entry's lost-update guard for the modify that follows (publish).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>

#include "common/cfg.h"
#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

struct find_arg {
	struct dir_person *p[2];
	char		*guard;
	size_t		 n;
};

static int
find_entry(struct dir *d, LDAPMessage *e, void *arg)
{
	struct find_arg *fa = arg;
	struct dir_person *p = NULL;
	char *g = NULL;

	if (fa->n >= 2)
		return 0;	/* a size limit of 2 makes this impossible */
	if (dir_person_from_entry(d, e, &p, fa->n == 0 ? &g : NULL) == -1)
		return -1;
	fa->p[fa->n++] = p;
	if (g != NULL)
		fa->guard = g;
	return 0;
}

/* Hand the one entry found (and its guard, if asked for) to the caller. */
static void
find_take(struct find_arg *fa, struct dir_person **out, char **guard)
{
	*out = fa->p[0];
	fa->p[0] = NULL;
	if (guard != NULL) {
		*guard = fa->guard;
		fa->guard = NULL;
	}
}

static void
find_clear(struct find_arg *fa)
{
	dir_person_free(fa->p[0]);
	dir_person_free(fa->p[1]);
	free(fa->guard);
}

int
dir_find_guarded(struct dir *d, const char *addr, struct dir_person **out,
    char **guard)
{
	struct find_arg fa = { { NULL, NULL }, NULL, 0 };
	const char *mailattr = d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail";
	/* a leaver no longer matches the filter, yet must be found to be
	 * unpublished: dir_set_unfiltered() */
	const char *base = d->unfiltered ? "(objectClass=*)" :
	    d->cfg->filter != NULL ? d->cfg->filter : d->fl->default_filter;
	char *esc = NULL, *filter = NULL;
	int rc = -1, hit = 0;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((esc = dir_filter_escape(addr, strlen(addr))) == NULL ||
	    asprintf(&filter, "(&%s(%s=%s))", base, mailattr, esc) == -1) {
		filter = NULL;
		log_err("%s: out of memory", addr);
		goto out;
	}
	if (dir_search(d, NULL, filter, 0, 2, find_entry, &fa, &hit) == -1)
		goto out;
	if (fa.n == 0) {
		log_err("%s: no entry with %s=%s under %s", d->cfg->uri,
		    mailattr, addr, d->cfg->base);
		rc = 1;
		goto out;
	}
	if (fa.n > 1) {
		log_err("%s: %s %s=%s under %s: %s and %s; publishing to "
		    "neither", d->cfg->uri, hit ? "more than two entries with" :
		    "two entries with", mailattr, addr, d->cfg->base,
		    fa.p[0]->dn, fa.p[1]->dn);
		rc = DIR_AMBIGUOUS;
		goto out;
	}
	find_take(&fa, out, guard);
	rc = 0;
out:
	find_clear(&fa);
	free(esc);
	free(filter);
	return rc;
}

int
dir_find_by_mail(struct dir *d, const char *addr, struct dir_person **out)
{
	return dir_find_guarded(d, addr, out, NULL);
}

/* "(ATTR=VALUE)" for a stable id in its string form; NULL if malformed. */
static char *
id_filter(struct dir *d, const char *id)
{
	/* the string form shows the first three groups little-endian */
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
	    8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned char raw[16];
	char *esc = NULL, *f = NULL;
	unsigned int x;
	const char *s = id;
	int i;

	if (!d->fl->id_is_binary)
		esc = dir_filter_escape(id, strlen(id));
	else {
		for (i = 0; i < 16; i++) {
			if (*s == '-' && (i == 4 || i == 6 || i == 8 ||
			    i == 10))
				s++;
			if (sscanf(s, "%2x", &x) != 1 || s[0] == '\0' ||
			    s[1] == '\0')
				return NULL;
			raw[order[i]] = (unsigned char)x;
			s += 2;
		}
		if (*s != '\0')
			return NULL;
		esc = dir_filter_escape((const char *)raw, sizeof(raw));
	}
	if (esc == NULL || asprintf(&f, "(%s=%s)", d->attr_id != NULL ?
	    d->attr_id : d->fl->attr_id, esc) == -1)
		f = NULL;
	free(esc);
	return f;
}

int
dir_find_id_guarded(struct dir *d, const char *id, struct dir_person **out,
    char **guard)
{
	struct find_arg fa = { { NULL, NULL }, NULL, 0 };
	char *nc = NULL, *filter = NULL;
	int rc = -1, hit = 0;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((filter = id_filter(d, id)) == NULL) {
		log_err("%s: \"%s\" is not a %s", d->cfg->uri, id,
		    d->fl->attr_id);
		goto out;
	}
	if (dir_naming_context(d, &nc) == -1 ||
	    dir_search(d, nc, filter, 0, 2, find_entry, &fa, &hit) == -1)
		goto out;
	if (fa.n == 0) {
		rc = 1;
		goto out;
	}
	if (fa.n > 1) {
		log_err("%s: two entries with %s %s: %s and %s", d->cfg->uri,
		    d->fl->attr_id, id, fa.p[0]->dn, fa.p[1]->dn);
		goto out;
	}
	find_take(&fa, out, guard);
	rc = 0;
out:
	find_clear(&fa);
	free(filter);
	free(nc);
	return rc;
}

int
dir_find_by_id(struct dir *d, const char *id, struct dir_person **out)
{
	return dir_find_id_guarded(d, id, out, NULL);
}
