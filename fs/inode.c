// SPDX-License-Identifier: Apache-2.0
/*
 * Inode table; see inode.h. Two chained hash tables over the same nodes:
 * by inode number, and by (parent, name). Lock order: this lock is a leaf.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "inode.h"

struct inodes {
	pthread_mutex_t lock;
	/* protected by lock */
	struct node **by_ino, **by_name;
	size_t nbuckets, count;
	uint64_t next_ino;
	struct node *root;
};

static size_t hash_ino(uint64_t ino, size_t nb)
{
	return (size_t)(ino * 0x9E3779B97F4A7C15ull >> 20) & (nb - 1);
}

static size_t hash_name(const struct node *parent, const char *name, size_t nb)
{
	/* not FNV1A_BASIS (a digit short of it): any seed spreads names */
	uint64_t h =
		fnv1a(name, strlen(name), 1469598103934665603ull ^ parent->ino);

	return (size_t)h & (nb - 1);
}

static void link_name(struct inodes *t, struct node *n)
{
	size_t i = hash_name(n->parent, n->name, t->nbuckets);

	n->next_name = t->by_name[i];
	t->by_name[i] = n;
	n->detached = 0;
}

static void link_node(struct inodes *t, struct node *n)
{
	size_t i = hash_ino(n->ino, t->nbuckets);

	n->next_ino = t->by_ino[i];
	t->by_ino[i] = n;
	if (n->parent)
		link_name(t, n);
}

static void unlink_name(struct inodes *t, struct node *n)
{
	struct node **pp;

	if (!n->parent || n->detached)
		return;
	pp = &t->by_name[hash_name(n->parent, n->name, t->nbuckets)];
	while (*pp != n)
		pp = &(*pp)->next_name;
	*pp = n->next_name;
	n->detached = 1;
}

static void unlink_ino(struct inodes *t, struct node *n)
{
	struct node **pp = &t->by_ino[hash_ino(n->ino, t->nbuckets)];

	while (*pp != n)
		pp = &(*pp)->next_ino;
	*pp = n->next_ino;
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nold; i++)
		free(n->old_names[i]);
	free(n->old_names);
	free(n->name);
	free(n);
}

static int grow(struct inodes *t)
{
	size_t nb = t->nbuckets * 2;
	struct node **bi = calloc(nb, sizeof(*bi)),
		    **bn = calloc(nb, sizeof(*bn));
	struct node **old = t->by_ino;
	size_t onb = t->nbuckets;

	if (!bi || !bn) {
		free(bi);
		free(bn);
		return -1;
	}
	t->by_ino = bi;
	free(t->by_name);
	t->by_name = bn;
	t->nbuckets = nb;
	for (size_t i = 0; i < onb; i++) {
		struct node *n = old[i], *next;

		for (; n; n = next) {
			int detached = n->detached;

			next = n->next_ino;
			link_node(t, n);
			if (detached) {
				/* keep it out of the name table */
				n->detached = 0;
				unlink_name(t, n);
			}
		}
	}
	free(old);
	return 0;
}

struct inodes *inodes_new(void)
{
	struct inodes *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = 1024;
	t->by_ino = calloc(t->nbuckets, sizeof(*t->by_ino));
	t->by_name = calloc(t->nbuckets, sizeof(*t->by_name));
	t->root = calloc(1, sizeof(*t->root));
	if (!t->by_ino || !t->by_name || !t->root ||
	    !(t->root->name = strdup(""))) {
		inodes_free(&t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->root->ino = 1;
	t->root->kind = N_ROOT;
	t->root->map_index = -1;
	t->root->nlookup = 1;
	t->next_ino = 2;
	link_node(t, t->root);
	t->count = 1;
	return t;
}

void inodes_free(struct inodes **tp)
{
	struct inodes *t = *tp;

	if (!t)
		return;
	for (size_t i = 0; t->by_ino && i < t->nbuckets; i++) {
		struct node *n = t->by_ino[i], *next;

		for (; n; n = next) {
			next = n->next_ino;
			node_free(n);
		}
	}
	if (t->root && !t->by_ino)
		free(t->root);
	free(t->by_ino);
	free(t->by_name);
	pthread_mutex_destroy(&t->lock);
	free(t);
	*tp = NULL;
}

static struct node *get_locked(struct inodes *t, uint64_t ino)
{
	struct node *n = t->by_ino[hash_ino(ino, t->nbuckets)];

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

struct node *inodes_get(struct inodes *t, uint64_t ino)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	n = get_locked(t, ino);
	pthread_mutex_unlock(&t->lock);
	return n;
}

static struct node *find_locked(struct inodes *t, struct node *parent,
				const char *name)
{
	struct node *n = t->by_name[hash_name(parent, name, t->nbuckets)];

	while (n && (n->parent != parent || strcmp(n->name, name)))
		n = n->next_name;
	return n;
}

uint64_t inodes_find(struct inodes *t, struct node *parent, const char *name)
{
	struct node *n;
	uint64_t ino;

	pthread_mutex_lock(&t->lock);
	n = find_locked(t, parent, name);
	ino = n ? n->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

/* The ids of a new node: its parent's, and its own name where it is one. */
static void set_ids(struct node *n)
{
	struct node *p = n->parent;

	n->dag = p->dag;
	n->run = p->run;
	n->task = p->task;
	n->map_index = p->map_index;
	switch (n->kind) {
	case N_DAG:
	case N_BS_DAG:
		n->dag = n->name;
		break;
	case N_RUN:
	case N_BS_RUN:
		n->run = n->name;
		break;
	case N_MAPPED:
	case N_BS_MAPPED:
		n->task = n->name;
		break;
	case N_BS_LINK:
		if (p->kind == N_BS_MAPPED)
			n->map_index = n->num;
		else
			n->task = n->name;
		break;
	case N_TI:
		if (p->kind == N_MAPPED)
			n->map_index = n->num;
		else
			n->task = n->name;
		break;
	default:
		break;
	}
}

struct node *inodes_add(struct inodes *t, struct node *parent, const char *name,
			const struct node *tmpl)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	n = find_locked(t, parent, name);
	if (n && (n->kind != tmpl->kind || n->file != tmpl->file ||
		  n->num != tmpl->num || n->sid != tmpl->sid)) {
		unlink_name(t, n);
		n = NULL;
	}
	if (!n) {
		if (t->count >= t->nbuckets * 2)
			grow(t);
		n = calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(name))) {
			free(n);
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
		n->ino = t->next_ino++;
		n->kind = tmpl->kind;
		n->file = tmpl->file;
		n->num = tmpl->num;
		n->sid = tmpl->sid;
		n->parent = parent;
		parent->nchildren++;
		set_ids(n);
		link_node(t, n);
		t->count++;
	}
	n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int inodes_move(struct inodes *t, struct node *parent, const char *from,
		const char *to, const struct node *tmpl)
{
	char *name = strdup(to), **old;
	struct node *x, *y;
	int err = 0;

	if (!name)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	x = find_locked(t, parent, from);
	y = find_locked(t, parent, to);
	if (y && y != x)
		unlink_name(t, y);
	if (x) {
		old = realloc(x->old_names, (x->nold + 1) * sizeof(*old));
		if (old) {
			unlink_name(t, x);
			x->old_names = old;
			x->old_names[x->nold++] = x->name;
			x->name = name;
			name = NULL;
			x->kind = tmpl->kind;
			x->file = tmpl->file;
			x->num = tmpl->num;
			x->sid = tmpl->sid;
			kc_forget(&x->kc); /* other bytes under that inode */
			link_name(t, x);
		} else {
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&t->lock);
	free(name);
	return err;
}

void inodes_forget(struct inodes *t, uint64_t ino, uint64_t count)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	n = get_locked(t, ino);
	if (n && n != t->root) {
		n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
		/* a node with neither lookups nor children goes, and so may
		 * its parent */
		while (n && n != t->root && n->nlookup == 0 &&
		       n->nchildren == 0) {
			struct node *p = n->parent;

			unlink_name(t, n);
			unlink_ino(t, n);
			t->count--;
			node_free(n);
			p->nchildren--;
			n = p;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int inodes_list(struct inodes *t, uint64_t **out, size_t *n)
{
	uint64_t *v;
	size_t k = 0;

	pthread_mutex_lock(&t->lock);
	v = malloc(t->count * sizeof(*v));
	for (size_t i = 0; v && i < t->nbuckets; i++)
		for (struct node *p = t->by_ino[i]; p && k < t->count;
		     p = p->next_ino)
			v[k++] = p->ino;
	pthread_mutex_unlock(&t->lock);
	*out = v;
	*n = k;
	return v ? 0 : -ENOMEM;
}
