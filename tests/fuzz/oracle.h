/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Oracles for the JSON fuzz targets: what fs/decode.c (and fs/json.c,
 * fs/pretty.c) should make of a body, worked out another way. The body is
 * parsed with json-c as json.c parses it (once json_pretty() has accepted
 * it, so the bytes are known to be good JSON), and the fields are then
 * read by these rules, written from decode.h and NOTES.md rather than
 * copied from decode.c. Dates are checked by a parser of their own (index
 * by index, where fs/isotime.c walks a pointer) that also lets glibc's
 * timegm() do the arithmetic.
 */
#ifndef AFS_FUZZ_ORACLE_H
#define AFS_FUZZ_ORACLE_H

#include <limits.h>
#include <time.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>
#include <json-c/json_tokener.h>

#include "decode.h"
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "pretty.h"

/* json.c's nesting limit */
#define ORACLE_DEPTH 64

/*
 * The body as json-c reads it in strict mode, nesting up to depth; NULL
 * when it does not.
 */
static inline struct json_object *
oracle_parse_depth(const char *body, size_t len, int depth, int *ok)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	struct json_object *o;
	enum json_tokener_error e;

	FUZZ_ASSERT(tok != NULL && len < INT_MAX);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	if (e == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
	} else if (e == json_tokener_success &&
		   json_tokener_get_parse_end(tok) != len) {
		e = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	*ok = e == json_tokener_success;
	if (!*ok) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* the body as json.c's parser reads it */
static inline struct json_object *oracle_parse(const char *body, size_t len,
					       int *ok)
{
	return oracle_parse_depth(body, len, ORACLE_DEPTH, ok);
}

/* a member, NULL when absent or null (json.h: null is as absent) */
static inline struct json_object *oracle_get(struct json_object *o,
					     const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* an id: a string without a NUL in it; NULL otherwise */
static inline const char *oracle_id(struct json_object *o, const char *key)
{
	struct json_object *v = oracle_get(o, key);
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

/*
 * An optional string: 1 with *s NULL when absent or null, 1 with *s the
 * string, 0 when it is something else.
 */
static inline int oracle_opt_str(struct json_object *o, const char *key,
				 const char **s)
{
	struct json_object *v = oracle_get(o, key);

	*s = NULL;
	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return 0;
	*s = json_object_get_string(v);
	return 1;
}

/* an optional int: 1 with def when absent or null, 0 when not an int */
static inline int oracle_int(struct json_object *o, const char *key, int def,
			     int *out)
{
	struct json_object *v = oracle_get(o, key);
	int64_t x;

	*out = def;
	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_int))
		return 0;
	x = json_object_get_int64(v);
	if (x < INT_MIN || x > INT_MAX)
		return 0;
	*out = (int)x;
	return 1;
}

/* total_entries: 1 with the count (n when absent or null), 0 when bad */
static inline int oracle_total(struct json_object *o, size_t n, long *total)
{
	struct json_object *v = oracle_get(o, "total_entries");
	int64_t x;

	if (!v) {
		*total = (long)n;
		return 1;
	}
	if (!json_object_is_type(v, json_type_int))
		return 0;
	x = json_object_get_int64(v);
	if (x < 0)
		return 0;
	*total = (long)x;
	return 1;
}

/* k digits at s[at..]: 1 with their value */
static inline int oracle_digits(const char *s, size_t n, size_t at, size_t k,
				int *v)
{
	*v = 0;
	if (at > n || n - at < k)
		return 0;
	for (size_t i = at; i < at + k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/*
 * A date as fs/isotime.c takes it (isotime.h):
 * YYYY-MM-DD, then T, t or a space, HH:MM, optionally :SS and then
 * optionally . or , and digits, then Z, z, +HH, +HHMM, +HH:MM (or -) or
 * nothing (UTC). Fields in their ranges (a leap second allowed), the day
 * in its month. 1 with the time, 0 when it is not such a date.
 */
static inline int oracle_time(const char *s, size_t n, time_t *t)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0, leap, dim;
	size_t i;
	struct tm tm;

	if (!oracle_digits(s, n, 0, 4, &y) || n < 16 || s[4] != '-' ||
	    !oracle_digits(s, n, 5, 2, &mo) || s[7] != '-' ||
	    !oracle_digits(s, n, 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !oracle_digits(s, n, 11, 2, &h) || s[13] != ':' ||
	    !oracle_digits(s, n, 14, 2, &mi))
		return 0;
	i = 16;
	if (i < n && s[i] == ':') {
		if (!oracle_digits(s, n, 17, 2, &sec))
			return 0;
		i = 19;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			size_t j = ++i;

			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			if (i == j)
				return 0;
		}
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '-' ? -1 : 1;
		if (!oracle_digits(s, n, i + 1, 2, &oh))
			return 0;
		i += 3;
		if (i < n) {
			if (s[i] == ':')
				i++;
			if (!oracle_digits(s, n, i, 2, &om))
				return 0;
			i += 2;
		}
	}
	if (i != n)
		return 0;
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	dim = mo >= 1 && mo <= 12 ? mdays[mo - 1] + (mo == 2 && leap) : 0;
	if (d < 1 || d > dim || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
	    om > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 1;
}

/*
 * The mtime from the first of keys that holds a date: 1 with it (0 when
 * none does), 0 when one of them, before that, is not a string.
 */
static inline int oracle_mtime(struct json_object *o, const char *const *keys,
			       time_t *t)
{
	struct json_object *v;

	*t = 0;
	for (; *keys; keys++) {
		v = oracle_get(o, *keys);
		if (!v)
			continue;
		if (!json_object_is_type(v, json_type_string))
			return 0;
		if (oracle_time(json_object_get_string(v),
				(size_t)json_object_get_string_len(v), t))
			return 1;
		*t = 0;
	}
	return 1;
}

/* One value as compact JSON, for feeding it to a decoder of its own. */
static inline const char *oracle_text(struct json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN, len);

	FUZZ_ASSERT(s != NULL);
	return s;
}

/* json_pretty() of n bytes, which must be good: the rendering */
static inline char *oracle_pretty(const char *s, size_t n, size_t *len)
{
	char *out = NULL;

	FUZZ_ASSERT(json_pretty(s, n, &out, len) == 0);
	FUZZ_ASSERT(out && strlen(out) == *len);
	return out;
}

/* one DAGRun record: 0 with its id and mtime, or -EIO */
static inline int oracle_run(struct json_object *o, const char **id,
			     time_t *mtime)
{
	static const char *const dates[] = {"start_date", "logical_date",
					    "execution_date", "run_after",
					    NULL};

	if (!json_object_is_type(o, json_type_object) ||
	    !oracle_mtime(o, dates, mtime))
		return -EIO;
	*id = oracle_id(o, "dag_run_id");
	return *id ? 0 : -EIO;
}

/* what a TaskInstance record should decode to */
struct oracle_ti {
	const char *task_id;
	const char *state;
	const char *note;
	int map_index;
	int try_number;
	time_t mtime;
};

/* one TaskInstance record: 0 with its fields, or -EIO */
static inline int oracle_ti(struct json_object *o, struct oracle_ti *t)
{
	static const char *const dates[] = {"end_date", "start_date", NULL};

	memset(t, 0, sizeof(*t));
	if (!json_object_is_type(o, json_type_object) ||
	    !oracle_int(o, "map_index", -1, &t->map_index) ||
	    !oracle_int(o, "try_number", 0, &t->try_number) ||
	    !oracle_mtime(o, dates, &t->mtime) ||
	    !oracle_opt_str(o, "state", &t->state) ||
	    !oracle_opt_str(o, "note", &t->note))
		return -EIO;
	t->task_id = oracle_id(o, "task_id");
	return t->task_id ? 0 : -EIO;
}

/*
 * A decoded TI against the oracle's, and its info.json against the
 * rendering of the record (want_info, NUL-terminated).
 */
static inline void oracle_check_ti(const struct af_ti *ti,
				   const struct oracle_ti *w,
				   const char *want_info)
{
	FUZZ_ASSERT(fuzz_same_str(ti->task_id, w->task_id));
	FUZZ_ASSERT(fuzz_same_str(ti->state, w->state));
	FUZZ_ASSERT(fuzz_same_str(ti->note, w->note));
	FUZZ_ASSERT(ti->map_index == w->map_index);
	FUZZ_ASSERT(ti->try_number == w->try_number);
	FUZZ_ASSERT(ti->mtime == w->mtime);
	FUZZ_ASSERT(ti->info && strlen(ti->info) == ti->info_len);
	FUZZ_ASSERT(ti->info_len > 0 && ti->info[ti->info_len - 1] == '\n');
	FUZZ_ASSERT(strcmp(ti->info, want_info) == 0);
}

/* two decodings of the same TI */
static inline void oracle_same_ti(const struct af_ti *a, const struct af_ti *b)
{
	FUZZ_ASSERT(fuzz_same_str(a->task_id, b->task_id));
	FUZZ_ASSERT(fuzz_same_str(a->state, b->state));
	FUZZ_ASSERT(fuzz_same_str(a->note, b->note));
	FUZZ_ASSERT(a->map_index == b->map_index);
	FUZZ_ASSERT(a->try_number == b->try_number);
	FUZZ_ASSERT(a->mtime == b->mtime);
	FUZZ_ASSERT(a->info_len == b->info_len);
	FUZZ_ASSERT(fuzz_same_str(a->info, b->info));
}

#endif
