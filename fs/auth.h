/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every credential of a request: HTTP Basic (username and password), a
 * Bearer token (given, or read from a token file when it changes), the
 * bearer token a command prints (-o token_command, as Google Cloud
 * Composer's `gcloud auth print-access-token`), the JWT a username and
 * password buy from an API v2 server (POST /auth/token, renewed before its
 * exp), and the Kerberos ticket of the user's credential cache (-o
 * kerberos; the SPNEGO exchange itself is libcurl's, in http.c). http.c
 * asks auth_header for the Authorization header of each request. No curl
 * and no FUSE here. Secrets are never logged; the command string may be.
 */
#ifndef AFS_AUTH_H
#define AFS_AUTH_H

#include <stddef.h>

#include "http.h"

struct auth_config {
	const char *username; /* HTTP Basic with password, or a login */
	const char *password;
	const char *token;	/* Bearer, or ... */
	const char *token_file; /* ... Bearer re-read when the file changes */
	const char *token_command; /* ... Bearer printed by it, /bin/sh -c */
	int kerberos;
	double timeout; /* bound on one run of the command, seconds */
};

struct auth;

/*
 * Copies what cfg points to, and the environment the command will run
 * with (the daemon's, without the credential variables). NULL on failure.
 */
struct auth *auth_new(const struct auth_config *cfg);
/* Wipes the secrets held; NULL and *a == NULL are fine. */
void auth_free(struct auth **a);

/*
 * From now on the username and password (if any) buy a JWT with POST path
 * (no credentials) through h instead of going as HTTP Basic (API v2). The
 * JWT is bought again shortly before its exp, and once after a refusal.
 */
void auth_login(struct auth *a, struct http *h, const char *path);

/*
 * An http_auth_fn (http.h), arg a struct auth. A token that is made (by
 * token_command, by the login) is made again when none is held, when the
 * one held is the refused one, or shortly before a JWT's exp. One making
 * at a time, without a lock held: a caller that finds one under way waits
 * for its result until deadline (CLOCK_MONOTONIC seconds), then gives
 * -ETIMEDOUT. A command ends by deadline or the timeout, whichever comes
 * first; when it fails (exit status, signal, no token, killed): -EACCES,
 * resp->error with its stderr's last line, never its stdout. A refused
 * login: its answer in resp. After a refusal under -o kerberos, a missing
 * or expired ticket is logged (at most once a minute).
 */
int auth_header(void *a, const char *refused, double deadline, char **header,
		struct http_resp *resp);

/* Runs of token_command that ended so far; 0 for NULL. */
unsigned long long auth_runs(struct auth *a);

/*
 * After SIGHUP: password (when not NULL) replaces the one given to
 * auth_new; the token made is dropped (the next request runs the command
 * or logs in again) and the token file is read again, changed or not.
 */
void auth_reload(struct auth *a, const char *password);

/*
 * Whether the user's credential cache (KRB5CCNAME, or the default one)
 * holds a Kerberos ticket that has not expired: 0, or -EACCES with err
 * naming the cause (no ticket, expired) and the cache.
 */
int auth_kerberos_ticket(char *err, size_t errlen);

#endif
