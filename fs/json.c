/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON text in, with json-c: bodies are parsed strictly (length given, no
 * trailing bytes, a nesting limit, well-formed UTF-8, a bound on what
 * json-c may allocate); see json.h. Also the readers and writers too
 * small for a file of their own: a string literal, a login's token, a
 * JWT's times.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

#include "b64.h"
#include "json.h"

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
 * See json.h. A value without an end of its own (a bare number, "null")
 * only ends at the end of the input, which json-c learns from a NUL fed
 * in a second call.
 */
static int parse(const char *body, size_t len, int depth,
		 struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;

	if (len >= INT_MAX || (!body && len) || lax_strings(body, len) ||
	    !utf8_ok(body, len) || json_decode_cost(body, len) > JSON_COST_MAX)
		return -EIO;
	tok = json_tokener_new_ex(depth);
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

int json_parse(const char *body, size_t len, struct json_object **out)
{
	return parse(body, len, JSON_MAX_DEPTH, out);
}

int json_parse_list(const char *body, size_t len, struct json_object **out)
{
	int r = parse(body, len, JSON_MAX_DEPTH + 1, out);

	if (!r && !json_object_is_type(*out, json_type_array)) {
		json_object_put(*out);
		r = -EIO;
	}
	return r;
}

int json_parse_object(const char *body, size_t len, struct json_object **out)
{
	int r = json_parse(body, len, out);

	if (r)
		return r;
	if (!json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		return -EIO;
	}
	return 0;
}

struct json_object *json_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *json_str_member(struct json_object *o, const char *key, size_t *n)
{
	struct json_object *v = json_member(o, key);

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	*n = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* The escape of byte c in a JSON string, into e; its length (1: c). */
static size_t escape(unsigned char c, char e[7])
{
	static const char hex[] = "0123456789abcdef";
	/* \b \t \n, none for 11, \f \r */
	static const char named[] = "btn\0fr";

	e[0] = '\\';
	if (c == '"' || c == '\\') {
		e[1] = (char)c;
		return 2;
	}
	if (c >= 8 && c <= 13 && named[c - 8]) {
		e[1] = named[c - 8];
		return 2;
	}
	if (c < 0x20) {
		memcpy(e, "\\u00", 4);
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		return 6;
	}
	e[0] = (char)c;
	return 1;
}

/*
 * Written by hand into a buffer of the exact size: a password passes
 * through here, and json-c's string objects and print buffers would leave
 * copies of it in freed memory.
 */
int json_quote(const char *s, size_t len, char **out)
{
	size_t n = 2, k = 1;
	char e[7];

	for (size_t i = 0; i < len; i++)
		n += escape((unsigned char)s[i], e);
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	(*out)[0] = '"';
	for (size_t i = 0; i < len; i++) {
		size_t m = escape((unsigned char)s[i], e);

		memcpy(*out + k, e, m);
		k += m;
	}
	explicit_bzero(e, sizeof(e));
	(*out)[k] = '"';
	(*out)[k + 1] = 0;
	return 0;
}

int json_access_token(const char *body, size_t len, char **token)
{
	struct json_object *o;
	const char *t;
	size_t n = 0;
	int e;

	e = json_parse_object(body, len, &o);
	if (e)
		return e;
	t = json_str_member(o, "access_token", &n);
	if (!t || n == 0 || memchr(t, '\0', n) || strpbrk(t, "\r\n"))
		e = -EIO;
	else if (!(*token = strndup(t, n)))
		e = -ENOMEM;
	json_object_put(o);
	return e;
}

/*
 * A JWT time claim: seconds since the epoch, from 0 to JWT_SECONDS_MAX
 * (the year 5138), so that no conversion or difference of two can
 * overflow; anything else (1e300, NaN, negative) is no claim.
 */
#define JWT_SECONDS_MAX 1e11
static int get_seconds(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = json_member(o, key);
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
		e = json_parse_object((char *)raw, rawlen, &o);
	free(raw);
	if (e)
		return e;
	e = get_seconds(o, "exp", exp);
	if (e || get_seconds(o, "iat", iat))
		*iat = 0;
	json_object_put(o);
	return e;
}
