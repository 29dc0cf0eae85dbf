#!/usr/bin/env bash
# toride survey against its peers (hydra, medusa, ncrack, nmap NSE) on the same lab of real daemons, in
# the same run: wall time, attempts, attempts/s, peak memory and correctness per tool and protocol, with
# ratios toride/peer. See bench/README.md for what the columns mean and the caveats.
#
#   bench/survey-vs-peers.sh [--runs N] [--protos telnet,ssh,http,mqtt] [--creds N] [--timeout S]
#
#   --runs N       runs per tool and protocol; the table shows medians (default 1)
#   --protos LIST  protocols to compare (default telnet,ssh,http,mqtt)
#   --creds N      the first N pairs of data/credentials/mirai.tsv, plus any weak lab pair not among
#                  them (default 14: all of the lab's weak pairs are already inside)
#   --timeout S    cap on one tool run, seconds (default 90); a capped run is reported as "timeout"
#                  with whatever the tool had printed by then
#
# Environment: TORIDE_BIN (default build/toride; built into build-bench if absent), TORIDE_LAB_PREFIX
# (default tbench), BENCH_KEEP=1 keeps the raw outputs (path printed at the end).
# Needs root (network namespaces). The lab is always taken down at the end (trap).
#
# Safety: every tool runs inside the lab's scanner namespace, which has no default route, and is given
# only in-scope lab addresses from tests/integration/lab-manifest.tsv. Nothing is sent anywhere else.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib/common.sh
. "$HERE/lib/common.sh"
LAB=$SRC/tests/integration/lab.sh
PB=$HERE/lib/peerbench.py
PY=/usr/bin/python3

RUNS=1
PROTOS=telnet,ssh,http,mqtt
NCREDS=14
TIMEOUT_S=90
# Seconds to wait for the scanner's connections of one tool to close before the next tool starts.
QUIET_WAIT_S=15

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	--protos) PROTOS=${2:?}; shift 2 ;;
	--creds) NCREDS=${2:?}; shift 2 ;;
	--timeout) TIMEOUT_S=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ "$NCREDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --creds must be a positive integer" >&2; exit 2; }
[[ "$TIMEOUT_S" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --timeout must be a positive integer" >&2; exit 2; }
IFS=, read -r -a PROTO_LIST <<<"$PROTOS"
for p in "${PROTO_LIST[@]}"; do
	case "$p" in telnet|ssh|http|mqtt) ;; *) echo "bench: unknown protocol '$p'" >&2; exit 2 ;; esac
done

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces)" >&2
	exit 1
fi

bash "$SRC/scripts/deps.sh" bench

bench_toride_bin

export TORIDE_LAB_PREFIX=${TORIDE_LAB_PREFIX:-tbench}
eval "$(bash "$LAB" env)"
WORK=$(mktemp -d /tmp/toride-bench.XXXXXX)
bench_ncrack_mark

cleanup() {
	capture_stop
	bash "$LAB" down >/dev/null 2>&1 || true
	bench_ncrack_clean
	bench_work_done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date -u +%FT%TZ)
t_start=$(date +%s)
bash "$LAB" up

# ----------------------------------------------------------------------------------- credentials

# user:password lines: hydra -C and toride --creds read this format.
"$PY" "$SRC/tests/integration/compare.py" creds --manifest "$MANIFEST" \
	--mirai "$SRC/data/credentials/mirai.tsv" --first "$NCREDS" >"$WORK/creds.txt"
# Every weak lab pair must be in the list, or "weak found" would measure the list, not the tool.
while IFS=$'\t' read -r _a _p _pr _d user kind _e in_scope pw; do
	if [ "$kind" != weak ] || [ "$in_scope" != yes ]; then continue; fi
	grep -qxF "$user:$pw" "$WORK/creds.txt" || { echo "bench: weak pair $user:$pw missing from the list" >&2; exit 1; }
done < <(grep -v -e '^#' -e '^addr' -e '^$' "$MANIFEST")
NPAIRS=$(wc -l <"$WORK/creds.txt")
# medusa -C: host:user:password with the host left empty (applies to every host).
sed 's/^/:/' "$WORK/creds.txt" >"$WORK/creds.medusa"
# nmap brute.credfile: user/password.
sed 's|:|/|' "$WORK/creds.txt" >"$WORK/creds.nmap"
# ncrack has no combo file: --pairwise walks a user file and a password file in step. A password file
# cannot hold an empty password (ncrack skips empty lines and the lists would drift apart), so pairs
# with an empty password are left out for ncrack only.
grep -v ':$' "$WORK/creds.txt" | cut -d: -f1 >"$WORK/ncrack.users"
grep -v ':$' "$WORK/creds.txt" | cut -d: -f2- >"$WORK/ncrack.passwords"
NCRACK_PAIRS=$(wc -l <"$WORK/ncrack.users")
echo "bench: $NPAIRS credential pairs (ncrack: $NCRACK_PAIRS without empty passwords): $(tr '\n' ' ' <"$WORK/creds.txt")"

# ------------------------------------------------------------------------------------------- targets

# The protocol's in-scope services of the manifest, as addr:port lines.
targets() {
	awk -F'\t' -v p="$1" '!/^#/ && $3 == p && $8 == "yes" && $2 != "-" {print $1 ":" $2}' "$MANIFEST"
}

# Daemon logs that record one line per credential attempt (telnet: none, see capture_start).
proto_logs() {
	local hp addr port
	case "$1" in
	ssh) while IFS=: read -r addr port; do echo "$RUN_DIR/log/ssh-$addr-$port.log"; done <"$WORK/$1.hostports" ;;
	http)
		echo "$RUN_DIR/log/lighttpd.access.log"
		while IFS=: read -r addr port; do
			hp=$RUN_DIR/log/http-$addr-$port.log
			[ -e "$hp" ] && echo "$hp"
		done <"$WORK/$1.hostports"
		;;
	mqtt) while IFS=: read -r addr _; do echo "$RUN_DIR/log/mosquitto-$addr.mlog"; done <"$WORK/$1.hostports" ;;
	esac
	return 0
}

# Wait until the scanner namespace has no open connection left (a killed tool's sockets, a daemon
# still answering), so that one tool's tail does not land in the next tool's measurement.
wait_quiet() {
	local i
	for ((i = 0; i < QUIET_WAIT_S * 5; i++)); do
		[ -z "$(ip netns exec "$SCAN_NS" ss -Htn state established state syn-sent state fin-wait-1 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	return 0
}

# telnet: the lab's busybox login logs nothing per attempt, so the servers' side is read from a capture
# of what they sent (one "Password: " prompt per attempt), taken on the scanner's interface.
CAP_PID=
capture_start() {
	local dir=$1 filter
	filter="tcp and ($(cut -d: -f2 "$WORK/telnet.hostports" | sort -nu | sed 's/^/src port /' | paste -sd'|' - | sed 's/|/ or /g'))"
	ip netns exec "$SCAN_NS" tcpdump -i "$SCAN_IF" -n -U -Z root -w "$dir/telnet.pcap" "$filter" \
		2>"$dir/tcpdump.log" &
	CAP_PID=$!
	for _ in $(seq 50); do
		grep -q 'listening on' "$dir/tcpdump.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: tcpdump did not start: $(cat "$dir/tcpdump.log")" >&2
	return 1
}

capture_stop() {
	[ -n "$CAP_PID" ] || return 0
	kill -INT "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	CAP_PID=
}

# Why a tool is not run on a protocol (empty: it is run).
cannot_reason() {
	case "$1/$2" in
	hydra/mqtt) echo "hydra 9.4 has no MQTT module" ;;
	medusa/mqtt) echo "medusa 2.2 has no MQTT module" ;;
	nmap/mqtt) echo "nmap 7.93 has no MQTT brute-force script (mqtt-subscribe only tries one login)" ;;
	esac
}

# Fill CMD with the command line of TOOL for PROTO, writing its outputs into DIR.
build_cmd() {
	local tool=$1 proto=$2 dir=$3 ports port hp
	ports=$(cut -d: -f2 "$WORK/$proto.hostports" | sort -nu | paste -sd, -)
	CMD=()
	case "$tool" in
	toride)
		# --discovery connect: the peers get the service list and discover nothing (as root toride
		# would take the SYN path and wait out its cool-down).
		CMD=("$TORIDE_BIN" survey --scope-file "$WORK/$proto.addrs" --allow-reserved 10.77.0.0/16
			-p "$ports" --creds "$WORK/creds.txt" --no-vendor-creds --discovery connect --db "$dir/survey.db"
			-o "$dir/out.jsonl" --quiet)
		;;
	hydra)
		local service=("$proto")
		[ "$proto" = http ] && service=(http-get /)
		CMD=(hydra -I -V -C "$WORK/creds.txt" -M "$WORK/$proto.hostports" -t 4 -T 64 -f
			-o "$dir/hydra.found" "${service[@]}")
		;;
	medusa)
		# One port per medusa run (-n): all the protocol's ports run at once, like one tool run.
		local mod=$proto extra=""
		[ "$proto" = http ] && extra="-m DIR:/"
		{
			echo "set -u"
			for port in ${ports//,/ }; do
				grep ":$port\$" "$WORK/$proto.hostports" | cut -d: -f1 >"$dir/hosts.$port"
				echo "medusa -M $mod -H '$dir/hosts.$port' -n $port -C '$WORK/creds.medusa' -t 4 -T 64 -f $extra >'$dir/medusa.$port.out' 2>&1 &"
			done
			echo "wait"
		} >"$dir/medusa.sh"
		CMD=(sh "$dir/medusa.sh")
		;;
	ncrack)
		CMD=(ncrack -v -d1 -U "$WORK/ncrack.users" -P "$WORK/ncrack.passwords" --pairwise -f -g CL=4
			-oN "$dir/ncrack.txt")
		while read -r hp; do CMD+=("$proto://$hp"); done <"$WORK/$proto.hostports"
		;;
	nmap)
		local script args="brute.credfile=$WORK/creds.nmap,brute.firstonly=true"
		case "$proto" in
		# '+' forces telnet-brute onto 2323, which nmap does not name telnet without -sV.
		telnet) script=+telnet-brute ;;
		ssh) script=ssh-brute ;;
		http) script=http-brute; args+=",http-brute.path=/" ;;
		esac
		CMD=(nmap -n -Pn -p "$ports" --script "$script" --script-args "$args" -oN "$dir/nmap.txt"
			-iL "$WORK/$proto.addrs")
		;;
	esac
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"

for proto in "${PROTO_LIST[@]}"; do
	targets "$proto" >"$WORK/$proto.hostports"
	cut -d: -f1 "$WORK/$proto.hostports" | sort -u >"$WORK/$proto.addrs"
	echo "== $proto: $(wc -l <"$WORK/$proto.hostports") services: $(tr '\n' ' ' <"$WORK/$proto.hostports")"
	mapfile -t logs < <(proto_logs "$proto")
	for ((run = 1; run <= RUNS; run++)); do
		for tool in toride hydra medusa ncrack nmap; do
			reason=$(cannot_reason "$tool" "$proto")
			if [ -n "$reason" ]; then
				"$PY" -c 'import json,sys; print(json.dumps({"proto": sys.argv[1], "tool": sys.argv[2],
					"run": int(sys.argv[3]), "status": "cannot", "reason": sys.argv[4]}))' \
					"$proto" "$tool" "$run" "$reason" >>"$RESULTS"
				continue
			fi
			dir=$WORK/$proto/$tool.$run
			mkdir -p "$dir"
			build_cmd "$tool" "$proto" "$dir"
			printf '%s\n' "${CMD[*]}" >"$dir/cmd"
			wait_quiet
			"$PY" "$PB" logmark --out "$dir/logmark.json" "${logs[@]}"
			if [ "$proto" = telnet ]; then capture_start "$dir"; fi
			meas=$("$PY" "$PB" run --ns "$SCAN_NS" --timeout "$TIMEOUT_S" --time-file "$dir/time.txt" \
				--out "$dir/stdout" --err "$dir/stderr" --cwd "$dir" -- "${CMD[@]}")
			# Daemons write their log lines as they answer; give the last ones a moment.
			sleep 1
			if [ "$proto" = telnet ]; then
				capture_stop
				att_srv=$("$PY" "$PB" pcapcount --pcap "$dir/telnet.pcap")
			else
				att_srv=$("$PY" "$PB" logcount --proto "$proto" --mark "$dir/logmark.json")
			fi
			parsed=$("$PY" "$PB" parse --tool "$tool" --dir "$dir")
			"$PY" -c 'import json,sys
r = json.loads(sys.argv[1]); r.update(json.loads(sys.argv[2]))
r.update(proto=sys.argv[3], tool=sys.argv[4], run=int(sys.argv[5]),
         attempts_server=int(sys.argv[6]) if sys.argv[6] else None)
print(json.dumps(r))' "$meas" "$parsed" "$proto" "$tool" "$run" "$att_srv" >>"$RESULTS"
			tail -n 1 "$RESULTS" | "$PY" -c 'import json,sys
r = json.load(sys.stdin)
print("   %-6s run %d: %-7s wall %6.2f s, attempts %s (server) %s (tool), %d pair(s) reported" % (
    r["tool"], r["run"], r["status"], r["wall_s"] or 0, r["attempts_server"], r["attempts_tool"],
    len(r["pairs"])))'
		done
	done
done

# ------------------------------------------------------------------------------------------- report

mkdir -p "$HERE/results"
OUT=$HERE/results/$(date -u +%Y-%m-%dT%H%M%SZ).md
{
	echo "# toride survey vs peers, $started"
	echo
	echo "Command: \`bench/survey-vs-peers.sh --runs $RUNS --protos $PROTOS --creds $NCREDS --timeout $TIMEOUT_S\`"
	echo "(commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown), $("$TORIDE_BIN" --version 2>/dev/null || echo toride)," \
		"$(nproc) CPUs, $(uname -r))."
	echo
	echo "Versions: $(for p in hydra medusa ncrack nmap; do printf '%s %s, ' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)"; done | sed 's/, $//')."
	echo
	echo "Credential list: $NPAIRS pairs ($(tr '\n' ' ' <"$WORK/creds.txt" | sed 's/ $//')); ncrack: $NCRACK_PAIRS (no empty password)."
	echo "Peers: 4 connections per host, all hosts at once, stop a host at its first valid pair; toride: its defaults;"
	echo "runs inside the lab's scanner namespace under /usr/bin/time -v, capped at $TIMEOUT_S s."
	echo "Weak found and wrong pairs are listed per run (comma-separated); times and sizes are medians."
	echo
	"$PY" "$PB" table --results "$RESULTS" --manifest "$MANIFEST" --secrets "$RUN_DIR/secrets.tsv" --protos "$PROTOS"
	echo "Total bench time: $(($(date +%s) - t_start)) s."
} >"$OUT"
echo
cat "$OUT"
echo "bench: table written to $OUT"
