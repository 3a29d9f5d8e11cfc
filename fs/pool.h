/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed pool of threads for work split in parts (the pages of a
 * listing): pool_run hands the parts of one call to idle workers and takes
 * parts itself, so a call ends even when every worker is busy with other
 * calls' parts, and no call starts threads of its own. The workers start
 * at the first call with more than one part (after the daemon forked).
 */
#ifndef AFS_POOL_H
#define AFS_POOL_H

struct pool;

/* A pool of at most workers threads (0: every part runs in the caller). */
struct pool *pool_new(int workers);
/* Stops the workers (no pool_run may be running); sets *p to NULL. */
void pool_free(struct pool **p);
/* Runs fn(arg, i) for every i in [0, n), in any order and at once, and
 * returns when all have returned. */
void pool_run(struct pool *p, long n, void (*fn)(void *arg, long i), void *arg);

#endif
