# SPDX-License-Identifier: Apache-2.0
"""The on-call files on a real mount (API v1 and v2): a run's @state, @note,
@conf.json, @info.json, a DAG's @paused and @info.json, and `echo clear >
state`; exact requests and bodies, errno of refusals, -o ro."""
import errno
import json
import os
import subprocess

import pytest

from airflow_api import base, q, run_path, ti_path

E = "etl_daily"
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sh(cmd):
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)


def writes(fake):
    return [(r["method"], r["path"] + ("?" + r["query"] if r["query"] else ""),
             json.loads(r["body"]) if r["body"] else None)
            for r in fake.requests() if r["method"] != "GET"]


def gets(fake):
    return [r["path"] for r in fake.requests() if r["method"] == "GET"]


def test_run_files_read_cold_with_one_request(mount, fake):
    m = mount()
    fake.reset()
    assert read(m.p(E, R2, "@state")) == b"failed\n"
    assert gets(fake) == [run_path(fake, E, R2)]
    info = json.loads(read(m.p(E, R2, "@info.json")))
    assert info["dag_run_id"] == R2 and info["state"] == "failed"
    assert json.loads(read(m.p(E, R2, "@conf.json"))) == {}
    assert read(m.p(E, R2, "@note")) == b""
    assert len(gets(fake)) == 1
    names = os.listdir(m.p(E, R2))
    assert names[:4] == ["@state", "@note", "@conf.json", "@info.json"]
    assert "transform" in names
    assert os.listdir(m.p(E))[:2] == ["@paused", "@info.json"]
    assert not any(n.startswith("@") for n in os.listdir(m.p(E))[2:])


def test_dag_files(mount, fake):
    m = mount()
    fake.reset()
    assert read(m.p("reporting", "@paused")) == b"true\n"
    assert gets(fake) == [base(fake) + "/dags/reporting"]
    assert json.loads(read(m.p(E, "@info.json")))["dag_id"] == E
    r = sh("echo true > '%s'" % m.p(E, "@paused"))
    assert r.returncode == 0, r.stderr
    path = base(fake) + "/dags/" + E + ("?update_mask=is_paused" if fake.api == "v1" else "")
    assert writes(fake) == [("PATCH", path, {"is_paused": True})]
    assert fake.data()["dags"][0]["is_paused"] is True
    assert read(m.p(E, "@paused")) == b"true\n"
    r = sh("echo maybe > '%s'" % m.p(E, "@paused"))
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert len(writes(fake)) == 1


def test_run_state_write(mount, fake):
    m = mount()
    assert read(m.p(E, R3, "load", "state")) == b"none\n"
    fake.reset()
    r = sh("echo success > '%s'" % m.p(E, R3, "@state"))
    assert r.returncode == 0, r.stderr
    assert writes(fake) == [("PATCH", run_path(fake, E, R3), {"state": "success"})]
    assert read(m.p(E, R3, "@state")) == b"success\n"
    # the run's task instances are read again: the server changed them
    assert read(m.p(E, R3, "load", "state")) == b"success\n"
    for bad in ("running", "skipped"):
        r = sh("printf '%s\\n' > '%s'" % (bad, m.p(E, R3, "@state")))
        assert r.returncode != 0 and "Invalid argument" in r.stderr
    # nothing but white space: nothing sent, and no error (as for state)
    r = sh("printf '\\n' > '%s'" % m.p(E, R3, "@state"))
    assert r.returncode == 0, r.stderr
    assert len(writes(fake)) == 1


def test_run_note_and_editors(mount, fake):
    m = mount()
    d = m.p(E, R2)
    fake.reset()
    r = sh("echo 'INC-42: rerun after the fix' > '%s/@note'" % d)
    assert r.returncode == 0, r.stderr
    note_path = run_path(fake, E, R2) + ("/setNote" if fake.api == "v1"
                                         else "?update_mask=note")
    assert writes(fake) == [("PATCH", note_path, {"note": "INC-42: rerun after the fix"})]
    assert read(d + "/@note") == b"INC-42: rerun after the fix\n"
    # sed -i: an exclusive temporary file renamed over @note, one PATCH
    fake.reset()
    r = sh("sed -i 's/INC-42/INC-43/' '%s/@note'" % d)
    assert r.returncode == 0, r.stderr
    assert writes(fake) == [("PATCH", note_path, {"note": "INC-43: rerun after the fix"})]
    assert read(d + "/@note") == b"INC-43: rerun after the fix\n"
    # a dot file is a scratch file; another new name is refused
    with open(d + "/.@note.swp", "w") as f:
        f.write("swap")
    assert ".@note.swp" in os.listdir(d)
    os.unlink(d + "/.@note.swp")
    for name in ("newtask", "@other"):
        with pytest.raises(OSError) as e:
            open(d + "/" + name, "w").close()
        assert e.value.errno == errno.EPERM
    # renaming @note away leaves it in place
    os.rename(d + "/@note", d + "/@note~")
    assert read(d + "/@note~") == b"INC-43: rerun after the fix\n"
    assert read(d + "/@note") == b"INC-43: rerun after the fix\n"
    os.unlink(d + "/@note~")
    assert len(writes(fake)) == 1


def test_clear(mount, fake):
    m = mount()
    d = m.p(E, R2, "transform")
    assert read(d + "/state") == b"failed\n"
    fake.reset()
    r = sh("echo clear > '%s/state'" % d)
    assert r.returncode == 0, r.stderr
    body = {"dry_run": False, "dag_run_id": R2, "task_ids": ["transform"],
            "include_downstream": True, "reset_dag_runs": True, "only_failed": False}
    assert writes(fake) == [("POST", base(fake) + "/dags/%s/clearTaskInstances" % E, body)]
    assert fake.ti(E, R2, "transform")["state"] is None
    assert read(d + "/state") == b"none\n"
    assert read(m.p(E, R2, "@state")) == b"queued\n"


def test_clear_a_map_index(mount, fake):
    m = mount()
    d = m.p(E, R3, "process", "4")
    assert read(d + "/state") == b"failed\n"
    fake.reset()
    r = sh("echo CLEAR > '%s/state'" % d)
    assert r.returncode == 0, r.stderr
    assert [w[2]["task_ids"] for w in writes(fake)] == [[["process", 4]]]
    assert read(d + "/state") == b"none\n"
    assert read(m.p(E, R3, "process", "3", "state")) == b"queued\n"


def test_clear_that_fails_is_the_writes_error(mount, fake):
    m = mount()
    d = m.p(E, R2, "transform")
    read(d + "/state")
    fake.inject(method="POST", path=base(fake) + "/dags/%s/clearTaskInstances" % E,
                status=403, count=5)
    r = sh("echo clear > '%s/state'" % d)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    fake.clear_faults()


def test_read_only_refuses_every_new_write(mount, fake):
    m = mount(opts=("ro",))
    fake.reset()
    for path, value in [(m.p(E, R2, "@state"), "failed"), (m.p(E, R2, "@note"), "x"),
                        (m.p(E, "@paused"), "true"), (m.p(E, R2, "transform", "state"),
                                                       "clear")]:
        with pytest.raises(OSError) as e:
            with open(path, "w") as f:
                f.write(value + "\n")
        assert e.value.errno == errno.EROFS, path
    with pytest.raises(OSError) as e:
        open(m.p(E, R2, ".swp"), "x").close()
    assert e.value.errno == errno.EROFS
    assert writes(fake) == []


def test_a_value_near_clear_sends_nothing(mount, fake):
    m = mount()
    d = m.p(E, R2, "transform")
    read(d + "/state")
    fake.reset()
    for bad in ("clearr", "cl ear", "clear now"):
        r = sh("echo '%s' > '%s/state'" % (bad, d))
        assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert writes(fake) == []
    assert fake.ti(E, R2, "transform")["state"] == "failed"
