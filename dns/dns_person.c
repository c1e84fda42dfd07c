/*
 * dns_person.c — what one person's SMIMEA records should be, from the
 * journal alone: the owner names of every address in every certificate
 * the journal holds for them (what smimepub may touch), the certificates
 * themselves (which records are ours), and the RDATA wanted at each name
 * (their current certificates). dns_sync.c compares it with DNS.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "common/cfg.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"
#include "dns/dns_priv.h"

struct collect {
	struct jrnl	*j;
	struct dns_person *p;
	int		 err;
};

static int
collect_cb(const struct jrnl_cert *r, void *arg)
{
	struct collect *c = arg;
	struct dns_person *p = c->p;
	struct dns_pcert *n;
	X509 *x;

	if ((x = jrnl_cert_x509(c->j, r)) == NULL)
		return 0;	/* logged; the others still count */
	if ((n = realloc(p->certs, (p->ncerts + 1) * sizeof(*n))) == NULL) {
		X509_free(x);
		c->err = 1;
		return -1;
	}
	p->certs = n;
	n += p->ncerts++;
	n->x = x;
	n->state = r->state;
	n->not_after = r->not_after;
	return 0;
}

/* The zone (index) an address's domain lies in, the longest; -1 none. */
static int
zone_of(const struct dns_ctx *ctx, const char *domain)
{
	size_t i, best_len = 0;
	int best = -1;

	for (i = 0; i < ctx->nzones; i++)
		if (dns_in_zone(domain, ctx->zones[i].name) &&
		    strlen(ctx->zones[i].name) > best_len) {
			best = (int)i;
			best_len = strlen(ctx->zones[i].name);
		}
	return best;
}

static struct dns_owner *
owner_get(struct dns_person *p, const char *name, int zone)
{
	struct dns_owner *n;
	size_t i, len = strlen(name);

	if (len >= sizeof(n->want.owner))
		return NULL;
	for (i = 0; i < p->nowners; i++)
		if (strcmp(p->owners[i].want.owner, name) == 0)
			return &p->owners[i];
	if ((n = realloc(p->owners, (p->nowners + 1) * sizeof(*n))) == NULL)
		return NULL;
	p->owners = n;
	n += p->nowners++;
	memset(n, 0, sizeof(*n));
	memcpy(n->want.owner, name, len + 1);
	n->zone = zone;
	return n;
}

/*
 * For each rfc822Name of x in a zone, the owner names (added to p); with
 * rd non-NULL, rd is wanted at each of them. -1 out of memory.
 */
static int
cert_names(const struct dns_ctx *ctx, struct dns_person *p, X509 *x,
    const struct dns_rdata *rd)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	char mail[MAIL_MAX + 1], owners[2][DNS_OWNER_MAX];
	struct dns_owner *o;
	const char *why;
	int i, k, n, zone, rc = 0;

	for (i = 0; i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_EMAIL || mail_canon((const char *)
		    ASN1_STRING_get0_data(g->d.rfc822Name),
		    (size_t)ASN1_STRING_length(g->d.rfc822Name), mail,
		    &why) == -1)
			continue;
		if ((zone = zone_of(ctx, strrchr(mail, '@') + 1)) == -1 ||
		    (n = dns_owners(mail, owners)) == -1)
			continue;
		for (k = 0; k < n && rc == 0; k++) {
			if ((o = owner_get(p, owners[k], zone)) == NULL ||
			    (rd != NULL && dns_rrset_add(&o->want, rd->usage,
			    rd->selector, rd->matching, rd->data,
			    rd->len) == -1))
				rc = -1;
		}
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

/* 1 if x may encrypt (RFC 5280 §4.2.1.3; no keyUsage: any use). */
static int
can_encrypt(X509 *x)
{
	uint32_t ku = X509_get_key_usage(x);

	return ku == UINT32_MAX || (ku & (KU_KEY_ENCIPHERMENT |
	    KU_KEY_AGREEMENT)) != 0;
}

/* Index of the newest published, unexpired certificate with can_encrypt()
 * equal to enc; -1 none. A renewal's predecessor is marked unpublished
 * after its successor is published: between the two commits both are
 * "published", and only the newer is wanted. */
static int
current(const struct dns_person *p, int enc, time_t now)
{
	const ASN1_TIME *best = NULL;
	size_t i;
	int b = -1, day, sec;

	for (i = 0; i < p->ncerts; i++) {
		const struct dns_pcert *c = &p->certs[i];

		if (c->state != JRNL_CERT_PUBLISHED || c->not_after <= now ||
		    can_encrypt(c->x) != enc)
			continue;
		if (best == NULL || (ASN1_TIME_diff(&day, &sec, best,
		    X509_get0_notBefore(c->x)) && (day > 0 || sec > 0))) {
			best = X509_get0_notBefore(c->x);
			b = (int)i;
		}
	}
	return b;
}

int
dns_person_load(const struct dns_ctx *ctx, struct jrnl *j,
    const char *person_id, struct dns_person *p)
{
	struct collect c = { j, p, 0 };
	struct dns_rdata rd;
	size_t i;
	int enc, idx;
	time_t now = time(NULL);

	memset(p, 0, sizeof(*p));
	if (jrnl_cert_each_person(j, person_id, collect_cb, &c) == -1 ||
	    c.err)
		goto oom;
	for (i = 0; i < p->ncerts; i++)
		if (cert_names(ctx, p, p->certs[i].x, NULL) == -1)
			goto oom;
	for (enc = 0; enc <= 1; enc++) {
		if ((idx = current(p, enc, now)) == -1)
			continue;
		rd.usage = ctx->usage;
		rd.selector = ctx->selector;
		rd.matching = ctx->matching;
		if ((rd.data = dns_data(p->certs[idx].x, rd.selector,
		    rd.matching, &rd.len)) == NULL)
			goto oom;
		idx = cert_names(ctx, p, p->certs[idx].x, &rd);
		free(rd.data);
		if (idx == -1)
			goto oom;
	}
	return 0;
oom:
	log_err("dns: %s: cannot read the person's certificates (out of "
	    "memory or the journal failed)", person_id);
	dns_person_free(p);
	return -1;
}

int
dns_person_owns(const struct dns_person *p, const struct dns_rdata *rd)
{
	unsigned char *data;
	size_t i, len = 0;
	int hit = 0;

	if (rd->selector > 1 || rd->matching > 2)
		return 0;
	for (i = 0; i < p->ncerts && !hit; i++) {
		if ((data = dns_data(p->certs[i].x, rd->selector, rd->matching,
		    &len)) == NULL)
			continue;
		hit = len == rd->len && memcmp(data, rd->data, len) == 0;
		free(data);
	}
	return hit;
}

void
dns_person_free(struct dns_person *p)
{
	size_t i;

	for (i = 0; i < p->ncerts; i++)
		X509_free(p->certs[i].x);
	for (i = 0; i < p->nowners; i++)
		dns_rrset_clear(&p->owners[i].want);
	free(p->certs);
	free(p->owners);
	memset(p, 0, sizeof(*p));
}
