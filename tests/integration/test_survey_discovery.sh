#!/usr/bin/env bash
# toride survey's discovery against the discovery lab (tests/integration/disco-lab.sh, docs/disco-lab.md):
# thousands of addresses, most silent, some live (RST), some open, and sentinel hosts outside the scope
# or excluded. Each step must find every open pair of the truth (recall 100 %), report no closed or
# silent pair (precision 100 %), and a capture on the scanner's veth must show no packet to an address
# outside the scope minus exclusions (zero to the sentinels):
#   1. SYN discovery, --discover-only --probes 2 --cooldown 2: IPv4 (10.95.0.0/18 minus 10.95.40.0/24)
#      and IPv6 (fd95::/112 minus fd95::c800/120), one run each
#   2. connect discovery (--discovery connect), IPv6 (IPv4 is the connect path of step 3)
#   3. --discovery auto as nobody without CAP_NET_RAW, IPv4: stderr says it fell back; results still right
#   4. shards: --shard 1/2 and 2/2 together are the full result, and disjoint
#   5. the full pipeline: SYN discovery then checks against a `toride lab` fleet in the target
#      namespace: findings equal the fleet's truth (fleet_compare.py)
# Needs root (namespaces, raw sockets, tcpdump); without it prints SKIP and exits 0.
set -u
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${TORIDE_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BIN=${TORIDE_BIN:-$SRC/build/toride}
LAB=$HERE/disco-lab.sh
PY=/usr/bin/python3
PREFIX=tdisco
# SYN probes per second in the test: fast enough that the IPv6 /112 x 5 ports x 2 probes (655,360
# packets) takes ~7 s, slow enough that tcpdump keeps every packet on a loaded 2-core machine.
RATE=100000
# Connect discovery: most targets are silent, so concurrency and the connect timeout set the time.
# veth answers in microseconds; 500 ms is ample and keeps 327,680 IPv6 pairs under ~15 s.
CONNECT_ARGS=(--rate 0 --max-concurrency 16000 --connect-timeout 500 --retries 0)
# Devices of the emulated fleet for the pipeline check (10.95.60.0/24 holds 254).
FLEET_DEVICES=120

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: test_survey_discovery needs root (network namespaces, raw sockets, tcpdump)"
	exit 0
fi
for t in ip tcpdump setpriv "$PY"; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is missing (scripts/deps.sh)"; exit 1; }
done
[ -x "$BIN" ] || { echo "FAIL: no toride binary at $BIN"; exit 1; }
"$BIN" survey --help 2>&1 | grep -q -e '--discover-only' ||
	{ echo "FAIL: $BIN survey has no --discovery/--discover-only (SYN discovery not built in)"; exit 1; }

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

cleanup() {
	[ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null
	[ -n "${FLEET_PID:-}" ] && kill "$FLEET_PID" 2>/dev/null
	bash "$LAB" down "$PREFIX" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
bash "$LAB" up "$PREFIX" || { echo "FAIL: the lab did not come up"; exit 1; }
eval "$(bash "$LAB" env "$PREFIX")"
bash "$LAB" verify "$PREFIX" || { echo "FAIL: the lab does not behave as planned"; exit 1; }

# Work dir readable by nobody (step 3): a copy of the binary and the data files, an output dir.
W=$DL_RUN_DIR/test
mkdir -p "$W/nobody"
cp "$BIN" "$W/toride"
cp -r "$SRC/data" "$W/data"
chmod -R a+rX "$W"
chmod 777 "$W/nobody"
T=$W/toride
ALLOW=(--allow-reserved 10.0.0.0/8 --allow-reserved fc00::/7 --data-dir "$W/data")

# capture_start FILE / capture_stop: tcpdump on the scanner's veth (headers only).
capture_start() {
	rm -f "$1" "$1.err"
	ip netns exec "$DL_SCAN_NS" tcpdump -i "$DL_SCAN_IF" -nn -s 96 -B 65536 --immediate-mode -U -w "$1" 2>"$1.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 100); do
		# "listening on" comes a moment before the ring sees every packet (a connect run started at once
		# lost its first ~1,000 SYNs from the file once): settle before the scanner starts.
		grep -q "listening on" "$1.err" 2>/dev/null && { sleep 0.5; return 0; }
		sleep 0.05
	done
	fail "tcpdump did not start: $(cat "$1.err")"
}
capture_stop() {
	# Without --immediate-mode libpcap hands tcpdump a TPACKET_V3 block only when it is full or 1 s
	# old, and a block still in the ring at SIGINT is counted as received but never written (seen:
	# 675 SYNs of 326,400 missing, 0 "dropped by kernel"). In immediate mode, wait until the file has
	# stopped growing for 0.5 s (at most ~15 s) so a loaded machine's tcpdump catches up.
	local size=-1 now dropped
	for _ in $(seq 30); do
		now=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$now" = "$size" ] && break
		size=$now
		sleep 0.5
	done
	kill -INT "$TCPDUMP_PID" 2>/dev/null
	wait "$TCPDUMP_PID" 2>/dev/null
	TCPDUMP_PID=
	dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$1.err")
	# (tcpdump's "received by filter" is not compared with "captured": on Linux's TPACKET_V3 ring it runs
	# a few dozen above even when every packet was written. Completeness is checked instead by counting
	# the SYNs in the file: at least one per pair and probe, see check.)
	[ "${dropped:-0}" = 0 ] || fail "tcpdump dropped $dropped packets: the capture check is incomplete"
}

# check NAME FAMILY JSONL PCAP PROBES: truth comparison and capture check (at least PROBES SYNs per
# in-scope pair must be in the capture, so a capture that lost packets cannot pass).
check() {
	local name=$1 fam=$2 out=$3 pcap=$4 probes=$5
	echo "--- $name"
	"$PY" "$DL_PY" compare --plan "$DL_PLAN" --family "$fam" --jsonl "$out" || fail "$name: recall or precision below 100 %"
	"$PY" "$DL_PY" pcap --plan "$DL_PLAN" --family "$fam" --pcap "$pcap" --require-syn --min-syn-per-pair "$probes" ||
		fail "$name: the capture shows packets outside the scope, or too few probes"
}

# survey NAME FAMILY PROBES [extra args...]: discovery-only survey of one family's scope and exclusion,
# captured.
survey() {
	local name=$1 fam=$2 probes=$3 scope excl rc
	shift 3
	if [ "$fam" = 4 ]; then scope=$DL_SCOPE4 excl=$DL_EXCLUDE4; else scope=$DL_SCOPE6 excl=$DL_EXCLUDE6; fi
	capture_start "$W/$name.pcap"
	local s0
	s0=$(date +%s%N)
	ip netns exec "$DL_SCAN_NS" "$T" survey --scope "$scope" --exclude "$excl" "${ALLOW[@]}" -p "$DL_PORTS" \
		--discover-only -q -o "$W/$name.jsonl" "$@" 2>"$W/$name.err"
	rc=$?
	capture_stop "$W/$name.pcap"
	echo "$name: exit $rc, $((($(date +%s%N) - s0) / 1000000)) ms"
	[ "$rc" -le 1 ] || { fail "$name: exit $rc: $(tail -3 "$W/$name.err")"; return 1; }
	check "$name" "$fam" "$W/$name.jsonl" "$W/$name.pcap" "$probes"
}

# 1. SYN discovery
SYN_ARGS=(--discovery syn --probes 2 --cooldown 2 --rate "$RATE")
survey syn4 4 2 "${SYN_ARGS[@]}"
survey syn6 6 2 "${SYN_ARGS[@]}"

# 2. connect discovery (IPv6 here; IPv4 is the fallback run of step 3, with the same checks)
survey connect6 6 1 --discovery connect "${CONNECT_ARGS[@]}"

# 3. auto without CAP_NET_RAW: falls back to the connect path, IPv4
echo "--- auto as nobody"
capture_start "$W/auto4.pcap"
ip netns exec "$DL_SCAN_NS" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$T" survey --scope "$DL_SCOPE4" --exclude "$DL_EXCLUDE4" "${ALLOW[@]}" -p "$DL_PORTS" --discover-only -q \
	--discovery auto "${CONNECT_ARGS[@]}" -o "$W/nobody/auto4.jsonl" 2>"$W/nobody/auto4.err"
rc=$?
capture_stop "$W/auto4.pcap"
if [ "$rc" -gt 1 ]; then
	fail "auto as nobody: exit $rc: $(tail -3 "$W/nobody/auto4.err")"
else
	grep -q "CAP_NET_RAW.*connect discovery" "$W/nobody/auto4.err" ||
		fail "auto as nobody: stderr does not say it fell back to connect discovery: $(head -3 "$W/nobody/auto4.err")"
	check "auto4 (nobody)" 4 "$W/nobody/auto4.jsonl" "$W/auto4.pcap" 1
fi

# 4. shards
echo "--- shards"
for i in 1 2; do
	ip netns exec "$DL_SCAN_NS" "$T" survey --scope "$DL_SCOPE4" --exclude "$DL_EXCLUDE4" "${ALLOW[@]}" \
		-p "$DL_PORTS" --discover-only -q "${SYN_ARGS[@]}" --shard "$i/2" -o "$W/shard$i.jsonl" 2>"$W/shard$i.err" ||
		[ $? -le 1 ] || fail "shard $i/2: $(tail -3 "$W/shard$i.err")"
done
"$PY" "$DL_PY" compare --plan "$DL_PLAN" --family 4 --jsonl "$W/shard1.jsonl" --jsonl "$W/shard2.jsonl" --disjoint ||
	fail "shards 1/2 + 2/2: not the full result, or not disjoint"
for i in 1 2; do
	n=$("$PY" "$DL_PY" compare --plan "$DL_PLAN" --family 4 --jsonl "$W/shard$i.jsonl" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["true_pos"])')
	[ "${n:-0}" -gt 0 ] || fail "shard $i/2 found nothing: the split is not a split"
done

# 5. the full pipeline against a `toride lab` fleet in the target namespace
echo "--- pipeline: SYN discovery + checks against $FLEET_DEVICES emulated devices on $DL_FLEET4"
F=$W/fleet
mkdir -p "$F"
ip netns exec "$DL_TGT_NS" "$T" lab --devices "$FLEET_DEVICES" --net "$DL_FLEET4" --no-delays \
	--truth "$F/truth.json" --ready-file "$F/ready" --hostkeys "$F/hostkeys" >"$F/lab.log" 2>&1 &
FLEET_PID=$!
if ! wait_ready "$F/ready" "$FLEET_PID" 30; then
	fail "the fleet did not come up: $(tail -5 "$F/lab.log")"
else
	"$PY" - "$F" <<'PY'
import json, sys
w = sys.argv[1]
t = json.load(open(w + "/truth.json"))
open(w + "/scope.txt", "w").write("".join(d["addr"] + "\n" for d in t["devices"]))
open(w + "/ports.txt", "w").write(",".join(str(p) for p in sorted({s["port"] for d in t["devices"] for s in d["services"]})))
PY
	grep -v '^#' "$SRC/data/credentials/mirai.tsv" | tail -n +2 | awk -F'\t' '{print $1":"$2}' >"$F/creds.txt"
	s0=$(date +%s)
	ip netns exec "$DL_SCAN_NS" "$T" survey --scope-file "$F/scope.txt" "${ALLOW[@]}" -p "$(cat "$F/ports.txt")" \
		--creds "$F/creds.txt" --no-vendor-creds --discovery syn --probes 2 --cooldown 2 --rate "$RATE" \
		--max-concurrency 1024 -q -o "$F/survey.jsonl" 2>"$F/survey.err"
	rc=$?
	echo "pipeline survey: exit $rc, $(($(date +%s) - s0)) s"
	if [ "$rc" -gt 1 ]; then
		fail "pipeline survey: exit $rc: $(tail -3 "$F/survey.err")"
	else
		"$PY" "$HERE/fleet_compare.py" "$F/truth.json" "$F/creds.txt" "$F/survey.jsonl" ||
			fail "pipeline: findings differ from the fleet's truth"
	fi
fi
kill "$FLEET_PID" 2>/dev/null
wait "$FLEET_PID" 2>/dev/null
FLEET_PID=

echo "test_survey_discovery: $(($(date +%s) - t0)) s, $fails failures (work files in $W until the next run)"
[ "$fails" = 0 ] || exit 1
echo PASS
