/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plain structs describing what airflowfs shows of an Airflow deployment,
 * independent of the API version. Strings are heap copies owned by the
 * struct; the *_clear functions free them and zero the struct.
 */
#ifndef AFS_MODEL_H
#define AFS_MODEL_H

#include <stddef.h>
#include <time.h>

struct af_names {
	char **v;
	size_t n;
};

struct af_run {
	char *run_id;
	time_t mtime; /* start_date, else logical/execution date, else 0 */
	char *state;  /* NULL when absent or null */
	char *note;   /* NULL when the API says null */
	char *conf;   /* the conf, pretty-printed, final newline */
	size_t conf_len;
	char *info; /* the record, pretty-printed, final newline */
	size_t info_len;
};

/* A DAG record (GET /dags/D). */
struct af_dag {
	int is_paused;
	char *info; /* the record, pretty-printed, final newline */
	size_t info_len;
};

/* What a clear touched: a task instance reference. */
struct af_ref {
	char *run_id;
	char *task_id;
};

struct af_ti {
	char *task_id;
	int map_index;	       /* -1: not mapped */
	char *dag_id, *run_id; /* as the record says; NULL when it does not */
	char *state;	       /* NULL when the API says null */
	char *note;	       /* NULL when the API says null */
	int try_number;
	time_t mtime;	 /* end_date, else start_date, else 0 */
	time_t run_date; /* its run's logical date (v2: else run_after), or 0 */
	char *info;	 /* the record, pretty-printed, final newline */
	size_t info_len;
};

/* Task instances of one run in order: by task_id, then map_index. */
int af_ti_cmp(const struct af_ti *a, const struct af_ti *b);
/* Across runs: by dag_id, run_id (a missing one first), then as af_ti_cmp. */
int af_ti_where_cmp(const struct af_ti *a, const struct af_ti *b);
/* Airflow's task states (the directories of @by-state), NULL-terminated. */
extern const char *const af_states[];
/* Whether a task instance in state has ended its current try for good. */
int af_try_over(const char *state);

void af_names_clear(struct af_names *n);
void af_dag_clear(struct af_dag *d);
void af_refs_free(struct af_ref **v, size_t n);
void af_run_clear(struct af_run *r);
void af_ti_clear(struct af_ti *t);
/* A deep copy of t into out; -1 (out zeroed) when memory ran out. */
int af_ti_dup(const struct af_ti *t, struct af_ti *out);
void af_runs_free(struct af_run **v, size_t n);
void af_tis_free(struct af_ti **v, size_t n);

#endif
