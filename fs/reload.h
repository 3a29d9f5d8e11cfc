/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIGHUP as a request to reload: the handler only writes a byte to a
 * pipe (the self-pipe trick: nothing in it but write(2), which is
 * async-signal-safe), and a thread of its own reads the pipe and calls
 * the reload function, where any work may be done. Signals that arrive
 * during one call make one more call, not one each.
 *
 * Install it before libfuse's fuse_set_signal_handlers(), which leaves a
 * signal alone when it is not at SIG_DFL (its own SIGHUP handler would end
 * the session), and start the thread after the daemon has forked.
 */
#ifndef AFS_RELOAD_H
#define AFS_RELOAD_H

struct reload;

/*
 * Makes the pipe and installs the SIGHUP handler; SIGHUPs are counted from
 * now on and served once reload_run() starts. 0 or -errno. Only one at a
 * time per process (a signal handler has nowhere but a global to look).
 */
int reload_new(struct reload **out);
/* Starts the thread that calls fn(arg) for each SIGHUP. 0 or -errno. */
int reload_run(struct reload *r, void (*fn)(void *), void *arg);
/*
 * Ignores SIGHUP from now on, waits for a call in progress, stops the
 * thread and frees r; sets *r to NULL. NULL is fine.
 */
void reload_free(struct reload **r);

#endif
