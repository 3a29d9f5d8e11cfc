/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials that are made, not stored: the bearer token a command prints
 * (-o token_command, as Google Cloud Composer's `gcloud auth
 * print-access-token`) and the Kerberos ticket of the user's credential
 * cache (-o kerberos; the SPNEGO exchange itself is libcurl's, in http.c).
 * No curl and no FUSE here; http.c asks this module for the token of each
 * request. Tokens are never logged; the command string may be.
 */
#ifndef AFS_AUTH_H
#define AFS_AUTH_H

#include <stddef.h>

struct auth_config {
	const char *token_command; /* run by /bin/sh -c, or NULL */
	int kerberos;
	double timeout; /* bound on one run of the command, seconds */
};

struct auth;

/*
 * Copies what cfg points to, and the environment the command will run
 * with (the daemon's, without the credential variables). NULL on failure.
 */
struct auth *auth_new(const struct auth_config *cfg);
/* Wipes the token held; NULL and *a == NULL are fine. */
void auth_free(struct auth **a);

int auth_has_command(const struct auth *a);
/* Runs of the command that ended so far; 0 for NULL. */
unsigned long long auth_runs(struct auth *a);
int auth_kerberos(const struct auth *a);

/*
 * The token for the next request, in *tok (malloc'd; wipe it with
 * config_wipe). The command is run when no token is held, when the one
 * held is stale (a refused request carried it: pass it as stale, else
 * NULL) or, for a JWT, shortly before its exp. One run at a time: a caller
 * that finds a run under way waits for its result until deadline (a
 * CLOCK_MONOTONIC time in seconds) and does not run the command again.
 * The run itself ends by deadline or timeout, whichever comes first.
 * Returns 0; -EACCES when the command failed (exit status, signal, no
 * token printed, killed at the end of its time; err then has its stderr's
 * last line, never its stdout: the caller logs it); -ETIMEDOUT when the
 * deadline passed while waiting for another caller's run; -ENOMEM. err says
 * why, for the caller's own message.
 */
int auth_token(struct auth *a, const char *stale, double deadline, char **tok,
	       char *err, size_t errlen);

/* After SIGHUP: the token held is dropped; the next request runs again. */
void auth_reload(struct auth *a);

/*
 * Whether the user's credential cache (KRB5CCNAME, or the default one)
 * holds a Kerberos ticket that has not expired: 0, or -EACCES with err
 * naming the cause (no ticket, expired) and the cache.
 */
int auth_kerberos_ticket(char *err, size_t errlen);

/*
 * After a request refused under -o kerberos: logs why when the ticket is
 * missing or expired (at most once a minute).
 */
void auth_kerberos_refused(struct auth *a);

#endif
