// SPDX-License-Identifier: Apache-2.0
/* Unit tests of fs/path.c: names, numbers, URL escaping. */
#include <string.h>
#include "check.h"
#include "path.h"

static void test_ids(void)
{
	CHECK(path_id_ok("etl_daily"));
	CHECK(path_id_ok("scheduled__2024-01-01T00:00:00+00:00"));
	CHECK(path_id_ok("group.extract"));
	CHECK(path_id_ok("with space #1 %"));
	CHECK(path_id_ok("..."));
	CHECK(!path_id_ok(""));
	CHECK(!path_id_ok("."));
	CHECK(!path_id_ok(".."));
	CHECK(!path_id_ok("a/b"));
	CHECK(!path_id_ok("/"));
	CHECK(!path_id_ok(NULL));
	/* control characters and names over 255 bytes are left out */
	CHECK(!path_id_ok("a\nb"));
	CHECK(!path_id_ok("a\tb"));
	CHECK(!path_id_ok("\x1b[31mred"));
	CHECK(!path_id_ok("del\x7f"));
	CHECK(path_id_ok("caf\xc3\xa9"));
	{
		char id[300];

		memset(id, 'x', sizeof(id));
		id[255] = '\0';
		CHECK(path_id_ok(id));
		id[255] = 'x';
		id[256] = '\0';
		CHECK(!path_id_ok(id));
	}
}

static void test_ti_files(void)
{
	CHECK(path_ti_file("state") == TI_STATE);
	CHECK(path_ti_file("note") == TI_NOTE);
	CHECK(path_ti_file("links.json") == TI_LINKS);
	CHECK(path_ti_file("info.json") == TI_INFO);
	CHECK(path_ti_file("logs") == TI_LOGS);
	CHECK(path_ti_file("State") == TI_NONE);
	CHECK(path_ti_file("note~") == TI_NONE);
	CHECK(path_ti_file("") == TI_NONE);
	CHECK_STR(path_ti_file_name(TI_LINKS), "links.json");
	CHECK(path_ti_lookalike("State"));
	CHECK(path_ti_lookalike("NOTE"));
	CHECK(path_ti_lookalike("Info.JSON"));
	CHECK(path_ti_lookalike("Links.json"));
	CHECK(path_ti_lookalike("states"));
	CHECK(path_ti_lookalike("Notes"));
	CHECK(!path_ti_lookalike("state"));
	CHECK(!path_ti_lookalike("note"));
	CHECK(!path_ti_lookalike("note~"));
	CHECK(!path_ti_lookalike(".note.swp"));
	CHECK(!path_ti_lookalike("4913"));
	CHECK(!path_ti_lookalike("Logs"));
	CHECK(path_ti_file_name(TI_NONE) == NULL);
}

static void test_numbers(void)
{
	int n = -5;

	CHECK(path_number("0", &n) == 0 && n == 0);
	CHECK(path_number("7", &n) == 0 && n == 7);
	CHECK(path_number("123456789", &n) == 0 && n == 123456789);
	CHECK(path_number("1234567890", &n) == -1);
	CHECK(path_number("01", &n) == -1);
	CHECK(path_number("-1", &n) == -1);
	CHECK(path_number("+1", &n) == -1);
	CHECK(path_number("1a", &n) == -1);
	CHECK(path_number(" 1", &n) == -1);
	CHECK(path_number("", &n) == -1);
}

static void test_escape(void)
{
	char buf[64] = "/dags/";
	long n;

	n = path_escape(buf, 6, sizeof(buf),
			"scheduled__2024-01-01T00:00:00+00:00");
	CHECK(n > 0);
	CHECK_STR(buf, "/dags/scheduled__2024-01-01T00%3A00%3A00%2B00%3A00");
	n = path_escape(buf, 0, sizeof(buf), "a b#c%d?e/f~g.h_i-j");
	CHECK_STR(buf, "a%20b%23c%25d%3Fe%2Ff~g.h_i-j");
	CHECK(n == (long)strlen(buf));
	n = path_escape(buf, 0, sizeof(buf), "\xc3\xa9");
	CHECK_STR(buf, "%C3%A9");
	CHECK(path_escape(buf, 0, 4, "abcd") == -1);
	CHECK(path_escape(buf, 0, 5, "abcd") == 4);
	CHECK(path_escape(buf, 0, 5, "a b") == -1);
	CHECK(path_escape(buf, 0, 6, "a b") == 5);
}

int main(void)
{
	test_ids();
	test_ti_files();
	test_numbers();
	test_escape();
	return CHECK_DONE();
}
