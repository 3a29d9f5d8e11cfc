/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: stderr until the daemon detaches or when in the foreground,
 * syslog in the background. Callers never pass secrets.
 */
#ifndef AFS_LOG_H
#define AFS_LOG_H

#include <stddef.h>
#include <syslog.h>
#include <time.h>

/* Sends later messages to syslog (background) or stderr (foreground). */
void log_set_syslog(int on);
/* Logs one line; an error (LOG_ERR or worse) is also kept as the last. */
void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The last error logged, with control characters escaped (\xNN), into buf
 * (NUL-terminated, cut to size), and when it was logged: 0 when none.
 */
time_t log_last_error(char *buf, size_t size);

#endif
