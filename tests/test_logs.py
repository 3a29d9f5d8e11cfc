# SPDX-License-Identifier: Apache-2.0
"""Logs on a real mount (API v1): finished tries fetched once and kept,
running tries growing under tail -f, a try with no log yet, logs/latest
following retries, a 200 MB log, and concurrent readers."""
import hashlib
import os
import subprocess
import threading
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
    fake.inject(method="GET", path=api.ti_path(E, R2, "transform") + "/logs/2", delay=0.5)
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
