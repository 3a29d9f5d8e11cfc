# SPDX-License-Identifier: Apache-2.0
"""A Kerberos realm of the tests' own: an MIT KDC (Debian's krb5-kdc) on a free port of
127.0.0.1 with its database, configuration and logs in a temporary directory, torn down by
stop(). No network, no root, nothing outside the directory.

    realm = Realm(tmpdir)           # KDC running; principals alice, mallory (both
                                    # with keytabs) and HTTP/127.0.0.1 (the service)
    env = realm.env(ccache)         # KRB5_CONFIG and KRB5CCNAME for a client
    realm.kinit(ccache, "alice", lifetime="10m")
    realm.service_keytab            # what a server accepts tickets with
    realm.stop()
"""
import os
import shutil
import socket
import subprocess
import time

REALM = "AFS.TEST"
SERVICE = "HTTP/127.0.0.1"
USERS = ("alice", "mallory")
SBIN = ("/usr/sbin/krb5kdc", "/usr/sbin/kdb5_util", "/usr/sbin/kadmin.local")


def tools_missing():
    """The programs a realm needs that are not installed (tests/deps.sh installs them)."""
    return [p for p in SBIN + ("/usr/bin/kinit", "/usr/bin/kdestroy")
            if not os.access(p, os.X_OK)]


def free_port():
    """A port free on 127.0.0.1 for both TCP and UDP (the KDC listens on both)."""
    for _ in range(50):
        with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the KDC")


class Realm:
    def __init__(self, directory):
        missing = tools_missing()
        if missing:
            raise RuntimeError("missing %s: run `sh tests/deps.sh` (krb5-kdc, "
                               "krb5-admin-server, krb5-user)" % ", ".join(missing))
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.service_keytab = os.path.join(self.dir, "http.keytab")
        self.kdc_log = os.path.join(self.dir, "kdc.log")
        self.proc = None
        with open(self.krb5_conf, "w") as f:
            f.write(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    forwardable = false
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{self.port}
    }}
[domain_realm]
    127.0.0.1 = {REALM}
    localhost = {REALM}
""")
        with open(self.kdc_conf, "w") as f:
            f.write(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
    {REALM} = {{
        database_name = {self.dir}/principal
        key_stash_file = {self.dir}/stash
        acl_file = {self.dir}/kadm5.acl
        max_life = 1h
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{self.kdc_log}
""")
        open(os.path.join(self.dir, "kadm5.acl"), "w").close()
        self._run(["/usr/sbin/kdb5_util", "-r", REALM, "-P", "afs-master-key", "create",
                   "-s"])
        for user in USERS:
            self._kadmin("addprinc -randkey %s" % user)
            self._kadmin("ktadd -k %s %s" % (self.keytab(user), user))
        self._kadmin("addprinc -randkey %s" % SERVICE)
        self._kadmin("ktadd -k %s %s" % (self.service_keytab, SERVICE))
        self.proc = subprocess.Popen(["/usr/sbin/krb5kdc", "-n", "-r", REALM],
                                     env=self._env(), stdout=subprocess.DEVNULL,
                                     stderr=open(self.kdc_log + ".stderr", "w"))
        deadline = time.monotonic() + 20
        while True:  # up once it takes a TCP connection
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("krb5kdc did not start: " + open(
                        self.kdc_log + ".stderr").read())
                time.sleep(0.05)

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5_KDC_PROFILE=self.kdc_conf)
        return env

    def _run(self, cmd, **kw):
        r = subprocess.run(cmd, env=self._env(), capture_output=True, text=True,
                           timeout=60, **kw)
        if r.returncode != 0:
            raise RuntimeError("%s: %s%s" % (" ".join(cmd), r.stdout, r.stderr))
        return r

    def _kadmin(self, query):
        return self._run(["/usr/sbin/kadmin.local", "-r", REALM, "-q", query])

    def keytab(self, user):
        return os.path.join(self.dir, user + ".keytab")

    def env(self, ccache, base=None):
        """An environment for a client of the realm with its credential cache."""
        env = dict(base if base is not None else os.environ)
        env = {k: v for k, v in env.items() if not k.startswith("KRB5")}
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5CCNAME="FILE:" + str(ccache))
        return env

    def kinit(self, ccache, user="alice", lifetime=None):
        """A ticket for user (from its keytab: no password) in ccache."""
        cmd = ["/usr/bin/kinit", "-k", "-t", self.keytab(user)]
        if lifetime:
            cmd += ["-l", lifetime]
        r = subprocess.run(cmd + ["%s@%s" % (user, REALM)], env=self.env(ccache),
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("kinit: " + r.stderr)

    def kdestroy(self, ccache):
        subprocess.run(["/usr/bin/kdestroy", "-q"], env=self.env(ccache), timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
