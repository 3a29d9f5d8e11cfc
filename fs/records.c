// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming reader of v2 log answers; see records.h. The walker of
 * jsonstream.c hands on each element of the "content" array whole; it is
 * rendered by json.c and goes to the sink.
 */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "jsonstream.h"
#include "records.h"

#define RECORD_MAX ((size_t)16 << 20) /* one record, in bytes */

struct records {
	logstream_sink sink;
	void *arg;
	struct jsonstream *walk;
};

/* An element of content: render it and hand it on. */
static int record(void *arg, const char *el, size_t len)
{
	struct records *r = arg;
	char *text;
	size_t n;
	int err = json_record_text(el, len, &text, &n);

	if (err)
		return err;
	err = n ? r->sink(r->arg, text, n) : 0;
	free(text);
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

	if (err)
		return err;
	*more = token != NULL;
	free(token);
	return 0;
}
