// SPDX-License-Identifier: Apache-2.0
/*
 * airflowfs: argv -> config, check the server, mount, serve, tear down.
 * Everything after the mount goes through the session's private data
 * (struct fs); nothing here exits once mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "airflow.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "handle.h"
#include "ops.h"
#include "reload.h"

/* Memory for editors' scratch files, all task instances together. */
#define SCRATCH_BYTES ((size_t)64 << 20)

/* Names the mount after the server in /proc/mounts: fsname=URL. */
static int add_fsname(struct fuse_args *args, const char *url)
{
	char opt[4200];
	size_t n = snprintf(opt, sizeof(opt), "-osubtype=airflowfs,fsname=");

	for (const char *p = url; *p && n + 3 < sizeof(opt); p++) {
		if (*p == ',' || *p == '\\')
			opt[n++] = '\\';
		opt[n++] = *p;
	}
	opt[n] = '\0';
	return fuse_opt_add_arg(args, opt);
}

/*
 * Raises the soft limit of open files to the hard one and returns how many
 * descriptors the files of logs may hold: what is left once the daemon's
 * own (standard streams, /dev/fuse, the connections of the handle pool and
 * of readahead, syslog, pipes) are set aside, half the limit at most.
 */
static size_t log_files_max(int readahead)
{
	size_t reserve = 128 + (size_t)readahead, lim = 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
		lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 24)
			      ? (size_t)1 << 24
			      : (size_t)rl.rlim_cur;
	}
	return lim > 2 * reserve ? lim - reserve : lim / 2;
}

/*
 * The directory of large logs' files: made at mount, removed at unmount.
 * The files in it are unlinked from the start, so they go with the
 * daemon even when it is killed.
 */
static int make_log_dir(char *path, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, size, "%s/airflowfs.XXXXXX",
		 tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(path)) {
		fprintf(stderr,
			"airflowfs: cannot make a directory for logs in "
			"%s: %s\n",
			tmp && *tmp ? tmp : "/var/tmp", strerror(errno));
		path[0] = '\0';
		return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * SIGHUP, in reload.c's thread: the password file is read again (and a
 * token file at the next request), the daemon's cache is emptied, and the
 * kernel forgets the attributes it keeps of every inode we know, so that
 * sizes and times are asked again. The names it keeps, found or missing,
 * follow their timeouts; the pages of a finished log stay (they cannot
 * change).
 */
static void reload(void *arg)
{
	struct fs *fs = arg;
	const struct config *cfg = fs->cfg;
	char *password = NULL, err[512];
	uint64_t *inos;
	size_t n;

	/* the token file wins over the password file (config.c) */
	if (cfg->password_file && !cfg->token_file &&
	    config_read_secret(cfg->password_file, &password, err,
			       sizeof(err)) != 0)
		log_msg(LOG_WARNING,
			"SIGHUP: %s; the password read before stays", err);
	airflow_reload_credentials(fs->af, password);
	config_wipe(&password);
	store_drop_all(fs->store);
	if (inodes_list(fs->inodes, &inos, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			fuse_lowlevel_notify_inval_inode(fs->se, inos[i], -1,
							 0);
		free(inos);
	}
	log_msg(LOG_INFO,
		"SIGHUP: caches dropped, credential files read again");
}

/* The store calls Airflow through airflow.c. */
static const struct store_client airflow_client = {
	.dags = airflow_dags,
	.dag = airflow_dag,
	.runs = airflow_runs,
	.run = airflow_run,
	.tis = airflow_tis,
	.tis_changed = airflow_tis_changed,
	.server_time = airflow_server_time,
	.ti = airflow_ti,
	.by_state = airflow_by_state,
	.mapped = airflow_mapped,
	.links = airflow_links,
	.log = airflow_log,
	.set_state = airflow_set_state,
	.set_note = airflow_set_note,
	.get_dag = airflow_get_dag,
	.set_run_state = airflow_set_run_state,
	.set_run_note = airflow_set_run_note,
	.set_paused = airflow_set_paused,
	.clear = airflow_clear,
};

static int serve(struct fs *fs, struct fuse_args *args,
		 struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se;
	struct reload *hup = NULL;
	int ret = 1, err;

	se = fuse_session_new(args, &afs_ops, sizeof(afs_ops), fs);
	if (!se)
		return 1;
	fs->se = se;
	/* ours first: libfuse leaves SIGHUP alone then (reload.h) */
	if (reload_new(&hup) != 0 || fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(opts->foreground) != 0)
		goto out_unmount;
	log_set_syslog(!opts->foreground);
	if (reload_run(hup, reload, fs) != 0)
		goto out_unmount;
	/* mounted: requests wait in the kernel until the loop takes them */
	err = notify_service("READY=1");
	if (err)
		log_msg(LOG_WARNING,
			"cannot tell the service manager that "
			"the mount is ready: %s",
			strerror(-err));
	if (opts->singlethread) {
		ret = fuse_session_loop(se);
	} else {
		loop = fuse_loop_cfg_create();
		if (!loop)
			goto out_unmount;
		fuse_loop_cfg_set_clone_fd(loop, opts->clone_fd);
		/* UINT_MAX: not given, libfuse's defaults hold */
		if (opts->max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(loop,
						       opts->max_idle_threads);
		if (opts->max_threads != UINT_MAX)
			fuse_loop_cfg_set_max_threads(loop, opts->max_threads);
		ret = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	notify_service("STOPPING=1");
	/* no reload while the session ends: its thread uses the session */
	reload_free(&hup);
	/*
	 * SIGTERM or SIGINT ends the loop with its number: a clean exit. So
	 * does ECONNABORTED: the kernel tore the connection down, as after a
	 * lazy unmount (fusermount3 -uz) once the last open file is closed.
	 */
	ret = ret < 0 && ret != -ECONNABORTED;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	reload_free(&hup);
	fs->se = NULL;
	fuse_session_destroy(se);
	handles_free(fs);
	return ret;
}

/*
 * MOUNTPOINT must be a directory (a file would take the mount and give EIO
 * for everything). What cannot be looked at (a dead FUSE mount) is left to
 * fuse_session_mount, which says why.
 */
static int mountpoint_ok(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"airflowfs: %s: MOUNTPOINT must be a directory\n",
			path);
		return 0;
	}
	if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
		fprintf(stderr, "airflowfs: %s: %s\n", path, strerror(errno));
		return 0;
	}
	return 1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct config cfg;
	struct fs fs = {.cfg = &cfg};
	char err[1024], log_dir[4096] = "";
	int ret = 1, log_dirfd;

	/*
	 * Non-dumpable, as ssh-agent: no core file, and no process of the
	 * same user may ptrace it or read /proc/PID/mem. fuse_daemonize's
	 * fork keeps this; only an execve or a change of uid would undo it,
	 * and the daemon makes neither.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		perror("airflowfs: prctl(PR_SET_DUMPABLE)");
		goto out_args;
	}
	if (config_parse(&cfg, &args) != 0)
		goto out_args;
	if (cfg.show_help) {
		config_usage(argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (cfg.show_version) {
		printf("airflowfs version %s\n", AFS_VERSION);
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (add_fsname(&args, cfg.url) != 0 ||
	    fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (!opts.mountpoint) {
		fprintf(stderr, "airflowfs: missing MOUNTPOINT (see --help)\n");
		goto out_args;
	}
	if (!mountpoint_ok(opts.mountpoint))
		goto out_opts;
	if (http_global_init() != 0)
		goto out_opts;
	if (airflow_open(&fs.af, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "airflowfs: %s\n", err);
		goto out_http;
	}
	/* the HTTP layer holds its own copies: one of each is enough */
	config_wipe(&cfg.password);
	config_wipe(&cfg.token);
	if (cfg.verbose)
		log_msg(LOG_INFO, "%s: Airflow %s, API %s", cfg.url,
			airflow_server_version(fs.af), airflow_api_name(fs.af));
	log_dirfd = make_log_dir(log_dir, sizeof(log_dir));
	if (log_dirfd >= 0) {
		struct store_config sc = {
			.ttl = cfg.ttl,
			.log_ttl = cfg.log_ttl,
			.relist = cfg.relist,
			.recent = cfg.recent,
			.max_runs = cfg.max_runs,
			.cache_bytes = cfg.cache_bytes,
			.log_dirfd = log_dirfd,
			.disk_bytes = cfg.disk_bytes,
			.disk_files = log_files_max(cfg.readahead),
		};

		fs.store = store_new(&sc, &airflow_client, fs.af);
	}
	fs.inodes = inodes_new();
	fs.scratch = scratch_new(SCRATCH_BYTES);
	fs.uid = getuid();
	fs.gid = getgid();
	fs.started = time(NULL);
	pthread_mutex_init(&fs.handles_lock, NULL);
	pthread_mutex_init(&fs.saves_lock, NULL);
	pthread_cond_init(&fs.saves_done, NULL);
	pthread_mutex_init(&fs.failed_lock, NULL);
	if (fs.store && fs.inodes && fs.scratch)
		ret = serve(&fs, &args, &opts);
	if (log_dir[0] && rmdir(log_dir) != 0)
		log_msg(LOG_WARNING, "cannot remove %s: %s", log_dir,
			strerror(errno));
	scratch_free(&fs.scratch);
	inodes_free(&fs.inodes);
	store_free(&fs.store);
	if (log_dirfd >= 0)
		close(log_dirfd);
	airflow_close(&fs.af);
out_http:
	http_global_cleanup();
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	config_free(&cfg);
	return ret;
}
