// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of fs/logbuf.c's disk accounting: real bytes and files
 * against the bounds, reclaim asked for before failing, EFBIG for a log
 * larger than the bound, and everything given back when a buffer goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "logbuf.h"

#define MIB ((size_t)1 << 20)

/* Reclaim drops the buffers of this list, oldest first. */
struct held {
	struct logbuf *v[8];
	int n, calls;
};

static int reclaim(void *arg)
{
	struct held *h = arg;

	h->calls++;
	for (int i = 0; i < h->n; i++) {
		if (h->v[i]) {
			logbuf_unref(&h->v[i]);
			return 0;
		}
	}
	return -ENOENT;
}

static int fill(struct logbuf *b, size_t n)
{
	static char chunk[64 << 10];
	int err = 0;

	memset(chunk, 'x', sizeof(chunk));
	while (!err && n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		err = logbuf_append(b, chunk, k);
		n -= k;
	}
	return err;
}

int main(void)
{
	char dir[] = "/tmp/test_logbuf.XXXXXX";
	struct held h = {0};
	struct logdisk *d;
	struct logbuf *b;
	size_t bytes, files;
	int dirfd;
	char out[4];

	if (!mkdtemp(dir))
		return 1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = logdisk_new(dirfd, 5 * MIB, 2, reclaim, &h);
	CHECK(d != NULL);

	/* small logs stay in memory and count nothing */
	b = logbuf_new(d);
	CHECK(fill(b, 1000) == 0 && !logbuf_in_file(b));
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 0 && files == 0);
	logbuf_unref(&b);

	/* two logs of 2 MiB: in files, counted in real bytes */
	for (int i = 0; i < 2; i++) {
		h.v[h.n] = logbuf_new(d);
		CHECK(fill(h.v[h.n], 2 * MIB) == 0 && logbuf_in_file(h.v[h.n]));
		h.n++;
	}
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 4 * MIB && files == 2 && h.calls == 0);

	/* a third: the oldest goes first (files, then bytes) */
	h.v[h.n] = logbuf_new(d);
	CHECK(fill(h.v[h.n], 2 * MIB) == 0);
	h.n++;
	CHECK(h.v[0] == NULL && h.v[1] != NULL && h.calls == 1);
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 4 * MIB && files == 2);
	CHECK(logbuf_read(h.v[2], 2 * MIB - 1, 4, 2 * MIB, out) == 1 &&
	      out[0] == 'x');

	/* larger than the bound: EFBIG, the others reclaimed on the way */
	b = logbuf_new(d);
	CHECK(fill(b, 6 * MIB) == -EFBIG);
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 5 * MIB && files == 1 && h.v[1] == NULL &&
	      h.v[2] == NULL);
	logbuf_unref(&b);
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 0 && files == 0);

	/* held elsewhere, nothing to reclaim: the files are full */
	h.n = 0;
	h.v[0] = logbuf_new(d);
	h.v[1] = logbuf_new(d);
	CHECK(fill(h.v[0], 3 * MIB / 2) == 0 && fill(h.v[1], 3 * MIB / 2) == 0);
	b = logbuf_new(d);
	CHECK(fill(b, 2 * MIB) == -EMFILE);
	CHECK(!logbuf_in_file(b) && logbuf_len(b) == MIB);
	logbuf_unref(&b);
	/* and the bytes: 1.5 + 4 MiB in two files */
	logbuf_unref(&h.v[1]);
	b = logbuf_new(d);
	CHECK(fill(b, 4 * MIB) == -ENOSPC);
	logbuf_unref(&b);
	logbuf_unref(&h.v[0]);
	logdisk_stats(d, &bytes, &files);
	CHECK(bytes == 0 && files == 0);

	logdisk_free(&d);
	close(dirfd);
	rmdir(dir);
	return CHECK_DONE();
}
