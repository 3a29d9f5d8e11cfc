# SPDX-License-Identifier: Apache-2.0
"""Faults on a real mount (API v1 and v2): a server that refuses connections, accepts and
never answers, answers slowly, drops the connection mid-body, answers 5xx, 429 or 4xx, or
answers badly (wrong JSON types, truncated, huge, invalid UTF-8, a proxy's HTML page, a
wrong Content-Type, redirects); writes under faults; unmounting with calls in flight; no
thread or descriptor leak; and what is served from the cache while the server is away.

Each fault asserts the errno (SPEC.md "Errors": EIO, or ETIMEDOUT where the call allows
it; ENOENT only for a 404), that the call returned within the mount's timeout (plus
scheduling slack), that the failure was logged (method, path, status or cause), and that
the daemon serves the next call once the fault is gone, without a remount. The mounts use
a short timeout and one retry to keep this fast; the faults come from the fake server
(tests/fake_airflow.py, FakeAirflow.inject, pause and resume)."""
import errno
import os
import signal
import subprocess
import threading
import time

import pytest

import airflow_api as api
import fake_airflow
from airflow_api import ti_path

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
TIMEOUT = 1      # the mounts' timeout=
RETRIES = 1      # and retries=
OPTS = ["timeout=%d" % TIMEOUT, "retries=%d" % RETRIES]
SLACK = 1.5      # scheduling slack over the timeout
BOUND = TIMEOUT + SLACK
# what a call may fail with when the server misbehaves (SPEC.md "Errors")
FAILED = (errno.EIO, errno.ETIMEDOUT)
# how the log says that no answer came in time
TIMED_OUT = ("timed out", "no time left")
# task instances that are not mapped: a fault on one of them leaves the others alone
UNMAPPED = [(R1, "group.extract"), (R1, "transform"), (R1, "load"), (R1, "notify"),
            (R2, "group.extract"), (R2, "transform"), (R2, "process"), (R2, "load"),
            (R2, "notify"), (R3, "group.extract"), (R3, "transform"), (R3, "load"),
            (R3, "notify")]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def fails(fn, *args, codes=FAILED, bound=BOUND):
    """Runs fn(*args), which must fail with one of codes within bound seconds; returns
    the errno and the seconds it took."""
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        fn(*args)
    took = time.monotonic() - t0
    assert e.value.errno in codes, e.value
    assert took < bound, "took %.2f s" % took
    return e.value.errno, took


class LogMark:
    """What the daemon logged after a point."""

    def __init__(self, m):
        self.m, self.at = m, len(m.log())

    def new(self):
        return self.m.log()[self.at:]

    def has(self, *parts):
        """Whether one new line holds all these parts (a tuple: one of them)."""
        def holds(line, part):
            return any(p in line for p in part) if isinstance(part, tuple) else part in line
        return any(all(holds(line, p) for p in parts) for line in self.new().splitlines())


def gets(fake, path):
    """The recorded GETs of path (without its query)."""
    return [r for r in fake.requests() if r["method"] == "GET" and r["path"] == path]


@pytest.fixture(autouse=True)
def server_back(fake):
    """Whatever a test did to the (module's) fake, the next one finds it listening and
    without faults; a request still held is let go."""
    yield
    fake.clear_faults()
    fake.resume()


@pytest.fixture
def m(mount):
    return mount(opts=OPTS)


def state_of(m, run=R1, task="load"):
    return m.p(E, run, task, "state")


def ti_p(fake, run=R1, task="load"):
    return ti_path(fake, E, run, task)


def server_state(fake, run=R1, task="load"):
    return ("%s\n" % (fake.ti(E, run, task)["state"] or "none")).encode()


def assert_serves(m, fake, run=R1, task="load"):
    """The daemon serves again: the fault is gone, a fresh read works."""
    fake.clear_faults()
    assert read(state_of(m, run, task)) == server_state(fake, run, task)


# --- the server goes away, hangs, is slow ------------------------------------------------

def test_refused_connections_then_back(m, fake):
    fake.pause()
    mark = LogMark(m)
    fails(read, state_of(m), codes=(errno.EIO,))
    assert mark.has("GET", ti_p(fake), "Connection refused"), mark.new()
    fails(os.listdir, m.p(E, R2), codes=(errno.EIO,))
    assert mark.has("GET", api.run_path(fake, E, R2) + "/taskInstances", "refused"), \
        mark.new()
    fake.resume()
    assert read(state_of(m)) == b"success\n"
    assert "transform" in os.listdir(m.p(E, R2))


def test_a_server_that_never_answers(m, fake):
    fake.inject(method="GET", path=ti_p(fake), hang=True, count=100)
    mark = LogMark(m)
    fails(read, state_of(m))
    assert mark.has("GET", ti_p(fake), TIMED_OUT), mark.new()
    # the one request used up the call's time: no retry
    assert [r["fault"] for r in gets(fake, ti_p(fake))] == ["hang"]
    tis = api.run_path(fake, E, R2) + "/taskInstances"
    fake.inject(method="GET", path=tis, hang=True, count=100)
    fails(os.listdir, m.p(E, R2))
    assert mark.has("GET", tis, TIMED_OUT), mark.new()
    # the mount stays usable: other paths meanwhile, and these once the server answers
    assert read(state_of(m, R1, "notify")) == b"success\n"
    assert fake.hanging() >= 2
    assert_serves(m, fake)
    assert "transform" in os.listdir(m.p(E, R2))
    assert fake.hanging() == 0


def test_slow_answers(m, fake):
    # within the timeout: a success, however slow
    fake.inject(method="GET", path=ti_p(fake), delay=TIMEOUT * 0.6)
    t0 = time.monotonic()
    assert read(state_of(m)) == b"success\n"
    assert TIMEOUT * 0.6 <= time.monotonic() - t0 < BOUND
    assert len(gets(fake, ti_p(fake))) == 1
    # beyond it: a failure within the bound
    fake.inject(method="GET", path=ti_p(fake, R1, "notify"), delay=TIMEOUT * 10, count=100)
    mark = LogMark(m)
    fails(read, state_of(m, R1, "notify"))
    assert mark.has("GET", ti_p(fake, R1, "notify"), TIMED_OUT), mark.new()
    assert_serves(m, fake, R1, "notify")


# --- connections dropped mid-body --------------------------------------------------------

DROPPED = ("partial", "transfer closed")


def test_drops_mid_body(m, fake):
    # once: retried, and the read works
    fake.inject(method="GET", path=ti_p(fake), drop=40)
    assert read(state_of(m)) == b"success\n"
    assert [r.get("fault") for r in gets(fake, ti_p(fake))] == ["drop", None]
    # more often than the retries: EIO
    path = ti_p(fake, R1, "notify")
    fake.inject(method="GET", path=path, drop=40, count=RETRIES + 1)
    mark = LogMark(m)
    fails(read, state_of(m, R1, "notify"), codes=(errno.EIO,))
    assert [r.get("fault") for r in gets(fake, path)] == ["drop"] * (RETRIES + 1)
    assert mark.has("GET", path, DROPPED), mark.new()
    assert_serves(m, fake, R1, "notify")


def test_logs_dropped_mid_body(m, fake):
    # a log streams into its decoder as it arrives: a retry skips what was taken
    for try_number in (1, 2):
        path = ti_p(fake, R2, "transform") + "/logs/%d" % try_number
        want = api.log_text(fake, E, R2, "transform", try_number)
        assert len(want) > 1000
        fake.reset()
        fake.inject(method="GET", path=path, drop=len(want) // 2)
        assert read(m.p(E, R2, "transform", "logs", str(try_number))) == want
        assert [r.get("fault") for r in gets(fake, path)] == ["drop", None]
    # more drops than retries: EIO, and the next read works
    path = ti_p(fake, R1, "transform") + "/logs/1"
    want = api.log_text(fake, E, R1, "transform", 1)
    fake.reset()
    fake.inject(method="GET", path=path, drop=300, count=RETRIES + 1)
    mark = LogMark(m)
    fails(read, m.p(E, R1, "transform", "logs", "1"), codes=(errno.EIO,))
    assert len(gets(fake, path)) == RETRIES + 1
    assert mark.has("GET", path, DROPPED), mark.new()
    fake.clear_faults()
    assert read(m.p(E, R1, "transform", "logs", "1")) == want


# --- 5xx, 429, 4xx -----------------------------------------------------------------------

def test_5xx_within_retries_succeeds(m, fake):
    for status, (run, task) in zip((500, 502, 503, 504), UNMAPPED):
        fake.inject(method="GET", path=ti_p(fake, run, task), status=status, count=RETRIES)
        assert read(state_of(m, run, task)) == server_state(fake, run, task), status
        assert [r["status"] for r in gets(fake, ti_p(fake, run, task))] == \
            [status] * RETRIES + [200]


def test_5xx_beyond_retries_is_eio(m, fake):
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    cases = [dict(status=503, body=api.error_body(fake, 503, "the scheduler is down")),
             dict(status=500), dict(status=502, body=page, content_type="text/html")]
    for fault, (run, task), said in zip(cases, UNMAPPED,
                                        ("the scheduler is down", "injected fault", "")):
        path = ti_p(fake, run, task)
        fake.inject(method="GET", path=path, count=RETRIES + 1, **fault)
        mark = LogMark(m)
        fails(read, state_of(m, run, task), codes=(errno.EIO,))
        assert [r["status"] for r in gets(fake, path)] == [fault["status"]] * (RETRIES + 1)
        assert mark.has("GET", path, str(fault["status"]), said), mark.new()
        assert_serves(m, fake, run, task)


def test_429_and_retry_after(mount, fake):
    m = mount(opts=["timeout=3", "retries=%d" % RETRIES])
    fake.inject(method="GET", path=ti_p(fake), status=429, headers={"Retry-After": "1"})
    t0 = time.monotonic()
    assert read(state_of(m)) == b"success\n"
    assert 1 <= time.monotonic() - t0 < 3 + SLACK
    first, second = gets(fake, ti_p(fake))
    assert (first["status"], second["status"]) == (429, 200)
    assert second["time"] - first["time"] >= 1
    # a Retry-After that the call's time cannot wait for: it fails now, not later
    path = ti_p(fake, R1, "notify")
    fake.inject(method="GET", path=path, status=429, count=100, headers={"Retry-After": "60"})
    mark = LogMark(m)
    fails(read, state_of(m, R1, "notify"), codes=FAILED, bound=SLACK)
    assert len(gets(fake, path)) == 1
    assert mark.has("GET", path, "429", "no time left"), mark.new()
    assert_serves(m, fake, R1, "notify")


def test_4xx_is_never_retried(m, fake):
    cases = [(400, errno.EIO), (403, errno.EACCES), (409, errno.EIO), (422, errno.EIO),
             (410, errno.EIO), (404, errno.ENOENT)]
    for (status, code), (run, task) in zip(cases, UNMAPPED):
        path = ti_p(fake, run, task)
        # a v2 403 is answered by one new login and one more try (the token, not the
        # request, is what is tried again: tests/test_auth.py)
        renews = fake.api == "v2" and status == 403
        fake.inject(method="GET", path=path, status=status, count=2 if renews else 1,
                    body=api.error_body(fake, status, "refused by the test"))
        mark = LogMark(m)
        fails(read, state_of(m, run, task), codes=(code,), bound=SLACK)
        assert len(gets(fake, path)) == (2 if renews else 1), status
        if status == 404:
            # a missing name is an answer (logged only with -o verbose), remembered
            # for the ttl like any other
            fails(read, state_of(m, run, task), codes=(code,), bound=SLACK)
            assert len(gets(fake, path)) == 1
        else:
            assert mark.has("GET", path, str(status), "refused by the test"), mark.new()
            assert_serves(m, fake, run, task)


# --- bad answers ---------------------------------------------------------------------------

BAD_ANSWERS = [
    ("wrong type of a field", dict(set_fields={"state": 42}), "unexpected answer"),
    ("wrong type of an id", dict(set_fields={"task_id": ["load"]}), "unexpected answer"),
    ("an array, not an object", dict(body=b"[]"), "unexpected answer"),
    ("truncated", dict(truncate=-7), "unexpected answer"),
    ("empty", dict(body=b""), "unexpected answer"),
    ("invalid UTF-8", dict(replace=[(b'"etl_daily"', b'"etl_\xffdaily"')]),
     "unexpected answer"),
    ("a proxy's page with 200", dict(status=200, body=b"<html><body>Sign in</body></html>",
                                     content_type="text/html; charset=utf-8"), "text/html"),
    ("JSON called text/plain", dict(content_type="text/plain"), "text/plain"),
    ("huge", dict(set_fields={"rendered_fields": {"sql": "x" * (9 << 20)}}), "larger than"),
]


def test_bad_answers_are_eio_and_logged(m, fake):
    for (kind, fault, said), (run, task) in zip(BAD_ANSWERS, UNMAPPED):
        path = ti_p(fake, run, task)
        fake.inject(method="GET", path=path, **fault)
        mark = LogMark(m)
        fails(read, state_of(m, run, task), codes=(errno.EIO,))
        assert mark.has("GET", path, said), (kind, mark.new())
        # an answer, not a network error: not asked again
        assert len(gets(fake, path)) == 1, kind
        assert_serves(m, fake, run, task)


def test_bad_answers_to_listings_and_logs_are_eio(m, fake):
    tis = api.run_path(fake, E, R2) + "/taskInstances"
    for fault in (dict(set_fields={"task_instances": {"not": "a list"}}),
                  dict(set_fields={"total_entries": "many"}), dict(truncate=100),
                  dict(status=200, body=b"<html></html>", content_type="text/html")):
        fake.inject(method="GET", path=tis, **fault)
        mark = LogMark(m)
        fails(os.listdir, m.p(E, R2), codes=(errno.EIO,))
        assert mark.has("GET", tis), (fault, mark.new())
    fake.clear_faults()
    assert "transform" in os.listdir(m.p(E, R2))
    log = ti_p(fake, R2, "transform") + "/logs/1"
    for fault in (dict(set_fields={"content": 42}), dict(truncate=-3),
                  dict(content_type="text/html")):
        fake.inject(method="GET", path=log, **fault)
        mark = LogMark(m)
        fails(read, m.p(E, R2, "transform", "logs", "1"), codes=(errno.EIO,))
        assert mark.has("GET", log), (fault, mark.new())
    fake.clear_faults()
    assert read(m.p(E, R2, "transform", "logs", "1")) == api.log_text(
        fake, E, R2, "transform", 1)


def test_redirects_within_the_origin_are_followed(m, fake):
    cases = [(status, fake.origin) for status in (301, 302, 303, 307, 308)] + [(302, "")]
    for (status, origin), (run, task) in zip(cases, UNMAPPED):
        path = ti_p(fake, run, task)
        fake.inject(method="GET", path=path, status=status,
                    headers={"Location": origin + path}, body=b"")
        assert read(state_of(m, run, task)) == server_state(fake, run, task)
        assert [r["status"] for r in gets(fake, path)] == [status, 200], (status, origin)
        # each carries the credentials, to the same origin
        assert len({r["headers"].get("Authorization") for r in gets(fake, path)}) == 1
    # a write: followed where it keeps its method (307, 308), applied once
    fake.inject(method="PATCH", status=307, headers={"Location": fake.origin + ti_p(fake)})
    write_file(state_of(m), b"skipped\n")
    assert [(r["method"], r["status"]) for r in state_patches(fake)] == [
        ("PATCH", 307), ("PATCH", 200)]
    assert fake.ti(E, R1, "load")["state"] == "skipped"
    # a 301, 302 or 303 would turn it into a GET: not followed, nothing applied
    fake.inject(method="PATCH", status=301, headers={"Location": fake.origin + ti_p(fake)})
    mark = LogMark(m)
    fails(write_file, state_of(m), b"failed\n", codes=(errno.EIO,))
    assert mark.has("PATCH", "301", "not followed"), mark.new()
    assert [r["status"] for r in state_patches(fake)][2:] == [301]
    assert fake.ti(E, R1, "load")["state"] == "skipped"


def test_redirects_to_another_origin_are_not_followed(m, fake):
    with fake_airflow.Recorder() as other:
        for status, (run, task) in zip((301, 302, 307, 308), UNMAPPED):
            path = ti_p(fake, run, task)
            fake.inject(method="GET", path=path, status=status,
                        headers={"Location": other.url + path}, body=b"")
            mark = LogMark(m)
            fails(read, state_of(m, run, task), codes=(errno.EIO,))
            assert other.requests() == []
            assert mark.has(str(status), "not followed", "another origin"), mark.new()
            assert mark.has("GET", path, str(status)), mark.new()
            assert len(gets(fake, path)) == 1
            assert_serves(m, fake, run, task)
        # nor for a write
        fake.inject(method="PATCH", status=307, headers={"Location": other.url + ti_p(fake)})
        fails(write_file, state_of(m), b"failed\n", codes=(errno.EIO,))
        assert other.requests() == []
        assert fake.ti(E, R1, "load")["state"] == "success"


# --- writes under faults -----------------------------------------------------------------

def patches_of(fake, run, task, field):
    """The recorded PATCHes of a task instance that send field (new_state, note)."""
    return [r for r in fake.requests() if r["method"] == "PATCH" and
            r["path"].startswith(ti_p(fake, run, task)) and '"%s"' % field in r["body"]]


def state_patches(fake, run=R1, task="load"):
    return patches_of(fake, run, task, "new_state")


def note_patches(fake, run=R1, task="load"):
    return patches_of(fake, run, task, "note")


def test_a_patch_answered_500_fails_and_is_not_retried(m, fake):
    fake.inject(method="PATCH", status=500, body=api.error_body(fake, 500, "db is locked"))
    mark = LogMark(m)
    r = subprocess.run(["bash", "-c", "echo failed > '%s'" % state_of(m)],
                       capture_output=True, text=True, timeout=BOUND + 5)
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    assert [p["status"] for p in state_patches(fake)] == [500]
    assert fake.ti(E, R1, "load")["state"] == "success"
    assert mark.has("PATCH", ti_p(fake), "500", "db is locked"), mark.new()
    assert read(state_of(m)) == b"success\n"
    # a note saved at close
    before = fake.ti(E, R1, "notify")["note"]
    fake.inject(method="PATCH", status=500)
    fd = os.open(m.p(E, R1, "notify", "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"reviewed\n")
    fails(os.close, fd, codes=(errno.EIO,))
    assert len(note_patches(fake, R1, "notify")) == 1
    assert fake.ti(E, R1, "notify")["note"] == before
    assert mark.has("PATCH", ti_p(fake, R1, "notify"), "500"), mark.new()
    assert read(m.p(E, R1, "notify", "note")) == (before + "\n").encode()


def test_a_patch_refused_unapplied_is_retried_and_applied_once(m, fake):
    for status, (run, task) in zip((429, 502, 503, 504), UNMAPPED):
        fake.inject(method="PATCH", status=status)
        write_file(state_of(m, run, task), b"skipped\n")
        assert [p["status"] for p in state_patches(fake, run, task)] == [status, 200]
        assert fake.ti(E, run, task)["state"] == "skipped"
        assert read(state_of(m, run, task)) == b"skipped\n"
    fake.inject(method="PATCH", status=503)
    write_file(m.p(E, R1, "load", "note"), b"one save\n")
    assert [p["status"] for p in note_patches(fake, R1, "load")] == [503, 200]
    assert fake.ti(E, R1, "load")["note"] == "one save"


def test_a_patch_that_never_answers_fails_in_time_and_is_not_retried(m, fake):
    fake.inject(method="PATCH", hang=True, count=100)
    mark = LogMark(m)
    fails(write_file, state_of(m), b"failed\n")
    assert [p["fault"] for p in state_patches(fake)] == ["hang"]
    assert mark.has("PATCH", ti_p(fake), TIMED_OUT), mark.new()
    fd = os.open(m.p(E, R1, "notify", "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"lost?\n")
    fails(os.close, fd)
    assert len(note_patches(fake, R1, "notify")) == 1
    fake.clear_faults()
    assert fake.ti(E, R1, "load")["state"] == "success"
    assert read(state_of(m)) == b"success\n"


def test_a_patch_applied_but_answered_too_late_is_reported_failed(m, fake):
    # the server applies it, but its answer comes after the timeout: the call fails (no
    # client can tell), it is not sent again, and `cat` then shows what the server holds
    fake.inject(method="PATCH", delay=TIMEOUT * 3)
    fails(write_file, state_of(m), b"failed\n")
    assert len(state_patches(fake)) == 1
    assert fake.ti(E, R1, "load")["state"] == "failed"
    fake.clear_faults()
    assert read(state_of(m)) == b"failed\n"


def test_a_patch_answer_dropped_mid_body_is_not_retried(m, fake):
    fake.inject(method="PATCH", drop=1)
    fails(write_file, state_of(m), b"failed\n", codes=(errno.EIO,))
    assert len(state_patches(fake)) == 1
    assert read(state_of(m)) == server_state(fake)


def test_a_write_while_the_server_is_away_fails_then_works(m, fake):
    read(state_of(m))
    fake.pause()
    fails(write_file, state_of(m), b"failed\n", codes=(errno.EIO,))
    fake.resume()
    assert state_patches(fake) == []
    write_file(state_of(m), b"failed\n")
    assert fake.ti(E, R1, "load")["state"] == "failed"


# --- what the cache serves while the server is away ----------------------------------------

def test_state_and_note_from_the_cache_within_ttl_then_eio(mount, fake):
    m = mount(opts=OPTS + ["ttl=1"])
    assert read(state_of(m)) == b"success\n"
    assert read(m.p(E, R1, "load", "note")) == b""
    fake.pause()
    assert read(state_of(m)) == b"success\n"   # within ttl: the cache
    assert read(m.p(E, R1, "load", "note")) == b""
    time.sleep(1.2)
    fails(read, state_of(m), codes=(errno.EIO,))
    fails(read, m.p(E, R1, "load", "note"), codes=(errno.EIO,))
    fake.resume()
    assert read(state_of(m)) == b"success\n"


def test_logs_while_the_server_is_away(mount, fake):
    m = mount(opts=OPTS + ["ttl=1", "log_ttl=0.5"])
    finished = m.p(E, R2, "transform", "logs", "1")
    running = m.p("ml_training", R3, "train_model", "logs", "1")
    want, now = read(finished), read(running)
    fd = os.open(finished, os.O_RDONLY)
    fake.pause()
    # within ttl: a finished log, and a running try's last snapshot past log_ttl
    time.sleep(0.6)
    assert read(finished) == want and read(running) == now
    # past ttl: an open file still reads the finished log
    time.sleep(0.6)
    assert os.pread(fd, len(want) + 10, 0) == want
    os.close(fd)
    fake.resume()


def test_a_finished_log_is_read_by_path_past_ttl_while_the_server_is_away(mount, fake):
    # SPEC.md "Errors": what cannot have changed (a final log, the names on the path to
    # it) stays readable however old; a state older than ttl fails
    m = mount(opts=OPTS + ["ttl=1"])
    log = m.p(E, R2, "transform", "logs", "1")
    want = read(log)
    assert read(m.p(E, R2, "transform", "state")) == b"failed\n"
    fake.pause()
    time.sleep(1.2)
    assert read(log) == want
    assert os.stat(log).st_size == len(want)
    # a listing older than ttl is never shown, not even of logs/
    fails(os.listdir, m.p(E, R2, "transform", "logs"), codes=(errno.EIO,))
    fails(read, m.p(E, R2, "transform", "state"), codes=(errno.EIO,))
    fails(read, m.p(E, R2, "transform", "note"), codes=(errno.EIO,))
    fails(os.listdir, m.p(E, R2), codes=(errno.EIO,))
    fake.resume()
    assert read(m.p(E, R2, "transform", "state")) == b"failed\n"


def test_a_finished_log_is_read_by_path_past_ttl_while_the_server_hangs(mount, fake):
    m = mount(opts=OPTS + ["ttl=1"])
    log = m.p(E, R2, "transform", "logs", "1")
    want = read(log)
    time.sleep(1.2)
    fake.reset()
    fake.inject(method="GET", hang=True, count=100)
    t0 = time.monotonic()
    assert read(log) == want
    assert time.monotonic() - t0 < BOUND
    # one request for the whole walk, however many names expired
    assert len(fake.requests(auth=False)) == 1, fake.requests(auth=False)
    fails(read, m.p(E, R2, "transform", "state"))
    fake.clear_faults()


def test_a_name_never_seen_is_not_served_while_the_server_is_away(mount, fake):
    m = mount(opts=OPTS + ["ttl=1"])
    fake.pause()
    fails(read, m.p(E, R2, "transform", "logs", "1"), codes=(errno.EIO,))
    fake.resume()


# --- timeout bounds a call, not each request the kernel makes for it -------------------

CALL_TIMEOUT = 3   # long enough that a second wait shows


@pytest.mark.parametrize("cmd", [["cat", "load/state"], ["ls", "load"], ["stat", "load/state"],
                                 ["cat", "load/logs/1"]])
def test_a_call_on_expired_names_waits_for_a_hung_server_once(mount, fake, cmd):
    # SPEC.md "Errors": the kernel repeats a LOOKUP that failed on a name it held; the
    # repeat fails at once with the same error, so the call takes timeout, not twice that
    m = mount(opts=["timeout=%d" % CALL_TIMEOUT, "retries=1", "ttl=1"])
    run = m.p(E, R1)
    for path in ("load/state", "load/logs/1"):
        read(os.path.join(run, path))
    subprocess.run(["ls", os.path.join(run, "load")], check=True, capture_output=True)
    time.sleep(1.2)
    fake.reset()
    fake.inject(method="GET", hang=True, count=100)
    t0 = time.monotonic()
    r = subprocess.run([cmd[0], os.path.join(run, cmd[1])], capture_output=True)
    took = time.monotonic() - t0
    fake.clear_faults()
    assert took < CALL_TIMEOUT + 1, "took %.2f s" % took
    gets = [q["path"] for q in fake.requests(auth=False)]
    assert gets == [ti_p(fake)], gets
    if cmd[1] == "load/state":   # a state older than ttl is never shown
        assert r.returncode == 1 and b"Connection timed out" in r.stderr, r
    else:                        # the names on the path to a final log stay
        assert r.returncode == 0, r


def test_a_call_on_a_name_never_seen_waits_once(mount, fake):
    m = mount(opts=["timeout=%d" % CALL_TIMEOUT, "retries=1", "ttl=1"])
    fake.inject(method="GET", hang=True, count=100)
    t0 = time.monotonic()
    fails(read, state_of(m), bound=CALL_TIMEOUT + 1)
    assert time.monotonic() - t0 < CALL_TIMEOUT + 1
    assert [q["path"] for q in fake.requests(auth=False)] == [ti_p(fake)]
    fake.clear_faults()
    assert read(state_of(m)) == b"success\n"


# --- lifecycle ---------------------------------------------------------------------------

def wait_exit(m, seconds):
    try:
        return m.proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError("airflowfs still running %ss after the unmount" % seconds)


def hang_a_read(m, fake):
    """A thread reading state while the server holds its GET: returns (thread, errnos)."""
    fake.inject(method="GET", path=ti_p(fake), hang=True, count=100)
    got = []

    def reader():
        try:
            read(state_of(m))
            got.append(0)
        except OSError as e:
            got.append(e.errno)
    t = threading.Thread(target=reader)
    t.start()
    deadline = time.monotonic() + 5
    while not fake.hanging() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.hanging() == 1
    return t, got


def test_unmount_while_a_read_hangs(m, fake):
    t, got = hang_a_read(m, fake)
    t0 = time.monotonic()
    if subprocess.run(["fusermount3", "-u", m.path], capture_output=True).returncode:
        subprocess.run(["fusermount3", "-uz", m.path], check=True)  # busy: detach it
    t.join(BOUND + 5)
    assert not t.is_alive() and got and got[0] != 0
    assert wait_exit(m, BOUND + 5) == 0
    assert time.monotonic() - t0 < BOUND


def test_sigterm_while_a_read_hangs(m, fake):
    t, got = hang_a_read(m, fake)
    t0 = time.monotonic()
    m.proc.send_signal(signal.SIGTERM)
    assert wait_exit(m, BOUND + 5) == 0
    t.join(BOUND + 5)
    assert not t.is_alive() and got and got[0] != 0
    assert time.monotonic() - t0 < BOUND


def test_a_note_truncated_and_open_at_unmount_is_saved(m, fake):
    note = m.p(E, R1, "notify", "note")
    assert fake.ti(E, R1, "notify")["note"]
    fd = os.open(note, os.O_WRONLY | os.O_TRUNC)   # `: > note`, still open
    subprocess.run(["fusermount3", "-uz", m.path], check=True)
    os.close(fd)
    assert wait_exit(m, BOUND + 5) == 0
    assert fake.ti(E, R1, "notify")["note"] == ""
    assert len(note_patches(fake, R1, "notify")) == 1


def test_a_note_written_and_open_at_sigterm_is_saved(m, fake):
    fd = os.open(m.p(E, R1, "notify", "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"written, never closed\n")
    m.proc.send_signal(signal.SIGTERM)
    assert wait_exit(m, BOUND + 5) == 0
    try:
        os.close(fd)
    except OSError:
        pass
    assert fake.ti(E, R1, "notify")["note"] == "written, never closed"
    assert len(note_patches(fake, R1, "notify")) == 1


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_a_note_pending_at_sigterm_that_cannot_be_saved_is_logged(m, fake, fault):
    before = fake.ti(E, R1, "notify")["note"]
    fd = os.open(m.p(E, R1, "notify", "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"cannot be saved\n")
    fake.inject(method="PATCH", count=100,
                **(dict(status=500) if fault == "500" else dict(hang=True)))
    mark = LogMark(m)
    t0 = time.monotonic()
    m.proc.send_signal(signal.SIGTERM)
    assert wait_exit(m, BOUND + 5) == 0
    assert time.monotonic() - t0 < BOUND  # the save at exit is bounded too
    try:
        os.close(fd)
    except OSError:
        pass
    assert fake.ti(E, R1, "notify")["note"] == before
    assert mark.has("PATCH", ti_p(fake, R1, "notify"),
                    "500" if fault == "500" else TIMED_OUT), mark.new()
    assert "saving note of" not in mark.new()  # logged once, by the PATCH line


def tasks_and_fds(pid):
    return (len(os.listdir("/proc/%d/task" % pid)), len(os.listdir("/proc/%d/fd" % pid)))


def test_no_thread_or_fd_leak_over_many_operations(mount, fake):
    # ttl=0: every operation asks the server (several calls each); retries=0 keeps the
    # failures fast (the retries have tests of their own above)
    m = mount(opts=["timeout=%d" % TIMEOUT, "retries=0", "ttl=0"])
    pid = m.proc.pid
    # a fault lasts for one operation (which may make several calls: the kernel looks a
    # name up again after a failed revalidation)
    faults = [dict(status=400), dict(truncate=5), dict(status=500), dict(status=404),
              dict(content_type="text/html"), dict(set_fields={"state": []}),
              dict(drop=10), dict(status=503), "refused"]
    counts = {"calls": 0, "failed": 0}

    def ops(n):
        for i in range(n):
            run, task = UNMAPPED[i % 9]
            fault = faults[i // 5 % len(faults)] if i % 5 == 2 else None
            if fault == "refused":
                fake.pause()
            elif fault:
                fake.inject(method="GET", path=api.run_path(fake, E, run), count=100,
                            **fault)
            kind = i % 6
            try:
                if kind == 0:
                    os.listdir(m.p(E, run, task))
                elif kind == 1:
                    read(m.p(E, run, task, "state"))
                elif kind == 2:
                    os.stat(m.p(E, run, task, "info.json"))
                elif kind == 3:
                    read(m.p(E, run, task, "links.json"))
                elif kind == 4:
                    os.listdir(m.p(E, run, task, "logs"))
                else:
                    write_file(m.p(E, R3, "process", str(i % 5), "note"), b"n%d\n" % i)
            except OSError as e:
                assert e.errno in FAILED + (errno.ENOENT,), (fault, e)
                counts["failed"] += 1
            counts["calls"] += 1
            fake.clear_faults()
            fake.resume()

    ops(60)  # warm up: connections, threads, caches
    base = tasks_and_fds(pid)
    ops(500)
    end = tasks_and_fds(pid)
    assert counts["failed"] > 60, counts
    assert end[0] <= base[0] + 2 and end[1] <= base[1] + 2, (base, end)
    assert read(state_of(m)) == server_state(fake)
    print("%(calls)d calls, %(failed)d failed;" % counts,
          "threads %d -> %d, fds %d -> %d" % (base[0], end[0], base[1], end[1]))


# --- .stats: what a person asks first --------------------------------------------------

def stats_of(m):
    return dict(ln.split(" ", 1) for ln in read(m.p(".stats")).decode().splitlines())


def test_stats_name_the_server_and_the_last_error(m, fake):
    t0 = time.time()
    s = stats_of(m)
    assert s["url"] == fake.url
    assert s["api"] == fake.api
    assert s["airflow_version"] == fake.version
    assert 0 <= int(s["uptime_seconds"]) < 60
    assert s["last_error"] == "-" and s["last_error_time"] == "-"
    fake.inject(method="GET", path=ti_p(fake), status=503, count=10,
                body={"detail": "down\x1b[31m for\nmaintenance"})
    fails(read, state_of(m), codes=(errno.EIO,))
    s = stats_of(m)
    # the failure as it was logged, control characters escaped
    assert s["last_error"].startswith("GET " + ti_p(fake)), s["last_error"]
    assert " 503 down" in s["last_error"] and "maintenance" in s["last_error"]
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in s["last_error"]), s["last_error"]
    when = time.mktime(time.strptime(s["last_error_time"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert t0 - 2 <= when <= time.time() + 1, s["last_error_time"]
    assert [k for k in read(m.p(".stats")).decode().split("\n") if k][-6:][0].startswith("url ")


def test_server_text_in_log_lines_is_escaped(m, fake):
    """A server's text quoted in a log line (here a Content-Type) has its
    control characters escaped: it cannot paint the terminal or forge a
    line."""
    run, task = UNMAPPED[0]
    path = ti_p(fake, run, task)
    fake.inject(method="GET", path=path, status=200, body=b"<html></html>",
                content_type="text/html\x1b[31mRED\x07")
    mark = LogMark(m)
    fails(read, state_of(m, run, task), codes=(errno.EIO,))
    new = mark.new()
    assert "\x1b" not in new and "\x07" not in new, new
    assert mark.has("GET", path, "text/html\\x1b[31mRED\\x07"), new
