/* SPDX-License-Identifier: Apache-2.0 */
/* The FUSE low-level operations table. */
#ifndef AFS_OPS_H
#define AFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops afs_ops;

#endif
