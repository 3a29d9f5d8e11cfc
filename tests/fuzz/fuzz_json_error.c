// SPDX-License-Identifier: Apache-2.0
/*
 * The server's message from an error body: v1 problem+json ("title:
 * detail"), v2 {"detail": str | [{"msg": ...}, ...] | other JSON}.
 * json_error_message() accepts only what json_pretty() accepts, says -EIO
 * exactly when the json-c oracle finds nothing usable, and gives a message
 * fit for a log line: not empty, at most 300 bytes, no control bytes, cut
 * on a character boundary (so UTF-8 in, UTF-8 out). When title and detail
 * are plain strings, the message is the oracle's, byte for byte.
 */
#include "fuzz.h"
#include "json.h"
#include "oracle.h"

#define MSG_CAP 300 /* decode.c's cap on a message, in bytes */

/* a non-empty string member (json-c length), or NULL */
static const char *text(struct json_object *o, const char *key, size_t *n)
{
	struct json_object *v = oracle_get(o, key);

	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	*n = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* s (n bytes) as decode.h says a message is logged: cut, controls blanked */
static char *logged(const char *s, size_t n)
{
	char *m = malloc(n + 4);
	size_t i;

	FUZZ_ASSERT(m != NULL);
	memcpy(m, s, n);
	if (n > MSG_CAP) {
		n = MSG_CAP - 3;
		while (n > 0 && ((unsigned char)m[n] & 0xc0) == 0x80)
			n--;
		memcpy(m + n, "...", 3);
		n += 3;
	}
	m[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)m[i] < 0x20 || m[i] == 0x7f)
			m[i] = ' ';
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *o, *d;
	const char *title, *detail;
	char *msg = NULL, *pretty = NULL, *full, *want;
	size_t plen, tlen = 0, dlen = 0, flen;
	int r, rp, ok, usable;

	r = json_error_message(body, size, &msg);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(r) && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(r == rp && msg == NULL);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	d = oracle_get(o, "detail");
	title = text(o, "title", &tlen);
	detail = text(o, "detail", &dlen);
	usable = json_object_is_type(o, json_type_object) &&
		 (title || detail || json_object_is_type(d, json_type_array) ||
		  json_object_is_type(d, json_type_object));
	FUZZ_ASSERT(r == (usable ? 0 : -EIO));
	if (r) {
		FUZZ_ASSERT(msg == NULL);
		json_object_put(o);
		return 0;
	}
	FUZZ_ASSERT(msg && msg[0] && strlen(msg) <= MSG_CAP);
	for (const char *p = msg; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
	if (fuzz_utf8_ok(body, size))
		FUZZ_ASSERT(fuzz_utf8_ok(msg, strlen(msg)));
	if (!json_object_is_type(d, json_type_array) &&
	    !json_object_is_type(d, json_type_object)) {
		/* "title: detail", or one of them (once when they are equal) */
		full = malloc(tlen + dlen + 3);
		FUZZ_ASSERT(full != NULL);
		flen = 0;
		if (title && !(detail && dlen == tlen &&
			       memcmp(title, detail, tlen) == 0)) {
			memcpy(full, title, tlen);
			flen = tlen;
			if (detail) {
				memcpy(full + flen, ": ", 2);
				flen += 2;
			}
		}
		if (detail) {
			memcpy(full + flen, detail, dlen);
			flen += dlen;
		}
		want = logged(full, flen);
		FUZZ_ASSERT(strcmp(msg, want) == 0);
		free(want);
		free(full);
	}
	free(msg);
	json_object_put(o);
	return 0;
}
