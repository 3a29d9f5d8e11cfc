/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scratch files: what editors and tools create in a task instance
 * directory (.note.swp, 4913, sedAbC123, note~, ...). They live in memory
 * only, are listed while they exist and never reach the server. Each has a
 * stable id, so that a node can name it across renames. No FUSE here.
 */
#ifndef AFS_SCRATCH_H
#define AFS_SCRATCH_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct scratch;

struct scratch_attr {
	uint64_t id;
	size_t size;
	mode_t mode; /* permission bits */
	struct timespec mtime;
};

/* A table bounded to max_bytes of content in all. NULL on ENOMEM. */
struct scratch *scratch_new(size_t max_bytes);
void scratch_free(struct scratch **t);

/*
 * Adds name to directory dir (any string naming a task instance) with a
 * copy of len bytes of data, replacing a file of that name unless excl
 * (then -EEXIST). Sets *id. -ENOSPC beyond the bound.
 */
int scratch_create(struct scratch *t, const char *dir, const char *name,
		   mode_t mode, const void *data, size_t len, int excl,
		   uint64_t *id);
/* The id of name in dir, or -ENOENT. */
int scratch_find(struct scratch *t, const char *dir, const char *name,
		 uint64_t *id);
int scratch_attr(struct scratch *t, uint64_t id, struct scratch_attr *a);
/* Copies up to size bytes at off into buf; returns the count or -errno. */
long scratch_read(struct scratch *t, uint64_t id, off_t off, size_t size,
		  char *buf);
/* The whole content, malloc'd, in *data and *len. */
int scratch_content(struct scratch *t, uint64_t id, char **data, size_t *len);
/* Writes at off (growing the file); returns size or -errno. */
long scratch_write(struct scratch *t, uint64_t id, const char *buf, size_t size,
		   off_t off);
int scratch_truncate(struct scratch *t, uint64_t id, off_t size);
/* Sets the mode (mode_set) and/or the mtime (mtime non-NULL). */
int scratch_setattr(struct scratch *t, uint64_t id, int mode_set, mode_t mode,
		    const struct timespec *mtime);
int scratch_unlink(struct scratch *t, const char *dir, const char *name);
/* Renames within dir, replacing to unless excl (-EEXIST). */
int scratch_rename(struct scratch *t, const char *dir, const char *from,
		   const char *to, int excl);
/* The names in dir: *names is a malloc'd array of malloc'd strings. */
int scratch_names(struct scratch *t, const char *dir, char ***names, size_t *n);

#endif
