/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON text in: the strict parse that every reader of a server's JSON goes
 * through (its pre-scan of cost, a nesting limit, well-formed UTF-8), the
 * lookup of members, and the small readers and writers that need nothing
 * more (a string literal, a login's token, a JWT's times). Readers of
 * Airflow objects are in decode.h, printing in pretty.h.
 *
 * json_object stays in the json files (json.c, decode.c, pretty.c,
 * logline.c); the rest of the code sees plain strings and structs. All
 * functions return 0 or -EIO for a body that is not the expected JSON
 * (wrong types, truncated, not JSON), -ENOMEM on allocation failure;
 * outputs are only set on success and are owned by the caller.
 */
#ifndef AFS_JSON_H
#define AFS_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* nesting limit for parsing, so printing recurses at most this deep */
#define JSON_MAX_DEPTH 64

/*
 * About the bytes json-c would take to decode body; every parse here
 * refuses (-EIO) a body whose cost is over JSON_COST_MAX, before parsing.
 */
#define JSON_COST_MAX ((size_t)32 << 20)
size_t json_decode_cost(const char *body, size_t len);

/*
 * Parses exactly len bytes, strictly, into *out (put by the caller with
 * json_object_put); JSON null gives 0 with *out NULL.
 */
int json_parse(const char *body, size_t len, struct json_object **out);
/* the same for a body that must be an array, each of whose elements may
 * be as deep as json_parse allows */
int json_parse_list(const char *body, size_t len, struct json_object **out);
/* the same for a body that must be an object */
int json_parse_object(const char *body, size_t len, struct json_object **out);
/* a member's value, NULL when absent or null (or o is no object) */
struct json_object *json_member(struct json_object *o, const char *key);
/* a string member's text and length, NULL when absent or not a string */
const char *json_str_member(struct json_object *o, const char *key, size_t *n);

/*
 * A JSON string literal, quotes included, for len bytes of s (escaped as
 * json_pretty escapes strings). *out is malloc'd.
 */
int json_quote(const char *s, size_t len, char **out);

/* {"access_token": "..."}: the token of a v2 login. */
int json_access_token(const char *body, size_t len, char **token);
/* The iat and exp claims of a JWT (iat 0 when absent); -EIO without exp. */
int json_jwt_times(const char *jwt, int64_t *iat, int64_t *exp);

#endif
