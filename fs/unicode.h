/* SPDX-License-Identifier: Apache-2.0 */
/* Escapes in string literals: hex digits and code points to UTF-8 (the JSON
 * walker of jsonstream.c, the Python-repr decoder of logstream.c and its
 * oracle, tests/unit/pyrepr.c). */
#ifndef AFS_UNICODE_H
#define AFS_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* The value of a hex digit, or -1. */
static inline int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Code point cp as UTF-8 in u (4 bytes): its length, 0 past U+10FFFF. */
static inline size_t utf8(uint32_t cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		return 0;
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

#endif
