# SPDX-License-Identifier: Apache-2.0
"""Keeping a listed run fresh at the cost of what changed (SPEC.md "ttl", "relist"), on a
real mount (API v1 and v2): after ttl a listed run is asked only for its task instances
updated since its last listing (updated_at_gte, on the server's clock from its Date
header, less a minute); it is listed whole when a note (note, info.json) is read relist
seconds after its last full listing (a note edited elsewhere moves no updated_at; states
alone never need one), when the server lacks the filter (v1 before 2.6), when most of the
run changed, and after a write to the run. Each test pins the requests one revalidation
costs."""
import os
import subprocess
import time
from urllib.parse import parse_qs

import pytest

from airflow_api import base, q

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
FAN = "fanout"


def list_path(fake, dag, run):
    return "%s/dags/%s/dagRuns/%s/taskInstances" % (base(fake), q(dag), q(run))


def listings(fake, dag=E, run=R1):
    """(full, changed) lists of the run sent so far: changed ones carry updated_at_gte."""
    full, changed = [], []
    for r in fake.requests():
        if r["path"] == list_path(fake, dag, run):
            qs = parse_qs(r["query"])
            (changed if "updated_at_gte" in qs else full).append(qs)
    return full, changed


def others(fake, dag=E, run=R1):
    """The paths of the other requests but the run's own record (its directory's
    times, cached for ttl too)."""
    skip = (list_path(fake, dag, run), list_path(fake, dag, run)[:-len("/taskInstances")])
    return [r["path"] for r in fake.requests() if r["path"] not in skip]


def read(path):
    with open(path) as f:
        return f.read()


def states(m, dag=E, run=R1):
    """Every state of the run, read as a user would (ls, then cat of each)."""
    out = {}
    for task in sorted(os.listdir(m.p(dag, run))):
        if task.startswith("@"):
            continue
        p = m.p(dag, run, task)
        if os.path.exists(os.path.join(p, "state")):
            out[task] = read(os.path.join(p, "state"))
        else:
            for mi in sorted(os.listdir(p), key=int):
                out["%s/%s" % (task, mi)] = read(os.path.join(p, mi, "state"))
    return out


def since(qs):
    return time.mktime(time.strptime(qs["updated_at_gte"][0], "%Y-%m-%dT%H:%M:%SZ")) \
        - time.timezone


def test_nothing_changed_costs_one_request(mount, fake):
    m = mount(["ttl=1"])
    before = states(m)
    assert listings(fake) == ([{"limit": ["100"], "offset": ["0"]}], [])
    fake.reset()
    time.sleep(1.2)
    assert states(m) == before
    full, changed = listings(fake)
    assert full == [] and len(changed) == 1, (full, changed)
    # nothing else: no task instance was asked for on its own
    assert others(fake) == []
    # a minute before the last listing began, on the server's clock
    assert abs(since(changed[0]) - (time.time() - 60)) < 5


def test_a_state_changed_on_the_server_shows(mount, fake):
    m = mount(["ttl=1"])
    assert read(m.p(E, R1, "load", "state")) == "success\n"
    states(m)
    fake.update_ti(E, R1, "load", state="failed")
    fake.reset()
    time.sleep(1.2)
    assert read(m.p(E, R1, "load", "state")) == "failed\n"
    assert len(listings(fake)[1]) == 1 and not listings(fake)[0]
    assert others(fake) == []


def test_a_new_map_index_appears(mount, fake):
    m = mount(["ttl=1"])
    states(m)
    mis = sorted(os.listdir(m.p(E, R1, "process")), key=int)
    n = len(mis)
    fake.add_ti(E, R1, task_id="process", map_index=n, state="running")
    fake.reset()
    time.sleep(1.2)
    assert sorted(os.listdir(m.p(E, R1, "process")), key=int) == mis + [str(n)]
    assert read(m.p(E, R1, "process", str(n), "state")) == "running\n"
    full, changed = listings(fake)
    assert not full and len(changed) == 1


def test_a_note_changed_elsewhere_shows_after_relist(mount, fake):
    m = mount(["ttl=1", "relist=4"])
    states(m)
    assert read(m.p(E, R1, "load", "note")) == ""
    t0 = time.monotonic()
    fake.update_ti(E, R1, "load", note="looked at it")  # updated_at stays
    fake.reset()
    seen = ""
    while seen != "looked at it\n" and time.monotonic() - t0 < 8:
        time.sleep(1.1)
        seen = read(m.p(E, R1, "load", "note"))
    assert seen == "looked at it\n"
    took = time.monotonic() - t0
    assert 3 < took < 6.5, (took, [(r["path"], r["query"]) for r in fake.requests()])
    full, changed = listings(fake)
    assert len(full) == 1 and changed, (full, changed)


def test_states_alone_never_take_a_full_listing(mount, fake):
    """Reading states and walking the run (find: every directory listed with its files'
    attributes) well past relist cost only what changed; the first note read after relist
    lists the run whole, once, and the notes of every task instance are then as the server
    has them (grep -r, info.json)."""
    m = mount(["ttl=1", "relist=2"])
    before = states(m)
    fake.update_ti(E, R1, "load", note="looked at it")  # updated_at stays
    fake.update_ti(E, R1, "transform", note="and this one")
    fake.reset()
    for _ in range(4):
        time.sleep(1.1)
        assert states(m) == before
        subprocess.run(["find", m.p(E, R1), "-name", "note", "-size", "+100k"], check=True)
    full, changed = listings(fake)
    assert not full and len(changed) >= 3, (full, changed)
    fake.reset()
    out = subprocess.run(["grep", "-r", "-l", "--include=note", "-e", "looked", "-e", "and this",
                          m.p(E, R1)], capture_output=True, text=True, check=True).stdout
    assert sorted(out.split()) == [m.p(E, R1, "load", "note"), m.p(E, R1, "transform", "note")]
    assert '"note": "looked at it"' in read(m.p(E, R1, "load", "info.json"))
    full, changed = listings(fake)
    assert len(full) == 1 and not changed, (full, changed)


def fuse_counts(m):
    with open(m.p(".stats")) as f:
        lines = (ln.split(" ", 1) for ln in f.read().splitlines())
        return {k: int(v) for k, v in lines if k.startswith("fuse_")}


def test_what_a_revalidation_confirms_the_kernel_keeps_for_ttl(mount, fake):
    """The task instances a revalidation found unchanged are as good as fetched then:
    the kernel keeps their names and attributes for another ttl, so reading every state
    again right after costs the kernel no more than within the first ttl (a walk longer
    than ttl would otherwise ask the daemon for every name, every time)."""
    m = mount(["ttl=3"])
    before = states(m)

    def again():
        c0 = fuse_counts(m)
        assert states(m) == before
        c1 = fuse_counts(m)
        return {k: c1[k] - c0[k] for k in ("fuse_lookup", "fuse_getattr")}

    kept = again()  # within ttl of the first listing (the DAG's name is on trust)
    time.sleep(3.2)
    assert states(m) == before  # revalidated here: one listing of what changed
    assert len(listings(fake)[1]) == 1
    got = again()
    assert all(got[k] <= kept[k] for k in kept), (kept, got)


def test_the_servers_clock_sets_the_margin(mount, fake):
    """The server's clock is 10 minutes behind: a listing asks from its Date header, so
    a state it stamps is not missed (our clock would ask from the future)."""
    m = mount(["ttl=1"], config={"clock_skew": -600})
    states(m)
    fake.update_ti(E, R1, "transform", state="up_for_retry")
    fake.reset()
    time.sleep(1.2)
    assert read(m.p(E, R1, "transform", "state")) == "up_for_retry\n"
    changed = listings(fake)[1]
    assert len(changed) == 1
    assert abs(since(changed[0]) - (time.time() - 600 - 60)) < 5


def test_many_changes_take_a_full_listing(mount, fake):
    """More changed than half the run (and than a page): the first page of changes says
    so, and the whole run is listed instead."""
    run = "scheduled__2024-01-02T00:00:00+00:00"
    m = mount(["ttl=1"])
    states(m, FAN, run)
    mis = os.listdir(m.p(FAN, run, "shard"))
    assert len(mis) == 150
    for mi in range(120):
        fake.update_ti(FAN, run, "shard", mi, state="failed")
    fake.reset()
    time.sleep(1.2)
    assert read(m.p(FAN, run, "shard", "119", "state")) == "failed\n"
    full, changed = listings(fake, FAN, run)
    assert len(changed) == 1 and changed[0]["limit"] == ["100"]
    assert len(full) == 2  # 151 task instances: two pages


def test_a_write_takes_a_full_listing_next(mount, fake):
    m = mount(["ttl=1"])
    states(m)
    with open(m.p(E, R1, "load", "note"), "w") as f:
        f.write("mine\n")
    fake.reset()
    time.sleep(1.2)
    states(m)
    full, changed = listings(fake)
    assert len(full) == 1 and not changed
    assert read(m.p(E, R1, "load", "note")) == "mine\n"


@pytest.mark.api("v1")  # v2 always has the filter
def test_old_v1_servers_are_listed_whole(mount, fake):
    m = mount(["ttl=1"], config={"version": "2.5.3"})
    states(m)
    fake.reset()
    for _ in range(2):
        time.sleep(1.2)
        states(m)
    full, changed = listings(fake)
    assert len(full) == 2 and not changed
    assert [r for r in fake.requests() if r.get("status") == 400] == []
