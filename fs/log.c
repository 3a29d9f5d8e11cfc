// SPDX-License-Identifier: Apache-2.0
/* Logging to stderr or syslog; see log.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int use_syslog;

/* The last error, for .stats: protected by last_lock. */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512];
static time_t last_error_time;

/*
 * Copies line into out (size bytes) with control characters as \xNN: a
 * log line quotes text from the server (ids, messages), which must not
 * forge lines or drive a terminal.
 */
static void escape(const char *line, char *out, size_t size)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)line;
	     *p && n + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", *p);
		else
			out[n++] = (char)*p;
	}
	out[n] = '\0';
}

static void keep_last(const char *line)
{
	size_t n = strnlen(line, sizeof(last_error) - 1);

	pthread_mutex_lock(&last_lock);
	memcpy(last_error, line, n);
	last_error[n] = '\0';
	last_error_time = time(NULL);
	pthread_mutex_unlock(&last_lock);
}

time_t log_last_error(char *buf, size_t size)
{
	time_t t;

	pthread_mutex_lock(&last_lock);
	snprintf(buf, size, "%s", last_error);
	t = last_error_time;
	pthread_mutex_unlock(&last_lock);
	return t;
}

void log_set_syslog(int on)
{
	if (on && !use_syslog)
		openlog("airflowfs", LOG_PID, LOG_DAEMON);
	use_syslog = on;
}

void log_msg(int priority, const char *fmt, ...)
{
	char raw[2048], line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape(raw, line, sizeof(line));
	if (priority <= LOG_ERR)
		keep_last(line);
	if (use_syslog)
		syslog(priority, "%s", line);
	else
		fprintf(stderr, "airflowfs: %s\n", line);
}
