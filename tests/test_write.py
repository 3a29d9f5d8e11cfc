# SPDX-License-Identifier: Apache-2.0
"""Writing state and note on a real mount (API v1 and v2): from the shell,
from editors, through scratch files and renames; exact PATCH requests (their
shape per version in airflow_api.py), the server's value afterwards, and the
errors of bad input and refusals."""
import errno
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import airflow_api as api
from airflow_api import patches, ti_path

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
TI_FILES = ["info.json", "links.json", "logs", "note", "state"]
NOTIFY_NOTE = "Checked by ops: numbers match the finance report."


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sh(cmd, **kw):
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, **kw)


def assert_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def write_file(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.fixture
def ti(mount):
    m = mount()
    return m, m.p(E, R1, "load")


# --- state ---

def test_echo_sets_state_in_one_patch(ti, fake):
    m, d = ti
    r = sh("echo failed > '%s/state'" % d)
    assert r.returncode == 0, r.stderr
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, "failed")]
    body = [x["body"] for x in fake.requests() if x["method"] == "PATCH"][0]
    assert body == api.state_body_text(fake, "failed")
    assert body in ('{"dry_run": false, "new_state": "failed"}', '{"new_state": "failed"}')
    assert fake.ti(E, R1, "load")["state"] == "failed"
    assert read(os.path.join(d, "state")) == b"failed\n"
    assert os.stat(os.path.join(d, "state")).st_size == 7
    assert json.loads(read(os.path.join(d, "info.json")))["state"] == "failed"


@pytest.mark.parametrize("written,state", [
    (b"  SKIPPED \t\n", "skipped"), (b"Failed", "failed"), (b"success\r\n", "success"),
    (b"\nfailed\n", "failed"),
])
def test_state_case_and_white_space(ti, fake, written, state):
    m, d = ti
    write_file(os.path.join(d, "state"), written)
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, state)]
    assert fake.ti(E, R1, "load")["state"] == state


@pytest.mark.parametrize("written", [b"running\n", b"none\n", b"fail\n", b"failed failed\n",
                                     b"x" * 300])
def test_bad_state_is_einval_and_sends_nothing(ti, fake, written):
    m, d = ti
    r = sh("printf '%%s' '%s' > '%s/state'" % (written.decode(), d))
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert_errno(errno.EINVAL, write_file, os.path.join(d, "state"), written)
    assert patches(fake) == []
    assert fake.ti(E, R1, "load")["state"] == "success"
    assert read(os.path.join(d, "state")) == b"success\n"


@pytest.mark.parametrize("written,shown", [
    (b"running\n", '"running"'), (b"r\x1bunning", '"r\\x1bunning"'),
    (b'fa"il\\ed\n', '"fa\\x22il\\x5ced"'),
])
def test_a_refused_state_is_logged_with_the_value_and_the_accepted_ones(ti, fake, written,
                                                                       shown):
    m, d = ti
    at = len(m.log())
    assert_errno(errno.EINVAL, write_file, os.path.join(d, "state"), written)
    new = m.log()[at:]
    line = [ln for ln in new.splitlines() if "is not accepted" in ln]
    assert line, new
    assert "state of %s/%s/load: %s is not accepted (success, failed or skipped)" % (
        E, R1, shown) in line[0], line[0]
    assert "\x1b" not in new
    assert patches(fake) == []


def test_append_and_truncate_do_the_same(ti, fake):
    m, d = ti
    assert sh("echo skipped >> '%s/state'" % d).returncode == 0
    assert fake.ti(E, R1, "load")["state"] == "skipped"
    assert sh(": > '%s/state'; : >> '%s/state'" % (d, d)).returncode == 0
    fd = os.open(os.path.join(d, "state"), os.O_WRONLY)
    os.close(fd)
    assert len(patches(fake)) == 1   # opening and closing sends nothing


def test_state_without_newline_is_saved_at_close(ti, fake):
    m, d = ti
    fd = os.open(os.path.join(d, "state"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"fai")
    os.write(fd, b"led")
    assert patches(fake) == []
    os.close(fd)
    assert len(patches(fake)) == 1
    assert fake.ti(E, R1, "load")["state"] == "failed"


def test_setting_the_same_state_succeeds(ti, fake):
    m, d = ti
    assert sh("echo success > '%s/state'" % d).returncode == 0
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, "success")]
    # v2 answers 409 "Task id load is already in success state"
    assert [r["status"] for r in fake.requests() if r["method"] == "PATCH"] == \
        [200 if fake.api == "v1" else 409]
    assert read(os.path.join(d, "state")) == b"success\n"


def test_mapped_state_uses_map_index_path(mount, fake):
    m = mount()
    assert sh("echo failed > '%s'" % m.p(E, R3, "process", "2", "state")).returncode == 0
    # (v2 patches every map index when the path has none)
    assert patches(fake) == [api.expected_state_patch(fake, E, R3, "process", 2, "failed")]
    assert fake.ti(E, R3, "process", 2)["state"] == "failed"
    for i, state in [(0, "success"), (1, "running"), (3, "queued"), (4, "failed")]:
        assert fake.ti(E, R3, "process", i)["state"] == state
    assert read(m.p(E, R3, "process", "2", "state")) == b"failed\n"


def test_refused_write_fails_and_keeps_the_value(ti, fake):
    m, d = ti
    read(os.path.join(d, "state"))
    with api.credentials_refused(fake):
        r = sh("echo failed > '%s/state'" % d)
        assert r.returncode != 0 and "Permission denied" in r.stderr
        assert_errno(errno.EACCES, write_file, os.path.join(d, "note"), b"x\n")
        # v2: one login attempt after each refused PATCH, never a loop
        assert len(fake.logins()) <= 2
    assert fake.ti(E, R1, "load")["state"] == "success"
    assert fake.ti(E, R1, "load")["note"] is None
    assert read(os.path.join(d, "state")) == b"success\n"
    log = m.log().replace(fake.url, "")
    # logged once: the PATCH line (method, path, status), no "saving state" line
    assert any("PATCH " + ti_path(fake, E, R1, "load") in l and ": 401" in l
               for l in log.splitlines()), log
    assert "saving state" not in log


def test_write_to_a_vanished_task_instance_is_enoent(ti, fake):
    m, d = ti
    read(os.path.join(d, "state"))
    data = fake.data()
    run = [r for r in data["dags"][0]["runs"] if r["dag_run_id"] == R1][0]
    run["tis"] = [t for t in run["tis"] if t["task_id"] != "load"]
    fake.set_data(data)
    assert_errno(errno.ENOENT, write_file, os.path.join(d, "state"), b"failed\n")


def test_read_only_mount_sends_nothing(mount, fake):
    m = mount(opts=["ro"])
    d = m.p(E, R1, "load")
    assert_errno(errno.EROFS, write_file, os.path.join(d, "state"), b"failed\n")
    assert_errno(errno.EROFS, write_file, os.path.join(d, "note"), b"x\n")
    assert_errno(errno.EROFS, os.open, os.path.join(d, "scratch"),
                 os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EROFS, os.truncate, os.path.join(d, "note"), 0)
    assert patches(fake) == []


# --- note ---

def test_note_echo_and_cat(ti, fake):
    m, d = ti
    assert sh("echo 'relancé ✓ \"quoted\" / back\\slash' > '%s/note'" % d).returncode == 0
    text = 'relancé ✓ "quoted" / back\\slash'
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "load", -1, text)]
    assert fake.ti(E, R1, "load")["note"] == text
    assert read(os.path.join(d, "note")) == (text + "\n").encode()
    assert len([r for r in fake.requests() if r["method"] == "GET"]) <= 1


def test_note_round_trips_byte_for_byte(mount, fake):
    m = mount()
    d = m.p("ml_training", R1, "evaluate")
    before = read(os.path.join(d, "note"))
    assert sh("cat '%s/note' > /tmp/afs-note && cat /tmp/afs-note > '%s/note'"
              % (d, d)).returncode == 0
    assert patches(fake) == [api.expected_note_patch(
        fake, "ml_training", R1, "evaluate", -1,
        "AUC 0.911 on holdout\nApproved for release by @maria")]
    assert read(os.path.join(d, "note")) == before


def test_note_clear_and_append(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    assert sh(": > '%s/note'" % d).returncode == 0
    # a truncation alone is saved at release, which the kernel sends after close
    assert wait_for(lambda: read(os.path.join(d, "note")) == b"")
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "notify", -1, "")]
    assert fake.ti(E, R1, "notify")["note"] == ""
    fake.reset()
    assert sh("echo one >> '%s/note' && echo two >> '%s/note'" % (d, d)).returncode == 0
    assert [p[2] for p in patches(fake)] == [{"note": "one"}, {"note": "one\ntwo"}]
    assert read(os.path.join(d, "note")) == b"one\ntwo\n"


def test_note_truncate_by_name(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    os.truncate(os.path.join(d, "note"), 7)
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "notify", -1,
                                                     NOTIFY_NOTE[:7])]


def test_overlong_note_is_efbig_and_sends_nothing(ti, fake):
    m, d = ti
    r = sh("head -c 1001 /dev/zero | tr '\\0' a > '%s/note'" % d)
    assert r.returncode != 0 and "File too large" in r.stderr
    assert_errno(errno.EFBIG, write_file, os.path.join(d, "note"), b"b" * 1001 + b"\n")
    fd = os.open(os.path.join(d, "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, "é".encode() * 600)
    with pytest.raises(OSError) as e:
        os.write(fd, "é".encode() * 401)
    assert e.value.errno == errno.EFBIG
    os.close(fd)   # that open file saves nothing
    assert patches(fake) == []
    assert fake.ti(E, R1, "load")["note"] is None
    # 1000 characters (2000 bytes) and a newline are fine
    write_file(os.path.join(d, "note"), "é".encode() * 1000 + b"\n")
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "load", -1, "é" * 1000)]


def test_fsync_then_close_is_one_patch(ti, fake):
    m, d = ti
    fd = os.open(os.path.join(d, "note"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"synced\n")
    os.fsync(fd)
    assert len(patches(fake)) == 1
    os.fsync(fd)
    os.close(fd)
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "load", -1, "synced")]


# --- scratch files and editors ---

def test_scratch_files_live_in_memory(ti, fake):
    m, d = ti
    p = os.path.join(d, ".note.swp")
    write_file(p, b"swap data", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    assert read(p) == b"swap data"
    assert sorted(os.listdir(d)) == sorted(TI_FILES + [".note.swp"])
    os.chmod(p, 0o600)
    assert os.stat(p).st_mode & 0o777 == 0o600
    os.rename(p, os.path.join(d, "4913"))
    assert read(os.path.join(d, "4913")) == b"swap data"
    assert_errno(errno.ENOENT, os.stat, p)
    os.truncate(os.path.join(d, "4913"), 4)
    assert read(os.path.join(d, "4913")) == b"swap"
    os.unlink(os.path.join(d, "4913"))
    assert sorted(os.listdir(d)) == TI_FILES
    assert_errno(errno.EEXIST, os.open, os.path.join(d, "note"),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    assert fake.requests() == [] or all(r["method"] == "GET" for r in fake.requests())
    assert patches(fake) == []


def test_rename_of_scratch_onto_state_checks_the_value(ti, fake):
    m, d = ti
    tmp = os.path.join(d, "tmpstate")
    write_file(tmp, b"running\n", os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EINVAL, os.rename, tmp, os.path.join(d, "state"))
    assert os.path.exists(tmp)
    write_file(tmp, b"skipped\n", os.O_WRONLY | os.O_TRUNC)
    os.rename(tmp, os.path.join(d, "state"))
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, "skipped")]
    assert read(os.path.join(d, "state")) == b"skipped\n"
    assert sorted(os.listdir(d)) == TI_FILES


def test_rename_of_an_overlong_scratch_onto_note_is_efbig(ti, fake):
    m, d = ti
    tmp = os.path.join(d, "big")
    write_file(tmp, b"z" * 1001, os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EFBIG, os.rename, tmp, os.path.join(d, "note"))
    assert patches(fake) == []


def check_one_note_patch(fake, d, task, text):
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, task, -1, text)]
    assert fake.ti(E, R1, task)["note"] == text
    assert read(os.path.join(d, "note")) == (text + "\n").encode()


@pytest.mark.parametrize("cmd,old,new", [
    (["sed", "-i", "s/ops/OPS/"], "ops", "OPS"),
    (["perl", "-pi", "-e", "s/finance/FINANCE/"], "finance", "FINANCE"),
])
def test_in_place_editing_tools(mount, fake, cmd, old, new):
    m = mount()
    d = m.p(E, R1, "notify")
    r = subprocess.run(cmd + [os.path.join(d, "note")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""
    check_one_note_patch(fake, d, "notify", NOTIFY_NOTE.replace(old, new))
    assert sorted(os.listdir(d)) == TI_FILES


def test_python_atomic_replace(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    with tempfile.NamedTemporaryFile("w", dir=d, delete=False) as f:
        f.write("written by python\n")
    assert os.path.basename(f.name) in os.listdir(d)
    os.replace(f.name, os.path.join(d, "note"))
    check_one_note_patch(fake, d, "notify", "written by python")
    assert sorted(os.listdir(d)) == TI_FILES


def test_backup_by_rename(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    note, backup = os.path.join(d, "note"), os.path.join(d, "note~")
    assert sh("mv '%s' '%s'" % (note, backup)).returncode == 0
    assert read(backup) == (NOTIFY_NOTE + "\n").encode()
    assert read(note) == (NOTIFY_NOTE + "\n").encode()   # note stays
    assert patches(fake) == []
    write_file(note, b"new text\n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    check_one_note_patch(fake, d, "notify", "new text")
    assert read(backup) == (NOTIFY_NOTE + "\n").encode()
    assert sorted(os.listdir(d)) == sorted(TI_FILES + ["note~"])


@pytest.mark.parametrize("vimrc", ["-u NONE", "defaults"])
def test_vim(mount, fake, tmp_path, vimrc):
    m = mount()
    d = m.p(E, R1, "notify")
    env = dict(os.environ, HOME=str(tmp_path))
    args = ["vim", "-Es"] + (["-u", "NONE"] if vimrc == "-u NONE" else []) + \
        ["-c", "%s/ops/vim/", "-c", "wq", os.path.join(d, "note")]
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r
    check_one_note_patch(fake, d, "notify", NOTIFY_NOTE.replace("ops", "vim"))
    assert sorted(os.listdir(d)) == TI_FILES
    fake.reset()
    args = args[:args.index("-c")] + ["-c", "normal! Gonext line", "-c", "wq",
                                      os.path.join(d, "note")]
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r
    check_one_note_patch(fake, d, "notify",
                         NOTIFY_NOTE.replace("ops", "vim") + "\nnext line")


def tmux(*args):
    return subprocess.run(["tmux", "-L", "afs-test"] + list(args), capture_output=True,
                          text=True)


def wait_for(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_nano(mount, fake, tmp_path):
    assert shutil.which("nano") and shutil.which("tmux")
    m = mount()
    d = m.p(E, R1, "notify")
    tmux("kill-session", "-t", "nano")
    r = tmux("new-session", "-d", "-s", "nano", "-x", "120", "-y", "30",
             "env HOME=%s nano '%s'" % (tmp_path, os.path.join(d, "note")))
    assert r.returncode == 0, r.stderr
    try:
        assert wait_for(lambda: "Checked by ops" in tmux("capture-pane", "-p", "-t",
                                                          "nano").stdout)
        tmux("send-keys", "-t", "nano", "End", " (nano)", "C-o")
        assert wait_for(lambda: "File Name to Write" in tmux("capture-pane", "-p", "-t",
                                                             "nano").stdout)
        tmux("send-keys", "-t", "nano", "Enter")
        assert wait_for(lambda: patches(fake) != [])
        tmux("send-keys", "-t", "nano", "C-x")
        assert wait_for(lambda: tmux("has-session", "-t", "nano").returncode != 0)
    finally:
        tmux("kill-session", "-t", "nano")
    check_one_note_patch(fake, d, "notify", NOTIFY_NOTE + " (nano)")
    assert sorted(os.listdir(d)) == TI_FILES


# --- refusals and races ---

@pytest.mark.parametrize("status,code", [(400, errno.EINVAL), (422, errno.EINVAL),
                                         (401, errno.EACCES), (403, errno.EACCES),
                                         (404, errno.ENOENT), (500, errno.EIO)])
def test_refusals_map_to_errno_and_are_logged(ti, fake, status, code):
    m, d = ti
    # v2: a 401 or 403 is answered by one new login and one retry, then it is final
    renews = fake.api == "v2" and status in (401, 403)
    fake.inject(method="PATCH", status=status, count=2 if renews else 1,
                body=api.error_body(fake, status, "refused by the test"))
    assert_errno(code, write_file, os.path.join(d, "state"), b"failed\n")
    sent = [(r["method"], r["status"]) for r in fake.requests() if r["method"] != "GET"]
    assert sent == ([("PATCH", status), ("POST", 201), ("PATCH", status)] if renews
                    else [("PATCH", status)])   # a 500 on a write is not retried
    assert fake.ti(E, R1, "load")["state"] == "success"
    assert read(os.path.join(d, "state")) == b"success\n"
    assert "refused by the test" in m.log()


def test_unavailable_server_is_retried_then_eio(mount, fake):
    m = mount(opts=["retries=2"])
    d = m.p(E, R1, "load")
    fake.inject(method="PATCH", status=503, count=3)
    assert_errno(errno.EIO, write_file, os.path.join(d, "note"), b"x\n")
    assert len(patches(fake)) == 3
    fake.reset()
    fake.inject(method="PATCH", status=503, count=1)
    write_file(os.path.join(d, "note"), b"x\n")
    assert len(patches(fake)) == 2
    assert fake.ti(E, R1, "load")["note"] == "x"


@pytest.mark.parametrize("name", ["note", "state"])
def test_a_failed_save_is_said_at_every_close(mount, fake, name):
    """A copy of the descriptor closed first (a child that another thread forked while
    the file was open, closing it at its exec) takes the save and its failure: the
    owner's own close must still fail, and nothing is sent again."""
    m = mount()
    fd = os.open(m.p(E, R1, "load", name), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"failed" if name == "state" else b"lost?\n")  # state: saved at close
    copy = os.dup(fd)
    fake.inject(method="PATCH", status=500, count=1)
    assert_errno(errno.EIO, os.close, copy)
    assert_errno(errno.EIO, os.close, fd)
    assert len(patches(fake)) == 1
    assert fake.ti(E, R1, "load")["note" if name == "note" else "state"] == \
        (None if name == "note" else "success")


def test_a_fetch_begun_before_a_write_does_not_bring_the_old_value_back(mount, fake):
    import threading
    m = mount(opts=["ttl=1"])
    state = m.p(E, R1, "load", "state")
    fd = os.open(state, os.O_WRONLY)     # the names are looked up now
    time.sleep(1.2)                      # and everything cached has expired
    # a GET of the task instance answered at once (success), then held back
    fake.inject(method="GET", path=ti_path(fake, E, R1, "load"), delay=1.0)
    got = []
    slow = threading.Thread(target=lambda: got.append(read(state)))
    slow.start()
    time.sleep(0.3)
    os.write(fd, b"failed\n")           # saved while that GET is out
    os.close(fd)
    slow.join()
    assert len(got) == 1
    # what that GET read before the write is not what the cache keeps
    assert read(state) == b"failed\n"
    assert fake.ti(E, R1, "load")["state"] == "failed"
