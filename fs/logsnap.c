// SPDX-License-Identifier: Apache-2.0
/* Snapshots of a try's log; see logsnap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logsnap.h"

/* The longest start of a log held back to see whether it is more than the
 * server's note on where it read the log from. */
#define HEAD_MAX 4096
/* Decoded text gathered before it goes to the buffer: a v2 log comes a
 * record (a line) at a time, and a write per line cost most of a read. */
#define OUT_MAX 65536

/*
 * Takes decoded text into the next snapshot's buffer: skips what the one
 * before already shows (a full fetch after one that could not be resumed),
 * and holds the start of a log back until a line other than the source
 * header comes.
 */
struct sink {
	struct logbuf *buf;
	size_t skip; /* bytes already shown */
	size_t seen; /* bytes of text decoded */
	int holding; /* still holding the start back */
	char head[HEAD_MAX];
	size_t head_len;
	char out[OUT_MAX]; /* text not yet in buf */
	size_t out_len;
};

static int flush(struct sink *k)
{
	size_t n = k->out_len;

	k->out_len = 0;
	return n ? logbuf_append(k->buf, k->out, n) : 0;
}

static int put(struct sink *k, const char *text, size_t len)
{
	int err = k->out_len + len > OUT_MAX ? flush(k) : 0;

	if (err || len >= OUT_MAX)
		return err ? err : logbuf_append(k->buf, text, len);
	memcpy(k->out + k->out_len, text, len);
	k->out_len += len;
	return 0;
}

static int header_line(const char *s, size_t n)
{
	return (n >= 3 && !memcmp(s, "***", 3)) ||
	       memmem(s, n, "::group::Log message source details", 35) ||
	       memmem(s, n, "::endgroup::", 12);
}

/*
 * Whether s holds a line that is not a header line: a complete one, or
 * with whole, also the last one even without its newline.
 */
static int head_has_log(const char *s, size_t n, int whole)
{
	const char *nl;

	while ((nl = memchr(s, '\n', n))) {
		if (!header_line(s, (size_t)(nl - s)))
			return 1;
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	return whole && n > 0 && !header_line(s, n);
}

static int release(struct sink *k)
{
	k->holding = 0;
	return put(k, k->head, k->head_len);
}

static int take(void *arg, const char *text, size_t len)
{
	struct sink *k = arg;

	if (k->seen + len <= k->skip) {
		k->seen += len;
		return 0;
	}
	if (k->seen < k->skip) {
		text += k->skip - k->seen;
		len -= k->skip - k->seen;
		k->seen = k->skip;
	}
	k->seen += len;
	if (k->holding) {
		size_t n = len < HEAD_MAX - k->head_len
				   ? len
				   : HEAD_MAX - k->head_len;
		int err;

		memcpy(k->head + k->head_len, text, n);
		k->head_len += n;
		text += n;
		len -= n;
		if (k->head_len < HEAD_MAX &&
		    !head_has_log(k->head, k->head_len, 0))
			return 0;
		err = release(k);
		if (err)
			return err;
	}
	return len ? put(k, text, len) : 0;
}

/*
 * The buffer of the next snapshot: prev's when it holds just what prev
 * shows, else a new one with a copy of that (a buffer that took part of a
 * failed fetch is not shared further).
 */
static int start(struct logdisk *disk, const struct logsnap *prev,
		 struct sink *k)
{
	int err = 0;

	if (prev && logbuf_len(prev->buf) == prev->len) {
		k->buf = logbuf_ref(prev->buf);
		return 0;
	}
	k->buf = logbuf_new(disk);
	if (!k->buf)
		return -ENOMEM;
	for (size_t off = 0; prev && !err && off < prev->len;) {
		long n = logsnap_read(prev, (off_t)off, sizeof(k->head),
				      k->head);

		err = n <= 0 ? (n < 0 ? (int)n : -EIO)
			     : logbuf_append(k->buf, k->head, (size_t)n);
		off += n > 0 ? (size_t)n : 0;
	}
	if (err)
		logbuf_unref(&k->buf);
	return err;
}

/* A final log ends with a newline; an empty log stays empty. */
static int end_with_newline(struct logbuf *b)
{
	size_t len = logbuf_len(b);
	char last = '\n';

	if (len && logbuf_read(b, (off_t)len - 1, 1, len, &last) != 1)
		return -EIO;
	return last == '\n' ? 0 : logbuf_append(b, "\n", 1);
}

int logsnap_next(struct logdisk *disk, const struct logsnap *prev,
		 const struct logsnap_src *src, struct logsnap *out, int *final)
{
	struct sink *k = calloc(1, sizeof(*k));
	char *token = NULL;
	int end_of_log = 0, err;

	*final = 0;
	if (!k)
		return -ENOMEM;
	err = start(disk, prev, k);
	if (err) {
		free(k);
		return err;
	}
	k->skip = prev && !prev->token ? prev->len : 0;
	k->holding = !prev || prev->len == 0;
	err = src->get(src->arg, prev ? prev->token : NULL, take, k, &token,
		       &end_of_log);
	if (err == -ESTALE && prev && prev->token) {
		/* the server cannot resume: fetch it all, skip what is shown */
		err = flush(k);
		free(token);
		token = NULL;
		k->skip = prev->len;
		k->seen = 0;
		if (!err)
			err = src->get(src->arg, NULL, take, k, &token,
				       &end_of_log);
	}
	if (!err)
		*final = src->over(src->arg, end_of_log);
	if (!err && k->holding) {
		if (*final || head_has_log(k->head, k->head_len, 1)) {
			err = release(k);
		} else {
			/* nothing but the header yet: an empty file, and
			 * the next fetch starts from the beginning again */
			free(token);
			token = NULL;
		}
	}
	if (!err)
		err = flush(k);
	if (!err && *final)
		err = end_with_newline(k->buf);
	if (err || *final) {
		free(token);
		token = NULL;
	}
	if (err) {
		logbuf_unref(&k->buf);
		*final = 0;
	} else {
		out->buf = k->buf;
		out->len = logbuf_len(k->buf);
		out->token = token;
	}
	free(k);
	return err;
}

long logsnap_read(const struct logsnap *l, off_t off, size_t size, char *buf)
{
	return logbuf_read(l->buf, off, size, l->len, buf);
}

void logsnap_clear(struct logsnap *l)
{
	logbuf_unref(&l->buf);
	free(l->token);
	l->token = NULL;
	l->len = 0;
}
