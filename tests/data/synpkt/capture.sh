#!/bin/bash
# Re-make the captures of this directory (see README.md). Needs root (a private network namespace,
# raw sockets, tcpdump) and a built tree: capture.sh BUILD_DIR OUT_DIR. Traffic stays on the lo of
# the namespace tsyn-pkt (127.0.0.1 and ::1); the namespace has no other interface and no route out.
set -euo pipefail
BUILD=$(realpath "$1"); OUT=$(realpath "$2"); HERE=$(dirname "$(realpath "$0")")
SRC=$(realpath "$HERE/../../..")
NS=tsyn-pkt
WORK=$(mktemp -d)
trap 'ip netns del $NS 2>/dev/null || true; rm -rf "$WORK"' EXIT
gcc -std=gnu11 -Wall -Wextra -I"$SRC/src" -I"$SRC/include" "$HERE/gen_probes.c" "$BUILD/libtoride_core.a" \
	$(pkg-config --libs libsodium) -o "$WORK/gen_probes"
"$WORK/gen_probes" ref "$OUT/ref-probes.pcap"
ip netns add $NS
ip netns exec $NS ip link set lo up
chmod 777 "$WORK"    # tcpdump drops to its own user before it writes

capture() { # NAME COMMAND...: run COMMAND under three captures of the namespace's traffic
	local name=$1; shift
	ip netns exec $NS tcpdump -i lo -U -w "$WORK/$name-lo.pcap" tcp 2>/dev/null & local t1=$!
	ip netns exec $NS tcpdump -i any -U -w "$WORK/$name-any-sll2.pcap" tcp 2>/dev/null & local t2=$!
	ip netns exec $NS tcpdump -i any -y LINUX_SLL -U -w "$WORK/$name-any-sll.pcap" tcp 2>/dev/null & local t3=$!
	sleep 1.5
	ip netns exec $NS "$@"
	sleep 1
	kill $t1 $t2 $t3; wait $t1 $t2 $t3 || true
}

# Our probes (gen_probes send) to an open (8080) and a closed (8081) port, IPv4 and IPv6.
ip netns exec $NS python3 -c "
import socket, time
l4 = socket.socket(socket.AF_INET); l4.bind(('127.0.0.1', 8080)); l4.listen()
l6 = socket.socket(socket.AF_INET6); l6.bind(('::1', 8080)); l6.listen()
time.sleep(5)" & P=$!
sleep 0.5
capture probes "$WORK/gen_probes" send
wait $P
cp "$WORK/probes-lo.pcap" "$WORK/probes-any-sll2.pcap" "$WORK/probes-any-sll.pcap" "$OUT/"

# The kernel's own connect() to the same open and closed ports.
capture connect python3 "$HERE/conn.py"
cp "$WORK/connect-lo.pcap" "$OUT/"
