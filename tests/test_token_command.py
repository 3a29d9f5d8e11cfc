# SPDX-License-Identifier: Apache-2.0
"""-o token_command on a real mount: a script that counts its runs and hands out tokens
the fake takes (static tokens the test rotates, or v2 JWTs that expire). It runs before
the first request, again after a refusal (once per call) and before a JWT's exp; never
two at a time; without a terminal, stdin /dev/null, in a session of its own and without
credential variables; a failure is EACCES, logged with its stderr's last line and never
its stdout; a command that hangs is killed at the end of `timeout`."""
import errno
import os
import subprocess
import threading
import time

import pytest

import airflow_api as api
from conftest import BAD_LOG, BIN, creds_env, fresh, start_mount, wait_mounted

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
STATE = (E, R1, "load", "state")

# Run N: counts itself in runs (one line per run: start and end times, overlap if
# another run was under way), keeps its environment, stdin and session in N.info,
# then does what the file `mode` says: "ok" prints the token file's content (or
# tok-N), "fail" prints a secret to stdout and two lines to stderr and exits 3, "jwt"
# prints a v2 JWT from the fake with `expires_in` seconds, "hang" sleeps.
SCRIPT = r"""#!/bin/sh
d=$(dirname "$0")
mkdir "$d/lock" 2>/dev/null || echo overlap >> "$d/overlaps"
n=$(( $(wc -l < "$d/runs") + 1 ))
start=$(date +%s.%N)
env > "$d/$n.env"
{ readlink /proc/$$/fd/0; cut -d' ' -f6,7 /proc/$$/stat; echo $$ $PPID; } > "$d/$n.info"
sleep "$(cat "$d/delay")"
mode=$(cat "$d/mode")
rc=0
case "$mode" in
ok) if [ -s "$d/token" ]; then cat "$d/token"; else echo "tok-$n"; fi ;;
fail) echo "stdout-secret-$n"; echo "first line" >&2; echo "the last line $n" >&2; rc=3 ;;
jwt) curl -s -X POST -d "{\"expires_in\": $(cat "$d/life")}" "$(cat "$d/fake")/_fake/token" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' ;;
hang) echo $$ > "$d/hung.pid"; sleep 60 ;;
esac
echo "$start $(date +%s.%N)" >> "$d/runs"
rmdir "$d/lock"
exit $rc
"""


class Cmd:
    """The script in its own directory, and what its runs left there."""

    def __init__(self, tmp_path, fake):
        self.dir = tmp_path / "cmd"
        self.dir.mkdir()
        self.path = self.dir / "make-token"
        self.path.write_text(SCRIPT)
        self.path.chmod(0o700)
        (self.dir / "runs").write_text("")
        (self.dir / "fake").write_text(fake.origin)
        self.set(mode="ok", delay="0", token="", life="60")

    def set(self, **files):
        for name, value in files.items():
            (self.dir / name).write_text(value)

    def runs(self):
        return len((self.dir / "runs").read_text().splitlines())

    def info(self, n):
        return (self.dir / ("%d.info" % n)).read_text().split("\n")

    def env(self, n):
        return (self.dir / ("%d.env" % n)).read_text()

    def overlaps(self):
        return (self.dir / "overlaps").exists()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def assert_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def bearer(r):
    return {k.lower(): v for k, v in r["headers"].items()}.get("authorization")


def sent(fake):
    return [(r["method"], r["path"], r["status"]) for r in fake.requests()]


def no_creds(**extra):
    return creds_env(**{"AIRFLOW_USERNAME": None, "AIRFLOW_PASSWORD": None, **extra})


@pytest.fixture
def cmd(tmp_path, fake):
    return Cmd(tmp_path, fake)


@pytest.fixture
def mounted(fake, tmp_path):
    """mounted(cmd, opts=(), env=None, **settings) -> (path, log path): the fake fresh and
    configure(**settings)'d, its record cleared before the mount."""
    mounts = []

    def do(cmd, opts=(), env=None, **settings):
        fresh(fake)
        fake.configure(**settings)
        path = str(tmp_path / ("mnt%d" % len(mounts)))
        opts = ["token_command=" + str(cmd.path)] + list(opts)
        proc, log = start_mount(fake.url, path, opts, env if env is not None else no_creds())
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


def test_the_token_is_made_once_before_the_first_request(mounted, fake, cmd):
    """One run before mounting; every request but the version probe carries its token; the command gets no terminal, stdin /dev/null,
    a session of its own, and no credential variable of the daemon's environment."""
    fresh(fake)
    env = no_creds(AIRFLOW_PASSWORD="pw-in-env-1", AIRFLOW_TOKEN="tok-in-env-2",
                   AIRFLOW_USERNAME="someone", KRB5CCNAME="FILE:/nonexistent/cc",
                   AFS_TEST_MARK="kept")
    path, log = mounted(cmd, ["verbose", "ttl=1", "readahead=0"], env=env,
                        static_tokens=["tok-1"])
    assert cmd.runs() == 1
    assert api.recorded(fake) == api.probe_requests(fake, login=False)
    assert bearer(fake.requests()[-1]) == "Bearer tok-1"
    assert fake.requests()[-1]["status"] == 200
    fake.reset()
    assert read(os.path.join(path, *STATE)) == b"success\n"
    names = [n for n in sorted(os.listdir(os.path.join(path, E, R1))) if n[0] != "@"]
    assert names[:2] == ["group.extract", "load"]
    assert fake.requests() and all(bearer(r) == "Bearer tok-1" and r["status"] == 200
                                   for r in fake.requests())
    assert cmd.runs() == 1
    stdin, stat, pids = cmd.info(1)[:3]
    assert stdin == "/dev/null"
    session, tty = stat.split()
    # a session of its own (led by `sh -c`, the script's parent or itself), no terminal
    assert session in pids.split() and int(session) != os.getsid(0) and tty == "0"
    environ = cmd.env(1)
    for secret in ("pw-in-env-1", "tok-in-env-2", "AIRFLOW_USERNAME", "AIRFLOW_TOKEN",
                   "AIRFLOW_PASSWORD"):
        assert secret not in environ
    assert "AFS_TEST_MARK=kept" in environ and "KRB5CCNAME=FILE:/nonexistent/cc" in environ
    stats = dict(ln.split(" ", 1) for ln in read(os.path.join(path, ".stats")).decode().splitlines())
    assert stats["token_commands"] == "1"
    assert "tok-1" not in open(log).read()


def test_a_refused_token_is_made_again_once_per_call(mounted, fake, cmd):
    """The server stops taking the token (an hour passed): the call's request is
    refused, the command runs once, and the request goes again with the new token. When
    the new one is refused too, the call fails with EACCES after that one run."""
    path, log = mounted(cmd, ["ttl=1", "readahead=0"], static_tokens=["tok-1"])
    p = os.path.join(path, *STATE)
    assert read(p) == b"success\n"
    fake.configure(static_tokens=["tok-2"])
    fake.reset()
    time.sleep(1.2)
    assert read(p) == b"success\n"
    ti = api.ti_path(fake, *STATE[:3])
    refused = 401 if fake.api == "v1" else 403  # v2: not a JWT it signed
    assert sent(fake) == [("GET", ti, refused), ("GET", ti, 200)]
    assert [bearer(r) for r in fake.requests()] == ["Bearer tok-1", "Bearer tok-2"]
    assert cmd.runs() == 2
    # the next token is no good either: one run per call, no loop
    fake.configure(static_tokens=["tok-99"])
    fake.reset()
    time.sleep(1.2)
    assert_errno(errno.EACCES, read, p)
    # a failed LOOKUP of a cached name makes the kernel look it up once more
    calls = cmd.runs() - 2
    assert calls in (1, 2)
    assert sent(fake) == [("GET", ti, refused)] * (2 * calls)
    fake.configure(static_tokens=["tok-%d" % (cmd.runs() + 1)])
    assert read(p) == b"success\n"
    assert "tok-" not in open(log).read()


def test_a_failing_command_before_mounting_says_why(fake, cmd, tmp_path):
    """A command that fails: no mount, one line with its stderr's last line (not its
    stdout), and nothing sent with a token."""
    fresh(fake)
    cmd.set(mode="fail")
    path = str(tmp_path / "mnt")
    os.makedirs(path)
    r = subprocess.run([BIN, "-f", "-o",
                        "token_command=" + str(cmd.path), fake.url, path],
                       capture_output=True, text=True, timeout=60, env=no_creds())
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.count("\n") == 1, r.stderr
    assert fake.url in r.stderr and "the last line 1" in r.stderr, r.stderr
    assert "status 3" in r.stderr and "stdout-secret" not in r.stderr
    assert "first line" not in r.stderr
    assert not os.path.ismount(path)
    assert all(bearer(r) is None for r in fake.requests())


def test_a_failing_command_while_mounted_is_eacces(mounted, fake, cmd):
    """The token is refused and the command now fails: EACCES, the log says why with the
    last line of its stderr, never its stdout; once it works again, so does the mount."""
    path, log = mounted(cmd, ["ttl=1", "readahead=0"], static_tokens=["tok-1"])
    p = os.path.join(path, *STATE)
    assert read(p) == b"success\n"
    fake.configure(static_tokens=["tok-good"])
    cmd.set(mode="fail")
    fake.reset()
    time.sleep(1.2)
    assert_errno(errno.EACCES, read, p)
    n = cmd.runs()
    assert n in (2, 3)  # once per call (the kernel may look the name up twice)
    text = open(log).read()
    assert "the last line 2" in text and "status 3" in text
    assert "stdout-secret" not in text and "first line" not in text
    cmd.set(mode="ok", token="tok-good")
    assert read(p) == b"success\n"
    assert bearer(fake.requests()[-1]) == "Bearer tok-good"
    assert "tok-good" not in open(log).read()


def test_one_run_at_a_time(mounted, fake, cmd):
    """Refused everywhere at once: concurrent calls wait for the one run under way and
    take its token; the command never runs twice at the same time."""
    path, log = mounted(cmd, ["ttl=1", "readahead=0"], static_tokens=["tok-1"])
    run = os.path.join(path, E, R1)
    files = [os.path.join(run, t, "state") for t in sorted(os.listdir(run))
             if os.path.exists(os.path.join(run, t, "state"))]
    assert len(files) >= 4
    for f in files:
        read(f)
    fake.configure(static_tokens=["tok-2"])
    cmd.set(delay="1")
    fake.reset()
    time.sleep(1.2)
    results, errors = [], []

    def reader(f):
        try:
            results.append(read(f))
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == len(files)
    assert cmd.runs() == 2 and not cmd.overlaps()
    assert all(bearer(r) == "Bearer tok-2" for r in fake.requests() if r["status"] == 200)


def test_a_hanging_command_is_killed_at_the_timeout(mounted, fake, cmd):
    """A command that never ends is killed (its whole session) when `timeout` runs out,
    and the call fails with EACCES."""
    path, log = mounted(cmd, ["ttl=1", "readahead=0", "timeout=3", "retries=0"],
                        static_tokens=["tok-1"])
    p = os.path.join(path, *STATE)
    assert read(p) == b"success\n"
    fake.configure(static_tokens=["tok-2"])
    cmd.set(mode="hang")
    fake.reset()
    time.sleep(1.2)
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        read(p)
    took = time.monotonic() - t0
    assert e.value.errno == errno.EACCES
    assert took < 2 * 3 + 2  # each of (at most) two LOOKUPs is bounded by timeout
    pid = int((cmd.dir / "hung.pid").read_text())
    deadline = time.monotonic() + 5
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists("/proc/%d" % pid)
    assert "did not finish" in open(log).read()


@pytest.mark.api("v2")
def test_a_jwt_is_made_again_before_its_exp(mounted, fake, cmd):
    """The command prints JWTs that live 5 s (no leeway): they are made again before
    they expire (a quarter of their life before, at most a minute), so no request is
    refused."""
    cmd.set(mode="jwt", life="5")
    path, log = mounted(cmd, ["ttl=0.2", "readahead=0"], jwt_leeway=0)
    p = os.path.join(path, *STATE)
    fake.reset()
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline:
        assert read(p) == b"success\n"
        time.sleep(0.3)
    assert cmd.runs() >= 3
    assert fake.requests() and all(r["status"] == 200 for r in fake.requests()), \
        [(r["status"], r["time"]) for r in fake.requests()]
    assert fake.logins() == []


@pytest.mark.parametrize("opts,names", [
    ("token_command=true,token_file=/etc/hostname", ("token_file", "token_command")),
    ("kerberos,password_file=/etc/hostname,username=u", ("password_file", "kerberos")),
    ("kerberos,token_command=true", ("token_command", "kerberos")),
    ("token_command=true,username=u", ("username",)),
    ("token_command= ", ("token_command",)),
])
def test_two_credential_options_are_refused(fake, tmp_path, opts, names):
    fresh(fake)
    r = subprocess.run([BIN, "-o", opts,
                        fake.url, str(tmp_path)], capture_output=True, text=True, timeout=30,
                       env=no_creds())
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.count("\n") == 1, r.stderr
    for n in names:
        assert n in r.stderr, r.stderr
    assert fake.requests() == []
    assert not os.path.ismount(str(tmp_path))
