// SPDX-License-Identifier: Apache-2.0
/* The tree's semantics over the store; see node.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "log.h"
#include "node.h"
#include "readahead.h"
#include "value.h"

/* The kernel may keep what can never change this long. */
#define FOREVER_S 86400.0
/* Tries that logs/ lists, the newest; an older one still opens by name. */
#define LOGS_LISTED 1000

static int ti_of(struct fs *fs, const struct call *call, const struct node *n,
		 struct s_ti **out)
{
	return store_ti(fs->store, call, n->dag, n->run, n->task, n->map_index,
			out);
}

/*
 * The record behind one of its files, to read it: for a note (note,
 * info.json), a run listed whole too long ago is listed whole again first
 * (store_notes_due). A stat does not: a walk costs only what changed.
 */
static int ti_for(struct fs *fs, const struct call *call, const struct node *n,
		  enum ti_file f, struct s_ti **out)
{
	if (f == TI_NOTE || f == TI_INFO)
		store_notes_due(fs->store, n->dag, n->run);
	return ti_of(fs, call, n, out);
}

/*
 * The record for a path walk: when the server cannot be reached, the one
 * seen last (*stale: the server's error), so the path to a final log stays.
 */
static int ti_seen(struct fs *fs, const struct call *call, const struct node *n,
		   struct s_ti **out, int *stale)
{
	return store_ti_seen(fs->store, call, n->dag, n->run, n->task,
			     n->map_index, out, stale);
}

static int child_of_logs(struct fs *fs, const struct call *call,
			 const struct node *parent, const char *name,
			 struct node *tmpl)
{
	struct s_ti *t;
	int k, stale, err = ti_seen(fs, call, parent, &t, &stale);

	if (err)
		return err;
	err = -ENOENT;
	if (!strcmp(name, "latest") && t->ti.try_number > 0) {
		tmpl->kind = N_LATEST;
		err = 0;
	} else if (!path_number(name, &k) && k >= 1 && k <= t->ti.try_number) {
		tmpl->kind = N_LOG;
		tmpl->num = k;
		err = 0;
	}
	store_put(t);
	return err;
}

/* A file of airflowfs's own in a run or DAG directory. */
static int own_child(enum ti_file f, struct node *tmpl)
{
	if (f == TI_NONE)
		return -ENOENT;
	tmpl->kind = N_FILE;
	tmpl->file = f;
	return 0;
}

/* A scratch file in a run directory (task ids never begin with '@'). */
static int run_scratch(struct fs *fs, const struct node *run, const char *name,
		       struct node *tmpl)
{
	char key[NODE_KEY_MAX];
	int err = node_ti_key(run, key);

	if (!err)
		err = scratch_find(fs->scratch, key, name, &tmpl->sid);
	if (!err)
		tmpl->kind = N_SCRATCH;
	return err;
}

/* The state a node below @by-state/STATE is about. */
static const char *bs_state_of(const struct node *n)
{
	while (n && n->kind != N_BS_STATE)
		n = n->parent;
	return n ? n->name : NULL;
}

/*
 * Whether the list of n's state holds a task instance under n with the
 * child name (n: N_BS_STATE, N_BS_DAG, N_BS_RUN or N_BS_MAPPED); sets tmpl.
 */
static int bs_child(struct fs *fs, const struct call *call,
		    const struct node *n, const char *name, struct node *tmpl)
{
	struct s_tis *t;
	int mi = -1, err;

	if (n->kind == N_BS_MAPPED && path_number(name, &mi))
		return -ENOENT;
	err = store_by_state(fs->store, call, bs_state_of(n), &t);
	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; err && i < t->n; i++) {
		const struct af_ti *ti = &t->v[i]->ti;

		switch (n->kind) {
		case N_BS_STATE:
			if (!strcmp(ti->dag_id, name)) {
				tmpl->kind = N_BS_DAG;
				err = 0;
			}
			break;
		case N_BS_DAG:
			if (!strcmp(ti->dag_id, n->dag) &&
			    !strcmp(ti->run_id, name)) {
				tmpl->kind = N_BS_RUN;
				err = 0;
			}
			break;
		case N_BS_RUN:
			if (!strcmp(ti->dag_id, n->dag) &&
			    !strcmp(ti->run_id, n->run) &&
			    !strcmp(ti->task_id, name)) {
				tmpl->kind = ti->map_index >= 0 ? N_BS_MAPPED
								: N_BS_LINK;
				err = 0;
			}
			break;
		default: /* N_BS_MAPPED */
			if (!strcmp(ti->dag_id, n->dag) &&
			    !strcmp(ti->run_id, n->run) &&
			    !strcmp(ti->task_id, n->task) &&
			    ti->map_index == mi && mi >= 0) {
				tmpl->kind = N_BS_LINK;
				tmpl->num = mi;
				err = 0;
			}
		}
	}
	store_put(t);
	return err;
}

int node_child(struct fs *fs, const struct call *call,
	       const struct node *parent, const char *name, struct node *tmpl)
{
	struct store *s = fs->store;
	struct s_ti *t;
	int mapped, mi, stale, err;

	memset(tmpl, 0, sizeof(*tmpl));
	switch (parent->kind) {
	case N_ROOT:
		if (!strcmp(name, ".stats")) {
			tmpl->kind = N_STATS;
			return 0;
		}
		if (!strcmp(name, "@by-state")) {
			tmpl->kind = N_BYSTATE;
			return 0;
		}
		if (!path_id_ok(name) || store_dag_known(s, name) == KNOWN_NOT)
			return -ENOENT;
		tmpl->kind = N_DAG; /* on trust until checked */
		return 0;
	case N_DAG:
		if (name[0] == '@') /* ours; a run named so is left out */
			return own_child(path_dag_file(name), tmpl);
		if (!path_id_ok(name) ||
		    store_run_known(s, parent->dag, name) == KNOWN_NOT)
			return -ENOENT;
		tmpl->kind = N_RUN;
		return 0;
	case N_RUN:
		if (!path_id_ok(name))
			return -ENOENT;
		if (run_scratch(fs, parent, name, tmpl) == 0)
			return 0;
		if (name[0] == '@')
			return own_child(path_run_file(name), tmpl);
		err = store_task(s, call, parent->dag, parent->run, name,
				 &mapped);
		tmpl->kind = mapped ? N_MAPPED : N_TI;
		return err;
	case N_MAPPED:
		if (path_number(name, &mi))
			return -ENOENT;
		err = store_ti_seen(s, call, parent->dag, parent->run,
				    parent->task, mi, &t, &stale);
		store_put(t);
		tmpl->kind = N_TI;
		tmpl->num = mi;
		return err;
	case N_TI:
		tmpl->file = path_ti_file(name);
		if (tmpl->file == TI_NONE) {
			char key[NODE_KEY_MAX];

			tmpl->kind = N_SCRATCH;
			err = node_ti_key(parent, key);
			return err ? err
				   : scratch_find(fs->scratch, key, name,
						  &tmpl->sid);
		}
		tmpl->kind = tmpl->file == TI_LOGS ? N_LOGS : N_FILE;
		return 0;
	case N_LOGS:
		return child_of_logs(fs, call, parent, name, tmpl);
	case N_BYSTATE:
		for (int i = 0; af_states[i]; i++)
			if (!strcmp(name, af_states[i])) {
				tmpl->kind = N_BS_STATE;
				return 0;
			}
		return -ENOENT;
	case N_BS_STATE:
	case N_BS_DAG:
	case N_BS_RUN:
	case N_BS_MAPPED:
		return bs_child(fs, call, parent, name, tmpl);
	default:
		return -ENOTDIR;
	}
}

static int blob_of(const char *s, size_t len, struct cache_blob **out)
{
	*out = cache_blob_new(s, len);
	return *out ? 0 : -ENOMEM;
}

static const char *const op_names[OP_MAX] = {
	[OP_LOOKUP] = "lookup",
	[OP_GETATTR] = "getattr",
	[OP_SETATTR] = "setattr",
	[OP_OPEN] = "open",
	[OP_READ] = "read",
	[OP_WRITE] = "write",
	[OP_FLUSH] = "flush",
	[OP_RELEASE] = "release",
	[OP_OPENDIR] = "opendir",
	[OP_READDIR] = "readdir",
	[OP_RELEASEDIR] = "releasedir",
	[OP_READLINK] = "readlink",
	[OP_OPEN_KEEP] = "open_keep_cache",
	[OP_OPENDIR_KEEP] = "opendir_keep_cache",
	[OP_INVAL_ATTR] = "inval_attr",
};

/* The URL without any user information (user:password@). */
static void url_shown(const char *url, char *buf, size_t size)
{
	const char *host = strstr(url, "://");
	const char *end, *at;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	while (at && memchr(at + 1, '@', (size_t)(end - at - 1)))
		at = memchr(at + 1, '@', (size_t)(end - at - 1));
	if (at)
		snprintf(buf, size, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(buf, size, "%s", url);
}

/*
 * What a person asks first: the server, its versions, how long this mount
 * has run, and the last error and when it happened ("-": none yet).
 */
static size_t render_about(struct fs *fs, char *buf, size_t size)
{
	char url[1024], err[512], when[32] = "-";
	time_t t = log_last_error(err, sizeof(err));
	long up = (long)difftime(time(NULL), fs->started);
	struct tm tm;
	int n;

	url_shown(fs->cfg->url, url, sizeof(url));
	if (t && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(buf, size,
		     "url %s\n"
		     "api %s\n"
		     "airflow_version %s\n"
		     "uptime_seconds %ld\n"
		     "last_error %s\n"
		     "last_error_time %s\n",
		     url, airflow_api_name(fs->af),
		     airflow_server_version(fs->af) ?: "-", up > 0 ? up : 0,
		     t ? err : "-", when);
	return n < 0 ? 0 : (size_t)n;
}

static int render_stats(struct fs *fs, struct cache_blob **out)
{
	const char *const *names;
	struct http_stats hs;
	struct store_stats ss;
	uint64_t counts[32], ra_queued, ra_done;
	size_t kinds, n;
	char buf[4096];

	airflow_stats(fs->af, &hs);
	store_get_stats(fs->store, &ss);
	kinds = airflow_request_kinds(fs->af, &names, counts, 32);
	n = (size_t)snprintf(
		buf, sizeof(buf),
		"requests %llu\n"
		"retries %llu\n"
		"errors %llu\n"
		"bytes_received %llu\n",
		(unsigned long long)hs.requests, (unsigned long long)hs.retries,
		(unsigned long long)hs.errors, (unsigned long long)hs.bytes);
	for (size_t i = 0; i < kinds && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "requests_%s %llu\n", names[i],
				      (unsigned long long)counts[i]);
	readahead_stats(fs->ra, &ra_queued, &ra_done);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "readahead_queued %llu\n"
				      "readahead_done %llu\n"
				      "readahead_used %llu\n"
				      "readahead_wasted %llu\n",
				      (unsigned long long)ra_queued,
				      (unsigned long long)ra_done,
				      (unsigned long long)ss.ra_used,
				      (unsigned long long)ss.ra_wasted);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "cache_hits %llu\n"
				      "cache_misses %llu\n"
				      "cache_evictions %llu\n"
				      "cache_entries %zu\n"
				      "cache_bytes %zu\n"
				      "disk_bytes %zu\n"
				      "disk_files %zu\n",
				      (unsigned long long)ss.cache.hits,
				      (unsigned long long)ss.cache.misses,
				      (unsigned long long)ss.cache.evictions,
				      ss.cache.entries, ss.cache.bytes,
				      ss.disk_bytes, ss.disk_files);
	for (int i = 0; i < OP_MAX && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "fuse_%s %llu\n", op_names[i],
				      (unsigned long long)__atomic_load_n(
					      &fs->ops[i], __ATOMIC_RELAXED));
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "auth_challenges %llu\n"
				      "token_commands %llu\n",
				      (unsigned long long)hs.auth_challenges,
				      (unsigned long long)hs.token_commands);
	if (n < sizeof(buf))
		n += render_about(fs, buf + n, sizeof(buf) - n);
	return blob_of(buf, n < sizeof(buf) ? n : sizeof(buf) - 1, out);
}

/* A note as a file shows it: with one newline added, empty when none. */
static int render_note(const char *note, struct cache_blob **out)
{
	if (!note || !*note)
		return blob_of("", 0, out);
	*out = cache_blob_new(note, strlen(note) + 1);
	if (!*out)
		return -ENOMEM;
	(*out)->data[(*out)->len - 1] = '\n';
	return 0;
}

/* The bytes of state, note or info.json. */
static int render_ti_file(const struct af_ti *ti, enum ti_file f,
			  struct cache_blob **out)
{
	char buf[1100];
	int n;

	switch (f) {
	case TI_STATE:
		n = snprintf(buf, sizeof(buf), "%s\n",
			     ti->state ? ti->state : "none");
		return blob_of(buf, (size_t)n < sizeof(buf) ? (size_t)n : 0,
			       out);
	case TI_NOTE:
		return render_note(ti->note, out);
	default:
		return blob_of(ti->info, ti->info_len, out);
	}
}

/* The bytes of a run's @ files (RUN_*). */
static int render_run_file(const struct af_run *r, enum ti_file f,
			   struct cache_blob **out)
{
	char buf[300];
	int n;

	switch (f) {
	case RUN_STATE:
		n = snprintf(buf, sizeof(buf), "%s\n",
			     r->state ? r->state : "none");
		return blob_of(buf, (size_t)n < sizeof(buf) ? (size_t)n : 0,
			       out);
	case RUN_NOTE:
		return render_note(r->note, out);
	case RUN_CONF:
		return blob_of(r->conf ? r->conf : "{}\n",
			       r->conf ? r->conf_len : 3, out);
	default:
		return blob_of(r->info ? r->info : "", r->info_len, out);
	}
}

/* The bytes of a run's or a DAG's @ file; *mtime its time. */
static int own_content(struct fs *fs, const struct call *call,
		       const struct node *n, struct cache_blob **out,
		       time_t *mtime)
{
	struct s_run *r;
	struct s_dag *d;
	int err;

	*mtime = fs->started;
	if (n->file >= RUN_STATE && n->file <= RUN_INFO) {
		err = store_run(fs->store, call, n->dag, n->run, &r);
		if (err)
			return err;
		if (r->run.mtime)
			*mtime = r->run.mtime;
		err = render_run_file(&r->run, n->file, out);
		store_put(r);
		return err;
	}
	err = store_dag_info(fs->store, call, n->dag, &d);
	if (err)
		return err;
	if (n->file == DAG_PAUSED)
		err = blob_of(d->dag.is_paused ? "true\n" : "false\n",
			      d->dag.is_paused ? 5 : 6, out);
	else
		err = blob_of(d->dag.info, d->dag.info_len, out);
	store_put(d);
	return err;
}

static int is_own(const struct node *n)
{
	return n->kind == N_FILE && n->file >= RUN_STATE;
}

/* The bytes of file n; reading: for a reader, not for a stat. */
static int content(struct fs *fs, const struct call *call, const struct node *n,
		   struct cache_blob **out, int *final, int reading)
{
	struct s_ti *t;
	time_t mtime;
	int err;

	*final = 0;
	*out = NULL;
	if (n->kind == N_STATS)
		return render_stats(fs, out);
	if (n->kind != N_FILE)
		return -EISDIR;
	if (is_own(n))
		return own_content(fs, call, n, out, &mtime);
	err = reading ? ti_for(fs, call, n, n->file, &t)
		      : ti_of(fs, call, n, &t);
	if (err)
		return err;
	if (n->file == TI_LINKS) {
		readahead_after(fs->ra, n->dag, n->run, t->ti.task_id,
				t->ti.map_index);
		err = store_links(fs->store, call, &t->ti, n->dag, n->run, out);
	} else
		err = render_ti_file(&t->ti, n->file, out);
	store_put(t);
	return err;
}

int node_content(struct fs *fs, const struct call *call, const struct node *n,
		 struct cache_blob **out, int *final)
{
	return content(fs, call, n, out, final, 1);
}

int node_log(struct fs *fs, const struct call *call, const struct node *n,
	     struct s_log **out)
{
	struct s_ti *t;
	int stale, err;

	*out = NULL;
	if (n->kind != N_LOG)
		return -EINVAL;
	err = ti_seen(fs, call, n, &t, &stale);
	if (err)
		return err;
	if (!stale) {
		readahead_after(fs->ra, n->dag, n->run, t->ti.task_id,
				t->ti.map_index);
		err = store_log(fs->store, call, &t->ti, n->dag, n->run, n->num,
				out);
	} else if (store_log_final(fs->store, &t->ti, n->dag, n->run, n->num,
				   out)) {
		/* the server is away: only a final log, which cannot change */
		err = stale;
	}
	store_put(t);
	return err;
}

/*
 * The target of a link of @by-state: DAG/RUN/TASK[/MI] from the root,
 * relative to the link's directory. -ENAMETOOLONG when it does not fit.
 */
static int bs_target(const struct node *n, char *buf, size_t size)
{
	int len;

	if (n->map_index >= 0)
		len = snprintf(buf, size, "../../../../../%s/%s/%s/%d", n->dag,
			       n->run, n->task, n->map_index);
	else
		len = snprintf(buf, size, "../../../../%s/%s/%s", n->dag,
			       n->run, n->task);
	return len >= 0 && (size_t)len < size ? len : -ENAMETOOLONG;
}

int node_readlink(struct fs *fs, const struct call *call, const struct node *n,
		  char *buf, size_t size)
{
	struct s_ti *t;
	int err;

	if (n->kind == N_BS_LINK)
		return bs_target(n, buf, size) < 0 ? -ENAMETOOLONG : 0;
	if (n->kind != N_LATEST)
		return -EINVAL;
	err = ti_of(fs, call, n, &t);
	if (err)
		return err;
	snprintf(buf, size, "%d", t->ti.try_number);
	store_put(t);
	return 0;
}

/*
 * Every directory is 0755, whether a scratch file can be made in it or not:
 * only the owner changes anything (ops.c checks each request), and a copy
 * made with cp -r can be removed again.
 */
static void set_dir(struct stat *st, time_t mtime)
{
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_mtime = st->st_ctime = st->st_atime = mtime;
}

static void set_file(struct stat *st, mode_t perm, size_t size, time_t mtime)
{
	st->st_mode = S_IFREG | perm;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_mtime = st->st_ctime = st->st_atime = mtime;
}

/* A run's date (its start, else its logical date) if the cache has it. */
static time_t run_time(struct fs *fs, const char *dag, const char *run)
{
	struct s_run *r;
	time_t t = 0;

	if (!store_run_cached(fs->store, dag, run, &r)) {
		t = r->run.mtime;
		store_put(r);
	}
	return t;
}

/*
 * A task instance's time: its end, else its start, else its run's date as
 * known without a request (the run's record, else the logical date the
 * record carries): one that never ran sorts with its run.
 */
static time_t ti_time(struct fs *fs, const struct node *n,
		      const struct af_ti *ti)
{
	time_t t = ti->mtime;

	if (!t)
		t = run_time(fs, n->dag, n->run);
	if (!t)
		t = ti->run_date;
	return t ? t : fs->started;
}

/* A DAG's time: its newest run's once its runs are listed, else 0. */
static time_t dag_time(struct fs *fs, const char *dag)
{
	struct s_runs *r;
	time_t t = 0;

	if (store_runs_cached(fs->store, dag, &r))
		return 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->runs[i].mtime > t)
			t = r->runs[i].mtime;
	store_put(r);
	return t;
}

/*
 * A mapped task's directory: the newest time among its map indexes once
 * they are known, else its run's. Without check, nothing is asked: what is
 * not known yet gets the mount time and a timeout of 0.
 */
static int attr_mapped(struct fs *fs, const struct call *call,
		       const struct node *n, int check, struct stat *st,
		       double *timeout)
{
	struct s_tis *m;
	struct s_run *r;
	time_t t = 0;

	if (!store_mapped_cached(fs->store, n->dag, n->run, n->task, &m)) {
		for (size_t i = 0; i < m->n; i++) {
			time_t ti = ti_time(fs, n, &m->v[i]->ti);

			if (ti > t)
				t = ti;
		}
		store_put(m);
	}
	if (!t)
		t = run_time(fs, n->dag, n->run);
	if (!t && check && !store_run(fs->store, call, n->dag, n->run, &r)) {
		t = r->run.mtime;
		store_put(r);
	}
	if (!t) {
		t = fs->started;
		*timeout = 0;
	}
	set_dir(st, t);
	return 0;
}

/* A DAG or run directory: checked with the server, or taken on trust. */
static int attr_trusted(struct fs *fs, const struct call *call,
			const struct node *n, int check, struct stat *st,
			double *timeout)
{
	struct store *s = fs->store;
	enum known k = n->kind == N_DAG ? store_dag_known(s, n->dag)
					: store_run_known(s, n->dag, n->run);
	time_t mtime = fs->started;
	struct s_run *r;
	int err = 0;

	if (k == KNOWN_NOT)
		return -ENOENT;
	if (k == UNKNOWN && !check) {
		*timeout = 0;
	} else if (n->kind == N_DAG) {
		err = store_dag(s, call, n->dag);
		mtime = dag_time(fs, n->dag);
		if (!mtime) /* until its runs are listed */
			mtime = fs->started;
	} else {
		err = store_run(s, call, n->dag, n->run, &r);
		if (!err) {
			mtime = r->run.mtime ? r->run.mtime : fs->started;
			store_put(r);
		}
	}
	set_dir(st, mtime);
	return err;
}

static int attr_ti(struct fs *fs, const struct call *call, struct node *n,
		   struct stat *st, double *timeout)
{
	struct cache_blob *b = NULL;
	struct s_log *l;
	struct s_ti *t;
	int stale, final = 0, err = ti_seen(fs, call, n, &t, &stale);
	const struct af_ti *ti;
	mode_t rw = fs->cfg->ro ? 0444 : 0644;
	time_t mtime;

	if (err)
		return err;
	ti = &t->ti;
	mtime = ti_time(fs, n, ti);
	/* what the kernel is told stays true as long as the record */
	*timeout = store_ti_left(fs->store, t);
	switch (n->kind) {
	case N_TI:
	case N_LOGS:
		set_dir(st, mtime);
		break;
	case N_LATEST:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = snprintf(NULL, 0, "%d", ti->try_number);
		st->st_mtime = st->st_ctime = st->st_atime = mtime;
		break;
	case N_LOG:
		err = node_log(fs, call, n, &l);
		if (err)
			break;
		set_file(st, 0444, l->snap.len, mtime);
		*timeout = store_log_left(fs->store, l);
		if (*timeout < 0)
			*timeout = FOREVER_S;
		/* a log's bytes never change: its length names them */
		kc_told(&n->kc, l->snap.len);
		store_put(l);
		break;
	case N_FILE:
		err = content(fs, call, n, &b, &final, 0);
		if (err)
			break;
		set_file(st,
			 n->file == TI_STATE || n->file == TI_NOTE ? rw : 0444,
			 b->len, mtime);
		kc_told(&n->kc, kc_hash(b->data, b->len, 0));
		store_put(b);
		break;
	default:
		err = -EIO;
	}
	store_put(t);
	return err;
}

static int attr_own(struct fs *fs, const struct call *call, struct node *n,
		    struct stat *st)
{
	struct cache_blob *b;
	time_t mtime;
	mode_t rw = fs->cfg->ro ? 0444 : 0644;
	int err = own_content(fs, call, n, &b, &mtime);

	if (err)
		return err;
	set_file(st,
		 path_file_is_state(n->file) || path_file_is_note(n->file)
			 ? rw
			 : 0444,
		 b->len, mtime);
	kc_told(&n->kc, kc_hash(b->data, b->len, 0));
	store_put(b);
	return 0;
}

static int attr_scratch(struct fs *fs, const struct node *n, struct stat *st)
{
	struct scratch_attr a;
	int err = scratch_attr(fs->scratch, n->sid, &a);

	if (err)
		return err;
	set_file(st, a.mode, a.size, a.mtime.tv_sec);
	st->st_mtim = a.mtime;
	return 0;
}

int node_attr(struct fs *fs, const struct call *call, struct node *n, int check,
	      struct stat *st, double *timeout)
{
	struct cache_blob *b;
	int final, err = 0;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	*timeout = fs->cfg->ttl;
	switch (n->kind) {
	case N_ROOT:
	case N_BYSTATE:
	case N_BS_STATE:
	case N_BS_DAG:
	case N_BS_RUN:
	case N_BS_MAPPED:
		set_dir(st, fs->started);
		break;
	case N_BS_LINK: {
		char target[NODE_KEY_MAX];
		int len = bs_target(n, target, sizeof(target));

		if (len < 0)
			return len;
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = len;
		st->st_mtime = st->st_ctime = st->st_atime = fs->started;
		break;
	}
	case N_MAPPED:
		err = attr_mapped(fs, call, n, check, st, timeout);
		break;
	case N_STATS:
		err = node_content(fs, call, n, &b, &final);
		if (!err) {
			set_file(st, 0444, b->len, time(NULL));
			store_put(b);
		}
		*timeout = 0;
		break;
	case N_DAG:
	case N_RUN:
		err = attr_trusted(fs, call, n, check, st, timeout);
		break;
	case N_SCRATCH:
		err = attr_scratch(fs, n, st);
		*timeout = 0; /* it changes under renames: always ask */
		break;
	case N_FILE:
		if (is_own(n)) {
			err = attr_own(fs, call, n, st);
			break;
		}
		err = attr_ti(fs, call, n, st, timeout);
		break;
	default:
		err = attr_ti(fs, call, n, st, timeout);
	}
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	return err;
}

int node_listing_has_attr(const struct node *n, const char *name)
{
	if (n->kind == N_LOGS)
		return !strcmp(name, "latest");
	/* a run's or DAG's own files need its record: not for a listing */
	if ((n->kind == N_RUN || n->kind == N_DAG) && name[0] == '@')
		return 0;
	return n->kind != N_TI || path_ti_file(name) != TI_LINKS;
}

static int add_entry(struct dir_list *l, size_t *cap, const char *name,
		     mode_t type)
{
	if (!path_id_ok(name))
		return 0; /* an id that cannot be a file name is left out */
	if (l->n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct dir_entry *v = realloc(l->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		*cap = c;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return -ENOMEM;
	l->v[l->n++].type = type;
	return 0;
}

static int list_tis(struct fs *fs, const struct call *call,
		    const struct node *n, struct dir_list *l, size_t *cap)
{
	struct s_tis *t = NULL;
	int err;

	if (n->kind == N_RUN)
		err = store_tis(fs->store, call, n->dag, n->run, &t);
	else
		err = store_mapped(fs->store, call, n->dag, n->run, n->task,
				   &t);
	/* the server lists no task instances for a run that does not exist */
	if (!err && t->n == 0 && n->kind == N_RUN &&
	    store_run_known(fs->store, n->dag, n->run) != KNOWN) {
		struct s_run *r;

		err = store_run(fs->store, call, n->dag, n->run, &r);
		if (!err)
			store_put(r);
	}
	for (size_t i = 0; !err && i < t->n; i++) {
		const struct af_ti *ti = &t->v[i]->ti;
		char num[16];

		if (n->kind == N_MAPPED) {
			snprintf(num, sizeof(num), "%d", ti->map_index);
			if (ti->map_index >= 0)
				err = add_entry(l, cap, num, S_IFDIR);
		} else if (i == 0 ||
			   strcmp(ti->task_id, t->v[i - 1]->ti.task_id)) {
			/* one directory per task, mapped or not */
			err = add_entry(l, cap, ti->task_id, S_IFDIR);
		}
	}
	if (t)
		store_put(t);
	return err;
}

/* The names under n (a directory below @by-state/STATE) in its state's list. */
static int list_bs(struct fs *fs, const struct call *call, const struct node *n,
		   struct dir_list *l, size_t *cap)
{
	const char *last = NULL;
	struct s_tis *t = NULL;
	char num[16];
	int err = store_by_state(fs->store, call, bs_state_of(n), &t);

	/* the list is sorted by (dag, run, task, map_index) */
	for (size_t i = 0; !err && i < t->n; i++) {
		const struct af_ti *ti = &t->v[i]->ti;
		const char *name = NULL;
		mode_t type = S_IFDIR;

		switch (n->kind) {
		case N_BS_STATE:
			name = ti->dag_id;
			break;
		case N_BS_DAG:
			if (!strcmp(ti->dag_id, n->dag))
				name = ti->run_id;
			break;
		case N_BS_RUN:
			if (!strcmp(ti->dag_id, n->dag) &&
			    !strcmp(ti->run_id, n->run)) {
				name = ti->task_id;
				type = ti->map_index >= 0 ? S_IFDIR : S_IFLNK;
			}
			break;
		default: /* N_BS_MAPPED */
			if (!strcmp(ti->dag_id, n->dag) &&
			    !strcmp(ti->run_id, n->run) &&
			    !strcmp(ti->task_id, n->task) &&
			    ti->map_index >= 0) {
				snprintf(num, sizeof(num), "%d", ti->map_index);
				name = num;
				type = S_IFLNK;
			}
		}
		if (!name || (last && name != num && !strcmp(name, last)))
			continue;
		err = add_entry(l, cap, name, type);
		last = name;
	}
	if (t)
		store_put(t);
	return err;
}

static int list_scratch(struct fs *fs, const struct node *n, struct dir_list *l,
			size_t *cap)
{
	char key[NODE_KEY_MAX], **names;
	size_t count;
	int err = node_ti_key(n, key);

	if (!err)
		err = scratch_names(fs->scratch, key, &names, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		if (!err)
			err = add_entry(l, cap, names[i], S_IFREG);
		free(names[i]);
	}
	free(names);
	return err;
}

int node_list(struct fs *fs, const struct call *call, const struct node *n,
	      struct dir_list *out)
{
	struct s_dags *d = NULL;
	struct s_runs *r = NULL;
	struct s_ti *t;
	size_t cap = 0;
	int err = 0;
	char num[16];

	memset(out, 0, sizeof(*out));
	switch (n->kind) {
	case N_ROOT:
		err = add_entry(out, &cap, ".stats", S_IFREG);
		if (!err)
			err = add_entry(out, &cap, "@by-state", S_IFDIR);
		if (!err)
			err = store_dags(fs->store, call, &d);
		/* .stats and @-names are ours: a DAG cannot hide them */
		for (size_t i = 0; !err && i < d->names.n; i++)
			if (strcmp(d->names.v[i], ".stats") &&
			    d->names.v[i][0] != '@')
				err = add_entry(out, &cap, d->names.v[i],
						S_IFDIR);
		if (d)
			store_put(d);
		break;
	case N_DAG:
		for (int f = DAG_PAUSED; !err && f <= DAG_INFO; f++)
			err = add_entry(out, &cap, path_file_name(f), S_IFREG);
		if (!err)
			err = store_runs(fs->store, call, n->dag, &r);
		for (size_t i = 0; !err && i < r->n; i++)
			if (r->runs[i].run_id[0] != '@') /* names of ours */
				err = add_entry(out, &cap, r->runs[i].run_id,
						S_IFDIR);
		/* the server lists no runs for a DAG that does not exist */
		if (!err && r->n == 0 &&
		    store_dag_known(fs->store, n->dag) != KNOWN)
			err = store_dag(fs->store, call, n->dag);
		if (r)
			store_put(r);
		break;
	case N_RUN:
		for (int f = RUN_STATE; !err && f <= RUN_INFO; f++)
			err = add_entry(out, &cap, path_file_name(f), S_IFREG);
		if (!err)
			err = list_tis(fs, call, n, out, &cap);
		if (!err)
			err = list_scratch(fs, n, out, &cap);
		break;
	case N_MAPPED:
		err = list_tis(fs, call, n, out, &cap);
		break;
	case N_BYSTATE:
		for (int i = 0; !err && af_states[i]; i++)
			err = add_entry(out, &cap, af_states[i], S_IFDIR);
		break;
	case N_BS_STATE:
	case N_BS_DAG:
	case N_BS_RUN:
	case N_BS_MAPPED:
		err = list_bs(fs, call, n, out, &cap);
		break;
	case N_TI:
		for (int f = TI_STATE; !err && f <= TI_LOGS; f++)
			err = add_entry(out, &cap, path_ti_file_name(f),
					f == TI_LOGS ? S_IFDIR : S_IFREG);
		if (!err)
			err = list_scratch(fs, n, out, &cap);
		break;
	case N_LOGS:
		err = ti_of(fs, call, n, &t);
		if (err)
			break;
		/* the newest LOGS_LISTED tries: a try_number is the
		 * server's word, not rows it sent; older ones open by name */
		for (int k = t->ti.try_number > LOGS_LISTED
				     ? t->ti.try_number - LOGS_LISTED + 1
				     : 1;
		     !err && k <= t->ti.try_number; k++) {
			snprintf(num, sizeof(num), "%d", k);
			err = add_entry(out, &cap, num, S_IFREG);
		}
		if (!err && t->ti.try_number > 0)
			err = add_entry(out, &cap, "latest", S_IFLNK);
		store_put(t);
		break;
	default:
		err = -ENOTDIR;
	}
	if (err)
		dir_list_free(out);
	return err;
}

void dir_list_free(struct dir_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int node_ti_key(const struct node *n, char key[NODE_KEY_MAX])
{
	char mi[16];

	/* store_key refuses an id holding the separator: it would forge
	 * another directory's key */
	if (!n->task) /* a run directory: '@' is in no task id */
		return store_key(key, n->dag, n->run, "@", STORE_KEY_END);
	snprintf(mi, sizeof(mi), "%d", n->map_index);
	return store_key(key, n->dag, n->run, n->task, mi, STORE_KEY_END);
}

/* A refused state, logged with what was written (escaped) and what goes. */
static void log_rejected_state(const struct node *n, const char *buf,
			       size_t len)
{
	char shown[4 * 64 + 4];
	size_t k = 0;

	if (len && buf[len - 1] == '\n')
		len--; /* echo's */
	for (size_t i = 0; i < len && i < 64; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			k += (size_t)snprintf(shown + k, sizeof(shown) - k,
					      "\\x%02x", c);
		else
			shown[k++] = (char)c;
	}
	snprintf(shown + k, sizeof(shown) - k, "%s", len > 64 ? "..." : "");
	log_msg(LOG_ERR,
		"state of %s/%s/%s: \"%s\" is not accepted (success, failed "
		"or skipped)",
		n->dag, n->run, n->task, shown);
}

/* node_save; *asked is set once the store is asked (a request is made). */
static int save(struct fs *fs, const struct call *call, const struct node *n,
		enum ti_file file, const char *buf, size_t len, int *asked)
{
	static const char *const clear[] = {"clear", NULL};
	static const char *const run_states[] = {"success", "failed", "queued",
						 NULL};
	static const char *const paused[] = {"true", "false", NULL};
	const char *state;
	long note_len;

	if (fs->cfg->ro)
		return -EROFS;
	if ((file == TI_STATE || file == RUN_STATE || file == DAG_PAUSED) &&
	    value_blank(buf, len))
		return 0; /* nothing but white space: nothing to send */
	switch (file) {
	case TI_STATE:
		if (value_word(buf, len, clear)) {
			*asked = 1;
			return store_clear(fs->store, call, n->dag, n->run,
					   n->task, n->map_index);
		}
		state = value_state(buf, len);
		if (!state) {
			log_rejected_state(n, buf, len);
			return -EINVAL;
		}
		*asked = 1;
		return store_set_state(fs->store, call, n->dag, n->run, n->task,
				       n->map_index, state);
	case RUN_STATE:
		state = value_word(buf, len, run_states);
		if (!state)
			return -EINVAL;
		*asked = 1;
		return store_set_run_state(fs->store, call, n->dag, n->run,
					   state);
	case DAG_PAUSED:
		state = value_word(buf, len, paused);
		if (!state)
			return -EINVAL;
		*asked = 1;
		return store_set_paused(fs->store, call, n->dag,
					state[0] == 't');
	case TI_NOTE:
	case RUN_NOTE:
		note_len = value_note(buf, len);
		if (note_len < 0)
			return (int)note_len;
		*asked = 1;
		if (file == RUN_NOTE)
			return store_set_run_note(fs->store, call, n->dag,
						  n->run, buf,
						  (size_t)note_len);
		return store_set_note(fs->store, call, n->dag, n->run, n->task,
				      n->map_index, buf, (size_t)note_len);
	default:
		return -EACCES;
	}
}

int node_save(struct fs *fs, const struct call *call, const struct node *n,
	      enum ti_file file, const char *buf, size_t len)
{
	int asked = 0;

	return save(fs, call, n, file, buf, len, &asked);
}

int node_save_logged(struct fs *fs, const struct call *call,
		     const struct node *n, enum ti_file file, const char *buf,
		     size_t len)
{
	int asked = 0;
	int err = save(fs, call, n, file, buf, len, &asked);

	if (err && !asked) {
		char where[NODE_KEY_MAX];

		node_where(n, where, sizeof(where));
		log_msg(LOG_ERR, "saving %s of %s: %s", path_file_name(file),
			where, strerror(-err));
	}
	return err;
}

/* The path of what n is about, for log lines: DAG[/RUN[/TASK[/MI]]]. */
void node_where(const struct node *n, char *buf, size_t size)
{
	int len = snprintf(buf, size, "%s", n->dag ? n->dag : "");

	if (n->run && len >= 0 && (size_t)len < size)
		len += snprintf(buf + len, size - len, "/%s", n->run);
	if (n->task && len >= 0 && (size_t)len < size)
		len += snprintf(buf + len, size - len, "/%s", n->task);
	if (n->task && n->map_index >= 0 && len >= 0 && (size_t)len < size)
		snprintf(buf + len, size - len, "/%d", n->map_index);
}

int node_create(struct fs *fs, const struct node *dir, const char *name,
		mode_t mode, int excl, struct node *tmpl)
{
	char key[NODE_KEY_MAX];
	int err;

	memset(tmpl, 0, sizeof(*tmpl));
	if (dir->kind != N_TI && dir->kind != N_RUN)
		return -EPERM;
	if (fs->cfg->ro)
		return -EROFS;
	if (dir->kind == N_RUN) {
		/* a run's scratch files: what editors create exclusively,
		 * or dot files; another name could be meant as a task */
		if (path_run_file(name) != TI_NONE)
			return -EEXIST;
		if (name[0] == '@' || (!excl && name[0] != '.'))
			return -EPERM;
	} else if (path_ti_file(name) != TI_NONE) {
		return -EEXIST;
	} else if (path_ti_lookalike(name)) {
		return -EPERM; /* echo failed > State meant the real file */
	}
	err = node_ti_key(dir, key);
	if (!err)
		err = scratch_create(fs->scratch, key, name, mode, NULL, 0, 1,
				     &tmpl->sid);
	tmpl->kind = N_SCRATCH;
	return err;
}

int node_unlink(struct fs *fs, const struct node *dir, const char *name)
{
	char key[NODE_KEY_MAX];
	int err;

	uint64_t sid;

	if (dir->kind == N_RUN && !fs->cfg->ro) {
		err = node_ti_key(dir, key);
		if (!err)
			err = scratch_find(fs->scratch, key, name, &sid);
		return err ? -EPERM : scratch_unlink(fs->scratch, key, name);
	}
	if (dir->kind != N_TI || path_ti_file(name) != TI_NONE)
		return -EPERM;
	err = node_ti_key(dir, key);
	return err ? err : scratch_unlink(fs->scratch, key, name);
}

/* A scratch copy of note or state under name: what `cat` shows now. */
static int copy_to_scratch(struct fs *fs, const struct call *call,
			   const struct node *dir, const char *key,
			   enum ti_file file, const char *to, int excl,
			   uint64_t *sid)
{
	struct node f = *dir;
	struct cache_blob *b;
	time_t mtime;
	struct s_ti *t;
	int err;

	if (dir->kind == N_RUN) {
		f.kind = N_FILE;
		f.file = file;
		err = own_content(fs, call, &f, &b, &mtime);
	} else {
		err = ti_for(fs, call, dir, file, &t);
		if (err)
			return err;
		err = render_ti_file(&t->ti, file, &b);
		store_put(t);
	}
	if (err)
		return err;
	err = scratch_create(fs->scratch, key, to, 0644, b->data, b->len, excl,
			     sid);
	store_put(b);
	return err;
}

/* A scratch file saved as note or state; it is gone once saved. */
static int save_scratch(struct fs *fs, const struct call *call,
			const struct node *dir, const char *key,
			const char *from, enum ti_file file)
{
	uint64_t sid;
	size_t len;
	char *data;
	int err = scratch_find(fs->scratch, key, from, &sid);

	if (!err)
		err = scratch_content(fs->scratch, sid, &data, &len);
	if (err)
		return err;
	err = node_save_logged(fs, call, dir, file, data, len);
	free(data);
	if (!err)
		scratch_unlink(fs->scratch, key, from);
	return err;
}

int node_rename(struct fs *fs, const struct call *call, struct node *dir,
		const char *from, struct node *newdir, const char *to,
		unsigned int flags)
{
	int run = dir->kind == N_RUN;
	enum ti_file src = run ? path_run_file(from) : path_ti_file(from);
	enum ti_file dst = run ? path_run_file(to) : path_ti_file(to);
	int excl = (flags & RENAME_NOREPLACE) != 0;
	struct node tmpl = {.kind = N_SCRATCH};
	char key[NODE_KEY_MAX];
	uint64_t sid;
	int err;

	if ((dir->kind != N_TI && !run) || newdir->kind != dir->kind)
		return -EPERM;
	/* in a run directory, from is a scratch file or one of ours */
	if (run && src == TI_NONE) {
		err = node_ti_key(dir, key);
		if (!err)
			err = scratch_find(fs->scratch, key, from, &sid);
		if (err)
			return -EPERM;
	}

	if (dir != newdir)
		return -EXDEV;
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (fs->cfg->ro)
		return -EROFS;
	if (path_ti_lookalike(to))
		return -EPERM;
	err = node_ti_key(dir, key);
	if (err)
		return err;
	if (src == TI_NONE && dst == TI_NONE) {
		err = scratch_rename(fs->scratch, key, from, to, excl);
		if (!err)
			err = scratch_find(fs->scratch, key, to, &tmpl.sid);
	} else if (src == TI_NONE &&
		   (path_file_is_state(dst) || path_file_is_note(dst))) {
		if (excl)
			return -EEXIST;
		err = save_scratch(fs, call, dir, key, from, dst);
		tmpl.kind = N_FILE;
		tmpl.file = dst;
	} else if ((path_file_is_state(src) || path_file_is_note(src)) &&
		   dst == TI_NONE) {
		err = copy_to_scratch(fs, call, dir, key, src, to, excl,
				      &tmpl.sid);
	} else {
		return -EPERM;
	}
	/* the kernel's inode of from is now to */
	if (!err)
		inodes_move(fs->inodes, dir, from, to, &tmpl);
	return err;
}
