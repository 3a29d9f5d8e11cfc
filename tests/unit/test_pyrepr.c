/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of fs/pyrepr.c. Each *_in is /usr/bin/python3's str() of a
 * list of (host, text) tuples, as a v1 server puts it in "content", and
 * *_out the texts joined as pyrepr.h says, encoded to UTF-8 (undecodable
 * bytes that Python holds as U+DC80..U+DCFF become the bytes again, other
 * lone surrogates U+FFFD).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pyrepr.h"

/* a string literal and its length */
#define LIT(s) (s), (sizeof(s) - 1)

/* simple */
static const char simple_in[] = "[('worker-1', ' INFO - line\\nline 2\\n')]";
static const char simple_out[] = " INFO - line\n"
				 "line 2\n";

/* squote */
static const char squote_in[] = "[('worker-1', \"it's here\\n\")]";
static const char squote_out[] = "it's here\n";

/* both */
static const char both_in[] = "[('w', 'both \\' and \" here\\\\ back\\n')]";
static const char both_out[] = "both ' and \" here\\ back\n";

/* ctrl */
static const char ctrl_in[] =
	"[('w', 'tab\\there\\r\\nesc\\x1b[31mred\\x1b[0m nul\\x00 bel\\x07 "
	"bs\\x08 ff\\x0c vt\\x0b del\\x7f\\n')]";
static const char ctrl_out[] =
	"tab\there\r\n"
	"esc\033[31mred\033[0m nul\000 bel\007 bs\010 ff\014 vt\013 del\177\n";

/* uni */
static const char uni_in[] =
	"[('w', 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200 "
	"nbsp\\xa0 shy\\xad zw\\u200b ls\\u2028 tag\\U000e0001 c1\\x85\\n')]";
static const char uni_out[] =
	"caf\303\251 \346\227\245\346\234\254 \360\237\230\200 nbsp\302\240 "
	"shy\302\255 zw\342\200\213 ls\342\200\250 tag\363\240\200\201 "
	"c1\302\205\n";

/* surr */
static const char surr_in[] =
	"[('w', 'bad byte \\udc80\\udcff lone \\ud800 end')]";
static const char surr_out[] = "bad byte \200\377 lone \357\277\275 end";

/* multi */
static const char multi_in[] =
	"[('host-a', '*** Found local files:\\n'), ('host-b', 'no newline'), "
	"('', ''), ('host-c', 'third'), ('h', '\\n')]";
static const char multi_out[] = "*** Found local files:\n"
				"no newline\n"
				"third\n"
				"\n";

/* empty */
static const char empty_in[] = "[]";
static const char empty_out[] = "";

/* header */
static const char header_in[] =
	"[('', ' INFO - ::group::Log message source details\\n*** Found local "
	"files:\\n***   * "
	"/opt/airflow/logs/dag_id=etl/run_id=manual__2024-01-01T00:00:00+00:00/"
	"task_id=t/attempt=1.log\\n INFO - ::endgroup::\\n[2024-01-01, "
	"00:00:01 UTC] {taskinstance.py:1157} INFO - Dependencies all met for "
	"dep_context=non-requeueable deps ti=<TaskInstance: etl.t "
	"manual__2024-01-01T00:00:00+00:00 [queued]>\\n[2024-01-01, 00:00:02 "
	"UTC] {logging_mixin.py:188} INFO - Hello \"world\" \\'quoted\\' "
	"C:\\\\path\\\\to\\n')]";
static const char header_out[] =
	" INFO - ::group::Log message source details\n"
	"*** Found local files:\n"
	"***   * "
	"/opt/airflow/logs/dag_id=etl/run_id=manual__2024-01-01T00:00:00+00:00/"
	"task_id=t/attempt=1.log\n"
	" INFO - ::endgroup::\n"
	"[2024-01-01, 00:00:01 UTC] {taskinstance.py:1157} INFO - Dependencies "
	"all met for dep_context=non-requeueable deps ti=<TaskInstance: etl.t "
	"manual__2024-01-01T00:00:00+00:00 [queued]>\n"
	"[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188} INFO - Hello "
	"\"world\" 'quoted' C:\\path\\to\n";

static void check(const char *in, size_t in_len, const char *want,
		  size_t want_len)
{
	char *out = NULL;
	size_t out_len = 0;
	int r;

	r = pyrepr_log(in, in_len, &out, &out_len);
	CHECK(r == 0);
	CHECK(out != NULL && out_len == want_len &&
	      memcmp(out, want, want_len) == 0 && out[out_len] == '\0');
	if (r == 0 && (out_len != want_len || memcmp(out, want, want_len)))
		fprintf(stderr, "in: %s\ngot (%zu): %s\n", in, out_len, out);
	free(out);
}

#define CHECK_DECODE(name) check(LIT(name##_in), LIT(name##_out))

static void test_lists(void)
{
	CHECK_DECODE(simple);
	CHECK_DECODE(squote);
	CHECK_DECODE(both);
	CHECK_DECODE(ctrl);
	CHECK_DECODE(uni);
	CHECK_DECODE(surr);
	CHECK_DECODE(multi);
	CHECK_DECODE(empty);
	CHECK_DECODE(header);
}

static void test_slack(void)
{
	/* blanks, None as a host, trailing commas, escapes repr never makes */
	check(LIT("[ ( 'h' , 'a' ) ,\n(None, \"b\\n\",), ]"), LIT("a\nb\n"));
	check(LIT("[('h', '\\0\\101\\1011\\u00e9\\U0001F600\\a\\v\\f\\b')]"),
	      LIT("\0AA1\303\251\360\237\230\200\a\v\f\b"));
	check(LIT("[('h', 'unknown \\q escape, \\\njoined')]"),
	      LIT("unknown \\q escape, joined"));
	check(LIT("[('h', 'raw\nnewline')]"), LIT("raw\nnewline"));
	check(LIT("[('h', '')]"), LIT(""));
	check(LIT("[('h', ''), ('h', 'x')]"), LIT("x"));
}

static void test_plain(void)
{
	/* not a list: a message, returned as it is */
	check(LIT("Error fetching the logs. Try number 0 is invalid."),
	      LIT("Error fetching the logs. Try number 0 is invalid."));
	check(LIT(" [('h', 'x')]"), LIT(" [('h', 'x')]"));
	check(LIT("*** Log file does not exist\n"),
	      LIT("*** Log file does not exist\n"));
	check(LIT(""), LIT(""));
	check(NULL, 0, LIT(""));
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"[",
		"[(",
		"[('h', 'x')",
		"[('h', 'x'),",
		"[('h', 'x')] trailing",
		"[('h', 'x')]]",
		"[('h' 'x')]",
		"[('h', 'x)]",
		"[('h', \"x')]",
		"[('h', 'x', 'y')]",
		"[('h')]",
		"[('h',)]",
		"[(1, 'x')]",
		"[('h', None)]",
		"[('h', b'x')]",
		"['h', 'x']",
		"[('h', 'x') ('h', 'y')]",
		"[('h', 'x'),,]",
		"[,]",
		"[('h', '\\x4')]",
		"[('h', '\\xg0')]",
		"[('h', '\\u12')]",
		"[('h', '\\U0011ffff')]",
		"[('h', 'x\\')]",
		"[('h', 'x\\",
		"[None]",
		"[Non",
	};
	char *out = (char *)1;
	size_t i, out_len = 7;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pyrepr_log(bad[i], strlen(bad[i]), &out, &out_len);

		if (r != -EIO)
			fprintf(stderr, "case %zu (%s): %d\n", i, bad[i], r);
		CHECK(r == -EIO);
	}
	CHECK(out == (char *)1 && out_len == 7);
}

static void test_length_is_honoured(void)
{
	static const char s[] = "[('h', 'abc')]EXTRA";
	char *out = NULL;
	size_t out_len = 0;

	CHECK(pyrepr_log(s, 14, &out, &out_len) == 0);
	CHECK_STR(out, "abc");
	free(out);
	CHECK(pyrepr_log(s, 10, &out, &out_len) == -EIO);
	CHECK(pyrepr_log(s, sizeof(s) - 1, &out, &out_len) == -EIO);
}

int main(void)
{
	test_lists();
	test_slack();
	test_plain();
	test_malformed();
	test_length_is_honoured();
	return CHECK_DONE();
}
