/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Airflow objects through the cache: every getter answers from the cache
 * when it can, else fetches once (concurrent callers of one key wait for
 * that fetch) and stores the answer for its lifetime. A listing also stores
 * each object it lists, so that what was listed is then read without a
 * request. Values are cache references: release them with store_put().
 * Every getter and write takes the system call it serves (call.h) and
 * hands it to the client; what a CALL_PREFETCH call fetched counts as
 * readahead's until a reader takes it (store_stats).
 */
#ifndef AFS_STORE_H
#define AFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "../cache/cache.h"
#include "airflow.h"
#include "logsnap.h"
#include "model.h"

struct store;
struct call;

/* What the store asks of Airflow: airflow.c's functions (main.c), a fake in
 * tests/unit/test_store.c. */
struct store_client {
	int (*dags)(struct airflow *a, const struct call *call,
		    struct af_names *out);
	int (*dag)(struct airflow *a, const struct call *call, const char *dag);
	int (*runs)(struct airflow *a, const struct call *call, const char *dag,
		    long max, struct af_run **runs, size_t *n);
	int (*run)(struct airflow *a, const struct call *call, const char *dag,
		   const char *run, struct af_run *out);
	int (*tis)(struct airflow *a, const struct call *call, const char *dag,
		   const char *run, struct af_ti **tis, size_t *n);
	int (*tis_changed)(struct airflow *a, const struct call *call,
			   const char *dag, const char *run, time_t since,
			   long max, struct af_ti **tis, size_t *n);
	time_t (*server_time)(struct airflow *a);
	int (*ti)(struct airflow *a, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index,
		  struct af_ti *out);
	int (*by_state)(struct airflow *a, const struct call *call,
			const char *state, time_t since, struct af_ti **tis,
			size_t *n);
	int (*mapped)(struct airflow *a, const struct call *call,
		      const char *dag, const char *run, const char *task,
		      struct af_ti **tis, size_t *n);
	int (*links)(struct airflow *a, const struct call *call,
		     const char *dag, const char *run, const char *task,
		     int map_index, char **text, size_t *len);
	int (*log)(struct airflow *a, const struct call *call, const char *dag,
		   const char *run, const char *task, int map_index,
		   int try_number, const char *token, logstream_sink sink,
		   void *arg, char **next, int *end_of_log);
	int (*set_state)(struct airflow *a, const struct call *call,
			 const char *dag, const char *run, const char *task,
			 int map_index, const char *state);
	int (*set_note)(struct airflow *a, const struct call *call,
			const char *dag, const char *run, const char *task,
			int map_index, const char *note, size_t len,
			struct af_ti *out);
	int (*get_dag)(struct airflow *a, const struct call *call,
		       const char *dag, struct af_dag *out);
	int (*set_run_state)(struct airflow *a, const struct call *call,
			     const char *dag, const char *run,
			     const char *state, struct af_run *out);
	int (*set_run_note)(struct airflow *a, const struct call *call,
			    const char *dag, const char *run, const char *note,
			    size_t len, struct af_run *out);
	int (*set_paused)(struct airflow *a, const struct call *call,
			  const char *dag, int paused, struct af_dag *out);
	int (*clear)(struct airflow *a, const struct call *call,
		     const char *dag, const char *run, const char *task,
		     int map_index, struct af_ref **refs, size_t *n);
};

struct store_config {
	double ttl, log_ttl;
	double relist; /* seconds a note read from a listing may be old */
	double recent; /* hours @by-state looks back */
	long max_runs;
	size_t cache_bytes;
	/* large logs' unlinked files: in log_dirfd, at most disk_bytes and
	 * disk_files of them */
	int log_dirfd;
	size_t disk_bytes;
	int disk_files;
	/* seconds on a monotonic clock; NULL: CLOCK_MONOTONIC */
	double (*now)(void *clock_arg);
	void *clock_arg;
};

/*
 * A store over client (called with af), with its own cache and log disk;
 * NULL on failure (errno set). cfg and client are copied.
 */
struct store *store_new(const struct store_config *cfg,
			const struct store_client *client, struct airflow *af);
/* Frees the store, its cache and then its log files; sets *s to NULL. */
void store_free(struct store **s);
/* Forgets everything (SIGHUP): the next read of anything asks. */
void store_drop_all(struct store *s);
struct store_stats {
	struct cache_stats cache;
	size_t disk_bytes, disk_files;
	/* objects fetched by readahead: read by a reader later (used), or
	 * dropped by the cache before any reader read them (wasted) */
	uint64_t ra_used, ra_wasted;
};
void store_get_stats(struct store *s, struct store_stats *st);

/*
 * Set on what readahead fetched until a reader takes it; the value's
 * destroy counts it as wasted if no reader ever did.
 */
struct ra_mark {
	struct store *s;
	int unread;
};

struct s_dags {
	struct cache_val hdr;
	struct af_names names;
};

struct s_runs {
	struct cache_val hdr;
	struct af_run *runs;
	size_t n;
};

struct s_run {
	struct cache_val hdr;
	struct af_run run;
};

struct s_dag {
	struct cache_val hdr;
	struct af_dag dag;
};

struct s_ti {
	struct cache_val hdr;
	struct af_ti ti;
	double fetched; /* monotonic seconds; a revalidation moves it */
};

/* The task instances of a run or of a mapped task, sorted by task_id then
 * map_index. */
struct s_tis {
	struct cache_val hdr;
	struct s_ti **v;
	size_t n;
};

/*
 * The log of one try as far as fetched. The snapshots of one try share a
 * logbuf, each reading up to its own length: a log never shrinks.
 */
struct s_log {
	struct cache_val hdr;
	struct logsnap snap;
	int final;	/* the try is over and its log complete */
	double fetched; /* monotonic seconds */
	struct ra_mark ra;
};

enum known { KNOWN_NOT = -1, UNKNOWN = 0, KNOWN = 1 };

/* Keys: ids joined by 0x1f (US), a byte Airflow ids never hold. */
#define STORE_KEY_MAX 4096
#define STORE_KEY_END ((const char *)NULL) /* ends store_key's list */
/*
 * Builds "first<US>id<US>id..." in buf (STORE_KEY_MAX bytes) from a list
 * of strings ended by STORE_KEY_END: 0, -ENOENT if any holds 0x1f (it
 * would forge another key), else -ENAMETOOLONG if they do not fit. The
 * store's keys begin with the kind of object ("ti", "log"...), node.c's
 * scratch keys with the DAG.
 */
int store_key(char *buf, const char *first, ...);

/*
 * The cache's covers (cache_config): an invalidation of changed stales a
 * value for key fetched before it when key is changed (or under the
 * prefix), a listing that holds it (its ids begin changed's: "tis" of a
 * run for a "ti" of it, "dags" for anything) or a @by-state list. A log
 * or record elsewhere, even in the same run, is not: a note saved there
 * costs no fetch in flight.
 */
bool store_covers(const char *changed, bool prefix, const char *key);

void store_put(void *val);

int store_dags(struct store *s, const struct call *call, struct s_dags **out);
int store_runs(struct store *s, const struct call *call, const char *dag,
	       struct s_runs **out);
/* All task instances of a run. */
int store_tis(struct store *s, const struct call *call, const char *dag,
	      const char *run, struct s_tis **out);
/*
 * The task instances in state updated within the last recent hours, across
 * all DAGs (each with dag_id and run_id), sorted by (dag, run, task,
 * map_index); cached for ttl, and each is stored as its own record.
 */
int store_by_state(struct store *s, const struct call *call, const char *state,
		   struct s_tis **out);
/*
 * Before a note of a task instance of run is read (its note, info.json):
 * when the run was listed and its last full listing is older than relist,
 * what the listings found is forgotten, so that the read lists the run
 * whole. A note edited elsewhere leaves updated_at as it was, so only a
 * full listing sees it; a reader of states alone is kept fresh by what
 * changed (SPEC.md "relist").
 */
void store_notes_due(struct store *s, const char *dag, const char *run);
/* A run's task instances if the cache holds them (no request); -ENOENT. */
int store_listed(struct store *s, const char *dag, const char *run,
		 struct s_tis **out);
/*
 * What the cache holds, without a request (-ENOENT when it holds nothing):
 * a DAG's runs, a run, a mapped task's map indexes.
 */
int store_runs_cached(struct store *s, const char *dag, struct s_runs **out);
int store_run_cached(struct store *s, const char *dag, const char *run,
		     struct s_run **out);
int store_mapped_cached(struct store *s, const char *dag, const char *run,
			const char *task, struct s_tis **out);
/* The map indexes of a mapped task; -ENOENT when it is not mapped. */
int store_mapped(struct store *s, const struct call *call, const char *dag,
		 const char *run, const char *task, struct s_tis **out);
int store_run(struct store *s, const struct call *call, const char *dag,
	      const char *run, struct s_run **out);
/* 0 when the DAG exists. */
int store_dag(struct store *s, const struct call *call, const char *dag);
/*
 * What the cache knows, without a request: whether a DAG or a run exists.
 */
enum known store_dag_known(struct store *s, const char *dag);
enum known store_run_known(struct store *s, const char *dag, const char *run);
/* Whether a task of a run is mapped: sets *mapped. Like store_ti_seen, a
 * path walk's answer is kept and given when the server cannot be reached. */
int store_task(struct store *s, const struct call *call, const char *dag,
	       const char *run, const char *task, int *mapped);
/* One task instance (map_index -1: unmapped). */
int store_ti(struct store *s, const struct call *call, const char *dag,
	     const char *run, const char *task, int map_index,
	     struct s_ti **out);
/*
 * store_ti for a path walk: the record is kept, and when the server cannot
 * be reached (-EIO, -ETIMEDOUT) the one kept last is returned however old
 * (*stale: the server's error, else 0): the names on the path to a final
 * log stay (SPEC.md).
 */
int store_ti_seen(struct store *s, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index,
		  struct s_ti **out, int *stale);
int store_links(struct store *s, const struct call *call,
		const struct af_ti *ti, const char *dag, const char *run,
		struct cache_blob **out);
/*
 * How long what the kernel was told of t stays true: the rest of t's
 * lifetime in the cache (0 once expired).
 */
double store_ti_left(const struct store *s, const struct s_ti *t);
/* The same for a snapshot of a log: forever (-1) once final. */
double store_log_left(const struct store *s, const struct s_log *l);
/*
 * The log of one try: fetched once and kept for good when final; while
 * the try runs, fetched again (only what follows, where the server allows)
 * when older than log_ttl. When a refresh fails the last snapshot is
 * returned. A try that is not over and has no log line yet is empty.
 */
int store_log(struct store *s, const struct call *call, const struct af_ti *ti,
	      const char *dag, const char *run, int try_number,
	      struct s_log **out);
/* The log of a try if the cache holds it final (no request); -ENOENT. */
int store_log_final(struct store *s, const struct af_ti *ti, const char *dag,
		    const char *run, int try_number, struct s_log **out);
/* Copies up to size bytes of l at off into buf; the count or -errno. */
long store_log_read(const struct s_log *l, off_t off, size_t size, char *buf);

/*
 * Saves a state or a note (len bytes) of one task instance. On success the
 * cache forgets the old record (and no fetch begun before can store it
 * again), so that the next read shows the new value.
 */
int store_set_state(struct store *s, const struct call *call, const char *dag,
		    const char *run, const char *task, int map_index,
		    const char *state);
int store_set_note(struct store *s, const struct call *call, const char *dag,
		   const char *run, const char *task, int map_index,
		   const char *note, size_t len);

/* The DAG record (GET /dags/D), cached for ttl. */
int store_dag_info(struct store *s, const struct call *call, const char *dag,
		   struct s_dag **out);
/*
 * Writes to a run or a DAG. On success the cache keeps the record the
 * server answered (else forgets it); a run's state also forgets its task
 * instances, which the server may have changed with it.
 */
int store_set_run_state(struct store *s, const struct call *call,
			const char *dag, const char *run, const char *state);
int store_set_run_note(struct store *s, const struct call *call,
		       const char *dag, const char *run, const char *note,
		       size_t len);
int store_set_paused(struct store *s, const struct call *call, const char *dag,
		     int paused);
/*
 * Clears a task instance and its downstream (SPEC.md "state"): the task
 * instances the server names in its answer (or, if it names none, the
 * whole run) and the run's record are forgotten, so that the next read
 * shows what the server holds then.
 */
int store_clear(struct store *s, const struct call *call, const char *dag,
		const char *run, const char *task, int map_index);

#endif
