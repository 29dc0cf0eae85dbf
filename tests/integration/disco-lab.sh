#!/usr/bin/env bash
# The discovery lab: thousands of target addresses in a network namespace, most silent, some live
# (every closed port answers RST), some with open ports, plus "sentinel" hosts that a scan must never
# touch. For SYN discovery tests and the bench against zmap, masscan and nmap. See docs/disco-lab.md.
#
#   disco-lab.sh up PREFIX [--big] [--seed N]   build <PREFIX>-scan and <PREFIX>-tgt (~1 s); replaces a
#                                               lab of the same prefix
#   disco-lab.sh down PREFIX                    stop the lab's processes, delete both namespaces
#   disco-lab.sh truth PREFIX [4|6|all]         write the truth (open.tsv, closed-sample.tsv,
#                                               silent-sample.tsv, sentinels.tsv) into the run dir's
#                                               truth-<family>/ and print its path
#   disco-lab.sh verify PREFIX                  connect to samples from the scanner namespace with
#                                               python (not toride); exit 1 on any deviation
#   disco-lab.sh env PREFIX                     shell variables: eval "$(disco-lab.sh env PREFIX)"
#   disco-lab.sh exec PREFIX CMD...             run CMD in the scanner namespace
#
# Run dir: /tmp/<PREFIX>-disco (plan.json, route batches, listeners.tsv, listener log).
#
# Safety: only 10.96.0.0/30 + fd95:ffff::/64 (the link), 10.95.0.0/16 and fd95::/32 (targets) are
# configured, and only inside the two namespaces; the host's namespace gets nothing. The scanner
# namespace's only routes are the link and the two target blocks via the target namespace; there is no
# default route, so a target outside the lab gets "Network unreachable" and never leaves.
set -euo pipefail
# shellcheck source=tests/integration/netns-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns-lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DL=$HERE/disco/discolab.py
# Debian's python3: a python3 earlier on PATH (pyenv, venv) may run as a user without the sockets.
PY=/usr/bin/python3
SCAN_IF=scan0
TGT_IF=tgt0
# How long `up` waits for the listener process to bind every socket (it takes ~50 ms for 1,100).
UP_WAIT_S=20

die() {
	echo "disco-lab: $*" >&2
	exit 1
}

usage() {
	sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 2 ] || usage
CMD=$1
PREFIX=$2
shift 2
# The prefix names namespaces and the run dir: a plain word, so it can never reach a path or an option.
[[ "$PREFIX" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$ ]] || die "PREFIX must match [A-Za-z0-9][A-Za-z0-9_-]{0,15}"
SCAN_NS=$PREFIX-scan
TGT_NS=$PREFIX-tgt
RUN_DIR=/tmp/$PREFIX-disco

need_root() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	command -v ip >/dev/null || die "needs iproute2 (ip)"
}

cmd_down() {
	need_root
	ns_teardown "$TGT_NS" "$SCAN_NS"
	rm -f "$RUN_DIR/up"
}

cmd_up() {
	need_root
	local mode=default seed=1
	while [ $# -gt 0 ]; do
		case "$1" in
		--big) mode=big; shift ;;
		--seed) seed=${2:?}; shift 2 ;;
		*) die "up: unknown argument $1" ;;
		esac
	done
	[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed must be a number"
	cmd_down
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR"
	# A failed or interrupted up leaves nothing behind.
	# shellcheck disable=SC2154
	trap 'rc=$?; [ "$rc" = 0 ] || cmd_down; exit "$rc"' EXIT
	trap 'exit 130' INT TERM
	"$PY" "$DL" plan --mode "$mode" --seed "$seed" --out "$RUN_DIR"
	# shellcheck disable=SC1091
	. "$RUN_DIR/env.sh"

	ip netns add "$SCAN_NS"
	ip netns add "$TGT_NS"
	ip link add "$SCAN_IF" address "$DL_SCAN_MAC" netns "$SCAN_NS" type veth \
		peer name "$TGT_IF" address "$DL_TGT_MAC" netns "$TGT_NS"
	local ns
	for ns in "$SCAN_NS" "$TGT_NS"; do
		# No router advertisements, no autoconfiguration, no forwarding: the only IPv6 addresses and
		# routes are the ones below. DAD off so the link address works at once.
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.forwarding=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.autoconf=0 net.ipv4.ip_forward=0
		ip -n "$ns" link set lo up
	done
	# Static neighbour entries on both ends: no ARP/ND exchange delays the first probes or appears in a
	# capture, and the kernel's path (toride, nmap) and the fixed-MAC path (zmap -G, masscan --router-mac)
	# send to the same MAC.
	ip -n "$SCAN_NS" -batch - <<EOF
addr add $DL_SCAN4/30 dev $SCAN_IF
addr add $DL_SCAN6/64 dev $SCAN_IF nodad
link set $SCAN_IF up
route add 10.95.0.0/16 via $DL_TGT4 dev $SCAN_IF
route add fd95::/32 via $DL_TGT6 dev $SCAN_IF
neigh replace $DL_TGT4 lladdr $DL_TGT_MAC dev $SCAN_IF nud permanent
neigh replace $DL_TGT6 lladdr $DL_TGT_MAC dev $SCAN_IF nud permanent
EOF
	ip -n "$TGT_NS" -batch - <<EOF
addr add $DL_TGT4/30 dev $TGT_IF
addr add $DL_TGT6/64 dev $TGT_IF nodad
link set $TGT_IF up
route add blackhole 10.95.0.0/16
route add blackhole fd95::/32
neigh replace $DL_SCAN4 lladdr $DL_SCAN_MAC dev $TGT_IF nud permanent
neigh replace $DL_SCAN6 lladdr $DL_SCAN_MAC dev $TGT_IF nud permanent
EOF
	# Listeners bind IPv6 addresses that exist only as AnyIP routes (IPv4 allows that for local routes,
	# IPv6 needs the sysctl).
	ip netns exec "$TGT_NS" sysctl -q -w net.ipv6.ip_nonlocal_bind=1
	ip -n "$TGT_NS" -batch "$RUN_DIR/routes4.batch"
	ip -n "$TGT_NS" -6 -batch "$RUN_DIR/routes6.batch"
	ip netns exec "$TGT_NS" setsid "$PY" "$DL" listen --listeners "$RUN_DIR/listeners.tsv" \
		--ready "$RUN_DIR/listen.ready" </dev/null >"$RUN_DIR/listen.log" 2>&1 &
	local i
	for i in $(seq $((UP_WAIT_S * 10))); do
		[ -e "$RUN_DIR/listen.ready" ] && break
		[ "$i" -lt $((UP_WAIT_S * 10)) ] || { cat "$RUN_DIR/listen.log" >&2; die "listeners did not come up"; }
		sleep 0.1
	done
	trap - EXIT INT TERM
	date -u +%FT%TZ >"$RUN_DIR/up"
	echo "disco-lab: up ($PREFIX, $mode): $DL_LIVE4 scattered live IPv4 + 3 live /24s, $DL_LIVE6 live IPv6," \
		"$(tr -d '\n' <"$RUN_DIR/listen.ready") listening sockets; scope $DL_SCOPE4 and $DL_SCOPE6," \
		"ports $DL_PORTS"
}

cmd_truth() {
	local fam=${1:-all}
	case "$fam" in 4|6|all) ;; *) die "truth: family must be 4, 6 or all" ;; esac
	[ -e "$RUN_DIR/plan.json" ] || die "no lab $PREFIX (run up first)"
	"$PY" "$DL" truth --plan "$RUN_DIR/plan.json" --family "$fam" --out "$RUN_DIR/truth-$fam" >&2
	echo "$RUN_DIR/truth-$fam"
}

cmd_env() {
	[ -e "$RUN_DIR/env.sh" ] || die "no lab $PREFIX (run up first)"
	cat "$RUN_DIR/env.sh"
	cat <<EOF
DL_PREFIX=$PREFIX
DL_SCAN_NS=$SCAN_NS
DL_TGT_NS=$TGT_NS
DL_SCAN_IF=$SCAN_IF
DL_TGT_IF=$TGT_IF
DL_RUN_DIR=$RUN_DIR
DL_PLAN=$RUN_DIR/plan.json
DL_PY=$DL
EOF
}

case "$CMD" in
up) cmd_up "$@" ;;
down) cmd_down; echo "disco-lab: down ($PREFIX)" ;;
truth) cmd_truth "$@" ;;
verify) need_root; ns_exists "$SCAN_NS" || die "no lab $PREFIX"; exec ip netns exec "$SCAN_NS" "$PY" "$DL" verify --plan "$RUN_DIR/plan.json" ;;
env) cmd_env ;;
exec) need_root; [ $# -gt 0 ] || usage; exec ip netns exec "$SCAN_NS" "$@" ;;
*) usage ;;
esac
