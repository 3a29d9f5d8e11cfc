#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make bench: what a distant server costs, measured against baselines in the
same run (issue 10). Prints figures and ratios; asserts nothing.

The fake server answers every request after --latency-ms (default 20). The
run measured has 200 task instances (150 tasks and one mapped over 50
indexes), two tries each, logs of about 64 KiB with a known number of ERROR
lines; a second run has 20,000 task instances. The daemon's own counters
(.stats) give the kernel's requests to it during the warm grep and the walk
over 20,000 task instances.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_airflow  # noqa: E402
from conftest import PASSWORD, USER, creds_env, start_mount, wait_mounted  # noqa: E402

RUN = "manual__bench"


def ti(task, map_index=-1, seed=0, log_bytes=65536):
    # made once here: the fake then serves them as stored files
    logs = [fake_airflow.generated_log(log_bytes, seed * 2 + k) for k in range(2)]
    return {"task_id": task, "map_index": map_index, "state": "failed", "try_number": 2,
            "start_date": "2024-01-05T00:00:01+00:00",
            "end_date": "2024-01-05T00:00:09+00:00", "logs": logs,
            "links": {"Docs": "https://example.com/%s" % task}}


def dataset():
    tis = [ti("task_%03d" % i, seed=i) for i in range(150)]
    tis += [ti("mapped", map_index=i, seed=1000 + i) for i in range(50)]
    wide = [{"task_id": "t%05d" % i, "state": "success", "try_number": 1}
            for i in range(20000)]
    return {"dags": [
        {"dag_id": "bench", "runs": [{"dag_run_id": RUN, "state": "failed",
                                      "start_date": "2024-01-05T00:00:00+00:00",
                                      "tis": tis}]},
        {"dag_id": "wide", "runs": [{"dag_run_id": RUN, "state": "success",
                                     "start_date": "2024-01-05T00:00:00+00:00",
                                     "tis": wide}]}]}


class Mounted:
    def __init__(self, srv, opts=()):
        self.srv = srv
        self.path = tempfile.mkdtemp(prefix="afs-bench.")
        self.proc, self.log = start_mount(srv.url, self.path, opts, creds_env())
        wait_mounted(self.path, self.proc, self.log)
        srv.reset()

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def peak_rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def close(self):
        subprocess.run(["fusermount3", "-u", self.path])
        self.proc.wait(timeout=30)
        shutil.rmtree(self.path, ignore_errors=True)
        os.unlink(self.log)


def timed(fn):
    t = time.monotonic()
    out = fn()
    return time.monotonic() - t, out


def sh(cmd, cwd=None):
    out = subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError("%s: exit %d: %s" % (cmd[:200], out.returncode, out.stderr[-500:]))
    return out.stdout


def best(n, fn):
    return min(timed(fn)[0] for _ in range(n))


def stats(m):
    """The counters of .stats (its url, api, version and error lines left out)."""
    with open(m.p(".stats")) as f:
        pairs = (ln.split(" ", 1) for ln in f.read().splitlines())
        return {k: int(v) for k, v in pairs if v.isdigit()}


def kernel_requests(before, after):
    """The kernel's requests to the daemon between two reads of .stats."""
    ops = ("lookup", "getattr", "open", "read", "flush", "release", "opendir", "readdir",
           "releasedir", "readlink")
    if "fuse_open" not in after:
        return 0, "not counted by this daemon"
    d = {op: after["fuse_" + op] - before["fuse_" + op] for op in ops}
    return sum(d.values()), ", ".join("%s %d" % (k, v) for k, v in d.items() if v)


def cpu_s(pid):
    """The CPU seconds (user and system) that process pid has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_grep(srv, opts):
    """A cold grep -r over the run right after a cold ls -R, on a mount of its own; also
    the CPU seconds that the fake server (this process) and the daemon spent in it."""
    m = Mounted(srv, opts)
    try:
        sh("ls -R '%s' > /dev/null" % m.p("bench", RUN))
        srv.reset()
        fake0, daemon0 = time.process_time(), cpu_s(m.proc.pid)
        t, _ = timed(lambda: sh("grep -r -c ERROR . > /dev/null || true",
                                cwd=m.p("bench", RUN)))
        return (t, len(srv.requests()), time.process_time() - fake0,
                cpu_s(m.proc.pid) - daemon0)
    finally:
        m.close()


def curl_baseline(srv, logs):
    """Each log of the run, one request at a time, as a script with curl does."""
    def run():
        for task, mi, k in logs:
            url = "%s/api/v1/dags/bench/dagRuns/%s/taskInstances/%s/logs/%d" % (
                srv.url, quote(RUN, safe=""), task, k)
            if mi >= 0:
                url += "?map_index=%d" % mi
            subprocess.run(["curl", "-sf", "-u", "%s:%s" % (USER, PASSWORD), "-H",
                            "Accept: application/json", "-o", "/dev/null", url],
                           check=True)
    return timed(run)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--fresh-only", action="store_true",
                    help="only the figures of a 20,000-task-instance run kept fresh")
    ap.add_argument("--big-log-only", action="store_true",
                    help="only the figures of a 200 MB log against curl")
    ap.add_argument("--api", default="v1,v2", help="APIs of those figures (v1,v2)")
    args = ap.parse_args()
    rows = []

    def row(name, value, note=""):
        rows.append((name, value, note))
        print("%-44s %14s  %s" % (name, value, note), flush=True)

    if args.fresh_only or args.big_log_only:
        for api in args.api.split(","):
            (big_log_figures if args.big_log_only else fresh_figures)(
                api, args.latency_ms, row)
        return
    srv = fake_airflow.start(data=dataset(), auth="basic", user=USER, password=PASSWORD,
                             latency_ms=args.latency_ms)
    print("latency %d ms per request; times in seconds\n" % args.latency_ms)
    logs = [("task_%03d" % i, -1, k) for i in range(150) for k in (1, 2)]
    logs += [("mapped", i, k) for i in range(50) for k in (1, 2)]
    want_errors = sum(
        fake_airflow.generated_log(65536, s).count("ERROR")
        for s in [i * 2 + k for i in list(range(150)) + list(range(1000, 1050))
                  for k in range(2)])

    # ttl=30: nothing expires between the cold figures and the warm ones
    # (the curl baseline takes seconds); ttl changes no request of the cold
    m = Mounted(srv, ["ttl=30"])
    try:
        t, _ = timed(lambda: sh("ls -R '%s' > /dev/null" % m.p("bench", RUN)))
        row("cold ls -R of the run", "%.3f" % t, "%d requests" % len(srv.requests()))
        srv.reset()
        s0 = stats(m)
        t, out = timed(lambda: sh("grep -r -c ERROR . || true", cwd=m.p("bench", RUN)))
        s1 = stats(m)
        got = sum(int(ln.rsplit(":", 1)[1]) for ln in out.splitlines())
        n = len(srv.requests())
        base = curl_baseline(srv, logs)
        row("cold grep -r -c ERROR", "%.3f" % t,
            "%d requests, %d ERROR lines (want %d)" % (n, got, want_errors))
        if "readahead_used" in s1:
            row("  readahead used / wasted", "%d / %d" % (
                s1["readahead_used"] - s0["readahead_used"],
                s1["readahead_wasted"] - s0["readahead_wasted"]))
        row("  baseline: curl one log at a time", "%.3f" % base, "%d logs" % len(logs))
        row("  ratio baseline / grep", "%.1fx" % (base / t), "target >= 10x")
        shm = tempfile.mkdtemp(dir="/dev/shm")
        sh("cp -r '%s' '%s/run'" % (m.p("bench", RUN), shm))
        files = int(sh("find '%s/run' -type f | wc -l" % shm))
        dirs = int(sh("find '%s/run' -type d | wc -l" % shm))
        srv.reset()
        s0 = stats(m)
        sh("grep -r -c ERROR . > /dev/null || true", cwd=m.p("bench", RUN))
        total, detail = kernel_requests(s0, stats(m))
        warm = best(7, lambda: sh("grep -r -c ERROR . > /dev/null || true",
                                  cwd=m.p("bench", RUN)))
        tmpfs = best(7, lambda: sh("grep -r -c ERROR . > /dev/null || true",
                                   cwd=shm + "/run"))
        shutil.rmtree(shm)
        row("warm grep -r -c ERROR (best of 7)", "%.4f" % warm,
            "%d requests" % len(srv.requests()))
        row("  kernel requests to the daemon", "%d" % total,
            "%d files, %d directories: %s" % (files, dirs, detail))
        row("  tmpfs copy, same grep", "%.4f" % tmpfs)
        row("  ratio mount / tmpfs", "%.1fx" % (warm / tmpfs), "kernel floor ~4x")
    finally:
        m.close()

    for workers in (8, 16):
        t, n, fake_cpu, daemon_cpu = cold_grep(srv, ["readahead=%d" % workers])
        row("cold grep, -o readahead=%d%s" % (workers, " (default)" if workers == 8 else ""),
            "%.3f" % t, "%d requests, ratio to curl %.1fx; CPU: fake server %.2f s (one "
            "Python process), daemon %.2f s" % (n, base / t, fake_cpu, daemon_cpu))

    m = Mounted(srv)
    try:
        state = m.p("bench", RUN, "task_007", "state")
        t, _ = timed(lambda: open(state).read())
        row("cat of one state, cold", "%.4f" % t, "%d requests" % len(srv.requests()))
        srv.reset()
        t, _ = timed(lambda: open(state).read())
        row("cat of one state, warm", "%.5f" % t, "%d requests" % len(srv.requests()))
    finally:
        m.close()

    m = Mounted(srv)
    try:
        wide = m.p("wide", RUN)
        t, _ = timed(lambda: sh("ls '%s' | wc -l" % wide))
        row("20,000 task instances: cold ls", "%.3f" % t,
            "%d requests" % len(srv.requests()))
        srv.reset()
        s0 = stats(m)
        t, out = timed(lambda: sh("find . -name state | xargs cat | sort | uniq -c",
                                  cwd=wide))
        total, detail = kernel_requests(s0, stats(m))
        row("  find -name state | xargs cat", "%.3f" % t,
            "%d requests, target < 2 s (%s)" % (len(srv.requests()), out.strip()))
        row("  kernel requests to the daemon", "%d" % total,
            "%.1f per task instance: %s" % (total / 20000, detail))
        srv.reset()
        s0 = stats(m)
        t, _ = timed(lambda: sh("find . -name state | xargs cat > /dev/null", cwd=wide))
        total, detail = kernel_requests(s0, stats(m))
        row("  the same again", "%.3f" % t, "%d requests" % len(srv.requests()))
        row("  kernel requests to the daemon", "%d" % total,
            "%.1f per task instance: %s" % (total / 20000, detail))
        row("  daemon peak resident memory", "%.1f MB" % m.peak_rss_mb(),
            "target < cache_size + 50 MB")
    finally:
        m.close()
        srv.stop()
    for api in ("v1", "v2"):
        fresh_figures(api, args.latency_ms, row)
    print("\nA log of 200 MB", flush=True)
    for api in ("v1", "v2"):
        big_log_figures(api, args.latency_ms, row)


def walk(m):
    return timed(lambda: sh("find . -name state | xargs cat > /dev/null", cwd=m.p("wide", RUN)))[0]


def fresh_figures(api, latency_ms, row):
    """Issue 18: the 20,000-task-instance run kept fresh at the default ttl against the
    same walks at ttl=600 (nothing expires: the baseline), and what a minute of
    `watch -n1 'cat RUN/*/state | sort | uniq -c'` costs the server."""
    srv = fake_airflow.start(api=api, data=dataset(), user=USER, password=PASSWORD,
                             latency_ms=latency_ms)
    print("\n20,000 task instances on API %s" % api, flush=True)
    try:
        walks = {}
        for ttl in (600, 5):
            m = Mounted(srv, ["ttl=%d" % ttl])
            try:
                sh("ls '%s' > /dev/null" % m.p("wide", RUN))
                walk(m)  # the cold walk; then three warm ones, 6 s apart (past the ttl)
                srv.reset()
                times = []
                for _ in range(3):
                    time.sleep(6)
                    times.append(walk(m))
                walks[ttl] = times
                row("  warm walk, ttl=%d (3, 6 s apart)" % ttl,
                    " ".join("%.2f" % t for t in times),
                    "%d requests: %s" % (len(srv.requests()), request_kinds(srv)))
                if ttl == 5:
                    row("  daemon peak resident memory", "%.1f MB" % m.peak_rss_mb(),
                        "target < cache_size (256) + 50 MB")
            finally:
                m.close()
        row("  ratio ttl=5 / ttl=600 (medians)", "%.2fx" % (
            sorted(walks[5])[1] / sorted(walks[600])[1]), "target < 1.5x, walk < 2 s")
        m = Mounted(srv)
        try:
            wide = m.p("wide", RUN)
            sh("ls '%s' > /dev/null" % wide)
            srv.reset()
            t0, runs = time.monotonic(), []
            while time.monotonic() - t0 < 60:  # as watch -n1: a second between runs
                runs.append(timed(lambda: sh("cat %s/*/state | sort | uniq -c > /dev/null"
                                             % wide))[0])
                time.sleep(1)
            took = time.monotonic() - t0
            n = len(srv.requests())
            row("  watch -n1 of every state, 60 s", "%.2f/s" % (n / took),
                "%d requests in %.0f s, %d runs of %.1f s (median): %s; target < 2/s "
                "(a full listing is 201)" % (n, took, len(runs), sorted(runs)[len(runs) // 2],
                                              request_kinds(srv)))
        finally:
            m.close()
    finally:
        srv.stop()


def big_log_figures(api, latency_ms, row, mb=200):
    """Issue 18: a log of 200 MB read with cat on a fresh mount against curl fetching the
    same answer (JSON, as the daemon asks for it), best of three each, after the fake made
    its answer once (srv.warm_log), so that both read the same bytes from the same cache."""
    srv = fake_airflow.start(api=api, data={"dags": [fake_airflow.big_logs_dag(mb * 10**6)]},
                             user=USER, password=PASSWORD, latency_ms=latency_ms)
    run = fake_airflow.BIG_LOGS_RUN
    try:
        srv.warm_log("big_logs", run, "huge")
        url = "%s/api/%s/dags/big_logs/dagRuns/%s/taskInstances/huge/logs/1" \
            "?full_content=true" % (srv.url, api, quote(run, safe=""))
        if api == "v1":
            auth = ["-u", "%s:%s" % (USER, PASSWORD)]
        else:
            req = urllib.request.Request(srv.url + "/auth/token", method="POST", data=(
                '{"username": "%s", "password": "%s"}' % (USER, PASSWORD)).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req) as r:
                token = json.load(r)["access_token"]
            auth = ["-H", "Authorization: Bearer " + token]
        curl = min(timed(lambda: subprocess.run(
            ["curl", "-sf", *auth, "-H", "Accept: application/json", "-o", "/dev/null", url],
            check=True))[0] for _ in range(3))
        cats = []
        for _ in range(3):
            m = Mounted(srv)
            try:
                path = m.p("big_logs", run, "huge", "logs", "1")
                t, out = timed(lambda: sh("cat '%s' | wc -c" % path))
                cats.append(t)
                size = int(out)
            finally:
                m.close()
        row("  %d MB log on API %s: cat, fresh mount" % (mb, api), "%.2f" % min(cats),
            "%d bytes; runs %s" % (size, " ".join("%.2f" % t for t in cats)))
        row("  curl of the same answer (JSON)", "%.2f" % curl)
        row("  ratio curl / cat", "%.2fx" % (curl / min(cats)), "target 1x")
    finally:
        srv.stop()


def request_kinds(srv):
    """The requests by kind: full listings, listings of what changed, others."""
    full = changed = other = 0
    for r in srv.requests():
        if r["path"].endswith("/taskInstances"):
            if "updated_at_gte" in r["query"]:
                changed += 1
            else:
                full += 1
        else:
            other += 1
    return "%d full list pages, %d changed, %d other" % (full, changed, other)


if __name__ == "__main__":
    main()
