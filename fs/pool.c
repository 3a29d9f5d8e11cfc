// SPDX-License-Identifier: Apache-2.0
/*
 * The pool of pool.h. Calls queue their batch of parts; a worker takes the
 * next part of the oldest batch with parts left. The caller takes parts
 * too, then waits for the ones workers took.
 */
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"
#include "thread.h"

#define WORKERS_MAX 32

struct batch {
	struct batch *next;
	void (*fn)(void *arg, long i);
	void *arg;
	long n, taken, done; /* by the pool's lock */
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a batch was queued, or stop */
	pthread_cond_t done; /* a part ended */
	struct batch *queue; /* batches with parts left, oldest first */
	int stop, nworkers, max;
	pthread_t workers[WORKERS_MAX];
};

/* Takes b off the queue: its last part is handed out; lock held. */
static void dequeue(struct pool *p, struct batch *b)
{
	for (struct batch **q = &p->queue; *q; q = &(*q)->next)
		if (*q == b) {
			*q = b->next;
			return;
		}
}

/* The next part to run, taken from the oldest batch; lock held. */
static struct batch *take(struct pool *p, long *i)
{
	struct batch *b = p->queue;

	if (!b)
		return NULL;
	*i = b->taken++;
	if (b->taken == b->n)
		dequeue(p, b); /* nothing left to hand out */
	return b;
}

/* Runs part i of b; lock held, released while it runs. */
static void run(struct pool *p, struct batch *b, long i)
{
	pthread_mutex_unlock(&p->lock);
	b->fn(b->arg, i);
	pthread_mutex_lock(&p->lock);
	b->done++;
	pthread_cond_broadcast(&p->done);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct batch *b;
	long i;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		b = take(p, &i);
		if (b)
			run(p, b, i);
		else
			pthread_cond_wait(&p->work, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *pool_new(int workers)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->max = workers < WORKERS_MAX ? workers : WORKERS_MAX;
	return p;
}

void pool_free(struct pool **pp)
{
	struct pool *p = *pp;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
	*pp = NULL;
}

void pool_run(struct pool *p, long n, void (*fn)(void *arg, long i), void *arg)
{
	struct batch b = {.fn = fn, .arg = arg, .n = n}, **q;
	long i;

	if (n <= 1) {
		if (n == 1)
			fn(arg, 0);
		return;
	}
	pthread_mutex_lock(&p->lock);
	while (p->nworkers < p->max && p->nworkers < n - 1 &&
	       !thread_start(&p->workers[p->nworkers], "afs-pages", worker, p))
		p->nworkers++;
	for (q = &p->queue; *q; q = &(*q)->next)
		;
	*q = &b;
	pthread_cond_broadcast(&p->work);
	/* the caller takes parts too, while there are any */
	while (b.taken < b.n) {
		i = b.taken++;
		if (b.taken == b.n)
			dequeue(p, &b);
		run(p, &b, i);
	}
	while (b.done < b.n)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}
