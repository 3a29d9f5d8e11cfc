# SPDX-License-Identifier: Apache-2.0
"""Tests of tests/fake_airflow.py: the quirks of a real Airflow 2.10.5 server that the fake
must reproduce. Run: /usr/bin/python3 -m pytest tests/test_fake_server.py"""

import ast
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_airflow as fa  # noqa: E402

AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()
R1 = "scheduled__2024-01-01T00:00:00+00:00"
R2 = "scheduled__2024-01-02T00:00:00+00:00"
R3 = "manual__2024-01-03T10:15:00+00:00"
HEADER = " INFO - ::group::Log message source details\n"


def seg(s):
    """Percent-encode one path segment, leaving only the RFC 3986 unreserved set."""
    return quote(s, safe="")


def ti_path(dag, run, task, *rest):
    return "/".join([f"/api/v1/dags/{seg(dag)}/dagRuns/{seg(run)}/taskInstances/{seg(task)}",
                     *map(str, rest)])


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)


def call(srv, method, path, body=None, headers=None, auth=AUTH):
    hdrs = {"Authorization": auth} if auth else {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(srv.url + path, data=body, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            return Reply(r.status, r.headers, r.read().decode())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read().decode())


@pytest.fixture(scope="module")
def srv():
    s = fa.start()
    yield s
    s.stop()


@pytest.fixture
def fresh(srv):
    """The module's server with the demo data reloaded and the request record cleared."""
    srv.set_data("demo")
    srv.reset()
    return srv


def log_json(srv, path, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = call(srv, "GET", path + ("?" + qs if qs else ""), headers={"Accept": "application/json"})
    assert r.status == 200, r.body
    [(host, text)] = ast.literal_eval(r.json["content"])
    return host, text, fa.token_payload(r.json["continuation_token"]), r.json


def assert_problem(r, status, title, detail=None):
    assert r.status == status, r.body
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json["title"] == title
    if detail is not None:
        assert r.json["detail"] == detail


# --- authentication -------------------------------------------------------------------

def test_version_and_health_need_no_auth(srv):
    r = call(srv, "GET", "/api/v1/version", auth=None)
    assert r.status == 200 and r.json["version"] == "2.10.5"
    assert call(srv, "GET", "/health", auth=None).json["metadatabase"]["status"] == "healthy"


@pytest.mark.parametrize("auth", [None, "Basic " + base64.b64encode(b"admin:nope").decode(),
                                  "Basic !!!", "Bearer sesame"])
def test_unauthenticated(srv, auth):
    r = call(srv, "GET", "/api/v1/dags", auth=auth)
    assert_problem(r, 401, "Unauthorized", None)
    assert r.json["detail"] is None
    assert r.json["type"] == ("https://airflow.apache.org/docs/apache-airflow/2.10.5/"
                              "stable-rest-api-ref.html#section/Errors/Unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Basic"


def test_bearer_token_and_auth_none():
    with fa.start(token="sesame") as s:
        assert call(s, "GET", "/api/v1/dags", auth="Bearer sesame").status == 200
        assert call(s, "GET", "/api/v1/dags", auth="Bearer other").status == 401
    with fa.start(auth="none") as s:
        assert call(s, "GET", "/api/v1/dags", auth=None).status == 200


def test_validation_comes_before_auth(srv):
    r = call(srv, "GET", "/api/v1/dags?nope=1", auth=None)
    assert_problem(r, 400, "Bad Request", "Extra query parameter(s) nope not in spec")


# --- query strictness and paging --------------------------------------------------------

@pytest.mark.parametrize("path, detail", [
    ("/api/v1/dags?foo=1&bar=", "Extra query parameter(s) foo, bar not in spec"),
    (ti_path("etl_daily", R3, "x")[:-2] + "?order_by=map_index",
     "Extra query parameter(s) order_by not in spec"),
    (ti_path("etl_daily", R3, "load", "links") + "?try_number=1",
     "Extra query parameter(s) try_number not in spec"),
    ("/api/v1/dags?limit=abc", "Wrong type, expected 'integer' for query parameter 'limit'"),
    ("/api/v1/dags?limit=1.5", "Wrong type, expected 'integer' for query parameter 'limit'"),
    ("/api/v1/dags?paused=1", "Wrong type, expected 'boolean' for query parameter 'paused'"),
    (ti_path("etl_daily", R1, "load", "logs", 1) + "?full_content=yes",
     "Wrong type, expected 'boolean' for query parameter 'full_content'"),
    (ti_path("etl_daily", R1, "load", "logs", 1) + "?map_index=x",
     "Wrong type, expected 'integer' for query parameter 'map_index'"),
])
def test_bad_query(srv, path, detail):
    assert_problem(call(srv, "GET", path), 400, "Bad Request", detail)


def test_negative_offset_and_limit(srv):
    r = call(srv, "GET", "/api/v1/dags?offset=-1")
    assert r.status == 400 and r.json["detail"].startswith("-1 is less than the minimum of 0")
    assert_problem(call(srv, "GET", "/api/v1/dags?limit=-1"), 400,
                   "Page limit must be a positive integer")


@pytest.mark.parametrize("query, count", [("", 100), ("?limit=1000", 100), ("?limit=0", 100),
                                          ("?limit=7", 7), ("?offset=100", 5),
                                          ("?limit=50&offset=80", 25)])
def test_run_paging(srv, query, count):
    r = call(srv, "GET", "/api/v1/dags/fanout/dagRuns" + query)
    assert len(r.json["dag_runs"]) == count and r.json["total_entries"] == 105


def test_ti_list_has_every_map_index_and_pages(srv):
    run = "scheduled__2024-01-02T00:00:00+00:00"
    base = f"/api/v1/dags/fanout/dagRuns/{seg(run)}/taskInstances"
    first = call(srv, "GET", base + "?limit=1000").json
    rest = call(srv, "GET", base + "?offset=100").json
    assert first["total_entries"] == rest["total_entries"] == 151
    keys = {(t["task_id"], t["map_index"])
            for t in first["task_instances"] + rest["task_instances"]}
    assert len(keys) == 151 and ("start", -1) in keys and ("shard", 149) in keys


def test_lists_of_unknown_parents_are_empty(srv):
    assert call(srv, "GET", "/api/v1/dags/nope/dagRuns").json == {"dag_runs": [],
                                                                  "total_entries": 0}
    r = call(srv, "GET", "/api/v1/dags/etl_daily/dagRuns/nope/taskInstances")
    assert r.json == {"task_instances": [], "total_entries": 0}


def test_dag_list_filters(srv):
    def ids(q):
        return [d["dag_id"] for d in call(srv, "GET", "/api/v1/dags" + q).json["dags"]]
    assert ids("") == ["empty_dag", "etl_daily", "fanout", "ml_training", "reporting"]
    assert "legacy_import" in ids("?only_active=false")
    assert ids("?paused=true") == ["reporting"]
    assert ids("?tags=etl") == ids("?tags=etl,nothing") == ["etl_daily"]
    assert ids("?dag_id_pattern=ING") == ["ml_training", "reporting"]
    assert ids("?order_by=-dag_id")[0] == "reporting"
    dag = call(srv, "GET", "/api/v1/dags/etl_daily").json
    assert dag["tags"] == [{"name": "etl"}, {"name": "daily"}] and dag["is_paused"] is False
    assert call(srv, "GET", "/api/v1/dags?fields=dag_id").json["dags"][0] == {"dag_id": "empty_dag"}


def test_run_order(srv):
    def ids(q):
        return [r["dag_run_id"] for r in
                call(srv, "GET", "/api/v1/dags/etl_daily/dagRuns" + q).json["dag_runs"]]
    assert ids("") == ids("?order_by=id") == ids("?order_by=execution_date") == [R1, R2, R3]
    assert ids("?order_by=-execution_date") == ids("?order_by=-start_date") == [R3, R2, R1]
    assert ids("?order_by=-id&limit=1") == [R3]
    assert call(srv, "GET", "/api/v1/dags/etl_daily/dagRuns?order_by=nope").status == 400
    assert ids("?state=failed") == [R2]


# --- records and 404s -------------------------------------------------------------------

def test_ti_record(srv):
    rec = call(srv, "GET", ti_path("etl_daily", R3, "load")).json
    assert list(rec) == sorted(fa.TI_FIELDS)  # every field, keys sorted like Airflow's JSON
    assert rec["state"] is None and rec["try_number"] == 0 and rec["hostname"] == ""
    done = call(srv, "GET", ti_path("etl_daily", R1, "transform")).json
    assert done["duration"] == 41.25 and done["execution_date"] == "2024-01-01T00:00:00+00:00"
    run = call(srv, "GET", f"/api/v1/dags/etl_daily/dagRuns/{seg(R3)}").json
    assert list(run) == sorted(fa.RUN_FIELDS) and run["conf"] == {"full_refresh": True}


def test_spec_order_without_sorting():
    with fa.start(sort_keys=False) as s:
        assert list(call(s, "GET", ti_path("etl_daily", R3, "load")).json) == list(fa.TI_FIELDS)


def test_json_escapes_non_ascii(srv):
    r = call(srv, "GET", ti_path("etl_daily", R2, "transform"))
    assert "relanc\\u00e9 \\u2713" in r.body
    assert r.json["note"].startswith("relancé ✓")


@pytest.mark.parametrize("path, title, detail", [
    ("/api/v1/dags/nope", "DAG not found", "The DAG with dag_id: nope was not found"),
    ("/api/v1/dags/etl_daily/dagRuns/nope", "DAGRun not found",
     "DAGRun with DAG ID: 'etl_daily' and DagRun ID: 'nope' not found"),
    (ti_path("etl_daily", R3, "nope"), "Task instance not found", None),
    (ti_path("etl_daily", R3, "process"), "Task instance not found",
     "Task instance is mapped, add the map_index value to the URL"),
    (ti_path("etl_daily", R3, "process", 9), "Task instance not found", None),
    (ti_path("etl_daily", R3, "transform", "listMapped"), "Task id transform is not mapped", None),
    (ti_path("etl_daily", R3, "nope", "listMapped"), "Task id nope not found", None),
    (ti_path("etl_daily", R3, "process", "logs", 1), "TaskInstance not found", None),
])
def test_not_found(srv, path, title, detail):
    r = call(srv, "GET", path)
    assert_problem(r, 404, title, detail)
    assert r.json["type"].endswith("#section/Errors/NotFound")


def test_mapped_task(srv):
    r = call(srv, "GET", ti_path("etl_daily", R3, "process", "listMapped")).json
    assert [t["map_index"] for t in r["task_instances"]] == [0, 1, 2, 3, 4]
    assert [t["state"] for t in r["task_instances"]] == ["success", "running", "up_for_retry",
                                                          "queued", "failed"]
    r = call(srv, "GET", ti_path("etl_daily", R3, "process", "listMapped") + "?order_by=-state")
    assert r.json["task_instances"][0]["state"] == "up_for_retry"
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", "listMapped")
                + "?order_by=nope").json["detail"] == "Ordering with 'nope' is not supported"
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", 2)).json["state"] == "up_for_retry"
    # where the upstream failed, the mapped task never expanded: one TI with map_index -1
    assert call(srv, "GET", ti_path("etl_daily", R2, "process")).json["map_index"] == -1
    assert call(srv, "GET", ti_path("etl_daily", R2, "process", "listMapped")).json == {
        "task_instances": [], "total_entries": 0}


def test_routing(srv):
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", -1)).json["type"] == "about:blank"
    r = call(srv, "GET", "/api/v2/version", auth=None)
    assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")
    assert call(srv, "GET", "/nope").headers["Content-Type"].startswith("text/html")
    assert_problem(call(srv, "GET", "/api/v1/nope"), 404, "Not Found")
    assert_problem(call(srv, "POST", ti_path("etl_daily", R3, "load")), 405, "Method Not Allowed")
    # %2F is decoded before routing: such a run is listed but cannot be addressed
    runs = call(srv, "GET", "/api/v1/dags/reporting/dagRuns").json["dag_runs"]
    assert "manual__2024/01/02" in [r["dag_run_id"] for r in runs]
    assert call(srv, "GET", "/api/v1/dags/reporting/dagRuns/manual__2024%2F01%2F02").status == 404
    # a raw "+" in a path stays "+"
    assert call(srv, "GET", f"/api/v1/dags/etl_daily/dagRuns/{R1}").status == 200


def test_double_slash_redirects(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port)
    conn.request("GET", "/api/v1//dags?limit=1", headers={"Authorization": AUTH})
    r = conn.getresponse()
    r.read()
    assert r.status == 308 and r.getheader("Location") == "/api/v1/dags?limit=1"


# --- logs -------------------------------------------------------------------------------

@pytest.mark.parametrize("accept, kind", [
    ("*/*", "text/plain"), ("application/json, text/plain, */*", "text/plain"),
    ("application/json", "json"), (None, "json"), ("text/plain", "text/plain"),
    ("text/*", "text/plain"), ("application/json;q=0.9, text/plain;q=0.8", "json"),
    ("text/plain;q=0.5, application/json", "json"), ("text/plain; charset=utf-8", "json"),
    ("*/*, text/plain;q=0", "json"), ("*/*, text/*;q=0.5", "json"), ("text/html", "json"),
    ("application/*;q=1, application/json;q=0, text/plain;q=0.1", "text/plain"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/plain"),
])
def test_log_accept_negotiation(srv, accept, kind):
    # expected values checked against werkzeug 2.2's MIMEAccept.best_match
    r = call(srv, "GET", ti_path("etl_daily", R1, "transform", "logs", 1),
             headers={"Accept": accept} if accept else {})  # urllib sends no Accept
    assert r.status == 200
    if kind == "json":
        assert r.headers["Content-Type"] == "application/json" and "content" in r.json
    else:
        assert r.headers["Content-Type"] == "text/plain" and r.body.startswith("worker-1\n")


def test_log_json_content_is_a_python_repr(srv):
    path = ti_path("etl_daily", R1, "transform", "logs", 1)
    host, text, token, raw = log_json(srv, path)
    assert raw["content"].startswith("[('worker-1', ' INFO - ::group::")
    assert host == "worker-1"
    assert text.startswith(HEADER + "*** Found local files:\n***   * /opt/airflow/logs/dag_id="
                           f"etl_daily/run_id={R1}/task_id=transform/attempt=1.log\n"
                           " INFO - ::endgroup::\n[2024-01-02T00:00:12.000+0000] ")
    body = text.split(" INFO - ::endgroup::\n", 1)[1]
    assert token == {"end_of_log": True, "log_pos": len(body)}
    assert not body.endswith("\n")  # lines are re-joined with "\n"
    plain = call(srv, "GET", path, headers={"Accept": "text/plain"}).body
    assert plain == host + "\n" + text + "\n"


def test_log_repr_quotes(srv):
    # only single quotes in the text: Python's repr switches to double quotes
    _, text, _, raw = log_json(srv, ti_path("ml_training", R1, "train_model", "logs", 1))
    assert raw["content"].startswith("[('gpu-worker-0', \" INFO")
    assert "Feature 'tenure_days'" in text and "\tloss=" in text
    assert "Modèle entraîné ✓" in text
    assert "🚀" in text
    # both kinds of quotes: single-quoted with \' escapes
    _, text, _, raw = log_json(srv, ti_path("etl_daily", R2, "transform", "logs", 1))
    assert "\\'/data/raw/orders/2024-01-02.parquet\\'" in raw["content"]
    # control characters are escaped (\x1b) in the repr
    _, text, _, raw = log_json(srv, ti_path("reporting", "scheduled__2024-01-01T06:00:00+00:00",
                                            "build_report", "logs", 1))
    assert "\\\\x1b[32m" in json.dumps(raw["content"]) and "\x1b[32m" in text


def test_two_tries_differ_and_blank_lines_are_dropped(srv):
    _, one, _, _ = log_json(srv, ti_path("etl_daily", R2, "transform", "logs", 1))
    _, two, tok, _ = log_json(srv, ti_path("etl_daily", R2, "transform", "logs", 2))
    assert "FileNotFoundError" in one and "Starting attempt 1 of 2" in one
    assert "UniqueViolation" in two and "FileNotFoundError" not in two
    assert "Starting attempt 2 of 2" in two and tok["end_of_log"] is True
    assert "\n\n" not in two
    assert "already exists.\nThe above exception was the direct cause" in two


def test_log_token_resume_on_a_growing_log(fresh):
    path = ti_path("etl_daily", R3, "process", "logs", 1)
    host, first, tok, raw = log_json(fresh, path, map_index=1)
    assert "map_index=1/attempt=1.log" in first and tok["end_of_log"] is False
    line = "[2024-01-03T10:16:50.000+0000] {logging_mixin.py:190} INFO - Batch 3/4 written\n"
    fresh.update_ti("etl_daily", R3, "process", 1, append_log=line)
    _, tail, tok2, _ = log_json(fresh, path, map_index=1, token=raw["continuation_token"])
    assert tail == "\n" + line.rstrip("\n") and tok2["log_pos"] == tok["log_pos"] + len(tail)
    _, full, _, _ = log_json(fresh, path, map_index=1)
    assert full == first + tail
    # the token is ignored by text/plain, which always starts from the beginning
    r = call(fresh, "GET", path + "?map_index=1&token=" + raw["continuation_token"],
             headers={"Accept": "text/plain"})
    assert r.body == host + "\n" + full + "\n"
    # once the TI has finished, the log is complete
    call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 1),
         {"dry_run": False, "new_state": "success"})
    _, rest, tok3, _ = log_json(fresh, path, map_index=1, token=raw["continuation_token"])
    assert rest == tail and tok3["end_of_log"] is True


def test_log_special_tries(srv):
    host, text, tok, _ = log_json(srv, ti_path("etl_daily", R1, "transform", "logs", 0))
    assert (host, text, tok) == ("default_host", "Error fetching the logs. Try number 0 is "
                                 "invalid.", {"end_of_log": True})
    _, text, tok, _ = log_json(srv, ti_path("etl_daily", R1, "transform", "logs", 3))
    assert text.startswith(HEADER + "*** Could not read served logs: ") and tok["end_of_log"]
    # a queued TI (try_number 1, no file yet): the header alone
    _, text, tok, _ = log_json(srv, ti_path("etl_daily", R3, "process", "logs", 1), map_index=3)
    assert text == HEADER + " INFO - ::endgroup::\n" and tok == {"end_of_log": True, "log_pos": 0}


def test_bad_token(srv):
    forged = fa.Serializer("other-key").dumps({"end_of_log": False, "log_pos": 0})
    for token in (forged, "abc", "eyJ9.bad"):
        r = call(srv, "GET", ti_path("etl_daily", R1, "transform", "logs", 1) + "?token=" + token,
                 headers={"Accept": "application/json"})
        assert_problem(r, 400, "Bad Signature. Please use only the tokens provided by the API.")


def test_token_matches_itsdangerous():
    # reference values made with itsdangerous 2.1 URLSafeSerializer("fake-airflow-secret-key")
    s = fa.Serializer("fake-airflow-secret-key")
    assert s.dumps({"end_of_log": True, "log_pos": 1234}) == (
        "eyJlbmRfb2ZfbG9nIjp0cnVlLCJsb2dfcG9zIjoxMjM0fQ.NTnyFIIr53cbeXUqh6vU1YOqQgk")
    compressed = ".eJyrVqpQslJKHAVEA6VaAJ7Ic98.xx5oPcN4jnCWv8ZnI9kEgtfEjhA"
    assert s.dumps({"x": "a" * 300}) == compressed
    assert s.loads(compressed) == fa.token_payload(compressed) == {"x": "a" * 300}


# --- links --------------------------------------------------------------------------------

def test_links(srv):
    r = call(srv, "GET", ti_path("etl_daily", R1, "load", "links"))
    url = "https://dbc-1234.cloud.databricks.com/#job/42/run/1001"
    assert r.json == {"Databricks Job Run": url, "Runbook": None}
    assert list(json.loads(r.body)) == ["Databricks Job Run", "Runbook"]
    assert call(srv, "GET", ti_path("etl_daily", R1, "group.extract", "links")).json == {}
    assert call(srv, "GET", ti_path("etl_daily", R3, "process", "links")
                + "?map_index=2").json == {}
    assert_problem(call(srv, "GET", ti_path("etl_daily", R3, "process", "links")), 404,
                   "DAG Run not found")


# --- writes -------------------------------------------------------------------------------

def test_patch_state_is_a_dry_run_by_default(fresh):
    path = ti_path("etl_daily", R3, "transform")
    r = call(fresh, "PATCH", path, {"new_state": "failed"})
    assert r.status == 200 and r.json == {"dag_id": "etl_daily", "dag_run_id": R3,
                                          "execution_date": "2024-01-03T10:15:00+00:00",
                                          "task_id": "transform"}
    assert fresh.ti("etl_daily", R3, "transform")["state"] == "success"
    r = call(fresh, "PATCH", path, {"dry_run": False, "new_state": "failed"})
    assert r.status == 200 and r.json == {}
    assert call(fresh, "GET", path).json["state"] == "failed"
    # a TI without an end date gets one
    call(fresh, "PATCH", ti_path("etl_daily", R3, "load"),
         {"dry_run": False, "new_state": "skipped"})
    rec = call(fresh, "GET", ti_path("etl_daily", R3, "load")).json
    assert rec["state"] == "skipped" and rec["end_date"] and rec["start_date"]


@pytest.mark.parametrize("body, status, detail", [
    ({"dry_run": False, "new_state": "running"}, 400,
     "'running' is not one of ['success', 'failed', 'skipped'] - 'new_state'"),
    ({"new_state": "Success"}, 400,
     "'Success' is not one of ['success', 'failed', 'skipped'] - 'new_state'"),
    ({"dry_run": "false", "new_state": "success"}, 400,
     "'false' is not of type 'boolean' - 'dry_run'"),
    ({"new_state": "success", "include_upstream": False}, 400,
     "{'include_upstream': ['Unknown field.']}"),
    ({"dry_run": False}, 400, "{'new_state': ['Missing data for required field.']}"),
    ([], 400, "[] is not of type 'object'"),
    (b"{", 400, "Request body is not valid JSON"),
    (b"", 400, "Request body must not be empty"),
])
def test_patch_state_validation(fresh, body, status, detail):
    hdrs = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform"), body, headers=hdrs)
    assert_problem(r, status, "Bad Request", detail)
    assert fresh.ti("etl_daily", R3, "transform")["state"] == "success"


def test_patch_needs_a_json_content_type(fresh):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform"), b'{"new_state": "failed"}',
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415, "Unsupported Media Type")


def test_patch_mapped(fresh):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process"),
             {"dry_run": False, "new_state": "success"})
    assert r.status == 404  # PATCH looks up map_index -1 and does not say "mapped"
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 4),
             {"dry_run": False, "new_state": "success"})
    assert r.status == 200 and fresh.ti("etl_daily", R3, "process", 4)["state"] == "success"


def test_set_note(fresh):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform", "setNote"), {"note": "héllo"})
    assert r.status == 200 and r.json["note"] == "héllo" and r.json["task_id"] == "transform"
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", 2, "setNote"), {"note": ""})
    assert r.json["note"] == "" and r.json["map_index"] == 2
    # 1000 characters (2000 bytes in UTF-8) is the limit
    assert call(fresh, "PATCH", ti_path("etl_daily", R3, "load", "setNote"),
                {"note": "é" * 1000}).status == 200
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "load", "setNote"), {"note": "x" * 1001})
    assert_problem(r, 400, "Bad Request", "{'note': ['Longer than maximum length 1000.']}")
    assert fresh.ti("etl_daily", R3, "load")["note"] == "é" * 1000


@pytest.mark.parametrize("body, detail", [
    ({"note": None}, "None is not of type 'string' - 'note'"),
    ({}, "'note' is a required property"),
    ({"note": 5}, "5 is not of type 'string' - 'note'"),
    ({"note": "x", "text": "y"}, "{'text': ['Unknown field.']}"),
])
def test_set_note_validation(fresh, body, detail):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "transform", "setNote"), body)
    assert_problem(r, 400, "Bad Request", detail)


def test_set_note_on_a_mapped_task_needs_the_index(fresh):
    r = call(fresh, "PATCH", ti_path("etl_daily", R3, "process", "setNote"), {"note": "x"})
    assert r.status == 404


# --- recording, control endpoints, CLI ---------------------------------------------------

def test_raw_paths_are_recorded(fresh):
    run = "manual__re-run #2: 50% + ünïcode"
    path = f"/api/v1/dags/reporting/dagRuns/{seg(run)}"
    assert "%23" in path and "%25" in path and "%2B" in path and "%3A" in path
    r = call(fresh, "GET", path + "?fields=state,dag_run_id")
    assert r.json == {"dag_run_id": run, "state": "success"}
    call(fresh, "GET", "/_fake/requests")  # control endpoints are not recorded
    [rec] = fresh.requests()
    assert rec["method"] == "GET" and rec["path"] == path
    assert rec["query"] == "fields=state,dag_run_id" and rec["status"] == 200
    assert rec["headers"]["Authorization"] == AUTH and rec["body"] == ""
    # through HTTP too
    assert call(fresh, "GET", "/_fake/requests", auth=None).json[0]["path"] == path
    call(fresh, "POST", "/_fake/reset", b"", auth=None)
    assert fresh.requests() == []


def test_control_endpoints(fresh):
    q = f"?dag=etl_daily&run={seg(R3)}&task=process&map_index=1"
    ti = call(fresh, "GET", "/_fake/ti" + q, auth=None).json
    assert ti["state"] == "running" and len(ti["logs"]) == 1
    key = {"dag": "etl_daily", "run": R3, "task": "process"}
    r = call(fresh, "POST", "/_fake/ti", {**key, "map_index": 1, "state": "failed", "note": "n"},
             auth=None)
    assert r.status == 200 and r.json["state"] == "failed"
    assert call(fresh, "GET", ti_path("etl_daily", R3, "process", 1)).json["note"] == "n"
    assert call(fresh, "POST", "/_fake/ti", {**key, "map_index": 1, "statee": "x"},
                auth=None).status == 400  # a typo in a field name
    assert call(fresh, "POST", "/_fake/ti", {**key, "state": "x"},
                auth=None).status == 404  # process has no map_index -1 in R3
    assert call(fresh, "GET", "/_fake/ti?dag=x&run=y&task=z", auth=None).status == 404
    data = {"dags": [{"dag_id": "only", "runs": [{"dag_run_id": "manual__x", "tis": [
        {"task_id": "t", "state": "running", "logs": ["a\n"]}]}]}]}
    assert call(fresh, "POST", "/_fake/data", data, auth=None).status == 200
    assert [d["dag_id"] for d in call(fresh, "GET", "/api/v1/dags").json["dags"]] == ["only"]
    assert call(fresh, "POST", "/_fake/data", {"dags": [{"dag_idd": "x"}]}, auth=None).status == 400
    assert call(fresh, "GET", "/_fake/data", auth=None).json["dags"][0]["dag_id"] == "only"


def test_keep_alive(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port)
    conn.connect()
    local = conn.sock.getsockname()
    for path in ("/api/v1/dags", "/api/v1/nope", ti_path("etl_daily", R1, "load"), "/nope"):
        conn.request("GET", path, headers={"Authorization": AUTH})
        r = conn.getresponse()
        assert int(r.getheader("Content-Length")) == len(r.read())
    conn.request("PATCH", ti_path("etl_daily", R1, "load"), body=b'{"new_state": "success"}',
                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    assert conn.getresponse().read()
    assert conn.sock.getsockname() == local  # one connection served them all
    # no Nagle/delayed-ACK stall (~40 ms a request) on a kept-alive connection
    t0 = time.monotonic()
    for _ in range(20):
        conn.request("GET", "/api/v1/version")
        conn.getresponse().read()
    assert time.monotonic() - t0 < 0.5
    conn.close()


def test_latency():
    with fa.start(latency_ms=150) as s:
        t0 = time.monotonic()
        call(s, "GET", "/api/v1/version")
        assert time.monotonic() - t0 >= 0.15


def test_cli(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__),
                                                          "fake_airflow.py"),
                             "--port", "0", "--port-file", str(port_file), "--auth", "none"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(port_file.read_text())
        assert line == f"fake-airflow listening on http://127.0.0.1:{port}\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/dags") as r:
            assert json.load(r)["total_entries"] == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.stdout.close()


# --- growing logs ---------------------------------------------------------------------------

GROW_RUN = "manual__2024-01-05T00:00:00+00:00"


@pytest.fixture
def own():
    """A server of its own (demo data plus the DAG `growing`), stopped at the end."""
    s = fa.start()
    s.add_dag({"dag_id": "growing", "runs": [{"dag_run_id": GROW_RUN, "state": "running", "tis": [
        {"task_id": "t", "state": "queued", "try_number": 1,
         "start_date": "2024-01-05T00:00:01.250000+00:00"},
        {"task_id": "u", "state": "queued", "try_number": 1}]}]})
    yield s
    s.stop()


def test_add_dag(own):
    dags = call(own, "GET", "/api/v1/dags?limit=100").json["dags"]
    assert [d["dag_id"] for d in dags][-3:] == ["growing", "ml_training", "reporting"]
    runs = call(own, "GET", "/api/v1/dags/~/dagRuns?order_by=-id&limit=1").json["dag_runs"]
    assert runs[0]["dag_run_id"] == GROW_RUN and runs[0]["dag_id"] == "growing"
    with pytest.raises(ValueError, match="duplicate dag_id"):
        own.add_dag({"dag_id": "growing"})
    r = call(own, "POST", "/_fake/dag", {"dag_id": "more", "tasks": ["x"]}, auth=None)
    assert r.status == 200 and call(own, "GET", "/api/v1/dags/more").status == 200
    assert call(own, "POST", "/_fake/dag", {"dag_id": "more"}, auth=None).status == 400


def test_grow_rate_lines_and_final_state(own):
    t0 = time.monotonic()
    g = own.grow("growing", GROW_RUN, "t", lines=6, every=0.1)
    ti = own.ti("growing", GROW_RUN, "t")
    assert ti["state"] == "running" and ti["end_date"] is None and ti["logs"] == [""]
    assert g.base == fa.parse_dt("2024-01-05T00:00:01.250000+00:00") and g.try_number == 1
    assert g.line(1) == "[2024-01-05T00:00:02.250+0000] {logging_mixin.py:190} INFO - tick 1 of 6"
    time.sleep(0.35)
    assert 1 <= g.written <= 5 and not g.done.is_set()
    assert own.ti("growing", GROW_RUN, "t")["logs"] == [g.expected_text(g.written)]
    assert g.done.wait(3) and g.outcome == "finished" and g.written == 6
    assert 0.55 <= time.monotonic() - t0 < 3
    ti = own.ti("growing", GROW_RUN, "t")
    assert ti["state"] == "success" and ti["end_date"] is not None
    text = g.expected_text()
    assert ti["logs"] == [text] and text == "".join(
        f"[2024-01-05T00:00:0{1 + n}.250+0000] {{logging_mixin.py:190}} INFO - tick {n} of 6\n"
        for n in range(1, 7))
    served = own.log_text("growing", GROW_RUN, "t", 1)
    assert served.endswith(" INFO - ::endgroup::\n" + text[:-1])
    assert served == log_json(own, ti_path("growing", GROW_RUN, "t", "logs", 1))[1]


def test_grow_token_resume_and_end_of_log(own):
    # a running TI with a log already: new lines are stamped after its last line
    path = ti_path("etl_daily", R3, "process", "logs", 1)
    before = own.ti("etl_daily", R3, "process", 1)["logs"][0]
    g = own.grow("etl_daily", R3, "process", map_index=1, lines=8, every=0.08)
    assert g.expected_text(0) == before and fa.served_text(g.expected_text()).startswith(
        fa.served_text(before))
    _, text, tok, raw = log_json(own, path, map_index=1)
    assert tok["end_of_log"] is False
    seen, token, reads = text, raw["continuation_token"], 0
    while True:
        _, tail, tok, raw = log_json(own, path, map_index=1, token=token)
        seen += tail
        token, reads = raw["continuation_token"], reads + 1
        _, full, _, _ = log_json(own, path, map_index=1)
        assert full.startswith(seen)  # the resume property, at every step
        if tok["end_of_log"]:
            break
        time.sleep(0.03)
    assert reads > 3 and g.done.is_set() and g.outcome == "finished"
    assert seen == own.log_text("etl_daily", R3, "process", 1, map_index=1)
    header = text[:text.index(" INFO - ::endgroup::\n") + len(" INFO - ::endgroup::\n")]
    assert seen == header + fa.served_text(g.expected_text())
    assert tok["log_pos"] == len(seen) - len(header)
    assert own.ti("etl_daily", R3, "process", 1)["state"] == "success"


def test_grow_stops(own):
    g = own.grow("growing", GROW_RUN, "t", lines=100, every=0.05, then_state="failed",
                 line_fmt="[{ts}] {{worker.py:7}} INFO - step {n}/{lines}")
    h = own.grow("growing", GROW_RUN, "u", lines=100, every=0.05,
                 line_fmt=lambda ts, n, lines: f"custom {n}")
    time.sleep(0.2)
    assert own.stop_growing() == 2
    assert g.done.is_set() and g.outcome == "stopped" and 1 <= g.written < 100
    assert own.ti("growing", GROW_RUN, "t")["state"] == "running"  # left as it was
    assert own.ti("growing", GROW_RUN, "t")["logs"] == [g.expected_text(g.written)]
    assert g.line(2) == "[2024-01-05T00:00:03.250+0000] {worker.py:7} INFO - step 2/100"
    assert h.line(3) == "custom 3" and h.outcome == "stopped"
    # a TI that stops running (here: marked failed) ends its grower
    old, g = g, own.grow("growing", GROW_RUN, "t", lines=100, every=0.05)
    assert g.base == old.base + fa.timedelta(seconds=old.written)  # the last line's stamp
    time.sleep(0.12)
    call(own, "PATCH", ti_path("growing", GROW_RUN, "t"), {"dry_run": False, "new_state": "failed"})
    assert g.done.wait(1) and g.outcome == "ti changed"
    # so does a new dataset
    g = own.grow("growing", GROW_RUN, "t", lines=100, every=0.05)
    own.set_data("demo")
    assert g.done.is_set() and g.outcome == "stopped"
    with pytest.raises(KeyError):
        own.grow("growing", GROW_RUN, "t")
    with pytest.raises(ValueError):
        own.grow("etl_daily", R3, "process", map_index=1, line_fmt="two\nlines")
    assert own.ti("etl_daily", R3, "process", 1)["logs"][0].endswith("Batch 2/4 written\n")


def test_grow_control_endpoints(own):
    r = call(own, "POST", "/_fake/grow", {"dag": "growing", "run": GROW_RUN, "task": "t",
                                          "lines": 3, "every": 0.05}, auth=None)
    assert r.status == 200 and r.json["lines"] == 3 and r.json["try_number"] == 1
    assert r.json["expected_text"].endswith("INFO - tick 3 of 3\n")
    [g] = own.growers()
    assert g.done.wait(2)
    [st] = call(own, "GET", "/_fake/grow", auth=None).json
    assert st["id"] == r.json["id"] and st["written"] == 3 and st["outcome"] == "finished"
    q = f"?dag=growing&run={seg(GROW_RUN)}&task=t&try=1"
    r2 = call(own, "GET", "/_fake/log_text" + q, auth=None)
    assert r2.body == own.log_text("growing", GROW_RUN, "t", 1)
    assert r2.body.endswith(r.json["expected_text"][:-1])
    assert call(own, "GET", "/_fake/log_text?dag=x&run=y&task=z", auth=None).status == 404
    assert call(own, "POST", "/_fake/grow", {"dag": "growing", "run": GROW_RUN, "task": "t",
                                             "line": 3}, auth=None).status == 400
    assert call(own, "POST", "/_fake/stop_growing", b"", auth=None).json == {"stopped": 0}


# --- generated logs -------------------------------------------------------------------------

def test_generated_log_rules():
    for size in (fa.GEN_MIN_BYTES, 80, 333, 200_000):
        text = fa.generated_log(size, 7)
        assert len(text) == size and text.isascii() and text.endswith("\n")
        lines = text.splitlines()
        assert all(line.strip() for line in lines)
        assert [i for i, line in enumerate(lines, 1) if "ERROR" in line] == list(
            range(97, len(lines), 97))
        assert fa.served_text(text) == text[:-1]  # no blank line, no reordering, no dedup
        last = lines[-1]
        stamp = fa._logts(fa.GEN_BASE + fa.timedelta(milliseconds=len(lines) - 1))
        assert last.startswith(f"[{stamp}] {{fake_airflow.py:1}} INFO - end of generated log")
        assert set(last.split("end of generated log", 1)[1]) <= {"."}
    lines = text.splitlines()
    assert len(lines) > 1000 and lines[96].startswith("[2024-01-04T00:00:00.096+0000] {")
    assert " ERROR - " in lines[96] and " ERROR - " in lines[193]
    assert lines[1000].startswith("[2024-01-04T00:00:01.000+0000] ")
    assert len(set(lines)) == len(lines)
    fa._gen_cache.clear()
    assert fa.generated_log(200_000, 7) == text  # deterministic
    assert fa.generated_log(200_000, 8) != text
    assert fa.generated_log(500_000, 7).splitlines()[:len(lines) - 1] == lines[:-1]  # a prefix
    with pytest.raises(ValueError):
        fa.generated_log(fa.GEN_MIN_BYTES - 1, 7)
    for bad in ({"generate": {"bytes": 10}}, {"generate": {"bytes": 100, "x": 1}},
                {"generate": {"seed": 1}}, {"gen": {"bytes": 100}}, 5):
        with pytest.raises(fa.DatasetError):
            fa.normalize_ti({"task_id": "t", "logs": [bad]})
    assert fa.normalize_ti({"task_id": "t", "logs": [{"generate": {"bytes": 100}}]})["logs"] \
        == [{"generate": {"bytes": 100, "seed": 0}}]


def test_generated_log_is_served(own):
    size = 300_000
    own.add_dag({"dag_id": "gen", "runs": [{"dag_run_id": GROW_RUN, "tis": [
        {"task_id": "g", "state": "success", "try_number": 2,
         "logs": ["try one\n", {"generate": {"bytes": size, "seed": 3}}]}]}]})
    path = ti_path("gen", GROW_RUN, "g", "logs", 2)
    expected = own.log_text("gen", GROW_RUN, "g", 2)
    assert expected == (HEADER + "*** Found local files:\n***   * /opt/airflow/logs/dag_id=gen/"
                        f"run_id={GROW_RUN}/task_id=g/attempt=2.log\n INFO - ::endgroup::\n"
                        + fa.generated_log(size, 3)[:-1])
    host, text, tok, raw = log_json(own, path)
    assert raw["content"].startswith("[('worker-1', \" INFO")  # the text has ' and no "
    assert text == expected and tok == {"end_of_log": True, "log_pos": size - 1}
    for _ in range(2):  # the second answer comes from the cache
        r = call(own, "GET", path, headers={"Accept": "text/plain"})
        assert r.body == "worker-1\n" + expected + "\n"
    _, rest, tok2, _ = log_json(own, path, token=raw["continuation_token"])
    assert rest == "" and tok2 == tok
    mid = fa.Serializer("fake-airflow-secret-key").dumps({"end_of_log": False, "log_pos": 1000})
    assert log_json(own, path, token=mid)[1] == fa.generated_log(size, 3)[1000:-1]
    assert own.log_text("gen", GROW_RUN, "g", 1).endswith(" INFO - ::endgroup::\ntry one")
    assert own.data()["dags"][-1]["runs"][0]["tis"][0]["logs"][1] == {
        "generate": {"bytes": size, "seed": 3}}
    # appending to a generated log makes it a plain one
    own.update_ti("gen", GROW_RUN, "g", append_log="[2024-01-04T01:00:00.000+0000] more\n")
    assert own.log_text("gen", GROW_RUN, "g", 2) == (
        expected + "\n[2024-01-04T01:00:00.000+0000] more")


def test_generated_log_20mb_json(own):
    size = 20_000_000
    own.add_dag(fa.big_logs_dag(size))
    path = ti_path("big_logs", fa.BIG_LOGS_RUN, "huge", "logs", 1)
    t0 = time.monotonic()
    fa.generated_log(size, 7)
    t1 = time.monotonic()
    r = call(own, "GET", path, headers={"Accept": "application/json"})
    t2 = time.monotonic()
    [(host, text)] = ast.literal_eval(r.json["content"])
    t3 = time.monotonic()
    assert r.status == 200 and text == own.log_text("big_logs", fa.BIG_LOGS_RUN, "huge", 1)
    assert fa.token_payload(r.json["continuation_token"])["log_pos"] == size - 1
    t4 = time.monotonic()
    call(own, "GET", path, headers={"Accept": "application/json"})
    t5 = time.monotonic()
    print(f"\n20 MB generated log: generate {t1 - t0:.2f} s, first JSON answer "
          f"({len(r.body) / 1e6:.1f} MB) {t2 - t1:.2f} s, literal_eval {t3 - t2:.2f} s, "
          f"cached JSON answer {t5 - t4:.2f} s")
    lines = text.count("\n") - 3  # 4 header lines, and no final newline
    assert text.count("ERROR") == (lines - 1) // 97  # not the last line


def test_cli_big_log(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__),
                                                          "fake_airflow.py"),
                             "--port-file", str(port_file), "--auth", "none",
                             "--big-log-mb", "0.5"], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        port = int(port_file.read_text())
        url = (f"http://127.0.0.1:{port}" + ti_path("big_logs", fa.BIG_LOGS_RUN, "huge", "logs", 1))
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "*/*"})) as r:
            assert r.read().decode() == "worker-1\n" + fa.served_log(
                {"generate": {"bytes": 500_000, "seed": 7}}).join([
                    HEADER + "*** Found local files:\n***   * /opt/airflow/logs/dag_id=big_logs/"
                    f"run_id={fa.BIG_LOGS_RUN}/task_id=huge/attempt=1.log\n"
                    " INFO - ::endgroup::\n", "\n"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.stdout.close()


# --- fault injection (either API) ---------------------------------------------------------

@pytest.fixture(scope="module", params=["v1", "v2"])
def faulty_srv(request):
    s = fa.start(api=request.param)
    yield s
    s.stop()


@pytest.fixture
def faulty(faulty_srv):
    faulty_srv.set_data("demo")
    faulty_srv.clear_faults()
    faulty_srv.resume()
    faulty_srv.reset()
    yield faulty_srv
    faulty_srv.clear_faults()
    faulty_srv.resume()


def base_of(srv):
    return "/api/v1" if srv.api == "v1" else "/api/v2"


def ti_url(srv, task="load"):
    return f"{base_of(srv)}/dags/etl_daily/dagRuns/{seg(R1)}/taskInstances/{task}"


def auth_of(srv):
    if not hasattr(srv, "api"):  # a Recorder
        return None
    return AUTH if srv.api == "v1" else "Bearer " + srv.issue_token()


def raw(srv, method, path, timeout=5, body=None, headers=None):
    """One request on its own connection: (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    hdrs = {"Accept": "application/json", **(headers or {})}
    hdrs.setdefault("Authorization", auth_of(srv))
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def handler_threads():
    """The request handler threads alive now (socketserver names them "Thread-N
    (process_request_thread)")."""
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_fault_status_for_the_next_k_requests(faulty):
    faulty.inject(method="GET", path=ti_url(faulty), status=503, count=2)
    faulty.inject(method="PATCH", status=500)
    assert [raw(faulty, "GET", ti_url(faulty))[0] for _ in range(3)] == [503, 503, 200]
    assert raw(faulty, "GET", ti_url(faulty, "notify"))[0] == 200  # another path
    assert [f["method"] for f in faulty.faults()] == ["PATCH"]
    status, headers, body = raw(faulty, "GET", "/api/v1/version" if faulty.api == "v1"
                                else "/api/v2/version")
    assert status == 200
    recs = faulty.requests()
    assert [r.get("fault") for r in recs] == ["status 503", "status 503", None, None, None]
    assert [r["status"] for r in recs] == [503, 503, 200, 200, 200]


def test_fault_error_bodies_per_api(faulty):
    faulty.inject(status=502)
    status, headers, body = raw(faulty, "GET", ti_url(faulty))
    assert status == 502
    if faulty.api == "v1":
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(body)["title"] == "Bad Gateway"
    else:
        assert json.loads(body) == {"detail": "injected fault"}


def test_fault_wrong_types_truncation_and_invalid_utf8(faulty):
    good = json.loads(raw(faulty, "GET", ti_url(faulty))[2])
    faulty.inject(path=ti_url(faulty), set_fields={"state": 42, "try_number": "one"})
    obj = json.loads(raw(faulty, "GET", ti_url(faulty))[2])
    assert obj == {**good, "state": 42, "try_number": "one"}
    # truncated, with a Content-Length that says so
    faulty.inject(path=ti_url(faulty), truncate=-5)
    status, headers, body = raw(faulty, "GET", ti_url(faulty))
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    with pytest.raises(ValueError):
        json.loads(body)
    full = raw(faulty, "GET", ti_url(faulty))[2]
    faulty.inject(path=ti_url(faulty), truncate=10)
    assert raw(faulty, "GET", ti_url(faulty))[2] == full[:10]
    # invalid UTF-8 inside a JSON string
    faulty.inject(path=ti_url(faulty), replace=[(b'"success"', b'"succ\xffess"')])
    body = raw(faulty, "GET", ti_url(faulty))[2]
    assert b'"succ\xffess"' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    # a body of its own, the status kept
    faulty.inject(path=ti_url(faulty), body=b"[1, 2")
    assert raw(faulty, "GET", ti_url(faulty))[:3:2] == (200, b"[1, 2")


def test_fault_content_type_and_proxy_pages(faulty):
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>\n"
    for status in (200, 502):
        faulty.inject(path=ti_url(faulty), status=status, body=page,
                      content_type="text/html; charset=utf-8")
        s, headers, body = raw(faulty, "GET", ti_url(faulty))
        assert (s, headers["Content-Type"], body) == (status, "text/html; charset=utf-8",
                                                      page.encode())
    # the real answer under another type
    faulty.inject(path=ti_url(faulty), content_type="text/plain")
    s, headers, body = raw(faulty, "GET", ti_url(faulty))
    assert s == 200 and headers["Content-Type"] == "text/plain"
    assert json.loads(body)["task_id"] == "load"


def test_fault_extra_headers_retry_after(faulty):
    faulty.inject(status=429, headers={"Retry-After": "1"})
    s, headers, _ = raw(faulty, "GET", ti_url(faulty))
    assert s == 429 and headers["Retry-After"] == "1"


def test_fault_redirects_and_the_other_origin(faulty):
    with fa.Recorder() as other:
        for status in (301, 302, 307):
            faulty.inject(path=ti_url(faulty), status=status,
                          headers={"Location": other.url + "/elsewhere"}, body=b"")
            s, headers, body = raw(faulty, "GET", ti_url(faulty))
            assert (s, headers["Location"], body) == (status, other.url + "/elsewhere", b"")
        assert other.requests() == []
        assert raw(other, "GET", "/x?y=1", headers={"Authorization": "Basic Zm9v"})[0] == 200
        [rec] = other.requests()
        assert (rec["method"], rec["path"], rec["query"]) == ("GET", "/x", "y=1")
        assert rec["headers"]["Authorization"] == "Basic Zm9v"


def test_fault_huge_body(faulty):
    big = "x" * (9 << 20)
    faulty.inject(path=ti_url(faulty), set_fields={"rendered_fields": {"sql": big}})
    s, headers, body = raw(faulty, "GET", ti_url(faulty))
    assert s == 200 and len(body) > 9 << 20 == len(big)
    assert json.loads(body)["rendered_fields"]["sql"] == big


def test_fault_drop_mid_body(faulty):
    full = raw(faulty, "GET", ti_url(faulty))[2]
    faulty.inject(path=ti_url(faulty), drop=20)
    conn = http.client.HTTPConnection("127.0.0.1", faulty.port, timeout=5)
    conn.request("GET", ti_url(faulty), headers={"Authorization": auth_of(faulty)})
    r = conn.getresponse()
    assert r.status == 200 and int(r.getheader("Content-Length")) == len(full)
    with pytest.raises(http.client.IncompleteRead) as e:
        r.read()
    assert e.value.partial == full[:20]
    conn.close()
    [rec] = faulty.requests()[1:]
    assert rec["fault"] == "drop" and rec["status"] == 200
    assert raw(faulty, "GET", ti_url(faulty))[2] == full  # count=1: over


def test_fault_hang_until_cleared(faulty):
    before = len(handler_threads())
    faulty.inject(path=ti_url(faulty), hang=True, count=2)
    with pytest.raises(TimeoutError):
        raw(faulty, "GET", ti_url(faulty), timeout=0.5)
    assert faulty.hanging() == 1
    # a client still waiting sees the connection closed, without an answer, at clear
    got = []
    t = threading.Thread(target=lambda: got.append(
        pytest.raises(http.client.RemoteDisconnected, raw, faulty, "GET", ti_url(faulty))))
    t.start()
    deadline = time.monotonic() + 5
    while faulty.hanging() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert faulty.hanging() == 2 and len(handler_threads()) >= before + 2
    t0 = time.monotonic()
    faulty.clear_faults()
    t.join(5)
    assert not t.is_alive() and got and time.monotonic() - t0 < 1
    deadline = time.monotonic() + 5
    while (faulty.hanging() or len(handler_threads()) > before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert faulty.hanging() == 0 and len(handler_threads()) <= before
    assert [r["fault"] for r in faulty.requests()] == ["hang", "hang"]
    assert [r["status"] for r in faulty.requests()] == [None, None]
    assert raw(faulty, "GET", ti_url(faulty))[0] == 200


def test_fault_delay_is_ended_by_clear_faults(faulty):
    faulty.inject(path=ti_url(faulty), delay=0.4)
    t0 = time.monotonic()
    assert raw(faulty, "GET", ti_url(faulty))[0] == 200
    assert 0.4 <= time.monotonic() - t0 < 2
    faulty.inject(path=ti_url(faulty), delay=60)
    got = []
    t = threading.Thread(target=lambda: got.append(raw(faulty, "GET", ti_url(faulty))[0]))
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    faulty.clear_faults()
    t.join(5)
    assert got == [200] and time.monotonic() - t0 < 1


def test_fault_stop_ends_hanging_requests():
    s = fa.start()
    s.inject(hang=True)
    got = []
    t = threading.Thread(target=lambda: got.append(pytest.raises(
        (http.client.RemoteDisconnected, ConnectionError), raw, s, "GET", "/api/v1/dags")))
    t.start()
    deadline = time.monotonic() + 5
    while not s.hanging() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.hanging() == 1
    s.stop()
    t.join(5)
    assert not t.is_alive() and got
    deadline = time.monotonic() + 5
    while s.hanging() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.hanging() == 0


def test_pause_refuses_then_resume_on_the_same_port(faulty):
    port = faulty.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", ti_url(faulty), headers={"Authorization": auth_of(faulty)})
    assert conn.getresponse().read()
    faulty.inject(path=ti_url(faulty), hang=True)
    hung = []
    t = threading.Thread(target=lambda: hung.append(pytest.raises(
        (http.client.RemoteDisconnected, ConnectionError), raw, faulty, "GET",
        ti_url(faulty))))
    t.start()
    deadline = time.monotonic() + 5
    while not faulty.hanging() and time.monotonic() < deadline:
        time.sleep(0.02)
    faulty.pause()
    assert faulty.paused
    t.join(5)
    assert hung and not t.is_alive()  # a held request ends with the pause
    with pytest.raises(ConnectionRefusedError):
        raw(faulty, "GET", ti_url(faulty))
    # the kept-alive connection was closed too
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.request("GET", ti_url(faulty), headers={"Authorization": auth_of(faulty)})
        conn.getresponse().read()
    conn.close()
    faulty.resume()
    assert not faulty.paused and faulty.port == port
    assert raw(faulty, "GET", ti_url(faulty))[0] == 200
    faulty.resume()  # twice: nothing happens
    assert raw(faulty, "GET", ti_url(faulty))[0] == 200


def test_fault_control_endpoints(faulty):
    def ctl(method, path, obj=None):
        s, _, body = raw(faulty, method, path, body=None if obj is None else
                         json.dumps(obj).encode(), headers={"Content-Type": "application/json"})
        return s, json.loads(body)

    assert ctl("POST", "/_fake/inject", {"path": ti_url(faulty), "status": 504,
                                         "count": 2}) == (200, {"pending": 1})
    assert ctl("POST", "/_fake/inject", {"path": ti_url(faulty), "replace": [
        ['"success"', '"succ\udcffess"']]})[0] == 200
    assert ctl("POST", "/_fake/inject", {"stauts": 500})[0] == 400
    s, pending = ctl("GET", "/_fake/faults")
    assert [(f["status"], f["count"]) for f in pending] == [(504, 2), (None, 1)]
    assert [raw(faulty, "GET", ti_url(faulty))[0] for _ in range(2)] == [504, 504]
    assert b'"succ\xffess"' in raw(faulty, "GET", ti_url(faulty))[2]
    ctl("POST", "/_fake/inject", {"status": 500})
    assert ctl("POST", "/_fake/clear_faults") == (200, {"ok": True})
    assert ctl("GET", "/_fake/faults") == (200, [])
    assert ctl("POST", "/_fake/pause", {"seconds": 0.6})[0] == 200
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        raw(faulty, "GET", ti_url(faulty))
    deadline = time.monotonic() + 5
    while faulty.paused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert raw(faulty, "GET", ti_url(faulty))[0] == 200


# --- runs, DAGs, clearing, cross-DAG lists (NOTES.md section 11) --------------------------

def run_path(dag, run, *rest):
    return "/".join([f"/api/v1/dags/{seg(dag)}/dagRuns/{seg(run)}", *rest])


def test_patch_run_state(fresh):
    r = call(fresh, "PATCH", run_path("etl_daily", R3), {"state": "success"})
    assert r.status == 200 and r.json["state"] == "success" and r.json["dag_run_id"] == R3
    assert sorted(r.json) == sorted(fa.RUN_FIELDS)
    # the unfinished TIs follow, each with a new updated_at; finished ones stay
    assert fresh.ti("etl_daily", R3, "load")["state"] == "success"
    assert fresh.ti("etl_daily", R3, "load")["updated_at"]
    assert fresh.ti("etl_daily", R3, "process", 4)["state"] == "failed"
    assert fresh.ti("etl_daily", R3, "process", 4)["updated_at"] is None
    r = call(fresh, "PATCH", run_path("etl_daily", R1), {"state": "queued"})
    assert r.json["state"] == "queued"
    for body, detail in [({"state": "running"}, "'running' is not one of ['success', "
                          "'failed', 'queued'] - 'state'"),
                         ({"state": "failed", "x": 1}, "{'x': ['Unknown field.']}"),
                         ({}, "{'state': ['Missing data for required field.']}")]:
        assert_problem(call(fresh, "PATCH", run_path("etl_daily", R2), body), 400,
                       "Bad Request", detail)
    assert call(fresh, "GET", run_path("etl_daily", R2)).json["state"] == "failed"
    assert call(fresh, "PATCH", run_path("etl_daily", "nope"), {"state": "failed"}).status == 404


def test_patch_run_failed_skips_what_did_not_run(fresh):
    call(fresh, "PATCH", run_path("etl_daily", R3), {"state": "failed"})
    assert fresh.ti("etl_daily", R3, "process", 1)["state"] == "failed"  # was running
    assert fresh.ti("etl_daily", R3, "process", 3)["state"] == "skipped"  # was queued
    assert fresh.ti("etl_daily", R3, "process", 0)["state"] == "success"


def test_run_note(fresh):
    r = call(fresh, "PATCH", run_path("etl_daily", R2, "setNote"), {"note": "INC-42 ✓"})
    assert r.status == 200 and r.json["note"] == "INC-42 ✓"
    assert call(fresh, "GET", run_path("etl_daily", R2)).json["note"] == "INC-42 ✓"
    assert call(fresh, "PATCH", run_path("etl_daily", R2, "setNote"), {"note": ""}).json[
        "note"] == ""
    assert_problem(call(fresh, "PATCH", run_path("etl_daily", R2, "setNote"),
                        {"note": "x" * 1001}), 400, "Bad Request",
                   "{'note': ['Longer than maximum length 1000.']}")
    assert_problem(call(fresh, "PATCH", run_path("etl_daily", R2, "setNote"), {}), 400,
                   "Bad Request", "'note' is a required property")


def test_pause_dag(fresh):
    r = call(fresh, "PATCH", "/api/v1/dags/etl_daily?update_mask=is_paused",
             {"is_paused": True})
    assert r.status == 200 and r.json["is_paused"] is True and sorted(r.json) == sorted(
        fa.DAG_FIELDS)
    assert call(fresh, "GET", "/api/v1/dags/etl_daily").json["is_paused"] is True
    assert call(fresh, "PATCH", "/api/v1/dags/etl_daily",
                {"is_paused": False}).json["is_paused"] is False
    assert_problem(call(fresh, "PATCH", "/api/v1/dags/etl_daily",
                        {"is_paused": "yes"}), 400, "Bad Request",
                   "'yes' is not of type 'boolean' - 'is_paused'")
    assert_problem(call(fresh, "PATCH", "/api/v1/dags/etl_daily?update_mask=tags",
                        {"is_paused": True}), 400, "Bad Request",
                   "Only `is_paused` field can be updated through the REST API")
    assert call(fresh, "PATCH", "/api/v1/dags/nope", {"is_paused": True}).status == 404


def test_clear_defaults_are_a_dry_run_of_failed_ones(fresh):
    path = "/api/v1/dags/etl_daily/clearTaskInstances"
    # dry_run and only_failed default to true: nothing changes, only failed ones listed
    r = call(fresh, "POST", path, {"dag_run_id": R3, "task_ids": ["process"]})
    assert r.status == 200 and r.json == {"task_instances": [
        {"task_id": "process", "dag_id": "etl_daily", "dag_run_id": R3,
         "execution_date": "2024-01-03T10:15:00+00:00"}]}
    assert fresh.ti("etl_daily", R3, "process", 4)["state"] == "failed"
    r = call(fresh, "POST", path, {"dag_run_id": R3, "task_ids": ["transform"],
                                   "dry_run": False})
    assert r.json == {"task_instances": []}  # only_failed: transform succeeded
    assert fresh.ti("etl_daily", R3, "transform")["state"] == "success"


def test_clear(fresh):
    fresh.add_dag({"dag_id": "chain", "edges": {"a": ["b"], "b": ["c"]},
                   "runs": [{"dag_run_id": "r1", "state": "failed", "tis": [
                       {"task_id": "a", "state": "failed", "try_number": 1},
                       {"task_id": "b", "state": "upstream_failed", "try_number": 0},
                       {"task_id": "c", "state": "upstream_failed", "try_number": 0},
                       {"task_id": "m", "map_index": 0, "state": "failed"},
                       {"task_id": "m", "map_index": 1, "state": "failed"}]},
                            {"dag_run_id": "r2", "state": "failed", "tis": [
                       {"task_id": "a", "state": "failed"}]}]})
    path = "/api/v1/dags/chain/clearTaskInstances"
    body = {"dry_run": False, "dag_run_id": "r1", "task_ids": ["a"],
            "include_downstream": True, "reset_dag_runs": True, "only_failed": False}
    r = call(fresh, "POST", path, body)
    assert r.status == 200
    assert [t["task_id"] for t in r.json["task_instances"]] == ["a", "b", "c"]
    assert [fresh.ti("chain", "r1", t)["state"] for t in "abc"] == [None, None, None]
    assert fresh.ti("chain", "r1", "a")["updated_at"]
    assert fresh.ti("chain", "r2", "a")["state"] == "failed"
    assert call(fresh, "GET", run_path("chain", "r1")).json["state"] == "queued"
    # one map index
    r = call(fresh, "POST", path, {**body, "task_ids": [["m", 1]]})
    assert [t["task_id"] for t in r.json["task_instances"]] == ["m"]
    assert fresh.ti("chain", "r1", "m", 1)["state"] is None
    assert fresh.ti("chain", "r1", "m", 0)["state"] == "failed"
    for bad, detail in [({**body, "task_ids": "a"}, "{'task_ids': ['Invalid task ids.']}"),
                        ({**body, "zz": 1}, "{'zz': ['Unknown field.']}"),
                        ({**body, "dry_run": "no"},
                         "'no' is not of type 'boolean' - 'dry_run'")]:
        assert_problem(call(fresh, "POST", path, bad), 400, "Bad Request", detail)
    assert call(fresh, "POST", path, {**body, "dag_run_id": "nope"}).status == 404
    assert call(fresh, "POST", "/api/v1/dags/nope/clearTaskInstances", body).status == 404


def test_updated_at_moves_with_the_row_not_the_note(fresh):
    fresh.update_ti("etl_daily", R1, "load", note="a note")
    assert fresh.ti("etl_daily", R1, "load")["updated_at"] is None
    call(fresh, "PATCH", ti_path("etl_daily", R1, "load", "setNote"), {"note": "x"})
    assert fresh.ti("etl_daily", R1, "load")["updated_at"] is None
    fresh.update_ti("etl_daily", R1, "load", state="failed")
    assert fresh.ti("etl_daily", R1, "load")["updated_at"]
    # the cross-DAG list filters on it
    since = quote((fa.now() - fa.timedelta(minutes=1)).isoformat(), safe="")
    r = call(fresh, "GET", f"/api/v1/dags/~/dagRuns/~/taskInstances?state=failed"
             f"&updated_at_gte={since}")
    assert [(t["dag_id"], t["dag_run_id"], t["task_id"]) for t in r.json["task_instances"]] \
        == [("etl_daily", R1, "load")]
    assert r.json["total_entries"] == 1
