/*
 * workers.c — carry out a pass's plan with a bounded pool of threads. Key
 * generation (RSA-3072 takes a good part of a second) is CPU-bound and runs
 * in parallel; each worker has its own directory connection; the CA and the
 * journal are shared (CA requests are serialised by enr_ctx.ca_lock; LMDB
 * serialises writers itself). One person's failure never stops the pass;
 * a worker whose directory went away waits for it (bounded, sleeping) and
 * does again what the outage failed, rather than fail everyone left.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/audit.h"
#include "common/log.h"
#include "sync/dnsq.h"
#include "sync/lease.h"
#include "sync/metrics.h"
#include "sync/sync_priv.h"

#define WK_DIR_WAIT	60	/* s: the longest wait for the directory */
#define WK_ITEM_TRIES	3	/* an item, again after the directory's return */

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
do_republish(struct enr_ctx *e, const struct sync_item *it)
{
	struct find_cert f;
	struct jrnl_enr r;
	STACK_OF(X509) *chain = NULL;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.serial = it->serial;
	f.mail = it->mail;
	f.j = e->jrnl;
	if (jrnl_cert_each_person(e->jrnl, it->id, find_cert_cb,
	    &f) == -1)
		return -1;
	if (f.cert == NULL) {
		log_err("%s: certificate %s is not in the journal", it->mail,
		    it->serial);
		return -1;
	}
	/* the bundle as first published: the certificate, then its chain */
	chain = ca_chain(e->ca, f.cert);
	if (enr_publish(e->jrnl, e->dir, it->id, f.cert, chain) == 0 &&
	    jrnl_enr_get(e->jrnl, it->id, &r) == 0) {
		r.state = JRNL_PUBLISHED;
		rc = jrnl_enr_put(e->jrnl, &r);
	}
	sk_X509_pop_free(chain, X509_free);
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
	e->leave_why = it->why;		/* for the audit log */
	if (strcmp(how, "revoke") == 0) {
		o = enr_revoke(e, it->mail, it->id,
		    CA_REASON_AFFILIATION_CHANGED);
		dir_set_unfiltered(e->dir, 0);
		e->leave_why = NULL;
		/* nothing of ours (never enrolled): closed, not counted */
		return o == ENR_DONE ? 0 : o == ENR_NOTHING ? 1 : -1;
	}
	/* by id, wherever the entry is now (moved out of base too) */
	rc = enr_unpublish(e->jrnl, e->dir, it->id, &removed, NULL);
	dir_set_unfiltered(e->dir, 0);
	e->leave_why = NULL;
	if (rc < 0)
		return -1;	/* not done: the next pass tries again */
	(void)audit_event_at("unpublication", it->id, it->mail, NULL,
	    ca_name(e->ca), rc == 1 ? "not found" : removed > 0 ?
	    "unpublished" : "none", "sync.on_leave = unpublish", NULL,
	    strncmp(it->why, "left: ", 6) == 0 ? it->why + 6 : it->why);
	if (rc == 1)
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

/*
 * One item; updates st but for failures (the caller counts those, after
 * any retry). The caller holds no lock: st is per call. 1 done, 0 failed.
 */
static int
do_item(struct enr_ctx *e, const struct sync_item *it, struct sync_stats *st)
{
	int ok = 0;	/* every case sets it; a new one fails safe */

	switch (it->act) {
	case ACT_ENROL:
	case ACT_RENEW:
		switch (it->addrs_only ? enr_enrol_addrs(e, it->mail, it->id) :
		    enr_enrol(e, it->mail, it->id)) {
		case ENR_DONE:
			ok = 1;
			break;
		case ENR_NOTHING:
			st->unchanged++;	/* the same addresses named */
			return 1;
		case ENR_PENDING:
			st->skipped++;	/* waiting for the CA, not failed */
			return 1;
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
		switch (enr_enrol(e, it->mail, it->id)) {
		case ENR_DONE:
			ok = 1;
			break;
		case ENR_PENDING:
			/* the old address's certificate is revoked when the
			 * new one is published (enr_revoke_orphans) */
			st->skipped++;
			return 1;
		default:
			ok = 0;
		}
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
	case ACT_UNPUBLISH:
		/* the person's state is settled (left, revoked): a retry
		 * refused again, or done, changes no count but failed */
		ok = enr_unpublish_retry(e, it->id) != -1;
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
	return ok;
}

struct wk_pool {
	struct enr_ctx		*base;
	const struct sync_item	*items;
	size_t			 n, next, done, left;
	struct sync_stats	*st;
	pthread_mutex_t		 mu;
	atomic_int		 dir_gone;	/* a wait for the directory gave up */
	struct timespec		 start, drawn;	/* the progress line's clock */
};

static double
wk_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * The progress of a long pass on a terminal (--once by hand), redrawn in
 * place at most ten times a second: "sync: 120/4000 (3%), 12.5/s, about
 * 5m 10s left", cleared at the end (log_status: log lines never mix with
 * it). Called under pool->mu.
 */
static void
wk_progress(struct wk_pool *pool)
{
	char line[256], left[64];
	struct timespec now;
	double el, rate;
	long eta;

	if (pool->n < 10)
		return;
	if (pool->done == pool->n) {
		(void)log_status(NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pool->done > 1 && wk_secs(&pool->drawn, &now) < 0.1)
		return;
	pool->drawn = now;
	el = wk_secs(&pool->start, &now);
	rate = el > 0 ? (double)pool->done / el : 0;
	if (rate > 0) {
		eta = (long)((double)(pool->n - pool->done) / rate + 0.5);
		if (eta >= 60)
			snprintf(left, sizeof(left), "about %ldm %02lds left",
			    eta / 60, eta % 60);
		else
			snprintf(left, sizeof(left), "about %lds left", eta);
	} else
		snprintf(left, sizeof(left), "time left unknown");
	snprintf(line, sizeof(line), "sync: %zu/%zu (%zu%%), %.1f/s, %s",
	    pool->done, pool->n, pool->done * 100 / pool->n, rate, left);
	(void)log_status(line);
}

/* Start nobody new: SIGTERM, or this instance no longer holds the lease
 * (another may take over once it runs out: sync/lease.h). */
static int
wk_stop(struct enr_ctx *e)
{
	return (e->quit != NULL && *e->quit) ||
	    (e->lease != NULL && !lease_active(e->lease));
}

/*
 * This worker's directory connection is gone (the server stopped, or is
 * restarting): wait for it, trying again after a pause doubling from 0.5 s
 * to 8 s, rather than fail every person left. 0 when it answers again; -1
 * after WK_DIR_WAIT seconds, and at once for the rest of the pass after
 * any worker gave up.
 */
static int
wk_wait_dir(struct wk_pool *pool, struct enr_ctx *e)
{
	const char *uri = e->cfg->directory.uri;
	time_t start = time(NULL);
	int ms = 500;

	if (atomic_load(&pool->dir_gone))
		return -1;
	log_warn("%s: the directory is unreachable; waiting for it (at most "
	    "%d s) before going on with the pass", uri, WK_DIR_WAIT);
	while (time(NULL) - start < WK_DIR_WAIT &&
	    !atomic_load(&pool->dir_gone) && !wk_stop(e)) {
		(void)poll(NULL, 0, ms);
		if (dir_try_connect(e->dir) == 0) {
			log_info("%s: the directory answers again after %lld s",
			    uri, (long long)(time(NULL) - start));
			return 0;
		}
		ms = ms * 2 > 8000 ? 8000 : ms * 2;
	}
	if (!atomic_exchange(&pool->dir_gone, 1))
		log_err("%s: the directory is still unreachable after %d s; "
		    "the rest of this pass is left for the next one", uri,
		    WK_DIR_WAIT);
	return -1;
}

/*
 * One item; when it failed because the directory went away meanwhile, wait
 * for the directory and do it again (it resumes from the journal), so an
 * outage of the directory does not fail whoever was in hand. A leaver done
 * while the directory went away is done again too: enr_revoke and
 * dir_unpublish take "not found" for "deleted", and would close the record
 * with the certificate still on the entry. An item the directory never
 * came back for is left as the journal has it, for the next pass: counted
 * as failed, not journalled as FAILED.
 */
static void
wk_item(struct wk_pool *pool, struct enr_ctx *e, const struct sync_item *it,
    struct sync_stats *st)
{
	struct sync_stats one;
	int tries, ok = 0;

	memset(&one, 0, sizeof(one));
	for (tries = 0; tries < WK_ITEM_TRIES; tries++) {
		if (!dir_connected(e->dir) && wk_wait_dir(pool, e) == -1) {
			pthread_mutex_lock(&pool->mu);
			pool->left++;
			pthread_mutex_unlock(&pool->mu);
			st->failed++;
			met_failure(MET_DIRECTORY);
			return;
		}
		memset(&one, 0, sizeof(one));
		ok = do_item(e, it, &one);
		if (dir_connected(e->dir) || (ok && it->act != ACT_LEAVE))
			break;
		log_info("%s: %s with the directory gone; again once it "
		    "answers", it->mail, ok ? "left" : "failed");
	}
	st->enrolled += one.enrolled;
	st->renewed += one.renewed;
	st->republished += one.republished;
	st->revoked += one.revoked;
	st->unchanged += one.unchanged;
	st->skipped += one.skipped;
	if (!ok)
		st->failed++;
}

/* Take items until none is left; st is the caller's own. */
static void
wk_loop(struct wk_pool *pool, struct enr_ctx *e, struct sync_stats *st)
{
	size_t i;

	for (;;) {
		/* SIGTERM, or the lease lost: the person in hand is
		 * finished and committed (enr_enrol's steps), nobody new
		 * is started */
		if (wk_stop(e))
			break;
		pthread_mutex_lock(&pool->mu);
		i = pool->next++;
		pthread_mutex_unlock(&pool->mu);
		if (i >= pool->n)
			break;
		wk_item(pool, e, &pool->items[i], st);
		sync_dns_kick(pool->items[i].id);	/* its SMIMEA records */
		pthread_mutex_lock(&pool->mu);
		pool->done++;
		wk_progress(pool);
		pthread_mutex_unlock(&pool->mu);
	}
}

static void *
wk_main(void *arg)
{
	struct wk_pool *pool = arg;
	struct sync_stats mine;
	struct enr_ctx e;

	memset(&mine, 0, sizeof(mine));
	e = *pool->base;
	if ((e.dir = dir_new(&e.cfg->directory)) == NULL)
		return NULL;	/* the others (or sync_run) do its share */
	/* the id the pass's own connection reads (idattr.c) */
	(void)dir_set_id_attr(e.dir, dir_id_attr(pool->base->dir));
	/* not connected: wk_item waits for the directory */
	(void)dir_connect(e.dir);
	wk_loop(pool, &e, &mine);
	dir_free(e.dir);
	pthread_mutex_lock(&pool->mu);
	pool->st->enrolled += mine.enrolled;
	pool->st->renewed += mine.renewed;
	pool->st->republished += mine.republished;
	pool->st->revoked += mine.revoked;
	pool->st->failed += mine.failed;
	pool->st->unchanged += mine.unchanged;
	pool->st->skipped += mine.skipped;	/* pending at the CA */
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

int
sync_run(struct enr_ctx *e, const struct sync_item *items, size_t n,
    struct sync_stats *st)
{
	pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;
	atomic_int ca_down;
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
	base = *e;
	base.ca_lock = nw > 1 ? &ca_lock : e->ca_lock;
	atomic_init(&ca_down, 0);
	base.ca_down = &ca_down;	/* one outage of the CA per pass */
	memset(&pool, 0, sizeof(pool));
	pool.base = &base;
	pool.items = items;
	pool.n = n;
	pool.st = st;
	atomic_init(&pool.dir_gone, 0);
	clock_gettime(CLOCK_MONOTONIC, &pool.start);
	pthread_mutex_init(&pool.mu, NULL);
	if (nw > 1 && (tids = calloc(nw, sizeof(*tids))) == NULL) {
		log_err("sync: out of memory starting workers");
		rc = -1;
		goto out;
	}
	for (i = 0; nw > 1 && i < nw; i++) {
		if (pthread_create(&tids[i], NULL, wk_main, &pool) != 0) {
			log_warn("sync: started %zu of %zu workers", i, nw);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	/* one worker, or none could start (or get a directory handle):
	 * what is left is done here, on the pass's own connection */
	wk_loop(&pool, &base, st);
	(void)log_status(NULL);	/* stopped early: the line goes too */
	if (pool.left > 0)
		log_warn("sync: %zu of %zu people left for the next pass (the "
		    "directory was unreachable)", pool.left, n);
	if (wk_stop(e) && pool.next < n)
		log_warn("sync: stopping (%s): %zu of %zu people left for the "
		    "next pass", e->quit != NULL && *e->quit ? "signal" :
		    "the lease is not ours", n - pool.next, n);
out:
	free(tids);
	pthread_mutex_destroy(&pool.mu);
	return rc;
}
