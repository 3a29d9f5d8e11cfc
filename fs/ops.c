// SPDX-License-Identifier: Apache-2.0
/*
 * The fuse_lowlevel_ops table: each operation finds its node, asks node.c,
 * and replies. Nothing else lives here. Errors are -errno from below,
 * passed through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "ops.h"

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	return inodes_get(fs_of(req)->inodes, ino);
}

static void afs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

static void afs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e = { 0 };
	struct node *p = node_of(req, parent), tmpl, *n;
	double timeout;
	int err;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	err = node_child(fs, p, name, &tmpl);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	n = inodes_add(fs->inodes, p, name, &tmpl);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = node_attr(fs, n, 0, &e.attr, &timeout);
	if (err) {
		inodes_forget(fs->inodes, n->ino, 1);
		fuse_reply_err(req, -err);
		return;
	}
	e.ino = n->ino;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	fuse_reply_entry(req, &e);
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
	struct node *n = node_of(req, ino);
	struct stat st;
	double timeout;
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	err = node_attr(fs_of(req), n, 1, &st, &timeout);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, timeout);
}

static void afs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = node_of(req, ino);
	char buf[32];
	int err = n ? node_readlink(fs_of(req), n, buf, sizeof(buf)) : -ESTALE;

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, buf);
}

static void afs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(req, ino);
	struct cache_blob *b;
	int final, err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		/* writing state and note comes with the write side */
		int rw = n->kind == N_FILE &&
			 (n->file == TI_STATE || n->file == TI_NOTE);

		fuse_reply_err(req, rw ? EROFS : EACCES);
		return;
	}
	err = node_content(fs_of(req), n, &b, &final);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)b;
	/* what cannot change stays in the page cache; the rest is read
	 * through, so that a read always matches the current size */
	fi->keep_cache = final;
	fi->direct_io = !final;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		store_put(b);
}

static void afs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct cache_blob *b = (struct cache_blob *)(uintptr_t)fi->fh;

	if (off < 0 || (size_t)off >= b->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, b->data + off,
			       b->len - off < size ? b->len - off : size);
}

static void afs_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	store_put((void *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void afs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct node *n = node_of(req, ino);
	struct dir_list *l = calloc(1, sizeof(*l));
	int err = !n ? -ESTALE : !l ? -ENOMEM : node_list(fs_of(req), n, l);

	if (err) {
		free(l);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)l;
	if (fuse_reply_open(req, fi)) {
		dir_list_free(l);
		free(l);
	}
}

static void afs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct dir_list *l = (struct dir_list *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* offsets: 1 and 2 are "." and "..", then one per entry */
	for (size_t i = (size_t)off; i < l->n + 2; i++) {
		struct stat st = { .st_ino = 0xffffffff }; /* unknown */
		const char *name = i == 0 ? "." : i == 1 ? ".." : l->v[i - 2].name;
		size_t need;

		st.st_mode = i < 2 ? S_IFDIR : l->v[i - 2].type;
		need = fuse_add_direntry(req, buf + used, size - used, name, &st,
					 (off_t)i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void afs_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct dir_list *l = (struct dir_list *)(uintptr_t)fi->fh;

	dir_list_free(l);
	free(l);
	fuse_reply_err(req, 0);
}

static void afs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { .f_bsize = 4096, .f_frsize = 4096,
			      .f_namemax = 255 };

	fuse_reply_statfs(req, &sv);
}

/* The tree is the server's: names are neither made nor removed here. */
static void afs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void afs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	fuse_reply_err(req, EPERM);
}

static void afs_remove(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void afs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void afs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

static void afs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void afs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}

static void afs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops afs_ops = {
	.init = afs_init,
	.lookup = afs_lookup,
	.forget = afs_forget,
	.forget_multi = afs_forget_multi,
	.getattr = afs_getattr,
	.setattr = afs_setattr,
	.readlink = afs_readlink,
	.mknod = afs_mknod,
	.mkdir = afs_mkdir,
	.unlink = afs_remove,
	.rmdir = afs_remove,
	.symlink = afs_symlink,
	.rename = afs_rename,
	.link = afs_link,
	.create = afs_create,
	.open = afs_open,
	.read = afs_read,
	.release = afs_release,
	.opendir = afs_opendir,
	.readdir = afs_readdir,
	.releasedir = afs_releasedir,
	.statfs = afs_statfs,
};
