// SPDX-License-Identifier: Apache-2.0
/* Unit tests of fs/inode.c: lookups, ids along a path, moves, forget. */
#include <stdio.h>

#include "check.h"
#include "inode.h"

static struct node tmpl(enum node_kind kind, enum ti_file file, int num)
{
	struct node t = {.kind = kind, .file = file, .num = num};

	return t;
}

int main(void)
{
	struct inodes *t = inodes_new();
	struct node *root = inodes_get(t, 1), *dag, *run, *task, *ti, *note, *n;
	struct node k;
	uint64_t ino;

	CHECK(root && root->kind == N_ROOT);
	k = tmpl(N_DAG, 0, 0);
	dag = inodes_add(t, root, "etl", &k);
	k = tmpl(N_RUN, 0, 0);
	run = inodes_add(t, dag, "r1", &k);
	k = tmpl(N_MAPPED, 0, 0);
	task = inodes_add(t, run, "process", &k);
	k = tmpl(N_TI, 0, 3);
	ti = inodes_add(t, task, "3", &k);
	k = tmpl(N_FILE, TI_NOTE, 0);
	note = inodes_add(t, ti, "note", &k);
	CHECK_STR(note->dag, "etl");
	CHECK_STR(note->run, "r1");
	CHECK_STR(note->task, "process");
	CHECK(note->map_index == 3 && ti->map_index == 3 &&
	      task->map_index == -1);
	/* a second lookup finds the same node */
	CHECK(inodes_add(t, ti, "note", &k) == note && note->nlookup == 2);
	CHECK(inodes_find(t, ti, "note") == note->ino);
	CHECK(inodes_get(t, note->ino) == note);
	/* a name that now stands for something else gets a new node */
	k = tmpl(N_SCRATCH, 0, 0);
	k.sid = 7;
	n = inodes_add(t, ti, "x", &k);
	k.sid = 8;
	CHECK(inodes_add(t, ti, "x", &k) != n);
	/* note renamed to note~: the kernel's inode of note is now note~ */
	k.sid = 9;
	CHECK(inodes_move(t, ti, "note", "note~", &k) == 0);
	CHECK(note->kind == N_SCRATCH && note->sid == 9);
	CHECK_STR(note->name, "note~");
	CHECK(inodes_find(t, ti, "note") == 0);
	CHECK(inodes_find(t, ti, "note~") == note->ino);
	/* forget: nodes go once nothing refers to them, parents after */
	ino = note->ino;
	inodes_forget(t, ino, 2);
	CHECK(inodes_get(t, ino) == NULL);
	CHECK(inodes_get(t, ti->ino) == ti);
	/* many nodes: the table grows */
	for (int i = 0; i < 5000; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%d", i);
		k = tmpl(N_TI, 0, i);
		CHECK(inodes_add(t, task, name, &k) != NULL);
	}
	CHECK(inodes_find(t, task, "4999") != 0);
	CHECK(inodes_find(t, ti, "x") != 0);
	inodes_free(&t);
	CHECK(t == NULL);
	return CHECK_DONE();
}
