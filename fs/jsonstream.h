/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming walker of the outer shape of a log answer, v1 and v2 alike:
 * the JSON object {"content": ..., "continuation_token": str | null}, keys
 * in any order, other members checked and skipped. It is strict JSON
 * (RFC 8259; nesting up to 63 levels, as json-c's 64) and holds nothing
 * whole but the token (capped at 64 KiB) and, for an array, one element,
 * so an answer of any size walks in bounded memory. Pure code: no I/O.
 *
 * The content goes to a consumer as it arrives, in one of two shapes:
 *  - a string (v1): take() gets its decoded bytes, in pieces of any size,
 *    then take(arg, NULL, 0) once at its closing quote;
 *  - an array (v2): take() gets each element's JSON text whole (at most
 *    elem_max bytes, else -EIO), as the answer wrote it.
 * Any other content, or none, is -EIO.
 */
#ifndef AFS_JSONSTREAM_H
#define AFS_JSONSTREAM_H

#include <stddef.h>

/* Takes content, as above; returns 0, or -errno to stop the walk. */
typedef int (*jsonstream_take)(void *arg, const char *p, size_t n);

enum jsonstream_content { JSONSTREAM_STRING, JSONSTREAM_ARRAY };

struct jsonstream;

/* NULL on ENOMEM. elem_max is for JSONSTREAM_ARRAY only. */
struct jsonstream *jsonstream_new(enum jsonstream_content kind, size_t elem_max,
				  jsonstream_take take, void *arg);
/*
 * The next len bytes of the answer. Returns 0, -EIO as soon as they cannot
 * be such an answer, or take()'s error; the walker then stays failed with
 * that error.
 */
int jsonstream_feed(struct jsonstream *w, const char *buf, size_t len);
/*
 * The end of the answer: 0 when it was whole, with *token the continuation
 * token (malloc'd; NULL when null or absent); else the error, *token NULL.
 * After it the walker is over: feed and end fail.
 */
int jsonstream_end(struct jsonstream *w, char **token);
void jsonstream_free(struct jsonstream **w);

#endif
