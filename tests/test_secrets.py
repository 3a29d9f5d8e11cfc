# SPDX-License-Identifier: Apache-2.0
"""Secrets in the running daemon (SPEC.md, Credentials): no credential variable left in
its environment, used or not; no credentials on the version probe; few copies of the
password, the token and the Authorization header values in its memory after reads and
writes; no core file (non-dumpable, as ssh-agent); a credential file that is not a
regular file (a FIFO) refused before mounting, without hanging."""
import base64
import os
import re
import resource
import signal
import subprocess
import time

import pytest

import airflow_api as api
import conftest
from conftest import (BAD_LOG, PASSWORD, ROOT, USER, creds_env, fresh, start_mount,
                      wait_mounted)

# The copy count and the core file are properties of the build users run: under ASan
# (make asan sets AIRFLOWFS_BIN) freed blocks sit unwiped in its quarantine by design,
# and its SIGSEGV handler reports and exits instead of the kernel dumping. Those tests
# run the plain build (make check builds it first); the others run AIRFLOWFS_BIN.
PLAIN_BIN = os.path.join(ROOT, "airflowfs")
BIN = conftest.BIN

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
LOAD = (E, R1, "load")
CRED_VARS = ("AIRFLOW_USERNAME", "AIRFLOW_PASSWORD", "AIRFLOW_TOKEN")
DECOY_TOKEN = "decoy-token-Zq81x"  # set in the environment, never the one used


def read(path):
    with open(path, "rb") as f:
        return f.read()


def header(request, name):
    return {k.lower(): v for k, v in request["headers"].items()}.get(name.lower())


def secret_file(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text + "\n")
    p.chmod(0o600)
    return str(p)


@pytest.fixture
def daemon(fake, tmp_path):
    """daemon(opts, env) -> (mount path, proc): a foreground daemon on fresh demo data,
    the fake's record cleared before the mount; unmounted and checked at the end."""
    mounts = []

    def do(opts=(), env=None):
        fresh(fake)
        path = str(tmp_path / ("mnt%d" % len(mounts)))
        proc, log = start_mount(fake.url, path, opts, env)
        mounts.append((path, proc, log))
        wait_mounted(path, proc, log)
        return path, proc

    yield do
    for path, proc, log in mounts:
        if proc.poll() is None:
            subprocess.run(["fusermount3", "-u", path])
        assert proc.wait(timeout=20) == 0, open(log).read()
        text = open(log, errors="replace").read()
        assert not [bad for bad in BAD_LOG if bad in text], text


def kinds(fake, tmp_path):
    """Each credential kind the fake's API takes: (name, opts, env, secrets it holds).
    Every credential variable is set at start, whichever the kind uses."""
    everything = creds_env(AIRFLOW_TOKEN=DECOY_TOKEN)
    out = [("env password", [], creds_env(), [PASSWORD]),
           ("password_file", ["username=" + USER,
                              "password_file=" + secret_file(tmp_path, "pw", PASSWORD)],
            everything, [PASSWORD])]
    if fake.api == "v2":
        fresh(fake)  # the key the tokens are signed with stays for the mount
        tok = fake.issue_token()
        out.append(("env token", [], creds_env(AIRFLOW_TOKEN=tok), [tok]))
        tok2 = fake.issue_token(sub="other")
        out.append(("token_file", ["token_file=" + secret_file(tmp_path, "tok", tok2)],
                    everything, [tok2]))
    return out


def test_environment_holds_no_credential_variable(fake, tmp_path):
    """With every credential variable set at start, /proc/PID/environ of the running
    daemon names none of them and holds none of their values, for each kind of
    credentials; the mount works with the kind it was given."""
    for name, opts, env, secrets in kinds(fake, tmp_path):
        if name in ("env token", "token_file"):
            pass  # the tokens were issued with the current key: keep it
        else:
            fresh(fake)
        path = str(tmp_path / ("mnt-" + name.replace(" ", "_")))
        proc, log = start_mount(fake.url, path, opts, env)
        try:
            wait_mounted(path, proc, log)
            assert read(os.path.join(path, *LOAD, "state")) == b"success\n"
            environ = read("/proc/%d/environ" % proc.pid)
            for var in CRED_VARS:
                assert var.encode() not in environ, (name, var)
            for value in [USER, PASSWORD, DECOY_TOKEN] + secrets:
                assert value.encode() not in environ, (name, value)
            # the rest of the environment is left as it was
            assert b"PATH=" + os.environ["PATH"].encode() in environ.split(b"\0")
        finally:
            if proc.poll() is None:
                subprocess.run(["fusermount3", "-u", path])
            assert proc.wait(timeout=20) == 0, open(log).read()
        assert not [bad for bad in BAD_LOG if bad in open(log).read()]


def test_the_version_probe_carries_no_credentials(daemon, fake):
    """GET .../version goes without an Authorization header (it asks a server not yet
    known to be ours); the list call after it has the credentials."""
    daemon()
    reqs = fake.requests()
    probes = [r for r in reqs if r["path"].endswith("/version")]
    assert probes, reqs
    for r in probes:
        assert header(r, "Authorization") is None, r
        assert header(r, "Cookie") is None, r
    assert api.accepted_auth(fake, header(reqs[-1], "Authorization"))


def memory(pid):
    """The readable memory of a process (as root: /proc/PID/mem), region by region."""
    chunks = []
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            # sanitizers' shadow: terabytes reserved, none of it ours
            if "r" not in fields[1] or name in ("[vvar]", "[vsyscall]") or \
                    hi - lo > (1 << 30):
                continue
            try:
                mem.seek(lo)
                chunks.append(mem.read(hi - lo))
            except OSError:
                continue
    return chunks


def copies(chunks, text):
    needle = text.encode()
    return sum(c.count(needle) for c in chunks)


# The bounds, whatever the traffic. A password or token given to the daemon: 1, the
# credential store of the HTTP layer (the configuration's copy is wiped once that holds
# its own; a token file's content is held once). A JWT bought with the password: the
# store's copy, plus at most the login answer left in the receive buffer of the
# connection handle that fetched it and in the JSON parser's freed blocks, which no
# later request is sure to overwrite. A whole "Bearer ..." or "Basic ..." value: 0, as
# each is built per request, at its size, and wiped, and curl's memory is wiped when
# freed. (Before, a core held 81 copies of "Bearer TOKEN".)
MAX_GIVEN, MAX_JWT = 1, 3


def test_few_copies_of_the_secrets_in_memory(daemon, fake, tmp_path, monkeypatch):
    """After reads (listings, states, logs, in parallel) and writes (a note), the
    daemon's memory holds at most MAX_GIVEN copies of the password or token it was
    given, MAX_JWT of a JWT it bought,
    and none of a full "Bearer ..." or "Basic ..." value (built and wiped per request),
    for every kind of credentials."""
    monkeypatch.setattr(conftest, "BIN", PLAIN_BIN)
    basic = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    for name, opts, env, secrets in kinds(fake, tmp_path):
        if name not in ("env token", "token_file"):
            fresh(fake)
        path, proc = daemon(opts=opts, env=env)
        fake.reset()
        procs = [subprocess.Popen(["sh", "-c", 'for i in 1 2 3; do ls -R "$1" >/dev/null; '
                                   'cat "$1"/*/*/*/state "$1"/*/*/*/logs/* >/dev/null; '
                                   'done', "sh", os.path.join(path, E)])
                 for _ in range(4)]
        for p in procs:
            assert p.wait(timeout=120) == 0
        note = os.path.join(path, *LOAD, "note")
        with open(note, "w") as f:
            f.write("checked by test_secrets\n")
        assert read(note) == b"checked by test_secrets\n"
        reqs = fake.requests(auth=False)
        assert len(reqs) > 20, reqs
        auths = {header(r, "Authorization") for r in reqs}
        assert len(auths) == 1 and all(api.accepted_auth(fake, a) for a in auths), auths
        auth = auths.pop()
        chunks = memory(proc.pid)
        given = {s: copies(chunks, s) for s in secrets}
        scheme, value = auth.split(" ", 1)
        jwt = copies(chunks, value) if scheme == "Bearer" and value not in secrets else 0
        whole = {"auth": copies(chunks, auth), "basic": copies(chunks, basic)}
        print(name, list(given.values()), jwt, whole)
        # the daemon holds each secret it was given (the scan can see it), once
        assert list(given.values()) == [MAX_GIVEN] * len(secrets), (name, given)
        assert jwt <= MAX_JWT, (name, jwt)
        assert whole == {"auth": 0, "basic": 0}, (name, whole)


def no_limit():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)


def cores(directory):
    """The core files in directory, with what tells a new one from an old."""
    out = set()
    for n in os.listdir(directory):
        if re.match(r"core(\.\d+)?$", n):
            st = os.stat(os.path.join(directory, n))
            out.add((n, st.st_ino, st.st_mtime_ns, st.st_size))
    return out


@pytest.mark.api("v1")
def test_a_crash_writes_no_core_file(fake, tmp_path):
    """With core files unlimited and kernel.core_pattern writing them to the crashing
    process's directory, a SIGSEGV of a plain process there leaves a core file (the
    check can see one) but a SIGSEGV of the mounted daemon leaves none: it made itself
    non-dumpable (and so can be neither ptraced nor read through /proc/PID/mem by
    another process of its user)."""
    with open("/proc/sys/kernel/core_pattern") as f:
        assert f.read().strip() in ("core", "core.%p"), "cores go elsewhere here"
    work = tmp_path / "cwd"
    work.mkdir()
    control = subprocess.Popen(["sleep", "60"], cwd=str(work), preexec_fn=no_limit)
    time.sleep(0.2)
    control.send_signal(signal.SIGSEGV)
    assert control.wait(timeout=10) == -signal.SIGSEGV
    assert cores(str(work)), "a dumpable process left no core: the check would be blind"
    for n, *_ in cores(str(work)):
        os.unlink(os.path.join(str(work), n))

    # the daemon works in / (fuse_daemonize moves there, in the foreground too)
    before = cores("/")
    fresh(fake)
    path = str(tmp_path / "mnt")
    os.makedirs(path)
    proc = subprocess.Popen([PLAIN_BIN, "-f", fake.url, path], cwd=str(work), env=creds_env(),
                            preexec_fn=no_limit, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_mounted(path, proc, "/dev/null")
        assert read(os.path.join(path, *LOAD, "state")) == b"success\n"
        assert os.readlink("/proc/%d/cwd" % proc.pid) == "/"
        proc.send_signal(signal.SIGSEGV)
        assert proc.wait(timeout=20) == -signal.SIGSEGV
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)
    assert cores(str(work)) == set() and cores("/") == before


def daemon_pid(path):
    """The pid of the background daemon serving path (its argv names it)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = read("/proc/%s/cmdline" % pid).split(b"\0")
        except OSError:
            continue
        if argv[0] == PLAIN_BIN.encode() and path.encode() in argv:
            return int(pid)
    return None


@pytest.mark.api("v1")
def test_the_daemonized_child_writes_no_core_file(fake, tmp_path):
    """In the background the daemon is the forked child of the process started (fork
    keeps it non-dumpable), its directory /: a SIGSEGV leaves no core there either."""
    with open("/proc/sys/kernel/core_pattern") as f:
        assert f.read().strip() in ("core", "core.%p"), "cores go elsewhere here"
    fresh(fake)
    path = str(tmp_path / "mnt")
    os.makedirs(path)
    before = cores("/")
    assert subprocess.run([PLAIN_BIN, fake.url, path], env=creds_env(), preexec_fn=no_limit,
                          timeout=30).returncode == 0
    pid = None
    try:
        assert os.path.ismount(path)
        pid = daemon_pid(path)
        assert pid and os.readlink("/proc/%d/cwd" % pid) == "/"
        assert read(os.path.join(path, *LOAD, "state")) == b"success\n"
        os.kill(pid, signal.SIGSEGV)
        deadline = time.monotonic() + 20
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists("/proc/%d" % pid)
    finally:
        subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)
    assert cores("/") == before


@pytest.mark.api("v1")
@pytest.mark.parametrize("opt", ["password_file", "token_file"])
def test_a_credential_file_that_is_a_fifo_is_refused(fake, tmp_path, opt):
    """A FIFO in place of a credential file: no mount, a message that says why, at once
    (reading it would wait for a writer forever)."""
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo, 0o600)
    path = str(tmp_path / "mnt")
    os.makedirs(path)
    opts = ["username=" + USER] if opt == "password_file" else []
    r = subprocess.run([BIN, "-f", "-o", ",".join(opts + [opt + "=" + fifo]), fake.url,
                        path], env=creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert r.stderr == "airflowfs: %s is not a regular file\n" % fifo
    assert not os.path.ismount(path)
