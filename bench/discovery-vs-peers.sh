#!/usr/bin/env bash
# SYN discovery: toride against zmap, masscan and nmap -sS on the same discovery lab
# (tests/integration/disco-lab.sh), same scope file, ports, exclusion and cool-down: probes sent,
# packets/s on the wire, wall time, recall and precision, peak memory, ratios toride/peer.
# See bench/README.md and docs/bench-discovery.md.
#
#   bench/discovery-vs-peers.sh [--runs N] [--big] [--tools LIST] [--nmap-big] [--cooldown S]
#
#   --runs N      runs of every tool; the table shows medians (default 3)
#   --big         the bench lab: 10.95.0.0/16 x 4 ports (262,144 probes); default: 10.95.0.0/18 x 5
#   --tools LIST  default zmap,masscan,nmap,toride1,toride2 (toride1/2: --probes 1/2); nmap is left
#                 out with --big unless --nmap-big (it needs minutes for a /16)
#   --cooldown S  cool-down (zmap -c, masscan --wait, toride --cooldown) for every tool (default 2)
#
# Environment: TORIDE_BIN (default build/toride; built into build-bench if absent), BENCH_KEEP=1 keeps
# the raw outputs. Needs root. The lab (prefix tdbench) is always taken down at the end (trap).
#
# Safety: every tool runs inside the lab's scanner namespace, which has no default route; every tool
# gets the lab's scope file and exclusion file (10.95.x.x). Nothing is sent anywhere else.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib/common.sh
. "$HERE/lib/common.sh"
LAB=$SRC/tests/integration/disco-lab.sh
DB=$HERE/lib/discobench.py
PY=/usr/bin/python3
PREFIX=tdbench

RUNS=3
BIG=0
TOOLS=
NMAP_BIG=0
COOLDOWN=2
# Cap on one tool run (nmap -sS over 16k addresses takes ~1 min here).
TIMEOUT_S=300

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	--big) BIG=1; shift ;;
	--tools) TOOLS=${2:?}; shift 2 ;;
	--nmap-big) NMAP_BIG=1; shift ;;
	--cooldown) COOLDOWN=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ "$COOLDOWN" =~ ^[0-9]+$ ]] || { echo "bench: --cooldown must be a number of seconds" >&2; exit 2; }
if [ -z "$TOOLS" ]; then
	if [ "$BIG" = 1 ] && [ "$NMAP_BIG" = 0 ]; then TOOLS=zmap,masscan,toride1,toride2; else TOOLS=zmap,masscan,nmap,toride1,toride2; fi
fi
[[ "$TOOLS" =~ ^(zmap|masscan|nmap|toride[12])(,(zmap|masscan|nmap|toride[12]))*$ ]] ||
	{ echo "bench: --tools: zmap, masscan, nmap, toride1, toride2" >&2; exit 2; }

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces, raw sockets)" >&2
	exit 1
fi
for t in zmap masscan nmap; do
	if [[ ",$TOOLS," == *",$t,"* ]] && ! command -v "$t" >/dev/null; then
		echo "bench: $t is not installed (scripts/deps.sh)" >&2
		exit 1
	fi
done

bench_toride_bin

WORK=$(mktemp -d /tmp/toride-discobench.XXXXXX)
KEEPALIVE_PID=
cleanup() {
	[ -n "$KEEPALIVE_PID" ] && kill "$KEEPALIVE_PID" 2>/dev/null
	bash "$LAB" down "$PREFIX" >/dev/null 2>&1 || true
	bench_work_done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date -u +%FT%TZ)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "$BIG" = 1 ]; then bash "$LAB" up "$PREFIX" --big; else bash "$LAB" up "$PREFIX"; fi
eval "$(bash "$LAB" env "$PREFIX")"
bash "$LAB" verify "$PREFIX"

# masscan's receive loop only notices that --wait is over when a packet arrives; the lab is otherwise
# silent, so frames of an unused EtherType go to the scanner's veth 20 times a second for every tool
# (the scanner's kernel drops them without an answer: no effect on tx counts).
ip netns exec "$DL_TGT_NS" "$PY" "$DL_PY" keepalive --if "$DL_TGT_IF" --pps 20 >/dev/null 2>&1 &
KEEPALIVE_PID=$!

echo "bench: tools $TOOLS, $RUNS run(s), cool-down $COOLDOWN s, lab $DL_MODE ($DL_SCOPE4 minus $DL_EXCLUDE4, ports $DL_PORTS)"
ip netns exec "$DL_SCAN_NS" "$PY" "$DB" run --plan "$DL_PLAN" --work "$WORK" --runs "$RUNS" --tools "$TOOLS" \
	--toride "$TORIDE_BIN" --data-dir "$SRC/data" --cooldown "$COOLDOWN" --timeout "$TIMEOUT_S" \
	--results "$WORK/results.jsonl"

mkdir -p "$HERE/results"
out=$HERE/results/discovery-$stamp.md
{
	echo "# Discovery bench, $started"
	echo
	echo "Command: \`bench/discovery-vs-peers.sh --runs $RUNS$([ "$BIG" = 1 ] && echo " --big") --tools $TOOLS --cooldown $COOLDOWN\`;"
	echo "toride $("$TORIDE_BIN" --version 2>&1 | head -1), $(zmap --version 2>&1 | head -1), masscan $(masscan --version 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1), $(nmap --version | head -1);"
	echo "$(nproc) CPUs, kernel $(uname -r)."
	echo
	"$PY" "$DB" table --results "$WORK/results.jsonl" --plan "$DL_PLAN" --cooldown "$COOLDOWN" \
		--title "$DL_MODE lab"
	echo "Raw per-run lines:"
	echo
	echo '```'
	cat "$WORK/results.jsonl"
	echo '```'
} >"$out"
sed -n '1,/^Raw per-run/p' "$out" | head -n -1
echo "bench: written to $out"
