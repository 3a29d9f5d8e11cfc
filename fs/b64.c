// SPDX-License-Identifier: Apache-2.0
/* base64url decoding; see b64.h. */
#include <errno.h>
#include <stdint.h>

#include "b64.h"

int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *s, size_t n, unsigned char *out, size_t *len)
{
	size_t i, pad = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	while (n && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (pad > 2 || (pad && (n + pad) % 4) || n % 4 == 1)
		return -EIO;
	for (i = 0; i < n; i++) {
		v = b64url_value(s[i]);
		if (v < 0)
			return -EIO;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*len = o;
	return 0;
}
