// SPDX-License-Identifier: Apache-2.0
/*
 * The Airflow REST client; see airflow.h. What differs between API
 * versions is gathered in struct api; everything else is shared.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airflow.h"
#include "call.h"
#include "pool.h"
#include "auth.h"
#include "clock.h"
#include "decode.h"
#include "json.h"
#include "log.h"
#include "path.h"
#include "records.h"

#define MAX_PAGE_BODY ((size_t)16 << 20)
#define MAX_ONE_BODY  ((size_t)8 << 20)
#define MAX_LOG_BODY  ((size_t)1 << 30) /* streamed */
#define PAGE	      100

/* A log answer's decoder, fed as the answer arrives: v1's, v2's. */
struct log_decoder {
	void *(*start)(logstream_sink sink, void *arg);
	int (*feed)(void *dec, const char *buf, size_t len);
	/* the answer is over: the token of what follows (v1), and whether
	 * the log is complete (1), goes on (0) or nobody said (-1) */
	int (*end)(void *dec, char **next, int *end_of_log);
	void (*stop)(void *dec);
};
static const struct log_decoder v1_log, v2_log;

struct api {
	const char *name;
	const char *base;	 /* path prefix of every endpoint */
	const char *runs_order;	 /* newest first */
	const char *state_body;	 /* a state PATCH body, before the value */
	const char *note_path;	 /* appended to a task instance's path */
	const char *run_note;	 /* appended to a run's path for its note */
	const char *pause_query; /* appended to a DAG's path to pause it */
	const struct log_decoder *log;
	const char *login; /* POST: a username and password buy a JWT */
	long same_state;   /* the status of a PATCH to the state it has */
};

static const struct api api_v1 = {
	.name = "v1",
	.base = "/api/v1",
	.runs_order = "-execution_date",
	/* without dry_run false a v1 server changes nothing, and says 200 */
	.state_body = "{\"dry_run\": false, \"new_state\": ",
	.note_path = "/setNote",
	.run_note = "/setNote",
	.pause_query = "?update_mask=is_paused",
	.log = &v1_log,
	.same_state = 200,
};

static const struct api api_v2 = {
	.name = "v2",
	.base = "/api/v2",
	/* logical_date may be null in 3.x; run_after never is */
	.runs_order = "-run_after",
	/* dry_run is a field v2 refuses (422) */
	.state_body = "{\"new_state\": ",
	.note_path = "?update_mask=note",
	.run_note = "?update_mask=note",
	.pause_query = "",
	.log = &v2_log,
	.login = "/auth/token",
	.same_state = 409,
};

/* What a request asks for, counted by kind in .stats. */
enum req_kind {
	REQ_DAGS,
	REQ_DAG,
	REQ_RUNS,
	REQ_RUN,
	REQ_TIS,
	REQ_MAPPED,
	REQ_TI,
	REQ_LINKS,
	REQ_LOG,
	REQ_STATE,
	REQ_NOTE,
	REQ_RUN_STATE,
	REQ_RUN_NOTE,
	REQ_PAUSE,
	REQ_CLEAR,
	REQ_BY_STATE,
	REQ_TIS_CHANGED,
	REQ_KINDS
};

static const char *const req_names[REQ_KINDS] = {
	"dags",
	"dag",
	"runs",
	"run",
	"task_instances",
	"mapped",
	"task_instance",
	"links",
	"log",
	"set_state",
	"set_note",
	"set_run_state",
	"set_run_note",
	"set_paused",
	"clear",
	"by_state",
	"task_instances_changed",
};

struct airflow {
	uint64_t counts[REQ_KINDS]; /* changed atomically */
	double timeout;
	struct http *http;
	struct auth *auth; /* the credentials of every request */
	const struct api *api;
	char *server_version;
	char *url;
	int verbose;
	int kerberos;	/* -o kerberos: the ticket is checked before mounting */
	int no_changed; /* lists cannot filter on updated_at (atomic) */
	struct pool *pages; /* fetches the pages of a window at once */
};

/* A request path under construction; bad is set when it overflowed. */
struct url {
	char s[8192];
	size_t len;
	int bad;
	enum req_kind kind;
	const struct call *call; /* the system call it serves; NULL: none */
};

/* The end of the system call a request serves (0: none). */
static double url_end(const struct url *u)
{
	return u->call ? u->call->deadline : 0;
}

static void url_fmt(struct url *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void url_fmt(struct url *u, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(u->s + u->len, sizeof(u->s) - u->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(u->s) - u->len)
		u->bad = 1;
	else
		u->len += n;
}

static void url_id(struct url *u, const char *id)
{
	long n = path_escape(u->s, u->len, sizeof(u->s), id);

	if (n < 0)
		u->bad = 1;
	else
		u->len = n;
}

static void url_run(struct url *u, const struct airflow *a, const char *dag,
		    const char *run)
{
	url_fmt(u, "%s/dags/", a->api->base);
	url_id(u, dag);
	url_fmt(u, "/dagRuns/");
	url_id(u, run);
}

static void url_ti(struct url *u, const struct airflow *a, const char *dag,
		   const char *run, const char *task, int map_index)
{
	url_run(u, a, dag, run);
	url_fmt(u, "/taskInstances/");
	url_id(u, task);
	if (map_index >= 0)
		url_fmt(u, "/%d", map_index);
}

/* A request whose 2xx body goes to sink (if set); see call(). */
static int call_to(struct airflow *a, const char *method, const struct url *u,
		   const char *accept, const char *body, size_t max,
		   http_sink sink, void *arg, struct http_resp *resp)
{
	int write = strcmp(method, "GET") != 0;
	char *msg = NULL;
	int err;

	if (u->bad) {
		log_msg(LOG_ERR, "%s: request path too long", method);
		memset(resp, 0, sizeof(*resp));
		return -ENAMETOOLONG;
	}
	__atomic_add_fetch(&a->counts[u->kind], 1, __ATOMIC_RELAXED);
	err = http_request_to(a->http, url_end(u), method, u->s, accept, body,
			      max, sink, arg, resp);
	if (err) {
		log_msg(LOG_ERR, "%s %s: %s", method, u->s, resp->error);
		return err;
	}
	err = http_status_errno(resp->status, write);
	if (!err ||
	    (u->kind == REQ_STATE && resp->status == a->api->same_state))
		return 0; /* the state it already has: done */
	if (resp->status != 404 || a->verbose || write) {
		json_error_message(resp->body, resp->len, &msg);
		log_msg(resp->status == 404 ? LOG_INFO : LOG_ERR,
			"%s %s: %ld %s", method, u->s, resp->status,
			msg ? msg : "");
		free(msg);
	}
	return -err;
}

/*
 * Sends one request. Returns 0 for a 2xx answer, else -errno after logging
 * (404s of reads only when verbose: a missing name is an answer, not a
 * fault). resp holds whatever came back either way; the caller frees it.
 */
static int exchange(struct airflow *a, const char *method, const struct url *u,
		    const char *accept, const char *body, size_t max,
		    struct http_resp *resp)
{
	return call_to(a, method, u, accept, body, max, NULL, NULL, resp);
}

/* What decoding a 2xx answer gave: a failure is logged as the server's. */
static int decoded(const struct url *u, int err)
{
	if (err && err != -ENOMEM)
		log_msg(LOG_ERR, "GET %s: unexpected answer", u->s);
	return err;
}

/*
 * GET of a JSON document, decoded by the caller on 0; -EIO (logged) for
 * one that json-c would take too much memory to decode.
 */
static int get(struct airflow *a, const struct url *u, size_t max,
	       struct http_resp *resp)
{
	int err = exchange(a, "GET", u, "application/json", NULL, max, resp);
	size_t cost;

	if (!err && resp->body &&
	    (cost = json_decode_cost(resp->body, resp->len)) > JSON_COST_MAX) {
		log_msg(LOG_ERR,
			"GET %s: an answer of %zu bytes that would take about "
			"%zu MB to decode (more than %zu)",
			u->s, resp->len, cost >> 20, JSON_COST_MAX >> 20);
		err = -EIO;
	}
	return err;
}

/* A page decoder appends what it found to ctx and says how many and of how
 * many in all. */
typedef int (*page_fn)(void *ctx, const char *body, size_t len, size_t *got,
		       long *total);

/* Pages fetched at once, once the first page told how many there are. */
#define PARALLEL_PAGES 8
/*
 * What one listing may take, whatever total_entries says: past either
 * bound it ends there (logged), short of the rest.
 */
#define LIST_ITEMS_MAX 100000
#define LIST_BYTES_MAX ((size_t)64 << 20) /* of answer bodies */

struct page_job {
	struct airflow *a;
	const struct url *u;
	long first, end; /* pages at first, first+PAGE, ... < end */
	long npages;
	struct http_resp *resp; /* one per page */
	int *err;
};

static long page_limit(const struct page_job *j, long i)
{
	long off = j->first + i * PAGE;

	return j->end - off < PAGE ? j->end - off : PAGE;
}

/* Fetches page i of a window (a part of pool_run). */
static void page_part(void *arg, long i)
{
	struct page_job *j = arg;
	struct url p = *j->u;

	url_fmt(&p, "limit=%ld&offset=%ld", page_limit(j, i),
		j->first + i * PAGE);
	j->err[i] = get(j->a, &p, MAX_PAGE_BODY, &j->resp[i]);
}

/*
 * Fetches the pages at offsets [first, end), at most PARALLEL_PAGES, at
 * once, and hands them to fn in order; says how many items and bytes they
 * held, and whether one came back short (the rest is then not taken).
 */
static int window(struct airflow *a, const struct url *u, long first, long end,
		  page_fn fn, void *ctx, long *got, long *total, size_t *bytes,
		  int *short_page)
{
	struct http_resp resp[PARALLEL_PAGES];
	int errs[PARALLEL_PAGES];
	struct page_job j = {
		.a = a,
		.u = u,
		.first = first,
		.end = end,
		.resp = resp,
		.err = errs,
	};
	int err = 0;

	j.npages = (end - first + PAGE - 1) / PAGE;
	if (j.npages > PARALLEL_PAGES)
		j.npages = PARALLEL_PAGES;
	memset(resp, 0, sizeof(resp));
	pool_run(a->pages, j.npages, page_part, &j);
	*got = 0;
	*bytes = 0;
	*short_page = 0;
	for (long i = 0; i < j.npages; i++) {
		size_t n = 0;

		if (!err && !*short_page)
			err = errs[i];
		if (!err && !*short_page) {
			struct url p = *u;

			err = fn(ctx, resp[i].body, resp[i].len, &n, total);
			if (err && err != -E2BIG) {
				url_fmt(&p, "limit=%ld&offset=%ld",
					page_limit(&j, i), first + i * PAGE);
				log_msg(LOG_ERR, "GET %s: unexpected answer",
					p.s);
			}
			*got += (long)n;
			*bytes += resp[i].len;
			*short_page = (long)n < page_limit(&j, i);
		}
		http_resp_free(&resp[i]);
	}
	return err;
}

/*
 * Pages through a list: u is the path with its query so far (ending in
 * '?' or '&'); at most max items (0: all). The first page says how many
 * there are; the next ones are then fetched PARALLEL_PAGES at a time, page
 * by page again after a short one, until a page brings nothing or the
 * total is reached. A listing ends at the call's deadline (-ETIMEDOUT) and,
 * cut short (*cut set when not NULL), at LIST_ITEMS_MAX items or
 * LIST_BYTES_MAX bytes: a server's total is not taken on trust.
 */
static int pages(struct airflow *a, const struct url *u, long max, page_fn fn,
		 void *ctx, int *cut)
{
	double deadline = url_end(u);
	long offset = 0, total = 0, k = 1, npages = 0;
	int capped = max <= 0 || max > LIST_ITEMS_MAX;
	size_t bytes = 0;

	if (deadline <= 0)
		deadline = mono_s() + a->timeout;
	if (capped)
		max = LIST_ITEMS_MAX;
	if (cut)
		*cut = 0;
	for (;;) {
		long end = offset == 0 || max < total ? max : total, got;
		size_t b;
		int err, short_page;

		if (offset > 0 && mono_s() >= deadline) {
			log_msg(LOG_ERR,
				"GET %s: listing stopped at the deadline after "
				"%ld pages (%ld of the %ld items announced)",
				u->s, npages, offset, total);
			return -ETIMEDOUT;
		}
		if (end > offset + k * PAGE)
			end = offset + k * PAGE;
		err = window(a, u, offset, end, fn, ctx, &got, &total, &b,
			     &short_page);
		if (err)
			return err;
		npages += (end - offset + PAGE - 1) / PAGE;
		offset += got;
		bytes += b;
		if (got == 0 || offset >= total || (offset >= max && !capped))
			return 0;
		if (offset >= max || bytes >= LIST_BYTES_MAX) {
			if (cut)
				*cut = 1;
			log_msg(LOG_WARNING,
				"GET %s: listing cut at %ld items (%zu bytes "
				"of "
				"answers), of the %ld the server announced",
				u->s, offset, bytes, total);
			return 0;
		}
		k = short_page ? 1 : PARALLEL_PAGES;
	}
}

/* Appends k elements of size sz to a growing array. */
static int append(void **v, size_t *n, size_t *cap, const void *el, size_t k,
		  size_t sz)
{
	if (k == 0)
		return 0;
	if (*n + k > *cap) {
		size_t c = *cap ? *cap : 16;
		void *nv;

		while (c < *n + k)
			c *= 2;
		nv = realloc(*v, c * sz);
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memcpy((char *)*v + *n * sz, el, k * sz);
	*n += k;
	return 0;
}

struct acc {
	void *v;
	size_t n, cap;
};

static int dags_page(void *ctx, const char *body, size_t len, size_t *got,
		     long *total)
{
	struct acc *acc = ctx;
	struct af_names page;
	int err = json_dags(body, len, &page, total);

	if (err)
		return err;
	*got = page.n;
	err = append(&acc->v, &acc->n, &acc->cap, page.v, page.n,
		     sizeof(char *));
	if (err)
		af_names_clear(&page);
	else
		free(page.v);
	return err;
}

int airflow_dags(struct airflow *a, const struct call *call,
		 struct af_names *out)
{
	struct acc acc = {0};
	struct url u = {.kind = REQ_DAGS, .call = call};
	int err;

	url_fmt(&u, "%s/dags?", a->api->base);
	err = pages(a, &u, 0, dags_page, &acc, NULL);
	out->v = acc.v;
	out->n = acc.n;
	if (err)
		af_names_clear(out);
	return err;
}

int airflow_dag(struct airflow *a, const struct call *call, const char *dag)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_DAG, .call = call};
	int err;

	url_fmt(&u, "%s/dags/", a->api->base);
	url_id(&u, dag);
	err = get(a, &u, MAX_ONE_BODY, &resp);
	http_resp_free(&resp);
	return err;
}

static int runs_page(void *ctx, const char *body, size_t len, size_t *got,
		     long *total)
{
	struct acc *acc = ctx;
	struct af_run *page;
	size_t n;
	int err = json_runs(body, len, &page, &n, total);

	if (err)
		return err;
	*got = n;
	err = append(&acc->v, &acc->n, &acc->cap, page, n, sizeof(*page));
	if (err)
		af_runs_free(&page, n);
	else
		free(page);
	return err;
}

int airflow_runs(struct airflow *a, const struct call *call, const char *dag,
		 long max, struct af_run **runs, size_t *n)
{
	struct acc acc = {0};
	struct url u = {.kind = REQ_RUNS, .call = call};
	int err;

	url_fmt(&u, "%s/dags/", a->api->base);
	url_id(&u, dag);
	url_fmt(&u, "/dagRuns?order_by=%s&", a->api->runs_order);
	err = pages(a, &u, max, runs_page, &acc, NULL);
	*runs = acc.v;
	*n = acc.n;
	if (err)
		af_runs_free(runs, *n);
	return err;
}

int airflow_run(struct airflow *a, const struct call *call, const char *dag,
		const char *run, struct af_run *out)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_RUN, .call = call};
	int err;

	url_run(&u, a, dag, run);
	err = get(a, &u, MAX_ONE_BODY, &resp);
	if (!err)
		err = decoded(&u, json_run(resp.body, resp.len, out));
	http_resp_free(&resp);
	return err;
}

struct ti_acc {
	struct acc acc;
	long total;
	long max; /* more announced: -E2BIG at the first page (0: any) */
};

static int tis_page(void *ctx, const char *body, size_t len, size_t *got,
		    long *total)
{
	struct ti_acc *t = ctx;
	struct af_ti *page;
	size_t n;
	int err = json_tis(body, len, &page, &n, total);

	if (err)
		return err;
	*got = n;
	t->total = *total;
	if (t->max > 0 && t->total > t->max) {
		af_tis_free(&page, n);
		return -E2BIG;
	}
	err = append(&t->acc.v, &t->acc.n, &t->acc.cap, page, n, sizeof(*page));
	if (err)
		af_tis_free(&page, n);
	else
		free(page);
	return err;
}

static int ti_cmp(const void *a, const void *b)
{
	return af_ti_where_cmp(a, b);
}

/* Sorts by (dag_id, run_id, task_id, map_index), drops repeated rows. */
static void ti_dedup(struct af_ti *v, size_t *n)
{
	size_t k = 0;

	if (*n < 2)
		return;
	qsort(v, *n, sizeof(*v), ti_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (k > 0 && ti_cmp(&v[k - 1], &v[i]) == 0) {
			af_ti_clear(&v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

/*
 * Lists task instances through pages of u. v1 pages have no stable order,
 * so a row can repeat or go missing between two pages: rows are keyed by
 * (task_id, map_index) and the list is fetched again while it comes out
 * short of total_entries (twice at most). More than max (0: any) announced
 * is -E2BIG after the first page.
 */
static int list_tis(struct airflow *a, const struct url *u, long max,
		    struct af_ti **tis, size_t *n)
{
	for (int round = 0;; round++) {
		struct ti_acc t = {.max = max};
		int cut, err = pages(a, u, 0, tis_page, &t, &cut);

		*tis = t.acc.v;
		*n = t.acc.n;
		if (err) {
			af_tis_free(tis, *n);
			return err;
		}
		ti_dedup(*tis, n);
		if ((long)*n >= t.total || round == 2 || cut)
			return 0;
		af_tis_free(tis, *n);
	}
}

int airflow_tis(struct airflow *a, const struct call *call, const char *dag,
		const char *run, struct af_ti **tis, size_t *n)
{
	struct url u = {.kind = REQ_TIS, .call = call};

	url_run(&u, a, dag, run);
	url_fmt(&u, "/taskInstances?");
	return list_tis(a, &u, 0, tis, n);
}

/* "2024-01-01T00:00:00Z", as the list filters take it. */
static int iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	return gmtime_r(&t, &tm) &&
			       strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm)
		       ? 0
		       : -EINVAL;
}

/* Whether the server's list of task instances takes updated_at_gte. */
static int filters_changed(struct airflow *a)
{
	int major = 0, minor = 0;

	if (__atomic_load_n(&a->no_changed, __ATOMIC_RELAXED))
		return 0;
	if (strcmp(a->api->name, "v1") == 0 && a->server_version &&
	    sscanf(a->server_version, "%d.%d", &major, &minor) == 2 &&
	    (major < 2 || (major == 2 && minor < 6))) {
		__atomic_store_n(&a->no_changed, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return 1;
}

int airflow_tis_changed(struct airflow *a, const struct call *call,
			const char *dag, const char *run, time_t since,
			long max, struct af_ti **tis, size_t *n)
{
	struct url u = {.kind = REQ_TIS_CHANGED, .call = call};
	char when[32];
	int err;

	*tis = NULL;
	*n = 0;
	if (!filters_changed(a))
		return -ENOTSUP;
	if (iso_time(since, when, sizeof(when)))
		return -EINVAL;
	url_run(&u, a, dag, run);
	url_fmt(&u, "/taskInstances?updated_at_gte=%s&", when);
	err = list_tis(a, &u, max, tis, n);
	if (err == -EINVAL) {
		__atomic_store_n(&a->no_changed, 1, __ATOMIC_RELAXED);
		log_msg(LOG_WARNING,
			"the server does not filter task instances on "
			"updated_at: runs are listed whole from now on");
		err = -ENOTSUP;
	}
	return err;
}

int airflow_by_state(struct airflow *a, const struct call *call,
		     const char *state, time_t since, struct af_ti **tis,
		     size_t *n)
{
	struct url u = {.kind = REQ_BY_STATE, .call = call};
	char when[32];

	if (iso_time(since, when, sizeof(when)))
		return -EINVAL;
	url_fmt(&u, "%s/dags/~/dagRuns/~/taskInstances?state=", a->api->base);
	url_id(&u, state);
	url_fmt(&u, "&updated_at_gte=%s&", when);
	return list_tis(a, &u, 0, tis, n);
}

int airflow_mapped(struct airflow *a, const struct call *call, const char *dag,
		   const char *run, const char *task, struct af_ti **tis,
		   size_t *n)
{
	struct url u = {.kind = REQ_MAPPED, .call = call};

	url_ti(&u, a, dag, run, task, -1);
	url_fmt(&u, "/listMapped?");
	return list_tis(a, &u, 0, tis, n);
}

int airflow_ti(struct airflow *a, const struct call *call, const char *dag,
	       const char *run, const char *task, int map_index,
	       struct af_ti *out)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_TI, .call = call};
	int err;

	url_ti(&u, a, dag, run, task, map_index);
	err = get(a, &u, MAX_ONE_BODY, &resp);
	if (!err) {
		err = decoded(&u, json_ti(resp.body, resp.len, out));
	} else if (err == -ENOENT && map_index < 0 && resp.body &&
		   strstr(resp.body, "Task instance is mapped")) {
		err = -EISDIR;
	}
	http_resp_free(&resp);
	return err;
}

int airflow_links(struct airflow *a, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index, char **text,
		  size_t *len)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_LINKS, .call = call};
	int err;

	url_ti(&u, a, dag, run, task, -1);
	url_fmt(&u, "/links");
	if (map_index >= 0)
		url_fmt(&u, "?map_index=%d", map_index);
	err = get(a, &u, MAX_ONE_BODY, &resp);
	if (!err)
		err = decoded(&u, json_links(resp.body, resp.len, text, len));
	http_resp_free(&resp);
	return err;
}

/*
 * A log answer streams into a decoder as it arrives, so http.c cannot try
 * it again once part of it was taken. When the connection breaks mid-body
 * it is fetched again here, within the retries and the call's deadline,
 * and what the decoder already handed on is skipped: the text of a log
 * only ever grows at its end.
 */
struct refetch {
	logstream_sink sink;
	void *arg;
	size_t done; /* bytes handed on, by every try */
	size_t seen; /* bytes this try decoded */
	size_t fed;  /* answer bytes this try took */
	int bad;     /* the decoder or the sink failed: no retry */
	const struct log_decoder *d;
	void *dec; /* this try's decoder */
};

static int refetch_take(void *arg, const char *text, size_t len)
{
	struct refetch *r = arg;
	size_t skip = r->done > r->seen ? r->done - r->seen : 0;
	int err;

	if (skip > len)
		skip = len;
	r->seen += len;
	if (skip == len)
		return 0;
	err = r->sink(r->arg, text + skip, len - skip);
	if (err)
		return err;
	r->done += len - skip;
	return 0;
}

static int feed(void *arg, const char *data, size_t len)
{
	struct refetch *r = arg;
	int err = r->d->feed(r->dec, data, len);

	r->fed += len;
	r->bad |= err != 0;
	return err;
}

/* Whether a try that ended in err is to be made again (after waiting). */
static int refetch_again(struct airflow *a, const struct url *u,
			 const struct refetch *r, int err,
			 const struct http_resp *resp, int try)
{
	/* only a broken connection (no status to go by) after part of the
	 * answer was taken: anything else was retried by http.c or is final */
	if (err != -EIO || resp->status || r->bad || r->fed == 0)
		return 0;
	return http_retry_wait(a->http, url_end(u), try) == 0;
}

/* A retry that came out shorter than what was handed on is no good. */
static int refetch_end(const struct refetch *r, const struct url *u)
{
	if (r->seen >= r->done)
		return 0;
	log_msg(LOG_ERR, "GET %s: the log came back shorter on a retry", u->s);
	return -EIO;
}

/* v1: Python-repr text streamed, resumed with continuation tokens. */
static void *v1_start(logstream_sink sink, void *arg)
{
	return logstream_new(sink, arg);
}

static int v1_feed(void *dec, const char *buf, size_t len)
{
	return logstream_feed(dec, buf, len);
}

static int v1_end(void *dec, char **next, int *end_of_log)
{
	long pos;
	int err = logstream_end(dec, next);

	if (!err && *next && logstream_token(*next, end_of_log, &pos))
		*end_of_log = -1;
	return err;
}

static void v1_stop(void *dec)
{
	struct logstream *ls = dec;

	logstream_free(&ls);
}

static const struct log_decoder v1_log = {
	v1_start,
	v1_feed,
	v1_end,
	v1_stop,
};

/*
 * v2: structured records, rendered as they stream in. Always the whole
 * log: from 3.0.4 on a token gives the whole log again anyway (NOTES.md),
 * so the caller keeps only what is new; no token is handed back.
 */
static void *v2_start(logstream_sink sink, void *arg)
{
	return records_new(sink, arg);
}

static int v2_feed(void *dec, const char *buf, size_t len)
{
	return records_feed(dec, buf, len);
}

static int v2_end(void *dec, char **next, int *end_of_log)
{
	int more = 0, err = records_end(dec, &more);

	*next = NULL;
	if (!err)
		*end_of_log = !more;
	return err;
}

static void v2_stop(void *dec)
{
	struct records *r = dec;

	records_free(&r);
}

static const struct log_decoder v2_log = {
	v2_start,
	v2_feed,
	v2_end,
	v2_stop,
};

/* Fetches a try's log at u through the API's decoder; see airflow_log. */
static int fetch_log(struct airflow *a, struct url *u, const char *token,
		     logstream_sink sink, void *arg, char **next,
		     int *end_of_log)
{
	struct refetch r = {.sink = sink, .arg = arg, .d = a->api->log};
	struct http_resp resp;
	int err;

	if (token) {
		url_fmt(u, "&token=");
		url_id(u, token);
	}
	for (int try = 0;; try++) {
		r.dec = r.d->start(refetch_take, &r);
		if (!r.dec)
			return -ENOMEM;
		r.seen = r.fed = 0;
		/* exactly JSON: to an Accept of any type, v1 answers
		 * text/plain */
		err = call_to(a, "GET", u, "application/json", NULL,
			      MAX_ONE_BODY, feed, &r, &resp);
		if (!err) {
			err = r.d->end(r.dec, next, end_of_log);
			if (err)
				log_msg(LOG_ERR, "GET %s: not a log answer",
					u->s);
			if (!err)
				err = refetch_end(&r, u);
			if (err) {
				free(*next);
				*next = NULL;
			}
		} else if (err == -EIO && token && resp.status == 400) {
			err = -ESTALE; /* the server cannot resume there */
		}
		r.d->stop(r.dec);
		if (!refetch_again(a, u, &r, err, &resp, try))
			break;
		http_resp_free(&resp);
	}
	http_resp_free(&resp);
	return err;
}

int airflow_log(struct airflow *a, const struct call *call, const char *dag,
		const char *run, const char *task, int map_index,
		int try_number, const char *token, logstream_sink sink,
		void *arg, char **next, int *end_of_log)
{
	struct url u = {.kind = REQ_LOG, .call = call};

	*next = NULL;
	*end_of_log = -1;
	url_ti(&u, a, dag, run, task, -1);
	url_fmt(&u, "/logs/%d?full_content=true", try_number);
	if (map_index >= 0)
		url_fmt(&u, "&map_index=%d", map_index);
	return fetch_log(a, &u, token, sink, arg, next, end_of_log);
}

/* A PATCH with a JSON body; the answer is left in resp on 0. */
static int patch(struct airflow *a, const struct url *u, const char *body,
		 struct http_resp *resp)
{
	return exchange(a, "PATCH", u, "application/json", body, MAX_ONE_BODY,
			resp);
}

int airflow_set_state(struct airflow *a, const struct call *call,
		      const char *dag, const char *run, const char *task,
		      int map_index, const char *state)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_STATE, .call = call};
	char *quoted, *body;
	int err = json_quote(state, strlen(state), &quoted);

	if (err)
		return err;
	err = asprintf(&body, "%s%s}", a->api->state_body, quoted) < 0 ? -ENOMEM
								       : 0;
	free(quoted);
	if (err)
		return err;
	url_ti(&u, a, dag, run, task, map_index);
	err = patch(a, &u, body, &resp);
	free(body);
	http_resp_free(&resp);
	return err;
}

int airflow_set_note(struct airflow *a, const struct call *call,
		     const char *dag, const char *run, const char *task,
		     int map_index, const char *note, size_t len,
		     struct af_ti *out)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_NOTE, .call = call};
	char *quoted, *body;
	int err = json_quote(note, len, &quoted);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	err = asprintf(&body, "{\"note\": %s}", quoted) < 0 ? -ENOMEM : 0;
	free(quoted);
	if (err)
		return err;
	url_ti(&u, a, dag, run, task, map_index);
	url_fmt(&u, "%s", a->api->note_path);
	err = patch(a, &u, body, &resp);
	/* the answer is the updated record; without one, the caller GETs */
	if (!err && json_patched_ti(resp.body, resp.len, out))
		memset(out, 0, sizeof(*out));
	free(body);
	http_resp_free(&resp);
	return err;
}

int airflow_get_dag(struct airflow *a, const struct call *call, const char *dag,
		    struct af_dag *out)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_DAG, .call = call};
	int err;

	url_fmt(&u, "%s/dags/", a->api->base);
	url_id(&u, dag);
	err = get(a, &u, MAX_ONE_BODY, &resp);
	if (!err)
		err = decoded(&u, json_dag(resp.body, resp.len, out));
	http_resp_free(&resp);
	return err;
}

/* A PATCH of a run with body; the updated record in *out, else zeroed. */
static int patch_run(struct airflow *a, struct url *u, const char *body,
		     struct af_run *out)
{
	struct http_resp resp;
	int err = patch(a, u, body, &resp);

	memset(out, 0, sizeof(*out));
	if (!err && json_run(resp.body, resp.len, out))
		memset(out, 0, sizeof(*out));
	http_resp_free(&resp);
	return err;
}

int airflow_set_run_state(struct airflow *a, const struct call *call,
			  const char *dag, const char *run, const char *state,
			  struct af_run *out)
{
	struct url u = {.kind = REQ_RUN_STATE, .call = call};
	char *quoted, *body;
	int err = json_quote(state, strlen(state), &quoted);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	err = asprintf(&body, "{\"state\": %s}", quoted) < 0 ? -ENOMEM : 0;
	free(quoted);
	if (err)
		return err;
	url_run(&u, a, dag, run);
	err = patch_run(a, &u, body, out);
	free(body);
	return err;
}

int airflow_set_run_note(struct airflow *a, const struct call *call,
			 const char *dag, const char *run, const char *note,
			 size_t len, struct af_run *out)
{
	struct url u = {.kind = REQ_RUN_NOTE, .call = call};
	char *quoted, *body;
	int err = json_quote(note, len, &quoted);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	err = asprintf(&body, "{\"note\": %s}", quoted) < 0 ? -ENOMEM : 0;
	free(quoted);
	if (err)
		return err;
	url_run(&u, a, dag, run);
	url_fmt(&u, "%s", a->api->run_note);
	err = patch_run(a, &u, body, out);
	free(body);
	return err;
}

int airflow_set_paused(struct airflow *a, const struct call *call,
		       const char *dag, int paused, struct af_dag *out)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_PAUSE, .call = call};
	int err;

	memset(out, 0, sizeof(*out));
	url_fmt(&u, "%s/dags/", a->api->base);
	url_id(&u, dag);
	url_fmt(&u, "%s", a->api->pause_query);
	err = patch(a, &u,
		    paused ? "{\"is_paused\": true}" : "{\"is_paused\": false}",
		    &resp);
	if (!err && json_dag(resp.body, resp.len, out))
		memset(out, 0, sizeof(*out));
	http_resp_free(&resp);
	return err;
}

int airflow_clear(struct airflow *a, const struct call *call, const char *dag,
		  const char *run, const char *task, int map_index,
		  struct af_ref **refs, size_t *n)
{
	struct http_resp resp;
	struct url u = {.kind = REQ_CLEAR, .call = call};
	char *qrun, *qtask, *body;
	char mi[16] = "";
	int err;

	*refs = NULL;
	*n = 0;
	err = json_quote(run, strlen(run), &qrun);
	if (err)
		return err;
	err = json_quote(task, strlen(task), &qtask);
	if (err) {
		free(qrun);
		return err;
	}
	if (map_index >= 0)
		snprintf(mi, sizeof(mi), ", %d]", map_index);
	/* dry_run and only_failed default to true: without them a server
	 * clears nothing, or only failed ones */
	err = asprintf(&body,
		       "{\"dry_run\": false, \"dag_run_id\": %s, "
		       "\"task_ids\": [%s%s%s], \"include_downstream\": true, "
		       "\"reset_dag_runs\": true, \"only_failed\": false}",
		       qrun, map_index >= 0 ? "[" : "", qtask, mi) < 0
		      ? -ENOMEM
		      : 0;
	free(qrun);
	free(qtask);
	if (err)
		return err;
	url_fmt(&u, "%s/dags/", a->api->base);
	url_id(&u, dag);
	url_fmt(&u, "/clearTaskInstances");
	err = exchange(a, "POST", &u, "application/json", body, MAX_PAGE_BODY,
		       &resp);
	free(body);
	/* the answer names what was cleared; without it, the caller
	 * forgets the whole run */
	if (!err && json_refs(resp.body, resp.len, refs, n)) {
		*refs = NULL;
		*n = 0;
	}
	http_resp_free(&resp);
	return err;
}

/* GET URL + path without credentials: the version probe. */
static int probe(struct airflow *a, const struct api *api, char **version,
		 char *err, size_t errlen)
{
	struct http_resp resp;
	struct url u = {0};
	int ret;

	url_fmt(&u, "%s/version", api->base);
	ret = http_request_anon(a->http, 0, "GET", u.s, "application/json",
				NULL, MAX_ONE_BODY, &resp);
	if (ret) {
		snprintf(err, errlen, "%s: %s", a->url, resp.error);
	} else if (resp.status == 200 &&
		   json_version(resp.body, resp.len, version) == 0) {
		ret = 0;
	} else if (resp.status == 200 || resp.status == 404) {
		snprintf(err, errlen,
			 "%s: not an Airflow API (GET %s answered "
			 "%ld%s)",
			 a->url, u.s, resp.status,
			 resp.status == 200 ? " without a version" : "");
		ret = -ENOENT;
	} else {
		snprintf(err, errlen, "%s: GET %s answered %ld", a->url, u.s,
			 resp.status);
		ret = -http_status_errno(resp.status, 0);
	}
	http_resp_free(&resp);
	return ret;
}

/* What a 401 means: with no credentials at all, say where they come from. */
#define NO_CREDENTIALS                                                         \
	"unauthorized: no credentials were given (AIRFLOW_USERNAME + "         \
	"AIRFLOW_PASSWORD or AIRFLOW_TOKEN in the environment, or -o "         \
	"token_file=PATH, -o token_command=CMD, -o kerberos, or -o "           \
	"username=NAME + -o password_file=PATH)"

/* One authenticated list call, to check the credentials. */
static int check_auth(struct airflow *a, int anonymous, char *err,
		      size_t errlen)
{
	struct http_resp resp;
	struct url u = {0};
	char *msg = NULL;
	int ret;

	if (a->kerberos) {
		char why[512];

		/* no ticket, or an expired one: say so, not just "401" */
		if ((ret = auth_kerberos_ticket(why, sizeof(why))) != 0) {
			snprintf(err, errlen, "%s: %s", a->url, why);
			return ret;
		}
	}
	url_fmt(&u, "%s/dags?limit=1", a->api->base);
	ret = http_request(a->http, 0, "GET", u.s, "application/json", NULL,
			   MAX_PAGE_BODY, &resp);
	if (ret) {
		snprintf(err, errlen, "%s: %s", a->url, resp.error);
	} else if (resp.status != 200) {
		json_error_message(resp.body, resp.len, &msg);
		snprintf(err, errlen, "%s: %ld %s%s%s", a->url, resp.status,
			 resp.status == 401 && anonymous ? NO_CREDENTIALS
			 : resp.status == 401 ? "unauthorized, check the "
						"credentials"
			 : resp.status == 403 ? "forbidden"
					      : "answer to the first list call",
			 msg ? ": " : "", msg ? msg : "");
		free(msg);
		ret = -http_status_errno(resp.status, 0);
	}
	http_resp_free(&resp);
	return ret;
}

int airflow_open(struct airflow **out, const struct config *cfg, char *err,
		 size_t errlen)
{
	struct auth_config ac = {
		.username = cfg->username,
		.password = cfg->password,
		.token = cfg->token,
		.token_file = cfg->token_file,
		.token_command = cfg->token_command,
		.kerberos = cfg->kerberos,
		.timeout = cfg->timeout,
	};
	struct http_config hc = {
		.url = cfg->url,
		.timeout = cfg->timeout,
		.retries = cfg->retries,
		.insecure = cfg->insecure,
		.cacert = cfg->cacert,
		.verbose = cfg->verbose,
		.auth = auth_header,
		.negotiate = cfg->kerberos,
	};
	struct airflow *a = calloc(1, sizeof(*a));
	int ret = -ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "%s: out of memory", cfg->url);
	if (!a || !(a->url = strdup(cfg->url)) ||
	    !(a->auth = hc.auth_arg = auth_new(&ac)) ||
	    !(a->http = http_new(&hc)) ||
	    !(a->pages = pool_new(PARALLEL_PAGES - 1)))
		goto fail;
	a->verbose = cfg->verbose;
	a->timeout = cfg->timeout;
	a->kerberos = cfg->kerberos;
	a->api = cfg->api == API_V1 ? &api_v1 : &api_v2;
	ret = probe(a, a->api, &a->server_version, err, errlen);
	/* an Airflow 3 server answers there; a 2.x one gives 404 */
	if (ret == -ENOENT && cfg->api == API_AUTO) {
		a->api = &api_v1;
		ret = probe(a, a->api, &a->server_version, err, errlen);
	}
	if (ret)
		goto fail;
	if (a->api->login)
		auth_login(a->auth, a->http, a->api->login);
	ret = check_auth(a,
			 !cfg->username && !cfg->password && !cfg->token &&
				 !cfg->token_file && !cfg->token_command &&
				 !cfg->kerberos,
			 err, errlen);
	if (ret)
		goto fail;
	*out = a;
	return 0;
fail:
	airflow_close(&a);
	return ret;
}

void airflow_close(struct airflow **ap)
{
	struct airflow *a = *ap;

	if (!a)
		return;
	pool_free(&a->pages);
	http_free(&a->http);
	auth_free(&a->auth);
	free(a->server_version);
	free(a->url);
	free(a);
	*ap = NULL;
}

const char *airflow_api_name(const struct airflow *a)
{
	return a->api->name;
}

const char *airflow_server_version(const struct airflow *a)
{
	return a->server_version;
}

time_t airflow_server_time(struct airflow *a)
{
	return http_server_time(a->http);
}

void airflow_stats(struct airflow *a, struct http_stats *st)
{
	http_get_stats(a->http, st);
	st->token_commands = auth_runs(a->auth);
}

size_t airflow_request_kinds(struct airflow *a, const char *const **names,
			     uint64_t *counts, size_t max)
{
	size_t i;

	for (i = 0; i < REQ_KINDS && i < max; i++)
		counts[i] = __atomic_load_n(&a->counts[i], __ATOMIC_RELAXED);
	*names = req_names;
	return i;
}

void airflow_reload_credentials(struct airflow *a, const char *password)
{
	auth_reload(a->auth, password);
}
