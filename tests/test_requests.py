# SPDX-License-Identifier: Apache-2.0
"""What common commands cost in requests (SPEC.md "The tree", issue 10):
pinned here so that a regression in request economy fails make check.
Each test runs against API v1 and v2 (conftest.py)."""
import os
import subprocess

import airflow_api as api

E = "etl_daily"
R3 = "manual__2024-01-03T10:15:00+00:00"


def paths(fake):
    return [r["path"] + ("?" + r["query"] if r["query"] else "") for r in fake.requests()]


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_cold_ls_R_of_a_run_sends_list_requests_only(mount, fake):
    m = mount()
    out = run(["ls", "-R", m.p(E, R3)])
    assert "latest" in out and "links.json" in out
    base = api.run_path(fake, E, R3)
    assert base.endswith("/dags/etl_daily/dagRuns/manual__2024-01-03T10%3A15%3A00%2B00%3A00")
    assert sorted(paths(fake)) == [base, base + "/taskInstances?limit=100&offset=0"]


def test_ls_l_of_a_run_costs_no_lookup_request(mount, fake):
    m = mount(opts=["readahead=0"])
    out = run(["ls", "-l", m.p(E, R3)])
    assert len(out.splitlines()) == 10           # total + 4 own files + 5 tasks
    assert len(fake.requests()) <= 2             # the run and its list
    fake.reset()
    run(["ls", "-l", m.p(E, R3, "process")])
    assert fake.requests() == []
    # in a task instance, only links.json's size needs a request of its own
    run(["ls", "-lR", m.p(E, R3, "load")])       # never ran: no logs
    assert paths(fake) == [api.ti_path(fake, E, R3, "load") + "/links"]


def test_find_and_cat_every_state_after_one_listing(mount, fake):
    m = mount()
    out = run(["sh", "-c", "find . -name state | xargs cat"], cwd=m.p(E, R3))
    assert sorted(out.split()) == sorted(
        ["success", "success", "success", "running", "up_for_retry", "queued", "failed",
         "none", "none"])
    lists = [p for p in paths(fake) if "/taskInstances?" in p]
    assert len(lists) == 1 and len(fake.requests()) <= 2


def test_a_missing_name_is_asked_once_within_the_ttl(mount, fake):
    m = mount()
    os.listdir(m.p(E, R3))
    fake.reset()
    for _ in range(3):
        assert not os.path.exists(m.p(E, R3, "no_such_task"))
    assert paths(fake) == [api.ti_path(fake, E, R3, "no_such_task")]


def test_ls_of_root_then_dags_then_runs(mount, fake):
    m = mount()
    run(["ls", "-l", m.path])
    assert [p.split("?")[0] for p in paths(fake)] == [api.base(fake) + "/dags"]
    fake.reset()
    run(["ls", "-lt", m.p(E)])
    # the runs, and the DAG record for the sizes of @paused and @info.json
    assert sorted(p.split("?")[0] for p in paths(fake)) == [
        api.base(fake) + "/dags/etl_daily", api.base(fake) + "/dags/etl_daily/dagRuns"]


def test_many_pages_are_complete_and_each_asked_once(mount, fake):
    m = mount()
    fake.add_dag({"dag_id": "wide", "runs": [{
        "dag_run_id": "manual__wide", "state": "success",
        "start_date": "2024-01-05T00:00:00+00:00",
        "tis": [{"task_id": "t%04d" % i, "state": "success", "try_number": 1}
                for i in range(1234)]}]})
    names = [n for n in os.listdir(m.p("wide", "manual__wide")) if n[0] != "@"]
    assert sorted(names) == ["t%04d" % i for i in range(1234)]
    lists = [p for p in paths(fake) if "/taskInstances?" in p]
    offsets = sorted(int(p.split("offset=")[1]) for p in lists)
    assert offsets == list(range(0, 1234, 100))


def test_grep_r_reads_ahead_and_fetches_each_file_once(mount, fake):
    m = mount()
    out = run(["grep", "-r", "-c", "ERROR", "."], cwd=m.p(E, "scheduled__2024-01-02T00:00:00+00:00"))
    assert "transform/logs/2" in out
    logs = [p for p in paths(fake) if "/logs/" in p]
    links = [p for p in paths(fake) if p.split("?")[0].endswith("/links")]
    assert len(logs) == len(set(logs)) and len(links) == len(set(links))
    stats = dict(ln.split(" ", 1) for ln in open(m.p(".stats")).read().splitlines())
    assert int(stats["readahead_done"]) > 0
    assert int(stats["requests_log"]) == len(logs)
