// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming reader of v2 log answers; see records.h. A byte scanner finds
 * the members of the top object and the elements of its "content" array
 * without parsing them; each element is taken whole and handed to json.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "records.h"

#define RECORD_MAX ((size_t)16 << 20) /* one record, in bytes */

enum member { KEY, IN_KEY, COLON, VALUE, AFTER };
enum value { OTHER, CONTENT, TOKEN };

struct records {
	logstream_sink sink;
	void *arg;
	int depth, in_str, esc, done, err;
	enum member m; /* where in a member of the top object */
	enum value v;  /* which member's value is being read */
	char key[24];
	size_t klen;
	int content_seen, more;
	int in_el; /* an element of content is being taken */
	char *el;
	size_t el_len, el_cap;
};

struct records *records_new(logstream_sink sink, void *arg)
{
	struct records *r = calloc(1, sizeof(*r));

	if (r) {
		r->sink = sink;
		r->arg = arg;
	}
	return r;
}

void records_free(struct records **rp)
{
	if (*rp) {
		free((*rp)->el);
		free(*rp);
		*rp = NULL;
	}
}

static int el_put(struct records *r, char c)
{
	if (r->el_len == r->el_cap) {
		size_t cap = r->el_cap ? r->el_cap * 2 : 1024;
		char *p;

		if (r->el_len >= RECORD_MAX)
			return -EIO;
		p = realloc(r->el, cap);
		if (!p)
			return -ENOMEM;
		r->el = p;
		r->el_cap = cap;
	}
	r->el[r->el_len++] = c;
	return 0;
}

/* An element of content is whole: render it and hand it on. */
static int el_done(struct records *r)
{
	char *text;
	size_t len;
	int err = json_record_text(r->el, r->el_len, &text, &len);

	r->in_el = 0;
	r->el_len = 0;
	if (err)
		return err;
	err = len ? r->sink(r->arg, text, len) : 0;
	free(text);
	return err;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Where a value of the top object begins. */
static int value_start(struct records *r, char c)
{
	r->m = AFTER;
	r->v = OTHER;
	if (r->klen == 7 && !memcmp(r->key, "content", 7)) {
		if (c != '[' || r->content_seen)
			return -EIO;
		r->content_seen = 1;
		r->v = CONTENT;
	} else if (r->klen == 18 && !memcmp(r->key, "continuation_token", 18)) {
		if (c != '"' && c != 'n')
			return -EIO;
		r->more = c == '"';
	}
	if (c == '{' || c == '[')
		r->depth++;
	else if (c == '"')
		r->in_str = 1;
	return 0;
}

static int step(struct records *r, char c)
{
	int err = 0;

	if (r->in_str) {
		if (r->in_el)
			err = el_put(r, c);
		else if (r->m == IN_KEY && c != '"' && r->klen < sizeof(r->key))
			r->key[r->klen++] = c;
		if (r->esc)
			r->esc = 0;
		else if (c == '\\')
			r->esc = 1;
		else if (c == '"') {
			r->in_str = 0;
			if (r->m == IN_KEY)
				r->m = COLON;
			else if (r->in_el && r->depth == 2)
				err = err ? err : el_done(r);
		}
		return err;
	}
	if (blank(c))
		return r->in_el ? el_put(r, c) : 0;
	if (r->done)
		return -EIO;
	if (r->depth == 0) {
		if (c != '{')
			return -EIO;
		r->depth = 1;
		r->m = KEY;
		return 0;
	}
	if (r->depth == 1) {
		switch (r->m) {
		case KEY:
			if (c == '}' && r->klen == 0) {
				r->done = 1;
				r->depth = 0;
				return 0;
			}
			if (c != '"')
				return -EIO;
			r->in_str = 1;
			r->m = IN_KEY;
			r->klen = 0;
			return 0;
		case COLON:
			if (c != ':')
				return -EIO;
			r->m = VALUE;
			return 0;
		case VALUE:
			return value_start(r, c);
		case AFTER:
			if (c == ',') {
				r->m = KEY;
				r->klen = 0;
			} else if (c == '}') {
				r->done = 1;
				r->depth = 0;
			}
			return 0; /* the rest of a bare scalar */
		default:
			return -EIO;
		}
	}
	if (r->v != CONTENT) { /* inside another member's value */
		if (c == '{' || c == '[')
			r->depth++;
		else if (c == '}' || c == ']')
			r->depth--;
		else if (c == '"')
			r->in_str = 1;
		return 0;
	}
	if (r->depth == 2 && r->in_el && (c == ',' || c == ']')) {
		err = el_done(r); /* a bare scalar element ends */
		if (err)
			return err;
	}
	if (r->depth == 2 && !r->in_el) {
		if (c == ',')
			return 0;
		if (c == ']') {
			r->depth = 1;
			r->v = OTHER;
			return 0;
		}
		r->in_el = 1;
	}
	err = el_put(r, c);
	if (err)
		return err;
	if (c == '{' || c == '[') {
		r->depth++;
	} else if (c == '}' || c == ']') {
		r->depth--;
		if (r->depth == 2)
			err = el_done(r);
	} else if (c == '"') {
		r->in_str = 1;
	}
	return err;
}

int records_feed(struct records *r, const char *buf, size_t len)
{
	for (size_t i = 0; !r->err && i < len; i++)
		r->err = step(r, buf[i]);
	return r->err;
}

int records_end(struct records *r, int *more)
{
	if (r->err)
		return r->err;
	if (!r->done || !r->content_seen)
		return -EIO;
	*more = r->more;
	return 0;
}
