# SPDX-License-Identifier: Apache-2.0
"""Teardown: unmounts with files open (a note with a save pending among them), reads
in flight and SIGHUP arriving, TEARDOWN_ROUNDS times (10 here; `make teardown` runs 100
against the ASan build). Each daemon must exit 0 with no sanitizer report and nothing
wrong in its log: RELEASE and DESTROY may run at once (ops.c), the SIGHUP thread stops
before the session ends (main.c). The ASan binary build/asan/airflowfs is used when it
is built (make asan), else AIRFLOWFS_BIN."""
import os
import signal
import subprocess
import time

from conftest import BAD_LOG, BIN, ROOT, creds_env, fresh, wait_mounted

E, R1 = "etl_daily", "scheduled__2024-01-01T00:00:00+00:00"
LOAD = (E, R1, "load")
ROUNDS = int(os.environ.get("TEARDOWN_ROUNDS", "10"))
ASAN_BIN = os.path.join(ROOT, "build", "asan", "airflowfs")
TEARDOWN_BIN = os.environ.get("AIRFLOWFS_BIN") or (
    ASAN_BIN if os.path.exists(ASAN_BIN) else BIN)


def test_unmount_loop(fake, tmp_path):
    """Each round: mount, open a state, a log and a note (written, not yet saved), start
    readers, SIGHUP twice, detach the mount (fusermount3 -uz) while all of it is open and
    running, then close the files: the daemon exits 0 and its log holds no report.
    timeout=3 bounds the calls the detach catches midway (a round takes about that)."""
    env = creds_env(ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
    for i in range(ROUNDS):
        fresh(fake)
        path = str(tmp_path / ("mnt%d" % i))
        os.makedirs(path)
        log_path = path + ".log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen([TEARDOWN_BIN, "-f", "-o", "readahead=2,timeout=3", fake.url,
                                     path], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_mounted(path, proc, log_path, timeout=30)
            files = [open(os.path.join(path, *LOAD, "state"), "rb"),
                     open(os.path.join(path, *LOAD, "logs", "1"), "rb")]
            note = open(os.path.join(path, *LOAD, "note"), "w")
            note.write("round %d\n" % i)
            note.flush()
            readers = [subprocess.Popen(
                ["sh", "-c", 'while :; do cat "$1"/*/*/state "$1"/*/*/logs/* '
                 '>/dev/null 2>&1; ls -R "$1" >/dev/null 2>&1; done', "sh",
                 os.path.join(path, E)]) for _ in range(2)]
            time.sleep(0.2)
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.05)
            proc.send_signal(signal.SIGHUP)
            assert subprocess.run(["fusermount3", "-uz", path]).returncode == 0
            proc.send_signal(signal.SIGHUP)
            for r in readers:
                r.kill()
                r.wait()
            for f in files + [note]:
                try:
                    f.close()
                except OSError:
                    pass  # the save may fail once the mount is gone
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            subprocess.run(["fusermount3", "-uz", path], stderr=subprocess.DEVNULL)
        text = open(log_path, errors="replace").read()
        assert not [bad for bad in BAD_LOG if bad in text], (i, text)
        assert rc == 0, (i, rc, text)
