/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming reader of v2 log answers, {"content": [record, ...],
 * "continuation_token": str | null}: each record is rendered as it
 * arrives (json.c renders one; see SPEC.md "logs") and handed to a sink,
 * so a log of any size costs one record's memory.
 */
#ifndef AFS_RECORDS_H
#define AFS_RECORDS_H

#include <stddef.h>

#include "logstream.h"

struct records;

struct records *records_new(logstream_sink sink, void *arg);
/* 0, or -EIO for what is not a log answer, or the sink's error. */
int records_feed(struct records *r, const char *buf, size_t len);
/*
 * The end of the answer: 0 when it was whole, with *more 1 when it holds
 * a continuation token (the log goes on); else -EIO.
 */
int records_end(struct records *r, int *more);
void records_free(struct records **r);

#endif
