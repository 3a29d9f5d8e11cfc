/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding of Airflow API answers (v1 and v2 shapes) into the structs of
 * model.h, and JSON rendering for the files users read. No json_object
 * leaves this file. All functions return 0 or -EIO for a body that is not
 * the expected JSON (wrong types, truncated, not JSON), -ENOMEM on
 * allocation failure; outputs are only set on success and are owned by the
 * caller.
 */
#ifndef AFS_JSON_H
#define AFS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/*
 * About the bytes json-c would take to decode body; every decoder here
 * refuses (-EIO) a body whose cost is over JSON_COST_MAX, before parsing.
 */
#define JSON_COST_MAX ((size_t)32 << 20)
size_t json_decode_cost(const char *body, size_t len);

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
/*
 * One record of a v2 log answer (an object, or a plain string) rendered as
 * text, one line, as SPEC.md "logs" says.
 */
int json_record_text(const char *rec, size_t len, char **text,
		     size_t *text_len);
/* {"version": "2.10.5", ...} -> "2.10.5" */
int json_version(const char *body, size_t len, char **version);
/*
 * The server's message from an error body: v1 problem+json ("title: detail"
 * or whichever exists), v2 {"detail": str | [{"msg": ...}, ...]}. Returns
 * -EIO when nothing usable is there.
 */
int json_error_message(const char *body, size_t len, char **msg);

/* {"access_token": "..."}: the token of a v2 login. */
int json_access_token(const char *body, size_t len, char **token);
/* The iat and exp claims of a JWT (iat 0 when absent); -EIO without exp. */
int json_jwt_times(const char *jwt, int64_t *iat, int64_t *exp);

/*
 * A JSON string literal, quotes included, for len bytes of s (escaped as
 * json_pretty escapes strings). *out is malloc'd.
 */
int json_quote(const char *s, size_t len, char **out);

/*
 * Pretty-printing as Python's json.dumps(v, indent=2, ensure_ascii=False):
 * two-space indent, "key": value, {} and [] when empty, UTF-8 as is, '/'
 * not escaped, keys in the server's order; a final newline is appended.
 */
int json_pretty(const char *body, size_t len, char **out, size_t *out_len);

#endif
