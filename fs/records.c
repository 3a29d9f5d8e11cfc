// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming reader of v2 log answers; see records.h. The walker of
 * jsonstream.c hands on each element of the "content" array whole; they
 * are gathered into arrays of up to 64 KiB, each rendered by logline.c
 * with one parse, and their text goes to the sink.
 */
#include <errno.h>
#include <stdlib.h>

#include "jsonstream.h"
#include "logline.h"
#include "records.h"
#include "sbuf.h"

#define RECORD_MAX ((size_t)16 << 20) /* one record, in bytes */
/* Records rendered together, as one JSON array: one parse for many. */
#define BATCH_MAX 65536

struct records {
	logstream_sink sink;
	void *arg;
	struct jsonstream *walk;
	struct sbuf batch; /* "[" and the records so far, comma-separated */
	size_t n;	   /* records in batch */
};

static int hand_on(struct records *r, int err, char *text, size_t n)
{
	if (!err && n)
		err = r->sink(r->arg, text, n);
	free(text);
	return err;
}

/* Renders the records gathered so far and hands their text on. */
static int render(struct records *r)
{
	char *text = NULL;
	size_t n = 0;
	int err = 0;

	if (r->n) {
		sb_add(&r->batch, "]", 1);
		err = r->batch.err ? -ENOMEM
				   : json_records_text(r->batch.p, r->batch.len,
						       &text, &n);
		r->batch.len = 0;
		r->n = 0;
	}
	return hand_on(r, err, text, n);
}

/* An element of content: gathered, or rendered alone when large. */
static int record(void *arg, const char *el, size_t len)
{
	struct records *r = arg;
	char *text = NULL;
	size_t n = 0;
	int err = 0;

	if (r->batch.len + len + 2 > BATCH_MAX)
		err = render(r);
	if (!err && len + 2 > BATCH_MAX) {
		err = json_record_text(el, len, &text, &n);
		return hand_on(r, err, text, n);
	}
	if (!err) {
		sb_add(&r->batch, r->n++ ? "," : "[", 1);
		sb_add(&r->batch, el, len);
	}
	return err;
}

struct records *records_new(logstream_sink sink, void *arg)
{
	struct records *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->walk = jsonstream_new(JSONSTREAM_ARRAY, RECORD_MAX, record, r);
	if (!r->walk) {
		free(r);
		return NULL;
	}
	r->sink = sink;
	r->arg = arg;
	return r;
}

void records_free(struct records **rp)
{
	if (*rp) {
		jsonstream_free(&(*rp)->walk);
		free((*rp)->batch.p);
		free(*rp);
		*rp = NULL;
	}
}

int records_feed(struct records *r, const char *buf, size_t len)
{
	return jsonstream_feed(r->walk, buf, len);
}

int records_end(struct records *r, int *more)
{
	char *token;
	int err = jsonstream_end(r->walk, &token);
	/* what came whole is handed on, as it was record by record */
	int rendered = render(r);

	err = err ? err : rendered;
	if (err) {
		free(token);
		return err;
	}
	*more = token != NULL;
	free(token);
	return 0;
}
