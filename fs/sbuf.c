/* SPDX-License-Identifier: Apache-2.0 */
/* A growing text buffer; see sbuf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->err)
		return;
	if (n >= b->cap - b->len) { /* always room for the final NUL */
		ncap = b->cap ? b->cap : 256;
		while (n >= ncap - b->len) {
			if (ncap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			ncap *= 2;
		}
		np = realloc(b->p, ncap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

int sb_take(struct sbuf *b, char **out, size_t *out_len)
{
	sb_add(b, "", 0);
	if (b->err) {
		free(b->p);
		return b->err;
	}
	b->p[b->len] = '\0';
	*out = b->p;
	if (out_len)
		*out_len = b->len;
	return 0;
}
