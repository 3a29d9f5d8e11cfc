/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inode table: inode numbers <-> nodes, with the kernel's lookup
 * counts. A node is one name in the tree with what it stands for (its kind
 * and the Airflow ids along its path). Inode numbers are never reused.
 * Nodes stay while the kernel holds a lookup on them or on a child.
 */
#ifndef AFS_INODE_H
#define AFS_INODE_H

#include <stdint.h>

#include "kcache.h"
#include "path.h"

enum node_kind {
	N_ROOT,
	N_STATS, /* .stats */
	N_DAG,
	N_RUN,
	N_TI,	  /* a task instance directory */
	N_MAPPED, /* a mapped task: directories of map indexes */
	N_FILE,	  /* state, note, links.json, info.json (see file) */
	N_LOGS,
	N_LOG,	     /* logs/N: num is the try */
	N_LATEST,    /* logs/latest */
	N_SCRATCH,   /* a scratch file in a task instance directory (sid) */
	N_BYSTATE,   /* @by-state */
	N_BS_STATE,  /* @by-state/STATE: the state is its name */
	N_BS_DAG,    /* @by-state/STATE/DAG */
	N_BS_RUN,    /* @by-state/STATE/DAG/RUN */
	N_BS_MAPPED, /* @by-state/STATE/DAG/RUN/TASK of map indexes */
	N_BS_LINK,   /* a link to a task instance (num: its map index) */
};

struct node {
	uint64_t ino;
	enum node_kind kind;
	enum ti_file file;
	int num;      /* N_LOG: try; N_TI below N_MAPPED: map index */
	uint64_t sid; /* N_SCRATCH: the scratch file's id */
	char *name;   /* changed only by inodes_move, under the lock */
	struct node *parent;
	/* ids of this node's path; point into names of it and its parents */
	const char *dag, *run, *task;
	int map_index;	 /* -1 for an unmapped task instance */
	struct kc kc;	 /* what the kernel may keep of it (kcache.h) */
	unsigned saving; /* saves in flight: protected by fs->saves_lock */

	/* protected by the table's lock */
	uint64_t nlookup;
	unsigned nchildren;
	int detached; /* no longer found by name */
	struct node *next_ino, *next_name;
	char **old_names; /* names before a move, kept for readers */
	size_t nold;
};

struct inodes;

/* A table holding the root (inode 1). NULL on ENOMEM. */
struct inodes *inodes_new(void);
void inodes_free(struct inodes **t);
/* The node of an inode number the kernel knows, or NULL. */
struct node *inodes_get(struct inodes *t, uint64_t ino);
/*
 * Finds the child name of parent with the kind, file and num of tmpl, or
 * adds it (a name that now stands for something else gets a new node), and
 * counts one lookup. NULL on ENOMEM.
 */
struct node *inodes_add(struct inodes *t, struct node *parent, const char *name,
			const struct node *tmpl);
/* The ino of child name of parent if the table has it, else 0. */
uint64_t inodes_find(struct inodes *t, struct node *parent, const char *name);
/*
 * After a rename of from to to in parent: the node the kernel knew as from
 * is now to, and stands for what tmpl says (kind, file, num, sid); a node
 * that was to before is no longer found by name.
 */
int inodes_move(struct inodes *t, struct node *parent, const char *from,
		const char *to, const struct node *tmpl);
/* Drops n lookups; the node goes once nothing refers to it. */
void inodes_forget(struct inodes *t, uint64_t ino, uint64_t n);
/*
 * The inode numbers the table holds now, root included: *out (malloc'd,
 * the caller frees it) gets *n of them. 0 or -ENOMEM.
 */
int inodes_list(struct inodes *t, uint64_t **out, size_t *n);

#endif
