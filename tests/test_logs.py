# SPDX-License-Identifier: Apache-2.0
"""Logs on a real mount (API v1 and v2): finished tries fetched once and
kept, running tries growing under tail -f, a try with no log yet, logs/latest
following retries, a 200 MB log, concurrent readers, and how v2's structured
records are rendered."""
import hashlib
import os
import subprocess
import threading
import traceback
import time

import pytest

import airflow_api as api

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def log_requests(fake):
    return [r for r in fake.requests() if "/logs/" in r["path"]]


def wait_for(cond, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def test_finished_tries_are_fetched_once(mount, fake):
    m = mount()
    logs = m.p(E, R2, "transform", "logs")
    want1 = api.log_text(fake, E, R2, "transform", 1)
    fake.reset()
    for _ in range(3):
        assert read(os.path.join(logs, "1")) == want1
        out = subprocess.run(["grep", "-c", "ERROR", os.path.join(logs, "1")],
                             capture_output=True, text=True)
        assert int(out.stdout) == sum(b"ERROR" in ln for ln in want1.split(b"\n"))
        assert os.stat(os.path.join(logs, "1")).st_size == len(want1)
    assert len(log_requests(fake)) == 1
    # and the kernel keeps the pages: reading again does not even ask
    before = read(m.p(".stats"))
    read(os.path.join(logs, "1"))
    assert len(log_requests(fake)) == 1
    assert read(m.p(".stats")).split(b"cache_hits")[0] == before.split(b"cache_hits")[0]


def test_concurrent_readers_cause_one_request(mount, fake):
    m = mount()
    path = m.p(E, R2, "transform", "logs", "2")
    want = api.log_text(fake, E, R2, "transform", 2)
    os.stat(m.p(E, R2, "transform", "logs"))          # the task instance is known
    fake.reset()
    fake.inject(method="GET", path=api.ti_path(fake, E, R2, "transform") + "/logs/2",
                delay=0.5)
    procs = [subprocess.Popen(["cat", path], stdout=subprocess.PIPE) for _ in range(10)]
    outs = [p.communicate()[0] for p in procs]
    assert all(o == want for o in outs)
    assert len(log_requests(fake)) == 1


def test_a_try_with_no_log_yet_is_empty(mount, fake):
    m = mount()
    path = m.p(E, R3, "process", "3", "logs", "1")     # queued, try 1
    assert read(path) == b""
    assert os.stat(path).st_size == 0
    assert os.readlink(m.p(E, R3, "process", "3", "logs", "latest")) == "1"


def test_latest_follows_a_retry(mount, fake):
    m = mount(opts=["ttl=1"])
    logs = m.p(E, R3, "process", "2", "logs")           # up_for_retry after try 1
    assert sorted(os.listdir(logs)) == ["1", "latest"]
    first = read(os.path.join(logs, "1"))
    fake.update_ti(E, R3, "process", 2, state="running", try_number=2,
                   logs=[fake.ti(E, R3, "process", 2)["logs"][0],
                         "[2024-01-03T10:20:00.000+0000] {taskinstance.py:2865} INFO - "
                         "Starting attempt 2 of 3"])
    assert wait_for(lambda: os.readlink(os.path.join(logs, "latest")) == "2", 3)
    assert sorted(os.listdir(logs)) == ["1", "2", "latest"]
    assert b"Starting attempt 2 of 3" in read(os.path.join(logs, "latest"))
    assert read(os.path.join(logs, "1")) == first


def test_tail_f_follows_a_running_log(mount, fake):
    m = mount()                                          # log_ttl 1 s
    path = m.p(E, R3, "process", "1", "logs", "1")       # running
    assert read(path) == fake.log_text(E, R3, "process", 1, map_index=1).encode()
    lines, every = 8, 0.5
    proc = subprocess.Popen(["tail", "-f", "-n", "+1", path], stdout=subprocess.PIPE)
    out, arrived = [b""], {}

    def reader():
        # the server's text has no final newline: watch bytes, not lines
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                return
            out[0] += chunk
            for n in range(1, lines + 1):
                if b"tick %d of %d" % (n, lines) in out[0]:
                    arrived.setdefault(n, time.monotonic())
    threading.Thread(target=reader, daemon=True).start()
    t0 = time.monotonic()
    g = fake.grow(E, R3, "process", 1, lines=lines, every=every)
    try:
        assert g.done.wait(lines * every + 5)
        assert wait_for(lambda: lines in arrived, 4)
    finally:
        proc.kill()
    for n in range(1, lines + 1):
        # within log_ttl + 1 s of the server adding it (and a little slack)
        assert arrived[n] - (t0 + n * every) < 1 + 1 + 1.2, n
    # the try is over: its log ends with a newline (SPEC.md "logs"), one added to v1's
    want = api.final_text(fake.log_text(E, R3, "process", 1, map_index=1).encode())
    assert wait_for(lambda: out[0] == want, 4), out[0][-40:]
    assert wait_for(lambda: read(path) == want, 4)
    size = os.stat(path).st_size
    assert size == len(want)
    # the try is over: its size is frozen, and the log is not asked for again
    time.sleep(1.2)
    fake.reset()
    time.sleep(1.2)
    assert os.stat(path).st_size == size and read(path) == want
    assert log_requests(fake) == []


def test_running_log_is_fetched_again(mount, fake):
    """v1 resumes a running log with continuation tokens; v2 never sends one (3.0.4+
    answer it with the whole log again) and fetches the log again in full."""
    m = mount()
    path = m.p("ml_training", R3, "train_model", "logs", "1")   # running
    read(path)
    g = fake.grow("ml_training", R3, "train_model", lines=3, every=0.3)
    assert g.done.wait(5)
    time.sleep(1.1)
    want = api.final_text(fake.log_text("ml_training", R3, "train_model", 1).encode())
    assert wait_for(lambda: read(path) == want, 4)
    queries = [r["query"] for r in log_requests(fake)]
    assert "token=" not in queries[0] and len(queries) >= 2
    if api.log_refetch_uses_tokens(fake):
        assert all("token=" in q for q in queries[1:])
    else:
        assert queries == [queries[0]] * len(queries)
        assert all(r["headers"].get("Accept") == "application/json"
                   for r in log_requests(fake))


def test_less_follows_a_running_log(mount, fake, tmp_path):
    m = mount()
    path = m.p(E, R3, "process", "1", "logs", "1")

    def tmux(*args):
        return subprocess.run(["tmux", "-L", "afs-less"] + list(args),
                              capture_output=True, text=True)
    tmux("kill-server")
    tmux("new-session", "-d", "-s", "less", "-x", "150", "-y", "20",
         "env LESSHISTFILE=- less +F '%s'" % path)
    try:
        assert wait_for(lambda: "Waiting for data" in tmux("capture-pane", "-p", "-t",
                                                           "less").stdout)
        g = fake.grow(E, R3, "process", 1, lines=3, every=0.3)
        assert g.done.wait(5)
        # (less holds back the last line until its newline: the server's
        # text has none, so "tick 3" shows once a line follows it)
        assert wait_for(lambda: "tick 2 of 3" in tmux("capture-pane", "-p", "-t",
                                                      "less").stdout, 5)
    finally:
        tmux("kill-server")


def test_a_200_mb_log(mount, fake):
    import fake_airflow
    nbytes = 200_000_000
    m = mount(["timeout=180"])  # what is checked is bytes and memory, not time (ASan)
    fake.add_dag(fake_airflow.big_logs_dag(nbytes, seed=7))
    run = fake_airflow.BIG_LOGS_RUN
    fake.warm_log("big_logs", run, "huge")
    want = api.final_text(fake.log_text("big_logs", run, "huge", 1).encode())
    path = m.p("big_logs", run, "huge", "logs", "1")
    fake.reset()
    assert os.stat(path).st_size == len(want)
    out = subprocess.run("cat '%s' | sha256sum" % path, shell=True, capture_output=True,
                         text=True)
    assert out.stdout.split()[0] == hashlib.sha256(want).hexdigest()
    out = subprocess.run(["grep", "-c", "ERROR", path], capture_output=True, text=True)
    assert int(out.stdout) == want.count(b"ERROR")
    out = subprocess.run(["tail", "-n", "3", path], capture_output=True)
    assert out.stdout == b"".join(want.splitlines(keepends=True)[-3:])
    assert len(log_requests(fake)) == 1
    with open("/proc/%d/status" % m.proc.pid) as f:
        status = dict(ln.split(":", 1) for ln in f)
    peak_kb = int(status["VmHWM"].split()[0])
    print("daemon peak resident memory after a 200 MB log: %d KiB" % peak_kb)
    # a sanitizer build's shadow memory says little about ours: make asan
    # raises the bound through the environment
    assert peak_kb < int(os.environ.get("AIRFLOWFS_RSS_LIMIT_MB", "64")) * 1024


@pytest.mark.api("v1")   # v2 sends no token (test_running_log_is_fetched_again)
def test_refused_token_falls_back_to_a_full_fetch(mount, fake):
    m = mount()
    path = m.p("ml_training", R3, "train_model", "logs", "1")   # running
    read(path)
    g = fake.grow("ml_training", R3, "train_model", lines=2, every=0.2,
                  then_state=None)
    assert g.done.wait(5)
    # the server no longer takes the token (as after a secret_key change)
    fake.inject(method="GET", path=api.ti_path(fake, "ml_training", R3, "train_model") +
                "/logs/1", status=400, count=1)
    time.sleep(1.1)
    want = fake.log_text("ml_training", R3, "train_model", 1).encode()
    assert wait_for(lambda: read(path) == want, 4)
    reqs = log_requests(fake)
    refused = [i for i, r in enumerate(reqs) if r["status"] == 400]
    assert len(refused) == 1 and "token=" in reqs[refused[0]]["query"]
    assert "token=" not in reqs[refused[0] + 1]["query"]   # then all of it
    assert read(path) == want


def test_large_logs_live_in_unlinked_files_removed_at_unmount(mount, fake, tmp_path):
    import fake_airflow
    from conftest import creds_env
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    m = mount(env=creds_env(TMPDIR=str(tmp)))
    fake.add_dag(fake_airflow.big_logs_dag(3_000_000, seed=3))
    path = m.p("big_logs", fake_airflow.BIG_LOGS_RUN, "huge", "logs", "1")
    assert read(path) == api.final_text(fake.log_text("big_logs", fake_airflow.BIG_LOGS_RUN,
                                                      "huge", 1).encode())
    dirs = [d for d in os.listdir(tmp) if d.startswith("airflowfs.")]
    assert len(dirs) == 1
    assert os.listdir(tmp / dirs[0]) == []          # the files have no name
    fds = os.listdir("/proc/%d/fd" % m.proc.pid)
    assert any("(deleted)" in os.readlink("/proc/%d/fd/%s" % (m.proc.pid, fd)) or
               "#" in os.readlink("/proc/%d/fd/%s" % (m.proc.pid, fd)) for fd in fds)
    assert m.unmount() == 0
    assert [d for d in os.listdir(tmp) if d.startswith("airflowfs.")] == []


def test_cp_wc_and_grep_r_give_what_a_local_copy_gives(mount, fake, tmp_path):
    m = mount()
    src = m.p(E, R2)
    dst = tmp_path / "copy"
    subprocess.run(["cp", "-r", src, str(dst)], check=True)
    for dirpath, _dirs, files in os.walk(src):
        for name in files:
            p = os.path.join(dirpath, name)
            q = os.path.join(str(dst), os.path.relpath(p, src))
            assert read(p) == read(q), p
    for cmd in (["wc", "-lc"], ["grep", "-rc", "ERROR"], ["grep", "-rn", "Traceback"]):
        a = subprocess.run(cmd + ["."], cwd=src, capture_output=True, text=True)
        b = subprocess.run(cmd + ["."], cwd=str(dst), capture_output=True, text=True)
        if cmd[0] == "wc":
            files = sorted(os.path.relpath(os.path.join(d, f), src)
                           for d, _, fs in os.walk(src) for f in fs)
            a = subprocess.run(cmd + files, cwd=src, capture_output=True, text=True)
            b = subprocess.run(cmd + files, cwd=str(dst), capture_output=True, text=True)
        assert sorted(a.stdout.splitlines()) == sorted(b.stdout.splitlines()), cmd


RENDER_RUN = "manual__2024-01-05T10:00:00+00:00"
RECORDS = [
    {"timestamp": "2024-01-05T10:00:00.123456Z", "event": "Task started", "level": "info",
     "logger": "task", "chan": "stdout"},
    {"timestamp": "2024-01-05T10:00:01Z", "level": "error", "logger": "task",
     "event": 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
              "ValueError: bad",
     "error_detail": [{"exc_type": "ValueError", "exc_value": "bad", "frames": [
         {"filename": "x.py", "lineno": 1, "name": "<module>"}]}]},
    {"timestamp": "2024-01-05T10:00:02Z", "event": "no logger", "level": "warning"},
    {"timestamp": "2024-01-05T10:00:03Z", "event": "no level", "logger": "airflow.models",
     "level": None},
    {"timestamp": "2024-01-05T10:00:04Z", "event": "bare"},
    {"timestamp": None, "event": "a stdout line without a timestamp", "level": "info",
     "logger": "task"},
    {"event": "no timestamp key", "chan": "stderr"},
    {"timestamp": "2024-01-05T10:00:05Z", "event": "extras", "level": "info", "logger": "task",
     "count": 3, "ratio": 0.5, "ok": True, "missing": None, "tags": ["a", "b"],
     "ctx": {"k": "vé/ü"}, "url": "https://x.example/a?b=1", "text": "two\nlines"},
    {"timestamp": "2024-01-05T10:00:06Z", "event": "ünïcödé ✓ 🚀", "level": "INFO",
     "logger": "task"},
]
RENDERED = (
    "::group::Log message source details sources=[\"/opt/airflow/logs/dag_id=rendering/"
    "run_id=manual__2024-01-05T10:00:00+00:00/task_id=t/attempt=1.log\"]\n"
    "::endgroup::\n"
    "[2024-01-05T10:00:00.123456Z] INFO task - Task started chan=stdout\n"
    "[2024-01-05T10:00:01Z] ERROR task - Traceback (most recent call last):\n"
    '  File "x.py", line 1, in <module>\n'
    'ValueError: bad\n'
    "Traceback (most recent call last):\n"
    '  File "x.py", line 1, in <module>\n'
    'ValueError: bad\n'
    "[2024-01-05T10:00:02Z] WARNING no logger\n"
    "[2024-01-05T10:00:03Z] airflow.models - no level\n"
    "[2024-01-05T10:00:04Z] bare\n"
    "a stdout line without a timestamp\n"
    "no timestamp key chan=stderr\n"
    '[2024-01-05T10:00:05Z] INFO task - extras count=3 ratio=0.5 ok=true missing=null '
    'tags=["a", "b"] ctx={"k": "vé/ü"} url=https://x.example/a?b=1 text=two\nlines\n'
    "[2024-01-05T10:00:06Z] INFO task - ünïcödé ✓ 🚀\n").encode()


@pytest.mark.api("v2")
def test_v2_log_records_are_rendered(mount, fake):
    """SPEC.md "logs", v2: "[timestamp] LEVEL logger - event", a missing level or logger
    left out with the separator after it, a record without a timestamp as its event
    alone, the other keys as " key=value" (JSON unless a string), an event's newlines
    kept; a content of strings (try 2) as lines."""
    m = mount()
    fake.add_dag({"dag_id": "rendering", "runs": [{
        "dag_run_id": RENDER_RUN, "state": "success", "tis": [{
            "task_id": "t", "state": "success", "try_number": 2,
            "start_date": "2024-01-05T10:00:00+00:00", "end_date": "2024-01-05T10:00:07+00:00",
            "logs": [{"records": RECORDS}, {"lines": ["plain line one", "plain line two"]}]}]}]})
    logs = m.p("rendering", RENDER_RUN, "t", "logs")
    assert sorted(os.listdir(logs)) == ["1", "2", "latest"]
    assert read(os.path.join(logs, "1")) == RENDERED
    assert RENDERED == api.log_text(fake, "rendering", RENDER_RUN, "t", 1)
    assert os.stat(os.path.join(logs, "1")).st_size == len(RENDERED)
    assert read(os.path.join(logs, "2")) == b"plain line one\nplain line two\n"
    assert read(os.path.join(logs, "latest")) == b"plain line one\nplain line two\n"
    out = subprocess.run(["grep", "-c", "ERROR", os.path.join(logs, "1")],
                         capture_output=True, text=True)
    assert out.stdout == "1\n"


def test_final_logs_end_with_a_newline_and_never_join(mount, fake):
    """SPEC.md "logs": a final log ends with a newline (one added where the server's text
    has none, as v1's has not), so `cat logs/*` never glues two logs' lines and `wc -l`
    counts each line; the size shown is the bytes read."""
    m = mount()
    logs = m.p(E, R2, "transform", "logs")
    one, two = read(os.path.join(logs, "1")), read(os.path.join(logs, "2"))
    raw1 = api.log_text(fake, E, R2, "transform", 1, final=False)
    assert one == api.final_text(raw1) and one.endswith(b"\n") and not one.endswith(b"\n\n")
    if fake.api == "v1":
        assert not raw1.endswith(b"\n")   # the server's text has none: one was added
    for name, text in (("1", one), ("2", two)):
        assert os.stat(os.path.join(logs, name)).st_size == len(text)
    out = subprocess.run("cat 1 2", shell=True, cwd=logs, capture_output=True).stdout
    assert out == one + two
    assert out.split(b"\n")[len(one.split(b"\n")) - 1].startswith(two.split(b"\n")[0])
    wc = subprocess.run(["wc", "-l", "1", "2"], cwd=logs, capture_output=True, text=True)
    assert wc.stdout.split()[:4] == [str(one.count(b"\n")), "1", str(two.count(b"\n")), "2"]


def test_a_running_log_gets_its_newline_once_final(mount, fake):
    m = mount()
    path = m.p("ml_training", R3, "train_model", "logs", "1")   # running
    running = read(path)
    assert running == api.log_text(fake, "ml_training", R3, "train_model", 1, final=False)
    g = fake.grow("ml_training", R3, "train_model", lines=2, every=0.2)
    assert g.done.wait(5)
    raw = api.log_text(fake, "ml_training", R3, "train_model", 1, final=False)
    want = api.final_text(raw)
    assert wait_for(lambda: read(path) == want, 4)
    assert want.startswith(running)        # a log never shrinks
    assert os.stat(path).st_size == len(want)
    if fake.api == "v1":
        assert want == raw + b"\n"


def raised_chain():
    """A real chain: a KeyError, a ValueError raised from it (its __cause__), and during
    handling of that, a RuntimeError without a message (its __context__)."""
    def inner():
        raise KeyError("k")

    def middle():
        try:
            inner()
        except KeyError as e:
            raise ValueError("bad value\nsecond line") from e

    def outer():
        try:
            middle()
        except ValueError:
            raise RuntimeError()

    try:
        outer()
    except RuntimeError as e:
        return e


def structlog_detail(exc):
    """error_detail as structlog's dict_tracebacks makes it: the exception raised last
    first, each cause or context after it, is_cause when it was the __cause__."""
    out, is_cause = [], False
    while exc is not None:
        out.append({"exc_type": type(exc).__name__, "exc_value": str(exc), "exc_notes": [],
                    "syntax_error": None, "is_cause": is_cause,
                    "frames": [{"filename": f.filename, "lineno": f.lineno, "name": f.name}
                               for f in traceback.extract_tb(exc.__traceback__)],
                    "is_group": False, "exceptions": []})
        if exc.__cause__ is not None:
            exc, is_cause = exc.__cause__, True
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, is_cause = exc.__context__, False
        else:
            exc = None
    return out


@pytest.mark.api("v2")
def test_v2_tracebacks_are_printed_as_python_prints_them(mount, fake):
    """SPEC.md "logs": error_detail follows its record as Python prints the chain (the
    source lines, which structlog does not keep, left out), line by line."""
    m = mount()
    exc = raised_chain()
    python = [ln for ln in "".join(traceback.format_exception(exc)).splitlines()
              if not ln.startswith("    ")]       # source lines and carets
    assert "During handling of the above exception, another exception occurred:" in python
    assert "The above exception was the direct cause of the following exception:" in python
    fake.add_dag({"dag_id": "chained", "runs": [{
        "dag_run_id": RENDER_RUN, "state": "failed", "tis": [{
            "task_id": "t", "state": "failed", "try_number": 1,
            "start_date": "2024-01-05T10:00:00+00:00", "end_date": "2024-01-05T10:00:07+00:00",
            "logs": [{"records": [
                {"timestamp": "2024-01-05T10:00:01Z", "level": "error",
                 "logger": "airflow.task", "event": "Task failed with exception",
                 "error_detail": structlog_detail(exc)},
                {"timestamp": "2024-01-05T10:00:02Z", "level": "info", "event": "after"}]}]}]}]})
    got = read(m.p("chained", RENDER_RUN, "t", "logs", "1")).decode().split("\n")
    at = got.index("[2024-01-05T10:00:01Z] ERROR airflow.task - Task failed with exception")
    assert got[at + 1:at + 1 + len(python)] == python
    assert got[at + 1 + len(python):] == ["[2024-01-05T10:00:02Z] INFO after", ""]
    assert api.log_text(fake, "chained", RENDER_RUN, "t", 1).decode().split("\n") == got


def test_grep_finds_the_failing_line_on_v1_and_v2(mount, fake):
    m = mount()
    out = subprocess.run(["grep", "-n", 'File "/opt/airflow/dags/etl_daily.py", line 57',
                          m.p(E, R2, "transform", "logs", "2")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count("line 57") >= 1, out


def test_a_note_saved_elsewhere_keeps_a_log_being_fetched(mount, fake):
    """Invalidation is per key: a note saved on another task of the run
    while a log is being fetched does not throw that fetch away (it used
    to: any write stopped every fetch in flight from being kept)."""
    m = mount()
    path = m.p(E, R2, "transform", "logs", "2")
    want = api.log_text(fake, E, R2, "transform", 2)
    other = [t for t in os.listdir(m.p(E, R2)) if t != "transform" and not t.startswith("@")][0]
    os.stat(m.p(E, R2, "transform", "logs"))          # the task instance is known
    fake.reset()
    fake.inject(method="GET", path=api.ti_path(fake, E, R2, "transform") + "/logs/2",
                delay=1.5)
    cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
    assert wait_for(lambda: len(log_requests(fake)) == 1)
    with open(m.p(E, R2, other, "note"), "w") as f:
        f.write("looked at it\n")
    assert cat.communicate()[0] == want
    assert [r["method"] for r in fake.requests() if r["method"] == "PATCH"] == ["PATCH"]
    # the kernel's pages go, the daemon's copy stays: no second fetch
    subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"], check=True)
    assert read(path) == want
    assert len(log_requests(fake)) == 1
