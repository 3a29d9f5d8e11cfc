/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decoder of a v1 JSON log answer; see logstream.h. Two state
 * machines are stacked. The JSON layer walks the top-level object, skips
 * members it does not know, keeps the continuation token and unescapes the
 * "content" string as it arrives; each decoded run goes to the repr layer,
 * which mirrors pyrepr.c rule for rule but keeps its place between calls.
 * Decoded text collects in a fixed buffer that goes to the sink when it is
 * full and at the end, so memory stays bounded whatever the answer's size:
 * the only thing that grows is the token, and it is capped.
 *
 * Speed: runs of plain bytes (between JSON escapes, between repr quotes
 * and backslashes) are found in tight loops and copied with memcpy; the
 * per-byte state switch only runs on punctuation and escapes.
 *
 * The token payload reader (logstream_token) is here too: base64url, zlib
 * when the payload starts with '.', and a small scanner for the JSON.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "b64.h"
#include "logstream.h"

#define OUT_CAP	    (64 * 1024) /* decoded text held before the sink */
#define TOKEN_CAP   (64 * 1024) /* longest continuation token */
#define KEY_CAP	    32		/* longest member name that we compare */
#define SCALAR_CAP  64		/* longest number, true, false or null */
#define MAX_DEPTH   63		/* nesting in a skipped value, as json-c */
#define PAYLOAD_CAP (64 * 1024) /* largest token payload, decoded */

enum jstate {
	J_START,  /* before '{' */
	J_FIRST,  /* after '{': a key or '}' */
	J_KEY,	  /* after ',': a key */
	J_COLON,  /* after a key */
	J_VALUE,  /* after ':' */
	J_NEXT,	  /* after a member's value: ',' or '}' */
	J_DONE,	  /* after '}': blanks only */
	J_STR,	  /* inside a string */
	J_ESC,	  /* after a backslash in a string */
	J_HEX,	  /* in the digits of \uXXXX */
	J_LOW_BS, /* after a high surrogate: its low half's '\\'? */
	J_LOW_U,  /* after a high surrogate and '\\': 'u'? */
	J_SCALAR, /* in a number, true, false or null */
	J_NESTED, /* inside an object or array that is skipped */
};

/* what comes next inside a skipped object or array */
enum nstate {
	N_FIRST_VALUE, /* after '[': a value or ']' */
	N_VALUE,       /* after ',' in an array or ':' */
	N_FIRST_KEY,   /* after '{': a key or '}' */
	N_KEY,	       /* after ',' in an object */
	N_COLON,       /* after a key */
	N_AFTER,       /* after a value: ',' or the end of this level */
};

/* where a JSON string's decoded bytes go */
enum target { T_SKIP, T_KEY, T_CONTENT, T_TOKEN };

enum member { M_OTHER, M_CONTENT, M_TOKEN };

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
	int err; /* sticky: once set, every call returns it */

	/* JSON layer */
	enum jstate js;
	enum jstate jret; /* where a string or scalar returns to */
	enum target target;
	enum member member;
	int ndig;      /* \uXXXX digits read */
	uint32_t ucp;  /* their value */
	uint32_t high; /* a high surrogate waiting for its low half */
	enum nstate nx;
	int depth;     /* of a skipped value */
	uint64_t objs; /* bit i set: level i + 1 of it is an object */
	char key[KEY_CAP];
	size_t klen; /* KEY_CAP + 1: longer than any key of ours */
	char scalar[SCALAR_CAP];
	size_t slen;
	int have_content;
	int have_token;
	char *token; /* NUL-terminated while filled */
	size_t tlen;
	size_t tcap;

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

/* JSON's whitespace, and the blanks of skip_blanks() in pyrepr.c */
static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* code point to UTF-8; 0 when out of range */
static size_t utf8(uint32_t cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp <= 0x10ffff) {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
	return 0;
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

/* ------------------------------------------------------------------ */
/* The JSON layer */

/* bytes that end a run inside a JSON string */
static const unsigned char json_stop[256] = {
	[0 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

static int token_put(struct logstream *ls, const char *p, size_t n)
{
	size_t cap;
	char *t;

	if (memchr(p, '\0', n) || n > TOKEN_CAP - ls->tlen)
		return -EIO;
	if (ls->tlen + n >= ls->tcap) {
		cap = ls->tcap ? ls->tcap : 128;
		while (cap <= ls->tlen + n)
			cap *= 2;
		t = realloc(ls->token, cap);
		if (!t)
			return -ENOMEM;
		ls->token = t;
		ls->tcap = cap;
	}
	memcpy(ls->token + ls->tlen, p, n);
	ls->tlen += n;
	ls->token[ls->tlen] = '\0';
	return 0;
}

/* decoded bytes of the current string */
static int str_put(struct logstream *ls, const char *p, size_t n)
{
	switch (ls->target) {
	case T_CONTENT:
		return py_feed(ls, p, n);
	case T_TOKEN:
		return token_put(ls, p, n);
	case T_KEY:
		if (ls->klen > KEY_CAP || n > KEY_CAP - ls->klen) {
			ls->klen = KEY_CAP + 1;
		} else {
			memcpy(ls->key + ls->klen, p, n);
			ls->klen += n;
		}
		return 0;
	case T_SKIP:
		break;
	}
	return 0;
}

static int str_put_cp(struct logstream *ls, uint32_t cp)
{
	char u[4];

	return str_put(ls, u, utf8(cp, u));
}

/*
 * The value of a \uXXXX escape. Surrogates are paired as json-c pairs
 * them; a half without its other half becomes U+FFFD, as json-c has it.
 */
static int str_hex_done(struct logstream *ls, uint32_t cp)
{
	uint32_t hi = ls->high;
	int r;

	ls->js = J_STR;
	ls->high = 0;
	if (hi) {
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return str_put_cp(ls, 0x10000 + ((hi - 0xd800) << 10) +
						      (cp - 0xdc00));
		r = str_put_cp(ls, 0xfffd);
		if (r)
			return r;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		ls->high = cp;
		ls->js = J_LOW_BS;
		return 0;
	}
	if (cp >= 0xdc00 && cp <= 0xdfff)
		cp = 0xfffd;
	return str_put_cp(ls, cp);
}

static void str_start(struct logstream *ls, enum target t, enum jstate ret)
{
	ls->target = t;
	ls->js = J_STR;
	ls->jret = ret;
}

static int str_end(struct logstream *ls)
{
	ls->js = ls->jret;
	if (ls->target == T_CONTENT)
		return py_end(ls);
	return 0;
}

static int scalar_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '+' || c == '-' || c == '.';
}

static int scalar_first(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' ||
	       c == 'n';
}

static const char *digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* a JSON number, true, false or null */
static int scalar_ok(const char *s, size_t n)
{
	const char *p = s, *end = s + n, *q;

	if ((n == 4 && !memcmp(s, "true", 4)) ||
	    (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4)))
		return 1;
	if (p < end && *p == '-')
		p++;
	q = digits(p, end);
	if (q == p || (*p == '0' && q - p > 1))
		return 0;
	p = q;
	if (p < end && *p == '.') {
		q = digits(++p, end);
		if (q == p)
			return 0;
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = digits(p, end);
		if (q == p)
			return 0;
		p = q;
	}
	return p == end;
}

/* the token's scalar starts with 'n', so when it is well-formed it is null */
static int scalar_end(struct logstream *ls)
{
	if (!scalar_ok(ls->scalar, ls->slen))
		return -EIO;
	ls->js = ls->jret;
	return 0;
}

static void scalar_start(struct logstream *ls, char c, enum jstate ret)
{
	ls->scalar[0] = c;
	ls->slen = 1;
	ls->js = J_SCALAR;
	ls->jret = ret;
}

static int nest(struct logstream *ls, char c)
{
	if (ls->depth == MAX_DEPTH)
		return -EIO;
	if (c == '{')
		ls->objs |= (uint64_t)1 << ls->depth;
	else
		ls->objs &= ~((uint64_t)1 << ls->depth);
	ls->depth++;
	ls->nx = c == '{' ? N_FIRST_KEY : N_FIRST_VALUE;
	ls->js = J_NESTED;
	return 0;
}

static int unnest(struct logstream *ls)
{
	if (--ls->depth == 0)
		ls->js = J_NEXT;
	ls->nx = N_AFTER;
	return 0;
}

static int value_start(struct logstream *ls, char c)
{
	if (ls->member == M_CONTENT) {
		if (c != '"' || ls->have_content)
			return -EIO;
		ls->have_content = 1;
		str_start(ls, T_CONTENT, J_NEXT);
		return 0;
	}
	if (ls->member == M_TOKEN) {
		if (ls->have_token || (c != '"' && c != 'n'))
			return -EIO;
		ls->have_token = 1;
		if (c == 'n') {
			scalar_start(ls, c, J_NEXT);
			return 0;
		}
		str_start(ls, T_TOKEN, J_NEXT);
		return token_put(ls, "", 0); /* "" is a token too */
	}
	if (c == '"') {
		str_start(ls, T_SKIP, J_NEXT);
		return 0;
	}
	if (c == '{' || c == '[') {
		ls->depth = 0;
		return nest(ls, c);
	}
	if (!scalar_first(c))
		return -EIO;
	scalar_start(ls, c, J_NEXT);
	return 0;
}

/* a value inside a skipped object or array */
static int nested_value(struct logstream *ls, char c)
{
	if (c == '{' || c == '[')
		return nest(ls, c);
	ls->nx = N_AFTER;
	if (c == '"') {
		str_start(ls, T_SKIP, J_NESTED);
		return 0;
	}
	if (!scalar_first(c))
		return -EIO;
	scalar_start(ls, c, J_NESTED);
	return 0;
}

/* inside a skipped object or array */
static int nested(struct logstream *ls, char c)
{
	int obj = (ls->objs >> (ls->depth - 1)) & 1;

	if (blank(c))
		return 0;
	switch (ls->nx) {
	case N_FIRST_VALUE:
		if (c == ']')
			return unnest(ls);
		/* fall through */
	case N_VALUE:
		return nested_value(ls, c);
	case N_FIRST_KEY:
		if (c == '}')
			return unnest(ls);
		/* fall through */
	case N_KEY:
		if (c != '"')
			return -EIO;
		ls->nx = N_COLON;
		str_start(ls, T_SKIP, J_NESTED);
		return 0;
	case N_COLON:
		if (c != ':')
			return -EIO;
		ls->nx = N_VALUE;
		return 0;
	case N_AFTER:
		if (c == ',') {
			ls->nx = obj ? N_KEY : N_VALUE;
			return 0;
		}
		if (c == (obj ? '}' : ']'))
			return unnest(ls);
		return -EIO;
	}
	return -EIO;
}

static enum member which_member(const struct logstream *ls)
{
	if (ls->klen == 7 && !memcmp(ls->key, "content", 7))
		return M_CONTENT;
	if (ls->klen == 18 && !memcmp(ls->key, "continuation_token", 18))
		return M_TOKEN;
	return M_OTHER;
}

/* One byte: 0 when consumed, 1 when to be seen again, or -errno. */
static int json_step(struct logstream *ls, char c)
{
	int v;

	switch (ls->js) {
	case J_START:
		if (blank(c))
			return 0;
		if (c != '{')
			return -EIO;
		ls->js = J_FIRST;
		return 0;
	case J_FIRST:
		if (c == '}') {
			ls->js = J_DONE;
			return 0;
		}
		/* fall through */
	case J_KEY:
		if (blank(c))
			return 0;
		if (c != '"')
			return -EIO;
		ls->klen = 0;
		str_start(ls, T_KEY, J_COLON);
		return 0;
	case J_COLON:
		if (blank(c))
			return 0;
		if (c != ':')
			return -EIO;
		ls->member = which_member(ls);
		ls->js = J_VALUE;
		return 0;
	case J_VALUE:
		if (blank(c))
			return 0;
		return value_start(ls, c);
	case J_NEXT:
		if (blank(c))
			return 0;
		if (c == ',')
			ls->js = J_KEY;
		else if (c == '}')
			ls->js = J_DONE;
		else
			return -EIO;
		return 0;
	case J_DONE:
		return blank(c) ? 0 : -EIO;
	case J_STR:
		if (c == '"')
			return str_end(ls);
		if (c == '\\') {
			ls->js = J_ESC;
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return -EIO;
		return str_put(ls, &c, 1);
	case J_ESC:
		ls->js = J_STR;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			ls->js = J_HEX;
			ls->ndig = 0;
			ls->ucp = 0;
			return 0;
		default:
			return -EIO;
		}
		return str_put(ls, &c, 1);
	case J_HEX:
		v = hexval(c);
		if (v < 0)
			return -EIO;
		ls->ucp = ls->ucp << 4 | (uint32_t)v;
		if (++ls->ndig < 4)
			return 0;
		return str_hex_done(ls, ls->ucp);
	case J_LOW_BS:
	case J_LOW_U:
		if (ls->js == J_LOW_BS && c == '\\') {
			ls->js = J_LOW_U;
			return 0;
		}
		if (ls->js == J_LOW_U && c == 'u') {
			ls->js = J_HEX;
			ls->ndig = 0;
			ls->ucp = 0;
			return 0;
		}
		/* a lone high half; c is seen again, in or after a '\\' */
		ls->js = ls->js == J_LOW_BS ? J_STR : J_ESC;
		ls->high = 0;
		v = str_put_cp(ls, 0xfffd);
		return v ? v : 1;
	case J_SCALAR:
		if (!scalar_char(c)) {
			v = scalar_end(ls);
			return v ? v : 1;
		}
		if (ls->slen == SCALAR_CAP)
			return -EIO;
		ls->scalar[ls->slen++] = c;
		return 0;
	case J_NESTED:
		return nested(ls, c);
	}
	return -EIO;
}

struct logstream *logstream_new(logstream_sink sink, void *arg)
{
	struct logstream *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->sink = sink;
	ls->arg = arg;
	return ls;
}

int logstream_feed(struct logstream *ls, const char *buf, size_t len)
{
	const char *p = buf, *end, *q;
	int r = 0;

	if (ls->err || !len)
		return ls->err;
	end = buf + len;
	while (p < end) {
		if (ls->js == J_STR) {
			q = p;
			while (q < end && !json_stop[(unsigned char)*q])
				q++;
			if (q > p) {
				r = str_put(ls, p, (size_t)(q - p));
				if (r)
					break;
				p = q;
				continue;
			}
		}
		r = json_step(ls, *p);
		if (r < 0)
			break;
		if (r == 0)
			p++;
		r = 0;
	}
	ls->err = r;
	return r;
}

int logstream_end(struct logstream *ls, char **token)
{
	*token = NULL;
	if (ls->err)
		return ls->err;
	if (ls->js != J_DONE || !ls->have_content)
		ls->err = -EIO;
	else
		ls->err = flush(ls);
	if (ls->err)
		return ls->err;
	*token = ls->token;
	ls->token = NULL;
	ls->err = -EIO; /* the answer is over */
	return 0;
}

void logstream_free(struct logstream **ls)
{
	if (!*ls)
		return;
	free((*ls)->token);
	free(*ls);
	*ls = NULL;
}

/* ------------------------------------------------------------------ */
/* Continuation tokens */

struct scan {
	const char *p;
	const char *end;
};

static void scan_blanks(struct scan *s)
{
	while (s->p < s->end && blank(*s->p))
		s->p++;
}

/* a string: *str and *n are its raw bytes between the quotes */
static int scan_string(struct scan *s, const char **str, size_t *n)
{
	const char *start;
	int i;

	if (s->p >= s->end || *s->p != '"')
		return -EIO;
	start = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		if ((unsigned char)*s->p < 0x20)
			return -EIO;
		if (*s->p++ != '\\')
			continue;
		/* strchr() finds the terminating NUL too */
		if (s->p >= s->end || !*s->p || !strchr("\"\\/bfnrtu", *s->p))
			return -EIO;
		if (*s->p++ != 'u')
			continue;
		for (i = 0; i < 4; i++)
			if (s->p >= s->end || hexval(*s->p++) < 0)
				return -EIO;
	}
	if (s->p >= s->end)
		return -EIO;
	*str = start;
	*n = (size_t)(s->p++ - start);
	return 0;
}

/* a number, true, false or null: *str and *n are its bytes */
static int scan_scalar(struct scan *s, const char **str, size_t *n)
{
	const char *start = s->p;

	while (s->p < s->end && scalar_char(*s->p))
		s->p++;
	*str = start;
	*n = (size_t)(s->p - start);
	return scalar_ok(start, *n) ? 0 : -EIO;
}

static int scan_value(struct scan *s, int depth)
{
	const char *v;
	size_t n;
	char close;
	int r;

	scan_blanks(s);
	if (s->p >= s->end)
		return -EIO;
	if (*s->p == '"')
		return scan_string(s, &v, &n);
	if (*s->p != '{' && *s->p != '[')
		return scan_scalar(s, &v, &n);
	if (depth == MAX_DEPTH)
		return -EIO;
	close = *s->p++ == '{' ? '}' : ']';
	scan_blanks(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			scan_blanks(s);
			r = scan_string(s, &v, &n);
			if (r)
				return r;
			scan_blanks(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -EIO;
		}
		r = scan_value(s, depth + 1);
		if (r)
			return r;
		scan_blanks(s);
		if (s->p >= s->end)
			return -EIO;
		if (*s->p == close) {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -EIO;
	}
}

/* the flat payload object; other members are checked and ignored */
static int payload(const char *buf, size_t len, int *end_of_log, long *log_pos)
{
	struct scan s = {buf, buf + len};
	const char *k, *v;
	size_t kn, vn, i;
	long pos;
	int r;

	*end_of_log = -1;
	*log_pos = -1;
	scan_blanks(&s);
	if (s.p >= s.end || *s.p++ != '{')
		return -EIO;
	scan_blanks(&s);
	if (s.p < s.end && *s.p == '}')
		s.p++;
	else
		for (;;) {
			scan_blanks(&s);
			r = scan_string(&s, &k, &kn);
			if (r)
				return r;
			scan_blanks(&s);
			if (s.p >= s.end || *s.p++ != ':')
				return -EIO;
			scan_blanks(&s);
			if (kn == 10 && !memcmp(k, "end_of_log", 10)) {
				r = scan_scalar(&s, &v, &vn);
				if (r)
					return r;
				if (vn == 4 && !memcmp(v, "true", 4))
					*end_of_log = 1;
				else if (vn == 5 && !memcmp(v, "false", 5))
					*end_of_log = 0;
				else if (vn == 4 && !memcmp(v, "null", 4))
					*end_of_log = -1;
				else
					return -EIO;
			} else if (kn == 7 && !memcmp(k, "log_pos", 7)) {
				r = scan_scalar(&s, &v, &vn);
				if (r)
					return r;
				if (vn == 4 && !memcmp(v, "null", 4)) {
					*log_pos = -1;
				} else {
					pos = 0;
					for (i = 0; i < vn; i++) {
						if (v[i] < '0' || v[i] > '9' ||
						    pos > (LONG_MAX - 9) / 10)
							return -EIO;
						pos = pos * 10 + (v[i] - '0');
					}
					*log_pos = pos;
				}
			} else {
				r = scan_value(&s, 1);
				if (r)
					return r;
			}
			scan_blanks(&s);
			if (s.p >= s.end)
				return -EIO;
			if (*s.p == '}') {
				s.p++;
				break;
			}
			if (*s.p++ != ',')
				return -EIO;
		}
	scan_blanks(&s);
	return s.p == s.end ? 0 : -EIO;
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
