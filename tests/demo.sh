#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo: the fake Airflow server with the demo data on loopback, mounted
# at ./mnt until Ctrl-C, which unmounts and stops the server. API=v1 (the
# default, Airflow 2.x) or API=v2 (Airflow 3.x, JWT login).
set -e
cd "$(dirname "$0")/.."
mnt="$PWD/mnt"
mkdir -p "$mnt"
fusermount3 -u "$mnt" 2>/dev/null || true
portfile=$(mktemp -u /tmp/airflowfs-demo.XXXXXX)
api=${API:-v1}
/usr/bin/python3 tests/fake_airflow.py --port 0 --port-file "$portfile" \
	--data demo --api "$api" >/dev/null &
server=$!
afs=
cleanup() {
	trap - INT TERM EXIT
	fusermount3 -u "$mnt" 2>/dev/null || true
	[ -n "$afs" ] && wait "$afs" 2>/dev/null || true
	kill "$server" 2>/dev/null || true
	rm -f "$portfile"
	echo "demo stopped: unmounted $mnt"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$portfile")"
# the demo data is from 2024: @by-state/ looks back far enough to show it
AIRFLOW_USERNAME=admin AIRFLOW_PASSWORD=admin ./airflowfs -f -o recent=100000 "$url" "$mnt" &
afs=$!
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || { echo "mount failed" >&2; exit 1; }
run="$mnt/etl_daily/scheduled__2024-01-02T00:00:00+00:00"
cat <<MSG

The demo Airflow server ($url, API $api) is mounted at $mnt. In another shell, try:

    ls $mnt
    ls -lt $mnt/etl_daily
    ls -lt '$run'                # what never ran sorts with its run
    ls '$run'
    cat '$run'/*/state
    cat '$run/transform/note'
    diff '$run/transform/logs/1' '$run/transform/logs/latest'
    grep -rc ERROR '$run'
    ls $mnt/etl_daily/manual__2024-01-03T10:15:00+00:00/process
    cat $mnt/etl_daily/scheduled__2024-01-01T00:00:00+00:00/load/links.json
    cat $mnt/.stats

On call (README "On call"):

    cd '$run'
    grep -lx failed */state
    grep -c ERROR transform/logs/latest
    echo clear > transform/state; cat transform/state @state
    echo "INC-42: cleared after the upstream fix" > @note
    echo true > ../@paused; cat ../@paused

Press Ctrl-C here to unmount and stop the server.
MSG
wait "$afs"
