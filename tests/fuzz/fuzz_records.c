// SPDX-License-Identifier: Apache-2.0
/*
 * The v2 log answer read as it streams (fs/records.c): fed in pieces that
 * the first input byte chooses, it gives what it gives fed whole (text,
 * result, whether the log goes on); and what it accepts of valid JSON is
 * rendered as json_record_text() renders each element of "content", as
 * the json-c oracle finds them, and it goes on when continuation_token is
 * a string.
 */
#include <json-c/json.h>

#include "fuzz.h"
#include "json.h"
#include "logline.h"
#include "oracle.h"
#include "records.h"

struct out {
	char *p;
	size_t len;
};

static int take(void *arg, const char *data, size_t len)
{
	struct out *o = arg;
	char *p = realloc(o->p, o->len + len + 1);

	FUZZ_ASSERT(p != NULL);
	memcpy(p + o->len, data, len);
	o->p = p;
	o->len += len;
	return 0;
}

static int stream(const char *body, size_t size, size_t step, struct out *o,
		  int *more)
{
	struct records *r = records_new(take, o);
	int err = 0;

	FUZZ_ASSERT(r != NULL);
	for (size_t off = 0; !err && off < size; off += step)
		err = records_feed(r, body + off,
				   size - off < step ? size - off : step);
	if (!err)
		err = records_end(r, more);
	records_free(&r);
	return err;
}

/*
 * The text the elements of content give one by one, or NULL; *more when
 * the token is a string.
 */
static char *expected(const char *body, size_t size, size_t *len, int *more)
{
	struct json_object *o, *content;
	struct out want = {0};
	int ok;

	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	*more = json_object_is_type(oracle_get(o, "continuation_token"),
				    json_type_string);
	content = oracle_get(o, "content");
	if (!json_object_is_type(content, json_type_array)) {
		json_object_put(o);
		return NULL;
	}
	take(&want, "", 0);
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		const char *el = json_object_to_json_string_ext(
			json_object_array_get_idx(content, i),
			JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE);
		char *text;
		size_t n;

		FUZZ_ASSERT(json_record_text(el, strlen(el), &text, &n) == 0);
		take(&want, text, n);
		free(text);
	}
	json_object_put(o);
	*len = want.len;
	return want.p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct out whole = {0}, parts = {0};
	int more_whole = -1, more_parts = -1, r_whole, r_parts, rp, more;
	size_t step = size ? (size_t)data[0] % 7 + 1 : 1, plen, wlen = 0;
	char *pretty = NULL, *want;

	r_whole = stream(body, size, size ? size : 1, &whole, &more_whole);
	r_parts = stream(body, size, step, &parts, &more_parts);
	FUZZ_ASSERT(FUZZ_RC_OK(r_whole));
	FUZZ_ASSERT(r_whole == r_parts && more_whole == more_parts);
	FUZZ_ASSERT(whole.len == parts.len);
	FUZZ_ASSERT(!whole.len || memcmp(whole.p, parts.p, whole.len) == 0);
	rp = json_pretty(body, size, &pretty, &plen);
	free(pretty);
	if (r_whole == 0 && rp == 0) {
		want = expected(body, size, &wlen, &more);
		FUZZ_ASSERT(want != NULL && more == more_whole);
		FUZZ_ASSERT(wlen == whole.len);
		FUZZ_ASSERT(!wlen || memcmp(want, whole.p, wlen) == 0);
		free(want);
	}
	free(whole.p);
	free(parts.p);
	return 0;
}
