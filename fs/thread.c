// SPDX-License-Identifier: Apache-2.0
/* Threads that take no signal; see thread.h. */
#include <signal.h>

#include "thread.h"

int thread_start(pthread_t *t, const char *name, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		pthread_setname_np(*t, name);
	return -err;
}
