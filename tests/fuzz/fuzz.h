/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the fuzz targets of tests/fuzz/ share. Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput(); it is linked with libFuzzer (make fuzz, clang)
 * or with replay.c (make fuzz-replay, cc), so nothing here is clang's.
 *
 * FUZZ_ASSERT() aborts, whatever NDEBUG says: an invariant that does not
 * hold is a finding, as a crash or a leak is. Every target frees all it
 * got, on every path.
 */
#ifndef AFS_FUZZ_H
#define AFS_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* The decoders' return codes: allocation may fail, nothing else may. */
#define FUZZ_RC_OK(r) ((r) == 0 || (r) == -EIO || (r) == -ENOMEM)

/* n bytes at p, and a NUL: strings for the functions that take C strings */
static inline char *fuzz_strndup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_ASSERT(s != NULL);
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* 1 when the n bytes at hay hold the NUL-terminated needle */
static inline int fuzz_contains(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	if (k == 0)
		return 1;
	for (size_t i = 0; i + k <= n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

/* 1 when a and b are both NULL or equal strings */
static inline int fuzz_same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* 1 when the n bytes at p are well-formed UTF-8 (RFC 3629) */
static inline int fuzz_utf8_ok(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			k = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			k = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			k = 3;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/*
 * The deepest nesting of [ and { in a JSON text (strings skipped), to know
 * when a text put inside two more levels still fits the parser's limit.
 */
static inline int fuzz_json_depth(const char *p, size_t n)
{
	int d = 0, max = 0, in_str = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = 0;
		} else if (p[i] == '"') {
			in_str = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++d > max)
				max = d;
		} else if (p[i] == ']' || p[i] == '}') {
			d--;
		}
	}
	return max;
}

#endif
