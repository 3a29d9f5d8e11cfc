/* SPDX-License-Identifier: Apache-2.0 */
/* The FUSE low-level operations table. */
#ifndef AFS_OPS_H
#define AFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops afs_ops;

struct fs;
/*
 * Frees the handles that DESTROY closed. A RELEASE the kernel still sends
 * for one after DESTROY reads it, so this runs once the session is
 * destroyed and no request can come.
 */
void ops_free(struct fs *fs);

#endif
