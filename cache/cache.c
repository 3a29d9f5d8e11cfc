/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TTL cache of cache.h.
 *
 * Entries sit in a chained hash table (FNV-1a, a power of two of buckets,
 * doubled once there are more entries than buckets) and on an LRU list,
 * most recently used first. Each is charged its value's size, its key and a
 * fixed overhead against max_bytes. A fill in flight has a record on a short
 * list (one per key, as many as threads are fetching): later callers of
 * cache_begin wait on the condition variable until the filler hands over
 * its result, and the last of them frees the record.
 *
 * An invalidation bumps the write generation and is remembered in a ring
 * of the last CACHE_INVAL_KEPT, so a fill or put that read the generation
 * before it stores nothing if the invalidation covers its key (others
 * store: a note saved elsewhere does not cost a log fetch in flight).
 * It also marks the fills in
 * flight for the keys it covers as stale: callers arriving after it do not
 * take a stale fill's result (it may predate a write they must see) but
 * wait for that fill to end, then fetch afresh.
 *
 * Lock: c->lock protects struct cache, its entries and its fill records;
 * only values' refs are changed without it. No value is destroyed under the
 * lock: entries that leave the table are chained on a drop list, released
 * after unlocking.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "fnv.h"

#define MIN_BUCKETS 64
/* Charged per entry besides its key and value: the record and its bucket. */
#define ENTRY_OVERHEAD (sizeof(struct entry) + sizeof(struct entry *))

struct lru {
	struct lru *prev, *next;
};

struct entry {
	struct entry *hnext; /* bucket chain; the drop list once removed */
	struct lru lru;
	uint64_t hash;
	struct cache_val *val; /* one reference; NULL: a negative entry */
	int err;	       /* > 0 in a negative entry */
	double expires;	       /* INFINITY: never */
	size_t charge;
	size_t keylen;
	char key[];
};

struct fill {
	struct fill *next;
	uint64_t gen;	       /* read by the filler's cache_begin */
	struct cache_val *val; /* the result, one reference while waited for */
	int err;
	unsigned waiters;
	bool done;  /* then off the in-flight list, freed by the last waiter */
	bool stale; /* key invalidated during the fill */
	char key[];
};

struct cache {
	struct cache_config cfg;
	pthread_mutex_t lock;
	pthread_cond_t filled; /* broadcast whenever a fill is done */
	/* protected by lock: */
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	struct lru lru;	 /* lru.next is the most recently used */
	struct fill *fills;
	uint64_t gen;
	struct inval {	   /* invalidation number gen, at [gen % KEPT] */
		char *key; /* NULL: unknown (no memory), covers all */
		bool prefix;
	} inval[CACHE_INVAL_KEPT];
	struct cache_stats st;
};

static struct entry *lru_entry(struct lru *l)
{
	return (struct entry *)((char *)l - offsetof(struct entry, lru));
}

static void lru_del(struct lru *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void lru_add(struct lru *head, struct lru *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

static uint64_t hash_key(const char *key, size_t len)
{
	return fnv1a(key, len, FNV1A_BASIS);
}

static double now(const struct cache *c)
{
	struct timespec ts;

	if (c->cfg.now)
		return c->cfg.now(c->cfg.clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool covers(const char *changed, bool prefix, const char *key)
{
	return prefix ? strncmp(key, changed, strlen(changed)) == 0
		      : strcmp(key, changed) == 0;
}

/* Bumps the generation and remembers what it invalidated. */
static void remember(struct cache *c, const char *key, bool prefix)
{
	struct inval *iv = &c->inval[++c->gen % CACHE_INVAL_KEPT];

	free(iv->key);
	iv->key = strdup(key);
	iv->prefix = prefix;
}

/* Whether an invalidation after gen covers key. */
static bool stale_since(const struct cache *c, const char *key, uint64_t gen)
{
	if (c->gen - gen > CACHE_INVAL_KEPT)
		return true;
	for (uint64_t g = gen + 1; g <= c->gen; g++) {
		const struct inval *iv = &c->inval[g % CACHE_INVAL_KEPT];

		if (!iv->key || c->cfg.covers(iv->key, iv->prefix, key))
			return true;
	}
	return false;
}

/*
 * An invalidation: the fills in flight that it covers go stale, and it is
 * remembered for puts with an older generation.
 */
static void mark_fills(struct cache *c, const char *changed, bool prefix)
{
	for (struct fill *f = c->fills; f; f = f->next)
		if (c->cfg.covers(changed, prefix, f->key))
			f->stale = true;
	remember(c, changed, prefix);
}

static bool storable(double ttl)
{
	return ttl == CACHE_FOREVER || ttl > 0;
}

static void push(struct entry **drop, struct entry *e)
{
	if (e) {
		e->hnext = *drop;
		*drop = e;
	}
}

/* Releases entries off the table; never with the lock held. */
static void drop_entries(struct entry *e)
{
	struct entry *next;

	for (; e; e = next) {
		next = e->hnext;
		cache_unref(&e->val);
		free(e);
	}
}

/* Takes a reference to val (NULL for a negative entry). */
static struct entry *entry_new(const char *key, size_t len, uint64_t hash,
			       struct cache_val *val, int err)
{
	size_t size = val ? val->size : 0;
	struct entry *e;

	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, len + 1);
	e->keylen = len;
	e->hash = hash;
	e->hnext = NULL;
	e->val = val;
	e->err = err;
	e->expires = 0;
	if (size > SIZE_MAX - len - ENTRY_OVERHEAD)
		e->charge = SIZE_MAX;
	else
		e->charge = size + len + ENTRY_OVERHEAD;
	if (val)
		cache_ref(val);
	return e;
}

/* The slot that holds key's entry, or the NULL that ends its chain. */
static struct entry **find_slot(struct cache *c, const char *key, size_t len,
				uint64_t hash)
{
	struct entry **p = &c->buckets[hash & (c->nbuckets - 1)];

	for (; *p; p = &(*p)->hnext) {
		if ((*p)->hash == hash && (*p)->keylen == len &&
		    memcmp((*p)->key, key, len) == 0)
			break;
	}
	return p;
}

static void unlink_entry(struct cache *c, struct entry **slot,
			 struct entry **drop)
{
	struct entry *e = *slot;

	*slot = e->hnext;
	lru_del(&e->lru);
	c->st.bytes -= e->charge;
	c->st.entries--;
	push(drop, e);
}

/* On allocation failure the table keeps its size: longer chains, no harm. */
static void grow(struct cache *c)
{
	size_t n = c->nbuckets * 2, i;
	struct entry **b, *e, *next;

	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

/* A fresh entry for key, made the most recent; an expired one is dropped. */
static struct entry *lookup(struct cache *c, const char *key, size_t len,
			    uint64_t hash, struct entry **drop)
{
	struct entry **slot = find_slot(c, key, len, hash);
	struct entry *e = *slot;

	if (!e)
		return NULL;
	if (now(c) >= e->expires) {
		unlink_entry(c, slot, drop);
		return NULL;
	}
	lru_del(&e->lru);
	lru_add(&c->lru, &e->lru);
	return e;
}

static int entry_result(struct entry *e, struct cache_val **val)
{
	if (!e->val)
		return -e->err;
	cache_ref(e->val);
	*val = e->val;
	return CACHE_HIT;
}

/*
 * Puts e in place of whatever key holds (e NULL: removes it). An entry
 * larger than the whole bound is not kept; otherwise the least recently
 * used entries go until the total fits again, which never reaches e.
 */
static void store(struct cache *c, const char *key, size_t len, uint64_t hash,
		  struct entry *e, double ttl, struct entry **drop)
{
	struct entry **slot = find_slot(c, key, len, hash);

	if (*slot)
		unlink_entry(c, slot, drop);
	if (!e)
		return;
	if (e->charge > c->cfg.max_bytes) {
		c->st.evictions++;
		push(drop, e);
		return;
	}
	e->expires = ttl == CACHE_FOREVER ? INFINITY : now(c) + ttl;
	slot = &c->buckets[hash & (c->nbuckets - 1)];
	e->hnext = *slot;
	*slot = e;
	lru_add(&c->lru, &e->lru);
	c->st.bytes += e->charge;
	c->st.entries++;
	while (c->st.bytes > c->cfg.max_bytes) {
		struct entry *old = lru_entry(c->lru.prev);

		unlink_entry(c, find_slot(c, old->key, old->keylen, old->hash),
			     drop);
		c->st.evictions++;
	}
	if (c->st.entries > c->nbuckets)
		grow(c);
}

static struct fill **find_fill(struct cache *c, const char *key)
{
	struct fill **p;

	for (p = &c->fills; *p; p = &(*p)->next) {
		if (strcmp((*p)->key, key) == 0)
			break;
	}
	return p;
}

struct cache *cache_new(const struct cache_config *cfg)
{
	struct cache *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (!c->cfg.covers)
		c->cfg.covers = covers;
	c->nbuckets = MIN_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets)
		goto err;
	if (pthread_mutex_init(&c->lock, NULL))
		goto err_buckets;
	if (pthread_cond_init(&c->filled, NULL))
		goto err_lock;
	c->lru.prev = c->lru.next = &c->lru;
	return c;

err_lock:
	pthread_mutex_destroy(&c->lock);
err_buckets:
	free(c->buckets);
err:
	free(c);
	return NULL;
}

void cache_free(struct cache **cp)
{
	struct cache *c = *cp;
	struct entry *drop = NULL, *e, *next;
	struct fill *f;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->hnext;
			push(&drop, e);
		}
	}
	/* Unfinished fills hold no value; done ones are their waiters'. */
	while ((f = c->fills)) {
		c->fills = f->next;
		free(f);
	}
	for (i = 0; i < CACHE_INVAL_KEPT; i++)
		free(c->inval[i].key);
	free(c->buckets);
	pthread_cond_destroy(&c->filled);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
	drop_entries(drop);
}

static void blob_destroy(struct cache_val *v)
{
	free(v);
}

struct cache_blob *cache_blob_new(const void *data, size_t len)
{
	struct cache_blob *b;

	if (len > SIZE_MAX - sizeof(*b) - 1)
		return NULL;
	b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->hdr.refs = 1;
	b->hdr.size = sizeof(*b) + len + 1;
	b->hdr.disk = 0;
	b->hdr.destroy = blob_destroy;
	b->len = len;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

void cache_ref(struct cache_val *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
}

void cache_unref(struct cache_val **vp)
{
	struct cache_val *v = vp ? *vp : NULL;

	if (!v)
		return;
	*vp = NULL;
	if (__atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0 &&
	    v->destroy)
		v->destroy(v);
}

uint64_t cache_gen(struct cache *c)
{
	uint64_t gen;

	pthread_mutex_lock(&c->lock);
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	return gen;
}

int cache_get(struct cache *c, const char *key, struct cache_val **val)
{
	size_t len = strlen(key);
	uint64_t hash = hash_key(key, len);
	struct entry *drop = NULL, *e;
	int ret = CACHE_MISS;

	*val = NULL;
	pthread_mutex_lock(&c->lock);
	e = lookup(c, key, len, hash, &drop);
	if (e) {
		c->st.hits++;
		ret = entry_result(e, val);
	} else {
		c->st.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
	return ret;
}

static int put(struct cache *c, const char *key, struct cache_val *val, int err,
	       double ttl, uint64_t gen)
{
	size_t len = strlen(key);
	uint64_t hash = hash_key(key, len);
	struct entry *drop = NULL, *e = NULL;

	if (storable(ttl)) {
		e = entry_new(key, len, hash, val, err);
		if (!e)
			return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if (!stale_since(c, key, gen))
		store(c, key, len, hash, e, ttl, &drop);
	else
		push(&drop, e);
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
	return 0;
}

int cache_put(struct cache *c, const char *key, struct cache_val *val,
	      double ttl, uint64_t gen)
{
	if (!val)
		return -EINVAL;
	return put(c, key, val, 0, ttl, gen);
}

int cache_put_err(struct cache *c, const char *key, int err, double ttl,
		  uint64_t gen)
{
	if (err <= 0)
		return -EINVAL;
	return put(c, key, NULL, err, ttl, gen);
}

int cache_begin(struct cache *c, const char *key, struct cache_val **val,
		uint64_t *gen)
{
	size_t len = strlen(key);
	uint64_t hash = hash_key(key, len);
	struct entry *drop = NULL, *e;
	struct cache_val *old;
	struct fill *f;
	bool stale;
	int ret;

	*val = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		e = lookup(c, key, len, hash, &drop);
		if (e) {
			c->st.hits++;
			ret = entry_result(e, val);
			break;
		}
		f = *find_fill(c, key);
		if (!f) {
			f = calloc(1, sizeof(*f) + len + 1);
			if (!f) {
				ret = -ENOMEM;
				break;
			}
			memcpy(f->key, key, len + 1);
			f->gen = c->gen;
			f->next = c->fills;
			c->fills = f;
			*gen = f->gen;
			c->st.misses++;
			ret = CACHE_MISS;
			break;
		}
		stale = f->stale;
		f->waiters++;
		while (!f->done)
			pthread_cond_wait(&c->filled, &c->lock);
		f->waiters--;
		if (!stale) {
			c->st.hits++;
			ret = f->val ? CACHE_HIT : -f->err;
			*val = f->val;
			if (!f->waiters)
				free(f); /* its reference passes to us */
			else if (*val)
				cache_ref(*val);
			break;
		}
		if (f->waiters)
			continue;
		old = f->val;
		free(f);
		if (old) {
			pthread_mutex_unlock(&c->lock);
			cache_unref(&old);
			pthread_mutex_lock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
	return ret;
}

void cache_end(struct cache *c, const char *key, struct cache_val *val, int err,
	       double ttl, double err_ttl)
{
	size_t len = strlen(key);
	uint64_t hash = hash_key(key, len);
	struct entry *drop = NULL, *e = NULL;
	struct fill **p, *f;

	if (err > 0)
		val = NULL;
	else if (val)
		err = 0;
	else
		err = EIO;
	if (!val)
		ttl = err_ttl > 0 ? err_ttl : 0;
	/* Without memory for the entry the store still removes an older one. */
	if (storable(ttl))
		e = entry_new(key, len, hash, val, err);

	pthread_mutex_lock(&c->lock);
	p = find_fill(c, key);
	f = *p;
	if (f) {
		*p = f->next;
		if (!f->stale) {
			store(c, key, len, hash, e, ttl, &drop);
			e = NULL;
		}
		f->done = true;
		f->err = err;
		if (f->waiters) {
			f->val = val;
			if (val)
				cache_ref(val);
			pthread_cond_broadcast(&c->filled);
		} else {
			free(f);
		}
	}
	pthread_mutex_unlock(&c->lock);
	push(&drop, e);
	drop_entries(drop);
}

void cache_invalidate(struct cache *c, const char *key)
{
	size_t len = strlen(key);
	uint64_t hash = hash_key(key, len);
	struct entry *drop = NULL, **slot;

	pthread_mutex_lock(&c->lock);
	slot = find_slot(c, key, len, hash);
	if (*slot)
		unlink_entry(c, slot, &drop);
	mark_fills(c, key, false);
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
}

int cache_evict_disk(struct cache *c)
{
	struct entry *drop = NULL;
	struct lru *l;

	pthread_mutex_lock(&c->lock);
	for (l = c->lru.prev; l != &c->lru; l = l->prev) {
		struct entry *e = lru_entry(l);

		if (e->val && e->val->disk > 0) {
			unlink_entry(c,
				     find_slot(c, e->key, e->keylen, e->hash),
				     &drop);
			c->st.evictions++;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
	return drop ? 0 : -ENOENT;
}

void cache_invalidate_prefix(struct cache *c, const char *prefix)
{
	size_t len = strlen(prefix), i;
	struct entry *drop = NULL, **p;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nbuckets; i++) {
		p = &c->buckets[i];
		while (*p) {
			if ((*p)->keylen >= len &&
			    memcmp((*p)->key, prefix, len) == 0)
				unlink_entry(c, p, &drop);
			else
				p = &(*p)->hnext;
		}
	}
	mark_fills(c, prefix, true);
	pthread_mutex_unlock(&c->lock);
	drop_entries(drop);
}

void cache_get_stats(struct cache *c, struct cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
