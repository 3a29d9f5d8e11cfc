// SPDX-License-Identifier: Apache-2.0
/*
 * Readahead workers; see readahead.h. One queue under one mutex; the
 * workers fetch through the store, whose single-flight fills make a reader
 * that arrives meanwhile wait for the same fetch rather than send another.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "readahead.h"
#include "thread.h"
#include "store.h"

#define QUEUE_MAX   256
#define WORKERS_MAX 64

struct job {
	char *dag, *run;
	struct s_ti *ti; /* a reference */
	int try_number;	 /* 0: links.json */
};

struct readahead {
	struct store *s;
	int window, nworkers;
	double timeout; /* of each fetch */
	pthread_t workers[WORKERS_MAX];
	pthread_mutex_t lock; /* protects below */
	pthread_cond_t wake;
	struct job queue[QUEUE_MAX];
	size_t head, count;
	int stopping;
	char *run_key; /* the run readers read last: */
	size_t last;   /* ... the task instance they read last */
	size_t until;  /* ... and how far ahead is queued */
	uint64_t queued, done;
};

static void job_clear(struct job *j)
{
	free(j->dag);
	free(j->run);
	store_put(j->ti);
	memset(j, 0, sizeof(*j));
}

static void *worker(void *arg)
{
	struct readahead *ra = arg;

	pthread_mutex_lock(&ra->lock);
	for (;;) {
		struct job j;
		struct call call;

		while (!ra->stopping && ra->count == 0)
			pthread_cond_wait(&ra->wake, &ra->lock);
		if (ra->stopping)
			break;
		j = ra->queue[ra->head];
		ra->head = (ra->head + 1) % QUEUE_MAX;
		ra->count--;
		pthread_mutex_unlock(&ra->lock);
		call = call_within(ra->timeout, CALL_PREFETCH);
		if (j.try_number > 0) {
			struct s_log *l;

			if (store_log(ra->s, &call, &j.ti->ti, j.dag, j.run,
				      j.try_number, &l) == 0)
				store_put(l);
		} else {
			struct cache_blob *b;

			if (store_links(ra->s, &call, &j.ti->ti, j.dag, j.run,
					&b) == 0)
				store_put(b);
		}
		job_clear(&j);
		pthread_mutex_lock(&ra->lock);
		ra->done++;
	}
	pthread_mutex_unlock(&ra->lock);
	return NULL;
}

struct readahead *readahead_start(struct store *s, int workers, int window,
				  double timeout)
{
	struct readahead *ra = calloc(1, sizeof(*ra));

	if (!ra)
		return NULL;
	ra->s = s;
	ra->window = window;
	ra->timeout = timeout;
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->wake, NULL);
	for (; ra->nworkers < workers && ra->nworkers < WORKERS_MAX;
	     ra->nworkers++)
		if (thread_start(&ra->workers[ra->nworkers], "afs-readahead",
				 worker, ra))
			break;
	return ra;
}

void readahead_stop(struct readahead **rap)
{
	struct readahead *ra = *rap;

	if (!ra)
		return;
	pthread_mutex_lock(&ra->lock);
	ra->stopping = 1;
	pthread_cond_broadcast(&ra->wake);
	pthread_mutex_unlock(&ra->lock);
	for (int i = 0; i < ra->nworkers; i++)
		pthread_join(ra->workers[i], NULL);
	for (; ra->count > 0; ra->count--) {
		job_clear(&ra->queue[ra->head]);
		ra->head = (ra->head + 1) % QUEUE_MAX;
	}
	free(ra->run_key);
	pthread_cond_destroy(&ra->wake);
	pthread_mutex_destroy(&ra->lock);
	free(ra);
	*rap = NULL;
}

/* Queues one fetch; ra->lock held. Returns 0, or -1 when full. */
static int enqueue(struct readahead *ra, const char *dag, const char *run,
		   struct s_ti *ti, int try_number)
{
	struct job *j;

	if (ra->count == QUEUE_MAX)
		return -1;
	j = &ra->queue[(ra->head + ra->count) % QUEUE_MAX];
	j->dag = strdup(dag);
	j->run = strdup(run);
	if (!j->dag || !j->run) {
		job_clear(j);
		return -1;
	}
	cache_ref(&ti->hdr);
	j->ti = ti;
	j->try_number = try_number;
	ra->count++;
	ra->queued++;
	return 0;
}

static int is(const struct s_ti *v, const char *task, int map_index)
{
	return v->ti.map_index == map_index && !strcmp(v->ti.task_id, task);
}

/* The index of a task instance in a run's list (t->n when absent),
 * looked for first where readers are: next to the last one read. */
static size_t find(struct readahead *ra, const struct s_tis *t,
		   const char *task, int map_index)
{
	size_t last;

	pthread_mutex_lock(&ra->lock);
	last = ra->last;
	pthread_mutex_unlock(&ra->lock);
	for (size_t i = last; i < last + 3 && i < t->n; i++)
		if (is(t->v[i], task, map_index))
			return i;
	for (size_t i = 0; i < t->n; i++)
		if (is(t->v[i], task, map_index))
			return i;
	return t->n;
}

void readahead_after(struct readahead *ra, const char *dag, const char *run,
		     const char *task, int map_index)
{
	struct s_tis *t;
	size_t i, from, to;
	char *key;

	if (!ra || ra->nworkers == 0 || store_listed(ra->s, dag, run, &t))
		return;
	i = find(ra, t, task, map_index);
	if (i == t->n || asprintf(&key, "%s/%s", dag, run) < 0) {
		store_put(t);
		return;
	}
	pthread_mutex_lock(&ra->lock);
	if (!ra->run_key || strcmp(ra->run_key, key)) {
		/* a new run: read ahead once readers go from one task
		 * instance to the next, not for one look at one of them */
		free(ra->run_key);
		ra->run_key = key;
		key = NULL;
		ra->last = i;
		ra->until = i + 1;
		pthread_mutex_unlock(&ra->lock);
		store_put(t);
		return;
	}
	if (i != ra->last + 1) {
		ra->last = i;
		if (ra->until <= i)
			ra->until = i + 1;
		pthread_mutex_unlock(&ra->lock);
		free(key);
		store_put(t);
		return;
	}
	ra->last = i;
	from = ra->until > i + 1 ? ra->until : i + 1;
	to = i + 1 + (size_t)ra->window < t->n ? i + 1 + (size_t)ra->window
					       : t->n;
	for (; from < to; from++) {
		struct s_ti *next = t->v[from];
		int full = enqueue(ra, dag, run, next, 0);

		for (int k = 1; !full && k <= next->ti.try_number; k++)
			full = enqueue(ra, dag, run, next, k);
		if (full)
			break;
	}
	ra->until = from;
	pthread_cond_broadcast(&ra->wake);
	pthread_mutex_unlock(&ra->lock);
	free(key);
	store_put(t);
}

void readahead_stats(struct readahead *ra, uint64_t *queued, uint64_t *done)
{
	*queued = *done = 0;
	if (!ra)
		return;
	pthread_mutex_lock(&ra->lock);
	*queued = ra->queued;
	*done = ra->done;
	pthread_mutex_unlock(&ra->lock);
}
