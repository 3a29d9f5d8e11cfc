/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Open files: what a read returns, what a write collects, and when state
 * and note are saved (SPEC.md "state" and "note"):
 *  - state: each open collects its own value from empty; it is saved as
 *    soon as a write ends in a newline, else at flush or fsync;
 *  - note: the open file holds the text (the note, or empty after O_TRUNC);
 *    it is saved at fsync or at the first flush after a write, once per
 *    save; a truncation with no write after it is saved at release; more
 *    than 1000 characters fail the write with EFBIG, text that is not
 *    UTF-8 or holds a NUL with EINVAL, and the open file then saves
 *    nothing;
 *  - an open of state or note waits for the saves of that file still in
 *    flight in this daemon (from the moment its handler runs: a RELEASE
 *    the kernel queued but no thread has taken yet is not waited for);
 *  - scratch files are read and written in memory;
 *  - everything else is read from a snapshot taken at open (a log: the
 *    latest one, renewed while the try runs).
 * A save's failure is the return of the call that made it, and is logged.
 */
#ifndef AFS_FILE_H
#define AFS_FILE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "node.h"

struct file;

/* What the kernel may do with the bytes of an open file. */
enum file_cache {
	/* read and written through, never kept: .stats, the log of a
	 * running try, scratch files, opens for writing */
	FC_DIRECT,
	/* the open's snapshot, through the page cache: the kernel may keep
	 * its pages while the content is the same (hash) */
	FC_SNAPSHOT,
	/* bytes that can never change (a final log; hash: its length) */
	FC_FINAL,
};

/*
 * Opens node n with open(2) flags; *how and *hash say what the kernel may
 * do with its bytes.
 */
int file_open(struct fs *fs, const struct call *call, struct node *n, int flags,
	      struct file **out, enum file_cache *how, uint64_t *hash);
/* Copies up to size bytes at off into buf; returns the count or -errno. */
long file_read(struct fs *fs, const struct call *call, struct file *f,
	       off_t off, size_t size, char *buf);
/* Returns size, or -errno. */
long file_write(struct fs *fs, const struct call *call, struct file *f,
		const char *buf, size_t size, off_t off);
int file_truncate(struct fs *fs, struct file *f, off_t size);
int file_flush(struct fs *fs, const struct call *call, struct file *f);
int file_fsync(struct fs *fs, const struct call *call, struct file *f);
struct file_attr {
	int size_set, mode_set, mtime_set, owner_set;
	off_t size;
	mode_t mode;
	struct timespec mtime;
};

/*
 * chmod, chown, utimes and truncate of n, through f when open. A scratch
 * file takes them all; note and state take a truncation (a note truncated
 * by name is saved at once) and ignore the rest, as editors expect; other
 * files refuse.
 */
int file_setattr(struct fs *fs, const struct call *call, struct node *n,
		 struct file *f, const struct file_attr *a);
/* The last close: saves what is left to save (logging a failure). */
void file_release(struct fs *fs, const struct call *call, struct file **f);

#endif
