// SPDX-License-Identifier: Apache-2.0
/* The tree's semantics over the store; see node.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node.h"
#include "value.h"

/* The kernel may keep what can never change this long. */
#define FOREVER_S 86400.0

static int ti_of(struct fs *fs, const struct node *n, struct s_ti **out)
{
	return store_ti(&fs->store, n->dag, n->run, n->task, n->map_index, out);
}

static int child_of_logs(struct fs *fs, const struct node *parent,
			 const char *name, struct node *tmpl)
{
	struct s_ti *t;
	int k, err = ti_of(fs, parent, &t);

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

int node_child(struct fs *fs, const struct node *parent, const char *name,
	       struct node *tmpl)
{
	struct store *s = &fs->store;
	struct s_ti *t;
	int mapped, mi, err;

	memset(tmpl, 0, sizeof(*tmpl));
	switch (parent->kind) {
	case N_ROOT:
		if (!strcmp(name, ".stats")) {
			tmpl->kind = N_STATS;
			return 0;
		}
		if (!path_id_ok(name) || store_dag_known(s, name) == KNOWN_NOT)
			return -ENOENT;
		tmpl->kind = N_DAG; /* on trust until checked */
		return 0;
	case N_DAG:
		if (!path_id_ok(name) ||
		    store_run_known(s, parent->dag, name) == KNOWN_NOT)
			return -ENOENT;
		tmpl->kind = N_RUN;
		return 0;
	case N_RUN:
		if (!path_id_ok(name))
			return -ENOENT;
		err = store_task(s, parent->dag, parent->run, name, &mapped);
		tmpl->kind = mapped ? N_MAPPED : N_TI;
		return err;
	case N_MAPPED:
		if (path_number(name, &mi))
			return -ENOENT;
		err = store_ti(s, parent->dag, parent->run, parent->task, mi,
			       &t);
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
		return child_of_logs(fs, parent, name, tmpl);
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

static int render_stats(struct fs *fs, struct cache_blob **out)
{
	const char *const *names;
	struct http_stats hs;
	struct cache_stats cs;
	uint64_t counts[32], ra_queued, ra_done, ra_used, ra_wasted;
	size_t kinds, n;
	char buf[4096];

	airflow_stats(fs->store.af, &hs);
	cache_get_stats(fs->store.cache, &cs);
	kinds = airflow_request_kinds(fs->store.af, &names, counts, 32);
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
	readahead_stats(fs->store.ra, &ra_queued, &ra_done);
	store_readahead_stats(&fs->store, &ra_used, &ra_wasted);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "readahead_queued %llu\n"
				      "readahead_done %llu\n"
				      "readahead_used %llu\n"
				      "readahead_wasted %llu\n",
				      (unsigned long long)ra_queued,
				      (unsigned long long)ra_done,
				      (unsigned long long)ra_used,
				      (unsigned long long)ra_wasted);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "cache_hits %llu\n"
				      "cache_misses %llu\n"
				      "cache_evictions %llu\n"
				      "cache_entries %zu\n"
				      "cache_bytes %zu\n",
				      (unsigned long long)cs.hits,
				      (unsigned long long)cs.misses,
				      (unsigned long long)cs.evictions,
				      cs.entries, cs.bytes);
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
	return blob_of(buf, n < sizeof(buf) ? n : sizeof(buf) - 1, out);
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
		if (!ti->note || !*ti->note)
			return blob_of("", 0, out);
		*out = cache_blob_new(ti->note, strlen(ti->note) + 1);
		if (!*out)
			return -ENOMEM;
		(*out)->data[(*out)->len - 1] = '\n';
		return 0;
	default:
		return blob_of(ti->info, ti->info_len, out);
	}
}

int node_content(struct fs *fs, const struct node *n, struct cache_blob **out,
		 int *final)
{
	struct s_ti *t;
	int err;

	*final = 0;
	*out = NULL;
	if (n->kind == N_STATS)
		return render_stats(fs, out);
	if (n->kind != N_FILE)
		return -EISDIR;
	err = ti_of(fs, n, &t);
	if (err)
		return err;
	if (n->file == TI_LINKS)
		err = store_links(&fs->store, &t->ti, n->dag, n->run, out);
	else
		err = render_ti_file(&t->ti, n->file, out);
	store_put(t);
	return err;
}

int node_log(struct fs *fs, const struct node *n, struct s_log **out)
{
	struct s_ti *t;
	int err;

	*out = NULL;
	if (n->kind != N_LOG)
		return -EINVAL;
	err = ti_of(fs, n, &t);
	if (err)
		return err;
	err = store_log(&fs->store, &t->ti, n->dag, n->run, n->num, out);
	store_put(t);
	return err;
}

int node_readlink(struct fs *fs, const struct node *n, char *buf, size_t size)
{
	struct s_ti *t;
	int err;

	if (n->kind != N_LATEST)
		return -EINVAL;
	err = ti_of(fs, n, &t);
	if (err)
		return err;
	snprintf(buf, size, "%d", t->ti.try_number);
	store_put(t);
	return 0;
}

static void set_dir(struct stat *st, mode_t perm, time_t mtime)
{
	st->st_mode = S_IFDIR | perm;
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

/* A DAG or run directory: checked with the server, or taken on trust. */
static int attr_trusted(struct fs *fs, const struct node *n, int check,
			struct stat *st, double *timeout)
{
	struct store *s = &fs->store;
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
		err = store_dag(s, n->dag);
	} else {
		err = store_run(s, n->dag, n->run, &r);
		if (!err) {
			mtime = r->run.mtime ? r->run.mtime : fs->started;
			store_put(r);
		}
	}
	set_dir(st, 0555, mtime);
	return err;
}

static int attr_ti(struct fs *fs, struct node *n, struct stat *st,
		   double *timeout)
{
	struct cache_blob *b = NULL;
	struct s_log *l;
	struct s_ti *t;
	int final = 0, err = ti_of(fs, n, &t);
	const struct af_ti *ti;
	mode_t rw = fs->cfg->ro ? 0444 : 0644;

	if (err)
		return err;
	ti = &t->ti;
	/* what the kernel is told stays true as long as the record */
	*timeout = store_ti_left(&fs->store, t);
	switch (n->kind) {
	case N_TI:
		set_dir(st, 0755, ti->mtime);
		break;
	case N_LOGS:
		set_dir(st, 0555, ti->mtime);
		break;
	case N_LATEST:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = snprintf(NULL, 0, "%d", ti->try_number);
		st->st_mtime = st->st_ctime = st->st_atime = ti->mtime;
		break;
	case N_LOG:
		err = node_log(fs, n, &l);
		if (err)
			break;
		set_file(st, 0444, l->len, ti->mtime);
		*timeout = store_log_left(&fs->store, l);
		if (*timeout < 0)
			*timeout = FOREVER_S;
		/* a log's bytes never change: its length names them */
		kc_told(&n->kc, l->len);
		store_put(l);
		break;
	case N_FILE:
		err = node_content(fs, n, &b, &final);
		if (err)
			break;
		set_file(st,
			 n->file == TI_STATE || n->file == TI_NOTE ? rw : 0444,
			 b->len, ti->mtime);
		kc_told(&n->kc, kc_hash(b->data, b->len, 0));
		store_put(b);
		break;
	default:
		err = -EIO;
	}
	store_put(t);
	return err;
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

int node_attr(struct fs *fs, struct node *n, int check, struct stat *st,
	      double *timeout)
{
	struct cache_blob *b;
	int final, err = 0;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	*timeout = fs->store.ttl;
	switch (n->kind) {
	case N_ROOT:
	case N_MAPPED:
		set_dir(st, 0555, fs->started);
		break;
	case N_STATS:
		err = node_content(fs, n, &b, &final);
		if (!err) {
			set_file(st, 0444, b->len, time(NULL));
			store_put(b);
		}
		*timeout = 0;
		break;
	case N_DAG:
	case N_RUN:
		err = attr_trusted(fs, n, check, st, timeout);
		break;
	case N_SCRATCH:
		err = attr_scratch(fs, n, st);
		*timeout = 0; /* it changes under renames: always ask */
		break;
	default:
		err = attr_ti(fs, n, st, timeout);
	}
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	return err;
}

int node_listing_has_attr(const struct node *n, const char *name)
{
	if (n->kind == N_LOGS)
		return !strcmp(name, "latest");
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

static int list_tis(struct fs *fs, const struct node *n, struct dir_list *l,
		    size_t *cap)
{
	struct s_tis *t = NULL;
	int err;

	if (n->kind == N_RUN)
		err = store_tis(&fs->store, n->dag, n->run, &t);
	else
		err = store_mapped(&fs->store, n->dag, n->run, n->task, &t);
	/* the server lists no task instances for a run that does not exist */
	if (!err && t->n == 0 && n->kind == N_RUN &&
	    store_run_known(&fs->store, n->dag, n->run) != KNOWN) {
		struct s_run *r;

		err = store_run(&fs->store, n->dag, n->run, &r);
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

int node_list(struct fs *fs, const struct node *n, struct dir_list *out)
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
			err = store_dags(&fs->store, &d);
		for (size_t i = 0; !err && i < d->names.n; i++)
			err = add_entry(out, &cap, d->names.v[i], S_IFDIR);
		if (d)
			store_put(d);
		break;
	case N_DAG:
		err = store_runs(&fs->store, n->dag, &r);
		for (size_t i = 0; !err && i < r->n; i++)
			err = add_entry(out, &cap, r->runs[i].run_id, S_IFDIR);
		/* the server lists no runs for a DAG that does not exist */
		if (!err && r->n == 0 &&
		    store_dag_known(&fs->store, n->dag) != KNOWN)
			err = store_dag(&fs->store, n->dag);
		if (r)
			store_put(r);
		break;
	case N_RUN:
	case N_MAPPED:
		err = list_tis(fs, n, out, &cap);
		break;
	case N_TI:
		for (int f = TI_STATE; !err && f <= TI_LOGS; f++)
			err = add_entry(out, &cap, path_ti_file_name(f),
					f == TI_LOGS ? S_IFDIR : S_IFREG);
		if (!err)
			err = list_scratch(fs, n, out, &cap);
		break;
	case N_LOGS:
		err = ti_of(fs, n, &t);
		if (err)
			break;
		for (int k = 1; !err && k <= t->ti.try_number; k++) {
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
	int len = snprintf(key, NODE_KEY_MAX, "%s\x1f%s\x1f%s\x1f%d", n->dag,
			   n->run, n->task, n->map_index);

	return len < NODE_KEY_MAX ? 0 : -ENAMETOOLONG;
}

int node_save(struct fs *fs, const struct node *n, enum ti_file file,
	      const char *buf, size_t len)
{
	const char *state;
	long note_len;

	if (fs->cfg->ro)
		return -EROFS;
	if (file == TI_STATE) {
		state = value_state(buf, len);
		if (!state)
			return -EINVAL;
		return store_set_state(&fs->store, n->dag, n->run, n->task,
				       n->map_index, state);
	}
	note_len = value_note(buf, len);
	if (note_len < 0)
		return (int)note_len;
	return store_set_note(&fs->store, n->dag, n->run, n->task, n->map_index,
			      buf, (size_t)note_len);
}

int node_create(struct fs *fs, const struct node *dir, const char *name,
		mode_t mode, struct node *tmpl)
{
	char key[NODE_KEY_MAX];
	int err;

	memset(tmpl, 0, sizeof(*tmpl));
	if (dir->kind != N_TI)
		return -EPERM;
	if (fs->cfg->ro)
		return -EROFS;
	if (path_ti_file(name) != TI_NONE)
		return -EEXIST;
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

	if (dir->kind != N_TI || path_ti_file(name) != TI_NONE)
		return -EPERM;
	err = node_ti_key(dir, key);
	return err ? err : scratch_unlink(fs->scratch, key, name);
}

/* A scratch copy of note or state under name: what `cat` shows now. */
static int copy_to_scratch(struct fs *fs, const struct node *dir,
			   const char *key, enum ti_file file, const char *to,
			   int excl, uint64_t *sid)
{
	struct cache_blob *b;
	struct s_ti *t;
	int err = ti_of(fs, dir, &t);

	if (err)
		return err;
	err = render_ti_file(&t->ti, file, &b);
	store_put(t);
	if (err)
		return err;
	err = scratch_create(fs->scratch, key, to, 0644, b->data, b->len, excl,
			     sid);
	store_put(b);
	return err;
}

/* A scratch file saved as note or state; it is gone once saved. */
static int save_scratch(struct fs *fs, const struct node *dir, const char *key,
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
	err = node_save(fs, dir, file, data, len);
	free(data);
	if (err)
		log_msg(LOG_ERR, "saving %s of %s/%s/%s: %s",
			path_ti_file_name(file), dir->dag, dir->run, dir->task,
			strerror(-err));
	else
		scratch_unlink(fs->scratch, key, from);
	return err;
}

int node_rename(struct fs *fs, struct node *dir, const char *from,
		struct node *newdir, const char *to, unsigned int flags)
{
	enum ti_file src = path_ti_file(from), dst = path_ti_file(to);
	int excl = (flags & RENAME_NOREPLACE) != 0;
	struct node tmpl = {.kind = N_SCRATCH};
	char key[NODE_KEY_MAX];
	int err;

	if (dir->kind != N_TI || newdir->kind != N_TI)
		return -EPERM;
	if (dir != newdir)
		return -EXDEV;
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (fs->cfg->ro)
		return -EROFS;
	err = node_ti_key(dir, key);
	if (err)
		return err;
	if (src == TI_NONE && dst == TI_NONE) {
		err = scratch_rename(fs->scratch, key, from, to, excl);
		if (!err)
			err = scratch_find(fs->scratch, key, to, &tmpl.sid);
	} else if (src == TI_NONE && (dst == TI_STATE || dst == TI_NOTE)) {
		if (excl)
			return -EEXIST;
		err = save_scratch(fs, dir, key, from, dst);
		tmpl.kind = N_FILE;
		tmpl.file = dst;
	} else if ((src == TI_STATE || src == TI_NOTE) && dst == TI_NONE) {
		err = copy_to_scratch(fs, dir, key, src, to, excl, &tmpl.sid);
	} else {
		return -EPERM;
	}
	/* the kernel's inode of from is now to */
	if (!err)
		inodes_move(fs->inodes, dir, from, to, &tmpl);
	return err;
}
