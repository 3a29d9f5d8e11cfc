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

int value_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!space(buf[i]))
			return 0;
	return 1;
}

/*
 * The length of the UTF-8 sequence at p (n bytes left): > 0 when whole
 * and valid, 0 when it is valid so far but n ends it early, -1 when it is
 * invalid (a stray byte, an overlong form, a surrogate, past U+10FFFF).
 */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	int len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return -1;
	if (p[0] == 0xE0)
		lo = 0xA0; /* overlong */
	else if (p[0] == 0xED)
		hi = 0x9F; /* surrogates */
	else if (p[0] == 0xF0)
		lo = 0x90; /* overlong */
	else if (p[0] == 0xF4)
		hi = 0x8F; /* past U+10FFFF */
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return 0;
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
			return -1;
	}
	return len;
}

int value_text(const char *buf, size_t len, int partial)
{
	const unsigned char *p = (const unsigned char *)buf;

	for (size_t i = 0; i < len;) {
		int n = p[i] ? utf8_seq(p + i, len - i) : -1;

		if (n < 0 || (n == 0 && !partial))
			return -EINVAL;
		if (n == 0)
			break; /* an incomplete sequence ends the text */
		i += (size_t)n;
	}
	return 0;
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
	if (value_text(buf, len, 0))
		return -EINVAL;
	return (long)len;
}
