/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's own threads (readahead workers, list pages, the SIGHUP
 * thread) take no signal: SIGTERM and SIGINT must reach the FUSE loop's
 * threads, which end the loop. A signal taken by another thread sets the
 * loop's exit flag but wakes none of them, and the daemon stays up until
 * the next request arrives (libfuse 3.14's fuse_session_loop_mt).
 */
#ifndef AFS_THREAD_H
#define AFS_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread, named name
 * (at most 15 bytes, shown in /proc/PID/task/TID/comm): 0 or -errno. */
int thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		 void *arg);

#endif
