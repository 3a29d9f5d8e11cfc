// SPDX-License-Identifier: Apache-2.0
/*
 * Credentials (see auth.h). The command runs through posix_spawn (no fork
 * of the multi-threaded daemon's memory) in a session of its own (no
 * controlling terminal), stdin /dev/null, no descriptor of ours but its
 * pipes, the signals it would get from a shell restored, and an
 * environment without credential variables. Kerberos tickets are looked
 * at through GSS-API only to say what is wrong with them; libcurl does
 * the SPNEGO exchange. Every copy of a secret made here is wiped.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "log.h"

extern char **environ;

#define OUT_MAX	 (64 * 1024) /* of the command's stdout */
#define ERR_KEEP 1024	     /* the tail of its stderr that is kept */

/* Variables that hold credentials: not handed to the command. */
static const char *const secret_vars[] = {"AIRFLOW_PASSWORD", "AIRFLOW_TOKEN",
					  "AIRFLOW_USERNAME"};

struct auth {
	char *username, *token, *token_file, *command;
	int kerberos;
	double timeout;
	char **env;	    /* the command's environment, NULL-terminated */
	struct http *login; /* the JWT is bought through it, or NULL */
	const char *login_path;

	pthread_mutex_t lock; /* protects the fields below */
	pthread_cond_t done;  /* a making ended (CLOCK_MONOTONIC waits) */
	char *password;	      /* replaced on SIGHUP */
	char *made;	  /* the token last made (command, login), or NULL */
	double renew;	  /* wall-clock time to make it again (JWT exp) */
	int making;	  /* one is under way */
	uint64_t ends;	  /* makings ended */
	uint64_t reloads; /* SIGHUPs */
	int last_err;	  /* of the last making: 0 or -errno; */
	struct http_resp last; /* ... its error, or the login's refusal */
	char *file_token;      /* token_file's content, and its identity */
	struct timespec file_mtime;
	ino_t file_ino;
	off_t file_size;
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

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
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
	a->username = dup_or_null(cfg->username);
	a->password = dup_or_null(cfg->password);
	/* with a file, its content is read again (file_token): one copy */
	a->token = cfg->token_file ? NULL : dup_or_null(cfg->token);
	a->token_file = dup_or_null(cfg->token_file);
	a->command = dup_or_null(cfg->token_command);
	if ((cfg->username && !a->username) ||
	    (cfg->password && !a->password) ||
	    (cfg->token && !cfg->token_file && !a->token) ||
	    (cfg->token_file && !a->token_file) ||
	    (cfg->token_command && (!a->command || !(a->env = copy_env()))))
		auth_free(&a);
	return a;
}

void auth_free(struct auth **ap)
{
	struct auth *a = ap ? *ap : NULL;

	if (!a)
		return;
	config_wipe(&a->password);
	config_wipe(&a->token);
	config_wipe(&a->file_token);
	config_wipe(&a->made);
	http_resp_free(&a->last);
	free_env(&a->env);
	free(a->command);
	free(a->username);
	free(a->token_file);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->done);
	free(a);
	*ap = NULL;
}

void auth_login(struct auth *a, struct http *h, const char *path)
{
	if (a->username && a->password) {
		a->login = h;
		a->login_path = path;
	}
}

unsigned long long auth_runs(struct auth *a)
{
	unsigned long long n;

	if (!a || !a->command)
		return 0;
	pthread_mutex_lock(&a->lock);
	n = a->ends;
	pthread_mutex_unlock(&a->lock);
	return n;
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

/*
 * The login: a JWT bought with the username and password, without the
 * lock. 0 with *tok set; 0 with resp holding the server's refusal; or
 * -errno with resp->error saying why.
 */
static int buy_jwt(struct auth *a, double deadline, char **tok,
		   struct http_resp *resp)
{
	char *user = NULL, *pass = NULL, *body = NULL;
	int ret;

	*tok = NULL;
	memset(resp, 0, sizeof(*resp));
	pthread_mutex_lock(&a->lock); /* the password may be replaced */
	ret = json_quote(a->username, strlen(a->username), &user) ||
	      json_quote(a->password, strlen(a->password), &pass);
	pthread_mutex_unlock(&a->lock);
	/* malloc'd at its size: asprintf would leave outgrown copies */
	if (ret ||
	    !(body = malloc(strlen(user) + strlen(pass) +
			    sizeof("{\"username\": , \"password\": }")))) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	sprintf(body, "{\"username\": %s, \"password\": %s}", user, pass);
	ret = http_request_anon(a->login, deadline, "POST", a->login_path,
				"application/json", body, (size_t)1 << 20,
				resp);
	if (ret || resp->status / 100 != 2)
		goto out;
	if (json_access_token(resp->body, resp->len, tok)) {
		/* not a login answer: say so as the server's fault */
		resp->status = 502;
		goto out;
	}
	explicit_bzero(resp->body, resp->len); /* it holds the token */
	http_resp_free(resp);
out:
	config_wipe(&user);
	config_wipe(&pass);
	config_wipe(&body);
	return ret;
}

/* What the last making gave, for each of its callers; under the lock. */
static int take_made(struct auth *a, char **tok, struct http_resp *resp)
{
	if (a->last_err) {
		memcpy(resp->error, a->last.error, sizeof(resp->error));
		return a->last_err;
	}
	if (a->last.status) {
		resp->status = a->last.status;
		resp->len = a->last.len;
		resp->body = malloc(a->last.len + 1);
		if (!resp->body)
			return -ENOMEM;
		memcpy(resp->body, a->last.body ? a->last.body : "",
		       a->last.len + 1);
		return 0;
	}
	return a->made && !(*tok = strdup(a->made)) ? -ENOMEM : 0;
}

/*
 * The token token_command prints or the login buys: the one held while
 * it is good and not stale, else a new one; see auth_header.
 */
static int made_token(struct auth *a, const char *stale, double deadline,
		      char **tok, struct http_resp *resp)
{
	struct http_resp r = {0};
	uint64_t reloads;
	char *fresh = NULL, msg[512];
	int ret = 0;

	pthread_mutex_lock(&a->lock);
	if (a->making) {
		/* one under way: its result is ours, whatever it is */
		uint64_t ends = a->ends;
		struct timespec ts;

		ts.tv_sec = (time_t)deadline;
		ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
		while (a->ends == ends && ret == 0)
			ret = -pthread_cond_timedwait(&a->done, &a->lock, &ts);
		if (a->ends == ends) {
			snprintf(resp->error, sizeof(resp->error),
				 "no time left waiting for %s",
				 a->command ? "token_command" : "the login");
			ret = -ETIMEDOUT;
		} else {
			ret = take_made(a, tok, resp);
		}
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	if (a->made && wall_s() < a->renew &&
	    (!stale || strcmp(stale, a->made) != 0)) {
		ret = !(*tok = strdup(a->made)) ? -ENOMEM : 0;
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	a->making = 1;
	reloads = a->reloads;
	pthread_mutex_unlock(&a->lock);

	if (a->login)
		ret = buy_jwt(a, deadline, &fresh, &r);
	else if ((ret = make_token(a, deadline, &fresh, msg, sizeof(msg))))
		snprintf(r.error, sizeof(r.error), "%.*s",
			 (int)sizeof(r.error) - 1, msg);

	pthread_mutex_lock(&a->lock);
	a->making = 0;
	a->ends++;
	a->last_err = ret;
	http_resp_free(&a->last);
	a->last = r;
	if (fresh) {
		config_wipe(&a->made);
		a->made = fresh;
		/* made before a SIGHUP: for its callers, not the next ones */
		a->renew =
			reloads == a->reloads ? renew_time(fresh) : -INFINITY;
	}
	ret = take_made(a, tok, resp);
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
	return ret;
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

/*
 * After a refused request under -o kerberos: logs why when the ticket is
 * missing or expired (at most once a minute).
 */
static void kerberos_refused(struct auth *a)
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

/* The token file's content, read again when it changed; a copy or NULL. */
static char *file_token(struct auth *a)
{
	char *tok = NULL;
	struct stat st;

	pthread_mutex_lock(&a->lock);
	if (stat(a->token_file, &st) == 0 &&
	    (!a->file_token || st.st_ino != a->file_ino ||
	     st.st_size != a->file_size ||
	     st.st_mtim.tv_sec != a->file_mtime.tv_sec ||
	     st.st_mtim.tv_nsec != a->file_mtime.tv_nsec)) {
		char err[256], *fresh;

		if (config_read_secret(a->token_file, &fresh, err,
				       sizeof(err)) == 0) {
			config_wipe(&a->file_token);
			a->file_token = fresh;
			a->file_ino = st.st_ino;
			a->file_size = st.st_size;
			a->file_mtime = st.st_mtim;
		} else {
			log_msg(LOG_WARNING, "%s", err);
		}
	}
	tok = dup_or_null(a->file_token);
	pthread_mutex_unlock(&a->lock);
	return tok;
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
 * "Authorization: Basic ..." of the username and password, built here
 * rather than by curl so that the only copies are ours, wiped after the
 * request; NULL without memory.
 */
static char *basic_line(struct auth *a)
{
	char *pair, *line = NULL;
	size_t n = 0;

	pthread_mutex_lock(&a->lock); /* the password may be replaced */
	pair = concat(a->username, ":", a->password);
	pthread_mutex_unlock(&a->lock);
	if (!pair)
		return NULL;
	n = strlen(pair);
	line = malloc(sizeof("Authorization: Basic ") + 4 * ((n + 2) / 3));
	if (line) {
		strcpy(line, "Authorization: Basic ");
		b64_encode((unsigned char *)pair, n, line + strlen(line));
	}
	config_wipe(&pair);
	return line;
}

#define BEARER "Authorization: Bearer "

int auth_header(void *arg, const char *refused, double deadline, char **header,
		struct http_resp *resp)
{
	struct auth *a = arg;
	/* the token a refused request carried ("": none, it was refused) */
	const char *stale = !refused ? NULL
			    : strncmp(refused, BEARER, strlen(BEARER))
				    ? ""
				    : refused + strlen(BEARER);
	char *tok = NULL;
	int ret = 0;

	*header = NULL;
	memset(resp, 0, sizeof(*resp));
	if (refused && a->kerberos)
		kerberos_refused(a);
	if (a->command || a->login)
		ret = made_token(a, stale, deadline, &tok, resp);
	else if (a->token_file)
		tok = file_token(a);
	else if (a->token && !(tok = strdup(a->token)))
		ret = -ENOMEM;
	if (!ret && tok)
		*header = concat(BEARER, tok, "");
	else if (!ret && !a->login && a->username && a->password)
		*header = basic_line(a);
	else
		goto out;
	if (!*header) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		ret = -ENOMEM;
	}
out:
	config_wipe(&tok);
	return ret;
}

void auth_reload(struct auth *a, const char *password)
{
	char *fresh = password ? strdup(password) : NULL;

	pthread_mutex_lock(&a->lock);
	if (fresh) {
		config_wipe(&a->password);
		a->password = fresh;
	}
	/* the next request runs the command or logs in again, and reads the
	 * token file again */
	config_wipe(&a->made);
	a->reloads++;
	a->file_size = -1;
	pthread_mutex_unlock(&a->lock);
}
