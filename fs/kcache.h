/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the kernel may keep of a node between opens (its pages, or a
 * directory's cached listing) and whether the size it holds is right.
 * The daemon renders a node's bytes at each open; the kernel may keep the
 * pages an earlier open filled only when that content is the same
 * (keep_cache, cache_readdir), and must ask the size again when the last
 * attributes it was sent described other content. Contents are compared by
 * a hash (for logs, whose bytes never change once shown: their length).
 *
 * Pages filled by an open that saw older content are stale. So an open
 * that finds new content while opens of older content are still open
 * keeps nothing, and the next open after those are closed keeps nothing
 * either: it drops whatever they filled. No FUSE types here; one lock, a
 * leaf, for all nodes.
 */
#ifndef AFS_KCACHE_H
#define AFS_KCACHE_H

#include <stddef.h>
#include <stdint.h>

struct kc {
	uint64_t pages; /* the content the kernel's pages may hold */
	uint64_t told;	/* the content of the last attributes sent */
	unsigned gen;	/* bumped when an open finds other content */
	unsigned cur;	/* opens of gen still open */
	unsigned old;	/* opens of older gens still open */
	int pages_ok;	/* pages, if any, are of content pages */
	int told_ok;	/* told is known */
};

/* What an open may tell the kernel. */
struct kc_open {
	int keep;	/* keep_cache: what the kernel holds is current */
	int inval_attr; /* the kernel's size may be of other content */
	unsigned gen;	/* give back to kc_close */
};

/* FNV-1a over len bytes, continuing from h (0 to start). */
uint64_t kc_hash(const void *data, size_t len, uint64_t h);
/* Attributes describing content hash go to the kernel. */
void kc_told(struct kc *k, uint64_t hash);
/* The kernel's pages and size are no longer known (a write, a rename). */
void kc_forget(struct kc *k);
/* An open whose reads fill the kernel's pages with content hash. */
void kc_open(struct kc *k, uint64_t hash, struct kc_open *o);
/* Whether the size the kernel holds may be of content other than hash. */
int kc_stale_size(struct kc *k, uint64_t hash);
/* The release of an open made by kc_open. */
void kc_close(struct kc *k, unsigned gen);

#endif
