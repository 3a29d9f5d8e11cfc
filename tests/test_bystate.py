# SPDX-License-Identifier: Apache-2.0
"""@by-state on a real mount (API v1 and v2): the states, the links to each
task instance in a state across DAGs, the one paged list they cost (its exact
query), what it caches, the links' targets, map indexes, expiry within ttl,
revalidation by one listing of what changed shared by every state, and
`-o recent`."""
import datetime
import os
import subprocess
import time
from urllib.parse import parse_qs

import conftest
from airflow_api import base

STATES = ["deferred", "failed", "queued", "removed", "restarting", "running",
          "scheduled", "skipped", "success", "up_for_reschedule", "up_for_retry",
          "upstream_failed"]
# the demo data's task instances are from 2024: look back far enough
ALL = ("recent=100000",)


def sh(cmd):
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)


def bystate_requests(fake):
    return [r for r in fake.requests()
            if r["path"] == base(fake) + "/dags/~/dagRuns/~/taskInstances"]


def tis_in(fake, state):
    """(dag, run, task, map_index) of every task instance in state, from the API."""
    out = []
    for (dag, run), r in fake.app.store.runs.items():
        for t in r["tis"]:
            if t.get("state") == state:
                out.append((dag, run, t["task_id"], t["map_index"]))
    return sorted(out)


def walk_links(root):
    """(dag, run, task, mi) -> link path of every link under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            if os.path.islink(p):
                parts = os.path.relpath(p, root).split("/")
                mi = int(parts[3]) if len(parts) == 4 else -1
                out[(parts[0], parts[1], parts[2], mi)] = p
    return out


def test_lists_the_states_and_root_shows_it(mount, fake):
    m = mount()
    assert sorted(os.listdir(m.p("@by-state"))) == STATES
    names = os.listdir(m.p())
    assert names[:2] == [".stats", "@by-state"]
    assert names.count("@by-state") == 1
    assert not os.path.exists(m.p("@by-state", "nosuchstate"))
    assert oct(os.stat(m.p("@by-state")).st_mode) == "0o40755"
    assert bystate_requests(fake) == []


def test_failed_costs_the_list_pages_only(mount, fake):
    m = mount(ALL)
    want = tis_in(fake, "failed")
    assert len(want) >= 2 and any(k[3] >= 0 for k in want)
    before = time.time()
    out = sh("ls -R %s" % m.p("@by-state", "failed"))
    assert out.returncode == 0, out.stderr
    reqs = fake.requests()
    assert [r["path"] for r in reqs] == [base(fake) + "/dags/~/dagRuns/~/taskInstances"]
    query = parse_qs(reqs[0]["query"])
    assert query["state"] == ["failed"]
    assert query["limit"] == ["100"] and query["offset"] == ["0"]
    since = datetime.datetime.fromisoformat(query["updated_at_gte"][0].replace("Z", "+00:00"))
    expect = before - 100000 * 3600
    assert abs(since.timestamp() - expect) < 180
    links = walk_links(m.p("@by-state", "failed"))
    assert sorted(links) == want
    fake.reset()
    for key, link in links.items():
        with open(os.path.join(link, "state"), "rb") as f:
            assert f.read() == b"failed\n"
    assert fake.requests() == []


def test_links_are_relative_and_resolve(mount, fake):
    m = mount(ALL)
    for dag, run, task, mi in tis_in(fake, "failed"):
        if mi >= 0:
            link = m.p("@by-state", "failed", dag, run, task, str(mi))
            want = "../../../../../%s/%s/%s/%d" % (dag, run, task, mi)
            real = m.p(dag, run, task, str(mi))
            assert os.path.isdir(m.p("@by-state", "failed", dag, run, task))
        else:
            link = m.p("@by-state", "failed", dag, run, task)
            want = "../../../../%s/%s/%s" % (dag, run, task)
            real = m.p(dag, run, task)
        assert os.readlink(link) == want
        st = os.lstat(link)
        assert oct(st.st_mode) == "0o120777" and st.st_size == len(want)
        assert os.path.realpath(link) == os.path.realpath(real)
        out = sh("cat %s/state" % link)
        assert out.stdout == "failed\n", out.stderr
        with open(os.path.join(link, "info.json")) as a, \
                open(os.path.join(real, "info.json")) as b:
            assert a.read() == b.read()


def test_grep_through_links_as_on_the_real_paths(mount, fake):
    m = mount(ALL)
    links = sorted(walk_links(m.p("@by-state", "failed")).items())
    with_logs = [(k, p) for k, p in links if os.path.exists(os.path.join(p, "logs", "latest"))]
    assert with_logs
    got = sh("cd %s && grep -c ERROR */*/*/logs/latest" % m.p("@by-state", "failed"))
    real = []
    for (dag, run, task, mi), _ in with_logs:
        if mi >= 0:
            continue
        path = m.p(dag, run, task, "logs", "latest")
        real.append("%s/%s/%s/logs/latest:%s" % (
            dag, run, task, sh("grep -c ERROR '%s'" % path).stdout.strip()))
    assert got.stdout.splitlines() == real
    assert any(not line.endswith(":0") for line in real)


def test_a_task_that_stops_failing_leaves_within_ttl(mount, fake):
    m = mount(ALL + ("ttl=1",))
    dag, run, task, mi = [k for k in tis_in(fake, "failed") if k[3] < 0][0]
    top = m.p("@by-state", "failed")
    assert (dag, run, task, mi) in walk_links(top)
    fake.update_ti(dag, run, task, mi, state="success")
    time.sleep(1.5)
    assert (dag, run, task, mi) not in walk_links(top)
    assert not os.path.lexists(m.p("@by-state", "failed", dag, run, task))
    assert (dag, run, task, mi) in walk_links(m.p("@by-state", "success"))


def test_recent_leaves_out_older_task_instances(mount, fake):
    m = mount()  # recent=24: the demo data's 2024 task instances are older
    dag, run, task, mi = [k for k in tis_in(fake, "success") if k[3] >= 0][0]
    assert walk_links(m.p("@by-state", "failed")) == {}
    fake.update_ti(dag, run, task, mi, state="failed")  # updated now
    time.sleep(6)  # the default ttl
    assert sorted(walk_links(m.p("@by-state", "failed"))) == [(dag, run, task, mi)]
    link = m.p("@by-state", "failed", dag, run, task, str(mi))
    assert os.readlink(link) == "../../../../../%s/%s/%s/%d" % (dag, run, task, mi)
    with open(os.path.join(link, "state")) as f:
        assert f.read() == "failed\n"
    full = [parse_qs(r["query"]) for r in bystate_requests(fake) if "state=" in r["query"]]
    assert len(full) == 1
    since = datetime.datetime.fromisoformat(full[0]["updated_at_gte"][0].replace("Z", "+00:00"))
    assert abs(since.timestamp() - (time.time() - 24 * 3600)) < 180


def changes(fake):
    """(states listed whole, listings of what changed) of @by-state sent so far."""
    full, changed = [], []
    for r in bystate_requests(fake):
        qs = parse_qs(r["query"])
        if "state" in qs:
            full += qs["state"] if qs["offset"] == ["0"] else []
        else:
            changed.append(qs)
    return sorted(full), changed


def test_every_state_is_revalidated_by_one_listing_of_what_changed(mount, fake):
    """After ttl, `ls -R @by-state` costs one listing across DAGs of what changed since
    (no state filter: it sees a task instance leave a state), shared by every state; a
    task that stops failing moves from failed to success, a new failure shows."""
    m = mount(ALL + ("ttl=1",))
    top = m.p("@by-state")
    assert sh("ls -R %s" % top).returncode == 0
    assert changes(fake) == (STATES, [])
    gone = [k for k in tis_in(fake, "failed") if k[3] < 0][0]
    new = [k for k in tis_in(fake, "success") if k[3] >= 0][0]
    fake.update_ti(*gone, state="success")
    fake.update_ti(*new, state="failed")
    fake.reset()
    before = time.time()
    time.sleep(1.2)
    for _ in range(2):  # the second within ttl: nothing sent
        assert sh("ls -R %s" % top).returncode == 0
    full, changed = changes(fake)
    assert full == [] and len(changed) == 1, (full, changed)
    assert changed[0]["limit"] == ["100"] and changed[0]["offset"] == ["0"]
    since = datetime.datetime.fromisoformat(
        changed[0]["updated_at_gte"][0].replace("Z", "+00:00")).timestamp()
    assert before - 60 - 5 < since < before - 60 + 1, (since, before)
    assert [r["path"] for r in fake.requests()
            if r["path"] != base(fake) + "/dags/~/dagRuns/~/taskInstances"] == []
    failed = walk_links(m.p("@by-state", "failed"))
    assert gone not in failed and new in failed
    assert gone in walk_links(m.p("@by-state", "success"))
    assert new not in walk_links(m.p("@by-state", "success"))
    assert sorted(failed) == tis_in(fake, "failed")


def test_every_relist_a_state_is_listed_whole(mount, fake):
    """The window of recent hours moves with a full listing of each state, at least every
    relist seconds; between them, what changed."""
    m = mount(ALL + ("ttl=1", "relist=3"))
    walk_links(m.p("@by-state", "failed"))
    fake.reset()
    for _ in range(2):
        time.sleep(1.1)
        walk_links(m.p("@by-state", "failed"))
    full, changed = changes(fake)
    assert full == [] and len(changed) == 2
    time.sleep(1.2)
    walk_links(m.p("@by-state", "failed"))
    assert changes(fake)[0] == ["failed"]


def test_recent_option_is_checked_and_documented(tmp_path):
    exe = conftest.BIN  # the binary under test (make asan: the ASan build)
    for bad in ("-1", "876001", "x", ""):
        r = subprocess.run([exe, "-o", "recent=" + bad, "http://127.0.0.1:9", str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert r.stderr == "airflowfs: invalid value recent=%s: a number from 0 to 876000\n" % bad
    r = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=30)
    assert "-o recent=H            hours @by-state/ looks back (default 24)" in r.stdout
