# SPDX-License-Identifier: Apache-2.0
"""What the kernel keeps and asks (issue 10): a warm read costs no READ or
READDIR round trip where the content cannot have changed, yet what changed
shows within the TTL, a write shows at once, and scratch files come and go
at once. Observed through the server's request log and the daemon's own
counters of kernel requests in .stats (fuse_*), which leave out the
requests about .stats itself. Not timed."""
import os
import subprocess
import time


E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"  # every task instance finished
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"

FUSE = ["fuse_lookup", "fuse_getattr", "fuse_setattr", "fuse_open", "fuse_read",
        "fuse_write", "fuse_flush", "fuse_release", "fuse_opendir", "fuse_readdir",
        "fuse_releasedir", "fuse_readlink", "fuse_open_keep_cache",
        "fuse_opendir_keep_cache", "fuse_inval_attr"]


def stats(m):
    with open(m.p(".stats")) as f:
        lines = (ln.split(" ", 1) for ln in f.read().splitlines())
        return {k: int(v) for k, v in lines if v.isdigit()}  # the counters


def since(before, m):
    after = stats(m)
    return {k: after[k] - before[k] for k in after if k in before}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    # grep -c exits 1 when no file has a match
    assert r.returncode == 0 or (cmd[0] == "grep" and r.returncode == 1), r.stderr
    return r.stdout


def test_stats_name_the_kernel_requests_and_readahead(mount, fake):
    m = mount()
    s = stats(m)
    for name in FUSE + ["readahead_queued", "readahead_done", "readahead_used",
                        "readahead_wasted"]:
        assert name in s
    # reading .stats counts nothing of its own
    assert {k: v for k, v in since(s, m).items() if k.startswith("fuse_")} == \
        {k: 0 for k in FUSE}


def test_a_final_log_read_again_costs_no_request_and_no_read(mount, fake):
    m = mount()
    log = m.p(E, R2, "transform", "logs", "1")
    first = read(log)
    assert first
    fake.reset()
    s = stats(m)
    assert read(log) == first
    d = since(s, m)
    assert fake.requests() == []
    assert d["fuse_open"] == 1 and d["fuse_open_keep_cache"] == 1
    assert d["fuse_read"] == 0


def test_an_unchanged_file_keeps_its_pages_within_the_ttl(mount, fake):
    m = mount()
    ti = m.p(E, R3, "process", "1")
    want = {f: read(os.path.join(ti, f)) for f in ("state", "note", "info.json",
                                                   "links.json")}
    assert want["state"] == b"running\n"
    fake.reset()
    s = stats(m)
    for f, content in want.items():
        assert read(os.path.join(ti, f)) == content
        assert os.stat(os.path.join(ti, f)).st_size == len(content)
    d = since(s, m)
    assert fake.requests() == []
    assert d["fuse_open"] == 4 and d["fuse_open_keep_cache"] == 4
    assert d["fuse_read"] == 0 and d["fuse_flush"] == 0


def test_a_state_changed_on_the_server_shows_within_the_ttl(mount, fake):
    m = mount(opts=["ttl=1"])
    state = m.p(E, R3, "process", "1", "state")
    assert read(state) == b"running\n"
    assert read(state) == b"running\n"          # now in the kernel's pages
    fake.update_ti(E, R3, "process", 1, state="up_for_retry")
    changed_at, deadline = None, time.monotonic() + 3
    while time.monotonic() < deadline:
        got = read(state)
        # never a mix: the old bytes under the new size, or cut short
        assert got in (b"running\n", b"up_for_retry\n")
        if got == b"up_for_retry\n":
            changed_at = time.monotonic()
            break
        time.sleep(0.05)
    assert changed_at is not None, "the new state did not show within 3 s"
    assert os.stat(state).st_size == len(b"up_for_retry\n")
    # and the new content is then kept in turn
    s = stats(m)
    assert read(state) == b"up_for_retry\n"
    assert since(s, m)["fuse_read"] == 0


def test_a_state_refreshed_by_a_listing_shows_at_once_with_its_size(mount, fake):
    # the kernel still holds the old size when a listing brings the new
    # state: the open makes it ask the size again
    m = mount(opts=["ttl=10"])
    state = m.p(E, R3, "process", "1", "state")
    assert read(state) == b"running\n"       # by name: no listing
    assert read(state) == b"running\n"
    fake.update_ti(E, R3, "process", 1, state="up_for_retry")
    os.listdir(m.p(E, R3))                    # the listing: the new record
    s = stats(m)
    assert read(state) == b"up_for_retry\n"
    assert since(s, m)["fuse_inval_attr"] == 1
    assert os.stat(state).st_size == len(b"up_for_retry\n")
    fake.update_ti(E, R3, "process", 1, state="failed")
    os.listdir(m.p(E, R3))                    # within the TTL: not asked again
    assert read(state) == b"up_for_retry\n"


def test_after_a_write_cat_state_shows_it_at_once(mount, fake):
    m = mount()
    state = m.p(E, R3, "process", "1", "state")
    assert read(state) == b"running\n"
    assert read(state) == b"running\n"          # kept by the kernel
    run(["sh", "-c", "echo failed > '%s'" % state])
    assert read(state) == b"failed\n"
    assert os.stat(state).st_size == len(b"failed\n")
    run(["sh", "-c", "echo success > '%s'" % state])
    assert run(["cat", state]) == "success\n"


def test_a_note_saved_shows_at_once_with_its_size(mount, fake):
    m = mount()
    note = m.p(E, R3, "process", "1", "note")
    before = read(note)
    read(note)
    text = b"a much longer note than before, kept " + b"x" * 200 + b"\n"
    with open(note, "wb") as f:
        f.write(text)
    assert read(note) == text
    with open(note, "wb") as f:
        f.write(b"short\n")
    assert read(note) == b"short\n" and before != b"short\n"


def test_a_listing_read_again_comes_from_the_kernel(mount, fake):
    m = mount()
    ti = m.p(E, R1, "transform")
    first = sorted(os.listdir(ti))
    fake.reset()
    s = stats(m)
    assert sorted(os.listdir(ti)) == first
    d = since(s, m)
    assert d["fuse_opendir"] == 1 and d["fuse_opendir_keep_cache"] == 1
    assert d["fuse_readdir"] == 0
    assert fake.requests() == []


def test_scratch_files_show_and_go_at_once(mount, fake):
    m = mount()
    ti = m.p(E, R3, "process", "1")
    base = sorted(os.listdir(ti))
    assert sorted(os.listdir(ti)) == base        # the kernel's copy now
    with open(os.path.join(ti, ".note.swp"), "w") as f:
        f.write("x")
    assert sorted(os.listdir(ti)) == sorted(base + [".note.swp"])
    assert ".note.swp" in run(["ls", "-a", ti]).split()
    os.rename(os.path.join(ti, ".note.swp"), os.path.join(ti, "4913"))
    assert sorted(os.listdir(ti)) == sorted(base + ["4913"])
    os.unlink(os.path.join(ti, "4913"))
    assert sorted(os.listdir(ti)) == base
    assert sorted(os.listdir(ti)) == base


def small_dataset(runs):
    return {"dags": [{"dag_id": "d", "runs": [
        {"dag_run_id": r, "state": "success", "start_date": "2024-01-05T00:00:00+00:00",
         "tis": [{"task_id": t, "state": "success", "try_number": 1} for t in tasks]}
        for r, tasks in runs]}]}


def test_a_new_run_and_task_instance_show_after_the_ttl(mount, fake):
    m = mount(opts=["ttl=1"], data=small_dataset([("r1", ["a"])]))
    assert os.listdir(m.p("d"))[2:] == ["r1"]
    assert os.listdir(m.p("d", "r1"))[4:] == ["a"]
    assert os.listdir(m.p("d", "r1"))[4:] == ["a"]   # the kernel's copy
    fake.set_data(small_dataset([("r2", ["x"]), ("r1", ["a"])]))
    # a new row is stamped updated_at now, as Airflow's are (the run is revalidated by it)
    fake.add_ti("d", "r1", task_id="b", state="success", try_number=1)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        if sorted(os.listdir(m.p("d", "r1"))[4:]) == ["a", "b"]:
            break
        time.sleep(0.1)
    assert sorted(os.listdir(m.p("d", "r1"))[4:]) == ["a", "b"]
    assert sorted(os.listdir(m.p("d"))[2:]) == ["r1", "r2"]
    assert read(m.p("d", "r1", "b", "state")) == b"success\n"


def test_warm_grep_r_asks_no_read_and_no_readdir(mount, fake):
    m = mount()
    run_dir = m.p(E, R1)
    cold = run(["grep", "-r", "-c", "ERROR", "."], cwd=run_dir)
    fake.reset()
    s = stats(m)
    assert run(["grep", "-r", "-c", "ERROR", "."], cwd=run_dir) == cold
    d = since(s, m)
    assert fake.requests() == []
    assert d["fuse_read"] == 0 and d["fuse_readdir"] == 0
    assert d["fuse_flush"] == 0                  # read-only opens: noflush
    # (RELEASE goes out after close returns: it may still be on its way)
    assert d["fuse_open"] == d["fuse_open_keep_cache"] > 0
    assert d["fuse_opendir"] == d["fuse_opendir_keep_cache"] > 0


def test_readahead_counts_what_readers_used(mount, fake):
    m = mount()
    run(["grep", "-r", "-c", "ERROR", "."], cwd=m.p(E, R1))
    s = stats(m)
    assert s["readahead_done"] > 0
    assert 0 < s["readahead_used"] <= s["readahead_done"]
    assert s["readahead_wasted"] == 0


def test_readahead_counts_what_expired_unread_as_wasted(mount, fake):
    tis = ["t%02d" % i for i in range(12)]
    m = mount(opts=["ttl=1"], data=small_dataset([("r1", tis)]))
    run_dir = m.p("d", "r1")
    assert sorted(os.listdir(run_dir)[4:]) == tis
    read(os.path.join(run_dir, "t00", "links.json"))
    read(os.path.join(run_dir, "t01", "links.json"))   # the next: read ahead
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        s = stats(m)
        if s["readahead_queued"] and s["readahead_done"] == s["readahead_queued"]:
            break
        time.sleep(0.05)
    assert s["readahead_queued"] > 0 and s["readahead_used"] == 0
    time.sleep(1.2)                                  # links.json expired unread
    read(os.path.join(run_dir, "t05", "links.json"))
    s = stats(m)
    assert s["readahead_wasted"] >= 1 and s["readahead_used"] == 0
