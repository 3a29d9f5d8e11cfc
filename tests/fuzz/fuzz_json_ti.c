// SPDX-License-Identifier: Apache-2.0
/*
 * One task instance record. json_ti() accepts only what json_pretty()
 * accepts, gives the fields the json-c oracle reads, and its info.json is
 * json_pretty() of the record; the record put twice in a page (without
 * total_entries) gives json_tis() the same answer, twice.
 */
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "oracle.h"

static void check_page(const char *body, size_t size, int rc,
		       const struct af_ti *ti)
{
	static const char head[] = "{\"task_instances\":[", tail[] = "]}";
	size_t len = sizeof(head) - 1 + 2 * size + 1 + sizeof(tail) - 1, n;
	char *page = malloc(len), *p = page;
	struct af_ti *tis = NULL;
	long total = -1;
	int r;

	FUZZ_ASSERT(page != NULL);
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	memcpy(p, body, size);
	p += size;
	*p++ = ',';
	memcpy(p, body, size);
	p += size;
	memcpy(p, tail, sizeof(tail) - 1);
	r = json_tis(page, len, &tis, &n, &total);
	FUZZ_ASSERT(r == rc);
	if (r == 0) {
		FUZZ_ASSERT(n == 2 && total == 2);
		oracle_same_ti(&tis[0], ti);
		oracle_same_ti(&tis[1], ti);
		af_tis_free(&tis, n);
	}
	free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct af_ti ti = {0};
	struct oracle_ti want;
	struct json_object *o;
	char *pretty = NULL;
	size_t plen;
	int r, rp, ok;

	r = json_ti(body, size, &ti);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(r) && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(r == rp && ti.task_id == NULL && ti.info == NULL);
		return 0;
	}
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	FUZZ_ASSERT(r == oracle_ti(o, &want));
	if (r == 0)
		oracle_check_ti(&ti, &want, pretty);
	else
		FUZZ_ASSERT(ti.task_id == NULL && ti.info == NULL);
	if (fuzz_json_depth(body, size) <= ORACLE_DEPTH - 4)
		check_page(body, size, r, &ti);
	af_ti_clear(&ti);
	json_object_put(o);
	free(pretty);
	return 0;
}
