/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line: airflowfs [options] URL MOUNTPOINT. Our -o options are
 * parsed into struct config with a fuse_opt table; the rest (mount point,
 * -f -d -s, standard FUSE options) is left in args for libfuse. Secrets
 * come from the environment or from files, never from argv.
 */
#ifndef AFS_CONFIG_H
#define AFS_CONFIG_H

#include <stddef.h>

struct fuse_args;

enum api_version { API_AUTO = 0, API_V1 = 1, API_V2 = 2 };

struct config {
	char *url; /* server root, no trailing '/' */
	enum api_version api;
	double ttl;	/* listings, states, notes */
	double log_ttl; /* log of a running try */
	double relist;	/* longest a listed run goes without a full listing */
	double recent;	/* hours @by-state looks back */
	double timeout; /* bound on one system call */
	int retries;
	long max_runs; /* 0: all */
	size_t cache_bytes;
	size_t disk_bytes; /* bound of the logs in unnamed files */
	int readahead;	   /* connections fetching ahead; 0: none */
	int ro;
	int verbose;
	int insecure;
	char *cacert;
	char *username;
	char *password; /* secret */
	char *token;	/* secret */
	char *password_file;
	char *token_file;
	char *token_command; /* run by /bin/sh -c; prints a bearer token */
	int kerberos;	     /* SPNEGO with the user's Kerberos ticket */
	int show_help;
	int show_version;
};

/*
 * Parses argv into cfg and leaves in args what libfuse must see. Returns 0,
 * or -1 after printing a one-line error to stderr. With -h or -V it returns
 * 0 with show_help / show_version set and nothing else checked.
 */
int config_parse(struct config *cfg, struct fuse_args *args);
/* Prints our usage and options (libfuse's are printed by the caller). */
void config_usage(const char *prog);
/*
 * Reads a secret file: refused (-1, message in err) when it is not a
 * regular file (a FIFO is not waited on) or group or others may read it;
 * at most 8191 bytes, one trailing newline stripped. *out is malloc'd.
 */
int config_read_secret(const char *path, char **out, char *err, size_t errlen);
/* Zeroes a secret string, frees it and sets *s to NULL; NULL is fine. */
void config_wipe(char **s);
/* Frees what cfg owns, wiping the secrets first. */
void config_free(struct config *cfg);

#endif
