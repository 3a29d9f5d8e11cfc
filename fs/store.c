// SPDX-License-Identifier: Apache-2.0
/*
 * Cache-backed access to Airflow objects; see store.h. Keys are the kind
 * of object and its ids joined by 0x1f (US), a byte Airflow ids never hold.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "clock.h"
#include "log.h"
#include "store.h"

struct store {
	struct store_config cfg;
	struct store_client client;
	struct airflow *af;
	struct cache *cache;
	struct logdisk *disk; /* large logs' unlinked files and their bound */
	uint64_t ra_used, ra_wasted; /* store_stats */
};

static double now(const struct store *s)
{
	return s->cfg.now ? s->cfg.now(s->cfg.clock_arg) : mono_s();
}

static int reclaim_disk(void *arg);

struct store *store_new(const struct store_config *cfg,
			const struct store_client *client, struct airflow *af)
{
	struct store *s = calloc(1, sizeof(*s));
	struct cache_config cc = {.max_bytes = cfg->cache_bytes,
				  .now = cfg->now,
				  .clock_arg = cfg->clock_arg,
				  .covers = store_covers};

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->client = *client;
	s->af = af;
	s->cache = cache_new(&cc);
	s->disk = logdisk_new(cfg->log_dirfd, cfg->disk_bytes,
			      (size_t)cfg->disk_files, reclaim_disk, s);
	if (!s->cache || !s->disk)
		store_free(&s);
	return s;
}

void store_free(struct store **sp)
{
	struct store *s = *sp;

	if (!s)
		return;
	cache_free(&s->cache);
	logdisk_free(&s->disk); /* after the cache: its logs are gone */
	free(s);
	*sp = NULL;
}

void store_drop_all(struct store *s)
{
	cache_invalidate_prefix(s->cache, "");
}

#define KEY_MAX STORE_KEY_MAX
#define END	STORE_KEY_END
#define SEP	"\x1f"

int store_key(char *buf, const char *first, ...)
{
	size_t len = strlen(first);
	const char *id;
	va_list ap;
	int err = 0;

	/* an id holding the separator would forge another key: refused
	 * first, whatever the length */
	if (strchr(first, SEP[0]))
		return -ENOENT;
	va_start(ap, first);
	while ((id = va_arg(ap, const char *)))
		if (strchr(id, SEP[0]))
			err = -ENOENT;
	va_end(ap);
	if (err)
		return err;
	if (len >= KEY_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, first, len + 1);
	va_start(ap, first);
	while (!err && (id = va_arg(ap, const char *))) {
		size_t n = strlen(id);

		if (len + 1 + n >= KEY_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		buf[len++] = SEP[0];
		memcpy(buf + len, id, n + 1);
		len += n;
	}
	va_end(ap);
	return err;
}

/* The ids of a key: past a "seen" copy's prefix and the kind. */
static const char *key_ids(const char *key)
{
	const char *sep;

	if (!strncmp(key, "seen" SEP, 5))
		key += 5;
	sep = strchr(key, SEP[0]);
	return sep ? sep + 1 : key + strlen(key);
}

bool store_covers(const char *changed, bool prefix, const char *key)
{
	const char *c = key_ids(changed), *k = key_ids(key);
	size_t n = strlen(k);

	if (prefix ? !strncmp(key, changed, strlen(changed))
		   : !strcmp(key, changed))
		return true;
	if (!strncmp(key, "bystate" SEP, 8)) /* spans every DAG */
		return true;
	/* a listing that holds what changed: its ids begin changed's */
	return !strncmp(c, k, n) && (n == 0 || !c[n] || c[n] == SEP[0]);
}

/* What readahead fetches is marked until a reader takes it. */
static void ra_fetched(struct store *s, struct ra_mark *m,
		       const struct call *call)
{
	if (call->flags & CALL_PREFETCH) {
		m->s = s;
		m->unread = 1;
	}
}

/* A reader has a value: the first one to take a marked value counts it. */
static void ra_take(struct ra_mark *m, const struct call *call)
{
	if (!(call->flags & CALL_PREFETCH) && m->s &&
	    __atomic_exchange_n(&m->unread, 0, __ATOMIC_ACQ_REL))
		__atomic_add_fetch(&m->s->ra_used, 1, __ATOMIC_RELAXED);
}

/* A value leaves for good: unread, readahead fetched it for nothing. */
static void ra_drop(struct ra_mark *m)
{
	if (m->s && m->unread)
		__atomic_add_fetch(&m->s->ra_wasted, 1, __ATOMIC_RELAXED);
}

void store_get_stats(struct store *s, struct store_stats *st)
{
	cache_get_stats(s->cache, &st->cache);
	logdisk_stats(s->disk, &st->disk_bytes, &st->disk_files);
	st->ra_used = __atomic_load_n(&s->ra_used, __ATOMIC_RELAXED);
	st->ra_wasted = __atomic_load_n(&s->ra_wasted, __ATOMIC_RELAXED);
}

static void *val_new(size_t sz, void (*destroy)(struct cache_val *))
{
	struct cache_val *v = calloc(1, sz);

	if (v) {
		v->refs = 1;
		v->size = sz;
		v->destroy = destroy;
	}
	return v;
}

void store_put(void *val)
{
	struct cache_val *v = val;

	cache_unref(&v);
}

static void dags_destroy(struct cache_val *v)
{
	struct s_dags *d = (struct s_dags *)v;

	af_names_clear(&d->names);
	free(d);
}

static void runs_destroy(struct cache_val *v)
{
	struct s_runs *r = (struct s_runs *)v;

	af_runs_free(&r->runs, r->n);
	free(r);
}

static void run_destroy(struct cache_val *v)
{
	struct s_run *r = (struct s_run *)v;

	af_run_clear(&r->run);
	free(r);
}

static void ti_destroy(struct cache_val *v)
{
	struct s_ti *t = (struct s_ti *)v;

	af_ti_clear(&t->ti);
	free(t);
}

static void tis_destroy(struct cache_val *v)
{
	struct s_tis *t = (struct s_tis *)v;

	for (size_t i = 0; i < t->n; i++)
		store_put(t->v[i]);
	free(t->v);
	free(t);
}

static void plain_destroy(struct cache_val *v)
{
	free(v);
}

/* Remembers that an object exists, for a listing's lifetime. */
static void put_marker(struct store *s, uint64_t gen, const char *kind,
		       const char *dag, const char *run, double ttl)
{
	struct cache_val *v = val_new(sizeof(*v), plain_destroy);
	char key[KEY_MAX];

	if (v && !store_key(key, kind, dag, run, END))
		cache_put(s->cache, key, v, ttl, gen);
	cache_unref(&v);
}

/*
 * A fetch: fills *val (one reference, handed to the caller) and may change
 * *ttl; it may store more entries with the gen it is given.
 */
typedef int (*fetch_fn)(struct store *s, const struct call *call, void *arg,
			uint64_t gen, struct cache_val **val, double *ttl);

/*
 * The single-flight fill: answers from the cache, or fetches once for all
 * concurrent callers. "Not found" is remembered for ttl as well.
 */
static int cached(struct store *s, const struct call *call, const char *key,
		  fetch_fn fn, void *arg, struct cache_val **out)
{
	struct cache_val *v = NULL;
	double ttl = s->cfg.ttl;
	uint64_t gen;
	int r;

	r = cache_begin(s->cache, key, out, &gen);
	if (r == CACHE_HIT)
		return 0;
	if (r < 0)
		return r;
	r = fn(s, call, arg, gen, &v, &ttl);
	cache_end(s->cache, key, r ? NULL : v, -r, ttl,
		  r == -ENOENT ? s->cfg.ttl : 0);
	*out = r ? NULL : v;
	return r;
}

/*
 * What a path walk saw is kept a second time without expiry (within
 * cache_size), under "seen" and its key: when the server cannot be
 * reached, the names on the path to a final log stay (SPEC.md "Errors").
 */
#define NET_FAIL_S 1.0 /* how long fetch_task's failure stands for the ti */

static int unreachable(int err)
{
	return err == -EIO || err == -ETIMEDOUT;
}

static int seen_key(char *seen, const char *key)
{
	int n = snprintf(seen, KEY_MAX, "seen%s%s", SEP, key);

	return n < 0 || n >= KEY_MAX ? -ENAMETOOLONG : 0;
}

static void keep_seen(struct store *s, const char *key, struct cache_val *v)
{
	struct cache_val *old = NULL;
	char seen[KEY_MAX];

	if (seen_key(seen, key))
		return;
	if (cache_get(s->cache, seen, &old) != CACHE_HIT || old != v)
		cache_put(s->cache, seen, v, CACHE_FOREVER,
			  cache_gen(s->cache));
	cache_unref(&old);
}

/* err, or 0 with *out the value last kept for key when err says that the
 * server could not be reached. */
static int or_seen(struct store *s, const char *key, int err,
		   struct cache_val **out)
{
	char seen[KEY_MAX];

	if (!unreachable(err) || seen_key(seen, key) ||
	    cache_get(s->cache, seen, out) != CACHE_HIT) {
		*out = NULL;
		return err;
	}
	return 0;
}

struct ids {
	const char *dag, *run, *task;
	int map_index;
	const struct af_ti *ti;
	int try_number;
};

/* What the cache holds under key (a value, not an absence); -ENOENT. */
static int peek(struct store *s, const char *key, struct cache_val **out)
{
	if (cache_get(s->cache, key, out) == CACHE_HIT)
		return 0;
	cache_unref(out);
	return -ENOENT;
}

static int fetch_dags(struct store *s, const struct call *call, void *arg,
		      uint64_t gen, struct cache_val **val, double *ttl)
{
	struct s_dags *d = val_new(sizeof(*d), dags_destroy);
	int err;

	if (!d)
		return -ENOMEM;
	err = s->client.dags(s->af, call, &d->names);
	if (err) {
		free(d);
		return err;
	}
	for (size_t i = 0; i < d->names.n; i++) {
		put_marker(s, gen, "dag", d->names.v[i], NULL, s->cfg.ttl);
		d->hdr.size += strlen(d->names.v[i]) + sizeof(char *);
	}
	*val = &d->hdr;
	return 0;
}

int store_dags(struct store *s, const struct call *call, struct s_dags **out)
{
	return cached(s, call, "dags", fetch_dags, NULL,
		      (struct cache_val **)out);
}

static int fetch_dag(struct store *s, const struct call *call, void *arg,
		     uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	int err = s->client.dag(s->af, call, id->dag);

	if (err)
		return err;
	*val = val_new(sizeof(**val), plain_destroy);
	return *val ? 0 : -ENOMEM;
}

int store_dag(struct store *s, const struct call *call, const char *dag)
{
	struct ids id = {.dag = dag};
	struct cache_val *v;
	char key[KEY_MAX];
	int err = store_key(key, "dag", dag, END);

	if (!err)
		err = cached(s, call, key, fetch_dag, &id, &v);
	if (!err)
		cache_unref(&v);
	return err;
}

static enum known known(struct store *s, const char *key)
{
	struct cache_val *v;
	int r = cache_get(s->cache, key, &v);

	cache_unref(&v);
	return r == CACHE_HIT ? KNOWN : r == -ENOENT ? KNOWN_NOT : UNKNOWN;
}

enum known store_dag_known(struct store *s, const char *dag)
{
	char key[KEY_MAX];

	return store_key(key, "dag", dag, END) ? UNKNOWN : known(s, key);
}

enum known store_run_known(struct store *s, const char *dag, const char *run)
{
	char key[KEY_MAX];

	return store_key(key, "run", dag, run, END) ? UNKNOWN : known(s, key);
}

static struct s_run *run_val(struct af_run *r)
{
	struct s_run *v = val_new(sizeof(*v), run_destroy);

	if (v) {
		v->run = *r;
		v->hdr.size += strlen(r->run_id) + r->info_len + r->conf_len +
			       (r->state ? strlen(r->state) : 0) +
			       (r->note ? strlen(r->note) : 0);
	} else {
		af_run_clear(r);
	}
	return v;
}

static int fetch_runs(struct store *s, const struct call *call, void *arg,
		      uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct s_runs *rs = val_new(sizeof(*rs), runs_destroy);
	char key[KEY_MAX];
	int err;

	if (!rs)
		return -ENOMEM;
	err = s->client.runs(s->af, call, id->dag, s->cfg.max_runs, &rs->runs,
			     &rs->n);
	if (err) {
		free(rs);
		return err;
	}
	if (rs->n > 0) /* a DAG with runs exists */
		put_marker(s, gen, "dag", id->dag, NULL, s->cfg.ttl);
	for (size_t i = 0; i < rs->n; i++) {
		struct af_run copy = rs->runs[i];
		struct s_run *r;

		/* the record takes what the listing does not need */
		rs->runs[i].state = rs->runs[i].note = NULL;
		rs->runs[i].conf = rs->runs[i].info = NULL;
		rs->runs[i].conf_len = rs->runs[i].info_len = 0;
		copy.run_id = strdup(copy.run_id);
		if (!copy.run_id)
			af_run_clear(&copy);
		r = copy.run_id ? run_val(&copy) : NULL;
		if (r && !store_key(key, "run", id->dag, copy.run_id, END))
			cache_put(s->cache, key, &r->hdr, s->cfg.ttl, gen);
		store_put(r);
		rs->hdr.size +=
			sizeof(rs->runs[i]) + strlen(rs->runs[i].run_id);
	}
	*val = &rs->hdr;
	return 0;
}

int store_runs(struct store *s, const struct call *call, const char *dag,
	       struct s_runs **out)
{
	struct ids id = {.dag = dag};
	char key[KEY_MAX];
	int err = store_key(key, "runs", dag, END);

	return err ? err
		   : cached(s, call, key, fetch_runs, &id,
			    (struct cache_val **)out);
}

static int fetch_run(struct store *s, const struct call *call, void *arg,
		     uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_run run;
	struct s_run *r;
	int err = s->client.run(s->af, call, id->dag, id->run, &run);

	if (err)
		return err;
	r = run_val(&run);
	*val = r ? &r->hdr : NULL;
	return r ? 0 : -ENOMEM;
}

int store_run(struct store *s, const struct call *call, const char *dag,
	      const char *run, struct s_run **out)
{
	struct ids id = {.dag = dag, .run = run};
	char key[KEY_MAX];
	int err = store_key(key, "run", dag, run, END);

	return err ? err
		   : cached(s, call, key, fetch_run, &id,
			    (struct cache_val **)out);
}

static struct s_ti *ti_val(const struct store *s, struct af_ti *ti)
{
	struct s_ti *v = val_new(sizeof(*v), ti_destroy);

	if (!v) {
		af_ti_clear(ti);
		return NULL;
	}
	v->ti = *ti;
	v->fetched = now(s);
	v->hdr.size += ti->info_len + strlen(ti->task_id) +
		       (ti->state ? strlen(ti->state) : 0) +
		       (ti->note ? strlen(ti->note) : 0);
	return v;
}

static void put_ti(struct store *s, const char *dag, const char *run,
		   struct s_ti *t, uint64_t gen)
{
	char key[KEY_MAX], mi[16];

	snprintf(mi, sizeof(mi), "%d", t->ti.map_index);
	if (!store_key(key, "ti", dag, run, t->ti.task_id, mi, END))
		cache_put(s->cache, key, &t->hdr, s->cfg.ttl, gen);
}

/* Whether a task of a run is mapped. */
struct s_task {
	struct cache_val hdr;
	int mapped;
};

static struct s_task *task_val(int mapped)
{
	struct s_task *t = val_new(sizeof(*t), plain_destroy);

	if (t)
		t->mapped = mapped;
	return t;
}

static void put_task(struct store *s, const char *dag, const char *run,
		     const char *task, int mapped, uint64_t gen)
{
	struct s_task *t = task_val(mapped);
	char key[KEY_MAX];

	if (t && !store_key(key, "task", dag, run, task, END))
		cache_put(s->cache, key, &t->hdr, s->cfg.ttl, gen);
	store_put(t);
}

/*
 * Wraps a fetched list into an s_tis, storing each task instance under
 * dag and run; with dag NULL (a list across runs) under its own, and a
 * row that does not say where it is cannot be linked and is left out.
 */
static int tis_val(struct store *s, const char *dag, const char *run,
		   struct af_ti *list, size_t n, uint64_t gen,
		   struct s_tis **out)
{
	struct s_tis *t = val_new(sizeof(*t), tis_destroy);

	if (t)
		t->v = calloc(n ? n : 1, sizeof(*t->v));
	if (!t || !t->v) {
		free(t);
		af_tis_free(&list, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct s_ti *v = dag || (list[i].dag_id && list[i].run_id)
					 ? ti_val(s, &list[i])
					 : NULL;

		if (!v) {
			af_ti_clear(&list[i]);
			continue;
		}
		put_ti(s, dag ? dag : v->ti.dag_id, run ? run : v->ti.run_id, v,
		       gen);
		t->v[t->n++] = v;
		t->hdr.size += sizeof(v);
	}
	free(list);
	*out = t;
	return 0;
}

/* Stores the mapped listing of one task: v[from..to) of a run's list. */
static void put_mapped(struct store *s, const char *dag, const char *run,
		       struct s_tis *all, size_t from, size_t to, uint64_t gen)
{
	struct s_tis *t = val_new(sizeof(*t), tis_destroy);
	char key[KEY_MAX];

	if (t)
		t->v = calloc(to - from, sizeof(*t->v));
	if (!t || !t->v) {
		free(t);
		return;
	}
	for (size_t i = from; i < to; i++) {
		cache_ref(&all->v[i]->hdr);
		t->v[t->n++] = all->v[i];
	}
	t->hdr.size += (to - from) * sizeof(*t->v);
	if (!store_key(key, "mapped", dag, run, all->v[from]->ti.task_id, END))
		cache_put(s->cache, key, &t->hdr, s->cfg.ttl, gen);
	store_put(t);
}

/*
 * What a run's last listing found (a "base"), kept without expiry (within
 * cache_size): the next listing after ttl asks only for the task instances
 * updated since it began (SPEC.md "ttl"). A write to the run drops it, and
 * so does a note read relist seconds after the last full listing
 * (store_notes_due). A @by-state list is kept alike ("bsbase").
 */
struct s_base {
	struct cache_val hdr;
	struct s_tis *tis;
	time_t since;	/* the server's clock when that listing began */
	double full_at; /* when the last full listing began (mono_s) */
};

/* updated_at is stamped on the writer's clock: a minute of margin. */
#define SKEW_MARGIN 60
/* A page: fewer changes than that are always worth asking for alone. */
#define CHANGED_MIN 100
/* Changes across every DAG worth asking for in place of the state lists. */
#define CHANGED_MAX 1000

static void base_destroy(struct cache_val *v)
{
	struct s_base *b = (struct s_base *)v;

	store_put(b->tis);
	free(b);
}

/* Keeps t under key (a "base" of a run, a "bsbase" of a state). */
static void put_base(struct store *s, const char *key, struct s_tis *t,
		     time_t since, double full_at, uint64_t gen)
{
	struct s_base *b = val_new(sizeof(*b), base_destroy);

	if (!b)
		return;
	cache_ref(&t->hdr);
	b->tis = t;
	b->since = since;
	b->full_at = full_at;
	for (size_t i = 0; i < t->n; i++) /* what it keeps alive */
		b->hdr.size += t->v[i]->hdr.size;
	cache_put(s->cache, key, &b->hdr, CACHE_FOREVER, gen);
	store_put(b);
}

/*
 * The rows of base with those of chg (both sorted by cmp) in their place or
 * added, a new list sorted alike. With state, a changed row in another
 * state leaves the list instead.
 */
static struct s_tis *
tis_merged(const struct s_tis *base, const struct s_tis *chg,
	   int (*cmp)(const struct af_ti *, const struct af_ti *),
	   const char *state)
{
	struct s_tis *t = val_new(sizeof(*t), tis_destroy);
	size_t i = 0, j = 0;

	if (t)
		t->v = calloc(base->n + chg->n + 1, sizeof(*t->v));
	if (!t || !t->v) {
		free(t);
		return NULL;
	}
	while (i < base->n || j < chg->n) {
		struct s_ti *b = i < base->n ? base->v[i] : NULL,
			    *x = j < chg->n ? chg->v[j] : NULL;
		int c = !b ? 1 : !x ? -1 : cmp(&b->ti, &x->ti);
		struct s_ti *take = c < 0 ? b : x;

		i += c <= 0;
		j += c >= 0;
		if (c >= 0 && state &&
		    !(x->ti.state && !strcmp(x->ti.state, state)))
			continue;
		cache_ref(&take->hdr);
		t->v[t->n++] = take;
		t->hdr.size += sizeof(take);
	}
	return t;
}

/*
 * A run's task instances: what changed since its last listing merged into
 * it, else (none kept or forgotten for a note, a server without the
 * filter, too many changes) the whole list.
 */
static int list_run(struct store *s, const struct call *call,
		    const struct ids *id, uint64_t gen, struct s_tis **out,
		    time_t *since, double *full_at)
{
	struct s_base *b = NULL;
	struct af_ti *list;
	struct s_tis *chg;
	char key[KEY_MAX];
	size_t n;
	double at;
	int err = -ENOTSUP;

	*since = s->client.server_time(s->af);
	*full_at = now(s);
	if (!store_key(key, "base", id->dag, id->run, END) &&
	    peek(s, key, (struct cache_val **)&b) == 0) {
		long max = b->tis->n / 2;

		err = s->client.tis_changed(
			s->af, call, id->dag, id->run, b->since - SKEW_MARGIN,
			max < CHANGED_MIN ? CHANGED_MIN : max, &list, &n);
		if (!err)
			err = tis_val(s, id->dag, id->run, list, n, gen, &chg);
		if (!err) {
			*out = tis_merged(b->tis, chg, af_ti_cmp, NULL);
			store_put(chg);
			err = *out ? 0 : -ENOMEM;
			*full_at = b->full_at;
		}
		/* what did not change is as good as fetched now */
		at = now(s);
		for (size_t i = 0; !err && i < (*out)->n; i++) {
			__atomic_store(&(*out)->v[i]->fetched, &at,
				       __ATOMIC_RELAXED);
			put_ti(s, id->dag, id->run, (*out)->v[i], gen);
		}
	}
	store_put(b);
	if (err == -ENOTSUP || err == -E2BIG) {
		err = s->client.tis(s->af, call, id->dag, id->run, &list, &n);
		if (!err)
			err = tis_val(s, id->dag, id->run, list, n, gen, out);
	}
	return err;
}

static int fetch_tis(struct store *s, const struct call *call, void *arg,
		     uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct s_tis *t;
	char key[KEY_MAX];
	time_t since;
	double full_at;
	int err = list_run(s, call, id, gen, &t, &since, &full_at);

	if (err)
		return err;
	put_marker(s, gen, "listed", id->dag, id->run, CACHE_FOREVER);
	if (!store_key(key, "base", id->dag, id->run, END))
		put_base(s, key, t, since, full_at, gen);
	/* the list is sorted: each task's instances are next to each other */
	for (size_t i = 0, j; i < t->n; i = j) {
		int mapped = 0;

		for (j = i; j < t->n &&
			    !strcmp(t->v[j]->ti.task_id, t->v[i]->ti.task_id);
		     j++)
			mapped |= t->v[j]->ti.map_index >= 0;
		put_task(s, id->dag, id->run, t->v[i]->ti.task_id, mapped, gen);
		if (mapped)
			put_mapped(s, id->dag, id->run, t, i, j, gen);
	}
	*val = &t->hdr;
	return 0;
}

/*
 * Before asking for one task instance of a run that was listed once, list
 * the run again: what a listing filled expires at once, and a walk over a
 * large run (find, grep -r) would otherwise cost a request per task.
 */
static void relist(struct store *s, const struct call *call, const char *dag,
		   const char *run, const char *key)
{
	char mark[KEY_MAX];
	struct s_tis *t;

	if (store_key(mark, "listed", dag, run, END) ||
	    known(s, mark) != KNOWN || known(s, key) != UNKNOWN)
		return;
	if (store_tis(s, call, dag, run, &t) == 0)
		store_put(t);
}

int store_listed(struct store *s, const char *dag, const char *run,
		 struct s_tis **out)
{
	char key[KEY_MAX];
	int err = store_key(key, "tis", dag, run, END);

	*out = NULL;
	return err ? err : peek(s, key, (struct cache_val **)out);
}

int store_runs_cached(struct store *s, const char *dag, struct s_runs **out)
{
	char key[KEY_MAX];
	int err = store_key(key, "runs", dag, END);

	*out = NULL;
	return err ? err : peek(s, key, (struct cache_val **)out);
}

int store_run_cached(struct store *s, const char *dag, const char *run,
		     struct s_run **out)
{
	char key[KEY_MAX];
	int err = store_key(key, "run", dag, run, END);

	*out = NULL;
	return err ? err : peek(s, key, (struct cache_val **)out);
}

int store_mapped_cached(struct store *s, const char *dag, const char *run,
			const char *task, struct s_tis **out)
{
	char key[KEY_MAX];
	int err = store_key(key, "mapped", dag, run, task, END);

	*out = NULL;
	return err ? err : peek(s, key, (struct cache_val **)out);
}

int store_tis(struct store *s, const struct call *call, const char *dag,
	      const char *run, struct s_tis **out)
{
	struct ids id = {.dag = dag, .run = run};
	char key[KEY_MAX];
	int err = store_key(key, "tis", dag, run, END);

	return err ? err
		   : cached(s, call, key, fetch_tis, &id,
			    (struct cache_val **)out);
}

/*
 * @by-state: each state's list is kept without expiry (its "bsbase") and,
 * after ttl, revalidated with what changed since across every DAG and
 * state: one listing that every state shares (a state filter would miss a
 * task instance leaving the state). The list loses what changed and gains
 * what changed into its state. What the window of recent hours leaves
 * goes with the next full listing, at least every relist seconds.
 */
/* Every task instance updated since from; cached for ttl. */
struct s_changed {
	struct cache_val hdr;
	struct s_tis *tis;
	time_t from, at; /* at: the server's clock when it was asked */
	double got;	 /* when (mono_s) */
};

static void changed_destroy(struct cache_val *v)
{
	struct s_changed *c = (struct s_changed *)v;

	store_put(c->tis);
	free(c);
}

static int fetch_changed(struct store *s, const struct call *call, void *arg,
			 uint64_t gen, struct cache_val **val, double *ttl)
{
	/* from the oldest list kept that is not due to be listed whole:
	 * one listing serves them all */
	time_t from = *(time_t *)arg, at = s->client.server_time(s->af);
	double t = now(s);
	struct s_changed *c;
	struct af_ti *list;
	size_t n;
	int err;

	for (int i = 0; af_states[i]; i++) {
		struct s_base *b;
		char key[KEY_MAX];

		if (!store_key(key, "bsbase", af_states[i], END) &&
		    !peek(s, key, (struct cache_val **)&b)) {
			if (b->since - SKEW_MARGIN < from &&
			    t - b->full_at < s->cfg.relist)
				from = b->since - SKEW_MARGIN;
			store_put(b);
		}
	}
	err = s->client.tis_changed(s->af, call, "~", "~", from, CHANGED_MAX,
				    &list, &n);
	if (err && err != -E2BIG && err != -ENOTSUP)
		return err;
	c = val_new(sizeof(*c), changed_destroy);
	if (!c) {
		af_tis_free(&list, n);
		return -ENOMEM;
	}
	/* too many, or no filter: kept too, as "list whole" (tis NULL) */
	err = err ? 0 : tis_val(s, NULL, NULL, list, n, gen, &c->tis);
	if (err) {
		free(c);
		return err;
	}
	c->from = from;
	c->at = at;
	c->got = now(s);
	c->hdr.size = c->tis ? c->tis->hdr.size : 0;
	*val = &c->hdr;
	return 0;
}

/*
 * The list of state from its kept one and what changed since; -ENOENT
 * when a full listing is due (none kept, relist passed, too many changes,
 * a server without the filter).
 */
static int by_state_changed(struct store *s, const struct call *call,
			    const char *state, uint64_t gen, struct s_tis **out,
			    double *ttl)
{
	struct s_base *b;
	struct s_changed *c = NULL;
	char key[KEY_MAX];
	time_t from;
	int err;

	if (store_key(key, "bsbase", state, END) ||
	    peek(s, key, (struct cache_val **)&b))
		return -ENOENT;
	from = b->since - SKEW_MARGIN;
	err = now(s) - b->full_at < s->cfg.relist
		      ? cached(s, call, "bychanged", fetch_changed, &from,
			       (struct cache_val **)&c)
		      : -ENOENT;
	/* asked before this list was kept, or too many changed */
	if (!err && (c->from > from || !c->tis))
		err = -ENOENT;
	if (!err && c->at < b->since) { /* the list is the newer */
		cache_ref(&b->tis->hdr);
		*out = b->tis;
	} else if (!err) {
		*out = tis_merged(b->tis, c->tis, af_ti_where_cmp, state);
		err = *out ? 0 : -ENOMEM;
		if (!err)
			put_base(s, key, *out, c->at, b->full_at, gen);
	}
	if (!err) /* as old as what changed, no older */
		*ttl = s->cfg.ttl - (now(s) - c->got);
	store_put(c);
	store_put(b);
	return err;
}

static int fetch_by_state(struct store *s, const struct call *call, void *arg,
			  uint64_t gen, struct cache_val **val, double *ttl)
{
	const char *state = arg;
	/* a minute of margin: a clock a little behind the server's */
	time_t window = time(NULL) - (time_t)(s->cfg.recent * 3600) - 60;
	time_t since = s->client.server_time(s->af);
	double full_at = now(s);
	struct af_ti *list;
	struct s_tis *t;
	char key[KEY_MAX];
	size_t n;
	int err = by_state_changed(s, call, state, gen, &t, ttl);

	if (err == -ENOENT) {
		err = s->client.by_state(s->af, call, state, window, &list, &n);
		if (!err)
			err = tis_val(s, NULL, NULL, list, n, gen, &t);
		if (!err && !store_key(key, "bsbase", state, END))
			put_base(s, key, t, since, full_at, gen);
	}
	if (!err)
		*val = &t->hdr;
	return err;
}

int store_by_state(struct store *s, const struct call *call, const char *state,
		   struct s_tis **out)
{
	char key[KEY_MAX];
	int err = store_key(key, "bystate", state, END);

	return err ? err
		   : cached(s, call, key, fetch_by_state, (void *)state,
			    (struct cache_val **)out);
}

static int fetch_mapped(struct store *s, const struct call *call, void *arg,
			uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti *list;
	struct s_tis *t;
	size_t n;
	int err = s->client.mapped(s->af, call, id->dag, id->run, id->task,
				   &list, &n);

	if (err)
		return err;
	err = tis_val(s, id->dag, id->run, list, n, gen, &t);
	if (err)
		return err;
	*val = &t->hdr;
	return 0;
}

int store_mapped(struct store *s, const struct call *call, const char *dag,
		 const char *run, const char *task, struct s_tis **out)
{
	struct ids id = {.dag = dag, .run = run, .task = task};
	char key[KEY_MAX];
	int err = store_key(key, "mapped", dag, run, task, END);

	if (err)
		return err;
	relist(s, call, dag, run, key);
	return cached(s, call, key, fetch_mapped, &id,
		      (struct cache_val **)out);
}

/*
 * Whether a task is mapped: known from a listing, or asked with one GET of
 * the unmapped task instance, which is then kept as well.
 */
static int fetch_task(struct store *s, const struct call *call, void *arg,
		      uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti ti;
	struct s_task *t;
	int err =
		s->client.ti(s->af, call, id->dag, id->run, id->task, -1, &ti);
	int mapped = err == -EISDIR;

	if (err && !mapped) {
		char key[KEY_MAX], mi[16] = "-1";

		/* the same record: a path walk's next name (state, logs)
		 * fails at once rather than waiting for it again */
		if (unreachable(err) &&
		    !store_key(key, "ti", id->dag, id->run, id->task, mi, END))
			cache_put_err(s->cache, key, -err, NET_FAIL_S, gen);
		return err;
	}
	if (!mapped) {
		struct s_ti *v = ti_val(s, &ti);

		if (v)
			put_ti(s, id->dag, id->run, v, gen);
		store_put(v);
	}
	t = task_val(mapped);
	*val = t ? &t->hdr : NULL;
	return t ? 0 : -ENOMEM;
}

int store_task(struct store *s, const struct call *call, const char *dag,
	       const char *run, const char *task, int *mapped)
{
	struct ids id = {.dag = dag, .run = run, .task = task};
	struct s_task *t;
	char key[KEY_MAX];
	int err = store_key(key, "task", dag, run, task, END);

	if (err)
		return err;
	relist(s, call, dag, run, key);
	err = cached(s, call, key, fetch_task, &id, (struct cache_val **)&t);
	if (!err)
		keep_seen(s, key, &t->hdr);
	else
		err = or_seen(s, key, err, (struct cache_val **)&t);
	if (err)
		return err;
	*mapped = t->mapped;
	store_put(t);
	return 0;
}

static int fetch_ti(struct store *s, const struct call *call, void *arg,
		    uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti ti;
	struct s_ti *t;
	int err = s->client.ti(s->af, call, id->dag, id->run, id->task,
			       id->map_index, &ti);

	if (err == -EISDIR)
		err = -ENOENT;
	if (err)
		return err;
	t = ti_val(s, &ti);
	*val = t ? &t->hdr : NULL;
	return t ? 0 : -ENOMEM;
}

int store_ti(struct store *s, const struct call *call, const char *dag,
	     const char *run, const char *task, int map_index,
	     struct s_ti **out)
{
	struct ids id = {
		.dag = dag, .run = run, .task = task, .map_index = map_index};
	char key[KEY_MAX], mi[16];
	int err;

	snprintf(mi, sizeof(mi), "%d", map_index);
	err = store_key(key, "ti", dag, run, task, mi, END);
	if (err)
		return err;
	relist(s, call, dag, run, key);
	return cached(s, call, key, fetch_ti, &id, (struct cache_val **)out);
}

int store_ti_seen(struct store *s, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index,
		  struct s_ti **out, int *stale)
{
	char key[KEY_MAX], mi[16];
	int err = store_ti(s, call, dag, run, task, map_index, out);

	*stale = 0;
	snprintf(mi, sizeof(mi), "%d", map_index);
	if (store_key(key, "ti", dag, run, task, mi, END))
		return err;
	if (!err) {
		keep_seen(s, key, &(*out)->hdr);
		return 0;
	}
	*stale = err;
	err = or_seen(s, key, err, (struct cache_val **)out);
	if (err)
		*stale = 0;
	return err;
}

/* links.json's bytes, marked when readahead fetched them. */
struct s_links {
	struct ra_mark ra;
	struct cache_blob b; /* what readers get; last: its bytes follow */
};

static struct s_links *links_of(struct cache_blob *b)
{
	return (struct s_links *)((char *)b - offsetof(struct s_links, b));
}

static void links_destroy(struct cache_val *v)
{
	struct s_links *l = links_of((struct cache_blob *)v);

	ra_drop(&l->ra);
	free(l);
}

static int fetch_links(struct store *s, const struct call *call, void *arg,
		       uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct s_links *l;
	char *text;
	size_t len;
	int err =
		s->client.links(s->af, call, id->dag, id->run, id->ti->task_id,
				id->ti->map_index, &text, &len);

	if (err)
		return err;
	l = calloc(1, sizeof(*l) + len + 1);
	if (!l) {
		free(text);
		return -ENOMEM;
	}
	l->b.hdr.refs = 1;
	l->b.hdr.size = sizeof(*l) + len + 1;
	l->b.hdr.destroy = links_destroy;
	l->b.len = len;
	if (len)
		memcpy(l->b.data, text, len);
	free(text);
	ra_fetched(s, &l->ra, call);
	*val = &l->b.hdr;
	return 0;
}

int store_links(struct store *s, const struct call *call,
		const struct af_ti *ti, const char *dag, const char *run,
		struct cache_blob **out)
{
	struct ids id = {.dag = dag, .run = run, .ti = ti};
	char key[KEY_MAX], mi[16];
	int err;

	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	err = store_key(key, "links", dag, run, ti->task_id, mi, END);
	if (err)
		return err;
	err = cached(s, call, key, fetch_links, &id, (struct cache_val **)out);
	if (!err)
		ra_take(&links_of(*out)->ra, call);
	return err;
}

double store_ti_left(const struct store *s, const struct s_ti *t)
{
	double at, left;

	__atomic_load(&t->fetched, &at, __ATOMIC_RELAXED);
	left = s->cfg.ttl - (now(s) - at);

	return left > 0 ? left : 0;
}

double store_log_left(const struct store *s, const struct s_log *l)
{
	double left = s->cfg.log_ttl - (now(s) - l->fetched);

	return l->final ? -1 : left > 0 ? left : 0;
}

static void log_destroy(struct cache_val *v)
{
	struct s_log *l = (struct s_log *)v;

	ra_drop(&l->ra);
	logsnap_clear(&l->snap);
	free(l);
}

long store_log_read(const struct s_log *l, off_t off, size_t size, char *buf)
{
	return logsnap_read(&l->snap, off, size, buf);
}

/*
 * The server says the log of the current try is complete, though the task
 * instance was running when last asked: ask again, so that the log of a try
 * that just finished is final at once (the record is kept, too).
 */
static int ended_now(struct store *s, const struct call *call,
		     const struct ids *id)
{
	struct af_ti fresh;
	struct s_ti *t;
	int over;

	if (s->client.ti(s->af, call, id->dag, id->run, id->ti->task_id,
			 id->ti->map_index, &fresh))
		return 0;
	over = fresh.try_number == id->try_number && af_try_over(fresh.state);
	t = ti_val(s, &fresh);
	if (t)
		put_ti(s, id->dag, id->run, t, cache_gen(s->cache));
	store_put(t);
	return over;
}

static const char *mi_str(char *buf, int map_index)
{
	snprintf(buf, 16, "%d", map_index);
	return buf;
}

struct log_arg {
	struct store *s;
	const struct call *call;
	struct ids id;
	const struct s_log *prev;
};

/* logsnap_src.get: the try's log through the client. */
static int log_get(void *arg, const char *token, logstream_sink sink,
		   void *sink_arg, char **next, int *end_of_log)
{
	struct log_arg *a = arg;
	const struct af_ti *ti = a->id.ti;
	const struct call *call = a->call;

	return a->s->client.log(a->s->af, call, a->id.dag, a->id.run,
				ti->task_id, ti->map_index, a->id.try_number,
				token, sink, sink_arg, next, end_of_log);
}

/* logsnap_src.over: a later try exists, or the try has ended and the
 * server does not say that its log goes on. */
static int log_over(void *arg, int end_of_log)
{
	struct log_arg *a = arg;
	const struct af_ti *ti = a->id.ti;

	if (a->id.try_number < ti->try_number ||
	    (af_try_over(ti->state) && end_of_log != 0))
		return 1;
	return end_of_log == 1 && ti->state &&
	       (!strcmp(ti->state, "running") ||
		!strcmp(ti->state, "deferred")) &&
	       ended_now(a->s, a->call, &a->id);
}

/*
 * Fetches a try's log: the snapshot after prev (logsnap.h), stored for
 * good (the cache drops it when it needs room).
 */
static int fetch_log(struct store *s, const struct call *call, void *arg,
		     uint64_t gen, struct cache_val **val, double *ttl)
{
	struct log_arg *a = arg;
	const struct af_ti *ti = a->id.ti;
	struct logsnap_src src = {.get = log_get, .over = log_over, .arg = a};
	struct s_log *l = val_new(sizeof(*l), log_destroy);
	char key[KEY_MAX], mi[16], tn[16];
	int err;

	if (!l)
		return -ENOMEM;
	err = logsnap_next(s->disk, a->prev ? &a->prev->snap : NULL, &src,
			   &l->snap, &l->final);
	if (err == -EFBIG || err == -ENOSPC || err == -EMFILE)
		log_msg(LOG_ERR,
			"log of %s/%s/%s%s%s try %d: %s (disk_cache %zu MB)",
			a->id.dag, a->id.run, ti->task_id,
			ti->map_index >= 0 ? "/" : "",
			ti->map_index >= 0 ? mi_str(mi, ti->map_index) : "",
			a->id.try_number,
			err == -EFBIG	 ? "larger than disk_cache"
			: err == -EMFILE ? "too many logs held open"
					 : "disk_cache full of logs held open",
			logdisk_max_bytes(s->disk) >> 20);
	if (err) {
		log_destroy(&l->hdr);
		return err;
	}
	l->fetched = now(s);
	if (logbuf_in_file(l->snap.buf)) {
		l->hdr.size += 4096; /* the file's own bytes count as disk */
		l->hdr.disk = l->snap.len ? l->snap.len : 1;
	} else {
		l->hdr.size += l->snap.len;
	}
	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	snprintf(tn, sizeof(tn), "%d", a->id.try_number);
	if (!store_key(key, "log", a->id.dag, a->id.run, ti->task_id, mi, tn,
		       END))
		cache_put(s->cache, key, &l->hdr, CACHE_FOREVER, gen);
	ra_fetched(s, &l->ra, call);
	*ttl = 0; /* the fill itself is not kept: waiters take l */
	*val = &l->hdr;
	return 0;
}

/* logdisk's reclaim: drops the least recently used log kept in a file. */
static int reclaim_disk(void *arg)
{
	struct store *s = arg;

	return cache_evict_disk(s->cache);
}

int store_log(struct store *s, const struct call *call, const struct af_ti *ti,
	      const char *dag, const char *run, int try_number,
	      struct s_log **out)
{
	struct log_arg a = {.s = s,
			    .id = {.dag = dag,
				   .run = run,
				   .ti = ti,
				   .try_number = try_number},
			    .call = call};
	struct s_log *prev = NULL;
	char key[KEY_MAX], mi[16], tn[16];
	int err;

	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	snprintf(tn, sizeof(tn), "%d", try_number);
	err = store_key(key, "log", dag, run, ti->task_id, mi, tn, END);
	if (err)
		return err;
	if (cache_get(s->cache, key, (struct cache_val **)&prev) == CACHE_HIT &&
	    (prev->final || now(s) - prev->fetched < s->cfg.log_ttl)) {
		ra_take(&prev->ra, call);
		*out = prev;
		return 0;
	}
	a.prev = prev;
	/* one refresh at a time, under a key of its own */
	err = store_key(key, "log-fill", dag, run, ti->task_id, mi, tn, END);
	if (!err)
		err = cached(s, call, key, fetch_log, &a,
			     (struct cache_val **)out);
	if (!err)
		ra_take(&(*out)->ra, call);
	if (err && prev) {
		*out = prev; /* the last snapshot, rather than no log */
		return 0;
	}
	store_put(prev);
	return err;
}

int store_log_final(struct store *s, const struct af_ti *ti, const char *dag,
		    const char *run, int try_number, struct s_log **out)
{
	char key[KEY_MAX], mi[16], tn[16];

	*out = NULL;
	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	snprintf(tn, sizeof(tn), "%d", try_number);
	if (store_key(key, "log", dag, run, ti->task_id, mi, tn, END) ||
	    cache_get(s->cache, key, (struct cache_val **)out) != CACHE_HIT)
		return -ENOENT;
	if (!(*out)->final) {
		store_put(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

/* Forgets a task instance's record; returns the generation after that. */
static uint64_t forget_ti(struct store *s, const char *dag, const char *run,
			  const char *task, int map_index)
{
	char key[KEY_MAX], mi[16];

	snprintf(mi, sizeof(mi), "%d", map_index);
	if (!store_key(key, "ti", dag, run, task, mi, END))
		cache_invalidate(s->cache, key);
	/* a note changes no updated_at: the next listing is a full one */
	if (!store_key(key, "base", dag, run, END))
		cache_invalidate(s->cache, key);
	return cache_gen(s->cache);
}

int store_set_state(struct store *s, const struct call *call, const char *dag,
		    const char *run, const char *task, int map_index,
		    const char *state)
{
	int err = s->client.set_state(s->af, call, dag, run, task, map_index,
				      state);

	/* after a failure too: the server may hold something new */
	forget_ti(s, dag, run, task, map_index);
	return err;
}

int store_set_note(struct store *s, const struct call *call, const char *dag,
		   const char *run, const char *task, int map_index,
		   const char *note, size_t len)
{
	struct af_ti ti;
	int err = s->client.set_note(s->af, call, dag, run, task, map_index,
				     note, len, &ti);
	uint64_t gen = forget_ti(s, dag, run, task, map_index);

	if (!err && ti.task_id) {
		struct s_ti *t = ti_val(s, &ti);

		if (t)
			put_ti(s, dag, run, t, gen);
		store_put(t);
	}
	return err;
}

static void dag_destroy(struct cache_val *v)
{
	struct s_dag *d = (struct s_dag *)v;

	af_dag_clear(&d->dag);
	free(d);
}

static struct s_dag *dag_val(struct af_dag *d)
{
	struct s_dag *v = val_new(sizeof(*v), dag_destroy);

	if (v) {
		v->dag = *d;
		v->hdr.size += d->info_len;
	} else {
		af_dag_clear(d);
	}
	return v;
}

static int fetch_dag_info(struct store *s, const struct call *call, void *arg,
			  uint64_t gen, struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_dag d;
	struct s_dag *v;
	int err = s->client.get_dag(s->af, call, id->dag, &d);

	if (err)
		return err;
	put_marker(s, gen, "dag", id->dag, NULL, s->cfg.ttl);
	v = dag_val(&d);
	*val = v ? &v->hdr : NULL;
	return v ? 0 : -ENOMEM;
}

int store_dag_info(struct store *s, const struct call *call, const char *dag,
		   struct s_dag **out)
{
	struct ids id = {.dag = dag};
	char key[KEY_MAX];
	int err = store_key(key, "dagrec", dag, END);

	return err ? err
		   : cached(s, call, key, fetch_dag_info, &id,
			    (struct cache_val **)out);
}

/*
 * Forgets a run's listing and its task instances (task NULL: all of them,
 * else those of that task). Returns the generation after that.
 */
static uint64_t forget_tis(struct store *s, const char *dag, const char *run,
			   const char *task)
{
	char key[KEY_MAX];

	if (!store_key(key, "tis", dag, run, END))
		cache_invalidate(s->cache, key);
	if (!store_key(key, "base", dag, run, END))
		cache_invalidate(s->cache, key);
	if (!store_key(key, "ti", dag, run, task ? task : "", END)) {
		/* "ti" SEP dag SEP run SEP [task SEP]: nothing longer */
		if (task && strlen(key) + 1 < KEY_MAX)
			strcat(key, SEP);
		cache_invalidate_prefix(s->cache, key);
	}
	if (task && !store_key(key, "mapped", dag, run, task, END))
		cache_invalidate(s->cache, key);
	else if (!task && !store_key(key, "mapped", dag, run, "", END))
		cache_invalidate_prefix(s->cache, key); /* every task's */
	return cache_gen(s->cache);
}

/* Forgets what a change to a run may have changed: its record too. */
static uint64_t forget_run(struct store *s, const char *dag, const char *run,
			   const char *task)
{
	char key[KEY_MAX];

	if (!store_key(key, "run", dag, run, END))
		cache_invalidate(s->cache, key);
	return forget_tis(s, dag, run, task);
}

void store_notes_due(struct store *s, const char *dag, const char *run)
{
	struct s_base *b;
	char key[KEY_MAX];
	int due;

	if (store_key(key, "base", dag, run, END) ||
	    peek(s, key, (struct cache_val **)&b))
		return;
	due = now(s) - b->full_at >= s->cfg.relist;
	store_put(b);
	if (due) /* the next read of the run lists it whole */
		forget_tis(s, dag, run, NULL);
}

/* Keeps the record a write answered with, if any. */
static void put_run(struct store *s, const char *dag, struct af_run *r,
		    uint64_t gen)
{
	char key[KEY_MAX];
	struct s_run *v;

	if (!r->run_id)
		return;
	v = run_val(r);
	if (v && !store_key(key, "run", dag, v->run.run_id, END))
		cache_put(s->cache, key, &v->hdr, s->cfg.ttl, gen);
	store_put(v);
}

int store_set_run_state(struct store *s, const struct call *call,
			const char *dag, const char *run, const char *state)
{
	struct af_run r;
	int err = s->client.set_run_state(s->af, call, dag, run, state, &r);
	uint64_t gen = forget_run(s, dag, run, NULL);

	if (!err)
		put_run(s, dag, &r, gen);
	else
		af_run_clear(&r);
	return err;
}

int store_set_run_note(struct store *s, const struct call *call,
		       const char *dag, const char *run, const char *note,
		       size_t len)
{
	struct af_run r;
	int err = s->client.set_run_note(s->af, call, dag, run, note, len, &r);
	char key[KEY_MAX];
	uint64_t gen;

	if (!store_key(key, "run", dag, run, END))
		cache_invalidate(s->cache, key);
	gen = cache_gen(s->cache);
	if (!err)
		put_run(s, dag, &r, gen);
	else
		af_run_clear(&r);
	return err;
}

int store_set_paused(struct store *s, const struct call *call, const char *dag,
		     int paused)
{
	struct af_dag d;
	struct s_dag *v;
	char key[KEY_MAX];
	int err = s->client.set_paused(s->af, call, dag, paused, &d);
	uint64_t gen;

	if (store_key(key, "dagrec", dag, END)) {
		af_dag_clear(&d);
		return err;
	}
	cache_invalidate(s->cache, key);
	gen = cache_gen(s->cache);
	if (err || !d.info) {
		af_dag_clear(&d);
		return err;
	}
	v = dag_val(&d);
	if (v)
		cache_put(s->cache, key, &v->hdr, s->cfg.ttl, gen);
	store_put(v);
	return 0;
}

int store_clear(struct store *s, const struct call *call, const char *dag,
		const char *run, const char *task, int map_index)
{
	struct af_ref *refs;
	size_t n;
	int err = s->client.clear(s->af, call, dag, run, task, map_index, &refs,
				  &n);

	/* after a failure too: the server may hold something new */
	forget_run(s, dag, run, task);
	for (size_t i = 0; i < n; i++)
		forget_run(s, dag, refs[i].run_id, refs[i].task_id);
	if (!err && !refs)
		forget_run(s, dag, run, NULL);
	af_refs_free(&refs, n);
	return err;
}
