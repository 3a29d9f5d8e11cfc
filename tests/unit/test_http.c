// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the HTTP status to errno mapping (SPEC.md "Errors"). */
#include <errno.h>

#include "check.h"
#include "http.h"

int main(void)
{
	CHECK(http_status_errno(200, 0) == 0);
	CHECK(http_status_errno(201, 1) == 0);
	CHECK(http_status_errno(204, 1) == 0);
	CHECK(http_status_errno(404, 0) == ENOENT);
	CHECK(http_status_errno(404, 1) == ENOENT);
	CHECK(http_status_errno(401, 0) == EACCES);
	CHECK(http_status_errno(403, 1) == EACCES);
	CHECK(http_status_errno(400, 1) == EINVAL);
	CHECK(http_status_errno(422, 1) == EINVAL);
	CHECK(http_status_errno(400, 0) == EIO);
	CHECK(http_status_errno(422, 0) == EIO);
	CHECK(http_status_errno(500, 0) == EIO);
	CHECK(http_status_errno(503, 1) == EIO);
	CHECK(http_status_errno(429, 0) == EIO);
	CHECK(http_status_errno(302, 0) == EIO);
	CHECK(http_status_errno(0, 0) == EIO);
	return CHECK_DONE();
}
