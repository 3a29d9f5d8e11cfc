// SPDX-License-Identifier: Apache-2.0
/*
 * The fuse_lowlevel_ops table: each operation finds its node, asks node.c,
 * and replies. Errors are -errno from below, passed through. Two rules are
 * kept here, for every file alike: only the mounting user and root change
 * anything (may_change), and what an open tells the kernel to keep of a
 * file's pages (reply_open, with kcache.c). Open files and directories
 * live in handle.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "file.h"
#include "handle.h"
#include "node.h"
#include "readahead.h"
#include "ops.h"

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * Every operation that may ask the server starts its call here: what it
 * sends, retries included, ends within the mount's timeout from now.
 */
static struct call call_of(fuse_req_t req)
{
	return call_within(fs_of(req)->cfg->timeout, 0);
}

static struct node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	return inodes_get(fs_of(req)->inodes, ino);
}

/*
 * Whether the caller of req may change anything: only the mounting user
 * and root. Every request that changes something asks first and answers
 * EACCES when not, before it looks at anything or sends anything (under
 * allow_other, another user's change would otherwise reach the server with
 * the mounting user's credentials). Reads are anyone's the kernel lets in.
 */
static int may_change(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	const struct fs *fs = fuse_req_userdata(req);

	return c->uid == 0 || c->uid == fs->uid;
}

/* An open that can change the file: for writing, or truncating it. */
static int open_changes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Counts a request about n for .stats; none about .stats itself. */
static void count(struct fs *fs, const struct node *n, enum fs_op op)
{
	if (!n || n->kind != N_STATS)
		__atomic_add_fetch(&fs->ops[op], 1, __ATOMIC_RELAXED);
}

/*
 * How many task instances readahead looks ahead: 8 (make bench: 16 is no
 * faster with 8 connections), more with more connections, so that each has
 * something to fetch (three requests per task instance).
 */
static int readahead_window(int workers)
{
	return workers > 8 ? workers : 8;
}

static void afs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* threads start here, after the daemon has forked */
	fs->ra = readahead_start(fs->store, fs->cfg->readahead,
				 readahead_window(fs->cfg->readahead),
				 fs->cfg->timeout);
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/*
	 * READDIRPLUS for every part of a listing, not just its start: the
	 * attributes of what a listing holds cost no request, and then no
	 * LOOKUP follows for each name (find in a run of 20,000 task
	 * instances: 20,000 LOOKUPs fewer, make bench)
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* O_TRUNC arrives with the open: a note's save knows of it */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

/* How long a failed or stale answer waits for the kernel's repeat. */
#define REPEAT_S 1.0

/*
 * The answer to a repeat (struct failed_lookup) of name in parent by this
 * process within REPEAT_S: 1 with *out filled, else 0. It answers one
 * repeat, and goes once the process looks up a name inside it. SPEC.md: a
 * lookup that the kernel repeats after a failure fails at once with the same
 * error.
 */
static int take_repeat(struct fs *fs, fuse_ino_t parent, const char *name,
		       pid_t pid, struct failed_lookup *out)
{
	double now = mono_s();
	int found = 0;

	pthread_mutex_lock(&fs->failed_lock);
	for (int i = 0; i < FAILED_LOOKUPS; i++) {
		struct failed_lookup *f = &fs->failed[i];

		if (!f->at || f->pid != pid)
			continue;
		if (!found && now - f->at < REPEAT_S && f->parent == parent &&
		    !strcmp(f->name, name)) {
			*out = *f;
			found = 1;
			f->at = 0;
		} else if (f->ino == parent || now - f->at >= REPEAT_S) {
			f->at = 0; /* the walk went past it: no repeat */
		}
	}
	pthread_mutex_unlock(&fs->failed_lock);
	return found;
}

static void put_repeat(struct fs *fs, struct node *p, const char *name,
		       uint64_t ino, pid_t pid, int err,
		       const struct node *tmpl, const struct stat *attr)
{
	struct failed_lookup *f, *oldest;

	if (strlen(name) >= sizeof(f->name))
		return;
	pthread_mutex_lock(&fs->failed_lock);
	oldest = &fs->failed[0];
	for (int i = 0; i < FAILED_LOOKUPS; i++)
		if (fs->failed[i].at < oldest->at)
			oldest = &fs->failed[i];
	f = oldest;
	f->parent = p->ino;
	f->ino = ino;
	f->pid = pid;
	f->err = err;
	if (tmpl)
		f->tmpl = *tmpl;
	if (attr)
		f->attr = *attr;
	f->at = mono_s();
	strcpy(f->name, name);
	pthread_mutex_unlock(&fs->failed_lock);
}

/* A failed LOOKUP of a name the kernel held: its revalidation. */
static void put_failed(struct fs *fs, int held, struct node *p,
		       const char *name, pid_t pid, int err)
{
	if (held && err != ENOENT)
		put_repeat(fs, p, name, 0, pid, err, NULL, NULL);
}

/*
 * Whether what node_attr said of n comes from a record kept past its time
 * (a task instance's is told with a timeout of 0 only then).
 */
static int stale_answer(const struct node *n, double timeout)
{
	return timeout == 0 && (n->kind == N_TI || n->kind == N_LOGS ||
				n->kind == N_LOG || n->kind == N_LATEST);
}

static void reply_node(fuse_req_t req, struct fs *fs, struct node *n,
		       const struct stat *st, double timeout)
{
	struct fuse_entry_param e = {0};

	e.ino = n->ino;
	e.attr = *st;
	e.attr.st_ino = n->ino;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	/* not delivered (the request was interrupted): no lookup to count */
	if (fuse_reply_entry(req, &e) != 0)
		inodes_forget(fs->inodes, n->ino, 1);
}

static void afs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct call c = call_of(req), *call = &c;
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e = {0};
	struct node *p = node_of(req, parent), tmpl, *n;
	struct failed_lookup rep;
	double timeout;
	pid_t pid;
	int held, err;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	pid = fuse_req_ctx(req)->pid;
	held = inodes_find(fs->inodes, p, name) != 0;
	if (take_repeat(fs, parent, name, pid, &rep)) {
		count(fs, NULL, OP_LOOKUP);
		n = rep.err ? NULL : inodes_add(fs->inodes, p, name, &rep.tmpl);
		if (n)
			reply_node(req, fs, n, &rep.attr, 0);
		else
			fuse_reply_err(req, rep.err ? rep.err : ENOMEM);
		return;
	}
	err = node_child(fs, call, p, name, &tmpl);
	if (err || tmpl.kind != N_STATS)
		count(fs, NULL, OP_LOOKUP);
	if (err)
		put_failed(fs, held, p, name, pid, -err);
	if (err == -ENOENT) {
		/* the kernel may remember the absence as long as we do */
		e.entry_timeout = fs->cfg->ttl;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	n = inodes_add(fs->inodes, p, name, &tmpl);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = node_attr(fs, call, n, 0, &e.attr, &timeout);
	if (err) {
		put_failed(fs, held, p, name, pid, -err);
		inodes_forget(fs->inodes, n->ino, 1);
		fuse_reply_err(req, -err);
		return;
	}
	if (stale_answer(n, timeout))
		put_repeat(fs, p, name, n->ino, pid, 0, &tmpl, &e.attr);
	reply_node(req, fs, n, &e.attr, timeout);
}

static void afs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void afs_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inodes_forget(fs_of(req)->inodes, forgets[i].ino,
			      forgets[i].nlookup);
	fuse_reply_none(req);
}

static void afs_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct node *n = node_of(req, ino);
	struct stat st;
	double timeout;
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	count(fs_of(req), n, OP_GETATTR);
	err = node_attr(fs_of(req), call, n, 1, &st, &timeout);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, timeout);
}

static void afs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct call c = call_of(req), *call = &c;
	struct node *n = node_of(req, ino);
	char buf[NODE_KEY_MAX]; /* a link of @by-state: DAG/RUN/TASK/MI */
	int err = n ? node_readlink(fs_of(req), call, n, buf, sizeof(buf))
		    : -ESTALE;

	count(fs_of(req), n, OP_READLINK);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, buf);
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static struct file *file_of(struct fuse_file_info *fi)
{
	return handle_of(fi)->file;
}

static void afs_destroy(void *userdata)
{
	struct fs *fs = userdata;

	readahead_stop(&fs->ra);
	/* saves left pending by open files: each within the timeout */
	handles_close_all(fs, fs->cfg->timeout);
}

/*
 * The size the kernel holds of n may be of other content: it is to ask
 * again before it reads through its page cache (a read up to a stale size
 * would cut the new content short, or show bytes past its end).
 */
static void inval_attr(struct fs *fs, struct node *n)
{
	count(fs, n, OP_INVAL_ATTR);
	if (fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, n->ino, -1, 0);
}

/* Replies to an open or a create of n with its open file. */
static void reply_open(fuse_req_t req, const struct call *call, struct node *n,
		       struct fuse_file_info *fi, struct fuse_entry_param *e)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_new(fs);
	enum file_cache how = FC_DIRECT;
	struct kc_open o = {0};
	uint64_t hash = 0;
	int err = h ? file_open(fs, call, n, fi->flags, &h->file, &how, &hash)
		    : -ENOMEM;

	count(fs, n, OP_OPEN);
	if (err) {
		if (h)
			handle_free(fs, call, h);
		if (e)
			inodes_forget(fs->inodes, n->ino, 1);
		fuse_reply_err(req, -err);
		return;
	}
	h->node = n;
	fi->fh = (uintptr_t)h;
	/*
	 * What cannot change (a final log) stays in the page cache; an open
	 * snapshot goes through it too, and keeps what the kernel holds
	 * while it is the same content (kcache.h). The rest is read and
	 * written through, so that a read matches the current size.
	 */
	fi->direct_io = how == FC_DIRECT;
	fi->keep_cache = 0;
	if (how == FC_SNAPSHOT) {
		kc_open(&n->kc, hash, &o);
		h->kc = 1;
		h->kc_gen = o.gen;
		fi->keep_cache = o.keep;
	} else if (how == FC_FINAL) {
		fi->keep_cache = 1;
		o.inval_attr = kc_stale_size(&n->kc, hash);
	} else if (open_changes(fi->flags)) {
		kc_forget(&n->kc); /* writes: size and pages change */
	}
	if (o.inval_attr)
		inval_attr(fs, n);
	if (fi->keep_cache)
		count(fs, n, OP_OPEN_KEEP);
	/* saves happen at flush: only opens for writing need it */
	fi->noflush = !open_changes(fi->flags);
	if ((e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi)) !=
	    0) {
		/* not delivered: no open file, and for a create no lookup */
		handle_free(fs, call, h);
		if (e)
			inodes_forget(fs->inodes, n->ino, 1);
	}
}

static void afs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct node *n;

	if (open_changes(fi->flags) && !may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	n = node_of(req, ino);
	if (!n)
		fuse_reply_err(req, ESTALE);
	else
		reply_open(req, call, n, fi, NULL);
}

static void afs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e = {0};
	struct node *p, tmpl, *n;
	double timeout;
	int err;

	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	p = node_of(req, parent);
	err = p ? node_create(fs, p, name, mode, (fi->flags & O_EXCL) != 0,
			      &tmpl)
		: -ESTALE;
	n = err ? NULL : inodes_add(fs->inodes, p, name, &tmpl);
	if (!err && !n)
		err = -ENOMEM;
	if (!err) {
		err = node_attr(fs, call, n, 0, &e.attr, &timeout);
		if (err)
			inodes_forget(fs->inodes, n->ino, 1);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	e.ino = n->ino;
	reply_open(req, call, n, fi, &e);
}

static void afs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	char *buf = malloc(size ? size : 1);
	long n = buf ? file_read(fs_of(req), call, file_of(fi), off, size, buf)
		     : -ENOMEM;

	count(fs_of(req), handle_of(fi)->node, OP_READ);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void afs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	long n = may_change(req) ? file_write(fs_of(req), call, file_of(fi),
					      buf, size, off)
				 : -EACCES;

	count(fs_of(req), handle_of(fi)->node, OP_WRITE);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void afs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	count(fs_of(req), handle_of(fi)->node, OP_FLUSH);
	fuse_reply_err(req, -file_flush(fs_of(req), call, file_of(fi)));
}

static void afs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	fuse_reply_err(req, -file_fsync(fs_of(req), call, file_of(fi)));
}

static void afs_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct handle *h = handle_of(fi);

	if (handle_take(fs_of(req), h)) {
		count(fs_of(req), h->node, OP_RELEASE);
		handle_close(fs_of(req), call, h);
	}
	fuse_reply_err(req, 0);
}

/* A listing's names and types, as kcache.h compares them. */
static uint64_t list_hash(const struct dir_list *l)
{
	uint64_t h = 0;

	for (size_t i = 0; i < l->n; i++) {
		h = kc_hash(l->v[i].name, strlen(l->v[i].name) + 1, h);
		h = kc_hash(&l->v[i].type, sizeof(l->v[i].type), h);
	}
	return h;
}

static void afs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct fs *fs = fs_of(req);
	struct node *n = node_of(req, ino);
	struct handle *h = handle_new(fs);
	int err = !n ? -ESTALE : !h ? -ENOMEM : node_list(fs, call, n, &h->dir);
	struct kc_open o;

	count(fs, NULL, OP_OPENDIR);
	if (err) {
		if (h)
			handle_free(fs, call, h);
		fuse_reply_err(req, -err);
		return;
	}
	h->node = n;
	fi->fh = (uintptr_t)h;
	/*
	 * The kernel keeps the listing read through this handle, and the
	 * next opendir lets it use it while the listing is the same: an
	 * expired listing is fetched again here, a new name shows, and a
	 * scratch file created or removed changes the listing (the kernel
	 * drops its copy of a directory it changed, too).
	 */
	kc_open(&n->kc, list_hash(&h->dir), &o);
	h->kc = 1;
	h->kc_gen = o.gen;
	fi->cache_readdir = 1;
	fi->keep_cache = o.keep;
	if (o.keep)
		count(fs, n, OP_OPENDIR_KEEP);
	if (fuse_reply_open(req, fi))
		handle_free(fs, call, h);
}

/* Directory offsets: 1 and 2 are "." and "..", then one per entry. */
static const char *entry_name(const struct dir_list *l, size_t i)
{
	return i == 0 ? "." : i == 1 ? ".." : l->v[i - 2].name;
}

static void afs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct dir_list *l = &handle_of(fi)->dir;
	char *buf = malloc(size);
	size_t used = 0;

	count(fs_of(req), NULL, OP_READDIR);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < l->n + 2; i++) {
		struct stat st = {.st_ino = 0xffffffff}; /* unknown */
		const char *name = entry_name(l, i);
		size_t need;

		st.st_mode = i < 2 ? S_IFDIR : l->v[i - 2].type;
		need = fuse_add_direntry(req, buf + used, size - used, name,
					 &st, (off_t)i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/*
 * READDIRPLUS: entries come with their attributes where the listing has
 * them (so ls -l costs no LOOKUP each), and without where that would cost
 * a request (links.json, log files), so that ls -R stays at list requests.
 */
static void afs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			    off_t off, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct fs *fs = fs_of(req);
	struct dir_list *l = &handle_of(fi)->dir;
	struct node *dir = node_of(req, ino), tmpl, *n;
	char *buf = malloc(size);
	size_t used = 0;

	count(fs, NULL, OP_READDIR);
	if (!buf || !dir) {
		free(buf);
		fuse_reply_err(req, buf ? ESTALE : ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < l->n + 2; i++) {
		struct fuse_entry_param e = {0};
		const char *name = entry_name(l, i);
		double timeout;
		size_t need;

		e.attr.st_mode = i < 2 ? S_IFDIR : l->v[i - 2].type;
		e.attr.st_ino = 0xffffffff; /* unknown: 0 would hide it */
		n = NULL;
		if (i >= 2 && node_listing_has_attr(dir, name) &&
		    node_child(fs, call, dir, name, &tmpl) == 0)
			n = inodes_add(fs->inodes, dir, name, &tmpl);
		if (n && node_attr(fs, call, n, 0, &e.attr, &timeout) == 0) {
			e.ino = n->ino;
			e.attr_timeout = e.entry_timeout = timeout;
		} else if (n) {
			inodes_forget(fs->inodes, n->ino, 1);
			memset(&e.attr, 0, sizeof(e.attr));
			e.attr.st_mode = l->v[i - 2].type;
			e.attr.st_ino = 0xffffffff;
		}
		need = fuse_add_direntry_plus(req, buf + used, size - used,
					      name, &e, (off_t)i + 1);
		if (need > size - used) {
			if (e.ino)
				inodes_forget(fs->inodes, e.ino, 1);
			break;
		}
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void afs_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	count(fs_of(req), NULL, OP_RELEASEDIR);
	handle_free(fs_of(req), call, handle_of(fi));
	fuse_reply_err(req, 0);
}

static void afs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {
		.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};

	fuse_reply_statfs(req, &sv);
}

/*
 * Names are made and removed only as scratch files (node.c says where):
 * the rest is EPERM, or EACCES for a caller who may change nothing.
 */
static int refused(fuse_req_t req)
{
	return may_change(req) ? EPERM : EACCES;
}

static void afs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, refused(req));
}

static void afs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	fuse_reply_err(req, refused(req));
}

static void afs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, refused(req));
}

static void afs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	fuse_reply_err(req, refused(req));
}

static void afs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	fuse_reply_err(req, refused(req));
}

static void afs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *p;

	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	p = node_of(req, parent);
	fuse_reply_err(req, p ? -node_unlink(fs_of(req), p, name) : ESTALE);
}

static void afs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	const struct call c = call_of(req), *call = &c;
	struct node *p, *np;

	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	p = node_of(req, parent);
	np = node_of(req, newparent);
	fuse_reply_err(req, p && np ? -node_rename(fs_of(req), call, p, name,
						   np, newname, flags)
				    : ESTALE);
}

static void afs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	const struct call c = call_of(req), *call = &c;
	struct fs *fs = fs_of(req);
	struct node *n;
	struct file_attr a;
	struct stat st;
	double timeout;
	int err;

	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	n = node_of(req, ino);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	count(fs, n, OP_SETATTR);
	a.size_set = (to_set & FUSE_SET_ATTR_SIZE) != 0;
	a.size = attr->st_size;
	if (a.size_set)
		kc_forget(&n->kc);
	a.mode_set = (to_set & FUSE_SET_ATTR_MODE) != 0;
	a.mode = attr->st_mode;
	a.owner_set = (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) != 0;
	a.mtime_set =
		(to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) != 0;
	a.mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &a.mtime);
	err = file_setattr(fs, call, n, fi ? file_of(fi) : NULL, &a);
	if (!err)
		err = node_attr(fs, call, n, 0, &st, &timeout);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, timeout);
}

const struct fuse_lowlevel_ops afs_ops = {
	.init = afs_init,
	.destroy = afs_destroy,
	.lookup = afs_lookup,
	.forget = afs_forget,
	.forget_multi = afs_forget_multi,
	.getattr = afs_getattr,
	.setattr = afs_setattr,
	.readlink = afs_readlink,
	.mknod = afs_mknod,
	.mkdir = afs_mkdir,
	.unlink = afs_unlink,
	.rmdir = afs_rmdir,
	.symlink = afs_symlink,
	.rename = afs_rename,
	.link = afs_link,
	.create = afs_create,
	.open = afs_open,
	.read = afs_read,
	.write = afs_write,
	.flush = afs_flush,
	.fsync = afs_fsync,
	.release = afs_release,
	.opendir = afs_opendir,
	.readdir = afs_readdir,
	.readdirplus = afs_readdirplus,
	.releasedir = afs_releasedir,
	.statfs = afs_statfs,
};
