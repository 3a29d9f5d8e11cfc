/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of a try's log: the bytes shown so far and the token that
 * fetches what follows. The next snapshot is built from the one before it:
 * only what follows is asked for when the server gave a token, else all of
 * it, skipping what was shown (so a file never shrinks or changes what it
 * showed); the buffer is shared while the snapshots agree. The start of a
 * log is held back until a line other than the server's note on where it
 * read the log from arrives ("no log yet" is an empty file, not a header),
 * and a final log ends with a newline (SPEC.md "logs").
 */
#ifndef AFS_LOGSNAP_H
#define AFS_LOGSNAP_H

#include <stddef.h>
#include <sys/types.h>

#include "logbuf.h"
#include "logstream.h"

struct logsnap {
	struct logbuf *buf;
	size_t len;  /* what this snapshot shows of buf */
	char *token; /* fetches what follows; NULL: fetch it all */
};

/* Where a try's log comes from. */
struct logsnap_src {
	/*
	 * One fetch from token (NULL: the start): the text goes to sink,
	 * *next gets the token of what follows (or NULL), *end_of_log the
	 * server's word (1: complete, 0: not, -1: it said nothing). 0,
	 * -ESTALE when the server refuses the token, or -errno.
	 */
	int (*get)(void *arg, const char *token, logstream_sink sink,
		   void *sink_arg, char **next, int *end_of_log);
	/* Whether the try is over, the server having said end_of_log. */
	int (*over)(void *arg, int end_of_log);
	void *arg;
};

/*
 * Builds the snapshot after prev (NULL: the first) into *out, its buffer
 * in disk when large; *final: the try is over and its log complete (no
 * token kept then). 0, or -errno with *out untouched (EFBIG, ENOSPC and
 * EMFILE from disk's bounds).
 */
int logsnap_next(struct logdisk *disk, const struct logsnap *prev,
		 const struct logsnap_src *src, struct logsnap *out,
		 int *final);
/* Copies up to size bytes of l at off into buf; the count or -errno. */
long logsnap_read(const struct logsnap *l, off_t off, size_t size, char *buf);
/* Drops l's buffer and token. */
void logsnap_clear(struct logsnap *l);

#endif
