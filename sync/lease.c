/*
 * lease.c — smimepub-sync's lease (lease.h): what the value means, when to
 * renew, when to take over. The value names its holder and counts its
 * renewals, so every renewal changes it:
 *
 *   smimepub-sync holder=HOST/PID/RANDOM seq=N renewed=TIME ttl=S
 *
 * or LEASE_FREE once its holder gave it up (no value at all is free too).
 * RENEWED is for people reading the directory; no decision uses another
 * machine's clock. A standby times how long the value has stayed the same
 * on its own monotonic clock.
 *
 * The lease lives on one server, the lease authority (sync.lease_uri, or
 * dir_lease_authority's default), whatever server directory.uri reaches:
 * on a replicated directory two instances writing it on two replicas
 * would both win, and a standby cut off from the holder's replica would
 * take over while the holder still renews. A standby that cannot reach
 * the authority therefore never takes over.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "ldap/dir.h"
#include "sync/lease.h"

#define LEASE_VAL_MAX	512
/* Given up: any instance may take it at once. A value, not an empty
 * attribute, so that it is taken by swapping values where the server has
 * no assertion control (dir_lease_swap). */
#define LEASE_FREE	"smimepub-sync free"

struct lease {
	struct dir	*dir;		/* the authority; NULL: not known yet */
	struct cfg_directory dcfg;	/* directory.* with uri = the authority */
	const struct cfg *cfg;		/* borrowed: to find the authority */
	char		*uri;		/* the lease authority */
	char		*point;		/* its sync point, read when gained */
	char		*dn, *attr;
	int		 ttl;
	char		 me[128];	/* HOST/PID/RANDOM */
	unsigned long	 seq;
	pthread_mutex_t	 stepmu;	/* one step at a time */
	pthread_mutex_t	 mu;		/* the fields below */
	pthread_cond_t	 cv;
	char		*cur;		/* our value; NULL: not held */
	double		 until;		/* held: last write sent + ttl */
	char		*seen;		/* not held: the value last read */
	double		 seen_at;	/* when it was first read so */
	int		 looked;	/* seen was read at least once */
	int		 changed;	/* seen changed since that first read */
	char		*pending;	/* written with no answer: ours? */
	double		 pending_at;
	int		 missing_told;	/* "no entry" logged already */
	atomic_int	 gained;
	pthread_t	 thread;
	int		 running, stop;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
streq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static int
is_free(const char *v)
{
	return v == NULL || strcmp(v, LEASE_FREE) == 0;
}

/* The holder named in a value, for messages. */
void
lease_value_holder(const char *v, char *buf, size_t sz)
{
	const char *h = !is_free(v) ? strstr(v, "holder=") : NULL;
	size_t n;

	if (h == NULL) {
		snprintf(buf, sz, "%s", is_free(v) ? "" : "someone");
		return;
	}
	h += 7;
	n = strcspn(h, " ");
	snprintf(buf, sz, "%.*s", (int)n, h);
}

static char *
value_new(struct lease *l)
{
	char when[32], *v;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((v = malloc(LEASE_VAL_MAX)) == NULL) {
		log_err("sync.lease_dn %s: out of memory", l->dn);
		return NULL;
	}
	snprintf(v, LEASE_VAL_MAX, "smimepub-sync holder=%s seq=%lu "
	    "renewed=%s ttl=%d", l->me, ++l->seq, when, l->ttl);
	return v;
}

/*
 * The lease authority: sync.lease_uri, else found through directory.uri
 * (AD: the PDC emulator, which needs the directory to answer). 0 known
 * (l->dir made), -1 not yet (logged; the next look tries again).
 */
static int
lease_authority(struct lease *l)
{
	const struct cfg *cfg = l->cfg;
	struct dir *d = NULL;
	char *why = NULL;
	int ret = -1;

	if (l->dir != NULL)
		return 0;
	if (cfg->sync.lease_uri != NULL) {
		if ((l->uri = strdup(cfg->sync.lease_uri)) == NULL ||
		    (why = strdup("sync.lease_uri")) == NULL)
			goto nomem;
	} else if ((d = dir_new(&cfg->directory)) == NULL ||
	    dir_lease_authority(d, &l->uri, &why) == -1) {
		log_err("sync.lease_dn %s: the lease authority is not known "
		    "yet; standing by", l->dn);
		goto out;
	}
	l->dcfg = cfg->directory;
	l->dcfg.uri = l->uri;
	if ((l->dir = dir_new(&l->dcfg)) == NULL)
		goto out;
	log_info("sync.lease_dn %s: lease authority %s (%s)", l->dn, l->uri,
	    why);
	if (cfg->sync.lease_uri == NULL &&
	    dir_flavour_get(cfg->directory.flavour)->attr_role_owner == NULL)
		log_warn("sync.lease_dn %s: sync.lease_uri is not set: every "
		    "instance of a pair must take the lease on the same "
		    "server, and this one uses %s; on replicated servers set "
		    "sync.lease_uri alike everywhere", l->dn, l->uri);
	/* a failure is logged; each look connects again (dir_ensure) */
	(void)dir_connect(l->dir);
	ret = 0;
	goto out;
nomem:
	log_err("sync.lease_dn %s: out of memory", l->dn);
out:
	if (ret == -1) {
		free(l->uri);
		l->uri = NULL;
	}
	dir_free(d);
	free(why);
	return ret;
}

static int
lease_params(struct lease *l, const struct cfg *cfg)
{
	free(l->dn);
	free(l->attr);
	dir_free(l->dir);
	l->dir = NULL;
	free(l->uri);
	l->uri = NULL;
	l->cfg = cfg;
	l->ttl = cfg->sync.lease_ttl;
	if ((l->dn = strdup(cfg->sync.lease_dn)) == NULL ||
	    (l->attr = strdup(cfg->sync.lease_attribute)) == NULL) {
		log_err("sync.lease_dn: out of memory");
		return -1;
	}
	(void)lease_authority(l);	/* else at each look */
	return 0;
}

struct lease *
lease_new(const struct cfg *cfg)
{
	struct lease *l;
	unsigned char rnd[4];
	char host[64] = "";

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_err("sync.lease_dn: out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->stepmu, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (lease_params(l, cfg) == -1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		lease_free(l);
		return NULL;
	}
	(void)gethostname(host, sizeof(host) - 1);
	/* the random part tells a restarted instance from its former self */
	snprintf(l->me, sizeof(l->me), "%s/%ld/%02x%02x%02x%02x",
	    host[0] ? host : "?", (long)getpid(), rnd[0], rnd[1], rnd[2],
	    rnd[3]);
	return l;
}

/* Held and renewed: record our value (mu held). */
static void
set_held(struct lease *l, char *v, double sent)
{
	free(l->cur);
	l->cur = v;
	l->until = sent + l->ttl;
}

static void
set_lost(struct lease *l, char *seen, double now)
{
	free(l->cur);
	l->cur = NULL;
	free(l->seen);
	l->seen = seen;
	l->seen_at = now;
	l->changed = 1;
}

/* Our last write had no answer: if the value is ours, it happened. */
static void
settle_pending(struct lease *l, const char *v)
{
	if (l->pending != NULL && streq(v, l->pending)) {
		if (l->cur == NULL) {
			atomic_store(&l->gained, 1);
			log_info("sync.lease_dn %s: lease taken (the answer was "
			    "lost, the value is ours); this instance is active",
			    l->dn);
		}
		set_held(l, l->pending, l->pending_at);
		l->pending = NULL;
		return;
	}
	free(l->pending);
	l->pending = NULL;
}

/* A write's answer (mu held): 0 ours, 1 lost, -1 unknown (pending). */
static void
after_write(struct lease *l, int rc, char *v, double sent, int takeover,
    const char *from)
{
	char who[128];

	if (rc == 0) {
		set_held(l, v, sent);
		if (takeover) {
			atomic_store(&l->gained, 1);
			lease_value_holder(from, who, sizeof(who));
			if (is_free(from))
				log_info("sync.lease_dn %s: lease taken (it "
				    "was free); this instance is active", l->dn);
			else
				log_warn("sync.lease_dn %s: lease taken over "
				    "from %s (not renewed for %d s); this "
				    "instance is active", l->dn, who, l->ttl);
		}
		return;
	}
	if (rc == -1) {
		l->pending = v;
		l->pending_at = sent;
		return;
	}
	free(v);
	if (!takeover) {
		log_warn("sync.lease_dn %s: another instance took the lease; "
		    "standing by", l->dn);
		set_lost(l, NULL, sent);	/* the next look reads whose */
	}
}

int
lease_step(struct lease *l)
{
	char *v = NULL, *nv = NULL, *from = NULL, who[128];
	const char *old;
	double now;
	int rc, held, takeover = 0, failed = 0;

	pthread_mutex_lock(&l->stepmu);
	now = mono();
	rc = lease_authority(l) == -1 ? -1 :
	    dir_lease_read(l->dir, l->dn, l->attr, &v);
	pthread_mutex_lock(&l->mu);
	if (rc == 1) {
		/* no entry: make it, holding the lease (if it may be made) */
		if (!l->missing_told)
			log_info("sync.lease_dn %s: no such entry; creating it",
			    l->dn);
		l->missing_told = 1;
		rc = -1;
		if ((nv = value_new(l)) != NULL) {
			pthread_mutex_unlock(&l->mu);
			rc = dir_lease_create(l->dir, l->dn, l->attr, nv);
			pthread_mutex_lock(&l->mu);
			if (rc == 0) {
				after_write(l, 0, nv, now, 1, NULL);
				goto out;
			}
			free(nv);
		}
		if (rc != 1)
			goto out;
		/* another instance made it first (the add is the race, and
		 * the authority lets one win): read whose it is, stand by */
		log_info("sync.lease_dn %s: another instance made it first; "
		    "standing by", l->dn);
		pthread_mutex_unlock(&l->mu);
		rc = dir_lease_read(l->dir, l->dn, l->attr, &v);
		pthread_mutex_lock(&l->mu);
		if (rc != 0) {
			failed = rc == -1;
			goto out;
		}
	}
	if (rc == -1) {
		failed = 1;	/* held until l->until at most; try again */
		goto out;
	}
	settle_pending(l, v);
	if (l->cur != NULL && !streq(v, l->cur)) {
		lease_value_holder(v, who, sizeof(who));
		log_warn("sync.lease_dn %s: the lease is now %s%s; standing by",
		    l->dn, is_free(v) ? "free" : "held by ", is_free(v) ? "" :
		    who);
		set_lost(l, v, now);
		v = NULL;
		goto out;
	}
	if (l->cur == NULL) {
		if (!l->looked || !streq(v, l->seen)) {
			free(l->seen);
			l->seen = v;
			l->seen_at = now;
			l->changed = l->changed || l->looked;
			l->looked = 1;
			v = NULL;
		}
		if (!is_free(l->seen) && now - l->seen_at < l->ttl)
			goto out;	/* its holder may be alive */
		takeover = 1;
		if (l->seen != NULL && (from = strdup(l->seen)) == NULL)
			goto out;
	}
	if ((nv = value_new(l)) == NULL)
		goto out;
	old = takeover ? from : l->cur;	/* only a step changes l->cur */
	pthread_mutex_unlock(&l->mu);
	rc = dir_lease_swap(l->dir, l->dn, l->attr, old, nv);
	pthread_mutex_lock(&l->mu);
	after_write(l, rc, nv, now, takeover, from);
out:
	held = l->cur != NULL;
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_unlock(&l->stepmu);
	free(v);
	free(from);
	return failed ? -1 : held;
}

static void *
lease_main(void *arg)
{
	struct lease *l = arg;
	struct timespec ts;
	int held, period;

	for (;;) {
		held = lease_step(l);
		/* renew at a third of the ttl; look for a dead holder often
		 * enough to take over within a sixth of a ttl of its end (and
		 * as soon again after a look that failed) */
		period = held == 1 ? l->ttl / 3 : l->ttl / 6;
		if (period < 1)
			period = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += period;
		pthread_mutex_lock(&l->mu);
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu,
		    &ts) != ETIMEDOUT)
			;
		if (l->stop) {
			pthread_mutex_unlock(&l->mu);
			return NULL;
		}
		pthread_mutex_unlock(&l->mu);
	}
}

int
lease_start(struct lease *l)
{
	int rc;

	l->stop = 0;
	if ((rc = pthread_create(&l->thread, NULL, lease_main, l)) != 0) {
		log_err("sync.lease_dn %s: cannot start its thread: %s", l->dn,
		    strerror(rc));
		return -1;
	}
	l->running = 1;
	return 0;
}

static void
lease_stop(struct lease *l)
{
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	l->running = 0;
}

/* Give a held lease up (LEASE_FREE), so that a standby need not wait. */
static void
lease_release(struct lease *l)
{
	if (l->cur == NULL || l->dir == NULL)
		return;
	if (dir_lease_swap(l->dir, l->dn, l->attr, l->cur, LEASE_FREE) == 0)
		log_info("sync.lease_dn %s: lease given up", l->dn);
	set_lost(l, NULL, mono());
}

int
lease_reload(struct lease *l, const struct cfg *cfg)
{
	int same, was = l->running;

	lease_stop(l);
	same = strcmp(l->dn, cfg->sync.lease_dn) == 0 &&
	    strcmp(l->attr, cfg->sync.lease_attribute) == 0 &&
	    streq(l->cfg->sync.lease_uri, cfg->sync.lease_uri);
	if (!same)
		lease_release(l);
	if (lease_params(l, cfg) == -1)
		return -1;
	return was ? lease_start(l) : 0;
}

void
lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	lease_stop(l);
	if (l->dir != NULL)
		lease_release(l);
	dir_free(l->dir);
	free(l->uri);
	free(l->point);
	free(l->dn);
	free(l->attr);
	free(l->cur);
	free(l->seen);
	free(l->pending);
	pthread_mutex_destroy(&l->stepmu);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

int
lease_active(struct lease *l)
{
	int ok;

	pthread_mutex_lock(&l->mu);
	ok = l->cur != NULL && mono() < l->until - l->ttl / 3.0;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

int
lease_gained(struct lease *l)
{
	return atomic_exchange(&l->gained, 0);
}

int
lease_renewed_by_other(struct lease *l)
{
	int c;

	pthread_mutex_lock(&l->mu);
	c = l->changed;
	pthread_mutex_unlock(&l->mu);
	return c;
}

int
lease_caught_up(struct lease *l, struct dir *replica)
{
	char *point;
	int rc;

	pthread_mutex_lock(&l->stepmu);
	if (l->point == NULL && (l->dir == NULL ||
	    dir_sync_point(l->dir, &l->point) == -1)) {
		pthread_mutex_unlock(&l->stepmu);
		return -1;
	}
	point = l->point;
	pthread_mutex_unlock(&l->stepmu);
	if ((rc = dir_sync_reached(replica, point)) == 1) {
		pthread_mutex_lock(&l->stepmu);
		free(l->point);
		l->point = NULL;
		pthread_mutex_unlock(&l->stepmu);
	}
	return rc;
}

void
lease_uri(struct lease *l, char *buf, size_t sz)
{
	pthread_mutex_lock(&l->stepmu);	/* the lease thread may set it */
	snprintf(buf, sz, "%s", l->uri != NULL ? l->uri : "(not known yet)");
	pthread_mutex_unlock(&l->stepmu);
}

void
lease_holder(struct lease *l, char *buf, size_t sz)
{
	pthread_mutex_lock(&l->mu);
	if (l->cur != NULL)
		snprintf(buf, sz, "%s", l->me);
	else
		lease_value_holder(l->seen, buf, sz);
	pthread_mutex_unlock(&l->mu);
}
