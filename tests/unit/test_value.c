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
	CHECK_STR(value_state(S("failed\n\n")), "failed");
	CHECK_STR(value_state(S("\n\n success \n\n")), "success");
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
	/* not UTF-8, or a NUL: refused */
	CHECK(value_note(S("bad \xff\xfe\n")) == -EINVAL);
	CHECK(value_note(S("a\0b\n")) == -EINVAL);
	CHECK(value_note(S("caf\xc3")) == -EINVAL);
}

static void test_text(void)
{
	CHECK(value_text(S("relanc\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"),
			 0) == 0);
	CHECK(value_text(S(""), 0) == 0);
	CHECK(value_text(S("a\0b"), 1) == -EINVAL);
	CHECK(value_text(S("\xff"), 1) == -EINVAL);
	CHECK(value_text(S("\x80"), 1) == -EINVAL);
	CHECK(value_text(S("\xc0\xaf"), 1) == -EINVAL);		/* overlong */
	CHECK(value_text(S("\xe0\x80\xaf"), 1) == -EINVAL);	/* overlong */
	CHECK(value_text(S("\xed\xa0\x80"), 1) == -EINVAL);	/* surrogate */
	CHECK(value_text(S("\xf4\x90\x80\x80"), 1) == -EINVAL); /* > 10FFFF */
	CHECK(value_text(S("\xc3x"), 1) == -EINVAL);
	/* an incomplete sequence at the end: only while partial */
	CHECK(value_text(S("caf\xc3"), 1) == 0);
	CHECK(value_text(S("caf\xc3"), 0) == -EINVAL);
	CHECK(value_text(S("\xe2\x9c"), 1) == 0);
	CHECK(value_text(S("\xe2\x9c"), 0) == -EINVAL);
	CHECK(value_text(S("\xe2\x9cx"), 1) == -EINVAL);
}

static void test_blank(void)
{
	CHECK(value_blank(S("")));
	CHECK(value_blank(S("\n")));
	CHECK(value_blank(S(" \t\r\n\n")));
	CHECK(!value_blank(S("failed\n\n")));
	CHECK(!value_blank(S("\0")));
}

int main(void)
{
	test_state();
	test_note();
	test_text();
	test_blank();
	return CHECK_DONE();
}
