# SPDX-License-Identifier: Apache-2.0
"""make install / make uninstall honour PREFIX and DESTDIR."""
import os
import stat
import subprocess

from conftest import ROOT


def make(*args):
    r = subprocess.run(["make", "-s", "-C", ROOT] + list(args), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_install_and_uninstall_into_destdir(tmp_path):
    dest = str(tmp_path)
    make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    binary = os.path.join(dest, "usr/bin/airflowfs")
    assert stat.S_IMODE(os.stat(binary).st_mode) == 0o755
    out = subprocess.run([binary, "-V"], capture_output=True, text=True)
    assert out.returncode == 0 and "airflowfs version" in out.stdout
    doc = os.path.join(dest, "usr/share/doc/airflowfs")
    assert sorted(os.listdir(doc)) == ["README.md", "fstab.example"]
    make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
    assert [f for _, _, fs in os.walk(dest) for f in fs] == []
