// SPDX-License-Identifier: Apache-2.0
/*
 * Option table, defaults, --help text and credentials (see config.h).
 * Credential precedence: an -o credential option (token_file, username +
 * password_file, token_command, kerberos: at most one), then AIRFLOW_TOKEN,
 * then AIRFLOW_PASSWORD with -o username or else AIRFLOW_USERNAME.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse_opt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* Strings of the -o options as given, validated after parsing. */
struct raw_opts {
	struct config *cfg;
	char *api, *ttl, *log_ttl, *timeout, *retries, *max_runs, *cache_size;
	char *disk_cache;
	char *readahead;
	char *recent;
	char *relist;
	int nonopts;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO };

#define OPT(t, f)                                                              \
	{                                                                      \
		t, offsetof(struct raw_opts, f), 0                             \
	}
static const struct fuse_opt raw_table[] = {
	OPT("api=%s", api),
	OPT("ttl=%s", ttl),
	OPT("log_ttl=%s", log_ttl),
	OPT("timeout=%s", timeout),
	OPT("retries=%s", retries),
	OPT("max_runs=%s", max_runs),
	OPT("cache_size=%s", cache_size),
	OPT("disk_cache=%s", disk_cache),
	OPT("readahead=%s", readahead),
	OPT("recent=%s", recent),
	OPT("relist=%s", relist),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_END};

#define COPT(t, f, v)                                                          \
	{                                                                      \
		t, offsetof(struct config, f), v                               \
	}
static const struct fuse_opt cfg_table[] = {
	COPT("verbose", verbose, 1),
	COPT("insecure", insecure, 1),
	COPT("cacert=%s", cacert, 0),
	COPT("username=%s", username, 0),
	COPT("password_file=%s", password_file, 0),
	COPT("token_file=%s", token_file, 0),
	COPT("token_command=%s", token_command, 0),
	COPT("kerberos", kerberos, 1),
	FUSE_OPT_END};

/*
 * Options of fstab and mount(8) that mean nothing to a FUSE mount.
 * mount.fuse3 drops most of them itself, mount(8) the x-* ones; they are
 * accepted here too, for other helpers and for direct callers.
 */
static int mount_only(const char *opt)
{
	static const char *const names[] = {"defaults", "_netdev", "auto",
					    "noauto",	"user",	   "nouser",
					    "users",	"nofail"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(opt, names[i]))
			return 1;
	return !strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8);
}

static int raw_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct raw_opts *raw = data;

	switch (key) {
	case KEY_HELP:
		raw->cfg->show_help = 1;
		return 0;
	case KEY_VERSION:
		raw->cfg->show_version = 1;
		return 0;
	case KEY_RO:
		/* ours, and also the kernel's read-only mount flag */
		raw->cfg->ro = 1;
		return 1;
	case FUSE_OPT_KEY_OPT:
		return !mount_only(arg); /* 0: dropped */
	case FUSE_OPT_KEY_NONOPT:
		if (raw->nonopts++ == 0) {
			raw->cfg->url = strdup(arg);
			return 0;
		}
		return 1;
	default:
		return 1;
	}
}

void config_usage(const char *prog)
{
	printf("usage: %s [options] URL MOUNTPOINT\n"
	       "\n"
	       "Mounts the task instances of an Apache Airflow deployment.\n"
	       "Credentials: AIRFLOW_USERNAME + AIRFLOW_PASSWORD or "
	       "AIRFLOW_TOKEN in the\nenvironment, or the options below; "
	       "never on the command line.\n"
	       "\n"
	       "airflowfs options:\n"
	       "    -o api=v1|v2           API version (default: detected)\n"
	       "    -o ttl=S               cache lifetime of listings, "
	       "states, notes (default 5)\n"
	       "    -o relist=S            how old a note read from a "
	       "listed run may be\n"
	       "                           (default 60)\n"
	       "    -o log_ttl=S           refresh of a running try's log "
	       "(default 1)\n"
	       "    -o recent=H            hours @by-state/ looks back "
	       "(default 24)\n"
	       "    -o timeout=S           bound on one system call "
	       "(default 30)\n"
	       "    -o retries=N           retries of a failed request "
	       "(default 3)\n"
	       "    -o max_runs=N          runs listed per DAG, 0: all "
	       "(default 1000)\n"
	       "    -o cache_size=MB       memory bound of the cache "
	       "(default 256)\n"
	       "    -o disk_cache=MB       disk bound of logs kept in unnamed "
	       "files (default 2048)\n"
	       "    -o readahead=N         connections fetching logs ahead "
	       "(default 8, 0: off)\n"
	       "    -o ro                  read-only mount\n"
	       "    -o verbose             log every API request\n"
	       "    -o insecure            do not verify TLS certificates\n"
	       "    -o cacert=PATH         extra CA certificate file\n"
	       "    -o username=NAME       user for the password file\n"
	       "    -o password_file=PATH  file holding the password\n"
	       "    -o token_file=PATH     file holding a bearer token\n"
	       "    -o token_command=CMD   bearer token printed by /bin/sh -c "
	       "CMD\n"
	       "                           (Cloud Composer: 'gcloud auth "
	       "print-access-token')\n"
	       "    -o kerberos            SPNEGO with the Kerberos ticket "
	       "of kinit\n"
	       "\n",
	       prog);
}

/*
 * Parses a number from min to max (an integer with integer); -1 after a
 * message that names the range when it is not one.
 */
static int parse_num(const char *name, const char *s, double min, double max,
		     int integer, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v != v || v < min || v > max ||
	    (integer && v != (long)v)) {
		fprintf(stderr,
			"airflowfs: invalid value %s=%s: %s from %.0f to "
			"%.0f\n",
			name, s, integer ? "an integer" : "a number", min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int config_read_secret(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char buf[8192];
	ssize_t n = 0;
	size_t len = 0;
	int fd;

	/* O_NONBLOCK: a FIFO put in its place must not hang the daemon */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "%s is accessible by group or others; "
			 "chmod 600 it",
			 path);
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -1;
}

/* Every variable the daemon may take a credential from. */
static const char *const cred_vars[] = {"AIRFLOW_USERNAME", "AIRFLOW_PASSWORD",
					"AIRFLOW_TOKEN"};

/* A copy of a variable's value, or NULL. */
static char *copy_env(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

/*
 * Takes the credential variables out of the environment, used or not:
 * unset, and their NAME=value text zeroed where it lies, which is what
 * /proc/PID/environ shows.
 */
static void wipe_cred_env(void)
{
	extern char **environ;

	for (size_t i = 0; i < sizeof(cred_vars) / sizeof(cred_vars[0]); i++) {
		size_t n = strlen(cred_vars[i]);
		char *entry = NULL;

		for (char **e = environ; e && *e; e++)
			if (!strncmp(*e, cred_vars[i], n) && (*e)[n] == '=')
				entry = *e;
		while (getenv(cred_vars[i]))
			unsetenv(cred_vars[i]);
		if (entry)
			explicit_bzero(entry, strlen(entry));
	}
}

/*
 * Makes a relative path absolute: files are read again after the daemon
 * has moved to / (a token file when it changes, SIGHUP, curl's CA file).
 */
static int absolute(char **path)
{
	char cwd[4096], *abs;

	if (!*path || (*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)) ||
	    asprintf(&abs, "%s/%s", cwd, *path) < 0) {
		fprintf(stderr, "airflowfs: %s: %s\n", *path, strerror(errno));
		return -1;
	}
	free(*path);
	*path = abs;
	return 0;
}

/* At most one -o credential option; -1 after saying which clash. */
static int one_credential_option(const struct config *cfg)
{
	const char *given[4];
	int n = 0;

	if (cfg->token_file)
		given[n++] = "token_file";
	if (cfg->password_file)
		given[n++] = "password_file";
	if (cfg->token_command)
		given[n++] = "token_command";
	if (cfg->kerberos)
		given[n++] = "kerberos";
	if (n > 1) {
		fprintf(stderr,
			"airflowfs: -o %s and -o %s: give one credential "
			"option, not two\n",
			given[0], given[1]);
		return -1;
	}
	if (n == 1 && cfg->username && !cfg->password_file) {
		fprintf(stderr,
			"airflowfs: -o username goes with -o password_file, "
			"not with -o %s\n",
			given[0]);
		return -1;
	}
	if (cfg->token_command &&
	    !cfg->token_command[strspn(cfg->token_command, " \t")]) {
		fprintf(stderr, "airflowfs: -o token_command is empty\n");
		return -1;
	}
	return 0;
}

static int load_credentials(struct config *cfg)
{
	char *env_user = copy_env("AIRFLOW_USERNAME");
	char *env_pass = copy_env("AIRFLOW_PASSWORD");
	char *env_token = copy_env("AIRFLOW_TOKEN");
	char err[512];
	int ret = -1;

	wipe_cred_env();
	if (one_credential_option(cfg))
		goto out;
	if (cfg->token_command || cfg->kerberos) {
		/* made when needed (auth.c); nothing to read now */
	} else if (cfg->token_file) {
		if (config_read_secret(cfg->token_file, &cfg->token, err,
				       sizeof(err)) < 0)
			goto fail;
	} else if (cfg->password_file) {
		/* -o username wins over AIRFLOW_USERNAME */
		if (!cfg->username && env_user) {
			cfg->username = env_user;
			env_user = NULL;
		}
		if (!cfg->username) {
			fprintf(stderr,
				"airflowfs: password_file needs "
				"-o username=NAME or AIRFLOW_USERNAME\n");
			goto out;
		}
		if (config_read_secret(cfg->password_file, &cfg->password, err,
				       sizeof(err)) < 0)
			goto fail;
	} else if (env_token) {
		cfg->token = env_token;
		env_token = NULL;
	} else if (env_pass && (cfg->username || env_user)) {
		/* -o username wins over AIRFLOW_USERNAME */
		if (!cfg->username) {
			cfg->username = env_user;
			env_user = NULL;
		}
		cfg->password = env_pass;
		env_pass = NULL;
	} else if (cfg->username) {
		fprintf(stderr, "airflowfs: -o username needs "
				"-o password_file or AIRFLOW_PASSWORD\n");
		goto out;
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "airflowfs: %s\n", err);
out:
	config_wipe(&env_user);
	config_wipe(&env_pass);
	config_wipe(&env_token);
	return ret;
}

/*
 * A URL that ends in /api/v1 or /api/v2 (pasted from the API docs) means
 * the root before it and that version; -1 when -o api says another.
 */
static int api_suffix(struct config *cfg)
{
	size_t n = strlen(cfg->url);
	enum api_version v;

	if (n < 7 || strncmp(cfg->url + n - 7, "/api/v", 6) ||
	    (cfg->url[n - 1] != '1' && cfg->url[n - 1] != '2'))
		return 0;
	v = cfg->url[n - 1] == '1' ? API_V1 : API_V2;
	if (cfg->api != API_AUTO && cfg->api != v) {
		fprintf(stderr, "airflowfs: %s names API v%c, -o api another\n",
			cfg->url, cfg->url[n - 1]);
		return -1;
	}
	cfg->api = v;
	n -= 7;
	while (n > 0 && cfg->url[n - 1] == '/')
		n--;
	cfg->url[n] = '\0';
	return 0;
}

static int validate(struct config *cfg, struct raw_opts *raw)
{
	const char *authority;
	double v;
	size_t n;

	if (raw->api) {
		if (!strcmp(raw->api, "v1")) {
			cfg->api = API_V1;
		} else if (!strcmp(raw->api, "v2")) {
			cfg->api = API_V2;
		} else {
			fprintf(stderr,
				"airflowfs: invalid value api=%s "
				"(v1 or v2)\n",
				raw->api);
			return -1;
		}
	}
	if ((raw->ttl && parse_num("ttl", raw->ttl, 0, 1e7, 0, &cfg->ttl)) ||
	    (raw->log_ttl &&
	     parse_num("log_ttl", raw->log_ttl, 0, 1e7, 0, &cfg->log_ttl)) ||
	    (raw->relist &&
	     parse_num("relist", raw->relist, 0, 1e7, 0, &cfg->relist)) ||
	    (raw->recent &&
	     parse_num("recent", raw->recent, 0, 876000, 0, &cfg->recent)) ||
	    (raw->timeout &&
	     parse_num("timeout", raw->timeout, 0, 1e6, 0, &cfg->timeout)))
		return -1;
	if (cfg->timeout <= 0) {
		fprintf(stderr,
			"airflowfs: invalid value timeout=%s: a number "
			"above 0, up to 1000000\n",
			raw->timeout);
		return -1;
	}
	if (raw->retries) {
		if (parse_num("retries", raw->retries, 0, 100, 1, &v))
			return -1;
		cfg->retries = (int)v;
	}
	if (raw->max_runs) {
		if (parse_num("max_runs", raw->max_runs, 0, 1e9, 1, &v))
			return -1;
		cfg->max_runs = (long)v;
	}
	if (raw->cache_size) {
		if (parse_num("cache_size", raw->cache_size, 1, 1 << 20, 1, &v))
			return -1;
		cfg->cache_bytes = (size_t)v << 20;
	}
	if (raw->disk_cache) {
		if (parse_num("disk_cache", raw->disk_cache, 1, 1 << 24, 1, &v))
			return -1;
		cfg->disk_bytes = (size_t)v << 20;
	}
	if (raw->readahead) {
		if (parse_num("readahead", raw->readahead, 0, 64, 1, &v))
			return -1;
		cfg->readahead = (int)v;
	}
	if (!cfg->url) {
		fprintf(stderr, "airflowfs: missing URL and MOUNTPOINT "
				"(see --help)\n");
		return -1;
	}
	if (strncmp(cfg->url, "http://", 7) &&
	    strncmp(cfg->url, "https://", 8)) {
		fprintf(stderr,
			"airflowfs: %s: URL must start with http:// "
			"or https://\n",
			cfg->url);
		return -1;
	}
	authority = strstr(cfg->url, "//") + 2;
	if (memchr(authority, '@', strcspn(authority, "/?#"))) {
		fprintf(stderr, "airflowfs: credentials do not belong in the "
				"URL; see Credentials in --help\n");
		return -1;
	}
	n = strlen(cfg->url);
	while (n > 0 && cfg->url[n - 1] == '/')
		cfg->url[--n] = '\0';
	if (api_suffix(cfg))
		return -1;
	if (absolute(&cfg->password_file) || absolute(&cfg->token_file) ||
	    absolute(&cfg->cacert))
		return -1;
	if (cfg->cacert && access(cfg->cacert, R_OK) != 0) {
		fprintf(stderr, "airflowfs: cacert=%s: %s\n", cfg->cacert,
			strerror(errno));
		return -1;
	}
	return load_credentials(cfg);
}

int config_parse(struct config *cfg, struct fuse_args *args)
{
	struct raw_opts raw = {.cfg = cfg};
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ttl = 5;
	cfg->log_ttl = 1;
	cfg->relist = 60;
	cfg->recent = 24;
	cfg->timeout = 30;
	cfg->retries = 3;
	cfg->max_runs = 1000;
	cfg->cache_bytes = (size_t)256 << 20;
	cfg->disk_bytes = (size_t)2048 << 20;
	cfg->readahead = 8;

	if (fuse_opt_parse(args, &raw, raw_table, raw_proc) < 0 ||
	    fuse_opt_parse(args, cfg, cfg_table, NULL) < 0)
		goto out;
	if (cfg->show_help || cfg->show_version) {
		ret = 0;
		goto out;
	}
	ret = validate(cfg, &raw);
out:
	free(raw.api);
	free(raw.ttl);
	free(raw.log_ttl);
	free(raw.recent);
	free(raw.relist);
	free(raw.timeout);
	free(raw.retries);
	free(raw.max_runs);
	free(raw.cache_size);
	free(raw.disk_cache);
	free(raw.readahead);
	return ret;
}

void config_wipe(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void config_free(struct config *cfg)
{
	config_wipe(&cfg->password);
	config_wipe(&cfg->token);
	free(cfg->url);
	free(cfg->cacert);
	free(cfg->username);
	free(cfg->password_file);
	free(cfg->token_file);
	free(cfg->token_command);
	memset(cfg, 0, sizeof(*cfg));
}
