// SPDX-License-Identifier: Apache-2.0
/* Names and URL escaping; see path.h. */
#include <string.h>
#include <strings.h>

#include "path.h"

static const char *const ti_names[] = {
	[TI_STATE] = "state",	 [TI_NOTE] = "note", [TI_LINKS] = "links.json",
	[TI_INFO] = "info.json", [TI_LOGS] = "logs",
};

static const char *const own_names[] = {
	[RUN_STATE] = "@state",	   [RUN_NOTE] = "@note",
	[RUN_CONF] = "@conf.json", [RUN_INFO] = "@info.json",
	[DAG_PAUSED] = "@paused",  [DAG_INFO] = "@info.json",
};

static enum ti_file own_file(const char *name, enum ti_file from,
			     enum ti_file to)
{
	for (enum ti_file f = from; f <= to; f++)
		if (!strcmp(name, own_names[f]))
			return f;
	return TI_NONE;
}

enum ti_file path_run_file(const char *name)
{
	return own_file(name, RUN_STATE, RUN_INFO);
}

enum ti_file path_dag_file(const char *name)
{
	return own_file(name, DAG_PAUSED, DAG_INFO);
}

const char *path_file_name(enum ti_file f)
{
	if (f >= RUN_STATE && f <= DAG_INFO)
		return own_names[f];
	return path_ti_file_name(f);
}

int path_file_is_state(enum ti_file f)
{
	return f == TI_STATE || f == RUN_STATE || f == DAG_PAUSED;
}

int path_file_is_note(enum ti_file f)
{
	return f == TI_NOTE || f == RUN_NOTE;
}

int path_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > 255 || strchr(id, '/') || !strcmp(id, ".") ||
	    !strcmp(id, ".."))
		return 0;
	/* a control character: not a name a listing may show */
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

enum ti_file path_ti_file(const char *name)
{
	for (int f = TI_STATE; f <= TI_LOGS; f++)
		if (!strcmp(name, ti_names[f]))
			return f;
	return TI_NONE;
}

int path_ti_lookalike(const char *name)
{
	static const char *const like[] = {"state",	 "note",   "info.json",
					   "links.json", "states", "notes"};

	if (path_ti_file(name) != TI_NONE)
		return 0;
	for (size_t i = 0; i < sizeof(like) / sizeof(*like); i++)
		if (!strcasecmp(name, like[i]))
			return 1;
	return 0;
}

const char *path_ti_file_name(enum ti_file f)
{
	return f >= TI_STATE && f <= TI_LOGS ? ti_names[f] : NULL;
}

int path_number(const char *name, int *n)
{
	size_t len = strlen(name);
	int v = 0;

	if (len == 0 || len > 9 || (name[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	*n = v;
	return 0;
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

long path_escape(char *out, size_t len, size_t cap, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = len;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if (unreserved(*p)) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p;
		} else {
			if (n + 3 >= cap)
				return -1;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return (long)n;
}
