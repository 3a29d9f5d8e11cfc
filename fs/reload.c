// SPDX-License-Identifier: Apache-2.0
/* SIGHUP through a self-pipe to a thread of its own; see reload.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "reload.h"
#include "thread.h"

struct reload {
	int pipe[2]; /* the handler writes a byte to [1]; EOF: stop */
	pthread_t thread;
	int running;
	void (*fn)(void *);
	void *arg;
};

/* The write end for the handler: a handler sees globals only. */
static volatile sig_atomic_t hup_fd = -1;

static void on_hup(int sig)
{
	int saved = errno, fd = hup_fd;
	/* when it fails, the pipe is full: a reload is pending anyway */
	ssize_t n = fd >= 0 ? write(fd, "h", 1) : 0;

	(void)n;
	errno = saved;
}

int reload_new(struct reload **out)
{
	struct reload *r = calloc(1, sizeof(*r));
	struct sigaction sa = {.sa_handler = on_hup};

	*out = NULL;
	if (!r)
		return -ENOMEM;
	if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(r);
		return -errno;
	}
	hup_fd = r->pipe[1];
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) != 0) {
		int err = -errno;

		hup_fd = -1;
		close(r->pipe[0]);
		close(r->pipe[1]);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

static void *serve(void *arg)
{
	struct reload *r = arg;
	struct pollfd p = {.fd = r->pipe[0], .events = POLLIN};

	for (;;) {
		char buf[64];
		int hup = 0;
		ssize_t n;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		/* take every byte pending: one call for all of them */
		while ((n = read(r->pipe[0], buf, sizeof(buf))) > 0)
			hup = 1;
		if (n == 0) /* reload_free closed the write end */
			break;
		if (hup)
			r->fn(r->arg);
	}
	return NULL;
}

int reload_run(struct reload *r, void (*fn)(void *), void *arg)
{
	int err;

	r->fn = fn;
	r->arg = arg;
	/* the thread takes SIGHUP by sigwait, no signal by delivery */
	err = thread_start(&r->thread, "afs-sighup", serve, r);
	if (err)
		return err;
	r->running = 1;
	return 0;
}

void reload_free(struct reload **rp)
{
	struct reload *r = *rp;
	struct sigaction sa = {.sa_handler = SIG_IGN};

	if (!r)
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	hup_fd = -1;
	close(r->pipe[1]);
	if (r->running)
		pthread_join(r->thread, NULL);
	close(r->pipe[0]);
	free(r);
	*rp = NULL;
}
