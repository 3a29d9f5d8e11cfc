# SPDX-License-Identifier: Apache-2.0
"""Only the mounting user (and root) changes anything (SPEC, Mounting): on a
real mount with `-o allow_other`, another user (nobody, through setpriv) reads
everything, and every write, create, rename, unlink and attribute change of
state, note and scratch files fails with EACCES, from system calls and from
the shell's tools alike, while the fake server records no request for them.
Without allow_other the kernel keeps every other user out. The mounting user
is root in most tests (they run as root); one mounts as nobody (in a mount
namespace with user_allow_other) and checks that nobody and root change
things there and uid 65533 does not.

Modes agree: directories 0755, state and note 0644, the rest 0444."""
import errno
import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

import airflow_api as api
from conftest import BAD_LOG, BIN, Mount, creds_env, fresh, start_mount, wait_mounted
from private_dev import PRIVATE_DEV

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# Run as nobody: each step of argv[1] (a JSON list of [name, call, args...])
# is done with os calls, and its outcome printed as JSON: "ok" with what it
# returned, or the errno's name.
AS_OTHER = r"""
import errno, json, os, sys

def write(path, flags, data=b"x\n"):
    fd = os.open(path, flags, 0o644)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)

def read(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        out = b""
        while True:
            b = os.read(fd, 65536)
            if not b:
                return out.decode()
            out += b
    finally:
        os.close(fd)

def write_fd(fd):
    return os.write(fd, b"from nobody\n")

calls = dict(write=write, read=read, write_fd=write_fd, listdir=os.listdir,
             truncate=os.truncate, chmod=os.chmod,
             utime=lambda p, t=None: os.utime(p, t and tuple(t)),
             chown=os.chown, rename=os.rename, unlink=os.unlink,
             mkdir=os.mkdir, rmdir=os.rmdir, symlink=os.symlink, link=os.link,
             mkfifo=os.mkfifo, stat=lambda p: os.stat(p).st_size)
out = {}
for name, call, *args in json.loads(sys.argv[1]):
    try:
        out[name] = ["ok", calls[call](*args)]
    except OSError as e:
        out[name] = [errno.errorcode[e.errno]]
print(json.dumps(out))
"""


def as_other(steps, **kw):
    """Does steps as nobody; {name: ["ok", result] or [errno name]}."""
    r = subprocess.run(NOBODY + ["/usr/bin/python3", "-c", AS_OTHER, json.dumps(steps)],
                       capture_output=True, text=True, timeout=120, **kw)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def sh_as_other(cmd):
    return subprocess.run(NOBODY + ["bash", "-c", cmd], capture_output=True, text=True,
                          timeout=120)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def changes(fake):
    """Every recorded request but a GET."""
    return [(r["method"], r["path"]) for r in fake.requests() if r["method"] != "GET"]


@pytest.fixture
def shared(fake):
    """shared(opts) -> Mount, under a 0755 directory of /tmp that nobody can reach
    (pytest's tmp_path is not: its parents are 0700)."""
    top = tempfile.mkdtemp(prefix="airflowfs-owner.", dir="/tmp")
    os.chmod(top, 0o755)
    mounts = []

    def do(opts=("allow_other",)):
        if not mounts:
            fresh(fake)
        path = os.path.join(top, "mnt%d" % len(mounts))
        proc, log_path = start_mount(fake.url, path, opts)
        m = Mount(path, proc, log_path)
        mounts.append(m)
        wait_mounted(path, proc, log_path)
        fake.reset()
        return m

    try:
        yield do
        for m in mounts:
            rc = m.unmount()
            log = m.log()
            for bad in BAD_LOG:
                assert bad not in log, log
            assert rc == 0, "airflowfs exited %s: %s" % (rc, log)
    finally:
        for m in mounts:
            m.unmount()
        shutil.rmtree(top)


def test_another_user_reads_everything(shared, fake):
    m = shared()
    ti = m.p(E, R1, "load")
    got = as_other([
        ["root", "listdir", m.path], ["ti", "listdir", ti],
        ["state", "read", ti + "/state"], ["note", "read", ti + "/note"],
        ["info", "read", ti + "/info.json"], ["log", "read", ti + "/logs/1"],
        ["stats", "stat", m.p(".stats")],
    ])
    assert got["root"][0] == "ok" and sorted(got["root"][1]) == sorted(os.listdir(m.path))
    assert got["ti"][0] == "ok" and sorted(got["ti"][1]) == ["info.json", "links.json", "logs", "note", "state"]
    assert got["state"] == ["ok", "success\n"]
    for name, f in [("note", "note"), ("info", "info.json"), ("log", "logs/1")]:
        assert got[name] == ["ok", read(os.path.join(ti, f)).decode()], name
    assert got["stats"][0] == "ok"
    r = sh_as_other("grep -r '^success$' '%s'" % m.p(E, R1))
    assert r.returncode == 0, r.stderr
    assert "%s/load/state:success\n" % m.p(E, R1) in r.stdout
    r = sh_as_other("ls -l '%s' && cat '%s/state'" % (ti, ti))
    assert r.returncode == 0 and r.stdout.endswith("\nsuccess\n"), r.stderr
    assert changes(fake) == []


def test_another_user_changes_nothing(shared, fake):
    m = shared()
    ti = m.p(E, R1, "load")
    state, note = ti + "/state", ti + "/note"
    before = {f: read(os.path.join(ti, f)) for f in ("state", "note")}
    scratch = ti + "/.note.swp"
    with open(scratch, "wb") as f:          # the owner's scratch file
        f.write(b"draft\n")
    # the lookups the kernel makes first are reads, which anyone may make:
    # these are in the cache before
    assert os.path.exists(ti + "/logs/1") and not os.path.exists(m.p(E, R1, "x"))
    fake.reset()
    W, C, T = os.O_WRONLY, os.O_CREAT, os.O_TRUNC
    steps = []
    for f, path in [("state", state), ("note", note), ("scratch", scratch)]:
        steps += [
            [f + " write trunc", "write", path, W | T],
            [f + " write", "write", path, W],
            [f + " append", "write", path, W | os.O_APPEND],
            [f + " rdwr", "write", path, os.O_RDWR],
            [f + " read trunc", "read", path, os.O_RDONLY | T],
            [f + " truncate", "truncate", path, 0],
            [f + " touch", "utime", path],
            [f + " utime", "utime", path, [1, 2]],
            [f + " chmod", "chmod", path, 0o600],
            [f + " chown", "chown", path, 65534, 65534],
            [f + " rename", "rename", path, ti + "/moved"],
            [f + " unlink", "unlink", path],
        ]
    steps += [
        ["create", "write", ti + "/new", W | C],
        ["create excl", "write", ti + "/new", W | C | os.O_EXCL],
        ["rename onto note", "rename", scratch, note],
        ["mkdir", "mkdir", ti + "/d"], ["rmdir", "rmdir", ti + "/logs"],
        ["symlink", "symlink", "state", ti + "/s"], ["link", "link", state, ti + "/l"],
        ["mkfifo", "mkfifo", ti + "/f"], ["unlink log", "unlink", ti + "/logs/1"],
        ["rename dir", "rename", ti, m.p(E, R1, "x")],
    ]
    got = as_other(steps)
    assert got == {s[0]: ["EACCES"] for s in steps}
    assert fake.requests() == []
    # reads still work, with O_CREAT on a file that is there (no create)
    got = as_other([["state", "read", state, os.O_RDONLY | C],
                    ["scratch", "read", scratch]])
    assert got == {"state": ["ok", "success\n"], "scratch": ["ok", "draft\n"]}
    assert changes(fake) == []
    assert {f: read(os.path.join(ti, f)) for f in ("state", "note")} == before
    assert read(scratch) == b"draft\n"
    assert sorted(os.listdir(ti)) == [".note.swp", "info.json", "links.json", "logs",
                                      "note", "state"]
    assert api.record(fake, E, R1, "load")["state"] == "success"


def test_another_user_fails_with_the_shell_tools(shared, fake):
    m = shared()
    ti = m.p(E, R1, "load")
    before = {f: read(os.path.join(ti, f)) for f in ("state", "note")}
    with open(ti + "/scratch", "wb") as f:
        f.write(b"draft\n")
    fake.reset()
    for cmd in ["echo failed > state", "echo x > note", ": > note", "echo x >> note",
                "truncate -s0 note", "touch note", "touch -d @1 state", "chmod 600 note",
                "sed -i s/o/0/ note", "mv note x", "mv scratch note", "rm scratch",
                "rm -f scratch", "touch newfile", "cp state newfile", "mkdir d",
                "ln -s state s", "tee note < /dev/null"]:
        r = sh_as_other("cd '%s' && %s" % (ti, cmd))
        assert r.returncode != 0 and "Permission denied" in r.stderr, (cmd, r.stderr)
    # a path walk may check a directory with the server (reads, anyone's)
    assert changes(fake) == []
    assert {f: read(os.path.join(ti, f)) for f in ("state", "note")} == before
    assert read(ti + "/scratch") == b"draft\n"
    assert "newfile" not in os.listdir(ti)


def test_a_handle_the_owner_passes_on_writes_nothing_for_another(shared, fake):
    m = shared()
    note = m.p(E, R1, "load", "note")
    before = read(note)
    fd = os.open(note, os.O_WRONLY)
    try:
        got = as_other([["write", "write_fd", fd]], pass_fds=(fd,))
        assert got == {"write": ["EACCES"]}
    finally:
        os.close(fd)
    assert changes(fake) == []
    assert read(note) == before


def test_the_owner_still_writes_under_allow_other(shared, fake):
    m = shared()
    ti = m.p(E, R1, "load")
    with open(ti + "/state", "w") as f:
        f.write("failed\n")
    assert api.patches(fake) == [
        api.expected_state_patch(fake, E, R1, "load", -1, "failed")]
    assert api.record(fake, E, R1, "load")["state"] == "failed"
    with open(ti + "/scratch", "w") as f:
        f.write("x\n")
    os.unlink(ti + "/scratch")
    # and another user sees what the owner did
    assert as_other([["s", "read", ti + "/state"]]) == {"s": ["ok", "failed\n"]}


def test_modes_say_only_the_owner_writes(shared):
    m = shared()
    ti = m.p(E, R1, "load")
    dirs = [m.path, m.p(E), m.p(E, R1), ti, ti + "/logs", m.p(E, R1, "process"),
            m.p(E, R1, "process", "3")]
    for d in dirs:
        st = os.stat(d)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, d
    files = {"state": 0o644, "note": 0o644, "info.json": 0o444, "links.json": 0o444,
             "logs/1": 0o444}
    for f, mode in files.items():
        assert stat.S_IMODE(os.stat(os.path.join(ti, f)).st_mode) == mode, f
    assert stat.S_IMODE(os.stat(m.p(".stats")).st_mode) == 0o444
    for p in dirs + [os.path.join(ti, f) for f in files]:
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), p


def test_without_allow_other_another_user_gets_nothing(shared, fake):
    m = shared(opts=())
    ti = m.p(E, R1, "load")
    got = as_other([["top", "listdir", os.path.dirname(m.path)],
                    ["root", "listdir", m.path], ["state", "read", ti + "/state"],
                    ["write", "write", ti + "/state", os.O_WRONLY | os.O_TRUNC]])
    assert got["top"][0] == "ok"                 # the mount point is reachable
    assert {k: v for k, v in got.items() if k != "top"} == {
        "root": ["EACCES"], "state": ["EACCES"], "write": ["EACCES"]}
    assert fake.requests() == []


# In a mount namespace of its own, with a stock /dev/fuse (0666) and an
# /etc/fuse.conf saying user_allow_other: nobody mounts with allow_other,
# and uid 65533, nobody and root each try a write.
USER_MOUNT = PRIVATE_DEV + r"""
umount /dev/fuse && rm /dev/fuse
mknod -m 666 /dev/fuse c 10 229
printf 'user_allow_other\n' > "$T/fuse.conf"
mount --bind "$T/fuse.conf" /etc/fuse.conf
as() { u=$1; shift; setpriv --reuid=$u --regid=$u --clear-groups "$@"; }
as 65534 "$BIN" -f -o allow_other "$URL" "$T/mnt" > "$T/log" 2>&1 &
pid=$!
i=0
until grep -q " $T/mnt " /proc/self/mounts; do
	i=$((i + 1)); [ $i -lt 600 ] || { cat "$T/log"; exit 1; }
	kill -0 $pid || { cat "$T/log"; exit 1; }
	sleep 0.05
done
D="$T/mnt/$TI"
try() { who=$1; shift; if out=$("$@" 2>&1); then echo "$who ok"; else echo "$who $out"; fi; }
try other-read as 65533 cat "$D/state"
try other-write as 65533 sh -c "echo failed > '$D/state'"
try other-note as 65533 sh -c ": > '$D/note'"
try owner-write as 65534 sh -c "echo owner-note > '$D/note'"
try root-write sh -c "echo skipped > '$D/state'"
try owner-read as 65534 cat "$D/state" "$D/note"
as 65534 fusermount3 -u "$T/mnt"
wait $pid
"""


def test_a_mount_by_another_user_is_changed_by_that_user_and_root(fake):
    fresh(fake)
    t = tempfile.mkdtemp(prefix="airflowfs-owner.", dir="/tmp")
    try:
        os.chmod(t, 0o755)
        os.mkdir(os.path.join(t, "mnt"))
        os.chown(os.path.join(t, "mnt"), 65534, 65534)
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            USER_MOUNT], capture_output=True, text=True, timeout=120,
                           env=creds_env(T=t, BIN=BIN, URL=fake.url,
                                         TI="%s/%s/load" % (E, R1)))
        assert r.returncode == 0, r.stdout + r.stderr
        log = open(os.path.join(t, "log"), errors="replace").read()
    finally:
        shutil.rmtree(t)
    for bad in BAD_LOG:
        assert bad not in log, log
    lines = r.stdout.splitlines()
    assert lines[0] == "other-read ok", r.stdout
    assert lines[1].startswith("other-write ") and "Permission denied" in lines[1]
    assert lines[2].startswith("other-note ") and "Permission denied" in lines[2]
    assert lines[3:] == ["owner-write ok", "root-write ok", "owner-read ok"], r.stdout
    assert api.patches(fake)[-2:] == [
        api.expected_note_patch(fake, E, R1, "load", -1, "owner-note"),
        api.expected_state_patch(fake, E, R1, "load", -1, "skipped")]
    assert [p for p in api.patches(fake) if p[0] != "POST"] == api.patches(fake)[-2:]
    assert api.record(fake, E, R1, "load")["state"] == "skipped"
