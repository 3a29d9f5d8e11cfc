// SPDX-License-Identifier: Apache-2.0
/* Unit tests of fs/value.c: written states and notes. */
#include <errno.h>

#include "check.h"
#include "value.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_state(void)
{
	CHECK_STR(value_state(S("failed\n")), "failed");
	CHECK_STR(value_state(S("success")), "success");
	CHECK_STR(value_state(S("  SKIPPED \t\n")), "skipped");
	CHECK_STR(value_state(S("Failed\r\n")), "failed");
	CHECK(value_state(S("running\n")) == NULL);
	CHECK(value_state(S("none")) == NULL);
	CHECK(value_state(S("")) == NULL);
	CHECK(value_state(S("\n")) == NULL);
	CHECK(value_state(S("fail")) == NULL);
	CHECK(value_state(S("failedx")) == NULL);
	CHECK(value_state(S("failed\nfailed\n")) == NULL);
	CHECK(value_state(S("fai\0led")) == NULL);
	CHECK(value_state(S("\"failed\"")) == NULL);
}

static void test_note(void)
{
	char big[1003];

	CHECK(value_note(S("hello\n")) == 5);
	CHECK(value_note(S("hello")) == 5);
	CHECK(value_note(S("hello\n\n")) == 6);
	CHECK(value_note(S("\n")) == 0);
	CHECK(value_note(S("")) == 0);
	memset(big, 'a', sizeof(big));
	CHECK(value_note(big, 1000) == 1000);
	big[1000] = '\n';
	CHECK(value_note(big, 1001) == 1000);
	CHECK(value_note(big, 1002) == -EFBIG);
	CHECK(value_note(big, 1001 + 1) == -EFBIG);
	big[1000] = 'a';
	CHECK(value_note(big, 1001) == -EFBIG);
	/* characters, not bytes: 1000 two-byte characters fit */
	{
		static char wide[2001];

		for (int i = 0; i < 1000; i++) {
			wide[2 * i] = '\xc3';
			wide[2 * i + 1] = '\xa9';
		}
		wide[2000] = '\n';
		CHECK(value_note(wide, 2001) == 2000);
		CHECK(value_chars(wide, 2000) == 1000);
	}
	CHECK(value_chars(S("relanc\xc3\xa9 \xe2\x9c\x93")) == 9);
}

int main(void)
{
	test_state();
	test_note();
	return CHECK_DONE();
}
