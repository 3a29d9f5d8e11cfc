# SPDX-License-Identifier: Apache-2.0
"""Soak: eight workers doing mixed ls, cat, grep, stat and note writes on a real
mount while the server injects errors and latency.

Asserts that no call took longer than the mount's timeout for each request it makes
of the daemon that may need the server (plus scheduling slack),
that every failure had an errno the contract allows, that the server holds exactly
the last note whose save reported success (or one whose save timed out: the server
may take a PATCH after the client gave up on it), and that the daemon's
resident memory stayed flat. SOAK_SECONDS sets the duration: a few seconds in `make check`, 600 in `make soak`.
"""
import errno
import os
import random
import subprocess
import threading
import time

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
# the task instance whose note each worker writes (no other worker writes it)
OWNED = [(R1, i) for i in range(5)] + [(R3, i) for i in range(3)]
SECONDS = float(os.environ.get("SOAK_SECONDS", "6"))
TIMEOUT = 4  # the mount's timeout=
SLACK = 3  # scheduling slack on a loaded 2-core machine
WORKERS = 8
# what a call may fail with while the server misbehaves (SPEC.md "Errors")
ALLOWED = {errno.EIO, errno.ETIMEDOUT}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Worker(threading.Thread):
    def __init__(self, m, idx, deadline):
        super().__init__(daemon=True)
        self.m, self.idx, self.deadline = m, idx, deadline
        self.rng = random.Random(idx)
        self.run_id, self.map_index = OWNED[idx]
        self.note = m.p(E, self.run_id, "process", str(self.map_index), "note")
        self.saved = None  # the last note whose save reported success
        self.tried = []  # every save: (text, errno or 0)
        self.failures, self.slow, self.calls, self.unexpected = [], [], 0, []

    def timed(self, what, fn, path=""):
        t0 = time.monotonic()
        try:
            fn()
        except OSError as e:
            self.last_errno = e.errno
            if e.errno not in ALLOWED:
                self.unexpected.append((what, path, e))
            self.failures.append((what, e.errno))
            return False
        except subprocess.CalledProcessError as e:
            if e.returncode != 2 and not (e.returncode == 1 and what == "grep"):
                self.unexpected.append((what, e))
            self.failures.append((what, e.returncode))
            return False
        finally:
            took = time.monotonic() - t0
            self.calls += 1
            # each request of the kernel to the daemon is bounded by the
            # timeout; a call makes several that may need the server: the
            # LOOKUPs of a path walk past ttl (task, then file), then
            # GETATTR, OPEN, READ or FLUSH; grep -r walks a directory too
            calls = {"stat": 3, "grep": 8}.get(what, 4)
            if took > calls * TIMEOUT + SLACK:
                self.slow.append((what, took))
        return True

    def op(self):
        m, rng = self.m, self.rng
        run = rng.choice([R1, R2])
        task = rng.choice(["load", "notify", "transform", "group.extract"])
        kind = rng.randrange(6)
        if kind == 0:
            self.timed("ls", lambda: os.listdir(m.p(E, run, task)))
        elif kind == 1:
            self.timed("cat", lambda: open(m.p(E, run, task, rng.choice(
                ["state", "note", "info.json", "links.json"])), "rb").read())
        elif kind == 2:
            self.timed("stat", lambda: os.stat(m.p(E, run, task, "state")),
                       m.p(E, run, task, "state"))
        elif kind == 3:
            self.timed("grep", lambda: subprocess.run(
                ["grep", "-rc", "INFO", m.p(E, run, task, "logs")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=3 * (TIMEOUT + SLACK), check=True))
        elif kind == 4:
            self.timed("cat log", lambda: open(m.p(E, run, task, "logs", "1"), "rb").read())
        else:
            text = "soak %d %d" % (self.idx, self.calls)

            def save():
                with open(self.note, "w") as f:
                    f.write(text + "\n")
            self.last_errno = 0
            ok = self.timed("note", save)
            self.tried.append((text, self.last_errno))
            if ok:
                self.saved = text

    def run(self):
        while time.monotonic() < self.deadline:
            self.op()


def faults(fake, stop):
    """Keeps a mix of faults queued: 5xx and 429 on any request, latency on reads
    (a delayed PATCH that outlived the timeout would be applied yet reported failed:
    no client can tell, so the soak keeps writes' answers within the timeout)."""
    rng = random.Random(1)
    while not stop.is_set():
        kind = rng.randrange(4)
        if kind == 0:
            fake.inject(status=rng.choice([500, 502, 503, 429]), count=1)
        elif kind == 1:
            fake.inject(method="GET", delay=rng.choice([0.05, 0.3, 1.0]), count=1)
        elif kind == 2:
            fake.inject(method="PATCH", status=503, count=1)
        time.sleep(0.05)


def test_soak(mount, fake):
    m = mount(opts=["ttl=1", "log_ttl=1", "timeout=%d" % TIMEOUT, "retries=2"])
    pid = m.proc.pid
    notes = {}
    for i, (run, mi) in enumerate(OWNED):
        notes[i] = fake.ti(E, run, "process", mi)["note"]
    # warm up, then measure memory from there
    os.listdir(m.p(E, R1))
    base = rss_kb(pid)
    stop = threading.Event()
    injector = threading.Thread(target=faults, args=(fake, stop), daemon=True)
    injector.start()
    deadline = time.monotonic() + SECONDS
    workers = [Worker(m, i, deadline) for i in range(WORKERS)]
    for w in workers:
        w.start()
    peak = base
    while any(w.is_alive() for w in workers):
        peak = max(peak, rss_kb(pid))
        time.sleep(0.2)
        assert time.monotonic() < deadline + 3 * (TIMEOUT + SLACK), "a worker hung"
    stop.set()
    injector.join()
    fake.clear_faults()

    calls = sum(w.calls for w in workers)
    failures = [f for w in workers for f in w.failures]
    assert calls > WORKERS, calls
    assert [u for w in workers for u in w.unexpected] == []
    assert [s for w in workers for s in w.slow] == []
    for w in workers:
        # the last save that reported success; or one that timed out, whose
        # PATCH the server may have taken after the client gave up on it,
        # even after a later save (a timed-out write may or may not be
        # applied: SPEC.md); never one that failed otherwise
        want = {w.saved if w.saved is not None else notes[w.idx]}
        want |= {text for text, err in w.tried if err == errno.ETIMEDOUT}
        held = fake.ti(E, w.run_id, "process", w.map_index)["note"]
        assert held in want, (w.idx, held, want, w.tried, [
            (r["method"], r["body"], r["status"]) for r in fake.requests()
            if r["method"] == "PATCH" and "/process/%d" % w.map_index in r["path"]])
    # still serving once the faults stop
    assert open(m.p(E, R1, "load", "state"), "rb").read() == b"success\n"
    end = rss_kb(pid)
    assert end - base < 30 * 1024, (base, peak, end)
    print("soak: %d calls, %d failed, rss %d -> %d kB (peak %d)" % (
        calls, len(failures), base, end, peak))
