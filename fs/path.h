/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure string work on names: which Airflow ids can be file names, what a
 * name in a task instance directory means, canonical numbers, and the
 * percent-encoding of ids going into URLs. No FUSE, no I/O.
 */
#ifndef AFS_PATH_H
#define AFS_PATH_H

#include <stddef.h>

enum ti_file {
	TI_NONE = 0,
	TI_STATE,
	TI_NOTE,
	TI_LINKS,
	TI_INFO,
	TI_LOGS,
	/* airflowfs's own files of a run and of a DAG (names begin with @) */
	RUN_STATE,
	RUN_NOTE,
	RUN_CONF,
	RUN_INFO,
	DAG_PAUSED,
	DAG_INFO,
};

/*
 * 1 when an id can be shown as a name: not empty, at most 255 bytes, no
 * '/' or control character, not . or ..
 */
int path_id_ok(const char *id);
/* The file a name stands for in a task instance directory, or TI_NONE. */
enum ti_file path_ti_file(const char *name);
/*
 * Whether name is a typo of a task instance file that must not become a
 * scratch file: state, note, info.json or links.json in other letter case,
 * or states or notes (in any case).
 */
int path_ti_lookalike(const char *name);
/* The fixed name of a task instance file. */
const char *path_ti_file_name(enum ti_file f);
/* The file a name stands for in a run directory (RUN_*), or TI_NONE. */
enum ti_file path_run_file(const char *name);
/* The file a name stands for in a DAG directory (DAG_*), or TI_NONE. */
enum ti_file path_dag_file(const char *name);
/* The name of any file of enum ti_file. */
const char *path_file_name(enum ti_file f);
/* Whether f is written as a state (one word) or as a note (text). */
int path_file_is_state(enum ti_file f);
int path_file_is_note(enum ti_file f);
/*
 * Parses a canonical decimal (no sign, no leading zero unless "0", at most
 * 9 digits) into *n. Returns 0 or -1.
 */
int path_number(const char *name, int *n);
/*
 * Appends id percent-encoded (all but A-Z a-z 0-9 - . _ ~) to out, which
 * has room for cap bytes including the NUL. Returns the new length, or -1
 * when it does not fit (out is then unchanged beyond len).
 */
long path_escape(char *out, size_t len, size_t cap, const char *id);

#endif
