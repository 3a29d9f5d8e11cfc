#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what building, testing and the demo need on Debian 12, if missing.
# `deps.sh fuzz` (make fuzz) adds clang and its libFuzzer and sanitizer
# runtimes, which nothing else needs.
set -e
# libkrb5-dev: GSS-API, to tell a missing or expired Kerberos ticket
# krb5-kdc, krb5-admin-server, krb5-user and python3-gssapi: the test realm
# (tests/krb5_realm.py) and the fake server's SPNEGO
# clang-format: make format-check (Debian 12: version 14)
# groff-base and man-db: the man page's checks; systemd: systemd-analyze verify
# of the unit (systemd need not run)
pkgs="build-essential pkg-config clang-format libfuse3-dev fuse3 libcurl4-openssl-dev libjson-c-dev zlib1g-dev libkrb5-dev python3 python3-pytest python3-gssapi krb5-kdc krb5-admin-server krb5-user openssl vim tmux nano perl curl groff-base man-db systemd"
if [ "$1" = fuzz ]; then
	pkgs="$pkgs clang libclang-rt-14-dev"
fi
missing=""
for p in $pkgs; do
	# a removed package can leave "deinstall ok config-files" behind
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = \
		"install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
