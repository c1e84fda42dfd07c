/*
 * contest.c — addresses more than one entry holds, seen across a full pass
 * (DESIGN.md: a person's addresses; issue 20). An enrolment checks its own
 * person's addresses with one search (enrol/addrs.c) and leaves a contested
 * alias out; but the person who held an alias first is not enrolled again
 * when someone else takes it too, nor is the one who lost it when the
 * other lets it go. Every full pass therefore notes each entry's addresses,
 * sorts them once the search is done, reports each address held by more
 * than one entry (a warning naming them, the gauge
 * smimepub_sync_addresses_contested), and plans a renewal for whoever's
 * certificate now names an address it must not, or leaves out one that is
 * theirs alone again. Memory: one string per address, one per entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "sync/metrics.h"
#include "sync/sync_priv.h"

struct contest_person {
	char		*id, *mail, *dn;
	int		 eligible;	/* a certificate of ours is out */
	char		 named[40];	/* the digest of what it names */
	const char	*contested;	/* the first of theirs held twice */
	int		 mail_contested;
	size_t		 nmine, off;	/* their uncontested addresses */
};

struct contest_addr {
	char		*addr;
	size_t		 who;
	int		 contested;	/* more than one entry holds it */
};

struct sync_contest {
	struct contest_person	*p;
	size_t			 np, capp;
	struct contest_addr	*a;
	size_t			 na, capa;
};

struct sync_contest *
sync_contest_new(void)
{
	return calloc(1, sizeof(struct sync_contest));
}

void
sync_contest_free(struct sync_contest *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->np; i++) {
		free(c->p[i].id);
		free(c->p[i].mail);
		free(c->p[i].dn);
	}
	for (i = 0; i < c->na; i++)
		free(c->a[i].addr);
	free(c->p);
	free(c->a);
	free(c);
}

static int
contest_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	if ((nv = reallocarray(*v, ncap, sz)) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

int
sync_contest_add(struct sync_contest *c, const struct dir_person *p,
    const char *mail)
{
	struct contest_person *cp;
	size_t i;

	if (p->n_addrs == 0)
		return 0;
	if (contest_grow((void **)&c->p, &c->capp, c->np, sizeof(*c->p)) ==
	    -1)
		goto nomem;
	cp = &c->p[c->np];
	memset(cp, 0, sizeof(*cp));
	if ((p->id != NULL && (cp->id = strdup(p->id)) == NULL) ||
	    (cp->mail = strdup(mail)) == NULL ||
	    (cp->dn = strdup(p->dn != NULL ? p->dn : "?")) == NULL) {
		free(cp->id);
		free(cp->mail);
		goto nomem;
	}
	c->np++;
	for (i = 0; i < p->n_addrs; i++) {
		if (contest_grow((void **)&c->a, &c->capa, c->na,
		    sizeof(*c->a)) == -1 ||
		    (c->a[c->na].addr = strdup(p->addrs[i])) == NULL)
			goto nomem;
		c->a[c->na].contested = 0;
		c->a[c->na++].who = c->np - 1;
	}
	return 0;
nomem:
	log_err("sync: out of memory noting the addresses of %s", p->dn);
	return -1;
}

void
sync_contest_record(struct sync_contest *c, const struct jrnl_enr *r,
    int disabled)
{
	struct contest_person *cp;

	if (c == NULL || c->np == 0)
		return;
	cp = &c->p[c->np - 1];
	/* a record from before address sets ("?") is left alone */
	if (disabled || strcmp(r->addrs, "?") == 0 ||
	    (r->state != JRNL_PUBLISHED && r->state != JRNL_DELIVERED))
		return;
	cp->eligible = 1;
	snprintf(cp->named, sizeof(cp->named), "%s", r->named);
}

static int
contest_cmp(const void *x, const void *y)
{
	const struct contest_addr *a = x, *b = y;
	int d = strcasecmp(a->addr, b->addr);

	if (d != 0)
		return d;
	return a->who < b->who ? -1 : a->who > b->who;
}

/* The run of equal addresses from a[i] on: report it, mark its holders. */
static size_t
contest_run(struct sync_contest *c, size_t i, size_t *ncontested)
{
	struct contest_person *cp;
	size_t j, k, holders = 1;

	for (j = i + 1; j < c->na && strcasecmp(c->a[i].addr,
	    c->a[j].addr) == 0; j++)
		if (c->a[j].who != c->a[j - 1].who)
			holders++;
	if (holders < 2)
		return j;
	(*ncontested)++;
	log_warn("sync: %s is an address of %zu entries (%s and %s%s): no "
	    "new certificate names it until all but one let it go",
	    c->a[i].addr,
	    holders, c->p[c->a[i].who].dn, c->p[c->a[j - 1].who].dn,
	    holders > 2 ? ", and more" : "");
	for (k = i; k < j; k++) {
		cp = &c->p[c->a[k].who];
		c->a[k].contested = 1;
		if (cp->contested == NULL)
			cp->contested = c->a[k].addr;
		if (strcasecmp(cp->mail, c->a[k].addr) == 0)
			cp->mail_contested = 1;
	}
	return j;
}

/*
 * Whether cp's certificate names other addresses than it is to: its
 * uncontested addresses (mine, nmine of them) against the digest of those
 * it names; or its mail is contested, which fails its enrolment (reported
 * by enrol/addrs.c). 1 yes.
 */
static int
contest_changed(const struct contest_person *cp, char *const *mine)
{
	char digest[DIR_ADDRS_DIGEST];

	if (cp->mail_contested)
		return 1;
	dir_addrs_digest(mine, cp->nmine, digest);
	return strcmp(digest, cp->named) != 0;
}

/* Each person's uncontested addresses, grouped in *mine (borrowed from
 * c->a; caller frees the array): cp->off and cp->nmine. -1 out of memory. */
static int
contest_group(struct sync_contest *c, char ***mine)
{
	size_t i, off = 0;

	if ((*mine = calloc(c->na + 1, sizeof(**mine))) == NULL)
		return -1;
	for (i = 0; i < c->na; i++)
		if (!c->a[i].contested)
			c->p[c->a[i].who].nmine++;
	for (i = 0; i < c->np; i++) {
		c->p[i].off = off;
		off += c->p[i].nmine;
		c->p[i].nmine = 0;
	}
	for (i = 0; i < c->na; i++)
		if (!c->a[i].contested) {
			struct contest_person *cp = &c->p[c->a[i].who];

			(*mine)[cp->off + cp->nmine++] = c->a[i].addr;
		}
	return 0;
}

size_t
sync_contest_plan(struct sync_contest *c,
    int (*plan)(const char *id, const char *mail, const char *why, void *),
    void *arg)
{
	struct contest_person *cp;
	size_t i, ncontested = 0, rc = (size_t)-1;
	char why[192], **mine = NULL;

	if (c->na > 0)
		qsort(c->a, c->na, sizeof(*c->a), contest_cmp);
	for (i = 0; i < c->na; )
		i = contest_run(c, i, &ncontested);
	met_addresses_contested(ncontested);
	if (contest_group(c, &mine) == -1) {
		log_err("sync: out of memory planning the pass");
		goto out;
	}
	for (i = 0; i < c->np; i++) {
		cp = &c->p[i];
		if (!cp->eligible || cp->id == NULL ||
		    !contest_changed(cp, mine + cp->off))
			continue;
		if (cp->contested != NULL)
			snprintf(why, sizeof(why), "address %.120s is now "
			    "another entry's too", cp->contested);
		else
			snprintf(why, sizeof(why), "an alias left out as "
			    "another entry's is theirs alone again");
		if (plan(cp->id, cp->mail, why, arg) == -1)
			goto out;
	}
	rc = ncontested;
out:
	free(mine);
	return rc;
}
