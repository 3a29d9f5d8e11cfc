/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One system call's context, made by ops.c (or a readahead worker) and
 * passed down to http.c: everything the call sends, retries and the wait
 * for a login included, ends by its deadline; its flags say whose it is.
 */
#ifndef AFS_CALL_H
#define AFS_CALL_H

#include "clock.h"

enum { CALL_PREFETCH = 1 }; /* readahead's fetch, not a reader's */

struct call {
	double deadline; /* CLOCK_MONOTONIC seconds */
	int flags;
};

/* A call that ends timeout seconds from now. */
static inline struct call call_within(double timeout, int flags)
{
	return (struct call){.deadline = mono_s() + timeout, .flags = flags};
}

#endif
