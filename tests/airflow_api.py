# SPDX-License-Identifier: Apache-2.0
"""What the fake server itself answers, and what each API version's requests
look like, to compare the mount with.

Every helper takes the `fake` under test first and follows its API version
(fake.api, "v1" or "v2") and URL prefix (fake.prefix). The ones that ask the
server (record, info_json, links_json, log_text) send requests that are
recorded like any other (v2 ones carry a JWT from fake.issue_token(), so no
login is recorded), so call them before fake.reset() when a test counts
requests.

The requests a v2 client is expected to send (SPEC.md, NOTES.md):
  probe    GET /api/v2/version; POST /auth/token {"username", "password"} when
           the credentials are a user name and password; GET /api/v2/dags?limit=1
  lists    ?limit=100&offset=N; runs with order_by=-run_after (v1:
           order_by=-execution_date)
  state    PATCH .../taskInstances/T[/M] with exactly {"new_state": "failed"} (the
           value lower-cased, as v1); a 409 (already in that state) is a success
  note     PATCH .../taskInstances/T[/M]?update_mask=note with {"note": "text"}
           (clearing: {"note": ""})
  links    GET .../taskInstances/T/links, with ?map_index=M for a mapped one
  log      GET .../taskInstances/T/logs/N?full_content=true[&map_index=M], Accept:
           application/json, never a token: a running try is fetched again in full
"""
import ast
import base64
import contextlib
import json
import urllib.request
from urllib.parse import quote

import fake_airflow
from conftest import PASSWORD, USER


def q(ident):
    return quote(ident, safe="-._~")


def base(fake):
    """The API's path prefix: /api/v1 or /api/v2 (after the fake's URL prefix)."""
    return fake.prefix + ("/api/v1" if fake.api == "v1" else "/api/v2")


def run_path(fake, dag, run):
    return "%s/dags/%s/dagRuns/%s" % (base(fake), q(dag), q(run))


def ti_path(fake, dag, run, task, map_index=-1):
    p = run_path(fake, dag, run) + "/taskInstances/" + q(task)
    return p + ("/%d" % map_index if map_index >= 0 else "")


def runs_order(fake):
    """The order_by of a run listing, newest first."""
    return "order_by=-execution_date" if fake.api == "v1" else "order_by=-run_after"


def auth_header(fake):
    if fake.api == "v1":
        return "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    return "Bearer " + fake.issue_token()


def accepted_auth(fake, header):
    """Whether a recorded Authorization header is what the mount should send: v1 the
    test credentials in HTTP Basic; v2 a JWT the server takes now."""
    if fake.api == "v1":
        return header == auth_header(fake)
    return bool(header) and header.startswith("Bearer ") and \
        fake.token_error(header[len("Bearer "):]) is None


def get(fake, path, accept="application/json"):
    req = urllib.request.Request(fake.origin + path, headers={"Accept": accept})
    req.add_header("Authorization", auth_header(fake))
    with urllib.request.urlopen(req) as r:
        return r.read()


def pretty(obj):
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def record(fake, dag, run, task, map_index=-1):
    return json.loads(get(fake, ti_path(fake, dag, run, task, map_index)))


def info_json(fake, dag, run, task, map_index=-1):
    return pretty(record(fake, dag, run, task, map_index))


def links_json(fake, dag, run, task, map_index=-1):
    """links.json: v1's flat object, v2's "extra_links" unwrapped."""
    p = ti_path(fake, dag, run, task) + "/links"
    if map_index >= 0:
        p += "?map_index=%d" % map_index
    links = json.loads(get(fake, p))
    return pretty(links if fake.api == "v1" else links["extra_links"])


def log_path(fake, dag, run, task, try_number, map_index=-1):
    """The path and query of the mount's log request."""
    p = ti_path(fake, dag, run, task) + "/logs/%d?full_content=true" % try_number
    return p + ("&map_index=%d" % map_index if map_index >= 0 else "")


def final_text(text):
    """What a mount shows of a final log: the text, with a newline added where it has
    none (SPEC.md "logs"); an empty log stays empty."""
    nl = b"\n" if isinstance(text, bytes) else "\n"
    return text + nl if text and not text.endswith(nl) else text


def log_text(fake, dag, run, task, try_number, map_index=-1, final=True):
    """A log file's bytes from one full read: v1 the decoded Python-repr content; v2
    the records rendered as SPEC.md says (fake_airflow.render_log); a final log (final)
    ends with a newline."""
    content = json.loads(get(fake, log_path(fake, dag, run, task, try_number,
                                            map_index)))["content"]
    if fake.api == "v1":
        text = "".join(text for _host, text in ast.literal_eval(content)).encode()
    else:
        text = fake_airflow.render_log(content).encode()
    return final_text(text) if final else text


def log_refetch_uses_tokens(fake):
    """v1 follows a running log through continuation tokens; v2 fetches it again in
    full (3.0.4+ answer a token read with the whole log again)."""
    return fake.api == "v1"


def state_body(fake, value):
    if fake.api == "v1":
        return {"dry_run": False, "new_state": value}
    return {"new_state": value}


def state_body_text(fake, value):
    """The exact bytes of a state PATCH body."""
    return json.dumps(state_body(fake, value))


def expected_state_patch(fake, dag, run, task, map_index, value):
    """(method, path?query, body) of the PATCH that sets a state."""
    return ("PATCH", ti_path(fake, dag, run, task, map_index), state_body(fake, value))


def expected_note_patch(fake, dag, run, task, map_index, text):
    """(method, path?query, body) of the PATCH that sets a note."""
    p = ti_path(fake, dag, run, task, map_index)
    p += "/setNote" if fake.api == "v1" else "?update_mask=note"
    return ("PATCH", p, {"note": text})


def patches(fake):
    """(method, path?query, JSON body) of each recorded request but GETs."""
    return [(r["method"], r["path"] + ("?" + r["query"] if r["query"] else ""),
             json.loads(r["body"])) for r in fake.requests() if r["method"] != "GET"]


def error_body(fake, status, message):
    """A refusal as that version's server words it (v1 problem+json, v2 FastAPI: a 422
    lists validation errors)."""
    if fake.api == "v1":
        return {"detail": message, "status": status, "title": "Refused",
                "type": "about:blank"}
    if status == 422:
        return {"detail": [{"type": "value_error", "loc": ["body", "new_state"],
                            "msg": message, "input": None}]}
    return {"detail": message}


@contextlib.contextmanager
def credentials_refused(fake):
    """The server stops taking the mount's credentials: v1 a changed password; v2 a
    changed password and a new JWT secret (so the mount's token is refused, 403, and
    logging in again is refused, 401)."""
    old = fake.config()["password"]
    fake.configure(password="rotated", **({"rotate_jwt_secret": True}
                                          if fake.api == "v2" else {}))
    try:
        yield
    finally:
        fake.configure(password=old)


def probe_requests(fake, login=True):
    """(method, path, query, JSON body or None) of the requests a mount sends before
    mounting, with credentials a user name and password (login) or not."""
    pfx = fake.prefix
    if fake.api == "v1":
        return [("GET", pfx + "/api/v2/version", "", None),
                ("GET", pfx + "/api/v1/version", "", None),
                ("GET", pfx + "/api/v1/dags", "limit=1", None)]
    return [("GET", pfx + "/api/v2/version", "", None)] + (
        [("POST", pfx + "/auth/token", "", {"username": USER, "password": PASSWORD})]
        if login else []) + [("GET", pfx + "/api/v2/dags", "limit=1", None)]


def recorded(fake, auth=True):
    """(method, path, query, JSON body or None) of each recorded request."""
    return [(r["method"], r["path"], r["query"], json.loads(r["body"]) if r["body"] else None)
            for r in fake.requests(auth=auth)]
