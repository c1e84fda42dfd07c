/*
 * dir_addrs.c — a person's addresses (DESIGN.md: "mail plus
 * directory.alias_attributes"): read from the entry into p->addrs, mail
 * first; the filter that finds an entry by any of them (lookupd); which of
 * them another entry claims too (an alias on two people is named by
 * neither's certificate); and the digest the journal keeps to see the set
 * change. Where the aliases live by default, and which attribute's values
 * carry an address type (AD's proxyAddresses: "SMTP:", "smtp:", "X500:"),
 * is the flavour table's (flavour.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/mail.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

#define SMTP_TYPE	"smtp:"		/* MS-OXOABK 2.2.3.23 address type */
#define SMTP_TYPE_LEN	5

size_t
dir_alias_attrs(const struct cfg_directory *cfg,
    const char *out[DIR_ALIAS_ATTRS_MAX + 1])
{
	const struct dir_flavour *fl = dir_flavour_get(cfg->flavour);
	size_t n = 0;

	if (cfg->alias_attributes == NULL) {
		if (fl->alias_default != NULL)
			out[n++] = fl->alias_default;
	} else
		for (; n < cfg->n_alias_attributes && n < DIR_ALIAS_ATTRS_MAX;
		    n++)
			out[n] = cfg->alias_attributes[n];
	out[n] = NULL;
	return n;
}

/* Is attr the flavour's typed attribute ("type:address" values)? */
static int
addrs_typed(const struct dir_flavour *fl, const char *attr)
{
	return fl->alias_typed != NULL && strcasecmp(attr, fl->alias_typed) == 0;
}

char *
dir_addr_filter(const struct cfg_directory *cfg, const char *addr)
{
	const struct dir_flavour *fl = dir_flavour_get(cfg->flavour);
	const char *aliases[DIR_ALIAS_ATTRS_MAX + 1];
	char *esc, *f = NULL, *g;
	size_t i, n;

	n = dir_alias_attrs(cfg, aliases);
	if ((esc = dir_filter_escape(addr, strlen(addr))) == NULL)
		return NULL;
	if (asprintf(&f, "(%s=%s)", cfg->mail_attribute != NULL ?
	    cfg->mail_attribute : "mail", esc) == -1) {
		f = NULL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* "smtp:" matches "SMTP:" too: proxyAddresses compares
		 * case-insensitively (Unicode String, 2.5.5.12) */
		if (asprintf(&g, "%s(%s=%s%s)", f, aliases[i],
		    addrs_typed(fl, aliases[i]) ? SMTP_TYPE : "", esc) == -1) {
			free(f);
			f = NULL;
			goto out;
		}
		free(f);
		f = g;
	}
	if (n > 0) {
		if (asprintf(&g, "(|%s)", f) == -1)
			g = NULL;
		free(f);
		f = g;
	}
out:
	free(esc);
	return f;
}

static int
addrs_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* Add the canonical form of in (len bytes) to p->addrs unless it is there
 * (ASCII case-insensitively). 0, 1 not an address (warned), -1 ENOMEM. */
static int
addrs_add(struct dir *d, struct dir_person *p, const char *attr,
    const char *in, size_t len, size_t cap)
{
	char canon[MAIL_MAX + 1];
	const char *why = NULL;
	size_t i;

	if (mail_canon(in, len, canon, &why) == -1) {
		log_warn("%s: %s: %s value \"%.*s\" is not a mail address "
		    "(%s); ignored", d->cfg->uri, p->dn, attr,
		    len > 254 ? 254 : (int)len, in, why);
		return 1;
	}
	for (i = 0; i < p->n_addrs; i++)
		if (strcasecmp(p->addrs[i], canon) == 0)
			return 0;
	if (p->n_addrs == cap)
		return 0;	/* sized by the caller: never reached */
	if ((p->addrs[p->n_addrs] = strdup(canon)) == NULL)
		return -1;
	p->n_addrs++;
	return 0;
}

/* The values of one alias attribute into p->addrs (room for cap). */
static int
addrs_attr(struct dir *d, const struct dir_entry_src *src,
    struct dir_person *p, const char *attr, size_t cap)
{
	struct berval **v;
	const char *s;
	size_t i, len;
	int typed = addrs_typed(d->fl, attr), rc = 0;

	if ((v = src->vals(src->arg, attr)) == NULL)
		return 0;
	for (i = 0; v[i] != NULL && rc != -1; i++) {
		s = v[i]->bv_val;
		len = v[i]->bv_len;
		if (typed) {
			/* only SMTP addresses; X500:, SIP:, X400: are not mail */
			if (len <= SMTP_TYPE_LEN ||
			    strncasecmp(s, SMTP_TYPE, SMTP_TYPE_LEN) != 0)
				continue;
			s += SMTP_TYPE_LEN;
			len -= SMTP_TYPE_LEN;
		}
		rc = addrs_add(d, p, attr, s, len, cap);
	}
	ldap_value_free_len(v);
	return rc == -1 ? -1 : 0;
}

/*
 * p->addrs from src: the canonical mail first, then every alias, sorted;
 * nothing when mail is missing or not an address (the caller reports
 * that). Called by dir_person_parse with p->mail set. -1 only on ENOMEM.
 */
int
dir_person_addrs(struct dir *d, const struct dir_entry_src *src,
    struct dir_person *p)
{
	const char *aliases[DIR_ALIAS_ATTRS_MAX + 1], *why = NULL;
	char canon[MAIL_MAX + 1];
	size_t i, n, cap;
	struct berval **v;

	if (p->mail == NULL || mail_canon(p->mail, strlen(p->mail), canon,
	    &why) == -1)
		return 0;
	/* room for every value read, capped after sorting */
	n = dir_alias_attrs(d->cfg, aliases);
	for (cap = 1, i = 0; i < n; i++)
		if ((v = src->vals(src->arg, aliases[i])) != NULL) {
			cap += (size_t)ldap_count_values_len(v);
			ldap_value_free_len(v);
		}
	if ((p->addrs = calloc(cap, sizeof(*p->addrs))) == NULL ||
	    (p->addrs[0] = strdup(canon)) == NULL)
		return -1;
	p->n_addrs = 1;
	for (i = 0; i < n; i++)
		if (addrs_attr(d, src, p, aliases[i], cap) == -1)
			return -1;
	qsort(p->addrs + 1, p->n_addrs - 1, sizeof(*p->addrs), addrs_cmp);
	if (p->n_addrs > DIR_ADDRS_MAX) {
		log_warn("%s: %s has %zu addresses: only the first %d (mail, "
		    "then the aliases sorted) are certified", d->cfg->uri,
		    p->dn, p->n_addrs, DIR_ADDRS_MAX);
		while (p->n_addrs > DIR_ADDRS_MAX)
			free(p->addrs[--p->n_addrs]);
	}
	return 0;
}

struct contest {
	const struct dir_person *p;
	unsigned char	*contested;
	char		*other;
};

static int
contest_cb(const struct dir_person *q, void *arg)
{
	struct contest *c = arg;
	size_t i, j;

	if (q->dn == NULL || strcasecmp(q->dn, c->p->dn) == 0)
		return 0;
	for (i = 0; i < c->p->n_addrs; i++)
		for (j = 0; j < q->n_addrs; j++)
			if (strcasecmp(c->p->addrs[i], q->addrs[j]) == 0) {
				c->contested[i] = 1;
				if (c->other == NULL)
					c->other = strdup(q->dn);
			}
	return 0;
}

int
dir_addrs_contested(struct dir *d, const struct dir_person *p,
    unsigned char *contested, char **other)
{
	struct contest c = { p, contested, NULL };
	const char *base = d->cfg->filter != NULL ? d->cfg->filter :
	    d->fl->default_filter;
	char *f = NULL, *any = NULL, *g;
	size_t i;
	int rc = -1;

	if (other != NULL)
		*other = NULL;
	memset(contested, 0, p->n_addrs);
	if (p->n_addrs == 0)
		return 0;
	for (i = 0; i < p->n_addrs; i++) {
		if ((g = dir_addr_filter(d->cfg, p->addrs[i])) == NULL ||
		    asprintf(&f, "%s%s", any != NULL ? any : "", g) == -1) {
			free(g);
			f = NULL;
			goto nomem;
		}
		free(g);
		free(any);
		any = f;
		f = NULL;
	}
	if (asprintf(&f, "(&%s(|%s))", base, any) == -1) {
		f = NULL;
		goto nomem;
	}
	if (dir_search_people(d, f, contest_cb, &c) == -1)
		goto out;
	if (other != NULL) {
		*other = c.other;
		c.other = NULL;
	}
	rc = 0;
	goto out;
nomem:
	log_err("%s: %s: out of memory", d->cfg->uri, p->dn);
out:
	free(c.other);
	free(any);
	free(f);
	return rc;
}

void
dir_addrs_digest(char *const *addrs, size_t n, char out[DIR_ADDRS_DIGEST])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char **sorted = NULL, low[MAIL_MAX + 2];
	EVP_MD_CTX *ctx = NULL;
	unsigned int mdlen = 0;
	size_t i, k;

	out[0] = '\0';
	if (n <= 1)
		return;
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto fail;
	memcpy(sorted, addrs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), addrs_cmp);
	for (i = 0; i < n; i++) {
		for (k = 0; sorted[i][k] != '\0' && k < MAIL_MAX; k++)
			low[k] = (char)(sorted[i][k] >= 'A' &&
			    sorted[i][k] <= 'Z' ? sorted[i][k] - 'A' + 'a' :
			    sorted[i][k]);
		low[k++] = '\n';
		if (EVP_DigestUpdate(ctx, low, k) != 1)
			goto fail;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
		goto fail;
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[32] = '\0';
	goto out;
fail:
	/* never "": a set that cannot be digested still reads as changed */
	snprintf(out, DIR_ADDRS_DIGEST, "?");
out:
	EVP_MD_CTX_free(ctx);
	free(sorted);
}
