/* SPDX-License-Identifier: Apache-2.0 */
/* One record of a v2 log answer as the text of a log file. */
#ifndef AFS_LOGLINE_H
#define AFS_LOGLINE_H

#include <stddef.h>

/*
 * The record in len bytes (an object, or a plain string) rendered as
 * text, one line, as SPEC.md "logs" says (a traceback follows on lines of
 * its own); 0, -EIO or -ENOMEM. *text is malloc'd.
 */
int json_record_text(const char *rec, size_t len, char **text,
		     size_t *text_len);
/*
 * The records of a JSON array, rendered one after the other as
 * json_record_text() renders each: one parse for many records (json-c
 * sets up a locale at each parse, which cost more than the record).
 */
int json_records_text(const char *array, size_t len, char **text,
		      size_t *text_len);

#endif
