/*
 * dns_sync.c — one person's SMIMEA records brought in step with the
 * journal: for each owner name dns_person.c says is theirs, read the RRset
 * from the zone's primary, then one UPDATE that deletes the records of
 * ours no longer wanted and adds what is missing, on the prerequisite that
 * the RRset is still as read (if someone changed it meanwhile nothing is
 * written, RFC 2136 §3.2; it is read again and tried once more).
 * A renewal is therefore one message: the old certificate's record out,
 * the new one's in, never none and never both. Records that are not ours
 * stay. The outcome goes into the journal's DNS state; a failure never
 * reaches the enrolment, it is retried with backoff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "dns/dns_priv.h"

static void
zone_open(struct dns_zone *z, const struct cfg_dns_zone *cz, size_t i,
    int timeout)
{
	struct dns_key key;
	const char *why = NULL;
	char what[64];

	if (dns_zone_canon(cz->zone, z->name, &why) == -1) {
		snprintf(z->why, sizeof(z->why), "dns.zones[%zu] zone \"%s\": "
		    "%s", i, cz->zone, why);
		log_err("%s", z->why);
		return;
	}
	snprintf(what, sizeof(what), "dns.zones[%zu].tsig_key_file", i);
	if (dns_key_load(cz->tsig_key_file, what, &key) == -1) {
		snprintf(z->why, sizeof(z->why), "%s %s cannot be used: %s",
		    what, cz->tsig_key_file, log_last_err());
		return;
	}
	if ((z->srv = dns_server_new(z->name, cz->server, &key,
	    timeout)) == NULL)
		snprintf(z->why, sizeof(z->why), "dns.zones[%zu] server %s "
		    "cannot be used: %s", i, cz->server, log_last_err());
	dns_key_clear(&key);
}

struct dns_ctx *
dns_ctx_new(const struct cfg *cfg)
{
	struct dns_ctx *ctx;
	size_t i;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
	    (cfg->dns.n_zones > 0 && (ctx->zones = calloc(cfg->dns.n_zones,
	    sizeof(*ctx->zones))) == NULL)) {
		free(ctx);
		log_err("dns: out of memory");
		return NULL;
	}
	ctx->nzones = cfg->dns.n_zones;
	ctx->usage = cfg->dns.usage;
	ctx->selector = cfg->dns.selector;
	ctx->matching = cfg->dns.matching;
	ctx->ttl = cfg->dns.ttl;
	ctx->retry_min = cfg->dns.retry_min;
	ctx->retry_max = cfg->dns.retry_max < cfg->dns.retry_min ?
	    cfg->dns.retry_min : cfg->dns.retry_max;
	for (i = 0; i < ctx->nzones; i++)
		zone_open(&ctx->zones[i], &cfg->dns.zones[i], i,
		    cfg->dns.timeout);
	return ctx;
}

void
dns_ctx_free(struct dns_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->nzones; i++)
		dns_server_free(ctx->zones[i].srv);
	free(ctx->zones);
	free(ctx);
}

/* nsupdate syntax, for --dry-run. */
static void
dry_rr(FILE *fp, const char *verb, const char *owner, int ttl,
    const struct dns_rdata *rd)
{
	char *hex = malloc(2 * rd->len + 1);

	if (hex == NULL)
		return;
	dns_hex(rd->data, rd->len, hex);
	if (ttl >= 0)
		fprintf(fp, "update %s %s %d IN SMIMEA %d %d %d %s\n", verb,
		    owner, ttl, rd->usage, rd->selector, rd->matching, hex);
	else
		fprintf(fp, "update %s %s IN SMIMEA %d %d %d %s\n", verb,
		    owner, rd->usage, rd->selector, rd->matching, hex);
	free(hex);
}

/* The difference at one owner: del (ours, not wanted), add (missing). */
static int
owner_diff(const struct dns_person *p, const struct dns_owner *o,
    const struct dns_rrset *have, struct dns_rrset *del,
    struct dns_rrset *add)
{
	size_t i;

	for (i = 0; i < have->n; i++)
		if (!dns_rrset_has(&o->want, &have->rd[i]) &&
		    dns_person_owns(p, &have->rd[i]) &&
		    dns_rrset_add(del, have->rd[i].usage, have->rd[i].selector,
		    have->rd[i].matching, have->rd[i].data,
		    have->rd[i].len) == -1)
			return -1;
	for (i = 0; i < o->want.n; i++)
		if (!dns_rrset_has(have, &o->want.rd[i]) &&
		    dns_rrset_add(add, o->want.rd[i].usage,
		    o->want.rd[i].selector, o->want.rd[i].matching,
		    o->want.rd[i].data, o->want.rd[i].len) == -1)
			return -1;
	return 0;
}

/* Bring one owner name in step; DNS_OK, or the failure with why. */
static enum dns_result
owner_sync(struct dns_ctx *ctx, const struct dns_person *p,
    const struct dns_owner *o, FILE *dry, struct dns_counts *n, char *why,
    size_t whysz)
{
	struct dns_zone *z = &ctx->zones[o->zone];
	struct dns_rrset have, del, add;
	enum dns_result res = DNS_FAIL;
	size_t i;
	int tries;

	memset(&have, 0, sizeof(have));
	memset(&del, 0, sizeof(del));
	memset(&add, 0, sizeof(add));
	strcpy(have.owner, o->want.owner);
	strcpy(del.owner, o->want.owner);
	strcpy(add.owner, o->want.owner);
	/* a conflict is someone else's change between our read and our
	 * UPDATE: read again and try once more */
	for (tries = 0; tries < 2; tries++) {
		dns_rrset_clear(&del);
		dns_rrset_clear(&add);
		if ((res = dns_query(z->srv, &have, why, whysz)) != DNS_OK)
			break;
		if (owner_diff(p, o, &have, &del, &add) == -1) {
			snprintf(why, whysz, "out of memory");
			res = DNS_FAIL;
			break;
		}
		if (del.n == 0 && add.n == 0)
			break;
		if (dry != NULL) {
			fprintf(dry, "zone %s\n", z->name);
			for (i = 0; i < del.n; i++)
				dry_rr(dry, "delete", del.owner, -1, &del.rd[i]);
			for (i = 0; i < add.n; i++)
				dry_rr(dry, "add", add.owner, ctx->ttl,
				    &add.rd[i]);
			fprintf(dry, "send\n");
			n->added += add.n;
			n->deleted += del.n;
			break;
		}
		res = dns_update(z->srv, &have, &del, &add, ctx->ttl, why,
		    whysz);
		if (res == DNS_OK) {
			n->ok++;
			n->added += add.n;
			n->deleted += del.n;
			log_info("dns: %s in zone %s: %zu added, %zu deleted in "
			    "one UPDATE", o->want.owner, z->name, add.n, del.n);
			break;
		}
		if (res != DNS_CONFLICT) {
			n->failed++;
			break;
		}
		n->conflict++;
	}
	dns_rrset_clear(&have);
	dns_rrset_clear(&del);
	dns_rrset_clear(&add);
	return res;
}

/* Record the outcome: only a change is written (a steady pass writes
 * nothing), and a failure is pending with the backoff doubled. */
static void
record(struct dns_ctx *ctx, struct jrnl *j, const char *person_id,
    int failed, const char *why, int changed)
{
	struct jrnl_dns d;
	size_t len;
	int rc, shift;
	long delay;

	if ((rc = jrnl_dns_get(j, person_id, &d)) == -1)
		return;
	if (!failed && rc == 0 && !d.pending && !changed)
		return;
	snprintf(d.person_id, sizeof(d.person_id), "%s", person_id);
	if (failed) {
		d.pending = 1;
		d.attempts++;
		shift = d.attempts - 1 > 20 ? 20 : d.attempts - 1;
		delay = (long)ctx->retry_min << shift;
		if (delay > ctx->retry_max)
			delay = ctx->retry_max;
		d.next_retry = time(NULL) + delay;
		/* the reason is cut to what the journal keeps */
		len = strnlen(why, sizeof(d.reason) - 1);
		memcpy(d.reason, why, len);
		d.reason[len] = '\0';
	} else {
		d.pending = 0;
		d.attempts = 0;
		d.next_retry = 0;
		d.synced = time(NULL);
		d.reason[0] = '\0';
	}
	(void)jrnl_dns_put(j, &d);
}

static void
unpend(struct jrnl *j, const char *person_id)
{
	struct jrnl_dns d;

	if (jrnl_dns_get(j, person_id, &d) != 0 || !d.pending)
		return;
	d.pending = 0;
	d.attempts = 0;
	d.next_retry = 0;
	d.reason[0] = '\0';
	(void)jrnl_dns_put(j, &d);
}

int
dns_sync_person(struct dns_ctx *ctx, struct jrnl *j, const char *person_id,
    FILE *dry, struct dns_counts *n)
{
	struct dns_person p;
	struct dns_zone *z;
	unsigned long before = n->ok;
	char why[512] = "";
	enum dns_result res;
	size_t i;
	int failed = 0;

	if (dns_person_load(ctx, j, person_id, &p) == -1)
		return -1;
	if (p.nowners == 0) {
		/* nothing of theirs in dns.zones (any more: a zone taken out
		 * of the configuration): nothing can be pending */
		dns_person_free(&p);
		if (dry == NULL)
			unpend(j, person_id);
		return 0;
	}
	n->people++;
	for (i = 0; i < p.nowners; i++) {
		z = &ctx->zones[p.owners[i].zone];
		if (z->srv == NULL || z->down) {
			snprintf(why, sizeof(why), "%s", z->why);
			failed = 1;
			continue;
		}
		res = owner_sync(ctx, &p, &p.owners[i], dry, n, why,
		    sizeof(why));
		if (res == DNS_OK)
			continue;
		failed = 1;
		log_warn("dns: %s (person %s): %s", p.owners[i].want.owner,
		    person_id, why);
		if (res == DNS_FAIL || res == DNS_AUTH) {
			/* the rest of this batch does not ask it again */
			z->down = 1;
			snprintf(z->why, sizeof(z->why), "%s", why);
		}
	}
	dns_person_free(&p);
	if (failed)
		n->pending++;
	if (dry == NULL)
		record(ctx, j, person_id, failed, why, n->ok != before);
	return failed ? -1 : 0;
}

struct ids {
	char		(*id)[80];
	size_t		 n, cap;
	time_t		 now;		/* dns_sync_due: due by then */
};

static int
ids_add(struct ids *ids, const char *id)
{
	char (*n)[80];

	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 64;
		if ((n = realloc(ids->id, ids->cap * sizeof(*n))) == NULL)
			return -1;
		ids->id = n;
	}
	snprintf(ids->id[ids->n++], 80, "%s", id);
	return 0;
}

static int
cert_cb(const struct jrnl_cert *r, void *arg)
{
	return r->person_id[0] == '\0' ? 0 : ids_add(arg, r->person_id);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorted, each id once. */
static void
ids_unique(struct ids *ids)
{
	size_t i, n = 0;

	if (ids->n == 0)
		return;
	qsort(ids->id, ids->n, sizeof(ids->id[0]), id_cmp);
	for (i = 1; i < ids->n; i++)
		if (strcmp(ids->id[i], ids->id[n]) != 0 && ++n != i)
			memcpy(ids->id[n], ids->id[i], sizeof(ids->id[0]));
	ids->n = n + 1;
}

static int
due_cb(const struct jrnl_dns *d, void *arg)
{
	struct ids *ids = arg;

	if (!d->pending || d->next_retry > ids->now)
		return 0;
	return ids_add(ids, d->person_id);
}

/* The ids are collected first: no read transaction stays open while the
 * network is waited for. */
static int
run_ids(struct dns_ctx *ctx, struct jrnl *j, struct ids *ids, FILE *dry,
    struct dns_counts *n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < ids->n; i++)
		if (dns_sync_person(ctx, j, ids->id[i], dry, n) == -1)
			rc = -1;
	free(ids->id);
	return rc;
}

int
dns_sync_all(struct dns_ctx *ctx, struct jrnl *j, FILE *dry,
    struct dns_counts *n)
{
	struct ids ids;

	/* everyone with a certificate of ours, with or without an
	 * enrolment record (`smimepub publish` by hand makes none) */
	memset(&ids, 0, sizeof(ids));
	if (jrnl_cert_each(j, cert_cb, &ids) == -1) {
		free(ids.id);
		return -1;
	}
	ids_unique(&ids);
	return run_ids(ctx, j, &ids, dry, n);
}

int
dns_sync_due(struct dns_ctx *ctx, struct jrnl *j, time_t now,
    struct dns_counts *n)
{
	struct ids ids;

	memset(&ids, 0, sizeof(ids));
	ids.now = now;
	if (jrnl_dns_each(j, due_cb, &ids) == -1) {
		free(ids.id);
		return -1;
	}
	return run_ids(ctx, j, &ids, NULL, n);
}
