/*
 * dnsq.c — smimepub-sync's DNS thread: keeps the SMIMEA records of
 * dns.zones in step with the journal (dns/dns.h) apart from the passes, so
 * a slow or dead DNS server never holds up an enrolment. Workers queue the
 * person they acted on (sync_dns_kick), a full pass queues everyone
 * (sync_dns_all); the thread works the queue, then the people whose DNS
 * state is pending and due (their backoff in the journal), and sleeps until
 * the next is due or something is queued. Stopping finishes what is queued
 * (so --once leaves DNS in step), not the retries waiting for later.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "dns/dns.h"
#include "sync/dnsq.h"
#include "sync/metrics.h"

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 th;
	int		 running, stop, all;
	char		(*q)[80];
	size_t		 nq, cap;
	const struct cfg *cfg;
	struct jrnl	*j;
} dq = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

struct due {
	time_t		 next;		/* earliest retry, 0 none */
	unsigned long	 pending;
};

static int
due_cb(const struct jrnl_dns *d, void *arg)
{
	struct due *u = arg;

	if (!d->pending)
		return 0;
	u->pending++;
	if (u->next == 0 || d->next_retry < u->next)
		u->next = d->next_retry;
	return 0;
}

/* One batch: what was queued (ids, or everyone), then the due retries. */
static void
dq_batch(char (*ids)[80], size_t n, int all, struct due *u)
{
	struct dns_counts c;
	struct dns_ctx *ctx;
	size_t i;

	memset(&c, 0, sizeof(c));
	if ((ctx = dns_ctx_new(dq.cfg)) == NULL) {
		u->next = time(NULL) + 60;	/* out of memory: later */
		return;
	}
	if (all)
		(void)dns_sync_all(ctx, dq.j, NULL, &c);
	else
		for (i = 0; i < n; i++)
			(void)dns_sync_person(ctx, dq.j, ids[i], NULL, &c);
	(void)dns_sync_due(ctx, dq.j, time(NULL), &c);
	dns_ctx_free(ctx);
	memset(u, 0, sizeof(*u));
	(void)jrnl_dns_each(dq.j, due_cb, u);
	/* a retry that is due yet was not taken (the journal failed):
	 * not before a second from now, never a busy loop */
	if (u->next != 0 && u->next <= time(NULL))
		u->next = time(NULL) + 1;
	met_dns(c.ok, c.failed, c.conflict, u->pending);
	if (c.ok + c.failed + c.conflict > 0 || c.pending > 0)
		log_info("dns: %lu added, %lu deleted in %lu UPDATEs, %lu "
		    "failed, %lu conflicts; %lu people pending", c.added,
		    c.deleted, c.ok, c.failed, c.conflict, u->pending);
}

static void *
dq_main(void *arg)
{
	struct timespec until;
	struct due u = { 0, 0 };
	char (*ids)[80];
	size_t n;
	int all, first = 1;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&dq.mu);
		while (!first && !dq.stop && !dq.all && dq.nq == 0 &&
		    (u.next == 0 || time(NULL) < u.next)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 60;
			if (u.next != 0 && u.next < until.tv_sec)
				until.tv_sec = u.next;
			pthread_cond_timedwait(&dq.cv, &dq.mu, &until);
		}
		first = 0;
		if (dq.stop && !dq.all && dq.nq == 0) {
			pthread_mutex_unlock(&dq.mu);
			break;
		}
		ids = dq.q;
		n = dq.nq;
		all = dq.all;
		dq.q = NULL;
		dq.nq = dq.cap = 0;
		dq.all = 0;
		pthread_mutex_unlock(&dq.mu);
		dq_batch(ids, n, all, &u);
		free(ids);
	}
	return NULL;
}

int
sync_dns_start(const struct cfg *cfg, struct jrnl *j)
{
	if (cfg->dns.n_zones == 0 || dq.running)
		return 0;
	dq.cfg = cfg;
	dq.j = j;
	dq.stop = 0;
	if (pthread_create(&dq.th, NULL, dq_main, NULL) != 0) {
		log_err("dns: cannot start its thread: DNS is not kept");
		return -1;
	}
	dq.running = 1;
	return 0;
}

void
sync_dns_stop(void)
{
	if (!dq.running)
		return;
	pthread_mutex_lock(&dq.mu);
	dq.stop = 1;
	pthread_cond_signal(&dq.cv);
	pthread_mutex_unlock(&dq.mu);
	pthread_join(dq.th, NULL);
	dq.running = 0;
	free(dq.q);
	dq.q = NULL;
	dq.nq = dq.cap = 0;
	dq.all = 0;
}

void
sync_dns_kick(const char *person_id)
{
	char (*n)[80];
	size_t i;

	if (!dq.running)
		return;
	pthread_mutex_lock(&dq.mu);
	for (i = 0; i < dq.nq; i++)
		if (strcmp(dq.q[i], person_id) == 0)
			goto out;
	if (dq.nq == dq.cap) {
		dq.cap = dq.cap ? 2 * dq.cap : 64;
		if ((n = realloc(dq.q, dq.cap * sizeof(*n))) == NULL) {
			/* the next full pass reconciles them */
			dq.cap = dq.nq;
			goto out;
		}
		dq.q = n;
	}
	snprintf(dq.q[dq.nq++], sizeof(dq.q[0]), "%s", person_id);
	pthread_cond_signal(&dq.cv);
out:
	pthread_mutex_unlock(&dq.mu);
}

void
sync_dns_all(void)
{
	if (!dq.running)
		return;
	pthread_mutex_lock(&dq.mu);
	dq.all = 1;
	dq.nq = 0;	/* everyone includes them */
	pthread_cond_signal(&dq.cv);
	pthread_mutex_unlock(&dq.mu);
}
