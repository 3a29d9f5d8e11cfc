/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP for the Airflow client, over libcurl: a pool of reusable handles
 * sharing connections, DNS and TLS sessions; a deadline per call with
 * retries (exponential backoff with jitter, Retry-After) for network
 * errors, 429 and 5xx; capped answer bodies; the Authorization header a
 * callback gives (auth.h holds the credentials). curl only here.
 */
#ifndef AFS_HTTP_H
#define AFS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct http_resp {
	long status;
	char *body; /* NUL-terminated, len bytes */
	size_t len;
	char error[256]; /* why there is no answer, when there is none */
};

/*
 * The credentials of a request: sets *header to an "Authorization: ..."
 * line (malloc'd; http.c wipes and frees it) or NULL for none. refused is
 * NULL for the first request of a call; after a 401 or 403, the header
 * that request carried ("" for none): a fresh credential is wanted, and
 * the request is sent once more when *header differs from it. Returns 0;
 * 0 with resp->status set when a server refused to give credentials (its
 * answer is then the call's own); -errno with resp->error saying why.
 * deadline is the call's (CLOCK_MONOTONIC seconds).
 */
typedef int (*http_auth_fn)(void *arg, const char *refused, double deadline,
			    char **header, struct http_resp *resp);

struct http_config {
	const char *url; /* server root: scheme://host[:port][/prefix] */
	double timeout;	 /* seconds for one call, retries included */
	int retries;
	int insecure;
	const char *cacert;
	int verbose;	   /* one log line per request */
	http_auth_fn auth; /* NULL: no credentials */
	void *auth_arg;
	int negotiate; /* SPNEGO (Kerberos) by curl, with the user's ticket */
};

struct http_stats {
	uint64_t requests, retries, errors, bytes;
	uint64_t auth_challenges; /* 401s answered by curl within a request */
	uint64_t token_commands;  /* runs of token_command (airflow_stats) */
};

/* Once per process, before any thread starts; 0 or -1. */
int http_global_init(void);
void http_global_cleanup(void);

/* Copies what cfg points to. NULL on failure. */
struct http *http_new(const struct http_config *cfg);
void http_free(struct http **h);

/*
 * One call, ending by end (CLOCK_MONOTONIC seconds: the system call's
 * deadline, from struct call; 0: none) or after the timeout, whichever
 * comes first: method on url + path (path starts with '/', query included),
 * with an Accept header, an optional JSON body and the Authorization line
 * of cfg->auth (after a 401 or 403, sent once more with a fresh one when
 * there is one; its failure is the call's); the answer may hold at most
 * max bytes. Returns 0 when the server answered (any status; 429 and
 * 5xx only once retries are spent or for a write that may have been
 * applied), -ETIMEDOUT when the deadline passed, -EIO on other network
 * failures, -ENOMEM; then resp->error says why. Nothing is logged here
 * but the verbose request lines: the caller knows what was asked. Free
 * resp with http_resp_free either way.
 */
int http_request(struct http *h, double end, const char *method,
		 const char *path, const char *accept, const char *body,
		 size_t max, struct http_resp *resp);
void http_resp_free(struct http_resp *r);

/*
 * Like http_request, but without credentials at all: the version probe (it
 * goes to a server not yet known to be ours) and the login (auth.c).
 */
int http_request_anon(struct http *h, double end, const char *method,
		      const char *path, const char *accept, const char *body,
		      size_t max, struct http_resp *resp);

/*
 * Now on the server's clock: ours moved by the difference seen in the Date
 * header of its last answer (none yet: ours).
 */
time_t http_server_time(struct http *h);

/* Takes the body of a 2xx answer as it arrives; 0 or -errno to stop. */
typedef int (*http_sink)(void *arg, const char *data, size_t len);
/*
 * Like http_request, but the body of a 2xx answer goes to sink (not bound
 * by max) instead of resp->body, which then holds only the body of other
 * answers. Once the sink has had bytes, a failure is not retried. A
 * sink's error is returned as it is.
 */
int http_request_to(struct http *h, double end, const char *method,
		    const char *path, const char *accept, const char *body,
		    size_t max, http_sink sink, void *arg,
		    struct http_resp *resp);

/*
 * Before the caller's own retry number try + 1 (try from 0) of a request
 * that http_request_to could not retry (a body partly taken by its sink):
 * waits as between http_request's retries and returns 0, or returns
 * -ETIMEDOUT at once when the retries are spent or the wait would end past
 * the deadline.
 */
int http_retry_wait(struct http *h, double end, int try);

/*
 * The errno for an HTTP status: 0 for 2xx; ENOENT 404; EACCES 401/403;
 * EINVAL 400/422 on a write (EIO on a read); EIO otherwise.
 */
int http_status_errno(long status, int write);

void http_get_stats(struct http *h, struct http_stats *st);

#endif
