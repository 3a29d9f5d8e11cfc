/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the cache: expiry against an injected clock, negative
 * entries, LRU eviction under the byte bound, reference counting, the write
 * generation, and single-flight fills with real threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "cache.h"
#include "check.h"

#define NTHREADS 10
#define MAX_IDS	 64

struct fake_clock {
	double t;
};

/* A test value: destroy() counts calls per id, and in total. */
struct tval {
	struct cache_val hdr;
	int id;
};

static int destroy_count[MAX_IDS];
static int created, destroyed;

static double fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->t;
}

static void tval_destroy(struct cache_val *v)
{
	struct tval *t = (struct tval *)v;

	if (t->id >= 0 && t->id < MAX_IDS)
		__atomic_add_fetch(&destroy_count[t->id], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
	free(t);
}

static struct cache_val *tval_new(int id, size_t size)
{
	struct tval *t = malloc(sizeof(*t));

	if (!t)
		abort();
	t->hdr.refs = 1;
	t->hdr.size = size;
	t->hdr.disk = 0;
	t->hdr.destroy = tval_destroy;
	t->id = id;
	__atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
	return &t->hdr;
}

static int tval_id(const struct cache_val *v)
{
	return v ? ((const struct tval *)v)->id : -1;
}

static void reset_counts(void)
{
	memset(destroy_count, 0, sizeof(destroy_count));
}

static struct cache *new_cache(size_t max_bytes, struct fake_clock *clk)
{
	struct cache_config cfg = {
		.max_bytes = max_bytes,
		.now = clk ? fake_now : NULL,
		.clock_arg = clk,
	};
	struct cache *c = cache_new(&cfg);

	if (!c)
		abort();
	return c;
}

/* Stores a new value with the given id and drops the test's reference. */
static void put_id(struct cache *c, const char *key, int id, size_t size,
		   double ttl)
{
	struct cache_val *v = tval_new(id, size);

	CHECK(cache_put(c, key, v, ttl, cache_gen(c)) == 0);
	cache_unref(&v);
}

/* put_id with a generation read earlier (size 10, ttl 10 s). */
static void put_gen(struct cache *c, const char *key, int id, uint64_t gen)
{
	struct cache_val *v = tval_new(id, 10);

	CHECK(cache_put(c, key, v, 10, gen) == 0);
	cache_unref(&v);
}

/* The id a lookup finds, -1 on a miss, or -errno of a negative entry. */
static int get_id(struct cache *c, const char *key)
{
	struct cache_val *v = NULL;
	int ret = cache_get(c, key, &v);
	int id;

	if (ret != CACHE_HIT) {
		CHECK(v == NULL);
		return ret == CACHE_MISS ? -1 : ret;
	}
	id = tval_id(v);
	cache_unref(&v);
	return id;
}

static struct cache_stats stats(struct cache *c)
{
	struct cache_stats st;

	cache_get_stats(c, &st);
	return st;
}

/* What one entry costs beyond its value's size and its key. */
static size_t entry_overhead(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	size_t o;

	put_id(c, "k", 0, 100, CACHE_FOREVER);
	o = stats(c).bytes - 100 - 1;
	cache_free(&c);
	return o;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void test_blob(void)
{
	struct cache_blob *b = cache_blob_new("hello", 5);
	struct cache_val *v;

	CHECK(b != NULL);
	CHECK(b->len == 5);
	CHECK(memcmp(b->data, "hello", 5) == 0 && b->data[5] == '\0');
	CHECK(b->hdr.refs == 1);
	CHECK(b->hdr.size >= 5);
	v = &b->hdr;
	cache_ref(v);
	CHECK(v->refs == 2);
	cache_unref(&v);
	CHECK(v == NULL);
	CHECK(b->hdr.refs == 1);
	v = &b->hdr;
	cache_unref(&v);
	cache_unref(&v); /* NULL is fine */

	b = cache_blob_new(NULL, 0);
	CHECK(b != NULL && b->len == 0 && b->data[0] == '\0');
	v = &b->hdr;
	cache_unref(&v);
}

static void test_expiry(void)
{
	struct fake_clock clk = {100};
	struct cache *c = new_cache(1 << 20, &clk);

	reset_counts();
	CHECK(get_id(c, "a") == -1);
	put_id(c, "a", 1, 10, 5);
	CHECK(get_id(c, "a") == 1);
	clk.t = 104.999;
	CHECK(get_id(c, "a") == 1);
	clk.t = 105; /* exactly ttl: expired */
	CHECK(get_id(c, "a") == -1);
	CHECK(stats(c).entries == 0); /* dropped on the way */
	CHECK(stats(c).bytes == 0);
	CHECK(destroy_count[1] == 1);
	clk.t = 104; /* the dropped entry does not come back */
	CHECK(get_id(c, "a") == -1);

	put_id(c, "f", 2, 10, CACHE_FOREVER);
	clk.t = 1e15;
	CHECK(get_id(c, "f") == 2);

	put_id(c, "z", 3, 10, 0);
	CHECK(get_id(c, "z") == -1);
	CHECK(destroy_count[3] == 1); /* the cache kept no reference */
	put_id(c, "n", 4, 10, -5);    /* negative, not FOREVER: not stored */
	CHECK(get_id(c, "n") == -1);
	CHECK(destroy_count[4] == 1);

	/* ttl 0 replaces an entry with nothing */
	put_id(c, "f", 5, 10, 0);
	CHECK(get_id(c, "f") == -1);
	CHECK(destroy_count[2] == 1 && destroy_count[5] == 1);
	CHECK(stats(c).entries == 0);
	cache_free(&c);
	CHECK(c == NULL);
}

static void test_negative(void)
{
	struct fake_clock clk = {0};
	struct cache *c = new_cache(1 << 20, &clk);
	struct cache_val *v = (struct cache_val *)&clk; /* must be cleared */
	uint64_t gen;

	CHECK(cache_put_err(c, "x", ENOENT, 2, cache_gen(c)) == 0);
	CHECK(cache_get(c, "x", &v) == -ENOENT);
	CHECK(v == NULL);
	clk.t = 1.999;
	CHECK(get_id(c, "x") == -ENOENT);
	clk.t = 2;
	CHECK(get_id(c, "x") == -1);

	CHECK(cache_put_err(c, "x", 0, 2, cache_gen(c)) == -EINVAL);
	CHECK(cache_put(c, "x", NULL, 2, cache_gen(c)) == -EINVAL);
	CHECK(cache_put_err(c, "x", EACCES, 0, cache_gen(c)) == 0);
	CHECK(get_id(c, "x") == -1);

	/* a value replaces a negative entry and the other way round */
	CHECK(cache_put_err(c, "x", ENOENT, CACHE_FOREVER, cache_gen(c)) == 0);
	CHECK(stats(c).bytes == 1 + entry_overhead());
	put_id(c, "x", 1, 10, 10);
	CHECK(get_id(c, "x") == 1);
	CHECK(cache_put_err(c, "x", EACCES, 10, cache_gen(c)) == 0);
	CHECK(get_id(c, "x") == -EACCES);
	CHECK(stats(c).entries == 1);

	/* cache_begin answers from a negative entry without a fill */
	CHECK(cache_begin(c, "x", &v, &gen) == -EACCES);
	CHECK(v == NULL);
	cache_free(&c);
}

static void test_replace(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	size_t o = entry_overhead();

	reset_counts();
	put_id(c, "key", 1, 100, 10);
	put_id(c, "key", 2, 300, 10);
	CHECK(destroy_count[1] == 1);
	CHECK(destroy_count[2] == 0);
	CHECK(get_id(c, "key") == 2);
	CHECK(stats(c).entries == 1);
	CHECK(stats(c).bytes == 300 + 3 + o);
	cache_free(&c);
	CHECK(destroy_count[2] == 1);
}

static void test_lru(void)
{
	size_t o = entry_overhead();
	size_t charge = 100 + 2 + o; /* keys of two characters */
	struct cache *c = new_cache(3 * charge, NULL);
	struct cache_val *v;
	struct cache_stats st;

	reset_counts();
	put_id(c, "k1", 1, 100, CACHE_FOREVER);
	put_id(c, "k2", 2, 100, CACHE_FOREVER);
	put_id(c, "k3", 3, 100, CACHE_FOREVER);
	CHECK(stats(c).bytes == 3 * charge);
	CHECK(stats(c).evictions == 0);
	CHECK(get_id(c, "k1") == 1); /* k2 is now the least recent */
	put_id(c, "k4", 4, 100, CACHE_FOREVER);
	st = stats(c);
	CHECK(st.evictions == 1 && st.entries == 3 && st.bytes == 3 * charge);
	CHECK(destroy_count[2] == 1);
	CHECK(get_id(c, "k2") == -1);
	CHECK(get_id(c, "k1") == 1);
	CHECK(get_id(c, "k3") == 3);
	CHECK(get_id(c, "k4") == 4);

	/* recency now k4, k3, k1: k1 goes */
	put_id(c, "k5", 5, 100, CACHE_FOREVER);
	CHECK(destroy_count[1] == 1);
	CHECK(get_id(c, "k1") == -1);
	CHECK(stats(c).evictions == 2);

	/* recency k5, k4, k3: a double-size value pushes out k3 and k4 */
	put_id(c, "k6", 6, 100 + charge, CACHE_FOREVER);
	CHECK(destroy_count[3] == 1 && destroy_count[4] == 1);
	CHECK(get_id(c, "k5") == 5);
	CHECK(get_id(c, "k6") == 6);
	st = stats(c);
	CHECK(st.evictions == 4 && st.entries == 2 && st.bytes == 3 * charge);

	/* larger than the bound: not kept, the others stay */
	v = tval_new(7, 3 * charge);
	CHECK(cache_put(c, "k7", v, CACHE_FOREVER, cache_gen(c)) == 0);
	CHECK(get_id(c, "k7") == -1);
	CHECK(tval_id(v) == 7 && v->refs == 1);
	cache_unref(&v);
	CHECK(destroy_count[7] == 1);
	st = stats(c);
	CHECK(st.evictions == 5 && st.entries == 2);

	/* ... and it still replaces what its key held */
	put_id(c, "k5", 8, 4 * charge, CACHE_FOREVER);
	CHECK(get_id(c, "k5") == -1);
	CHECK(destroy_count[5] == 1);
	CHECK(get_id(c, "k6") == 6);
	CHECK(stats(c).entries == 1);
	cache_free(&c);
	CHECK(destroy_count[6] == 1);

	/* max_bytes 0 keeps nothing */
	c = new_cache(0, NULL);
	put_id(c, "a", 9, 0, CACHE_FOREVER);
	CHECK(get_id(c, "a") == -1);
	CHECK(destroy_count[9] == 1);
	cache_free(&c);
}

static void test_refs(void)
{
	size_t charge = 100 + 1 + entry_overhead();
	struct cache *c = new_cache(2 * charge, NULL);
	struct cache_val *r1 = NULL, *r2 = NULL;

	reset_counts();
	put_id(c, "a", 1, 100, CACHE_FOREVER);
	put_id(c, "b", 2, 100, CACHE_FOREVER);
	CHECK(cache_get(c, "a", &r1) == CACHE_HIT);
	CHECK(r1->refs == 2); /* the cache's and ours */
	CHECK(cache_get(c, "b", &r2) == CACHE_HIT);

	/* evicted while we read it: stays valid */
	put_id(c, "c", 3, 100, CACHE_FOREVER);
	put_id(c, "d", 4, 100, CACHE_FOREVER);
	CHECK(get_id(c, "a") == -1);
	CHECK(destroy_count[1] == 0);
	CHECK(tval_id(r1) == 1 && r1->refs == 1);
	cache_unref(&r1);
	CHECK(r1 == NULL);
	CHECK(destroy_count[1] == 1);

	/* invalidated while we read it: the same */
	CHECK(destroy_count[2] == 0);
	CHECK(tval_id(r2) == 2);
	cache_unref(&r2);
	CHECK(destroy_count[2] == 1);
	CHECK(cache_get(c, "d", &r1) == CACHE_HIT);
	cache_invalidate(c, "d");
	CHECK(destroy_count[4] == 0 && tval_id(r1) == 4);
	cache_unref(&r1);
	CHECK(destroy_count[4] == 1);

	/* freed with entries present, one of them still referenced */
	put_id(c, "e", 5, 10, CACHE_FOREVER);
	CHECK(cache_get(c, "e", &r1) == CACHE_HIT);
	cache_free(&c);
	CHECK(c == NULL);
	CHECK(destroy_count[3] == 1);
	CHECK(destroy_count[5] == 0 && tval_id(r1) == 5 && r1->refs == 1);
	cache_unref(&r1);
	CHECK(destroy_count[5] == 1);
	cache_free(&c); /* NULL is fine */
}

static void test_gen(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	struct cache_val *v = tval_new(1, 10), *got = NULL;
	uint64_t g0, g1, g2, gen;

	reset_counts();
	g0 = cache_gen(c);
	cache_invalidate(c, "a");
	g1 = cache_gen(c);
	CHECK(g1 != g0);
	CHECK(cache_put(c, "a", v, 10, g0) == 0); /* read before: dropped */
	CHECK(get_id(c, "a") == -1);
	CHECK(v->refs == 1);
	CHECK(cache_put_err(c, "a", ENOENT, 10, g0) == 0);
	CHECK(get_id(c, "a") == -1);
	CHECK(cache_put(c, "a", v, 10, g1) == 0);
	CHECK(get_id(c, "a") == 1);
	cache_unref(&v);
	/* an invalidation of another key drops nothing read before it */
	cache_invalidate(c, "unrelated");
	cache_invalidate_prefix(c, "b/");
	put_gen(c, "b", 2, g1);
	CHECK(get_id(c, "b") == 2);
	put_gen(c, "b/x", 3, g1); /* under the prefix: dropped */
	CHECK(get_id(c, "b/x") == -1);
	cache_invalidate(c, "b");

	cache_invalidate(c, "a");
	CHECK(get_id(c, "a") == -1);
	CHECK(destroy_count[1] == 1);
	CHECK(cache_gen(c) != g1);

	put_id(c, "d/r1/t1", 11, 10, 10);
	put_id(c, "d/r1/t2", 12, 10, 10);
	put_id(c, "d/r10/t1", 13, 10, 10);
	put_id(c, "d/r2/t1", 14, 10, 10);
	put_id(c, "e/x", 15, 10, 10);
	g2 = cache_gen(c);
	cache_invalidate_prefix(c, "d/r1/");
	CHECK(cache_gen(c) != g2);
	CHECK(get_id(c, "d/r1/t1") == -1 && get_id(c, "d/r1/t2") == -1);
	CHECK(destroy_count[11] == 1 && destroy_count[12] == 1);
	CHECK(get_id(c, "d/r10/t1") == 13);
	CHECK(get_id(c, "d/r2/t1") == 14);
	CHECK(get_id(c, "e/x") == 15);
	CHECK(stats(c).entries == 3);
	cache_invalidate_prefix(c, "");
	CHECK(stats(c).entries == 0 && stats(c).bytes == 0);
	CHECK(destroy_count[13] == 1 && destroy_count[14] == 1 &&
	      destroy_count[15] == 1);

	/* a fill whose key is invalidated in flight stores nothing */
	CHECK(cache_begin(c, "k", &got, &gen) == CACHE_MISS);
	CHECK(gen == cache_gen(c));
	cache_invalidate(c, "k");
	v = tval_new(16, 10);
	cache_end(c, "k", v, 0, 10, 0);
	cache_unref(&v);
	CHECK(destroy_count[16] == 1);
	CHECK(get_id(c, "k") == -1);

	/* past CACHE_INVAL_KEPT invalidations, every older put is dropped */
	g0 = cache_gen(c);
	for (int i = 0; i < CACHE_INVAL_KEPT; i++)
		cache_invalidate(c, "other");
	put_gen(c, "k", 17, g0);
	CHECK(get_id(c, "k") == 17);
	g0 = cache_gen(c) - CACHE_INVAL_KEPT;
	cache_invalidate(c, "other");
	put_gen(c, "k2", 18, g0);
	CHECK(get_id(c, "k2") == -1);
	cache_free(&c);
}

/* A listing "l/<dir>" holds what "o/<dir>/<name>" keys name. */
static bool listing_covers(const char *changed, bool prefix, const char *key)
{
	return !strcmp(key, changed) ||
	       (!strncmp(key, "l/", 2) && !strncmp(changed, "o/", 2) &&
		!strncmp(changed + 2, key + 2, strlen(key + 2)));
}

static void test_covers(void)
{
	struct cache_config cfg = {.max_bytes = 1 << 20,
				   .covers = listing_covers};
	struct cache *c = cache_new(&cfg);
	struct cache_val *v = NULL;
	uint64_t gen, g0;

	reset_counts();
	/* a fill of a listing goes stale when what it lists changes */
	CHECK(cache_begin(c, "l/d", &v, &gen) == CACHE_MISS);
	g0 = gen;
	cache_invalidate(c, "o/d/x");
	v = tval_new(20, 10);
	cache_end(c, "l/d", v, 0, 10, 0);
	cache_unref(&v);
	CHECK(get_id(c, "l/d") == -1);
	/* what it stores besides: o/d/x is dropped, o/d/y is kept */
	put_gen(c, "o/d/x", 21, g0);
	put_gen(c, "o/d/y", 22, g0);
	CHECK(get_id(c, "o/d/x") == -1 && get_id(c, "o/d/y") == 22);
	/* a fill elsewhere is not stale: it stores */
	CHECK(cache_begin(c, "l/e", &v, &gen) == CACHE_MISS);
	cache_invalidate(c, "o/d/y");
	v = tval_new(23, 10);
	cache_end(c, "l/e", v, 0, 10, 0);
	cache_unref(&v);
	CHECK(get_id(c, "l/e") == 23);
	cache_free(&c);
}

static void test_begin_end(void)
{
	struct fake_clock clk = {0};
	struct cache *c = new_cache(1 << 20, &clk);
	struct cache_val *v = NULL;
	uint64_t gen = 0;

	reset_counts();
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	CHECK(v == NULL && gen == cache_gen(c));
	v = tval_new(1, 10);
	cache_end(c, "k", v, 0, 10, 5);
	cache_unref(&v);
	CHECK(destroy_count[1] == 0);
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_HIT);
	CHECK(tval_id(v) == 1);
	cache_unref(&v);

	/* expired: a new fill; an error with err_ttl makes a negative entry */
	clk.t = 10;
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	cache_end(c, "k", NULL, ENOENT, 10, 5);
	CHECK(destroy_count[1] == 1);
	CHECK(cache_begin(c, "k", &v, &gen) == -ENOENT);
	clk.t = 15;
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	cache_end(c, "k", NULL, EIO, 10, 0); /* err_ttl 0: not stored */
	CHECK(get_id(c, "k") == -1);

	/* err wins over val; no val and no err is EIO */
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	v = tval_new(2, 10);
	cache_end(c, "k", v, EACCES, 10, 10);
	CHECK(get_id(c, "k") == -EACCES);
	cache_unref(&v);
	CHECK(destroy_count[2] == 1);
	cache_invalidate(c, "k");
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	cache_end(c, "k", NULL, 0, 10, 10);
	CHECK(get_id(c, "k") == -EIO);

	/* an end without a begin does nothing */
	v = tval_new(3, 10);
	cache_end(c, "other", v, 0, 10, 10);
	CHECK(get_id(c, "other") == -1);
	cache_unref(&v);
	CHECK(destroy_count[3] == 1);
	cache_free(&c);
}

static void test_stats(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	struct cache_val *v = NULL;
	struct cache_stats st;
	size_t o = entry_overhead();
	uint64_t gen;

	st = stats(c);
	CHECK(st.hits == 0 && st.misses == 0 && st.evictions == 0 &&
	      st.bytes == 0 && st.entries == 0);
	CHECK(get_id(c, "a") == -1);
	put_id(c, "a", 1, 40, 10);
	CHECK(get_id(c, "a") == 1);
	CHECK(cache_begin(c, "a", &v, &gen) == CACHE_HIT);
	cache_unref(&v);
	CHECK(cache_begin(c, "bb", &v, &gen) == CACHE_MISS);
	cache_end(c, "bb", NULL, ENOENT, 0, 10);
	CHECK(get_id(c, "bb") == -ENOENT);
	st = stats(c);
	CHECK(st.hits == 3);
	CHECK(st.misses == 2);
	CHECK(st.entries == 2);
	CHECK(st.bytes == (40 + 1 + o) + (2 + o));
	CHECK(st.evictions == 0);
	cache_free(&c);
}

/* Enough entries to grow the table several times. */
static void test_many(void)
{
	struct cache *c = new_cache(SIZE_MAX, NULL);
	char key[32];
	int i, hits = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "%s/%d", i % 2 ? "odd" : "even", i);
		put_id(c, key, i % MAX_IDS, 1, CACHE_FOREVER);
	}
	CHECK(stats(c).entries == 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "%s/%d", i % 2 ? "odd" : "even", i);
		hits += get_id(c, key) == i % MAX_IDS;
	}
	CHECK(hits == 5000);
	cache_invalidate_prefix(c, "odd/");
	CHECK(stats(c).entries == 2500);
	CHECK(get_id(c, "even/4998") == 4998 % MAX_IDS);
	CHECK(get_id(c, "odd/4999") == -1);
	cache_free(&c);
}

struct sf {
	struct cache *c;
	pthread_barrier_t barrier;
	int fail;    /* the error the filler ends with, 0: a value */
	size_t size; /* of the filler's value */
	double ttl;
	int fillers, got_val, got_err, other;
};

static void *sf_thread(void *arg)
{
	struct sf *s = arg;
	struct cache_val *v = NULL;
	uint64_t gen;
	int ret;

	pthread_barrier_wait(&s->barrier);
	ret = cache_begin(s->c, "key", &v, &gen);
	if (ret == CACHE_MISS) {
		__atomic_add_fetch(&s->fillers, 1, __ATOMIC_RELAXED);
		sleep_ms(200); /* the others arrive and wait */
		if (!s->fail)
			v = tval_new(42, s->size);
		cache_end(s->c, "key", v, s->fail, s->ttl, 0);
	} else if (ret == CACHE_HIT && tval_id(v) == 42) {
		__atomic_add_fetch(&s->got_val, 1, __ATOMIC_RELAXED);
	} else if (s->fail && ret == -s->fail) {
		__atomic_add_fetch(&s->got_err, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&s->other, 1, __ATOMIC_RELAXED);
	}
	cache_unref(&v);
	return NULL;
}

static void run_single_flight(struct sf *s, size_t max_bytes)
{
	pthread_t th[NTHREADS];
	int i;

	s->c = new_cache(max_bytes, NULL);
	pthread_barrier_init(&s->barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, sf_thread, s) == 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&s->barrier);
	CHECK(s->fillers == 1);
	CHECK(s->other == 0);
}

static void test_single_flight(void)
{
	struct cache_stats st;
	struct sf s;

	/* not stored (ttl 0): a caller that did not wait would fill again */
	reset_counts();
	s = (struct sf){.size = 10, .ttl = 0};
	run_single_flight(&s, 1 << 20);
	CHECK(s.got_val == NTHREADS - 1);
	CHECK(destroy_count[42] == 1);
	st = stats(s.c);
	CHECK(st.misses == 1 && st.hits == NTHREADS - 1 && st.entries == 0);
	CHECK(get_id(s.c, "key") == -1);
	cache_free(&s.c);

	/* the filler's error goes to every waiter */
	s = (struct sf){.fail = EIO, .ttl = 10};
	run_single_flight(&s, 1 << 20);
	CHECK(s.got_err == NTHREADS - 1);
	CHECK(get_id(s.c, "key") == -1);
	cache_free(&s.c);

	/* too large to keep, yet handed to the waiters */
	reset_counts();
	s = (struct sf){.size = 1000, .ttl = 10};
	run_single_flight(&s, 500);
	CHECK(s.got_val == NTHREADS - 1);
	CHECK(destroy_count[42] == 1);
	st = stats(s.c);
	CHECK(st.evictions == 1 && st.entries == 0);
	cache_free(&s.c);

	/* stored */
	reset_counts();
	s = (struct sf){.size = 10, .ttl = 10};
	run_single_flight(&s, 1 << 20);
	CHECK(s.got_val == NTHREADS - 1);
	CHECK(get_id(s.c, "key") == 42);
	CHECK(destroy_count[42] == 0);
	cache_free(&s.c);
	CHECK(destroy_count[42] == 1);
}

struct stale {
	struct cache *c;
	int ret, id;
	bool returned;
	uint64_t gen;
};

/* Joins the fill of "k"; a filler ends with id 2. */
static void *stale_thread(void *arg)
{
	struct stale *s = arg;
	struct cache_val *v = NULL;

	s->ret = cache_begin(s->c, "k", &v, &s->gen);
	__atomic_store_n(&s->returned, true, __ATOMIC_RELEASE);
	if (s->ret == CACHE_MISS) {
		v = tval_new(2, 10);
		cache_end(s->c, "k", v, 0, 10, 0);
	}
	s->id = tval_id(v);
	cache_unref(&v);
	return NULL;
}

/*
 * Callers that joined a fill before its key was invalidated get its
 * result; callers arriving after the invalidation wait for it to end, then
 * fill again: they must see what the write did.
 */
static void test_stale_fill(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	struct stale before = {.c = c}, after = {.c = c};
	struct cache_val *v = NULL;
	pthread_t tb, ta;
	uint64_t gen;

	reset_counts();
	CHECK(cache_begin(c, "k", &v, &gen) == CACHE_MISS);
	CHECK(pthread_create(&tb, NULL, stale_thread, &before) == 0);
	sleep_ms(200);
	cache_invalidate(c, "k");
	CHECK(pthread_create(&ta, NULL, stale_thread, &after) == 0);
	sleep_ms(200);
	CHECK(!__atomic_load_n(&before.returned, __ATOMIC_ACQUIRE));
	CHECK(!__atomic_load_n(&after.returned, __ATOMIC_ACQUIRE));
	v = tval_new(1, 10);
	cache_end(c, "k", v, 0, 10, 0);
	cache_unref(&v);
	pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	CHECK(before.ret == CACHE_HIT && before.id == 1);
	CHECK(after.ret == CACHE_MISS && after.gen == cache_gen(c));
	CHECK(get_id(c, "k") == 2);
	CHECK(destroy_count[1] == 1);
	cache_free(&c);
	CHECK(destroy_count[2] == 1);
}

#define STRESS_KEYS 16

struct stress {
	struct cache *c;
	unsigned seed;
	int bad;
};

/* Random operations on a few keys; each value's id is its key's number. */
static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	struct cache_val *v;
	char key[16];
	uint64_t gen;
	int i, k, ret;

	for (i = 0; i < 20000; i++) {
		k = rand_r(&s->seed) % STRESS_KEYS;
		snprintf(key, sizeof(key), "%c/%d", 'a' + k % 2, k);
		v = NULL;
		switch (rand_r(&s->seed) % 8) {
		case 0:
		case 1:
			ret = cache_get(s->c, key, &v);
			if (ret == CACHE_HIT && tval_id(v) != k)
				s->bad++;
			break;
		case 2:
			v = tval_new(k, rand_r(&s->seed) % 200);
			cache_put(s->c, key, v, 0.001 * (rand_r(&s->seed) % 5),
				  cache_gen(s->c));
			break;
		case 3:
			cache_put_err(s->c, key, ENOENT, 0.01, cache_gen(s->c));
			break;
		case 4:
		case 5:
			ret = cache_begin(s->c, key, &v, &gen);
			if (ret == CACHE_HIT && tval_id(v) != k)
				s->bad++;
			if (ret != CACHE_MISS)
				break;
			if (rand_r(&s->seed) % 4) {
				v = tval_new(k, rand_r(&s->seed) % 200);
				cache_end(s->c, key, v, 0, 0.002, 0);
			} else {
				cache_end(s->c, key, NULL, EIO, 0, 0.001);
			}
			break;
		case 6:
			cache_invalidate(s->c, key);
			break;
		default:
			if (rand_r(&s->seed) % 16 == 0)
				cache_invalidate_prefix(s->c,
							k % 2 ? "a/" : "");
			break;
		}
		cache_unref(&v);
	}
	return NULL;
}

static void test_stress(void)
{
	struct stress s[8];
	pthread_t th[8];
	struct cache *c = new_cache(2000, NULL);
	int i, bad = 0;

	created = destroyed = 0;
	for (i = 0; i < 8; i++) {
		s[i] = (struct stress){.c = c, .seed = 1234u + i};
		CHECK(pthread_create(&th[i], NULL, stress_thread, &s[i]) == 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		bad += s[i].bad;
	}
	CHECK(bad == 0);
	CHECK(stats(c).bytes <= 2000);
	cache_free(&c);
	CHECK(created > 0 && destroyed == created);
}

/* cache_evict_disk drops the least recently used value kept on disk only. */
static void test_evict_disk(void)
{
	struct cache *c = new_cache(1 << 20, NULL);
	struct cache_val *v;
	struct cache_stats st;

	reset_counts();
	for (int id = 0; id < 4; id++) {
		char key[2] = {(char)('a' + id), 0};

		v = tval_new(id, 100);
		v->disk = id % 2 ? 5000 : 0; /* b and d on disk */
		CHECK(cache_put(c, key, v, CACHE_FOREVER, cache_gen(c)) == 0);
		cache_unref(&v);
	}
	/* b is now the most recent */
	CHECK(cache_get(c, "b", &v) == CACHE_HIT);
	cache_unref(&v);
	CHECK(cache_evict_disk(c) == 0); /* d: the older of b and d */
	CHECK(destroy_count[3] == 1 && destroy_count[1] == 0);
	CHECK(cache_evict_disk(c) == 0);
	CHECK(destroy_count[1] == 1);
	CHECK(cache_evict_disk(c) == -ENOENT); /* a and c stay */
	CHECK(destroy_count[0] == 0 && destroy_count[2] == 0);
	cache_get_stats(c, &st);
	CHECK(st.entries == 2 && st.evictions == 2);
	cache_free(&c);
}

int main(void)
{
	test_blob();
	test_expiry();
	test_negative();
	test_replace();
	test_lru();
	test_refs();
	test_gen();
	test_covers();
	test_begin_end();
	test_stats();
	test_many();
	test_single_flight();
	test_stale_fill();
	test_stress();
	test_evict_disk();
	return CHECK_DONE();
}
