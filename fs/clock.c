// SPDX-License-Identifier: Apache-2.0
/* The monotonic clock; see clock.h. */
#include <time.h>

#include "clock.h"

double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
