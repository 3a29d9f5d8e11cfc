// SPDX-License-Identifier: Apache-2.0
/*
 * token_command and Kerberos (see auth.h). The command runs through
 * posix_spawn (no fork of the multi-threaded daemon's memory) in a session
 * of its own (no controlling terminal), stdin /dev/null, no descriptor of
 * ours but its pipes, the signals it would get from a shell restored, and
 * an environment without credential variables. Kerberos tickets are
 * looked at through GSS-API only to say what is wrong with them; libcurl
 * does the SPNEGO exchange.
 */
#include <errno.h>
#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "json.h"
#include "log.h"

extern char **environ;

#define OUT_MAX	 (64 * 1024) /* of the command's stdout */
#define ERR_KEEP 1024	     /* the tail of its stderr that is kept */

/* Variables that hold credentials: not handed to the command. */
static const char *const secret_vars[] = {"AIRFLOW_PASSWORD", "AIRFLOW_TOKEN",
					  "AIRFLOW_USERNAME"};

struct auth {
	char *command;
	int kerberos;
	double timeout;
	char **env; /* the command's environment, NULL-terminated */

	pthread_mutex_t lock; /* protects the fields below */
	pthread_cond_t done;  /* a run ended (CLOCK_MONOTONIC waits) */
	char *token;	      /* the last good token, or NULL */
	double renew;	      /* wall-clock time to run again (JWT exp) */
	int running;
	uint64_t runs;		/* runs ended */
	int last_err;		/* of the last run: 0 or -errno */
	char last_msg[512];	/* ... and why */
	double kerberos_logged; /* when a bad ticket was last logged */
};

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int secret_var(const char *entry)
{
	for (size_t i = 0; i < sizeof(secret_vars) / sizeof(*secret_vars);
	     i++) {
		size_t n = strlen(secret_vars[i]);

		if (!strncmp(entry, secret_vars[i], n) && entry[n] == '=')
			return 1;
	}
	return 0;
}

static void free_env(char ***envp)
{
	if (!*envp)
		return;
	for (char **e = *envp; *e; e++)
		free(*e);
	free(*envp);
	*envp = NULL;
}

static char **copy_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (secret_var(environ[i]))
			continue;
		if (!(env[k++] = strdup(environ[i]))) {
			free_env(&env);
			return NULL;
		}
	}
	return env;
}

struct auth *auth_new(const struct auth_config *cfg)
{
	struct auth *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (!a)
		return NULL;
	a->kerberos = cfg->kerberos;
	a->timeout = cfg->timeout;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->done, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->token_command && (!(a->command = strdup(cfg->token_command)) ||
				   !(a->env = copy_env())))
		auth_free(&a);
	return a;
}

void auth_free(struct auth **ap)
{
	struct auth *a = ap ? *ap : NULL;

	if (!a)
		return;
	config_wipe(&a->token);
	free_env(&a->env);
	free(a->command);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->done);
	free(a);
	*ap = NULL;
}

int auth_has_command(const struct auth *a)
{
	return a && a->command;
}

unsigned long long auth_runs(struct auth *a)
{
	unsigned long long n;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	n = a->runs;
	pthread_mutex_unlock(&a->lock);
	return n;
}

int auth_kerberos(const struct auth *a)
{
	return a && a->kerberos;
}

/* The last non-empty line of s (len bytes), into out. */
static void last_line(const char *s, size_t len, char *out, size_t size)
{
	size_t end = len, start;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	snprintf(out, size, "%.*s", (int)(end - start), s + start);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
}

struct run {
	char out[OUT_MAX + 1];
	size_t out_len;
	char err[ERR_KEEP * 2];
	size_t err_len;
	int status;
};

/* Reads what fd has into the run's buffers; 0 at EOF, 1 on more to read. */
static int drain(int fd, int is_err, struct run *r)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (!is_err) {
		size_t take = (size_t)n;

		if (take > OUT_MAX - r->out_len)
			take = OUT_MAX - r->out_len;
		memcpy(r->out + r->out_len, buf, take);
		r->out_len += take;
	} else {
		if (r->err_len + (size_t)n > sizeof(r->err)) {
			/* keep the tail: the last line is what is logged */
			size_t keep = ERR_KEEP;

			if (keep > r->err_len)
				keep = r->err_len;
			memmove(r->err, r->err + r->err_len - keep, keep);
			r->err_len = keep;
		}
		if ((size_t)n > sizeof(r->err) - r->err_len)
			n = (ssize_t)(sizeof(r->err) - r->err_len);
		memcpy(r->err + r->err_len, buf, (size_t)n);
		r->err_len += (size_t)n;
	}
	explicit_bzero(buf, sizeof(buf));
	return 1;
}

/*
 * Runs the command until it exits or until end (monotonic); fills r.
 * Returns 0 when it ran to its end (r->status from waitpid), -ETIMEDOUT
 * when it was killed at end, -errno when it could not start.
 */
static int run_command(struct auth *a, double end, struct run *r)
{
	char *argv[] = {"sh", "-c", a->command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, open_fds = 2, ret = 0;
	sigset_t none, dflt;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dflt);
	/* libfuse ignores SIGPIPE and handles these; a shell would not */
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	ret = -posix_spawn(&pid, "/bin/sh", &fa, &at, argv, a->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (ret)
		goto out;
	while (open_fds > 0) {
		struct pollfd p[2] = {{.fd = out[0], .events = POLLIN},
				      {.fd = err[0], .events = POLLIN}};
		double left = end - mono_s();
		int n;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		n = poll(p, 2, (int)ceil(left * 1000));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < 2 && n > 0; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (!drain(p[i].fd, i, r)) {
				close(p[i].fd);
				*(i ? &err[0] : &out[0]) = -1;
				open_fds--;
			}
		}
	}
	/* its whole session: a shell's children too */
	if (ret)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	if (!ret && WIFEXITED(r->status))
		kill(-pid, SIGKILL); /* what it left in the background */
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return ret;
}

/*
 * One run of the command, without the lock: 0 with *tok set, or -errno
 * with msg saying why (the caller's error: logged by whoever failed).
 */
static int make_token(struct auth *a, double deadline, char **tok, char *msg,
		      size_t size)
{
	double start = mono_s(), end = start + a->timeout;
	struct run *r = calloc(1, sizeof(*r));
	char tail[300];
	size_t n;
	int ret;

	*tok = NULL;
	if (!r) {
		snprintf(msg, size, "token_command: out of memory");
		return -ENOMEM;
	}
	if (deadline < end)
		end = deadline;
	ret = run_command(a, end, r);
	last_line(r->err, r->err_len, tail, sizeof(tail));
	if (ret == -ETIMEDOUT) {
		snprintf(msg, size,
			 "token_command did not finish within %.3g s%s%s",
			 end - start, tail[0] ? ": " : "", tail);
		ret = -EACCES;
	} else if (ret) {
		snprintf(msg, size, "token_command could not start: %s",
			 strerror(-ret));
		ret = -EACCES;
	} else if (WIFSIGNALED(r->status)) {
		snprintf(msg, size, "token_command killed by signal %d%s%s",
			 WTERMSIG(r->status), tail[0] ? ": " : "", tail);
		ret = -EACCES;
	} else if (WEXITSTATUS(r->status)) {
		snprintf(msg, size, "token_command failed with status %d%s%s",
			 WEXITSTATUS(r->status), tail[0] ? ": " : "", tail);
		ret = -EACCES;
	} else {
		n = strcspn(r->out, "\r\n");
		while (n > 0 && (r->out[n - 1] == ' ' || r->out[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= 8000) {
			snprintf(msg, size, "token_command printed %s%s%s",
				 n ? "a first line too long to be a token"
				   : "no token",
				 tail[0] ? ": " : "", tail);
			ret = -EACCES;
		} else if (memchr(r->out, '\0', n) ||
			   !(*tok = strndup(r->out, n))) {
			snprintf(msg, size, "token_command printed %s",
				 *tok ? "a NUL byte" : "(out of memory)");
			ret = -EACCES;
		}
	}
	explicit_bzero(r, sizeof(*r));
	free(r);
	return ret;
}

/* When a token made now should be made again: before a JWT's exp. */
static double renew_time(const char *tok)
{
	int64_t iat = 0, exp = 0;
	double life;

	if (json_jwt_times(tok, &iat, &exp) != 0)
		return INFINITY; /* opaque: again only after a refusal */
	life = iat && exp > iat ? (double)(exp - iat) : 3600;
	return (double)exp - (life / 4 < 60 ? life / 4 : 60);
}

int auth_token(struct auth *a, const char *stale, double deadline, char **tok,
	       char *err, size_t errlen)
{
	int ret = 0;

	*tok = NULL;
	err[0] = '\0';
	pthread_mutex_lock(&a->lock);
	if (a->running) {
		/* a run under way: its result is ours, whatever it is */
		uint64_t runs = a->runs;
		struct timespec ts;
		double d = deadline;

		ts.tv_sec = (time_t)d;
		ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
		while (a->runs == runs && ret == 0)
			ret = -pthread_cond_timedwait(&a->done, &a->lock, &ts);
		if (a->runs == runs) {
			snprintf(err, errlen,
				 "no time left waiting for token_command");
			ret = -ETIMEDOUT;
		} else if (a->last_err) {
			snprintf(err, errlen, "%s", a->last_msg);
			ret = a->last_err;
		} else {
			ret = a->token && !(*tok = strdup(a->token)) ? -ENOMEM
								     : 0;
		}
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	if (a->token && wall_s() < a->renew &&
	    (!stale || strcmp(stale, a->token) != 0)) {
		ret = !(*tok = strdup(a->token)) ? -ENOMEM : 0;
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	a->running = 1;
	pthread_mutex_unlock(&a->lock);

	char *fresh = NULL, msg[512];

	ret = make_token(a, deadline, &fresh, msg, sizeof(msg));
	pthread_mutex_lock(&a->lock);
	a->running = 0;
	a->runs++;
	a->last_err = ret;
	snprintf(a->last_msg, sizeof(a->last_msg), "%s", ret ? msg : "");
	if (!ret) {
		config_wipe(&a->token);
		a->token = fresh;
		a->renew = renew_time(fresh);
		if (!(*tok = strdup(fresh)))
			ret = -ENOMEM;
	} else {
		snprintf(err, errlen, "%s", msg);
	}
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

void auth_reload(struct auth *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	config_wipe(&a->token);
	pthread_mutex_unlock(&a->lock);
}

/* GSS-API's words for a status, major and minor, into out. */
static void gss_text(OM_uint32 major, OM_uint32 minor, char *out, size_t size)
{
	OM_uint32 codes[2] = {major, minor}, min, ctx;
	int types[2] = {GSS_C_GSS_CODE, GSS_C_MECH_CODE};
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < 2; i++) {
		if (!codes[i])
			continue;
		ctx = 0;
		do {
			gss_buffer_desc b = GSS_C_EMPTY_BUFFER;

			if (GSS_ERROR(gss_display_status(&min, codes[i],
							 types[i], GSS_C_NO_OID,
							 &ctx, &b)))
				break;
			if (n < size)
				n += (size_t)snprintf(out + n, size - n,
						      "%s%.*s", n ? ": " : "",
						      (int)b.length,
						      (char *)b.value);
			gss_release_buffer(&min, &b);
		} while (ctx);
	}
}

int auth_kerberos_ticket(char *err, size_t errlen)
{
	OM_uint32 major, minor, life = 0;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	const char *cc = getenv("KRB5CCNAME");
	char why[400];

	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE,
				 GSS_C_NO_OID_SET, GSS_C_INITIATE, &cred, NULL,
				 &life);
	if (!GSS_ERROR(major))
		gss_release_cred(&minor, &cred);
	if (!GSS_ERROR(major) && life > 0)
		return 0;
	if (GSS_ERROR(major))
		gss_text(major, minor, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "the ticket has expired");
	snprintf(err, errlen,
		 "no valid Kerberos ticket in %s (%s); run kinit first",
		 cc && *cc ? cc : "the default credential cache", why);
	return -EACCES;
}

void auth_kerberos_refused(struct auth *a)
{
	char err[512];
	double now = mono_s();
	int bad = auth_kerberos_ticket(err, sizeof(err)) != 0, say;

	/* once a minute at most: every refused request comes here */
	pthread_mutex_lock(&a->lock);
	say = bad && (!a->kerberos_logged || now - a->kerberos_logged >= 60);
	if (say)
		a->kerberos_logged = now;
	pthread_mutex_unlock(&a->lock);
	if (say)
		log_msg(LOG_ERR, "%s", err);
}
