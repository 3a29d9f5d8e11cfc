// SPDX-License-Identifier: Apache-2.0
/*
 * One DAG run record. json_run() accepts only what json_pretty() accepts
 * and gives what the json-c oracle reads; the record put twice in a page
 * gives json_runs() the same answer. The whole input is also a date: as a
 * run's start_date it must give the mtime of the oracle's date parser
 * (0 when the oracle does not take it).
 */
#include "fuzz.h"
#include "json.h"
#include "model.h"
#include "oracle.h"

static void check_page(const char *body, size_t size, int rc,
		       const struct af_run *run)
{
	static const char head[] = "{\"dag_runs\": [";
	static const char tail[] = "], \"total_entries\": 2}";
	size_t len = sizeof(head) - 1 + 2 * size + 2 + sizeof(tail) - 1, n;
	char *page = malloc(len), *p = page;
	struct af_run *runs = NULL;
	long total = -1;
	int r;

	FUZZ_ASSERT(page != NULL);
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	memcpy(p, body, size);
	p += size;
	memcpy(p, ", ", 2);
	p += 2;
	memcpy(p, body, size);
	p += size;
	memcpy(p, tail, sizeof(tail) - 1);
	r = json_runs(page, len, &runs, &n, &total);
	FUZZ_ASSERT(r == rc);
	if (r == 0) {
		FUZZ_ASSERT(n == 2 && total == 2);
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(fuzz_same_str(runs[i].run_id, run->run_id));
			FUZZ_ASSERT(runs[i].mtime == run->mtime);
		}
		af_runs_free(&runs, n);
	}
	free(page);
}

/* the input as a start_date */
static void check_date(const char *s, size_t n)
{
	static const char head[] = "{\"dag_run_id\": \"r\", \"start_date\": ";
	struct af_run run = {0};
	char *q = NULL, *body;
	size_t len;
	time_t want;

	FUZZ_ASSERT(json_quote(s, n, &q) == 0);
	len = sizeof(head) - 1 + strlen(q) + 1;
	body = malloc(len + 1);
	FUZZ_ASSERT(body != NULL);
	snprintf(body, len + 1, "%s%s}", head, q);
	if (!fuzz_utf8_ok(s, n)) {
		/* JSON text is UTF-8: a parse refuses what is not */
		FUZZ_ASSERT(json_run(body, len, &run) == -EIO);
		free(body);
		free(q);
		return;
	}
	FUZZ_ASSERT(json_run(body, len, &run) == 0);
	FUZZ_ASSERT(fuzz_same_str(run.run_id, "r"));
	if (!oracle_time(s, n, &want))
		want = 0;
	if (run.mtime != want)
		fprintf(stderr, "date %.*s: %lld, oracle %lld\n", (int)n, s,
			(long long)run.mtime, (long long)want);
	FUZZ_ASSERT(run.mtime == want);
	af_run_clear(&run);
	free(body);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct af_run run = {0};
	struct json_object *o;
	const char *id = NULL;
	time_t mtime = 0;
	char *pretty = NULL;
	size_t plen;
	int r, rp, ok, want;

	check_date(body, size);
	r = json_run(body, size, &run);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(r) && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(r == rp && run.run_id == NULL);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	want = oracle_run(o, &id, &mtime);
	FUZZ_ASSERT(r == want);
	if (r == 0) {
		FUZZ_ASSERT(fuzz_same_str(run.run_id, id));
		FUZZ_ASSERT(run.mtime == mtime);
	} else {
		FUZZ_ASSERT(run.run_id == NULL);
	}
	/* two levels deeper in the page: within the parser's limit? */
	if (fuzz_json_depth(body, size) <= ORACLE_DEPTH - 4)
		check_page(body, size, r, &run);
	af_run_clear(&run);
	json_object_put(o);
	return 0;
}
