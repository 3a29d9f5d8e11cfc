# SPDX-License-Identifier: Apache-2.0
"""-o kerberos on a real mount, against a realm of the tests' own (tests/krb5_realm.py: an
MIT KDC on 127.0.0.1, torn down after) and the fake's Airflow 2 Kerberos backend (SPNEGO
accepted with python3-gssapi against the HTTP/127.0.0.1 keytab; API v1 only, as Airflow 2
has it). Browsing and writing with a ticket; no ticket, a principal Airflow does not know,
and an expired ticket renewed by kinit without a remount; no ticket or token in logs."""
import errno
import os
import subprocess
import time

import pytest

import airflow_api as api
import fake_airflow
from conftest import BAD_LOG, BIN, start_mount, wait_mounted
from krb5_realm import Realm

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
STATE = (E, R1, "load", "state")


@pytest.fixture(scope="module")
def realm(tmp_path_factory):
    r = Realm(tmp_path_factory.mktemp("realm"))
    old = os.environ.get("KRB5_CONFIG")
    os.environ["KRB5_CONFIG"] = r.krb5_conf  # the fake's acceptor, in this process
    yield r
    if old is None:
        os.environ.pop("KRB5_CONFIG", None)
    else:
        os.environ["KRB5_CONFIG"] = old
    r.remove()


@pytest.fixture(scope="module")
def kfake(realm):
    """A v1 fake behind Airflow's Kerberos backend; its Airflow user is alice."""
    srv = fake_airflow.start(api="v1", auth="kerberos", keytab=realm.service_keytab,
                             user="alice")
    yield srv
    srv.stop()


@pytest.fixture
def kmount(kfake, realm, tmp_path):
    """kmount(opts=()) -> (path, log path) with -o kerberos and the test's credential
    cache (ccache); the fake's record cleared before the mount."""
    mounts = []
    ccache = tmp_path / "ccache"

    def do(opts=()):
        kfake.reset()
        path = str(tmp_path / ("mnt%d" % len(mounts)))
        proc, log = start_mount(kfake.url, path, ["kerberos"] + list(opts),
                                realm.env(ccache, env_without_airflow()))
        try:
            wait_mounted(path, proc, log)
        except AssertionError:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        mounts.append((path, proc, log))
        return path, log

    do.ccache = ccache
    kfake.set_data("demo")
    kfake.clear_faults()
    yield do
    for path, proc, log in mounts:
        if proc.poll() is None:
            subprocess.run(["fusermount3", "-u", path])
        assert proc.wait(timeout=20) == 0, open(log).read()
        text = open(log, errors="replace").read()
        assert not [bad for bad in BAD_LOG if bad in text], text


def env_without_airflow():
    return {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def authorization(r):
    return {k.lower(): v for k, v in r["headers"].items()}.get("authorization") or ""


def stats(path):
    """The counters of .stats (its lines that are a name and a number)."""
    lines = (ln.split(" ", 1) for ln in read(os.path.join(path, ".stats")).decode().splitlines())
    return {k: int(v) for k, v in lines if v.isdigit()}


def assert_no_secret(log, kfake):
    text = open(log).read()
    tokens = [authorization(r).split(" ", 1)[-1] for r in kfake.requests()]
    assert tokens and not [t for t in tokens if t and t[:40] in text]
    assert "Negotiate " not in text and "negotiate " not in text


def refuse(kfake, realm, ccache, tmp_path):
    """Runs a mount expected to fail before mounting; returns its stderr."""
    path = str(tmp_path / "refused")
    os.makedirs(path, exist_ok=True)
    r = subprocess.run([BIN, "-o", "kerberos", kfake.url, path], capture_output=True,
                       text=True, timeout=60, env=realm.env(ccache, env_without_airflow()))
    assert r.returncode == 1 and r.stdout == "", r
    assert r.stderr.count("\n") == 1, r.stderr
    assert not os.path.ismount(path)
    return r.stderr


def test_browse_and_write_with_a_ticket(kmount, kfake, realm):
    """With alice's ticket: every request carries `Authorization: Negotiate` (libcurl sends
    the token with the request itself: no 401 round trip, so .stats counts no challenge
    and `requests` is what the server saw); reads and a note written work."""
    realm.kinit(kmount.ccache, "alice")
    path, log = kmount(["verbose", "readahead=0"])
    reqs = kfake.requests()
    assert [(r["method"], r["path"], r["status"]) for r in reqs] == [
        ("GET", "/api/v2/version", 404), ("GET", "/api/v1/version", 200),
        ("GET", "/api/v1/dags", 200)]
    # the version probe carries no credentials; the rest a Negotiate token each
    assert [authorization(r) for r in reqs[:2]] == ["", ""]
    assert authorization(reqs[2]).startswith("Negotiate ")
    assert kfake.principals() == ["alice@AFS.TEST"]
    kfake.reset()
    before = stats(path)
    assert read(os.path.join(path, *STATE)) == b"success\n"
    names = [n for n in sorted(os.listdir(os.path.join(path, E, R1))) if n[0] != "@"]
    assert names[:2] == ["group.extract", "load"]
    note = os.path.join(path, E, R1, "load", "note")
    with open(note, "w") as f:
        f.write("checked by alice\n")
    assert kfake.ti(E, R1, "load")["note"] == "checked by alice"
    reqs = kfake.requests()
    assert reqs and all(r["status"] == 200 and authorization(r).startswith("Negotiate ")
                        for r in reqs)
    assert "PATCH" in [r["method"] for r in reqs]
    assert len(kfake.principals()) == len(reqs)  # each request authenticated on its own
    after = stats(path)
    assert after["auth_challenges"] == 0
    assert after["requests"] - before["requests"] == len(reqs)
    assert_no_secret(log, kfake)


def test_no_ticket_is_named_before_mounting(kfake, realm, tmp_path):
    """No ticket in the credential cache: one line naming the cache and kinit, no mount;
    the API is not asked with credentials it cannot have."""
    kfake.reset()
    ccache = tmp_path / "empty-ccache"
    err = refuse(kfake, realm, ccache, tmp_path)
    assert kfake.url in err and "Kerberos ticket" in err and "kinit" in err, err
    assert str(ccache) in err, err
    assert [r["path"] for r in kfake.requests() if r["path"].endswith("/dags")] == []


def test_a_principal_airflow_does_not_know_is_refused(kfake, realm, tmp_path):
    """mallory's ticket is good, but Airflow has no such user: 403 before mounting."""
    ccache = tmp_path / "mallory"
    realm.kinit(ccache, "mallory")
    kfake.reset()
    err = refuse(kfake, realm, ccache, tmp_path)
    assert kfake.url in err and "403" in err.replace(kfake.url, ""), err
    assert kfake.principals() == []


def test_an_expired_ticket_is_eacces_until_kinit(kmount, kfake, realm):
    """A ticket that lives 6 s: once it has expired a call fails with EACCES and the log
    says why (once); a new kinit mends the same mount."""
    realm.kinit(kmount.ccache, "alice", lifetime="6s")
    t0 = time.monotonic()
    path, log = kmount(["ttl=0.2", "readahead=0"])
    p = os.path.join(path, *STATE)
    assert read(p) == b"success\n"
    time.sleep(max(0.0, t0 + 7.5 - time.monotonic()))
    kfake.reset()
    with pytest.raises(OSError) as e:
        read(p)
    assert e.value.errno == errno.EACCES
    assert kfake.requests() and all(r["status"] in (401, 403) for r in kfake.requests())
    assert open(log).read().count("no valid Kerberos ticket") == 1
    realm.kinit(kmount.ccache, "alice")
    kfake.reset()
    assert read(p) == b"success\n"
    assert [r["status"] for r in kfake.requests()] == [200]
    assert kfake.principals() == ["alice@AFS.TEST"]
    assert_no_secret(log, kfake)
