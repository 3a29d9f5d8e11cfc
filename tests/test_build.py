# SPDX-License-Identifier: Apache-2.0
"""The build is hardened as Debian builds packages: a fresh build (with the
builder's CPPFLAGS, CFLAGS and LDFLAGS, which it honours) has a stack
protector, fortified libc calls, full RELRO and immediate binding; a builder's
own _FORTIFY_SOURCE wins over ours; and CI builds with -Werror."""
import os
import re
import subprocess

import pytest

from conftest import ROOT

BUILD_ENV = ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "OPT", "CI", "MAKEFLAGS", "MFLAGS",
             "MAKELEVEL")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in BUILD_ENV}
    env.update(extra)
    return env


def dry_run(*args, **env):
    """The commands `make -n` would run for a build into an empty directory."""
    r = subprocess.run(["make", "-n", "-C", ROOT, "B=/nonexistent/b",
                        "BIN=/nonexistent/b/airflowfs", "/nonexistent/b/airflowfs"]
                       + list(args), capture_output=True, text=True, env=clean_env(**env))
    assert r.returncode == 0, r.stderr
    cc = [ln for ln in r.stdout.splitlines() if ln.startswith("cc ")]
    assert len(cc) > 10, r.stdout
    return cc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A build with the builder's flags: CPPFLAGS includes a header that puts a
    string into the binary, LDFLAGS sets its build id."""
    t = tmp_path_factory.mktemp("build")
    (t / "probe.h").write_text(
        'static const char afs_probe[] __attribute__((used)) = "cppflags-probe";\n')
    b = t / "b"
    r = subprocess.run(["make", "-s", "-j2", "-C", ROOT, "B=%s" % b,
                        "BIN=%s/airflowfs" % b, "%s/airflowfs" % b],
                       capture_output=True, text=True,
                       env=clean_env(CI="true", CPPFLAGS="-include %s/probe.h" % t,
                                     CFLAGS="-O2 -g -fno-omit-frame-pointer",
                                     LDFLAGS="-Wl,--build-id=0xa1f5a1f5"))
    assert r.returncode == 0, r.stderr
    return str(b / "airflowfs")


def readelf(*args):
    r = subprocess.run(["readelf", "-W"] + list(args), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_relro_and_immediate_binding(built):
    assert re.search(r"^\s*GNU_RELRO\s", readelf("-l", built), re.M)
    dyn = readelf("-d", built)
    assert re.search(r"\(FLAGS\)\s+BIND_NOW", dyn), dyn
    assert re.search(r"\(FLAGS_1\)\s+Flags:.*\bNOW\b", dyn), dyn


def test_stack_protector_and_fortified_calls(built):
    syms = set(re.findall(r"\s(\w+)@", readelf("--dyn-syms", built)))
    assert "__stack_chk_fail" in syms
    # snprintf into a buffer of known size, fortified, is __snprintf_chk
    assert {"__snprintf_chk", "__vsnprintf_chk", "__fprintf_chk"} <= syms, syms


def test_builders_flags_are_honoured(built):
    with open(built, "rb") as f:
        assert b"cppflags-probe" in f.read()                      # CPPFLAGS
    assert re.search(r"Build ID: a1f5a1f5\b", readelf("-n", built))  # LDFLAGS
    for ln in dry_run(CFLAGS="-O3 -fno-plt", CPPFLAGS="-DX=1", LDFLAGS="-Wl,-O1"):
        flags = ln.split()
        # after ours, so that they win
        assert flags.index("-fno-plt") > flags.index("-fstack-protector-strong"), ln
        assert flags.index("-O3") > flags.index("-O2"), ln
        assert "-DX=1" in flags and "-D_FORTIFY_SOURCE=2" in flags, ln
        if " -c " not in ln:
            assert flags.index("-Wl,-O1") > flags.index("-Wl,-z,relro,-z,now"), ln


def test_a_builders_fortify_level_replaces_ours(built):
    for ln in dry_run(CPPFLAGS="-D_FORTIFY_SOURCE=3"):
        assert "-D_FORTIFY_SOURCE=3" in ln.split() and "_FORTIFY_SOURCE=2" not in ln, ln
    for ln in dry_run("OPT=-O0 -g"):           # fortify needs optimization
        assert "_FORTIFY_SOURCE" not in ln and "-fstack-protector-strong" in ln, ln


def test_ci_builds_with_werror():
    for ln in dry_run(CI="true"):
        assert "-Werror" in ln.split(), ln
    for ln in dry_run():
        assert "-Werror" not in ln.split(), ln
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        lines = [ln.split() for ln in f]
    assert ["export", "CI=true"] in lines, lines
    makes = lines[lines.index(["export", "CI=true"]):]
    assert ["make", "check"] in makes and ["make", "asan"] in makes, lines
