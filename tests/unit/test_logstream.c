/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of fs/logstream.c. The two tables were made with
 * /usr/bin/python3. In cases[], each answer is json.dumps() of
 * {"content": str([(host, text), ...]), "continuation_token": tok} as a
 * server sends it (indented, sorted, ASCII-escaped), compact with raw
 * UTF-8, or with extra members first; a few are written by hand. content
 * is the JSON string decoded (lone surrogates as json-c has them, U+FFFD)
 * and text the parts joined as pyrepr.h says (from ast.literal_eval). The
 * tokens in tokens[] come from the Serializer of tests/fake_airflow.py
 * (itsdangerous' format) or are built with zlib and base64.
 *
 * Every answer is fed in many splits and must give text and tok, and
 * pyrepr_log(content) must give text too. Then every prefix of the
 * answers, every prefix and random mutations of the contents against
 * pyrepr_log(), garbage, a failing sink, and a generated ~50 MB answer
 * whose decoding speed is printed (LOGSTREAM_MB=n changes its size).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "logstream.h"
#include "pyrepr.h"

struct gcase {
	const char *name;
	const char *answer;
	size_t alen;
	const char *content;
	size_t clen;
	const char *text;
	size_t tlen;
	const char *token; /* NULL: null */
};

struct gtoken {
	const char *token;
	int rc;
	int end_of_log;
	long log_pos;
};

static const struct gcase cases[] = {
	{"simple/indent",
	 "{\n"
	 "  \"content\": \"[('worker-1', ' INFO - line\\\\nline 2\\\\n"
	 "')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 161, "[('worker-1', ' INFO - line\\nline 2\\n')]", 40,
	 " INFO - line\n"
	 "line 2\n",
	 20,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"simple/raw",
	 "{\"content\":\"[('worker-1', ' INFO - line\\\\nline 2\\\\n')"
	 "]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9"
	 "nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 152, "[('worker-1', ' INFO - line\\nline 2\\n')]", 40,
	 " INFO - line\n"
	 "line 2\n",
	 20,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"simple/extra",
	 "{\"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX"
	 "3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\", \"zz\": {\"a\": ["
	 "1, -2500.0, \"x\\\"]}\", null, true, false, {}], \"b\": {\"c"
	 "\": []}}, \"content\": \"[('worker-1', ' INFO - line\\\\nlin"
	 "e 2\\\\n')]\", \"n\": 0}",
	 238, "[('worker-1', ' INFO - line\\nline 2\\n')]", 40,
	 " INFO - line\n"
	 "line 2\n",
	 20,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"squote/indent",
	 "{\n"
	 "  \"content\": \"[('worker-1', \\\"it's here\\\\n\\\")]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 151, "[('worker-1', \"it's here\\n\")]", 29, "it's here\n", 10,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"squote/raw",
	 "{\"content\":\"[('worker-1', \\\"it's here\\\\n\\\")]\",\"co"
	 "ntinuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI"
	 "6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 142, "[('worker-1', \"it's here\\n\")]", 29, "it's here\n", 10,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"both/indent",
	 "{\n"
	 "  \"content\": \"[('w', 'both \\\\' and \\\" here\\\\\\\\ ba"
	 "ck\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 162, "[('w', 'both \\' and \" here\\\\ back\\n')]", 38,
	 "both ' and \" here\\ back\n", 24,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"both/raw",
	 "{\"content\":\"[('w', 'both \\\\' and \\\" here\\\\\\\\ back"
	 "\\\\n')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxz"
	 "ZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 153, "[('w', 'both \\' and \" here\\\\ back\\n')]", 38,
	 "both ' and \" here\\ back\n", 24,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"ctrl/indent",
	 "{\n"
	 "  \"content\": \"[('w', 'tab\\\\there\\\\r\\\\nesc\\\\x1b[31"
	 "mred\\\\x1b[0m nul\\\\x00 bel\\\\x07 bs\\\\x08 ff\\\\x0c vt\\"
	 "\\x0b del\\\\x7f\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 223,
	 "[('w', 'tab\\there\\r\\nesc\\x1b[31mred\\x1b[0m nul\\x00 bel"
	 "\\x07 bs\\x08 ff\\x0c vt\\x0b del\\x7f\\n')]",
	 92,
	 "tab\there\r\n"
	 "esc\033[31mred\033[0m nul\000 bel\007 bs\010 ff\014 vt\013 d"
	 "el\177\n",
	 53,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"ctrl/raw",
	 "{\"content\":\"[('w', 'tab\\\\there\\\\r\\\\nesc\\\\x1b[31mr"
	 "ed\\\\x1b[0m nul\\\\x00 bel\\\\x07 bs\\\\x08 ff\\\\x0c vt\\\\"
	 "x0b del\\\\x7f\\\\n')]\",\"continuation_token\":\"eyJlbmRfb2"
	 "ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9s"
	 "wM\"}",
	 214,
	 "[('w', 'tab\\there\\r\\nesc\\x1b[31mred\\x1b[0m nul\\x00 bel"
	 "\\x07 bs\\x08 ff\\x0c vt\\x0b del\\x7f\\n')]",
	 92,
	 "tab\there\r\n"
	 "esc\033[31mred\033[0m nul\000 bel\007 bs\010 ff\014 vt\013 d"
	 "el\177\n",
	 53,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"uni/indent",
	 "{\n"
	 "  \"content\": \"[('w', 'caf\\u00e9 \\u65e5\\u672c \\ud83d\\"
	 "ude00 nbsp\\\\xa0 shy\\\\xad zw\\\\u200b ls\\\\u2028 tag\\\\"
	 "U000e0001 c1\\\\x85 \\u00ff\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 237,
	 "[('w', 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200"
	 " nbsp\\xa0 shy\\xad zw\\u200b ls\\u2028 tag\\U000e0001 c1\\x"
	 "85 \303\277\\n')]",
	 89,
	 "caf\303\251 \346\227\245\346\234\254 \360\237\230\200 nbsp\302"
	 "\240 shy\302\255 zw\342\200\213 ls\342\200\250 tag\363\240\200"
	 "\201 c1\302\205 \303\277\n",
	 59,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"uni/raw",
	 "{\"content\":\"[('w', 'caf\303\251 \346\227\245\346\234\254 "
	 "\360\237\230\200 nbsp\\\\xa0 shy\\\\xad zw\\\\u200b ls\\\\u2"
	 "028 tag\\\\U000e0001 c1\\\\x85 \303\277\\\\n')]\",\"continua"
	 "tion_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9."
	 "IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 206,
	 "[('w', 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200"
	 " nbsp\\xa0 shy\\xad zw\\u200b ls\\u2028 tag\\U000e0001 c1\\x"
	 "85 \303\277\\n')]",
	 89,
	 "caf\303\251 \346\227\245\346\234\254 \360\237\230\200 nbsp\302"
	 "\240 shy\302\255 zw\342\200\213 ls\342\200\250 tag\363\240\200"
	 "\201 c1\302\205 \303\277\n",
	 59,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"uni/extra",
	 "{\"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX"
	 "3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\", \"zz\": {\"a\": ["
	 "1, -2500.0, \"x\\\"]}\", null, true, false, {}], \"b\": {\"c"
	 "\": []}}, \"content\": \"[('w', 'caf\\u00e9 \\u65e5\\u672c \\"
	 "ud83d\\ude00 nbsp\\\\xa0 shy\\\\xad zw\\\\u200b ls\\\\u2028 "
	 "tag\\\\U000e0001 c1\\\\x85 \\u00ff\\\\n')]\", \"n\": 0}",
	 314,
	 "[('w', 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200"
	 " nbsp\\xa0 shy\\xad zw\\u200b ls\\u2028 tag\\U000e0001 c1\\x"
	 "85 \303\277\\n')]",
	 89,
	 "caf\303\251 \346\227\245\346\234\254 \360\237\230\200 nbsp\302"
	 "\240 shy\302\255 zw\342\200\213 ls\342\200\250 tag\363\240\200"
	 "\201 c1\302\205 \303\277\n",
	 59,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"surr/indent",
	 "{\n"
	 "  \"content\": \"[('w', 'bad byte \\\\udc80\\\\udcff lone \\"
	 "\\ud800 end')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 170, "[('w', 'bad byte \\udc80\\udcff lone \\ud800 end')]", 48,
	 "bad byte \200\377 lone \357\277\275 end", 24,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"surr/raw",
	 "{\"content\":\"[('w', 'bad byte \\\\udc80\\\\udcff lone \\\\"
	 "ud800 end')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpm"
	 "YWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 161, "[('w', 'bad byte \\udc80\\udcff lone \\ud800 end')]", 48,
	 "bad byte \200\377 lone \357\277\275 end", 24,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"multi/indent",
	 "{\n"
	 "  \"content\": \"[('host-a', '*** Found local files:\\\\n'),"
	 " ('host-b', 'no newline'), ('', ''), ('host-c', 'third'), ('"
	 "h', '\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 231,
	 "[('host-a', '*** Found local files:\\n'), ('host-b', 'no new"
	 "line'), ('', ''), ('host-c', 'third'), ('h', '\\n')]",
	 110,
	 "*** Found local files:\n"
	 "no newline\n"
	 "third\n"
	 "\n",
	 41,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"multi/raw",
	 "{\"content\":\"[('host-a', '*** Found local files:\\\\n'), ("
	 "'host-b', 'no newline'), ('', ''), ('host-c', 'third'), ('h'"
	 ", '\\\\n')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmY"
	 "WxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 222,
	 "[('host-a', '*** Found local files:\\n'), ('host-b', 'no new"
	 "line'), ('', ''), ('host-c', 'third'), ('h', '\\n')]",
	 110,
	 "*** Found local files:\n"
	 "no newline\n"
	 "third\n"
	 "\n",
	 41,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"multi2/indent",
	 "{\n"
	 "  \"content\": \"[('a', ''), ('b', 'x'), ('c', ''), ('d', 'y"
	 "\\\\n'), ('e', 'z')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 180,
	 "[('a', ''), ('b', 'x'), ('c', ''), ('d', 'y\\n'), ('e', 'z')"
	 "]",
	 60,
	 "x\n"
	 "y\n"
	 "z",
	 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"multi2/raw",
	 "{\"content\":\"[('a', ''), ('b', 'x'), ('c', ''), ('d', 'y\\"
	 "\\n'), ('e', 'z')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG"
	 "9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\""
	 "}",
	 171,
	 "[('a', ''), ('b', 'x'), ('c', ''), ('d', 'y\\n'), ('e', 'z')"
	 "]",
	 60,
	 "x\n"
	 "y\n"
	 "z",
	 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"empty/indent",
	 "{\n"
	 "  \"content\": \"[]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 121, "[]", 2, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"empty/raw",
	 "{\"content\":\"[]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9"
	 "nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 112, "[]", 2, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"emptytext/indent",
	 "{\n"
	 "  \"content\": \"[('h', '')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 130, "[('h', '')]", 11, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"emptytext/raw",
	 "{\"content\":\"[('h', '')]\",\"continuation_token\":\"eyJlbm"
	 "Rfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CU"
	 "xD9swM\"}",
	 121, "[('h', '')]", 11, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"plain/indent",
	 "{\n"
	 "  \"content\": \"Error fetching the logs. Try number 0 is in"
	 "valid.\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 168, "Error fetching the logs. Try number 0 is invalid.", 49,
	 "Error fetching the logs. Try number 0 is invalid.", 49,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"plain/raw",
	 "{\"content\":\"Error fetching the logs. Try number 0 is inva"
	 "lid.\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwi"
	 "bG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 159, "Error fetching the logs. Try number 0 is invalid.", 49,
	 "Error fetching the logs. Try number 0 is invalid.", 49,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"plain/extra",
	 "{\"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX"
	 "3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\", \"zz\": {\"a\": ["
	 "1, -2500.0, \"x\\\"]}\", null, true, false, {}], \"b\": {\"c"
	 "\": []}}, \"content\": \"Error fetching the logs. Try number"
	 " 0 is invalid.\", \"n\": 0}",
	 245, "Error fetching the logs. Try number 0 is invalid.", 49,
	 "Error fetching the logs. Try number 0 is invalid.", 49,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"plainuni/indent",
	 "{\n"
	 "  \"content\": \"not a list: caf\\u00e9 \\ud83d\\ude00 [x]\\"
	 "n\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 159, "not a list: caf\303\251 \360\237\230\200 [x]\n", 27,
	 "not a list: caf\303\251 \360\237\230\200 [x]\n", 27,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"plainuni/raw",
	 "{\"content\":\"not a list: caf\303\251 \360\237\230\200 [x]\\"
	 "n\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9"
	 "nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 138, "not a list: caf\303\251 \360\237\230\200 [x]\n", 27,
	 "not a list: caf\303\251 \360\237\230\200 [x]\n", 27,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"emptystr/indent",
	 "{\n"
	 "  \"content\": \"\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 119, "", 0, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"emptystr/raw",
	 "{\"content\":\"\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nI"
	 "jpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 110, "", 0, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"none/indent",
	 "{\n"
	 "  \"content\": \"[(None, 'x\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 135, "[(None, 'x\\n')]", 15, "x\n", 2,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"none/raw",
	 "{\"content\":\"[(None, 'x\\\\n')]\",\"continuation_token\":\""
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM\"}",
	 126, "[(None, 'x\\n')]", 15, "x\n", 2,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"nulltok/indent",
	 "{\n"
	 "  \"content\": \"[('h', 'a\\\\n')]\",\n"
	 "  \"continuation_token\": null\n"
	 "}",
	 64, "[('h', 'a\\n')]", 14, "a\n", 2, NULL},
	{"nulltok/raw",
	 "{\"content\":\"[('h', 'a\\\\n')]\",\"continuation_token\":nu"
	 "ll}",
	 55, "[('h', 'a\\n')]", 14, "a\n", 2, NULL},
	{"nulltok/extra",
	 "{\"continuation_token\": null, \"zz\": {\"a\": [1, -2500.0, "
	 "\"x\\\"]}\", null, true, false, {}], \"b\": {\"c\": []}}, \""
	 "content\": \"[('h', 'a\\\\n')]\", \"n\": 0}",
	 141, "[('h', 'a\\n')]", 14, "a\n", 2, NULL},
	{"emoji/indent",
	 "{\n"
	 "  \"content\": \"[('h', '\\ud83d\\ude00\\ud83d\\ude80 \\u260"
	 "3 \\ud83d\\ude00\\ud83d\\ude80 \\u2603 \\ud83d\\ude00\\ud83d"
	 "\\ude80 \\u2603 \\ud83d\\ude00\\ud83d\\ude80 \\u2603 \\ud83d"
	 "\\ude00\\ud83d\\ude80 \\u2603 \\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 293,
	 "[('h', '\360\237\230\200\360\237\232\200 \342\230\203 \360\237"
	 "\230\200\360\237\232\200 \342\230\203 \360\237\230\200\360\237"
	 "\232\200 \342\230\203 \360\237\230\200\360\237\232\200 \342\230"
	 "\203 \360\237\230\200\360\237\232\200 \342\230\203 \\n')]",
	 78,
	 "\360\237\230\200\360\237\232\200 \342\230\203 \360\237\230\200"
	 "\360\237\232\200 \342\230\203 \360\237\230\200\360\237\232\200"
	 " \342\230\203 \360\237\230\200\360\237\232\200 \342\230\203 "
	 "\360\237\230\200\360\237\232\200 \342\230\203 \n",
	 66,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"emoji/raw",
	 "{\"content\":\"[('h', '\360\237\230\200\360\237\232\200 \342"
	 "\230\203 \360\237\230\200\360\237\232\200 \342\230\203 \360\237"
	 "\230\200\360\237\232\200 \342\230\203 \360\237\230\200\360\237"
	 "\232\200 \342\230\203 \360\237\230\200\360\237\232\200 \342\230"
	 "\203 \\\\n')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjp"
	 "mYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 189,
	 "[('h', '\360\237\230\200\360\237\232\200 \342\230\203 \360\237"
	 "\230\200\360\237\232\200 \342\230\203 \360\237\230\200\360\237"
	 "\232\200 \342\230\203 \360\237\230\200\360\237\232\200 \342\230"
	 "\203 \360\237\230\200\360\237\232\200 \342\230\203 \\n')]",
	 78,
	 "\360\237\230\200\360\237\232\200 \342\230\203 \360\237\230\200"
	 "\360\237\232\200 \342\230\203 \360\237\230\200\360\237\232\200"
	 " \342\230\203 \360\237\230\200\360\237\232\200 \342\230\203 "
	 "\360\237\230\200\360\237\232\200 \342\230\203 \n",
	 66,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"header/indent",
	 "{\n"
	 "  \"content\": \"[('', ' INFO - ::group::Log message source "
	 "details\\\\n*** Found local files:\\\\n***   * /opt/airflow/"
	 "logs/dag_id=etl/run_id=manual__2024-01-01T00:00:00+00:00/tas"
	 "k_id=t/attempt=1.log\\\\n INFO - ::endgroup::\\\\n[2024-01-0"
	 "1, 00:00:01 UTC] {taskinstance.py:1157} INFO - Dependencies "
	 "all met\\\\n[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188"
	 "} INFO - Hello \\\"world\\\" \\\\'quoted\\\\' C:\\\\\\\\path"
	 "\\\\\\\\to\\\\n')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 512,
	 "[('', ' INFO - ::group::Log message source details\\n*** Fou"
	 "nd local files:\\n***   * /opt/airflow/logs/dag_id=etl/run_i"
	 "d=manual__2024-01-01T00:00:00+00:00/task_id=t/attempt=1.log\\"
	 "n INFO - ::endgroup::\\n[2024-01-01, 00:00:01 UTC] {taskinst"
	 "ance.py:1157} INFO - Dependencies all met\\n[2024-01-01, 00:"
	 "00:02 UTC] {logging_mixin.py:188} INFO - Hello \"world\" \\'"
	 "quoted\\' C:\\\\path\\\\to\\n')]",
	 379,
	 " INFO - ::group::Log message source details\n"
	 "*** Found local files:\n"
	 "***   * /opt/airflow/logs/dag_id=etl/run_id=manual__2024-01-"
	 "01T00:00:00+00:00/task_id=t/attempt=1.log\n"
	 " INFO - ::endgroup::\n"
	 "[2024-01-01, 00:00:01 UTC] {taskinstance.py:1157} INFO - Dep"
	 "endencies all met\n"
	 "[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188} INFO - Hel"
	 "lo \"world\" 'quoted' C:\\path\\to\n",
	 359,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"header/raw",
	 "{\"content\":\"[('', ' INFO - ::group::Log message source de"
	 "tails\\\\n*** Found local files:\\\\n***   * /opt/airflow/lo"
	 "gs/dag_id=etl/run_id=manual__2024-01-01T00:00:00+00:00/task_"
	 "id=t/attempt=1.log\\\\n INFO - ::endgroup::\\\\n[2024-01-01,"
	 " 00:00:01 UTC] {taskinstance.py:1157} INFO - Dependencies al"
	 "l met\\\\n[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188} "
	 "INFO - Hello \\\"world\\\" \\\\'quoted\\\\' C:\\\\\\\\path\\"
	 "\\\\\\to\\\\n')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9n"
	 "IjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 503,
	 "[('', ' INFO - ::group::Log message source details\\n*** Fou"
	 "nd local files:\\n***   * /opt/airflow/logs/dag_id=etl/run_i"
	 "d=manual__2024-01-01T00:00:00+00:00/task_id=t/attempt=1.log\\"
	 "n INFO - ::endgroup::\\n[2024-01-01, 00:00:01 UTC] {taskinst"
	 "ance.py:1157} INFO - Dependencies all met\\n[2024-01-01, 00:"
	 "00:02 UTC] {logging_mixin.py:188} INFO - Hello \"world\" \\'"
	 "quoted\\' C:\\\\path\\\\to\\n')]",
	 379,
	 " INFO - ::group::Log message source details\n"
	 "*** Found local files:\n"
	 "***   * /opt/airflow/logs/dag_id=etl/run_id=manual__2024-01-"
	 "01T00:00:00+00:00/task_id=t/attempt=1.log\n"
	 " INFO - ::endgroup::\n"
	 "[2024-01-01, 00:00:01 UTC] {taskinstance.py:1157} INFO - Dep"
	 "endencies all met\n"
	 "[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188} INFO - Hel"
	 "lo \"world\" 'quoted' C:\\path\\to\n",
	 359,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand0/indent",
	 "{\n"
	 "  \"content\": \"[ ( 'h' , 'a\\\\n' , ) , ( \\\"h\\\",\\\"b\\"
	 "\" ) , ]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 161, "[ ( 'h' , 'a\\n' , ) , ( \"h\",\"b\" ) , ]", 37,
	 "a\n"
	 "b",
	 3,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand0/raw",
	 "{\"content\":\"[ ( 'h' , 'a\\\\n' , ) , ( \\\"h\\\",\\\"b\\\""
	 " ) , ]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZS"
	 "wibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 152, "[ ( 'h' , 'a\\n' , ) , ( \"h\",\"b\" ) , ]", 37,
	 "a\n"
	 "b",
	 3,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand1/indent",
	 "{\n"
	 "  \"content\": \"[\\n\\t('h',\\r\\n'x'),\\n]  \\n\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 145,
	 "[\n"
	 "\t('h',\r\n"
	 "'x'),\n"
	 "]  \n",
	 20, "x", 1,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand1/raw",
	 "{\"content\":\"[\\n\\t('h',\\r\\n'x'),\\n]  \\n\",\"continua"
	 "tion_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9."
	 "IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 136,
	 "[\n"
	 "\t('h',\r\n"
	 "'x'),\n"
	 "]  \n",
	 20, "x", 1,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand2/indent",
	 "{\n"
	 "  \"content\": \"[(None,'oct \\\\101\\\\60\\\\7\\\\777 \\\\0"
	 " end')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 159, "[(None,'oct \\101\\60\\7\\777 \\0 end')]", 35,
	 "oct A0\007\307\277 \000 end", 15,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand2/raw",
	 "{\"content\":\"[(None,'oct \\\\101\\\\60\\\\7\\\\777 \\\\0 e"
	 "nd')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSw"
	 "ibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 150, "[(None,'oct \\101\\60\\7\\777 \\0 end')]", 35,
	 "oct A0\007\307\277 \000 end", 15,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand3/indent",
	 "{\n"
	 "  \"content\": \"[('h', 'cont\\\\\\nline')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 142,
	 "[('h', 'cont\\\n"
	 "line')]",
	 21, "contline", 8,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand3/raw",
	 "{\"content\":\"[('h', 'cont\\\\\\nline')]\",\"continuation_t"
	 "oken\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDn"
	 "TmHgg6Vvqy1N-CUxD9swM\"}",
	 133,
	 "[('h', 'cont\\\n"
	 "line')]",
	 21, "contline", 8,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand4/indent",
	 "{\n"
	 "  \"content\": \"[('h', 'unknown \\\\q \\\\z \\\\% \\\\\\u00"
	 "e9 escapes')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 166, "[('h', 'unknown \\q \\z \\% \\\303\251 escapes')]", 39,
	 "unknown \\q \\z \\% \\\303\251 escapes", 28,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand4/raw",
	 "{\"content\":\"[('h', 'unknown \\\\q \\\\z \\\\% \\\\\303\251"
	 " escapes')]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmY"
	 "WxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 153, "[('h', 'unknown \\q \\z \\% \\\303\251 escapes')]", 39,
	 "unknown \\q \\z \\% \\\303\251 escapes", 28,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand5/indent",
	 "{\n"
	 "  \"content\": \"[('h', 'bell\\\\a bs\\\\b ff\\\\f vt\\\\v')"
	 "]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 155, "[('h', 'bell\\a bs\\b ff\\f vt\\v')]", 32,
	 "bell\007 bs\010 ff\014 vt\013", 17,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand5/raw",
	 "{\"content\":\"[('h', 'bell\\\\a bs\\\\b ff\\\\f vt\\\\v')]\""
	 ",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3"
	 "BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 146, "[('h', 'bell\\a bs\\b ff\\f vt\\v')]", 32,
	 "bell\007 bs\010 ff\014 vt\013", 17,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand6/indent",
	 "{\n"
	 "  \"content\": \"[('h', '\\\\U0001F600 \\\\uD83D\\\\uDE00 \\"
	 "\\udc80\\\\udcff\\\\udbff')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 178, "[('h', '\\U0001F600 \\uD83D\\uDE00 \\udc80\\udcff\\udbff')]", 53,
	 "\360\237\230\200 \357\277\275\357\277\275 \200\377\357\277\275", 17,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand6/raw",
	 "{\"content\":\"[('h', '\\\\U0001F600 \\\\uD83D\\\\uDE00 \\\\"
	 "udc80\\\\udcff\\\\udbff')]\",\"continuation_token\":\"eyJlbm"
	 "Rfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CU"
	 "xD9swM\"}",
	 169, "[('h', '\\U0001F600 \\uD83D\\uDE00 \\udc80\\udcff\\udbff')]", 53,
	 "\360\237\230\200 \357\277\275\357\277\275 \200\377\357\277\275", 17,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand7/indent",
	 "{\n"
	 "  \"content\": \"[('h', '\\\\x41\\\\xe9\\\\xFF')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 145, "[('h', '\\x41\\xe9\\xFF')]", 23, "A\303\251\303\277", 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand7/raw",
	 "{\"content\":\"[('h', '\\\\x41\\\\xe9\\\\xFF')]\",\"continua"
	 "tion_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9."
	 "IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 136, "[('h', '\\x41\\xe9\\xFF')]", 23, "A\303\251\303\277", 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand8/indent",
	 "{\n"
	 "  \"content\": \"[('h\\\\x41\\\\u1234\\\\U00012345\\\\'\\\\\\"
	 "\\', 'host escapes')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 172, "[('h\\x41\\u1234\\U00012345\\'\\\\', 'host escapes')]", 47,
	 "host escapes", 12,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand8/raw",
	 "{\"content\":\"[('h\\\\x41\\\\u1234\\\\U00012345\\\\'\\\\\\\\"
	 "', 'host escapes')]\",\"continuation_token\":\"eyJlbmRfb2Zfb"
	 "G9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\""
	 "}",
	 163, "[('h\\x41\\u1234\\U00012345\\'\\\\', 'host escapes')]", 47,
	 "host escapes", 12,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand9/indent",
	 "{\n"
	 "  \"content\": \"[('h', 'a'), ('h', 'b'),('h','c'),  ('h', '"
	 "')]\",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 165, "[('h', 'a'), ('h', 'b'),('h','c'),  ('h', '')]", 46,
	 "a\n"
	 "b\n"
	 "c",
	 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand9/raw",
	 "{\"content\":\"[('h', 'a'), ('h', 'b'),('h','c'),  ('h', '')"
	 "]\",\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9"
	 "nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 156, "[('h', 'a'), ('h', 'b'),('h','c'),  ('h', '')]", 46,
	 "a\n"
	 "b\n"
	 "c",
	 5,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand10/indent",
	 "{\n"
	 "  \"content\": \"[('h', \\\"\\\\\\\"dq\\\\\\\" 'sq'\\\")]\","
	 "\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 147, "[('h', \"\\\"dq\\\" 'sq'\")]", 22, "\"dq\" 'sq'", 9,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand10/raw",
	 "{\"content\":\"[('h', \\\"\\\\\\\"dq\\\\\\\" 'sq'\\\")]\",\""
	 "continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3Bvc"
	 "yI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 138, "[('h', \"\\\"dq\\\" 'sq'\")]", 22, "\"dq\" 'sq'", 9,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand11/indent",
	 "{\n"
	 "  \"content\": \" [('leading blank', 'makes it a message')]\""
	 ",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 161, " [('leading blank', 'makes it a message')]", 42,
	 " [('leading blank', 'makes it a message')]", 42,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand11/raw",
	 "{\"content\":\" [('leading blank', 'makes it a message')]\","
	 "\"continuation_token\":\"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3B"
	 "vcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"}",
	 152, " [('leading blank', 'makes it a message')]", 42,
	 " [('leading blank', 'makes it a message')]", 42,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand12/indent",
	 "{\n"
	 "  \"content\": \"[]   \",\n"
	 "  \"continuation_token\": \"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9n"
	 "X3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM\"\n"
	 "}",
	 124, "[]   ", 5, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"hand12/raw",
	 "{\"content\":\"[]   \",\"continuation_token\":\"eyJlbmRfb2Zf"
	 "bG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvqy1N-CUxD9swM"
	 "\"}",
	 115, "[]   ", 5, "", 0,
	 "eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM"},
	{"json-slash",
	 "{\"content\":\"[('h', 'a\\/b\\n')]\",\"continuation_token\":"
	 "null}",
	 57,
	 "[('h', 'a/b\n"
	 "')]",
	 15, "a/b\n", 4, NULL},
	{"json-lone",
	 "{\"content\":\"[('h', 'a\\ud800b \\udc80 \\ud83d\\ud83d\\ude"
	 "00 \\ud83d\\u0041 \\ud83dx\\ud83d\\n')]\"}",
	 88,
	 "[('h', 'a\357\277\275b \357\277\275 \357\277\275\360\237\230"
	 "\200 \357\277\275A \357\277\275x\357\277\275\n"
	 "')]",
	 42,
	 "a\357\277\275b \357\277\275 \357\277\275\360\237\230\200 \357"
	 "\277\275A \357\277\275x\357\277\275\n",
	 31, NULL},
	{"json-esc",
	 "{\"content\":\"[('h', '\\b\\f\\r\\t\\u0000\\u001f\\u007f\\u0"
	 "0e9\\u20AC')]\",\"continuation_token\":\"t\"}",
	 88, "[('h', '\010\014\r\t\000\037\177\303\251\342\202\254')]", 23,
	 "\010\014\r\t\000\037\177\303\251\342\202\254", 12, "t"},
	{"json-empty-tok", "{\"continuation_token\":\"\",\"content\":\"[]\"}",
	 40, "[]", 2, "", 0, ""},
	{"json-ws",
	 " \r\n"
	 "\t{ \"content\" : \"x\" , \"continuation_token\" : null } \n",
	 55, "x", 1, "x", 1, NULL},
	{"json-keyesc",
	 "{\"cont\\u0065nt\":\"x\",\"conten\":\"y\",\"contentt\":\"z\""
	 ",\"a\\\"b\":1,\"\":[]}",
	 63, "x", 1, "x", 1, NULL},
	{"json-dupother",
	 "{\"a\":1,\"a\":[{\"b\":\"}\"}],\"content\":\"[]\",\"a\":null"
	 "}",
	 47, "[]", 2, "", 0, NULL},
};
static const struct gtoken tokens[] = {
	{"eyJlbmRfb2ZfbG9nIjpmYWxzZSwibG9nX3BvcyI6MTZ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM",
	 0, 0, 16L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjowfQ.kilAyIujY8w8EWm1m"
	 "hFiFyJ8I90",
	 0, 1, 0L},
	{".eJyrVkrJL8_LyU9Mic_JTy9WsiopKk3VUUrNS4nPTwMJwUSAzPiCfKACQyN"
	 "jk1oAOxcTgA.KspwR45St9FIPd0YHSC_SDGK5-w",
	 0, 1, 1234L},
	{"eyJsb2dfcG9zIjo5fQ.JXi9qx-qM8qgGWR7ld8v8cuq6nY", 0, -1, 9L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ.QKKmNCqWS35s8yEkQWaBV5qG8ts", 0, 1, -1L},
	{"e30.-2LB9Mp-TycAUY54xXvjYwvY7y0", 0, -1, -1L},
	{".eJyNjUEKwjAQRe_yt0ZJUkWYc7gTCYEkIqad4gQVSu_etBWX4ucvZuC9mQG"
	 "xC46Ty3wFJZ8lKtTZ9SyggwKnJLGAzFF_YmxTES9ldly5tVGKb3sQrLb7rTa"
	 "1J61p6W51NssChcCvLrMPsyvfh_FdHh50HnCvZ56_g1H9xa3sZZwAKcxOTQ."
	 "_2cAY6DFdjX4xRamQVtE3dJdI_Q",
	 0, 0, 5L},
	{".eJyrVkrNS4nPT4vPyU9XsiopKk3VUQIy4wvyi5WsDHSUKpSslBKHCVCqBQC"
	 "gfVg-.hz6EYAqjtJz2X3R8AalZc5FlVf4",
	 0, 1, 0L},
	{".eJwNykEOQDAQBdC7_PWQGapqrlLSEGrTtBKxkt6dt34vUjnDVW6osSLWWRZ"
	 "nurF348SGcOQ9lBj-BI1rug9ChuYnJcIK9UK-oxcbFDMq6rIQIrThllmG-gE"
	 "fBRqR.b7h_-9RiD9FZKkX7VUR2wfx3qmE",
	 0, 0, 4611686018427387904L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjo3fQ==.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM",
	 0, 1, 7L},
	{".eJyrVsrJT48vyC9WsjLXUUrNS4nPT4sHCilZpSXmFKfWAgC3aQti.IdwVDn"
	 "TmHgg6Vvqy1N-CUxD9swM",
	 0, 0, 7L},
	{"IHsgImVuZF9vZl9sb2ciIDogdHJ1ZSAsICJsb2dfcG9zIiA6IDMgfSA.IdwV"
	 "DnTmHgg6Vvqy1N-CUxD9swM",
	 0, 1, 3L},
	{"eyJlbmRfb2ZfbG9nIjpudWxsLCJsb2dfcG9zIjpudWxsfQ.IdwVDnTmHgg6V"
	 "vqy1N-CUxD9swM",
	 0, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjoxLCJsb2dfcG9zIjo3fQ.IdwVDnTmHgg6Vvqy1N-CU"
	 "xD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjoiNyJ9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjotMX0.IdwVDnTmHgg6Vvqy"
	 "1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjoxLjV9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjoxZTN9.IdwVDnTmHgg6Vvq"
	 "y1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjo5OTk5OTk5OTk5OTk5OTk5"
	 "OTk5OTk5OX0.IdwVDnTmHgg6Vvqy1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjo3.IdwVDnTmHgg6Vvqy1N-"
	 "CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjo3fXg.IdwVDnTmHgg6Vvqy"
	 "1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjo3LH0.IdwVDnTmHgg6Vvqy"
	 "1N-CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnUsImxvZ19wb3MiOjd9.IdwVDnTmHgg6Vvqy1N-"
	 "CUxD9swM",
	 -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIiB0cnVlfQ.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1,
	 -1L},
	{"WzFd.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"Ingi.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{".IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"bm90IGpzb24.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"eyJhIjp7ImIiOlt9fQ.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"eyJhIjoiXHEifQ.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"eyJhIjoieAp5In0.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	/* {"end_of_log":true,"a\<NUL>":1}: found by fuzz_logstream_token.c */
	{"eyJlbmRfb2ZfbG9nIjp0cnVlLCJhXAAiOjF9.sig", -EIO, -1, -1L},
	{".eJyrVkrNS4nPT4vPyU9XsiopKk3VUQIy4wvyi5WszGsBtUgLFw.IdwVDnTm"
	 "Hgg6Vvqy1N-CUxD9swM",
	 0, 1, 7L},
	{".eJyrVkrNS4nPT4vPyU9XsiopKk3VUQIy4wvyi5WszGsBtUg.IdwVDnTmHgg"
	 "6Vvqy1N-CUxD9swM",
	 -EIO, -1, -1L},
	{".eJyrVkrNS4nPT4vPyU9XsiopKk3VUQIy4wvyi5WszGsBtUgLFwAAAA.IdwV"
	 "DnTmHgg6Vvqy1N-CUxD9swM",
	 -EIO, -1, -1L},
	{".cGxhaW4sIG5vdCB6bGli.IdwVDnTmHgg6Vvqy1N-CUxD9swM", -EIO, -1, -1L},
	{"", -EIO, -1, -1L},
	{".", -EIO, -1, -1L},
	{"abc", -EIO, -1, -1L},
	{"x.", -EIO, -1, -1L},
	{"..", -EIO, -1, -1L},
	{"eyJ.sig", -EIO, -1, -1L},
	{"e!Jl.sig", -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ===.sig", -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ.sig!", -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ=.sig", -EIO, -1, -1L},
	{"a.sig", -EIO, -1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ.sig", 0, 1, -1L},
	{"eyJlbmRfb2ZfbG9nIjp0cnVlfQ==.sig", 0, 1, -1L},
};

#define NCASES (sizeof(cases) / sizeof(*cases))

/* what the sink got */
struct sink {
	char *p;
	size_t len;
	size_t cap;
	size_t calls;
	size_t biggest; /* longest single call */
	size_t fail_at; /* this call (from 1) and later ones fail; 0: none */
	int fail_err;
};

static int sink_cb(void *arg, const char *text, size_t len)
{
	struct sink *s = arg;
	size_t cap;

	s->calls++;
	if (len > s->biggest)
		s->biggest = len;
	if (s->fail_at && s->calls >= s->fail_at)
		return s->fail_err;
	if (len > s->cap - s->len) {
		cap = s->cap ? s->cap : 4096;
		while (cap - s->len < len)
			cap *= 2;
		s->p = realloc(s->p, cap);
		if (!s->p)
			abort();
		s->cap = cap;
	}
	memcpy(s->p + s->len, text, len);
	s->len += len;
	return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

/*
 * Feeds an answer in chunks of step bytes (0: random sizes) and ends it.
 * Returns the first error or 0, the text in *s and the token in *token.
 * After an error, the stream must stay failed with the same error.
 */
static int decode(const char *ans, size_t len, size_t step, struct sink *s,
		  char **token)
{
	struct logstream *ls = logstream_new(sink_cb, s);
	size_t off = 0, n;
	char *t;
	int r = 0;

	*token = NULL;
	if (!ls)
		return -ENOMEM;
	while (off < len) {
		n = step ? step : 1 + rnd(step == 0 && rnd(4) == 0 ? 4096 : 37);
		if (n > len - off)
			n = len - off;
		r = logstream_feed(ls, ans + off, n);
		if (r)
			break;
		off += n;
	}
	if (r) {
		CHECK(logstream_feed(ls, " ", 1) == r);
		CHECK(logstream_end(ls, &t) == r && t == NULL);
	} else {
		r = logstream_end(ls, token);
		if (r)
			CHECK(*token == NULL);
	}
	logstream_free(&ls);
	CHECK(ls == NULL);
	return r;
}

static int same(const struct sink *s, const char *text, size_t len)
{
	return s->len == len && (len == 0 || memcmp(s->p, text, len) == 0);
}

static void test_cases(void)
{
	static const size_t steps[] = {1, 2, 3, 7, 64, 0, 0, 0, SIZE_MAX};
	const struct gcase *c;
	struct sink s;
	size_t i, j, olen;
	char *tok, *out;
	int r, ok;

	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		r = pyrepr_log(c->content, c->clen, &out, &olen);
		ok = r == 0 && olen == c->tlen && !memcmp(out, c->text, olen);
		if (!ok)
			fprintf(stderr, "pyrepr_log %s: %d\n", c->name, r);
		CHECK(ok);
		if (!r)
			free(out);
		for (j = 0; j < sizeof(steps) / sizeof(*steps); j++) {
			memset(&s, 0, sizeof(s));
			r = decode(c->answer, c->alen, steps[j], &s, &tok);
			ok = r == 0 && same(&s, c->text, c->tlen) &&
			     (c->token ? tok && !strcmp(tok, c->token) : !tok);
			if (!ok)
				fprintf(stderr, "%s, step %zu: %d\n", c->name,
					steps[j], r);
			CHECK(ok);
			free(tok);
			free(s.p);
		}
	}
}

static int blanks(const char *p, size_t n)
{
	for (; n; p++, n--)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return 1;
}

/* a prefix of an answer fails, unless only blanks were cut */
static void test_answer_prefixes(void)
{
	const struct gcase *c;
	struct sink s;
	size_t i, k;
	char *tok;
	int r, want;

	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		for (k = 0; k < c->alen; k++) {
			want = blanks(c->answer + k, c->alen - k) ? 0 : -EIO;
			memset(&s, 0, sizeof(s));
			r = decode(c->answer, k, k % 2 ? SIZE_MAX : 0, &s,
				   &tok);
			if (r != want)
				fprintf(stderr, "%s, prefix %zu: %d\n", c->name,
					k, r);
			CHECK(r == want);
			free(tok);
			free(s.p);
		}
	}
}

/*
 * {"content": s} as Python's json.dumps writes it: ensure_ascii (ascii:
 * s must be UTF-8 then) or raw UTF-8. Returns a malloc'd answer.
 */
static char *answer_of(const char *s, size_t n, int ascii, size_t *len)
{
	static const char head[] = "{\"content\": \"", tail[] = "\"}";
	char *a = malloc(n * 12 + sizeof(head) + sizeof(tail)), *o;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	uint32_t cp;
	int k;

	if (!a)
		abort();
	o = a + sprintf(a, "%s", head);
	while (p < end) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p++;
		} else if (*p == '\n') {
			o += sprintf(o, "\\n");
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\u%04x", *p++);
		} else if (*p < 0x80 || !ascii) {
			*o++ = (char)*p++;
		} else {
			k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;
			cp = *p++ & (0x3f >> k);
			while (k--)
				cp = cp << 6 | (*p++ & 0x3f);
			if (cp >= 0x10000)
				o += sprintf(o, "\\u%04x\\u%04x",
					     0xd800 + ((cp - 0x10000) >> 10),
					     0xdc00 + (cp & 0x3ff));
			else
				o += sprintf(o, "\\u%04x", cp);
		}
	}
	o += sprintf(o, "%s", tail);
	*len = (size_t)(o - a);
	return a;
}

/* the stream and pyrepr_log() agree on a content, whatever it is */
static int agree(const char *content, size_t n)
{
	struct sink s = {0};
	size_t alen, olen;
	char *a, *out, *tok;
	int r1, r2, ok;

	r1 = pyrepr_log(content, n, &out, &olen);
	a = answer_of(content, n, 0, &alen);
	r2 = decode(a, alen, 0, &s, &tok);
	ok = r1 == r2 && (r1 || same(&s, out, olen)) && tok == NULL;
	if (!r1)
		free(out);
	free(a);
	free(s.p);
	return ok;
}

static void test_content_prefixes(void)
{
	size_t i, k;
	int ok;

	for (i = 0; i < NCASES; i++) {
		for (k = 0; k <= cases[i].clen; k++) {
			ok = agree(cases[i].content, k);
			if (!ok)
				fprintf(stderr, "%s, content prefix %zu\n",
					cases[i].name, k);
			CHECK(ok);
		}
	}
}

static void test_mutations(void)
{
	static const char alpha[] = "'\"\\()[], \n\tNonexuU01789afAF\303\251";
	char buf[4096];
	size_t i, n, at, m;
	int round, e, ok;

	for (i = 0; i < NCASES; i++) {
		if (cases[i].clen + 8 > sizeof(buf))
			continue;
		for (round = 0; round < 300; round++) {
			n = cases[i].clen;
			memcpy(buf, cases[i].content, n);
			m = 1 + rnd(4);
			for (e = 0; e < (int)m; e++) {
				at = n ? rnd((unsigned)n) : 0;
				switch (rnd(3)) {
				case 0:
					if (n)
						buf[at] = alpha[rnd(
							sizeof(alpha) - 1)];
					break;
				case 1:
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = alpha[rnd(sizeof(alpha) - 1)];
					n++;
					break;
				default:
					if (n) {
						memmove(buf + at, buf + at + 1,
							n - at - 1);
						n--;
					}
				}
			}
			ok = agree(buf, n);
			if (!ok)
				fprintf(stderr, "%s, mutation %d: %.*s\n",
					cases[i].name, round, (int)n, buf);
			CHECK(ok);
		}
	}
}

static void expect_eio(const char *ans, size_t len)
{
	static const size_t steps[] = {1, 5, SIZE_MAX};
	struct sink s;
	size_t j;
	char *tok;
	int r;

	for (j = 0; j < sizeof(steps) / sizeof(*steps); j++) {
		memset(&s, 0, sizeof(s));
		r = decode(ans, len, steps[j], &s, &tok);
		if (r != -EIO)
			fprintf(stderr, "not EIO (%d): %.*s\n", r, (int)len,
				ans);
		CHECK(r == -EIO && tok == NULL);
		free(s.p);
	}
}

static void expect_ok(const char *ans, const char *text, const char *token)
{
	struct sink s = {0};
	char *tok;
	int r;

	r = decode(ans, strlen(ans), 1, &s, &tok);
	CHECK(r == 0 && same(&s, text, strlen(text)));
	CHECK(token ? tok && !strcmp(tok, token) : !tok);
	free(tok);
	free(s.p);
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"null",
		"[]",
		"\"x\"",
		"{",
		"{}",
		"{\"continuation_token\": null}",
		"{\"content\": null}",
		"{\"content\": 1}",
		"{\"content\": []}",
		"{\"content\": {}}",
		"{\"content\": true}",
		"{\"content\": \"x\", \"content\": \"x\"}",
		"{\"content\": \"x\"} x",
		"{\"content\": \"x\"}{}",
		"{\"content\": \"x\"},",
		"{\"content\": \"a\nb\"}",
		"{\"content\": \"a\tb\"}",
		"{\"content\": \"\\x41\"}",
		"{\"content\": \"\\u12\"}",
		"{\"content\": \"\\u12G4\"}",
		"{\"content\": \"\\U00000041\"}",
		"{\"content\": \"x}",
		"{'content': 'x'}",
		"{content: \"x\"}",
		"{\"content\": \"x\",}",
		"{,\"content\": \"x\"}",
		"{\"content\" \"x\"}",
		"{\"content\": \"x\" \"y\"}",
		"{\"content\":: \"x\"}",
		"{\"content\": \"x\", \"continuation_token\": 5}",
		"{\"content\": \"x\", \"continuation_token\": true}",
		"{\"content\": \"x\", \"continuation_token\": {}}",
		"{\"content\": \"x\", \"continuation_token\": nul}",
		"{\"content\": \"x\", \"continuation_token\": nulll}",
		("{\"content\": \"x\", \"continuation_token\": \"a\", "
		 "\"continuation_token\": \"b\"}"),
		"{\"content\": \"x\", \"continuation_token\": \"a\\u0000b\"}",
		"{\"content\": \"x\", \"a\": tru}",
		"{\"content\": \"x\", \"a\": nan}",
		"{\"content\": \"x\", \"a\": 01}",
		"{\"content\": \"x\", \"a\": -}",
		"{\"content\": \"x\", \"a\": 1.}",
		"{\"content\": \"x\", \"a\": .5}",
		"{\"content\": \"x\", \"a\": 1e}",
		"{\"content\": \"x\", \"a\": +1}",
		"{\"content\": \"x\", \"a\": [}",
		"{\"content\": \"x\", \"a\": {]}",
		"{\"content\": \"x\", \"a\": {\"b\": 1]}",
		"{\"content\": \"x\", \"a\": ]}",
		"{\"content\": \"x\", \"a\": [\"]\"}",
		"{\"content\": \"x\", \"a\": [@]}",
		"{\"content\": \"x\", \"a\": 'x'}",
		"{\"content\": \"x\", \"a\": }",
		"{\"content\": \"x\", \"a\": [1 2]}",
		"{\"content\": \"x\", \"a\": [1,]}",
		"{\"content\": \"x\", \"a\": [,1]}",
		"{\"content\": \"x\", \"a\": [1:2]}",
		"{\"content\": \"x\", \"a\": {\"b\" 1}}",
		"{\"content\": \"x\", \"a\": {\"b\":}}",
		"{\"content\": \"x\", \"a\": {\"b\":1,}}",
		"{\"content\": \"x\", \"a\": {\"b\":1 \"c\":2}}",
		"{\"content\": \"x\", \"a\": {1:2}}",
		"{\"content\": \"x\", \"a\": {\"b\"}}",
		"{\"content\": \"x\", \"a\": [\"b\" \"c\"]}",
		"{\"content\": \"x\", \"a\": [[]]]}",
		"{\"content\": \"x\", \"a\"}",
		"{\"content\": \"[('h', 'x')\"}",
		"{\"content\": \"[('h' 'x')]\"}",
		"{\"content\": \"[('h', 'x') ('h', 'y')]\"}",
		"{\"content\": \"[('h', 'x\\\\U00110000')]\"}",
		"{\"content\": \"[('h\\\\U00110000', 'x')]\"}",
		"{\"content\": \"[('h', '\\\\x4')]\"}",
		"{\"content\": \"[('h', '\\\\u004g')]\"}",
		"{\"content\": \"[('h', 'x\\\\\"}",
		"{\"content\": \"[(Nope, 'x')]\"}",
		"{\"content\": \"[(None 'x')]\"}",
		"{\"content\": \"[(1, 'x')]\"}",
		"{\"content\": \"[('h', 'x')] x\"}",
		"{\"content\": \"[('h', 'x'),,]\"}",
		"{\"content\": \"[(,'x')]\"}",
		"{\"content\": \"[('h', 'x',,)]\"}",
		"{\"content\": \"[('h', 'x', 'y')]\"}",
		"{\"content\": \"[('h')]\"}",
		"{\"content\": \"[()]\"}",
		"{\"content\": \"[\"}",
		"{\"content\": \"[('h', b'x')]\"}",
		"\357\273\277{\"content\": \"x\"}",
	};
	char *big;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_eio(bad[i], strlen(bad[i]));
	/* a NUL byte outside strings */
	expect_eio("{\"content\": \"x\"}\0", 17);
	expect_eio("{\"content\": \"x\"\0}", 17);

	/* these are fine */
	expect_ok("{\"content\": \"x\", \"a\": [[[[{\"b\": [1, {}]}]]]]}", "x",
		  NULL);
	expect_ok("{\"content\": \"[('h', 'x\\\\\\n')]\"}", "x", NULL);
	expect_ok("{\"content\": \"x\", \"continuation_token\": null}", "x",
		  NULL);
	expect_ok("{\"content\":\"x\",\"a\":-0.5e+10,\"b\":0,\"c\":1E-2}", "x",
		  NULL);
	expect_ok("{\"content\": \"\\u0041\\u00e9\"}", "A\303\251", NULL);

	/* nesting: 63 levels are skipped, 64 are too many (as json-c) */
	big = malloc(1024);
	if (!big)
		abort();
	for (n = 63; n <= 64; n++) {
		i = (size_t)sprintf(big, "{\"content\": \"x\", \"a\": ");
		memset(big + i, '[', n);
		memset(big + i + n, ']', n);
		strcpy(big + i + 2 * n, "}");
		if (n == 63)
			expect_ok(big, "x", NULL);
		else
			expect_eio(big, strlen(big));
	}
	free(big);

	/* a long key is just another key; a token is capped at 64 KiB */
	big = malloc(70000);
	if (!big)
		abort();
	i = (size_t)sprintf(big, "{\"content\": \"x\", \"");
	memset(big + i, 'k', 1000);
	strcpy(big + i + 1000, "\": 1}");
	expect_ok(big, "x", NULL);
	for (n = 65536; n <= 65537; n++) {
		i = (size_t)sprintf(big, "{\"content\": \"x\", "
					 "\"continuation_token\": \"");
		memset(big + i, 't', n);
		strcpy(big + i + n, "\"}");
		if (n == 65537) {
			expect_eio(big, strlen(big));
		} else {
			struct sink s = {0};
			char *tok;

			CHECK(decode(big, strlen(big), SIZE_MAX, &s, &tok) ==
			      0);
			CHECK(tok && strlen(tok) == n);
			free(tok);
			free(s.p);
		}
	}
	free(big);
}

static void test_sink_error(void)
{
	static const char small[] = "{\"content\": \"[('h', 'x')]\"}";
	struct logstream *ls;
	struct sink s = {0};
	char *a, *content, *tok;
	size_t n = 200000, alen, i;

	/* a text longer than the buffer: the sink is called during feed */
	content = malloc(n + 16);
	if (!content)
		abort();
	i = (size_t)sprintf(content, "[('h', '");
	memset(content + i, 'a', n);
	strcpy(content + i + n, "')]");
	a = answer_of(content, strlen(content), 0, &alen);

	CHECK(decode(a, alen, 4096, &s, &tok) == 0 && s.len == n);
	CHECK(s.biggest <= 64 * 1024 && s.calls >= 4);
	free(tok);
	free(s.p);

	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	s.fail_err = -ENOSPC;
	ls = logstream_new(sink_cb, &s);
	CHECK(ls != NULL);
	CHECK(logstream_feed(ls, a, alen) == -ENOSPC);
	CHECK(logstream_feed(ls, "", 0) == -ENOSPC);
	CHECK(logstream_end(ls, &tok) == -ENOSPC && tok == NULL);
	CHECK(s.calls == 2);
	logstream_free(&ls);
	free(s.p);
	free(a);
	free(content);

	/* a short text: the sink is called at the end */
	memset(&s, 0, sizeof(s));
	s.fail_at = 1;
	s.fail_err = -EINTR;
	ls = logstream_new(sink_cb, &s);
	CHECK(ls != NULL);
	CHECK(logstream_feed(ls, small, strlen(small)) == 0);
	CHECK(s.calls == 0);
	CHECK(logstream_end(ls, &tok) == -EINTR && tok == NULL);
	logstream_free(&ls);
	logstream_free(&ls);
}

static void test_lifecycle(void)
{
	static const char ans[] =
		"{\"continuation_token\": \"eyJsb2dfcG9zIjo5fQ.sig\", "
		"\"content\": \"[('h', 'x\\\\n')]\"}";
	struct logstream *ls;
	struct sink s = {0};
	char *tok;
	long pos;
	int eol;

	ls = logstream_new(sink_cb, &s);
	CHECK(ls != NULL);
	CHECK(logstream_feed(ls, ans, strlen(ans)) == 0);
	CHECK(logstream_feed(ls, NULL, 0) == 0);
	CHECK(logstream_end(ls, &tok) == 0);
	CHECK(same(&s, "x\n", 2) && s.calls == 1);
	CHECK_STR(tok, "eyJsb2dfcG9zIjo5fQ.sig");
	CHECK(logstream_token(tok, &eol, &pos) == 0 && eol == -1 && pos == 9);
	free(tok);
	/* the answer is over */
	CHECK(logstream_feed(ls, " ", 1) == -EIO);
	CHECK(logstream_end(ls, &tok) == -EIO && tok == NULL);
	logstream_free(&ls);
	CHECK(ls == NULL);
	free(s.p);

	/* freed before the end: the token is freed too */
	ls = logstream_new(sink_cb, &s);
	CHECK(ls != NULL);
	CHECK(logstream_feed(ls, ans, 30) == 0);
	logstream_free(&ls);
}

static void test_tokens(void)
{
	size_t i;
	long pos;
	int eol, r;

	for (i = 0; i < sizeof(tokens) / sizeof(*tokens); i++) {
		eol = 99;
		pos = 99;
		r = logstream_token(tokens[i].token, &eol, &pos);
		if (r != tokens[i].rc || (!r && (eol != tokens[i].end_of_log ||
						 pos != tokens[i].log_pos)))
			fprintf(stderr, "token %s: %d %d %ld\n",
				tokens[i].token, r, eol, pos);
		CHECK(r == tokens[i].rc);
		if (!r)
			CHECK(eol == tokens[i].end_of_log &&
			      pos == tokens[i].log_pos);
		else
			CHECK(eol == 99 && pos == 99); /* left alone */
	}
	CHECK(logstream_token(NULL, &eol, &pos) == -EIO);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a sink into a buffer big enough */
struct flat {
	char *p;
	size_t len;
};

static int flat_cb(void *arg, const char *text, size_t len)
{
	struct flat *f = arg;

	memcpy(f->p + f->len, text, len);
	f->len += len;
	return 0;
}

/*
 * A log of about mb MB in tuples of about 1 MB, each ending without a
 * newline, as str() writes it: mostly plain lines, some with escapes,
 * quotes, raw non-ASCII and emoji.
 */
static char *big_content(size_t mb, size_t *len)
{
	static const char *const lines[] = {
		"[2024-01-01, 00:00:01 UTC] {taskinstance.py:1157} INFO - "
		"Dependencies all met for dep_context=non-requeueable deps "
		"ti=<TaskInstance: etl.t manual__2024-01-01T00:00:00+00:00 "
		"[queued]>\\n",
		"[2024-01-01, 00:00:02 UTC] {logging_mixin.py:188} INFO - "
		"row 12345 processed in 0.003 s, 17 rows left, "
		"checksum=0x1f2e3d4c5b6a7988\\n",
		"[2024-01-01, 00:00:03 UTC] {subprocess.py:93} INFO - "
		"\\x1b[32mOK\\x1b[0m\\tcaf\303\251 \360\237\232\200 "
		"it\\'s \"quoted\" C:\\\\path\\n",
	};
	size_t cap = mb * 1024 * 1024 + 4096, n = 0, part = 0, k;
	char *c = malloc(cap);
	unsigned i = 0;

	if (!c)
		abort();
	n += (size_t)sprintf(c, "[('worker-0', '");
	while (n < cap - 4096) {
		if (n / (1024 * 1024) > part) {
			part = n / (1024 * 1024);
			n += (size_t)sprintf(
				c + n, "last line'), ('worker-%zu', '", part);
		}
		k = strlen(lines[i % 3 == 2 ? 2 : i % 7 == 0]);
		memcpy(c + n, lines[i % 3 == 2 ? 2 : i % 7 == 0], k);
		n += k;
		i++;
	}
	n += (size_t)sprintf(c + n, "end')]");
	*len = n;
	return c;
}

static void test_big(void)
{
	const char *env = getenv("LOGSTREAM_MB");
	size_t mb = env ? strtoul(env, NULL, 10) : 50;
	size_t clen, alen, olen, off, n;
	struct logstream *ls;
	struct flat f;
	char *content, *a, *out, *tok;
	double t0, t1, t2;
	int ascii, r;

	if (mb < 1)
		mb = 1;
	content = big_content(mb, &clen);
	t0 = now();
	r = pyrepr_log(content, clen, &out, &olen);
	t1 = now();
	CHECK(r == 0);
	if (r)
		return;
	fprintf(stderr, "pyrepr_log: %.0f MB/s on %zu bytes of content\n",
		(double)clen / (t1 - t0) / 1e6, clen);
	f.p = malloc(olen + 1);
	if (!f.p)
		abort();
	memset(f.p, 0, olen + 1); /* no page faults in the timing */
	for (ascii = 0; ascii <= 1; ascii++) {
		a = answer_of(content, clen, ascii, &alen);
		f.len = 0;
		t1 = now();
		ls = logstream_new(flat_cb, &f);
		CHECK(ls != NULL);
		for (off = 0, r = 0; off < alen && !r; off += n) {
			n = alen - off < 16384 ? alen - off : 16384;
			r = logstream_feed(ls, a + off, n);
		}
		if (!r)
			r = logstream_end(ls, &tok);
		t2 = now();
		logstream_free(&ls);
		CHECK(r == 0 && tok == NULL);
		CHECK(f.len == olen && memcmp(f.p, out, olen) == 0);
		fprintf(stderr, "logstream (%s JSON): %.0f MB/s on %zu bytes\n",
			ascii ? "ASCII-escaped" : "raw UTF-8",
			(double)alen / (t2 - t1) / 1e6, alen);
		free(a);
	}
	free(f.p);
	free(out);
	free(content);
}

int main(void)
{
	test_cases();
	test_answer_prefixes();
	test_content_prefixes();
	test_mutations();
	test_bad();
	test_sink_error();
	test_lifecycle();
	test_tokens();
	test_big();
	return CHECK_DONE();
}
