# SPDX-License-Identifier: Apache-2.0
"""Fixtures for tests that mount airflowfs for real against the fake server.

`fake` is one fake Airflow server per test module; `mount(...)` mounts the
airflowfs binary on a fresh directory (in the foreground, its log captured)
and unmounts it at the end of the test, failing the test if the daemon did
not exit cleanly or printed a sanitizer report.
"""
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("AIRFLOWFS_BIN", os.path.join(ROOT, "airflowfs"))
sys.path.insert(0, HERE)

import fake_airflow  # noqa: E402

USER, PASSWORD = "admin", "s3cret-pa55"


def creds_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    env.update(AIRFLOW_USERNAME=USER, AIRFLOW_PASSWORD=PASSWORD)
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


class Mount:
    def __init__(self, path, proc, log_path):
        self.path, self.proc, self.log_path = path, proc, log_path

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def unmount(self):
        if self.proc.poll() is None:
            if subprocess.run(["fusermount3", "-u", self.path]).returncode != 0:
                subprocess.run(["fusermount3", "-uz", self.path])
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("airflowfs did not exit after unmount")
        else:
            # the daemon is gone: a mount it left (ENOTCONN) is not even
            # seen by ismount, so detach it blindly
            subprocess.run(["fusermount3", "-uz", self.path],
                           stderr=subprocess.DEVNULL)
        return self.proc.returncode


def start_mount(url, path, opts=(), env=None, args=()):
    """Starts airflowfs in the foreground; returns (proc, log path)."""
    os.makedirs(path, exist_ok=True)
    log_path = path + ".log"
    cmd = [BIN, "-f"]
    if opts:
        cmd += ["-o", ",".join(opts)]
    cmd += list(args) + [url, path]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env=env if env is not None else creds_env())
    log.close()
    return proc, log_path


def wait_mounted(path, proc, log_path, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.ismount(path):
            return
        if proc.poll() is not None:
            raise AssertionError("airflowfs exited %s: %s" % (
                proc.returncode, open(log_path).read()))
        time.sleep(0.02)
    raise AssertionError("not mounted after %ss" % timeout)


BAD_LOG = ("AddressSanitizer", "runtime error:", "LeakSanitizer",
           "Segmentation", "Assertion", "double free")


@pytest.fixture(scope="module")
def fake():
    srv = fake_airflow.start(auth="basic", user=USER, password=PASSWORD)
    yield srv
    srv.stop()


@pytest.fixture
def mount(fake, tmp_path):
    """mount(opts=(), env=None) -> Mount, on demo data and a clean record."""
    mounts = []

    def do(opts=(), env=None, url=None, data=None):
        if not mounts:
            fake.set_data(data if data is not None else "demo")
            fake.clear_faults()
        path = str(tmp_path / ("mnt%d" % len(mounts)))
        proc, log_path = start_mount(url or fake.url, path, opts, env)
        wait_mounted(path, proc, log_path)
        fake.reset()
        m = Mount(path, proc, log_path)
        mounts.append(m)
        return m

    yield do
    for m in mounts:
        rc = m.unmount()
        log = m.log()
        for bad in BAD_LOG:
            assert bad not in log, log
        assert rc == 0, "airflowfs exited %s: %s" % (rc, log)
