/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of fs/json.c, decode.c, pretty.c, isotime.c and logline.c.
 * The expected renderings were produced by
 * /usr/bin/python3's json.dumps(json.loads(body), indent=2,
 * ensure_ascii=False) + "\n" and pasted here; the records are shaped like
 * real v1 (Airflow 2.10) and v2 (Airflow 3) answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "decode.h"
#include "json.h"
#include "logline.h"
#include "pretty.h"
#include "records.h"
#include "model.h"

/* a string literal and its length */
#define LIT(s) (s), (sizeof(s) - 1)

static const char ti_v1[] =
	"{\"task_id\": \"extract\", \"dag_id\": \"etl\", \"dag_run_id\": "
	"\"scheduled__2024-01-01T00:00:00+00:00\", \"execution_date\": "
	"\"2024-01-01T00:00:00+00:00\", \"start_date\": "
	"\"2024-01-01T00:05:00.123456+00:00\", \"end_date\": null, "
	"\"duration\": 300.123456, \"state\": null, \"try_number\": 1, "
	"\"map_index\": -1, \"max_tries\": 0, \"hostname\": \"\", "
	"\"unixname\": \"airflow\", \"pool\": \"default_pool\", "
	"\"pool_slots\": 1, \"queue\": \"default\", \"priority_weight\": 2, "
	"\"operator\": \"PythonOperator\", \"queued_when\": null, \"pid\": "
	"null, \"executor_config\": \"{}\", \"sla_miss\": null, "
	"\"rendered_fields\": {}, \"trigger\": null, \"triggerer_job\": null, "
	"\"note\": null, \"rendered_map_index\": null, \"task_display_name\": "
	"\"extract\"}";

static const char ti_v1_info[] =
	"{\n"
	"  \"task_id\": \"extract\",\n"
	"  \"dag_id\": \"etl\",\n"
	"  \"dag_run_id\": \"scheduled__2024-01-01T00:00:00+00:00\",\n"
	"  \"execution_date\": \"2024-01-01T00:00:00+00:00\",\n"
	"  \"start_date\": \"2024-01-01T00:05:00.123456+00:00\",\n"
	"  \"end_date\": null,\n"
	"  \"duration\": 300.123456,\n"
	"  \"state\": null,\n"
	"  \"try_number\": 1,\n"
	"  \"map_index\": -1,\n"
	"  \"max_tries\": 0,\n"
	"  \"hostname\": \"\",\n"
	"  \"unixname\": \"airflow\",\n"
	"  \"pool\": \"default_pool\",\n"
	"  \"pool_slots\": 1,\n"
	"  \"queue\": \"default\",\n"
	"  \"priority_weight\": 2,\n"
	"  \"operator\": \"PythonOperator\",\n"
	"  \"queued_when\": null,\n"
	"  \"pid\": null,\n"
	"  \"executor_config\": \"{}\",\n"
	"  \"sla_miss\": null,\n"
	"  \"rendered_fields\": {},\n"
	"  \"trigger\": null,\n"
	"  \"triggerer_job\": null,\n"
	"  \"note\": null,\n"
	"  \"rendered_map_index\": null,\n"
	"  \"task_display_name\": \"extract\"\n"
	"}\n";

#define TI_V1_MTIME ((time_t)1704067500LL)

static const char ti_v2[] =
	"{\"id\": \"0190c2a1-6f4e-7b8a-9d2c-1e2f3a4b5c6d\", \"task_id\": "
	"\"process\", \"dag_id\": \"etl\", \"dag_run_id\": "
	"\"manual__2024-03-05T10:00:00+00:00\", \"map_index\": 3, "
	"\"logical_date\": \"2024-03-05T10:00:00Z\", \"run_after\": "
	"\"2024-03-05T10:00:00Z\", \"start_date\": \"2024-03-05T10:00:01.5Z\", "
	"\"end_date\": \"2024-03-05T15:31:02.000001+05:30\", \"duration\": "
	"12.5, \"state\": \"success\", \"try_number\": 2, \"max_tries\": 1, "
	"\"task_display_name\": \"process\", \"dag_display_name\": \"ETL "
	"\\u00e9t\\u00e9\", \"hostname\": \"w-1\", \"unixname\": \"airflow\", "
	"\"pool\": \"default_pool\", \"pool_slots\": 1, \"queue\": "
	"\"default\", \"priority_weight\": 1, \"operator\": "
	"\"PythonOperator\", \"operator_name\": \"@task\", \"queued_when\": "
	"\"2024-03-05T10:00:00.9Z\", \"scheduled_when\": null, \"pid\": 4242, "
	"\"executor\": null, \"executor_config\": \"{}\", \"note\": \"re-ran "
	"after fix\\nsee https://example.com/issue/1\", "
	"\"rendered_map_index\": \"3\", \"rendered_fields\": {\"op_args\": "
	"[[1, 2], {\"k\": \"v\"}], \"templates_dict\": null, \"op_kwargs\": "
	"{}}, \"trigger\": null, \"triggerer_job\": null, \"dag_version\": "
	"{\"id\": \"v\", \"version_number\": 1, \"bundle_name\": "
	"\"dags-folder\", \"bundle_version\": null, \"created_at\": "
	"\"2024-03-05T09:59:00Z\"}}";

static const char ti_v2_info[] =
	"{\n"
	"  \"id\": \"0190c2a1-6f4e-7b8a-9d2c-1e2f3a4b5c6d\",\n"
	"  \"task_id\": \"process\",\n"
	"  \"dag_id\": \"etl\",\n"
	"  \"dag_run_id\": \"manual__2024-03-05T10:00:00+00:00\",\n"
	"  \"map_index\": 3,\n"
	"  \"logical_date\": \"2024-03-05T10:00:00Z\",\n"
	"  \"run_after\": \"2024-03-05T10:00:00Z\",\n"
	"  \"start_date\": \"2024-03-05T10:00:01.5Z\",\n"
	"  \"end_date\": \"2024-03-05T15:31:02.000001+05:30\",\n"
	"  \"duration\": 12.5,\n"
	"  \"state\": \"success\",\n"
	"  \"try_number\": 2,\n"
	"  \"max_tries\": 1,\n"
	"  \"task_display_name\": \"process\",\n"
	"  \"dag_display_name\": \"ETL \303\251t\303\251\",\n"
	"  \"hostname\": \"w-1\",\n"
	"  \"unixname\": \"airflow\",\n"
	"  \"pool\": \"default_pool\",\n"
	"  \"pool_slots\": 1,\n"
	"  \"queue\": \"default\",\n"
	"  \"priority_weight\": 1,\n"
	"  \"operator\": \"PythonOperator\",\n"
	"  \"operator_name\": \"@task\",\n"
	"  \"queued_when\": \"2024-03-05T10:00:00.9Z\",\n"
	"  \"scheduled_when\": null,\n"
	"  \"pid\": 4242,\n"
	"  \"executor\": null,\n"
	"  \"executor_config\": \"{}\",\n"
	"  \"note\": \"re-ran after fix\\nsee https://example.com/issue/1\",\n"
	"  \"rendered_map_index\": \"3\",\n"
	"  \"rendered_fields\": {\n"
	"    \"op_args\": [\n"
	"      [\n"
	"        1,\n"
	"        2\n"
	"      ],\n"
	"      {\n"
	"        \"k\": \"v\"\n"
	"      }\n"
	"    ],\n"
	"    \"templates_dict\": null,\n"
	"    \"op_kwargs\": {}\n"
	"  },\n"
	"  \"trigger\": null,\n"
	"  \"triggerer_job\": null,\n"
	"  \"dag_version\": {\n"
	"    \"id\": \"v\",\n"
	"    \"version_number\": 1,\n"
	"    \"bundle_name\": \"dags-folder\",\n"
	"    \"bundle_version\": null,\n"
	"    \"created_at\": \"2024-03-05T09:59:00Z\"\n"
	"  }\n"
	"}\n";

#define TI_V2_MTIME ((time_t)1709632862LL)

static const char ti_v2_note[] = "re-ran after fix\n"
				 "see https://example.com/issue/1";

static const char tis_body[] =
	"{\"task_instances\": [{\"task_id\": \"extract\", \"dag_id\": \"etl\", "
	"\"dag_run_id\": \"scheduled__2024-01-01T00:00:00+00:00\", "
	"\"execution_date\": \"2024-01-01T00:00:00+00:00\", \"start_date\": "
	"\"2024-01-01T00:05:00.123456+00:00\", \"end_date\": null, "
	"\"duration\": 300.123456, \"state\": null, \"try_number\": 1, "
	"\"map_index\": -1, \"max_tries\": 0, \"hostname\": \"\", "
	"\"unixname\": \"airflow\", \"pool\": \"default_pool\", "
	"\"pool_slots\": 1, \"queue\": \"default\", \"priority_weight\": 2, "
	"\"operator\": \"PythonOperator\", \"queued_when\": null, \"pid\": "
	"null, \"executor_config\": \"{}\", \"sla_miss\": null, "
	"\"rendered_fields\": {}, \"trigger\": null, \"triggerer_job\": null, "
	"\"note\": null, \"rendered_map_index\": null, \"task_display_name\": "
	"\"extract\"}, {\"id\": \"0190c2a1-6f4e-7b8a-9d2c-1e2f3a4b5c6d\", "
	"\"task_id\": \"process\", \"dag_id\": \"etl\", \"dag_run_id\": "
	"\"manual__2024-03-05T10:00:00+00:00\", \"map_index\": 3, "
	"\"logical_date\": \"2024-03-05T10:00:00Z\", \"run_after\": "
	"\"2024-03-05T10:00:00Z\", \"start_date\": \"2024-03-05T10:00:01.5Z\", "
	"\"end_date\": \"2024-03-05T15:31:02.000001+05:30\", \"duration\": "
	"12.5, \"state\": \"success\", \"try_number\": 2, \"max_tries\": 1, "
	"\"task_display_name\": \"process\", \"dag_display_name\": \"ETL "
	"\\u00e9t\\u00e9\", \"hostname\": \"w-1\", \"unixname\": \"airflow\", "
	"\"pool\": \"default_pool\", \"pool_slots\": 1, \"queue\": "
	"\"default\", \"priority_weight\": 1, \"operator\": "
	"\"PythonOperator\", \"operator_name\": \"@task\", \"queued_when\": "
	"\"2024-03-05T10:00:00.9Z\", \"scheduled_when\": null, \"pid\": 4242, "
	"\"executor\": null, \"executor_config\": \"{}\", \"note\": \"re-ran "
	"after fix\\nsee https://example.com/issue/1\", "
	"\"rendered_map_index\": \"3\", \"rendered_fields\": {\"op_args\": "
	"[[1, 2], {\"k\": \"v\"}], \"templates_dict\": null, \"op_kwargs\": "
	"{}}, \"trigger\": null, \"triggerer_job\": null, \"dag_version\": "
	"{\"id\": \"v\", \"version_number\": 1, \"bundle_name\": "
	"\"dags-folder\", \"bundle_version\": null, \"created_at\": "
	"\"2024-03-05T09:59:00Z\"}}, {\"task_id\": \"old\", \"state\": "
	"\"none\", \"map_index\": -1, \"start_date\": "
	"\"2023-12-31T23:59:59-07:00\", \"end_date\": null}], "
	"\"total_entries\": 7}";

static const char tis_old_info[] =
	"{\n"
	"  \"task_id\": \"old\",\n"
	"  \"state\": \"none\",\n"
	"  \"map_index\": -1,\n"
	"  \"start_date\": \"2023-12-31T23:59:59-07:00\",\n"
	"  \"end_date\": null\n"
	"}\n";

#define TIS_OLD_MTIME ((time_t)1704092399LL)

static const char runs_body[] =
	"{\"dag_runs\": [{\"dag_run_id\": "
	"\"scheduled__2024-01-01T00:00:00+00:00\", \"dag_id\": \"etl\", "
	"\"logical_date\": \"2024-01-01T00:00:00+00:00\", \"execution_date\": "
	"\"2024-01-01T00:00:00+00:00\", \"start_date\": "
	"\"2024-01-01T00:00:05.000123+00:00\", \"end_date\": null, \"state\": "
	"\"running\", \"conf\": {}}, {\"dag_run_id\": \"manual__2024-01-02\", "
	"\"logical_date\": \"2024-01-02T00:00:00Z\", \"start_date\": null}, "
	"{\"dag_run_id\": \"backfill\", \"execution_date\": "
	"\"2024-01-03T01:00:00+01:00\"}, {\"dag_run_id\": \"queued\", "
	"\"start_date\": null, \"logical_date\": null}], \"total_entries\": 4}";

#define RUN0_MTIME ((time_t)1704067205LL)

#define RUN1_MTIME ((time_t)1704153600LL)

#define RUN2_MTIME ((time_t)1704240000LL)

static const char links_v1[] =
	"{\"GitHub\": \"https://x/y\", \"Docs\": null, \"Ops \\\"board\\\"\": "
	"\"https://x/y\?a=1&b=\\u00e9\"}";

static const char links_v1_out[] =
	"{\n"
	"  \"GitHub\": \"https://x/y\",\n"
	"  \"Docs\": null,\n"
	"  \"Ops \\\"board\\\"\": \"https://x/y\?a=1&b=\303\251\"\n"
	"}\n";

static const char links_v2[] =
	"{\"extra_links\": {\"GitHub\": \"https://x/y\", \"Docs\": null}, "
	"\"total_entries\": 2}";

static const char links_v2_out[] = "{\n"
				   "  \"GitHub\": \"https://x/y\",\n"
				   "  \"Docs\": null\n"
				   "}\n";

static const char doc_body[] =
	"{\n"
	" \"url\": \"https://x/y\",\n"
	" \"nested\": {\"a\": {\"b\": {\"c\": [1, [2, [3, []]], {}]}}},\n"
	" \"empty_obj\": {}, \"empty_arr\": [], \"arr_of_empties\": [{}, [], "
	"{\"x\": []}],\n"
	" \"esc\": \"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f nul\\u0000 us\\u001f "
	"esc\\u001b del\\u007f slash\\/ /\",\n"
	" \"unicode\": \"\\u00e9t\\u00e9 \\u65e5\\u672c \\ud83d\\ude00 raw: "
	"\303\251 \346\227\245\346\234\254 \360\237\230\200 \\u2028\",\n"
	" \"bools\": [true, false, null],\n"
	" \"ints\": [0, -0, 42, -17, 9223372036854775807, "
	"-9223372036854775808, 18446744073709551615],\n"
	" \"doubles\": [12.5, 300.123456, 0.1, 1.0, 100.0, 1e5, 2.50, 1e16, "
	"1.5e16, 1234567890123456.0, 123456789012345678.0, 0.0001, 0.00001, "
	"1.5e-05, -0.0, 5e-324, 1.7976931348623157e308, 1E400, -1e400, "
	"0.3333333333333333, 1e-7, 6.02214076e23],\n"
	" \"dup\": 1, \"order\": {\"z\": 1, \"a\": 2, \"m\": 3}, \"dup\": 2,\n"
	" \"\": \"empty key\", \"key\\twith\\ntab\": \"v\"\n"
	"}";

static const char doc_out[] =
	"{\n"
	"  \"url\": \"https://x/y\",\n"
	"  \"nested\": {\n"
	"    \"a\": {\n"
	"      \"b\": {\n"
	"        \"c\": [\n"
	"          1,\n"
	"          [\n"
	"            2,\n"
	"            [\n"
	"              3,\n"
	"              []\n"
	"            ]\n"
	"          ],\n"
	"          {}\n"
	"        ]\n"
	"      }\n"
	"    }\n"
	"  },\n"
	"  \"empty_obj\": {},\n"
	"  \"empty_arr\": [],\n"
	"  \"arr_of_empties\": [\n"
	"    {},\n"
	"    [],\n"
	"    {\n"
	"      \"x\": []\n"
	"    }\n"
	"  ],\n"
	"  \"esc\": \"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f nul\\u0000 "
	"us\\u001f esc\\u001b del\177 slash/ /\",\n"
	"  \"unicode\": \"\303\251t\303\251 \346\227\245\346\234\254 "
	"\360\237\230\200 raw: \303\251 \346\227\245\346\234\254 "
	"\360\237\230\200 \342\200\250\",\n"
	"  \"bools\": [\n"
	"    true,\n"
	"    false,\n"
	"    null\n"
	"  ],\n"
	"  \"ints\": [\n"
	"    0,\n"
	"    0,\n"
	"    42,\n"
	"    -17,\n"
	"    9223372036854775807,\n"
	"    -9223372036854775808,\n"
	"    18446744073709551615\n"
	"  ],\n"
	"  \"doubles\": [\n"
	"    12.5,\n"
	"    300.123456,\n"
	"    0.1,\n"
	"    1.0,\n"
	"    100.0,\n"
	"    100000.0,\n"
	"    2.5,\n"
	"    1e+16,\n"
	"    1.5e+16,\n"
	"    1234567890123456.0,\n"
	"    1.2345678901234568e+17,\n"
	"    0.0001,\n"
	"    1e-05,\n"
	"    1.5e-05,\n"
	"    -0.0,\n"
	"    5e-324,\n"
	"    1.7976931348623157e+308,\n"
	"    Infinity,\n"
	"    -Infinity,\n"
	"    0.3333333333333333,\n"
	"    1e-07,\n"
	"    6.02214076e+23\n"
	"  ],\n"
	"  \"dup\": 2,\n"
	"  \"order\": {\n"
	"    \"z\": 1,\n"
	"    \"a\": 2,\n"
	"    \"m\": 3\n"
	"  },\n"
	"  \"\": \"empty key\",\n"
	"  \"key\\twith\\ntab\": \"v\"\n"
	"}\n";

static const char scalar_out[] = "12\n";

static size_t slen(const char *s)
{
	return strlen(s);
}

static void test_dags(void)
{
	static const char body[] = "{\"dags\": [{\"dag_id\": \"a\", "
				   "\"is_paused\": false, \"tags\": []}, "
				   "{\"dag_id\": \"b.c-d_e\"}], "
				   "\"total_entries\": 5}";
	struct af_names names = {0};
	long total = -1;

	CHECK(json_dags(body, slen(body), &names, &total) == 0);
	CHECK(names.n == 2);
	if (names.n == 2) {
		CHECK_STR(names.v[0], "a");
		CHECK_STR(names.v[1], "b.c-d_e");
	}
	CHECK(total == 5);
	af_names_clear(&names);
	CHECK(names.v == NULL && names.n == 0);
	af_names_clear(&names);

	CHECK(json_dags(LIT("{\"dags\": [], \"total_entries\": 0}"), &names,
			&total) == 0);
	CHECK(names.n == 0 && total == 0);
	af_names_clear(&names);

	/* total_entries absent: the number received */
	CHECK(json_dags(LIT("{\"dags\": [{\"dag_id\": \"x\"}]}"), &names,
			&total) == 0);
	CHECK(names.n == 1 && total == 1);
	af_names_clear(&names);
}

static void test_dags_bad(void)
{
	static const char *const bad[] = {
		"{\"dags\": [{\"dag_id\": \"a\"}, {\"id\": \"b\"}], "
		"\"total_entries\": 2}",
		"{\"dags\": [{\"dag_id\": 7}], \"total_entries\": 1}",
		"{\"dags\": [{\"dag_id\": null}], \"total_entries\": 1}",
		"{\"dags\": [\"a\"], \"total_entries\": 1}",
		"{\"dags\": {\"dag_id\": \"a\"}, \"total_entries\": 1}",
		"{\"total_entries\": 0}",
		"{\"dags\": [], \"total_entries\": \"0\"}",
		"{\"dags\": [], \"total_entries\": -1}",
		"{\"dags\": [], \"total_entries\": 1.5}",
		"{\"dags\": [{\"dag_id\": \"a\\u0000b\"}], \"total_entries\": "
		"1}",
		"[]",
		"null",
		"",
		"{\"dags\": [{\"dag_id\": \"a\"}], \"total_entries\": 1",
		"{\"dags\": [{\"dag_id\": \"a\"}], \"total_entries\": 1}}",
		"{\"dags\": [{\"dag_id\": \"a\"}], \"total_entries\": 1} x",
		"{\"dags\": [{\"dag_id\": \"a\"},], \"total_entries\": 1}",
		"{\"dags\": [{'dag_id': \"a\"}], \"total_entries\": 1}",
		"{\"dags\": [], /* c */ \"total_entries\": 1}",
		"{\"dags\": [], \"total_entries\": 01}",
		"{\"dags\": [], \"total_entries\": TRUE}",
		"<html>502 Bad Gateway</html>",
	};
	struct af_names names = {.v = (char **)1, .n = 99};
	long total = -7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = json_dags(bad[i], slen(bad[i]), &names, &total);

		if (r != -EIO)
			fprintf(stderr, "case %zu: %d\n", i, r);
		CHECK(r == -EIO);
	}
	/* outputs untouched on failure */
	CHECK(names.v == (char **)1 && names.n == 99 && total == -7);
}

static void test_length_is_honoured(void)
{
	static const char body[] =
		"{\"dags\": [], \"total_entries\": 3}GARBAGE";
	static const char nul[] = "{\"dags\": [], \"total_entries\": 3}\0{}";
	struct af_names names = {0};
	long total = 0;

	/* not NUL-terminated: only len bytes count */
	size_t n = (size_t)(strstr(body, "GARBAGE") - body);

	CHECK(json_dags(body, n, &names, &total) == 0);
	CHECK(total == 3);
	af_names_clear(&names);
	CHECK(json_dags(body, slen(body), &names, &total) == -EIO);
	CHECK(json_dags(body, n - 1, &names, &total) == -EIO);
	CHECK(json_dags(nul, sizeof(nul) - 1, &names, &total) == -EIO);
	CHECK(json_dags(NULL, 0, &names, &total) == -EIO);
}

static void test_runs(void)
{
	struct af_run *runs = NULL;
	struct af_run run = {0};
	size_t n = 0;
	long total = 0;

	CHECK(json_runs(runs_body, slen(runs_body), &runs, &n, &total) == 0);
	CHECK(n == 4 && total == 4);
	if (n == 4) {
		CHECK_STR(runs[0].run_id,
			  "scheduled__2024-01-01T00:00:00+00:00");
		CHECK(runs[0].mtime == RUN0_MTIME);
		CHECK_STR(runs[1].run_id, "manual__2024-01-02");
		CHECK(runs[1].mtime == RUN1_MTIME);
		CHECK_STR(runs[2].run_id, "backfill");
		CHECK(runs[2].mtime == RUN2_MTIME);
		CHECK_STR(runs[3].run_id, "queued");
		CHECK(runs[3].mtime == 0);
	}
	af_runs_free(&runs, n);
	CHECK(runs == NULL);

	CHECK(json_runs(LIT("{\"dag_runs\": [], \"total_entries\": 0}"), &runs,
			&n, &total) == 0);
	CHECK(n == 0 && total == 0);
	af_runs_free(&runs, n);

	CHECK(json_run(LIT("{\"dag_run_id\": \"r\", \"start_date\": "
			   "\"1970-01-01T00:00:10Z\"}"),
		       &run) == 0);
	CHECK_STR(run.run_id, "r");
	CHECK(run.mtime == 10);
	af_run_clear(&run);
	CHECK(run.run_id == NULL);

	CHECK(json_runs(LIT("{\"dag_runs\": [{\"dag_run_id\": \"a\"}, "
			    "{\"dag_id\": "
			    "\"b\"}], \"total_entries\": 2}"),
			&runs, &n, &total) == -EIO);
	CHECK(json_runs(LIT("{\"dag_runs\": [{\"dag_run_id\": \"a\", "
			    "\"start_date\": 17}], \"total_entries\": 1}"),
			&runs, &n, &total) == -EIO);
	CHECK(json_run(LIT("{\"dag_run_id\": 1}"), &run) == -EIO);
	CHECK(json_run(LIT("[{\"dag_run_id\": \"a\"}]"), &run) == -EIO);
}

static void test_times(void)
{
	static const struct {
		const char *date;
		time_t t;
	} cases[] = {
		{"2024-01-01T00:05:00.123456+00:00", 1704067500},
		{"2024-01-01T00:05:00+00:00", 1704067500},
		{"2024-01-01T00:05:00Z", 1704067500},
		{"2024-01-01T00:05:00.5z", 1704067500},
		{"2024-01-01 00:05:00", 1704067500},
		{"2024-01-01T00:05", 1704067500},
		{"2024-01-01T05:35:00+05:30", 1704067500},
		{"2024-01-01T05:35:00+0530", 1704067500},
		{"2023-12-31T17:05:00-07:00", 1704067500},
		{"2024-01-01T01:05:00+01", 1704067500},
		{"2024-02-29T12:00:00+00:00", 1709208000},
		{"1970-01-01T00:00:00+00:00", 0},
		{"1969-12-31T23:59:59Z", -1},
		{"2000-03-01T00:00:00Z", 951868800},
		{"2100-12-31T23:59:59Z", 4133980799LL},
		/* not dates: passed over, so start_date decides */
		{"2023-02-29T00:00:00Z", 7},
		{"2024-13-01T00:00:00Z", 7},
		{"2024-01-01T24:00:00Z", 7},
		{"2024-01-01T00:05:00+00:00 ", 7},
		{"2024-01-01T00:05:00.Z", 7},
		{"2024-01-01", 7},
		{"yesterday", 7},
		{"", 7},
	};
	struct af_ti ti;
	char body[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ti, 0, sizeof(ti));
		n = snprintf(body, sizeof(body),
			     "{\"task_id\": \"t\", \"end_date\": \"%s\", "
			     "\"start_date\": \"1970-01-01T00:00:07Z\"}",
			     cases[i].date);
		CHECK(json_ti(body, (size_t)n, &ti) == 0);
		if (ti.mtime != cases[i].t)
			fprintf(stderr, "%s: %lld\n", cases[i].date,
				(long long)ti.mtime);
		CHECK(ti.mtime == cases[i].t);
		af_ti_clear(&ti);
	}
}

static void test_ti(void)
{
	struct af_ti ti = {0};

	CHECK(json_ti(ti_v1, slen(ti_v1), &ti) == 0);
	CHECK_STR(ti.task_id, "extract");
	CHECK(ti.map_index == -1);
	CHECK(ti.state == NULL);
	CHECK(ti.note == NULL);
	CHECK(ti.try_number == 1);
	CHECK(ti.mtime == TI_V1_MTIME);
	CHECK_STR(ti.info, ti_v1_info);
	CHECK(ti.info_len == slen(ti_v1_info));
	af_ti_clear(&ti);
	CHECK(ti.task_id == NULL && ti.info == NULL && ti.info_len == 0);

	CHECK(json_ti(ti_v2, slen(ti_v2), &ti) == 0);
	CHECK_STR(ti.task_id, "process");
	CHECK(ti.map_index == 3);
	CHECK_STR(ti.state, "success");
	CHECK_STR(ti.note, ti_v2_note);
	CHECK(ti.try_number == 2);
	CHECK(ti.mtime == TI_V2_MTIME);
	CHECK_STR(ti.info, ti_v2_info);
	CHECK(ti.info_len == slen(ti_v2_info));
	af_ti_clear(&ti);

	/* defaults: map_index -1, try_number 0, no dates */
	CHECK(json_ti(LIT("{\"task_id\": \"t\", \"map_index\": null, "
			  "\"try_number\": null, \"note\": \"\"}"),
		      &ti) == 0);
	CHECK_STR(ti.task_id, "t");
	CHECK(ti.map_index == -1 && ti.try_number == 0 && ti.mtime == 0);
	CHECK(ti.state == NULL);
	CHECK_STR(ti.note, "");
	af_ti_clear(&ti);
}

static void test_ti_bad(void)
{
	static const char *const bad[] = {
		"{\"dag_id\": \"d\", \"state\": \"success\"}",
		"{\"task_id\": null}",
		"{\"task_id\": 5}",
		"{\"task_id\": \"t\", \"map_index\": \"3\"}",
		"{\"task_id\": \"t\", \"map_index\": 3.0}",
		"{\"task_id\": \"t\", \"map_index\": 4294967296}",
		"{\"task_id\": \"t\", \"try_number\": true}",
		"{\"task_id\": \"t\", \"state\": 1}",
		"{\"task_id\": \"t\", \"state\": {}}",
		"{\"task_id\": \"t\", \"note\": []}",
		"{\"task_id\": \"t\", \"end_date\": 1704067500}",
		"{\"task_id\": \"t\", \"start_date\": false}",
		"[{\"task_id\": \"t\"}]",
		"\"task_id\"",
		"{\"task_id\": \"t\"",
		"{\"task_id\": \"t\", \"state\": \"succ",
		"{\"task_id\": \"t\"}\n{\"task_id\": \"u\"}",
		"{\"task_id\": \"t\", \"note\": \"a\tb\"} ]",
		/* invalid UTF-8 in a string: a stray byte, a cut sequence,
		 * an overlong form, a surrogate */
		"{\"task_id\": \"t\", \"state\": \"succ\xff"
		"ess\"}",
		"{\"task_id\": \"t\", \"note\": \"caf\xc3\"}",
		"{\"task_id\": \"t\xc0\xaf\"}",
		"{\"task_id\": \"t\", \"note\": \"\xed\xa0\x80\"}",
	};
	struct af_ti ti = {.task_id = (char *)1};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = json_ti(bad[i], slen(bad[i]), &ti);

		if (r != -EIO)
			fprintf(stderr, "case %zu: %d\n", i, r);
		CHECK(r == -EIO);
	}
	CHECK(ti.task_id == (char *)1);
}

static void test_tis(void)
{
	struct af_ti *tis = NULL;
	size_t n = 0;
	long total = 0;

	CHECK(json_tis(tis_body, slen(tis_body), &tis, &n, &total) == 0);
	CHECK(n == 3 && total == 7);
	if (n == 3) {
		CHECK_STR(tis[0].task_id, "extract");
		CHECK(tis[0].state == NULL && tis[0].note == NULL);
		CHECK_STR(tis[0].info, ti_v1_info);
		CHECK_STR(tis[1].task_id, "process");
		CHECK(tis[1].map_index == 3);
		CHECK_STR(tis[1].info, ti_v2_info);
		CHECK_STR(tis[2].task_id, "old");
		/* a 2.x server before 2.7: the string "none", kept */
		CHECK_STR(tis[2].state, "none");
		CHECK(tis[2].mtime == TIS_OLD_MTIME);
		CHECK(tis[2].try_number == 0);
		CHECK_STR(tis[2].info, tis_old_info);
	}
	af_tis_free(&tis, n);
	CHECK(tis == NULL);

	CHECK(json_tis(LIT("{\"task_instances\": [], \"total_entries\": 0}"),
		       &tis, &n, &total) == 0);
	CHECK(n == 0 && total == 0);
	af_tis_free(&tis, n);

	/* one bad record fails the page */
	CHECK(json_tis(LIT("{\"task_instances\": [{\"task_id\": \"a\"}, "
			   "{\"map_index\": 1}], \"total_entries\": 2}"),
		       &tis, &n, &total) == -EIO);
	CHECK(json_tis(LIT("{\"task_instances\": {}, \"total_entries\": 0}"),
		       &tis, &n, &total) == -EIO);
}

static void check_pretty(const char *in, size_t len, const char *want)
{
	char *out = NULL;
	size_t out_len = 0;

	CHECK(json_pretty(in, len, &out, &out_len) == 0);
	CHECK_STR(out, want);
	if (out && strcmp(out, want) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", out, want);
	CHECK(out != NULL && out_len == strlen(want));
	free(out);
}

static void test_pretty(void)
{
	char *out = (char *)1;
	size_t out_len = 0;
	char deep[200];
	int r;

	check_pretty(doc_body, slen(doc_body), doc_out);
	check_pretty(LIT("12"), scalar_out);
	check_pretty(LIT(" 12 \n"), scalar_out);
	check_pretty(LIT("null"), "null\n");
	check_pretty(LIT("\"https://x/y\""), "\"https://x/y\"\n");
	check_pretty(LIT(" [ ] "), "[]\n");
	check_pretty(LIT("{}"), "{}\n");
	check_pretty(LIT("[1.50]"), "[\n  1.5\n]\n");
	check_pretty(LIT("-1.0e-3"), "-0.001\n");
	/* json-c takes these; their own text would be no JSON */
	check_pretty(LIT("[2., -.5, 00.5, 1.e5, -0.]"),
		     "[\n  2.0,\n  -0.5,\n  0.5,\n  100000.0,\n  -0.0\n]\n");
	check_pretty(LIT("true"), "true\n");

	/* nesting: 60 levels parse, 100 are refused, neither crashes */
	memset(deep, '[', 60);
	memset(deep + 60, ']', 60);
	CHECK(json_pretty(deep, 120, &out, &out_len) == 0);
	CHECK(out != NULL && out_len > 120);
	free(out);
	out = (char *)1;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CHECK(json_pretty(deep, 200, &out, &out_len) == -EIO);
	CHECK(out == (char *)1);

	CHECK(json_pretty("1", 0, &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("nul"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("NULL"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[1,]"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[1] [2]"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("12a"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("\"abc"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("\"a\\x\""), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("'a'"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("{'a': 1}"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[\"a\tb\"]"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[\"a\nb\"]"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[1] // c"), &out, &out_len) == -EIO);
	CHECK(json_pretty(LIT("[tRue]"), &out, &out_len) == -EIO);
	CHECK(out == (char *)1);

	/*
	 * Beyond 64 bits json-c 0.16 clamps (newer releases refuse in strict
	 * mode); Python would print the digits. Either way nothing breaks.
	 */
	out = NULL;
	r = json_pretty(LIT("[123456789012345678901234567890]"), &out,
			&out_len);
	CHECK(r == -EIO ||
	      (r == 0 && strcmp(out, "[\n  18446744073709551615\n]\n") == 0));
	free(out);
}

static void check_links(const char *in, const char *want)
{
	char *out = NULL;
	size_t out_len = 0;

	CHECK(json_links(in, slen(in), &out, &out_len) == 0);
	CHECK_STR(out, want);
	CHECK(out != NULL && out_len == strlen(want));
	free(out);
}

static void test_links(void)
{
	static const char *const bad[] = {
		"[]",
		"\"https://x/y\"",
		"{\"a\": 1}",
		"{\"a\": {\"b\": \"c\"}}",
		"{\"a\": [\"https://x/y\"]}",
		"{\"extra_links\": {\"a\": false}, \"total_entries\": 1}",
		"{\"extra_links\": [{\"name\": 1, \"href\": \"u\"}]}",
		"{\"extra_links\": [\"u\"]}",
		"{\"a\": \"https://x/y\"",
	};
	char *out = (char *)1;
	size_t i, out_len = 0;

	check_links(links_v1, links_v1_out);
	check_links(links_v2, links_v2_out);
	check_links("{}", "{}\n");
	check_links("{\"extra_links\": {}, \"total_entries\": 0}", "{}\n");
	/* a v1 link that happens to be named extra_links */
	check_links("{\"extra_links\": null, \"z\": \"u\"}",
		    "{\n  \"extra_links\": null,\n  \"z\": \"u\"\n}\n");
	/* the v1 spec's shape, as a mock built from the spec answers */
	check_links("{\"extra_links\": [{\"class_ref\": {\"class_name\": "
		    "\"L\"}, \"name\": \"GitHub\", \"href\": \"https://x/y\"}, "
		    "{\"name\": \"Docs\"}]}",
		    "{\n  \"GitHub\": \"https://x/y\",\n  \"Docs\": null\n}\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(json_links(bad[i], slen(bad[i]), &out, &out_len) == -EIO);
	CHECK(out == (char *)1);
}

static void check_msg(const char *body, const char *want)
{
	char *msg = NULL;

	CHECK(json_error_message(body, slen(body), &msg) == 0);
	CHECK_STR(msg, want);
	if (msg && strcmp(msg, want) != 0)
		fprintf(stderr, "got: %s\n", msg);
	free(msg);
}

static void test_error_message(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"detail\": \"\", \"title\": \"\"}",
		"{\"detail\": null}",
		"{\"error\": {\"code\": \"invalid_json\"}}",
		"[\"detail\"]",
		"<html><body>502</body></html>",
		"",
	};
	char body[1024], *msg = (char *)1;
	size_t i;
	int n;

	check_msg("{\"detail\": \"Task instance not found\", \"status\": 404, "
		  "\"title\": \"Not Found\", \"type\": "
		  "\"https://airflow.apache.org/docs/apache-airflow/2.10.5/"
		  "stable-rest-api-ref.html#section/Errors/NotFound\"}",
		  "Not Found: Task instance not found");
	check_msg(
		"{\"detail\": null, \"status\": 403, \"title\": \"Forbidden\", "
		"\"type\": \"x\"}",
		"Forbidden");
	check_msg("{\"detail\": \"\", \"status\": 401, \"title\": "
		  "\"Unauthorized\"}",
		  "Unauthorized");
	check_msg("{\"title\": \"Bad Request\", \"detail\": \"Bad Request\"}",
		  "Bad Request");
	check_msg("{\"detail\": \"{'note': ['Longer than maximum length "
		  "1000.']}\", \"status\": 400, \"title\": \"Bad Request\"}",
		  "Bad Request: {'note': ['Longer than maximum length "
		  "1000.']}");
	check_msg("{\"detail\": \"Not Found\"}", "Not Found");
	check_msg("{\"detail\": \"Task id t is already in failed state\"}",
		  "Task id t is already in failed state");
	check_msg("{\"detail\": [{\"type\": \"string_too_long\", \"loc\": "
		  "[\"body\", \"note\"], \"msg\": \"String should have at "
		  "most 1000 characters\", \"input\": \"x\", \"ctx\": "
		  "{\"max_length\": 1000}}, {\"type\": \"extra_forbidden\", "
		  "\"loc\": [\"body\", \"dry_run\"], \"msg\": \"Extra inputs "
		  "are not permitted\"}]}",
		  "String should have at most 1000 characters; Extra inputs "
		  "are not permitted");
	check_msg("{\"detail\": {\"reason\": \"not_found\", \"message\": "
		  "\"a/b\", \"n\": [1, 2.5, null]}}",
		  "{\"reason\": \"not_found\", \"message\": \"a/b\", \"n\": "
		  "[1, 2.5, null]}");
	check_msg("{\"detail\": [{\"loc\": [\"q\"]}]}", "[{\"loc\": [\"q\"]}]");
	check_msg("{\"detail\": \"line 1\\nline 2\\ttab\\u0000nul\\u007f\"}",
		  "line 1 line 2 tab nul ");

	/* capped at 300 bytes, not in the middle of a UTF-8 character */
	n = snprintf(body, sizeof(body),
		     "{\"detail\": \"%0296d\\u00e9\\u00e9"
		     "tail\"}",
		     0);
	CHECK(json_error_message(body, (size_t)n, &msg) == 0);
	CHECK(msg != NULL && strlen(msg) == 299);
	CHECK(msg != NULL && memcmp(msg + 296, "...", 4) == 0);
	free(msg);
	n = snprintf(body, sizeof(body), "{\"detail\": \"%0600d\"}", 0);
	CHECK(json_error_message(body, (size_t)n, &msg) == 0);
	CHECK(msg != NULL && strlen(msg) == 300);
	CHECK(msg != NULL && strcmp(msg + 297, "...") == 0);
	free(msg);

	msg = (char *)1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(json_error_message(bad[i], slen(bad[i]), &msg) == -EIO);
	CHECK(msg == (char *)1);
}

static void test_version(void)
{
	char *v = NULL;

	CHECK(json_version(LIT("{\"version\": \"2.10.5\", \"git_version\": "
			       "\".release:abc\"}"),
			   &v) == 0);
	CHECK_STR(v, "2.10.5");
	free(v);
	v = (char *)1;
	CHECK(json_version(LIT("{\"version\": 2}"), &v) == -EIO);
	CHECK(json_version(LIT("{\"git_version\": \"x\"}"), &v) == -EIO);
	CHECK(json_version(LIT("{\"version\": \"\"}"), &v) == -EIO);
	/* found by tests/fuzz/fuzz_json_version.c: empty once copied */
	CHECK(json_version(LIT("{\"version\": \"\\u0000 2.10.5\"}"), &v) ==
	      -EIO);
	CHECK(json_version(LIT("2.10.5"), &v) == -EIO);
	CHECK(v == (char *)1);
}

/* What a records reader handed on, NUL-terminated. */
struct text {
	char *p;
	size_t len;
};

static int take(void *arg, const char *data, size_t len)
{
	struct text *t = arg;
	char *p = realloc(t->p, t->len + len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p + t->len, data, len);
	t->p = p;
	t->len += len;
	t->p[t->len] = '\0';
	return 0;
}

/* Feeds body in pieces of every size from 1 to 7 bytes, and whole. */
static int stream_log(const char *body, struct text *t, int *more)
{
	int err = 0;

	for (size_t piece = 1; piece <= 8 && !err; piece++) {
		struct records *r = records_new(take, t);
		size_t n = slen(body), step = piece == 8 ? n : piece;

		t->len = 0;
		err = take(t, "", 0);
		for (size_t off = 0; !err && off < n; off += step)
			err = records_feed(r, body + off,
					   n - off < step ? n - off : step);
		if (!err)
			err = records_end(r, more);
		records_free(&r);
	}
	return err;
}

static void check_log(const char *body, const char *want, int want_more)
{
	struct text t = {0};
	int more = -1;

	CHECK(stream_log(body, &t, &more) == 0);
	CHECK_STR(t.p, want);
	CHECK(more == want_more);
	if (t.p && strcmp(t.p, want) != 0)
		fprintf(stderr, "got: [%s]\n", t.p);
	free(t.p);
}

static void test_log_records(void)
{
	static const char *const bad[] = {
		"[]",
		"{\"content\": \"text\"}",
		"{\"continuation_token\": null}",
		"{\"content\": [], \"continuation_token\": 5}",
		"{\"content\": [{\"event\": \"x\"}",
		"{\"content\": [{\"event\": \"x\"}]",
		"{\"content\": [], \"content\": []}",
		"{\"content\": [{\"event\": \"x\",}]}",
		"{\"content\": [1], \"x\": 1} 2",
	};
	check_log("{\"content\": [], \"continuation_token\": null}", "", 0);
	check_log(
		"{\"content\": [{\"event\": \"::group::Log message source "
		"details\", \"sources\": [\"/a/1.log\", \"/b\"]}, {\"event\": "
		"\"::endgroup::\"}], \"continuation_token\": \"eyJ4\"}",
		"::group::Log message source details sources=[\"/a/1.log\", "
		"\"/b\"]\n::endgroup::\n",
		1);
	/* the full form; the level upper-cased; other keys in order */
	check_log("{\"content\": [{\"timestamp\": \"2024-01-01T00:00:01Z\", "
		  "\"event\": \"Task started\", \"level\": \"info\", "
		  "\"logger\": \"airflow.task\", \"chan\": \"stdout\", "
		  "\"n\": 3, \"ok\": true, \"x\": null, \"d\": {\"k\": "
		  "[1, 2.5]}}], \"continuation_token\": null}",
		  "[2024-01-01T00:00:01Z] INFO airflow.task - Task started "
		  "chan=stdout n=3 ok=true x=null d={\"k\": [1, 2.5]}\n",
		  0);
	/* missing fields go with their separators; newlines are kept */
	check_log(
		"{\"content\": [{\"timestamp\": \"T\", \"event\": \"a\"}, "
		"{\"timestamp\": \"T\", \"level\": \"error\", \"event\": "
		"\"Traceback:\\n  line 1\\nValueError: é\"}, {\"timestamp\": "
		"\"T\", \"logger\": \"l\", \"level\": null, \"event\": \"b\"}, "
		"{\"event\": \"plain\", \"timestamp\": null, \"level\": "
		"\"info\"}, {\"timestamp\": \"T\"}], "
		"\"continuation_token\": null}",
		"[T] a\n[T] ERROR Traceback:\n  line 1\nValueError: é\n"
		"[T] l - b\nplain\n[T] \n",
		0);
	/* a log of plain strings */
	check_log("{\"content\": [\"one\", \"two\"]}", "one\ntwo\n", 0);
	check_log(" { \"x\" : {\"content\": [1, {\"a\": \"]\"}]} , \"content\" "
		  ": [ \"a\\\"]\" , 2 , null , [1, {\"k\": [ ]}] ] , "
		  "\"continuation_token\" : \"t\" } ",
		  "a\"]\n2\n\n[1, {\"k\": []}]\n", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct text t = {0};
		int more = -1;

		CHECK(stream_log(bad[i], &t, &more) == -EIO);
		CHECK(more == -1);
		free(t.p);
	}
}

/*
 * Records rendered 64 KiB at a time give what each rendered alone gives:
 * batches of many small records, a record larger than a batch between
 * them, and records as deep as one alone may be.
 */
static void test_log_records_batched(void)
{
	char *els[3000], *body, *big = malloc(70001), deep[200];
	size_t n = 0, len = 0, cap = 1 << 20;
	struct text got = {0}, want = {0};
	struct records *r = records_new(take, &got);
	int more = -1, err = 0;

	memset(big, 'x', 70000);
	big[70000] = '\0';
	/* 63 arrays deep, as deep as json_parse takes */
	snprintf(deep, sizeof(deep), "%.63s1%.63s",
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		 "[[[[[[[[",
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		 "]]]]]]]]");
	for (int i = 0; i < 2990; i++) {
		char el[256];

		if (i == 1000)
			snprintf(el, sizeof(el), "\"%s\"", "big");
		else if (i % 700 == 3)
			snprintf(el, sizeof(el), "%s", deep);
		else
			snprintf(el, sizeof(el),
				 "{\"timestamp\": \"T\", \"event\": "
				 "\"line %05d\", \"level\": \"info\"}",
				 i);
		els[n] = i == 1000 ? malloc(70003) : strdup(el);
		if (i == 1000)
			sprintf(els[n], "\"%s\"", big);
		n++;
	}
	body = malloc(cap);
	len += (size_t)sprintf(body, "{\"content\": [");
	for (size_t i = 0; i < n; i++) {
		char *text = NULL;
		size_t tn = 0;

		len += (size_t)sprintf(body + len, "%s%s", i ? ", " : "",
				       els[i]);
		CHECK(json_record_text(els[i], strlen(els[i]), &text, &tn) ==
		      0);
		if (text)
			take(&want, text, tn);
		free(text);
		free(els[i]);
	}
	len += (size_t)sprintf(body + len, "], \"continuation_token\": null}");
	for (size_t off = 0; !err && off < len; off += 4093)
		err = records_feed(r, body + off,
				   len - off < 4093 ? len - off : 4093);
	CHECK(err == 0 && records_end(r, &more) == 0 && more == 0);
	CHECK(got.len == want.len && got.len > 130000);
	CHECK(got.p && want.p && !memcmp(got.p, want.p, want.len));
	records_free(&r);
	free(got.p);
	free(want.p);
	free(body);
	free(big);
}

static void test_patched_ti(void)
{
	struct af_ti ti;

	CHECK(json_patched_ti(LIT("{\"task_id\": \"t\", \"map_index\": 2, "
				  "\"note\": \"n\"}"),
			      &ti) == 0);
	CHECK_STR(ti.task_id, "t");
	CHECK(ti.map_index == 2);
	af_ti_clear(&ti);
	CHECK(json_patched_ti(LIT("{\"task_instances\": [{\"task_id\": "
				  "\"u\", \"note\": null}], "
				  "\"total_entries\": 1}"),
			      &ti) == 0);
	CHECK_STR(ti.task_id, "u");
	CHECK(ti.map_index == -1 && ti.note == NULL);
	af_ti_clear(&ti);
	CHECK(json_patched_ti(LIT("{\"task_instances\": [], "
				  "\"total_entries\": 0}"),
			      &ti) == -EIO);
	CHECK(json_patched_ti(LIT("{}"), &ti) == -EIO);
}

static void test_tokens(void)
{
	/* {"sub":"1","iat":1700000000,"exp":1700086400} */
	const char *jwt = "eyJhbGciOiJIUzUxMiJ9."
			  "eyJzdWIiOiIxIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDA"
			  "wODY0MDB9.c2ln";
	int64_t iat = -1, exp = -1;
	char *tok = NULL;

	CHECK(json_jwt_times(jwt, &iat, &exp) == 0);
	CHECK(iat == 1700000000 && exp == 1700086400);
	/* {"sub":"1"} */
	CHECK(json_jwt_times("x.eyJzdWIiOiIxIn0.y", &iat, &exp) == -EIO);
	CHECK(json_jwt_times("opaque-token", &iat, &exp) == -EIO);
	CHECK(json_jwt_times("a.!!.b", &iat, &exp) == -EIO);
	/* claims out of range are no claims: no overflow, no UB */
	/* {"exp":1e300,"iat":1} */
	CHECK(json_jwt_times("h.eyJleHAiOjFlMzAwLCJpYXQiOjF9.s", &iat, &exp) ==
	      -EIO);
	/* {"exp":-5} */
	CHECK(json_jwt_times("h.eyJleHAiOi01fQ.s", &iat, &exp) == -EIO);
	/* {"exp":9223372036854775807,"iat":-9223372036854775807} */
	CHECK(json_jwt_times("h."
			     "eyJleHAiOjkyMjMzNzIwMzY4NTQ3NzU4MDcsImlhdCI6LTkyM"
			     "jMzNzIwMzY4NTQ3NzU4MDd9.s",
			     &iat, &exp) == -EIO);
	/* {"exp":1700086400,"iat":-9223372036854775807} */
	CHECK(json_jwt_times("h."
			     "eyJleHAiOjE3MDAwODY0MDAsImlhdCI6LTkyMjMzNzIwMzY4N"
			     "TQ3NzU4MDd9.s",
			     &iat, &exp) == 0);
	CHECK(exp == 1700086400 && iat == 0);
	/* {"exp":NaN} */
	CHECK(json_jwt_times("h.eyJleHAiOk5hTn0.s", &iat, &exp) == -EIO);
	/* {"exp":1700086400.5} */
	CHECK(json_jwt_times("h.eyJleHAiOjE3MDAwODY0MDAuNX0.s", &iat, &exp) ==
	      0);
	CHECK(exp == 1700086400);
	CHECK(json_access_token(LIT("{\"access_token\": \"abc.def\"}"), &tok) ==
	      0);
	CHECK_STR(tok, "abc.def");
	free(tok);
	tok = (char *)1;
	CHECK(json_access_token(LIT("{\"access_token\": \"\"}"), &tok) == -EIO);
	CHECK(json_access_token(LIT("{\"access_token\": \"a\\nb\"}"), &tok) ==
	      -EIO);
	CHECK(json_access_token(LIT("{\"token\": \"a\"}"), &tok) == -EIO);
	CHECK(tok == (char *)1);
}

/* What json-c would take is estimated and bounded before parsing. */
static void test_decode_cost(void)
{
	size_t n = (size_t)2 << 20, i;
	char *zeros = malloc(n + 32), *objs = malloc(n + 32);
	struct af_ti ti;
	int len;

	if (!zeros || !objs)
		abort();
	/* {"task_id": "t", "pad": [0,0,...]}: 2 MB, 1M values */
	len = sprintf(zeros, "{\"task_id\": \"t\", \"pad\": [");
	for (i = 0; i < n / 2; i++)
		len += sprintf(zeros + len, "0,");
	zeros[len - 1] = ']';
	zeros[len++] = '}';
	CHECK(json_decode_cost(zeros, (size_t)len) > JSON_COST_MAX);
	CHECK(json_ti(zeros, (size_t)len, &ti) == -EIO);
	/* strings cost their bytes, not per character */
	CHECK(json_decode_cost("[\"a,b:c{d[e\"]", 13) < 1000);
	/* one object costs as much as hundreds of bytes of text */
	memcpy(objs, "[{},{}]", 7);
	CHECK(json_decode_cost(objs, 7) >= 2 * 800);
	CHECK(json_decode_cost("0", 1) < 200);
	free(zeros);
	free(objs);
}

/* A string literal as json.dumps writes it (ensure_ascii=False). */
static void test_quote(void)
{
	static const char raw[] = "a\"b\\c\b\t\n\v\f\r\x01\x1f/\x7f\xc3\xa9";
	char *q = NULL;

	CHECK(json_quote(raw, sizeof(raw) - 1, &q) == 0);
	CHECK_STR(q, "\"a\\\"b\\\\c\\b\\t\\n\\u000b\\f\\r\\u0001\\u001f/\x7f"
		     "\xc3\xa9\"");
	free(q);
	CHECK(json_quote("x\0y", 3, &q) == 0);
	CHECK_STR(q, "\"x\\u0000y\"");
	free(q);
	CHECK(json_quote("", 0, &q) == 0);
	CHECK_STR(q, "\"\"");
	free(q);
}

int main(void)
{
	test_quote();
	test_decode_cost();
	test_dags();
	test_dags_bad();
	test_length_is_honoured();
	test_runs();
	test_times();
	test_ti();
	test_ti_bad();
	test_tis();
	test_pretty();
	test_links();
	test_error_message();
	test_version();
	test_log_records();
	test_log_records_batched();
	test_patched_ti();
	test_tokens();
	return CHECK_DONE();
}
