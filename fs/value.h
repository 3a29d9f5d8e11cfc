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
 * white space (blank lines too) ignored. Returns the canonical lower-case
 * name, or NULL.
 */
const char *value_state(const char *buf, size_t len);
/* Whether buf holds nothing but white space (a state write that is none). */
int value_blank(const char *buf, size_t len);
/*
 * Whether buf is text a note may hold: valid UTF-8 without a NUL byte
 * (0, else -EINVAL). With partial, an incomplete sequence at the very end
 * passes: the next write may complete it.
 */
int value_text(const char *buf, size_t len, int partial);
/*
 * A written note: the text without its one trailing newline. Returns the
 * length to send, -EFBIG when that is over VALUE_NOTE_MAX characters, or
 * -EINVAL when it is not UTF-8 or holds a NUL byte (value_text).
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
