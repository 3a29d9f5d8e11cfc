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

#include "store.h"

#define KEY_MAX 4096
#define SEP	"\x1f"

/* Builds "kind<SEP>id<SEP>id..." from a NULL-terminated list of ids. */
static int mkkey(char *buf, const char *kind, ...)
{
	size_t len = strlen(kind);
	const char *id;
	va_list ap;

	if (len >= KEY_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, kind, len + 1);
	va_start(ap, kind);
	while ((id = va_arg(ap, const char *))) {
		size_t n = strlen(id);

		if (len + 1 + n >= KEY_MAX) {
			va_end(ap);
			return -ENAMETOOLONG;
		}
		buf[len++] = SEP[0];
		memcpy(buf + len, id, n + 1);
		len += n;
	}
	va_end(ap);
	return 0;
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
		       const char *dag, const char *run)
{
	struct cache_val *v = val_new(sizeof(*v), plain_destroy);
	char key[KEY_MAX];

	if (v && !mkkey(key, kind, dag, run, NULL))
		cache_put(s->cache, key, v, s->ttl, gen);
	cache_unref(&v);
}

/*
 * A fetch: fills *val (one reference, handed to the caller) and may change
 * *ttl; it may store more entries with the gen it is given.
 */
typedef int (*fetch_fn)(struct store *s, void *arg, uint64_t gen,
			struct cache_val **val, double *ttl);

/*
 * The single-flight fill: answers from the cache, or fetches once for all
 * concurrent callers. "Not found" is remembered for ttl as well.
 */
static int cached(struct store *s, const char *key, fetch_fn fn, void *arg,
		  struct cache_val **out)
{
	struct cache_val *v = NULL;
	double ttl = s->ttl;
	uint64_t gen;
	int r;

	r = cache_begin(s->cache, key, out, &gen);
	if (r == CACHE_HIT)
		return 0;
	if (r < 0)
		return r;
	r = fn(s, arg, gen, &v, &ttl);
	cache_end(s->cache, key, r ? NULL : v, -r, ttl,
		  r == -ENOENT ? s->ttl : 0);
	*out = r ? NULL : v;
	return r;
}

struct ids {
	const char *dag, *run, *task;
	int map_index;
	const struct af_ti *ti;
	int try_number;
	int final;
};

static int fetch_dags(struct store *s, void *arg, uint64_t gen,
		      struct cache_val **val, double *ttl)
{
	struct s_dags *d = val_new(sizeof(*d), dags_destroy);
	int err;

	if (!d)
		return -ENOMEM;
	err = airflow_dags(s->af, &d->names);
	if (err) {
		free(d);
		return err;
	}
	for (size_t i = 0; i < d->names.n; i++) {
		put_marker(s, gen, "dag", d->names.v[i], NULL);
		d->hdr.size += strlen(d->names.v[i]) + sizeof(char *);
	}
	*val = &d->hdr;
	return 0;
}

int store_dags(struct store *s, struct s_dags **out)
{
	return cached(s, "dags", fetch_dags, NULL, (struct cache_val **)out);
}

static int fetch_dag(struct store *s, void *arg, uint64_t gen,
		     struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	int err = airflow_dag(s->af, id->dag);

	if (err)
		return err;
	*val = val_new(sizeof(**val), plain_destroy);
	return *val ? 0 : -ENOMEM;
}

int store_dag(struct store *s, const char *dag)
{
	struct ids id = {.dag = dag};
	struct cache_val *v;
	char key[KEY_MAX];
	int err = mkkey(key, "dag", dag, NULL);

	if (!err)
		err = cached(s, key, fetch_dag, &id, &v);
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

	return mkkey(key, "dag", dag, NULL) ? UNKNOWN : known(s, key);
}

enum known store_run_known(struct store *s, const char *dag, const char *run)
{
	char key[KEY_MAX];

	return mkkey(key, "run", dag, run, NULL) ? UNKNOWN : known(s, key);
}

static struct s_run *run_val(struct af_run *r)
{
	struct s_run *v = val_new(sizeof(*v), run_destroy);

	if (v) {
		v->run = *r;
		v->hdr.size += strlen(r->run_id);
	} else {
		af_run_clear(r);
	}
	return v;
}

static int fetch_runs(struct store *s, void *arg, uint64_t gen,
		      struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct s_runs *rs = val_new(sizeof(*rs), runs_destroy);
	char key[KEY_MAX];
	int err;

	if (!rs)
		return -ENOMEM;
	err = airflow_runs(s->af, id->dag, s->max_runs, &rs->runs, &rs->n);
	if (err) {
		free(rs);
		return err;
	}
	if (rs->n > 0) /* a DAG with runs exists */
		put_marker(s, gen, "dag", id->dag, NULL);
	for (size_t i = 0; i < rs->n; i++) {
		struct af_run copy = rs->runs[i];
		struct s_run *r;

		copy.run_id = strdup(copy.run_id);
		r = copy.run_id ? run_val(&copy) : NULL;
		if (r && !mkkey(key, "run", id->dag, copy.run_id, NULL))
			cache_put(s->cache, key, &r->hdr, s->ttl, gen);
		store_put(r);
		rs->hdr.size +=
			sizeof(rs->runs[i]) + strlen(rs->runs[i].run_id);
	}
	*val = &rs->hdr;
	return 0;
}

int store_runs(struct store *s, const char *dag, struct s_runs **out)
{
	struct ids id = {.dag = dag};
	char key[KEY_MAX];
	int err = mkkey(key, "runs", dag, NULL);

	return err ? err
		   : cached(s, key, fetch_runs, &id, (struct cache_val **)out);
}

static int fetch_run(struct store *s, void *arg, uint64_t gen,
		     struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_run run;
	struct s_run *r;
	int err = airflow_run(s->af, id->dag, id->run, &run);

	if (err)
		return err;
	r = run_val(&run);
	*val = r ? &r->hdr : NULL;
	return r ? 0 : -ENOMEM;
}

int store_run(struct store *s, const char *dag, const char *run,
	      struct s_run **out)
{
	struct ids id = {.dag = dag, .run = run};
	char key[KEY_MAX];
	int err = mkkey(key, "run", dag, run, NULL);

	return err ? err
		   : cached(s, key, fetch_run, &id, (struct cache_val **)out);
}

static struct s_ti *ti_val(struct af_ti *ti)
{
	struct s_ti *v = val_new(sizeof(*v), ti_destroy);

	if (!v) {
		af_ti_clear(ti);
		return NULL;
	}
	v->ti = *ti;
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
	if (!mkkey(key, "ti", dag, run, t->ti.task_id, mi, NULL))
		cache_put(s->cache, key, &t->hdr, s->ttl, gen);
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

	if (t && !mkkey(key, "task", dag, run, task, NULL))
		cache_put(s->cache, key, &t->hdr, s->ttl, gen);
	store_put(t);
}

/* Wraps a fetched list into an s_tis, storing each task instance. */
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
		struct s_ti *v = ti_val(&list[i]);

		if (!v)
			continue;
		put_ti(s, dag, run, v, gen);
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
	if (!mkkey(key, "mapped", dag, run, all->v[from]->ti.task_id, NULL))
		cache_put(s->cache, key, &t->hdr, s->ttl, gen);
	store_put(t);
}

static int fetch_tis(struct store *s, void *arg, uint64_t gen,
		     struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti *list;
	struct s_tis *t;
	size_t n;
	int err = airflow_tis(s->af, id->dag, id->run, &list, &n);

	if (err)
		return err;
	err = tis_val(s, id->dag, id->run, list, n, gen, &t);
	if (err)
		return err;
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

int store_tis(struct store *s, const char *dag, const char *run,
	      struct s_tis **out)
{
	struct ids id = {.dag = dag, .run = run};
	char key[KEY_MAX];
	int err = mkkey(key, "tis", dag, run, NULL);

	return err ? err
		   : cached(s, key, fetch_tis, &id, (struct cache_val **)out);
}

static int fetch_mapped(struct store *s, void *arg, uint64_t gen,
			struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti *list;
	struct s_tis *t;
	size_t n;
	int err = airflow_mapped(s->af, id->dag, id->run, id->task, &list, &n);

	if (err)
		return err;
	err = tis_val(s, id->dag, id->run, list, n, gen, &t);
	if (err)
		return err;
	*val = &t->hdr;
	return 0;
}

int store_mapped(struct store *s, const char *dag, const char *run,
		 const char *task, struct s_tis **out)
{
	struct ids id = {.dag = dag, .run = run, .task = task};
	char key[KEY_MAX];
	int err = mkkey(key, "mapped", dag, run, task, NULL);

	return err ? err
		   : cached(s, key, fetch_mapped, &id,
			    (struct cache_val **)out);
}

/*
 * Whether a task is mapped: known from a listing, or asked with one GET of
 * the unmapped task instance, which is then kept as well.
 */
static int fetch_task(struct store *s, void *arg, uint64_t gen,
		      struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti ti;
	struct s_task *t;
	int err = airflow_ti(s->af, id->dag, id->run, id->task, -1, &ti);
	int mapped = err == -EISDIR;

	if (err && !mapped)
		return err;
	if (!mapped) {
		struct s_ti *v = ti_val(&ti);

		if (v)
			put_ti(s, id->dag, id->run, v, gen);
		store_put(v);
	}
	t = task_val(mapped);
	*val = t ? &t->hdr : NULL;
	return t ? 0 : -ENOMEM;
}

int store_task(struct store *s, const char *dag, const char *run,
	       const char *task, int *mapped)
{
	struct ids id = {.dag = dag, .run = run, .task = task};
	struct s_task *t;
	char key[KEY_MAX];
	int err = mkkey(key, "task", dag, run, task, NULL);

	if (!err)
		err = cached(s, key, fetch_task, &id, (struct cache_val **)&t);
	if (err)
		return err;
	*mapped = t->mapped;
	store_put(t);
	return 0;
}

static int fetch_ti(struct store *s, void *arg, uint64_t gen,
		    struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct af_ti ti;
	struct s_ti *t;
	int err = airflow_ti(s->af, id->dag, id->run, id->task, id->map_index,
			     &ti);

	if (err == -EISDIR)
		err = -ENOENT;
	if (err)
		return err;
	t = ti_val(&ti);
	*val = t ? &t->hdr : NULL;
	return t ? 0 : -ENOMEM;
}

int store_ti(struct store *s, const char *dag, const char *run,
	     const char *task, int map_index, struct s_ti **out)
{
	struct ids id = {
		.dag = dag, .run = run, .task = task, .map_index = map_index};
	char key[KEY_MAX], mi[16];
	int err;

	snprintf(mi, sizeof(mi), "%d", map_index);
	err = mkkey(key, "ti", dag, run, task, mi, NULL);
	return err ? err
		   : cached(s, key, fetch_ti, &id, (struct cache_val **)out);
}

static int fetch_links(struct store *s, void *arg, uint64_t gen,
		       struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct cache_blob *b;
	char *text;
	size_t len;
	int err = airflow_links(s->af, id->dag, id->run, id->ti->task_id,
				id->ti->map_index, &text, &len);

	if (err)
		return err;
	b = cache_blob_new(text, len);
	free(text);
	*val = b ? &b->hdr : NULL;
	return b ? 0 : -ENOMEM;
}

int store_links(struct store *s, const struct af_ti *ti, const char *dag,
		const char *run, struct cache_blob **out)
{
	struct ids id = {.dag = dag, .run = run, .ti = ti};
	char key[KEY_MAX], mi[16];
	int err;

	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	err = mkkey(key, "links", dag, run, ti->task_id, mi, NULL);
	return err ? err
		   : cached(s, key, fetch_links, &id, (struct cache_val **)out);
}

/* States after which a task instance's current try can no longer log. */
static int finished(const char *state)
{
	static const char *const done[] = {"success", "failed", "skipped",
					   "upstream_failed", "removed"};

	for (size_t i = 0; state && i < sizeof(done) / sizeof(*done); i++)
		if (!strcmp(state, done[i]))
			return 1;
	return 0;
}

static int fetch_log(struct store *s, void *arg, uint64_t gen,
		     struct cache_val **val, double *ttl)
{
	struct ids *id = arg;
	struct cache_blob *b;
	char *text;
	size_t len;
	int err = airflow_log(s->af, id->dag, id->run, id->ti->task_id,
			      id->ti->map_index, id->try_number, &text, &len);

	if (err)
		return err;
	b = cache_blob_new(text, len);
	free(text);
	if (!b)
		return -ENOMEM;
	*ttl = id->final ? CACHE_FOREVER : s->log_ttl;
	*val = &b->hdr;
	return 0;
}

int store_log(struct store *s, const struct af_ti *ti, const char *dag,
	      const char *run, int try_number, struct cache_blob **out,
	      int *final)
{
	struct ids id = {
		.dag = dag, .run = run, .ti = ti, .try_number = try_number};
	char key[KEY_MAX], mi[16], tn[16];
	int err;

	id.final = try_number < ti->try_number || finished(ti->state);
	*final = id.final;
	snprintf(mi, sizeof(mi), "%d", ti->map_index);
	snprintf(tn, sizeof(tn), "%d", try_number);
	err = mkkey(key, "log", dag, run, ti->task_id, mi, tn, NULL);
	return err ? err
		   : cached(s, key, fetch_log, &id, (struct cache_val **)out);
}

/* Forgets a task instance's record; returns the generation after that. */
static uint64_t forget_ti(struct store *s, const char *dag, const char *run,
			  const char *task, int map_index)
{
	char key[KEY_MAX], mi[16];

	snprintf(mi, sizeof(mi), "%d", map_index);
	if (!mkkey(key, "ti", dag, run, task, mi, NULL))
		cache_invalidate(s->cache, key);
	return cache_gen(s->cache);
}

int store_set_state(struct store *s, const char *dag, const char *run,
		    const char *task, int map_index, const char *state)
{
	int err = airflow_set_state(s->af, dag, run, task, map_index, state);

	/* after a failure too: the server may hold something new */
	forget_ti(s, dag, run, task, map_index);
	return err;
}

int store_set_note(struct store *s, const char *dag, const char *run,
		   const char *task, int map_index, const char *note,
		   size_t len)
{
	struct af_ti ti;
	int err = airflow_set_note(s->af, dag, run, task, map_index, note, len,
				   &ti);
	uint64_t gen = forget_ti(s, dag, run, task, map_index);

	if (!err && ti.task_id) {
		struct s_ti *t = ti_val(&ti);

		if (t)
			put_ti(s, dag, run, t, gen);
		store_put(t);
	}
	return err;
}
