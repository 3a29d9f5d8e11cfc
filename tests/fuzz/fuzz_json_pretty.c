// SPDX-License-Identifier: Apache-2.0
/*
 * The printer of info.json and links.json. json_pretty() of any body:
 * when it succeeds the output has its stated length, ends in a newline,
 * keeps UTF-8 UTF-8, is accepted by json-c, and renders to itself (the
 * printer is a fixed point, so a file read back and shown again does not
 * change). json_quote() of the raw bytes: a string literal that json-c
 * reads back as exactly those bytes, and that json_pretty() prints as it
 * is.
 */
#include "fuzz.h"
#include "json.h"
#include "oracle.h"

static void check_quote(const char *s, size_t n)
{
	struct json_object *o;
	char *q = NULL, *p;
	size_t qlen, plen;
	int ok;

	FUZZ_ASSERT(json_quote(s, n, &q) == 0);
	qlen = strlen(q);
	FUZZ_ASSERT(qlen >= n + 2 && q[0] == '"' && q[qlen - 1] == '"');
	o = oracle_parse(q, qlen, &ok);
	FUZZ_ASSERT(ok && json_object_is_type(o, json_type_string));
	FUZZ_ASSERT((size_t)json_object_get_string_len(o) == n);
	FUZZ_ASSERT(n == 0 || memcmp(json_object_get_string(o), s, n) == 0);
	json_object_put(o);
	if (!fuzz_utf8_ok(s, n)) {
		/* JSON text is UTF-8: a parse refuses what is not */
		FUZZ_ASSERT(json_pretty(q, qlen, &p, &plen) == -EIO);
		free(q);
		return;
	}
	p = oracle_pretty(q, qlen, &plen);
	FUZZ_ASSERT(plen == qlen + 1 && memcmp(p, q, qlen) == 0);
	free(p);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *o;
	char *out = NULL, *again;
	size_t len = 0, alen;
	int r, ok;

	check_quote(body, size);
	r = json_pretty(body, size, &out, &len);
	FUZZ_ASSERT(FUZZ_RC_OK(r));
	if (r) {
		FUZZ_ASSERT(out == NULL);
		return 0;
	}
	FUZZ_ASSERT(out && len > 0 && strlen(out) == len);
	FUZZ_ASSERT(out[len - 1] == '\n');
	FUZZ_ASSERT(fuzz_utf8_ok(body, size) && fuzz_utf8_ok(out, len));
	o = oracle_parse(out, len, &ok);
	FUZZ_ASSERT(ok);
	json_object_put(o);
	/* with and without its final newline */
	again = oracle_pretty(out, len, &alen);
	FUZZ_ASSERT(alen == len && strcmp(again, out) == 0);
	free(again);
	again = oracle_pretty(out, len - 1, &alen);
	FUZZ_ASSERT(alen == len && strcmp(again, out) == 0);
	free(again);
	free(out);
	return 0;
}
