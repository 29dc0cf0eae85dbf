#!/usr/bin/env bash
# End-to-end check of `toride survey` against the lab of real daemons (tests/integration/lab.sh):
#  1. the failing findings (addr, port, requirement) equal the manifest's in-scope expectations exactly
#     (no false positive, no miss), and `toride report --format json` lists the same;
#  2. a packet capture on the scanner's interface proves nothing outside 10.77.1.0/25 minus 10.77.1.7
#     was touched (10.77.1.7, excluded, and 10.77.1.200, out of scope, run weak-credential telnet);
#  3. re-running the same survey on the same db adds no finding rows.
# Needs root and ip netns (prints SKIP and exits 0 otherwise). The lab is always taken down (trap).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${TORIDE_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
LAB=$HERE/lab.sh
PY=/usr/bin/python3
COMPARE=$HERE/compare.py
TORIDE_BIN=${TORIDE_BIN:-$SRC/build/toride}
# Upper bound for one survey of the lab; the slow part is busybox login's 3 s per failed attempt.
SURVEY_TIMEOUT_S=${TORIDE_SURVEY_TIMEOUT_S:-420}

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root / ip netns"
	exit 0
fi
case "$TORIDE_BIN" in /*) ;; *) TORIDE_BIN=$(pwd)/$TORIDE_BIN ;; esac
if [ ! -x "$TORIDE_BIN" ]; then
	echo "FAIL: toride binary not found at $TORIDE_BIN (set TORIDE_BIN)"
	exit 1
fi

export TORIDE_LAB_PREFIX=${TORIDE_LAB_PREFIX:-trsurvey}
export TORIDE_LAB_RUN_DIR=${TORIDE_LAB_RUN_DIR:-/tmp/$TORIDE_LAB_PREFIX-lab}
eval "$(bash "$LAB" env)"
WORK=$RUN_DIR/survey-test
TCPDUMP_PID=

cleanup() {
	if [ -n "$TCPDUMP_PID" ]; then
		kill -INT "$TCPDUMP_PID" 2>/dev/null || true
		wait "$TCPDUMP_PID" 2>/dev/null || true
	fi
	bash "$LAB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash "$LAB" up
mkdir -p "$WORK"
rm -f "$WORK"/s.db* "$WORK"/s.jsonl "$WORK"/cap.pcap

# The test's credential list: Mirai's first 12 pairs plus any weak lab credential not among them.
"$PY" "$COMPARE" creds --manifest "$MANIFEST" --mirai "$SRC/data/credentials/mirai.tsv" --first 12 >"$WORK/creds.txt"
echo "credentials: $(wc -l <"$WORK/creds.txt") pairs ($(tr '\n' ' ' <"$WORK/creds.txt"))"

# Capture everything on the scanner's only interface (headers only), from before the first probe.
ip netns exec "$SCAN_NS" tcpdump -i "$SCAN_IF" -n -U -s 128 -Z root -w "$WORK/cap.pcap" \
	2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 50); do
	grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break
	sleep 0.1
done
grep -q 'listening on' "$WORK/tcpdump.log" || { echo "FAIL: tcpdump did not start"; cat "$WORK/tcpdump.log"; exit 1; }

survey() {
	ip netns exec "$SCAN_NS" timeout "$SURVEY_TIMEOUT_S" "$TORIDE_BIN" survey \
		--scope "$SCOPE" --exclude "$EXCLUDE" --allow-reserved 10.0.0.0/8 \
		--ports "$PORTS" --creds "$WORK/creds.txt" --seed 7 \
		--db "$WORK/s.db" -o "$1" --quiet
}

# Exit status of `toride survey`: 0 = no failing device, 1 = failing devices found (the lab has them),
# 2 = usage, 3 = error, 124 = our timeout.
fail=0
t0=$(date +%s)
rc=0
survey "$WORK/s.jsonl" || rc=$?
echo "survey took $(($(date +%s) - t0)) s, exit status $rc"
if [ "$rc" != 1 ]; then
	echo "FAIL: toride survey exited with status $rc (expected 1: failing devices found)"
	fail=1
fi

sleep 1
kill -INT "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=

echo "== scope safety (packet capture)"
"$PY" "$COMPARE" pcap --pcap "$WORK/cap.pcap" --src "$SCAN_ADDR" --scope "$SCOPE" --exclude "$EXCLUDE" \
	--never 10.77.1.7 --never 10.77.1.200 --manifest "$MANIFEST" || fail=1

echo "== findings versus the manifest"
if ! ip netns exec "$SCAN_NS" "$TORIDE_BIN" report --db "$WORK/s.db" --format json -o "$WORK/report.json"; then
	echo "FAIL: toride report --format json failed"
	fail=1
fi
if [ -s "$WORK/s.jsonl" ]; then
	report_arg=()
	[ -s "$WORK/report.json" ] && report_arg=(--report "$WORK/report.json")
	"$PY" "$COMPARE" findings --manifest "$MANIFEST" --jsonl "$WORK/s.jsonl" "${report_arg[@]}" || fail=1
else
	echo "FAIL: the survey wrote no JSONL"
	fail=1
fi

echo "== re-run on the same db: no duplicate findings"
if n1=$("$PY" "$COMPARE" dbcount --db "$WORK/s.db"); then
	rc=0
	survey "$WORK/s2.jsonl" || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
		echo "FAIL: second survey run exited with status $rc"
		fail=1
	fi
	n2=$("$PY" "$COMPARE" dbcount --db "$WORK/s.db" || echo "?")
	if [ "$n1" = "$n2" ] && [ "$n1" -gt 0 ]; then
		echo "ok: $n1 finding rows before and after the re-run"
	else
		echo "FAIL: finding rows $n1 before, $n2 after the re-run"
		fail=1
	fi
else
	echo "FAIL: cannot count findings in $WORK/s.db"
	fail=1
fi

if [ "$fail" = 0 ]; then
	echo "survey lab test: 1 passed, 0 failed"
else
	echo "survey lab test: 0 passed, 1 failed (work files in $WORK until the next run)"
fi
exit $fail
