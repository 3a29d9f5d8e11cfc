/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TTL cache of immutable, reference-counted values keyed by strings.
 *
 * One mutex protects the table; it is never held while a caller fetches
 * anything (the cache includes no FUSE and no curl). Entries expire after
 * their own TTL, the least recently used go first once the byte bound is
 * reached, negative entries remember an errno, and concurrent misses on one
 * key are coalesced: the first caller fills, the others wait for its result
 * (single-flight). A fetch that started before an invalidation of what it
 * read stores nothing: the cache remembers its last invalidations, each
 * numbered by a write generation, and a put with an older generation is
 * dropped if one of them covers its key.
 */
#ifndef AFS_CACHE_H
#define AFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Embed as the first member of a value. refs is changed atomically;
 * destroy() is called once, by whoever drops the last reference, without
 * the cache lock held. size is what the value is charged against the bound.
 */
struct cache_val {
	unsigned refs;
	size_t size;
	size_t disk; /* bytes it keeps outside memory (a log's file), not
			charged against max_bytes: see cache_evict_disk */
	void (*destroy)(struct cache_val *v);
};

/* A value holding bytes, the common case (rendered files, logs). */
struct cache_blob {
	struct cache_val hdr;
	size_t len;
	char data[]; /* len bytes, then a NUL not counted in len */
};

struct cache_config {
	size_t max_bytes;		/* bound on the sum of value sizes */
	double (*now)(void *clock_arg); /* seconds; NULL: CLOCK_MONOTONIC */
	void *clock_arg;
	/*
	 * Whether an invalidation of changed (a key, or with prefix every key
	 * that starts with it) makes a value for key fetched before it stale:
	 * say so for keys whose values are built from what changed (a
	 * listing of it). NULL: key is changed, or starts with it (prefix).
	 */
	bool (*covers)(const char *changed, bool prefix, const char *key);
};

struct cache_stats {
	uint64_t hits, misses, evictions;
	size_t bytes, entries;
};

enum { CACHE_MISS = 0, CACHE_HIT = 1 };

#define CACHE_FOREVER (-1.0) /* a ttl that never expires */

/* Returns NULL on allocation failure. cfg is copied. */
struct cache *cache_new(const struct cache_config *cfg);
/* Frees all entries (dropping their references) and sets *c to NULL. */
void cache_free(struct cache **c);

/* A new blob with refs = 1 holding a copy of len bytes; NULL on ENOMEM. */
struct cache_blob *cache_blob_new(const void *data, size_t len);

/* Takes one more reference. */
void cache_ref(struct cache_val *v);
/* Drops one reference and sets *v to NULL; destroys at zero. NULL is fine. */
void cache_unref(struct cache_val **v);

/* The current write generation: read it before a fetch, give it to put. */
uint64_t cache_gen(struct cache *c);

/*
 * Looks key up. Returns CACHE_HIT with *val referenced (caller unrefs),
 * -errno for a fresh negative entry (*val NULL), or CACHE_MISS (*val NULL).
 * Expired entries count as a miss. Counts hits and misses.
 */
int cache_get(struct cache *c, const char *key, struct cache_val **val);

/*
 * Stores val (the cache takes its own reference) under key for ttl seconds
 * (CACHE_FOREVER: no expiry; 0: not stored), replacing any entry, unless an
 * invalidation covering key (cache_config.covers) happened after gen was
 * read: then nothing is stored. Past CACHE_INVAL_KEPT invalidations since
 * gen, any key counts as covered. Returns 0 or -ENOMEM.
 */
#define CACHE_INVAL_KEPT 256
int cache_put(struct cache *c, const char *key, struct cache_val *val,
	      double ttl, uint64_t gen);
/* Stores a negative entry (err > 0) under the same rules. */
int cache_put_err(struct cache *c, const char *key, int err, double ttl,
		  uint64_t gen);

/*
 * Single-flight lookup. Like cache_get, except that on a miss either the
 * caller becomes the filler (returns CACHE_MISS, *gen set: the caller must
 * fetch and then call cache_end exactly once for this key), or another
 * filler is in flight for key: then it waits for it and returns its result
 * (CACHE_HIT with *val referenced, or -errno).
 */
int cache_begin(struct cache *c, const char *key, struct cache_val **val,
		uint64_t *gen);
/*
 * Ends a fill started by cache_begin: val (may be NULL when err > 0) is
 * handed to the waiters, and stored (val with ttl, or err with err_ttl when
 * err_ttl > 0) under the rules of cache_put with the gen of cache_begin.
 */
void cache_end(struct cache *c, const char *key, struct cache_val *val, int err,
	       double ttl, double err_ttl);

/* Removes key and bumps the write generation, remembering key. */
void cache_invalidate(struct cache *c, const char *key);
/* Removes every key that starts with prefix ("" clears all), likewise. */
void cache_invalidate_prefix(struct cache *c, const char *prefix);

/*
 * Drops the least recently used entry whose value keeps bytes on disk
 * (disk > 0), as an eviction; the value goes once its last holder lets it
 * go. Returns 0, or -ENOENT when the cache holds no such entry.
 */
int cache_evict_disk(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *st);

#endif
