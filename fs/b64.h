/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base64url decoding, for the payloads of tokens (v1 log continuation
 * tokens, JWTs), which are readable without their keys.
 */
#ifndef AFS_B64_H
#define AFS_B64_H

#include <stddef.h>

/* A base64url character's value, or -1. */
int b64url_value(char c);

/*
 * Decodes n characters of base64url (padding optional) into out, which
 * holds at least n * 3 / 4 bytes; *len gets the count. 0 or -EIO.
 */
int b64url_decode(const char *s, size_t n, unsigned char *out, size_t *len);

#endif
