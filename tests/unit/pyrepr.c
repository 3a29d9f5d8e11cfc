/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder for the "content" of a v1 JSON log answer: Python's str() of a
 * list of (host, text) tuples. Only the subset of Python literal syntax
 * that str() and repr() produce is needed (plus a little slack: None as a
 * host, blanks between tokens, trailing commas); anything else in a string
 * that starts with '[' is -EIO.
 *
 * No escape expands, so the decoded text is never longer than the input:
 * one allocation of n + 2 bytes holds it (one spare byte for the separator
 * slot, one for the final NUL). The parser is iterative and never reads
 * past s + n, so it is safe to fuzz.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"
#include "unicode.h"

struct cursor {
	const char *p;
	const char *end;
	char *out;  /* NULL: decode and drop (host names) */
	size_t len; /* bytes written to out */
	size_t cap; /* size of out */
};

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int expect(struct cursor *c, char ch)
{
	skip_blanks(c);
	if (c->p >= c->end || *c->p != ch)
		return -EIO;
	c->p++;
	return 0;
}

static int put(struct cursor *c, const char *s, size_t n)
{
	if (!c->out)
		return 0;
	if (n > c->cap - c->len)
		return -EIO; /* cannot happen: no escape expands */
	memcpy(c->out + c->len, s, n);
	c->len += n;
	return 0;
}

/*
 * A code point from an escape, as UTF-8. Surrogates cannot be UTF-8:
 * U+DC80..U+DCFF are what Python's surrogateescape makes of undecodable
 * bytes, so they become those bytes again; any other one becomes U+FFFD.
 */
static int put_cp(struct cursor *c, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp >= 0xdc80 && cp <= 0xdcff) {
		u[0] = (char)(cp - 0xdc00);
		return put(c, u, 1);
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	n = utf8(cp, u);
	return n ? put(c, u, n) : -EIO;
}

static int is_octal(char ch)
{
	return ch >= '0' && ch <= '7';
}

/* \xNN, \uNNNN, \UNNNNNNNN: exactly ndig hex digits at c->p */
static int hex_escape(struct cursor *c, int ndig)
{
	uint32_t cp = 0;
	int i, v;

	if (c->end - c->p < ndig)
		return -EIO;
	for (i = 0; i < ndig; i++) {
		v = hexval(c->p[i]);
		if (v < 0)
			return -EIO;
		cp = cp << 4 | (uint32_t)v;
	}
	c->p += ndig;
	return put_cp(c, cp);
}

/* after a backslash; c->p is at the escaped character */
static int escape(struct cursor *c)
{
	static const char simple[] = "n\nt\tr\r\\\\''\"\"a\ab\bf\fv\v";
	uint32_t cp;
	const char *q;
	char ch;
	int i;

	if (c->p >= c->end)
		return -EIO;
	ch = *c->p++;
	for (q = simple; *q; q += 2)
		if (*q == ch)
			return put(c, q + 1, 1);
	switch (ch) {
	case 'x':
		return hex_escape(c, 2);
	case 'u':
		return hex_escape(c, 4);
	case 'U':
		return hex_escape(c, 8);
	case '\n':
		return 0; /* line continuation */
	}
	if (is_octal(ch)) {
		cp = (uint32_t)(ch - '0');
		for (i = 1; i < 3 && c->p < c->end && is_octal(*c->p); i++)
			cp = cp * 8 + (uint32_t)(*c->p++ - '0');
		return put_cp(c, cp);
	}
	/* Python keeps an unknown escape as it is */
	return put(c, c->p - 2, 2);
}

/* a '...' or "..." literal; raw bytes (UTF-8) are copied as they are */
static int literal(struct cursor *c)
{
	const char *run;
	char quote;
	int r;

	skip_blanks(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return -EIO;
	quote = *c->p++;
	for (;;) {
		run = c->p;
		while (c->p < c->end && *c->p != quote && *c->p != '\\')
			c->p++;
		r = put(c, run, (size_t)(c->p - run));
		if (r)
			return r;
		if (c->p >= c->end)
			return -EIO; /* unterminated */
		if (*c->p++ == quote)
			return 0;
		r = escape(c);
		if (r)
			return r;
	}
}

/* the host: a literal or None, dropped */
static int host(struct cursor *c)
{
	char *out = c->out;
	int r;

	skip_blanks(c);
	if (c->end - c->p >= 4 && memcmp(c->p, "None", 4) == 0) {
		c->p += 4;
		return 0;
	}
	c->out = NULL;
	r = literal(c);
	c->out = out;
	return r;
}

/*
 * The text of one tuple, appended. It is decoded one byte further on, so
 * that a '\n' can be slid in front of it when the text so far does not end
 * with one; an empty part adds nothing.
 */
static int text(struct cursor *c)
{
	size_t start = c->len;
	int r;

	c->len++;
	r = literal(c);
	if (r)
		return r;
	if (c->len == start + 1) {
		c->len = start;
	} else if (start > 0 && c->out[start - 1] != '\n') {
		c->out[start] = '\n';
	} else {
		memmove(c->out + start, c->out + start + 1, c->len - start - 1);
		c->len--;
	}
	return 0;
}

static int tuple(struct cursor *c)
{
	int r;

	r = expect(c, '(');
	if (!r)
		r = host(c);
	if (!r)
		r = expect(c, ',');
	if (!r)
		r = text(c);
	if (r)
		return r;
	skip_blanks(c);
	if (c->p < c->end && *c->p == ',')
		c->p++;
	return expect(c, ')');
}

static int list(struct cursor *c)
{
	int r;

	r = expect(c, '[');
	if (r)
		return r;
	for (;;) {
		skip_blanks(c);
		if (c->p < c->end && *c->p == ']')
			break;
		r = tuple(c);
		if (r)
			return r;
		skip_blanks(c);
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p >= c->end || *c->p != ']')
			return -EIO;
	}
	c->p++;
	skip_blanks(c);
	return c->p == c->end ? 0 : -EIO;
}

int pyrepr_log(const char *s, size_t n, char **out, size_t *out_len)
{
	struct cursor c = {0};
	int r;

	if (n > SIZE_MAX - 2)
		return -ENOMEM;
	c.out = malloc(n + 2);
	if (!c.out)
		return -ENOMEM;
	c.cap = n + 1;
	if (n == 0 || s[0] != '[') {
		if (n)
			memcpy(c.out, s, n);
		c.len = n;
	} else {
		c.p = s;
		c.end = s + n;
		r = list(&c);
		if (r) {
			free(c.out);
			return r;
		}
	}
	c.out[c.len] = '\0';
	*out = c.out;
	*out_len = c.len;
	return 0;
}
