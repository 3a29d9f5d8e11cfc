/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bytes of one try's log, as far as they were fetched: in memory while
 * small, then in an unlinked file of the cache directory, so that a 200 MB
 * log costs no heap. Bytes are only ever appended, so snapshots of a
 * growing log share one buffer and each reads up to its own length.
 * Reference-counted; all functions are safe across threads.
 */
#ifndef AFS_LOGBUF_H
#define AFS_LOGBUF_H

#include <stddef.h>
#include <sys/types.h>

#define LOGBUF_MEM_MAX ((size_t)1 << 20) /* beyond this, a file */

struct logbuf;

/* A new empty buffer whose file, if any, goes in directory dirfd. */
struct logbuf *logbuf_new(int dirfd);
struct logbuf *logbuf_ref(struct logbuf *b);
void logbuf_unref(struct logbuf **b);
/* The number of bytes appended so far. */
size_t logbuf_len(struct logbuf *b);
/* Appends len bytes; returns 0 or -errno (ENOSPC, EIO, ENOMEM). */
int logbuf_append(struct logbuf *b, const char *data, size_t len);
/*
 * Copies up to size bytes at off, but none at or beyond limit, into out;
 * returns the count or -errno.
 */
long logbuf_read(struct logbuf *b, off_t off, size_t size, size_t limit,
		 char *out);
/* Whether the bytes live in a file (for the cache's accounting). */
int logbuf_in_file(struct logbuf *b);

#endif
