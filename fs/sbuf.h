/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growing text buffer: append, then take the NUL-terminated result. The
 * first allocation failure sticks in err and later appends do nothing, so
 * a writer checks once, at the end.
 */
#ifndef AFS_SBUF_H
#define AFS_SBUF_H

#include <stddef.h>

/* zero-initialized before use */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_str(struct sbuf *b, const char *s);
/*
 * Hands the NUL-terminated buffer over to *out (the caller frees it) with
 * its length in *out_len unless NULL, and returns 0; or frees it and
 * returns the error that stuck.
 */
int sb_take(struct sbuf *b, char **out, size_t *out_len);

#endif
