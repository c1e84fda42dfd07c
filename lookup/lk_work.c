/*
 * lk_work.c — the directory workers: lookup.pool_size threads that take
 * the requests needing a directory search (an uncached GET /v1/certs) off
 * the HTTP threads. An HTTP thread that waited for slapd itself could serve
 * no other client meanwhile. The HTTP threads suspend such a request
 * (MHD_suspend_connection) and go on serving; a worker takes every request
 * waiting, up to lookup.pool_depth, runs them as one batch (their searches
 * in flight together on one connection, lk_pool.c) and resumes each. A
 * busy worker finds the next batch queued when it comes back, so a request
 * costs no thread wake-up of its own. A job is run exactly once, by one
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
	size_t		 batch;		/* jobs taken at once */
	lk_batch_fn	 run;
	void		*arg;
};

static void *
lk_worker(void *arg)
{
	struct lk_work *w = arg;
	struct lk_job *jobs[LK_MANY_MAX];
	size_t n;
	int stopping;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL)
			break;		/* stopping, nothing left */
		for (n = 0; n < w->batch && w->head != NULL; n++) {
			jobs[n] = w->head;
			if ((w->head = w->head->next) == NULL)
				w->tail = &w->head;
			jobs[n]->next = NULL;
		}
		stopping = w->stopping;
		pthread_mutex_unlock(&w->mu);
		w->run(jobs, n, stopping, w->arg);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct lk_work *
lk_work_new(int n, int batch, lk_batch_fn run, void *arg)
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
	w->batch = lk_batch_max(batch);
	w->run = run;
	w->arg = arg;
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
