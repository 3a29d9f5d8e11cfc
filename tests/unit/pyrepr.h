/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder for the v1 log "content" string: str() of a Python list of
 * (host, text) tuples, e.g. "[('worker-1', 'line\\nline\\n')]". Pure code.
 */
#ifndef AFS_PYREPR_H
#define AFS_PYREPR_H

#include <stddef.h>

/*
 * Decodes s (n bytes) into the concatenation of the text parts (hosts
 * dropped; when a part does not end in '\n' and another follows, a '\n'
 * is put between them). String literals use ' or " quotes and the escapes
 * \n \t \r \\ \' \" \xNN \uNNNN \UNNNNNNNN \a \b \f \v \0 (to UTF-8).
 * Content that is not such a list (a plain message) is returned as is.
 * Returns 0 with *out malloc'd (NUL-terminated, *out_len bytes), -EIO for
 * a malformed list, -ENOMEM.
 */
int pyrepr_log(const char *s, size_t n, char **out, size_t *out_len);

#endif
