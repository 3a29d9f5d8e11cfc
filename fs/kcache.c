// SPDX-License-Identifier: Apache-2.0
/* What the kernel may keep of a node; see kcache.h. */
#include <pthread.h>

#include "fnv.h"
#include "kcache.h"

/* Protects every struct kc; a leaf, held for a few instructions. */
static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t kc_hash(const void *data, size_t len, uint64_t h)
{
	return fnv1a(data, len, h ? h : FNV1A_BASIS);
}

void kc_told(struct kc *k, uint64_t hash)
{
	pthread_mutex_lock(&kc_lock);
	/* attributes of other content: the pages (of the last open) no
	 * longer match the size the kernel holds */
	if (k->pages_ok && k->pages != hash)
		k->pages_ok = 0;
	k->told = hash;
	k->told_ok = 1;
	pthread_mutex_unlock(&kc_lock);
}

void kc_forget(struct kc *k)
{
	pthread_mutex_lock(&kc_lock);
	k->pages_ok = 0;
	k->told_ok = 0;
	pthread_mutex_unlock(&kc_lock);
}

void kc_open(struct kc *k, uint64_t hash, struct kc_open *o)
{
	int same;

	pthread_mutex_lock(&kc_lock);
	same = k->pages_ok && k->pages == hash;
	if (!same) {
		/* the opens still open read other content: their reads may
		 * fill pages after this open dropped them */
		k->gen++;
		k->old += k->cur;
		k->cur = 0;
	}
	o->keep = same && k->old == 0;
	/* an open that keeps nothing drops the pages; they are then this
	 * content's, unless an open of older content may fill them again */
	k->pages = hash;
	k->pages_ok = k->old == 0;
	o->inval_attr = !k->told_ok || k->told != hash;
	o->gen = k->gen;
	k->cur++;
	pthread_mutex_unlock(&kc_lock);
}

int kc_stale_size(struct kc *k, uint64_t hash)
{
	int stale;

	pthread_mutex_lock(&kc_lock);
	stale = !k->told_ok || k->told != hash;
	pthread_mutex_unlock(&kc_lock);
	return stale;
}

void kc_close(struct kc *k, unsigned gen)
{
	pthread_mutex_lock(&kc_lock);
	if (gen == k->gen && k->cur > 0)
		k->cur--;
	else if (k->old > 0)
		k->old--;
	pthread_mutex_unlock(&kc_lock);
}
