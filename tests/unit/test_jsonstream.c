/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of fs/jsonstream.c, the walker under both log decoders
 * (test_logstream.c and test_json.c test it through them): an array's
 * elements come out as written, whatever the pieces the answer is fed in
 * (every answer here is fed whole, and one byte at a time); a string comes
 * out unescaped, then its end; the element cap; strict JSON around them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonstream.h"

/* what take() got: strings joined, elements (and a string's end) as "|" */
struct got {
	char buf[4096];
	size_t len;
	int array;   /* each call is an element */
	int fail_at; /* this call (from 1) fails with -ENOSPC; 0: none */
	int calls;
};

static int take(void *arg, const char *p, size_t n)
{
	struct got *g = arg;

	if (++g->calls == g->fail_at)
		return -ENOSPC;
	if (g->len + n + 1 >= sizeof(g->buf))
		return -E2BIG;
	if (p) {
		memcpy(g->buf + g->len, p, n);
		g->len += n;
	}
	if (!p || g->array)
		g->buf[g->len++] = '|';
	g->buf[g->len] = '\0';
	return 0;
}

/* Walks ans fed in pieces of step bytes; 0 with *g and *token, or the error */
static int walk(enum jsonstream_content kind, size_t max, const char *ans,
		size_t step, struct got *g, char **token)
{
	struct jsonstream *w = jsonstream_new(kind, max, take, g);
	size_t n = strlen(ans);
	int r = 0;

	g->array = kind == JSONSTREAM_ARRAY;
	g->len = 0;
	g->calls = 0;
	g->buf[0] = '\0';
	*token = NULL;
	for (size_t off = 0; !r && off < n; off += step)
		r = jsonstream_feed(w, ans + off,
				    n - off < step ? n - off : step);
	if (!r)
		r = jsonstream_end(w, token);
	else /* failed, it stays so */
		CHECK(jsonstream_feed(w, "{", 1) == r);
	jsonstream_free(&w);
	CHECK(w == NULL);
	return r;
}

/* whole and byte by byte: the same result, out and token */
static void expect(enum jsonstream_content kind, size_t max, const char *ans,
		   int rc, const char *out, const char *token)
{
	struct got g = {0};
	char *t;

	for (size_t step = 1; step; step = step == 1 ? strlen(ans) : 0) {
		int r = walk(kind, max, ans, step, &g, &t);

		if (r != rc || (!r && strcmp(g.buf, out) != 0))
			fprintf(stderr, "%s (by %zu): %d [%s]\n", ans, step, r,
				g.buf);
		CHECK(r == rc);
		if (!r) {
			CHECK_STR(g.buf, out);
			CHECK(token ? t && !strcmp(t, token) : !t);
		}
		free(t);
	}
}

#define ARR(ans, out) expect(JSONSTREAM_ARRAY, 1024, ans, 0, out, NULL)
#define ARR_BAD(ans)  expect(JSONSTREAM_ARRAY, 1024, ans, -EIO, NULL, NULL)

static void test_array(void)
{
	char *ans, *out;

	ARR("{\"content\": []}", "");
	/* elements as written, blanks around them left out */
	ARR("{\"content\": [ {\"event\": \"a\\\"]\\u00e9\\ud83d\\ude00\"} , "
	    "\"s\\n\", -1.5e+3,true,null, [ 1, {} ] ,{\"x\":[[]]}\t]}",
	    "{\"event\": \"a\\\"]\\u00e9\\ud83d\\ude00\"}|\"s\\n\"|-1.5e+3|"
	    "true|null|[ 1, {} ]|{\"x\":[[]]}|");
	expect(JSONSTREAM_ARRAY, 1024,
	       "{\"x\": {\"content\": [1]}, \"content\": [0], "
	       "\"continuation_token\": \"t\"}",
	       0, "0|", "t");
	expect(JSONSTREAM_ARRAY, 1024,
	       "{\"continuation_token\": \"\", \"content\": []}", 0, "", "");
	/* a number of any length */
	ans = malloc(300);
	out = malloc(300);
	if (!ans || !out)
		abort();
	strcpy(ans, "{\"content\": [");
	memset(ans + 13, '7', 200);
	strcpy(ans + 213, "]}");
	memcpy(out, ans + 13, 200);
	strcpy(out + 200, "|");
	expect(JSONSTREAM_ARRAY, 1024, ans, 0, out, NULL);
	free(ans);
	free(out);
	/* an element of max bytes goes, one more does not */
	expect(JSONSTREAM_ARRAY, 5, "{\"content\": [\"abc\", 12345]}", 0,
	       "\"abc\"|12345|", NULL);
	expect(JSONSTREAM_ARRAY, 5, "{\"content\": [123456]}", -EIO, NULL,
	       NULL);
	expect(JSONSTREAM_ARRAY, 5, "{\"content\": [\"abcd\"]}", -EIO, NULL,
	       NULL);
	/* strict JSON around and in the elements; the v2 reader before this
	 * walker took the first three, [1,], [,1], [NaN] and [{}]] */
	ARR_BAD("{\"content\": [], \"x\": 1 2}");
	ARR_BAD("{\"content\": [], \"continuation_token\": nonsense}");
	ARR_BAD("{\"content\": [], \"continuation_token\": \"a\", "
		"\"continuation_token\": null}");
	ARR_BAD("{\"content\": [1 2]}");
	ARR_BAD("{\"content\": [1,]}");
	ARR_BAD("{\"content\": [,1]}");
	ARR_BAD("{\"content\": [01]}");
	ARR_BAD("{\"content\": [NaN]}");
	ARR_BAD("{\"content\": [{\"a\" 1}]}");
	ARR_BAD("{\"content\": [\"a\nb\"]}");
	ARR_BAD("{\"content\": [\"\\x\"]}");
	ARR_BAD("{\"content\": [{}]]}");
	ARR_BAD("{\"content\": [{}}");
	/* content of the other kind, or none */
	ARR_BAD("{\"content\": \"x\"}");
	ARR_BAD("{\"content\": null}");
	ARR_BAD("{\"continuation_token\": null}");
	ARR_BAD("{\"content\": [], \"content\": []}");
}

static void test_string(void)
{
	/* the unescaped string, then its end; the token is kept */
	expect(JSONSTREAM_STRING, 0,
	       "{\"a\": [\"]\", {\"b\": null}], \"content\": "
	       "\"x\\\\y\\u00e9\\ud800z\", \"continuation_token\": \"t.s\"}",
	       0, "x\\y\303\251\357\277\275z|", "t.s");
	expect(JSONSTREAM_STRING, 0, "{\"content\": \"\"}", 0, "|", NULL);
	expect(JSONSTREAM_STRING, 0, "{\"content\": [\"x\"]}", -EIO, NULL,
	       NULL);
}

static void test_take_error(void)
{
	struct got g = {.fail_at = 2};
	char *t;

	CHECK(walk(JSONSTREAM_ARRAY, 1024, "{\"content\": [1, 2, 3]}", 1, &g,
		   &t) == -ENOSPC);
	CHECK(t == NULL && g.calls == 2);
	g.fail_at = 1;
	CHECK(walk(JSONSTREAM_STRING, 0, "{\"content\": \"abc\"}", 1, &g, &t) ==
	      -ENOSPC);
	CHECK(t == NULL && g.calls == 1);
}

int main(void)
{
	test_array();
	test_string();
	test_take_error();
	return CHECK_DONE();
}
