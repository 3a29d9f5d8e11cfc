// SPDX-License-Identifier: Apache-2.0
/*
 * The version probe's answer, {"version": "2.10.5", ...}: json_version()
 * accepts only what json_pretty() accepts and gives the member the json-c
 * oracle reads, a string that is not empty.
 */
#include "fuzz.h"
#include "json.h"
#include "oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *o, *v;
	char *version = NULL, *pretty = NULL;
	size_t plen;
	int r, rp, ok;

	r = json_version(body, size, &version);
	rp = json_pretty(body, size, &pretty, &plen);
	FUZZ_ASSERT(FUZZ_RC_OK(r) && FUZZ_RC_OK(rp));
	if (rp) {
		FUZZ_ASSERT(r == rp && version == NULL);
		return 0;
	}
	free(pretty);
	o = oracle_parse(body, size, &ok);
	FUZZ_ASSERT(ok);
	v = oracle_get(o, "version");
	if (json_object_is_type(o, json_type_object) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string(v)[0] != '\0') {
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(strcmp(version, json_object_get_string(v)) == 0);
	} else {
		FUZZ_ASSERT(r == -EIO && version == NULL);
	}
	free(version);
	json_object_put(o);
	return 0;
}
