/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON printed for people, as Python's json.dumps(v, indent=2,
 * ensure_ascii=False) prints it: two-space indent, "key": value, {} and []
 * when empty, UTF-8 as is, '/' not escaped, keys in the server's order,
 * doubles as repr(float). The files info.json, @info.json, @conf.json and
 * links.json are such renderings.
 */
#ifndef AFS_PRETTY_H
#define AFS_PRETTY_H

#include <stddef.h>

struct json_object;
struct sbuf;

/*
 * len bytes of JSON text (parsed as json.h says) pretty-printed, with a
 * final newline; 0, -EIO or -ENOMEM. *out is malloc'd.
 */
int json_pretty(const char *body, size_t len, char **out, size_t *out_len);
/* the same for a parsed value */
int json_render(struct json_object *o, char **out, size_t *out_len);
/* o appended to b on one line, as json.dumps(v): ", " and ": " */
void json_put_line(struct sbuf *b, struct json_object *o);

#endif
