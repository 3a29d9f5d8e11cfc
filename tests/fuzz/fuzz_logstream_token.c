// SPDX-License-Identifier: Apache-2.0
/*
 * The continuation token's payload (base64url of JSON, zlib when the part
 * starts with "."; then "." and a signature). The input is tried twice:
 *  - as a token: any result is an allowed one (end_of_log -1, 0 or 1,
 *    log_pos -1 or more), and the same on a second call;
 *  - as a payload: made into a token three ways (base64url without and
 *    with padding, and zlib-compressed), all three must decode alike, and
 *    a payload taken must be JSON that json-c reads as an object with
 *    the same end_of_log (a boolean, or null or absent: -1) and log_pos
 *    (an integer from 0, or null or absent: -1).
 */
#include <zlib.h>

#include "fuzz.h"
#include "logstream.h"
#include "oracle.h"

#define PAYLOAD_CAP (64 * 1024) /* logstream.c's largest payload */

static int decode(const char *token, int *eol, long *pos)
{
	int r;

	*eol = -9;
	*pos = -9;
	r = logstream_token(token, eol, pos);
	FUZZ_ASSERT(r == 0 || r == -EIO || r == -ENOMEM);
	if (r == 0)
		FUZZ_ASSERT(*eol >= -1 && *eol <= 1 && *pos >= -1);
	else
		FUZZ_ASSERT(*eol == -9 && *pos == -9);
	return r;
}

/* prefix, then base64url of n bytes (with padding or not), then ".sig" */
static char *token_of(const char *prefix, const unsigned char *p, size_t n,
		      int pad)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
				  "stuvwxyz0123456789-_";
	char *t = malloc(strlen(prefix) + n / 3 * 4 + 4 + 5 + 1), *o = t;
	size_t i;
	uint32_t v;

	FUZZ_ASSERT(t != NULL);
	o += sprintf(o, "%s", prefix);
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		if (pad)
			o += sprintf(o, "==");
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		if (pad)
			*o++ = '=';
	}
	sprintf(o, ".sig");
	return t;
}

/* what the payload says, read by json-c */
static void check_oracle(const char *p, size_t n, int eol, long pos)
{
	struct json_object *o, *v;
	int ok, want_eol = -1;
	long want_pos = -1;

	o = oracle_parse_depth(p, n, 1000, &ok);
	FUZZ_ASSERT(ok && json_object_is_type(o, json_type_object));
	v = oracle_get(o, "end_of_log");
	if (v) {
		FUZZ_ASSERT(json_object_is_type(v, json_type_boolean));
		want_eol = json_object_get_boolean(v);
	}
	v = oracle_get(o, "log_pos");
	if (v) {
		FUZZ_ASSERT(json_object_is_type(v, json_type_int));
		FUZZ_ASSERT(json_object_get_int64(v) >= 0);
		want_pos = (long)json_object_get_int64(v);
	}
	FUZZ_ASSERT(eol == want_eol && pos == want_pos);
	json_object_put(o);
}

static void check_payload(const uint8_t *p, size_t n)
{
	unsigned char *z;
	uLongf zlen = compressBound((uLong)n);
	char *t1, *t2, *t3;
	int r1, r2, r3, e1, e2, e3;
	long p1, p2, p3;

	t1 = token_of("", p, n, 0);
	t2 = token_of("", p, n, 1);
	z = malloc(zlen);
	FUZZ_ASSERT(z != NULL);
	FUZZ_ASSERT(compress2(z, &zlen, p, (uLong)n, n % 10) == Z_OK);
	t3 = token_of(".", z, zlen, 0);
	r1 = decode(t1, &e1, &p1);
	r2 = decode(t2, &e2, &p2);
	r3 = decode(t3, &e3, &p3);
	/* an empty plain payload is no payload part at all */
	if (n > 0)
		FUZZ_ASSERT(r1 == r2 && e1 == e2 && p1 == p2);
	if (n > 0 && n <= PAYLOAD_CAP)
		FUZZ_ASSERT(r1 == r3 && e1 == e3 && p1 == p3);
	if (r1 == 0)
		check_oracle((const char *)p, n, e1, p1);
	free(t1);
	free(t2);
	free(t3);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = fuzz_strndup(data, size);
	int r, r2, eol, eol2;
	long pos, pos2;

	r = decode(token, &eol, &pos);
	r2 = decode(token, &eol2, &pos2);
	FUZZ_ASSERT(r == r2 && eol == eol2 && pos == pos2);
	free(token);
	check_payload(data, size);
	return 0;
}
