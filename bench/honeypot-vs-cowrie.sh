#!/usr/bin/env bash
# toride honeypot against Cowrie in the same run: both serve telnet on loopback, both are driven by
# hp-load (bench/lib/hp-load.c) with the same Mirai bot+loader dialogue, the same concurrency and
# the same duration, then held with N idle logged-in sessions. Prints sessions/s, completed vs
# attempted, peak RSS and RSS per concurrent session for each, and the ratios toride/cowrie.
# See docs/bench-honeypot.md for results and caveats.
#
#   bench/honeypot-vs-cowrie.sh [--sessions N] [--duration S] [--hold LIST] [--cowrie-ref REF]
#
#   --sessions N      concurrent Mirai sessions (default 50)
#   --duration S      seconds of Mirai sessions per honeypot (default 30)
#   --hold LIST       comma-separated held-session counts (default 500,2000)
#   --cowrie-ref REF  git ref of Cowrie to run (default auto: the newest commit, and if that does not
#                     start on Debian's Python packages, the newest release tag that does)
#
# Environment: TORIDE_BIN (default build/toride, else built into build-bench-hp/), HP_LOAD_BIN
# (default next to it: tests/hp-load), COWRIE_GIT_DIR (a git directory of Cowrie; default the
# fetch tool's mirror /work/.mirror/cowrie+cowrie/repo, else `git clone --bare` from GitHub into the
# work dir), BENCH_KEEP=1 keeps the work dir (logs, hp-load results, Cowrie's tree).
# Cowrie refuses to run as root: it runs as `nobody` (setpriv). Needs root for that, for apt-get
# (Debian's python3-twisted and friends when missing) and for 10,000+ descriptors.
# Network: both honeypots listen on 127.0.0.1 only and hp-load connects only there, from
# 127.70.0.0/16 (toride) and 127.71.0.0/16 (Cowrie); nothing is fetched by either honeypot
# (toride runs without --fetch-samples; Cowrie's wget/tftp are never given a reachable host).
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
SESSIONS=50
DURATION=30
HOLD=500,2000
COWRIE_REF=auto
COWRIE_START_S=30       # longest wait for Cowrie's telnet port (it unpickles its file system first)
HOLD_RAMP_S=240         # longest wait until every held session is logged in
PENDING=32              # hp-load --max-pending: below Cowrie's listen backlog of 50
COWRIE_TRIES=40         # release tags tried (newest first) when the newest commit does not start
# Debian 12 packages that cover Cowrie's imports (requirements.txt pins newer PyPI versions; tftpy
# is not packaged: Cowrie v2.9 implements tftp itself, older ones only lose the tftp command).
DEB_PKGS=(python3-twisted python3-cryptography python3-bcrypt python3-attr python3-hyperlink
	python3-service-identity python3-dateutil python3-pyasn1 python3-pyasn1-modules python3-openssl
	python3-treq python3-typing-extensions python3-packaging python3-idna python3-lark)
PY_MODS="twisted cryptography bcrypt attr hyperlink service_identity dateutil pyasn1 pyasn1_modules OpenSSL treq typing_extensions packaging idna"

usage() {
	sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--sessions) SESSIONS=${2:?}; shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	--hold) HOLD=${2:?}; shift 2 ;;
	--cowrie-ref) COWRIE_REF=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
[[ "$SESSIONS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --sessions must be a positive integer" >&2; exit 2; }
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --duration must be a positive integer" >&2; exit 2; }
[[ "$HOLD" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench: --hold must be a list of integers" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (Cowrie runs as nobody, descriptors, apt-get)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/hp-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 1
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { echo "bench: $*" >&2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ------------------------------------------------------------------------------------ our binaries

TORIDE_BIN=${TORIDE_BIN:-$SRC/build/toride}
HP_LOAD_BIN=${HP_LOAD_BIN:-$(dirname "$TORIDE_BIN")/tests/hp-load}
if [ ! -x "$TORIDE_BIN" ] || [ ! -x "$HP_LOAD_BIN" ]; then
	say "building toride and hp-load into build-bench-hp/"
	cmake -S "$SRC" -B "$SRC/build-bench-hp" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		make -C "$SRC/build-bench-hp" -j"$(nproc)" toride hp-load >/dev/null || { say "build failed"; exit 1; }
	TORIDE_BIN=$SRC/build-bench-hp/toride
	HP_LOAD_BIN=$SRC/build-bench-hp/tests/hp-load
fi

# ------------------------------------------------------------------------------------ Cowrie

missing=()
for m in $PY_MODS; do "$PY" -c "import $m" 2>/dev/null || missing+=("$m"); done
if [ ${#missing[@]} -gt 0 ]; then
	say "Python modules missing for Cowrie: ${missing[*]}; installing Debian packages"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${DEB_PKGS[@]}" >"$WORK/apt.log" 2>&1 ||
		{ say "apt-get failed (see $WORK/apt.log)"; BENCH_KEEP=1; exit 1; }
fi
command -v twistd3 >/dev/null || { say "twistd3 (python3-twisted) not found"; exit 1; }
TWISTED_VERSION=$("$PY" -c 'import twisted; print(twisted.__version__)')

GITDIR=${COWRIE_GIT_DIR:-/work/.mirror/cowrie+cowrie/repo}
if ! git --git-dir="$GITDIR" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	say "no Cowrie mirror at $GITDIR: cloning github.com/cowrie/cowrie (bare) into the work dir"
	GITDIR=$WORK/cowrie.git
	git clone -q --bare https://github.com/cowrie/cowrie "$GITDIR" || { say "cannot get Cowrie"; exit 1; }
fi

free_port() { # free_port FIRST: the first TCP port >= FIRST nobody listens on at 127.0.0.1
	local p=$1
	while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }

COWRIE_PORT=$(free_port 24623)
COWRIE_PID=
COWRIE_WHY=()
# cowrie_try REF: prepare the tree of REF and start it as nobody; true when its telnet port listens.
cowrie_try() {
	local ref=$1 d=$WORK/cowrie-$1 sha
	sha=$(git --git-dir="$GITDIR" rev-parse "$ref^{commit}" 2>/dev/null) || { COWRIE_WHY+=("$ref: no such ref"); return 1; }
	rm -rf "$d"
	mkdir -p "$d"
	git --git-dir="$GITDIR" archive "$sha" | tar -x -C "$d" || return 1
	# What `pip install -e .` would generate (setuptools-scm): Cowrie refuses to start without it.
	[ -f "$d/src/cowrie/_version.py" ] ||
		printf "__version__ = version = '%s+g%s'\n__version_tuple__ = version_tuple = (0, 'g%s')\n" \
			"${ref#v}" "${sha:0:8}" "${sha:0:8}" >"$d/src/cowrie/_version.py"
	mkdir -p "$d/etc" "$d/var/log/cowrie" "$d/var/lib/cowrie/tty" "$d/var/lib/cowrie/downloads" "$d/var/run"
	sed "s/@PORT@/$COWRIE_PORT/" "$HERE/cowrie/cowrie.cfg" >"$d/etc/cowrie.cfg"
	cp "$HERE/cowrie/userdb.txt" "$d/etc/userdb.txt"
	chown -R nobody:nogroup "$d"
	(cd "$d" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
		env -i PATH=/usr/bin:/bin HOME="$d" PYTHONPATH="$d/src" PYTHONDONTWRITEBYTECODE=1 \
		twistd3 -n --umask=0022 --pidfile= cowrie) >"$d/twistd.log" 2>&1 &
	COWRIE_PID=$!
	PIDS+=("$COWRIE_PID")
	for _ in $(seq $((COWRIE_START_S * 10))); do
		listening "$COWRIE_PORT" && { COWRIE_REF=$ref; COWRIE_SHA=$sha; return 0; }
		kill -0 "$COWRIE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$COWRIE_PID" 2>/dev/null
	wait "$COWRIE_PID" 2>/dev/null
	COWRIE_WHY+=("$ref (${sha:0:12}): did not start: $(grep -E 'Error|error:' "$d/twistd.log" | grep -v Deprecation |
		tail -1 | cut -c1-200)")
	mv "$d/twistd.log" "$WORK/cowrie-$ref.log"
	rm -rf "$d"
	return 1
}
started=0
if [ "$COWRIE_REF" = auto ]; then
	# The newest commit first, then release tags from the newest down (a failed start is quick).
	for ref in HEAD $(git --git-dir="$GITDIR" tag --sort=-v:refname | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' |
		head -"$COWRIE_TRIES"); do
		cowrie_try "$ref" && { started=1; break; }
	done
else
	cowrie_try "$COWRIE_REF" && started=1
fi
for w in "${COWRIE_WHY[@]}"; do say "Cowrie $w"; done
if [ $started = 0 ]; then
	say "Cowrie does not run with Debian's Python packages (Twisted $TWISTED_VERSION): no comparison"
	BENCH_KEEP=1
	exit 1
fi
COWRIE_VERSION=$(git --git-dir="$GITDIR" describe --tags "$COWRIE_SHA" 2>/dev/null || echo "${COWRIE_SHA:0:12}")
say "Cowrie $COWRIE_VERSION (${COWRIE_SHA:0:12}) on Twisted $TWISTED_VERSION, telnet 127.0.0.1:$COWRIE_PORT, pid $COWRIE_PID"

# ------------------------------------------------------------------------------------ toride

TORIDE_PORT=$(free_port $((COWRIE_PORT + 1)))
"$TORIDE_BIN" honeypot run --listen "127.0.0.1:$TORIDE_PORT/telnet=xiongmai-ahb7008t-dvr" \
	--events "$WORK/toride-events.jsonl" --stats "$WORK/toride-stats.json" --ready-file "$WORK/toride-ready" \
	--seed 1 >"$WORK/toride.log" 2>&1 &
TORIDE_PID=$!
PIDS+=("$TORIDE_PID")
for _ in $(seq 200); do
	[ -e "$WORK/toride-ready" ] && [ -s "$WORK/toride-stats.json" ] && break
	sleep 0.1
done
[ -e "$WORK/toride-ready" ] || { say "toride honeypot did not start"; cat "$WORK/toride.log" >&2; exit 1; }
SENSOR_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sensor_pid"])' "$WORK/toride-stats.json")
say "toride $("$TORIDE_BIN" --version 2>/dev/null | head -1), telnet 127.0.0.1:$TORIDE_PORT, collector $TORIDE_PID, sensor $SENSOR_PID"

# ------------------------------------------------------------------------------------ measuring

rss_sum() { # rss_sum PID...: sum of VmRSS in KiB
	local p s=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo $s
}
SAMPLER=
sampler_start() { # sampler_start OUT PID...: the peak of rss_sum, every 0.2 s, into OUT
	local out=$1
	shift
	(
		max=0
		while :; do
			s=$(rss_sum "$@")
			[ "$s" -gt "$max" ] && { max=$s; echo "$max" >"$out"; }
			sleep 0.2
		done
	) &
	SAMPLER=$!
}
sampler_stop() { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=; }
jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null; }

# target NAME PORT SRCNET PIDS...
declare -A PORT SRCNET PIDSOF
PORT[toride]=$TORIDE_PORT; SRCNET[toride]=127.70.0.0/16; PIDSOF[toride]="$TORIDE_PID $SENSOR_PID"
PORT[cowrie]=$COWRIE_PORT; SRCNET[cowrie]=127.71.0.0/16; PIDSOF[cowrie]="$COWRIE_PID"
declare -A R

mirai_phase() { # mirai_phase NAME
	local t=$1 before peak out=$WORK/$1-mirai.json
	# shellcheck disable=SC2086
	before=$(rss_sum ${PIDSOF[$t]})
	# shellcheck disable=SC2086
	sampler_start "$WORK/$t-mirai.peak" ${PIDSOF[$t]}
	say "$t: Mirai sessions, $SESSIONS at once for $DURATION s"
	"$HP_LOAD_BIN" --connect "127.0.0.1:${PORT[$t]}" --mode mirai --sessions "$SESSIONS" --duration "$DURATION" \
		--src-net "${SRCNET[$t]}" --max-pending "$PENDING" --step-timeout 60 --json >"$out" 2>"$WORK/$t-mirai.err"
	sampler_stop
	peak=$(cat "$WORK/$t-mirai.peak" 2>/dev/null || echo "$before")
	R[$t,sps]=$(jget "$out" sessions_per_s)
	R[$t,attempted]=$(jget "$out" attempted)
	R[$t,completed]=$(jget "$out" completed)
	R[$t,unfinished]=$(jget "$out" unfinished)
	R[$t,failed]=$(jget "$out" failed)
	R[$t,mirai_seen]=$(jget "$out" mirai_seen)
	R[$t,p50]=$(jget "$out" p50_s)
	R[$t,p99]=$(jget "$out" p99_s)
	R[$t,before]=$before
	R[$t,peak]=$peak
	R[$t,per]=$(((peak - before) / SESSIONS))
	R[$t,est]=$((R[$t,per] * 1024)) # bytes per session, for the memory guard of the hold phases
	sleep 3 # let the last sessions end before the next phase
}

hold_phase() { # hold_phase NAME N
	local t=$1 n=$2 before held hp avail need out=$WORK/$1-hold$2.json
	# Memory guard: Cowrie costs megabytes per session (each session unpickles its own file
	# system); a hold that would need more than 60 % of the free memory is skipped, not run into OOM.
	avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	need=$((${R[$t,est]:-0} * n / 1024))
	if [ "$need" -gt $((avail * 6 / 10)) ]; then
		say "$t: $n held sessions skipped: ~$((need / 1024)) MiB needed at the measured rate, $((avail / 1024)) MiB available"
		R[$t,hold$n,held]="skipped (~$((need / 1048576)) GiB needed)"
		R[$t,hold$n,rss]=-
		R[$t,hold$n,per]=-
		return
	fi
	# shellcheck disable=SC2086
	before=$(rss_sum ${PIDSOF[$t]})
	say "$t: holding $n logged-in sessions"
	rm -f "$WORK/$t-held$n"
	"$HP_LOAD_BIN" --connect "127.0.0.1:${PORT[$t]}" --mode hold --sessions "$n" --src-net "${SRCNET[$t]}" \
		--hold-interval 5 --max-pending "$PENDING" --step-timeout 120 --ready-file "$WORK/$t-held$n" \
		--json >"$out" 2>"$WORK/$t-hold$n.err" &
	hp=$!
	for _ in $(seq $((HOLD_RAMP_S * 10))); do
		[ -e "$WORK/$t-held$n" ] && break
		kill -0 "$hp" 2>/dev/null || break
		sleep 0.1
	done
	sleep 2
	# shellcheck disable=SC2086
	held=$(rss_sum ${PIDSOF[$t]})
	R[$t,hold$n,ok]=$([ -e "$WORK/$t-held$n" ] && echo yes || echo no)
	kill -TERM "$hp" 2>/dev/null
	wait "$hp"
	R[$t,hold$n,held]=$(jget "$out" max_held)
	R[$t,hold$n,rss]=$held
	R[$t,hold$n,per]=$(((held - before) * 1024 / n))
	[ "${R[$t,hold$n,per]}" -gt "${R[$t,est]:-0}" ] && R[$t,est]=${R[$t,hold$n,per]}
	sleep 5 # sessions end
}

for t in toride cowrie; do mirai_phase "$t"; done
IFS=, read -ra HOLDS <<<"$HOLD"
for n in "${HOLDS[@]}"; do
	for t in toride cowrie; do hold_phase "$t" "$n"; done
done

# ------------------------------------------------------------------------------------ report

ratio() { "$PY" -c 'import sys
try: a, b = float(sys.argv[1]), float(sys.argv[2])
except ValueError: a, b = 0.0, 0.0
print("%.3g" % (a / b) if b else "-")' "$1" "$2"; }
OUTDIR=$SRC/bench/results
mkdir -p "$OUTDIR"
OUT=$OUTDIR/honeypot-$(date -u +%Y-%m-%dT%H%M%SZ).md
{
	echo "# toride honeypot vs Cowrie ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
	echo
	echo "toride: $TORIDE_BIN (collector + sensor RSS summed). Cowrie: $COWRIE_VERSION (${COWRIE_SHA:0:12}), Debian Python $("$PY" -c 'import platform; print(platform.python_version())'), Twisted $TWISTED_VERSION."
	for w in "${COWRIE_WHY[@]}"; do echo "Not run: Cowrie $w"; done
	echo
	echo "## Mirai bot + loader sessions: $SESSIONS at once, $DURATION s each"
	echo
	echo "| | toride | cowrie | toride/cowrie |"
	echo "|---|---|---|---|"
	echo "| sessions/s (completed) | ${R[toride,sps]} | ${R[cowrie,sps]} | $(ratio "${R[toride,sps]}" "${R[cowrie,sps]}") |"
	echo "| completed / attempted | ${R[toride,completed]} / ${R[toride,attempted]} | ${R[cowrie,completed]} / ${R[cowrie,attempted]} | |"
	echo "| cut by the end of the run | ${R[toride,unfinished]} | ${R[cowrie,unfinished]} | |"
	echo "| failed (timeout, closed, refused) | ${R[toride,failed]} | ${R[cowrie,failed]} | |"
	echo "| \"MIRAI: applet not found\" seen | ${R[toride,mirai_seen]} | ${R[cowrie,mirai_seen]} | |"
	echo "| session time p50 / p99 (s) | ${R[toride,p50]} / ${R[toride,p99]} | ${R[cowrie,p50]} / ${R[cowrie,p99]} | $(ratio "${R[toride,p50]}" "${R[cowrie,p50]}") (p50) |"
	echo "| RSS before (KiB) | ${R[toride,before]} | ${R[cowrie,before]} | $(ratio "${R[toride,before]}" "${R[cowrie,before]}") |"
	echo "| peak RSS (KiB) | ${R[toride,peak]} | ${R[cowrie,peak]} | $(ratio "${R[toride,peak]}" "${R[cowrie,peak]}") |"
	echo "| RSS per concurrent session (KiB) | ${R[toride,per]} | ${R[cowrie,per]} | $(ratio "${R[toride,per]}" "${R[cowrie,per]}") |"
	echo
	echo "## Held logged-in sessions (slow-loris: one byte every 5 s)"
	echo
	echo "| sessions | toride held | toride RSS (KiB) | toride B/session | cowrie held | cowrie RSS (KiB) | cowrie B/session | toride/cowrie B/session |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in "${HOLDS[@]}"; do
		echo "| $n | ${R[toride,hold$n,held]} | ${R[toride,hold$n,rss]} | ${R[toride,hold$n,per]} | ${R[cowrie,hold$n,held]} | ${R[cowrie,hold$n,rss]} | ${R[cowrie,hold$n,per]} | $(ratio "${R[toride,hold$n,per]}" "${R[cowrie,hold$n,per]}") |"
	done
	echo
	echo "Commands: hp-load --mode mirai --sessions $SESSIONS --duration $DURATION --max-pending $PENDING; hp-load --mode hold --sessions N --hold-interval 5 --max-pending $PENDING; toride honeypot run --listen 127.0.0.1:PORT/telnet=xiongmai-ahb7008t-dvr --events FILE --stats FILE --seed 1; twistd3 -n cowrie with bench/cowrie/cowrie.cfg and userdb.txt."
} >"$OUT"
cat "$OUT"
say "written to $OUT"
