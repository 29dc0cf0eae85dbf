#!/usr/bin/env bash
# The lab of REAL daemons (needs root and network namespaces): start the built-in lab (real daemons in network namespaces, see
# docs/lab.md), survey it with toride's defaults (Mirai's credential table plus fingerprinted
# vendor defaults) into SQLite, print the report, and take the lab down again.
set -euo pipefail
toride=${1:-build/toride}
top=$(cd "$(dirname "$0")/.." && pwd)
toride=$(cd "$(dirname "$toride")" && pwd)/$(basename "$toride")
export TORIDE_LAB_PREFIX=${TORIDE_LAB_PREFIX:-toride-demo}
lab="$top/tests/integration/lab.sh"
mkdir -p "$top/out"
db="$top/out/demo.db"
rm -f "$db" "$db-wal" "$db-shm"

if [ "$(id -u)" != 0 ]; then
	echo "demo: the lab uses network namespaces: run as root" >&2
	exit 2
fi
trap 'bash "$lab" down >/dev/null 2>&1 || true' EXIT
bash "$lab" up
eval "$(bash "$lab" env)"

echo
echo "demo: surveying the lab ($LAB_NET, scanner namespace $SCAN_NS) with the default credential list"
echo "demo: (busybox login waits 3 s after each wrong password; lighttpd 1 s: this takes a few minutes)"
set +e
ip netns exec "$SCAN_NS" "$toride" survey --scope 10.77.1.0/24 --allow-reserved 10.0.0.0/8 \
	--ports 21,22,23,80,554,1883,2323,8080 --db "$db" -o "$top/out/demo.jsonl"
rc=$?
set -e
if [ "$rc" -gt 1 ]; then
	echo "demo: survey failed (exit $rc)" >&2
	exit "$rc"
fi
echo
"$toride" report --db "$db"
"$toride" report --db "$db" --format html -o "$top/out/demo-report.html"
echo
echo "demo: database $db, events out/demo.jsonl, HTML report out/demo-report.html"
