// SPDX-License-Identifier: Apache-2.0
/*
 * The streaming decoder of v1 log answers, fed in pieces. The input is
 *	byte 0:	bits 0-2: k, how many split bytes follow;
 *		bit 3: the sink fails, at its call number bits 4-7 (0: first)
 *	k bytes: the sizes of the pieces, used in turn (b + 1 for b < 128,
 *		 (b - 127) * 64 above; no split bytes: one byte at a time)
 *	the rest: the answer.
 * Fed in those pieces and fed whole, the answer must give the same result,
 * the same text, sink calls and token: a difference is a bug. After an
 * error the decoder stays failed with that error; after the end it is
 * over. And an answer the stream takes must be JSON that json-c reads
 * with the same "content", which pyrepr_log() (tests/unit/pyrepr.c, the
 * plain decoder) turns into the same text, and the same token.
 */
#include "fuzz.h"
#include "logstream.h"
#include "oracle.h"
#include "pyrepr.h"

struct sink {
	char *p;
	size_t len;
	size_t cap;
	unsigned calls;
	int fail;    /* the sink fails ... */
	unsigned at; /* ... from this call on (0: the first) */
};

static int sink_cb(void *arg, const char *text, size_t len)
{
	struct sink *s = arg;
	unsigned call = s->calls++;

	FUZZ_ASSERT(len > 0);
	if (s->fail && call >= s->at)
		return -EPIPE;
	if (len > s->cap - s->len) {
		while (len > s->cap - s->len)
			s->cap = s->cap ? s->cap * 2 : 256;
		s->p = realloc(s->p, s->cap);
		FUZZ_ASSERT(s->p != NULL);
	}
	memcpy(s->p + s->len, text, len);
	s->len += len;
	return 0;
}

/* piece i's size */
static size_t piece(const uint8_t *sizes, size_t k, size_t i)
{
	uint8_t b;

	if (k == 0)
		return 1;
	b = sizes[i % k];
	return b < 128 ? (size_t)b + 1 : (size_t)(b - 127) * 64;
}

/* decodes ans in pieces (sizes, k) and ends it; returns the result */
static int decode(const char *ans, size_t n, const uint8_t *sizes, size_t k,
		  int whole, struct sink *s, char **token)
{
	struct logstream *ls = logstream_new(sink_cb, s);
	size_t off = 0, m, i = 0;
	char *t = (char *)1;
	int r = 0;

	FUZZ_ASSERT(ls != NULL);
	*token = NULL;
	while (off < n) {
		m = whole ? n : piece(sizes, k, i++);
		if (m > n - off)
			m = n - off;
		r = logstream_feed(ls, ans + off, m);
		FUZZ_ASSERT(r == 0 || r == -EIO || r == -EPIPE);
		if (r)
			break;
		off += m;
	}
	if (r) {
		/* failed it stays, with the same error */
		FUZZ_ASSERT(logstream_feed(ls, "{", 1) == r);
		FUZZ_ASSERT(logstream_end(ls, &t) == r && t == NULL);
	} else {
		/* an empty feed changes nothing */
		FUZZ_ASSERT(logstream_feed(ls, "", 0) == 0);
		r = logstream_end(ls, token);
		FUZZ_ASSERT(r == 0 || r == -EIO || r == -EPIPE);
		if (r)
			FUZZ_ASSERT(*token == NULL);
		/* the answer is over */
		FUZZ_ASSERT(logstream_feed(ls, " ", 1) != 0);
		FUZZ_ASSERT(logstream_end(ls, &t) != 0 && t == NULL);
	}
	logstream_free(&ls);
	FUZZ_ASSERT(ls == NULL);
	return r;
}

/* what the stream took, read by json-c and pyrepr_log() */
static void check_oracle(const char *ans, size_t n, const struct sink *s,
			 const char *token)
{
	struct json_object *o, *c, *t;
	char *text = NULL;
	size_t tlen = 0;
	int ok;

	/* json-c cuts a key at "\u0000": another member may be named so */
	if (memmem(ans, n, "\\u0000", 6))
		return;
	o = oracle_parse_depth(ans, n, 1000, &ok);
	FUZZ_ASSERT(ok && json_object_is_type(o, json_type_object));
	c = oracle_get(o, "content");
	FUZZ_ASSERT(json_object_is_type(c, json_type_string));
	FUZZ_ASSERT(pyrepr_log(json_object_get_string(c),
			       (size_t)json_object_get_string_len(c), &text,
			       &tlen) == 0);
	FUZZ_ASSERT(tlen == s->len && (tlen == 0 || !memcmp(text, s->p, tlen)));
	t = oracle_get(o, "continuation_token");
	FUZZ_ASSERT(!t || json_object_is_type(t, json_type_string));
	FUZZ_ASSERT(fuzz_same_str(token, t ? json_object_get_string(t) : NULL));
	free(text);
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = {0}, b = {0};
	char *ta, *tb;
	const uint8_t *sizes;
	const char *ans;
	size_t k, n;
	int ra, rb;

	if (size == 0)
		return 0;
	k = data[0] & 7;
	if (k > size - 1)
		k = size - 1;
	a.fail = b.fail = (data[0] & 8) != 0;
	a.at = b.at = data[0] >> 4;
	sizes = data + 1;
	ans = (const char *)data + 1 + k;
	n = size - 1 - k;
	ra = decode(ans, n, sizes, k, 0, &a, &ta);
	rb = decode(ans, n, sizes, k, 1, &b, &tb);
	FUZZ_ASSERT(ra == rb);
	FUZZ_ASSERT(a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len)));
	FUZZ_ASSERT(a.calls == b.calls);
	FUZZ_ASSERT(fuzz_same_str(ta, tb));
	if (ra == 0)
		check_oracle(ans, n, &b, tb);
	free(ta);
	free(tb);
	free(a.p);
	free(b.p);
	return 0;
}
