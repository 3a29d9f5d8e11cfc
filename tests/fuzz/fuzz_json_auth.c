// SPDX-License-Identifier: Apache-2.0
/*
 * What a v2 login and a PATCH answer: json_access_token() gives a token
 * that can go in a header line (not empty, no CR or LF, no NUL), the JWT
 * claims reader (the input as a token) never fails but with -EIO, and
 * json_patched_ti() gives a record with a task id or nothing.
 */
#include "decode.h"
#include "fuzz.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char *tok = NULL, *s = fuzz_strndup(data, size);
	int64_t iat = -1, exp = -1;
	struct af_ti ti;
	int r;

	r = json_access_token(body, size, &tok);
	FUZZ_ASSERT(FUZZ_RC_OK(r));
	if (r == 0) {
		FUZZ_ASSERT(tok[0] && !strpbrk(tok, "\r\n"));
		FUZZ_ASSERT(fuzz_contains(body, size, "access_token"));
		free(tok);
	}
	r = json_jwt_times(s, &iat, &exp);
	FUZZ_ASSERT(FUZZ_RC_OK(r));
	/* claims come from the middle of header.payload.signature */
	FUZZ_ASSERT(r != 0 ||
		    (strchr(s, '.') && strchr(strchr(s, '.') + 1, '.')));
	free(s);
	r = json_patched_ti(body, size, &ti);
	FUZZ_ASSERT(FUZZ_RC_OK(r));
	if (r == 0) {
		FUZZ_ASSERT(ti.task_id != NULL);
		af_ti_clear(&ti);
	}
	return 0;
}
