// SPDX-License-Identifier: Apache-2.0
/*
 * A page of DAG runs, {"dag_runs": [...], "total_entries": N}: json_runs()
 * with and without the total agree, accept only what json_pretty()
 * accepts, give what the json-c oracle reads (ids, dates), and each record
 * of the page, on its own, decodes by json_run() to the same run.
 */
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct af_run *a = NULL, *b = NULL;
	struct json_object *o, *arr;
	size_t na = 0, nb = 0, plen, i, n = 0;
	long total = -7, want_total = -1;
	char *pretty = NULL;
	int ra, rb, rp, ok, want;

	ra = json_runs(body, size, &a, &na, &total);
	rb = json_runs(body, size, &b, &nb, NULL);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(ra) && ra == rb && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(ra == rp && a == NULL && na == 0 && total == -7);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	arr = oracle_get(o, "dag_runs");
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
		const char *id;
		time_t mtime;

		want = oracle_run(r, &id, &mtime);
		if (want || ra)
			continue;
		FUZZ_ASSERT(fuzz_same_str(a[i].run_id, id));
		FUZZ_ASSERT(a[i].mtime == mtime);
		FUZZ_ASSERT(fuzz_same_str(a[i].run_id, b[i].run_id));
		FUZZ_ASSERT(a[i].mtime == b[i].mtime);
		{
			/* the record alone, to the decoder of one run */
			struct af_run one = {0};
			size_t len;
			const char *text = oracle_text(r, &len);

			FUZZ_ASSERT(json_run(text, len, &one) == 0);
			FUZZ_ASSERT(fuzz_same_str(one.run_id, a[i].run_id));
			FUZZ_ASSERT(one.mtime == a[i].mtime);
			af_run_clear(&one);
		}
	}
	FUZZ_ASSERT(ra == want);
	if (ra == 0) {
		FUZZ_ASSERT(na == n && nb == n && total == want_total);
		FUZZ_ASSERT(n == 0 || (a && b));
	} else {
		FUZZ_ASSERT(a == NULL && na == 0 && total == -7);
	}
	af_runs_free(&a, na);
	af_runs_free(&b, nb);
	json_object_put(o);
	return 0;
}
