/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FNV-1a, 64 bits: the cache's buckets, the inode table's names, the
 * content hashes of fs/kcache.c. Header only, so that cache/ stays a
 * library of its own.
 */
#ifndef AFS_FNV_H
#define AFS_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_BASIS 0xcbf29ce484222325ULL /* the offset basis */
#define FNV1A_PRIME 0x100000001b3ULL

/* FNV-1a over len bytes, continuing from h (FNV1A_BASIS to start). */
static inline uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV1A_PRIME;
	return h;
}

#endif
