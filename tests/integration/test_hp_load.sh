#!/usr/bin/env bash
# Load test of `toride honeypot run` (loopback only, < 90 s): 10,000 concurrent slow-loris telnet
# sessions (hp-load hold, one source address each from 127.60.0.0/16) plus hostile telnet and SSH
# clients (127.61.0.0/16) at the same time, twice. Checks: the sensor reports >= 10,000 live
# sessions; a fresh Mirai bot+loader session from 127.62.0.1 completes while loaded; the sensor's
# memory per session, (RSS loaded - RSS idle) / live, stays under HP_LOAD_KIB_PER_SESSION; after
# the clients leave, the second round ends within 10 % of the first (no growth); the sensor process
# is the same at the end (no crash and restart); SIGTERM ends the honeypot with exit status 0.
# hp-load is built by CMake as $TORIDE_BUILD_DIR/tests/hp-load (bench/lib/hp-load.c).
#
# HP_LOAD_KIB_PER_SESSION (default 64): measured 31,329 bytes per held session on 2 cores (sensor
# RSS 17.3 MiB idle, 317 MiB with 10,035 live; docs/bench-honeypot.md, "Load test"). A held telnet
# session costs its device instance, shell state, telnet and line buffers, the session recorder
# with its transcript so far and the libuv handle (the kernel's socket buffers are not in RSS);
# 64 KiB is about twice the measured value, room for allocator slack and a longer transcript,
# while still catching a leak or a per-session buffer grown by an order of magnitude, and keeps
# the default --max-sessions 20000 under 1.3 GiB.
set -u
top=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TORIDE_BIN:-$top/build/toride}
build=${TORIDE_BUILD_DIR:-$(dirname "$bin")}
hpload=${HP_LOAD_BIN:-$build/tests/hp-load}
py=$(command -v /usr/bin/python3 || command -v python3)
held_n=${HP_LOAD_SESSIONS:-10000}
bound_kib=${HP_LOAD_KIB_PER_SESSION:-64}
# Memory is measured on a normal build only: under AddressSanitizer every allocation carries
# redzones and freed memory waits in a 256 MiB quarantine, so RSS says nothing about the sensor.
memcheck=1
if ldd "$TORIDE_BIN" 2>/dev/null | grep -q libasan || nm "$TORIDE_BIN" 2>/dev/null | grep -q __asan_init; then
	memcheck=0
fi
work=$(mktemp -d)
hp=
clients=()
cleanup() {
	local p
	for p in "${clients[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$hp" ]; then
		kill "$hp" 2>/dev/null
		wait "$hp" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
start=$(date +%s)
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fails=$((fails + 1)); }
section() { echo "== $1 (at $(($(date +%s) - start)) s)"; }
die() { echo "FAIL: $*"; [ -f "$work/hp.log" ] && tail -20 "$work/hp.log"; exit 1; }

[ -x "$hpload" ] || die "hp-load not built ($hpload)"
[ -x "$bin" ] || die "toride not built ($bin)"
# Both processes need a descriptor per session (10,000 + listeners, pipes, files).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((held_n + 2000)) ] ||
	die "ulimit -n is $(ulimit -n): $((held_n + 2000)) descriptors needed (run as root)"

free_port() { # free_port FIRST: the first TCP port >= FIRST nobody listens on at 127.0.0.1
	local p=$1
	while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}
tport=$(free_port 24323)
sport=$(free_port $((tport + 1)))
[ "$sport" != "$tport" ] || sport=$(free_port $((tport + 2)))

json_get() { # json_get FILE KEY: a top-level member of a JSON object, or empty
	"$py" -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))
except Exception: print("")' "$1" "$2"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
live() { json_get "$work/stats.json" live; }
wait_live() { # wait_live ge|eq N SECONDS: until live >= N (ge) or == N (eq), true if reached
	local _ v
	for _ in $(seq $(($3 * 10))); do
		v=$(live)
		if [ -n "$v" ]; then
			case $1 in
			ge) [ "$v" -ge "$2" ] && return 0 ;;
			eq) [ "$v" -eq "$2" ] && return 0 ;;
			esac
		fi
		sleep 0.1
	done
	return 1
}

section "start the honeypot (telnet 127.0.0.1:$tport, ssh 127.0.0.1:$sport)"
"$bin" honeypot run --listen "127.0.0.1:$tport/telnet=xiongmai-ahb7008t-dvr" --listen "127.0.0.1:$sport/ssh" \
	--no-delays --max-sessions 12000 --idle-seconds 120 --session-seconds 600 --seed 1 \
	--stats "$work/stats.json" --events /dev/null --ready-file "$work/ready" \
	--hostkey-dir "$work/keys" >"$work/hp.log" 2>&1 &
hp=$!
for _ in $(seq 200); do
	[ -e "$work/ready" ] && [ -s "$work/stats.json" ] && break
	kill -0 "$hp" 2>/dev/null || break
	sleep 0.1
done
[ -e "$work/ready" ] || die "the honeypot did not come up"
[ -s "$work/stats.json" ] || die "no --stats file"
sensor=$(json_get "$work/stats.json" sensor_pid)
[ -n "$sensor" ] && [ -d "/proc/$sensor" ] || die "no sensor pid in the stats ($(cat "$work/stats.json"))"
ok "honeypot up, sensor pid $sensor"

# Warm up (profiles, shell, recorder touched once), then idle.
"$hpload" --connect "127.0.0.1:$tport" --mode mirai --sessions 10 --total 50 --src-net 127.62.0.0/24 \
	--json >"$work/warm.json" 2>&1 || die "warm-up Mirai sessions failed: $(cat "$work/warm.json")"
wait_live eq 0 10 || die "sessions did not end after the warm-up (live $(live))"
sleep 1
idle=$(rss_kib "$sensor")
ok "sensor RSS idle after a 50-session warm-up: $idle KiB"

round() { # round N: hold held_n + hostile, a Mirai session while loaded; sets loaded_N, after_N
	local n=$1 holdp hostp v lv per mirai_c
	section "round $n: $held_n held telnet sessions + hostile clients"
	rm -f "$work/held$n"
	"$hpload" --connect "127.0.0.1:$tport" --mode hold --sessions "$held_n" --src-net 127.60.0.0/16 \
		--hold-interval 5 --step-timeout 30 --ready-file "$work/held$n" --json >"$work/hold$n.json" \
		2>"$work/hold$n.err" &
	holdp=$!
	clients+=("$holdp")
	"$hpload" --connect "127.0.0.1:$tport" --ssh "127.0.0.1:$sport" --mode hostile --sessions 60 --total 330 \
		--src-net 127.61.0.0/16 --hostile-wait 2 --step-timeout 20 --seed "$n" --json \
		>"$work/hostile$n.json" 2>&1 &
	hostp=$!
	clients+=("$hostp")
	for _ in $(seq 450); do
		[ -e "$work/held$n" ] && break
		kill -0 "$holdp" 2>/dev/null || break
		sleep 0.1
	done
	if [ -e "$work/held$n" ]; then ok "$held_n sessions logged in and held"; else
		bad "hp-load hold did not reach $held_n sessions: $(cat "$work/hold$n.err" "$work/hold$n.json" | tail -3)"
	fi
	if wait_live ge "$held_n" 10; then ok "sensor reports live $(live) >= $held_n"; else
		bad "sensor reports live $(live) < $held_n"
	fi
	"$hpload" --connect "127.0.0.1:$tport" --mode mirai --sessions 1 --total 1 --src-net 127.62.0.0/24 \
		--step-timeout 20 --json >"$work/mirai$n.json" 2>&1
	mirai_c=$(json_get "$work/mirai$n.json" completed)
	if [ "$mirai_c" = 1 ]; then ok "a fresh Mirai bot+loader session completes while loaded" \
		"($(json_get "$work/mirai$n.json" p50_s) s)"; else
		bad "Mirai session while loaded: $(cat "$work/mirai$n.json")"
	fi
	v=$(rss_kib "$sensor")
	eval "loaded_$n=$v"
	lv=$(live)
	[ -n "$lv" ] && [ "$lv" -gt 0 ] || lv=1
	per=$(((v - idle) * 1024 / lv))
	echo "       sensor RSS loaded $v KiB, live $lv: $per bytes per session (bound $((bound_kib * 1024)))"
	if [ "$memcheck" = 0 ]; then echo "       (sanitizer build: memory bounds not checked)"
	elif [ "$per" -le $((bound_kib * 1024)) ]; then ok "memory per session $per B <= $bound_kib KiB"; else
		bad "memory per session $per B > $bound_kib KiB"
	fi
	wait "$hostp"
	if [ "$(json_get "$work/hostile$n.json" failed)" = 0 ]; then
		ok "hostile clients: $(json_get "$work/hostile$n.json" attempted) sessions, none refused or stuck"
	else
		bad "hostile clients: $(cat "$work/hostile$n.json")"
	fi
	kill -TERM "$holdp"
	wait "$holdp"
	if [ "$(json_get "$work/hold$n.json" completed)" = "$held_n" ]; then
		ok "all $held_n held sessions stayed open until the client left"
	else
		bad "held sessions dropped: $(cat "$work/hold$n.json")"
	fi
	clients=()
	if wait_live eq 0 30; then ok "every session ended (live 0)"; else bad "live $(live) after the clients left"; fi
	sleep 1
	v=$(rss_kib "$sensor")
	eval "after_$n=$v"
	echo "       sensor RSS after round $n: $v KiB"
	kill -0 "$hp" 2>/dev/null || die "the honeypot died"
	[ "$(json_get "$work/stats.json" sensor_pid)" = "$sensor" ] || bad "the sensor was replaced (crash?)"
}

round 1
round 2
# shellcheck disable=SC2154 # loaded_N/after_N are set by round through eval
{
	echo "       loaded: round 1 $loaded_1 KiB, round 2 $loaded_2 KiB; after: round 1 $after_1 KiB, round 2 $after_2 KiB"
	if [ "$memcheck" = 0 ]; then echo "       (sanitizer build: growth between rounds not checked)"
	elif [ "$after_2" -le $((after_1 * 110 / 100)) ]; then ok "RSS after round 2 within 10 % of round 1"; else
		bad "RSS grew: after round 1 $after_1 KiB, after round 2 $after_2 KiB"
	fi
	if [ "$memcheck" = 0 ]; then :
	elif [ "$loaded_2" -le $((loaded_1 * 110 / 100)) ]; then ok "loaded RSS of round 2 within 10 % of round 1"; else
		bad "loaded RSS grew: round 1 $loaded_1 KiB, round 2 $loaded_2 KiB"
	fi
}

section "SIGTERM"
kill -TERM "$hp"
rc=
for _ in $(seq 300); do
	kill -0 "$hp" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$hp" 2>/dev/null; then
	bad "the honeypot did not exit within 30 s of SIGTERM"
else
	wait "$hp"
	rc=$?
	hp=
	if [ "$rc" = 0 ]; then ok "honeypot exit status 0"; else bad "honeypot exit status $rc"; tail -20 "$work/hp.log"; fi
fi
echo "== done in $(($(date +%s) - start)) s, $fails failure(s)"
[ "$fails" = 0 ]
