# SPDX-License-Identifier: Apache-2.0
"""Tests of tests/fake_airflow.py in API v2 mode (start(api="v2")): the quirks of a real
Airflow 3.0.x server (NOTES.md) that the fake must reproduce, over the same dataset as v1.
Run: /usr/bin/python3 -m pytest tests/test_fake_server_v2.py"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_airflow as fa  # noqa: E402

R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
NO_LOGICAL = "manual__2024-01-02T09:30:00+00:00"  # reporting: an Airflow 3 run without one
SECRET = "fake-airflow-jwt-secret"

# the v2.yaml schemas' properties, in their order
TI_KEYS = [
    "id", "task_id", "dag_id", "dag_run_id", "map_index", "logical_date", "run_after",
    "start_date", "end_date", "duration", "state", "try_number", "max_tries",
    "task_display_name", "dag_display_name", "hostname", "unixname", "pool", "pool_slots",
    "queue", "priority_weight", "operator", "operator_name", "queued_when", "scheduled_when",
    "pid", "executor", "executor_config", "note", "rendered_map_index", "rendered_fields",
    "trigger", "triggerer_job", "dag_version"]
RUN_KEYS = [
    "dag_run_id", "dag_id", "logical_date", "queued_at", "start_date", "end_date", "duration",
    "data_interval_start", "data_interval_end", "run_after", "last_scheduling_decision",
    "run_type", "state", "triggered_by", "triggering_user_name", "conf", "note",
    "dag_versions", "bundle_version", "dag_display_name", "partition_key"]
DAG_KEYS = [
    "dag_id", "dag_display_name", "is_paused", "is_stale", "last_parsed_time",
    "last_parse_duration", "last_expired", "bundle_name", "bundle_version", "relative_fileloc",
    "fileloc", "description", "timetable_summary", "timetable_description",
    "timetable_partitioned", "tags", "max_active_tasks", "max_active_runs",
    "max_consecutive_failed_dag_runs", "has_task_concurrency_limits", "has_import_errors",
    "next_dagrun_logical_date", "next_dagrun_data_interval_start",
    "next_dagrun_data_interval_end", "next_dagrun_run_after", "allowed_run_types", "owners",
    "file_token"]
HEADER_EVENT = "::group::Log message source details"


def seg(s):
    return quote(s, safe="")


def ti_path(dag, run, task, *rest):
    return "/".join([f"/api/v2/dags/{seg(dag)}/dagRuns/{seg(run)}/taskInstances/{seg(task)}",
                     *map(str, rest)])


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)


def call(srv, method, path, body=None, headers=None, token="auto"):
    """A request to srv; token "auto": a fresh JWT from the server, None: no header."""
    hdrs = {}
    if token == "auto":
        token = srv.issue_token()
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request(method, srv.prefix + path if path.startswith("/api") else path,
                     body=body, headers=hdrs)
        r = conn.getresponse()
        return Reply(r.status, r.headers, r.read().decode())
    finally:
        conn.close()


def login(srv, user="admin", password="admin"):
    r = call(srv, "POST", "/auth/token", {"username": user, "password": password}, token=None)
    assert r.status == 201, r.body
    return r.json["access_token"]


def assert_detail(r, status, detail):
    assert r.status == status, r.body
    assert r.headers["Content-Type"] == "application/json"
    assert r.json == {"detail": detail}


def log_json(srv, path, accept="application/json", **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = call(srv, "GET", path + ("?" + qs if qs else ""), headers={"Accept": accept})
    assert r.status == 200, r.body
    return r.json


@pytest.fixture(scope="module")
def srv():
    s = fa.start(api="v2")
    yield s
    s.stop()


@pytest.fixture
def fresh(srv):
    """The module's server with the demo data, its first settings and an empty record."""
    srv.set_data("demo")
    srv.reset_config()
    srv.clear_faults()
    srv.reset()
    return srv


# --- version, routing, errors -------------------------------------------------------------

def test_version_needs_no_auth_and_v1_is_gone(srv):
    r = call(srv, "GET", "/api/v2/version", token=None)
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    assert list(r.json) == ["version", "git_version"] and r.json["version"] == "3.0.6"
    assert r.body.startswith('{"version":"3.0.6","git_version":')  # compact
    assert r.headers["Server"] == "uvicorn"
    for path in ("/api/v1/version", "/api/v1/dags", "/api/v2/nope", "/api/v2/dags/x/y/z",
                 "/auth/nope"):
        assert_detail(call(srv, "GET", path, token=None), 404, "Not Found")
    # the UI answers every other path
    r = call(srv, "GET", "/home", token=None)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    with fa.start() as v1:  # and a v1 server has no /api/v2
        assert call(v1, "GET", "/api/v2/version", token=None).status == 404


def test_methods_and_slashes(srv):
    path = ti_path("etl_daily", R1, "load")
    r = call(srv, "POST", path)
    assert_detail(r, 405, "Method Not Allowed")
    assert r.headers["Allow"] == "GET, PATCH"
    assert call(srv, "HEAD", "/api/v2/version", token=None).status == 405  # FastAPI: no HEAD
    assert_detail(call(srv, "DELETE", path), 501, "DELETE is not implemented by fake-airflow")
    r = call(srv, "GET", "/api/v2/dags/?limit=1")
    assert r.status == 307 and r.headers["Location"] == (
        f"http://127.0.0.1:{srv.port}/api/v2/dags?limit=1")
    assert call(srv, "GET", "/api/v2//dags").status == 404  # no slash merging


def test_unknown_query_parameters_are_ignored(srv):
    r = call(srv, "GET", "/api/v2/dags?nope=1&only_active=false&fields=dag_id")
    assert r.status == 200 and r.json["total_entries"] == 5
    assert list(r.json["dags"][0]) == DAG_KEYS


@pytest.mark.parametrize("path, error", [
    ("/api/v2/dags?limit=-1", {"type": "greater_than_equal", "loc": ["query", "limit"],
                               "msg": "Input should be greater than or equal to 0",
                               "input": "-1", "ctx": {"ge": 0}}),
    ("/api/v2/dags?offset=x", {"type": "int_parsing", "loc": ["query", "offset"],
                               "msg": "Input should be a valid integer, unable to parse "
                                      "string as an integer", "input": "x"}),
    ("/api/v2/dags?paused=maybe", {"type": "bool_parsing", "loc": ["query", "paused"],
                                   "msg": "Input should be a valid boolean, unable to "
                                          "interpret input", "input": "maybe"}),
    (ti_path("etl_daily", R3, "process", "x"), {
        "type": "int_parsing", "loc": ["path", "map_index"], "msg": "Input should be a valid "
        "integer, unable to parse string as an integer", "input": "x"}),
    (ti_path("etl_daily", R1, "load", "logs", -1), {
        "type": "greater_than_equal", "loc": ["path", "try_number"],
        "msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": {"ge": 0}}),
    (ti_path("etl_daily", R3, "process", "links") + "?map_index=one", {
        "type": "int_parsing", "loc": ["query", "map_index"], "msg": "Input should be a valid "
        "integer, unable to parse string as an integer", "input": "one"}),
])
def test_validation_errors_are_422(srv, path, error):
    assert_detail(call(srv, "GET", path), 422, [error])


def test_errors_list_every_field(srv):
    r = call(srv, "GET", "/api/v2/dags/etl_daily/dagRuns?limit=a&offset=-2&start_date_gte=x")
    assert r.status == 422
    assert [e["loc"] for e in r.json["detail"]] == [["query", "limit"], ["query", "offset"],
                                                    ["query", "start_date_gte"]]


# --- authentication -----------------------------------------------------------------------

def test_login_gives_a_real_jwt(fresh):
    t0 = int(time.time())
    r = call(fresh, "POST", "/auth/token", {"username": "admin", "password": "admin"},
             token=None)
    assert r.status == 201 and list(r.json) == ["access_token"]
    token = r.json["access_token"]
    head, body, sig = token.split(".")

    def unb64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    assert json.loads(unb64(head)) == {"alg": "HS512", "typ": "JWT"}
    claims = json.loads(unb64(body))
    assert {"jti", "sub", "iat", "nbf", "exp"} <= set(claims) and claims["sub"] == "admin"
    assert t0 - 1 <= claims["iat"] == claims["nbf"] <= t0 + 2
    assert claims["exp"] - claims["iat"] == 86400
    assert unb64(sig) == hmac.new(SECRET.encode(), f"{head}.{body}".encode(),
                                  hashlib.sha512).digest()
    assert fa.jwt_claims(token) == claims
    assert call(fresh, "GET", "/api/v2/dags?limit=1", token=token).status == 200
    # a form works too; /auth/token/cli gives an hour
    r = call(fresh, "POST", "/auth/token/cli", b"username=admin&password=admin", token=None,
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    claims = fa.jwt_claims(r.json["access_token"])
    assert r.status == 201 and claims["exp"] - claims["iat"] == 3600
    # logins are recorded, and can be left out
    assert [r["path"] for r in fresh.requests()] == ["/auth/token", "/api/v2/dags",
                                                     "/auth/token/cli"]
    assert [r["path"] for r in fresh.requests(auth=False)] == ["/api/v2/dags"]
    assert len(fresh.logins()) == 2
    assert [r["path"] for r in call(fresh, "GET", "/_fake/requests?auth=0", token=None).json] \
        == ["/api/v2/dags"]


@pytest.mark.parametrize("body, status, detail", [
    ({"username": "admin", "password": "nope"}, 401, "Invalid credentials"),
    ({"username": "nope", "password": "admin"}, 401, "Invalid credentials"),
    ({"username": "admin"}, 400, "Username and password must be provided"),
    ({"username": "", "password": ""}, 400, "Username and password must be provided"),
    (b"{", 400, "Username and password must be provided"),
])
def test_login_refusals(fresh, body, status, detail):
    assert_detail(call(fresh, "POST", "/auth/token", body, token=None), status, detail)


def test_login_is_a_post(srv):
    assert_detail(call(srv, "GET", "/auth/token", token=None), 405, "Method Not Allowed")


@pytest.mark.parametrize("auth, status, detail", [
    (None, 401, "Not authenticated"),
    ("Basic " + base64.b64encode(b"admin:admin").decode(), 401, "Not authenticated"),
    ("Bearer ", 401, "Not authenticated"),
    ("Bearer garbage", 403, "Invalid JWT token"),
    ("Bearer a.b.c", 403, "Invalid JWT token"),
    ("Bearer " + fa.jwt_encode({"sub": "admin", "iat": 1, "nbf": 1, "exp": 2 ** 40}, "other"),
     403, "Invalid JWT token"),
    ("Bearer " + fa.jwt_encode({"sub": "admin", "iat": 1, "nbf": 1}, SECRET), 403,
     "Invalid JWT token"),  # exp is required
    ("Bearer " + fa.jwt_encode({"sub": "admin", "iat": 1, "nbf": 1, "exp": 100}, SECRET), 401,
     "Token Expired"),
])
def test_unauthenticated(srv, auth, status, detail):
    r = call(srv, "GET", "/api/v2/dags", token=None,
             headers={"Authorization": auth} if auth else {})
    assert_detail(r, status, detail)
    assert "WWW-Authenticate" not in r.headers


def test_alg_none_is_refused(srv):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    claims = fa.jwt_claims(srv.issue_token())
    token = b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."
    assert_detail(call(srv, "GET", "/api/v2/dags", token=token), 403, "Invalid JWT token")


def test_expiry_and_leeway(fresh):
    assert call(fresh, "GET", "/api/v2/dags", token=fresh.issue_token(expires_in=-5)).status \
        == 200  # 10 s of leeway
    late = fresh.issue_token(expires_in=-11)
    assert_detail(call(fresh, "GET", "/api/v2/dags", token=late), 401, "Token Expired")
    r = call(fresh, "POST", "/_fake/config", {"jwt_expiry": 1, "jwt_leeway": 0}, token=None)
    assert r.status == 200 and r.json["jwt_expiry"] == 1 and r.json["jwt_leeway"] == 0
    token = login(fresh)
    assert call(fresh, "GET", "/api/v2/dags", token=token).status == 200
    time.sleep(1.1)
    assert_detail(call(fresh, "GET", "/api/v2/dags", token=token), 401, "Token Expired")
    assert fresh.token_error(token) == "Token Expired"
    # the server's clock running ahead expires tokens too
    token = login(fresh)
    fresh.configure(clock_skew=60)
    assert_detail(call(fresh, "GET", "/api/v2/dags", token=token), 401, "Token Expired")
    call(fresh, "POST", "/_fake/config", {"reset": True}, token=None)
    assert fresh.config()["jwt_expiry"] == 86400 and fresh.config()["clock_skew"] == 0


def test_static_tokens_rotation_and_secret_rotation(fresh):
    with fa.start(api="v2", static_tokens=["astro-abc"]) as s:
        assert call(s, "GET", "/api/v2/dags", token="astro-abc").status == 200
        r = call(s, "POST", "/_fake/config", {"static_tokens": ["astro-def"]}, token=None)
        assert r.status == 200
        assert_detail(call(s, "GET", "/api/v2/dags", token="astro-abc"), 403,
                      "Invalid JWT token")
        assert call(s, "GET", "/api/v2/dags", token="astro-def").status == 200
        assert call(s, "POST", "/_fake/config", {"static_tokens": "x"}, token=None).status == 400
        assert call(s, "POST", "/_fake/config", {"nope": 1}, token=None).status == 400
    token = login(fresh)
    minted = call(fresh, "POST", "/_fake/token", {"expires_in": 5}, token=None).json
    claims = fa.jwt_claims(minted["access_token"])
    assert claims["exp"] - claims["iat"] == 5
    fresh.configure(rotate_jwt_secret=True)
    for old in (token, minted["access_token"]):
        assert_detail(call(fresh, "GET", "/api/v2/dags", token=old), 403, "Invalid JWT token")
    assert call(fresh, "GET", "/api/v2/dags", token=login(fresh)).status == 200
    # a changed password: new logins fail, issued tokens stay valid
    token = login(fresh)
    fresh.configure(password="changed")
    assert call(fresh, "POST", "/auth/token", {"username": "admin", "password": "admin"},
                token=None).status == 401
    assert call(fresh, "GET", "/api/v2/dags", token=token).status == 200
    assert login(fresh, password="changed")


def test_token_cookie(srv):
    r = call(srv, "GET", "/api/v2/dags?limit=1", token=None,
             headers={"Cookie": "other=1; _token=" + srv.issue_token()})
    assert r.status == 200


def test_order_of_checks(srv):
    # a bad JSON body is refused before authentication; auth comes before the parameters
    r = call(srv, "PATCH", ti_path("etl_daily", R1, "load"), b"{", token=None,
             headers={"Content-Type": "application/json"})
    assert r.status == 422 and r.json["detail"][0]["type"] == "json_invalid"
    assert_detail(call(srv, "GET", "/api/v2/dags?limit=-1", token=None), 401,
                  "Not authenticated")
    r = call(srv, "GET", ti_path("etl_daily", R1, "load", "logs", "x"), token=None,
             headers={"Accept": "text/plain"})
    assert r.status == 401
    # then the log endpoint's Accept check, then the parameters
    r = call(srv, "GET", ti_path("etl_daily", R1, "load", "logs", "x"),
             headers={"Accept": "text/plain"})
    assert r.status == 406


def test_auth_none():
    with fa.start(api="v2", auth="none") as s:
        assert call(s, "GET", "/api/v2/dags", token=None).status == 200
    with pytest.raises(ValueError):
        fa.start(api="v2", auth="basic")


# --- lists ----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, count", [("", 50), ("?limit=1000", 100), ("?limit=0", 0),
                                          ("?limit=7", 7), ("?offset=100&limit=100", 5),
                                          ("?limit=50&offset=80", 25)])
def test_run_paging(srv, query, count):
    r = call(srv, "GET", "/api/v2/dags/fanout/dagRuns" + query)
    assert len(r.json["dag_runs"]) == count and r.json["total_entries"] == 105


def test_run_order(srv):
    def ids(q, dag="etl_daily"):
        r = call(srv, "GET", f"/api/v2/dags/{dag}/dagRuns" + q)
        assert r.status == 200, r.body
        return [x["dag_run_id"] for x in r.json["dag_runs"]]
    assert ids("") == ids("?order_by=id") == ids("?order_by=logical_date") == [R1, R2, R3]
    assert ids("?order_by=-run_after") == ids("?order_by=-start_date") == [R3, R2, R1]
    assert ids("?order_by=-run_after&limit=100&offset=0", "fanout")[:2] == [
        "scheduled__2024-01-02T00:00:00+00:00", "scheduled__2024-01-01T00:00:00+00:00"]
    # several criteria; NULLs (no logical date) last in both directions
    assert ids("?order_by=state&order_by=-run_after") == [R2, R3, R1]
    assert ids("?order_by=-logical_date", "reporting")[-1] == NO_LOGICAL
    assert ids("?order_by=logical_date", "reporting")[-1] == NO_LOGICAL
    assert_detail(call(srv, "GET", "/api/v2/dags/etl_daily/dagRuns?order_by=-execution_date"),
                  400, "Ordering with 'execution_date' is disallowed or the attribute does "
                       "not exist on the model")
    assert ids("?state=failed") == [R2] and ids("?run_type=manual") == [R3]


def test_dag_list(srv):
    def ids(q=""):
        return [d["dag_id"] for d in call(srv, "GET", "/api/v2/dags" + q).json["dags"]]
    assert ids() == ["empty_dag", "etl_daily", "fanout", "ml_training", "reporting"]
    assert "legacy_import" in ids("?exclude_stale=false")
    assert ids("?paused=true") == ["reporting"]
    assert ids("?tags=etl") == ["etl_daily"] and ids("?tags=etl,nothing") == []  # no splitting
    assert ids("?tags=etl&tags=ml") == ["etl_daily", "ml_training"]
    assert ids("?dag_id_pattern=ING") == ["ml_training", "reporting"]
    assert ids("?dag_id_pattern=etl%25|fan") == ["etl_daily", "fanout"]
    assert ids("?order_by=-dag_id")[0] == "reporting"
    dag = call(srv, "GET", "/api/v2/dags/etl_daily").json
    assert list(dag) == DAG_KEYS and dag["is_stale"] is False
    assert dag["tags"] == [{"name": "etl", "dag_id": "etl_daily", "dag_display_name": "etl_daily"},
                           {"name": "daily", "dag_id": "etl_daily",
                            "dag_display_name": "etl_daily"}]
    assert dag["timetable_summary"] == "0 0 * * *"
    assert dag["next_dagrun_logical_date"] == "2024-01-03T00:00:00Z"
    assert_detail(call(srv, "GET", "/api/v2/dags/nope"), 404, "Dag with id nope was not found")


def test_lists_of_unknown_parents_are_404(srv):
    assert_detail(call(srv, "GET", "/api/v2/dags/nope/dagRuns"), 404,
                  "The DAG with dag_id: `nope` was not found")
    assert_detail(call(srv, "GET", "/api/v2/dags/etl_daily/dagRuns/nope/taskInstances"), 404,
                  "DagRun with run_id: `nope` was not found")
    # the run is looked up by run_id alone; then the DAG
    assert call(srv, "GET", "/api/v2/dags/ml_training/dagRuns/"
                f"{seg('manual__2024-01-02T09:30:00+00:00')}/taskInstances").json == {
        "task_instances": [], "total_entries": 0}
    assert_detail(call(srv, "GET", f"/api/v2/dags/nope/dagRuns/{seg(R1)}/taskInstances"), 404,
                  "DAG with dag_id: `nope` was not found")
    assert call(srv, "GET", "/api/v2/dags/~/dagRuns?limit=1").json["total_entries"] == 116


def test_ti_list_is_stable_and_complete(srv):
    run = "scheduled__2024-01-02T00:00:00+00:00"
    base = f"/api/v2/dags/fanout/dagRuns/{seg(run)}/taskInstances"
    pages = [call(srv, "GET", base + f"?limit=100&offset={o}").json for o in (0, 100)]
    assert [p["total_entries"] for p in pages] == [151, 151]
    tis = pages[0]["task_instances"] + pages[1]["task_instances"]
    assert len({(t["task_id"], t["map_index"]) for t in tis}) == 151
    assert [t["map_index"] for t in tis] == [-1] + list(range(150))
    assert call(srv, "GET", base + "?limit=100&offset=0").json == pages[0]  # stable
    # map_index, then the primary key (the uuid) between tasks of one map_index
    r3 = call(srv, "GET", f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}/taskInstances").json
    unmapped = [t for t in r3["task_instances"] if t["map_index"] == -1]
    assert [t["id"] for t in unmapped] == sorted(t["id"] for t in unmapped)
    assert r3["total_entries"] == 9 and r3["task_instances"][-1]["map_index"] == 4
    q = "?state=running&state=queued"
    assert [(t["task_id"], t["map_index"]) for t in call(
        srv, "GET", f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}/taskInstances{q}").json[
        "task_instances"]] == [("process", 1), ("process", 3)]
    q = "?task_id=process&map_index=2&map_index=4"
    assert [t["map_index"] for t in call(
        srv, "GET", f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}/taskInstances{q}").json[
        "task_instances"]] == [2, 4]
    assert call(srv, "GET", f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}/taskInstances"
                "?order_by=nope").status == 400


def test_mapped_tasks(srv):
    r = call(srv, "GET", ti_path("etl_daily", R3, "process", "listMapped")).json
    assert [t["map_index"] for t in r["task_instances"]] == [0, 1, 2, 3, 4]
    r = call(srv, "GET", ti_path("etl_daily", R3, "process", "listMapped") +
             "?order_by=-state").json
    assert r["task_instances"][0]["state"] == "up_for_retry"
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "transform", "listMapped")), 404,
                  "Task id transform is not mapped")
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "nope", "listMapped")), 404,
                  "Task id nope not found")
    assert call(srv, "GET", ti_path("etl_daily", R2, "process", "listMapped")).json == {
        "task_instances": [], "total_entries": 0}
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "process")), 404,
                  "Task instance is mapped, add the map_index value to the URL")
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", 2)).json["state"] == \
        "up_for_retry"
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "process", 9)), 404,
                  f"The Mapped Task Instance with dag_id: `etl_daily`, run_id: `{R3}`, "
                  "task_id: `process`, and map_index: `9` was not found")
    # -1 is a valid map_index in the path
    assert call(srv, "GET", ti_path("etl_daily", R3, "load", -1)).json["task_id"] == "load"
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "nope")), 404,
                  f"The Task Instance with dag_id: `etl_daily`, run_id: `{R3}` and task_id: "
                  "`nope` was not found")


# --- records ----------------------------------------------------------------------------------

def test_ti_record(srv):
    r = call(srv, "GET", ti_path("etl_daily", R3, "load"))
    rec = r.json
    assert list(rec) == TI_KEYS  # every field, null where null, in the model's order
    assert rec["state"] is None and rec["try_number"] == 0 and rec["note"] is None
    assert rec["logical_date"] == "2024-01-03T10:15:00Z" and rec["run_after"] == rec[
        "logical_date"]
    assert len(rec["id"]) == 36 and rec["dag_version"]["version_number"] == 1
    done = call(srv, "GET", ti_path("etl_daily", R1, "transform")).json
    assert done["duration"] == 41.25 and done["start_date"] == "2024-01-02T00:00:12Z"
    assert done["end_date"] == "2024-01-02T00:00:53.250000Z"
    assert done["queued_when"] == "2024-01-02T00:00:10.766000Z"
    assert done["scheduled_when"] == "2024-01-02T00:00:10.266000Z"
    mapped = call(srv, "GET", ti_path("etl_daily", R3, "process", 0)).json
    assert mapped["operator"] == "_PythonDecoratedOperator" and mapped["operator_name"] == "@task"
    assert mapped["note"] == "" and mapped["rendered_map_index"] == "eu-west-1"
    deferred = call(srv, "GET", ti_path("ml_training", R2, "wait_for_data")).json
    assert list(deferred["trigger"]) == ["id", "classpath", "kwargs", "created_date", "queue",
                                         "triggerer_id"]
    assert deferred["triggerer_job"]["latest_heartbeat"] == "2024-01-03T10:29:58.120000Z"
    # compact JSON, UTF-8 as is
    r = call(srv, "GET", ti_path("etl_daily", R2, "transform"))
    assert '"note":"relancé ✓ deux fois' in r.body and "\\u" not in r.body


def test_run_records(srv):
    run = call(srv, "GET", f"/api/v2/dags/etl_daily/dagRuns/{seg(R1)}").json
    assert list(run) == RUN_KEYS
    assert run["run_type"] == "scheduled" and run["triggered_by"] == "timetable"
    assert run["logical_date"] == "2024-01-01T00:00:00Z"
    assert run["run_after"] == run["data_interval_end"] == "2024-01-02T00:00:00Z"
    assert run["duration"] == pytest.approx(251.390866)
    manual = call(srv, "GET", f"/api/v2/dags/reporting/dagRuns/{seg(NO_LOGICAL)}").json
    assert manual["logical_date"] is None and manual["run_after"] == "2024-01-02T09:30:00Z"
    assert manual["run_type"] == "manual" and manual["triggered_by"] == "rest_api"
    ti = call(srv, "GET", ti_path("reporting", NO_LOGICAL, "send_email")).json
    assert ti["logical_date"] is None and ti["run_after"] == "2024-01-02T09:30:00Z"
    # the same run in v1 shows run_after as its logical date
    with fa.start(auth="none") as v1:
        rec = call(v1, "GET", f"/api/v1/dags/reporting/dagRuns/{seg(NO_LOGICAL)}").json
        assert rec["logical_date"] == rec["execution_date"] == "2024-01-02T09:30:00+00:00"
    assert call(srv, "GET", "/api/v2/dags/etl_daily/dagRuns/nope").json == {
        "detail": "The DagRun with dag_id: `etl_daily` and run_id: `nope` was not found"}


def test_dataset_round_trip(srv):
    data = srv.data()
    run = [r for r in data["dags"][2]["runs"] if r["dag_run_id"] == NO_LOGICAL][0]
    assert run["logical_date"] is None and run["run_after"] == "2024-01-02T09:30:00+00:00"
    with fa.start(api="v2", data=data) as s:
        assert s.data() == data


# --- links ------------------------------------------------------------------------------------

def test_links(srv):
    r = call(srv, "GET", ti_path("etl_daily", R1, "load", "links"))
    url = "https://dbc-1234.cloud.databricks.com/#job/42/run/1001"
    assert r.json == {"extra_links": {"Databricks Job Run": url, "Runbook": None},
                      "total_entries": 2}
    assert '"https://dbc' in r.body  # no escaped slashes
    assert call(srv, "GET", ti_path("etl_daily", R1, "group.extract", "links")).json == {
        "extra_links": {}, "total_entries": 0}
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", "links") + "?map_index=2"
                ).json == {"extra_links": {}, "total_entries": 0}
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "process", "links")), 404,
                  f"DAG Run with ID = {R3} not found")
    assert_detail(call(srv, "GET", ti_path("nope", R3, "x", "links")), 404,
                  "DAG with ID = nope not found")
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "x", "links")), 404,
                  "Task with ID = x not found")


# --- logs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept, kind", [
    (None, "json"), ("*/*", "json"), ("application/json", "json"),
    ("application/json, text/plain, */*", "json"), ("*/*;q=0.1, text/plain", "json"),
    ("application/x-ndjson", "ndjson"), ("text/plain", 406), ("", 406),
    ("text/plain, application/json", 406), ("application/*", 406),
])
def test_log_accept_is_prefix_matched(srv, accept, kind):
    r = call(srv, "GET", ti_path("etl_daily", R1, "transform", "logs", 1),
             headers={"Accept": accept} if accept is not None else {})
    if kind == 406:
        assert_detail(r, 406, "Only application/json or application/x-ndjson is supported")
    elif kind == "json":
        assert r.status == 200 and r.headers["Content-Type"] == "application/json"
        assert list(r.json) == ["content", "continuation_token"]
    else:
        assert r.headers["Content-Type"] == "application/x-ndjson"
        lines = r.body.split("\n")
        assert lines[-1] == "" and json.loads(lines[0])["event"] == HEADER_EVENT


def test_log_records(srv):
    body = log_json(srv, ti_path("etl_daily", R1, "transform", "logs", 1), full_content="true")
    content = body["content"]
    assert body["continuation_token"] is None  # a finished try
    assert content[0] == {"event": HEADER_EVENT, "sources": [
        f"/opt/airflow/logs/dag_id=etl_daily/run_id={R1}/task_id=transform/attempt=1.log"]}
    assert content[1] == {"event": "::endgroup::"}
    assert content[2] == {"timestamp": "2024-01-02T00:00:12Z", "event": "::group::Pre task "
                          "execution logs", "level": "info",
                          "logger": "airflow.task.local_task_job_runner"}
    served = fa.served_log(srv.ti("etl_daily", R1, "transform")["logs"][0]).split("\n")
    assert len(content) == 2 + len(served)  # one record a line here
    # a task's print(): chan=stdout
    body = log_json(srv, ti_path("etl_daily", R1, "process", "logs", 1), map_index=2)
    printed = [c for c in body["content"] if c.get("chan") == "stdout"]
    assert printed and printed[0]["logger"] == "task"
    assert printed[0]["event"] == "Processing shard 2: 187 orders (region=eu-west-3)"
    # lines without a timestamp continue the record before them
    body = log_json(srv, ti_path("ml_training", R1, "train_model", "logs", 1))
    multi = [c for c in body["content"] if "\n" in c["event"]]
    assert [c["event"] for c in multi] == [
        "Training set: 184,203 rows × 57 columns\n"
        "  features: tenure_days, plan, region, monthly_spend (+53 more)\n"
        "  label: churned (positive rate 7.9%)"]
    assert "\\u" not in call(srv, "GET", ti_path("ml_training", R1, "train_model", "logs", 1)
                             ).body


def test_log_error_detail(srv):
    content = log_json(srv, ti_path("etl_daily", R2, "transform", "logs", 2))["content"]
    [failed] = [c for c in content if c.get("error_detail")]
    assert failed["event"] == "Task failed with exception" and failed["level"] == "error"
    assert "Traceback" not in json.dumps(content)
    final, cause = failed["error_detail"]
    assert (final["exc_type"], final["is_cause"]) == ("IntegrityError", False)
    assert (cause["exc_type"], cause["is_cause"]) == ("UniqueViolation", True)
    assert final["exc_value"].startswith("(psycopg2.errors.UniqueViolation) duplicate key")
    assert final["frames"] == [{"filename": "/opt/airflow/dags/etl_daily.py", "lineno": 57,
                                "name": "transform"}]
    assert cause["exc_value"].endswith("\nDETAIL:  Key (order_id)=(1042) already exists.")
    assert list(final) == ["exc_type", "exc_value", "exc_notes", "syntax_error", "is_cause",
                           "frames", "is_group", "exceptions"]
    text = srv.log_text("etl_daily", R2, "transform", 2)
    # rendered as Python prints the chain (SPEC.md "logs"): the cause first
    assert ("ERROR airflow.task.taskinstance - Task failed with exception\n"
            "Traceback (most recent call last):\n") in text
    assert ('DETAIL:  Key (order_id)=(1042) already exists.\n\n'
            "The above exception was the direct cause of the following exception:\n\n"
            "Traceback (most recent call last):\n"
            '  File "/opt/airflow/dags/etl_daily.py", line 57, in transform\n'
            "IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key") in text


def test_log_error_detail_during_handling(srv):
    # try 1: an exception raised while handling another (its __context__)
    content = log_json(srv, ti_path("etl_daily", R2, "transform", "logs", 1))["content"]
    [failed] = [c for c in content if c.get("error_detail")]
    last, context = failed["error_detail"]
    assert (last["exc_type"], last["is_cause"]) == ("AirflowException", False)
    assert (context["exc_type"], context["is_cause"]) == ("FileNotFoundError", False)
    assert last["frames"][-1]["lineno"] == 44 and context["frames"][-1]["lineno"] == 41
    text = srv.log_text("etl_daily", R2, "transform", 1)
    assert ("FileNotFoundError: [Errno 2] No such file or directory: "
            "'/data/raw/orders/2024-01-02.parquet'\n\n"
            "During handling of the above exception, another exception occurred:\n\n"
            "Traceback (most recent call last):\n"
            '  File "/opt/airflow/dags/etl_daily.py", line 44, in transform\n'
            "AirflowException: no orders for 2024-01-02\n") in text


def test_log_special_tries(srv):
    body = log_json(srv, ti_path("etl_daily", R1, "transform", "logs", 0))
    assert body == {"content": [{"event": "Error fetching the logs. Try number 0 is invalid.",
                                 "level": "error"}], "continuation_token": None}
    body = log_json(srv, ti_path("etl_daily", R1, "transform", "logs", 3))
    assert body["content"][0]["sources"][0].startswith("Could not read served logs: ")
    assert len(body["content"]) == 2 and body["continuation_token"] is None
    # a queued TI (try 1, no file yet): the header alone, sources empty
    body = log_json(srv, ti_path("etl_daily", R3, "process", "logs", 1), map_index=3)
    assert body == {"content": [{"event": HEADER_EVENT, "sources": []},
                                {"event": "::endgroup::"}], "continuation_token": None}
    assert_detail(call(srv, "GET", ti_path("etl_daily", R3, "process", "logs", 1)), 404,
                  "TaskInstance not found")
    r = call(srv, "GET", ti_path("etl_daily", R1, "transform", "logs", 1) + "?token=abc")
    assert_detail(r, 400, "Bad Signature. Please use only the tokens provided by the API.")


@pytest.mark.parametrize("version, resumes", [("3.0.6", False), ("3.0.4", False),
                                              ("3.0.3", True), ("3.0.0", True)])
def test_log_token_resume_bug(fresh, version, resumes):
    fresh.configure(version=version)
    path = ti_path("etl_daily", R3, "process", "logs", 1)
    first = log_json(fresh, path, map_index=1)
    token = first["continuation_token"]
    assert token and fa.token_payload(token) == {"end_of_log": False,
                                                 "log_pos": len(first["content"]) - 2}
    line = "[2024-01-03T10:16:50.000+0000] {logging_mixin.py:190} INFO - Batch 3/4 written\n"
    fresh.update_ti("etl_daily", R3, "process", 1, append_log=line)
    again = log_json(fresh, path, map_index=1, token=token)
    new = {"timestamp": "2024-01-03T10:16:50Z", "event": "Batch 3/4 written", "level": "info",
           "logger": "task", "chan": "stdout"}
    if resumes:  # 3.0.0-3.0.3: the records after log_pos
        assert again["content"] == [new]
    else:  # 3.0.4+: the whole log again, without the header
        assert again["content"] == first["content"][2:] + [new]
    assert fa.token_payload(again["continuation_token"])["log_pos"] == len(first["content"]) - 1
    # once the TI has finished, the token is null
    call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 1), {"new_state": "success"})
    assert log_json(fresh, path, map_index=1, token=token)["continuation_token"] is None
    full = log_json(fresh, path, map_index=1)
    assert full["content"] == first["content"] + [new]
    assert fa.render_log(full["content"]) == fresh.log_text("etl_daily", R3, "process", 1,
                                                            map_index=1)


@pytest.mark.parametrize("version", ["3.0.6", "3.0.3"])
def test_ndjson_continuation_header(fresh, version):
    fresh.configure(version=version)
    path = ti_path("etl_daily", R3, "process", "logs", 1) + "?map_index=1"
    r = call(fresh, "GET", path, headers={"Accept": "application/x-ndjson"})
    records = [json.loads(x) for x in r.body.splitlines()]
    assert records == log_json(fresh, ti_path("etl_daily", R3, "process", "logs", 1),
                               map_index=1)["content"]
    payload = fa.token_payload(r.headers["Airflow-Continuation-Token"])
    if version == "3.0.6":  # computed before streaming: no log_pos
        assert payload == {"end_of_log": False}
    else:
        assert payload == {"end_of_log": False, "log_pos": len(records) - 2}
    r = call(fresh, "GET", ti_path("etl_daily", R1, "load", "logs", 1),
             headers={"Accept": "application/x-ndjson"})
    assert r.status == 200 and "Airflow-Continuation-Token" not in r.headers


def test_growing_log(fresh):
    path = ti_path("ml_training", R3, "train_model", "logs", 1)
    g = fresh.grow("ml_training", R3, "train_model", lines=4, every=0.05)
    assert g.done.wait(3) and g.outcome == "finished"
    content = log_json(fresh, path)["content"]
    ticks = [c for c in content if c["event"].startswith("tick ")]
    assert [c["event"] for c in ticks] == [f"tick {n} of 4" for n in range(1, 5)]
    assert ticks[0] == {"timestamp": fa.zdt(g.base + fa.timedelta(seconds=1)),
                        "event": "tick 1 of 4", "level": "info", "logger": "task",
                        "chan": "stdout"}
    assert content[-1] == ticks[-1]
    assert fresh.log_text("ml_training", R3, "train_model", 1) == fa.render_log(content)
    assert fresh.log_text("ml_training", R3, "train_model", 1).endswith(
        "] INFO task - tick 4 of 4 chan=stdout\n")


def test_records_and_lines_entries(fresh):
    records = [{"timestamp": "2024-01-05T00:00:00Z", "event": "a", "level": "info"},
               {"event": "b", "x": [1]}]
    fresh.add_dag({"dag_id": "structured", "runs": [{"dag_run_id": "manual__s", "tis": [
        {"task_id": "t", "state": "success", "try_number": 2,
         "logs": [{"records": records}, {"lines": ["one", "two"]}]}]}]})
    content = log_json(fresh, ti_path("structured", "manual__s", "t", "logs", 1))["content"]
    assert content[2:] == records
    body = log_json(fresh, ti_path("structured", "manual__s", "t", "logs", 2))
    assert body == {"content": ["one", "two"], "continuation_token": None}
    assert fresh.log_text("structured", "manual__s", "t", 2) == "one\ntwo\n"
    assert fresh.log_text("structured", "manual__s", "t", 1).endswith(
        "\n[2024-01-05T00:00:00Z] INFO a\nb x=[1]\n")
    # v1 serves such entries as text: the records as a v2 mount shows them
    with fa.start(data=fresh.data(), auth="none") as v1:
        assert v1.log_text("structured", "manual__s", "t", 2).endswith("::endgroup::\none\ntwo")
        assert v1.log_text("structured", "manual__s", "t", 1).endswith(
            "::endgroup::\n[2024-01-05T00:00:00Z] INFO a\nb x=[1]")
    with pytest.raises(fa.DatasetError):
        fa.normalize_ti({"task_id": "t", "logs": [{"records": [{"no": "event"}]}]})
    with pytest.raises(fa.DatasetError):
        fa.normalize_ti({"task_id": "t", "logs": [{"lines": [1]}]})


def test_render_log():
    recs = [
        {"timestamp": "T", "event": "e", "level": "info", "logger": "l", "k": "v", "n": 1.5},
        {"timestamp": "T", "event": "e", "level": "warning"},
        {"timestamp": "T", "event": "e", "logger": "l", "level": None},
        {"timestamp": "T", "event": "e"},
        {"timestamp": None, "event": "e", "level": "info", "logger": "l"},
        {"event": "a\nb", "x": None, "y": {"é": "/"}, "z": "s p"},
        "plain",
    ]
    assert fa.render_log(recs) == (
        "[T] INFO l - e k=v n=1.5\n[T] WARNING e\n[T] l - e\n[T] e\ne\n"
        'a\nb x=null y={"é": "/"} z=s p\nplain\n')


def test_generated_log_fast_path_matches_the_general_one(fresh):
    size = 300_000
    fresh.add_dag({"dag_id": "gen", "runs": [{"dag_run_id": "manual__g", "tis": [
        {"task_id": "g", "state": "success", "try_number": 1,
         "logs": [{"generate": {"bytes": size, "seed": 3}}]}]}]})
    path = ti_path("gen", "manual__g", "g", "logs", 1)
    body = log_json(fresh, path)
    text = fa.generated_log(size, 3)[:-1]
    general = fa.text_records(text)
    assert body["content"][2:] == general and body["continuation_token"] is None
    assert body["content"][:2] == fa.v2_header(
        ["/opt/airflow/logs/dag_id=gen/run_id=manual__g/task_id=g/attempt=1.log"])
    assert fresh.log_text("gen", "manual__g", "g", 1) == fa.render_log(body["content"])
    assert [json.loads(x) for x in call(fresh, "GET", path, headers={
        "Accept": "application/x-ndjson"}).body.splitlines()] == body["content"]
    assert fresh.warm_log("gen", "manual__g", "g") >= 0


def test_generated_log_20mb_v2(own_v2):
    size = 20_000_000
    own_v2.add_dag(fa.big_logs_dag(size))
    fa.generated_log(size, 7)
    t0 = time.monotonic()
    own_v2.warm_log("big_logs", fa.BIG_LOGS_RUN, "huge")
    t1 = time.monotonic()
    r = call(own_v2, "GET", ti_path("big_logs", fa.BIG_LOGS_RUN, "huge", "logs", 1))
    t2 = time.monotonic()
    text = own_v2.log_text("big_logs", fa.BIG_LOGS_RUN, "huge", 1)
    t3 = time.monotonic()
    print(f"\n20 MB generated log, v2: JSON answer ({len(r.body) / 1e6:.1f} MB) {t1 - t0:.2f} s, "
          f"cached {t2 - t1:.2f} s; rendered text ({len(text) / 1e6:.1f} MB) {t3 - t2:.2f} s")
    content = json.loads(r.body)["content"]
    assert len(content) == 2 + text.count("\n") - 2
    assert content[-1]["event"].startswith("end of generated log")
    assert text.count("ERROR") == sum(c.get("level") == "error" for c in content)


# --- writes -------------------------------------------------------------------------------------

def test_patch_state(fresh):
    path = ti_path("etl_daily", R3, "transform")
    r = call(fresh, "PATCH", path, {"new_state": "failed"})
    assert r.status == 200 and list(r.json) == ["task_instances", "total_entries"]
    assert r.json["total_entries"] == 1 and r.json["task_instances"][0]["state"] == "failed"
    assert list(r.json["task_instances"][0]) == TI_KEYS
    assert fresh.ti("etl_daily", R3, "transform")["state"] == "failed"
    assert_detail(call(fresh, "PATCH", path, {"new_state": "FAILED"}), 409,
                  "Task id transform is already in failed state")
    r = call(fresh, "PATCH", path, {"new_state": "Success"})  # case-insensitive
    assert r.status == 200 and r.json["task_instances"][0]["state"] == "success"
    # a TI without an end date gets one
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "load"), {"new_state": "skipped"})
    rec = r.json["task_instances"][0]
    assert rec["state"] == "skipped" and rec["end_date"] and rec["start_date"]


@pytest.mark.parametrize("body, error", [
    ({"dry_run": False, "new_state": "failed"},
     {"type": "extra_forbidden", "loc": ["body", "dry_run"], "msg": "Extra inputs are not "
      "permitted", "input": False}),
    ({"new_state": "running"},
     {"type": "value_error", "loc": ["body", "new_state"], "msg": "Value error, 'running' is "
      "not one of ['success', 'failed', 'skipped']", "input": "running", "ctx": {"error": {}}}),
    ({"new_state": "Running"},
     {"type": "value_error", "loc": ["body", "new_state"], "msg": "Value error, 'running' is "
      "not one of ['success', 'failed', 'skipped']", "input": "Running", "ctx": {"error": {}}}),
    ({"new_state": None},
     {"type": "value_error", "loc": ["body", "new_state"], "msg": "Value error, 'new_state' "
      "should not be empty", "input": None, "ctx": {"error": {}}}),
    ({"note": "x" * 1001},
     {"type": "string_too_long", "loc": ["body", "note"], "msg": "String should have at most "
      "1000 characters", "input": "x" * 1001, "ctx": {"max_length": 1000}}),
    ({"note": 5}, {"type": "string_type", "loc": ["body", "note"], "msg": "Input should be a "
                   "valid string", "input": 5}),
    ({"new_state": "failed", "include_past": "maybe"},
     {"type": "bool_parsing", "loc": ["body", "include_past"], "msg": "Input should be a valid "
      "boolean, unable to interpret input", "input": "maybe"}),
    ([], {"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be a valid "
          "dictionary or object to extract fields from", "input": []}),
    (b"", {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}),
    (b'{"new_state": }', {"type": "json_invalid", "loc": ["body", 14],
                          "msg": "JSON decode error", "input": {},
                          "ctx": {"error": "Expecting value"}}),
])
def test_patch_validation(fresh, body, error):
    hdrs = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform"), body, headers=hdrs)
    assert_detail(r, 422, [error])
    assert fresh.ti("etl_daily", R3, "transform")["state"] == "success"


def test_patch_oddities(fresh):
    path = ti_path("etl_daily", R3, "transform")
    # every error at once, fields in the model's order, then the extra ones
    r = call(fresh, "PATCH", path, {"zzz": 1, "note": "x" * 1001, "new_state": "bad"})
    assert [e["loc"][1] for e in r.json["detail"]] == ["new_state", "note", "zzz"]
    # a non-string new_state breaks the validator: a plain 500
    r = call(fresh, "PATCH", path, {"new_state": 5})
    assert r.status == 500 and r.body == "Internal Server Error"
    # not a JSON content type: the raw body is not an object
    r = call(fresh, "PATCH", path, b'{"new_state": "failed"}',
             headers={"Content-Type": "text/plain"})
    assert r.status == 422 and r.json["detail"][0]["type"] == "model_attributes_type"
    # an empty body object changes nothing
    r = call(fresh, "PATCH", path, {})
    assert r.status == 200 and r.json["task_instances"][0]["state"] == "success"
    # 404s
    assert_detail(call(fresh, "PATCH", ti_path("nope", R3, "t"), {"new_state": "failed"}),
                  404, "DAG nope not found")
    assert_detail(call(fresh, "PATCH", ti_path("etl_daily", R3, "nope"),
                       {"new_state": "failed"}), 404,
                  "Task 'nope' not found in DAG 'etl_daily'")
    assert_detail(call(fresh, "PATCH", ti_path("etl_daily", "nope", "load"),
                       {"new_state": "failed"}), 404,
                  "The Task Instance with dag_id: `etl_daily`, run_id: `nope`, task_id: "
                  "`load` and map_index: `None` was not found")
    # no setNote in v2: the path is taken for a map_index, or matches nothing
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform", "setNote"), {"note": "x"})
    assert r.status == 422 and r.json["detail"][0]["loc"] == ["path", "map_index"]
    assert_detail(call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 2, "setNote"),
                       {"note": "x"}), 404, "Not Found")


def test_patch_note(fresh):
    path = ti_path("etl_daily", R3, "transform")
    r = call(fresh, "PATCH", path + "?update_mask=note", {"note": "héllo"})
    assert r.status == 200 and r.json["task_instances"][0]["note"] == "héllo"
    # a note without a mask is set too; a null one only clears with the mask
    call(fresh, "PATCH", path, {"note": "no mask"})
    assert fresh.ti("etl_daily", R3, "transform")["note"] == "no mask"
    call(fresh, "PATCH", path, {"note": None})
    assert fresh.ti("etl_daily", R3, "transform")["note"] == "no mask"
    call(fresh, "PATCH", path + "?update_mask=note", {"note": None})
    assert fresh.ti("etl_daily", R3, "transform")["note"] is None
    # the mask selects: the state is left alone
    r = call(fresh, "PATCH", path + "?update_mask=note", {"new_state": "failed", "note": "y"})
    assert r.status == 200 and fresh.ti("etl_daily", R3, "transform")["state"] == "success"
    assert fresh.ti("etl_daily", R3, "transform")["note"] == "y"
    call(fresh, "PATCH", path + "?update_mask=new_state&update_mask=note",
         {"new_state": "failed", "note": "z"})
    ti = fresh.ti("etl_daily", R3, "transform")
    assert (ti["state"], ti["note"]) == ("failed", "z")
    # 1000 characters (2000 bytes) is the limit; clearing with ""
    assert call(fresh, "PATCH", path + "?update_mask=note", {"note": "é" * 1000}).status == 200
    call(fresh, "PATCH", path + "?update_mask=note", {"note": ""})
    assert fresh.ti("etl_daily", R3, "transform")["note"] == ""


def test_patch_mapped(fresh):
    # the path without a map index patches every map index (3.0.2+)
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process"), {"new_state": "skipped"})
    assert r.status == 200 and r.json["total_entries"] == 5
    assert [t["map_index"] for t in r.json["task_instances"]] == [0, 1, 2, 3, 4]
    assert all(fresh.ti("etl_daily", R3, "process", i)["state"] == "skipped" for i in range(5))
    fresh.set_data("demo")
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 2), {"new_state": "failed"})
    assert r.json["total_entries"] == 1 and r.json["task_instances"][0]["map_index"] == 2
    assert fresh.ti("etl_daily", R3, "process", 1)["state"] == "running"
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process") + "?map_index=1",
             {"new_state": "failed"})
    assert [t["map_index"] for t in r.json["task_instances"]] == [1]
    # a 409 only when no map index changes
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process"), {"new_state": "failed"})
    assert r.status == 200 and r.json["total_entries"] == 5
    assert_detail(call(fresh, "PATCH", ti_path("etl_daily", R3, "process"),
                       {"new_state": "failed"}), 409, "Task id process is already in failed "
                                                      "state")
    # the note goes to every map index as well
    call(fresh, "PATCH", ti_path("etl_daily", R3, "process") + "?update_mask=note",
         {"note": "all"})
    assert {fresh.ti("etl_daily", R3, "process", i)["note"] for i in range(5)} == {"all"}


def test_patch_before_3_0_2(fresh):
    fresh.configure(version="3.0.1")
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform"), {"new_state": "failed"})
    assert r.status == 200 and list(r.json) == TI_KEYS and r.json["state"] == "failed"
    # map_index defaults to -1: a mapped task needs its index
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process"), {"new_state": "failed"})
    assert r.status == 404 and "map_index: `-1`" in r.json["detail"]


def test_patch_dry_run_endpoint(fresh):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", "dry_run"),
             {"new_state": "success"})
    assert r.status == 200 and [t["map_index"] for t in r.json["task_instances"]] == [1, 2, 3, 4]
    assert fresh.ti("etl_daily", R3, "process", 1)["state"] == "running"
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 1, "dry_run"),
             {"new_state": "failed"})
    assert r.json["total_entries"] == 1


# --- control API, faults, prefix, CLI -----------------------------------------------------

def test_control_api_and_faults(fresh):
    r = call(fresh, "GET", "/_fake/config", token=None).json
    assert r["version"] == "3.0.6" and r["jwt_expiry"] == 86400 and r["static_tokens"] == []
    fresh.inject(method="GET", path=f"/api/v2/dags/etl_daily/dagRuns/{seg(R1)}", status=503,
                 count=1)
    r = call(fresh, "GET", ti_path("etl_daily", R1, "load"))
    assert_detail(r, 503, "injected fault")
    assert call(fresh, "GET", ti_path("etl_daily", R1, "load")).status == 200
    fresh.inject(method="GET", status=200, delay=0.2)
    t0 = time.monotonic()
    assert call(fresh, "GET", "/api/v2/version", token=None).status == 200
    assert time.monotonic() - t0 >= 0.2
    q = f"?dag=etl_daily&run={seg(R1)}&task=transform&try=1"
    records = call(fresh, "GET", "/_fake/log_records" + q, token=None).json
    assert records == log_json(fresh, ti_path("etl_daily", R1, "transform", "logs", 1))[
        "content"]
    text = call(fresh, "GET", "/_fake/log_text" + q, token=None).body
    assert text == fa.render_log(records)
    call(fresh, "POST", "/_fake/ti", {"dag": "etl_daily", "run": R1, "task": "load",
                                      "note": "set"}, token=None)
    assert call(fresh, "GET", ti_path("etl_daily", R1, "load")).json["note"] == "set"


def test_prefix():
    with fa.start(api="v2", prefix="/astro/deployment1/") as s:
        assert s.url == s.origin + "/astro/deployment1" and s.prefix == "/astro/deployment1"
        assert call(s, "GET", "/api/v2/version", token=None).status == 200
        conn = http.client.HTTPConnection("127.0.0.1", s.port)
        conn.request("POST", "/astro/deployment1/auth/token", body=json.dumps(
            {"username": "admin", "password": "admin"}),
            headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        token = json.loads(r.read())["access_token"]
        assert r.status == 201
        for path in ("/api/v2/version", "/auth/token", "/astro/api/v2/version"):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            assert r.status == 404
        conn.close()
        assert call(s, "GET", "/api/v2/dags?limit=1", token=token).status == 200
        assert [r["path"] for r in s.requests()][:2] == [
            "/astro/deployment1/api/v2/version", "/astro/deployment1/auth/token"]
        assert s.logins()[0]["path"] == "/astro/deployment1/auth/token"
        # the control API stays at the root
        assert call(s, "GET", "/_fake/config", token=None).status == 200
    with fa.start(prefix="/p") as v1:  # v1 too
        assert v1.url.endswith(":%d/p" % v1.port)
        assert call(v1, "GET", "/api/v1/version", token=None).status == 200


def test_cli_v2(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__),
                                                          "fake_airflow.py"),
                             "--api", "v2", "--port-file", str(port_file), "--prefix", "/x",
                             "--jwt-expiry", "60"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(port_file.read_text())
        assert line == f"fake-airflow listening on http://127.0.0.1:{port}/x\n"
        req = urllib.request.Request(f"http://127.0.0.1:{port}/x/auth/token", method="POST",
                                     data=b'{"username": "admin", "password": "admin"}',
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            token = json.load(r)["access_token"]
        claims = fa.jwt_claims(token)
        assert claims["exp"] - claims["iat"] == 60
        req = urllib.request.Request(f"http://127.0.0.1:{port}/x/api/v2/dags",
                                     headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req) as r:
            assert json.load(r)["total_entries"] == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.stdout.close()


@pytest.fixture
def own_v2():
    s = fa.start(api="v2")
    yield s
    s.stop()


# --- what the mount tests expect a v2 client to send (airflow_api.py) -----------------------

def test_the_requests_the_mount_tests_expect_are_answered(own_v2):
    """Each request shape tests/airflow_api.py pins for the v2 client, sent as is: the
    fake answers it as the tests assume."""
    s = own_v2
    assert call(s, "GET", "/api/v2/version", token=None).status == 200
    token = login(s)
    assert call(s, "GET", "/api/v2/dags?limit=1", token=token).status == 200
    for path in ("/api/v2/dags?limit=100&offset=0",
                 "/api/v2/dags/etl_daily/dagRuns?order_by=-run_after&limit=100&offset=0",
                 f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}",
                 f"/api/v2/dags/etl_daily/dagRuns/{seg(R3)}/taskInstances?limit=100&offset=0",
                 ti_path("etl_daily", R3, "process", "listMapped") + "?limit=100&offset=0",
                 ti_path("etl_daily", R1, "load", "links"),
                 ti_path("etl_daily", R1, "process", "links") + "?map_index=3",
                 ti_path("etl_daily", R1, "load", "logs", 1) + "?full_content=true",
                 ti_path("etl_daily", R1, "process", "logs", 1) +
                 "?full_content=true&map_index=3"):
        r = call(s, "GET", path, token=token, headers={"Accept": "application/json"})
        assert r.status == 200, (path, r.body)
    ti = ti_path("etl_daily", R1, "load")
    body = b'{"new_state": "failed"}'
    hdrs = {"Content-Type": "application/json"}
    assert call(s, "PATCH", ti, body, hdrs, token=token).status == 200
    assert call(s, "PATCH", ti, body, hdrs, token=token).status == 409  # then a success
    assert call(s, "PATCH", ti_path("etl_daily", R3, "process", 2), body, hdrs,
                token=token).json["total_entries"] == 1
    r = call(s, "PATCH", ti + "?update_mask=note", b'{"note": "text"}', hdrs, token=token)
    assert r.status == 200 and s.ti("etl_daily", R1, "load")["note"] == "text"
    call(s, "PATCH", ti + "?update_mask=note", b'{"note": ""}', hdrs, token=token)
    assert s.ti("etl_daily", R1, "load")["note"] == ""


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_airflow_api_helpers_agree_with_the_fake(api_version):
    """tests/airflow_api.py's expectations, played by hand against each API version."""
    import airflow_api as api
    from conftest import PASSWORD, USER, start_fake
    with start_fake(api_version, prefix="/pfx") as s:
        auth = {"Authorization": api.auth_header(s)}
        # the probe, as a client sends it
        for method, path, query, body in api.probe_requests(s):
            hdrs = dict(auth) if path.endswith("/dags") else {}
            if body is not None:
                hdrs["Content-Type"] = "application/json"
            conn = http.client.HTTPConnection("127.0.0.1", s.port)
            conn.request(method, path + ("?" + query if query else ""),
                         body=json.dumps(body) if body else None, headers=hdrs)
            r = conn.getresponse()
            r.read()
            conn.close()
            want = 404 if (api_version, path) == ("v1", "/pfx/api/v2/version") else \
                201 if method == "POST" else 200
            assert r.status == want, (method, path)
        assert api.recorded(s)[:3] == api.probe_requests(s)
        if api_version == "v2":
            assert api.recorded(s)[1][3] == {"username": USER, "password": PASSWORD}
        # the files' expected bytes
        assert json.loads(api.info_json(s, "etl_daily", R1, "load"))["task_id"] == "load"
        assert api.links_json(s, "etl_daily", R1, "load") == (
            b'{\n  "Databricks Job Run": "https://dbc-1234.cloud.databricks.com/#job/42/run/'
            b'1001",\n  "Runbook": null\n}\n')
        assert api.log_text(s, "etl_daily", R2, "transform", 2, final=False) == s.log_text(
            "etl_daily", R2, "transform", 2).encode()
        assert api.log_text(s, "etl_daily", R3, "process", 1, 1, final=False) == s.log_text(
            "etl_daily", R3, "process", 1, map_index=1).encode()
        # the writes the mount tests expect are accepted
        s.reset()
        for method, path, body in (
                api.expected_state_patch(s, "etl_daily", R1, "load", -1, "failed"),
                api.expected_state_patch(s, "etl_daily", R3, "process", 2, "skipped"),
                api.expected_note_patch(s, "etl_daily", R1, "load", -1, "hé"),
                api.expected_note_patch(s, "etl_daily", R3, "process", 4, "")):
            conn = http.client.HTTPConnection("127.0.0.1", s.port)
            conn.request(method, path, body=json.dumps(body).encode(),
                         headers={**auth, "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            conn.close()
            assert r.status == 200, (path, body)
        assert api.patches(s)[0] == api.expected_state_patch(s, "etl_daily", R1, "load", -1,
                                                             "failed")
        assert s.requests()[0]["body"] == api.state_body_text(s, "failed")
        assert (s.ti("etl_daily", R1, "load")["state"], s.ti("etl_daily", R1, "load")["note"]) \
            == ("failed", "hé")
        assert [s.ti("etl_daily", R3, "process", i)["state"] for i in range(5)] == [
            "success", "running", "skipped", "queued", "failed"]
        assert s.ti("etl_daily", R3, "process", 4)["note"] == ""
        # and the refusal the tests simulate is one
        with api.credentials_refused(s):
            req = urllib.request.Request(s.url + "/api/%s/dags" % api_version, headers=auth)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req)
            assert e.value.code == (401 if api_version == "v1" else 403)
        assert s.config()["password"] == PASSWORD


# --- runs, DAGs, clearing, cross-DAG lists (NOTES.md section 11) ------------------------------

def run_path(dag, run):
    return f"/api/v2/dags/{seg(dag)}/dagRuns/{seg(run)}"


def test_patch_run(fresh):
    r = call(fresh, "PATCH", run_path("etl_daily", R3), {"state": "success"})
    assert r.status == 200 and list(r.json) == RUN_KEYS and r.json["state"] == "success"
    assert fresh.ti("etl_daily", R3, "load")["state"] == "success"
    assert fresh.ti("etl_daily", R3, "load")["updated_at"]
    assert fresh.ti("etl_daily", R3, "process", 4)["state"] == "failed"
    # the note, through update_mask; a null note clears it
    r = call(fresh, "PATCH", run_path("etl_daily", R2) + "?update_mask=note",
             {"note": "INC-42", "state": "queued"})
    assert r.json["note"] == "INC-42" and r.json["state"] == "failed"
    r = call(fresh, "PATCH", run_path("etl_daily", R2) + "?update_mask=note", {"note": None})
    assert r.json["note"] is None
    assert_detail(call(fresh, "PATCH", run_path("etl_daily", R2), {"state": "running"}), 422,
                  [{"type": "enum", "loc": ["body", "state"], "msg": "Input should be "
                    "'queued', 'success' or 'failed'", "input": "running",
                    "ctx": {"expected": "'queued', 'success' or 'failed'"}}])
    assert_detail(call(fresh, "PATCH", run_path("etl_daily", R2),
                       {"state": "failed", "dry_run": False}), 422,
                  [{"type": "extra_forbidden", "loc": ["body", "dry_run"],
                    "msg": "Extra inputs are not permitted", "input": False}])
    r = call(fresh, "PATCH", run_path("etl_daily", R2), {"note": "x" * 1001})
    assert r.status == 422 and r.json["detail"][0]["type"] == "string_too_long"
    assert call(fresh, "PATCH", run_path("etl_daily", "nope"), {"state": "failed"}).status \
        == 404


def test_pause_dag(fresh):
    r = call(fresh, "PATCH", "/api/v2/dags/etl_daily", {"is_paused": True})
    assert r.status == 200 and list(r.json) == DAG_KEYS and r.json["is_paused"] is True
    assert call(fresh, "GET", "/api/v2/dags/etl_daily").json["is_paused"] is True
    r = call(fresh, "PATCH", "/api/v2/dags/etl_daily?update_mask=is_paused",
             {"is_paused": False})
    assert r.json["is_paused"] is False
    assert_detail(call(fresh, "PATCH", "/api/v2/dags/etl_daily", {}), 422,
                  [{"type": "missing", "loc": ["body", "is_paused"], "msg": "Field required",
                    "input": {}}])
    r = call(fresh, "PATCH", "/api/v2/dags/etl_daily", {"is_paused": "maybe"})
    assert r.status == 422 and r.json["detail"][0]["type"] == "bool_parsing"
    assert call(fresh, "PATCH", "/api/v2/dags/nope", {"is_paused": True}).status == 404


def test_clear(fresh):
    fresh.add_dag({"dag_id": "chain", "edges": {"a": ["b"], "b": ["c"]},
                   "runs": [{"dag_run_id": "r1", "state": "failed", "tis": [
                       {"task_id": "a", "state": "failed", "try_number": 1},
                       {"task_id": "b", "state": "upstream_failed", "try_number": 0},
                       {"task_id": "c", "state": "success", "try_number": 1},
                       {"task_id": "m", "map_index": 0, "state": "failed"},
                       {"task_id": "m", "map_index": 1, "state": "failed"}]}]})
    path = "/api/v2/dags/chain/clearTaskInstances"
    # defaults: a dry run of the failed ones
    r = call(fresh, "POST", path, {"dag_run_id": "r1", "task_ids": ["a"],
                                   "include_downstream": True})
    assert r.status == 200 and [t["task_id"] for t in r.json["task_instances"]] == ["a", "b"]
    assert r.json["total_entries"] == 2 and list(r.json["task_instances"][0]) == TI_KEYS
    assert fresh.ti("chain", "r1", "a")["state"] == "failed"
    body = {"dry_run": False, "dag_run_id": "r1", "task_ids": ["a"],
            "include_downstream": True, "reset_dag_runs": True, "only_failed": False}
    r = call(fresh, "POST", path, body)
    assert [(t["task_id"], t["state"]) for t in r.json["task_instances"]] == [
        ("a", None), ("b", None), ("c", None)]
    assert call(fresh, "GET", run_path("chain", "r1")).json["state"] == "queued"
    r = call(fresh, "POST", path, {**body, "task_ids": [["m", 1]]})
    assert [(t["task_id"], t["map_index"]) for t in r.json["task_instances"]] == [("m", 1)]
    assert fresh.ti("chain", "r1", "m", 0)["state"] == "failed"
    r = call(fresh, "POST", path, {**body, "task_ids": [["m", "x"]]})
    assert r.status == 422
    assert_detail(call(fresh, "POST", path, {**body, "zz": 1}), 422,
                  [{"type": "extra_forbidden", "loc": ["body", "zz"],
                    "msg": "Extra inputs are not permitted", "input": 1}])
    assert call(fresh, "POST", path, {**body, "dag_run_id": "nope"}).status == 404


def test_updated_at_moves_with_the_row_not_the_note(fresh):
    call(fresh, "PATCH", ti_path("etl_daily", R1, "load") + "?update_mask=note",
         {"note": "x"})
    assert fresh.ti("etl_daily", R1, "load")["updated_at"] is None
    call(fresh, "PATCH", ti_path("etl_daily", R1, "load"), {"new_state": "failed"})
    assert fresh.ti("etl_daily", R1, "load")["updated_at"]
    since = quote((fa.now() - fa.timedelta(minutes=1)).isoformat(), safe="")
    r = call(fresh, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?state=failed"
             f"&updated_at_gte={since}&limit=100")
    assert [(t["dag_id"], t["dag_run_id"], t["task_id"]) for t in r.json["task_instances"]] \
        == [("etl_daily", R1, "load")]
