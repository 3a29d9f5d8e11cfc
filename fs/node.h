/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What each node of the tree is: which names a directory holds, the
 * attributes of a node (and how long the kernel may keep them), and the
 * bytes of each file, rendered from the Airflow objects of the store.
 * No FUSE types here; ops.c turns these answers into replies.
 */
#ifndef AFS_NODE_H
#define AFS_NODE_H

#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "inode.h"
#include "scratch.h"
#include "store.h"

struct handle;
struct fuse_session;

/*
 * The kernel's requests, counted by ops.c for .stats; those about .stats
 * itself are left out, so that reading it changes none of them. The last
 * three count what opens told the kernel (kcache.h).
 */
enum fs_op {
	OP_LOOKUP,
	OP_GETATTR,
	OP_SETATTR,
	OP_OPEN,
	OP_READ,
	OP_WRITE,
	OP_FLUSH,
	OP_RELEASE,
	OP_OPENDIR,
	OP_READDIR, /* readdir and readdirplus */
	OP_RELEASEDIR,
	OP_READLINK,
	OP_OPEN_KEEP,	 /* opens that kept the kernel's pages */
	OP_OPENDIR_KEEP, /* opendirs that kept its cached listing */
	OP_INVAL_ATTR,	 /* opens that made it ask the size again */
	OP_MAX
};

/*
 * A LOOKUP that failed on a name the kernel held (its revalidation): the
 * kernel then drops the name and asks again at once, for the same call.
 * Or one answered from a record kept past its time because the server
 * could not be reached: the same process's next path walk (ls: stat, then
 * opendir) asks again at once. ops.c answers that one repeat as before
 * (err, or tmpl and attr), without a request.
 */
struct failed_lookup {
	uint64_t parent, ino; /* ino: of what was answered, else 0 */
	pid_t pid;
	int err;
	struct node tmpl;
	struct stat attr;
	double at; /* monotonic seconds; 0: free */
	char name[256];
};

#define FAILED_LOOKUPS 16

struct fs {
	const struct config *cfg;
	pthread_mutex_t failed_lock;
	struct failed_lookup failed[FAILED_LOOKUPS]; /* by failed_lock */
	struct fuse_session *se; /* for notifications to the kernel */
	uint64_t ops[OP_MAX];	 /* counted atomically */
	struct airflow *af;
	struct store *store;
	struct readahead *ra; /* told of what readers fetch; may be NULL */
	struct inodes *inodes;
	struct scratch *scratch;
	pthread_mutex_t handles_lock;
	struct handle *handles; /* open files and directories (handle.c) */
	struct handle *closed;	/* those DESTROY closed: handles_free */
	/* saves of state and note in flight (node->saving), for file.c */
	pthread_mutex_t saves_lock;
	pthread_cond_t saves_done;
	uid_t uid;
	gid_t gid;
	time_t started;
};

struct dir_entry {
	char *name;
	mode_t type; /* S_IFDIR, S_IFREG or S_IFLNK */
};

struct dir_list {
	struct dir_entry *v;
	size_t n;
};

/*
 * What name in parent stands for: fills tmpl's kind, file and num. May ask
 * the server (a task's kind, a map index). -ENOENT when it is nothing.
 */
int node_child(struct fs *fs, const struct call *call,
	       const struct node *parent, const char *name, struct node *tmpl);
/*
 * The attributes of n and how long the kernel may keep them (and the
 * name): what remains of the lifetime in the cache of what they come
 * from. With check, a DAG or run taken on trust is checked with the
 * server; without, it gets a timeout of 0 so that the next stat checks it.
 * The kernel is told of a file's size: kcache.h hears of it.
 */
int node_attr(struct fs *fs, const struct call *call, struct node *n, int check,
	      struct stat *st, double *timeout);
/*
 * Whether the attributes of name in directory n come without a request of
 * their own once n is listed: not for links.json and log files, whose size
 * needs their content.
 */
int node_listing_has_attr(const struct node *n, const char *name);
/* The names in directory n ("." and ".." not included). */
int node_list(struct fs *fs, const struct call *call, const struct node *n,
	      struct dir_list *out);
void dir_list_free(struct dir_list *l);
/*
 * The bytes of file n (state, note, links.json, info.json, .stats), as a
 * referenced blob (release with store_put); *final says they can never
 * change, so the kernel may keep them.
 */
int node_content(struct fs *fs, const struct call *call, const struct node *n,
		 struct cache_blob **out, int *final);
/* The log of a try (N_LOG), as store_log() says; release with store_put. */
int node_log(struct fs *fs, const struct call *call, const struct node *n,
	     struct s_log **out);
/* The target of a symbolic link (logs/latest), in buf. */
int node_readlink(struct fs *fs, const struct call *call, const struct node *n,
		  char *buf, size_t size);

/* The key of a task instance directory's scratch files. */
#define NODE_KEY_MAX STORE_KEY_MAX
int node_ti_key(const struct node *n, char key[NODE_KEY_MAX]);
/*
 * Saves len bytes written into state or note (file) of the task instance
 * of n: -EINVAL for a state other than success, failed or skipped or a
 * note that is not UTF-8 or holds a NUL, -EFBIG for a note over 1000
 * characters (nothing sent either way), -EROFS on a read-only mount, else
 * what the server said. A state of nothing but white space sends nothing
 * and is 0.
 */
int node_save(struct fs *fs, const struct call *call, const struct node *n,
	      enum ti_file file, const char *buf, size_t len);
/*
 * node_save, logging a failure ("saving note of DAG/RUN/TASK: ...") that
 * happened before any request: a refused value, a read-only mount. A
 * request that failed is logged once, by airflow.c, with its method, URL,
 * status and the server's message.
 */
int node_save_logged(struct fs *fs, const struct call *call,
		     const struct node *n, enum ti_file file, const char *buf,
		     size_t len);
/*
 * A rename in a task instance directory (SPEC.md "note"): scratch files
 * among themselves, a scratch file onto note or state (saved, in one
 * PATCH), note or state onto a scratch name (a scratch copy; they stay).
 * Anything else is -EPERM, or -EXDEV between two directories.
 */
int node_rename(struct fs *fs, const struct call *call, struct node *dir,
		const char *from, struct node *newdir, const char *to,
		unsigned int flags);
/*
 * Creates a scratch file (sets tmpl) in directory dir: any new name in a
 * task instance directory; in a run directory one created exclusively
 * (excl) or beginning with '.'; -EPERM elsewhere.
 */
int node_create(struct fs *fs, const struct node *dir, const char *name,
		mode_t mode, int excl, struct node *tmpl);
/* DAG[/RUN[/TASK[/MI]]] of n, for log lines. */
void node_where(const struct node *n, char *buf, size_t size);
int node_unlink(struct fs *fs, const struct node *dir, const char *name);

#endif
