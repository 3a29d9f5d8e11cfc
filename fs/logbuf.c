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

struct logbuf {
	unsigned refs;
	int dirfd;
	pthread_mutex_t lock; /* protects below */
	char *mem;	      /* the bytes while in memory */
	size_t len, cap;
	int fd; /* the file once spilled, else -1 */
};

struct logbuf *logbuf_new(int dirfd)
{
	struct logbuf *b = calloc(1, sizeof(*b));

	if (b) {
		b->refs = 1;
		b->dirfd = dirfd;
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
	if (b->fd >= 0)
		close(b->fd);
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
	int fd = unnamed_file(b->dirfd);
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
	int err = 0;

	pthread_mutex_lock(&b->lock);
	if (b->fd < 0 && b->len + len > LOGBUF_MEM_MAX)
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
