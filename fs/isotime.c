/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ISO-8601 dates as Airflow writes them; see isotime.h. The fields are
 * checked here, the calendar is timegm()'s.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "isotime.h"

static int digits(const char **p, const char *end, int n, int *val)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*val = v;
	return 0;
}

static int lit(const char **p, const char *end, const char *chars)
{
	if (*p >= end || !strchr(chars, **p) || !**p)
		return -1;
	(*p)++;
	return 0;
}

static int days_in_month(int y, int mo)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return mdays[mo - 1];
}

int isotime_parse(const char *s, size_t n, time_t *t)
{
	const char *p = s, *end = s + n;
	struct tm tm = {0};
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0;
	time_t utc;
	int64_t secs;

	if (digits(&p, end, 4, &y) || lit(&p, end, "-") ||
	    digits(&p, end, 2, &mo) || lit(&p, end, "-") ||
	    digits(&p, end, 2, &d) || lit(&p, end, "Tt ") ||
	    digits(&p, end, 2, &h) || lit(&p, end, ":") ||
	    digits(&p, end, 2, &mi))
		return -1;
	if (!lit(&p, end, ":")) {
		if (digits(&p, end, 2, &sec))
			return -1;
		if (!lit(&p, end, ".,")) {
			if (p >= end || *p < '0' || *p > '9')
				return -1;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
		}
	}
	if (!lit(&p, end, "Zz")) {
		/* UTC */
	} else if (p < end && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, end, 2, &oh))
			return -1;
		if (p < end) {
			(void)lit(&p, end, ":");
			if (digits(&p, end, 2, &om))
				return -1;
		}
	}
	if (p != end || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec; /* a leap second is the next minute's first */
	errno = 0;
	utc = timegm(&tm);
	if (utc == (time_t)-1 && errno)
		return -1;
	secs = (int64_t)utc - sign * (oh * 3600 + om * 60);
	if ((time_t)secs != secs)
		return -1;
	*t = (time_t)secs;
	return 0;
}
