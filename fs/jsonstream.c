/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streaming walker of a log answer's outer object; see jsonstream.h.
 * A state machine that keeps its place between calls: it walks the top
 * object, unescapes strings as they arrive (a content string goes to the
 * consumer, the token is kept, keys are compared, other strings are
 * checked and dropped) and skips other values, checking them. An element
 * of a content array is walked as a skipped value whose bytes are kept;
 * when it is whole it goes to the consumer.
 *
 * Speed: runs of plain bytes in a string are found in a tight loop and
 * handed on at once; the per-byte state switch only runs on punctuation,
 * escapes and what lies outside strings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstream.h"
#include "unicode.h"

#define TOKEN_CAP (64 * 1024) /* longest continuation token */
#define KEY_CAP	  32	      /* longest member name that we compare */
#define MAX_DEPTH 63	      /* nesting in a skipped value, as json-c */

enum jstate {
	J_START,     /* before '{' */
	J_FIRST,     /* after '{': a key or '}' */
	J_KEY,	     /* after ',': a key */
	J_COLON,     /* after a key */
	J_VALUE,     /* after ':' */
	J_NEXT,	     /* after a member's value: ',' or '}' */
	J_DONE,	     /* after '}': blanks only */
	J_ARR_FIRST, /* after content's '[': an element or ']' */
	J_ARR_ELEM,  /* after ',' in content: an element */
	J_ARR_NEXT,  /* after an element: ',' or ']' */
	J_STR,	     /* inside a string */
	J_ESC,	     /* after a backslash in a string */
	J_HEX,	     /* in the digits of \uXXXX */
	J_LOW_BS,    /* after a high surrogate: its low half's '\\'? */
	J_LOW_U,     /* after a high surrogate and '\\': 'u'? */
	J_SCALAR,    /* in a number, true, false or null */
	J_NESTED,    /* inside an object or array that is skipped */
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

/* where a number stands (RFC 8259's grammar), a byte at a time */
enum xstate { X_MINUS, X_ZERO, X_INT, X_DOT, X_FRAC, X_E, X_ESIGN, X_EXP };

/* where a JSON string's decoded bytes go */
enum target { T_SKIP, T_KEY, T_CONTENT, T_TOKEN };

enum member { M_OTHER, M_CONTENT, M_TOKEN };

struct jsonstream {
	enum jsonstream_content kind;
	jsonstream_take take;
	void *arg;
	int err; /* sticky: once set, every call returns it */

	enum jstate js;
	enum jstate jret; /* where a string or scalar returns to */
	enum jstate vret; /* where a skipped object or array returns to */
	enum target target;
	enum member member;
	int ndig;	 /* \uXXXX digits read */
	uint32_t ucp;	 /* their value */
	uint32_t high;	 /* a high surrogate waiting for its low half */
	const char *lit; /* the literal of a scalar, NULL in a number */
	int sn;		 /* bytes of lit matched, or the number's xstate */
	enum nstate nx;
	int depth;     /* of a skipped value */
	uint64_t objs; /* bit i set: level i + 1 of it is an object */
	char key[KEY_CAP];
	size_t klen; /* KEY_CAP + 1: longer than any key of ours */
	int have_content;
	int have_token;
	char *token; /* NUL-terminated while filled */
	size_t tlen;
	size_t tcap;

	/* the element of a content array being walked */
	int in_el;
	int el_done; /* it is whole: to the consumer after this byte */
	char *el;
	size_t el_len;
	size_t el_cap;
	size_t el_max;
};

/* JSON's whitespace */
static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* bytes that end a run inside a JSON string */
static const unsigned char json_stop[256] = {
	[0 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

/* ------------------------------------------------------------------ */
/* What is kept: the token, an element */

static int grow(char **buf, size_t *cap, size_t need, size_t first)
{
	size_t c = *cap ? *cap : first;
	char *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

static int token_put(struct jsonstream *w, const char *p, size_t n)
{
	int r;

	if (memchr(p, '\0', n) || n > TOKEN_CAP - w->tlen)
		return -EIO;
	r = grow(&w->token, &w->tcap, w->tlen + n + 1, 128);
	if (r)
		return r;
	memcpy(w->token + w->tlen, p, n);
	w->tlen += n;
	w->token[w->tlen] = '\0';
	return 0;
}

static int el_put(struct jsonstream *w, const char *p, size_t n)
{
	int r;

	if (n > w->el_max - w->el_len)
		return -EIO;
	r = grow(&w->el, &w->el_cap, w->el_len + n, 1024);
	if (r)
		return r;
	memcpy(w->el + w->el_len, p, n);
	w->el_len += n;
	return 0;
}

/* the element is whole: to the consumer */
static int el_take(struct jsonstream *w)
{
	size_t n = w->el_len;

	w->in_el = 0;
	w->el_done = 0;
	w->el_len = 0;
	return w->take(w->arg, w->el, n);
}

/* ------------------------------------------------------------------ */
/* Values */

/* a value ends: back to where it was; an element is then whole */
static void value_end(struct jsonstream *w, enum jstate next)
{
	w->js = next;
	if (next == J_ARR_NEXT)
		w->el_done = 1;
}

/* decoded bytes of the current string */
static int str_put(struct jsonstream *w, const char *p, size_t n)
{
	switch (w->target) {
	case T_CONTENT:
		return w->take(w->arg, p, n);
	case T_TOKEN:
		return token_put(w, p, n);
	case T_KEY:
		if (w->klen > KEY_CAP || n > KEY_CAP - w->klen) {
			w->klen = KEY_CAP + 1;
		} else {
			memcpy(w->key + w->klen, p, n);
			w->klen += n;
		}
		return 0;
	case T_SKIP:
		break;
	}
	return 0;
}

static int str_put_cp(struct jsonstream *w, uint32_t cp)
{
	char u[4];

	return str_put(w, u, utf8(cp, u));
}

/*
 * The value of a \uXXXX escape. Surrogates are paired as json-c pairs
 * them; a half without its other half becomes U+FFFD, as json-c has it.
 */
static int str_hex_done(struct jsonstream *w, uint32_t cp)
{
	uint32_t hi = w->high;
	int r;

	w->js = J_STR;
	w->high = 0;
	if (hi) {
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return str_put_cp(w, 0x10000 + ((hi - 0xd800) << 10) +
						     (cp - 0xdc00));
		r = str_put_cp(w, 0xfffd);
		if (r)
			return r;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		w->high = cp;
		w->js = J_LOW_BS;
		return 0;
	}
	if (cp >= 0xdc00 && cp <= 0xdfff)
		cp = 0xfffd;
	return str_put_cp(w, cp);
}

static void str_start(struct jsonstream *w, enum target t, enum jstate ret)
{
	w->target = t;
	w->js = J_STR;
	w->jret = ret;
}

static int str_end(struct jsonstream *w)
{
	value_end(w, w->jret);
	return w->target == T_CONTENT ? w->take(w->arg, NULL, 0) : 0;
}

/* the bytes of a scalar run to the first byte that is none of these */
static int scalar_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '+' || c == '-' || c == '.';
}

static int scalar_start(struct jsonstream *w, char c, enum jstate ret)
{
	static const char *const lits[] = {"true", "false", "null"};

	w->lit = NULL;
	for (size_t i = 0; i < sizeof(lits) / sizeof(*lits); i++)
		if (c == lits[i][0])
			w->lit = lits[i];
	if (w->lit)
		w->sn = 1;
	else if (c == '-')
		w->sn = X_MINUS;
	else if (c == '0')
		w->sn = X_ZERO;
	else if (c >= '1' && c <= '9')
		w->sn = X_INT;
	else
		return -EIO;
	w->js = J_SCALAR;
	w->jret = ret;
	return 0;
}

/* the next byte of a scalar */
static int scalar_next(struct jsonstream *w, char c)
{
	int d = c >= '0' && c <= '9', e = c == 'e' || c == 'E', s = -1;

	if (w->lit) {
		if (w->lit[w->sn] != c)
			return -EIO;
		w->sn++;
		return 0;
	}
	switch ((enum xstate)w->sn) {
	case X_MINUS:
		s = c == '0' ? X_ZERO : d ? X_INT : -1;
		break;
	case X_INT:
		if (d) {
			s = X_INT;
			break;
		}
		/* fall through */
	case X_ZERO:
		s = c == '.' ? X_DOT : e ? X_E : -1;
		break;
	case X_FRAC:
		if (e) {
			s = X_E;
			break;
		}
		/* fall through */
	case X_DOT:
		s = d ? X_FRAC : -1;
		break;
	case X_E:
		if (c == '+' || c == '-') {
			s = X_ESIGN;
			break;
		}
		/* fall through */
	case X_ESIGN:
	case X_EXP:
		s = d ? X_EXP : -1;
		break;
	}
	if (s < 0)
		return -EIO;
	w->sn = s;
	return 0;
}

/* the scalar ended: whole? */
static int scalar_end(struct jsonstream *w)
{
	if (w->lit ? w->lit[w->sn] != '\0'
		   : w->sn != X_ZERO && w->sn != X_INT && w->sn != X_FRAC &&
			     w->sn != X_EXP)
		return -EIO;
	value_end(w, w->jret);
	return 0;
}

static int nest(struct jsonstream *w, char c)
{
	if (w->depth == MAX_DEPTH)
		return -EIO;
	if (c == '{')
		w->objs |= (uint64_t)1 << w->depth;
	else
		w->objs &= ~((uint64_t)1 << w->depth);
	w->depth++;
	w->nx = c == '{' ? N_FIRST_KEY : N_FIRST_VALUE;
	w->js = J_NESTED;
	return 0;
}

static int unnest(struct jsonstream *w)
{
	if (--w->depth == 0)
		value_end(w, w->vret);
	w->nx = N_AFTER;
	return 0;
}

/* a value that is skipped (or kept, as an element), then back to ret */
static int skip_value(struct jsonstream *w, char c, enum jstate ret)
{
	if (c == '"') {
		str_start(w, T_SKIP, ret);
		return 0;
	}
	if (c == '{' || c == '[') {
		w->depth = 0;
		w->vret = ret;
		return nest(w, c);
	}
	return scalar_start(w, c, ret);
}

/* the value of a member of the top object */
static int value_start(struct jsonstream *w, char c)
{
	if (w->member == M_CONTENT) {
		if (w->have_content ||
		    c != (w->kind == JSONSTREAM_STRING ? '"' : '['))
			return -EIO;
		w->have_content = 1;
		if (c == '[')
			w->js = J_ARR_FIRST;
		else
			str_start(w, T_CONTENT, J_NEXT);
		return 0;
	}
	if (w->member == M_TOKEN) {
		if (w->have_token || (c != '"' && c != 'n'))
			return -EIO;
		w->have_token = 1;
		if (c == 'n') /* well-formed, it is null */
			return scalar_start(w, c, J_NEXT);
		str_start(w, T_TOKEN, J_NEXT);
		return token_put(w, "", 0); /* "" is a token too */
	}
	return skip_value(w, c, J_NEXT);
}

/* a value inside a skipped object or array */
static int nested_value(struct jsonstream *w, char c)
{
	if (c == '{' || c == '[')
		return nest(w, c);
	w->nx = N_AFTER;
	if (c == '"') {
		str_start(w, T_SKIP, J_NESTED);
		return 0;
	}
	return scalar_start(w, c, J_NESTED);
}

/* inside a skipped object or array */
static int nested(struct jsonstream *w, char c)
{
	int obj = (w->objs >> (w->depth - 1)) & 1;

	if (blank(c))
		return 0;
	switch (w->nx) {
	case N_FIRST_VALUE:
		if (c == ']')
			return unnest(w);
		/* fall through */
	case N_VALUE:
		return nested_value(w, c);
	case N_FIRST_KEY:
		if (c == '}')
			return unnest(w);
		/* fall through */
	case N_KEY:
		if (c != '"')
			return -EIO;
		w->nx = N_COLON;
		str_start(w, T_SKIP, J_NESTED);
		return 0;
	case N_COLON:
		if (c != ':')
			return -EIO;
		w->nx = N_VALUE;
		return 0;
	case N_AFTER:
		if (c == ',') {
			w->nx = obj ? N_KEY : N_VALUE;
			return 0;
		}
		if (c == (obj ? '}' : ']'))
			return unnest(w);
		return -EIO;
	}
	return -EIO;
}

static enum member which_member(const struct jsonstream *w)
{
	if (w->klen == 7 && !memcmp(w->key, "content", 7))
		return M_CONTENT;
	if (w->klen == 18 && !memcmp(w->key, "continuation_token", 18))
		return M_TOKEN;
	return M_OTHER;
}

/* after a backslash in a string */
static int str_escape(struct jsonstream *w, char c)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";

	w->js = J_STR;
	if (c == 'u') {
		w->js = J_HEX;
		w->ndig = 0;
		w->ucp = 0;
		return 0;
	}
	for (const char *q = simple; *q; q += 2)
		if (*q == c)
			return str_put(w, q + 1, 1);
	return -EIO;
}

/* One byte: 0 when consumed, 1 when to be seen again, or -errno. */
static int step(struct jsonstream *w, char c)
{
	int v;

	switch (w->js) {
	case J_START:
		if (blank(c))
			return 0;
		if (c != '{')
			return -EIO;
		w->js = J_FIRST;
		return 0;
	case J_FIRST:
		if (c == '}') {
			w->js = J_DONE;
			return 0;
		}
		/* fall through */
	case J_KEY:
		if (blank(c))
			return 0;
		if (c != '"')
			return -EIO;
		w->klen = 0;
		str_start(w, T_KEY, J_COLON);
		return 0;
	case J_COLON:
		if (blank(c))
			return 0;
		if (c != ':')
			return -EIO;
		w->member = which_member(w);
		w->js = J_VALUE;
		return 0;
	case J_VALUE:
		if (blank(c))
			return 0;
		return value_start(w, c);
	case J_NEXT:
		if (blank(c))
			return 0;
		if (c == ',')
			w->js = J_KEY;
		else if (c == '}')
			w->js = J_DONE;
		else
			return -EIO;
		return 0;
	case J_DONE:
		return blank(c) ? 0 : -EIO;
	case J_ARR_FIRST:
		if (c == ']') {
			w->js = J_NEXT;
			return 0;
		}
		/* fall through */
	case J_ARR_ELEM:
		if (blank(c))
			return 0;
		w->in_el = 1;
		return skip_value(w, c, J_ARR_NEXT);
	case J_ARR_NEXT:
		if (blank(c))
			return 0;
		if (c == ',')
			w->js = J_ARR_ELEM;
		else if (c == ']')
			w->js = J_NEXT;
		else
			return -EIO;
		return 0;
	case J_STR:
		if (c == '"')
			return str_end(w);
		if (c == '\\') {
			w->js = J_ESC;
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return -EIO;
		return str_put(w, &c, 1);
	case J_ESC:
		return str_escape(w, c);
	case J_HEX:
		v = hexval(c);
		if (v < 0)
			return -EIO;
		w->ucp = w->ucp << 4 | (uint32_t)v;
		if (++w->ndig < 4)
			return 0;
		return str_hex_done(w, w->ucp);
	case J_LOW_BS:
	case J_LOW_U:
		if (w->js == J_LOW_BS && c == '\\') {
			w->js = J_LOW_U;
			return 0;
		}
		if (w->js == J_LOW_U && c == 'u') {
			w->js = J_HEX;
			w->ndig = 0;
			w->ucp = 0;
			return 0;
		}
		/* a lone high half; c is seen again, in or after a '\\' */
		w->js = w->js == J_LOW_BS ? J_STR : J_ESC;
		w->high = 0;
		v = str_put_cp(w, 0xfffd);
		return v ? v : 1;
	case J_SCALAR:
		if (!scalar_char(c)) {
			v = scalar_end(w);
			return v ? v : 1;
		}
		return scalar_next(w, c);
	case J_NESTED:
		return nested(w, c);
	}
	return -EIO;
}

/* ------------------------------------------------------------------ */

struct jsonstream *jsonstream_new(enum jsonstream_content kind, size_t elem_max,
				  jsonstream_take take, void *arg)
{
	struct jsonstream *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->kind = kind;
	w->el_max = elem_max;
	w->take = take;
	w->arg = arg;
	return w;
}

int jsonstream_feed(struct jsonstream *w, const char *buf, size_t len)
{
	const char *p = buf, *end, *q;
	int r = 0, was;

	if (w->err || !len)
		return w->err;
	end = buf + len;
	while (p < end && !r) {
		if (w->js == J_STR) {
			q = p;
			while (q < end && !json_stop[(unsigned char)*q])
				q++;
			if (q > p) {
				r = str_put(w, p, (size_t)(q - p));
				if (!r && w->in_el)
					r = el_put(w, p, (size_t)(q - p));
				p = q;
				continue;
			}
		}
		/* a byte is the element's when it is walked inside it, or
		 * starts or ends it */
		was = w->in_el;
		r = step(w, *p);
		if (r < 0)
			break;
		if (r == 0) {
			if (was || w->in_el)
				r = el_put(w, p, 1);
			p++;
		} else {
			r = 0;
		}
		if (!r && w->el_done)
			r = el_take(w);
	}
	w->err = r;
	return r;
}

int jsonstream_end(struct jsonstream *w, char **token)
{
	*token = NULL;
	if (!w->err && (w->js != J_DONE || !w->have_content))
		w->err = -EIO;
	if (w->err)
		return w->err;
	*token = w->token;
	w->token = NULL;
	w->err = -EIO; /* the answer is over */
	return 0;
}

void jsonstream_free(struct jsonstream **w)
{
	if (!*w)
		return;
	free((*w)->token);
	free((*w)->el);
	free(*w);
	*w = NULL;
}
