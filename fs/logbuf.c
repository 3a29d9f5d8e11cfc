// SPDX-License-Identifier: Apache-2.0
/* Log bytes in memory or in an unlinked file; see logbuf.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logbuf.h"

struct logdisk {
	int dirfd;
	size_t max_bytes, max_files;
	logdisk_reclaim reclaim;
	void *arg;
	pthread_mutex_t lock; /* protects below */
	size_t bytes, files;  /* held by the files of logbufs, real bytes */
};

struct logbuf {
	unsigned refs;
	struct logdisk *disk;
	pthread_mutex_t lock; /* protects below */
	char *mem;	      /* the bytes while in memory */
	size_t len, cap;
	int fd; /* the file once spilled, else -1 */
};

struct logdisk *logdisk_new(int dirfd, size_t max_bytes, size_t max_files,
			    logdisk_reclaim reclaim, void *arg)
{
	struct logdisk *d = calloc(1, sizeof(*d));

	if (d) {
		d->dirfd = dirfd;
		d->max_bytes = max_bytes;
		d->max_files = max_files;
		d->reclaim = reclaim;
		d->arg = arg;
		pthread_mutex_init(&d->lock, NULL);
	}
	return d;
}

void logdisk_free(struct logdisk **dp)
{
	struct logdisk *d = *dp;

	*dp = NULL;
	if (d) {
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
}

void logdisk_stats(struct logdisk *d, size_t *bytes, size_t *files)
{
	pthread_mutex_lock(&d->lock);
	*bytes = d->bytes;
	*files = d->files;
	pthread_mutex_unlock(&d->lock);
}

size_t logdisk_max_bytes(const struct logdisk *d)
{
	return d->max_bytes;
}

/* Gives back bytes and files. */
static void unreserve(struct logdisk *d, size_t bytes, size_t files)
{
	pthread_mutex_lock(&d->lock);
	d->bytes -= bytes;
	d->files -= files;
	pthread_mutex_unlock(&d->lock);
}

/*
 * Counts bytes (and a file) more against the bounds, first freeing the
 * least recently used logs while they are over. No lock held.
 */
static int reserve(struct logdisk *d, size_t bytes, size_t files)
{
	for (;;) {
		int bytes_ok, files_ok;

		pthread_mutex_lock(&d->lock);
		bytes_ok = d->bytes + bytes <= d->max_bytes;
		files_ok = d->files + files <= d->max_files;
		if (bytes_ok && files_ok) {
			d->bytes += bytes;
			d->files += files;
		}
		pthread_mutex_unlock(&d->lock);
		if (bytes_ok && files_ok)
			return 0;
		if (!d->reclaim || d->reclaim(d->arg) != 0)
			return bytes_ok ? -EMFILE : -ENOSPC;
	}
}

struct logbuf *logbuf_new(struct logdisk *d)
{
	struct logbuf *b = calloc(1, sizeof(*b));

	if (b) {
		b->refs = 1;
		b->disk = d;
		b->fd = -1;
		pthread_mutex_init(&b->lock, NULL);
	}
	return b;
}

struct logbuf *logbuf_ref(struct logbuf *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void logbuf_unref(struct logbuf **bp)
{
	struct logbuf *b = *bp;

	*bp = NULL;
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (b->fd >= 0) {
		close(b->fd);
		unreserve(b->disk, b->len, 1);
	}
	free(b->mem);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

size_t logbuf_len(struct logbuf *b)
{
	size_t len;

	pthread_mutex_lock(&b->lock);
	len = b->len;
	pthread_mutex_unlock(&b->lock);
	return len;
}

int logbuf_in_file(struct logbuf *b)
{
	int in_file;

	pthread_mutex_lock(&b->lock);
	in_file = b->fd >= 0;
	pthread_mutex_unlock(&b->lock);
	return in_file;
}

static int write_all(int fd, const char *data, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* A new file in dirfd that no name refers to. */
static int unnamed_file(int dirfd)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char name[32];

	/* where O_TMPFILE is not supported: create, then unlink */
	for (int i = 0;
	     fd < 0 &&
	     (errno == EOPNOTSUPP || errno == EISDIR || errno == EEXIST) &&
	     i < 100;
	     i++) {
		snprintf(name, sizeof(name), "log.%d.%ld", i, random());
		fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			    0600);
		if (fd >= 0)
			unlinkat(dirfd, name, 0);
	}
	return fd;
}

/* Moves the bytes into an unlinked file; b->lock held. */
static int spill(struct logbuf *b)
{
	int fd = unnamed_file(b->disk->dirfd);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, b->mem, b->len, 0);
	if (err) {
		close(fd);
		return err;
	}
	free(b->mem);
	b->mem = NULL;
	b->cap = 0;
	b->fd = fd;
	return 0;
}

int logbuf_append(struct logbuf *b, const char *data, size_t len)
{
	size_t have = logbuf_len(b), more = 0, files = 0;
	int err = 0;

	if (len > b->disk->max_bytes || have > b->disk->max_bytes - len)
		return -EFBIG;
	/* counted before the lock: reclaiming may drop other logbufs */
	if (logbuf_in_file(b)) {
		more = len;
	} else if (have + len > LOGBUF_MEM_MAX) {
		more = have + len;
		files = 1;
	}
	if (more || files) {
		err = reserve(b->disk, more, files);
		if (err)
			return err;
	}
	pthread_mutex_lock(&b->lock);
	if (b->fd < 0 && files)
		err = spill(b);
	if (!err && b->fd >= 0) {
		err = write_all(b->fd, data, len, (off_t)b->len);
	} else if (!err && b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *m;

		while (cap < b->len + len)
			cap *= 2;
		m = realloc(b->mem, cap);
		if (!m) {
			err = -ENOMEM;
		} else {
			b->mem = m;
			b->cap = cap;
		}
	}
	if (!err && b->fd < 0)
		memcpy(b->mem + b->len, data, len);
	if (!err)
		b->len += len;
	pthread_mutex_unlock(&b->lock);
	if (err && (more || files)) {
		/* a spilled file keeps counting what it holds */
		pthread_mutex_lock(&b->lock);
		if (b->fd >= 0 && files) {
			more = len;
			files = 0;
		}
		pthread_mutex_unlock(&b->lock);
		unreserve(b->disk, more, files);
	}
	return err;
}

long logbuf_read(struct logbuf *b, off_t off, size_t size, size_t limit,
		 char *out)
{
	long n = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (limit > b->len)
		limit = b->len;
	if ((size_t)off < limit) {
		n = (long)(limit - off < size ? limit - off : size);
		if (b->fd < 0) {
			memcpy(out, b->mem + off, (size_t)n);
		} else {
			ssize_t r = pread(b->fd, out, (size_t)n, off);

			n = r < 0 ? -errno : r;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}
