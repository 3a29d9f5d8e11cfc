/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON printed for people; see pretty.h. json-c's printer writes the
 * text, with '/' left alone and doubles as Python's repr() writes them;
 * its spacing differs from Python's in two places, fixed up here: pretty,
 * it opens an empty container on a line of its own ("{\n  }"); on one line
 * it writes no space after ',' and ':'.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_visit.h>
#include <json-c/printbuf.h>

#include "json.h"
#include "pretty.h"
#include "sbuf.h"

/*
 * Python's repr(float): the shortest digits that read back as the same
 * double, positional when the decimal point falls within -4 < decpt <= 16
 * (with ".0" when integral), otherwise d[.ddd]e[+-]XX. json-c would
 * print the body's own text, which may be no JSON at all: it takes "2.",
 * "-.5" and "00.5".
 */
static int print_double(struct json_object *o, struct printbuf *pb, int level,
			int flags)
{
	double d = json_object_get_double(o);
	char tmp[40], digits[24], out[48];
	int p, nd = 0, decpt, i, k = 0;
	const char *q;

	if (isnan(d))
		return printbuf_strappend(pb, "NaN");
	if (isinf(d))
		return d < 0 ? printbuf_strappend(pb, "-Infinity")
			     : printbuf_strappend(pb, "Infinity");
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
		return printbuf_memappend(pb, out, k);
	}
	out[k++] = digits[0];
	if (nd > 1) {
		out[k++] = '.';
		memcpy(out + k, digits + 1, (size_t)(nd - 1));
		k += nd - 1;
	}
	k += snprintf(out + k, sizeof(out) - (size_t)k, "e%c%02d",
		      decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
	return printbuf_memappend(pb, out, k);
}

/* json_c_visit()'s visitor: a double gets print_double as its printer */
static int python_double(struct json_object *o, int flags,
			 struct json_object *parent, const char *key,
			 size_t *index, void *arg)
{
	if (json_object_is_type(o, json_type_double))
		json_object_set_serializer(o, print_double, NULL, NULL);
	return JSON_C_VISIT_RETURN_CONTINUE;
}

/*
 * json-c's text of o appended to b, respaced as Python's. Outside
 * strings only: a raw newline is never inside one (json-c escapes it).
 */
static void put_json(struct sbuf *b, struct json_object *o, int pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);
	size_t i, j, n, run = 0;
	const char *s;
	int in_str = 0;

	json_c_visit(o, 0, python_double, NULL);
	s = json_object_to_json_string_length(o, flags, &n);
	if (!s) {
		b->err = -ENOMEM;
		return;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (!pretty && (c == ',' || c == ':')) {
			sb_add(b, s + run, i + 1 - run);
			sb_add(b, " ", 1);
			run = i + 1;
		} else if (pretty && (c == '{' || c == '[') &&
			   s[i + 1] == '\n') {
			for (j = i + 2; s[j] == ' '; j++)
				;
			if (s[j] == (c == '{' ? '}' : ']')) {
				sb_add(b, s + run, i + 1 - run);
				run = j;
				i = j;
			}
		}
	}
	sb_add(b, s + run, n - run);
}

int json_render(struct json_object *o, char **out, size_t *out_len)
{
	struct sbuf b = {0};

	put_json(&b, o, 1);
	sb_add(&b, "\n", 1);
	return sb_take(&b, out, out_len);
}

int json_pretty(const char *body, size_t len, char **out, size_t *out_len)
{
	struct json_object *o;
	int r;

	r = json_parse(body, len, &o);
	if (r)
		return r;
	r = json_render(o, out, out_len);
	json_object_put(o);
	return r;
}

void json_put_line(struct sbuf *b, struct json_object *o)
{
	put_json(b, o, 0);
}
