/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Open files and directories (fuse_file_info.fh). All are linked in the
 * fs, so that those the kernel never released (it drops pending releases
 * at unmount) are released at DESTROY, a note's pending save included.
 * RELEASE and DESTROY may run at once in two threads: whichever takes a
 * handle off the list closes it.
 */
#ifndef AFS_HANDLE_H
#define AFS_HANDLE_H

#include "file.h"
#include "node.h"

struct handle {
	struct handle *prev, *next;
	int linked;	     /* on fs->handles: not yet taken by a release */
	struct node *node;   /* held by the kernel while open */
	struct file *file;   /* an open file, or */
	struct dir_list dir; /* an open directory's names */
	int kc;		     /* counted by kc_open: give kc_gen back */
	unsigned kc_gen;
};

/* A new handle, linked; NULL on ENOMEM. */
struct handle *handle_new(struct fs *fs);
/* Takes h off the list: 1 when the caller now owns it, 0 when DESTROY
 * took it first. */
int handle_take(struct fs *fs, struct handle *h);
/* Closes what h holds (a pending save is made) and frees it; h is taken. */
void handle_close(struct fs *fs, const struct call *call, struct handle *h);
/* handle_take, then handle_close if it was still linked. */
void handle_free(struct fs *fs, const struct call *call, struct handle *h);
/*
 * DESTROY: closes every handle still linked, each save within timeout
 * seconds. handles_free frees them once the session is destroyed and no
 * request can come: a RELEASE the kernel still sends reads its handle.
 */
void handles_close_all(struct fs *fs, double timeout);
void handles_free(struct fs *fs);

#endif
