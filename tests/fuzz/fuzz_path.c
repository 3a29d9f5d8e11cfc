// SPDX-License-Identifier: Apache-2.0
/*
 * Names and URL escaping (fs/path.c). The input, up to its first NUL, is
 * a name or an id; byte 0 also picks where path_escape() appends and how
 * big its buffer is. Checked against the rules of path.h:
 *  - path_id_ok(): not empty, no '/', not "." or "..";
 *  - path_ti_file(): a name maps to a file whose name it is, and back;
 *  - path_number(): taken exactly when canonical, and printed back the
 *    same;
 *  - path_escape(): the exact length (or -1 exactly when that does not
 *    fit), only unreserved bytes and %XX (upper case) after the prefix,
 *    which is kept, NUL-terminated, nothing written past cap (the buffer
 *    is cap bytes long, for the sanitizers), and unescaping gives the id
 *    back.
 */
#include "fuzz.h"
#include "path.h"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || strchr("-._~", c) != NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not what we write */
}

/* A byte that cannot be in a file name shown: a control character. */
static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void check_names(const char *s)
{
	size_t n = strlen(s), i;
	enum ti_file f;
	int num = -5, canonical;
	char buf[16];

	FUZZ_ASSERT(path_id_ok(s) ==
		    (n > 0 && n <= 255 && !strchr(s, '/') && !has_control(s) &&
		     strcmp(s, ".") && strcmp(s, "..")));
	f = path_ti_file(s);
	if (f != TI_NONE)
		FUZZ_ASSERT(strcmp(path_ti_file_name(f), s) == 0);
	for (f = TI_STATE; f <= TI_LOGS; f++) {
		FUZZ_ASSERT(path_ti_file(path_ti_file_name(f)) == f);
		if (strcmp(path_ti_file_name(f), s) == 0)
			FUZZ_ASSERT(path_ti_file(s) == f);
	}
	FUZZ_ASSERT(path_ti_file_name(TI_NONE) == NULL);
	canonical = n >= 1 && n <= 9 && (s[0] != '0' || n == 1);
	for (i = 0; i < n; i++)
		canonical = canonical && s[i] >= '0' && s[i] <= '9';
	FUZZ_ASSERT((path_number(s, &num) == 0) == canonical);
	if (canonical) {
		FUZZ_ASSERT(num >= 0);
		snprintf(buf, sizeof(buf), "%d", num);
		FUZZ_ASSERT(strcmp(buf, s) == 0);
	} else {
		FUZZ_ASSERT(num == -5);
	}
}

static void check_escape(const char *id, size_t len, size_t cap)
{
	size_t want = len, i, j, n = strlen(id);
	char *out = malloc(cap ? cap : 1);
	long r;

	FUZZ_ASSERT(out != NULL);
	memset(out, 'P', cap);
	for (i = 0; i < n; i++)
		want += unreserved((unsigned char)id[i]) ? 1 : 3;
	r = path_escape(out, len, cap, id);
	for (i = 0; i < len && i < cap; i++)
		FUZZ_ASSERT(out[i] == 'P');
	if (want >= cap) {
		FUZZ_ASSERT(r == -1);
		free(out);
		return;
	}
	FUZZ_ASSERT(r == (long)want && out[want] == '\0');
	for (i = len, j = 0; i < want; j++) {
		unsigned char c = (unsigned char)out[i];

		FUZZ_ASSERT(j < n);
		if (c == '%') {
			int hi = hexval(out[i + 1]), lo = hexval(out[i + 2]);

			FUZZ_ASSERT(hi >= 0 && lo >= 0);
			c = (unsigned char)(hi << 4 | lo);
			/* escaped exactly when it has to be */
			FUZZ_ASSERT(!unreserved(c));
			i += 3;
		} else {
			FUZZ_ASSERT(unreserved(c));
			i++;
		}
		FUZZ_ASSERT(c == (unsigned char)id[j]);
	}
	FUZZ_ASSERT(j == n);
	for (i = want + 1; i < cap; i++)
		FUZZ_ASSERT(out[i] == 'P');
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	size_t n = strlen(s), len, cap;

	check_names(s);
	if (size > 0) {
		/* a prefix of 0-7 bytes; room from none to 3 bytes per byte */
		len = data[0] & 7;
		cap = len + (size_t)(data[0] >> 3) * (3 * n + 2) / 31;
		check_escape(s, len, cap);
		check_escape(s, len, len + 3 * n + 1);
	}
	free(s);
	return 0;
}
