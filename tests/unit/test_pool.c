// SPDX-License-Identifier: Apache-2.0
/*
 * The pool: every part of every call runs once, calls from several threads
 * at once share the workers, a pool without workers runs parts in the
 * caller, and no call starts threads of its own (the pool's stay).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "pool.h"

#define CALLS 6
#define PARTS 40

struct job {
	int ran[PARTS];
	pthread_t caller;
	int in_caller;
};

static void part(void *arg, long i)
{
	struct job *j = arg;

	__atomic_add_fetch(&j->ran[i], 1, __ATOMIC_RELAXED);
	if (pthread_equal(pthread_self(), j->caller))
		__atomic_add_fetch(&j->in_caller, 1, __ATOMIC_RELAXED);
	usleep(1000);
}

static struct pool *pool;

static void *caller(void *arg)
{
	struct job *j = arg;

	j->caller = pthread_self();
	pool_run(pool, PARTS, part, j);
	return NULL;
}

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2; /* . and .. */
}

int main(void)
{
	static struct job jobs[CALLS];
	pthread_t th[CALLS];
	int base = threads(), ok = 1;

	pool = pool_new(3);
	for (int round = 0; round < 2; round++) {
		for (int c = 0; c < CALLS; c++)
			pthread_create(&th[c], NULL, caller, &jobs[c]);
		for (int c = 0; c < CALLS; c++)
			pthread_join(th[c], NULL);
		/* the callers are gone; the pool's three workers stay */
		CHECK(threads() == base + 3);
	}
	for (int c = 0; c < CALLS; c++)
		for (int i = 0; i < PARTS; i++)
			ok &= jobs[c].ran[i] == 2;
	CHECK(ok);
	pool_free(&pool);
	CHECK(threads() == base);

	/* no workers: every part in the caller */
	pool = pool_new(0);
	jobs[0] = (struct job){.caller = pthread_self()};
	pool_run(pool, PARTS, part, &jobs[0]);
	CHECK(jobs[0].in_caller == PARTS);
	pool_run(pool, 0, part, &jobs[0]);
	CHECK(jobs[0].in_caller == PARTS);
	pool_free(&pool);
	return CHECK_DONE();
}
