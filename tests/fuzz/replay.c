// SPDX-License-Identifier: Apache-2.0
/*
 * Replays fuzz inputs without libFuzzer: links with one fuzz_<name>.c and
 * calls its LLVMFuzzerTestOneInput() on each file named on the command
 * line (make fuzz-replay runs every corpus and crash file so, with the
 * normal compiler). An input that crashes or trips an invariant aborts
 * the run; built with AddressSanitizer, a leak is looked for after each
 * input and fails the run with the input's name.
 *
 *	replay [-v] FILE...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

#ifdef REPLAY_ASAN
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

static const char *current; /* the input being run */

static void say_input(void)
{
	if (current) {
		/* async-signal-safe: write() only */
		static const char head[] = "fuzz-replay: failed on ";

		if (write(2, head, sizeof(head) - 1) < 0 ||
		    write(2, current, strlen(current)) < 0 ||
		    write(2, "\n", 1) < 0)
			return;
	}
}

static void on_signal(int sig)
{
	say_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* the whole file, malloc'd (never NULL, so that size 0 is an input too) */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0, k;

	if (!f) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			p = realloc(p, cap);
			if (!p)
				abort();
		}
		k = fread(p + n, 1, cap - n, f);
		n += k;
	} while (k > 0);
	if (ferror(f)) {
		fprintf(stderr, "fuzz-replay: %s: read error\n", path);
		exit(2);
	}
	fclose(f);
	*len = n;
	return p;
}

int main(int argc, char **argv)
{
	int i = 1, verbose = 0, runs = 0;
	uint8_t *data, *copy;
	size_t len;

	if (i < argc && strcmp(argv[i], "-v") == 0) {
		verbose = 1;
		i++;
	}
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGFPE, on_signal);
#ifdef REPLAY_ASAN
	__sanitizer_set_death_callback(say_input);
#endif
	for (; i < argc; i++) {
		current = argv[i];
		if (verbose)
			fprintf(stderr, "fuzz-replay: %s\n", current);
		data = slurp(current, &len);
		/* exactly len bytes, so that a read past them is seen */
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		if (len)
			memcpy(copy, data, len);
		free(data);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
#ifdef REPLAY_ASAN
		if (__lsan_do_recoverable_leak_check()) {
			say_input();
			_exit(1); /* not the same report again at exit */
		}
#endif
		runs++;
	}
	current = NULL;
	printf("%s: %d inputs replayed\n", argv[0], runs);
	return 0;
}
