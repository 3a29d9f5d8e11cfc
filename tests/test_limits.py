# SPDX-License-Identifier: Apache-2.0
"""What a server cannot make the daemon do (SPEC.md "Limits"), on a real mount (API v1 and
v2), each against a hostile mode of the fake server (tests/fake_airflow.py, FakeAirflow.inject:
stream, gzip, ignore_offset, set_fields, body):

* disk: logs in unnamed files count their real bytes against disk_cache, least recently used
  first out; a log larger than disk_cache fails with EFBIG and a log line, whether the server
  sends it plainly, as an endless stream or as a gzip bomb;
* descriptors: the soft RLIMIT_NOFILE is raised to the hard one, and reading more big logs
  than descriptors allow evicts instead of failing with EMFILE;
* a compressed answer counts its decompressed bytes against its cap;
* counts are not trusted: a try_number of 5,000,000 lists the newest 1000 tries and sends
  nothing; a total_entries of 1,000,000 with pages that never end stops at the call's deadline;
* json-c's expansion of one answer is bounded (2 MB of zeros, of empty objects, of keys).

Memory is checked through the daemon's peak resident size (VmHWM in /proc/PID/status)."""
import errno
import os
import resource
import stat
import subprocess
import time

import pytest

import fake_airflow
from airflow_api import ti_path
from conftest import BAD_LOG, BIN, Mount, creds_env, fresh, wait_mounted

D = "many_logs"
R = "manual__2024-01-05T00:00:00+00:00"
E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
MB = 1 << 20
FAILED = (errno.EIO, errno.ETIMEDOUT)


def logs_dag(n, nbytes, dag_id=D):
    """A DAG of one run with n finished tasks t0..t{n-1}, each with one try whose log is a
    generated one of nbytes bytes."""
    start = fake_airflow.iso(fake_airflow.GEN_BASE)
    return {"dag_id": dag_id, "runs": [{
        "dag_run_id": R, "state": "success", "start_date": start, "end_date": start,
        "tis": [{"task_id": "t%d" % i, "state": "success", "try_number": 1,
                 "start_date": start, "end_date": start,
                 "logs": [{"generate": {"bytes": nbytes, "seed": i}}]}
                for i in range(n)]}]}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def final(text):
    """A final log as the mount shows it: ending with a newline."""
    return text if not text or text.endswith(b"\n") else text + b"\n"


def stats(m):
    out = {}
    for line in read(m.p(".stats")).decode().splitlines():
        name, value = line.split(" ", 1)
        if value.isdigit():  # the counters; not url, api, last_error, ...
            out[name] = int(value)
    return out


def status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    raise KeyError(field)


def log_files(pid):
    """(count, bytes) of the daemon's open files in its airflowfs.XXXXXX directory."""
    n = size = 0
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            st = os.stat(os.path.join(fd_dir, fd))
            if "/airflowfs." in os.readlink(os.path.join(fd_dir, fd)) and \
                    stat.S_ISREG(st.st_mode):
                n += 1
                size += st.st_size
        except FileNotFoundError:
            pass
    return n, size


def log_path(fake, dag, run, task, try_number=1):
    return ti_path(fake, dag, run, task) + "/logs/%d" % try_number


def endless_log(fake, count, unit_bytes=64):
    """A stream fault whose body is a log answer of count lines of unit_bytes bytes (the
    JSON shape of the fake's API version)."""
    if fake.api == "v1":  # content: Python's str() of [(host, text)]
        return {"prefix": '{"content": "[(\'worker-1\', \'',
                "unit": "x" * (unit_bytes - 3) + "\\\\n",
                "count": count, "suffix": '\')]", "continuation_token": null}'}
    return {"prefix": '{"content": [', "unit": '{"event": "%s"},' % ("x" * (unit_bytes - 13)),
            "count": count, "suffix": '{"event": "end"}], "continuation_token": null}'}


def test_disk_cache_counts_real_bytes_lru(mount, fake):
    """Five 3 MB logs with cache_size=1 and disk_cache=8: the files held stay within 8 MiB
    (what .stats says is what the files hold), the oldest go first, and each log reads back
    whole, the evicted one fetched again."""
    m = mount(opts=["cache_size=1", "disk_cache=8", "readahead=0"])
    fake.add_dag(logs_dag(5, 3_000_000))
    for i in range(5):
        want = final(fake.log_text(D, R, "t%d" % i, 1).encode())
        assert read(m.p(D, R, "t%d" % i, "logs", "1")) == want
        st = stats(m)
        files, size = log_files(m.proc.pid)
        assert st["disk_bytes"] <= 8 * MB and size <= 8 * MB, (st, size)
        assert st["disk_bytes"] == size and st["disk_files"] == files, (st, files, size)
    assert st["disk_files"] == 2 and st["disk_bytes"] == sum(
        len(final(fake.log_text(D, R, "t%d" % i, 1).encode())) for i in (3, 4))
    # t0 went first: reading it again fetches it (the kernel may keep its pages, so drop
    # them by asking the daemon through a fresh open with O_DIRECT-free read of .stats)
    fake.reset()
    subprocess.run(["sh", "-c", "echo 1 > /proc/sys/vm/drop_caches"], check=False)
    assert read(m.p(D, R, "t0", "logs", "1")) == final(fake.log_text(D, R, "t0", 1).encode())
    assert stats(m)["disk_bytes"] <= 8 * MB


def test_log_larger_than_disk_cache_is_efbig(mount, fake):
    m = mount(opts=["disk_cache=2"])
    fake.add_dag(logs_dag(2, 3_000_000))
    with pytest.raises(OSError) as e:
        read(m.p(D, R, "t0", "logs", "1"))
    assert e.value.errno == errno.EFBIG
    assert "t0 try 1: larger than disk_cache (disk_cache 2 MB)" in m.log()
    st = stats(m)
    assert st["disk_bytes"] == 0 and st["disk_files"] == 0, st
    assert log_files(m.proc.pid) == (0, 0)
    # the daemon goes on: a log that fits reads
    assert read(m.p(E, R1, "transform", "logs", "1")) == \
        final(fake.log_text(E, R1, "transform", 1).encode())


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_endless_log_stops_at_disk_cache(mount, fake, gzip):
    """A log answer that streams 128 MB (plainly, or as a gzip bomb of about 0.3 MB) costs
    at most disk_cache of disk, fails with EFBIG, and leaves nothing behind."""
    m = mount(opts=["disk_cache=4"])
    hwm0 = status(m.proc.pid, "VmHWM")
    fake.inject(method="GET", path=log_path(fake, E, R1, "transform"),
                stream=endless_log(fake, 2 * MB), gzip=gzip)
    with pytest.raises(OSError) as e:
        read(m.p(E, R1, "transform", "logs", "1"))
    assert e.value.errno == errno.EFBIG
    assert "transform try 1: larger than disk_cache" in m.log()
    st = stats(m)
    assert st["disk_bytes"] == 0 and st["disk_files"] == 0, st
    assert status(m.proc.pid, "VmHWM") - hwm0 < 32 * 1024  # kB
    fake.clear_faults()
    assert read(m.p(E, R1, "transform", "logs", "1")) == \
        final(fake.log_text(E, R1, "transform", 1).encode())


def test_gzip_bomb_record_counts_decompressed_bytes(mount, fake):
    """A task instance record that is 200 MB once decompressed (0.2 MB on the wire) is over
    the cap of one record: EIO, logged, and the daemon's memory does not follow it."""
    m = mount()
    hwm0 = status(m.proc.pid, "VmHWM")
    fake.inject(method="GET", path=ti_path(fake, E, R1, "load"), count=10, gzip=True,
                stream={"prefix": '{"task_id": "load", "pad": "', "unit": "0" * 1024,
                        "count": 200 * 1024, "suffix": '"}'})
    with pytest.raises(OSError) as e:
        read(m.p(E, R1, "load", "state"))
    assert e.value.errno in FAILED
    assert "larger than" in m.log()
    assert status(m.proc.pid, "VmHWM") - hwm0 < 32 * 1024
    fake.clear_faults()
    assert read(m.p(E, R1, "load", "state")) == b"success\n"


JSON_BOMBS = {
    "zeros": lambda: {"pad": [0] * (1 << 20)},                        # 2 MB, 1M values
    "empty_objects": lambda: {"pad": [{}] * 700_000},                 # 2.8 MB
    "keys": lambda: {"pad": {"k%d" % i: 0 for i in range(300_000)}},  # 4 MB
    "nested": lambda: None,                                           # 100,000 deep
}


@pytest.mark.parametrize("kind", sorted(JSON_BOMBS))
def test_json_expansion_is_bounded(mount, fake, kind):
    """A record that json-c would blow up (a 2 MB list of zeros takes 150 MB decoded, 2.8 MB
    of empty objects 550 MB) fails with EIO before it is decoded; peak memory stays low."""
    m = mount()
    hwm0 = status(m.proc.pid, "VmHWM")
    fields = JSON_BOMBS[kind]()
    if fields is None:
        fake.inject(method="GET", path=ti_path(fake, E, R1, "load"), count=10,
                    body='{"task_id": "load", "pad": ' + "[" * 100_000 + "]" * 100_000 + "}")
    else:
        fake.inject(method="GET", path=ti_path(fake, E, R1, "load"), count=10,
                    set_fields=fields)
    with pytest.raises(OSError) as e:
        read(m.p(E, R1, "load", "info.json"))
    assert e.value.errno == errno.EIO
    # refused before json-c sees it; too deep a nesting is json-c's own refusal
    assert ("unexpected answer" if kind == "nested" else "MB to decode (more than 32)") \
        in m.log(), m.log()
    grew = status(m.proc.pid, "VmHWM") - hwm0
    assert grew < 24 * 1024, "peak RSS grew by %d kB" % grew
    fake.clear_faults()
    assert read(m.p(E, R1, "load", "state")) == b"success\n"


def test_huge_try_number_lists_newest_tries(mount, fake):
    """try_number 5,000,000: logs/ lists the newest 1000 tries and latest, sends nothing
    for them, and stays small; latest points at the last one."""
    m = mount()
    hwm0 = status(m.proc.pid, "VmHWM")
    fake.inject(method="GET", path=ti_path(fake, E, R1, "load"), count=1000,
                set_fields={"try_number": 5_000_000})
    t0 = time.monotonic()
    names = os.listdir(m.p(E, R1, "load", "logs"))
    took = time.monotonic() - t0
    assert sorted(names) == sorted([str(k) for k in range(4_999_001, 5_000_001)] + ["latest"])
    assert os.readlink(m.p(E, R1, "load", "logs", "latest")) == "5000000"
    assert not [r for r in fake.requests() if "/logs/" in r["path"]]
    assert took < 5, took
    assert status(m.proc.pid, "VmHWM") - hwm0 < 8 * 1024


def test_endless_pages_stop_at_the_deadline(mount, fake):
    """total_entries 1,000,000 and every page answered as the first: the listing stops at
    the call's deadline with a log line, and no page is asked for after the call ended."""
    m = mount(opts=["timeout=2", "retries=1"])
    list_path = ti_path(fake, E, R1, "x")[:-2]  # .../taskInstances
    fake.inject(method="GET", path=list_path, count=1_000_000, ignore_offset=True,
                set_fields={"total_entries": 1_000_000})
    hwm0 = status(m.proc.pid, "VmHWM")
    t0 = time.monotonic()
    try:
        os.listdir(m.p(E, R1))
        failed = None
    except OSError as e:
        failed = e.errno
    ended = time.monotonic()
    assert ended - t0 < 2 + 1.5, ended - t0
    assert failed in FAILED
    # stopped between two pages, or within the page that the deadline cut
    assert any(s in m.log() for s in ("listing stopped at the deadline", "timed out")), m.log()
    time.sleep(1)
    pages = [r for r in fake.requests() if r["path"] == list_path]
    assert pages and max(r["time"] for r in pages) < ended + 0.2
    # the rows it did send cost memory until the call ended (about 36 MB in 2 s here)
    assert status(m.proc.pid, "VmHWM") - hwm0 < 96 * 1024
    fake.clear_faults()
    assert "load" in os.listdir(m.p(E, R1))


def test_descriptors_stay_below_the_limit(fake, tmp_path):
    """With RLIMIT_NOFILE 64 (soft) and 150 (hard), the daemon raises its soft limit to 150,
    and reading 100 logs of 1.2 MB (each kept in a file of its own) never fails with
    EMFILE: the least recently used files go first."""
    fresh(fake)
    fake.add_dag(logs_dag(100, 1_200_000))
    path = str(tmp_path / "mnt")
    os.makedirs(path)
    log_path_ = path + ".log"
    with open(log_path_, "w") as log:
        proc = subprocess.Popen(
            [BIN, "-f", "-o", "readahead=0", fake.url, path], stdout=log,
            stderr=subprocess.STDOUT, env=creds_env(),
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 150)))
    m = Mount(path, proc, log_path_)
    try:
        wait_mounted(path, proc, log_path_)
        with open("/proc/%d/limits" % proc.pid) as f:
            line = [x for x in f if x.startswith("Max open files")][0]
        assert line.split()[3:5] == ["150", "150"], line
        for i in range(100):
            want = final(fake.log_text(D, R, "t%d" % i, 1).encode())
            assert read(m.p(D, R, "t%d" % i, "logs", "1")) == want, i
            assert len(os.listdir("/proc/%d/fd" % proc.pid)) < 150
        st = stats(m)
        assert 0 < st["disk_files"] <= 75 and st["disk_files"] == log_files(proc.pid)[0], st
    finally:
        rc = m.unmount()
    log = m.log()
    assert "Too many open files" not in log and "EMFILE" not in log, log
    for bad in BAD_LOG:
        assert bad not in log, log
    assert rc == 0, log


def test_endless_pages_are_cut_at_the_listing_cap(mount, fake):
    """The same pages, given time: the listing ends at 64 MiB of answers (or 100,000 items)
    with a log line, and lists what the server really holds (the rows repeated)."""
    m = mount(opts=["timeout=120"])
    list_path = ti_path(fake, E, R1, "x")[:-2]
    fake.inject(method="GET", path=list_path, count=1_000_000, ignore_offset=True,
                set_fields={"total_entries": 1_000_000})
    names = os.listdir(m.p(E, R1))
    assert "load" in names and "transform" in names
    assert "listing cut at" in m.log() and "of the 1000000 the server announced" in m.log()
    pages = [r for r in fake.requests() if r["path"] == list_path]
    # one listing, not three: a cut listing is not fetched again for being short
    # (a page of its 9 task instances is 7-8 KB: 64 MiB are 9,000-9,700 pages)
    assert len(pages) < 64 * MB // 5000, len(pages)
