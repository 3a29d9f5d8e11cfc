/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decoder of a v1 JSON log answer; see logstream.h. The walker
 * of jsonstream.c walks the answer and hands on the "content" string,
 * unescaped, as it arrives; the repr layer here mirrors pyrepr.c rule for
 * rule but keeps its place between calls. Decoded text collects in a fixed
 * buffer that goes to the sink when it is full and at the end, so memory
 * stays bounded whatever the answer's size.
 *
 * Speed: runs of plain bytes (between repr quotes and backslashes) are
 * found in a tight loop and copied with memcpy; the per-byte state switch
 * only runs on punctuation and escapes.
 *
 * The token payload reader (logstream_token) is here too: base64url, zlib
 * when the payload starts with '.', and json-c for the JSON.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <json-c/json_object.h>

#include "b64.h"
#include "json.h"
#include "jsonstream.h"
#include "logstream.h"
#include "unicode.h"

#define OUT_CAP	    (64 * 1024) /* decoded text held before the sink */
#define TOKEN_CAP   (64 * 1024) /* longest continuation token */
#define PAYLOAD_CAP (64 * 1024) /* largest token payload, decoded */

/* the repr grammar of pyrepr.c: list(), tuple(), host(), literal() */
enum pstate {
	P_START, /* nothing yet: '[' makes a list, anything else a message */
	P_PLAIN, /* a plain message, copied as it is */
	P_LIST,	 /* after '[' or ',': '(' or ']' */
	P_HOST,	 /* after '(': a literal or None */
	P_NONE,	 /* inside None */
	P_COMMA, /* after the host: ',' */
	P_TEXT,	 /* after that comma: the text literal */
	P_AFTER, /* after the text: ',' or ')' */
	P_CLOSE, /* after the text and ',': ')' */
	P_NEXT,	 /* after a tuple: ',' or ']' */
	P_END,	 /* after ']': blanks only */
	P_LIT,	 /* inside a literal */
	P_ESC,	 /* after a backslash in a literal */
	P_HEX,	 /* in the digits of \xNN, \uNNNN or \UNNNNNNNN */
	P_OCT,	 /* after one or two octal digits */
};

struct logstream {
	logstream_sink sink;
	void *arg;
	struct jsonstream *walk;

	/* repr layer */
	enum pstate ps;
	char quote;   /* of the literal */
	int drop;     /* the literal is a host: decoded, checked, dropped */
	int pn;	      /* escape digits read */
	int pwant;    /* hex digits wanted */
	uint32_t pcp; /* their value */
	int sep;      /* a '\n' goes before the next text byte */
	int any;      /* some text was written */
	char last;    /* its last byte */

	size_t olen;
	char out[OUT_CAP];
};

/* the blanks of skip_blanks() in pyrepr.c */
static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ------------------------------------------------------------------ */
/* Output */

static int flush(struct logstream *ls)
{
	size_t n = ls->olen;

	if (!n)
		return 0;
	ls->olen = 0;
	return ls->sink(ls->arg, ls->out, n);
}

static int out(struct logstream *ls, const char *p, size_t n)
{
	size_t k;
	int r;

	while (n) {
		k = OUT_CAP - ls->olen;
		if (k > n)
			k = n;
		memcpy(ls->out + ls->olen, p, k);
		ls->olen += k;
		p += k;
		n -= k;
		if (ls->olen == OUT_CAP) {
			r = flush(ls);
			if (r)
				return r;
		}
	}
	return 0;
}

/* text bytes, after the separator that text() in pyrepr.c slides in */
static int emit(struct logstream *ls, const char *p, size_t n)
{
	int r;

	if (!n)
		return 0;
	if (ls->sep) {
		ls->sep = 0;
		r = out(ls, "\n", 1);
		if (r)
			return r;
	}
	ls->any = 1;
	ls->last = p[n - 1];
	return out(ls, p, n);
}

/* ------------------------------------------------------------------ */
/* The repr layer: pyrepr.c as a state machine */

static int lit_put(struct logstream *ls, const char *p, size_t n)
{
	return ls->drop ? 0 : emit(ls, p, n);
}

/* as put_cp() in pyrepr.c */
static int put_cp(struct logstream *ls, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp >= 0xdc80 && cp <= 0xdcff) {
		u[0] = (char)(cp - 0xdc00);
		return lit_put(ls, u, 1);
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	n = utf8(cp, u);
	if (!n)
		return -EIO;
	return lit_put(ls, u, n);
}

static void lit_start(struct logstream *ls, char quote, int drop)
{
	ls->quote = quote;
	ls->drop = drop;
	ls->ps = P_LIT;
	if (!drop)
		ls->sep = ls->any && ls->last != '\n';
}

/* after a backslash in a literal, as escape() in pyrepr.c */
static int py_escape(struct logstream *ls, char ch)
{
	static const char simple[] = "n\nt\tr\r\\\\''\"\"a\ab\bf\fv\v";
	const char *q;
	int r;

	ls->ps = P_LIT;
	for (q = simple; *q; q += 2)
		if (*q == ch)
			return lit_put(ls, q + 1, 1);
	switch (ch) {
	case 'x':
	case 'u':
	case 'U':
		ls->ps = P_HEX;
		ls->pwant = ch == 'x' ? 2 : ch == 'u' ? 4 : 8;
		ls->pn = 0;
		ls->pcp = 0;
		return 0;
	case '\n':
		return 0; /* line continuation */
	}
	if (ch >= '0' && ch <= '7') {
		ls->ps = P_OCT;
		ls->pn = 1;
		ls->pcp = (uint32_t)(ch - '0');
		return 0;
	}
	/* Python keeps an unknown escape as it is */
	r = lit_put(ls, "\\", 1);
	return r ? r : lit_put(ls, &ch, 1);
}

/*
 * One byte outside the run scanning of py_feed(): 0 when it is consumed,
 * 1 when it is to be seen again in the new state, or -errno.
 */
static int py_step(struct logstream *ls, char c)
{
	int v;

	switch (ls->ps) {
	case P_START:
		if (c == '[') {
			ls->ps = P_LIST;
			return 0;
		}
		ls->ps = P_PLAIN;
		return 1;
	case P_PLAIN:
		return emit(ls, &c, 1);
	case P_LIST:
		if (blank(c))
			return 0;
		if (c == ']')
			ls->ps = P_END;
		else if (c == '(')
			ls->ps = P_HOST;
		else
			return -EIO;
		return 0;
	case P_HOST:
		if (blank(c))
			return 0;
		if (c == 'N') {
			ls->ps = P_NONE;
			ls->pn = 1;
		} else if (c == '\'' || c == '"') {
			lit_start(ls, c, 1);
		} else {
			return -EIO;
		}
		return 0;
	case P_NONE:
		if (c != "None"[ls->pn])
			return -EIO;
		if (++ls->pn == 4)
			ls->ps = P_COMMA;
		return 0;
	case P_COMMA:
		if (blank(c))
			return 0;
		if (c != ',')
			return -EIO;
		ls->ps = P_TEXT;
		return 0;
	case P_TEXT:
		if (blank(c))
			return 0;
		if (c != '\'' && c != '"')
			return -EIO;
		lit_start(ls, c, 0);
		return 0;
	case P_AFTER:
		if (blank(c))
			return 0;
		if (c == ',')
			ls->ps = P_CLOSE;
		else if (c == ')')
			ls->ps = P_NEXT;
		else
			return -EIO;
		return 0;
	case P_CLOSE:
		if (blank(c))
			return 0;
		if (c != ')')
			return -EIO;
		ls->ps = P_NEXT;
		return 0;
	case P_NEXT:
		if (blank(c))
			return 0;
		if (c == ',')
			ls->ps = P_LIST;
		else if (c == ']')
			ls->ps = P_END;
		else
			return -EIO;
		return 0;
	case P_END:
		return blank(c) ? 0 : -EIO;
	case P_LIT:
		if (c == ls->quote) {
			ls->ps = ls->drop ? P_COMMA : P_AFTER;
			ls->sep = 0;
			return 0;
		}
		if (c == '\\') {
			ls->ps = P_ESC;
			return 0;
		}
		return lit_put(ls, &c, 1);
	case P_ESC:
		return py_escape(ls, c);
	case P_HEX:
		v = hexval(c);
		if (v < 0)
			return -EIO;
		ls->pcp = ls->pcp << 4 | (uint32_t)v;
		if (++ls->pn < ls->pwant)
			return 0;
		ls->ps = P_LIT;
		return put_cp(ls, ls->pcp);
	case P_OCT:
		if (c >= '0' && c <= '7') {
			ls->pcp = ls->pcp * 8 + (uint32_t)(c - '0');
			if (++ls->pn < 3)
				return 0;
			ls->ps = P_LIT;
			return put_cp(ls, ls->pcp);
		}
		ls->ps = P_LIT;
		v = put_cp(ls, ls->pcp);
		return v ? v : 1;
	}
	return -EIO;
}

/* the next n decoded bytes of the content string */
static int py_feed(struct logstream *ls, const char *p, size_t n)
{
	const char *end = p + n, *q;
	char quote;
	int r;

	while (p < end) {
		if (ls->ps == P_PLAIN)
			return emit(ls, p, (size_t)(end - p));
		if (ls->ps == P_LIT) {
			quote = ls->quote;
			q = p;
			while (q < end && *q != quote && *q != '\\')
				q++;
			if (q > p) {
				r = lit_put(ls, p, (size_t)(q - p));
				if (r)
					return r;
				p = q;
				continue;
			}
		}
		r = py_step(ls, *p);
		if (r < 0)
			return r;
		if (r == 0)
			p++;
	}
	return 0;
}

/* the content string ended: the repr must have ended too */
static int py_end(struct logstream *ls)
{
	if (ls->ps == P_START || ls->ps == P_PLAIN || ls->ps == P_END)
		return 0;
	return -EIO;
}

/* the content string, from the walker: a piece, or its end (NULL) */
static int py_take(void *arg, const char *p, size_t n)
{
	return p ? py_feed(arg, p, n) : py_end(arg);
}

struct logstream *logstream_new(logstream_sink sink, void *arg)
{
	struct logstream *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->walk = jsonstream_new(JSONSTREAM_STRING, 0, py_take, ls);
	if (!ls->walk) {
		free(ls);
		return NULL;
	}
	ls->sink = sink;
	ls->arg = arg;
	return ls;
}

int logstream_feed(struct logstream *ls, const char *buf, size_t len)
{
	return jsonstream_feed(ls->walk, buf, len);
}

int logstream_end(struct logstream *ls, char **token)
{
	int r = jsonstream_end(ls->walk, token);

	if (!r)
		r = flush(ls);
	if (r) {
		free(*token);
		*token = NULL;
	}
	return r;
}

void logstream_free(struct logstream **ls)
{
	if (!*ls)
		return;
	jsonstream_free(&(*ls)->walk);
	free(*ls);
	*ls = NULL;
}

/* ------------------------------------------------------------------ */
/* Continuation tokens */

/*
 * The payload: a JSON object (strict: json.c parses it) whose end_of_log
 * is a boolean and log_pos an integer from 0, either null or absent (-1);
 * other members are ignored.
 */
static int payload(const char *buf, size_t len, int *end_of_log, long *log_pos)
{
	struct json_object *o, *v;
	int64_t pos;
	int r = json_parse_object(buf, len, &o);

	if (r)
		return r == -ENOMEM ? r : -EIO;
	r = -EIO;
	*end_of_log = -1;
	*log_pos = -1;
	if ((v = json_member(o, "end_of_log"))) {
		if (!json_object_is_type(v, json_type_boolean))
			goto out;
		*end_of_log = json_object_get_boolean(v);
	}
	if ((v = json_member(o, "log_pos"))) {
		/* json-c holds 2^63 and more as uint64, and gives them to
		 * get_int64 as INT64_MAX */
		pos = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || pos < 0 ||
		    pos > LONG_MAX ||
		    (uint64_t)pos != json_object_get_uint64(v))
			goto out;
		*log_pos = (long)pos;
	}
	r = 0;
out:
	json_object_put(o);
	return r;
}

int logstream_token(const char *token, int *end_of_log, long *log_pos)
{
	const char *dot, *sig;
	unsigned char *raw = NULL, *plain = NULL;
	size_t n, rawlen;
	uLongf plainlen;
	uLong srclen;
	int packed, eol, r;
	long pos;

	if (!token)
		return -EIO;
	n = strlen(token);
	dot = strrchr(token, '.');
	if (n > TOKEN_CAP || !dot || !dot[1])
		return -EIO;
	for (sig = dot + 1; *sig; sig++)
		if (b64url_value(*sig) < 0)
			return -EIO;
	n = (size_t)(dot - token);
	packed = n && *token == '.';
	if (packed) {
		token++;
		n--;
	}
	raw = malloc(n / 4 * 3 + 3);
	if (!raw)
		return -ENOMEM;
	r = b64url_decode(token, n, raw, &rawlen);
	if (!r && packed) {
		plainlen = PAYLOAD_CAP;
		srclen = (uLong)rawlen;
		plain = malloc(PAYLOAD_CAP);
		if (!plain)
			r = -ENOMEM;
		else if (uncompress2(plain, &plainlen, raw, &srclen) != Z_OK ||
			 srclen != rawlen)
			r = -EIO;
		if (!r)
			r = payload((char *)plain, plainlen, &eol, &pos);
	} else if (!r) {
		r = payload((char *)raw, rawlen, &eol, &pos);
	}
	free(plain);
	free(raw);
	if (!r) {
		*end_of_log = eol;
		*log_pos = pos;
	}
	return r;
}
