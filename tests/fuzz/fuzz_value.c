// SPDX-License-Identifier: Apache-2.0
/*
 * What users write into state and note (fs/value.c), checked against
 * value.h's rules:
 *  - value_state(): success, failed or skipped in any case with blanks
 *    around, as the canonical lower-case name; nothing else;
 *  - value_chars(): the bytes that do not continue a UTF-8 character,
 *    which for UTF-8 is the number of code points;
 *  - value_note(): the length without one final newline, -EFBIG when
 *    that is over VALUE_NOTE_MAX characters, else -EINVAL when it is not
 *    UTF-8 or holds a NUL byte.
 */
#include "fuzz.h"
#include "value.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int same_word(const char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != w[i])
			return 0;
	}
	return 1;
}

/* code points of UTF-8 */
static size_t code_points(const char *s, size_t n)
{
	size_t i = 0, k = 0;
	unsigned char c;

	while (i < n) {
		c = (unsigned char)s[i];
		i += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		k++;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const states[] = {"success", "failed", "skipped"};
	const char *s = (const char *)data, *st, *want = NULL, *w = s;
	size_t wn = size, chars = 0, i, body;
	long note;

	while (wn && blank(w[wn - 1]))
		wn--;
	while (wn && blank(*w)) {
		w++;
		wn--;
	}
	for (i = 0; i < 3; i++)
		if (same_word(w, wn, states[i]))
			want = states[i];
	st = value_state(s, size);
	FUZZ_ASSERT(fuzz_same_str(st, want));

	for (i = 0; i < size; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	FUZZ_ASSERT(value_chars(s, size) == chars && chars <= size);
	if (fuzz_utf8_ok(s, size))
		FUZZ_ASSERT(chars == code_points(s, size));

	body = size && s[size - 1] == '\n' ? size - 1 : size;
	note = value_note(s, size);
	if (value_chars(s, body) > VALUE_NOTE_MAX)
		FUZZ_ASSERT(note == -EFBIG);
	else if (!fuzz_utf8_ok(s, body) || memchr(s, '\0', body))
		FUZZ_ASSERT(note == -EINVAL); /* the server would refuse it */
	else
		FUZZ_ASSERT(note == (long)body);
	return 0;
}
