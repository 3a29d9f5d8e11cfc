/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Freeing the plain structs of model.h. Every function accepts NULL and
 * structs that were only partly filled, and leaves zeroed memory behind so
 * that a second clear is harmless.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

void af_names_clear(struct af_names *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n && n->v; i++)
		free(n->v[i]);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

void af_run_clear(struct af_run *r)
{
	if (!r)
		return;
	free(r->run_id);
	free(r->state);
	free(r->note);
	free(r->conf);
	free(r->info);
	memset(r, 0, sizeof(*r));
}

void af_dag_clear(struct af_dag *d)
{
	if (!d)
		return;
	free(d->info);
	memset(d, 0, sizeof(*d));
}

void af_refs_free(struct af_ref **v, size_t n)
{
	size_t i;

	if (!v || !*v)
		return;
	for (i = 0; i < n; i++) {
		free((*v)[i].run_id);
		free((*v)[i].task_id);
	}
	free(*v);
	*v = NULL;
}

void af_ti_clear(struct af_ti *t)
{
	if (!t)
		return;
	free(t->task_id);
	free(t->dag_id);
	free(t->run_id);
	free(t->state);
	free(t->note);
	free(t->info);
	memset(t, 0, sizeof(*t));
}

static int dup_str(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -1 : 0;
}

int af_ti_dup(const struct af_ti *t, struct af_ti *out)
{
	*out = *t;
	out->task_id = out->dag_id = out->run_id = out->state = out->note =
		out->info = NULL;
	if (dup_str(t->task_id, &out->task_id) ||
	    dup_str(t->dag_id, &out->dag_id) ||
	    dup_str(t->run_id, &out->run_id) ||
	    dup_str(t->state, &out->state) || dup_str(t->note, &out->note) ||
	    (t->info && !(out->info = malloc(t->info_len + 1)))) {
		af_ti_clear(out);
		return -1;
	}
	if (t->info) {
		memcpy(out->info, t->info, t->info_len);
		out->info[t->info_len] = '\0';
	}
	return 0;
}

void af_runs_free(struct af_run **v, size_t n)
{
	size_t i;

	if (!v || !*v)
		return;
	for (i = 0; i < n; i++)
		af_run_clear(&(*v)[i]);
	free(*v);
	*v = NULL;
}

void af_tis_free(struct af_ti **v, size_t n)
{
	size_t i;

	if (!v || !*v)
		return;
	for (i = 0; i < n; i++)
		af_ti_clear(&(*v)[i]);
	free(*v);
	*v = NULL;
}

const char *const af_states[] = {"deferred",
				 "failed",
				 "queued",
				 "removed",
				 "restarting",
				 "running",
				 "scheduled",
				 "skipped",
				 "success",
				 "up_for_reschedule",
				 "up_for_retry",
				 "upstream_failed",
				 NULL};

int af_ti_where_cmp(const struct af_ti *a, const struct af_ti *b)
{
	int c = strcmp(a->dag_id ? a->dag_id : "", b->dag_id ? b->dag_id : "");

	if (!c)
		c = strcmp(a->run_id ? a->run_id : "",
			   b->run_id ? b->run_id : "");
	return c ? c : af_ti_cmp(a, b);
}

int af_try_over(const char *state)
{
	static const char *const done[] = {"success", "failed",
					   "skipped", "upstream_failed",
					   "removed", "up_for_retry"};

	for (size_t i = 0; state && i < sizeof(done) / sizeof(*done); i++)
		if (!strcmp(state, done[i]))
			return 1;
	return 0;
}

int af_ti_cmp(const struct af_ti *a, const struct af_ti *b)
{
	int c = strcmp(a->task_id, b->task_id);

	return c ? c
		 : (a->map_index > b->map_index) -
			       (a->map_index < b->map_index);
}
