/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Readahead: when a reader fetches the log or links.json of one task
 * instance of a listed run, the logs and links.json of the next task
 * instances in the listing's order (the order in which grep -r and find
 * read them) are fetched in the background by a few workers, so that the
 * reader finds them in the cache. node.c tells it what readers fetch; the
 * workers fetch in calls of their own (CALL_PREFETCH) and start no readahead
 * of their own.
 */
#ifndef AFS_READAHEAD_H
#define AFS_READAHEAD_H

#include <stdint.h>

struct store;
struct readahead;

/*
 * Starts workers threads (0: none) looking window task instances ahead;
 * each fetch is a call of its own (CALL_PREFETCH) within timeout seconds.
 */
struct readahead *readahead_start(struct store *s, int workers, int window,
				  double timeout);
/* Stops the workers and drops what is queued. */
void readahead_stop(struct readahead **ra);
/* A reader is fetching something of task instance (task, map_index). */
void readahead_after(struct readahead *ra, const char *dag, const char *run,
		     const char *task, int map_index);
/* Fetches queued and done so far. */
void readahead_stats(struct readahead *ra, uint64_t *queued, uint64_t *done);

#endif
