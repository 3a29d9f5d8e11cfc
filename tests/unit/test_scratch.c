// SPDX-License-Identifier: Apache-2.0
/* Unit tests of fs/scratch.c: in-memory scratch files. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "scratch.h"

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int main(void)
{
	struct scratch *t = scratch_new(100);
	struct scratch_attr a;
	uint64_t id, id2, found;
	char buf[128] = {0}, *data, **names;
	size_t len, n;

	CHECK(scratch_create(t, "d1", ".note.swp", 0100600, "abc", 3, 1, &id) ==
	      0);
	CHECK(scratch_create(t, "d1", ".note.swp", 0600, NULL, 0, 1, &id2) ==
	      -EEXIST);
	CHECK(scratch_find(t, "d1", ".note.swp", &found) == 0 && found == id);
	CHECK(scratch_find(t, "d2", ".note.swp", &found) == -ENOENT);
	CHECK(scratch_attr(t, id, &a) == 0 && a.size == 3 && a.mode == 0600);
	CHECK(scratch_write(t, id, "XY", 2, 5) == 2);
	CHECK(scratch_read(t, id, 0, sizeof(buf), buf) == 7);
	CHECK(memcmp(buf, "abc\0\0XY", 7) == 0);
	CHECK(scratch_read(t, id, 7, 10, buf) == 0);
	CHECK(scratch_truncate(t, id, 2) == 0);
	CHECK(scratch_content(t, id, &data, &len) == 0 && len == 2 &&
	      !strcmp(data, "ab"));
	free(data);
	/* the bound covers all files together */
	CHECK(scratch_write(t, id, buf, 101, 0) == -ENOSPC);
	CHECK(scratch_create(t, "d1", "4913", 0644, NULL, 0, 0, &id2) == 0);
	CHECK(scratch_create(t, "d2", "x", 0644, buf, 99, 0, &found) ==
	      -ENOSPC);
	CHECK(scratch_names(t, "d1", &names, &n) == 0 && n == 2);
	free_names(names, n);
	/* rename keeps the id, replaces the target unless excl */
	CHECK(scratch_rename(t, "d1", "4913", ".note.swp", 1) == -EEXIST);
	CHECK(scratch_rename(t, "d1", ".note.swp", "4913", 0) == 0);
	CHECK(scratch_find(t, "d1", "4913", &found) == 0 && found == id);
	CHECK(scratch_attr(t, id2, &a) == -ENOENT);
	CHECK(scratch_rename(t, "d1", "nope", "x", 0) == -ENOENT);
	CHECK(scratch_setattr(t, id, 1, 0755, NULL) == 0);
	CHECK(scratch_attr(t, id, &a) == 0 && a.mode == 0755);
	CHECK(scratch_unlink(t, "d1", "4913") == 0);
	CHECK(scratch_unlink(t, "d1", "4913") == -ENOENT);
	CHECK(scratch_names(t, "d1", &names, &n) == 0 && n == 0);
	free_names(names, n);
	CHECK(scratch_create(t, "d2", "x", 0644, buf, 99, 0, &found) == 0);
	scratch_free(&t);
	CHECK(t == NULL);
	return CHECK_DONE();
}
