# SPDX-License-Identifier: Apache-2.0
"""The command line: the check before mounting, credentials, options, and
secrets kept out of argv, logs and error messages."""
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import airflow_api as api
from conftest import (BIN, PASSWORD, USER, creds_env, fresh, start_fake, start_mount,
                      wait_mounted)

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
STATE = (E, R1, "load", "state")


def run_fail(args, env=None, timeout=60):
    """Runs airflowfs expecting it to refuse; returns its stderr."""
    r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout,
                       env=env if env is not None else creds_env())
    assert r.returncode != 0, r
    assert r.stdout == ""
    return r.stderr


def assert_one_line(err, *needles):
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    for n in needles:
        assert n in err, (n, err)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_port(tmp_path):
    url = "http://127.0.0.1:%d" % free_port()
    err = run_fail(["-o", "retries=0", url, str(tmp_path)])
    assert_one_line(err, url, "refused")
    assert not os.path.ismount(str(tmp_path))


def test_unresolvable_host(tmp_path):
    url = "http://no-such-host.invalid"
    err = run_fail(["-o", "retries=0,timeout=10", url, str(tmp_path)])
    assert_one_line(err, url, "resolve")


def test_wrong_password(fake, tmp_path):
    fresh(fake)
    err = run_fail([fake.url, str(tmp_path)],
                   env=creds_env(AIRFLOW_PASSWORD="wrong-password-123"))
    assert_one_line(err, fake.url)
    assert "401" in err.replace(fake.url, "")   # (the port may hold a 401 too)
    assert "wrong-password-123" not in err
    assert not os.path.ismount(str(tmp_path))
    # v2: the login is refused (401 "Invalid credentials") once, and nothing follows it
    expected = api.probe_requests(fake)
    if fake.api == "v2":
        expected[1][3]["password"] = "wrong-password-123"
    assert api.recorded(fake) == expected[:2 if fake.api == "v2" else 3]
    assert fake.requests()[-1]["status"] == 401


def test_no_credentials_against_basic_auth(fake, tmp_path):
    fresh(fake)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
    err = run_fail([fake.url, str(tmp_path)], env=env)
    # SPEC.md "Command line": none were given, and where they come from
    assert_one_line(err, fake.url, "no credentials were given", "AIRFLOW_USERNAME",
                    "AIRFLOW_PASSWORD", "AIRFLOW_TOKEN", "token_file", "password_file")
    assert "401" in err.replace(fake.url, "")
    assert "check the credentials" not in err
    assert fake.logins() == []


def test_wrong_credentials_are_not_called_missing(fake, tmp_path):
    fresh(fake)
    err = run_fail([fake.url, str(tmp_path)], env=creds_env(AIRFLOW_PASSWORD="nope-1234"))
    assert_one_line(err, "check the credentials")
    assert "no credentials" not in err


def test_password_file_takes_the_user_name_from_the_environment(fake, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    env = creds_env(AIRFLOW_PASSWORD=None)          # AIRFLOW_USERNAME stays
    path, proc, _ = mounted(fake, tmp_path, env, ["password_file=" + str(pw)])
    try:
        assert read_state(path) == b"success\n"
        auth = [r["headers"].get("Authorization") for r in fake.requests()]
        assert auth and all(api.accepted_auth(fake, a) for a in auth)
    finally:
        unmount(path, proc)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
    err = run_fail(["-o", "password_file=" + str(pw), fake.url, str(tmp_path)], env=env)
    assert_one_line(err, "password_file", "username", "AIRFLOW_USERNAME")


@pytest.mark.parametrize("suffix", ["/api/v1", "/api/v2", "/api/v1/", "/api/v2/"])
def test_a_url_ending_in_the_api_path_means_its_root_and_version(fake, tmp_path, suffix):
    version = suffix.strip("/")[-2:]
    if version != fake.api:
        # that version is forced, and this server does not have it
        err = run_fail([fake.url + suffix, str(tmp_path)])
        assert_one_line(err, fake.url)
        assert "/api/%s/api/" % version not in "".join(r["path"] for r in fake.requests())
        return
    fresh(fake)
    path = str(tmp_path / "mnt")
    proc, log = start_mount(fake.url + suffix, path, (), creds_env())
    wait_mounted(path, proc, log)
    try:
        assert read_state(path) == b"success\n"
        paths = [r["path"] for r in fake.requests()]
        assert not [p for p in paths if "/api/v1/api/" in p or "/api/v2/api/" in p], paths
        assert api.ti_path(fake, E, R1, "load") in paths
        # the other version was not probed: the URL named this one
        other = "v2" if version == "v1" else "v1"
        assert fake.prefix + "/api/%s/version" % other not in paths, paths
    finally:
        unmount(path, proc)


def test_a_url_naming_one_version_and_api_the_other_is_refused(fake, tmp_path):
    fake.reset()
    err = run_fail(["-o", "api=v2", fake.url + "/api/v1", str(tmp_path)])
    assert_one_line(err, "/api/v1")
    assert fake.requests() == []


def test_a_missing_cacert_is_named_before_anything_is_sent(fake, tmp_path):
    fresh(fake)
    err = run_fail(["-o", "cacert=/nonexistent/ca.pem", fake.url, str(tmp_path)])
    assert_one_line(err, "cacert=/nonexistent/ca.pem", "No such file or directory")
    assert fake.requests() == []


@pytest.mark.parametrize("opt,needle", [
    ("retries=101", "retries=101: an integer from 0 to 100"),
    ("ttl=-1", "ttl=-1: a number from 0 to 10000000"),
    ("log_ttl=1e9", "log_ttl=1e9: a number from 0 to 10000000"),
    ("timeout=0", "timeout=0: a number above 0, up to 1000000"),
    ("max_runs=1.5", "max_runs=1.5: an integer from 0 to 1000000000"),
    ("cache_size=0", "cache_size=0: an integer from 1 to 1048576"),
    ("readahead=65", "readahead=65: an integer from 0 to 64"),
])
def test_numbers_out_of_range_name_the_range(fake, tmp_path, opt, needle):
    fresh(fake)
    assert_one_line(run_fail(["-o", opt, fake.url, str(tmp_path)]), needle)
    assert fake.requests() == []


def test_a_mountpoint_that_is_not_a_directory_is_refused(fake, tmp_path):
    fresh(fake)
    f = tmp_path / "file"
    f.write_text("x")
    err = run_fail([fake.url, str(f)])
    assert_one_line(err, str(f), "MOUNTPOINT must be a directory")
    assert not os.path.ismount(str(f)) and f.read_text() == "x"
    assert fake.requests() == []
    err = run_fail([fake.url, str(tmp_path / "none")])
    assert_one_line(err, str(tmp_path / "none"), "No such file or directory")


class NotAirflow(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html>nothing here</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_not_an_airflow_server(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), NotAirflow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        assert_one_line(run_fail([url, str(tmp_path)]), url, "not an Airflow API")
    finally:
        srv.shutdown()


def test_forcing_the_other_api_version_fails(fake, tmp_path):
    other = "v2" if fake.api == "v1" else "v1"
    err = run_fail(["-o", "api=" + other, fake.url, str(tmp_path)])
    assert_one_line(err, fake.url, other)
    assert not os.path.ismount(str(tmp_path))


@pytest.mark.parametrize("opt,needle", [
    ("ttl=abc", "ttl=abc"), ("timeout=0", "timeout"), ("retries=-1", "retries=-1"),
    ("max_runs=1.5", "max_runs=1.5"), ("api=v3", "api=v3"), ("cache_size=0", "cache_size"),
])
def test_bad_option_values(fake, tmp_path, opt, needle):
    fake.reset()
    assert_one_line(run_fail(["-o", opt, fake.url, str(tmp_path)]), needle)
    assert fake.requests() == []


def test_credentials_in_url_refused(fake, tmp_path):
    url = fake.url.replace("http://", "http://admin:hunter2@")
    err = run_fail([url, str(tmp_path)])
    assert_one_line(err, "URL")
    assert "hunter2" not in err


def test_help_and_version():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for opt in ["api=", "ttl=", "log_ttl=", "timeout=", "retries=", "max_runs=",
                "cache_size=", "readahead=", "ro", "verbose", "insecure", "cacert=", "username=",
                "password_file=", "token_file=", "token_command=", "kerberos", "-f", "-d",
                "-s"]:
        assert opt in r.stdout, opt
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
    assert r.returncode == 0 and "airflowfs version" in r.stdout


def mounted(fake, tmp_path, env, opts=(), **settings):
    """Mounts the fake, freshly set up, then configure(**settings)'d."""
    fresh(fake)
    fake.configure(**settings)
    path = str(tmp_path / "mnt")
    proc, log = start_mount(fake.url, path, opts, env)
    wait_mounted(path, proc, log)
    fake.reset()
    return path, proc, log


def unmount(path, proc):
    subprocess.run(["fusermount3", "-u", path], check=True)
    assert proc.wait(timeout=20) == 0


def read_state(path):
    with open(os.path.join(path, *STATE), "rb") as f:
        return f.read()


def test_secrets_never_in_argv_environ_or_logs(fake, tmp_path):
    path, proc, log = mounted(fake, tmp_path, creds_env(), ["verbose"])
    try:
        assert read_state(path) == b"success\n"
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert "airflowfs" in ps and PASSWORD not in ps
        # (valgrind's launcher keeps a copy of the environment of its own)
        if not os.environ.get("AIRFLOWFS_UNDER_VALGRIND"):
            with open("/proc/%d/environ" % proc.pid, "rb") as f:
                assert PASSWORD.encode() not in f.read()
        auth = [r["headers"].get("Authorization") for r in fake.requests()]
        assert auth and all(api.accepted_auth(fake, a) for a in auth)
    finally:
        unmount(path, proc)
    text = open(log).read()
    assert "GET %s/dags/etl_daily" % api.base(fake) in text   # verbose lines are there
    assert PASSWORD not in text
    secrets = {a.split(" ", 1)[1] for a in auth}   # the Basic credentials, or the JWTs
    assert not [s for s in secrets if s in text]
    if fake.api == "v2":
        assert all(s.count(".") == 2 for s in secrets)


def test_password_file(fake, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o644)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
    opts = ["username=" + USER, "password_file=" + str(pw)]
    err = run_fail(["-o", ",".join(opts), fake.url, str(tmp_path)], env=env)
    assert_one_line(err, str(pw), "group or others")
    assert PASSWORD not in err
    pw.chmod(0o600)
    path, proc, _ = mounted(fake, tmp_path, env, opts)
    try:
        assert read_state(path) == b"success\n"
    finally:
        unmount(path, proc)


def test_bearer_token_from_env_and_file(fake, tmp_path):
    """A static bearer token (v2: an Astronomer-style deployment token), from the
    environment, then from a token file that is rotated while mounted."""
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None,
                    AIRFLOW_TOKEN="tok-123.abc")
    path, proc, log = mounted(fake, tmp_path, env, ["verbose"],
                              static_tokens=["tok-123.abc"])
    try:
        fake.reset()
        assert read_state(path) == b"success\n"
        assert [r["headers"].get("Authorization") for r in fake.requests()] == \
            ["Bearer tok-123.abc"]
    finally:
        unmount(path, proc)
    assert "tok-123" not in open(log).read()

    tok = tmp_path / "token"
    tok.write_text("tok-123.abc\n")
    tok.chmod(0o600)
    env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
    path, proc, _ = mounted(fake, tmp_path, env, ["token_file=" + str(tok)],
                            static_tokens=["tok-123.abc"])
    try:
        assert read_state(path) == b"success\n"
        # a rotated token is read again without a remount
        fake.configure(static_tokens=["tok-456.def"])
        tok.write_text("tok-456.def\n")
        fake.reset()
        os.stat(os.path.join(path, E, R1, "notify", "state"))
        assert [r["headers"].get("Authorization") for r in fake.requests()] == \
            ["Bearer tok-456.def"]
    finally:
        unmount(path, proc)
    assert fake.logins() == []


def test_no_credentials_sends_no_authorization(fake, tmp_path):
    srv = start_fake(fake.api, auth="none")
    try:
        env = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)
        path, proc, _ = mounted(srv, tmp_path, env)
        try:
            assert read_state(path) == b"success\n"
            assert all("Authorization" not in r["headers"] for r in srv.requests())
        finally:
            unmount(path, proc)
    finally:
        srv.stop()


def test_background_mount_and_fsname(fake, tmp_path):
    fresh(fake)
    path = str(tmp_path / "bg")
    os.mkdir(path)
    r = subprocess.run([BIN, fake.url, path], env=creds_env(), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        assert os.path.ismount(path)
        assert read_state(path) == b"success\n"
        mounts = open("/proc/self/mounts").read()
        line = [ln for ln in mounts.splitlines() if " %s " % path in ln][0]
        assert line.split()[0] == fake.url and line.split()[2] == "fuse.airflowfs"
    finally:
        subprocess.run(["fusermount3", "-u", path], check=True)


def test_mount_is_private_without_allow_other(fake, tmp_path):
    path, proc, _ = mounted(fake, tmp_path, creds_env())
    try:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "ls", path], capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr
    finally:
        unmount(path, proc)


class TinyAirflow(BaseHTTPRequestHandler):
    """Just enough of a v1 server for the check before mounting."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 200
        if self.path == "/api/v1/version":
            body = b'{"version": "2.10.5", "git_version": null}'
        elif self.path.startswith("/api/v1/dags?"):
            body = b'{"dags": [], "total_entries": 0}'
        else:
            status, body = 404, b'{"detail": "nope", "status": 404, "title": "Not Found"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    import ssl
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), TinyAirflow)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "https://127.0.0.1:%d" % srv.server_address[1], str(cert)
    srv.shutdown()


def test_tls_verified_unless_insecure(tls_server, tmp_path):
    url, cert = tls_server
    env = creds_env()
    err = run_fail(["-o", "retries=0", url, str(tmp_path)], env=env)
    assert_one_line(err, url, "certificate")
    for opts in (["insecure"], ["cacert=" + cert]):
        path = str(tmp_path / opts[0].split("=")[0])
        proc, log = start_mount(url, path, opts, env)
        wait_mounted(path, proc, log)
        try:
            assert os.listdir(path) == [".stats", "@by-state"]
        finally:
            unmount(path, proc)
