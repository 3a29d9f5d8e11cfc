# SPDX-License-Identifier: Apache-2.0
"""What a new user trips over (issue 16, items 1-5), on a real mount against v1 and v2:
the times of what never ran, typos of a task instance file's name, notes the server would
refuse, blank lines after a state, and a read right after a save that runs at release."""
import errno
import os
import subprocess
import threading
import time
from datetime import datetime

import pytest

import airflow_api as api
from airflow_api import patches

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
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


def printf_escape(data):
    """data as a printf format (octal escapes for all but plain letters)."""
    return "".join(chr(c) if (c < 128 and chr(c).isalnum()) or c == 32 else "\\%03o" % c for c in data)


@pytest.fixture
def ti(mount):
    m = mount()
    return m, m.p(E, R1, "load")


# --- 1. times ---

R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
R2_START = "2024-01-03T00:00:01+00:00"      # the run record's start_date, in whole seconds
R3_START = "2024-01-03T10:15:02+00:00"
R2_LOGICAL = "2024-01-02T00:00:00+00:00"


def epoch(iso):
    return int(datetime.fromisoformat(iso).timestamp())


def mtimes(d):
    """The mtime of a task instance directory and of each thing in it."""
    paths = [d] + [os.path.join(d, f) for f in TI_FILES]
    return {os.path.relpath(p, d): int(os.lstat(p).st_mtime) for p in paths}


def test_what_never_ran_sorts_with_its_run(mount, fake):
    m = mount()
    run2, run3 = m.p(E, R2), m.p(E, R3)
    started = time.time() - 3600
    # upstream_failed and skipped (R2), never scheduled (R3: state null), queued (R3/process/3)
    for d, start in [(os.path.join(run2, "load"), R2_START),
                     (os.path.join(run2, "notify"), R2_START),
                     (os.path.join(run2, "process"), R2_START),
                     (os.path.join(run3, "load"), R3_START),
                     (os.path.join(run3, "process", "3"), R3_START)]:
        os.listdir(os.path.dirname(d))
        got = mtimes(d)
        assert set(got.values()) == {epoch(start)}, (d, got)
    assert int(os.stat(run2).st_mtime) == epoch(R2_START)
    # ls -t of a run: the tasks that ended last first, those that never ran last
    r = sh("ls -t '%s'" % run2)
    tasks = [n for n in r.stdout.split() if n[0] != "@"]  # the run's own files
    assert tasks == ["transform", "group.extract", "load", "notify", "process"]
    for p in [m.p(), m.p(E), run2, run3]:
        for name in os.listdir(p):
            t = os.lstat(os.path.join(p, name)).st_mtime
            assert t > epoch("2000-01-01T00:00:00+00:00"), (p, name)
            if p != m.p() and name[0] != "@":  # @ files carry their records' times
                assert t < started, (p, name)   # never the mount time below the DAGs


def test_a_mapped_task_carries_its_newest_map_index(mount, fake):
    m = mount()
    run3 = m.p(E, R3)
    names = os.listdir(run3)
    assert "process" in names
    indexes = {i: int(os.stat(os.path.join(run3, "process", i)).st_mtime)
               for i in os.listdir(os.path.join(run3, "process"))}
    assert sorted(indexes) == ["0", "1", "2", "3", "4"]
    assert int(os.stat(os.path.join(run3, "process")).st_mtime) == max(indexes.values())
    # R3's process[4] failed last: ls -t shows process first because of it, and the
    # mapped directory is not dated at the mount time
    assert max(indexes.values()) == indexes["4"] < time.time() - 3600
    assert sh("ls -t '%s'" % run3).stdout.split()[0] == "process"


def test_a_mapped_task_named_cold_carries_its_runs_date(mount, fake):
    m = mount()
    st = os.stat(m.p(E, R3, "process"))
    # known by name only: the task instance (mapped) and the run were asked, nothing listed
    assert int(st.st_mtime) == epoch(R3_START)
    gets = [r["path"] for r in fake.requests()]
    assert gets == [api.ti_path(fake, E, R3, "process"), api.run_path(fake, E, R3)]


def test_a_task_instance_named_cold_carries_its_logical_date(mount, fake):
    m = mount()
    st = os.stat(m.p(E, R2, "load", "state"))
    # one request (the task instance); its record's logical date stands for its run's
    assert [r["path"] for r in fake.requests()] == [api.ti_path(fake, E, R2, "load")]
    assert int(st.st_mtime) == epoch(R2_LOGICAL)
    assert int(os.stat(m.p(E, R2, "load")).st_mtime) == epoch(R2_LOGICAL)


def test_a_run_without_logical_date_uses_run_after(mount, fake):
    # v2: a manual Airflow 3 run has logical_date null (v1 shows run_after in its place)
    m = mount()
    run = "manual__2024-01-02T09:30:00+00:00"
    fake.update_ti("reporting", run, "send_email", state=None, try_number=0,
                   start_date=None, end_date=None)
    rec = api.record(fake, "reporting", run, "send_email")
    if fake.api == "v2":
        assert rec["logical_date"] is None and rec["run_after"] is not None
    st = os.stat(m.p("reporting", run, "send_email", "note"))
    assert int(st.st_mtime) == epoch("2024-01-02T09:30:00+00:00")


def test_a_dag_carries_its_newest_run_once_listed(mount, fake):
    m = mount()
    assert sorted(n for n in os.listdir(m.p(E)) if n[0] != "@") == sorted(["scheduled__2024-01-01T00:00:00+00:00",
                                                 R2, R3])
    assert int(os.stat(m.p(E)).st_mtime) == epoch(R3_START)
    assert int(os.stat(m.p("reporting")).st_mtime) > epoch("2000-01-01T00:00:00+00:00")


# --- 2. a typo that looks like success ---

TYPOS = ["State", "STATE", "Note", "NOTE", "Info.json", "INFO.JSON", "Links.JSON",
         "states", "notes", "Notes"]


@pytest.mark.parametrize("name", TYPOS)
def test_a_typo_of_a_file_name_is_eperm(ti, fake, name):
    m, d = ti
    r = sh("echo failed > '%s/%s'" % (d, name))
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    assert_errno(errno.EPERM, os.open, os.path.join(d, name), os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EPERM, os.mknod, os.path.join(d, name))
    # renaming onto it: a scratch file, and note itself
    tmp = os.path.join(d, "tmpfile")
    write_file(tmp, b"failed\n", os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EPERM, os.rename, tmp, os.path.join(d, name))
    assert_errno(errno.EPERM, os.rename, os.path.join(d, "note"), os.path.join(d, name))
    os.unlink(tmp)
    assert_errno(errno.ENOENT, os.stat, os.path.join(d, name))
    assert sorted(os.listdir(d)) == TI_FILES
    assert patches(fake) == []
    assert fake.ti(E, R1, "load")["state"] == "success"


def test_other_new_names_are_still_scratch_files(ti, fake):
    m, d = ti
    for name in ["note~", ".note.swp", "4913", "states~", "Logs2"]:
        write_file(os.path.join(d, name), b"x", os.O_CREAT | os.O_WRONLY)
        os.unlink(os.path.join(d, name))
    assert patches(fake) == []


# --- 3. a note the server would refuse ---

@pytest.mark.parametrize("written", [b"bad \xff\xfe\n", b"a\x00b\n", b"\xc0\xafx\n",
                                     b"\xed\xa0\x80\n", b"caf\xc3x\n"])
def test_a_note_that_is_not_utf8_or_holds_nul_is_einval(ti, fake, written):
    m, d = ti
    note = os.path.join(d, "note")
    r = sh("printf '%s' > '%s'" % (printf_escape(written), note))
    assert r.returncode != 0 and "Invalid argument" in r.stderr, r
    assert_errno(errno.EINVAL, write_file, note, written)
    # that open file saves nothing afterwards, at flush nor at close
    fd = os.open(note, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"good ")
    with pytest.raises(OSError) as e:
        os.write(fd, written)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.write(fd, b"more\n")
    assert e.value.errno == errno.EINVAL
    os.close(fd)
    assert patches(fake) == []
    assert fake.ti(E, R1, "load")["note"] is None
    assert read(note) == b""


def test_a_utf8_sequence_split_across_two_writes_is_fine(ti, fake):
    m, d = ti
    note = os.path.join(d, "note")
    text = "relancé ✓".encode()
    fd = os.open(note, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, text[:7])          # ends inside é
    os.write(fd, text[7:-2])        # ends inside ✓
    os.write(fd, text[-2:] + b"\n")
    os.close(fd)
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "load", -1, "relancé ✓")]
    assert read(note) == text + b"\n"


def test_a_note_cut_short_inside_a_utf8_sequence_fails_the_save(ti, fake):
    m, d = ti
    note = os.path.join(d, "note")
    fd = os.open(note, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, "café".encode()[:-1])   # the write passes: the next may complete it
    with pytest.raises(OSError) as e:
        os.fsync(fd)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.close(fd)   # nothing more is saved; the close says the save failed
    assert e.value.errno == errno.EINVAL
    # from a shell the failure is that of close, which a shell ignores: it is logged
    r = sh("printf 'caf\\303' > '%s'" % note)
    assert r.returncode == 0, r
    assert patches(fake) == []
    assert fake.ti(E, R1, "load")["note"] is None
    assert m.log().count("saving note of %s/%s/load: Invalid argument" % (E, R1)) == 2


def test_a_scratch_file_renamed_onto_note_is_checked_too(ti, fake):
    m, d = ti
    tmp = os.path.join(d, "sedXYZ")
    write_file(tmp, b"bad \xff\n", os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EINVAL, os.rename, tmp, os.path.join(d, "note"))
    assert os.path.exists(tmp)
    assert patches(fake) == []


# --- 4. blank lines after a state ---

@pytest.mark.parametrize("cmd", ["printf 'failed\\n\\n' > '{}'",
                                 "printf '\\n\\nfailed\\n\\n\\n' > '{}'",
                                 "{{ echo failed; echo; echo; }} > '{}'",
                                 "printf 'failed\\n' > '{0}'; echo > '{0}'"])
def test_blank_lines_around_a_state_are_no_error(ti, fake, cmd):
    m, d = ti
    r = sh(cmd.format(os.path.join(d, "state")))
    assert r.returncode == 0 and r.stderr == "", r
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, "failed")]
    assert read(os.path.join(d, "state")) == b"failed\n"


def test_a_write_of_white_space_alone_sends_nothing(ti, fake):
    m, d = ti
    state = os.path.join(d, "state")
    for written in [b"\n", b"\n\n", b"  \t\r\n", b" "]:
        write_file(state, written)
    fd = os.open(state, os.O_WRONLY)
    os.write(fd, b"\n")
    os.write(fd, b"\n")
    os.fsync(fd)
    os.close(fd)
    assert patches(fake) == []
    assert read(state) == b"success\n"
    # a value, then white space in the same open: the value is sent once
    fd = os.open(state, os.O_WRONLY)
    os.write(fd, b"skipped\n")
    os.write(fd, b"\n")
    os.close(fd)
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "load", -1, "skipped")]


# --- 5. a read waits for a save in flight ---

def test_a_read_waits_for_the_save_at_release(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    note = os.path.join(d, "note")
    assert read(note) == (NOTIFY_NOTE + "\n").encode()
    # the PATCH of the truncation (sent at release, after close returned) is slow
    fake.inject(method="PATCH", delay=1.5)
    r = sh(": > '%s'; cat '%s'" % (note, note))
    assert r.returncode == 0, r
    assert r.stdout == ""
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "notify", -1, "")]
    assert fake.ti(E, R1, "notify")["note"] == ""
    # the same for a text, and for state
    fake.reset()
    fake.inject(method="PATCH", delay=1.5)
    r = sh("echo again > '%s'; cat '%s'" % (note, note))
    assert r.returncode == 0 and r.stdout == "again\n", r
    fake.reset()
    fake.inject(method="PATCH", delay=1.5)
    r = sh("echo skipped > '%s/state'; cat '%s/state'" % (d, d))
    assert r.returncode == 0 and r.stdout == "skipped\n", r
    assert patches(fake) == [api.expected_state_patch(fake, E, R1, "notify", -1, "skipped")]


def test_a_read_waits_for_a_save_of_another_process(mount, fake):
    m = mount()
    d = m.p(E, R1, "notify")
    note = os.path.join(d, "note")
    read(note)
    fake.inject(method="PATCH", delay=1.5)
    fd = os.open(note, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"from python\n")
    # the save runs at this flush (in a thread); a process reading meanwhile waits for it
    closer = threading.Thread(target=os.close, args=(fd,))
    closer.start()
    time.sleep(0.3)     # the fd is out of the table: the fork below does not hold it
    r = sh("cat '%s'" % note)
    assert closer.is_alive() is False
    closer.join()
    assert r.returncode == 0 and r.stdout == "from python\n", r
    assert patches(fake) == [api.expected_note_patch(fake, E, R1, "notify", -1,
                                                     "from python")]
