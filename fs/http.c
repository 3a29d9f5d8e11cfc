// SPDX-License-Identifier: Apache-2.0
/*
 * libcurl wrapper; see http.h. Easy handles are kept in a pool so that
 * connections stay alive between calls; a share handle (with its locks)
 * lets all of them use one connection cache, DNS cache and TLS sessions.
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "log.h"

#define POOL_MAX 16

struct http {
	char *url, *cacert, *username, *token, *token_file;
	char *password; /* protected by lock and login_lock (both to change) */
	double timeout;
	int retries, insecure, verbose;
	struct auth *auth; /* token_command, Kerberos; or NULL */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t lock; /* protects the fields below */
	CURL *pool[POOL_MAX];
	int npool;
	char *file_token;	    /* token_file's content */
	int jwt_login;		    /* username and password buy a JWT (v2) */
	char *jwt;		    /* the JWT bought, or NULL */
	double jwt_renew;	    /* when to buy the next one (wall clock) */
	pthread_mutex_t login_lock; /* one login at a time */
	struct timespec token_mtime;
	ino_t token_ino;
	off_t token_size;
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
	h->username = dup_or_null(cfg->username);
	h->password = dup_or_null(cfg->password);
	/* with a file, its content is read again (file_token): one copy */
	h->token = cfg->token_file ? NULL : dup_or_null(cfg->token);
	h->token_file = dup_or_null(cfg->token_file);
	h->timeout = cfg->timeout;
	h->retries = cfg->retries;
	h->insecure = cfg->insecure;
	h->verbose = cfg->verbose;
	if (cfg->token_command || cfg->kerberos) {
		struct auth_config ac = {.token_command = cfg->token_command,
					 .kerberos = cfg->kerberos,
					 .timeout = cfg->timeout};

		h->auth = auth_new(&ac);
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->login_lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	h->share = curl_share_init();
	if (!h->url || !h->share ||
	    ((cfg->token_command || cfg->kerberos) && !h->auth)) {
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
	pthread_mutex_destroy(&h->login_lock);
	config_wipe(&h->password);
	config_wipe(&h->jwt);
	config_wipe(&h->token);
	config_wipe(&h->file_token);
	auth_free(&h->auth);
	free(h->url);
	free(h->cacert);
	free(h->username);
	free(h->token_file);
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

/* Reads the token file again when it changed; returns a copy or NULL. */
static char *current_token(struct http *h)
{
	char *tok = NULL;
	struct stat st;

	if (!h->token_file)
		return dup_or_null(h->token);
	pthread_mutex_lock(&h->lock);
	if (stat(h->token_file, &st) == 0 &&
	    (!h->file_token || st.st_ino != h->token_ino ||
	     st.st_size != h->token_size ||
	     st.st_mtim.tv_sec != h->token_mtime.tv_sec ||
	     st.st_mtim.tv_nsec != h->token_mtime.tv_nsec)) {
		char err[256], *fresh;

		if (config_read_secret(h->token_file, &fresh, err,
				       sizeof(err)) == 0) {
			config_wipe(&h->file_token);
			h->file_token = fresh;
			h->token_ino = st.st_ino;
			h->token_size = st.st_size;
			h->token_mtime = st.st_mtim;
		} else {
			log_msg(LOG_WARNING, "%s", err);
		}
	}
	tok = dup_or_null(h->file_token);
	pthread_mutex_unlock(&h->lock);
	return tok;
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
	int negotiate = !anon && auth_kerberos(h->auth);
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
		if (*status == 401)
			auth_kerberos_refused(h->auth);
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
 * a, b and c in one string malloc'd at its size, or NULL: unlike asprintf,
 * which grows its buffer with realloc and leaves the copies it outgrew in
 * freed memory (a secret passes here).
 */
static char *concat(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *s = malloc(na + nb + nc + 1);

	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb);
		memcpy(s + na + nb, c, nc + 1);
	}
	return s;
}

/* Standard base64 of n bytes into out (4 * ((n + 2) / 3) + 1 bytes). */
static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = in[i] << 16;

		if (i + 1 < n)
			v |= in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * "Authorization: Basic ..." of the username and password (v1), built
 * here rather than by curl so that the only copies are ours, wiped after
 * the request; NULL without them or without memory. Caller wipes it.
 */
static char *basic_line(struct http *h)
{
	char *pair = NULL, *line = NULL;
	size_t n = 0;

	pthread_mutex_lock(&h->lock); /* the password may be replaced */
	if (h->username && h->password && !h->jwt_login &&
	    (pair = concat(h->username, ":", h->password)))
		n = strlen(pair);
	pthread_mutex_unlock(&h->lock);
	if (!pair)
		return NULL;
	line = malloc(sizeof("Authorization: Basic ") + 4 * ((n + 2) / 3));
	if (line) {
		strcpy(line, "Authorization: Basic ");
		b64_encode((unsigned char *)pair, n, line + strlen(line));
	}
	explicit_bzero(pair, n);
	free(pair);
	return line;
}

/*
 * The headers of a request: Accept, Content-Type for a body, and the
 * credentials: Bearer tok when given, else HTTP Basic unless anon.
 */
static struct curl_slist *make_headers(struct http *h, const char *accept,
				       int has_body, const char *tok, int anon)
{
	struct curl_slist *l = NULL, *n;
	char line[8192], *auth = NULL;

	snprintf(line, sizeof(line), "Accept: %s", accept);
	l = curl_slist_append(l, line);
	if (has_body && l) {
		n = curl_slist_append(l, "Content-Type: application/json");
		l = n ? n : (curl_slist_free_all(l), NULL);
	}
	if (tok)
		auth = concat("Authorization: Bearer ", tok, "");
	else if (!anon)
		auth = basic_line(h);
	if (auth && l) {
		n = curl_slist_append(l, auth);
		l = n ? n : (curl_slist_free_all(l), NULL);
	}
	config_wipe(&auth);
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

int http_request(struct http *h, const char *method, const char *path,
		 const char *accept, const char *body, size_t max,
		 struct http_resp *resp)
{
	return http_request_to(h, method, path, accept, body, max, NULL, NULL,
			       resp);
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
 * One call with retries until deadline, with the Bearer token tok, or
 * else HTTP Basic unless anon; see http_request_to.
 */
static int request(struct http *h, const char *method, const char *path,
		   const char *accept, const char *body, size_t max,
		   http_sink sink, void *arg, double deadline, const char *tok,
		   int anon, struct http_resp *resp)
{
	int write = strcmp(method, "GET") != 0;
	struct curl_slist *hdrs =
		make_headers(h, accept, body != NULL, tok, anon);
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

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Buys a JWT with the username and password (POST URL/auth/token), unless
 * the one held is still good and not the stale one a 401 came with. On a
 * refusal, resp holds the server's answer for the caller to return as its
 * own; 0 with *tok set otherwise.
 */
static int jwt_get(struct http *h, const char *stale, double deadline,
		   char **tok, struct http_resp *resp)
{
	char *user = NULL, *pass = NULL, *body = NULL, *fresh = NULL;
	int64_t iat = 0, exp = 0;
	int ret = 0;

	*tok = NULL;
	memset(resp, 0, sizeof(*resp));
	pthread_mutex_lock(&h->login_lock);
	if (h->jwt && wall_s() < h->jwt_renew &&
	    (!stale || strcmp(stale, h->jwt) != 0))
		goto done;
	/* malloc'd at its size: asprintf would leave outgrown copies */
	if (json_quote(h->username, strlen(h->username), &user) ||
	    json_quote(h->password, strlen(h->password), &pass) ||
	    !(body = malloc(strlen(user) + strlen(pass) +
			    sizeof("{\"username\": , \"password\": }")))) {
		ret = -ENOMEM;
		goto done;
	}
	sprintf(body, "{\"username\": %s, \"password\": %s}", user, pass);
	ret = request(h, "POST", "/auth/token", "application/json", body,
		      (size_t)1 << 20, NULL, NULL, deadline, NULL, 1, resp);
	if (ret || resp->status / 100 != 2)
		goto done;
	if (json_access_token(resp->body, resp->len, &fresh)) {
		/* not a login answer: say so as the server's fault */
		resp->status = 502;
		goto done;
	}
	explicit_bzero(resp->body, resp->len); /* it holds the token */
	http_resp_free(resp);
	config_wipe(&h->jwt);
	h->jwt = fresh;
	h->jwt_renew = INFINITY; /* without exp: only after a 401 */
	if (json_jwt_times(fresh, &iat, &exp) == 0) {
		double life = iat && exp > iat ? (double)(exp - iat) : 3600;

		h->jwt_renew = (double)exp - (life / 4 < 60 ? life / 4 : 60);
	}
done:
	if (!ret && !resp->status && h->jwt && !(*tok = strdup(h->jwt)))
		ret = -ENOMEM;
	pthread_mutex_unlock(&h->login_lock);
	config_wipe(&user);
	config_wipe(&pass);
	config_wipe(&body);
	return ret;
}

/* The Bearer token for the next request, or NULL; see jwt_get. */
static int bearer(struct http *h, const char *stale, double deadline,
		  char **tok, struct http_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (h->jwt_login)
		return jwt_get(h, stale, deadline, tok, resp);
	if (auth_has_command(h->auth)) {
		return auth_token(h->auth, stale, deadline, tok, resp->error,
				  sizeof(resp->error));
	}
	*tok = current_token(h);
	return 0;
}

/* the end of the system call this thread serves, 0 when none */
static __thread double call_deadline;

void http_call_begin(double timeout)
{
	call_deadline = mono_s() + timeout;
}

double http_call_deadline(void)
{
	return call_deadline;
}

void http_call_join(double deadline)
{
	call_deadline = deadline;
}

int http_request_to(struct http *h, const char *method, const char *path,
		    const char *accept, const char *body, size_t max,
		    http_sink sink, void *arg, struct http_resp *resp)
{
	double deadline = mono_s() + h->timeout;

	if (call_deadline > 0 && call_deadline < deadline)
		deadline = call_deadline;
	char *tok = NULL;
	int ret, sent = 0;

	ret = bearer(h, NULL, deadline, &tok, resp);
	if (!ret && !resp->status) {
		ret = request(h, method, path, accept, body, max, sink, arg,
			      deadline, tok, 0, resp);
		sent = 1;
	}
	/* a JWT that expired or lost its key, a token file replaced: the
	 * token is bought or read again, and the call sent once more */
	if (!ret && sent && (resp->status == 401 || resp->status == 403) &&
	    (h->jwt_login || h->token_file || auth_has_command(h->auth))) {
		char *again = NULL;
		struct http_resp r2;

		ret = bearer(h, tok, deadline, &again, &r2);
		if (!ret && !r2.status && again &&
		    (!tok || strcmp(again, tok) != 0)) {
			http_resp_free(resp);
			ret = request(h, method, path, accept, body, max, sink,
				      arg, deadline, again, 0, resp);
		} else if (!ret && r2.status) {
			http_resp_free(resp);
			*resp = r2;
		} else if (ret) {
			memcpy(resp->error, r2.error, sizeof(resp->error));
		}
		config_wipe(&again);
	}
	config_wipe(&tok);
	if (ret < 0)
		count(h, &h->stats.errors, 1);
	return ret;
}

int http_request_anon(struct http *h, const char *path, const char *accept,
		      size_t max, struct http_resp *resp)
{
	double deadline = mono_s() + h->timeout;

	if (call_deadline > 0 && call_deadline < deadline)
		deadline = call_deadline;
	return request(h, "GET", path, accept, NULL, max, NULL, NULL, deadline,
		       NULL, 1, resp);
}

int http_retry_wait(struct http *h, int try)
{
	double deadline = mono_s() + h->timeout, wait = backoff(try);

	if (call_deadline > 0 && call_deadline < deadline)
		deadline = call_deadline;
	if (try >= h->retries || mono_s() + wait >= deadline)
		return -ETIMEDOUT;
	count(h, &h->stats.retries, 1);
	sleep_s(wait);
	return 0;
}

void http_use_jwt(struct http *h)
{
	h->jwt_login = h->username && h->password;
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
	st->token_commands = auth_runs(h->auth);
}

void http_reload_credentials(struct http *h, const char *password)
{
	char *fresh = password ? strdup(password) : NULL;

	pthread_mutex_lock(&h->login_lock);
	pthread_mutex_lock(&h->lock);
	if (fresh) {
		config_wipe(&h->password);
		h->password = fresh;
	}
	/* the next request logs in again, or reads the token file again */
	config_wipe(&h->jwt);
	h->token_size = -1;
	auth_reload(h->auth); /* token_command runs again */
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&h->login_lock);
}
