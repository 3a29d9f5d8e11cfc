// SPDX-License-Identifier: Apache-2.0
/*
 * links.json from an extra links answer: a flat object (v1), {"extra_links":
 * {...}} (v2) or the v1 spec's [{"name", "href"}, ...]. json_links()
 * accepts only what json_pretty() accepts, refuses what the json-c oracle
 * refuses, and renders the oracle's object of name -> url|null exactly as
 * json_pretty() renders it; the output renders to itself.
 */
#include "fuzz.h"
#include "json.h"
#include "oracle.h"

/* the links object the oracle reads (a new reference), or NULL for -EIO */
static struct json_object *expect(struct json_object *o)
{
	struct json_object *l = oracle_get(o, "extra_links"), *made, *v;
	struct json_object_iterator it, end;
	size_t i, n;

	if (!json_object_is_type(o, json_type_object))
		return NULL;
	if (json_object_is_type(l, json_type_array)) {
		made = json_object_new_object();
		FUZZ_ASSERT(made != NULL);
		n = json_object_array_length(l);
		for (i = 0; i < n; i++) {
			struct json_object *item =
				json_object_array_get_idx(l, i);
			struct json_object *name = oracle_get(item, "name");
			struct json_object *href = oracle_get(item, "href");

			if (!json_object_is_type(item, json_type_object) ||
			    !json_object_is_type(name, json_type_string) ||
			    (href &&
			     !json_object_is_type(href, json_type_string))) {
				json_object_put(made);
				return NULL;
			}
			FUZZ_ASSERT(json_object_object_add(
					    made, json_object_get_string(name),
					    json_object_get(href)) == 0);
		}
		l = made;
	} else if (json_object_is_type(l, json_type_object)) {
		json_object_get(l);
	} else {
		l = json_object_get(o);
	}
	it = json_object_iter_begin(l);
	end = json_object_iter_end(l);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (v && !json_object_is_type(v, json_type_string)) {
			json_object_put(l);
			return NULL;
		}
	}
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *o, *l;
	char *out = NULL, *pretty = NULL, *want, *again;
	size_t len = 0, plen, wlen, alen;
	const char *text;
	int r, rp, ok;

	r = json_links(body, size, &out, &len);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(r) && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(r == rp && out == NULL);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	l = expect(o);
	FUZZ_ASSERT(r == (l ? 0 : -EIO));
	if (r == 0) {
		FUZZ_ASSERT(out && strlen(out) == len && out[len - 1] == '\n');
		text = oracle_text(l, &wlen);
		want = oracle_pretty(text, wlen, &wlen);
		FUZZ_ASSERT(strcmp(out, want) == 0);
		again = oracle_pretty(out, len, &alen);
		FUZZ_ASSERT(strcmp(again, out) == 0);
		free(again);
		free(want);
	} else {
		FUZZ_ASSERT(out == NULL);
	}
	json_object_put(l);
	json_object_put(o);
	free(out);
	return 0;
}
