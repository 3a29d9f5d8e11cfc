# SPDX-License-Identifier: Apache-2.0
"""Credentials and URLs on a real mount: the requests sent before mounting, a
server under a URL path prefix, and (API v2) JWTs: the login, a token that
expires or is refused while mounted (one new login, one retry, never a loop),
and pre-issued tokens."""
import errno
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import airflow_api as api
from conftest import (BAD_LOG, PASSWORD, USER, creds_env, fresh, start_fake, start_mount,
                      wait_mounted)

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
STATE = (E, R1, "load", "state")
DAY = 86400


def read(path):
    with open(path, "rb") as f:
        return f.read()


def assert_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def header(request, name):
    return {k.lower(): v for k, v in request["headers"].items()}.get(name.lower())


def sent(fake, auth=True):
    """(method, path, status) of each recorded request."""
    return [(r["method"], r["path"], r["status"]) for r in fake.requests(auth=auth)]


def assert_refusals_are_retried_once(fake):
    """Every login succeeds, and every request refused (401/403) is followed by a login,
    then by the same request again, which succeeds; nothing else fails."""
    reqs = fake.requests()
    for i, r in enumerate(reqs):
        if r["path"].endswith("/auth/token"):
            assert r["status"] == 201, reqs
        elif r["status"] in (401, 403):
            later = reqs[i + 1:]
            k = next(k for k, x in enumerate(later) if x["path"].endswith("/auth/token"))
            again = [x for x in later[k + 1:] if (x["method"], x["path"], x["query"]) ==
                     (r["method"], r["path"], r["query"])]
            assert again and again[0]["status"] == 200, reqs
            assert header(again[0], "Authorization") != header(r, "Authorization")
        else:
            assert r["status"] < 400, reqs


@pytest.fixture
def mounted(fake, tmp_path):
    """mounted(opts=(), env=None, url=None, **settings) -> (mount path, log path): the
    fake freshly set up and configure(**settings)'d, its record cleared before the
    mount, so that the requests sent before mounting are there to see."""
    mounts = []

    def do(opts=(), env=None, url=None, **settings):
        fresh(fake)
        fake.configure(**settings)
        path = str(tmp_path / ("mnt%d" % len(mounts)))
        proc, log = start_mount(url or fake.url, path, opts, env)
        try:
            wait_mounted(path, proc, log)
        except AssertionError:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        mounts.append((path, proc, log))
        return path, log

    yield do
    for path, proc, log in mounts:
        if proc.poll() is None:
            subprocess.run(["fusermount3", "-u", path])
        assert proc.wait(timeout=20) == 0, open(log).read()
        text = open(log, errors="replace").read()
        assert not [bad for bad in BAD_LOG if bad in text], text


# --- before mounting --------------------------------------------------------------

def test_probe_requests(mounted, fake):
    """v1: GET /api/v2/version (404), /api/v1/version, /api/v1/dags?limit=1. v2: GET
    /api/v2/version, POST /auth/token {"username", "password"}, GET /api/v2/dags?limit=1
    with the token the login gave."""
    path, _ = mounted()
    assert api.recorded(fake) == api.probe_requests(fake)
    reqs = fake.requests()
    assert [r["status"] for r in reqs] == ([404, 200, 200] if fake.api == "v1"
                                           else [200, 201, 200])
    assert api.accepted_auth(fake, header(reqs[-1], "Authorization"))
    if fake.api == "v2":
        assert header(reqs[1], "Content-Type").startswith("application/json")
    assert read(os.path.join(path, *STATE)) == b"success\n"


def test_a_url_with_a_path_prefix(fake, tmp_path):
    """An Airflow behind a proxy under a path (Astronomer: /<org>/<deployment>): every
    request, the login too, goes under it."""
    prefix = "/astro/deployment1"
    srv = start_fake(fake.api, prefix=prefix)
    path = str(tmp_path / "mnt")
    try:
        assert srv.url.endswith(prefix)
        proc, log = start_mount(srv.url, path)
        try:
            wait_mounted(path, proc, log)
        except AssertionError:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        try:
            assert api.recorded(srv) == api.probe_requests(srv)
            srv.reset()
            assert read(os.path.join(path, *STATE)) == b"success\n"
            assert sorted(os.listdir(os.path.join(path, E, R1)))[4:6] == ["group.extract",
                                                                           "load"]
            assert srv.requests() and all(r["path"].startswith(prefix + "/api/")
                                          for r in srv.requests())
            assert srv.requests()[0]["path"] == api.ti_path(srv, E, R1, "load")
        finally:
            subprocess.run(["fusermount3", "-u", path])
            assert proc.wait(timeout=20) == 0, open(log).read()
        # outside the prefix nothing answers
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(srv.origin + "/api/v2/version")
        assert e.value.code == 404
    finally:
        srv.stop()


# --- JWTs while mounted (v2) --------------------------------------------------------

@pytest.mark.api("v2")
def test_short_lived_tokens_are_renewed(mounted, fake):
    """Tokens that live 2 s: reads go on working, with new logins, and a request refused
    with 401 "Token Expired" is sent again once, after one login."""
    path, _ = mounted(opts=["ttl=1", "readahead=0"], jwt_expiry=2, jwt_leeway=0)
    state = os.path.join(path, *STATE)
    fake.reset()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert read(state) == b"success\n"
        os.listdir(os.path.join(path, E))
        time.sleep(0.4)
    assert len(fake.logins()) >= 2
    assert_refusals_are_retried_once(fake)


@pytest.mark.api("v2")
def test_token_expired_is_one_login_and_one_retry(mount, fake):
    """The server's clock runs ahead: a token the mount thinks valid is refused with 401
    "Token Expired". One login, one retry, which succeeds."""
    m = mount(opts=["ttl=1", "readahead=0"])
    p = m.p(*STATE)
    assert read(p) == b"success\n"
    fake.configure(clock_skew=2 * DAY)
    fake.reset()
    time.sleep(1.2)
    assert read(p) == b"success\n"
    ti = api.ti_path(fake, *STATE[:3])
    assert sent(fake) == [("GET", ti, 401), ("POST", "/auth/token", 201), ("GET", ti, 200)]
    assert api.recorded(fake)[1][3] == {"username": USER, "password": PASSWORD}
    fake.reset()
    assert read(m.p(E, R1, "notify", "state")) == b"success\n"
    assert sent(fake) == [("GET", api.ti_path(fake, E, R1, "notify"), 200)]


@pytest.mark.api("v2")
def test_a_token_refused_after_a_secret_rotation_is_renewed(mount, fake):
    """A new JWT secret (an api-server restarted without a fixed one): 403 "Invalid JWT
    token", then one login and one retry."""
    m = mount(opts=["ttl=1", "readahead=0"])
    p = m.p(*STATE)
    assert read(p) == b"success\n"
    fake.configure(rotate_jwt_secret=True)
    fake.reset()
    time.sleep(1.2)
    assert read(p) == b"success\n"
    ti = api.ti_path(fake, *STATE[:3])
    assert sent(fake) == [("GET", ti, 403), ("POST", "/auth/token", 201), ("GET", ti, 200)]


@pytest.mark.api("v2")
def test_a_refused_login_is_eacces_without_a_loop(mount, fake):
    """The token expired and the password changed: one login attempt (401 "Invalid
    credentials"), EACCES, and the next operation tries again."""
    m = mount(opts=["ttl=1", "readahead=0"])
    p = m.p(*STATE)
    assert read(p) == b"success\n"
    fake.configure(clock_skew=2 * DAY, password="n3w-pa55word")
    fake.reset()
    time.sleep(1.2)
    assert_errno(errno.EACCES, read, p)
    ti = api.ti_path(fake, *STATE[:3])
    # a failed LOOKUP of a cached name makes the kernel look it up once more
    once = [("GET", ti, 401), ("POST", "/auth/token", 401)]
    assert sent(fake) in (once, once * 2)
    assert "401" in m.log().replace(fake.url, "") and "n3w-pa55word" not in m.log()
    fake.configure(password=PASSWORD)
    assert read(p) == b"success\n"
    n = len(sent(fake)) - 3
    assert sent(fake)[n:] == [("GET", ti, 401), ("POST", "/auth/token", 201), ("GET", ti, 200)]


@pytest.mark.api("v2")
def test_a_slow_login_keeps_each_callers_deadline(mount, fake):
    """Two reads that both need a JWT while the login takes longer than -o timeout: one
    of them logs in (one POST /auth/token), the other waits for that login no longer than
    its own deadline; both fail with ETIMEDOUT within the timeout."""
    timeout = 1.0
    m = mount(opts=["ttl=3600", "readahead=0", "timeout=%g" % timeout])
    paths = [m.p(E, R1, task, "state") for task in ("load", "notify")]
    for p in paths:  # the kernel knows the names: what fails below is the read
        assert read(p) == b"success\n"
    before = m.log().count("SIGHUP:")
    m.proc.send_signal(signal.SIGHUP)  # the JWT and the caches are dropped
    deadline = time.monotonic() + 10
    while m.log().count("SIGHUP:") == before:
        assert time.monotonic() < deadline, m.log()
        time.sleep(0.02)
    fake.inject(method="POST", path="/auth/token", delay=3 * timeout)
    fake.reset()
    results, start = {}, threading.Barrier(len(paths))

    def reader(p):
        start.wait()
        t0 = time.monotonic()
        try:
            read(p)
            results[p] = (None, time.monotonic() - t0)
        except OSError as e:
            results[p] = (e.errno, time.monotonic() - t0)

    threads = [threading.Thread(target=reader, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10 * timeout)
    assert sorted(results) == sorted(paths), results
    for err, took in results.values():
        assert err == errno.ETIMEDOUT and took < timeout + 0.5, results
    time.sleep(3 * timeout)  # the login answered by now, to no one
    assert len(fake.logins()) == 1, sent(fake)
    fake.clear_faults()
    assert read(paths[0]) == b"success\n"


@pytest.mark.api("v2")
def test_a_rotated_token_file_of_pre_issued_jwts(mounted, fake, tmp_path):
    """-o token_file holding a JWT issued elsewhere: no login ever; when the server's
    secret changes and the file gets a new token, the mount uses it (the old one at most
    once more, refused)."""
    tok = tmp_path / "token"
    fresh(fake)  # the key the token is signed with stays for the mount
    first = fake.issue_token()
    tok.write_text(first + "\n")
    tok.chmod(0o600)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
    path, log = mounted(opts=["ttl=1", "readahead=0", "token_file=" + str(tok)],
                        env=env)
    assert api.recorded(fake) == api.probe_requests(fake, login=False)
    state = os.path.join(path, *STATE)
    assert read(state) == b"success\n"
    fake.configure(rotate_jwt_secret=True)
    second = fake.issue_token()
    tok.write_text(second + "\n")
    fake.reset()
    time.sleep(1.2)
    assert read(state) == b"success\n"
    reqs = fake.requests()
    assert [r["status"] for r in reqs] in ([200], [403, 200])
    assert reqs[-1]["headers"]["Authorization"] == "Bearer " + second
    assert fake.logins() == []
    assert first not in open(log).read() and second not in open(log).read()


@pytest.mark.api("v2")
def test_an_expired_token_without_credentials_is_eacces(mounted, fake):
    """AIRFLOW_TOKEN, a JWT that expires: with nothing to log in with, EACCES."""
    fresh(fake)
    token = fake.issue_token(expires_in=60)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None, AIRFLOW_TOKEN=token)
    path, log = mounted(opts=["ttl=1", "readahead=0"], env=env)
    state = os.path.join(path, *STATE)
    assert read(state) == b"success\n"
    fake.configure(clock_skew=120)
    fake.reset()
    time.sleep(1.2)
    assert_errno(errno.EACCES, read, state)
    # a failed LOOKUP of a cached name makes the kernel look it up once more
    assert [r["status"] for r in fake.requests()] in ([401], [401, 401])
    assert token not in open(log).read()
