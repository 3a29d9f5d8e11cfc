# SPDX-License-Identifier: Apache-2.0
# airflowfs: plain Makefile. `make` builds ./airflowfs; `make check` installs
# what a fresh Debian 12 machine lacks, builds and runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
VERSION = 0.1.0

PKGS = fuse3 libcurl json-c zlib krb5-gssapi
CC ?= cc
WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wno-unused-parameter -Wvla
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Hardened as Debian builds packages: stack protector, fortified libc calls
# (unless CPPFLAGS or CFLAGS choose a _FORTIFY_SOURCE, or -O0, where it
# warns), read-only relocations bound at start. The sanitizer builds leave
# fortify out (ASan checks those calls itself). CPPFLAGS, CFLAGS and LDFLAGS
# of the environment or the command line come after ours, so they win.
NO_FORTIFY = $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS))$(filter -O0,$(OPT) $(CFLAGS))
HARDEN_CPPFLAGS = $(if $(NO_FORTIFY),,-D_FORTIFY_SOURCE=2)
HARDEN_CFLAGS = -fstack-protector-strong
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now
ALL_CFLAGS = -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE -DAFS_VERSION=\"$(VERSION)\" \
	-Ifs -Icache $(PKG_CFLAGS) $(HARDEN_CPPFLAGS) $(CPPFLAGS) \
	$(HARDEN_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)
LDLIBS += $(PKG_LIBS) -lpthread $(EXTRA_LDFLAGS)

B = build
LIB_SRC = $(filter-out fs/main.c,$(wildcard fs/*.c)) $(wildcard cache/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/%)
PYTEST = /usr/bin/python3 -m pytest

.PHONY: all deps check unit mount-tests demo bench soak asan valgrind install \
	uninstall clean format format-check teardown teardown-valgrind fuzz fuzz-deps fuzz-bins fuzz-replay fuzz-merge

BIN = airflowfs

all: $(BIN)

$(BIN): $(B)/fs/main.o $(B)/libairflowfs.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libairflowfs.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# each object depends on the headers it includes (-MMD writes them down)
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(B)/fs/main.d

# tests/unit/pyrepr.c: a plain decoder of v1 log content, the oracle that
# the streaming one (fs/logstream.c) is checked against
$(B)/test_%: tests/unit/test_%.c tests/unit/pyrepr.c $(B)/libairflowfs.a \
		tests/unit/check.h tests/unit/pyrepr.h
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
		tests/unit/pyrepr.c $(B)/libairflowfs.a $(LDLIBS)

# Installs the Debian packages that building and testing need, if missing.
deps:
	@sh tests/deps.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do ./$$t; done

mount-tests: airflowfs
	$(PYTEST) -q tests

check: deps
	$(MAKE) format-check
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) mount-tests

# The unit tests and the mount tests against a build with AddressSanitizer
# and UndefinedBehaviorSanitizer; the mount fixture fails a test whose
# daemon printed a report.
ASAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# A small quarantine: freed memory is reused soon, so the peak-RSS bounds of
# tests/test_limits.py hold under ASan as they do without it.
ASAN_RUN = detect_leaks=1:quarantine_size_mb=4:thread_local_quarantine_size_kb=64
ASAN_MAKE = B=build/asan OPT="-O1 -g" HARDEN_CPPFLAGS= EXTRA_CFLAGS="$(ASAN)" \
	EXTRA_LDFLAGS="$(ASAN)"
asan: deps
	$(MAKE) $(ASAN_MAKE) BIN=build/asan/airflowfs build/asan/airflowfs
	$(MAKE) $(ASAN_MAKE) unit
	AIRFLOWFS_BIN=$(CURDIR)/build/asan/airflowfs \
		AIRFLOWFS_RSS_LIMIT_MB=1024 ASAN_OPTIONS=$(ASAN_RUN) \
		$(PYTEST) -q tests

# Fuzzing (tests/fuzz/): one libFuzzer target per fuzz_<name>.c. `make fuzz`
# builds them with clang into build/fuzz/ and runs each for FUZZ_SECONDS
# on its corpus (new inputs go to build/fuzz/corpus/<name>/, crashes to
# build/fuzz/crashes/<name>/); `make -j2 fuzz` runs two at a time.
# `make fuzz-replay` (part of check) links the same targets with
# tests/fuzz/replay.c, built by cc with ASan and UBSan, and runs every file
# of tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/ once.
FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 300
FUZZ_CC = clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
# where fuzz-bins puts the binaries, and what drives them
FUZZ_DIR ?= $(B)/fuzz-replay
FUZZ_DRIVER ?= tests/fuzz/replay.c
FUZZ_BIN = $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
# tests/fuzz/<name>.dict, else the dictionary of the first word of <name>
fuzz_dict = $(firstword $(wildcard tests/fuzz/$(1).dict \
	tests/fuzz/$(firstword $(subst _, ,$(1))).dict))

$(FUZZ_BIN): $(FUZZ_DIR)/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
		tests/fuzz/oracle.h tests/fuzz/replay.c tests/unit/pyrepr.c \
		tests/unit/pyrepr.h $(B)/libairflowfs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
		tests/unit/pyrepr.c $(FUZZ_DRIVER) $(B)/libairflowfs.a $(LDLIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-replay:
	$(MAKE) $(ASAN_MAKE) fuzz-bins
	@set -e; for t in $(FUZZ_TARGETS); do \
		files=$$(find tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t \
			-type f 2>/dev/null | sort); \
		[ -n "$$files" ] || { echo "fuzz-replay: no corpus for $$t"; \
			exit 1; }; \
		ASAN_OPTIONS=detect_leaks=1 build/asan/fuzz-replay/$$t $$files; \
	done

# Installs clang and libFuzzer (with what deps installs) if missing.
fuzz-deps:
	@sh tests/deps.sh fuzz

FUZZ_MAKE = $(MAKE) B=build/fuzz FUZZ_DIR=build/fuzz CC=$(FUZZ_CC) \
	OPT="-O1 -g" HARDEN_CPPFLAGS= \
	EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	EXTRA_LDFLAGS="$(FUZZ_SAN)" FUZZ_DRIVER=-fsanitize=fuzzer

fuzz: fuzz-deps
	+$(FUZZ_MAKE) fuzz-bins
	$(MAKE) $(FUZZ_TARGETS:%=fuzz-run-%)

# One target's run; its output is in build/fuzz/<name>.log.
fuzz-run-%:
	@mkdir -p build/fuzz/corpus/$* build/fuzz/crashes/$*
	@echo "fuzz $*: $(FUZZ_SECONDS) s"
	@build/fuzz/$* -max_total_time=$(FUZZ_SECONDS) -timeout=25 \
		-print_final_stats=1 \
		-artifact_prefix=build/fuzz/crashes/$*/ \
		$(if $(call fuzz_dict,$*),-dict=$(call fuzz_dict,$*)) \
		build/fuzz/corpus/$* tests/fuzz/corpus/$* \
		$(wildcard tests/fuzz/crashes/$*) > build/fuzz/$*.log 2>&1 || \
		{ tail -n 40 build/fuzz/$*.log; \
		  echo "fuzz $*: FAILED, input in build/fuzz/crashes/$*/"; \
		  exit 1; }
	@grep -E '^#[0-9]+[[:space:]]+DONE' \
		build/fuzz/$*.log | sed 's/^/fuzz $*: /'

# Adds to tests/fuzz/corpus/<name>/ the inputs of build/fuzz/corpus/<name>/
# (what runs found) that reach code edges the corpus does not, as few as
# cover them, at most FUZZ_CORPUS_MAX files in all (libFuzzer's set cover
# merge measures, tests/fuzz/cover.py picks); files already there stay.
FUZZ_CORPUS_MAX ?= 48
fuzz-merge:
	+$(FUZZ_MAKE) fuzz-bins
	@set -e; for t in $(FUZZ_TARGETS); do \
		m=build/fuzz/merge/$$t; rm -rf $$m; mkdir -p $$m/out; \
		mkdir -p build/fuzz/corpus/$$t; \
		build/fuzz/$$t -set_cover_merge=1 -use_counters=0 \
			-use_value_profile=0 -merge_control_file=$$m/control \
			$$m/out tests/fuzz/corpus/$$t build/fuzz/corpus/$$t \
			>$$m/log 2>&1; \
		/usr/bin/python3 tests/fuzz/cover.py $$m/control \
			tests/fuzz/corpus/$$t $(FUZZ_CORPUS_MAX); \
	done

# The mount tests with the daemon under valgrind: a leak or an error makes
# it exit 99, which fails the test that mounted it.
VALGRIND = valgrind -q --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --error-exitcode=99 \
	--suppressions=$(CURDIR)/tests/valgrind.supp
valgrind: deps all
	@command -v valgrind >/dev/null || apt-get install -y -qq valgrind
	@rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind
	printf '#!/bin/sh\nexec %s --log-file=%s/vg.%%p.log %s "$$@"\n' \
		'$(VALGRIND)' '$(CURDIR)/$(B)/valgrind' '$(CURDIR)/airflowfs' \
		> $(B)/valgrind/airflowfs
	chmod +x $(B)/valgrind/airflowfs
	AIRFLOWFS_BIN=$(CURDIR)/$(B)/valgrind/airflowfs AIRFLOWFS_UNDER_VALGRIND=1 \
		$(PYTEST) -q tests -k "not 200_mb"
	@# daemons in the background exit unseen: their reports are in the logs
	@! find $(B)/valgrind -name 'vg.*.log' -size +0 | grep .
	@echo "valgrind: no leaks or errors reported"

# tests/test_teardown.py's unmount loop, 100 rounds, against the ASan build
# (make check runs 10 rounds, against it when it is built)
TEARDOWN_ROUNDS ?= 100
teardown: deps
	$(MAKE) B=build/asan BIN=build/asan/airflowfs OPT="-O1 -g" \
		EXTRA_CFLAGS="$(ASAN)" EXTRA_LDFLAGS="$(ASAN)" build/asan/airflowfs
	AIRFLOWFS_BIN=$(CURDIR)/build/asan/airflowfs \
		TEARDOWN_ROUNDS=$(TEARDOWN_ROUNDS) $(PYTEST) -q tests/test_teardown.py

# The same loop with the daemon under valgrind (memcheck): an error or a
# definite leak makes it exit 99, which fails the round
teardown-valgrind: deps all
	@command -v valgrind >/dev/null || apt-get install -y -qq valgrind
	@rm -rf $(B)/valgrind-td && mkdir -p $(B)/valgrind-td
	printf '#!/bin/sh\nexec %s --log-file=%s/vg.%%p.log %s "$$@"\n' \
		'$(VALGRIND)' '$(CURDIR)/$(B)/valgrind-td' '$(CURDIR)/airflowfs' \
		> $(B)/valgrind-td/airflowfs
	chmod +x $(B)/valgrind-td/airflowfs
	AIRFLOWFS_BIN=$(CURDIR)/$(B)/valgrind-td/airflowfs \
		TEARDOWN_ROUNDS=$(TEARDOWN_ROUNDS) $(PYTEST) -q tests/test_teardown.py
	@! find $(B)/valgrind-td -name 'vg.*.log' -size +0 | grep .
	@echo "teardown-valgrind: $(TEARDOWN_ROUNDS) rounds, no errors or leaks reported"

# tests/test_soak.py for ten minutes (a few seconds in make check)
SOAK_SECONDS ?= 600
soak: deps
	$(MAKE) all
	SOAK_SECONDS=$(SOAK_SECONDS) $(PYTEST) -q tests/test_soak.py

bench: deps
	$(MAKE) all
	/usr/bin/python3 tests/bench.py $(if $(LATENCY_MS),--latency-ms $(LATENCY_MS))

demo: deps
	$(MAKE) all
	@API=$(API) sh tests/demo.sh

# The layout of a Debian package with PREFIX=/usr (which may set UNITDIR to
# /lib/systemd/system). mount.fuse3 finds the binary in /usr/local/bin or
# /usr/bin (airflowfs(1), FSTAB); the unit gets the path of BINDIR.
DOCDIR = $(PREFIX)/share/doc/airflowfs
UNITDIR ?= $(PREFIX)/lib/systemd/system
UNIT = airflowfs@.service

install: airflowfs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(UNITDIR)
	install -m 755 airflowfs $(DESTDIR)$(BINDIR)/airflowfs
	install -m 644 contrib/airflowfs.1 $(DESTDIR)$(MANDIR)/airflowfs.1
	install -m 644 README.md contrib/fstab.example \
		contrib/airflowfs.conf.example $(DESTDIR)$(DOCDIR)/
	sed 's|/usr/local/bin/airflowfs|$(BINDIR)/airflowfs|' contrib/$(UNIT) \
		> $(DESTDIR)$(UNITDIR)/$(UNIT)
	chmod 644 $(DESTDIR)$(UNITDIR)/$(UNIT)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/airflowfs $(DESTDIR)$(MANDIR)/airflowfs.1 \
		$(DESTDIR)$(UNITDIR)/$(UNIT)
	rm -rf $(DESTDIR)$(DOCDIR)

FORMAT_SRC = fs/*.[ch] cache/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch]
format:
	clang-format -i $(FORMAT_SRC)

# Fails when a file is off the format of .clang-format (part of check).
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(B) airflowfs
