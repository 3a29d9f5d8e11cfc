/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: stderr until the daemon detaches or when in the foreground,
 * syslog in the background. Callers never pass secrets.
 */
#ifndef AFS_LOG_H
#define AFS_LOG_H

#include <syslog.h>

/* Sends later messages to syslog (background) or stderr (foreground). */
void log_set_syslog(int on);
void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
