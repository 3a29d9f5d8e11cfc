/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bytes of one try's log, as far as they were fetched: in memory while
 * small, then in an unlinked file of the cache directory, so that a 200 MB
 * log costs no heap. Bytes are only ever appended, so snapshots of a
 * growing log share one buffer and each reads up to its own length.
 * Reference-counted; all functions are safe across threads.
 *
 * The logs in files are counted by a struct logdisk, in real bytes and in
 * descriptors: a log that would take the files over either bound first asks
 * the owner to free the least recently used log it keeps (reclaim), and
 * fails when nothing more can be freed.
 */
#ifndef AFS_LOGBUF_H
#define AFS_LOGBUF_H

#include <stddef.h>
#include <sys/types.h>

#define LOGBUF_MEM_MAX ((size_t)1 << 20) /* beyond this, a file */

struct logbuf;
struct logdisk;

/*
 * Frees one log kept in a file, the least recently used: 0 when it dropped
 * one (whether or not that freed bytes: another holder may keep it), else
 * -ENOENT. Called without any logbuf or logdisk lock held.
 */
typedef int (*logdisk_reclaim)(void *arg);

/*
 * The files of logs go in directory dirfd (not owned); together they hold
 * at most max_bytes and max_files descriptors. Returns NULL on ENOMEM.
 */
struct logdisk *logdisk_new(int dirfd, size_t max_bytes, size_t max_files,
			    logdisk_reclaim reclaim, void *arg);
/* Frees d (every logbuf of d must be gone) and sets *d to NULL. */
void logdisk_free(struct logdisk **d);
/* The bytes and files held now, by every logbuf of d. */
void logdisk_stats(struct logdisk *d, size_t *bytes, size_t *files);
size_t logdisk_max_bytes(const struct logdisk *d);

/* A new empty buffer whose file, if any, is counted by d. */
struct logbuf *logbuf_new(struct logdisk *d);
struct logbuf *logbuf_ref(struct logbuf *b);
void logbuf_unref(struct logbuf **b);
/* The number of bytes appended so far. */
size_t logbuf_len(struct logbuf *b);
/*
 * Appends len bytes (one appender at a time); returns 0 or -errno: EFBIG
 * when the log would be larger than the disk bound, ENOSPC or EMFILE when
 * the logs that cannot be freed fill the bytes or descriptors, EIO, ENOMEM.
 */
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
