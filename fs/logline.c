/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One structured record of a v2 log answer rendered as the text of a log
 * file (SPEC.md "logs"): "[timestamp] LEVEL logger - event key=value",
 * then the exception it carries as Python prints a traceback.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>

#include "json.h"
#include "logline.h"
#include "pretty.h"
#include "sbuf.h"

/* a value as text: a string as it is, anything else as JSON */
static void put_text(struct sbuf *b, struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		sb_add(b, json_object_get_string(v),
		       (size_t)json_object_get_string_len(v));
	else
		json_put_line(b, v);
}

/* A member as text, or nothing when it is absent or null. */
static void put_member_text(struct sbuf *b, struct json_object *o,
			    const char *key)
{
	struct json_object *v = json_member(o, key);

	if (v)
		put_text(b, v);
}

/*
 * structlog's error_detail (the exception raised last first, each with
 * is_cause when it was the __cause__ of the one before it in the list) as
 * Python prints the chain: the causes first, each "Traceback (most recent
 * call last):", a "  File ..., line N, in NAME" line per frame and
 * "TYPE: VALUE", with Python's separator between them.
 */
static void put_traceback(struct sbuf *b, struct json_object *detail)
{
	size_t n;

	if (!json_object_is_type(detail, json_type_array))
		return;
	n = json_object_array_length(detail);
	for (size_t k = n; k-- > 0;) {
		struct json_object *e = json_object_array_get_idx(detail, k);
		struct json_object *frames = json_member(e, "frames"), *v;
		size_t vn = 0;

		if (!json_object_is_type(e, json_type_object))
			continue;
		sb_str(b, "Traceback (most recent call last):\n");
		for (size_t i = 0;
		     json_object_is_type(frames, json_type_array) &&
		     i < json_object_array_length(frames);
		     i++) {
			struct json_object *f =
				json_object_array_get_idx(frames, i);

			if (!json_object_is_type(f, json_type_object))
				continue;
			sb_str(b, "  File \"");
			put_member_text(b, f, "filename");
			sb_str(b, "\", line ");
			put_member_text(b, f, "lineno");
			sb_str(b, ", in ");
			put_member_text(b, f, "name");
			sb_add(b, "\n", 1);
		}
		put_member_text(b, e, "exc_type");
		v = json_member(e, "exc_value");
		if (json_object_is_type(v, json_type_string))
			vn = (size_t)json_object_get_string_len(v);
		else if (v)
			vn = 1;
		if (vn) {
			sb_add(b, ": ", 2);
			put_text(b, v);
		}
		sb_add(b, "\n", 1);
		if (k == 0)
			break;
		v = json_member(e, "is_cause");
		if (json_object_is_type(v, json_type_boolean) &&
		    json_object_get_boolean(v))
			sb_str(b, "\nThe above exception was the direct cause "
				  "of the following exception:\n\n");
		else
			sb_str(b, "\nDuring handling of the above exception, "
				  "another exception occurred:\n\n");
	}
}

/*
 * One structured record as SPEC.md says: "[timestamp] LEVEL logger -
 * event", a missing field left out with the separator after it ("] ",
 * " ", " - "); without a timestamp the event alone; then the other keys as
 * " key=value".
 */
static void put_record(struct sbuf *b, struct json_object *rec)
{
	static const char *const shown[] = {"event", "timestamp", "level",
					    "logger"};
	struct json_object_iterator it, end;
	const char *ts, *level, *logger;
	size_t tn = 0, ln = 0, gn = 0;

	if (!json_object_is_type(rec, json_type_object)) {
		if (rec)
			put_text(b, rec);
		sb_add(b, "\n", 1);
		return;
	}
	ts = json_str_member(rec, "timestamp", &tn);
	level = json_str_member(rec, "level", &ln);
	logger = json_str_member(rec, "logger", &gn);
	if (ts) {
		sb_add(b, "[", 1);
		sb_add(b, ts, tn);
		sb_add(b, "] ", 2);
		for (size_t i = 0; level && i < ln; i++) {
			char c = level[i];

			sb_add(b, &(char){c >= 'a' && c <= 'z' ? c - 32 : c},
			       1);
		}
		if (level)
			sb_add(b, " ", 1);
		if (logger) {
			sb_add(b, logger, gn);
			sb_add(b, " - ", 3);
		}
	}
	if (json_member(rec, "event"))
		put_text(b, json_member(rec, "event"));
	it = json_object_iter_begin(rec);
	end = json_object_iter_end(rec);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		size_t i = 0;

		while (i < 4 && strcmp(key, shown[i]))
			i++;
		if (i < 4 || (!strcmp(key, "error_detail") &&
			      json_object_is_type(v, json_type_array)))
			continue;
		sb_add(b, " ", 1);
		sb_str(b, key);
		sb_add(b, "=", 1);
		if (v)
			put_text(b, v);
		else
			sb_str(b, "null");
	}
	sb_add(b, "\n", 1);
	put_traceback(b, json_member(rec, "error_detail"));
}

int json_record_text(const char *rec, size_t len, char **text, size_t *text_len)
{
	struct json_object *o;
	struct sbuf b = {0};
	int e = json_parse(rec, len, &o);

	if (e)
		return e;
	put_record(&b, o);
	json_object_put(o);
	return sb_take(&b, text, text_len);
}

int json_records_text(const char *array, size_t len, char **text,
		      size_t *text_len)
{
	struct json_object *o;
	struct sbuf b = {0};
	int e = json_parse_list(array, len, &o);

	if (e)
		return e;
	for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
		put_record(&b, json_object_array_get_idx(o, i));
	json_object_put(o);
	return sb_take(&b, text, text_len);
}
