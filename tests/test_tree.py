# SPDX-License-Identifier: Apache-2.0
"""The read side of the tree on a real mount (API v1 and v2): contents,
sizes, times, permissions, errors, and what each access costs in requests."""
import errno
import os
import re
import stat
import subprocess
from datetime import datetime

import pytest

import airflow_api as api

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
TI_FILES = ["info.json", "links.json", "logs", "note", "state"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


RUN_OWN = ["@state", "@note", "@conf.json", "@info.json"]  # first in a run's listing
DAG_OWN = ["@paused", "@info.json"]  # first in a DAG's listing


def ls(path, own):
    """A listing without the own files that lead it (checked here)."""
    names = os.listdir(path)
    assert names[:len(own)] == own
    return names[len(own):]


def api_requests(fake):
    return [(r["method"], r["path"], r["query"]) for r in fake.requests()]


def ts(iso):
    return int(datetime.fromisoformat(iso).timestamp())


def assert_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def test_root_lists_active_dags_and_stats(mount):
    m = mount()
    assert sorted(os.listdir(m.path)) == sorted(
        [".stats", "@by-state", E, "ml_training", "reporting", "fanout", "empty_dag"])
    # an inactive DAG is not listed, yet opens by name
    assert ls(m.p("legacy_import"), DAG_OWN) == ["scheduled__2023-12-01T00:00:00+00:00"]
    assert ls(m.p("empty_dag"), DAG_OWN) == []


def test_runs_newest_first(mount, fake):
    m = mount()
    assert ls(m.p(E), DAG_OWN) == [R3, R2, R1]
    out = subprocess.run(["ls", "-t", m.p(E)], capture_output=True, text=True, check=True)
    assert [n for n in out.stdout.split() if n[0] != "@"] == [R3, R2, R1]
    # ls -t also stats @paused and @info.json: the DAG record
    reqs = [r for r in api_requests(fake) if r[1] != api.base(fake) + "/dags/etl_daily"]
    assert len(reqs) == 1
    method, path, query = reqs[0]
    assert (method, path) == ("GET", api.base(fake) + "/dags/etl_daily/dagRuns")
    assert api.runs_order(fake) in query.split("&")


def test_max_runs_and_runs_opened_by_name(mount, fake):
    m = mount(opts=["max_runs=10"])
    runs = ls(m.p("fanout"), DAG_OWN)
    assert len(runs) == 10
    assert runs[0] == "scheduled__2024-01-02T00:00:00+00:00"
    assert runs[-1] == "scheduled__2023-12-24T00:00:00+00:00"
    (_, _, query), = api_requests(fake)
    assert "limit=10" in query.split("&")
    # a run past max_runs is still there by name
    assert ls(m.p("fanout", "scheduled__2023-09-20T00:00:00+00:00"), RUN_OWN) == ["start"]


def test_all_runs_paged(mount, fake):
    m = mount(opts=["max_runs=0"])
    runs = ls(m.p("fanout"), DAG_OWN)
    assert len(runs) == 105 and len(set(runs)) == 105
    queries = sorted(r[2] for r in api_requests(fake))
    assert len(queries) == 2
    assert any("offset=100" in qq.split("&") for qq in queries)


def test_run_lists_tasks_and_mapped_indexes(mount):
    m = mount()
    assert sorted(ls(m.p(E, R1), RUN_OWN)) == [
        "group.extract", "load", "notify", "process", "transform"]
    assert sorted(os.listdir(m.p(E, R1, "process")), key=int) == ["0", "1", "2", "3", "4"]
    assert sorted(os.listdir(m.p(E, R1, "process", "3"))) == TI_FILES
    assert sorted(os.listdir(m.p(E, R1, "load"))) == TI_FILES
    assert sorted(os.listdir(m.p(E, R1, "group.extract"))) == TI_FILES


def test_mapped_task_pages_by_name(mount, fake):
    m = mount()
    run = "scheduled__2024-01-02T00:00:00+00:00"
    shards = os.listdir(m.p("fanout", run, "shard"))
    assert sorted(shards, key=int) == [str(i) for i in range(150)]
    paths = [r[1] for r in api_requests(fake)]
    base = api.ti_path(fake, "fanout", run, "shard")
    assert paths == [base, base + "/listMapped", base + "/listMapped"]
    assert read(m.p("fanout", run, "shard", "149", "state")) == b"success\n"
    assert len(fake.requests()) == 3


@pytest.mark.parametrize("path,want", [
    ((E, R1, "load"), b"success\n"),
    ((E, R2, "transform"), b"failed\n"),
    ((E, R2, "process"), b"upstream_failed\n"),
    ((E, R2, "notify"), b"skipped\n"),
    ((E, R3, "load"), b"none\n"),
    ((E, R3, "process", "1"), b"running\n"),
    ((E, R3, "process", "2"), b"up_for_retry\n"),
    ((E, R3, "process", "3"), b"queued\n"),
    (("ml_training", R2, "wait_for_data"), b"deferred\n"),
    (("ml_training", R2, "refresh_feature_store"), b"scheduled\n"),
    (("reporting", "scheduled__2024-01-01T06:00:00+00:00", "legacy_export"), b"removed\n"),
])
def test_state(mount, path, want):
    m = mount()
    assert read(m.p(*path, "state")) == want


def test_note(mount):
    m = mount()
    assert read(m.p(E, R2, "transform", "note")) == \
        "relancé ✓ deux fois — toujours en échec, voir DATA-123\n".encode()
    assert read(m.p("ml_training", R1, "evaluate", "note")) == \
        b"AUC 0.911 on holdout\nApproved for release by @maria\n"
    assert read(m.p(E, R3, "process", "0", "note")) == b""   # empty note
    assert read(m.p(E, R1, "load", "note")) == b""           # null note
    assert os.stat(m.p(E, R1, "load", "note")).st_size == 0


def test_links_json(mount, fake):
    m = mount()
    got = read(m.p(E, R1, "load", "links.json"))
    assert got == (b'{\n  "Databricks Job Run": "https://dbc-1234.cloud.databricks.com/'
                   b'#job/42/run/1001",\n  "Runbook": null\n}\n')
    assert got == api.links_json(fake, E, R1, "load")
    assert read(m.p(E, R1, "transform", "links.json")) == api.links_json(
        fake, E, R1, "transform")
    assert read(m.p(E, R1, "process", "2", "links.json")) == api.links_json(
        fake, E, R1, "process", 2)
    out = subprocess.run(["grep", "-rl", "https://", m.p("ml_training", R1)],
                         capture_output=True, text=True)
    assert m.p("ml_training", R1, "publish_model", "links.json") in out.stdout.split("\n")


def test_info_json(mount, fake):
    m = mount()
    for path in [(E, R1, "load"), (E, R2, "transform"), (E, R3, "load"),
                 ("ml_training", R2, "wait_for_data"), ("ml_training", R3, "train_model")]:
        assert read(m.p(*path, "info.json")) == api.info_json(fake, *path)
    assert read(m.p(E, R3, "process", "4", "info.json")) == api.info_json(
        fake, E, R3, "process", 4)
    assert b"\\/" not in read(m.p(E, R1, "load", "info.json"))


def test_logs_of_each_try(mount, fake):
    m = mount()
    logs = m.p(E, R2, "transform", "logs")
    assert sorted(os.listdir(logs)) == ["1", "2", "latest"]
    assert os.readlink(os.path.join(logs, "latest")) == "2"
    one, two = read(os.path.join(logs, "1")), read(os.path.join(logs, "2"))
    assert one != two
    assert one == api.log_text(fake, E, R2, "transform", 1)
    assert two == api.log_text(fake, E, R2, "transform", 2)
    assert read(os.path.join(logs, "latest")) == two
    assert b"Starting attempt 1 of 2" in one and b"Starting attempt 2 of 2" in two
    if fake.api == "v1":   # decoded, not the Python repr
        assert not one.startswith(b"[(") and b"\\n" not in one
    else:                  # rendered, not the JSON records
        assert not one.startswith(b"{") and b'"event"' not in one
    for r in fake.requests():
        if "/logs/" in r["path"]:
            assert r["headers"].get("Accept") == "application/json"


@pytest.mark.parametrize("path,try_number,map_index", [
    (("ml_training", R1, "train_model"), 1, -1),     # tab, non-ASCII, a quote
    (("reporting", "scheduled__2024-01-01T06:00:00+00:00", "build_report"), 1, -1),  # ESC
    ((E, R3, "process"), 2, 4),
])
def test_log_decoding(mount, fake, path, try_number, map_index):
    m = mount()
    sub = (str(map_index),) if map_index >= 0 else ()
    want = api.log_text(fake, *path, try_number, map_index) if map_index < 0 else None
    if map_index >= 0:
        want = api.log_text(fake, *path, 1, map_index)
        try_number = 1
    got = read(m.p(*path, *sub, "logs", str(try_number)))
    assert got == want
    assert os.stat(m.p(*path, *sub, "logs", str(try_number))).st_size == len(want)


def test_task_that_never_ran_has_no_logs(mount):
    m = mount()
    logs = m.p(E, R3, "load", "logs")
    assert os.listdir(logs) == []
    assert_errno(errno.ENOENT, os.lstat, os.path.join(logs, "latest"))
    assert_errno(errno.ENOENT, os.stat, os.path.join(logs, "1"))


def test_sizes_equal_bytes_read(mount):
    m = mount()
    n = 0
    for top in (m.p(E), m.p("ml_training", R1)):
        for dirpath, dirnames, filenames in os.walk(top):
            for name in filenames:
                p = os.path.join(dirpath, name)
                st = os.stat(p)
                assert st.st_size == len(read(p)), p
                n += 1
    assert n > 100


def test_times(mount, fake):
    m = mount()
    assert os.stat(m.p(E, R1)).st_mtime == ts("2024-01-02T00:00:01.512345+00:00") // 1 or \
        int(os.stat(m.p(E, R1)).st_mtime) == ts("2024-01-02T00:00:01.512345+00:00")
    rec = fake.ti(E, R1, "load")
    end = ts(rec["end_date"])
    for p in [(), ("state",), ("note",), ("info.json",), ("links.json",), ("logs",),
              ("logs", "1")]:
        assert int(os.stat(m.p(E, R1, "load", *p)).st_mtime) == end, p
    rec = fake.ti("ml_training", R2, "wait_for_data")   # deferred: no end date yet
    assert rec["end_date"] is None
    assert int(os.stat(m.p("ml_training", R2, "wait_for_data")).st_mtime) == \
        ts(rec["start_date"])


def test_permissions_and_owner(mount):
    m = mount()
    ti = m.p(E, R1, "load")
    modes = {name: stat.S_IMODE(os.lstat(os.path.join(ti, *name.split("/"))).st_mode)
             for name in ["state", "note", "info.json", "links.json", "logs/1"]}
    assert modes == {"state": 0o644, "note": 0o644, "info.json": 0o444,
                     "links.json": 0o444, "logs/1": 0o444}
    assert stat.S_ISDIR(os.stat(ti).st_mode)
    assert stat.S_ISLNK(os.lstat(os.path.join(ti, "logs", "latest")).st_mode)
    for p in [m.path, m.p(E), m.p(E, R1), ti, os.path.join(ti, "state")]:
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


@pytest.mark.parametrize("path", [
    ("no_such_dag",), (E, "no_such_run"), (E, R1, "no_such_task"),
    (E, R1, "load", "no_such_file"), (E, R1, "process", "5"), (E, R1, "process", "03"),
    (E, R1, "process", "-1"), (E, R2, "transform", "logs", "3"),
    (E, R2, "transform", "logs", "0"), ("no_such_dag", R1, "load", "state"),
    (E, "no_such_run", "load", "state"),
])
def test_missing_names_are_enoent(mount, path):
    m = mount()
    assert_errno(errno.ENOENT, os.stat, m.p(*path))
    assert_errno(errno.ENOENT, os.stat, m.p(*path))   # and again, from the caches


def test_cold_cat_of_state_is_one_request(mount, fake):
    m = mount()
    assert read(m.p(E, R1, "load", "state")) == b"success\n"
    assert api_requests(fake) == [("GET", api.ti_path(fake, E, R1, "load"), "")]
    fake.reset()
    assert read(m.p(E, R1, "process", "3", "state")) == b"success\n"
    assert api_requests(fake) == [("GET", api.ti_path(fake, E, R1, "process"), ""),
                                  ("GET", api.ti_path(fake, E, R1, "process", 3), "")]


def test_listing_fills_the_cache(mount, fake):
    m = mount()
    os.listdir(m.p(E, R3))
    # one list request (plus, from opendir's fstat, the run record itself)
    lists = [r for r in api_requests(fake) if r[1].endswith("/taskInstances")]
    assert len(lists) == 1 and len(fake.requests()) <= 2, api_requests(fake)
    fake.reset()
    for task in ls(m.p(E, R3), RUN_OWN):
        ti = m.p(E, R3, task)
        dirs = [os.path.join(ti, i) for i in os.listdir(ti)] if task == "process" else [ti]
        for d in dirs:
            read(os.path.join(d, "state"))
            read(os.path.join(d, "note"))
            read(os.path.join(d, "info.json"))
            os.stat(os.path.join(d, "logs"))
    assert api_requests(fake) == []


def test_ids_are_percent_encoded(mount, fake):
    m = mount()
    run = "manual__re-run #2: 50% + ünïcode"
    assert run in os.listdir(m.p("reporting"))
    assert "manual__2024/01/02" not in os.listdir(m.p("reporting"))
    fake.reset()
    assert read(m.p("reporting", run, "send_email", "state")) == b"success\n"
    (method, path, _), = api_requests(fake)
    assert path == (api.base(fake) + "/dags/reporting/dagRuns/manual__re-run%20%232%3A%2050%25"
                    "%20%2B%20%C3%BCn%C3%AFcode/taskInstances/send_email")
    fake.reset()
    os.listdir(m.p(E, R1))
    assert api_requests(fake)[0][1] == api.base(fake) + \
        "/dags/etl_daily/dagRuns/scheduled__2024-01-01T00%3A00%3A00%2B00%3A00/taskInstances"


def test_grep_r_counts(mount, fake):
    m = mount()
    out = subprocess.run(["grep", "-r", "-c", "ERROR", m.p(E, R2)], capture_output=True,
                         text=True)
    counts = dict(line.rsplit(":", 1) for line in out.stdout.splitlines())
    t1 = api.log_text(fake, E, R2, "transform", 1).count(b"ERROR")
    t2 = api.log_text(fake, E, R2, "transform", 2).count(b"ERROR")
    assert t1 > 0 and t2 > 0
    lines1 = sum(b"ERROR" in ln for ln in api.log_text(fake, E, R2, "transform", 1).split(b"\n"))
    assert int(counts[m.p(E, R2, "transform", "logs", "1")]) == lines1
    assert int(counts[m.p(E, R2, "transform", "note")]) == 0


def test_stats(mount, fake):
    m = mount()
    text = read(m.p(".stats")).decode()
    lines = text.splitlines()
    # the counters, then what a person asks first (README ".stats")
    assert all(re.fullmatch(r"[a-z_]+ \d+", ln) for ln in lines[:-6]), text
    assert [ln.split(" ", 1)[0] for ln in lines[-6:]] == [
        "url", "api", "airflow_version", "uptime_seconds", "last_error", "last_error_time"]
    assert lines[-6:-2] == ["url " + fake.url, "api " + fake.api,
                            "airflow_version " + fake.version, lines[-3]]
    assert re.fullmatch(r"uptime_seconds \d+", lines[-3])
    before = dict(ln.split(" ", 1) for ln in lines)
    read(m.p(E, R1, "load", "state"))
    after = dict(ln.split(" ", 1) for ln in read(m.p(".stats")).decode().splitlines())
    assert int(after["requests"]) == int(before["requests"]) + 1
    assert int(after["requests_task_instance"]) == \
        int(before["requests_task_instance"]) + 1
    for kind in ["dags", "dag", "runs", "run", "task_instances", "mapped", "links", "log",
                 "set_state", "set_note", "cache_hits", "cache_misses", "retries",
                 "errors", "bytes_received"]:
        key = kind if kind.startswith(("cache", "retries", "errors", "bytes")) \
            else "requests_" + kind
        assert key in after, key
    assert os.stat(m.p(".stats")).st_size == len(read(m.p(".stats")))


def test_ttl_expiry_shows_server_changes(mount, fake):
    m = mount(opts=["ttl=1"])
    state = m.p(E, R1, "load", "state")
    assert read(state) == b"success\n"
    fake.update_ti(E, R1, "load", state="failed")
    assert read(state) == b"success\n"      # within the TTL
    import time
    time.sleep(1.3)
    assert read(state) == b"failed\n"
    assert os.stat(state).st_size == 7


def test_server_refusing_gives_eacces(mount, fake):
    m = mount()
    with api.credentials_refused(fake):
        assert_errno(errno.EACCES, os.stat, m.p(E, R1, "load"))
        assert_errno(errno.EACCES, os.listdir, m.p(E))
    assert read(m.p(E, R1, "load", "state")) == b"success\n"
    assert "401" in m.log().replace(fake.url, "")


def test_nothing_but_scratch_files_can_be_created_or_removed(mount, fake):
    m = mount()
    ti = m.p(E, R1, "load")
    # a DAG name is taken on trust as a directory: the kernel may say EEXIST
    with pytest.raises(OSError) as e:
        os.mkdir(m.p("new_dag"))
    assert e.value.errno in (errno.EPERM, errno.EEXIST)
    assert_errno(errno.EPERM, os.mkdir, m.p(E, R1, "new_task"))
    assert_errno(errno.EPERM, os.mkdir, os.path.join(ti, "dir"))
    assert_errno(errno.EPERM, os.open, m.p(E, R1, "file"), os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EPERM, os.open, os.path.join(ti, "logs", "3"),
                 os.O_CREAT | os.O_WRONLY)
    assert_errno(errno.EPERM, os.unlink, os.path.join(ti, "info.json"))
    assert_errno(errno.EPERM, os.unlink, os.path.join(ti, "note"))
    assert_errno(errno.EPERM, os.rmdir, os.path.join(ti, "logs"))
    assert_errno(errno.EPERM, os.rename, os.path.join(ti, "info.json"),
                 os.path.join(ti, "x"))
    assert_errno(errno.EPERM, os.rename, os.path.join(ti, "note"),
                 os.path.join(ti, "state"))
    assert_errno(errno.EPERM, os.symlink, "state", os.path.join(ti, "link"))
    assert_errno(errno.EACCES, os.open, os.path.join(ti, "info.json"), os.O_WRONLY)
    assert_errno(errno.EACCES, os.open, os.path.join(ti, "logs", "1"), os.O_RDWR)
    assert_errno(errno.EACCES, os.truncate, os.path.join(ti, "links.json"), 0)
    assert [r for r in fake.requests() if r["method"] != "GET"] == []


def test_read_only_mount(mount, fake):
    m = mount(opts=["ro"])
    ti = m.p(E, R1, "load")
    assert_errno(errno.EROFS, os.open, os.path.join(ti, "state"), os.O_WRONLY)
    assert_errno(errno.EROFS, os.open, os.path.join(ti, "note"), os.O_WRONLY | os.O_TRUNC)
    assert stat.S_IMODE(os.stat(os.path.join(ti, "state")).st_mode) == 0o444
    assert [r for r in fake.requests() if r["method"] != "GET"] == []


def test_an_id_holding_the_key_separator_is_nothing(mount, fake):
    """The cache joins ids with 0x1f: a name holding it is no object (ENOENT,
    nothing sent), so it can never stand for another object's entry."""
    m = mount()
    for name in ("demo\x1fx", "x\x1fy"):
        with pytest.raises(FileNotFoundError):
            os.stat(m.p(name))
    dag = sorted(os.listdir(m.path))[-1]
    with pytest.raises(FileNotFoundError):
        os.stat(m.p(dag, "r\x1fx"))
    assert [r for r in fake.requests() if "\x1f" in r["path"] or "%1F" in r["path"]] == []
