// SPDX-License-Identifier: Apache-2.0
/*
 * Scratch files; see scratch.h. A list under one mutex: there are only ever
 * a few, for as long as an editor saves.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

#define FILE_MAX ((size_t)16 << 20)

struct sfile {
	struct sfile *next;
	uint64_t id;
	char *dir, *name;
	char *data;
	size_t len;
	mode_t mode;
	struct timespec mtime;
};

struct scratch {
	pthread_mutex_t lock;
	/* protected by lock */
	struct sfile *files;
	uint64_t next_id;
	size_t bytes, max_bytes;
};

struct scratch *scratch_new(size_t max_bytes)
{
	struct scratch *t = calloc(1, sizeof(*t));

	if (t) {
		pthread_mutex_init(&t->lock, NULL);
		t->next_id = 1;
		t->max_bytes = max_bytes;
	}
	return t;
}

static void sfile_free(struct sfile *f)
{
	free(f->dir);
	free(f->name);
	free(f->data);
	free(f);
}

void scratch_free(struct scratch **tp)
{
	struct scratch *t = *tp;

	if (!t)
		return;
	while (t->files) {
		struct sfile *f = t->files;

		t->files = f->next;
		sfile_free(f);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
	*tp = NULL;
}

static struct sfile **by_name(struct scratch *t, const char *dir,
			      const char *name)
{
	struct sfile **pp = &t->files;

	while (*pp && (strcmp((*pp)->dir, dir) || strcmp((*pp)->name, name)))
		pp = &(*pp)->next;
	return pp;
}

static struct sfile *by_id(struct scratch *t, uint64_t id)
{
	struct sfile *f = t->files;

	while (f && f->id != id)
		f = f->next;
	return f;
}

/* Unlinks and frees *pp; t->lock held. */
static void drop(struct scratch *t, struct sfile **pp)
{
	struct sfile *f = *pp;

	*pp = f->next;
	t->bytes -= f->len;
	sfile_free(f);
}

int scratch_create(struct scratch *t, const char *dir, const char *name,
		   mode_t mode, const void *data, size_t len, int excl,
		   uint64_t *id)
{
	struct sfile *f = calloc(1, sizeof(*f)), **old;
	int err = 0;

	if (!f || !(f->dir = strdup(dir)) || !(f->name = strdup(name)) ||
	    (len && !(f->data = malloc(len)))) {
		if (f)
			sfile_free(f);
		return -ENOMEM;
	}
	if (len)
		memcpy(f->data, data, len);
	f->len = len;
	f->mode = mode & 07777;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	pthread_mutex_lock(&t->lock);
	old = by_name(t, dir, name);
	if (*old && excl) {
		err = -EEXIST;
	} else if (len > FILE_MAX ||
		   t->bytes - (*old ? (*old)->len : 0) + len > t->max_bytes) {
		err = -ENOSPC;
	} else {
		if (*old)
			drop(t, old);
		f->id = t->next_id++;
		f->next = t->files;
		t->files = f;
		t->bytes += len;
		*id = f->id;
		f = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (f)
		sfile_free(f);
	return err;
}

int scratch_find(struct scratch *t, const char *dir, const char *name,
		 uint64_t *id)
{
	struct sfile *f;

	pthread_mutex_lock(&t->lock);
	f = *by_name(t, dir, name);
	if (f)
		*id = f->id;
	pthread_mutex_unlock(&t->lock);
	return f ? 0 : -ENOENT;
}

int scratch_attr(struct scratch *t, uint64_t id, struct scratch_attr *a)
{
	struct sfile *f;

	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f) {
		a->id = id;
		a->size = f->len;
		a->mode = f->mode;
		a->mtime = f->mtime;
	}
	pthread_mutex_unlock(&t->lock);
	return f ? 0 : -ENOENT;
}

long scratch_read(struct scratch *t, uint64_t id, off_t off, size_t size,
		  char *buf)
{
	struct sfile *f;
	long n = -ENOENT;

	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f) {
		n = 0;
		if (off >= 0 && (size_t)off < f->len) {
			n = (long)(f->len - off < size ? f->len - off : size);
			memcpy(buf, f->data + off, n);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

int scratch_content(struct scratch *t, uint64_t id, char **data, size_t *len)
{
	struct sfile *f;
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f) {
		*data = malloc(f->len + 1);
		err = *data ? 0 : -ENOMEM;
		if (*data) {
			memcpy(*data, f->data, f->len);
			(*data)[f->len] = '\0';
			*len = f->len;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* Sets f's length, zero-filling what grows; t->lock held. */
static int resize(struct scratch *t, struct sfile *f, size_t len)
{
	char *d;

	if (len > FILE_MAX || t->bytes - f->len + len > t->max_bytes)
		return -ENOSPC;
	if (len > f->len) {
		d = realloc(f->data, len);
		if (!d)
			return -ENOMEM;
		memset(d + f->len, 0, len - f->len);
		f->data = d;
	}
	t->bytes = t->bytes - f->len + len;
	f->len = len;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	return 0;
}

long scratch_write(struct scratch *t, uint64_t id, const char *buf, size_t size,
		   off_t off)
{
	struct sfile *f;
	long ret = -ENOENT;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f) {
		ret = (size_t)off + size > f->len ? resize(t, f, off + size)
						  : 0;
		if (ret == 0) {
			memcpy(f->data + off, buf, size);
			clock_gettime(CLOCK_REALTIME, &f->mtime);
			ret = (long)size;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int scratch_truncate(struct scratch *t, uint64_t id, off_t size)
{
	struct sfile *f;
	int err = -ENOENT;

	if (size < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f)
		err = resize(t, f, (size_t)size);
	pthread_mutex_unlock(&t->lock);
	return err;
}

int scratch_setattr(struct scratch *t, uint64_t id, int mode_set, mode_t mode,
		    const struct timespec *mtime)
{
	struct sfile *f;

	pthread_mutex_lock(&t->lock);
	f = by_id(t, id);
	if (f && mode_set)
		f->mode = mode & 07777;
	if (f && mtime)
		f->mtime = *mtime;
	pthread_mutex_unlock(&t->lock);
	return f ? 0 : -ENOENT;
}

int scratch_unlink(struct scratch *t, const char *dir, const char *name)
{
	struct sfile **pp;
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	pp = by_name(t, dir, name);
	if (*pp) {
		drop(t, pp);
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int scratch_rename(struct scratch *t, const char *dir, const char *from,
		   const char *to, int excl)
{
	struct sfile **src, **dst;
	char *name = strdup(to);
	int err = 0;

	if (!name)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	src = by_name(t, dir, from);
	dst = by_name(t, dir, to);
	if (!*src) {
		err = -ENOENT;
	} else if (*src == *dst) {
		/* the same file: nothing to do */
	} else if (*dst && excl) {
		err = -EEXIST;
	} else {
		struct sfile *f = *src;

		if (*dst)
			drop(t, dst);
		free(f->name);
		f->name = name;
		name = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(name);
	return err;
}

int scratch_names(struct scratch *t, const char *dir, char ***names, size_t *n)
{
	size_t count = 0, i = 0;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	for (struct sfile *f = t->files; f; f = f->next)
		count += !strcmp(f->dir, dir);
	*names = calloc(count ? count : 1, sizeof(**names));
	if (!*names)
		err = -ENOMEM;
	for (struct sfile *f = t->files; !err && f; f = f->next) {
		if (strcmp(f->dir, dir))
			continue;
		(*names)[i] = strdup(f->name);
		if (!(*names)[i++])
			err = -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	*n = i;
	if (err) {
		while (i > 0)
			free((*names)[--i]);
		free(*names);
		*names = NULL;
		*n = 0;
	}
	return err;
}
