/*
 * lk_work.c — the directory workers: lookup.pool_size x pool_depth threads
 * (as many as searches in flight) that take
 * the requests needing a directory search (an uncached GET /v1/certs) off
 * the HTTP threads. An HTTP thread that waited for slapd itself could serve
 * no other client meanwhile, and while it parsed and answered HTTP its
 * directory connection sat idle: with cache_ttl = 0, lookupd did half the
 * searches a plain libldap client does over as many connections. Now the
 * HTTP threads suspend such a request (MHD_suspend_connection) and go on
 * serving; a worker runs it and resumes it, so each directory connection
 * always has the next search waiting. A job is run exactly once, by one
 * worker; lk_work_stop runs what is still queued (told it is stopping) and
 * joins the workers, after which lk_work_push refuses (the caller answers
 * itself): HTTP threads keep serving open connections until MHD stops.
 */
#include <pthread.h>
#include <stdlib.h>

#include "common/log.h"
#include "lookup/lk.h"

struct lk_work {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct lk_job	*head, **tail;
	pthread_t	*tids;
	int		 n;
	int		 stopping;
};

static void *
lk_worker(void *arg)
{
	struct lk_work *w = arg;
	struct lk_job *j;
	int stopping;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((j = w->head) == NULL)
			break;		/* stopping, nothing left */
		if ((w->head = j->next) == NULL)
			w->tail = &w->head;
		stopping = w->stopping;
		pthread_mutex_unlock(&w->mu);
		j->next = NULL;
		j->run(j, stopping);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct lk_work *
lk_work_new(int n)
{
	struct lk_work *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->tids = calloc((size_t)n, sizeof(*w->tids))) == NULL) {
		log_err("lookup.pool_size %d: out of memory", n);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->tail = &w->head;
	for (; w->n < n; w->n++)
		if (pthread_create(&w->tids[w->n], NULL, lk_worker, w) != 0) {
			log_err("lookup.pool_size %d: cannot start a directory "
			    "worker", n);
			lk_work_stop(w);
			lk_work_free(w);
			return NULL;
		}
	return w;
}

int
lk_work_push(struct lk_work *w, struct lk_job *j)
{
	int rc = -1;

	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (!w->stopping) {
		*w->tail = j;
		w->tail = &j->next;
		pthread_cond_signal(&w->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void
lk_work_stop(struct lk_work *w)
{
	int i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->n; i++)
		pthread_join(w->tids[i], NULL);
	w->n = 0;
}

void
lk_work_free(struct lk_work *w)
{
	if (w == NULL)
		return;
	lk_work_stop(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->tids);
	free(w);
}
