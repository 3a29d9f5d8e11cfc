/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Airflow API answers (v1 and v2 shapes) read into the structs of model.h,
 * and the record files rendered from them (info.json, @conf.json,
 * links.json: see pretty.h). All functions return 0 or -EIO for a body
 * that is not the expected JSON (wrong types, truncated, not JSON, over
 * json.h's JSON_COST_MAX), -ENOMEM on allocation failure; outputs are
 * only set on success and are owned by the caller.
 */
#ifndef AFS_DECODE_H
#define AFS_DECODE_H

#include <stddef.h>

#include "model.h"

/* {"dags": [{"dag_id": ...}, ...], "total_entries": N} */
int json_dags(const char *body, size_t len, struct af_names *out, long *total);
/* {"dag_runs": [...], "total_entries": N} */
int json_runs(const char *body, size_t len, struct af_run **runs, size_t *n,
	      long *total);
/* one DAGRun record */
int json_run(const char *body, size_t len, struct af_run *run);
/* one DAG record: is_paused and the record pretty-printed */
int json_dag(const char *body, size_t len, struct af_dag *dag);
/*
 * The answer to a clear: {"task_instances": [...]} of references (v1) or
 * records (v2); each item's dag_run_id and task_id.
 */
int json_refs(const char *body, size_t len, struct af_ref **refs, size_t *n);
/* {"task_instances": [...], "total_entries": N} */
int json_tis(const char *body, size_t len, struct af_ti **tis, size_t *n,
	     long *total);
/* one TaskInstance record */
int json_ti(const char *body, size_t len, struct af_ti *ti);
/*
 * The answer to a PATCH of a task instance: the record (v1, v2 before
 * 3.0.2) or a collection of exactly that one record (v2 3.0.2+).
 */
int json_patched_ti(const char *body, size_t len, struct af_ti *ti);
/*
 * links.json: a flat object (v1) or {"extra_links": {...}} (v2) rendered
 * as a pretty object of name -> url|null, final newline.
 */
int json_links(const char *body, size_t len, char **out, size_t *out_len);
/* {"version": "2.10.5", ...} -> "2.10.5" */
int json_version(const char *body, size_t len, char **version);
/*
 * The server's message from an error body: v1 problem+json ("title: detail"
 * or whichever exists), v2 {"detail": str | [{"msg": ...}, ...]}, cut to
 * 300 bytes (ending "..."), control characters as spaces. Returns -EIO
 * when nothing usable is there.
 */
int json_error_message(const char *body, size_t len, char **msg);

#endif
