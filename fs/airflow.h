/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Airflow REST client: one interface whatever the server's API
 * version. It builds URLs (each id percent-encoded), pages through lists,
 * maps answers to errno (logging each failure with method, path, status and
 * the server's message) and decodes them into the structs of model.h.
 * Nothing above this file knows which API version is in use.
 *
 * All functions return 0 or -errno; outputs are owned by the caller.
 */
#ifndef AFS_AIRFLOW_H
#define AFS_AIRFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "logstream.h"
#include "model.h"

struct airflow;
struct call;

/*
 * Detects the API version (unless cfg forces one) and checks that the
 * credentials work with one authenticated list call. On failure returns
 * -errno with a one-line cause in err (naming the URL).
 */
int airflow_open(struct airflow **out, const struct config *cfg, char *err,
		 size_t errlen);
void airflow_close(struct airflow **a);
/* "v1" or "v2", and the server's version string. */
const char *airflow_api_name(const struct airflow *a);
const char *airflow_server_version(const struct airflow *a);

int airflow_dags(struct airflow *a, const struct call *call,
		 struct af_names *out);
/* 0 when the DAG exists. */
int airflow_dag(struct airflow *a, const struct call *call, const char *dag);
/* Runs newest first, at most max (0: all). */
int airflow_runs(struct airflow *a, const struct call *call, const char *dag,
		 long max, struct af_run **runs, size_t *n);
int airflow_run(struct airflow *a, const struct call *call, const char *dag,
		const char *run, struct af_run *out);
/* Every task instance of a run, every map index. */
int airflow_tis(struct airflow *a, const struct call *call, const char *dag,
		const char *run, struct af_ti **tis, size_t *n);
/*
 * The task instances of a run updated at or after since (the server's
 * clock), sorted as airflow_tis's. -ENOTSUP where the server cannot filter
 * on it (v1 before 2.6, or it refused the filter once), -E2BIG when more
 * than max (at least 100) changed.
 */
int airflow_tis_changed(struct airflow *a, const struct call *call,
			const char *dag, const char *run, time_t since,
			long max, struct af_ti **tis, size_t *n);
/* Now on the server's clock (see http_server_time). */
time_t airflow_server_time(struct airflow *a);
/*
 * One task instance; map_index -1 asks for an unmapped one and returns
 * -EISDIR when the task is mapped.
 */
int airflow_ti(struct airflow *a, const struct call *call, const char *dag,
	       const char *run, const char *task, int map_index,
	       struct af_ti *out);
/*
 * Every task instance in state updated at or after since, across all DAGs
 * and runs (dag_id and run_id set), sorted by (dag, run, task, map_index).
 */
int airflow_by_state(struct airflow *a, const struct call *call,
		     const char *state, time_t since, struct af_ti **tis,
		     size_t *n);
/* The task instances of a mapped task; -ENOENT when it is not mapped. */
int airflow_mapped(struct airflow *a, const struct call *call, const char *dag,
		   const char *run, const char *task, struct af_ti **tis,
		   size_t *n);
/* links.json, rendered. */
int airflow_links(struct airflow *a, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index, char **text,
		  size_t *len);
/*
 * The log of one try, its text handed to sink as it arrives: all of it, or
 * with a token only what follows the text that token ended. *next gets the
 * token for the next fetch (NULL when none); *end_of_log whether the
 * server says the log is complete (1, 0, or -1 when it does not say).
 * -ESTALE when the server refused the token: fetch it all instead.
 */
int airflow_log(struct airflow *a, const struct call *call, const char *dag,
		const char *run, const char *task, int map_index,
		int try_number, const char *token, logstream_sink sink,
		void *arg, char **next, int *end_of_log);

/*
 * Sets the state of one task instance: success, failed or skipped. A
 * refusal is -EINVAL (400, 422), -ENOENT, -EACCES or -EIO, as SPEC.md says.
 */
int airflow_set_state(struct airflow *a, const struct call *call,
		      const char *dag, const char *run, const char *task,
		      int map_index, const char *state);
/*
 * Sets the note (len bytes). *out is the updated record when the server
 * answered one, else zeroed (task_id NULL).
 */
int airflow_set_note(struct airflow *a, const struct call *call,
		     const char *dag, const char *run, const char *task,
		     int map_index, const char *note, size_t len,
		     struct af_ti *out);

/* The DAG record (is_paused, the record pretty-printed). */
int airflow_get_dag(struct airflow *a, const struct call *call, const char *dag,
		    struct af_dag *out);
/*
 * Sets a run's state (success, failed, queued) or its note; *out is the
 * updated record when the server answered one, else zeroed.
 */
int airflow_set_run_state(struct airflow *a, const struct call *call,
			  const char *dag, const char *run, const char *state,
			  struct af_run *out);
int airflow_set_run_note(struct airflow *a, const struct call *call,
			 const char *dag, const char *run, const char *note,
			 size_t len, struct af_run *out);
/* Pauses or unpauses a DAG; *out as for a run. */
int airflow_set_paused(struct airflow *a, const struct call *call,
		       const char *dag, int paused, struct af_dag *out);
/*
 * Clears one task instance (map_index -1: unmapped) as the UI's Clear does:
 * it and its downstream, its run back to queued (SPEC.md "state"). *refs
 * gets what the server says it cleared (NULL, 0 when it said nothing
 * usable).
 */
int airflow_clear(struct airflow *a, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index,
		  struct af_ref **refs, size_t *n);

void airflow_stats(struct airflow *a, struct http_stats *st);
/*
 * The requests sent so far by kind: up to max counts, their names in
 * *names (static); returns how many kinds.
 */
size_t airflow_request_kinds(struct airflow *a, const char *const **names,
			     uint64_t *counts, size_t max);
/* After SIGHUP: see auth_reload. */
void airflow_reload_credentials(struct airflow *a, const char *password);

#endif
