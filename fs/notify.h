/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service manager's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram such as "READY=1" to the unix socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name when it starts with '@').
 * Under systemd with Type=notify, the unit is started once READY=1 is in.
 */
#ifndef AFS_NOTIFY_H
#define AFS_NOTIFY_H

/*
 * Sends state ("READY=1", "STOPPING=1", ...). 0 when sent or when there is
 * no $NOTIFY_SOCKET (not under a service manager); -errno otherwise.
 */
int notify_service(const char *state);

#endif
