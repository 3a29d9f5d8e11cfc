# SPDX-License-Identifier: Apache-2.0
"""What an administrator gets: make install / make uninstall (PREFIX, DESTDIR),
the man page (it renders without warnings and lists the options --help lists),
mounts through mount(8) and mount.fuse3 (mount -t, an fstab line) after a real
install, and the systemd unit (systemd-analyze verify, and run as systemd
runs it)."""
import contextlib
import fcntl
import filecmp
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import BAD_LOG, BIN, PASSWORD, ROOT, USER, creds_env, start_mount, wait_mounted
from private_dev import PRIVATE_DEV

CI = os.environ.get("CI") == "true"
MAN = os.path.join(ROOT, "contrib", "airflowfs.1")
UNIT = os.path.join(ROOT, "contrib", "airflowfs@.service")
STATE = ("etl_daily", "scheduled__2024-01-01T00:00:00+00:00", "load", "state")
NO_CREDS = creds_env(AIRFLOW_USERNAME=None, AIRFLOW_PASSWORD=None)


def make(*args):
    r = subprocess.run(["make", "-s", "-C", ROOT] + list(args), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def need(tool, package):
    """A tool that tests/deps.sh installs: missing, the test fails under CI."""
    if shutil.which(tool):
        return
    if CI:
        pytest.fail("%s is missing: tests/deps.sh installs %s" % (tool, package))
    pytest.skip("%s is missing (apt-get install %s)" % (tool, package))


def secret_file(path, text):
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def files_under(top):
    return sorted(os.path.relpath(os.path.join(d, f), top)
                  for d, _, fs in os.walk(top) for f in fs)


def test_install_and_uninstall_into_destdir(tmp_path):
    dest = str(tmp_path)
    make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    assert files_under(dest) == [
        "usr/bin/airflowfs",
        "usr/lib/systemd/system/airflowfs@.service",
        "usr/share/doc/airflowfs/README.md",
        "usr/share/doc/airflowfs/airflowfs.conf.example",
        "usr/share/doc/airflowfs/fstab.example",
        "usr/share/man/man1/airflowfs.1",
    ]
    binary = os.path.join(dest, "usr/bin/airflowfs")
    assert stat.S_IMODE(os.stat(binary).st_mode) == 0o755
    for f in files_under(dest)[1:]:
        assert stat.S_IMODE(os.stat(os.path.join(dest, f)).st_mode) == 0o644, f
    out = subprocess.run([binary, "-V"], capture_output=True, text=True)
    assert out.returncode == 0 and "airflowfs version" in out.stdout
    # the unit runs the binary where PREFIX put it (not where DESTDIR did)
    unit = read(os.path.join(dest, "usr/lib/systemd/system/airflowfs@.service")).decode()
    assert re.search(r"^ExecStart=/usr/bin/airflowfs -f ", unit, re.M)
    make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
    assert files_under(dest) == []


# -- the man page ---------------------------------------------------------------------

def test_man_page_renders_without_warnings():
    need("groff", "groff-base")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    need("man", "man-db")
    r = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for section in ["SYNOPSIS", "OPTIONS", "CREDENTIALS", "THE TREE", "ERRORS", "SIGNALS",
                    "LOGGING", "FSTAB", "SYSTEMD", "EXIT STATUS", "EXAMPLES", "CAVEATS"]:
        assert re.search(r"^%s$" % section, r.stdout, re.M), section


def option_names(words):
    """Option names in a list of words that starts with options: -x, --long, or
    NAME for `-o NAME[=VALUE]`; stops at the first word that is none."""
    names, it = [], iter(words)
    for w in it:
        if w == "-o":
            names.append(re.split(r"[=\[]", next(it))[0])
        elif re.match(r"--?[A-Za-z]", w):
            names.append(w)
        elif re.match(r"[a-z_]+(=|$|\|)", w) and not names:  # a bare -o option's tag
            names.append(re.split(r"[=|]", w)[0])
            break
        else:
            break
    return names


def help_options():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    names = set()
    for line in r.stdout.splitlines():
        if line.startswith(" ") and line.lstrip().startswith("-"):
            names.update(option_names(line.split()))
    return names


def roff_text(line):
    """The text of one macro line (.B, .BR, .BI ...) or text line, fonts dropped."""
    if line.startswith("."):
        macro, _, rest = line.partition(" ")
        # .B and .I join their words with spaces, .BR, .BI ... alternate fonts
        line = (" " if macro in (".B", ".I") else "").join(shlex.split(rest))
    line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-")
    return line


def man_options():
    """The tags of the .TP items of the man page's OPTIONS section."""
    lines = read(MAN).decode().splitlines()
    names, section = set(), None
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            section = line[4:].strip('"')
        elif line == ".TP" and section == "OPTIONS":
            tag = roff_text(lines[i + 1]).replace(",", " ")
            found = option_names(tag.split())
            assert found, "an OPTIONS item that names no option: " + lines[i + 1]
            names.update(found)
    return names


def test_help_and_man_page_list_the_same_options():
    helped, documented = help_options(), man_options()
    assert {"api", "ttl", "token_file", "-f", "-s", "--help", "allow_other",
            "max_threads"} <= helped
    assert helped - documented == set(), "in --help, not in the man page"
    assert documented - helped == set(), "in the man page, not in --help"


def test_help_lists_every_option_config_c_parses():
    src = read(os.path.join(ROOT, "fs", "config.c")).decode()
    table = set(re.findall(r'\b(?:OPT|COPT)\("([a-z_]+)', src))
    table |= {k for k in re.findall(r'FUSE_OPT_KEY\("([^"]+)"', src)}
    assert {"ttl", "verbose", "ro", "-V"} <= table
    assert table - help_options() == set()


def test_man_page_version_is_the_binary_s():
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
    version = re.search(r"airflowfs version (\S+)", r.stdout).group(1)
    th = [ln for ln in read(MAN).decode().splitlines() if ln.startswith(".TH ")][0]
    assert '"airflowfs %s"' % version in th


# -- fstab and mount(8) -----------------------------------------------------------------

def test_mount_only_options_are_accepted_and_ignored(fake, tmp_path):
    """What mount(8), fstab or another helper may pass besides ours."""
    fake.set_data("demo")
    path = str(tmp_path / "mnt")
    opts = ["defaults", "_netdev", "auto", "noauto", "user", "users", "nouser", "nofail",
            "x-systemd.automount", "x-systemd.requires=network-online.target",
            "x-systemd.mount-timeout=30", "comment=airflow", "ttl=10"]
    proc, log = start_mount(fake.url, path, opts)
    try:
        wait_mounted(path, proc, log)
        assert read(os.path.join(path, *STATE)) == b"success\n"
    finally:
        subprocess.run(["fusermount3", "-u", path])
        assert proc.wait(timeout=20) == 0, read(log)


PREFIX = "/usr/local"
INSTALLED = ["bin/airflowfs", "share/man/man1/airflowfs.1",
             "lib/systemd/system/airflowfs@.service", "share/doc/airflowfs"]


@pytest.fixture
def real_install(tmp_path):
    """make install into PREFIX=/usr/local, where mount.fuse3 finds airflowfs.
    Only as root, and only where /usr/local/bin/airflowfs is absent or this very
    build, unless CI=true; what was there before is put back afterwards."""
    if os.geteuid() != 0:
        if CI:
            pytest.fail("mount(8) needs root: run the tests as root under CI")
        pytest.skip("mount(8) needs root")
    os.makedirs("/run/lock", exist_ok=True)
    with open("/run/lock/airflowfs-install-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one such test at a time on a machine
        make("all")
        there = os.path.join(PREFIX, "bin/airflowfs")
        if (os.path.exists(there) and not CI and
                not filecmp.cmp(there, os.path.join(ROOT, "airflowfs"), shallow=False)):
            pytest.skip("%s is another airflowfs: CI=true lets the test replace it "
                        "(and put it back)" % there)
        # directories that make install makes here, removed again if empty
        made = [d for d in ("bin", "share/man/man1", "share/doc", "lib/systemd/system",
                            "lib/systemd") if not os.path.isdir(os.path.join(PREFIX, d))]
        backup = tmp_path / "backup"
        for rel in INSTALLED:
            src = os.path.join(PREFIX, rel)
            if os.path.isdir(src):
                shutil.copytree(src, str(backup / rel), symlinks=True)
            elif os.path.exists(src):
                os.makedirs(str((backup / rel).parent), exist_ok=True)
                shutil.copy2(src, str(backup / rel))
        try:
            make("install")
            yield PREFIX
        finally:
            make("uninstall")
            for rel in INSTALLED:
                if os.path.lexists(str(backup / rel)):
                    if os.path.isdir(str(backup / rel)):
                        shutil.copytree(str(backup / rel), os.path.join(PREFIX, rel),
                                        symlinks=True)
                    else:
                        shutil.copy2(str(backup / rel), os.path.join(PREFIX, rel))
            for d in made:
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(PREFIX, d))


def mount_line(path):
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == path:
                return fields
    return None


def daemon_of(path):
    """The pids whose command line ends with path (the daemon of that mount)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = read("/proc/%s/cmdline" % pid).split(b"\0")
        except OSError:
            continue
        if path.encode() in argv and argv[0].endswith(b"airflowfs"):
            pids.append(int(pid))
    return pids


@contextlib.contextmanager
def mounted_by_mount8(args, path, url):
    # mount(8) hands no PATH to mount.fuse3: whatever the caller's, the shell
    # of mount.fuse3 finds airflowfs in /usr/local/bin by its default path
    r = subprocess.run(["mount"] + args, capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    try:
        line = mount_line(path)
        assert line and line[0] == url and line[2] == "fuse.airflowfs", line
        assert read(os.path.join(path, *STATE)) == b"success\n"
        yield line
    finally:
        pids = daemon_of(path)
        if subprocess.run(["umount", path]).returncode != 0:
            subprocess.run(["umount", "-l", path])
    assert mount_line(path) is None
    deadline = time.monotonic() + 20
    while any(os.path.exists("/proc/%d" % p) for p in pids):
        assert time.monotonic() < deadline, "the daemon did not exit after umount"
        time.sleep(0.05)


def test_man_airflowfs_after_install(real_install):
    need("man", "man-db")
    r = subprocess.run(["man", "-w", "airflowfs"], capture_output=True, text=True)
    # (Debian's /usr/local/man is a link to /usr/local/share/man)
    assert os.path.realpath(r.stdout.strip()) == os.path.join(
        real_install, "share/man/man1/airflowfs.1")


def test_mount_t_fuse_airflowfs_with_a_password_file(real_install, fake, tmp_path):
    fake.set_data("demo")
    pw = secret_file(tmp_path / "password", PASSWORD)
    path = str(tmp_path / "mnt")
    os.mkdir(path)
    with mounted_by_mount8(["-t", "fuse.airflowfs", fake.url, path, "-o",
                            "_netdev,username=%s,password_file=%s" % (USER, pw)],
                           path, fake.url):
        assert "etl_daily" in os.listdir(path)


def test_an_fstab_line_with_a_token_file(real_install, fake, tmp_path):
    r = subprocess.run(["mount", "--help"], capture_output=True, text=True)
    assert "--fstab" in r.stdout  # util-linux 2.38: -T, --fstab <path>
    fake.set_data("demo")
    fake.app.token = "fstab-tok.123"
    try:
        tok = secret_file(tmp_path / "token", "fstab-tok.123")
        path = str(tmp_path / "mnt")
        os.mkdir(path)
        fstab = tmp_path / "fstab"
        fstab.write_text(
            "# URL MOUNTPOINT TYPE OPTIONS DUMP PASS\n"
            "%s %s fuse.airflowfs defaults,_netdev,noauto,user,users,nofail,"
            "x-systemd.automount,x-systemd.mount-timeout=30,token_file=%s,ttl=10 0 0\n"
            % (fake.url, path, tok))
        fake.reset()
        with mounted_by_mount8(["--fstab", str(fstab), path], path, fake.url) as line:
            assert "nosuid" in line[3] and "nodev" in line[3]  # what `user` implies
        reqs = fake.requests()
        # the version probe carries no credentials (SPEC.md), every other request the token
        assert {r["headers"].get("Authorization") for r in reqs
                if r["path"].endswith("/version")} == {None}
        auth = {r["headers"].get("Authorization") for r in reqs
                if not r["path"].endswith("/version")}
        assert auth == {"Bearer fstab-tok.123"}
    finally:
        fake.app.token = None


# /etc/fstab and a /dev/fuse of mode 0666 (as on a stock system) of a mount
# namespace's own: a user other than root mounts, reads and unmounts.
USER_SCRIPT = PRIVATE_DEV + r"""
umount /dev/fuse && rm /dev/fuse
mknod -m 666 /dev/fuse c 10 229
mount --bind "$T/fstab" /etc/fstab
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_user mount "$T/mnt"
grep " $T/mnt " /proc/self/mounts
as_user cat "$T/mnt/$STATE"
as_user umount "$T/mnt"
"""


def test_fstab_user_option_lets_a_user_mount(real_install, fake):
    fake.set_data("demo")
    t = tempfile.mkdtemp(prefix="airflowfs-user.", dir="/tmp")  # for nobody to reach
    try:
        os.chmod(t, 0o755)
        os.mkdir(os.path.join(t, "mnt"))
        pw = secret_file(pathlib.Path(t, "password"), PASSWORD)
        for f in ("mnt", "password"):
            os.chown(os.path.join(t, f), 65534, 65534)
        with open(os.path.join(t, "fstab"), "w") as f:
            f.write("%s %s/mnt fuse.airflowfs noauto,user,username=%s,password_file=%s 0 0\n"
                    % (fake.url, t, USER, pw))
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            USER_SCRIPT], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, T=t, STATE="/".join(STATE)))
        assert r.returncode == 0, r.stderr
        mounted, state = r.stdout.splitlines()
        assert mounted.split()[2] == "fuse.airflowfs" and "user_id=65534" in mounted
        assert state == "success"
    finally:
        shutil.rmtree(t)


# -- systemd ----------------------------------------------------------------------------

def test_systemd_analyze_verify(tmp_path):
    need("systemd-analyze", "systemd")
    dest = str(tmp_path / "dest")
    make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    unit = os.path.join(dest, "usr/lib/systemd/system/airflowfs@.service")
    # verify wants the binary where ExecStart says: here, in DESTDIR
    text = read(unit).decode().replace("/usr/bin/airflowfs",
                                      os.path.join(dest, "usr/bin/airflowfs"))
    with open(unit, "w") as f:
        f.write(text)
    # ... and the man page of Documentation=, which MANPATH shows it
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man")))
    assert r.returncode == 0 and r.stderr == "", r.stderr


def unit_settings(path):
    """The [Service] settings of a unit file: {key: [values]}."""
    settings, section = {}, None
    for line in read(path).decode().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section == "Service":
            k, v = line.split("=", 1)
            settings.setdefault(k, []).append(v)
    return settings


def command(line, spec, env):
    """An Exec line as systemd runs it: the '-' prefix off, specifiers and
    ${VAR} (one word each) replaced."""
    line = line.lstrip("-")
    words = []
    for w in shlex.split(line):
        for k, v in spec.items():
            w = w.replace(k, v)
        words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), w))
    return words


def test_systemd_unit_as_systemd_runs_it(fake, tmp_path):
    """The unit's own lines, run as systemd would run them (systemd is not PID 1
    here): ExecStartPre, ExecStart with the EnvironmentFile and $NOTIFY_SOCKET,
    READY=1 once mounted, ExecReload, stop by SIGTERM, ExecStopPost."""
    s = unit_settings(UNIT)
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert s["Restart"] == ["on-failure"]
    assert s["EnvironmentFile"] == ["/etc/airflowfs/%i.conf"]
    fake.set_data("demo")
    path = str(tmp_path / "mnt" / "airflow")
    pw = secret_file(tmp_path / "password", PASSWORD)
    conf = tmp_path / "mnt-airflow.conf"
    conf.write_text("URL=%s\nOPTIONS=username=%s,password_file=%s\n" % (fake.url, USER, pw))
    env = dict(line.split("=", 1) for line in conf.read_text().splitlines())
    spec = {"%f": path, "%i": "mnt-airflow"}
    for pre in s["ExecStartPre"]:
        subprocess.run(command(pre, spec, env), check=True)
    argv = command(s["ExecStart"][0], spec, env)
    assert argv[0] == "/usr/local/bin/airflowfs" and argv[1] == "-f"
    argv[0] = BIN
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20)
    log = open(str(tmp_path / "log"), "w+")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            env=dict(NO_CREDS, NOTIFY_SOCKET=str(tmp_path / "notify"), **env))
    try:
        assert notify.recv(4096) == b"READY=1"
        assert os.path.ismount(path)
        assert read(os.path.join(path, *STATE)) == b"success\n"
        reload = command(s["ExecReload"][0], {"$MAINPID": str(proc.pid)}, env)
        subprocess.run(reload, check=True)
        deadline = time.monotonic() + 10
        while "SIGHUP" not in read(log.name).decode():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # systemctl stop
        assert proc.wait(timeout=60) == 0  # once over 20 s under ASan: see the stop note
        assert not [b for b in BAD_LOG if b in read(log.name).decode()]
        assert notify.recv(4096) == b"STOPPING=1"
        assert not os.path.ismount(path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for post in s["ExecStopPost"]:
            subprocess.run(command(post, spec, env))
        notify.close()
        log.close()
    assert not os.path.ismount(path)
