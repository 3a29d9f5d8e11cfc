// SPDX-License-Identifier: Apache-2.0
/*
 * libcurl wrapper; see http.h. Easy handles are kept in a pool so that
 * connections stay alive between calls; a share handle (with its locks)
 * lets all of them use one connection cache, DNS cache and TLS sessions.
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "log.h"

#define POOL_MAX 16

struct http {
	char *url, *cacert;
	double timeout;
	int retries, insecure, verbose, negotiate;
	http_auth_fn auth; /* the Authorization header, or NULL */
	void *auth_arg;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t lock; /* protects the fields below */
	CURL *pool[POOL_MAX];
	int npool;
	struct http_stats stats;
	long skew; /* the server's clock less ours, from Date (atomic) */
};

struct body_buf {
	char *data;
	size_t len, cap, max;
	int too_big;
	CURL *curl;
	http_sink sink; /* takes a 2xx answer's body, when set */
	void *arg;
	int status_seen; /* the status was read: */
	int to_sink;	 /* ... and it is a 2xx of the right type */
	int json;	 /* JSON was asked for */
	size_t streamed; /* bytes handed to the sink */
	int sink_err;
};

/*
 * curl's memory, wiped when it is given back: its request buffers hold the
 * Authorization header, its receive buffers the login answer. Freed blocks
 * would otherwise keep copies of them (a core held 81 of a token).
 */
static void wipe_free(void *p)
{
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *wipe_realloc(void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q;

	if (!p)
		return malloc(n);
	if (!n) {
		wipe_free(p);
		return NULL;
	}
	if (n <= old) { /* in place; the tail may become a free block */
		explicit_bzero((char *)p + n, old - n);
		return realloc(p, n);
	}
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	wipe_free(p);
	return q;
}

int http_global_init(void)
{
	/* the jitter of retries differs between daemons */
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free,
				    wipe_realloc, strdup, calloc) == CURLE_OK
		       ? 0
		       : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *p)
{
	struct http *h = p;

	pthread_mutex_lock(&h->share_locks[d]);
}

static void share_unlock(CURL *c, curl_lock_data d, void *p)
{
	struct http *h = p;

	pthread_mutex_unlock(&h->share_locks[d]);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct http *http_new(const struct http_config *cfg)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->url = strdup(cfg->url);
	h->cacert = dup_or_null(cfg->cacert);
	h->timeout = cfg->timeout;
	h->retries = cfg->retries;
	h->insecure = cfg->insecure;
	h->verbose = cfg->verbose;
	h->negotiate = cfg->negotiate;
	h->auth = cfg->auth;
	h->auth_arg = cfg->auth_arg;
	pthread_mutex_init(&h->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	h->share = curl_share_init();
	if (!h->url || !h->share) {
		http_free(&h);
		return NULL;
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return h;
}

void http_free(struct http **hp)
{
	struct http *h = *hp;

	if (!h)
		return;
	for (int i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->lock);
	free(h->url);
	free(h->cacert);
	free(h);
	*hp = NULL;
}

static CURL *handle_get(struct http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->npool > 0)
		c = h->pool[--h->npool];
	pthread_mutex_unlock(&h->lock);
	if (!c) {
		c = curl_easy_init();
		if (c)
			curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	}
	return c;
}

static void handle_put(struct http *h, CURL *c)
{
	pthread_mutex_lock(&h->lock);
	if (h->npool < POOL_MAX) {
		h->pool[h->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (c)
		curl_easy_cleanup(c);
}

/*
 * Whether an answer is of the type asked for: JSON (application/json,
 * application/problem+json, ...) when JSON was asked for, not a proxy's
 * HTML page. An answer without a Content-Type is given the benefit.
 */
static int type_ok(CURL *c, int json)
{
	char *type = NULL;

	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	return !json || !type || strcasestr(type, "json") != NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body_buf *b = arg;
	size_t len = size * n;

	if (b->sink && !b->status_seen) {
		long status = 0;

		curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
		b->status_seen = 1;
		b->to_sink = status >= 200 && status < 300 &&
			     type_ok(b->curl, b->json);
	}
	if (b->to_sink) {
		b->sink_err = b->sink(b->arg, p, len);
		if (b->sink_err)
			return 0;
		b->streamed += len;
		return len;
	}

	if (b->len + len > b->max) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + len + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* Seconds from a Retry-After header (delta-seconds form), or -1. */
static double retry_after(CURL *c)
{
	struct curl_header *hd;
	char *end;
	double v;

	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &hd) !=
	    CURLHE_OK)
		return -1;
	v = strtod(hd->value, &end);
	return end != hd->value && v >= 0 ? v : -1;
}

/* Keeps how far the server's clock (its Date header) is from ours. */
static void note_server_clock(struct http *h, CURL *c)
{
	struct curl_header *hd;
	time_t date;

	if (curl_easy_header(c, "Date", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return;
	date = curl_getdate(hd->value, NULL);
	if (date > 0)
		__atomic_store_n(&h->skew, (long)(date - time(NULL)),
				 __ATOMIC_RELAXED);
}

time_t http_server_time(struct http *h)
{
	return time(NULL) + __atomic_load_n(&h->skew, __ATOMIC_RELAXED);
}

static int retryable_status(long status, int write)
{
	/* a write is retried only where the server cannot have applied it */
	if (write)
		return status == 429 || status == 502 || status == 503 ||
		       status == 504;
	return status == 429 || status >= 500;
}

static void count(struct http *h, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&h->lock);
	*field += n;
	pthread_mutex_unlock(&h->lock);
}

/* One attempt. Returns 0 (answer in resp), or a CURLcode > 0. */
static CURLcode attempt(struct http *h, CURL *c, const char *method,
			const char *url, struct curl_slist *hdrs,
			const char *body, double left, struct body_buf *b,
			long *status, char *errbuf, int anon)
{
	int negotiate = !anon && h->negotiate;
	long ms = (long)(left * 1000);
	CURLcode rc;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "airflowfs/" AFS_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (negotiate) {
		/* SPNEGO with the ticket of the user's credential cache */
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
		curl_easy_setopt(c, CURLOPT_USERPWD, ":");
	}
	if (strcmp(method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (rc == CURLE_OK && negotiate) {
		/* answers before the last one: curl's Negotiate round trips */
		int n = 1;

		while (n < 16 && curl_easy_nextheader(c, CURLH_HEADER, n, NULL))
			n++;
		if (n > 1)
			count(h, &h->stats.auth_challenges, (uint64_t)n - 1);
	}
	return rc;
}

/* Says why an attempt failed, naming the system's cause (refused...). */
static void describe(CURL *c, CURLcode rc, char *buf, size_t size)
{
	long os_errno = 0;
	size_t n;

	if (!buf[0])
		snprintf(buf, size, "%s", curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	n = strlen(buf);
	if (os_errno && n < size)
		snprintf(buf + n, size - n, " (%s)", strerror((int)os_errno));
}

/*
 * The headers of a request: Accept, Content-Type for a body, and the
 * Authorization line auth when given.
 */
static struct curl_slist *make_headers(const char *accept, int has_body,
				       const char *auth)
{
	struct curl_slist *l = NULL, *n;
	char line[8192];

	snprintf(line, sizeof(line), "Accept: %s", accept);
	l = curl_slist_append(l, line);
	if (has_body && l) {
		n = curl_slist_append(l, "Content-Type: application/json");
		l = n ? n : (curl_slist_free_all(l), NULL);
	}
	if (auth && l) {
		n = curl_slist_append(l, auth);
		l = n ? n : (curl_slist_free_all(l), NULL);
	}
	return l;
}

static void wipe_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* The wait before retry number try + 1: exponential, with jitter. */
static double backoff(int try)
{
	double base = 0.2 * (1 << (try < 10 ? try : 10));

	return base / 2 + base / 2 * (rand() / (RAND_MAX + 1.0));
}

int http_request(struct http *h, double end, const char *method,
		 const char *path, const char *accept, const char *body,
		 size_t max, struct http_resp *resp)
{
	return http_request_to(h, end, method, path, accept, body, max, NULL,
			       NULL, resp);
}

#define MAX_REDIRECTS 5

/* scheme://host:port of a URL, lower-cased by curl; NULL if none */
static char *origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
		    CURLUE_OK &&
	    asprintf(&o, "%s://%s:%s", scheme, host, port) < 0)
		o = NULL;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

/*
 * Whether to follow the redirect answer of c: only to the origin of url
 * (credentials go nowhere else), a write only where it keeps its method
 * (307, 308). Sets *next to the new URL then; logs a refusal.
 */
static int follow(CURL *c, const char *method, long status, const char *url,
		  char **next, const char *path)
{
	int keeps = status == 307 || status == 308;
	char *to = NULL, *from, *there, *copy = NULL;
	int ok;

	if (!keeps && status != 301 && status != 302 && status != 303)
		return 0;
	curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &to);
	if (!to)
		return 0;
	from = origin(url);
	there = origin(to);
	ok = from && there && !strcmp(from, there) &&
	     (keeps || !strcmp(method, "GET"));
	if (ok)
		copy = strdup(to);
	else
		log_msg(LOG_ERR, "%s %s: %ld redirect to %s not followed%s",
			method, path, status, there ? there : "a bad URL",
			from && there && strcmp(from, there)
				? " (another origin)"
				: "");
	free(from);
	free(there);
	if (!copy)
		return 0;
	free(*next);
	*next = copy;
	return 1;
}

/*
 * One call with retries until deadline, with the Authorization line auth
 * when given; anon: no credentials at all (no SPNEGO either); see
 * http_request_to.
 */
static int request(struct http *h, const char *method, const char *path,
		   const char *accept, const char *body, size_t max,
		   http_sink sink, void *arg, double deadline, const char *auth,
		   int anon, struct http_resp *resp)
{
	int write = strcmp(method, "GET") != 0;
	struct curl_slist *hdrs = make_headers(accept, body != NULL, auth);
	size_t urllen = strlen(h->url) + strlen(path) + 1;
	char *url = malloc(urllen);
	CURL *c = handle_get(h);
	int ret = -EIO, redirects = 0;
	int json = strstr(accept, "json") != NULL;

	memset(resp, 0, sizeof(*resp));
	if (!url || !c || !hdrs) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(url, urllen, "%s%s", h->url, path);
	for (int try = 0;; try++) {
		struct body_buf b = {.max = max,
				     .curl = c,
				     .sink = sink,
				     .arg = arg,
				     .json = json};
		double t0 = mono_s(), wait;
		long status = 0;
		CURLcode rc;

		count(h, &h->stats.requests, 1);
		resp->error[0] = '\0';
		rc = attempt(h, c, method, url, hdrs, body, deadline - t0, &b,
			     &status, resp->error, anon);
		if (h->verbose)
			log_msg(LOG_INFO, "%s %s %ld %.0f ms", method, path,
				rc == CURLE_OK ? status : 0,
				(mono_s() - t0) * 1000);
		if (rc == CURLE_OK && redirects < MAX_REDIRECTS &&
		    follow(c, method, status, url, &url, path)) {
			free(b.data);
			redirects++;
			try--;
			continue;
		}
		if (rc == CURLE_OK && status / 100 == 2 && !type_ok(c, json)) {
			char *type = NULL;

			curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
			snprintf(resp->error, sizeof(resp->error),
				 "a %.64s answer, not JSON", type);
			free(b.data);
			ret = -EIO;
			break;
		}
		if (rc == CURLE_OK) {
			count(h, &h->stats.bytes, b.len);
			note_server_clock(h, c);
			if (!retryable_status(status, write) ||
			    try >= h->retries) {
				resp->status = status;
				resp->body = b.data ? b.data : strdup("");
				resp->len = b.len;
				ret = resp->body ? 0 : -ENOMEM;
				break;
			}
			wait = retry_after(c);
		} else {
			free(b.data);
			if (b.sink_err) {
				snprintf(resp->error, sizeof(resp->error),
					 "the answer could not be taken in: %s",
					 strerror(-b.sink_err));
				ret = b.sink_err;
				break;
			}
			if (b.too_big) {
				snprintf(resp->error, sizeof(resp->error),
					 "answer larger than %zu bytes", max);
				ret = -EIO;
				break;
			}
			describe(c, rc, resp->error, sizeof(resp->error));
			ret = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
							     : -EIO;
			/* a write may have reached the server, a sink may
			 * have taken part of the answer: no retry */
			if (try >= h->retries || b.streamed > 0 ||
			    (write && rc != CURLE_COULDNT_CONNECT &&
			     rc != CURLE_COULDNT_RESOLVE_HOST))
				break;
			wait = -1;
		}
		free(rc == CURLE_OK ? b.data : NULL);
		if (wait < 0)
			wait = backoff(try);
		if (mono_s() + wait >= deadline) {
			/* the last answer's status, or why there was none */
			size_t n = 0;

			if (rc == CURLE_OK)
				n = (size_t)snprintf(resp->error,
						     sizeof(resp->error), "%ld",
						     status);
			else
				n = strlen(resp->error);
			if (n < sizeof(resp->error))
				snprintf(resp->error + n,
					 sizeof(resp->error) - n,
					 "%sno time left within %g s to try "
					 "again",
					 n ? "; " : "", h->timeout);
			ret = -ETIMEDOUT;
			break;
		}
		count(h, &h->stats.retries, 1);
		sleep_s(wait);
	}
out:
	wipe_headers(hdrs);
	free(url);
	if (c)
		handle_put(h, c);
	return ret;
}

/* The end of a request that starts now: the timeout, or the call's end. */
static double call_end(struct http *h, double end)
{
	double deadline = mono_s() + h->timeout;

	return end > 0 && end < deadline ? end : deadline;
}

static void wipe(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* The Authorization line of a request, from h->auth; see http_auth_fn. */
static int credentials(struct http *h, const char *refused, double deadline,
		       char **line, struct http_resp *resp)
{
	*line = NULL;
	memset(resp, 0, sizeof(*resp));
	return h->auth ? h->auth(h->auth_arg, refused, deadline, line, resp)
		       : 0;
}

int http_request_to(struct http *h, double end, const char *method,
		    const char *path, const char *accept, const char *body,
		    size_t max, http_sink sink, void *arg,
		    struct http_resp *resp)
{
	double deadline = call_end(h, end);
	char *line = NULL, *again = NULL;
	struct http_resp r2;
	int ret;

	ret = credentials(h, NULL, deadline, &line, resp);
	if (ret || resp->status)
		goto out;
	ret = request(h, method, path, accept, body, max, sink, arg, deadline,
		      line, 0, resp);
	if (ret || (resp->status != 401 && resp->status != 403))
		goto out;
	/* a JWT that expired or lost its key, a token file replaced: a
	 * fresh credential, and the call sent once more with it */
	ret = credentials(h, line ? line : "", deadline, &again, &r2);
	if (!ret && r2.status) {
		http_resp_free(resp);
		*resp = r2;
	} else if (ret) {
		memcpy(resp->error, r2.error, sizeof(resp->error));
	} else if (again && (!line || strcmp(again, line) != 0)) {
		http_resp_free(resp);
		ret = request(h, method, path, accept, body, max, sink, arg,
			      deadline, again, 0, resp);
	}
out:
	wipe(&line);
	wipe(&again);
	if (ret < 0)
		count(h, &h->stats.errors, 1);
	return ret;
}

int http_request_anon(struct http *h, double end, const char *method,
		      const char *path, const char *accept, const char *body,
		      size_t max, struct http_resp *resp)
{
	return request(h, method, path, accept, body, max, NULL, NULL,
		       call_end(h, end), NULL, 1, resp);
}

int http_retry_wait(struct http *h, double end, int try)
{
	double deadline = call_end(h, end), wait = backoff(try);

	if (try >= h->retries || mono_s() + wait >= deadline)
		return -ETIMEDOUT;
	count(h, &h->stats.retries, 1);
	sleep_s(wait);
	return 0;
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int http_status_errno(long status, int write)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404:
		return ENOENT;
	case 401:
	case 403:
		return EACCES;
	case 400:
	case 422:
		return write ? EINVAL : EIO;
	default:
		return EIO;
	}
}

void http_get_stats(struct http *h, struct http_stats *st)
{
	pthread_mutex_lock(&h->lock);
	*st = h->stats;
	pthread_mutex_unlock(&h->lock);
}
