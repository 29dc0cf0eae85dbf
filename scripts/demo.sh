#!/usr/bin/env bash
# The README's main job: start `toride lab` (62 emulated IoT devices built from real device
# profiles, one per profile, each on its own loopback address; no root and no set-up needed),
# survey them with toride's defaults (Mirai's credential table plus the fingerprinted vendor's
# defaults) into SQLite, print the report, stop the lab.
set -euo pipefail
toride=${1:-build/toride}
top=$(cd "$(dirname "$0")/.." && pwd)
toride=$(cd "$(dirname "$toride")" && pwd)/$(basename "$toride")
out="$top/out"
mkdir -p "$out"
rm -f "$out/demo.db" "$out/demo.db-wal" "$out/demo.db-shm" "$out/demo.jsonl" "$out/lab.ready"
net=127.18.0.0/16

"$toride" lab --devices 62 --mix all --net "$net" --truth "$out/lab-truth.json" --ready-file "$out/lab.ready" \
	--hostkeys "$out/lab-hostkeys" >"$out/lab.log" 2>&1 &
lab=$!
trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null || true' EXIT
for _ in $(seq 300); do
	[ -e "$out/lab.ready" ] && break
	kill -0 $lab 2>/dev/null || { cat "$out/lab.log" >&2; exit 3; }
	sleep 0.1
done
[ -e "$out/lab.ready" ] || { echo "demo: the lab did not come up" >&2; exit 3; }
ports=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$out/lab-truth.json" | sort -un | paste -sd, -)
echo "demo: $(grep -c '"profile"' "$out/lab-truth.json") emulated devices on $net (truth: out/lab-truth.json), ports $ports"
echo "demo: surveying them with the default credential list; devices pause after wrong passwords like"
echo "demo: the real ones (busybox login 3 s), so this takes about two minutes"
set +e
"$toride" survey --scope 127.18.0.1-127.18.0.62 --allow-reserved 127.0.0.0/8 -p "$ports" \
	--db "$out/demo.db" -o "$out/demo.jsonl"
rc=$?
set -e
if [ "$rc" -gt 1 ]; then
	echo "demo: survey failed (exit $rc)" >&2
	exit "$rc"
fi
echo
"$toride" report --db "$out/demo.db"
"$toride" report --db "$out/demo.db" --format html -o "$out/demo-report.html"
echo
echo "demo: database out/demo.db, events out/demo.jsonl, HTML report out/demo-report.html"
echo "demo: the same survey against real daemons in network namespaces (root): bash scripts/demo-netns.sh"
