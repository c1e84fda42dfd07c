/*
 * workers.c — carry out a pass's plan with a bounded pool of threads. Key
 * generation (RSA-3072 takes a good part of a second) is CPU-bound and runs
 * in parallel; each worker has its own directory connection; the CA and the
 * journal are shared (CA requests are serialised by enr_ctx.ca_lock; LMDB
 * serialises writers itself). One person's failure never stops the pass.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "sync/sync_priv.h"

struct find_cert {
	const char	*serial, *mail;
	struct jrnl	*j;
	X509		*cert;
};

static int
find_cert_cb(const struct jrnl_cert *r, void *arg)
{
	struct find_cert *f = arg;

	if (f->cert != NULL || strcmp(r->serial, f->serial) != 0 ||
	    strcmp(r->mail, f->mail) != 0)
		return 0;
	f->cert = jrnl_cert_x509(f->j, r);
	return 0;
}

static int
wk_is_ours(X509 *cert, void *arg)
{
	return jrnl_cert_is_ours(arg, cert) == 1;
}

static int
do_republish(struct enr_ctx *e, const struct sync_item *it)
{
	struct find_cert f;
	struct jrnl_enr r;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.serial = it->serial;
	f.mail = it->mail;
	f.j = e->jrnl;
	if (jrnl_cert_each(e->jrnl, find_cert_cb, &f) == -1)
		return -1;
	if (f.cert == NULL) {
		log_err("%s: certificate %s is not in the journal", it->mail,
		    it->serial);
		return -1;
	}
	if (dir_publish(e->dir, it->mail, f.cert, NULL, wk_is_ours, e->jrnl,
	    NULL) == 0 && jrnl_enr_get(e->jrnl, it->id, &r) == 0) {
		r.state = JRNL_PUBLISHED;
		rc = jrnl_enr_put(e->jrnl, &r);
	}
	X509_free(f.cert);
	return rc;
}

static int
do_leave(struct enr_ctx *e, const struct sync_item *it)
{
	const char *how = e->cfg->sync.on_leave;
	struct jrnl_enr r;
	size_t removed = 0;
	enum enr_outcome o;

	int rc;

	if (strcmp(how, "keep") == 0) {
		log_debug("%s: left; keeping the certificate (sync.on_leave "
		    "= keep)", it->mail);
		return 1;
	}
	/* the person no longer matches the filter, or is disabled */
	dir_set_unfiltered(e->dir, 1);
	if (strcmp(how, "revoke") == 0) {
		o = enr_revoke(e, it->mail, it->id,
		    CA_REASON_AFFILIATION_CHANGED);
		dir_set_unfiltered(e->dir, 0);
		return (o == ENR_DONE || o == ENR_NOTHING) ? 0 : -1;
	}
	rc = dir_unpublish(e->dir, it->mail, wk_is_ours, e->jrnl, &removed);
	dir_set_unfiltered(e->dir, 0);
	if (rc == -1)
		log_warn("%s: left, and is not found to unpublish", it->mail);
	if (jrnl_enr_get(e->jrnl, it->id, &r) != 0)
		return -1;
	r.state = JRNL_UNPUBLISHED;
	return jrnl_enr_put(e->jrnl, &r);
}

/*
 * A leaver's grace period starts (REVOKE_PENDING until next_retry), or a
 * person came back within it (PUBLISHED again; the next pass checks the
 * entry and republishes if need be).
 */
static int
do_grace(struct enr_ctx *e, const struct sync_item *it)
{
	struct jrnl_enr r;

	if (jrnl_enr_get(e->jrnl, it->id, &r) != 0)
		return -1;
	if (it->act == ACT_RETURN) {
		log_info("%s: back within the grace period", it->mail);
		r.state = JRNL_PUBLISHED;
		r.next_retry = 0;
	} else {
		r.state = JRNL_REVOKE_PENDING;
		r.next_retry = time(NULL) +
		    (time_t)e->cfg->sync.leave_grace_days * 86400;
		log_info("%s: left; acting (sync.on_leave = %s) after %d "
		    "days of grace", it->mail, e->cfg->sync.on_leave,
		    e->cfg->sync.leave_grace_days);
	}
	return jrnl_enr_put(e->jrnl, &r);
}

/* One item; updates st (the caller holds no lock: st is per call). */
static void
do_item(struct enr_ctx *e, const struct sync_item *it, struct sync_stats *st)
{
	int ok;

	switch (it->act) {
	case ACT_ENROL:
	case ACT_RENEW:
		switch (enr_enrol(e, it->mail, it->id)) {
		case ENR_DONE:
			ok = 1;
			break;
		case ENR_PENDING:
			st->skipped++;	/* waiting for the CA, not failed */
			return;
		default:
			ok = 0;
		}
		if (ok && it->act == ACT_RENEW)
			st->renewed++;
		else if (ok)
			st->enrolled++;
		break;
	case ACT_REENROL:
		/* the old address's certificate goes with the new one's
		 * publish (it is ours); revoke it at the CA too */
		ok = enr_enrol(e, it->mail, it->id) == ENR_DONE;
		if (ok) {
			(void)enr_revoke(e, it->old_mail, NULL,
			    CA_REASON_SUPERSEDED);
			st->enrolled++;
		}
		break;
	case ACT_REPUBLISH:
		ok = do_republish(e, it) == 0;
		if (ok)
			st->republished++;
		break;
	case ACT_GRACE:
	case ACT_RETURN:
		ok = do_grace(e, it) == 0;
		if (ok)
			st->unchanged++;
		break;
	case ACT_LEAVE:
	default:
		switch (do_leave(e, it)) {
		case 0:
			ok = 1;
			st->revoked++;
			break;
		case 1:
			ok = 1;		/* kept, as configured */
			st->unchanged++;
			break;
		default:
			ok = 0;
		}
		break;
	}
	if (!ok)
		st->failed++;
}

/* "sync: 120/4000" on a terminal, for long passes (--once by hand). */
static void
wk_progress(size_t done, size_t n)
{
	if (n >= 10 && isatty(STDERR_FILENO))
		fprintf(stderr, "\rsync: %zu/%zu%s", done, n, done == n ? "\n" :
		    "");
}

struct wk_pool {
	struct enr_ctx		*base;
	const struct sync_item	*items;
	size_t			 n, next, done;
	struct sync_stats	*st;
	pthread_mutex_t		 mu;
};

static void *
wk_main(void *arg)
{
	struct wk_pool *pool = arg;
	struct sync_stats mine;
	struct enr_ctx e;
	size_t i;

	memset(&mine, 0, sizeof(mine));
	e = *pool->base;
	if ((e.dir = dir_new(&e.cfg->directory)) == NULL ||
	    dir_connect(e.dir) == -1) {
		/* the others go on; what this one would have done is left */
		dir_free(e.dir);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&pool->mu);
		i = pool->next++;
		pthread_mutex_unlock(&pool->mu);
		if (i >= pool->n)
			break;
		do_item(&e, &pool->items[i], &mine);
		pthread_mutex_lock(&pool->mu);
		wk_progress(++pool->done, pool->n);
		pthread_mutex_unlock(&pool->mu);
	}
	dir_free(e.dir);
	pthread_mutex_lock(&pool->mu);
	pool->st->enrolled += mine.enrolled;
	pool->st->renewed += mine.renewed;
	pool->st->republished += mine.republished;
	pool->st->revoked += mine.revoked;
	pool->st->failed += mine.failed;
	pool->st->unchanged += mine.unchanged;
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

int
sync_run(struct enr_ctx *e, const struct sync_item *items, size_t n,
    struct sync_stats *st)
{
	pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;
	struct wk_pool pool;
	struct enr_ctx base;
	pthread_t *tids = NULL;
	size_t i, started = 0, nw;
	long ncpu;
	int rc = 0;

	nw = (size_t)e->cfg->sync.workers;
	if (nw == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nw = ncpu > 0 ? (size_t)ncpu : 1;
	}
	if (nw > n)
		nw = n;
	if (nw <= 1) {
		for (i = 0; i < n; i++) {
			do_item(e, &items[i], st);
			wk_progress(i + 1, n);
		}
		return 0;
	}
	base = *e;
	base.ca_lock = &ca_lock;
	memset(&pool, 0, sizeof(pool));
	pool.base = &base;
	pool.items = items;
	pool.n = n;
	pool.st = st;
	pthread_mutex_init(&pool.mu, NULL);
	if ((tids = calloc(nw, sizeof(*tids))) == NULL) {
		log_err("sync: out of memory starting workers");
		rc = -1;
		goto out;
	}
	for (i = 0; i < nw; i++) {
		if (pthread_create(&tids[i], NULL, wk_main, &pool) != 0) {
			log_warn("sync: started %zu of %zu workers", i, nw);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	/* a worker that could not connect leaves items undone: do them here */
	for (i = pool.next; i < n; i++)
		do_item(e, &items[i], st);
out:
	free(tids);
	pthread_mutex_destroy(&pool.mu);
	return rc;
}
