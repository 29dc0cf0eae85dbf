#!/usr/bin/env bash
# toride survey against hydra, medusa and ncrack on an emulated fleet of thousands of devices
# (`toride lab` on 127.81.0.0/16), per protocol: wall time, login attempts as the fleet counted them,
# attempts/s, peak memory, correctness against the fleet's truth, ratios toride/peer. See
# bench/README.md ("Fleet vs peers") and docs/bench-fleet.md.
#
#   bench/fleet-vs-peers.sh [--runs N] [--devices N] [--protos LIST] [--creds N] [--timeout S]
#                           [--peer-hosts N] [--peer-conns N] [--concurrency N] [--no-delays]
#                           [--tools LIST]
#
#   --runs N         runs per tool and protocol; the table shows medians (default 1)
#   --devices N      devices in the fleet (default 4000)
#   --protos LIST    default telnet,ssh,http,mqtt,ftp
#   --creds N        the first N pairs of data/credentials/mirai.tsv (default 14)
#   --timeout S      cap on one tool run, seconds (default 120)
#   --peer-hosts N   hosts given to each peer (default 400, spread over the fleet; toride gets all)
#   --peer-conns N   the peers' connections overall (default 256; hydra's maximum is 64)
#   --concurrency N  toride's --max-concurrency (default 4096)
#   --no-delays      the fleet answers failed logins at once (default: the devices' fail delays, 1 s)
#   --tools LIST     default toride,hydra,medusa,ncrack
#
# Environment: TORIDE_BIN (default build/toride; built into build-bench if absent), BENCH_KEEP=1 keeps
# the raw outputs (path printed at the end). No root needed (loopback). The fleet is always stopped.
#
# Safety: the fleet listens on 127.81.0.0/16 (loopback) and every tool gets only addresses of the
# fleet's truth file, checked to be inside that block. Nothing is sent anywhere else.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib/common.sh
. "$HERE/lib/common.sh"
PY=/usr/bin/python3
ARGS=("$@")

usage() {
	sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

PASS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs|--devices|--creds|--timeout|--peer-hosts|--peer-conns|--concurrency)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $1 needs a positive integer" >&2; exit 2; }
		PASS+=("$1" "$2"); shift 2 ;;
	--protos|--tools) PASS+=("$1" "${2:?}"); shift 2 ;;
	--no-delays) PASS+=("$1"); shift ;;
	-h|--help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done

for t in hydra medusa ncrack; do
	command -v "$t" >/dev/null || { echo "bench: $t missing (scripts/deps.sh bench installs it)" >&2; exit 1; }
done

bench_toride_bin

# Peers open one socket per connection and the fleet one per listener (thousands): raise the limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d /tmp/toride-fleetbench.XXXXXX)
bench_ncrack_mark
cleanup() {
	bench_ncrack_clean
	bench_work_done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$HERE/results"
OUT=$HERE/results/fleet-$(date -u +%Y-%m-%dT%H%M%SZ).md
"$PY" "$HERE/lib/fleetbench.py" --toride "$TORIDE_BIN" --src "$SRC" --work "$WORK" --out "$OUT" \
	--command "bench/fleet-vs-peers.sh ${ARGS[*]}" "${PASS[@]}"
