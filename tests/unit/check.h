/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal unit test harness: CHECK(cond) records a failure and goes on. */
#ifndef AFS_CHECK_H
#define AFS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
	do {                                                                   \
		check_count++;                                                 \
		if (!(cond)) {                                                 \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)

#define CHECK_DONE()                                                           \
	(fprintf(stderr, "%s: %d checks, %d failed\n", __FILE__, check_count,  \
		 check_failures),                                              \
	 check_failures ? 1 : 0)

#endif
