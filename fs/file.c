// SPDX-License-Identifier: Apache-2.0
/* Open files and the saves of state and note; see file.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "file.h"
#include "log.h"
#include "value.h"

/* The most a note's open file holds: 1000 characters of 4 bytes, a '\n'. */
#define NOTE_BYTES (VALUE_NOTE_MAX * 4 + 1)

enum file_kind { F_READ, F_LOG, F_STATE, F_NOTE, F_SCRATCH };

struct file {
	enum file_kind kind;
	struct node *node;	 /* held by the kernel while open */
	struct cache_blob *blob; /* F_READ, F_STATE: what reads return */
	struct s_log *log;	 /* F_LOG: the latest snapshot read */
	uint64_t sid;		 /* F_SCRATCH */

	pthread_mutex_t lock; /* protects log and what follows */
	char *buf;	      /* what this open collected */
	size_t len;
	int dirty;     /* written since the last save */
	int truncated; /* truncated since the last save */
	int failed;    /* -EFBIG or -EINVAL: saves nothing */
	int save_err;  /* how the last save ended */
};

/* Counts a save of n in flight (+1), or one done (-1). */
static void saving(struct fs *fs, struct node *n, int d)
{
	pthread_mutex_lock(&fs->saves_lock);
	n->saving += d;
	if (!n->saving)
		pthread_cond_broadcast(&fs->saves_done);
	pthread_mutex_unlock(&fs->saves_lock);
}

/*
 * A read of state or note waits for the saves of that file in flight (a
 * truncation saved at release runs after close returned): `: > note; cat
 * note` shows the cleared note.
 */
static void wait_saves(struct fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->saves_lock);
	while (n->saving)
		pthread_cond_wait(&fs->saves_done, &fs->saves_lock);
	pthread_mutex_unlock(&fs->saves_lock);
}

static int writing(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

int file_open(struct fs *fs, const struct call *call, struct node *n, int flags,
	      struct file **out, enum file_cache *how, uint64_t *hash)
{
	struct file *f = calloc(1, sizeof(*f));
	int err = 0, final = 0;

	*how = FC_DIRECT;
	*hash = 0;
	if (!f)
		return -ENOMEM;
	f->node = n;
	pthread_mutex_init(&f->lock, NULL);
	if (n->kind == N_FILE && (n->file == TI_STATE || n->file == TI_NOTE))
		wait_saves(fs, n);
	if (n->kind == N_SCRATCH) {
		f->kind = F_SCRATCH;
		f->sid = n->sid;
		if (flags & O_TRUNC)
			err = scratch_truncate(fs->scratch, n->sid, 0);
	} else if (writing(flags) &&
		   (n->kind != N_FILE || (!path_file_is_state(n->file) &&
					  !path_file_is_note(n->file)))) {
		err = -EACCES;
	} else if (writing(flags) && fs->cfg->ro) {
		err = -EROFS;
	} else if (writing(flags) && path_file_is_note(n->file)) {
		f->kind = F_NOTE;
		f->buf = malloc(NOTE_BYTES);
		if (!f->buf) {
			err = -ENOMEM;
		} else if (flags & O_TRUNC) {
			f->truncated = 1;
		} else {
			/* an open without O_TRUNC edits the current text */
			err = node_content(fs, call, n, &f->blob, &final);
			if (!err && f->blob->len <= NOTE_BYTES) {
				memcpy(f->buf, f->blob->data, f->blob->len);
				f->len = f->blob->len;
			}
			store_put(f->blob);
			f->blob = NULL;
		}
	} else if (n->kind == N_LOG) {
		f->kind = F_LOG;
		err = node_log(fs, call, n, &f->log);
		if (!err && f->log->final) {
			*how = FC_FINAL;
			*hash = f->log->snap.len;
		}
	} else {
		f->kind = writing(flags) ? F_STATE : F_READ;
		err = node_content(fs, call, n, &f->blob, &final);
		if (f->kind == F_STATE && !err) {
			f->buf = malloc(VALUE_STATE_MAX);
			err = f->buf ? 0 : -ENOMEM;
		}
		/* .stats changes with every request: always read through */
		if (!err && f->kind == F_READ && n->kind != N_STATS) {
			*how = final ? FC_FINAL : FC_SNAPSHOT;
			*hash = final ? f->blob->len
				      : kc_hash(f->blob->data, f->blob->len, 0);
		}
	}
	if (err) {
		file_release(fs, call, &f);
		return err;
	}
	*out = f;
	return 0;
}

/*
 * A read of a log past what the open file's snapshot holds, while the try
 * runs, takes a newer snapshot: tail -f and less +F see the log grow.
 */
static long read_log(struct fs *fs, const struct call *call, struct file *f,
		     off_t off, size_t size, char *buf)
{
	struct s_log *l;

	pthread_mutex_lock(&f->lock);
	if (!f->log->final && (size_t)off + size > f->log->snap.len &&
	    node_log(fs, call, f->node, &l) == 0) {
		store_put(f->log);
		f->log = l;
	}
	l = f->log;
	cache_ref(&l->hdr);
	pthread_mutex_unlock(&f->lock);
	off = store_log_read(l, off, size, buf);
	store_put(l);
	return off;
}

long file_read(struct fs *fs, const struct call *call, struct file *f,
	       off_t off, size_t size, char *buf)
{
	const char *data;
	size_t len;
	long n = 0;

	if (f->kind == F_SCRATCH)
		return scratch_read(fs->scratch, f->sid, off, size, buf);
	if (f->kind == F_LOG)
		return read_log(fs, call, f, off, size, buf);
	pthread_mutex_lock(&f->lock);
	data = f->kind == F_NOTE ? f->buf : f->blob->data;
	len = f->kind == F_NOTE ? f->len : f->blob->len;
	if (off >= 0 && (size_t)off < len) {
		n = (long)(len - off < size ? len - off : size);
		memcpy(buf, data + off, n);
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Saves what f collected; f->lock held. */
static int save(struct fs *fs, const struct call *call, struct file *f)
{
	int err;

	saving(fs, f->node, 1);
	err = node_save_logged(fs, call, f->node, f->node->file, f->buf,
			       f->len);
	saving(fs, f->node, -1);

	f->dirty = f->truncated = 0;
	f->save_err = err;
	if (f->kind == F_NOTE && err == -EINVAL)
		f->failed = err; /* cut short in a UTF-8 sequence */
	if (f->kind == F_STATE)
		f->len = 0; /* the next value is collected from empty */
	return err;
}

/* A state's open file appends whatever the offset: > and >> alike. */
static long write_state(struct fs *fs, const struct call *call, struct file *f,
			const char *buf, size_t size)
{
	int err = 0;

	if (f->len + size > VALUE_STATE_MAX) {
		f->len = 0;
		f->dirty = 0;
		return -EINVAL;
	}
	memcpy(f->buf + f->len, buf, size);
	f->len += size;
	f->dirty = 1;
	if (f->len > 0 && f->buf[f->len - 1] == '\n') {
		err = save(fs, call, f); /* a whole value: send it now */
		f->save_err = 0;	 /* said by this write */
	}
	return err ? err : (long)size;
}

/*
 * A note's text is checked as it comes: too long (EFBIG), not UTF-8 or a
 * NUL byte (EINVAL) fail the write and every later one of this open file,
 * which then saves nothing. A UTF-8 sequence that the end of the text cuts
 * short may be completed by the next write; the save checks it again.
 */
static long write_note(struct file *f, const char *buf, size_t size, off_t off)
{
	size_t end = (size_t)off + size;

	if (f->failed)
		return f->failed;
	if (end > NOTE_BYTES) {
		f->failed = -EFBIG;
		return f->failed;
	}
	if ((size_t)off > f->len)
		memset(f->buf + f->len, 0, off - f->len);
	memcpy(f->buf + off, buf, size);
	if (end > f->len)
		f->len = end;
	if (value_note(f->buf, f->len) == -EFBIG)
		f->failed = -EFBIG;
	else if (value_text(f->buf, f->len, 1))
		f->failed = -EINVAL;
	if (f->failed)
		return f->failed;
	f->dirty = 1;
	return (long)size;
}

long file_write(struct fs *fs, const struct call *call, struct file *f,
		const char *buf, size_t size, off_t off)
{
	long ret;

	if (off < 0)
		return -EINVAL;
	if (f->kind == F_SCRATCH)
		return scratch_write(fs->scratch, f->sid, buf, size, off);
	if (f->kind == F_READ)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	ret = f->kind == F_STATE ? write_state(fs, call, f, buf, size)
				 : write_note(f, buf, size, off);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int file_truncate(struct fs *fs, struct file *f, off_t size)
{
	if (size < 0)
		return -EINVAL;
	if (f->kind == F_SCRATCH)
		return scratch_truncate(fs->scratch, f->sid, size);
	if (f->kind != F_NOTE)
		return 0; /* a state collects its value from empty anyway */
	pthread_mutex_lock(&f->lock);
	if ((size_t)size > NOTE_BYTES) {
		f->failed = -EFBIG;
		pthread_mutex_unlock(&f->lock);
		return -EFBIG;
	}
	if ((size_t)size > f->len)
		memset(f->buf + f->len, 0, size - f->len);
	f->len = (size_t)size;
	f->truncated = 1;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int file_flush(struct fs *fs, const struct call *call, struct file *f)
{
	int err = 0;

	if (f->kind != F_STATE && f->kind != F_NOTE)
		return 0;
	pthread_mutex_lock(&f->lock);
	/*
	 * A lone truncation waits for release: a shell's > flushes first.
	 * With nothing new, the last save's failure stands: another copy of
	 * the descriptor (a child forked by another thread, closed at its
	 * exec) may have flushed first, and this close must still say it.
	 */
	if (f->dirty && !f->failed)
		err = save(fs, call, f);
	else
		err = f->save_err;
	pthread_mutex_unlock(&f->lock);
	return err;
}

/* Whether f holds a save not yet made: a write, or a note's truncation. */
static int unsaved(const struct file *f)
{
	return (f->dirty || (f->kind == F_NOTE && f->truncated)) && !f->failed;
}

int file_fsync(struct fs *fs, const struct call *call, struct file *f)
{
	int err = 0;

	if (f->kind != F_STATE && f->kind != F_NOTE)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (unsaved(f))
		err = save(fs, call, f);
	else
		err = f->save_err;
	pthread_mutex_unlock(&f->lock);
	return err;
}

void file_release(struct fs *fs, const struct call *call, struct file **fp)
{
	struct file *f = *fp;

	if (!f)
		return;
	if (unsaved(f)) {
		/* counted before the lock: a read from now on waits for it */
		saving(fs, f->node, 1);
		pthread_mutex_lock(&f->lock);
		save(fs, call, f); /* a failure can only be logged here */
		pthread_mutex_unlock(&f->lock);
		saving(fs, f->node, -1);
	}
	store_put(f->blob);
	store_put(f->log);
	pthread_mutex_destroy(&f->lock);
	free(f->buf);
	free(f);
	*fp = NULL;
}

/* A note truncated by name (truncate -s): the text cut or zero-filled. */
static int truncate_note(struct fs *fs, const struct call *call, struct node *n,
			 off_t size)
{
	struct cache_blob *b;
	int final, err;
	char *text;

	if ((size_t)size > NOTE_BYTES)
		return -EFBIG;
	err = node_content(fs, call, n, &b, &final);
	if (err)
		return err;
	text = calloc(1, (size_t)size + 1);
	if (text) {
		memcpy(text, b->data,
		       b->len < (size_t)size ? b->len : (size_t)size);
		err = node_save(fs, call, n, n->file, text, (size_t)size);
		free(text);
	} else {
		err = -ENOMEM;
	}
	store_put(b);
	return err;
}

int file_setattr(struct fs *fs, const struct call *call, struct node *n,
		 struct file *f, const struct file_attr *a)
{
	int rw = n->kind == N_FILE &&
		 (path_file_is_state(n->file) || path_file_is_note(n->file));
	int err = 0;

	if (n->kind != N_SCRATCH && !rw)
		return a->size_set ? -EACCES : -EPERM;
	if (fs->cfg->ro)
		return -EROFS;
	if (a->size_set) {
		if (f)
			err = file_truncate(fs, f, a->size);
		else if (n->kind == N_SCRATCH)
			err = scratch_truncate(fs->scratch, n->sid, a->size);
		else if (path_file_is_note(n->file))
			err = a->size < 0 ? -EINVAL
					  : truncate_note(fs, call, n, a->size);
	}
	if (!err && n->kind == N_SCRATCH && (a->mode_set || a->mtime_set))
		err = scratch_setattr(fs->scratch, n->sid, a->mode_set, a->mode,
				      a->mtime_set ? &a->mtime : NULL);
	return err;
}
