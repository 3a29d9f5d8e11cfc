// SPDX-License-Identifier: Apache-2.0
/*
 * A page of DAGs, {"dags": [{"dag_id": ...}, ...], "total_entries": N}:
 * json_dags() with and without the total agree, accept only what
 * json_pretty() accepts, and give what the json-c oracle reads.
 */
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "oracle.h"

/* what json_dags() should give: 0 with the names in o, or -EIO */
static int expect(struct json_object *o, long *total)
{
	struct json_object *arr = oracle_get(o, "dags");
	size_t i, n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_is_type(arr, json_type_array))
		return -EIO;
	n = json_object_array_length(arr);
	if (!oracle_total(o, n, total))
		return -EIO;
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(d, json_type_object) ||
		    !oracle_id(d, "dag_id"))
			return -EIO;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct af_names a = {0}, b = {0};
	struct json_object *o = NULL, *arr;
	long total = -7, want_total = -8;
	char *pretty = NULL;
	size_t plen = 0, i;
	int ra, rb, rp, ok, want;

	ra = json_dags(body, size, &a, &total);
	rb = json_dags(body, size, &b, NULL);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(ra) && ra == rb && FUZZ_RC_OK(rp));
	if (rp) {
		/* one parser for all: what it refuses nothing decodes */
		FUZZ_ASSERT(ra == rp);
		FUZZ_ASSERT(a.n == 0 && a.v == NULL && total == -7);
		return 0;
	}
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	want = expect(o, &want_total);
	FUZZ_ASSERT(ra == want);
	if (ra == 0) {
		arr = oracle_get(o, "dags");
		FUZZ_ASSERT(a.n == json_object_array_length(arr));
		FUZZ_ASSERT(a.n == b.n && total == want_total && total >= 0);
		FUZZ_ASSERT(a.n == 0 || a.v != NULL);
		for (i = 0; i < a.n; i++) {
			const char *id = oracle_id(
				json_object_array_get_idx(arr, i), "dag_id");

			FUZZ_ASSERT(fuzz_same_str(a.v[i], id));
			FUZZ_ASSERT(fuzz_same_str(a.v[i], b.v[i]));
		}
	} else {
		FUZZ_ASSERT(a.n == 0 && a.v == NULL && total == -7);
	}
	af_names_clear(&a);
	af_names_clear(&b);
	json_object_put(o);
	free(pretty);
	return 0;
}
