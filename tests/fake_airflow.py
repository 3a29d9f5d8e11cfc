#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake Airflow server for the airflowfs tests: a 2.10.5 webserver (REST API v1, the
default) or, with api="v2" (--api v2), a 3.0.6 api-server (REST API v2), over one dataset.

Standard library only. It reproduces the quirks of a real server that a client can trip
over (see /work/shared/airflow-api/NOTES.md), so that it hides no client bug. API v1:

* connexion's strict validation: a query parameter the spec does not list, a badly typed
  parameter or body -> 400 problem+json; it runs before the authentication check.
* 401 problem+json with `WWW-Authenticate: Basic`; /api/v1/version and /health need no auth.
* auth="kerberos", keytab=PATH (python3-gssapi, imported only then): Airflow 2's Kerberos
  backend (NOTES.md 12). No `Authorization: Negotiate` -> 401 text "Unauthorized" with
  `WWW-Authenticate: Negotiate`; a token that does not verify against the keytab's service
  key (expired ticket, garbage) or a principal whose first component is not `user` -> 403
  text "Forbidden"; else the request is served with `WWW-Authenticate: negotiate <token>`
  (mutual auth). Every request on its own; srv.principals() lists the accepted ones.
* werkzeug routing: `%2F` is decoded before routing; `{map_index}` and `{try}` only match
  digits (`-1` gives 404); `//` in a path answers 308 to the merged path.
* pagination: limit default 100, >100 clamped, 0 -> 100, <0 -> 400; total_entries before paging.
* list endpoints never answer 404 (an unknown DAG or run gives an empty list).
* logs: Accept negotiated like werkzeug's best_match; JSON `content` is Python's str() of
  [(host, text)]; the text is served like FileTaskHandler (blank lines dropped, lines
  re-joined with "\n", so no final newline); itsdangerous-compatible continuation tokens
  with payload {"end_of_log", "log_pos"}.
* PATCH state: dry_run defaults to true; a real change answers `{}`.
* runs, DAGs, clearing: PATCH /dags/D?update_mask=is_paused {"is_paused"}; PATCH
  /dags/D/dagRuns/R {"state": success|failed|queued} (success/failed also set the unfinished
  TIs: success, or failed for running ones and skipped for the others); PATCH
  .../dagRuns/R/setNote {"note"}; POST /dags/D/clearTaskInstances (dry_run and only_failed
  default to true; task_ids items are a task id or [task_id, map_index]; include_downstream
  follows the DAG's dataset key "edges": {task: [downstream tasks]}; a clear sets state null,
  running ones restarting, and with reset_dag_runs the run queued) -> {"task_instances":
  [TaskInstanceReference]}. The v2 routes take the v2 bodies (extra fields forbidden,
  DAGRunPatchBody with update_mask, DAGPatchBody, ClearTaskInstancesBody whose
  reset_dag_runs defaults to true) and answer the v2 records.
* a TI's updated_at (dataset key, hidden from records) moves when its row changes (a state
  PATCH, a run's state, a clear, /_fake/ti with fields other than note/logs/links) and not
  with its note; before any change it is its end, start or logical date. The TI lists
  filter on it (updated_at_gte/_lte), "~" for the DAG and the run lists across DAGs.
* JSON bodies are indented, keys sorted and non-ASCII escaped, as Airflow's JSON provider does
  (--no-sort-keys keeps the spec order in which records are built).

API v2 (start(api="v2"); version 3.0.6 unless version= says otherwise, changeable at run
time with srv.configure(version=...)):
* /api/v2/version needs no auth; /api/v1/... and any other unknown /api, /auth path answer
  404 {"detail": "Not Found"}; other paths are the UI (200 text/html). Errors are FastAPI's:
  application/json {"detail": str}, or 422 {"detail": [{"type", "loc", "msg", "input",
  "ctx"?}, ...]} listing every invalid path/query/body field. Unknown query parameters are
  ignored. A scalar query parameter takes the last of repeated values; lists take them all
  (no comma splitting). Starlette routing: the first route matching path and method wins
  (so PATCH .../T/setNote is a PATCH of map_index "setNote": 422); a path matching with
  another method: 405 (HEAD included); a trailing slash: 307 to the URL without it.
* auth (auth="jwt", the default; "none" turns it off): POST /auth/token (outside /api/v2,
  under the URL prefix if any) with JSON or form {"username", "password"} -> 201
  {"access_token": JWT}; missing or empty fields 400 "Username and password must be
  provided"; wrong ones 401 "Invalid credentials". /auth/token/cli: the same, valid 1 h.
  JWTs are HS512 (hmac, stdlib) with claims jti, sub, role, iat, nbf, exp; lifetime
  jwt_expiry (default 86400 s), checked with jwt_leeway (default 10 s) like PyJWT. On
  /api/v2 (but /version and /monitor/health): no bearer token (nor _token cookie) -> 401
  "Not authenticated"; exp passed -> 401 "Token Expired"; anything else wrong (signature,
  garbage, alg, missing claim) -> 403 "Invalid JWT token". static_tokens=[...] are taken
  as they are (Astronomer-style deployment tokens). No WWW-Authenticate header.
* FastAPI's order: a body that is not JSON -> 422 before auth; then auth; then the log
  endpoint's Accept check (406); then parameters (422); then the handler.
* records in the v2.yaml shapes (TaskInstanceResponse, DAGRunResponse, DAGResponse), every
  field present, null where null, compact JSON in model order, UTF-8 as is, dates ISO 8601
  with "Z" (microseconds only when not zero). A run whose dataset logical_date is null
  shows null (and run_after); TI ids are uuid5s of (dag, run, task, map_index).
* lists: limit default 50, capped at 100, 0 -> an empty page, < 0 -> 422; order_by is
  repeated ("-" descending), NULLs last, the primary key last (a TI list: map_index, then
  the TI's uuid: stable pages); an attribute not allowed -> 400 "Ordering with 'x' is
  disallowed or the attribute does not exist on the model". GET /dags honours exclude_stale
  (default true). An unknown DAG or run in a list path -> 404 (the TI list finds the run by
  run_id alone, as 3.0 does). listMapped and the unmapped-path rule as in v1.
* links: {"extra_links": {name: url | null}, "total_entries": n}; ?map_index=, default -1.
* logs: Accept prefix-matched on the raw header (default */*): */* or application/json ->
  JSON, application/x-ndjson -> NDJSON, else 406 "Only application/json or
  application/x-ndjson is supported". JSON {"content": [records] (or [strings]),
  "continuation_token": str | null}; null once end_of_log (the try is not the TI's current
  one, or the TI is not running/deferred). See "Structured logs" below for the records.
  log_pos counts records. 3.0.4 and later (the resume bug) answer a read with a token with
  the whole log again, without the header; 3.0.0-3.0.3 with the records after log_pos.
  NDJSON: one record a line; header Airflow-Continuation-Token unless end_of_log (3.0.4+:
  its payload has no log_pos). Try 0: [{"event": "Error fetching the logs. Try number 0 is
  invalid.", "level": "error"}].
* PATCH .../taskInstances/T[/M] (PatchTaskInstanceBody, extra fields forbidden: dry_run ->
  422 extra_forbidden): new_state case-insensitive success|failed|skipped, else 422 "Value
  error, 'x' is not one of [...]"; null -> 422 "Value error, 'new_state' should not be
  empty"; a non-string -> 500 text/plain (the validator's AttributeError); note up to 1000
  characters (422 string_too_long). update_mask (repeated) selects among the fields sent; a
  null note clears only with update_mask. A state the TIs all have already -> 409 "Task id
  T is already in S state". Without /M (and without ?map_index=) every map index of T is
  patched (3.0.2+; before: map_index -1). Answer: 3.0.2+ {"task_instances": [...],
  "total_entries": n}, before a single TaskInstanceResponse. PATCH .../dry_run: what would
  change. No setNote.
* uvicorn's Server header and reason phrases; fault injection answers {"detail": "injected
  fault"} by default.

Either API, prefix="/astro/deployment1" (--prefix) serves everything under that path (srv.url
includes it, srv.origin does not); any other path answers a proxy's 404 text/plain. The
control endpoints stay at the root.

Command line:
    /usr/bin/python3 tests/fake_airflow.py [--port 0] [--port-file PATH] [--data demo|PATH.json]
        [--api v1|v2] [--auth basic|jwt|none] [--user admin] [--password admin]
        [--token TOKEN]... [--prefix /PATH] [--jwt-expiry 86400] [--latency-ms 0]
        [--version 2.10.5|3.0.6] [--secret-key KEY] [--no-sort-keys] [--verbose]
        [--print-demo] [--big-log-mb N]
--big-log-mb N adds the DAG big_logs (see big_logs_dag()): run manual__2024-01-04T00:00:00+00:00,
task huge, a success with one try whose log is generated with N * 1,000,000 bytes (N may be
fractional); its text and its full JSON and text/plain answers are built in the background at
start (srv.warm_log), so only reads in the first seconds wait for them.
It prints `fake-airflow listening on http://127.0.0.1:PORT` once listening, writes PORT to
--port-file (atomically), and exits cleanly on SIGTERM/SIGINT.

In-process:  srv = start(data="demo", api="v1", auth="basic", ...); srv.url, srv.origin,
srv.port, srv.api, srv.prefix, srv.version, srv.requests(auth=True) (auth=False leaves out
the logins, POST /auth/token), srv.logins(), srv.reset(), srv.set_data(d) (also stops the
growers), srv.add_dag(dag) (adds one DAG, in dataset format, to the current dataset; its
dag_id must be new), srv.data(),
srv.ti(dag, run, task, map_index=-1), srv.update_ti(dag, run, task, map_index=-1, **fields),
srv.inject(method, path, status, body, delay, count, hang, drop, truncate, content_type,
headers, set_fields, replace) (fault injection: see FakeAirflow.inject and "Faults" below),
srv.faults(), srv.hanging(), srv.clear_faults(), srv.pause(), srv.resume(), srv.paused,
srv.grow(...), srv.growers(), srv.stop_growing(), srv.log_text(dag, run, task, try_number,
map_index=-1), srv.warm_log(dag, run, task, try_number=1, map_index=-1), srv.stop() (stops
the growers too); and for v2: srv.configure(**settings) (version, user, password,
static_tokens (replaces the list: a rotation), jwt_expiry, jwt_leeway, jwt_secret,
clock_skew (seconds the server's clock is ahead when it issues and checks JWTs),
rotate_jwt_secret=True (every JWT issued so far is then "Invalid JWT token")),
srv.config(), srv.reset_config() (back to the start settings), srv.issue_token(sub=None,
expires_in=None) (a JWT as a login would give, nothing recorded), srv.token_error(token)
(None if accepted now, else the detail), srv.log_records(dag, run, task, try_number,
map_index=-1) (the content of a full v2 JSON read). Module level: generated_log(nbytes,
seed=0), served_text(file_text), token_payload(token), big_logs_dag(nbytes, seed=7),
render_log(content) (the v2 rendering SPEC.md defines: what a mount shows), jwt_claims(token),
text_records(served_text) (the records of a log text).

srv.log_text(dag, run, task, try_number, map_index=-1) is exactly the text a mount shows for
a full read (no token) of that try now. v1: the " INFO - ::group::Log message source details"
header, then the reshaped file text (served_text(), or generated_log(...)[:-1] for a generated
log); the text of the (host, text) tuple in the JSON `content`; the text/plain body is
host + "\n" + log_text + "\n". v2: render_log() of a full JSON read's content (header
records, then the records; it ends with "\n"). KeyError if there is no such TI.

Structured logs (v2): each try's log is the same file as in v1, served as records, one per
line of the text v1 serves (served_text(): blank lines dropped, lines ordered by timestamp):
    [TS] {FILE.py:N} LEVEL - MSG -> {"timestamp": TS, "event": MSG, "level": "level",
                                     "logger": "airflow.task.FILE"}
        (FILE logging_mixin, a task's print(): "logger": "task", "chan": "stdout")
    [TS] ANYTHING ELSE           -> {"timestamp": TS, "event": ANYTHING ELSE}
    a line without a timestamp   -> appended to the record before it: its event + "\n" +
        line; but the traceback after an ERROR "Task failed with exception" record becomes
        its "error_detail" (structlog's list: the exception raised last first, is_cause on
        its causes, frames); with no record before it: {"timestamp": null, "event": line}
TS is shown as pydantic shows dates ("2024-01-02T00:00:12.012000Z"). A full read starts with
{"event": "::group::Log message source details", "sources": [the file's path, or why the
worker could not serve it]} and {"event": "::endgroup::"}. Two more kinds of log entries
(any API): {"records": [{"event": str, ...}, ...]} is served to v2 as these records (and to
v1 as their render_log() text), {"lines": [str, ...]} to v2 as a content of strings, with
no header (to v1 as the lines).

Growing logs: g = srv.grow(dag, run, task, map_index=-1, lines=20, every=0.2,
then_state="success", line_fmt=None) -> Grower. Under the store lock (a read never sees half a
line) it sets the TI running (end_date null, try_number 0 -> 1, start_date now if null,
hostname "worker-1" if empty), then a daemon thread appends line n (n = 1..lines) to the
current try's log file at n * every seconds after the call (a file that does not end with "\n"
gets one first). The default line n is
    [<ts>] {logging_mixin.py:190} INFO - tick <n> of <lines>
where <ts> = g.base + n seconds, formatted like 2024-01-03T10:16:41.500+0000 (milliseconds),
and g.base = max(TI start_date, the latest [timestamp] already in that file), so the new lines
always sort after the old ones and the served text only ever grows at its end (the resume
property: a full read's text[:p1], then text[p1:p2] with its token, concatenate to a later full
read). line_fmt: a str.format template or a callable, given the keywords ts, n and lines; each
line must be one non-blank line, and should be unique (repeated timestamped lines are
dropped when served). Growing stops early ("ti changed") if the TI is replaced or stops being
running or changes try_number. Right after the last line (same lock hold) the state becomes
then_state and end_date now (then_state=None: left running; lines=0: at once). While the TI
is running, end_of_log is false for its current try; afterwards true (the real rule:
end_of_log = try_number != requested try or state not in (running, deferred)).
Grower: .done (threading.Event, set when the thread ends), .outcome (None, "finished",
"stopped", "ti changed"), .written, .base, .try_number, .key, .lines, .every, .then_state,
.expected_text(n=None) (the on-disk file text once n lines, default all, are written: the file
as it was at grow(), plus line + "\n" for each line), .line(n), .stop(), .status().

Generated logs: a log entry {"generate": {"bytes": N, "seed": S}} (seed defaults to 0,
N >= GEN_MIN_BYTES = 79) is the file generated_log(N, S): ASCII, exactly N bytes, ending with
"\n". Line i (1-based) starts with "[<GEN_BASE + (i-1) ms>] " (GEN_BASE = 2024-01-04T00:00:00
UTC, e.g. "[2024-01-04T00:00:01.234+0000] "), then "{source.py:N} LEVEL - message" from a
seeded pool of realistic INFO/WARNING lines; the lines whose number i is a multiple of 97
(GEN_ERROR_EVERY), but the last, are "{...} ERROR - ..." lines, and no other line contains
"ERROR" (so a file of L lines has (L - 1) // 97 of them). The last line is
"[<ts>] {fake_airflow.py:1} INFO - end of generated log" followed by as many "." as make
the size exact (the stream lines before it are as many as fit). The stream
depends only on the seed, so a bigger N gives the same lines and more of them. Timestamps
strictly increase and no line is blank, so the served text (and log_pos) is the file minus
its final "\n": served_text(generated_log(N, S)) == generated_log(N, S)[:-1]; its length
(log_pos of a full read) is N - 1. Texts are built lazily (about 1 s for 200 MB) and the 3
most recently used are cached; the answers to reads of a generated log are made outside the
store lock and the 4 most recent are cached (at most 800 MB), so a repeated full read of a
200 MB log answers in about 0.2 s instead of 2-4 s (see srv.warm_log).

Faults (either API): srv.inject(...) makes the next `count` requests matching a method and
a path prefix fail in one way: a status (5xx, 429, 4xx, a redirect with headers={"Location":
...}), a body of its own, fields of the wrong type merged into the real answer (set_fields),
byte replacements (replace: invalid UTF-8), a body truncated with a matching Content-Length
(truncate), another Content-Type (a proxy's text/html page), extra headers (Retry-After), a
delay, a hang (read, never answered, closed only at clear_faults(), pause() or stop(): no
handler thread outlives a test), or a drop mid-body (headers announcing the whole body, part
of it, then the connection closed). srv.pause() closes the listening socket and every
connection (connection refused), srv.resume() listens again on the same port. Recorder() is
another origin, a tiny server that answers 200 {} and records every request with its headers
(did a redirect take the credentials there?).

Control endpoints (no auth, never recorded):
    GET  /_fake/requests        every other request as {"method", "path" (raw, still
                                percent-encoded), "query" (raw), "headers", "body", "status"
                                (None: no answer), "time" (time.monotonic() when it came),
                                "fault"? (what an injected fault did: "status 503",
                                "hang", "drop", "delay", "set_fields", ... joined by "+")}
    POST /_fake/reset           clears that record
    GET  /_fake/data            the current dataset
    POST /_fake/data            replaces the dataset (a dataset object, or the string "demo")
    GET  /_fake/ti?dag=&run=&task=&map_index=   the stored TI in dataset format (404 if missing)
    POST /_fake/ti              {"dag", "run", "task", "map_index"?, <TI fields>...} updates a TI;
                                "append_log": text appends to the log file of try
                                "append_try" (default: try_number), e.g. to grow a running log.
    POST /_fake/dag             adds one DAG (dataset format) to the current dataset
    POST /_fake/grow            {"dag", "run", "task", "map_index"?, "lines"?, "every"?,
                                "then_state"?, "line_fmt"? (a str.format template)} starts
                                srv.grow(); answers its status plus "expected_text"
    GET  /_fake/grow            the status of each grower since the last stop: {"id", "dag",
                                "run", "task", "map_index", "try_number", "lines", "every",
                                "then_state", "written", "done", "outcome", "base"}
    POST /_fake/stop_growing    stops them all: {"stopped": how many were still running}
    GET  /_fake/log_text?dag=&run=&task=&try=1&map_index=-1   srv.log_text() as
                                text/plain; charset=utf-8 (404 if no such TI)
    GET  /_fake/log_records?dag=&run=&task=&try=1&map_index=-1   srv.log_records()
    GET  /_fake/requests?auth=0 the record without the logins (POST /auth/token)
    GET  /_fake/config          the settings srv.configure() changes
    POST /_fake/config          {setting: value, ..., "rotate_jwt_secret"?: true, "reset"?:
                                true (first back to the start settings)}: srv.configure()
    POST /_fake/token           {"sub"?, "expires_in"?} -> {"access_token": srv.issue_token()}
    POST /_fake/inject          {"method"?, "path"?, "status"?, "body"?, "delay"?, "count"?,
                                "hang"?, "drop"?, "truncate"?, "content_type"?, "headers"?,
                                "set_fields"?, "replace"? [[old, new], ...]}: srv.inject()
                                (a string's lone surrogates \\udcXX are the raw bytes XX)
    GET  /_fake/faults          the pending faults
    POST /_fake/clear_faults    srv.clear_faults()
    POST /_fake/pause           {"seconds": S}: srv.pause(), then srv.resume() S seconds later

Dataset format (JSON; every field but the ids is optional, dates are ISO 8601 strings):
    {"dags": [{"dag_id": "etl_daily", "is_paused": false, "is_active": true,
               "tags": ["etl"], "description": "...", "owners": ["airflow"],
               "schedule": "0 0 * * *", "timetable_description": "At 00:00",
               "tasks": ["extra_task_without_tis"],   (plus any other DAG schema field)
       "runs": [{"dag_run_id": "scheduled__2024-01-01T00:00:00+00:00",
                 "logical_date": "2024-01-01T00:00:00+00:00" (null: an Airflow 3 run without
                 one; v1 shows run_after instead), "run_after": (default: data_interval_end
                 for scheduled runs, else the logical date), "start_date": ..., "end_date": ...,
                 "data_interval_start": ..., "data_interval_end": ..., "state": "success",
                 "run_type": "scheduled", "external_trigger": false, "conf": {}, "note": null,
         "tis": [{"task_id": "extract", "map_index": -1, "state": "success", "try_number": 1,
                  "max_tries": 1, "start_date": ..., "end_date": ..., "queued_when": ...,
                  "note": null, "operator": "PythonOperator", "hostname": "worker-1", "pid": 42,
                  "pool": "default_pool", "queue": "default", "priority_weight": 1,
                  "rendered_fields": {}, "rendered_map_index": null, "trigger": null,
                  "triggerer_job": null, "executor": null,
                  "links": {"Docs": "https://...", "Missing": null},
                  "logs": ["file of try 1", null, {"generate": {"bytes": 20000000,
                                                              "seed": 7}},
                           {"records": [...]}, {"lines": [...]}]}]}]}]}
    A run's TIs are listed in the given order (Airflow 2.10 has no ORDER BY there); run ids
    (the `id` order_by key) follow the dataset order. `logs[i]` is the log file of try i+1
    as written on disk (null: no file; {"generate": ...}: see Generated logs; records and
    lines: see Structured logs). A task is
    mapped when one of its TIs has map_index >= 0 in any run. A task's link names are the
    union over its TIs; a TI without a URL for one of them shows null. Unknown keys are
    rejected.

Demo dataset (--data demo; --print-demo prints it; R1/R2/R3 = scheduled__2024-01-01T00:00:00
+00:00 / scheduled__2024-01-02T00:00:00+00:00 / manual__2024-01-03T10:15:00+00:00):
    etl_daily    R1 success: group.extract, transform, process[0..4], load (links, one null),
                   notify (note); R2 failed: transform failed with 2 tries (different logs,
                   note "relancé ✓ ..."), process unexpanded (map_index -1, upstream_failed),
                   load upstream_failed, notify skipped; R3 running: process[0..4] = success
                   (note ""), running, up_for_retry, queued (no log), failed (note);
                   load and notify never ran (state null, try_number 0).
    ml_training  R1 success (train_model log: ' \\t non-ASCII emoji, two lines without a
                   timestamp (in v2 one record with a 3-line event); evaluate note with a
                   newline; publish_model links); R2 running: wait_for_data deferred (trigger),
                   refresh_feature_store scheduled; R3 running: train_model running (note 🚀).
    reporting    paused; scheduled__2024-01-01T06:00:00+00:00 failed (build_report log with
                   ANSI escapes, send_email upstream_failed, legacy_export removed), plus
                   manual runs manual__2024-01-02T09:30:00+00:00 (no logical date in v2:
                   null, run_after 09:30), "manual__re-run #2: 50% + ünïcode" and
                   "manual__2024/01/02" (the latter cannot be addressed).
    fanout       105 daily runs; task start (EmptyOperator, success, no log file); the last
                   run (scheduled__2024-01-02T00:00:00+00:00) also has shard[0..149].
    legacy_import inactive (hidden from GET /dags unless only_active=false); empty_dag: no runs.
"""

import argparse
import base64
import email.message
import email.utils
import functools
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
import zlib
from array import array
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain, repeat
from urllib.parse import parse_qsl, quote, unquote

UTC = timezone.utc
MAX_PAGE = 100  # [api] maximum_page_limit and fallback_page_limit
LOG_BASE = "/opt/airflow/logs"
TERMINAL = ("success", "failed", "skipped", "upstream_failed", "removed")  # State.finished
UNFINISHED = (None, "scheduled", "queued", "running", "up_for_retry", "up_for_reschedule",
              "deferred", "restarting")

# Field lists, in the order of the v1.yaml schemas.
DAG_FIELDS = (
    "dag_id", "dag_display_name", "root_dag_id", "is_paused", "is_active", "is_subdag",
    "last_parsed_time", "last_pickled", "last_expired", "scheduler_lock", "pickle_id",
    "default_view", "fileloc", "file_token", "owners", "description", "schedule_interval",
    "timetable_description", "tags", "max_active_tasks", "max_active_runs",
    "has_task_concurrency_limits", "has_import_errors", "next_dagrun",
    "next_dagrun_data_interval_start", "next_dagrun_data_interval_end",
    "next_dagrun_create_after", "max_consecutive_failed_dag_runs")
RUN_FIELDS = (
    "dag_run_id", "dag_id", "logical_date", "execution_date", "start_date", "end_date",
    "data_interval_start", "data_interval_end", "last_scheduling_decision", "run_type",
    "state", "external_trigger", "conf", "note")
TI_FIELDS = (
    "task_id", "task_display_name", "dag_id", "dag_run_id", "execution_date", "start_date",
    "end_date", "duration", "state", "try_number", "map_index", "max_tries", "hostname",
    "unixname", "pool", "pool_slots", "queue", "priority_weight", "operator", "queued_when",
    "pid", "executor", "executor_config", "sla_miss", "rendered_map_index", "rendered_fields",
    "trigger", "triggerer_job", "note")
# Dataset keys of a TI besides the ones that are computed (dag_id, dag_run_id, ...).
TI_KEYS = ("task_id", "map_index", "state", "try_number", "max_tries", "start_date",
           "end_date", "queued_when", "note", "operator", "hostname", "unixname", "pool",
           "pool_slots", "queue", "priority_weight", "pid", "executor", "executor_config",
           "sla_miss", "rendered_map_index", "rendered_fields", "trigger", "triggerer_job",
           "task_display_name", "links", "logs", "updated_at")
RUN_KEYS = RUN_FIELDS[:1] + RUN_FIELDS[2:] + ("run_after", "tis")
DAG_DATE_FIELDS = ("last_parsed_time", "last_pickled", "last_expired", "next_dagrun",
                   "next_dagrun_data_interval_start", "next_dagrun_data_interval_end",
                   "next_dagrun_create_after")


class DatasetError(ValueError):
    pass


# ---------------------------------------------------------------------------------------
# Dates

def parse_dt(value, what="date"):
    """ISO 8601 string (Z or offset; naive means UTC) -> aware UTC datetime; None stays None."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DatasetError(f"bad {what}: {value!r}") from None
    return (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt).astimezone(UTC)


def iso(dt):
    return None if dt is None else dt.isoformat()  # 2024-01-01T00:00:00+00:00, as marshmallow


def plain(value):
    """A stored value as JSON shows it: datetimes become ISO strings."""
    return iso(value) if isinstance(value, datetime) else value


# The server's clock, ahead of this machine's by App.clock_skew seconds: updated_at stamps
# and the Date header follow it (one fake at a time sets it: FakeAirflow.configure).
_SERVER_SKEW = [0.0]


def now():
    return datetime.now(UTC) + timedelta(seconds=_SERVER_SKEW[0])


# ---------------------------------------------------------------------------------------
# itsdangerous.URLSafeSerializer (salt "itsdangerous", django-concat key derivation, HMAC-SHA1)

class BadSignature(Exception):
    pass


def _b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64d(data):
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class Serializer:
    def __init__(self, secret):
        self.key = hashlib.sha1(b"itsdangerous" + b"signer" + secret.encode()).digest()

    def _sign(self, value):
        return hmac.new(self.key, value, hashlib.sha1).digest()

    def dumps(self, obj):
        payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        packed = zlib.compress(payload)
        if len(packed) < len(payload) - 1:  # itsdangerous compresses only when it pays
            value = b"." + _b64e(packed)
        else:
            value = _b64e(payload)
        return (value + b"." + _b64e(self._sign(value))).decode()

    def loads(self, token):
        value, sep, sig = token.encode("utf-8", "replace").rpartition(b".")
        try:
            good = sep and hmac.compare_digest(_b64d(sig), self._sign(value))
        except ValueError:
            good = False
        if not good:
            raise BadSignature(token)
        raw = zlib.decompress(_b64d(value[1:])) if value.startswith(b".") else _b64d(value)
        return json.loads(raw)


def token_payload(token):
    """Read a continuation token's payload without the key, as a client would."""
    value = token.encode().rpartition(b".")[0]
    raw = zlib.decompress(_b64d(value[1:])) if value.startswith(b".") else _b64d(value)
    return json.loads(raw)


# ---------------------------------------------------------------------------------------
# werkzeug 2.2 MIMEAccept.best_match, which Airflow's log endpoint uses

_ACCEPT_RE = re.compile(r"""
    ([^\s;,]+(?:[ \t]*;[ \t]*(?:[^\s;,q][^\s;,]*|q[^\s;,=][^\s;,]*))*)
    (?:[ \t]*;[ \t]*q=(\d*(?:\.\d+)?)[^,]*)?""", re.VERBOSE)
_MIME_SPLIT = re.compile(r"/|(?:\s*;\s*)")


def _specificity(value):
    return tuple(x != "*" for x in _MIME_SPLIT.split(value))


def _mime_matches(offer, item):
    if "/" not in item:
        return False
    otype, osub, *oparams = _MIME_SPLIT.split(offer.lower())
    itype, isub, *iparams = _MIME_SPLIT.split(item.lower())
    if itype == "*" and isub != "*":
        return False
    return (itype == "*" and isub == "*") or (otype == "*" and osub == "*") or (
        itype == otype and (isub == "*" or osub == "*" or
                            (isub == osub and sorted(iparams) == sorted(oparams))))


def best_match(accept, offers):
    """The offer werkzeug would pick for this Accept header, or None."""
    if not accept:
        return None
    items = [(m.group(1), max(min(float(m.group(2)), 1), 0) if m.group(2) else 1)
             for m in _ACCEPT_RE.finditer(accept)]
    items.sort(key=lambda x: (_specificity(x[0]), x[1]), reverse=True)
    result, best_q, best_spec = None, -1, (-1,)
    for offer in offers:
        # the most specific client item that matches decides this offer's quality
        match = next(((item, q) for item, q in items if _mime_matches(offer, item)), None)
        if match is None:
            continue
        spec, q = _specificity(match[0]), match[1]
        if q <= 0 or q < best_q:
            continue
        if q > best_q or spec > best_spec:
            result, best_q, best_spec = offer, q, spec
    return result


# ---------------------------------------------------------------------------------------
# Task logs as FileTaskHandler 2.10 serves them

def served_text(file_text):
    """What _interleave_logs makes of one log file: blank lines dropped, lines ordered by
    their leading [timestamp] (lines without one inherit the previous), repeated timestamped
    lines dropped, joined with "\\n" (so no final newline)."""
    records, stamp = [], None
    for idx, line in enumerate(file_text.splitlines()):
        if not line:
            continue
        stamp = _line_stamp(line) or stamp
        records.append((stamp or datetime(2000, 1, 1, tzinfo=UTC), idx, line, stamp))
    out, last = [], None
    for _, _, line, stamp in sorted(records, key=lambda r: (r[0], r[1])):
        if line != last or not stamp:
            out.append(line)
        last = line
    return "\n".join(out)


def _line_stamp(line):
    """The [timestamp] a log line starts with (its first space-separated word), or None."""
    if " " not in line:
        return None
    try:
        return parse_dt(line.split(" ", 1)[0].strip("[]"))
    except DatasetError:
        return None


def log_rel_path(dag_id, run_id, task_id, map_index, try_no):
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_no}.log"


# ---------------------------------------------------------------------------------------
# Generated logs: {"generate": {"bytes": N, "seed": S}} log entries (see the module docstring)

GEN_BASE = datetime(2024, 1, 4, tzinfo=UTC)  # line i (0-based) is stamped GEN_BASE + i ms
GEN_ERROR_EVERY = 97  # lines 97, 194, ... (1-based) are the ERROR lines
GEN_END = "{fake_airflow.py:1} INFO - end of generated log"
GEN_MIN_BYTES = len("[2024-01-04T00:00:00.000+0000] " + GEN_END + "\n")  # 79
_GEN_TEMPLATES = (  # (weight, line after the timestamp); no "ERROR" in any of them
    (3, "{{batch.py:61}} INFO - Processed batch {a} of table orders_{b:03d}: {c} rows in "
        "{d}.{e:03d}s"),
    (2, "{{s3.py:1158}} INFO - Uploading s3://data-lake/raw/2024/01/04/part-{a:05d}.parquet "
        "({c} bytes)"),
    (1, "{{base.py:84}} INFO - Retrieving connection 'postgres_{b:02d}'"),
    (2, "{{sql.py:470}} INFO - Running statement: SELECT * FROM events WHERE shard = {b} AND "
        "id > {c}, parameters: None"),
    (2, "{{sql.py:479}} INFO - Rows affected: {c}"),
    (1, "{{sql.py:501}} WARNING - Slow query on replica-{b:02d}: {d}.{e:03d}s (threshold 5s)"),
    (1, "{{s3.py:135}} INFO - Poking for key : s3://landing/{a}/_SUCCESS"),
    (2, "{{logging_mixin.py:190}} INFO - Checkpoint {a}: offset={c} lag={e}ms"),
    (2, "{{http.py:175}} INFO - HTTP GET https://api.example.com/v2/items?page={a} -> 200 "
        "({e} ms)"),
    (1, "{{logging_mixin.py:190}} INFO - Heartbeat: {a} records so far, memory {d}.{e:03d} MiB"),
    (1, "{{http.py:201}} WARNING - Retrying request to https://api.example.com/v2/items?"
        "page={a} (attempt {f} of 5) after HTTP 503"),
)
_GEN_ERRORS = (  # (weight, line) too
    (1, "{{batch.py:88}} ERROR - Failed to parse record {c} of part-{a:05d}.parquet: "
        "ValueError: could not convert string to float: 'N/A' (record skipped)"),
    (1, "{{http.py:190}} ERROR - HTTP GET https://api.example.com/v2/items?page={a} failed: "
        "ReadTimeout after {d}.{e:03d}s"),
    (1, "{{sql.py:482}} ERROR - Statement on replica-{b:02d} cancelled: canceling statement due "
        "to statement timeout (shard {b}, id > {c})"),
)
_MS = tuple(f".{j:03d}+0000] " for j in range(1000))
_gen_lock = threading.Lock()
_gen_cache = {}  # (bytes, seed) -> text; the 3 most recently used


def _gen_pools(seed):
    rng = random.Random(seed)

    def fill(templates, n):
        choices = [tpl for weight, tpl in templates for _ in range(weight)]
        return [choices[rng.randrange(len(choices))].format(
            a=rng.randrange(100000), b=rng.randrange(256), c=rng.randrange(10 ** 7),
            d=rng.randrange(100), e=rng.randrange(1000), f=rng.randrange(1, 5)) + "\n"
            for _ in range(n)]
    return rng, fill(_GEN_TEMPLATES, 65536), fill(_GEN_ERRORS, 251)


def _generate(nbytes, seed):
    rng, pool, errors = _gen_pools(seed)
    budget = nbytes - GEN_MIN_BYTES  # what the stream lines may use
    chunks, total, sec, count = [], 0, 0, 0
    while total < budget:
        prefix = (GEN_BASE + timedelta(seconds=sec)).strftime("[%Y-%m-%dT%H:%M:%S")
        idx = array("H", rng.randbytes(2000))
        if sys.byteorder == "big":
            idx.byteswap()
        msgs = list(map(pool.__getitem__, idx))
        first = sec * 1000 + 1  # the 1-based number of this second's first line
        for pos in range(-first % GEN_ERROR_EVERY, 1000, GEN_ERROR_EVERY):
            msgs[pos] = errors[(first + pos) // GEN_ERROR_EVERY % len(errors)]
        chunk = "".join(chain.from_iterable(zip(repeat(prefix), _MS, msgs)))
        if total + len(chunk) <= budget:
            chunks.append(chunk)
            total, count, sec = total + len(chunk), count + 1000, sec + 1
            continue
        for line in chunk.splitlines(keepends=True):
            if total + len(line) > budget:
                break
            chunks.append(line)
            total, count = total + len(line), count + 1
        break
    stamp = GEN_BASE + timedelta(milliseconds=count)
    chunks.append(f"[{_logts(stamp)}] {GEN_END}" + "." * (budget - total) + "\n")
    return "".join(chunks)


def generated_log(nbytes, seed=0):
    """The log file text of a {"generate": {"bytes": nbytes, "seed": seed}} entry (ASCII,
    exactly nbytes long), built once and cached (the 3 most recently used)."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < GEN_MIN_BYTES:
        raise ValueError(f"a generated log needs an integer size >= {GEN_MIN_BYTES} bytes")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("a generated log's seed must be an integer")
    key = (nbytes, seed)
    with _gen_lock:  # one build at a time; a concurrent reader waits for it
        text = _gen_cache.pop(key, None)
        if text is None:
            text = _generate(nbytes, seed)
        _gen_cache[key] = text
        while len(_gen_cache) > 3:
            del _gen_cache[next(iter(_gen_cache))]
        return text


def _gen_spec(entry):
    """(bytes, seed) of a generated log entry, None for any other one."""
    if isinstance(entry, dict) and "generate" in entry:
        return entry["generate"]["bytes"], entry["generate"]["seed"]
    return None


def log_file(entry):
    """A dataset log entry as the file text (None: no file). A {"records": [...]} entry is
    the text a v2 mount shows for its records (render_log()), a {"lines": [...]} entry its
    lines, each ended by a newline."""
    spec = _gen_spec(entry)
    if spec:
        return generated_log(*spec)
    if isinstance(entry, dict):
        if "records" in entry:
            return render_log(entry["records"])
        return "".join(line + "\n" for line in entry["lines"])
    return entry


def served_log(entry):
    """The text FileTaskHandler serves for a log entry (header excluded)."""
    spec = _gen_spec(entry)
    if spec:  # no blank line, strictly increasing timestamps: only the final "\n" goes
        return generated_log(*spec)[:-1]
    text = log_file(entry)
    return served_text(text) if text else ""


_ENTRY_KINDS = ('a log entry must be a string, null, {"generate": {"bytes": N, "seed": S}}, '
                '{"records": [{"event": str, ...}, ...]} or {"lines": [str, ...]}')


def normalize_log_entry(entry):
    if entry is None or isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or len(entry) != 1:
        raise DatasetError(_ENTRY_KINDS)
    if "records" in entry:
        recs = entry["records"]
        if not isinstance(recs, list) or not all(
                isinstance(r, dict) and isinstance(r.get("event"), str) for r in recs):
            raise DatasetError("records must be a list of objects, each with a string event")
        return {"records": [dict(r) for r in recs]}
    if "lines" in entry:
        lines = entry["lines"]
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise DatasetError("lines must be a list of strings")
        return {"lines": list(lines)}
    gen = entry.get("generate")
    if not isinstance(gen, dict) or set(gen) - {"bytes", "seed"} or "bytes" not in gen:
        raise DatasetError(_ENTRY_KINDS)
    spec = {"bytes": gen["bytes"], "seed": gen.get("seed", 0)}
    for name, low in (("bytes", GEN_MIN_BYTES), ("seed", -2 ** 63)):
        if isinstance(spec[name], bool) or not isinstance(spec[name], int) or spec[name] < low:
            raise DatasetError(f"generate.{name} must be an integer >= {low}")
    return {"generate": spec}


# ---------------------------------------------------------------------------------------
# The dataset

def _check_keys(obj, allowed, what):
    if not isinstance(obj, dict):
        raise DatasetError(f"{what} must be an object")
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise DatasetError(f"unknown {what} field(s): {', '.join(extra)}")


_ACTIVE = ("running", "success", "failed", "up_for_retry", "up_for_reschedule", "deferred",
           "restarting")


def normalize_ti(raw):
    _check_keys(raw, TI_KEYS, "task instance")
    if not isinstance(raw.get("task_id"), str) or not raw["task_id"]:
        raise DatasetError("task instance without task_id")
    ti = dict(raw)
    state = ti.setdefault("state", None)
    ti.setdefault("map_index", -1)
    ti.setdefault("try_number", 0 if state is None else 1)
    ti.setdefault("max_tries", 0)
    for key in ("start_date", "end_date", "queued_when", "updated_at"):
        ti[key] = parse_dt(ti.get(key), key)
    ti.setdefault("hostname", "worker-1" if state in _ACTIVE else "")
    defaults = {"note": None, "operator": "PythonOperator", "unixname": "airflow",
                "pool": "default_pool", "pool_slots": 1, "queue": "default",
                "priority_weight": 1, "pid": None, "executor": None, "executor_config": "{}",
                "sla_miss": None, "rendered_map_index": None, "rendered_fields": {},
                "trigger": None, "triggerer_job": None, "task_display_name": ti["task_id"],
                "links": {}, "logs": []}
    for key, value in defaults.items():
        ti.setdefault(key, value)
    if not isinstance(ti["logs"], list):
        raise DatasetError("logs must be a list of strings, nulls or generated logs")
    ti["logs"] = [normalize_log_entry(x) for x in ti["logs"]]
    if not isinstance(ti["links"], dict):
        raise DatasetError("links must be an object")
    return ti


def export_ti(ti):
    return {k: plain(v) for k, v in ti.items()}


_RUN_TYPES = ("backfill", "manual", "scheduled", "dataset_triggered")


def normalize_run(raw, dag_id):
    _check_keys(raw, RUN_KEYS, "dag run")
    run_id = raw.get("dag_run_id")
    if not isinstance(run_id, str) or not run_id:
        raise DatasetError(f"a run of {dag_id} has no dag_run_id")
    run = dict(raw)
    prefix = run_id.split("__", 1)[0]
    run.setdefault("run_type", prefix if prefix in _RUN_TYPES else "manual")
    # "logical_date": null is an Airflow 3 run without one (v2 shows null; v1, which has no
    # such runs, shows run_after in its place: see v1_logical())
    no_logical = "logical_date" in raw and raw["logical_date"] is None \
        and raw.get("execution_date") is None
    logical = None if no_logical else run.get("logical_date", run.get("execution_date"))
    for key in ("start_date", "end_date", "data_interval_start", "data_interval_end",
                "last_scheduling_decision", "run_after"):
        run[key] = parse_dt(run.get(key), key)
    if logical is None and not (no_logical and run["run_after"]) and "__" in run_id:
        try:
            logical = parse_dt(run_id.split("__", 1)[1])
        except DatasetError:
            pass
    base = parse_dt(logical, "logical_date") or run["run_after"] or run["start_date"] or now()
    run["logical_date"] = None if no_logical else base
    run.pop("execution_date", None)
    run["data_interval_start"] = run["data_interval_start"] or base
    run["data_interval_end"] = run["data_interval_end"] or base
    if run["run_after"] is None:  # Airflow 3: a scheduled run may start at the interval's end
        run["run_after"] = run["data_interval_end"] if run["run_type"] in (
            "scheduled", "backfill", "dataset_triggered") else base
    run["last_scheduling_decision"] = (run["last_scheduling_decision"] or run["end_date"]
                                       or run["start_date"])
    run.setdefault("state", "success")
    run.setdefault("external_trigger", run["run_type"] == "manual")
    run.setdefault("conf", {})
    run.setdefault("note", None)
    run["tis"] = [normalize_ti(t) for t in raw.get("tis", [])]
    keys = [(t["task_id"], t["map_index"]) for t in run["tis"]]
    if len(set(keys)) != len(keys):
        raise DatasetError(f"duplicate task instance in {dag_id}/{run_id}")
    return run


def normalize_dag(raw, serializer):
    _check_keys(raw, DAG_FIELDS + ("runs", "schedule", "tasks", "edges"), "dag")
    dag_id = raw.get("dag_id")
    if not isinstance(dag_id, str) or not dag_id:
        raise DatasetError("a dag has no dag_id")
    dag = {k: v for k, v in raw.items() if k not in ("runs", "schedule", "tasks")}
    schedule = raw.get("schedule")
    fileloc = raw.get("fileloc", f"/opt/airflow/dags/{dag_id}.py")
    defaults = {
        "dag_display_name": dag_id, "root_dag_id": None, "is_paused": False,
        "is_active": True, "is_subdag": False, "last_parsed_time": "2024-01-03T10:29:41+00:00",
        "last_pickled": None, "last_expired": None, "scheduler_lock": None, "pickle_id": None,
        "default_view": "grid", "fileloc": fileloc, "file_token": serializer.dumps(fileloc),
        "owners": ["airflow"], "description": None,
        "schedule_interval": {"__type": "CronExpression", "value": schedule} if schedule else None,
        "timetable_description": None if schedule else "Never, external triggers only",
        "tags": [], "max_active_tasks": 16, "max_active_runs": 16,
        "has_task_concurrency_limits": False, "has_import_errors": False, "next_dagrun": None,
        "next_dagrun_data_interval_start": None, "next_dagrun_data_interval_end": None,
        "next_dagrun_create_after": None, "max_consecutive_failed_dag_runs": 0}
    for key, value in defaults.items():
        dag.setdefault(key, value)
    dag["tags"] = [t if isinstance(t, dict) else {"name": t} for t in dag["tags"]]
    for key in DAG_DATE_FIELDS:
        dag[key] = parse_dt(dag[key], key)
    runs = [normalize_run(r, dag_id) for r in raw.get("runs", [])]
    if len({r["dag_run_id"] for r in runs}) != len(runs):
        raise DatasetError(f"duplicate dag_run_id in {dag_id}")
    return dag, runs, list(raw.get("tasks", []))


class Store:
    """The server's state: DAGs, runs and TIs, guarded by `lock`."""

    def __init__(self, serializer):
        self.lock = threading.RLock()
        self.serializer = serializer
        self.dags, self.runs, self.extra_tasks = {}, {}, {}

    def load(self, data):
        if data == "demo":
            data = demo_dataset()
        elif isinstance(data, str):
            with open(data, encoding="utf-8") as f:
                data = json.load(f)
        _check_keys(data, ("dags",), "dataset")
        dags, runs, extra = {}, {}, {}
        for raw in data.get("dags", []):
            dag, dag_runs, tasks = normalize_dag(raw, self.serializer)
            if dag["dag_id"] in dags:
                raise DatasetError(f"duplicate dag_id {dag['dag_id']}")
            dags[dag["dag_id"]] = dag
            extra[dag["dag_id"]] = tasks
            for run in dag_runs:
                run["id"] = len(runs) + 1  # the dag_run table's primary key
                runs[(dag["dag_id"], run["dag_run_id"])] = run
        with self.lock:
            self.dags, self.runs, self.extra_tasks = dags, runs, extra

    def add_dag(self, raw):
        """Adds one DAG (dataset format) to the current dataset."""
        dag, dag_runs, tasks = normalize_dag(raw, self.serializer)
        with self.lock:
            if dag["dag_id"] in self.dags:
                raise DatasetError(f"duplicate dag_id {dag['dag_id']}")
            next_id = max((r["id"] for r in self.runs.values()), default=0) + 1
            runs = dict(self.runs)
            for run in dag_runs:
                run["id"], next_id = next_id, next_id + 1
                runs[(dag["dag_id"], run["dag_run_id"])] = run
            self.dags = {**self.dags, dag["dag_id"]: dag}
            self.extra_tasks = {**self.extra_tasks, dag["dag_id"]: tasks}
            self.runs = runs
        return dag["dag_id"]

    def export(self):
        with self.lock:
            out = []
            for dag_id, dag in self.dags.items():
                d = {k: plain(v) for k, v in dag.items()}
                d["tasks"] = self.extra_tasks[dag_id]
                d["runs"] = []
                for (run_dag, _), run in self.runs.items():
                    if run_dag == dag_id:
                        r = {k: plain(v) for k, v in run.items() if k not in ("id", "tis")}
                        r["tis"] = [export_ti(t) for t in run["tis"]]
                        d["runs"].append(r)
                out.append(d)
            return {"dags": out}

    def tis_of(self, dag_id, task_id):
        return [t for (d, _), r in self.runs.items() if d == dag_id for t in r["tis"]
                if t["task_id"] == task_id]

    def has_task(self, dag_id, task_id):
        return task_id in self.extra_tasks.get(dag_id, ()) or bool(self.tis_of(dag_id, task_id))

    def is_mapped(self, dag_id, task_id):
        return any(t["map_index"] >= 0 for t in self.tis_of(dag_id, task_id))

    def link_names(self, dag_id, task_id):
        return sorted({n for t in self.tis_of(dag_id, task_id) for n in t["links"]})

    def find_ti(self, dag_id, run_id, task_id, map_index):
        run = self.runs.get((dag_id, run_id))
        for ti in run["tis"] if run else ():
            if ti["task_id"] == task_id and ti["map_index"] == map_index:
                return run, ti
        return run, None

    def update_ti(self, dag_id, run_id, task_id, map_index, fields):
        """The /_fake/ti update: dataset-format fields, plus append_log/append_try."""
        with self.lock:
            run, ti = self.find_ti(dag_id, run_id, task_id, map_index)
            if ti is None:
                raise KeyError("no such task instance")
            fields = dict(fields)
            text, try_no = fields.pop("append_log", None), fields.pop("append_try", None)
            if "task_id" in fields or "map_index" in fields:
                raise DatasetError("task_id and map_index cannot be changed")
            row = {k for k in fields if k not in ("note", "logs", "links", "updated_at")}
            if row and "updated_at" not in fields:
                fields["updated_at"] = iso(now())
            new = normalize_ti({**export_ti(ti), **fields})
            if text is not None:
                idx = (try_no or new["try_number"]) - 1
                if idx < 0:
                    raise DatasetError("append_log needs a try number >= 1")
                logs = new["logs"] = list(new["logs"]) + [None] * (idx + 1 - len(new["logs"]))
                logs[idx] = (log_file(logs[idx]) or "") + text
            ti.clear()
            ti.update(new)
            return export_ti(ti)

    def add_ti(self, dag_id, run_id, fields):
        """A new task instance in a run (a mapped task expanding, a task added to the
        DAG): dataset-format fields with task_id, map_index, state; updated_at is now."""
        with self.lock:
            run, ti = self.find_ti(dag_id, run_id, fields["task_id"],
                                   fields.get("map_index", -1))
            if run is None or ti is not None:
                raise KeyError("no such run, or the task instance exists")
            new = normalize_ti({"updated_at": iso(now()), **fields})
            run["tis"].append(new)
            return export_ti(new)



# ---------------------------------------------------------------------------------------
# API records

def dag_record(dag):
    return {k: plain(dag[k]) for k in DAG_FIELDS}


def v1_logical(run):
    """A run's logical date as v1 shows it (run_after where Airflow 3 would have none)."""
    return run["logical_date"] or run["run_after"]


def run_record(dag_id, run):
    computed = {"dag_id": dag_id, "execution_date": v1_logical(run),
                "logical_date": v1_logical(run)}
    return {k: plain(computed[k] if k in computed else run[k]) for k in RUN_FIELDS}


def ti_duration(ti):
    start, end = ti["start_date"], ti["end_date"]
    return (end - start).total_seconds() if start and end else None


def ti_record(dag_id, run, ti):
    computed = {"dag_id": dag_id, "dag_run_id": run["dag_run_id"],
                "execution_date": v1_logical(run), "duration": ti_duration(ti)}
    return {k: plain(computed[k] if k in computed else ti[k]) for k in TI_FIELDS}


# ---------------------------------------------------------------------------------------
# Errors and parameter validation, shaped like connexion + Airflow's common_error_handler

class ApiError(Exception):
    def __init__(self, status, title, detail=None, headers=None, linked=True):
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.linked = headers or {}, linked


def not_found(title, detail=None):
    return ApiError(404, title, detail)


def bad_request(detail, title="Bad Request"):
    return ApiError(400, title, detail)


def _schema_error(message, validator, schema, instance):
    """str() of a jsonschema ValidationError, as connexion puts it in query errors."""
    return (f"{message}\n\nFailed validating {validator!r} in schema:\n    {schema!r}\n\n"
            f"On instance:\n    {instance!r}")


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")
_DATES = {f"{f}_{op}": "datetime" for f in ("execution_date", "start_date", "end_date",
                                              "updated_at") for op in ("gte", "lte")}
_PAGE = {"limit": "integer", "offset": "offset"}
_TI_FILTERS = {**_DATES, "duration_gte": "number", "duration_lte": "number", "state": "array",
               "pool": "array", "queue": "array", "executor": "array", **_PAGE}
QUERY_SPECS = {
    "dags": {**_PAGE, "order_by": "string", "tags": "array", "only_active": "boolean",
             "paused": "boolean", "fields": "array", "dag_id_pattern": "string"},
    "dag": {"fields": "array"},
    "runs": {**_PAGE, **_DATES, "state": "array", "order_by": "string", "fields": "array"},
    "run": {"fields": "array"},
    "tis": _TI_FILTERS,
    "list_mapped": {**_TI_FILTERS, "order_by": "string"},
    "links": {"map_index": "integer"},
    "logs": {"full_content": "boolean", "map_index": "integer", "token": "string"},
}


def check_query(raw_query, spec):
    """Connexion strict validation: returns {name: value} (arrays as lists)."""
    values = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True, errors="replace"):
        values.setdefault(name, []).append(value)
    extra = [n for n in values if n not in spec]
    if extra:
        raise bad_request(f"Extra query parameter(s) {', '.join(extra)} not in spec")
    out = {}
    for name, vals in values.items():
        kind = spec[name]
        if kind == "array":  # style=form, explode=true: repeated keys and commas both split
            out[name] = ",".join(vals).split(",")
            continue
        wrong = f"Wrong type, expected '{{}}' for query parameter '{name}'"
        for v in vals:
            if kind in ("integer", "offset"):
                try:
                    v = int(v)
                except ValueError:
                    raise bad_request(wrong.format("integer")) from None
                if kind == "offset" and v < 0:
                    raise bad_request(_schema_error(
                        f"{v} is less than the minimum of 0", "minimum",
                        {"minimum": 0, "type": "integer"}, v))
            elif kind == "boolean":
                if v.lower() not in ("true", "false"):
                    raise bad_request(wrong.format("boolean"))
                v = v.lower() == "true"
            elif kind == "number":
                try:
                    v = float(v)
                except ValueError:
                    raise bad_request(wrong.format("number")) from None
            elif kind == "datetime":
                if not _RFC3339.match(v):
                    raise bad_request(_schema_error(f"{v!r} is not a 'date-time'", "format",
                                                    {"format": "date-time", "type": "string"}, v))
                v = parse_dt(v)
            out[name] = v  # the last of repeated values wins, as in connexion
    return out


def page(items, q):
    """Airflow's check_limit, then offset/limit; returns (page, total_entries)."""
    limit = q.get("limit", MAX_PAGE)
    if limit < 0:
        raise bad_request(None, title="Page limit must be a positive integer")
    limit = MAX_PAGE if limit == 0 or limit > MAX_PAGE else limit
    offset = q.get("offset", 0)
    return items[offset:offset + limit], len(items)


def pg_sort(items, key, desc=False):
    """Stable sort with PostgreSQL's NULL placement (last ascending, first descending)."""
    vals = [x for x in items if key(x) is not None]
    nulls = [x for x in items if key(x) is None]
    vals.sort(key=key, reverse=desc)
    return nulls + vals if desc else vals + nulls


def range_filter(items, q, name, key):
    lo, hi = q.get(f"{name}_gte"), q.get(f"{name}_lte")
    if lo is not None:
        items = [x for x in items if key(x) is not None and key(x) >= lo]
    if hi is not None:
        items = [x for x in items if key(x) is not None and key(x) <= hi]
    return items


def project(record, fields, schema):
    """marshmallow's only=fields."""
    bad = sorted(set(fields) - set(record))
    if bad:
        raise ValueError(f"Invalid fields for <{schema}(many=False)>: {set(bad)!r}.")
    return {k: v for k, v in record.items() if k in fields}


def load_json_body(headers, body, schema):
    """connexion's RequestBodyValidator (Airflow's variant) for a JSON object body.
    `schema` is (required names, {name: (type, enum or None)})."""
    ctype = headers.get("Content-Type", "")
    mime = ctype.split(";", 1)[0].strip().lower()
    is_json = mime == "application/json" or (mime.startswith("application/")
                                             and mime.endswith("+json"))
    if not body:
        raise bad_request("Request body must not be empty")
    if not is_json:
        raise ApiError(415, "Unsupported Media Type",
                       f"Invalid Content-type ({ctype}), expected JSON data", linked=False)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if data is None:
        raise bad_request("Request body is not valid JSON")
    if not isinstance(data, dict):
        raise bad_request(f"{data!r} is not of type 'object'")
    required, props = schema
    for name in required:
        if name not in data:
            raise bad_request(f"{name!r} is a required property")
    for name, (typ, enum) in props.items():
        if name not in data:
            continue
        value = data[name]
        if enum is not None and value not in enum:
            raise bad_request(f"{value!r} is not one of {list(enum)!r} - {name!r}")
        ok = isinstance(value, bool) if typ == "boolean" else isinstance(value, str)
        if not ok:
            raise bad_request(f"{value!r} is not of type {typ!r} - {name!r}")
    return data


def marshmallow_errors(data, known, extra_checks):
    """marshmallow's load(): field errors, then 'Unknown field.' ones, as str(messages)."""
    errors = dict(extra_checks)
    for name in data:
        if name not in known:
            errors[name] = ["Unknown field."]
    if errors:
        raise bad_request(str(errors))


# ---------------------------------------------------------------------------------------
# The API handlers. Each gets (app, params, q, req) and returns (status, body, content type).

def h_version(app, p, q, req):
    return 200, {"git_version": app.git_version, "version": app.version}


def h_health(app, p, q, req):
    beat = iso(now() - timedelta(seconds=3))
    return 200, {"dag_processor": {"latest_dag_processor_heartbeat": None, "status": None},
                 "metadatabase": {"status": "healthy"},
                 "scheduler": {"latest_scheduler_heartbeat": beat, "status": "healthy"},
                 "triggerer": {"latest_triggerer_heartbeat": beat, "status": "healthy"}}


def _like(pattern):
    """SQL ILIKE '%pattern%' as a regex (% and _ are wildcards, backslash escapes)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile(".*" + "".join(out) + ".*", re.I | re.S)


def _order(items, order_by, allowed, key):
    name = order_by.lstrip("-")
    if name not in allowed:
        raise bad_request(f"Ordering with '{name}' is disallowed or the attribute does not "
                          f"exist on the model")
    return pg_sort(items, lambda x: key(x, name), desc=order_by.startswith("-"))


def h_dags(app, p, q, req):
    dags = list(app.store.dags.values())
    if q.get("only_active", True):
        dags = [d for d in dags if d["is_active"]]
    if q.get("paused") is not None:
        dags = [d for d in dags if bool(d["is_paused"]) == q["paused"]]
    if q.get("dag_id_pattern"):
        rx = _like(q["dag_id_pattern"])
        dags = [d for d in dags if rx.fullmatch(d["dag_id"])]
    if q.get("tags"):
        dags = [d for d in dags if any(t["name"] in q["tags"] for t in d["tags"])]
    dags = _order(dags, q.get("order_by", "dag_id"), ("dag_id",), lambda d, k: d[k])
    dags, total = page(dags, q)
    records = [dag_record(d) for d in dags]
    if "fields" in q:  # only=["dags.<f>"]: total_entries is left out too
        try:
            return 200, {"dags": [project(r, q["fields"], "DAGSchema") for r in records]}
        except ValueError as e:
            raise bad_request(str(e), title="DAGCollectionSchema error") from None
    return 200, {"dags": records, "total_entries": total}


def h_dag(app, p, q, req):
    dag = app.store.dags.get(p["dag"])
    if dag is None:
        raise not_found("DAG not found", f"The DAG with dag_id: {p['dag']} was not found")
    try:
        return 200, project(dag_record(dag), q["fields"], "DAGSchema") if "fields" in q \
            else dag_record(dag)
    except ValueError as e:
        raise bad_request(str(e), title="DAGSchema init error") from None


_RUN_SORT = ("id", "state", "dag_id", "execution_date", "dag_run_id", "start_date",
             "end_date", "updated_at", "external_trigger", "conf")


def _run_key(item, name):
    dag_id, run = item
    if name in ("execution_date", "updated_at"):
        return v1_logical(run) if name == "execution_date" else _updated(run)
    return {"dag_id": dag_id, "conf": json.dumps(run["conf"])}.get(name, run.get(name))


def _updated(obj):
    """A TI's updated_at: set when its row changes (a state, a clear, an update through
    /_fake/ti other than its note); before any change, its latest date."""
    if obj.get("updated_at"):
        return obj["updated_at"]
    return obj.get("end_date") or obj.get("start_date") or obj.get("logical_date") \
        or obj.get("run_after")


def h_runs(app, p, q, req):
    runs = [(d, r) for (d, _), r in app.store.runs.items() if p["dag"] in ("~", d)]
    if "state" in q:
        runs = [x for x in runs if x[1]["state"] in q["state"]]
    for name in ("execution_date", "start_date", "end_date", "updated_at"):
        runs = range_filter(runs, q, name, lambda x, n=name: _run_key(x, n))
    runs = _order(runs, q.get("order_by", "id"), _RUN_SORT, _run_key)
    runs, total = page(runs, q)
    records = [run_record(d, r) for d, r in runs]
    if "fields" in q:
        try:
            return 200, {"dag_runs": [project(r, q["fields"], "DAGRunSchema") for r in records]}
        except ValueError as e:
            raise bad_request(str(e), title="DAGRunCollectionSchema error") from None
    return 200, {"dag_runs": records, "total_entries": total}


def h_run(app, p, q, req):
    run = app.store.runs.get((p["dag"], p["run"]))
    if run is None:
        raise not_found("DAGRun not found", f"DAGRun with DAG ID: '{p['dag']}' and DagRun ID: "
                                            f"'{p['run']}' not found")
    try:
        rec = run_record(p["dag"], run)
        return 200, project(rec, q["fields"], "DAGRunSchema") if "fields" in q else rec
    except ValueError as e:
        raise bad_request(str(e), title="DAGRunSchema error") from None


def _filter_tis(rows, q):
    """rows: (dag_id, run, ti). The filters shared by the TI list and listMapped."""
    if "state" in q:
        states = [None if s == "none" else s for s in q["state"]]
        rows = [x for x in rows if x[2]["state"] in states]
    for name in ("pool", "queue", "executor"):
        if name in q:
            rows = [x for x in rows if x[2][name] in q[name]]
    rows = range_filter(rows, q, "execution_date", lambda x: v1_logical(x[1]))
    for name in ("start_date", "end_date"):
        rows = range_filter(rows, q, name, lambda x, n=name: x[2][n])
    rows = range_filter(rows, q, "updated_at", lambda x: _updated(x[2]))
    return range_filter(rows, q, "duration", lambda x: ti_duration(x[2]))


def _ti_page(rows, q):
    rows, total = page(rows, q)
    return 200, {"task_instances": [ti_record(*x) for x in rows], "total_entries": total}


def h_tis(app, p, q, req):
    rows = [(d, r, t) for (d, rid), r in app.store.runs.items()
            if p["dag"] in ("~", d) and p["run"] in ("~", rid) for t in r["tis"]]
    return _ti_page(_filter_tis(rows, q), q)


def h_ti(app, p, q, req):
    run = app.store.runs.get((p["dag"], p["run"]))
    found = [t for t in (run["tis"] if run else ()) if t["task_id"] == p["task"]]
    if not found:
        raise not_found("Task instance not found")
    if len(found) > 1 or found[0]["map_index"] != -1:
        raise not_found("Task instance not found",
                        "Task instance is mapped, add the map_index value to the URL")
    return 200, ti_record(p["dag"], run, found[0])


def h_mapped_ti(app, p, q, req):
    run, ti = app.store.find_ti(p["dag"], p["run"], p["task"], p["mi"])
    if ti is None:
        raise not_found("Task instance not found")
    return 200, ti_record(p["dag"], run, ti)


_MAPPED_SORT = ("state", "duration", "start_date", "end_date", "map_index")


def h_list_mapped(app, p, q, req):
    store = app.store
    run = store.runs.get((p["dag"], p["run"]))
    rows = [(p["dag"], run, t) for t in (run["tis"] if run else ())
            if t["task_id"] == p["task"] and t["map_index"] >= 0]
    if not rows:  # 0 can mean a mapped task that expanded to nothing
        if p["dag"] not in store.dags:
            raise not_found(f"DAG {p['dag']} not found")
        if not store.has_task(p["dag"], p["task"]):
            raise not_found(f"Task id {p['task']} not found")
        if not store.is_mapped(p["dag"], p["task"]):
            raise not_found(f"Task id {p['task']} is not mapped")
    rows = _filter_tis(rows, q)
    order_by = q.get("order_by")
    rows.sort(key=lambda x: x[2]["map_index"])
    if order_by is not None:
        name = order_by[1:] if order_by.startswith("-") else order_by
        if name not in _MAPPED_SORT:
            raise bad_request(f"Ordering with {order_by!r} is not supported")
        if name == "map_index":
            rows.sort(key=lambda x: x[2]["map_index"], reverse=order_by.startswith("-"))
        else:
            rows = pg_sort(rows, lambda x: ti_duration(x[2]) if name == "duration"
                           else x[2][name], desc=order_by.startswith("-"))
    return _ti_page(rows, q)


def h_links(app, p, q, req):
    store = app.store
    if p["dag"] not in store.dags:
        raise not_found("DAG not found", f'DAG with ID = "{p["dag"]}" not found')
    if not store.has_task(p["dag"], p["task"]):
        raise not_found("Task not found", f'Task with ID = "{p["task"]}" not found')
    _, ti = store.find_ti(p["dag"], p["run"], p["task"], q.get("map_index", -1))
    if ti is None:
        raise not_found("DAG Run not found", f'DAG Run with ID = "{p["run"]}" not found')
    return 200, {name: ti["links"].get(name) or None
                 for name in store.link_names(p["dag"], p["task"])}


def _served_logs_error(ti, rel):
    if not ti["hostname"]:
        return f"Could not read served logs: Invalid URL 'http://:8793/log/{rel}': No host supplied"
    url = quote(f"http://{ti['hostname']}:8793/log/{rel}", safe="!#$%&'()*+,/:;=?@[]~")
    return f"Could not read served logs: 404 Client Error: NOT FOUND for url: {url}"


def log_origin(dag_id, run, ti, try_no):
    """Where FileTaskHandler finds one try >= 1: (the try's log entry (None: no file), the
    sources a v2 header lists (the file's path, or why the worker could not serve it),
    end_of_log)."""
    rel = log_rel_path(dag_id, run["dag_run_id"], ti["task_id"], ti["map_index"], try_no)
    files = ti["logs"]
    entry = files[try_no - 1] if try_no <= len(files) else None
    sources = []
    if entry is not None:
        sources.append(f"{LOG_BASE}/{rel}")
    elif ti["state"] in ("running", "deferred", "up_for_retry") or ti["state"] not in UNFINISHED:
        sources.append(_served_logs_error(ti, rel))
    end = ti["try_number"] != try_no or ti["state"] not in ("running", "deferred")
    return entry, sources, end


def log_source(dag_id, run, ti, try_no):
    """What FileTaskHandler.read() (2.10) uses for one try >= 1: (host, header of a first
    read, the try's log entry (None: no file), end_of_log)."""
    entry, sources, end = log_origin(dag_id, run, ti, try_no)
    messages = ["Found local files:", f"  * {sources[0]}"] if entry is not None else sources
    header = (" INFO - ::group::Log message source details\n"
              + "".join(f"*** {m}\n" for m in messages) + " INFO - ::endgroup::\n")
    return ti["hostname"], header, entry, end


def read_log(dag_id, run, ti, try_no, metadata):
    """FileTaskHandler.read() for one try: (host, text, metadata out)."""
    if try_no < 1:
        return ("default_host", f"Error fetching the logs. Try number {try_no} is invalid.",
                {"end_of_log": True})
    host, header, entry, end = log_source(dag_id, run, ti, try_no)
    text = served_log(entry)
    out = text[metadata["log_pos"]:] if "log_pos" in metadata else header + text
    return host, out, {"end_of_log": end, "log_pos": len(text)}


def _generated_answer(app, kind, host, header, spec, pos, end):
    """The body of a log read of a generated log; made outside the store lock and cached
    (its inputs are the whole key: the text is a pure function of spec)."""
    def build():
        text = generated_log(*spec)
        served = len(text) - 1  # only the final newline goes (see served_log)
        out = text[pos:served] if pos is not None else "".join((header, text[:served]))
        del text
        if kind == "text/plain":
            return "".join(((host or ""), "\n", out, "\n")).encode()
        content = str([(host, out)])
        del out
        return app.to_json({"content": content, "continuation_token": app.serializer.dumps(
            {"end_of_log": end, "log_pos": served})})
    return lambda: app.cached_body((kind, host, header, spec, pos, end), build)


def h_logs(app, p, q, req):
    token = q.get("token")
    metadata = {}
    if token:
        try:
            metadata = app.serializer.loads(token)
        except BadSignature:
            raise bad_request(None, title="Bad Signature. Please use only the tokens provided "
                                          "by the API.") from None
    run, ti = app.store.find_ti(p["dag"], p["run"], p["task"], q.get("map_index", -1))
    if ti is None:
        raise not_found("TaskInstance not found")
    kind = best_match(", ".join(req.headers.get_all("Accept") or []),
                      ["text/plain", "application/json"])
    if kind == "text/plain":  # streamed from the start: the token's position is ignored
        metadata.pop("log_pos", None)
    if p["try"] >= 1:
        host, header, entry, end = log_source(p["dag"], run, ti, p["try"])
        if _gen_spec(entry):
            ctype = "text/plain" if kind == "text/plain" else "application/json"
            return 200, _generated_answer(app, ctype, host, header, _gen_spec(entry),
                                          metadata.get("log_pos"), end), ctype
    if kind == "text/plain":
        host, text, _ = read_log(p["dag"], run, ti, p["try"], metadata)
        return 200, (host or "") + "\n" + text + "\n", "text/plain"
    host, text, out = read_log(p["dag"], run, ti, p["try"], metadata)
    return 200, {"content": str([(host, text)]), "continuation_token": app.serializer.dumps(out)}


_STATE_BODY = ((), {"dry_run": ("boolean", None),
                    "new_state": ("string", ("success", "failed", "skipped"))})
_NOTE_BODY = (("note",), {"note": ("string", None)})
_RUN_STATE_BODY = ((), {"state": ("string", ("success", "failed", "queued"))})
_DAG_BODY = ((), {"is_paused": ("boolean", None)})
_CLEAR_BODY = ((), {name: ("boolean", None) for name in (
    "dry_run", "only_failed", "only_running", "include_subdags", "include_parentdag",
    "reset_dag_runs", "include_upstream", "include_downstream", "include_future",
    "include_past")})


def h_patch_ti(app, p, q, req):
    data = req.json
    marshmallow_errors(data, ("dry_run", "new_state"),
                       {} if "new_state" in data else
                       {"new_state": ["Missing data for required field."]})
    store, dag_id, task_id, run_id = app.store, p["dag"], p["task"], p["run"]
    if dag_id not in store.dags:
        raise not_found("DAG not found", f"DAG {dag_id!r} not found")
    if not store.has_task(dag_id, task_id):
        raise not_found("Task not found", f"Task {task_id!r} not found in DAG {dag_id!r}")
    run, ti = store.find_ti(dag_id, run_id, task_id, p.get("mi", -1))
    if ti is None:
        raise not_found("Not Found", f"Task instance not found for task {task_id!r} on DAG "
                                     f"run with ID {run_id!r}")
    if data.get("dry_run", True):
        return 200, {"task_id": task_id, "dag_id": dag_id,
                     "execution_date": iso(v1_logical(run)), "dag_run_id": run_id}
    new = data["new_state"]
    if ti["state"] != new:  # TaskInstance.set_state()
        stamp = now()
        ti["state"] = new
        ti["start_date"] = ti["start_date"] or stamp
        ti["end_date"] = ti["end_date"] or stamp
        ti["updated_at"] = stamp
    return 200, {}  # a list dumped through a single-object schema


def h_set_note(app, p, q, req):
    data = req.json
    errors = {}
    if "map_index" in data and (isinstance(data["map_index"], bool)
                                or not isinstance(data["map_index"], (int, float))):
        errors["map_index"] = ["Not a valid integer."]
    if len(data["note"]) > 1000:
        errors["note"] = ["Longer than maximum length 1000."]
    marshmallow_errors(data, ("note", "map_index"), errors)
    run, ti = app.store.find_ti(p["dag"], p["run"], p["task"], p.get("mi", -1))
    if ti is None:
        raise not_found(f"Task Instance not found for dag_id={p['dag']}, run_id={p['run']}, "
                        f"task_id={p['task']}")
    ti["note"] = data["note"]
    return 200, ti_record(p["dag"], run, ti)


# Runs, DAGs, clearing (NOTES.md section 11)

def set_run_state(run, state):
    """set_dag_run_state_to_*: success sets every unfinished TI to success; failed sets
    the running ones to failed and the other unfinished ones to skipped; queued only the
    run. Each TI changed gets a new updated_at."""
    stamp = now()
    run["state"] = state
    if state in ("success", "failed"):
        run["end_date"] = stamp
        for t in run["tis"]:
            if t["state"] in UNFINISHED:
                new = state if state == "success" or t["state"] == "running" else "skipped"
                t["state"], t["updated_at"] = new, stamp
                t["end_date"] = t["end_date"] or stamp
    else:
        run["end_date"] = None


def find_run(app, p, err):
    run = app.store.runs.get((p["dag"], p["run"]))
    if run is None:
        raise err
    return run


def h_patch_run(app, p, q, req):
    data = req.json
    marshmallow_errors(data, ("state",), {} if "state" in data else
                       {"state": ["Missing data for required field."]})
    run = find_run(app, p, not_found(f"Dag Run id {p['run']} not found in dag {p['dag']}"))
    set_run_state(run, data["state"])
    return 200, run_record(p["dag"], run)


def h_run_note(app, p, q, req):
    data = req.json
    errors = {"note": ["Longer than maximum length 1000."]} if len(data["note"]) > 1000 else {}
    marshmallow_errors(data, ("note",), errors)
    run = find_run(app, p, not_found(f"Dag Run id {p['run']} not found in dag {p['dag']}"))
    run["note"] = data["note"]
    return 200, run_record(p["dag"], run)


def h_patch_dag(app, p, q, req):
    data = req.json
    if q.get("update_mask") and q["update_mask"] != ["is_paused"]:
        raise bad_request("Only `is_paused` field can be updated through the REST API")
    dag = app.store.dags.get(p["dag"])
    if dag is None:
        raise not_found("DAG not found", f"The DAG with dag_id: {p['dag']} was not found")
    if "is_paused" not in data:
        raise bad_request("{'is_paused': ['Missing data for required field.']}")
    dag["is_paused"] = data["is_paused"]
    return 200, dag_record(dag)


def _downstream(app, dag_id, tasks):
    """tasks and everything downstream of them (the DAG's "edges")."""
    edges = app.store.dags[dag_id].get("edges") or {}
    out, todo = set(tasks), list(tasks)
    while todo:
        for t in edges.get(todo.pop(), ()):
            if t not in out:
                out.add(t)
                todo.append(t)
    return out


def clear_targets(app, dag_id, data):
    """The TIs a clear of `data` (dataset fields, defaults applied) touches: [(run, ti)]."""
    wanted = {}  # task_id -> None (every map index) or {map_index}
    for item in data.get("task_ids") or ():
        if isinstance(item, str):
            wanted[item] = None
        else:
            task, mi = item
            if wanted.get(task, set()) is not None:
                wanted.setdefault(task, set()).add(mi)
    tasks = set(wanted)
    down = _downstream(app, dag_id, tasks) if data.get("include_downstream") else tasks
    out = []
    for (d, rid), run in app.store.runs.items():
        if d != dag_id or (data.get("dag_run_id") is not None
                           and rid != data["dag_run_id"]):
            continue
        for t in run["tis"]:
            if data.get("task_ids") is not None and t["task_id"] not in down:
                continue
            if t["task_id"] in wanted and wanted[t["task_id"]] is not None \
                    and t["map_index"] not in wanted[t["task_id"]]:
                continue
            if data["only_failed"] and t["state"] not in ("failed", "upstream_failed"):
                continue
            if data.get("only_running") and t["state"] != "running":
                continue
            out.append((run, t))
    return out


def do_clear(targets, reset_dag_runs):
    """clear_task_instances(): state None (running ones: restarting), max_tries raised by
    the retries left; the runs back to queued."""
    stamp = now()
    for run, t in targets:
        t["state"] = "restarting" if t["state"] == "running" else None
        t["max_tries"] = t["try_number"] + max(t["max_tries"] - t["try_number"], 0)
        t["updated_at"] = stamp
        if reset_dag_runs:
            run["state"], run["end_date"] = "queued", None


def h_clear(app, p, q, req):
    data = dict(req.json)
    known = ("dry_run", "task_ids", "start_date", "end_date", "only_failed", "only_running",
             "include_subdags", "include_parentdag", "reset_dag_runs", "dag_run_id",
             "include_upstream", "include_downstream", "include_future", "include_past")
    errors = {}
    ids = data.get("task_ids")
    if ids is not None and not (isinstance(ids, list) and ids and all(
            isinstance(x, str) or (isinstance(x, list) and len(x) == 2 and isinstance(
                x[0], str) and isinstance(x[1], int) and not isinstance(x[1], bool))
            for x in ids)):
        errors["task_ids"] = ["Invalid task ids."]
    for name in known:
        if name not in ("task_ids", "dag_run_id", "start_date", "end_date") and \
                name in data and not isinstance(data[name], bool):
            errors[name] = ["Not a valid boolean."]
    marshmallow_errors(data, known, errors)
    if p["dag"] not in app.store.dags:
        raise not_found(f"Dag id {p['dag']} not found")
    data.setdefault("dry_run", True)
    data.setdefault("only_failed", True)
    if data.get("dag_run_id") is not None and \
            (p["dag"], data["dag_run_id"]) not in app.store.runs:
        raise not_found(f"Dag Run id {data['dag_run_id']} not found in dag {p['dag']}")
    targets = clear_targets(app, p["dag"], data)
    if not data["dry_run"]:
        do_clear(targets, data.get("reset_dag_runs", False))
    return 200, {"task_instances": [
        {"task_id": t["task_id"], "dag_id": p["dag"], "execution_date": iso(v1_logical(run)),
         "dag_run_id": run["dag_run_id"]} for run, t in targets]}


# ---------------------------------------------------------------------------------------
# Routing

S, I = "{str}", "{int}"
_TI = ("dags", S, "dagRuns", S, "taskInstances", S)
_PARAMS = ("dag", "run", "task")  # names of the {str} segments, in order
# (segments, {method: (handler, query spec, body schema)}, other methods the real API has, auth)
ROUTES = [
    (("version",), {"GET": (h_version, {}, None)}, (), False),
    (("health",), {"GET": (h_health, {}, None)}, (), False),
    (("dags",), {"GET": (h_dags, "dags", None)}, ("PATCH",), True),
    (("dags", S), {"GET": (h_dag, "dag", None),
                   "PATCH": (h_patch_dag, {"update_mask": "array"}, _DAG_BODY)},
     ("DELETE",), True),
    (("dags", S, "clearTaskInstances"), {"POST": (h_clear, {}, _CLEAR_BODY)}, (), True),
    (("dags", S, "dagRuns"), {"GET": (h_runs, "runs", None)}, ("POST",), True),
    (("dags", S, "dagRuns", S), {"GET": (h_run, "run", None),
                                 "PATCH": (h_patch_run, {}, _RUN_STATE_BODY)},
     ("DELETE",), True),
    (("dags", S, "dagRuns", S, "setNote"), {"PATCH": (h_run_note, {}, _NOTE_BODY)}, (), True),
    (_TI[:5], {"GET": (h_tis, "tis", None)}, (), True),
    (_TI + ("listMapped",), {"GET": (h_list_mapped, "list_mapped", None)}, (), True),
    (_TI + ("links",), {"GET": (h_links, "links", None)}, (), True),
    (_TI + ("setNote",), {"PATCH": (h_set_note, {}, _NOTE_BODY)}, (), True),
    (_TI + ("logs", I), {"GET": (h_logs, "logs", None)}, (), True),
    (_TI + (I, "setNote"), {"PATCH": (h_set_note, {}, _NOTE_BODY)}, (), True),
    (_TI, {"GET": (h_ti, {}, None), "PATCH": (h_patch_ti, {}, _STATE_BODY)}, (), True),
    (_TI + (I,), {"GET": (h_mapped_ti, {}, None), "PATCH": (h_patch_ti, {}, _STATE_BODY)},
     (), True),
]


def match_route(segs):
    for pattern, methods, known, auth in ROUTES:
        if len(pattern) != len(segs):
            continue
        params, strs = {}, iter(_PARAMS)
        for pat, seg in zip(pattern, segs):
            if pat == S and seg:
                params[next(strs)] = seg
            elif pat == I and seg.isascii() and seg.isdigit():
                params["try" if pattern[-2] == "logs" else "mi"] = int(seg)
            elif pat != seg:
                break
        else:
            return methods, known, auth, params
    return None


NOT_FOUND_DETAIL = ("The requested URL was not found on the server. If you entered the URL "
                    "manually please check your spelling and try again.")
HTML_404 = """<!DOCTYPE html>
<html lang="en">
  <head>
    <title>Airflow 404</title>
  </head>
  <body>
    <div style="text-align: center">
      <h1>Airflow 404 = lots of circles</h1>
      <p>Page cannot be found.</p>
      <a href="/">Return to the main page</a>
    </div>
  </body>
</html>
"""


# =======================================================================================
# API v2 (Airflow 3.x, FastAPI): the same Store and dataset, served as Airflow 3.0.x does
# (NOTES.md). Records in the v2.yaml shapes; errors {"detail": str | [items]}; JWT auth;
# unknown query parameters ignored; lists that 404 on an unknown parent; structured logs.

V2_VERSION = "3.0.6"
V2_FALLBACK_PAGE = 50  # [api] fallback_page_limit in 3.x
NAMESPACE = uuid.UUID("6f0b6a48-6c8e-4f5e-9c4e-1a2b3c4d5e6f")


@functools.lru_cache(maxsize=1 << 16)
def _uuid(*parts):
    """A stable uuid for an object of the dataset (Airflow 3 makes uuid7s); kept, since
    ordering a page of 20,000 task instances asks for every one's."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(map(str, parts))))


def vtuple(version):
    """"3.0.6" -> (3, 0, 6); missing parts are 0, anything after the numbers is ignored."""
    nums = [int(x) for x in re.findall(r"\d+", str(version))[:3]]
    return tuple(nums + [0] * (3 - len(nums)))


def zdt(value):
    """A date as pydantic shows it in JSON: ISO 8601, "Z" for UTC, microseconds only when
    not zero (2024-01-02T00:00:01.512345Z, 2024-01-01T00:00:00Z)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = parse_dt(value)
    return value.astimezone(UTC).isoformat()[:-6] + "Z"


def json_compact(obj):
    """FastAPI's JSONResponse: compact, UTF-8 as is, keys in model order."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# --- JWT (PyJWT's HS512 encode/decode, as Airflow 3's JWTGenerator/JWTValidator use it) ---

class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def jwt_encode(claims, secret):
    def seg(obj):
        return _b64e(json.dumps(obj, separators=(",", ":")).encode())
    signing = seg({"alg": "HS512", "typ": "JWT"}) + b"." + seg(claims)
    sig = hmac.new(secret.encode(), signing, hashlib.sha512).digest()
    return (signing + b"." + _b64e(sig)).decode()


def jwt_claims(token):
    """A JWT's payload, read without checking anything (as a client reads exp)."""
    return json.loads(_b64d(token.split(".")[1].encode()))


def jwt_decode(token, secret, now, leeway):
    """PyJWT decode(algorithms=["HS512"], leeway=leeway, require exp/iat/nbf): the claims,
    or TokenExpired (exp <= now - leeway) / TokenInvalid (anything else wrong)."""
    try:
        head, body, sig = token.encode("ascii").split(b".")
        header, claims = json.loads(_b64d(head)), json.loads(_b64d(body))
        sig = _b64d(sig)
    except ValueError:  # also binascii.Error, UnicodeError, a wrong number of parts
        raise TokenInvalid("not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != "HS512" \
            or not isinstance(claims, dict):
        raise TokenInvalid("bad header or payload")
    good = hmac.new(secret.encode(), head + b"." + body, hashlib.sha512).digest()
    if not hmac.compare_digest(sig, good):
        raise TokenInvalid("bad signature")
    for name in ("exp", "iat", "nbf"):
        if isinstance(claims.get(name), bool) or not isinstance(claims.get(name), (int, float)):
            raise TokenInvalid(f"missing claim {name}")
    if claims["iat"] > now + leeway or claims["nbf"] > now + leeway:
        raise TokenInvalid("not yet valid")
    if claims["exp"] <= now - leeway:
        raise TokenExpired()
    return claims


# --- errors ------------------------------------------------------------------------------

class PlainError(Exception):
    """An answer made by an auth backend before the API (Airflow 2's kerberos_auth)."""

    def __init__(self, status, headers, body):
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


class V2Error(Exception):
    """An HTTPException (detail: str or a list of validation error items); plain: the
    text/plain 500 of an exception FastAPI does not handle."""

    def __init__(self, status, detail, headers=None, plain=False):
        super().__init__(str(detail))
        self.status, self.detail, self.headers, self.plain = status, detail, headers or {}, plain


def verr(kind, loc, msg, value, ctx=None):
    """One pydantic validation error item, as FastAPI lists them in a 422."""
    item = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


_PYD_TRUE = ("1", "on", "t", "true", "y", "yes")
_PYD_FALSE = ("0", "off", "f", "false", "n", "no")


def _v2_value(kind, raw, loc, errors):
    """pydantic's (lax) parsing of one query or path string; None after an error."""
    if kind == "str":
        return raw
    if kind in ("int", "uint"):
        if not re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            errors.append(verr("int_parsing", loc, "Input should be a valid integer, unable to "
                               "parse string as an integer", raw))
            return None
        value = int(raw)
        if kind == "uint" and value < 0:
            errors.append(verr("greater_than_equal", loc, "Input should be greater than or "
                               "equal to 0", raw, {"ge": 0}))
            return None
        return value
    if kind == "bool":
        low = raw.strip().lower()
        if low in _PYD_TRUE or low in _PYD_FALSE:
            return low in _PYD_TRUE
        errors.append(verr("bool_parsing", loc, "Input should be a valid boolean, unable to "
                           "interpret input", raw))
        return None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            errors.append(verr("float_parsing", loc, "Input should be a valid number, unable "
                               "to parse string as a number", raw))
            return None
    if kind == "datetime":
        try:
            return parse_dt(raw.strip())
        except DatasetError:
            errors.append(verr("datetime_from_date_parsing", loc, "Input should be a valid "
                               "datetime or date, invalid character in year", raw,
                               {"error": "invalid character in year"}))
            return None
    raise AssertionError(kind)


def check_query_v2(raw_query, spec):
    """FastAPI's query parameters: unknown ones ignored, a scalar takes the last of repeated
    values, a list takes them all (no comma splitting). -> ({name: value}, errors)."""
    values = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True, errors="replace"):
        values.setdefault(name, []).append(value)
    out, errors = {}, []
    for name, kind in spec.items():
        if name not in values:
            continue
        if kind.startswith("list:"):
            out[name] = [_v2_value(kind[5:], v, ("query", name, i), errors)
                         for i, v in enumerate(values[name])]
        else:
            out[name] = _v2_value(kind, values[name][-1], ("query", name), errors)
    return out, errors


def _dates(*names):
    return {f"{n}_{op}": "datetime" for n in names for op in ("gte", "gt", "lte", "lt")}


_V2_PAGE = {"limit": "uint", "offset": "uint", "order_by": "list:str"}
_V2_TI_FILTERS = {
    **_V2_PAGE, **_dates("run_after", "logical_date", "start_date", "end_date", "updated_at"),
    **{f"duration_{op}": "float" for op in ("gte", "gt", "lte", "lt")},
    "state": "list:str", "pool": "list:str", "queue": "list:str", "executor": "list:str",
    "try_number": "list:int", "operator": "list:str", "map_index": "list:int",
    "task_display_name_pattern": "str"}
V2_QUERY = {
    "none": {},
    "dags": {**_V2_PAGE, "tags": "list:str", "tags_match_mode": "str", "owners": "list:str",
             "dag_id_pattern": "str", "dag_display_name_pattern": "str",
             "exclude_stale": "bool", "paused": "bool", "has_import_errors": "bool"},
    "runs": {**_V2_PAGE, **_dates("run_after", "logical_date", "start_date", "end_date",
                                  "updated_at"),
             **{f"duration_{op}": "float" for op in ("gte", "gt", "lte", "lt")},
             "run_type": "list:str", "state": "list:str", "run_id_pattern": "str"},
    "tis": {**_V2_TI_FILTERS, "task_id": "str"},
    "list_mapped": _V2_TI_FILTERS,
    "links": {"map_index": "int"},
    "logs": {"full_content": "bool", "map_index": "int", "token": "str"},
    "patch": {"map_index": "int", "update_mask": "list:str"},
    "patch_mi": {"update_mask": "list:str"},
    "mask": {"update_mask": "list:str"},
}
V2_PATH_KINDS = {"map_index": "int", "try_number": "uint"}


def page_v2(items, q):
    """LimitFilter/OffsetFilter: limit defaults to 50, is capped at 100, and 0 is 0."""
    limit = q.get("limit")
    limit = min(V2_FALLBACK_PAGE if limit is None else limit, MAX_PAGE)
    offset = q.get("offset") or 0
    return items[offset:offset + limit], len(items)


def order_v2(items, specs, allowed, key, pk):
    """SortParam: order_by attributes ("-" prefix: descending), NULLs last either way, then
    the primary key in the direction of the first one. 400 for an attribute not allowed."""
    for spec in specs:
        name = spec[1:] if spec.startswith("-") else spec
        if name not in allowed:
            raise V2Error(400, f"Ordering with '{name}' is disallowed or the attribute does "
                               "not exist on the model")
    items = sorted(items, key=pk, reverse=bool(specs) and specs[0].startswith("-"))
    for spec in reversed(specs):  # stable sorts, the last criterion first
        desc = spec.startswith("-")
        name = spec[1:] if desc else spec
        vals = [x for x in items if key(x, name) is not None]
        vals.sort(key=lambda x: key(x, name), reverse=desc)
        items = vals + [x for x in items if key(x, name) is None]
    return items


def range_v2(items, q, name, key):
    for op, test in (("gte", lambda a, b: a >= b), ("gt", lambda a, b: a > b),
                     ("lte", lambda a, b: a <= b), ("lt", lambda a, b: a < b)):
        bound = q.get(f"{name}_{op}")
        if bound is not None:
            items = [x for x in items if key(x) is not None and test(key(x), bound)]
    return items


def _like_any(pattern):
    """The v2 *_pattern filters: SQL ILIKE '%pattern%', "|" separating alternatives."""
    rxs = [_like(part.strip()) for part in pattern.split("|")]
    return lambda value: value is not None and any(rx.fullmatch(value) for rx in rxs)


# --- records -----------------------------------------------------------------------------

def dag_version_v2(dag):
    return {"id": _uuid("dag_version", dag["dag_id"]), "version_number": 1,
            "dag_id": dag["dag_id"], "bundle_name": "dags-folder", "bundle_version": None,
            "created_at": zdt(dag["last_parsed_time"] or "2024-01-01T00:00:00+00:00"),
            "dag_display_name": dag["dag_display_name"], "bundle_url": None}


def dag_record_v2(dag):
    schedule = dag["schedule_interval"]
    return {
        "dag_id": dag["dag_id"], "dag_display_name": dag["dag_display_name"],
        "is_paused": dag["is_paused"], "is_stale": not dag["is_active"],
        "last_parsed_time": zdt(dag["last_parsed_time"]), "last_parse_duration": 0.125,
        "last_expired": zdt(dag["last_expired"]), "bundle_name": "dags-folder",
        "bundle_version": None, "relative_fileloc": os.path.basename(dag["fileloc"]),
        "fileloc": dag["fileloc"], "description": dag["description"],
        "timetable_summary": schedule.get("value") if isinstance(schedule, dict) else None,
        "timetable_description": dag["timetable_description"], "timetable_partitioned": False,
        "tags": [{"name": t["name"], "dag_id": dag["dag_id"],
                  "dag_display_name": dag["dag_display_name"]} for t in dag["tags"]],
        "max_active_tasks": dag["max_active_tasks"], "max_active_runs": dag["max_active_runs"],
        "max_consecutive_failed_dag_runs": dag["max_consecutive_failed_dag_runs"],
        "has_task_concurrency_limits": dag["has_task_concurrency_limits"],
        "has_import_errors": dag["has_import_errors"],
        "next_dagrun_logical_date": zdt(dag["next_dagrun"]),
        "next_dagrun_data_interval_start": zdt(dag["next_dagrun_data_interval_start"]),
        "next_dagrun_data_interval_end": zdt(dag["next_dagrun_data_interval_end"]),
        "next_dagrun_run_after": zdt(dag["next_dagrun_create_after"] or dag["next_dagrun"]),
        "allowed_run_types": None, "owners": dag["owners"], "file_token": dag["file_token"]}


_V2_RUN_TYPES = {"dataset_triggered": "asset_triggered"}
_TRIGGERED_BY = {"scheduled": "timetable", "manual": "rest_api", "backfill": "backfill",
                 "dataset_triggered": "asset"}


def run_duration(run):
    start, end = run["start_date"], run["end_date"]
    return (end - start).total_seconds() if start and end else None


def run_record_v2(dag, run):
    start = run["start_date"]
    return {
        "dag_run_id": run["dag_run_id"], "dag_id": dag["dag_id"],
        "logical_date": zdt(run["logical_date"]),
        "queued_at": zdt(start - timedelta(seconds=1)) if start else None,
        "start_date": zdt(start), "end_date": zdt(run["end_date"]),
        "duration": run_duration(run),
        "data_interval_start": zdt(run["data_interval_start"]),
        "data_interval_end": zdt(run["data_interval_end"]), "run_after": zdt(run["run_after"]),
        "last_scheduling_decision": zdt(run["last_scheduling_decision"]),
        "run_type": _V2_RUN_TYPES.get(run["run_type"], run["run_type"]), "state": run["state"],
        "triggered_by": _TRIGGERED_BY.get(run["run_type"], "rest_api"),
        "triggering_user_name": "admin" if run["run_type"] == "manual" else None,
        "conf": run["conf"], "note": run["note"], "dag_versions": [dag_version_v2(dag)],
        "bundle_version": None, "dag_display_name": dag["dag_display_name"],
        "partition_key": None}


def ti_uuid(dag_id, run_id, task_id, map_index):
    return _uuid("ti", dag_id, run_id, task_id, map_index)


def _trigger_v2(trigger):
    if not isinstance(trigger, dict):
        return trigger
    return {"id": trigger.get("id"), "classpath": trigger.get("classpath"),
            "kwargs": trigger.get("kwargs"), "created_date": zdt(trigger.get("created_date")),
            "queue": trigger.get("queue"), "triggerer_id": trigger.get("triggerer_id")}


def _job_v2(job, dag):
    if not isinstance(job, dict):
        return job
    out = {k: job.get(k) for k in ("id", "dag_id", "state", "job_type", "start_date",
                                   "end_date", "latest_heartbeat", "executor_class",
                                   "hostname", "unixname")}
    for k in ("start_date", "end_date", "latest_heartbeat"):
        out[k] = zdt(out[k])
    out["dag_display_name"] = dag["dag_display_name"] if job.get("dag_id") else None
    return out


def ti_record_v2(dag, run, ti):
    queued = ti["queued_when"]
    return {
        "id": ti_uuid(dag["dag_id"], run["dag_run_id"], ti["task_id"], ti["map_index"]),
        "task_id": ti["task_id"], "dag_id": dag["dag_id"], "dag_run_id": run["dag_run_id"],
        "map_index": ti["map_index"], "logical_date": zdt(run["logical_date"]),
        "run_after": zdt(run["run_after"]), "start_date": zdt(ti["start_date"]),
        "end_date": zdt(ti["end_date"]), "duration": ti_duration(ti), "state": ti["state"],
        "try_number": ti["try_number"], "max_tries": ti["max_tries"],
        "task_display_name": ti["task_display_name"],
        "dag_display_name": dag["dag_display_name"], "hostname": ti["hostname"],
        "unixname": ti["unixname"], "pool": ti["pool"], "pool_slots": ti["pool_slots"],
        "queue": ti["queue"], "priority_weight": ti["priority_weight"],
        "operator": ti["operator"],
        "operator_name": "@task" if ti["operator"] == "_PythonDecoratedOperator"
        else ti["operator"],
        "queued_when": zdt(queued),
        "scheduled_when": zdt(queued - timedelta(seconds=0.5)) if queued else None,
        "pid": ti["pid"], "executor": ti["executor"], "executor_config": ti["executor_config"],
        "note": ti["note"], "rendered_map_index": ti["rendered_map_index"],
        "rendered_fields": ti["rendered_fields"], "trigger": _trigger_v2(ti["trigger"]),
        "triggerer_job": _job_v2(ti["triggerer_job"], dag), "dag_version": dag_version_v2(dag)}


# --- structured logs ---------------------------------------------------------------------
# The dataset keeps one log file per try (the v1 text). v2 serves it as records, line by line
# of the text FileTaskHandler would serve (served_log(): blank lines dropped, ordered by
# timestamp, so a file that grows at its end gives records that grow at their end):
#   [TS] {FILE.py:N} LEVEL - MSG  ->  {"timestamp": TS (zdt), "event": MSG, "level": "level",
#                                      "logger": "airflow.task.FILE"}
#       except FILE logging_mixin (a task's print()): "logger": "task", "chan": "stdout"
#   [TS] REST (any other line with a leading timestamp) -> {"timestamp": TS, "event": REST}
#   a line without a timestamp continues the record before it: its event gets "\n" + line;
#       but after an ERROR "Task failed with exception", the traceback that follows becomes
#       that record's "error_detail" (structlog's exception list: the last raised first)
#   a line without a timestamp and no record before it -> {"timestamp": null, "event": line}
# A {"records": [...]} entry is served as its records, a {"lines": [...]} entry as a list of
# strings (no header then: content is one or the other). A full read (no token) starts with
# {"event": "::group::Log message source details", "sources": [...]}, {"event":
# "::endgroup::"}; log_pos counts the records after it.

_V1_LINE = re.compile(r"\[([^\]]*)\] \{([^}]*)\} ([A-Z]+) - (.*)", re.S)
_FRAME = re.compile(r'  File "(.*)", line (\d+), in (.*)')
_FAILED = "Task failed with exception"


def line_record(line):
    """The record of a log line with a leading [timestamp]; None for another line."""
    stamp = _line_stamp(line)
    if stamp is None:
        return None
    m = _V1_LINE.fullmatch(line)
    if not m:
        return {"timestamp": zdt(stamp), "event": line.split(" ", 1)[1]}
    stem = m.group(2).split(":", 1)[0]
    stem = stem[:-3] if stem.endswith(".py") else stem
    rec = {"timestamp": zdt(stamp), "event": m.group(4), "level": m.group(3).lower()}
    if stem == "logging_mixin":
        rec.update(logger="task", chan="stdout")
    else:
        rec["logger"] = "airflow.task." + stem
    return rec


def error_detail(lines):
    """structlog's dict_tracebacks of a printed traceback (chained ones too)."""
    excs, links, cur, in_frames = [], [], None, False
    for line in lines:
        if line == "Traceback (most recent call last):":
            cur = {"exc_type": "", "exc_value": "", "exc_notes": [], "syntax_error": None,
                   "is_cause": False, "frames": [], "is_group": False, "exceptions": []}
            excs.append(cur)
            in_frames = True
            continue
        if cur is None:
            continue
        m = _FRAME.fullmatch(line)
        if in_frames and m:
            cur["frames"].append({"filename": m.group(1), "lineno": int(m.group(2)),
                                  "name": m.group(3)})
        elif in_frames and line.startswith(" "):
            continue  # the source line and its carets
        elif line.startswith("The above exception was the direct cause"):
            links.append((cur, True))
        elif line.startswith("During handling of the above exception"):
            links.append((cur, False))
        elif in_frames:
            typ, _, value = line.partition(": ")
            cur["exc_type"], cur["exc_value"], in_frames = typ.rsplit(".", 1)[-1], value, False
        else:
            cur["exc_value"] += "\n" + line
    for exc, is_cause in links:
        exc["is_cause"] = is_cause
    return excs[::-1]


def text_records(text):
    """The records of a served log text (see the mapping above)."""
    records, tb = [], {}
    for line in text.split("\n") if text else ():
        rec = line_record(line)
        if rec is not None:
            records.append(rec)
            continue
        if not records:
            records.append({"timestamp": None, "event": line})
            continue
        last = records[-1]
        if id(last) in tb or (last.get("event") == _FAILED and last.get("level") == "error"
                              and line.startswith("Traceback ")):
            tb.setdefault(id(last), (last, []))[1].append(line)
        else:
            last["event"] += "\n" + line
    for rec, lines in tb.values():
        rec["error_detail"] = error_detail(lines)
    return records


def entry_content(entry):
    """A try's log entry as v2 content: records, or strings for a {"lines": [...]} entry."""
    if entry is None:
        return []
    if isinstance(entry, dict) and "records" in entry:
        return [dict(r) for r in entry["records"]]
    if isinstance(entry, dict) and "lines" in entry:
        return list(entry["lines"])
    return text_records(served_log(entry))


def v2_header(sources):
    return [{"event": "::group::Log message source details", "sources": list(sources)},
            {"event": "::endgroup::"}]


def _render_value(value):
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_log(content):
    """The text a v2 mount shows for log content (SPEC.md "logs", v2): a string is itself
    and a newline; a record is "[timestamp] LEVEL logger - event", the level upper-cased,
    where a missing (absent or null) level or logger is left out with the separator after
    it ("[ts] LEVEL event", "[ts] logger - event", "[ts] event"); a record without a
    timestamp is its event alone; then each other key (not event/timestamp/level/logger),
    in record order, as " key=value" (a string as is, anything else json.dumps(v,
    ensure_ascii=False)); then "\\n". An event's own newlines stay."""
    out = []
    for rec in content:
        if isinstance(rec, str):
            out.append(rec + "\n")
            continue
        event = rec.get("event")
        event = "" if event is None else _render_value(event)
        if rec.get("timestamp") is None:
            line = event
        else:
            parts = [f"[{_render_value(rec['timestamp'])}]"]
            if rec.get("level") is not None:
                parts.append(_render_value(rec["level"]).upper())
            if rec.get("logger") is not None:
                parts.append(_render_value(rec["logger"]) + " -")
            line = " ".join(parts + [event])
        detail = rec.get("error_detail")
        tb = isinstance(detail, list)
        extra = "".join(f" {k}={_render_value(v)}" for k, v in rec.items()
                        if k not in ("event", "timestamp", "level", "logger") and
                        not (k == "error_detail" and tb))
        out.append(line + extra + "\n" + (render_traceback(detail) if tb else ""))
    return "".join(out)


def render_traceback(detail):
    """structlog's error_detail (the exception raised last first; is_cause on one that
    was the __cause__ of the one before it) as Python prints the chain, without the
    source lines: the causes first, "Traceback (most recent call last):", a
    '  File "F", line N, in NAME' line per frame, "TYPE: VALUE" ("TYPE" for an empty
    value), and Python's separator between two."""
    out, excs = [], [e for e in detail if isinstance(e, dict)]
    for i, exc in enumerate(reversed(excs)):
        if i:
            prev = excs[len(excs) - i]
            out.append("\nThe above exception was the direct cause of the following "
                       "exception:\n\n" if prev.get("is_cause") is True else
                       "\nDuring handling of the above exception, another exception "
                       "occurred:\n\n")
        out.append("Traceback (most recent call last):\n")
        for f in exc.get("frames") or []:
            if isinstance(f, dict):
                out.append('  File "%s", line %s, in %s\n' % tuple(
                    "" if f.get(k) is None else _render_value(f[k])
                    for k in ("filename", "lineno", "name")))
        value = exc.get("exc_value")
        value = "" if value is None else _render_value(value)
        typ = "" if exc.get("exc_type") is None else _render_value(exc["exc_type"])
        out.append(typ + (": " + value if value else "") + "\n")
    return "".join(out)


# Generated logs (up to hundreds of MB) are turned into JSON and text line by line, without
# making a dict of each record; test_fake_server_v2 checks it equals the general path.
_gen_v2_cache = {}  # (kind, spec) -> str, the 2 most recently used


def _gen_line_parts(key, cache):
    """key "{file.py:N} LEVEL" -> (the JSON of its records from the end of the event on,
    their text between the timestamp and the event, and after the event)."""
    parts = cache.get(key)
    if parts is None:
        rec = line_record(f"[2024-01-01T00:00:00.000+0000] {key} - \0")
        js, text = json_compact(rec), render_log([rec])
        parts = cache[key] = (js[js.index("\\u0000") + 6:],
                              text[text.index("] ") + 2:text.index("\0")],
                              text[text.index("\0") + 1:-1])
    return parts


def _gen_lines(lines, want):
    """Records of generated log lines as JSON strings (want "json") or rendered lines
    (want "text", each with its "\\n")."""
    cache, out = {}, []
    append = out.append
    for line in lines:
        rest = line[31:]
        k = rest.find(" - ")
        if len(line) < 35 or line[24:31] != "+0000] " or line[31] != "{" or k < 0 \
                or '"' in line or "\\" in line:
            rec = line_record(line) or {"timestamp": None, "event": line}
            append(json_compact(rec) if want == "json" else render_log([rec]))
            continue
        ms = line[21:24]
        tail, pre, post = _gen_line_parts(rest[:k], cache)
        stamp = line[1:20] + ("Z" if ms == "000" else "." + ms + "000Z")
        if want == "json":
            append('{"timestamp":"' + stamp + '","event":"' + rest[k + 3:] + tail)
        else:
            append("[" + stamp + "] " + pre + rest[k + 3:] + post + "\n")
    return out


def generated_records_text(spec):
    """The rendered records (no header) of a generated log, cached."""
    key = ("text", spec)
    with _gen_lock:
        text = _gen_v2_cache.pop(key, None)
    if text is None:
        text = "".join(_gen_lines(served_log({"generate": dict(zip(("bytes", "seed"), spec))})
                                  .split("\n"), "text"))
    with _gen_lock:
        _gen_v2_cache[key] = text
        while len(_gen_v2_cache) > 2:
            del _gen_v2_cache[next(iter(_gen_v2_cache))]
    return text


# --- handlers: (app, path params, query, request) -> (status, body[, headers]) -----------

def v2_version(app, p, q, req):
    return 200, {"version": app.version, "git_version": app.git_version}


def v2_health(app, p, q, req):
    beat = zdt(now() - timedelta(seconds=3))
    return 200, {"metadatabase": {"status": "healthy"},
                 "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": beat},
                 "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": beat},
                 "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": beat}}


def _latest_run(store, dag_id):
    runs = [r for (d, _), r in store.runs.items() if d == dag_id]
    return max(runs, key=lambda r: r["run_after"]) if runs else None


_V2_DAG_SORT = ("dag_id", "dag_display_name", "next_dagrun", "state", "start_date",
                "last_run_state", "last_run_start_date")


def v2_dags(app, p, q, req):
    store = app.store
    dags = list(store.dags.values())
    if q.get("exclude_stale", True):
        dags = [d for d in dags if d["is_active"]]
    if q.get("paused") is not None:
        dags = [d for d in dags if bool(d["is_paused"]) == q["paused"]]
    for name, field in (("dag_id_pattern", "dag_id"), ("dag_display_name_pattern",
                                                         "dag_display_name")):
        if q.get(name):
            match = _like_any(q[name])
            dags = [d for d in dags if match(d[field])]
    if q.get("tags"):
        test = all if q.get("tags_match_mode") == "all" else any
        dags = [d for d in dags if test(t in [x["name"] for x in d["tags"]] for t in q["tags"])]
    if q.get("owners"):
        dags = [d for d in dags if set(d["owners"]) & set(q["owners"])]

    def key(d, name):
        last = _latest_run(store, d["dag_id"])
        if name in ("state", "last_run_state"):
            return last and last["state"]
        if name in ("start_date", "last_run_start_date"):
            return last and last["start_date"]
        return d["next_dagrun"] if name == "next_dagrun" else d[name]
    dags = order_v2(dags, q.get("order_by") or ["dag_id"], _V2_DAG_SORT, key,
                    lambda d: d["dag_id"])
    dags, total = page_v2(dags, q)
    return 200, {"dags": [dag_record_v2(d) for d in dags], "total_entries": total}


def v2_dag(app, p, q, req):
    dag = app.store.dags.get(p["dag"])
    if dag is None:
        raise V2Error(404, f"Dag with id {p['dag']} was not found")
    return 200, dag_record_v2(dag)


_V2_RUN_SORT = ("id", "state", "dag_id", "run_id", "logical_date", "run_after", "start_date",
                "end_date", "updated_at", "conf", "duration", "dag_run_id")


def _v2_run_key(item, name):
    dag_id, run = item
    if name in ("run_id", "dag_run_id"):
        return run["dag_run_id"]
    if name == "dag_id":
        return dag_id
    if name == "conf":
        return json.dumps(run["conf"])
    if name == "duration":
        return run_duration(run)
    if name == "updated_at":
        return _updated(run)
    return run[name]


def v2_runs(app, p, q, req):
    store = app.store
    if p["dag"] != "~" and p["dag"] not in store.dags:
        raise V2Error(404, f"The DAG with dag_id: `{p['dag']}` was not found")
    runs = [(d, r) for (d, _), r in store.runs.items() if p["dag"] in ("~", d)]
    if q.get("state"):
        runs = [x for x in runs if x[1]["state"] in q["state"]]
    if q.get("run_type"):
        runs = [x for x in runs if _V2_RUN_TYPES.get(x[1]["run_type"], x[1]["run_type"])
                in q["run_type"]]
    if q.get("run_id_pattern"):
        match = _like_any(q["run_id_pattern"])
        runs = [x for x in runs if match(x[1]["dag_run_id"])]
    for name in ("run_after", "logical_date", "start_date", "end_date", "updated_at",
                 "duration"):
        runs = range_v2(runs, q, name, lambda x, n=name: _v2_run_key(x, n))
    runs = order_v2(runs, q.get("order_by") or ["id"], _V2_RUN_SORT, _v2_run_key,
                    lambda x: x[1]["id"])
    runs, total = page_v2(runs, q)
    dags = store.dags
    return 200, {"dag_runs": [run_record_v2(dags[d], r) for d, r in runs],
                 "total_entries": total}


def v2_run(app, p, q, req):
    run = app.store.runs.get((p["dag"], p["run"]))
    if run is None:
        raise V2Error(404, f"The DagRun with dag_id: `{p['dag']}` and run_id: `{p['run']}` "
                           "was not found")
    return 200, run_record_v2(app.store.dags[p["dag"]], run)


_V2_TI_SORT = ("id", "state", "duration", "start_date", "end_date", "map_index", "try_number",
               "logical_date", "run_after", "data_interval_start", "data_interval_end",
               "rendered_map_index", "operator")


def _v2_ti_key(row, name):
    dag_id, run, ti = row
    if name == "id":
        return ti_uuid(dag_id, run["dag_run_id"], ti["task_id"], ti["map_index"])
    if name == "duration":
        return ti_duration(ti)
    if name in ("logical_date", "run_after", "data_interval_start", "data_interval_end"):
        return run[name]
    if name == "updated_at":
        return _updated(ti)
    return ti[name]


def _v2_filter_tis(rows, q):
    if q.get("state"):
        states = [None if s == "none" else s for s in q["state"]]
        rows = [x for x in rows if x[2]["state"] in states]
    for name in ("pool", "queue", "executor", "operator", "try_number", "map_index"):
        if q.get(name):
            rows = [x for x in rows if x[2][name] in q[name]]
    if q.get("task_display_name_pattern"):
        match = _like_any(q["task_display_name_pattern"])
        rows = [x for x in rows if match(x[2]["task_display_name"])]
    for name in ("run_after", "logical_date", "start_date", "end_date", "updated_at",
                 "duration"):
        rows = range_v2(rows, q, name, lambda x, n=name: _v2_ti_key(x, n))
    return rows


def _v2_ti_page(app, rows, q):
    rows = order_v2(rows, q.get("order_by") or ["map_index"], _V2_TI_SORT, _v2_ti_key,
                    lambda x: _v2_ti_key(x, "id"))
    rows, total = page_v2(rows, q)
    dags = app.store.dags
    return 200, {"task_instances": [ti_record_v2(dags[d], r, t) for d, r, t in rows],
                 "total_entries": total}


def v2_tis(app, p, q, req):
    store = app.store
    if p["run"] != "~" and not any(rid == p["run"] for _, rid in store.runs):
        raise V2Error(404, f"DagRun with run_id: `{p['run']}` was not found")
    if p["dag"] != "~" and p["dag"] not in store.dags:
        raise V2Error(404, f"DAG with dag_id: `{p['dag']}` was not found")
    rows = [(d, r, t) for (d, rid), r in store.runs.items()
            if p["dag"] in ("~", d) and p["run"] in ("~", rid) for t in r["tis"]]
    if q.get("task_id"):
        rows = [x for x in rows if x[2]["task_id"] == q["task_id"]]
    return _v2_ti_page(app, _v2_filter_tis(rows, q), q)


def v2_ti(app, p, q, req):
    run = app.store.runs.get((p["dag"], p["run"]))
    found = [t for t in (run["tis"] if run else ()) if t["task_id"] == p["task"]]
    if not found:
        raise V2Error(404, f"The Task Instance with dag_id: `{p['dag']}`, run_id: "
                           f"`{p['run']}` and task_id: `{p['task']}` was not found")
    if found[0]["map_index"] != -1:
        raise V2Error(404, "Task instance is mapped, add the map_index value to the URL")
    return 200, ti_record_v2(app.store.dags[p["dag"]], run, found[0])


def v2_mapped_ti(app, p, q, req):
    run, ti = app.store.find_ti(p["dag"], p["run"], p["task"], p["map_index"])
    if ti is None:
        raise V2Error(404, f"The Mapped Task Instance with dag_id: `{p['dag']}`, run_id: "
                           f"`{p['run']}`, task_id: `{p['task']}`, and map_index: "
                           f"`{p['map_index']}` was not found")
    return 200, ti_record_v2(app.store.dags[p["dag"]], run, ti)


def v2_list_mapped(app, p, q, req):
    store = app.store
    run = store.runs.get((p["dag"], p["run"]))
    rows = [(p["dag"], run, t) for t in (run["tis"] if run else ())
            if t["task_id"] == p["task"] and t["map_index"] >= 0]
    if not rows:  # 0 can mean a mapped task that expanded to nothing
        if p["dag"] not in store.dags:
            raise V2Error(404, f"DAG {p['dag']} not found")
        if not store.has_task(p["dag"], p["task"]):
            raise V2Error(404, f"Task id {p['task']} not found")
        if not store.is_mapped(p["dag"], p["task"]):
            raise V2Error(404, f"Task id {p['task']} is not mapped")
    return _v2_ti_page(app, _v2_filter_tis(rows, q), q)


def v2_links(app, p, q, req):
    store = app.store
    if p["dag"] not in store.dags:
        raise V2Error(404, f"DAG with ID = {p['dag']} not found")
    if not store.has_task(p["dag"], p["task"]):
        raise V2Error(404, f"Task with ID = {p['task']} not found")
    mi = q.get("map_index")
    _, ti = store.find_ti(p["dag"], p["run"], p["task"], -1 if mi is None else mi)
    if ti is None:
        raise V2Error(404, f"DAG Run with ID = {p['run']} not found")
    links = {name: ti["links"].get(name) or None
             for name in store.link_names(p["dag"], p["task"])}
    return 200, {"extra_links": links, "total_entries": len(links)}


def v2_accept(req):
    """The log endpoint's Accept dependency: prefix matching on the raw header (default
    */*); -> "json" or "ndjson", else 406."""
    accept = req.headers.get("Accept")
    accept = "*/*" if accept is None else accept
    if accept.startswith("*/*") or accept.startswith("application/json"):
        return "json"
    if accept.startswith("application/x-ndjson"):
        return "ndjson"
    raise V2Error(406, "Only application/json or application/x-ndjson is supported")


def v2_logs(app, p, q, req):
    kind = v2_accept(req)
    metadata = {}
    if q.get("token"):
        try:
            metadata = app.serializer.loads(q["token"])
        except BadSignature:
            raise V2Error(400, "Bad Signature. Please use only the tokens provided by the "
                               "API.") from None
    mi = q.get("map_index")
    run, ti = app.store.find_ti(p["dag"], p["run"], p["task"], -1 if mi is None else mi)
    if ti is None:
        raise V2Error(404, "TaskInstance not found")
    try_no, pos = p["try_number"], metadata.get("log_pos")
    bug = app.resume_bug()
    if try_no < 1:
        content, end, count = [{"event": f"Error fetching the logs. Try number {try_no} is "
                                         "invalid.", "level": "error"}], True, None
    else:
        entry, sources, end = log_origin(p["dag"], run, ti, try_no)
        spec = _gen_spec(entry)
        if spec:
            return _generated_v2_answer(app, kind, spec, sources, pos, end, bug)
        content = entry_content(entry)
        count = len(content)
        if pos is not None:
            content = content if bug else content[pos:]
        elif not (isinstance(entry, dict) and "lines" in entry):
            content = v2_header(sources) + content
    return _log_answer(app, kind, content, end, count, bug)


def _log_answer(app, kind, content, end, count, bug):
    token = None if end else app.serializer.dumps({"end_of_log": False, "log_pos": count})
    if kind == "json":
        return 200, {"content": content, "continuation_token": token}
    headers = {"Content-Type": "application/x-ndjson"}
    if not end:  # 3.0.4+: computed before streaming, without log_pos
        headers["Airflow-Continuation-Token"] = app.serializer.dumps(
            {"end_of_log": False}) if bug else token
    return 200, "".join(json_compact(r) + "\n" for r in content).encode(), headers


def _generated_v2_answer(app, kind, spec, sources, pos, end, bug):
    """A log read of a generated log: the body is made outside the store lock, cached."""
    text = served_log({"generate": {"bytes": spec[0], "seed": spec[1]}})
    count = text.count("\n") + 1
    token = None if end else app.serializer.dumps({"end_of_log": False, "log_pos": count})

    def build():
        lines = text.split("\n")
        if pos is not None and not bug:
            lines = lines[pos:]
        head = [json_compact(h) for h in v2_header(sources)] if pos is None else []
        recs = head + _gen_lines(lines, "json")
        del lines
        if kind == "json":
            return ('{"content":[' + ",".join(recs) + '],"continuation_token":'
                    + json.dumps(token) + "}").encode()
        return "".join(r + "\n" for r in recs).encode()
    body = lambda: app.cached_body(("v2", kind, spec, tuple(sources), pos, end, bug),  # noqa
                                   build)
    if kind == "json":
        return 200, body
    headers = {"Content-Type": "application/x-ndjson"}
    if not end:
        headers["Airflow-Continuation-Token"] = app.serializer.dumps(
            {"end_of_log": False}) if bug else token
    return 200, body, headers


_PATCH_FIELDS = ("new_state", "note", "include_upstream", "include_downstream",
                 "include_future", "include_past")
_MISSING = object()


def patch_body_v2(body):
    """PatchTaskInstanceBody (extra="forbid", its new_state validator) -> ({field: value}
    for the fields set, errors)."""
    if body is _MISSING:
        return None, [verr("missing", ("body",), "Field required", None)]
    if not isinstance(body, dict):
        shown = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return None, [verr("model_attributes_type", ("body",), "Input should be a valid "
                           "dictionary or object to extract fields from", shown)]
    out, errors = {}, []
    for name in _PATCH_FIELDS:
        if name not in body:
            continue
        value, loc = body[name], ("body", name)
        if name == "new_state":
            if value is None:
                errors.append(verr("value_error", loc, "Value error, 'new_state' should not "
                                   "be empty", None, {"error": {}}))
            elif not isinstance(value, str):  # ns.lower(): an AttributeError, not handled
                raise V2Error(500, "Internal Server Error", plain=True)
            elif value.lower() not in ("success", "failed", "skipped"):
                errors.append(verr("value_error", loc, f"Value error, '{value.lower()}' is not "
                                   "one of ['success', 'failed', 'skipped']", value,
                                   {"error": {}}))
            else:
                out[name] = value.lower()
        elif name == "note":
            if value is not None and not isinstance(value, str):
                errors.append(verr("string_type", loc, "Input should be a valid string", value))
            elif value is not None and len(value) > 1000:
                errors.append(verr("string_too_long", loc, "String should have at most 1000 "
                                   "characters", value, {"max_length": 1000}))
            else:
                out[name] = value
        elif isinstance(value, bool) or value in (0, 1) and isinstance(value, int):
            out[name] = bool(value)
        elif isinstance(value, str) and value.strip().lower() in _PYD_TRUE + _PYD_FALSE:
            out[name] = value.strip().lower() in _PYD_TRUE
        else:
            errors.append(verr("bool_parsing" if isinstance(value, str) else "bool_type", loc,
                               "Input should be a valid boolean" +
                               (", unable to interpret input" if isinstance(value, str)
                                else ""), value))
    for name, value in body.items():
        if name not in _PATCH_FIELDS:
            errors.append(verr("extra_forbidden", ("body", name), "Extra inputs are not "
                               "permitted", value))
    return out, errors


def _patch_targets(app, p, q, req):
    store, dag_id, run_id, task_id = app.store, p["dag"], p["run"], p["task"]
    if dag_id not in store.dags:
        raise V2Error(404, f"DAG {dag_id} not found")
    if not store.has_task(dag_id, task_id):
        raise V2Error(404, f"Task '{task_id}' not found in DAG '{dag_id}'")
    if "map_index" in p:
        map_index = p["map_index"]
    elif q.get("map_index") is not None:
        map_index = q["map_index"]
    else:  # 3.0.2+ (#50550): no map_index means every map index
        map_index = None if app.v() >= (3, 0, 2) else -1
    run = store.runs.get((dag_id, run_id))
    tis = sorted((t for t in (run["tis"] if run else ()) if t["task_id"] == task_id
                  and map_index in (None, t["map_index"])), key=lambda t: t["map_index"])
    if not tis:
        raise V2Error(404, f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, "
                           f"task_id: `{task_id}` and map_index: `{map_index}` was not found")
    fields = set(req.json)  # model_fields_set, intersected with update_mask if given
    if q.get("update_mask"):
        fields &= set(q["update_mask"])
    return store.dags[dag_id], run, tis, {k: req.json[k] for k in _PATCH_FIELDS
                                          if k in fields}


def v2_patch(app, p, q, req):
    dag, run, tis, data = _patch_targets(app, p, q, req)
    for key, value in data.items():
        if key == "new_state":
            altered = [t for t in tis if t["state"] != value]
            if not altered:
                raise V2Error(409, f"Task id {p['task']} is already in {value} state")
            stamp = now()
            for t in altered:  # TaskInstance.set_state()
                t["state"] = value
                t["start_date"] = t["start_date"] or stamp
                t["end_date"] = t["end_date"] or stamp
                t["updated_at"] = stamp
        elif key == "note" and (value is not None or q.get("update_mask")):
            for t in tis:
                t["note"] = value
    records = [ti_record_v2(dag, run, t) for t in tis]
    if app.v() < (3, 0, 2):
        return 200, records[0]
    return 200, {"task_instances": records, "total_entries": len(records)}


def v2_patch_dry(app, p, q, req):
    dag, run, tis, data = _patch_targets(app, p, q, req)
    if data.get("new_state"):
        tis = [t for t in tis if t["state"] != data["new_state"]]
    elif "note" not in data:
        tis = []
    return 200, {"task_instances": [ti_record_v2(dag, run, t) for t in tis],
                 "total_entries": len(tis)}


def _v2_bool(body, name, loc, errors, out):
    value = body[name]
    if isinstance(value, bool) or value in (0, 1) and isinstance(value, int):
        out[name] = bool(value)
    elif isinstance(value, str) and value.strip().lower() in _PYD_TRUE + _PYD_FALSE:
        out[name] = value.strip().lower() in _PYD_TRUE
    else:
        errors.append(verr("bool_parsing" if isinstance(value, str) else "bool_type", loc,
                           "Input should be a valid boolean" +
                           (", unable to interpret input" if isinstance(value, str)
                            else ""), value))


def _v2_object(body, fields, required=()):
    """A pydantic model with extra="forbid": -> (out, errors, object or None)."""
    if body is _MISSING:
        return None, [verr("missing", ("body",), "Field required", None)], None
    if not isinstance(body, dict):
        shown = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return None, [verr("model_attributes_type", ("body",), "Input should be a valid "
                           "dictionary or object to extract fields from", shown)], None
    errors = [verr("extra_forbidden", ("body", n), "Extra inputs are not permitted", v)
              for n, v in body.items() if n not in fields]
    errors += [verr("missing", ("body", n), "Field required", body)
               for n in required if n not in body]
    return {}, errors, body


def run_patch_body_v2(body):
    out, errors, body = _v2_object(body, ("state", "note"))
    if body is None:
        return out, errors
    if "state" in body:
        value = body["state"]
        if value is not None and value not in ("queued", "success", "failed"):
            errors.append(verr("enum", ("body", "state"), "Input should be 'queued', "
                               "'success' or 'failed'", value,
                               {"expected": "'queued', 'success' or 'failed'"}))
        else:
            out["state"] = value
    if "note" in body:
        value = body["note"]
        if value is not None and not isinstance(value, str):
            errors.append(verr("string_type", ("body", "note"), "Input should be a valid "
                               "string", value))
        elif value is not None and len(value) > 1000:
            errors.append(verr("string_too_long", ("body", "note"), "String should have at "
                               "most 1000 characters", value, {"max_length": 1000}))
        else:
            out["note"] = value
    return out, errors


def dag_patch_body_v2(body):
    out, errors, body = _v2_object(body, ("is_paused",), ("is_paused",))
    if body is not None and "is_paused" in body:
        _v2_bool(body, "is_paused", ("body", "is_paused"), errors, out)
    return out, errors


_CLEAR_BOOLS = {"dry_run": True, "only_failed": True, "only_running": False,
                "reset_dag_runs": True, "include_upstream": False,
                "include_downstream": False, "include_future": False, "include_past": False,
                "run_on_latest_version": False}


def clear_body_v2(body):
    out, errors, body = _v2_object(body, (*_CLEAR_BOOLS, "task_ids", "dag_run_id",
                                          "start_date", "end_date"))
    if body is None:
        return out, errors
    for name, default in _CLEAR_BOOLS.items():
        out[name] = default
        if name in body:
            _v2_bool(body, name, ("body", name), errors, out)
    ids = body.get("task_ids")
    if ids is not None:
        if not isinstance(ids, list):
            errors.append(verr("list_type", ("body", "task_ids"), "Input should be a valid "
                               "list", ids))
        else:
            for i, x in enumerate(ids):
                if not (isinstance(x, str) or (isinstance(x, list) and len(x) == 2 and
                                               isinstance(x[0], str) and
                                               isinstance(x[1], int) and
                                               not isinstance(x[1], bool))):
                    errors.append(verr("string_type", ("body", "task_ids", i), "Input should "
                                       "be a valid string", x))
    out["task_ids"] = ids
    run_id = body.get("dag_run_id")
    if run_id is not None and not isinstance(run_id, str):
        errors.append(verr("string_type", ("body", "dag_run_id"), "Input should be a valid "
                           "string", run_id))
    out["dag_run_id"] = run_id
    return out, errors


def v2_patch_run(app, p, q, req):
    run = app.store.runs.get((p["dag"], p["run"]))
    if run is None:
        raise V2Error(404, f"The DagRun with dag_id: `{p['dag']}` and run_id: `{p['run']}` "
                           "was not found")
    data = req.json
    if q.get("update_mask"):
        bad = [m for m in q["update_mask"] if m not in ("state", "note")]
        if bad:
            raise V2Error(400, f"Invalid fields to update: {bad}")
        data = {k: v for k, v in data.items() if k in q["update_mask"]}
    for key, value in data.items():
        if key == "state" and value is not None:
            set_run_state(run, value)
        elif key == "note":
            run["note"] = value
    return 200, run_record_v2(app.store.dags[p["dag"]], run)


def v2_patch_dag(app, p, q, req):
    dag = app.store.dags.get(p["dag"])
    if dag is None:
        raise V2Error(404, f"Dag with id: {p['dag']} was not found")
    if q.get("update_mask") and q["update_mask"] != ["is_paused"]:
        raise V2Error(400, "Only `is_paused` field can be updated through the REST API")
    dag["is_paused"] = req.json["is_paused"]
    return 200, dag_record_v2(dag)


def v2_clear(app, p, q, req):
    data = req.json
    dag = app.store.dags.get(p["dag"])
    if dag is None:
        raise V2Error(404, f"Dag id {p['dag']} not found")
    if data["dag_run_id"] is not None and (p["dag"], data["dag_run_id"]) not in app.store.runs:
        raise V2Error(404, f"Dag Run id {data['dag_run_id']} not found in dag {p['dag']}")
    targets = clear_targets(app, p["dag"], data)
    if not data["dry_run"]:
        do_clear(targets, data["reset_dag_runs"])
    records = [ti_record_v2(dag, run, t) for run, t in targets]
    return 200, {"task_instances": records, "total_entries": len(records)}


_V2TI = ("dags", "{dag}", "dagRuns", "{run}", "taskInstances", "{task}")
# (segments after /api/v2, {method: (handler, query spec, has a body)}, other methods the
# real API has there, needs auth). Starlette tries them in order: the first route whose path
# and method match wins, so a literal segment must come before "{map_index}".
V2_ROUTES = [
    (("version",), {"GET": (v2_version, "none", False)}, (), False),
    (("monitor", "health"), {"GET": (v2_health, "none", False)}, (), False),
    (("dags",), {"GET": (v2_dags, "dags", False)}, ("PATCH",), True),
    (("dags", "{dag}"), {"GET": (v2_dag, "none", False),
                         "PATCH": (v2_patch_dag, "mask", dag_patch_body_v2)}, ("DELETE",),
     True),
    (("dags", "{dag}", "clearTaskInstances"), {"POST": (v2_clear, "none", clear_body_v2)},
     (), True),
    (("dags", "{dag}", "dagRuns"), {"GET": (v2_runs, "runs", False)}, ("POST",), True),
    (("dags", "{dag}", "dagRuns", "{run}"), {"GET": (v2_run, "none", False),
                                             "PATCH": (v2_patch_run, "mask",
                                                       run_patch_body_v2)},
     ("DELETE",), True),
    (_V2TI[:5], {"GET": (v2_tis, "tis", False)}, ("PATCH",), True),
    (_V2TI + ("listMapped",), {"GET": (v2_list_mapped, "list_mapped", False)}, (), True),
    (_V2TI + ("links",), {"GET": (v2_links, "links", False)}, (), True),
    (_V2TI + ("logs", "{try_number}"), {"GET": (v2_logs, "logs", False)}, (), True),
    (_V2TI + ("dry_run",), {"PATCH": (v2_patch_dry, "patch", True)}, (), True),
    (_V2TI + ("{map_index}", "dry_run"), {"PATCH": (v2_patch_dry, "patch_mi", True)}, (),
     True),
    (_V2TI, {"GET": (v2_ti, "none", False), "PATCH": (v2_patch, "patch", True)},
     ("DELETE",), True),
    (_V2TI + ("{map_index}",), {"GET": (v2_mapped_ti, "none", False),
                                "PATCH": (v2_patch, "patch_mi", True)}, (), True),
]


def match_route_v2(segs, method):
    """-> (route, raw path params), raising 405/501 for a path whose methods do not match;
    None when no path matches."""
    partial = None
    for route in V2_ROUTES:
        pattern, methods = route[0], route[1]
        if len(pattern) != len(segs):
            continue
        params = {}
        for pat, seg in zip(pattern, segs):
            if pat.startswith("{") and seg:
                params[pat[1:-1]] = seg
            elif pat != seg:
                break
        else:
            if method in methods:
                return route, params
            partial = partial or route
    if partial is None:
        return None
    if method in partial[2]:
        raise V2Error(501, f"{method} is not implemented by fake-airflow")
    raise V2Error(405, "Method Not Allowed", {"Allow": ", ".join(sorted(partial[1]))})


V2_UI_HTML = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>Airflow</title>
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
"""


class Request:
    def __init__(self, method, raw_path, raw_query, headers, body):
        self.method, self.raw_path, self.raw_query = method, raw_path, raw_query
        self.headers, self.body, self.json = headers, body, None


class App:
    """Everything but the sockets: turns a Request into (status, headers, body bytes)."""

    # what configure() may change (FakeAirflow.configure, POST /_fake/config)
    CONFIG = ("version", "user", "password", "static_tokens", "jwt_expiry", "jwt_leeway",
              "jwt_secret", "clock_skew")

    def __init__(self, data, auth, user, password, static_tokens, version, secret_key,
                 sort_keys, api="v1", prefix="", jwt_expiry=86400, jwt_leeway=10,
                 jwt_secret="fake-airflow-jwt-secret", keytab=None):
        self.api, self.auth, self.prefix, self.sort_keys = api, auth, prefix, sort_keys
        self.keytab, self.principals = keytab, []
        self.clock_skew = 0
        self.configure(version=version, user=user, password=password,
                       static_tokens=list(static_tokens), jwt_expiry=jwt_expiry,
                       jwt_leeway=jwt_leeway, jwt_secret=jwt_secret)
        self._initial = self.config()
        self.serializer = Serializer(secret_key)
        self.store = Store(self.serializer)
        self.store.load(data)
        self._cache_lock, self._body_cache, self._building = threading.Lock(), {}, {}

    def config(self):
        return {name: getattr(self, name) for name in self.CONFIG}

    def configure(self, rotate_jwt_secret=False, **kw):
        """Changes the server's version, credentials, static bearer tokens (the list
        replaces the old one: a rotation), JWT lifetime and leeway (seconds), JWT secret
        (rotate_jwt_secret=True: a new random one, so that every JWT issued so far is
        refused as "Invalid JWT token"), or clock_skew (seconds added to the server's
        clock when it issues and checks JWTs)."""
        bad = sorted(set(kw) - set(self.CONFIG))
        if bad:
            raise ValueError(f"unknown setting(s): {', '.join(bad)}")
        for name in ("jwt_expiry", "jwt_leeway", "clock_skew"):
            if name in kw and (isinstance(kw[name], bool)
                               or not isinstance(kw[name], (int, float))):
                raise ValueError(f"{name} must be a number of seconds")
        if "static_tokens" in kw and (not isinstance(kw["static_tokens"], (list, tuple)) or not
                                      all(isinstance(t, str) and t for t in kw["static_tokens"])):
            raise ValueError("static_tokens must be a list of non-empty strings")
        for name, value in kw.items():
            setattr(self, name, list(value) if name == "static_tokens" else value)
        _SERVER_SKEW[0] = self.clock_skew
        if rotate_jwt_secret:
            self.jwt_secret = os.urandom(16).hex()
        if "version" in kw:
            self.git_version = ".release:" + hashlib.sha1(self.version.encode()).hexdigest()
            self.docs = (f"https://airflow.apache.org/docs/apache-airflow/{self.version}/"
                         "stable-rest-api-ref.html")

    def reset_config(self):
        self.configure(**self._initial)

    @property
    def token(self):
        """v1's one bearer token (the first static token), kept for old callers."""
        return self.static_tokens[0] if self.static_tokens else None

    @token.setter
    def token(self, value):
        self.static_tokens = [value] if value else []

    def v(self):
        return vtuple(self.version)

    def resume_bug(self):
        """3.0.4 and later answer a log read with a token with the whole log again."""
        return self.v() >= (3, 0, 4)

    def clock(self):
        return time.time() + self.clock_skew

    def issue_token(self, sub=None, expires_in=None):
        """A JWT as POST /auth/token gives (HS512 with the current secret)."""
        t = int(self.clock())
        claims = {"jti": uuid.uuid4().hex, "sub": sub or self.user, "role": "ADMIN",
                  "iat": t, "nbf": t,
                  "exp": t + int(self.jwt_expiry if expires_in is None else expires_in)}
        return jwt_encode(claims, self.jwt_secret)

    def token_error(self, token):
        """None if the v2 API takes `token` as a bearer token, else its error detail."""
        if token in self.static_tokens:
            return None
        try:
            jwt_decode(token, self.jwt_secret, self.clock(), self.jwt_leeway)
        except TokenExpired:
            return "Token Expired"
        except TokenInvalid:
            return "Invalid JWT token"
        return None

    def cached_body(self, key, build, max_entries=4, max_bytes=800_000_000):
        """build() -> bytes, memoized under key (built once: concurrent callers wait); the
        least recently used entries go first when there are more than max_entries or
        max_bytes (the newest always stays)."""
        with self._cache_lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._cache_lock:
                body = self._body_cache.pop(key, None)
                if body is not None:
                    self._body_cache[key] = body
                    return body
            body = None
            try:
                body = build()
            finally:
                with self._cache_lock:
                    self._building.pop(key, None)
                    if body is not None:
                        self._body_cache[key] = body
                    while len(self._body_cache) > 1 and (
                            len(self._body_cache) > max_entries
                            or sum(map(len, self._body_cache.values())) > max_bytes):
                        del self._body_cache[next(iter(self._body_cache))]
            return body

    def to_json(self, obj):
        return (json.dumps(obj, indent=2, sort_keys=self.sort_keys, ensure_ascii=True)
                + "\n").encode()

    def problem(self, err):
        kinds = {400: "BadRequest", 401: "Unauthenticated", 403: "PermissionDenied",
                 404: "NotFound", 405: "MethodNotAllowed", 409: "AlreadyExists", 500: "Unknown"}
        kind = kinds.get(err.status) if err.linked else None
        body = {"detail": err.detail, "status": err.status, "title": err.title,
                "type": f"{self.docs}#section/Errors/{kind}" if kind else "about:blank"}
        headers = {"Content-Type": "application/problem+json", **err.headers}
        return err.status, headers, self.to_json(body)

    def authenticated(self, headers):
        if self.auth == "none":
            return True
        scheme, _, rest = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(rest.strip()).decode().partition(":")
            except ValueError:
                return False
            return bool(user and password) and (user, password) == (self.user, self.password)
        return scheme.lower() == "bearer" and rest.strip() in self.static_tokens

    def kerberos_authenticate(self, headers):
        """Airflow 2's kerberos_auth: -> the mutual-auth headers of a request accepted,
        else PlainError (401 asking for Negotiate, or 403)."""
        import gssapi  # python3-gssapi: only a Kerberos fake needs it
        scheme, _, cred = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "negotiate" or not cred.strip():
            raise PlainError(401, {"WWW-Authenticate": "Negotiate"}, b"Unauthorized")
        forbidden = PlainError(403, {}, b"Forbidden")
        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": self.keytab})
            ctx = gssapi.SecurityContext(creds=creds, usage="accept")
            out = ctx.step(base64.b64decode(cred.strip()))
        except (gssapi.exceptions.GSSError, ValueError):
            raise forbidden from None
        if not ctx.complete:
            raise PlainError(401, {"WWW-Authenticate": "Negotiate"}, b"Unauthorized")
        principal = str(ctx.initiator_name)
        if principal.split("@")[0].split("/")[0] != self.user:
            raise forbidden
        self.principals.append(principal)
        return {"WWW-Authenticate": "negotiate " + base64.b64encode(out).decode()} \
            if out else {}

    def handle(self, req):
        if self.prefix:  # everything is under the prefix; a proxy answers the rest
            if req.raw_path != self.prefix and not req.raw_path.startswith(self.prefix + "/"):
                return 404, {"Content-Type": "text/plain; charset=utf-8"}, \
                    b"404 page not found\n"
            req.raw_path = req.raw_path[len(self.prefix):] or "/"
        try:
            return self._route_v2(req) if self.api == "v2" else self._route(req)
        except ApiError as err:
            return self.problem(err)
        except PlainError as err:
            return err.status, {"Content-Type": "text/html; charset=utf-8", **err.headers}, \
                err.body
        except V2Error as err:
            return self.v2_problem(err)
        except Exception:  # a bug in the fake: say so loudly
            traceback.print_exc()
            if self.api == "v2":
                return self.v2_problem(V2Error(500, traceback.format_exc()))
            return self.problem(ApiError(500, "Internal Server Error", traceback.format_exc()))

    # -- v2 --
    def v2_problem(self, err):
        if err.plain:
            return err.status, {"Content-Type": "text/plain; charset=utf-8"}, \
                b"Internal Server Error"
        return err.status, {"Content-Type": "application/json", **err.headers}, \
            json_compact({"detail": err.detail}).encode()

    def v2_authenticate(self, headers):
        """Airflow 3's get_user: a Bearer token (else the _token cookie), checked as a JWT
        (or one of the static tokens)."""
        if self.auth == "none":
            return
        scheme, _, cred = (headers.get("Authorization") or "").strip().partition(" ")
        token = cred.strip() if scheme.lower() == "bearer" else ""
        if not token:
            for part in (headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == "_token":
                    token = value
        if not token:
            raise V2Error(401, "Not authenticated")
        error = self.token_error(token)
        if error:
            raise V2Error(401 if error == "Token Expired" else 403, error)

    def v2_login(self, req, cli):
        """The auth manager's POST /auth/token (JSON or form body) -> 201 {"access_token"}."""
        if req.method != "POST":
            raise V2Error(405, "Method Not Allowed", {"Allow": "POST"})
        mime = (req.headers.get("Content-Type") or "application/json").split(";")[0]
        data = None
        if mime.strip().lower() == "application/x-www-form-urlencoded":
            data = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        else:
            try:
                data = json.loads(req.body) if req.body else None
            except ValueError:
                data = None
        user = data.get("username") if isinstance(data, dict) else None
        password = data.get("password") if isinstance(data, dict) else None
        if not isinstance(user, str) or not isinstance(password, str) or not user \
                or not password:
            raise V2Error(400, "Username and password must be provided")
        if (user, password) != (self.user, self.password):
            raise V2Error(401, "Invalid credentials")
        return 201, {"Content-Type": "application/json"}, json_compact(
            {"access_token": self.issue_token(user, 3600 if cli else None)}).encode()

    def _v2_body(self, req):
        """FastAPI reads a JSON body before anything else: bad JSON is a 422 even without
        credentials. -> the value, _MISSING, or the raw bytes (not a JSON content type)."""
        if not req.body:
            return _MISSING
        ctype = req.headers.get("Content-Type")
        if ctype is not None:
            msg = email.message.Message()
            msg["content-type"] = ctype
            sub = msg.get_content_subtype()
            if msg.get_content_maintype() != "application" or not (
                    sub == "json" or sub.endswith("+json")):
                return req.body
        try:
            return json.loads(req.body)
        except json.JSONDecodeError as e:
            raise V2Error(422, [verr("json_invalid", ("body", e.pos), "JSON decode error", {},
                                     {"error": e.msg})]) from None
        except ValueError as e:
            raise V2Error(422, [verr("json_invalid", ("body", 0), "JSON decode error", {},
                                     {"error": str(e)})]) from None

    def _route_v2(self, req):
        path = unquote(req.raw_path, errors="replace")
        if path in ("/auth/token", "/auth/token/cli"):
            return self.v2_login(req, path.endswith("/cli"))
        if not (path == "/api/v2" or path.startswith("/api/v2/")):
            if path.split("/")[1] in ("api", "auth", "execution"):
                raise V2Error(404, "Not Found")
            # the UI: a single-page app answers every other path
            return 200, {"Content-Type": "text/html; charset=utf-8"}, V2_UI_HTML.encode()
        segs = path[len("/api/v2/"):].split("/")
        found = match_route_v2(segs, req.method)
        if found is None:
            if path.endswith("/") and match_route_v2(segs[:-1], req.method):
                # Starlette's redirect_slashes: to the absolute URL without the slash
                loc = "http://%s%s%s" % (req.headers.get("Host", "127.0.0.1"), self.prefix,
                                         req.raw_path.rstrip("/"))
                return 307, {"Location": loc + ("?" + req.raw_query if req.raw_query
                                                else "")}, b""
            raise V2Error(404, "Not Found")
        (_, methods, _, needs_auth), raw_params = found
        handler, qspec, has_body = methods[req.method]
        # FastAPI: the body is read first, then the route's dependencies (auth), then
        # the log endpoint's Accept dependency, then the parameters are validated together
        body = self._v2_body(req) if has_body else None
        if needs_auth:
            self.v2_authenticate(req.headers)
        if handler is v2_logs:
            v2_accept(req)
        errors, params = [], {}
        for name, raw in raw_params.items():
            kind = V2_PATH_KINDS.get(name, "str")
            params[name] = _v2_value(kind, raw, ("path", name), errors)
        q, qerrors = check_query_v2(req.raw_query, V2_QUERY[qspec])
        errors += qerrors
        if has_body:
            req.json, berrors = (has_body if callable(has_body) else patch_body_v2)(body)
            errors += berrors
        if errors:
            raise V2Error(422, errors)
        with self.store.lock:
            result = handler(self, params, q, req)
        status, body = result[0], result[1]
        headers = dict(result[2]) if len(result) > 2 else {}
        if callable(body):
            body = body()
        if not isinstance(body, bytes):
            body = json_compact(body).encode()
        headers.setdefault("Content-Type", "application/json")
        return status, headers, body

    def _route(self, req):
        path = unquote(req.raw_path, errors="replace")
        api = path.startswith("/api/v1")
        segs = path[len("/api/v1/"):].split("/") if path.startswith("/api/v1/") else None
        if path == "/health":
            segs, api = ["health"], True
        found = match_route(segs) if segs is not None else None
        if found is None:
            merged = re.sub("/{2,}", "/", req.raw_path)
            if merged != req.raw_path and merged.startswith("/api/v1/") and match_route(
                    unquote(merged, errors="replace")[len("/api/v1/"):].split("/")):
                loc = self.prefix + merged + ("?" + req.raw_query if req.raw_query else "")
                return 308, {"Location": loc, "Content-Type": "text/html; charset=utf-8"}, \
                    b"Redirecting...\n"
            if api:
                raise ApiError(404, "Not Found", NOT_FOUND_DETAIL, linked=False)
            return 404, {"Content-Type": "text/html; charset=utf-8"}, HTML_404.encode()
        methods, known, needs_auth, params = found
        method = "GET" if req.method == "HEAD" else req.method
        allow = ", ".join(sorted({*methods, *known, "OPTIONS"}
                                 | ({"HEAD"} if "GET" in methods else set())))
        if method == "OPTIONS":
            return 200, {"Allow": allow}, b""
        if method not in methods:
            if method in known:
                raise ApiError(501, "Not Implemented", f"{method} is not implemented by "
                               "fake-airflow", linked=False)
            raise ApiError(405, "Method Not Allowed",
                           "The method is not allowed for the requested URL.",
                           {"Allow": allow}, linked=False)
        handler, qspec, body_schema = methods[method]
        # connexion validates the body, then the query; Airflow checks auth in the view.
        if body_schema is not None:
            req.json = load_json_body(req.headers, req.body, body_schema)
        spec = QUERY_SPECS[qspec] if isinstance(qspec, str) else qspec
        if self.api == "v1" and qspec in ("tis", "list_mapped") and self.v() < (2, 6):
            # updated_at_gte/_lte came with Airflow 2.6
            spec = {k: v for k, v in spec.items() if not k.startswith("updated_at")}
        q = check_query(req.raw_query, spec)
        mutual = {}
        if needs_auth and self.auth == "kerberos":
            mutual = self.kerberos_authenticate(req.headers)
        elif needs_auth and not self.authenticated(req.headers):
            raise ApiError(401, "Unauthorized", None, {"WWW-Authenticate": "Basic"})
        with self.store.lock:
            result = handler(self, params, q, req)
        status, body = result[0], result[1]
        if callable(body):  # a big answer, made (from an immutable snapshot) after the lock
            body = body()
        if len(result) == 3:
            return status, {"Content-Type": result[2], **mutual}, \
                body.encode() if isinstance(body, str) else body
        return status, {"Content-Type": "application/json", **mutual}, self.to_json(body)


# ---------------------------------------------------------------------------------------
# Fault injection (FakeAirflow.inject)

FAULT_KEYS = ("method", "path", "status", "body", "delay", "count", "hang", "drop",
              "truncate", "content_type", "headers", "set_fields", "replace", "stream",
              "gzip", "ignore_offset")


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _bytes(value):
    """A body or a replace operand as bytes: bytes as they are, str as UTF-8 (a lone
    surrogate \\udcXX, as JSON may carry it to the control endpoint, is the raw byte XX),
    anything else as JSON."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return json.dumps(value).encode()


def new_fault(method=None, path=None, status=None, body=None, delay=0, count=1, hang=False,
              drop=None, truncate=None, content_type=None, headers=None, set_fields=None,
              replace=None, stream=None, gzip=False, ignore_offset=False):
    """Checks and normalizes inject()'s arguments into a fault."""
    if stream is not None:
        if not isinstance(stream, dict) or set(stream) - {"prefix", "unit", "count", "suffix"}:
            raise ValueError("stream must be {prefix?, unit, count, suffix?}")
        n = stream.get("count")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or not stream.get("unit"):
            raise ValueError("stream needs a unit and a count >= 0")
        stream = {k: _bytes(stream.get(k, "")) for k in ("prefix", "unit", "suffix")} | {
            "count": n}
    if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
        raise ValueError("status must be an HTTP status code")
    if not isinstance(count, int) or count < 1:
        raise ValueError("count must be an integer >= 1")
    for name, v in (("drop", drop), ("truncate", truncate)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{name} must be a number of bytes")
    if not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError("delay must be a number of seconds >= 0")
    if set_fields is not None and not isinstance(set_fields, dict):
        raise ValueError("set_fields must be an object")
    pairs = []
    for pair in replace or ():
        old, new = pair
        pairs.append((_bytes(old), _bytes(new)))
    return {"method": method, "path": path, "status": status, "body": body,
            "delay": delay, "count": count, "hang": bool(hang), "drop": drop,
            "truncate": truncate, "content_type": content_type,
            "headers": dict(headers or {}), "set_fields": set_fields, "replace": pairs,
            "stream": stream, "gzip": bool(gzip), "ignore_offset": bool(ignore_offset)}


def fault_kinds(fault):
    """What a fault did to a request, for its record: e.g. "status 503+delay"."""
    kinds = []
    if fault["hang"]:
        kinds.append("hang")
    if fault["status"]:
        kinds.append("status %d" % fault["status"])
    for name in ("body", "set_fields", "truncate", "content_type", "drop"):
        if fault[name] is not None:
            kinds.append(name)
    if fault["replace"]:
        kinds.append("replace")
    if fault["headers"]:
        kinds.append("headers")
    if fault["delay"]:
        kinds.append("delay")
    for name in ("stream", "gzip", "ignore_offset"):
        if fault[name]:
            kinds.append(name)
    return "+".join(kinds)


def stream_chunks(stream, compress):
    """The pieces of a streamed fault's body: prefix, unit * count, suffix (gzip-compressed
    as they go when compress), never all of it in memory."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None

    def raw():
        yield stream["prefix"]
        units = max(1, (1 << 20) // len(stream["unit"]))  # about 1 MiB a piece
        left = stream["count"]
        while left > 0:
            k = min(units, left)
            yield stream["unit"] * k
            left -= k
        yield stream["suffix"]

    for piece in raw():
        out = z.compress(piece) if z else piece
        if out:
            yield out
    if z:
        yield z.flush()


def apply_fault(fault, headers, payload):
    """The answer a fault makes of (headers, payload): its body, fields, replacements,
    truncation, Content-Type and extra headers, in that order."""
    if fault["body"] is not None:
        payload = _bytes(fault["body"])
    if fault["set_fields"] is not None:
        obj = json.loads(payload)
        obj.update(fault["set_fields"])
        payload = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape")
    for old, new in fault["replace"]:
        payload = payload.replace(old, new)
    if fault["truncate"] is not None:
        payload = payload[:fault["truncate"]]
    extra = dict(fault["headers"])
    if fault["gzip"]:
        payload = zlib.compress(payload, 6, 31) if not fault["stream"] else payload
        extra.setdefault("Content-Encoding", "gzip")
    if fault["content_type"] is not None:
        extra["Content-Type"] = fault["content_type"]
    for name, value in extra.items():
        for have in [h for h in headers if h.lower() == name.lower()]:
            del headers[have]
        if value is not None:
            headers[name] = str(value)
    return headers, payload


class Recorder:
    """Another origin: a tiny HTTP server on 127.0.0.1 that answers every request 200
    with `{}` (application/json) and records it, to see whether a client followed a
    redirect there and with what headers. rec = Recorder(); rec.url, rec.origin,
    rec.requests() ({"method", "path", "query", "headers"}), rec.stop()."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                raw_path, _, raw_query = self.path.partition("?")
                with recorder._lock:
                    recorder._requests.append({
                        "method": self.command, "path": raw_path, "query": raw_query,
                        "headers": dict(self.headers.items())})
                payload = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-airflow-recorder", daemon=True)
        self._thread.start()

    def requests(self):
        with self._lock:
            return [dict(r) for r in self._requests]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------------------
# HTTP server

class _Handler(BaseHTTPRequestHandler):
    def date_time_string(self, timestamp=None):
        """The Date header, on the server's clock."""
        return email.utils.formatdate(time.time() + _SERVER_SKEW[0] if timestamp is None
                                      else timestamp, usegmt=True)

    protocol_version = "HTTP/1.1"
    # headers and body are two writes: without TCP_NODELAY, Nagle and the client's delayed
    # ACK hold every keep-alive answer for ~40 ms
    disable_nagle_algorithm = True

    def version_string(self):
        return "uvicorn" if self.server.fake.app.api == "v2" else "gunicorn"

    def log_message(self, fmt, *args):
        if self.server.fake.verbose:
            sys.stderr.write("fake-airflow: " + (fmt % args) + "\n")

    def setup(self):
        super().setup()
        self.server.fake._conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._conns.discard(self.connection)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self):
        fake = self.server.fake
        body = self._read_body()
        raw_path, _, raw_query = self.path.partition("?")
        fault = None
        if raw_path == "/_fake" or raw_path.startswith("/_fake/"):
            status, headers, payload = fake._control(self.command, raw_path, raw_query, body)
        else:
            rec = {"method": self.command, "path": raw_path, "query": raw_query,
                   "headers": dict(self.headers.items()),
                   "body": body.decode("utf-8", "replace"), "status": None,
                   "time": time.monotonic()}
            with fake._lock:
                fake._requests.append(rec)
            if fake.latency_ms:
                time.sleep(fake.latency_ms / 1000)
            fault, release = fake._take_fault(self.command, raw_path)
            if fault:
                rec["fault"] = fault_kinds(fault)
            if fault and fault["hang"]:
                # accepted, read, and never answered: the connection is closed (with
                # nothing sent) only when clear_faults(), pause() or stop() says so
                with fake._lock:
                    fake._hanging += 1
                try:
                    release.wait()
                finally:
                    with fake._lock:
                        fake._hanging -= 1
                self.close_connection = True
                return
            if fault and fault["status"]:
                status = fault["status"]
                if fake.app.api == "v2":  # FastAPI's shape
                    headers = {"Content-Type": "application/json"}
                    default = {"detail": "injected fault"}
                else:
                    headers = {"Content-Type": "application/problem+json"}
                    default = {"detail": "injected fault", "status": status,
                               "title": _phrase(status), "type": "about:blank"}
                payload = json.dumps(default).encode()
            else:
                query = raw_query
                if fault and fault["ignore_offset"]:  # every page is the first one
                    query = "&".join(p for p in raw_query.split("&")
                                     if not p.startswith("offset="))
                req = Request(self.command, raw_path, query, self.headers, body)
                status, headers, payload = fake.app.handle(req)
            if fault:
                headers, payload = apply_fault(fault, dict(headers), payload)
            if fault and fault["delay"]:
                release.wait(fault["delay"])  # the answer is made, then held back
            rec["status"] = status
        phrase = _phrase(status)
        # werkzeug (v1) sends the reason phrase upper-cased, uvicorn (v2) as is
        self.send_response(status, phrase if fake.app.api == "v2" else phrase.upper())
        for name, value in headers.items():
            if not (fault and fault["stream"] and name.lower() == "content-length"):
                self.send_header(name, value)
        if fault and fault["stream"]:
            # no length: the body is as long as the stream, then the connection closes
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for piece in stream_chunks(fault["stream"], fault["gzip"]):
                    self.wfile.write(piece)
            except OSError:
                pass  # the client stopped reading
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault and fault["drop"] is not None:
            # the headers promise the whole body; part of it is sent, then the
            # connection is closed
            self.wfile.write(payload[:fault["drop"]])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs (1 s retries) under parallel clients

    def handle_error(self, request, client_address):
        # a client that went away (a timeout, a pause) is not the fake's bug
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Grower:
    """A growing log (FakeAirflow.grow): a daemon thread appends `lines` lines, one every
    `every` seconds, to the current try's log file of a running TI, then sets its state.

    done:      threading.Event, set when the thread ends (outcome says why)
    outcome:   None while growing, then "finished" (all lines written, state changed),
               "stopped" (stop()/stop_growing()/set_data()/srv.stop()) or "ti changed" (the
               TI was replaced, or is no longer running, or its try_number changed)
    written:   lines written so far
    base:      the datetime line n is stamped base + n seconds from
    try_number, key (dag, run, task, map_index), lines, every, then_state
    """

    def __init__(self, fake, key, lines, every, then_state, line_fmt):
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise ValueError("lines must be an integer >= 0")
        if not isinstance(every, (int, float)) or isinstance(every, bool) or every < 0:
            raise ValueError("every must be a number of seconds >= 0")
        if then_state is not None and then_state not in TERMINAL + UNFINISHED:
            raise ValueError(f"unknown state {then_state!r}")
        if line_fmt is not None and not isinstance(line_fmt, str) and not callable(line_fmt):
            raise ValueError("line_fmt must be a str.format template or a callable")
        self.key, self.lines, self.every, self.then_state = key, lines, every, then_state
        self.done, self._stop = threading.Event(), threading.Event()
        self.outcome, self.written, self.id = None, 0, None
        store = fake.app.store
        with store.lock:
            _, ti = store.find_ti(*key)
            if ti is None:
                raise KeyError("no such task instance")
            self._store, self._ti = store, ti
            self.try_number = ti["try_number"] or 1
            start = ti["start_date"] or now()
            text = self._file() or ""
            if text and not text.endswith("\n"):
                text += "\n"  # the first line must not glue onto an unterminated one
            stamps = [st for st in map(_line_stamp, text.splitlines()) if st]
            self.base = max([start, *stamps])
            self._initial = text
            self._lines = [self._line(line_fmt, n) for n in range(1, lines + 1)]
            ti["try_number"], ti["start_date"] = self.try_number, start
            ti["state"], ti["end_date"] = "running", None
            ti["hostname"] = ti["hostname"] or "worker-1"
            self._set_file(text)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"fake-airflow-grow-{key[2]}")

    def _line(self, fmt, n):
        fields = {"ts": _logts(self.base + timedelta(seconds=n)), "n": n, "lines": self.lines}
        if fmt is None:
            line = "[{ts}] {{logging_mixin.py:190}} INFO - tick {n} of {lines}".format(**fields)
        else:
            line = fmt.format(**fields) if isinstance(fmt, str) else fmt(**fields)
        if not isinstance(line, str) or not line.strip() or "\n" in line or "\r" in line:
            raise ValueError(f"line_fmt gave {line!r}: a line must be one non-blank line")
        return line

    def _file(self):
        idx, logs = self.try_number - 1, self._ti["logs"]
        return log_file(logs[idx]) if idx < len(logs) else None

    def _set_file(self, text):
        """Sets the try's log file (a new list: the dataset's own lists are never changed)."""
        idx = self.try_number - 1
        logs = list(self._ti["logs"]) + [None] * (idx + 1 - len(self._ti["logs"]))
        logs[idx] = text
        self._ti["logs"] = logs

    def expected_text(self, n=None):
        """The log file text once n lines (default: all) are written, as on disk (before
        the FileTaskHandler-like reshaping)."""
        n = self.lines if n is None else n
        return self._initial + "".join(line + "\n" for line in self._lines[:n])

    def line(self, n):
        """Line n (1-based), without its newline."""
        return self._lines[n - 1]

    def _run(self):
        try:
            t0 = time.monotonic()
            for n in range(1, self.lines + 1):
                if self._stop.wait(max(0.0, t0 + n * self.every - time.monotonic())):
                    self.outcome = "stopped"
                    return
                with self._store.lock:
                    _, ti = self._store.find_ti(*self.key)
                    if ti is not self._ti or ti["state"] != "running" \
                            or ti["try_number"] != self.try_number:
                        self.outcome = "ti changed"
                        return
                    self._set_file((self._file() or "") + self._lines[n - 1] + "\n")
                    self.written = n
                    if n == self.lines:
                        self._finish(ti)
            if self.lines == 0:
                with self._store.lock:
                    self._finish(self._ti)
        finally:
            self.done.set()

    def _finish(self, ti):
        if self.then_state is not None:
            ti["state"], ti["end_date"] = self.then_state, now()
        self.outcome = "finished"

    def stop(self, timeout=5):
        """Stops growing (the TI keeps its state and the lines written so far)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def status(self):
        dag, run, task, map_index = self.key
        return {"id": self.id, "dag": dag, "run": run, "task": task, "map_index": map_index,
                "try_number": self.try_number, "lines": self.lines, "every": self.every,
                "then_state": self.then_state, "written": self.written,
                "done": self.done.is_set(), "outcome": self.outcome, "base": iso(self.base)}


def is_login(raw_path):
    """Whether a recorded path is a v2 login (POST /auth/token, under any prefix)."""
    return raw_path.endswith(("/auth/token", "/auth/token/cli"))


class FakeAirflow:
    """A running fake server (see start())."""

    def __init__(self, data="demo", auth=None, user="admin", password="admin", token=None,
                 latency_ms=0, version=None, port=0, secret_key="fake-airflow-secret-key",
                 sort_keys=True, verbose=False, api="v1", prefix="", static_tokens=(),
                 jwt_expiry=86400, jwt_leeway=10, jwt_secret="fake-airflow-jwt-secret",
                 keytab=None):
        if api not in ("v1", "v2"):
            raise ValueError("api must be 'v1' or 'v2'")
        auth = auth or ("basic" if api == "v1" else "jwt")
        allowed = ("basic", "kerberos", "none") if api == "v1" else ("jwt", "none")
        if auth not in allowed:
            raise ValueError(f"auth must be one of {', '.join(allowed)} for API {api}")
        if (auth == "kerberos") != bool(keytab):
            raise ValueError("auth='kerberos' goes with keytab=PATH (the service's key)")
        prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        tokens = list(static_tokens) + ([token] if token else [])
        version = version or ("2.10.5" if api == "v1" else V2_VERSION)
        self.app = App(data, auth, user, password, tokens, version, secret_key, sort_keys,
                       api=api, prefix=prefix, jwt_expiry=jwt_expiry, jwt_leeway=jwt_leeway,
                       jwt_secret=jwt_secret, keytab=keytab)
        self.api, self.prefix = api, prefix
        self.latency_ms, self.verbose = latency_ms, verbose
        self._lock = threading.Lock()
        self._requests, self._conns, self._faults = [], set(), []
        # set to end the faults that hold a handler (hang, delay); replaced by a fresh one
        self._release, self._hanging, self._paused = threading.Event(), 0, False
        self._growers, self._grower_ids = [], 0
        self._listen(port)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + prefix  # the Airflow root URL a user gives

    def _listen(self, port):
        for attempt in range(50):  # the port may still be held for a moment after a pause
            try:
                self._server = _Server(("127.0.0.1", port), _Handler)
                break
            except OSError:
                if not port or attempt == 49:
                    raise
                time.sleep(0.1)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-airflow", daemon=True)  # quick stop()
        self._thread.start()

    # -- the control surface, shared by /_fake/* and the Python API --
    def requests(self, auth=True):
        """Every request recorded since the last reset; auth=False leaves out those to
        /auth/token (and /auth/token/cli): a v2 client's logins."""
        with self._lock:
            return [dict(r) for r in self._requests if auth or not is_login(r["path"])]

    def principals(self):
        """The Kerberos principals of the requests accepted so far (auth="kerberos")."""
        return list(self.app.principals)

    def logins(self):
        """The recorded requests to /auth/token."""
        return [r for r in self.requests() if is_login(r["path"])]

    @property
    def version(self):
        return self.app.version

    def configure(self, **settings):
        """App.configure(): version, user, password, static_tokens, jwt_expiry,
        jwt_leeway, jwt_secret, clock_skew, rotate_jwt_secret=True."""
        self.app.configure(**settings)

    def config(self):
        return self.app.config()

    def reset_config(self):
        """Back to the settings the server started with."""
        self.app.reset_config()

    def issue_token(self, sub=None, expires_in=None):
        """A JWT as POST /auth/token would give (nothing recorded)."""
        return self.app.issue_token(sub, expires_in)

    def token_error(self, token):
        """None if the v2 API accepts this bearer token now, else its error detail
        ("Token Expired", "Invalid JWT token")."""
        return self.app.token_error(token)

    def reset(self):
        with self._lock:
            self._requests.clear()
            self.app.principals.clear()

    def set_data(self, data):
        """Replaces the dataset (a dataset object, a JSON file path or "demo"); stops the
        growers first."""
        self.stop_growing()
        self.app.store.load(data)

    def add_dag(self, dag):
        """Adds one DAG (dataset format) to the current dataset; its dag_id must be new."""
        return self.app.store.add_dag(dag)

    def grow(self, dag, run, task, map_index=-1, lines=20, every=0.2, then_state="success",
             line_fmt=None):
        """Starts growing the log of a TI (see the module docstring); returns the Grower."""
        grower = Grower(self, (dag, run, task, map_index), lines, every, then_state, line_fmt)
        with self._lock:
            self._grower_ids += 1
            grower.id = self._grower_ids
            self._growers.append(grower)
        grower._thread.start()
        return grower

    def growers(self):
        with self._lock:
            return list(self._growers)

    def stop_growing(self):
        """Stops every grower still running; returns how many there were."""
        with self._lock:
            growers, self._growers = self._growers, []
        running = [g for g in growers if not g.done.is_set()]
        for g in growers:
            g.stop()
        return len(running)

    def warm_log(self, dag, run, task, try_number=1, map_index=-1):
        """Makes and caches the full answers of a generated log now (v1: JSON and
        text/plain; v2: JSON), so that the first client read does not pay for them;
        returns the seconds spent."""
        t0 = time.monotonic()
        params = {"dag": dag, "run": run, "task": task, "try": try_number,
                  "try_number": try_number}
        for accept in ("application/json",) if self.api == "v2" else ("application/json",
                                                                      "text/plain"):
            headers = email.message.Message()
            headers["Accept"] = accept
            req = Request("GET", "", "", headers, b"")
            with self.app.store.lock:
                if self.api == "v2":
                    body = v2_logs(self.app, params, {"map_index": map_index}, req)[1]
                else:
                    body = h_logs(self.app, params, {"map_index": map_index}, req)[1]
            if callable(body):
                body()
        return time.monotonic() - t0

    def log_text(self, dag, run, task, try_number, map_index=-1):
        """The text a mount shows for a full read (no token) of that try now. v1: the text
        of the (host, text) tuple in a JSON answer's content (header and reshaped log). v2:
        render_log() of the answer's content (header records, then the records)."""
        if self.api == "v2":
            return self._log_text_v2(dag, run, task, try_number, map_index)
        store = self.app.store
        with store.lock:
            run_, ti = store.find_ti(dag, run, task, map_index)
            if ti is None:
                raise KeyError("no such task instance")
            if try_number < 1:
                return read_log(dag, run_, ti, try_number, {})[1]
            _, header, entry, _ = log_source(dag, run_, ti, try_number)
        return header + served_log(entry)  # served_log may build a generated log: unlocked

    def log_records(self, dag, run, task, try_number, map_index=-1):
        """v2: the content of a full JSON read of that try (header records included; a
        list of strings for a {"lines": [...]} entry). Any API mode."""
        store = self.app.store
        with store.lock:
            run_, ti = store.find_ti(dag, run, task, map_index)
            if ti is None:
                raise KeyError("no such task instance")
            if try_number < 1:
                return [{"event": f"Error fetching the logs. Try number {try_number} is "
                                  "invalid.", "level": "error"}]
            entry, sources, _ = log_origin(dag, run_, ti, try_number)
        content = entry_content(entry)
        if isinstance(entry, dict) and "lines" in entry:
            return content
        return v2_header(sources) + content

    def _log_text_v2(self, dag, run, task, try_number, map_index):
        store = self.app.store
        with store.lock:
            run_, ti = store.find_ti(dag, run, task, map_index)
            if ti is None:
                raise KeyError("no such task instance")
            entry, sources, _ = log_origin(dag, run_, ti, try_number) if try_number >= 1 \
                else (None, None, True)
        spec = _gen_spec(entry)
        if spec:  # made line by line (the same text, faster)
            return render_log(v2_header(sources)) + generated_records_text(spec)
        return render_log(self.log_records(dag, run, task, try_number, map_index))

    def data(self):
        return self.app.store.export()

    def ti(self, dag, run, task, map_index=-1):
        with self.app.store.lock:
            _, ti = self.app.store.find_ti(dag, run, task, map_index)
            return None if ti is None else export_ti(ti)

    def update_ti(self, dag, run, task, map_index=-1, **fields):
        return self.app.store.update_ti(dag, run, task, map_index, fields)

    def add_ti(self, dag, run, **fields):
        return self.app.store.add_ti(dag, run, fields)

    def inject(self, method=None, path=None, status=None, body=None, delay=0, count=1,
               hang=False, drop=None, truncate=None, content_type=None, headers=None,
               set_fields=None, replace=None, stream=None, gzip=False, ignore_offset=False):
        """The next `count` requests matching method (None: any) and path (a prefix of
        the raw path, without the query; None: any) are answered wrongly. Faults are
        taken in the order they were injected; each request takes at most one.

        status:       this status instead of the real answer, with a problem+json (v1) or
                      {"detail": "injected fault"} (v2) body unless `body` says otherwise
        body:         this body instead of the answer's (bytes as they are, str as UTF-8,
                      anything else as JSON), the status kept unless `status` is given
        set_fields:   {key: value} merged into the JSON object answered (wrong types)
        replace:      [(old, new), ...] byte replacements in the answer (str as UTF-8;
                      e.g. (b'"success"', b'"succ\\xffess"') for invalid UTF-8)
        truncate:     the body cut to that many bytes (negative: that many fewer), with a
                      Content-Length that matches
        content_type: this Content-Type instead (e.g. a proxy's "text/html")
        headers:      extra headers ({"Retry-After": "1"}, {"Location": url}); None as
                      a value removes the header
        delay:        the answer is held back that many seconds (ended early by
                      clear_faults(), pause() and stop())
        hang:         the request is read and never answered; the connection is closed
                      without a byte only at clear_faults(), pause() or stop()
        drop:         the headers (with the whole body's Content-Length) and that many
                      bytes of the body are sent (negative: all but that many), then the
                      connection is closed
        Hostile answers (tests/test_limits.py), for a client that must bound what it takes:
        stream:       {"prefix", "unit", "count", "suffix"}: the body is prefix, then unit
                      repeated count times, then suffix (str as UTF-8), sent as it is made
                      (never all in memory) without a Content-Length, then the connection
                      closes: an endless log, a huge page
        gzip:         the body (streamed or not) goes gzip-compressed with Content-Encoding:
                      gzip: a compression bomb when it is repetitive
        ignore_offset: a list answers every page as its first (offset dropped from the
                      query): with set_fields={"total_entries": N}, pages that never end
        Each request a fault took is recorded with "fault" saying what it did."""
        fault = new_fault(method, path, status, body, delay, count, hang, drop, truncate,
                          content_type, headers, set_fields, replace, stream, gzip,
                          ignore_offset)
        with self._lock:
            self._faults.append(fault)
        return fault

    def faults(self):
        """The faults still pending (count: how many requests each will still take)."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def hanging(self):
        """How many requests are being held by a hang fault now."""
        with self._lock:
            return self._hanging

    def clear_faults(self):
        """Drops the pending faults and ends those holding a request: a hang closes its
        connection, a delay answers now."""
        with self._lock:
            self._faults.clear()
        self._release_held()

    def _release_held(self):
        with self._lock:
            release, self._release = self._release, threading.Event()
        release.set()

    def _take_fault(self, method, raw_path):
        with self._lock:
            for f in self._faults:
                if (f["method"] in (None, method) and
                        raw_path.startswith(f["path"] or "")):
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self._faults.remove(f)
                    return f, self._release
        return None, None

    def _close_connections(self):
        for conn in list(self._conns):  # idle keep-alive connections too
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _pause_for(self, seconds):
        self.pause()
        time.sleep(seconds)
        self.resume()

    @property
    def paused(self):
        return self._paused

    def pause(self):
        """The server goes away: its listening socket and every connection are closed
        (held requests end first), so a client gets "connection refused" until resume().
        The faults and the record stay."""
        with self._lock:
            if self._paused:
                return
            self._paused = True
        self._server.shutdown()
        self._server.server_close()
        self._release_held()
        self._close_connections()
        self._thread.join()

    def resume(self):
        """Listens again, on the same port."""
        with self._lock:
            if not self._paused:
                return
            self._paused = False
        self._listen(self.port)

    def stop(self):
        self.stop_growing()
        if not self._paused:
            self._paused = True
            self._server.shutdown()
            self._server.server_close()
        self._release_held()
        self._close_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _control(self, method, path, raw_query, body):
        def answer(status, obj):
            return status, {"Content-Type": "application/json"}, (
                json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
        q = dict(parse_qsl(raw_query, keep_blank_values=True))
        try:
            arg = json.loads(body) if body else None
            if (method, path) == ("GET", "/_fake/requests"):
                return answer(200, self.requests(auth=q.get("auth", "1") not in ("0", "false")))
            if (method, path) == ("GET", "/_fake/config"):
                return answer(200, self.config())
            if (method, path) == ("POST", "/_fake/config"):
                src = dict(arg or {})
                if src.pop("reset", False):
                    self.reset_config()
                self.configure(**src)
                return answer(200, self.config())
            if (method, path) == ("POST", "/_fake/token"):
                src = dict(arg or {})
                bad = set(src) - {"sub", "expires_in"}
                if bad:
                    raise ValueError(f"bad token field(s): {', '.join(sorted(bad))}")
                return answer(200, {"access_token": self.issue_token(**src)})
            if (method, path) == ("GET", "/_fake/log_records"):
                return answer(200, self.log_records(
                    q.get("dag"), q.get("run"), q.get("task"), int(q.get("try", 1)),
                    int(q.get("map_index", -1))))
            if (method, path) == ("POST", "/_fake/inject"):
                src = dict(arg or {})
                bad = set(src) - set(FAULT_KEYS)
                if bad:
                    raise ValueError(f"bad fault field(s): {', '.join(sorted(bad))}")
                self.inject(**src)
                return answer(200, {"pending": len(self.faults())})
            if (method, path) == ("GET", "/_fake/faults"):
                return answer(200, [{**f, "body": None if isinstance(f["body"], bytes)
                                     else f["body"], "replace": len(f["replace"])}
                                    for f in self.faults()])
            if (method, path) == ("POST", "/_fake/clear_faults"):
                self.clear_faults()
                return answer(200, {"ok": True})
            if (method, path) == ("POST", "/_fake/pause"):
                seconds = float((arg or {}).get("seconds", 1))
                if not 0 < seconds <= 600:
                    raise ValueError("seconds must be in (0, 600]")
                # this very connection is closed too: answered from another thread first
                timer = threading.Timer(0.1, self._pause_for, (seconds,))
                timer.daemon = True
                timer.start()
                return answer(200, {"paused_for": seconds})
            if (method, path) == ("POST", "/_fake/reset"):
                self.reset()
                return answer(200, {"ok": True})
            if (method, path) == ("GET", "/_fake/data"):
                return answer(200, self.data())
            if (method, path) == ("POST", "/_fake/data"):
                self.set_data(arg)
                return answer(200, {"ok": True})
            if (method, path) == ("POST", "/_fake/dag"):
                return answer(200, {"ok": True, "dag_id": self.add_dag(arg)})
            if (method, path) == ("GET", "/_fake/grow"):
                return answer(200, [g.status() for g in self.growers()])
            if (method, path) == ("POST", "/_fake/grow"):
                src = dict(arg or {})
                key = (src.pop("dag", None), src.pop("run", None), src.pop("task", None),
                       int(src.pop("map_index", -1)))
                bad = set(src) - {"lines", "every", "then_state", "line_fmt"}
                if bad or not isinstance(src.get("line_fmt") or "", str):
                    raise ValueError(f"bad grow field(s): {', '.join(sorted(bad)) or 'line_fmt'}")
                g = self.grow(*key, **src)
                return answer(200, {**g.status(), "expected_text": g.expected_text()})
            if (method, path) == ("POST", "/_fake/stop_growing"):
                return answer(200, {"stopped": self.stop_growing()})
            if (method, path) == ("GET", "/_fake/log_text"):
                text = self.log_text(q.get("dag"), q.get("run"), q.get("task"),
                                     int(q.get("try", 1)), int(q.get("map_index", -1)))
                return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
            if path == "/_fake/ti" and method in ("GET", "POST"):
                src = dict(arg or {}) if method == "POST" else q
                key = (src.pop("dag", None), src.pop("run", None), src.pop("task", None),
                       int(src.pop("map_index", -1)))
                if method == "GET":
                    ti = self.ti(*key)
                    return answer(200, ti) if ti else answer(404, {"error": "no such TI"})
                return answer(200, self.update_ti(*key, **src))
            return answer(404, {"error": f"no control endpoint {method} {path}"})
        except KeyError as e:
            return answer(404, {"error": str(e)})
        except (ValueError, TypeError, OSError) as e:
            return answer(400, {"error": str(e)})


def start(**kwargs):
    """Starts a fake server on 127.0.0.1 in a daemon thread; see FakeAirflow for options."""
    return FakeAirflow(**kwargs)


# ---------------------------------------------------------------------------------------
# The demo dataset (deterministic)

def _d(text):
    return parse_dt(text)


def _logts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _demo_log(dag, run, task, *, start, end=None, logical, attempt=1, tries=1,
              host="worker-1", pid=4242, job=17, op="PythonOperator", map_index=-1,
              body=(), outcome="success", error=""):
    """An Airflow 2.10-looking log file. body items: (seconds, "src.py:N", LEVEL, message)
    or raw strings (traceback lines, no timestamp)."""
    lines = []

    def at(sec, src, lvl, msg):
        lines.append(f"[{_logts(start + timedelta(seconds=sec))}] {{{src}}} {lvl} - {msg}")

    mi = f" map_index={map_index}" if map_index >= 0 else ""

    def tiname(state):
        return f"<TaskInstance: {dag}.{task} {run}{mi} [{state}]>"

    at(0.000, "local_task_job_runner.py:123", "INFO", "::group::Pre task execution logs")
    for kind in ("non-requeueable", "requeueable"):
        at(0.012, "taskinstance.py:2612", "INFO",
           f"Dependencies all met for dep_context={kind} deps ti={tiname('queued')}")
    at(0.020, "taskinstance.py:2865", "INFO", f"Starting attempt {attempt} of {tries}")
    at(0.041, "taskinstance.py:2888", "INFO",
       f"Executing <Task({op}): {task}> on {logical:%Y-%m-%d %H:%M:%S}+00:00")
    at(0.048, "standard_task_runner.py:72", "INFO", f"Started process {pid} to run task")
    at(0.051, "standard_task_runner.py:105", "INFO", f"Job {job}: Subtask {task}")
    at(0.102, "task_command.py:467", "INFO",
       f"Running {tiname('running')} on host {host}")
    at(0.188, "taskinstance.py:732", "INFO", "::endgroup::")
    for item in body:
        if isinstance(item, str):
            lines.append(item)
        else:
            at(*item)
    if outcome in ("success", "up_for_retry", "failed", "deferred"):
        d = (end - start).total_seconds()
        mark = {"success": "SUCCESS", "up_for_retry": "UP_FOR_RETRY", "failed": "FAILED",
                "deferred": "DEFERRED"}[outcome]
        what = (f"dag_id={dag}, task_id={task}, run_id={run}, "
                f"{'map_index=%d, ' % map_index if map_index >= 0 else ''}"
                f"execution_date={logical:%Y%m%dT%H%M%S}, start_date={start:%Y%m%dT%H%M%S}")
        if outcome == "deferred":
            at(d - 0.02, "taskinstance.py:288", "INFO", f"Pausing task as DEFERRED. {what}")
        else:
            at(d - 0.05, "taskinstance.py:353" if outcome == "success" else "taskinstance.py:1225",
               "INFO", f"Marking task as {mark}. {what}, end_date={end:%Y%m%dT%H%M%S}")
        at(d - 0.04, "taskinstance.py:340", "INFO", "::group::Post task execution logs")
        if outcome in ("up_for_retry", "failed"):
            at(d - 0.03, "standard_task_runner.py:124", "ERROR",
               f"Failed to execute job {job} for task {task} ({error}; {pid})")
        code = {"success": "0", "deferred": "100 (task deferral)"}.get(outcome, "1")
        at(d - 0.01, "local_task_job_runner.py:266", "INFO", f"Task exited with return code {code}")
        if outcome != "deferred":
            at(d, "taskinstance.py:3901", "INFO",
               f"{0 if outcome != 'success' else 1} downstream tasks scheduled from follow-on "
               "schedule check")
        at(d, "local_task_job_runner.py:245", "INFO", "::endgroup::")
    return "\n".join(lines) + "\n"


_SITE = "/home/airflow/.local/lib/python3.12/site-packages"
_TB_HEAD = [
    "Traceback (most recent call last):",
    f'  File "{_SITE}/airflow/models/taskinstance.py", line 767, in _execute_task',
    "    result = _execute_callable(context=context, **execute_callable_kwargs)",
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{_SITE}/airflow/operators/python.py", line 235, in execute',
    "    return_value = self.execute_callable()",
    "                   ^^^^^^^^^^^^^^^^^^^^^^^"]


def _failure(sec, lines):
    return [(sec, "taskinstance.py:3311", "ERROR", "Task failed with exception")] + _TB_HEAD + lines


def _ti(task, state, start=None, secs=None, **kw):
    """A dataset TI; start is an ISO string, secs the duration (None: not finished)."""
    ti = {"task_id": task, "state": state, **kw}
    if start:
        s = _d(start)
        ti["start_date"] = iso(s)
        ti.setdefault("queued_when", iso(s - timedelta(seconds=1.234)))
        if secs is not None:
            ti["end_date"] = iso(s + timedelta(seconds=secs))
    return ti


def _ran(dag, run, logical, task, state, start, secs, *, attempt=1, tries=1, body=(),
         outcome=None, error="", host="worker-1", pid=4242, job=17, op="PythonOperator",
         map_index=-1, previous_logs=(), **kw):
    """A TI that ran (try `attempt`), with its log file(s)."""
    s = _d(start)
    log = _demo_log(dag, run, task, start=s, end=s + timedelta(seconds=secs or 0),
                    logical=_d(logical), attempt=attempt, tries=tries, host=host, pid=pid,
                    job=job, op=op, map_index=map_index, body=body,
                    outcome=outcome or state, error=error)
    return _ti(task, state, start, secs, try_number=attempt, max_tries=tries - 1,
               hostname=host, pid=pid, operator=op, map_index=map_index,
               logs=list(previous_logs) + [log], **kw)


def _etl():
    dag = "etl_daily"
    ops = {"group.extract": "PythonOperator", "transform": "PythonOperator",
           "process": "_PythonDecoratedOperator", "load": "DatabricksRunNowOperator",
           "notify": "SlackWebhookOperator"}
    links = {"Databricks Job Run": "https://dbc-1234.cloud.databricks.com/#job/42/run/1001",
             "Runbook": None}
    rows = [208, 215, 187, 233, 199]

    def extract(run, logical, start, job):
        day = logical[:10]
        return _ran(dag, run, logical, "group.extract", "success", start, 6.5, job=job, tries=3,
                    body=[(1.2, "extract.py:31", "INFO",
                           f"Fetching orders from https://api.example.com/orders?date={day}"),
                          (5.9, "extract.py:44", "INFO", "Fetched 1042 orders (3 pages)"),
                          (6.3, "python.py:240", "INFO", "Done. Returned value was: None")],
                    rendered_fields={"op_args": [], "op_kwargs": {"date": day},
                                     "templates_dict": None})

    def process(run, logical, start, i, state, extra=(), **kw):
        body = [(0.9, "logging_mixin.py:190", "INFO",
                 f"Processing shard {i}: {rows[i]} orders (region=eu-west-{i + 1})")]
        if state == "success":
            body.append((2.4, "python.py:240", "INFO", f"Done. Returned value was: {rows[i]}"))
        return _ran(dag, run, logical, "process", state, start,
                    None if state == "running" else 2.5, map_index=i, op=ops["process"],
                    pid=5000 + i, job=40 + i, body=body + list(extra), **kw)

    r1, l1 = "scheduled__2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00"
    run1 = {"dag_run_id": r1, "logical_date": l1, "state": "success",
            "start_date": "2024-01-02T00:00:01.512345+00:00",
            "end_date": "2024-01-02T00:04:12.903211+00:00",
            "data_interval_start": l1, "data_interval_end": "2024-01-02T00:00:00+00:00",
            "tis": [extract(r1, l1, "2024-01-02T00:00:03.210000+00:00", 17),
                    _ran(dag, r1, l1, "transform", "success", "2024-01-02T00:00:12.000000+00:00",
                         41.25, tries=2, job=18, pid=4311,
                         body=[(3.0, "transform.py:52", "INFO", "Deduplicated 1042 -> 1037 rows")])]
            + [process(r1, l1, f"2024-01-02T00:01:{10 + i:02d}.500000+00:00", i, "success")
               for i in range(5)]
            + [_ran(dag, r1, l1, "load", "success", "2024-01-02T00:02:00+00:00", 120.75,
                    op=ops["load"], job=50, links=links,
                    body=[(1.0, "databricks.py:96", "INFO",
                           "View run status, Spark UI, and logs at "
                           "https://dbc-1234.cloud.databricks.com/#job/42/run/1001")]),
               _ran(dag, r1, l1, "notify", "success", "2024-01-02T00:04:05+00:00", 2.0,
                    op=ops["notify"], job=51,
                    note="Checked by ops: numbers match the finance report.")]}

    r2, l2 = "scheduled__2024-01-02T00:00:00+00:00", "2024-01-02T00:00:00+00:00"
    err1 = "[Errno 2] No such file or directory: '/data/raw/orders/2024-01-02.parquet'"
    try1 = _demo_log(
        dag, r2, "transform", start=_d("2024-01-03T00:00:12+00:00"),
        end=_d("2024-01-03T00:00:14.5+00:00"), logical=_d(l2), attempt=1, tries=2, pid=6101,
        job=61, outcome="up_for_retry", error=err1,
        body=_failure(2.3, ['  File "/opt/airflow/dags/etl_daily.py", line 41, in transform',
                            "    orders = pd.read_parquet(path)", f"FileNotFoundError: {err1}",
                            "",
                            "During handling of the above exception, another exception "
                            "occurred:",
                            "",
                            "Traceback (most recent call last):",
                            '  File "/opt/airflow/dags/etl_daily.py", line 44, in transform',
                            '    raise AirflowException("no orders for " + ds)',
                            "airflow.exceptions.AirflowException: no orders for 2024-01-02"]))
    err2 = ('(psycopg2.errors.UniqueViolation) duplicate key value violates unique '
            'constraint "orders_pkey"')
    try2_body = _failure(3.1, [
        f'  File "{_SITE}/sqlalchemy/engine/default.py", line 941, in do_execute',
        "    cursor.execute(statement, parameters)",
        "psycopg2.errors.UniqueViolation: " + err2.split(") ", 1)[1],
        "DETAIL:  Key (order_id)=(1042) already exists.",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/airflow/dags/etl_daily.py", line 57, in transform',
        '    staging.to_sql("orders", engine, if_exists="append", index=False)',
        f"sqlalchemy.exc.IntegrityError: {err2}",
        "DETAIL:  Key (order_id)=(1042) already exists.",
        "",
        "[SQL: INSERT INTO orders (order_id, amount) VALUES (%(order_id)s, %(amount)s)]",
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"])
    run2 = {"dag_run_id": r2, "logical_date": l2, "state": "failed",
            "start_date": "2024-01-03T00:00:01.204511+00:00",
            "end_date": "2024-01-03T00:05:40.117000+00:00",
            "data_interval_start": l2, "data_interval_end": "2024-01-03T00:00:00+00:00",
            "tis": [extract(r2, l2, "2024-01-03T00:00:03.100000+00:00", 60),
                    _ran(dag, r2, l2, "transform", "failed", "2024-01-03T00:05:20+00:00", 3.4,
                         attempt=2, tries=2, pid=6230, job=62, outcome="failed", error=err2,
                         body=try2_body, previous_logs=[try1],
                         note="relancé ✓ deux fois — toujours en échec, voir DATA-123"),
                    # the mapped task never expanded: one TI with map_index -1
                    _ti("process", "upstream_failed", operator=ops["process"]),
                    _ti("load", "upstream_failed", operator=ops["load"]),
                    _ti("notify", "skipped", operator=ops["notify"])]}

    r3, l3 = "manual__2024-01-03T10:15:00+00:00", "2024-01-03T10:15:00+00:00"
    st = "2024-01-03T10:16:{:02d}.250000+00:00"
    retry_err = "[Errno 104] Connection reset by peer"
    fail_err = "could not convert string to float: 'N/A'"
    run3 = {"dag_run_id": r3, "logical_date": l3, "state": "running", "run_type": "manual",
            "start_date": "2024-01-03T10:15:02.340000+00:00", "conf": {"full_refresh": True},
            "note": "Manual re-run after the schema fix",
            "tis": [extract(r3, l3, "2024-01-03T10:15:04+00:00", 70),
                    _ran(dag, r3, l3, "transform", "success", "2024-01-03T10:15:12+00:00", 38.5,
                         tries=2, job=71, pid=7102),
                    process(r3, l3, st.format(0), 0, "success", note="",
                            rendered_map_index="eu-west-1"),
                    process(r3, l3, st.format(1), 1, "running", rendered_map_index="eu-west-2",
                            extra=[(5.0, "logging_mixin.py:190", "INFO", "Batch 1/4 written"),
                                   (9.0, "logging_mixin.py:190", "INFO", "Batch 2/4 written")]),
                    process(r3, l3, st.format(2), 2, "up_for_retry", tries=3, error=retry_err,
                            rendered_map_index="eu-west-3",
                            extra=_failure(2.0, [f"ConnectionResetError: {retry_err}"])),
                    _ti("process", "queued", map_index=3, try_number=1, max_tries=2,
                        operator=ops["process"], queued_when="2024-01-03T10:16:30.100000+00:00",
                        rendered_map_index="eu-west-4"),
                    process(r3, l3, st.format(4), 4, "failed", error=fail_err,
                            rendered_map_index="eu-west-5",
                            note="Shard 4 fails on malformed rows; see DATA-4242",
                            extra=_failure(1.5, ['  File "/opt/airflow/dags/etl_daily.py", line 77,'
                                                 ' in process', "    amount = float(row[3])",
                                                 f"ValueError: {fail_err}"])),
                    _ti("load", None, operator=ops["load"]),
                    _ti("notify", None, operator=ops["notify"])]}
    return {"dag_id": dag, "description": "Daily orders ETL: extract, transform, fan-out "
            "processing and load.", "tags": ["etl", "daily"], "owners": ["data-eng"],
            "schedule": "0 0 * * *", "timetable_description": "At 00:00",
            "next_dagrun": "2024-01-03T00:00:00+00:00", "runs": [run1, run2, run3]}


def _ml():
    dag = "ml_training"
    r1, l1 = "scheduled__2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00"
    sensor = "S3KeySensor"
    trained = [(0.9, "train.py:88", "INFO", "Loading features from s3://ml-data/features/"
                "2024-01-01/ (12 files)"),
               (2.0, "train.py:102", "INFO", "Training set: 184,203 rows × 57 columns")]
    epochs = [(10.0 + 30 * i, "train.py:131", "INFO",
               f"epoch {i + 1}/3\tloss={0.6931 - 0.12 * i:.4f}\tauc={0.712 + 0.1 * i:.3f}")
              for i in range(3)]
    run1 = {"dag_run_id": r1, "logical_date": l1, "state": "success",
            "start_date": "2024-01-02T00:00:00.981000+00:00",
            "end_date": "2024-01-02T00:31:02.004000+00:00",
            "data_interval_end": "2024-01-02T00:00:00+00:00",
            "tis": [_ran(dag, r1, l1, "wait_for_data", "success", "2024-01-02T00:00:02+00:00",
                         0.8, op=sensor, job=80,
                         body=[(0.3, "s3.py:135", "INFO", "Poking for key : "
                                "s3://ml-data/features/2024-01-01/_SUCCESS")]),
                    _ran(dag, r1, l1, "refresh_feature_store", "success",
                         "2024-01-02T00:00:02+00:00", 15.0, job=81, host="worker-2"),
                    _ran(dag, r1, l1, "train_model", "success", "2024-01-02T00:00:20+00:00",
                         1500.5, job=82, pid=5120, host="gpu-worker-0", pool="gpu_pool",
                         pool_slots=2, queue="gpu", priority_weight=10,
                         body=trained + [  # lines without a timestamp: one v2 record
                             "  features: tenure_days, plan, region, monthly_spend (+53 more)",
                             "  label: churned (positive rate 7.9%)"] + epochs + [
                             (1490.0, "train.py:140", "INFO", "Modèle entraîné ✓ — saved to "
                              "s3://models/churn/v12/model.pkl 🚀"),
                             (1490.5, "train.py:141", "WARNING", "Feature 'tenure_days' has "
                              "3.2% missing values; imputed with median"),
                             (1500.0, "python.py:240", "INFO",
                              "Done. Returned value was: s3://models/churn/v12/model.pkl")]),
                    _ran(dag, r1, l1, "evaluate", "success", "2024-01-02T00:25:25+00:00", 300.0,
                         job=83, note="AUC 0.911 on holdout\nApproved for release by @maria"),
                    _ran(dag, r1, l1, "publish_model", "success", "2024-01-02T00:30:30+00:00",
                         30.0, job=84, op="MLflowRegisterModelOperator",
                         links={"MLflow Run": "https://mlflow.example.com/#/experiments/3/runs/"
                                "9f1c2e7a", "Model Registry": None})]}
    r2, l2 = "scheduled__2024-01-02T00:00:00+00:00", "2024-01-02T00:00:00+00:00"
    deferred = _ran(dag, r2, l2, "wait_for_data", "deferred", "2024-01-03T00:00:02+00:00", 0.6,
                    op=sensor, job=90, pid=6001, outcome="deferred",
                    body=[(0.3, "s3.py:135", "INFO", "Poking for key : s3://ml-data/features/"
                           "2024-01-02/_SUCCESS")],
                    trigger={"classpath": "airflow.providers.amazon.aws.triggers.s3.S3KeyTrigger",
                             "created_date": "2024-01-03T00:00:02.580000+00:00", "id": 7,
                             "kwargs": "{'bucket_name': 'ml-data', 'bucket_key': "
                                       "['features/2024-01-02/_SUCCESS'], 'poke_interval': 60.0}",
                             "triggerer_id": 3},
                    triggerer_job={"dag_id": None, "end_date": None, "executor_class": None,
                                   "hostname": "triggerer-0", "id": 3, "job_type": "TriggererJob",
                                   "latest_heartbeat": "2024-01-03T10:29:58.120000+00:00",
                                   "start_date": "2024-01-01T08:00:00+00:00", "state": "running",
                                   "unixname": "airflow"})
    deferred["end_date"] = None  # a deferred TI has no end yet
    run2 = {"dag_run_id": r2, "logical_date": l2, "state": "running",
            "start_date": "2024-01-03T00:00:01.020000+00:00",
            "data_interval_end": "2024-01-03T00:00:00+00:00",
            "tis": [deferred,
                    _ti("refresh_feature_store", "scheduled", try_number=1),
                    _ti("train_model", None, operator="PythonOperator", pool="gpu_pool",
                        pool_slots=2, queue="gpu", priority_weight=10),
                    _ti("evaluate", None), _ti("publish_model", None,
                                               operator="MLflowRegisterModelOperator")]}
    r3, l3 = "manual__2024-01-03T10:15:00+00:00", "2024-01-03T10:15:00+00:00"
    running = trained[:1] + [(10.0 + 30 * i, "train.py:131", "INFO",
                              f"epoch {i + 1}/20\tloss={0.6931 - 0.05 * i:.4f}") for i in range(4)]
    run3 = {"dag_run_id": r3, "logical_date": l3, "state": "running",
            "start_date": "2024-01-03T10:15:01.500000+00:00", "conf": {"epochs": 20},
            "tis": [_ran(dag, r3, l3, "wait_for_data", "success", "2024-01-03T10:15:03+00:00",
                         0.7, op=sensor, job=95),
                    _ran(dag, r3, l3, "refresh_feature_store", "success",
                         "2024-01-03T10:15:03+00:00", 14.0, job=96, host="worker-2"),
                    _ran(dag, r3, l3, "train_model", "running", "2024-01-03T10:16:40+00:00", None,
                         job=97, pid=5121, host="gpu-worker-0", pool="gpu_pool", pool_slots=2,
                         queue="gpu", priority_weight=10, body=running,
                         note="🚀 training on 8×A100"),
                    _ti("evaluate", None), _ti("publish_model", None,
                                               operator="MLflowRegisterModelOperator")]}
    return {"dag_id": dag, "description": "Daily churn model training", "tags": ["ml", "gpu"],
            "owners": ["ml-team"], "schedule": "0 0 * * *", "timetable_description": "At 00:00",
            "runs": [run1, run2, run3]}


def _reporting():
    dag = "reporting"
    r1, l1 = "scheduled__2024-01-01T06:00:00+00:00", "2024-01-01T06:00:00+00:00"
    dbt = [(2.0 + i, "subprocess.py:93", "INFO", "\x1b[0m06:00:1%d  %s" % (2 + i, m)) for i, m in
           enumerate(["Running with dbt=1.7.4",
                      "1 of 2 START sql table model reports.daily_revenue ...... [RUN]",
                      "1 of 2 OK created sql table model reports.daily_revenue . "
                      "[\x1b[32mSELECT 365\x1b[0m in 1.02s]",
                      "2 of 2 ERROR creating sql table model reports.weekly_kpis [\x1b[31mERROR"
                      "\x1b[0m in 0.41s]",
                      "Database Error in model weekly_kpis (models/weekly_kpis.sql)",
                      "  division by zero"])]
    bash_err = "Bash command failed. The command returned a non-zero exit code 1."
    dbt += [(8.5, "subprocess.py:97", "INFO", "Command exited with return code 1")]
    dbt += _failure(8.6, [f"airflow.exceptions.AirflowException: {bash_err}"])
    run1 = {"dag_run_id": r1, "logical_date": l1, "state": "failed",
            "start_date": "2024-01-02T06:00:00.700000+00:00",
            "end_date": "2024-01-02T06:00:30.100000+00:00",
            "data_interval_end": "2024-01-02T06:00:00+00:00",
            "tis": [_ran(dag, r1, l1, "build_report", "failed", "2024-01-02T06:00:02+00:00", 9.0,
                         op="BashOperator", job=30, error=bash_err, body=dbt,
                         rendered_fields={"bash_command": "dbt run --select reports",
                                          "env": None, "cwd": "/opt/airflow/dbt"}),
                    _ti("send_email", "upstream_failed", operator="EmailOperator"),
                    _ran(dag, r1, l1, "legacy_export", "removed", "2024-01-02T06:00:02+00:00", 3.0,
                         outcome="success", job=31)]}
    run2_id, l2 = "manual__2024-01-02T09:30:00+00:00", "2024-01-02T09:30:00+00:00"

    def ok_run(run_id, logical, start, no_logical=False):
        run = {"dag_run_id": run_id, "logical_date": logical, "state": "success",
               "run_type": "manual", "start_date": start,
               "end_date": iso(_d(start) + timedelta(seconds=40)),
               "tis": [_ran(dag, run_id, logical, "build_report", "success",
                            iso(_d(start) + timedelta(seconds=2)), 20.0, op="BashOperator"),
                       _ran(dag, run_id, logical, "send_email", "success",
                            iso(_d(start) + timedelta(seconds=25)), 3.0, op="EmailOperator")]}
        if no_logical:  # triggered in Airflow 3 without a logical date (v1 shows run_after)
            run.update(logical_date=None, run_after=logical)
        return run

    return {"dag_id": dag, "is_paused": True, "tags": ["reports"], "owners": ["bi"],
            "schedule": "0 6 * * 1-5",
            "timetable_description": "At 06:00, Monday through Friday",
            "runs": [run1, ok_run(run2_id, l2, "2024-01-02T09:30:01+00:00", no_logical=True),
                     # ids a client must escape (space # : % + non-ASCII) or cannot address (/)
                     ok_run("manual__re-run #2: 50% + ünïcode", "2024-01-02T11:00:00+00:00",
                            "2024-01-02T11:00:01+00:00"),
                     ok_run("manual__2024/01/02", "2024-01-02T12:00:00+00:00",
                            "2024-01-02T12:00:01+00:00")]}


def _fanout():
    dag, first = "fanout", _d("2023-09-20T00:00:00+00:00")
    runs = []
    for day in range(105):
        logical = first + timedelta(days=day)
        run_id = f"scheduled__{iso(logical)}"
        start = logical + timedelta(days=1, seconds=1)
        # EmptyOperator: marked success by the scheduler, never run, so no log file
        tis = [{"task_id": "start", "state": "success", "try_number": 1,
                "operator": "EmptyOperator", "hostname": "", "start_date": iso(start),
                "end_date": iso(start)}]
        if day == 104:
            tis += [_ran(dag, run_id, iso(logical), "shard", "success",
                         iso(start + timedelta(seconds=5 + i // 10)), 0.75, map_index=i,
                         op="_PythonDecoratedOperator", job=1000 + i, pid=9000 + i,
                         host="worker-2", body=[(0.3, "logging_mixin.py:190", "INFO",
                                                 f"shard {i}: 64 keys")]) for i in range(150)]
        runs.append({"dag_run_id": run_id, "logical_date": iso(logical), "state": "success",
                     "start_date": iso(start), "end_date": iso(start + timedelta(seconds=30)),
                     "data_interval_end": iso(logical + timedelta(days=1)), "tis": tis})
    return {"dag_id": dag, "description": "Many runs and a 150-way map, for paging",
            "tags": ["test"], "schedule": "0 0 * * *", "timetable_description": "At 00:00",
            "runs": runs}


BIG_LOGS_RUN = "manual__2024-01-04T00:00:00+00:00"


def big_logs_dag(nbytes, seed=7):
    """The --big-log-mb DAG: big_logs / BIG_LOGS_RUN / huge, a success with one try whose
    log is {"generate": {"bytes": nbytes, "seed": seed}}."""
    lines = max(0, nbytes - GEN_MIN_BYTES) // 100  # about 100 bytes a line, 1 ms apart
    end = iso(GEN_BASE + timedelta(milliseconds=lines + 1))
    return {"dag_id": "big_logs", "description": "A task with a huge generated log",
            "tags": ["test"], "runs": [{
                "dag_run_id": BIG_LOGS_RUN, "state": "success",
                "start_date": "2024-01-03T23:59:59+00:00", "end_date": end,
                "tis": [{"task_id": "huge", "state": "success", "try_number": 1,
                         "start_date": iso(GEN_BASE), "end_date": end, "pid": 4343,
                         "logs": [{"generate": {"bytes": nbytes, "seed": seed}}]}]}]}


def demo_dataset():
    legacy = {"dag_id": "legacy_import", "is_active": False, "is_paused": True,
              "description": "Deleted DAG file: inactive, hidden from /dags by default",
              "runs": [{"dag_run_id": "scheduled__2023-12-01T00:00:00+00:00",
                        "start_date": "2023-12-02T00:00:01+00:00",
                        "end_date": "2023-12-02T00:00:09+00:00",
                        "tis": [_ran("legacy_import", "scheduled__2023-12-01T00:00:00+00:00",
                                     "2023-12-01T00:00:00+00:00", "import_csv", "success",
                                     "2023-12-02T00:00:02+00:00", 6.0)]}]}
    empty = {"dag_id": "empty_dag", "description": "Never ran", "tasks": ["noop"]}
    return {"dags": [_etl(), _ml(), _reporting(), _fanout(), legacy, empty]}


# ---------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Airflow server: 2.x REST API v1, or "
                                 "3.x REST API v2 (--api v2)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--data", default="demo", help="'demo' or a dataset JSON file")
    ap.add_argument("--api", choices=("v1", "v2"), default="v1")
    ap.add_argument("--auth", choices=("basic", "jwt", "kerberos", "none"),
                    help="default: basic (v1), jwt (v2); kerberos (v1) needs --keytab")
    ap.add_argument("--keytab", help="the service key (HTTP/HOST) for --auth kerberos")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--token", action="append", default=[],
                    help="also accept 'Authorization: Bearer TOKEN' (repeatable)")
    ap.add_argument("--prefix", default="", help="serve everything under this URL path")
    ap.add_argument("--jwt-expiry", type=int, default=86400, help="v2: JWT lifetime, seconds")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--version", help="default: 2.10.5 (v1), %s (v2)" % V2_VERSION)
    ap.add_argument("--secret-key", default="fake-airflow-secret-key")
    ap.add_argument("--no-sort-keys", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    ap.add_argument("--print-demo", action="store_true", help="print the demo dataset, exit")
    ap.add_argument("--big-log-mb", type=float, metavar="N",
                    help="add the DAG big_logs whose task huge has an N MB (N * 10^6 bytes) "
                         "generated log, made and cached in the background at start")
    args = ap.parse_args(argv)
    if args.print_demo:
        print(json.dumps(demo_dataset(), indent=2, ensure_ascii=False))
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        srv = start(data=args.data, api=args.api, auth=args.auth, keytab=args.keytab,
                    user=args.user,
                    password=args.password, static_tokens=args.token,
                    latency_ms=args.latency_ms, version=args.version, port=args.port,
                    secret_key=args.secret_key, sort_keys=not args.no_sort_keys,
                    verbose=args.verbose, prefix=args.prefix, jwt_expiry=args.jwt_expiry)
        if args.big_log_mb is not None:
            srv.add_dag(big_logs_dag(int(args.big_log_mb * 1_000_000)))
            threading.Thread(target=srv.warm_log, args=("big_logs", BIG_LOGS_RUN, "huge"),
                             daemon=True, name="fake-airflow-warm").start()
    except (OSError, ValueError) as e:
        print(f"fake-airflow: {e}", file=sys.stderr)
        return 1
    if args.port_file:
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{srv.port}\n")
        os.replace(tmp, args.port_file)
    print(f"fake-airflow listening on {srv.url}", flush=True)
    while not stop.wait(3600):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
