// SPDX-License-Identifier: Apache-2.0
/*
 * The repr layer of the log decoder against the plain one: the input,
 * after its first byte, is a "content" string (Python's str() of a list of
 * (host, text) tuples, or anything else); it is put in an answer as
 * Python's json.dumps() would write it, decoded by the stream, and must
 * give what pyrepr_log() (tests/unit/pyrepr.c) gives for the content:
 * the same error or the same text. Byte 0:
 *	bit 0: ensure_ascii (non-ASCII as \uXXXX, surrogate pairs above
 *	       U+FFFF; a byte that is not UTF-8 as the \udcXX of Python's
 *	       surrogateescape, which a JSON decoder makes U+FFFD); else raw
 *	bit 1: a continuation token member before the content, else after
 *	bit 2: the answer fed one byte at a time, else whole
 */
#include "fuzz.h"
#include "logstream.h"
#include "pyrepr.h"

struct sink {
	char *p;
	size_t len;
	size_t cap;
};

static int sink_cb(void *arg, const char *text, size_t len)
{
	struct sink *s = arg;

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

/* the length of the UTF-8 sequence at s[i..n), 0 when there is none */
static size_t seq(const unsigned char *s, size_t i, size_t n)
{
	size_t k = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 1;

	if (k > n - i || !fuzz_utf8_ok((const char *)s + i, k))
		return 0;
	return k;
}

/*
 * The answer for content c (n bytes), and in *dec the content a JSON
 * decoder reads back from it.
 */
static char *answer(const unsigned char *c, size_t n, int ascii,
		    int token_first, size_t *len, char **dec, size_t *dlen)
{
	static const char tok[] = "\"continuation_token\": \"eyJ9.sig\"";
	char *a = malloc(n * 12 + 128), *o = a, *d = malloc(n * 3 + 1);
	size_t i = 0, k, dn = 0;
	uint32_t cp;

	FUZZ_ASSERT(a && d);
	o += sprintf(o, "{%s%s\"content\": \"", token_first ? tok : "",
		     token_first ? ", " : "");
	while (i < n) {
		if (c[i] == '"' || c[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)c[i];
			d[dn++] = (char)c[i++];
		} else if (c[i] == '\n') {
			o += sprintf(o, "\\n");
			d[dn++] = (char)c[i++];
		} else if (c[i] < 0x20 || c[i] == 0x7f) {
			o += sprintf(o, "\\u%04x", c[i]);
			d[dn++] = (char)c[i++];
		} else if (c[i] < 0x80 || !ascii) {
			*o++ = (char)c[i];
			d[dn++] = (char)c[i++];
		} else if ((k = seq(c, i, n)) == 0) {
			o += sprintf(o, "\\udc%02x", c[i++]);
			memcpy(d + dn, "\xef\xbf\xbd", 3);
			dn += 3;
		} else {
			cp = c[i] & (0x7f >> k);
			memcpy(d + dn, c + i, k);
			dn += k;
			for (size_t j = 1; j < k; j++)
				cp = cp << 6 | (c[i + j] & 0x3f);
			i += k;
			if (cp >= 0x10000)
				o += sprintf(o, "\\u%04x\\u%04x",
					     0xd800 + ((cp - 0x10000) >> 10),
					     0xdc00 + (cp & 0x3ff));
			else
				o += sprintf(o, "\\u%04x", cp);
		}
	}
	o += sprintf(o, "\"%s%s}", token_first ? "" : ", ",
		     token_first ? "" : tok);
	*len = (size_t)(o - a);
	*dec = d;
	*dlen = dn;
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink s = {0};
	struct logstream *ls;
	char *ans, *dec, *text = NULL, *tok = NULL;
	size_t alen, dlen, tlen = 0;
	int r1, r2 = 0;

	if (size == 0)
		return 0;
	ans = answer(data + 1, size - 1, data[0] & 1, data[0] & 2, &alen, &dec,
		     &dlen);
	r1 = pyrepr_log(dec, dlen, &text, &tlen);
	FUZZ_ASSERT(r1 == 0 || r1 == -EIO);
	ls = logstream_new(sink_cb, &s);
	FUZZ_ASSERT(ls != NULL);
	if (data[0] & 4) {
		for (size_t i = 0; !r2 && i < alen; i++)
			r2 = logstream_feed(ls, ans + i, 1);
	} else {
		r2 = logstream_feed(ls, ans, alen);
	}
	if (!r2)
		r2 = logstream_end(ls, &tok);
	logstream_free(&ls);
	if (r1 != r2)
		fprintf(stderr, "pyrepr_log %d, stream %d\n", r1, r2);
	FUZZ_ASSERT(r1 == r2);
	if (r1 == 0) {
		FUZZ_ASSERT(s.len == tlen &&
			    (!tlen || !memcmp(s.p, text, tlen)));
		FUZZ_ASSERT(tok && strcmp(tok, "eyJ9.sig") == 0);
	}
	free(tok);
	free(text);
	free(s.p);
	free(dec);
	free(ans);
	return 0;
}
