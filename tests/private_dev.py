# SPDX-License-Identifier: Apache-2.0
"""A shell prelude for `unshare --mount --propagation private sh -c`: a /dev of
the namespace's own (a tmpfs holding null, zero, urandom, tty ... of the real
one, and fuse), so that a test may put its own files there (/dev/log) or give
/dev/fuse a stock system's mode (0666) without touching the machine's /dev.
$T is a directory for the old /dev to stay reachable."""

PRIVATE_DEV = r"""
set -e
mkdir -p "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty fuse; do
	[ -e "$T/olddev/$n" ] || continue
	touch "/dev/$n"
	mount --bind "$T/olddev/$n" "/dev/$n"
done
"""
