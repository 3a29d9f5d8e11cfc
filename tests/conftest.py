# SPDX-License-Identifier: Apache-2.0
"""Fixtures for tests that mount airflowfs for real against the fake server.

`fake` is one fake Airflow server per test module and API version: every test
that uses it (directly or through `mount`) runs twice, against API v1 (an
Airflow 2.10.5, HTTP Basic) and API v2 (an Airflow 3.0.6, JWT from POST
/auth/token), with ids [v1] and [v2]. `@pytest.mark.api("v1")` restricts a
test to the versions it names (it is then not collected for the others, so
nothing is reported as skipped); `--api v1` (or v2) runs only that version's
tests, deselecting the others. tests/airflow_api.py says what each version's
requests and files look like.

`mount(...)` mounts the airflowfs binary on a fresh directory (in the
foreground, its log captured) and unmounts it at the end of the test, failing
the test if the daemon did not exit cleanly or printed a sanitizer report.
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
APIS = ("v1", "v2")


def pytest_addoption(parser):
    parser.addoption("--api", choices=APIS + ("both",), default="both",
                     help="run the mount tests against this API version of the fake only")


def pytest_configure(config):
    config.addinivalue_line("markers", "api(*versions): run this test against these API "
                                       "versions of the fake only (default: all)")


def pytest_generate_tests(metafunc):
    if "fake" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("api")
        versions = list(marker.args) if marker else list(APIS)
        assert versions and set(versions) <= set(APIS), versions
        metafunc.parametrize("fake", versions, indirect=True, ids=versions, scope="module")


def pytest_collection_modifyitems(config, items):
    want = config.getoption("--api")
    if want == "both":
        return
    keep, drop = [], []
    for item in items:
        version = getattr(item, "callspec", None) and item.callspec.params.get("fake")
        (drop if version and version != want else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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


def start_fake(api, **kw):
    """A fake server of that API version with the test credentials (v1: HTTP Basic, v2:
    JWTs from POST /auth/token)."""
    return fake_airflow.start(api=api, user=USER, password=PASSWORD, **kw)


@pytest.fixture(scope="module")
def fake(request):
    srv = start_fake(request.param)
    yield srv
    srv.stop()


def fresh(fake, data="demo"):
    """The fake as each test wants it: its dataset, no faults, the settings it started
    with (credentials, tokens, JWT lifetime), and an empty record."""
    fake.set_data(data)
    fake.clear_faults()
    fake.reset_config()
    fake.reset()


@pytest.fixture
def mount(fake, tmp_path):
    """mount(opts=(), env=None) -> Mount, on demo data and a clean record."""
    mounts = []

    def do(opts=(), env=None, url=None, data=None, config=None):
        if not mounts:
            fresh(fake, data if data is not None else "demo")
            fake.configure(**(config or {}))
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
