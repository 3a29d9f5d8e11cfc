// SPDX-License-Identifier: Apache-2.0
/* Checks of written values; see value.h. */
#include <errno.h>
#include <strings.h>

#include "value.h"

static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

const char *value_state(const char *buf, size_t len)
{
	static const char *const ok[] = {"success", "failed", "skipped", NULL};

	return value_word(buf, len, ok);
}

const char *value_word(const char *buf, size_t len, const char *const *ok)
{
	while (len > 0 && space(buf[len - 1]))
		len--;
	while (len > 0 && space(*buf)) {
		buf++;
		len--;
	}
	for (size_t i = 0; ok[i]; i++) {
		size_t n = 0;

		while (ok[i][n])
			n++;
		if (n == len && strncasecmp(buf, ok[i], n) == 0)
			return ok[i];
	}
	return NULL;
}

size_t value_chars(const char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)buf[i] & 0xC0) != 0x80;
	return n;
}

long value_note(const char *buf, size_t len)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (value_chars(buf, len) > VALUE_NOTE_MAX)
		return -EFBIG;
	return (long)len;
}
