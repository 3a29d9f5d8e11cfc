// SPDX-License-Identifier: Apache-2.0
/* Open files and directories; see handle.h. */
#include <stdlib.h>

#include "call.h"
#include "handle.h"

struct handle *handle_new(struct fs *fs)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (h) {
		pthread_mutex_lock(&fs->handles_lock);
		h->next = fs->handles;
		if (h->next)
			h->next->prev = h;
		fs->handles = h;
		h->linked = 1;
		pthread_mutex_unlock(&fs->handles_lock);
	}
	return h;
}

/* Takes h off the list of open handles; fs->handles_lock held. */
static void handle_unlink(struct fs *fs, struct handle *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->linked = 0;
}

int handle_take(struct fs *fs, struct handle *h)
{
	int mine;

	pthread_mutex_lock(&fs->handles_lock);
	mine = h->linked;
	if (mine)
		handle_unlink(fs, h);
	pthread_mutex_unlock(&fs->handles_lock);
	return mine;
}

/* Closes what h holds (a pending save is made); h is taken. */
static void handle_empty(struct fs *fs, const struct call *call,
			 struct handle *h)
{
	file_release(fs, call, &h->file);
	dir_list_free(&h->dir);
	if (h->kc)
		kc_close(&h->node->kc, h->kc_gen);
	h->kc = 0;
}

void handle_close(struct fs *fs, const struct call *call, struct handle *h)
{
	handle_empty(fs, call, h);
	free(h);
}

void handle_free(struct fs *fs, const struct call *call, struct handle *h)
{
	if (handle_take(fs, h))
		handle_close(fs, call, h);
}

void handles_close_all(struct fs *fs, double timeout)
{
	struct call call;

	for (;;) {
		struct handle *h;

		pthread_mutex_lock(&fs->handles_lock);
		h = fs->handles;
		if (h)
			handle_unlink(fs, h);
		pthread_mutex_unlock(&fs->handles_lock);
		if (!h)
			break;
		call = call_within(timeout, 0);
		/* not freed: a RELEASE on its way still reads h->linked */
		handle_empty(fs, &call, h);
		pthread_mutex_lock(&fs->handles_lock);
		h->next = fs->closed;
		fs->closed = h;
		pthread_mutex_unlock(&fs->handles_lock);
	}
}

void handles_free(struct fs *fs)
{
	while (fs->closed) {
		struct handle *h = fs->closed;

		fs->closed = h->next;
		free(h);
	}
}
