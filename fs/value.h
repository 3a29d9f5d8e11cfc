/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a user writes into state and note, checked before anything is sent
 * (SPEC.md "state", "note"). Pure functions.
 */
#ifndef AFS_VALUE_H
#define AFS_VALUE_H

#include <stddef.h>

#define VALUE_NOTE_MAX	1000 /* characters (code points) */
#define VALUE_STATE_MAX 256  /* bytes an open state file collects */

/*
 * A written state: success, failed or skipped, in any case, surrounding
 * white space ignored. Returns the canonical lower-case name, or NULL.
 */
const char *value_state(const char *buf, size_t len);
/*
 * A written note: the text without its one trailing newline. Returns the
 * length to send, or -EFBIG when that is over VALUE_NOTE_MAX characters.
 */
long value_note(const char *buf, size_t len);
/*
 * The same for any list of words (NULL-terminated): the one written, in
 * any case, surrounding white space ignored, or NULL.
 */
const char *value_word(const char *buf, size_t len, const char *const *ok);
/* The number of UTF-8 characters in buf (bytes that do not continue one). */
size_t value_chars(const char *buf, size_t len);

#endif
