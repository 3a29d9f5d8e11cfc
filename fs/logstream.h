/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decoder of a v1 log answer, so that a log of any size is turned
 * into text as it arrives, in bounded memory: the JSON object
 * {"content": "<str>", "continuation_token": "<str>"|null} (keys in any
 * order, other keys ignored; jsonstream.c walks it) whose content is
 * Python's str() of a list of (host, text) tuples (tests/unit/pyrepr.h
 * decodes it whole, as the oracle of the tests). The text parts are handed
 * to a sink as they are decoded; the token is kept (it is small). Pure
 * code: no I/O.
 */
#ifndef AFS_LOGSTREAM_H
#define AFS_LOGSTREAM_H

#include <stddef.h>

/* Receives decoded text; returns 0, or -errno to stop the decoding. */
typedef int (*logstream_sink)(void *arg, const char *text, size_t len);

struct logstream;

/* NULL on ENOMEM. The sink gets the text exactly as pyrepr_log() would. */
struct logstream *logstream_new(logstream_sink sink, void *arg);
/*
 * Feeds the next len bytes of the answer. Returns 0, -EIO as soon as the
 * bytes cannot be such an answer (the decoder then stays failed), or the
 * sink's error.
 */
int logstream_feed(struct logstream *ls, const char *buf, size_t len);
/*
 * Ends the answer: 0 when it was complete and well-formed, with *token
 * the continuation token (malloc'd) or NULL; -EIO otherwise.
 */
int logstream_end(struct logstream *ls, char **token);
void logstream_free(struct logstream **ls);

/*
 * The payload of a v1 continuation token (itsdangerous URLSafeSerializer:
 * base64url of compact JSON, "." and a signature; a payload part starting
 * with "." is zlib-compressed): end_of_log (-1 when absent) and log_pos
 * (-1 when absent). Returns 0 or -EIO.
 */
int logstream_token(const char *token, int *end_of_log, long *log_pos);

#endif
