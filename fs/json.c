/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding of Airflow API answers with json-c, the only file that sees a
 * json_object: bodies are parsed strictly (length given, no trailing
 * bytes, a nesting limit), read into the structs of model.h, and freed
 * before returning; every string that leaves is a copy.
 *
 * The files users read (info.json, links.json) are rendered by our own
 * printer, which writes what Python's json.dumps(v, indent=2,
 * ensure_ascii=False) writes for the same document: json-c's pretty mode
 * spaces differently, escapes '/', and prints doubles its own way.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>
#include <json-c/json_tokener.h>

#include "b64.h"
#include "json.h"

/* nesting limit for parsing, so printing recurses at most this deep */
#define JSON_MAX_DEPTH 64
/*
 * What json-c may take to decode one answer, estimated by json_decode_cost():
 * measured with json-c 0.16 (glibc malloc), a value costs about 72-88
 * bytes, an array 152, an object 792 (its hash table), a member 200 more.
 * A 2 MB list of zeros would take 150 MB; a real page of 100 task
 * instances takes about 1 MB.
 */
#define COST_VALUE  96
#define COST_ARRAY  160
#define COST_OBJECT 800
#define COST_MEMBER 128
/* longest server message handed to the log, in bytes */
#define MSG_CAP 300

/* a growing output buffer; the first failure sticks in err */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->err)
		return;
	if (n >= b->cap - b->len) { /* always room for the final NUL */
		ncap = b->cap ? b->cap : 256;
		while (n >= ncap - b->len) {
			if (ncap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			ncap *= 2;
		}
		np = realloc(b->p, ncap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* hands the NUL-terminated buffer over, or frees it on error */
static int sb_take(struct sbuf *b, char **out, size_t *out_len)
{
	sb_add(b, "", 0);
	if (b->err) {
		free(b->p);
		return b->err;
	}
	b->p[b->len] = '\0';
	*out = b->p;
	if (out_len)
		*out_len = b->len;
	return 0;
}

/*
 * What json-c lets through even in strict mode and Python's json does
 * not: a single-quoted object key (0.16 to 0.19 at least), a raw control
 * character inside a string (before 0.18).
 */
static int lax_strings(const char *s, size_t n)
{
	int in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!in_str) {
			if (c == '\'')
				return 1;
			in_str = c == '"';
		} else if (c < 0x20) {
			return 1;
		} else if (c == '\\') {
			i++;
		} else if (c == '"') {
			in_str = 0;
		}
	}
	return 0;
}

/*
 * See json.h. About the bytes json-c would allocate for s: every value
 * (a ',' or an opening bracket starts one more), object and member, and a
 * copy of the text. Strings are skipped; the text need not be valid.
 */
size_t json_decode_cost(const char *s, size_t n)
{
	size_t cost = n + COST_VALUE;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case ',':
			cost += COST_VALUE;
			break;
		case ':':
			cost += COST_MEMBER;
			break;
		case '[':
			cost += COST_ARRAY + COST_VALUE;
			break;
		case '{':
			cost += COST_OBJECT + COST_VALUE;
			break;
		}
	}
	return cost;
}

/*
 * Whether s is well-formed UTF-8 (RFC 3629: no overlong form, surrogate or
 * code point past U+10FFFF), as JSON text must be. json-c takes any byte
 * in a string, and its JSON_TOKENER_VALIDATE_UTF8 lets overlong forms and
 * surrogates through.
 */
static int utf8_ok(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0;
		/* the first continuation byte's range rules out overlong
		 * forms, surrogates and code points past U+10FFFF */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/*
 * Parses exactly len bytes. JSON null gives 0 with *out NULL. A value
 * without an end of its own (a bare number, "null") only ends at the end
 * of the input, which json-c learns from a NUL fed in a second call.
 */
static int parse(const char *body, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;

	if (len >= INT_MAX || (!body && len) || lax_strings(body, len) ||
	    !utf8_ok(body, len) || json_decode_cost(body, len) > JSON_COST_MAX)
		return -EIO;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* strict: no comments, single quotes, trailing commas or bytes */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body ? body : "", (int)len);
	e = json_tokener_get_error(tok);
	if (e == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
	} else if (e == json_tokener_success &&
		   json_tokener_get_parse_end(tok) != len) {
		e = json_tokener_error_parse_unexpected; /* a NUL byte */
	}
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		return -EIO;
	}
	*out = o;
	return 0;
}

static int parse_object(const char *body, size_t len, struct json_object **out)
{
	int r = parse(body, len, out);

	if (r)
		return r;
	if (!json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		return -EIO;
	}
	return 0;
}

/* a member's value, NULL when absent or null */
static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* ------------------------------------------------------------------ */
/* Printing as Python's json.dumps */

static void put_indent(struct sbuf *b, int level)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)level * 2;

	sb_add(b, "\n", 1);
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		sb_add(b, spaces, k);
		n -= k;
	}
}

/* "\"", "\\", \n \r \t \b \f, other controls as \u00xx; the rest as is */
static void put_string(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[7];
	unsigned char ch;

	sb_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sb_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (ch) {
		case '"':
		case '\\':
			esc[1] = (char)ch;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			sb_add(b, esc, 6);
			continue;
		}
		sb_add(b, esc, 2);
	}
	sb_add(b, s + run, n - run);
	sb_add(b, "\"", 1);
}

int json_quote(const char *s, size_t len, char **out)
{
	struct sbuf b = {0};

	put_string(&b, s, len);
	return sb_take(&b, out, NULL);
}

static void put_int(struct sbuf *b, struct json_object *o)
{
	int64_t v = json_object_get_int64(o);
	char tmp[32];

	/* json-c clamps a uint64 above INT64_MAX to INT64_MAX here */
	if (v == INT64_MAX)
		snprintf(tmp, sizeof(tmp), "%" PRIu64,
			 json_object_get_uint64(o));
	else
		snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	sb_str(b, tmp);
}

/*
 * Python's repr(float): the shortest digits that read back as the same
 * double, positional when the decimal point falls within -4 < decpt <= 16
 * (with ".0" when integral), otherwise d[.ddd]e[+-]XX.
 */
static void put_double(struct sbuf *b, double d)
{
	char tmp[40], digits[24], out[48];
	int p, nd = 0, decpt, i, k = 0;
	const char *q;

	if (isnan(d)) {
		sb_str(b, "NaN");
		return;
	}
	if (isinf(d)) {
		sb_str(b, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	for (p = 1; p < 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (p == 17)
		snprintf(tmp, sizeof(tmp), "%.16e", d);
	/* [-]d[.ddd]e[+-]xx, whatever the locale's decimal point */
	q = tmp;
	if (*q == '-')
		out[k++] = *q++;
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9' && nd < (int)sizeof(digits))
			digits[nd++] = *q;
	decpt = (*q == 'e' ? atoi(q + 1) : 0) + 1;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			out[k++] = '0';
			out[k++] = '.';
			for (i = decpt; i < 0; i++)
				out[k++] = '0';
			memcpy(out + k, digits, (size_t)nd);
			k += nd;
		} else if (decpt >= nd) {
			memcpy(out + k, digits, (size_t)nd);
			k += nd;
			for (i = nd; i < decpt; i++)
				out[k++] = '0';
			out[k++] = '.';
			out[k++] = '0';
		} else {
			memcpy(out + k, digits, (size_t)decpt);
			k += decpt;
			out[k++] = '.';
			memcpy(out + k, digits + decpt, (size_t)(nd - decpt));
			k += nd - decpt;
		}
		sb_add(b, out, (size_t)k);
		return;
	}
	out[k++] = digits[0];
	if (nd > 1) {
		out[k++] = '.';
		memcpy(out + k, digits + 1, (size_t)(nd - 1));
		k += nd - 1;
	}
	k += snprintf(out + k, sizeof(out) - (size_t)k, "e%c%02d",
		      decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
	sb_add(b, out, (size_t)k);
}

/*
 * level >= 0: indent=2 at that nesting level; level < 0: on one line, as
 * json.dumps(v) without indent (", ", ": "). Recursion is bounded by
 * JSON_MAX_DEPTH.
 */
static void put_value(struct sbuf *b, struct json_object *o, int level)
{
	struct json_object_iterator it, end;
	int next = level < 0 ? level : level + 1;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_null:
		sb_str(b, "null");
		break;
	case json_type_boolean:
		sb_str(b, json_object_get_boolean(o) ? "true" : "false");
		break;
	case json_type_int:
		put_int(b, o);
		break;
	case json_type_double:
		put_double(b, json_object_get_double(o));
		break;
	case json_type_string:
		put_string(b, json_object_get_string(o),
			   (size_t)json_object_get_string_len(o));
		break;
	case json_type_object:
		if (json_object_object_length(o) == 0) {
			sb_str(b, "{}");
			break;
		}
		sb_add(b, "{", 1);
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (i = 0; !json_object_iter_equal(&it, &end); i++) {
			const char *key = json_object_iter_peek_name(&it);

			if (i)
				sb_str(b, level >= 0 ? "," : ", ");
			if (level >= 0)
				put_indent(b, next);
			put_string(b, key, strlen(key));
			sb_str(b, ": ");
			put_value(b, json_object_iter_peek_value(&it), next);
			json_object_iter_next(&it);
		}
		if (level >= 0)
			put_indent(b, level);
		sb_add(b, "}", 1);
		break;
	case json_type_array:
		n = json_object_array_length(o);
		if (n == 0) {
			sb_str(b, "[]");
			break;
		}
		sb_add(b, "[", 1);
		for (i = 0; i < n; i++) {
			if (i)
				sb_str(b, level >= 0 ? "," : ", ");
			if (level >= 0)
				put_indent(b, next);
			put_value(b, json_object_array_get_idx(o, i), next);
		}
		if (level >= 0)
			put_indent(b, level);
		sb_add(b, "]", 1);
		break;
	}
}

static int render(struct json_object *o, char **out, size_t *out_len)
{
	struct sbuf b = {0};

	put_value(&b, o, 0);
	sb_add(&b, "\n", 1);
	return sb_take(&b, out, out_len);
}

int json_pretty(const char *body, size_t len, char **out, size_t *out_len)
{
	struct json_object *o;
	int r;

	r = parse(body, len, &o);
	if (r)
		return r;
	r = render(o, out, out_len);
	json_object_put(o);
	return r;
}

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
	struct json_object *v = member(o, key);
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
	struct json_object *v = member(o, key);

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
	struct json_object *v = member(o, key);
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
	struct json_object *v = member(o, "total_entries");
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

static int digits(const char **p, const char *end, int n, int *val)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*val = v;
	return 0;
}

static int lit(const char **p, const char *end, const char *chars)
{
	if (*p >= end || !strchr(chars, **p) || !**p)
		return -1;
	(*p)++;
	return 0;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * ISO-8601 as Airflow writes it: YYYY-MM-DD[T ]HH:MM[:SS[.frac]] then Z,
 * +HH:MM, +HHMM, +HH or nothing (taken as UTC).
 */
static int parse_time(const char *s, size_t n, time_t *t)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	const char *p = s, *end = s + n;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t secs;

	if (digits(&p, end, 4, &y) || lit(&p, end, "-") ||
	    digits(&p, end, 2, &mo) || lit(&p, end, "-") ||
	    digits(&p, end, 2, &d) || lit(&p, end, "Tt ") ||
	    digits(&p, end, 2, &h) || lit(&p, end, ":") ||
	    digits(&p, end, 2, &mi))
		return -1;
	if (!lit(&p, end, ":")) {
		if (digits(&p, end, 2, &sec))
			return -1;
		if (!lit(&p, end, ".,")) {
			if (p >= end || *p < '0' || *p > '9')
				return -1;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
		}
	}
	if (!lit(&p, end, "Zz")) {
		/* UTC */
	} else if (p < end && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, end, 2, &oh))
			return -1;
		if (p < end) {
			(void)lit(&p, end, ":");
			if (digits(&p, end, 2, &om))
				return -1;
		}
	}
	if (p != end || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	if ((time_t)secs != secs)
		return -1;
	*t = (time_t)secs;
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
		v = member(o, *keys);
		if (!v)
			continue;
		if (!json_object_is_type(v, json_type_string))
			return -EIO;
		if (!parse_time(json_object_get_string(v),
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
	if (!e && member(o, "conf")) {
		e = render(member(o, "conf"), &r.conf, &r.conf_len);
	} else if (!e) {
		r.conf_len = 3;
		e = dup_mem("{}\n", 3, &r.conf);
	}
	if (!e)
		e = render(o, &r.info, &r.info_len);
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
		e = render(o, &t.info, &t.info_len);
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
	*arr = member(o, key);
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

	e = parse_object(body, len, &o);
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

	e = parse_object(body, len, &o);
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
	struct json_object *o;
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	e = run_from(o, run);
	json_object_put(o);
	return e;
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
	struct json_object *o;
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	e = ti_from(o, ti);
	json_object_put(o);
	return e;
}

int json_patched_ti(const char *body, size_t len, struct af_ti *ti)
{
	struct json_object *o, *arr;
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	arr = member(o, "task_instances");
	if (json_object_is_type(arr, json_type_array))
		e = json_object_array_length(arr) == 1
			    ? ti_from(json_object_array_get_idx(arr, 0), ti)
			    : -EIO;
	else
		e = ti_from(o, ti);
	json_object_put(o);
	return e;
}

/* ------------------------------------------------------------------ */
/* links.json, logs, version, errors, tokens */

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
		name = member(item, "name");
		href = member(item, "href");
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

	e = parse_object(body, len, &o);
	if (e)
		return e;
	links = member(o, "extra_links");
	if (json_object_is_type(links, json_type_array)) {
		e = links_from_spec(links, &made);
		links = made;
	} else if (!json_object_is_type(links, json_type_object)) {
		links = o; /* v1: flat (a link may be named "extra_links") */
	}
	if (!e && !links_are_urls(links))
		e = -EIO;
	if (!e)
		e = render(links, out, out_len);
	json_object_put(made);
	json_object_put(o);
	return e;
}

int json_version(const char *body, size_t len, char **version)
{
	struct json_object *o, *v;
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	v = member(o, "version");
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

/* A string member's text, or NULL when absent, null or not a string. */
static const char *str_member(struct json_object *o, const char *key, size_t *n)
{
	struct json_object *v = member(o, key);

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	*n = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* a non-empty string member, or NULL */
static const char *text_member(struct json_object *o, const char *key,
			       size_t *n)
{
	const char *s = str_member(o, key, n);

	return s && *n ? s : NULL;
}

/* detail: a string, [{"msg": ...}, ...] joined by "; " (v2), or JSON */
static void put_detail(struct sbuf *b, struct json_object *o)
{
	struct json_object *d = member(o, "detail");
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
		put_value(b, d, -1);
}

int json_error_message(const char *body, size_t len, char **msg)
{
	struct json_object *o;
	struct sbuf b = {0};
	const char *title;
	size_t i, tlen = 0, dlen;
	int e;

	e = parse_object(body, len, &o);
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

/* a value as text: a string as it is, anything else as JSON */
static void put_text(struct sbuf *b, struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		sb_add(b, json_object_get_string(v),
		       (size_t)json_object_get_string_len(v));
	else
		put_value(b, v, -1);
}

/* A member as text, or nothing when it is absent or null. */
static void put_member_text(struct sbuf *b, struct json_object *o,
			    const char *key)
{
	struct json_object *v = member(o, key);

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
		struct json_object *frames = member(e, "frames"), *v;
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
		v = member(e, "exc_value");
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
		v = member(e, "is_cause");
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
	ts = str_member(rec, "timestamp", &tn);
	level = str_member(rec, "level", &ln);
	logger = str_member(rec, "logger", &gn);
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
	if (member(rec, "event"))
		put_text(b, member(rec, "event"));
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
	put_traceback(b, member(rec, "error_detail"));
}

int json_record_text(const char *rec, size_t len, char **text, size_t *text_len)
{
	struct json_object *o;
	struct sbuf b = {0};
	int e = parse(rec, len, &o);

	if (e)
		return e;
	put_record(&b, o);
	json_object_put(o);
	return sb_take(&b, text, text_len);
}

int json_access_token(const char *body, size_t len, char **token)
{
	struct json_object *o;
	const char *t;
	size_t n = 0;
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	t = str_member(o, "access_token", &n);
	e = !t || n == 0 || memchr(t, '\0', n) || strpbrk(t, "\r\n")
		    ? -EIO
		    : dup_mem(t, n, token);
	json_object_put(o);
	return e;
}

/* a whole number of seconds, as a JWT's claims give them */
/*
 * A JWT time claim: seconds since the epoch, from 0 to JWT_SECONDS_MAX
 * (the year 5138), so that no conversion or difference of two can
 * overflow; anything else (1e300, NaN, negative) is no claim.
 */
#define JWT_SECONDS_MAX 1e11
static int get_seconds(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = member(o, key);
	double d;

	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || i > (int64_t)JWT_SECONDS_MAX)
			return -EIO;
		*out = i;
		return 0;
	}
	if (!json_object_is_type(v, json_type_double))
		return -EIO;
	d = json_object_get_double(v);
	if (!(d >= 0 && d <= JWT_SECONDS_MAX)) /* NaN fails both */
		return -EIO;
	*out = (int64_t)d;
	return 0;
}

int json_jwt_times(const char *jwt, int64_t *iat, int64_t *exp)
{
	const char *p = strchr(jwt, '.'), *q = p ? strchr(p + 1, '.') : NULL;
	struct json_object *o;
	unsigned char *raw;
	size_t n, rawlen;
	int e;

	if (!q || q - p - 1 > 65536)
		return -EIO;
	n = (size_t)(q - p - 1);
	raw = malloc(n / 4 * 3 + 3);
	if (!raw)
		return -ENOMEM;
	e = b64url_decode(p + 1, n, raw, &rawlen);
	if (!e)
		e = parse_object((char *)raw, rawlen, &o);
	free(raw);
	if (e)
		return e;
	e = get_seconds(o, "exp", exp);
	if (e || get_seconds(o, "iat", iat))
		*iat = 0;
	json_object_put(o);
	return e;
}

int json_dag(const char *body, size_t len, struct af_dag *dag)
{
	struct json_object *o, *v;
	struct af_dag d = {0};
	int e;

	e = parse_object(body, len, &o);
	if (e)
		return e;
	v = member(o, "is_paused");
	if (v && !json_object_is_type(v, json_type_boolean) &&
	    !json_object_is_type(v, json_type_null))
		e = -EIO;
	d.is_paused = v && json_object_get_boolean(v);
	if (!e)
		e = render(o, &d.info, &d.info_len);
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
