// SPDX-License-Identifier: Apache-2.0
/* Logging to stderr or syslog; see log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int use_syslog;

void log_set_syslog(int on)
{
	if (on && !use_syslog)
		openlog("airflowfs", LOG_PID, LOG_DAEMON);
	use_syslog = on;
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(priority, fmt, ap);
	} else {
		char line[2048];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "airflowfs: %s\n", line);
	}
	va_end(ap);
}
