/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Airflow API answers (v1 and v2 shapes) read into the structs of model.h;
 * see decode.h. Each body is parsed (json.h), read and freed before
 * returning; every string that leaves is a copy.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>

#include "decode.h"
#include "isotime.h"
#include "json.h"
#include "pretty.h"
#include "sbuf.h"

/* longest server message handed to the log, in bytes */
#define MSG_CAP 300

/* ------------------------------------------------------------------ */
/* Fields */

static int dup_mem(const char *s, size_t n, char **out)
{
	char *p = malloc(n + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, s, n);
	p[n] = '\0';
	*out = p;
	return 0;
}

/*
 * An id (dag_id, dag_run_id, task_id): a required string. One with a NUL
 * in it could only be shown cut short, as some other id.
 */
static int get_id(struct json_object *o, const char *key, char **out)
{
	struct json_object *v = json_member(o, key);
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return -EIO;
	n = (size_t)json_object_get_string_len(v);
	if (memchr(json_object_get_string(v), '\0', n))
		return -EIO;
	return dup_mem(json_object_get_string(v), n, out);
}

/* an optional string: absent or null gives NULL */
static int get_opt_str(struct json_object *o, const char *key, char **out)
{
	struct json_object *v = json_member(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EIO;
	return dup_mem(json_object_get_string(v),
		       (size_t)json_object_get_string_len(v), out);
}

/* an optional integer that fits an int: absent or null gives def */
static int get_int(struct json_object *o, const char *key, int def, int *out)
{
	struct json_object *v = json_member(o, key);
	int64_t x;

	*out = def;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EIO;
	x = json_object_get_int64(v);
	if (x < INT_MIN || x > INT_MAX)
		return -EIO;
	*out = (int)x;
	return 0;
}

/* total_entries: a count; when absent, the number of items received */
static int get_total(struct json_object *o, size_t n, long *total)
{
	struct json_object *v = json_member(o, "total_entries");
	int64_t x;

	if (!v) {
		x = n > LONG_MAX ? LONG_MAX : (int64_t)n;
	} else {
		if (!json_object_is_type(v, json_type_int))
			return -EIO;
		x = json_object_get_int64(v);
		if (x < 0 || x > LONG_MAX)
			return -EIO;
	}
	*total = (long)x;
	return 0;
}

/*
 * The first of the keys that holds a date, else 0. A date that is not a
 * string is -EIO; one that does not parse is passed over (it only costs
 * an mtime).
 */
static int get_mtime(struct json_object *o, const char *const *keys, time_t *t)
{
	struct json_object *v;

	*t = 0;
	for (; *keys; keys++) {
		v = json_member(o, *keys);
		if (!v)
			continue;
		if (!json_object_is_type(v, json_type_string))
			return -EIO;
		if (!isotime_parse(json_object_get_string(v),
				   (size_t)json_object_get_string_len(v), t))
			return 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Records */

static int run_from(struct json_object *o, struct af_run *run)
{
	static const char *const dates[] = {"start_date", "logical_date",
					    "execution_date", "run_after",
					    NULL};
	struct af_run r = {0};
	int e;

	if (!json_object_is_type(o, json_type_object))
		return -EIO;
	e = get_mtime(o, dates, &r.mtime);
	if (!e)
		e = get_id(o, "dag_run_id", &r.run_id);
	if (!e)
		e = get_opt_str(o, "state", &r.state);
	if (!e)
		e = get_opt_str(o, "note", &r.note);
	if (!e && json_member(o, "conf")) {
		e = json_render(json_member(o, "conf"), &r.conf, &r.conf_len);
	} else if (!e) {
		r.conf_len = 3;
		e = dup_mem("{}\n", 3, &r.conf);
	}
	if (!e)
		e = json_render(o, &r.info, &r.info_len);
	if (e) {
		af_run_clear(&r);
		return e;
	}
	*run = r;
	return 0;
}

static int ti_from(struct json_object *o, struct af_ti *ti)
{
	static const char *const dates[] = {"end_date", "start_date", NULL};
	/* v1 says execution_date; v2 logical_date, which may be null */
	static const char *const run_dates[] = {
		"logical_date", "execution_date", "run_after", NULL};
	struct af_ti t = {0};
	int e;

	if (!json_object_is_type(o, json_type_object))
		return -EIO;
	e = get_int(o, "map_index", -1, &t.map_index);
	if (!e)
		e = get_int(o, "try_number", 0, &t.try_number);
	if (!e)
		e = get_mtime(o, dates, &t.mtime);
	if (!e)
		e = get_mtime(o, run_dates, &t.run_date);
	if (!e)
		e = get_id(o, "task_id", &t.task_id);
	if (!e)
		e = get_opt_str(o, "dag_id", &t.dag_id);
	if (!e)
		e = get_opt_str(o, "dag_run_id", &t.run_id);
	if (!e)
		e = get_opt_str(o, "state", &t.state);
	if (!e)
		e = get_opt_str(o, "note", &t.note);
	if (!e)
		e = json_render(o, &t.info, &t.info_len);
	if (e) {
		af_ti_clear(&t);
		return e;
	}
	*ti = t;
	return 0;
}

/* the array under key, and total_entries */
static int get_list(struct json_object *o, const char *key,
		    struct json_object **arr, size_t *n, long *total)
{
	*arr = json_member(o, key);
	if (!json_object_is_type(*arr, json_type_array))
		return -EIO;
	*n = json_object_array_length(*arr);
	return get_total(o, *n, total);
}

int json_dags(const char *body, size_t len, struct af_names *out, long *total)
{
	struct json_object *o, *arr;
	struct af_names names = {0};
	size_t i, n;
	long tot;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	e = get_list(o, "dags", &arr, &n, &tot);
	if (!e && n) {
		names.v = calloc(n, sizeof(*names.v));
		if (!names.v)
			e = -ENOMEM;
	}
	for (i = 0; !e && i < n; i++) {
		struct json_object *d = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(d, json_type_object))
			e = -EIO;
		else
			e = get_id(d, "dag_id", &names.v[i]);
		if (!e)
			names.n++;
	}
	json_object_put(o);
	if (e) {
		af_names_clear(&names);
		return e;
	}
	*out = names;
	if (total)
		*total = tot;
	return 0;
}

/* Decodes one element of a list into out. */
typedef int (*record_fn)(struct json_object *o, void *out);

/*
 * The records of the array under key, each decoded by fn into an array of
 * size-byte elements; on failure those already decoded are freed by clear.
 */
static int records(const char *body, size_t len, const char *key, size_t size,
		   record_fn fn, void (*clear)(void *), void **out, size_t *n,
		   long *total)
{
	struct json_object *o, *arr;
	size_t i, cnt, done = 0;
	char *v = NULL;
	long tot;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	e = get_list(o, key, &arr, &cnt, &tot);
	if (!e && cnt) {
		v = calloc(cnt, size);
		if (!v)
			e = -ENOMEM;
	}
	for (i = 0; !e && i < cnt; i++, done++)
		e = fn(json_object_array_get_idx(arr, i), v + i * size);
	json_object_put(o);
	if (e) {
		for (i = 0; i < done; i++)
			clear(v + i * size);
		free(v);
		return e;
	}
	*out = v;
	*n = cnt;
	if (total)
		*total = tot;
	return 0;
}

/* A body that is one record, decoded by from into out. */
static int one(const char *body, size_t len,
	       int (*from)(struct json_object *o, void *out), void *out)
{
	struct json_object *o;
	int e = json_parse_object(body, len, &o);

	if (e)
		return e;
	e = from(o, out);
	json_object_put(o);
	return e;
}

static int run_record(struct json_object *o, void *out)
{
	return run_from(o, out);
}

static void run_clear(void *run)
{
	af_run_clear(run);
}

int json_runs(const char *body, size_t len, struct af_run **runs, size_t *n,
	      long *total)
{
	void *v;
	int e = records(body, len, "dag_runs", sizeof(**runs), run_record,
			run_clear, &v, n, total);

	if (!e)
		*runs = v;
	return e;
}

int json_run(const char *body, size_t len, struct af_run *run)
{
	return one(body, len, run_record, run);
}

static int ti_record(struct json_object *o, void *out)
{
	return ti_from(o, out);
}

static void ti_clear(void *ti)
{
	af_ti_clear(ti);
}

int json_tis(const char *body, size_t len, struct af_ti **tis, size_t *n,
	     long *total)
{
	void *v;
	int e = records(body, len, "task_instances", sizeof(**tis), ti_record,
			ti_clear, &v, n, total);

	if (!e)
		*tis = v;
	return e;
}

int json_ti(const char *body, size_t len, struct af_ti *ti)
{
	return one(body, len, ti_record, ti);
}

int json_patched_ti(const char *body, size_t len, struct af_ti *ti)
{
	struct json_object *o, *arr;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	arr = json_member(o, "task_instances");
	if (json_object_is_type(arr, json_type_array))
		e = json_object_array_length(arr) == 1
			    ? ti_from(json_object_array_get_idx(arr, 0), ti)
			    : -EIO;
	else
		e = ti_from(o, ti);
	json_object_put(o);
	return e;
}

int json_dag(const char *body, size_t len, struct af_dag *dag)
{
	struct json_object *o, *v;
	struct af_dag d = {0};
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	v = json_member(o, "is_paused");
	if (v && !json_object_is_type(v, json_type_boolean) &&
	    !json_object_is_type(v, json_type_null))
		e = -EIO;
	d.is_paused = v && json_object_get_boolean(v);
	if (!e)
		e = json_render(o, &d.info, &d.info_len);
	json_object_put(o);
	if (e) {
		af_dag_clear(&d);
		return e;
	}
	*dag = d;
	return 0;
}

static int ref_record(struct json_object *o, void *out)
{
	struct af_ref *r = out;
	int e;

	if (!json_object_is_type(o, json_type_object))
		return -EIO;
	e = get_id(o, "dag_run_id", &r->run_id);
	if (!e)
		e = get_id(o, "task_id", &r->task_id);
	return e;
}

static void ref_clear(void *ref)
{
	struct af_ref *r = ref;

	free(r->run_id);
	free(r->task_id);
	memset(r, 0, sizeof(*r));
}

int json_refs(const char *body, size_t len, struct af_ref **refs, size_t *n)
{
	void *v = NULL;
	int e = records(body, len, "task_instances", sizeof(**refs), ref_record,
			ref_clear, &v, n, NULL);

	if (!e)
		*refs = v;
	return e;
}

/* ------------------------------------------------------------------ */
/* links.json, version, errors */

static int links_are_urls(struct json_object *o)
{
	struct json_object_iterator it, end;
	struct json_object *v;

	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (v && !json_object_is_type(v, json_type_string))
			return 0;
	}
	return 1;
}

/*
 * The v1 spec's shape, [{"name": ..., "href": ...}, ...], which no real
 * server sends but a mock built from the spec does: made into the flat
 * object.
 */
static int links_from_spec(struct json_object *arr, struct json_object **out)
{
	struct json_object *o, *item, *name, *href;
	size_t i, n = json_object_array_length(arr);

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object))
			goto eio;
		name = json_member(item, "name");
		href = json_member(item, "href");
		if (!json_object_is_type(name, json_type_string) ||
		    (href && !json_object_is_type(href, json_type_string)))
			goto eio;
		if (json_object_object_add(o, json_object_get_string(name),
					   json_object_get(href))) {
			json_object_put(href);
			json_object_put(o);
			return -ENOMEM;
		}
	}
	*out = o;
	return 0;
eio:
	json_object_put(o);
	return -EIO;
}

int json_links(const char *body, size_t len, char **out, size_t *out_len)
{
	struct json_object *o, *links, *made = NULL;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	links = json_member(o, "extra_links");
	if (json_object_is_type(links, json_type_array)) {
		e = links_from_spec(links, &made);
		links = made;
	} else if (!json_object_is_type(links, json_type_object)) {
		links = o; /* v1: flat (a link may be named "extra_links") */
	}
	if (!e && !links_are_urls(links))
		e = -EIO;
	if (!e)
		e = json_render(links, out, out_len);
	json_object_put(made);
	json_object_put(o);
	return e;
}

int json_version(const char *body, size_t len, char **version)
{
	struct json_object *o, *v;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	v = json_member(o, "version");
	/* what is copied ends at a NUL: "\u0000..." is no version either */
	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string(v)[0] == '\0')
		e = -EIO;
	else
		e = dup_mem(json_object_get_string(v),
			    strlen(json_object_get_string(v)), version);
	json_object_put(o);
	return e;
}

/* a non-empty string member, or NULL */
static const char *text_member(struct json_object *o, const char *key,
			       size_t *n)
{
	const char *s = json_str_member(o, key, n);

	return s && *n ? s : NULL;
}

/* detail: a string, [{"msg": ...}, ...] joined by "; " (v2), or JSON */
static void put_detail(struct sbuf *b, struct json_object *o)
{
	struct json_object *d = json_member(o, "detail");
	const char *s;
	size_t i, n, before = b->len;

	if (json_object_is_type(d, json_type_string)) {
		sb_add(b, json_object_get_string(d),
		       (size_t)json_object_get_string_len(d));
		return;
	}
	if (json_object_is_type(d, json_type_array)) {
		for (i = 0; i < json_object_array_length(d); i++) {
			struct json_object *item =
				json_object_array_get_idx(d, i);

			if (!json_object_is_type(item, json_type_object))
				continue;
			s = text_member(item, "msg", &n);
			if (!s)
				continue;
			if (b->len > before)
				sb_add(b, "; ", 2);
			sb_add(b, s, n);
		}
		if (b->len > before || b->err)
			return;
	}
	if (json_object_is_type(d, json_type_array) ||
	    json_object_is_type(d, json_type_object))
		json_put_line(b, d);
}

int json_error_message(const char *body, size_t len, char **msg)
{
	struct json_object *o;
	struct sbuf b = {0};
	const char *title;
	size_t i, tlen = 0, dlen;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	put_detail(&b, o);
	dlen = b.len;
	title = text_member(o, "title", &tlen);
	if (title && !b.err &&
	    !(dlen == tlen && memcmp(b.p, title, tlen) == 0)) {
		/* v1 problem+json: "title: detail" */
		struct sbuf t = {0};

		sb_add(&t, title, tlen);
		if (dlen) {
			sb_add(&t, ": ", 2);
			sb_add(&t, b.p, dlen);
		}
		free(b.p);
		b = t;
	}
	json_object_put(o);
	if (!b.err && b.len == 0)
		b.err = -EIO;
	if (!b.err && b.len > MSG_CAP) {
		b.len = MSG_CAP - 3;
		while (b.len > 0 && ((unsigned char)b.p[b.len] & 0xc0) == 0x80)
			b.len--;
		sb_add(&b, "...", 3);
	}
	for (i = 0; !b.err && i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20 || b.p[i] == 0x7f)
			b.p[i] = ' ';
	return sb_take(&b, msg, NULL);
}
