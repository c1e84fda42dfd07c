/*
 * dir_id.c — the stable id of an entry (DESIGN.md "What is in the
 * directory"): objectGUID in its string form, entryUUID or nsUniqueId
 * checked against its syntax, or, when it is absent, unreadable or not
 * well-formed, no id and the reason (an entry the caller skips and
 * reports, never the end of a search), with what fixes it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "ldap/dir.h"
#include "ldap/dir_priv.h"

/* objectGUID: 16 bytes, the first three groups little-endian (as AD shows). */
static char *
guid_str(const struct berval *bv)
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
	    8, 9, 10, 11, 12, 13, 14, 15 };
	const unsigned char *b = (const unsigned char *)bv->bv_val;
	char *s, *w;
	int i;

	if (bv->bv_len != 16 || (s = malloc(37)) == NULL)
		return NULL;
	w = s;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*w++ = '-';
		w += sprintf(w, "%02x", b[order[i]]);
	}
	return s;
}

/*
 * Is v a value of the id's syntax? entryUUID: RFC 4530 §2.1 (the RFC 4122
 * string form, 36 characters); nsUniqueId (389-ds): four groups of eight
 * hex digits. Either way no byte that could upset a log line or a filter.
 */
static int
id_wellformed(const char *attr, const struct berval *v)
{
	int uuid = strcasecmp(attr, "entryUUID") == 0;
	int nsuid = strcasecmp(attr, "nsUniqueId") == 0;
	size_t i;
	int dash;

	if ((uuid && v->bv_len != 36) || (nsuid && v->bv_len != 35) ||
	    v->bv_len == 0 || v->bv_len >= 80)
		return 0;
	for (i = 0; i < v->bv_len; i++) {
		unsigned char c = (unsigned char)v->bv_val[i];

		dash = uuid ? (i == 8 || i == 13 || i == 18 || i == 23) :
		    nsuid ? i % 9 == 8 : 0;
		if (dash ? c != '-' : (uuid || nsuid) ? !isxdigit(c) :
		    (c <= ' ' || c > '~'))
			return 0;
	}
	return 1;
}

/*
 * The stable id of e into p->id, or p->id NULL and p->id_bad saying why:
 * an entry without a readable id is the caller's to skip, never the end of
 * a search. -1 only when out of memory.
 */
int
dir_id_read(struct dir *d, const struct dir_entry_src *src, struct dir_person *p)
{
	struct berval **v;
	int rc = 0;

	if (d->attr_id == NULL)
		return 0;	/* not asked for (lookupd) */
	if ((v = src->vals(src->arg, d->attr_id)) == NULL ||
	    v[0] == NULL)
		p->id_bad = DIR_ID_MISSING;
	else if (d->fl->id_is_binary) {
		if (v[0]->bv_len != 16)
			p->id_bad = DIR_ID_MALFORMED;
		else if ((p->id = guid_str(v[0])) == NULL)
			rc = -1;
	} else if (!id_wellformed(d->attr_id, v[0]))
		p->id_bad = DIR_ID_MALFORMED;
	else if ((p->id = strndup(v[0]->bv_val, v[0]->bv_len)) == NULL)
		rc = -1;
	ldap_value_free_len(v);
	return rc;
}

void
dir_id_problem(const struct dir *d, const struct dir_person *p, char *buf,
    size_t sz)
{
	const char *attr = d->attr_id != NULL ? d->attr_id : d->fl->attr_id;

	if (p->id_bad == DIR_ID_MALFORMED)
		snprintf(buf, sz, "%s: its %s is not a valid value", p->dn,
		    attr);
	else
		snprintf(buf, sz, "%s: no %s readable by the bind identity "
		    "(%s)", p->dn, attr, d->fl->id_fix);
}
