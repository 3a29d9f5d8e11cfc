# SPDX-License-Identifier: Apache-2.0
"""What the fake server itself answers, to compare the mount with.

These helpers ask the server directly (with the test credentials) and
compute what airflowfs must show: the pretty JSON of a record, the decoded
text of a log. The requests they send are recorded like any other, so call
them before fake.reset() when a test counts requests.
"""
import ast
import base64
import json
import urllib.error
import urllib.request
from urllib.parse import quote

from conftest import PASSWORD, USER


def q(ident):
    return quote(ident, safe="-._~")


def ti_path(dag, run, task, map_index=-1):
    p = "/api/v1/dags/%s/dagRuns/%s/taskInstances/%s" % (q(dag), q(run), q(task))
    return p + ("/%d" % map_index if map_index >= 0 else "")


def get(fake, path, accept="application/json"):
    req = urllib.request.Request(fake.url + path, headers={"Accept": accept})
    token = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req) as r:
        return r.read()


def pretty(obj):
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def info_json(fake, dag, run, task, map_index=-1):
    return pretty(json.loads(get(fake, ti_path(dag, run, task, map_index))))


def links_json(fake, dag, run, task, map_index=-1):
    p = ti_path(dag, run, task) + "/links"
    if map_index >= 0:
        p += "?map_index=%d" % map_index
    return pretty(json.loads(get(fake, p)))


def log_text(fake, dag, run, task, try_number, map_index=-1):
    p = ti_path(dag, run, task) + "/logs/%d?full_content=true" % try_number
    if map_index >= 0:
        p += "&map_index=%d" % map_index
    content = json.loads(get(fake, p))["content"]
    parts = ast.literal_eval(content)
    return "".join(text for _host, text in parts).encode()
