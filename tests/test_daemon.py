# SPDX-License-Identifier: Apache-2.0
"""The daemon as a service manager and an operator see it: SIGTERM and SIGINT,
SIGHUP (caches dropped, credential files read again), readiness on
$NOTIFY_SOCKET, and where the log lines go (stderr in the foreground, syslog
in the background)."""
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from urllib.parse import quote

import pytest

import airflow_api as api
from conftest import (BAD_LOG, BIN, PASSWORD, USER, creds_env, fresh, start_mount,
                      wait_mounted)
from private_dev import PRIVATE_DEV

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
LOAD = (E, R1, "load")

NO_CREDS = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("no %s after %ss" % (what, timeout))


def hup(m, count=1):
    """Sends SIGHUP and waits until the daemon says it reloaded."""
    before = m.log().count("SIGHUP:")
    m.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: m.log().count("SIGHUP:") >= before + count, "reload in the log")
    assert m.proc.poll() is None


def secret_file(path, text):
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("args", [(), ("-s",)], ids=["threads", "single"])
def test_sigterm_and_sigint_unmount_and_exit_0(fake, tmp_path, sig, args):
    fresh(fake)
    path = str(tmp_path / "mnt")
    proc, log = start_mount(fake.url, path, args=args)
    try:
        wait_mounted(path, proc, log)
        assert read(os.path.join(path, *LOAD, "state")) == b"success\n"
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0, read(log)
        assert not [b for b in BAD_LOG if b.encode() in read(log)], read(log)
        assert not os.path.ismount(path)
        assert os.listdir(path) == []  # the empty directory underneath
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)


def blocked_signals(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        mask = int([ln for ln in f if ln.startswith("SigBlk:")][0].split()[1], 16)
    return {sig for sig in signal.Signals if mask & (1 << (sig - 1))}


def test_own_threads_take_no_signal_so_sigterm_always_ends_the_loop(fake, tmp_path):
    """SIGTERM goes to any thread that does not block it. Taken by one of the daemon's own
    threads (readahead, list pages, SIGHUP), it would set libfuse's exit flag and wake no
    FUSE thread: the daemon stayed up until the next request (seen once under ASan, a
    systemd stop that took over 20 s). Those threads block every signal, by name."""
    fresh(fake)
    path = str(tmp_path / "mnt")
    proc, log = start_mount(fake.url, path, args=("-o", "readahead=4"))
    try:
        wait_mounted(path, proc, log)
        names = {}
        for tid in map(int, os.listdir("/proc/%d/task" % proc.pid)):
            with open("/proc/%d/task/%d/comm" % (proc.pid, tid)) as f:
                names[tid] = f.read().strip()
        ours = [tid for tid, name in names.items() if name.startswith("afs-")]
        assert sorted(names[t] for t in ours) == ["afs-readahead"] * 4 + ["afs-sighup"], names
        for tid in ours:
            assert {signal.SIGTERM, signal.SIGINT, signal.SIGHUP} <= blocked_signals(
                proc.pid, tid), names[tid]
        # the main thread takes them (it waits for the FUSE threads to end)
        assert signal.SIGTERM not in blocked_signals(proc.pid, proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, read(log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)


def test_sighup_drops_the_caches_without_remounting(mount, fake):
    m = mount(["ttl=3600"])
    state = m.p(*LOAD, "state")
    assert read(state) == b"success\n" and os.stat(state).st_size == 8
    fake.update_ti(*LOAD, state="failed")
    fake.reset()
    # within ttl, the daemon and the kernel answer from their caches
    assert read(state) == b"success\n" and os.stat(state).st_size == 8
    assert fake.requests() == []
    hup(m)
    assert os.stat(state).st_size == len(b"failed\n")  # the kernel asked again
    assert read(state) == b"failed\n"
    # (v2: a login first, the JWT went with the caches)
    assert [r["path"] for r in fake.requests(auth=False)] == [api.ti_path(fake, E, R1, "load")]
    # still the same mount and the same daemon, and again and again
    hup(m)
    hup(m)
    assert read(m.p(".stats")).startswith(b"requests ")
    assert m.proc.poll() is None and os.path.ismount(m.path)


def test_sighup_reads_the_password_file_again(mount, fake, tmp_path):
    pw = tmp_path / "password"
    opts = ["ttl=3600", "username=" + USER, "password_file=" + secret_file(pw, PASSWORD)]
    m = mount(opts, env=NO_CREDS)
    assert read(m.p(*LOAD, "state")) == b"success\n"
    # v2: the JWT bought with the old password goes on working until its key changes
    fake.configure(password="n3w-pa55word", **({"rotate_jwt_secret": True}
                                               if fake.api == "v2" else {}))
    secret_file(pw, "n3w-pa55word")
    # read at start only: the old password goes until SIGHUP
    with pytest.raises(PermissionError):
        read(m.p(E, R1, "notify", "state"))
    fake.reset()
    hup(m)
    assert read(m.p(E, R1, "notify", "state")) == b"success\n"
    if fake.api == "v1":
        basic = "Basic " + base64.b64encode(("%s:n3w-pa55word" % USER).encode()).decode()
        assert {r["headers"].get("Authorization") for r in fake.requests()} == {basic}
    else:
        assert [json.loads(r["body"])["password"] for r in fake.logins()] == ["n3w-pa55word"]
    # a password file that became unreadable: the password read before stays
    pw.chmod(0o644)
    hup(m)
    assert "the password read before stays" in m.log()
    assert read(m.p(E, R1, "transform", "state")) == b"success\n"
    assert "n3w-pa55word" not in m.log() and PASSWORD not in m.log()


def test_sighup_reads_the_token_file_again(mount, fake, tmp_path):
    tok = tmp_path / "token"
    m = mount(["ttl=3600", "token_file=" + secret_file(tok, "tok-AAAA")], env=NO_CREDS,
              config={"static_tokens": ["tok-AAAA"]})
    assert read(m.p(*LOAD, "state")) == b"success\n"
    # the same inode, size and time: nothing says that the file changed
    st = os.stat(tok)
    with open(tok, "r+") as f:
        f.write("tok-BBBB\n")
    os.utime(tok, ns=(st.st_atime_ns, st.st_mtime_ns))
    fake.configure(static_tokens=["tok-BBBB"])
    with pytest.raises(PermissionError):
        read(m.p(E, R1, "notify", "state"))
    fake.reset()
    hup(m)
    assert read(m.p(E, R1, "notify", "state")) == b"success\n"
    assert {r["headers"].get("Authorization") for r in fake.requests()} == {
        "Bearer tok-BBBB"}


def notify_socket(tmp_path, abstract):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if abstract:
        name = "airflowfs-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        s.bind("\0" + name)
        return s, "@" + name
    path = str(tmp_path / "notify.sock")
    s.bind(path)
    return s, path


def receive(s, timeout=20):
    """One datagram: (text, sender pid)."""
    s.settimeout(timeout)
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", value[:12])[0]
    return data.decode(), pid


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_on_notify_socket_once_mounted(fake, tmp_path, abstract):
    fresh(fake)
    s, name = notify_socket(tmp_path, abstract)
    path = str(tmp_path / "mnt")
    os.mkdir(path)
    proc = subprocess.Popen([BIN, "-f", fake.url, path], env=creds_env(NOTIFY_SOCKET=name),
                            stderr=subprocess.PIPE)
    try:
        text, pid = receive(s)
        # the mount is there when READY=1 is, and it comes from the main process
        mounted = os.path.ismount(path)
        assert (text, pid, mounted) == ("READY=1", proc.pid, True)
        assert read(os.path.join(path, *LOAD, "state")) == b"success\n"
        subprocess.run(["fusermount3", "-u", path], check=True)
        assert receive(s) == ("STOPPING=1", proc.pid)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)
        proc.wait()
        s.close()
    assert proc.stderr.read() == b""


def test_no_notify_socket_is_fine_and_a_bad_one_is_said(mount):
    m = mount(env=creds_env(NOTIFY_SOCKET="/nonexistent/notify.sock"))
    assert read(m.p(*LOAD, "state")) == b"success\n"
    assert "cannot tell the service manager" in m.log()


def test_verbose_lines_in_the_foreground(mount, fake):
    m = mount(["verbose"])
    read(m.p(*LOAD, "state"))
    line = r"^airflowfs: GET %s 200 \d+ ms$" % re.escape(api.ti_path(fake, E, R1, "load"))
    assert re.search(line, m.log(), re.M), m.log()


# A background daemon's lines go to syslog, i.e. to the datagram socket
# /dev/log. Whether a syslog daemon listens there or not, the test gets them
# in a mount namespace of its own, where /dev/log is the test's socket.
SYSLOG_SCRIPT = PRIVATE_DEV + r"""
touch /dev/log
mount --bind "$T/log.sock" /dev/log
"$BIN" -o verbose "$URL" "$T/mnt"
cat "$T/mnt/$STATE"
umount "$T/mnt"
"""


def test_background_logs_go_to_syslog(fake, tmp_path):
    fresh(fake)
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind(str(tmp_path / "log.sock"))
    os.mkdir(str(tmp_path / "mnt"))
    env = creds_env(T=str(tmp_path), BIN=BIN, URL=fake.url, STATE="/".join(LOAD) + "/state")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        SYSLOG_SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "success\n"
    # stderr until the daemon detaches (the check of the server), syslog then
    assert "GET %s/version 200" % api.base(fake) in r.stderr
    assert "taskInstances" not in r.stderr
    lines = []
    log.settimeout(5)
    want = "GET %s/dags/%s/dagRuns/" % (api.base(fake), E)
    while not any(want in ln for ln in lines):
        lines.append(log.recv(4096).decode())
    # <30>: facility daemon (3 * 8), priority info (6); the tag and the pid
    line = [ln for ln in lines if want in ln][0]
    assert re.match(r"<30>\w{3} [ \d]\d \d\d:\d\d:\d\d airflowfs\[\d+\]: GET "
                    + re.escape(api.base(fake)) + r"/dags/\S+ 200 \d+ ms$", line), line
    assert PASSWORD not in "".join(lines)
