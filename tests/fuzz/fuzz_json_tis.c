// SPDX-License-Identifier: Apache-2.0
/*
 * A page of task instances, {"task_instances": [...], "total_entries": N}:
 * json_tis() with and without the total agree, accept only what
 * json_pretty() accepts, give the fields the json-c oracle reads, and each
 * record of the page, on its own, decodes by json_ti() to the same TI.
 * Every info.json is a rendering that renders to itself.
 */
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct af_ti *a = NULL, *b = NULL;
	struct json_object *o, *arr;
	size_t na = 0, nb = 0, plen, i, n = 0;
	long total = -7, want_total = -1;
	char *pretty = NULL;
	int ra, rb, rp, ok, want;

	ra = json_tis(body, size, &a, &na, &total);
	rb = json_tis(body, size, &b, &nb, NULL);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(ra) && ra == rb && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(ra == rp && a == NULL && na == 0 && total == -7);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	arr = oracle_get(o, "task_instances");
	want = json_object_is_type(o, json_type_object) &&
			       json_object_is_type(arr, json_type_array)
		       ? 0
		       : -EIO;
	if (!want) {
		n = json_object_array_length(arr);
		if (!oracle_total(o, n, &want_total))
			want = -EIO;
	}
	for (i = 0; !want && i < n; i++) {
		struct json_object *r = json_object_array_get_idx(arr, i);
		struct oracle_ti w;
		struct af_ti one = {0};
		size_t len, ilen;
		const char *text;
		char *info, *again;

		want = oracle_ti(r, &w);
		if (want || ra)
			continue;
		/* the record alone, to the decoder of one TI */
		text = oracle_text(r, &len);
		FUZZ_ASSERT(json_ti(text, len, &one) == 0);
		info = oracle_pretty(text, len, &ilen);
		oracle_check_ti(&a[i], &w, info);
		oracle_same_ti(&a[i], &b[i]);
		oracle_same_ti(&a[i], &one);
		/* info.json, read back, renders to itself */
		again = oracle_pretty(info, ilen, &ilen);
		FUZZ_ASSERT(strcmp(again, info) == 0);
		free(again);
		free(info);
		af_ti_clear(&one);
	}
	FUZZ_ASSERT(ra == want);
	if (ra == 0) {
		FUZZ_ASSERT(na == n && nb == n && total == want_total);
		FUZZ_ASSERT(n == 0 || (a && b));
	} else {
		FUZZ_ASSERT(a == NULL && na == 0 && total == -7);
	}
	af_tis_free(&a, na);
	af_tis_free(&b, nb);
	json_object_put(o);
	return 0;
}
