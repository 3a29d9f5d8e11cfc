/* SPDX-License-Identifier: Apache-2.0 */
/* The monotonic clock, in seconds: deadlines, ages, waits. */
#ifndef AFS_CLOCK_H
#define AFS_CLOCK_H

/* CLOCK_MONOTONIC in seconds (fractions included). */
double mono_s(void);

#endif
