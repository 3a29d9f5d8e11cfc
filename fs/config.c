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
	char *readahead;
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
	OPT("readahead=%s", readahead),
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
	       "    -o log_ttl=S           refresh of a running try's log "
	       "(default 1)\n"
	       "    -o timeout=S           bound on one system call "
	       "(default 30)\n"
	       "    -o retries=N           retries of a failed request "
	       "(default 3)\n"
	       "    -o max_runs=N          runs listed per DAG, 0: all "
	       "(default 1000)\n"
	       "    -o cache_size=MB       memory bound of the cache "
	       "(default 256)\n"
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

/* Parses a non-negative number with at most max; -1 if invalid. */
static int parse_num(const char *name, const char *s, double max, int integer,
		     double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > max ||
	    (integer && v != (long)v)) {
		fprintf(stderr, "airflowfs: invalid value %s=%s\n", name, s);
		return -1;
	}
	*out = v;
	return 0;
}

int config_read_secret(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char buf[8192];
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
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
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
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

/* Copies an environment secret and wipes it from /proc/PID/environ. */
static char *take_env(const char *name)
{
	char *v = getenv(name), *copy;

	if (!v)
		return NULL;
	copy = strdup(v);
	explicit_bzero(v, strlen(v));
	return copy;
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
	char err[512];

	if (one_credential_option(cfg))
		return -1;
	if (cfg->token_command || cfg->kerberos) {
		/* made when needed (auth.c); nothing to read now */
	} else if (cfg->token_file) {
		if (config_read_secret(cfg->token_file, &cfg->token, err,
				       sizeof(err)) < 0)
			goto fail;
	} else if (cfg->password_file) {
		if (!cfg->username) {
			fprintf(stderr, "airflowfs: password_file needs "
					"-o username=NAME\n");
			return -1;
		}
		if (config_read_secret(cfg->password_file, &cfg->password, err,
				       sizeof(err)) < 0)
			goto fail;
	} else if (getenv("AIRFLOW_TOKEN")) {
		cfg->token = take_env("AIRFLOW_TOKEN");
	} else if (getenv("AIRFLOW_PASSWORD") &&
		   (cfg->username || getenv("AIRFLOW_USERNAME"))) {
		/* -o username wins over AIRFLOW_USERNAME */
		if (!cfg->username)
			cfg->username = strdup(getenv("AIRFLOW_USERNAME"));
		cfg->password = take_env("AIRFLOW_PASSWORD");
	} else if (cfg->username) {
		fprintf(stderr, "airflowfs: -o username needs "
				"-o password_file or AIRFLOW_PASSWORD\n");
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "airflowfs: %s\n", err);
	return -1;
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
	if ((raw->ttl && parse_num("ttl", raw->ttl, 1e7, 0, &cfg->ttl)) ||
	    (raw->log_ttl &&
	     parse_num("log_ttl", raw->log_ttl, 1e7, 0, &cfg->log_ttl)) ||
	    (raw->timeout &&
	     parse_num("timeout", raw->timeout, 1e6, 0, &cfg->timeout)))
		return -1;
	if (cfg->timeout <= 0) {
		fprintf(stderr, "airflowfs: timeout must be above 0\n");
		return -1;
	}
	if (raw->retries) {
		if (parse_num("retries", raw->retries, 100, 1, &v))
			return -1;
		cfg->retries = (int)v;
	}
	if (raw->max_runs) {
		if (parse_num("max_runs", raw->max_runs, 1e9, 1, &v))
			return -1;
		cfg->max_runs = (long)v;
	}
	if (raw->cache_size) {
		if (parse_num("cache_size", raw->cache_size, 1 << 20, 1, &v) ||
		    v < 1) {
			if (v < 1)
				fprintf(stderr, "airflowfs: cache_size must "
						"be at least 1\n");
			return -1;
		}
		cfg->cache_bytes = (size_t)v << 20;
	}
	if (raw->readahead) {
		if (parse_num("readahead", raw->readahead, 64, 1, &v))
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
	if (absolute(&cfg->password_file) || absolute(&cfg->token_file) ||
	    absolute(&cfg->cacert))
		return -1;
	return load_credentials(cfg);
}

int config_parse(struct config *cfg, struct fuse_args *args)
{
	struct raw_opts raw = {.cfg = cfg};
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ttl = 5;
	cfg->log_ttl = 1;
	cfg->timeout = 30;
	cfg->retries = 3;
	cfg->max_runs = 1000;
	cfg->cache_bytes = (size_t)256 << 20;
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
	free(raw.timeout);
	free(raw.retries);
	free(raw.max_runs);
	free(raw.cache_size);
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
