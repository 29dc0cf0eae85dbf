#!/usr/bin/env bash
# toride honeypot against real clients, with a capture proving it talked to nobody but them.
#
#   hp ns:     hp0 10.94.0.1/30   toride honeypot run (telnet 23, ssh 22, http 80, mqtt 1883), --user nobody
#   client ns: cl0 10.94.0.2/30   OpenSSH ssh + sshpass, busybox telnet (expect), nmap -sV, hydra, curl,
#                                 mosquitto_pub
# tcpdump on hp0 for the whole run. The honeypot's namespace has a default route via the client, so
# a relayed connection (ssh -W/-L, an HTTP proxy request) WOULD leave through hp0 and be captured;
# the client namespace forwards nothing, so no packet can go further either way.
#
# Asserts: the clients get what a device gives (ssh logs in with a Mirai pair and runs commands, a
# wrong password is refused, forwarding is refused, busybox telnet logs in and runs a loader's
# commands, hydra finds the pair, nmap names no honeypot); the honeypot recorded each of them (src
# 10.94.0.2, credentials, commands, the download URL, every pair hydra tried) in JSON Lines and
# SQLite; the sensor ran as nobody with seccomp mode 2, no_new_privs and no capabilities on every
# thread, SIGTERM ends it with exit 0; the capture has no packet from 10.94.0.1 to anyone but 10.94.0.2 and no
# packet between any other pair of addresses.
#
# Needs root, iproute2, tcpdump, ssh, sshpass, busybox, expect, nmap, hydra, curl, mosquitto_pub,
# /usr/bin/python3. Only 10.94.0.0/16 is used (10.94.0.0/30 here). Budget: < 90 s.
set -u
BUILD=${TORIDE_BUILD_DIR:-$(dirname "${TORIDE_BIN:-build/toride}")}
TORIDE=${TORIDE_BIN:-$BUILD/toride}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENTS=$HERE/honeypot/clients
PY=/usr/bin/python3

HP_ADDR=10.94.0.1
CL_ADDR=10.94.0.2
MIRAI_USER=root
MIRAI_PASS=xc3511     # data/credentials/mirai.tsv
TN_USER=admin
TN_PASS=admin         # data/credentials/mirai.tsv
RELAY_TARGET=198.51.100.1 # TEST-NET-2: never routed anywhere; only the capture may ever see it

fail=0
t0=$(date +%s)
ok() { echo "ok   [$(($(date +%s) - t0))s] $*"; }
bad() { echo "FAIL [$(($(date +%s) - t0))s] $*"; fail=1; }
die() {
	echo "test_hp_clients: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || {
	echo "test_hp_clients: SKIP (needs root for network namespaces)"
	exit 0
}
for t in ip tcpdump ssh sshpass busybox expect nmap hydra curl mosquitto_pub; do
	command -v "$t" >/dev/null || die "needs $t"
done
[ -x "$TORIDE" ] || die "no $TORIDE (build first)"
TORIDE=$(cd "$(dirname "$TORIDE")" && pwd)/$(basename "$TORIDE")
"$TORIDE" honeypot run --help >/dev/null 2>&1 || {
	echo "test_hp_clients: SKIP (this toride has no 'honeypot run' yet)"
	exit 0
}
id nobody >/dev/null 2>&1 || die "needs the user nobody"

HP_NS=thpc$$-hp
CL_NS=thpc$$-cl
RUN=$(mktemp -d /tmp/toride-hp-clients.XXXXXX)
chmod 755 "$RUN"
# Outputs in a directory only root may write (the collector keeps the caller's rights for them).
OUT=$RUN/out
mkdir "$OUT"
HP_PID=
TCPDUMP_PID=

cleanup() {
	[ -z "$HP_PID" ] || kill -9 "$HP_PID" 2>/dev/null
	[ -z "$TCPDUMP_PID" ] || kill "$TCPDUMP_PID" 2>/dev/null
	for ns in "$CL_NS" "$HP_NS"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns delete "$ns" 2>/dev/null
	done
	if [ "$fail" = 0 ] || [ -z "${KEEP:-}" ]; then rm -rf "$RUN"; else echo "kept $RUN"; fi
}
trap cleanup EXIT

in_cl() { ip netns exec "$CL_NS" "$@"; }

ip netns add "$HP_NS" && ip netns add "$CL_NS" || die "cannot create namespaces"
ip link add hp0 netns "$HP_NS" type veth peer name cl0 netns "$CL_NS" || die "veth"
for ns in "$HP_NS" "$CL_NS"; do
	# IPv6 off: no router solicitations or MLD reports in the capture, only what the test causes.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$HP_NS" addr add "$HP_ADDR/30" dev hp0
ip -n "$CL_NS" addr add "$CL_ADDR/30" dev cl0
ip -n "$HP_NS" link set hp0 up
ip -n "$CL_NS" link set cl0 up
ip -n "$HP_NS" route add default via "$CL_ADDR"
ip netns exec "$CL_NS" sysctl -qw net.ipv4.ip_forward=0

# ---- capture on the honeypot's only interface, for the whole run
ip netns exec "$HP_NS" tcpdump -i hp0 -n -U -s 128 -Z root -w "$RUN/hp0.pcap" 2>"$RUN/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q 'listening on' "$RUN/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$RUN/tcpdump.log" || die "tcpdump did not start: $(cat "$RUN/tcpdump.log")"

# ---- the honeypot
ip netns exec "$HP_NS" "$TORIDE" honeypot run \
	--listen "$HP_ADDR:23/telnet" --listen "$HP_ADDR:22/ssh" --listen "$HP_ADDR:80/http" \
	--listen "$HP_ADDR:1883/mqtt" --no-delays --seed 94 --user nobody \
	--events "$OUT/events.jsonl" --db "$OUT/hp.db" --hostkey-dir "$RUN/keys" \
	--ready-file "$RUN/ready" --stats "$RUN/stats.json" --duration 300 \
	</dev/null >"$RUN/honeypot.out" 2>"$RUN/honeypot.err" &
HP_PID=$!
for _ in $(seq 150); do [ -e "$RUN/ready" ] && [ -s "$RUN/stats.json" ] && break; sleep 0.1; done
if [ ! -e "$RUN/ready" ]; then
	cat "$RUN/honeypot.err"
	die "the honeypot did not get ready"
fi
ok "honeypot listening on $HP_ADDR:23,22,80,1883 in $HP_NS (pid $HP_PID)"

# ---- who the processes are (before any client: the sandbox must already be on)
SENSOR_PID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sensor_pid"])' "$RUN/stats.json" 2>/dev/null)
proc_field() { awk -v k="$2:" '$1 == k {$1 = ""; print substr($0, 2)}' "/proc/$1/status" 2>/dev/null; }
uid_nobody=$(id -u nobody)
check_ids() { # PID NAME
	local uid gid
	uid=$(proc_field "$1" Uid | tr -s '\t ' ' ')
	gid=$(proc_field "$1" Gid | tr -s '\t ' ' ')
	if [ "$uid" = "$uid_nobody $uid_nobody $uid_nobody $uid_nobody" ]; then
		ok "$2 (pid $1) runs as nobody (Uid: $uid; Gid: $gid; Groups: $(proc_field "$1" Groups))"
	else
		bad "$2 (pid $1) Uid is '$uid', not nobody's $uid_nobody"
	fi
}
if [ -n "$SENSOR_PID" ] && [ -d "/proc/$SENSOR_PID" ]; then
	check_ids "$SENSOR_PID" sensor
	sc=$(proc_field "$SENSOR_PID" Seccomp)
	nnp=$(proc_field "$SENSOR_PID" NoNewPrivs)
	caps=$(proc_field "$SENSOR_PID" CapEff)
	if [ "$sc" = 2 ] && [ "$nnp" = 1 ] && [ "$caps" = 0000000000000000 ]; then
		ok "sensor is confined: Seccomp 2 (filter), NoNewPrivs 1, CapEff 0"
	else
		bad "sensor confinement: Seccomp '$sc' NoNewPrivs '$nnp' CapEff '$caps'"
	fi
	unconfined=0
	for t in /proc/"$SENSOR_PID"/task/*; do
		[ "$(awk '$1 == "Seccomp:" {print $2}' "$t/status" 2>/dev/null)" = 2 ] || unconfined=$((unconfined + 1))
	done
	[ "$unconfined" = 0 ] && ok "every sensor thread has the filter" || bad "$unconfined sensor threads without the filter"
else
	bad "no sensor_pid in --stats ($(cat "$RUN/stats.json" 2>/dev/null))"
fi
# The collector keeps the caller's rights (it writes the outputs and reads no network byte, only
# the sensor's frames as untrusted input; src/cli/cmd_honeypot.c): shown, not asserted.
echo "info collector (pid $HP_PID): Uid $(proc_field "$HP_PID" Uid | tr -s '\t ' ' '), Seccomp $(proc_field "$HP_PID" Seccomp)"

# ---- OpenSSH
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no
	-o ConnectTimeout=10 -o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=2)
out=$(in_cl timeout 30 sshpass -p "$MIRAI_PASS" ssh "${SSH_OPTS[@]}" "$MIRAI_USER@$HP_ADDR" \
	'uname -a; cat /proc/cpuinfo' 2>&1)
st=$?
if [ $st = 0 ] && grep -q '^Linux ' <<<"$out" && grep -qiE '^(processor|cpu model|system type)' <<<"$out"; then
	ok "ssh $MIRAI_USER/$MIRAI_PASS: 'uname -a; cat /proc/cpuinfo' exit 0 ($(head -1 <<<"$out"))"
else
	bad "ssh $MIRAI_USER/$MIRAI_PASS exit $st: $(head -5 <<<"$out")"
fi
WRONG=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(in_cl timeout 30 sshpass -p "$WRONG" ssh "${SSH_OPTS[@]}" "$MIRAI_USER@$HP_ADDR" 'echo in' 2>&1)
st=$?
if [ $st != 0 ] && ! grep -q '^in$' <<<"$out"; then
	ok "ssh with a random wrong password is refused (exit $st)"
else
	bad "ssh with a wrong password: exit $st, $out"
fi
out=$(in_cl timeout 30 sshpass -p "$MIRAI_PASS" ssh "${SSH_OPTS[@]}" -W "$RELAY_TARGET:80" "$MIRAI_USER@$HP_ADDR" \
	</dev/null 2>&1)
st=$?
[ $st != 0 ] && ok "ssh -W $RELAY_TARGET:80 is refused (exit $st: $(tr '\n' ' ' <<<"$out" | cut -c1-80))" ||
	bad "ssh -W was not refused: $out"
in_cl timeout 20 sshpass -p "$MIRAI_PASS" ssh "${SSH_OPTS[@]}" -N -L "127.0.0.1:18080:$RELAY_TARGET:80" \
	"$MIRAI_USER@$HP_ADDR" </dev/null >"$RUN/ssh-L.log" 2>&1 &
LPID=$!
for _ in $(seq 50); do in_cl ss -Hltn 2>/dev/null | grep -q '127.0.0.1:18080 ' && break; sleep 0.1; done
out=$(in_cl curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/ 2>&1)
kill "$LPID" 2>/dev/null
wait "$LPID" 2>/dev/null
if [ "$out" = 000 ]; then
	ok "ssh -L 18080:$RELAY_TARGET:80: the forwarded connection got nothing (curl: $out; $(grep -m1 -i 'channel\|open failed' "$RUN/ssh-L.log"))"
else
	bad "ssh -L forwarding answered: HTTP $out"
fi

# ---- busybox telnet (the client a compromised device itself would use)
in_cl "$CLIENTS/busybox_telnet.exp" "$HP_ADDR" 23 "$TN_USER" "$TN_PASS" >"$RUN/telnet.log" 2>&1
st=$?
if [ $st = 0 ] && tr -d '\r' <"$RUN/telnet.log" | grep -qx 'hello-busybox-telnet'; then
	ok "busybox telnet $TN_USER/$TN_PASS: logged in, loader commands answered"
else
	bad "busybox telnet (exit $st):"
	tail -20 "$RUN/telnet.log"
fi

# ---- MQTT
if in_cl timeout 10 mosquitto_pub -h "$HP_ADDR" -u "$MIRAI_USER" -P "$MIRAI_PASS" -t toride/test -m hi; then
	ok "mosquitto_pub $MIRAI_USER/$MIRAI_PASS accepted"
else
	bad "mosquitto_pub $MIRAI_USER/$MIRAI_PASS refused"
fi

# ---- HTTP proxy attempts: answered by the device itself or refused, never relayed
code=$(in_cl curl -s -m 10 -o "$RUN/proxy.body" -w '%{http_code}' -x "http://$HP_ADDR:80" "http://$RELAY_TARGET/")
ok "curl -x http://$HP_ADDR:80 http://$RELAY_TARGET/: HTTP $code from the device ($(head -c 60 "$RUN/proxy.body" | tr -d '\r\n'))"
code=$(in_cl curl -s -m 10 -p -o /dev/null -w '%{http_code}' -x "http://$HP_ADDR:80" "http://$RELAY_TARGET/")
case "$code" in
2??) bad "CONNECT $RELAY_TARGET:80 through the device was accepted (HTTP $code)" ;;
*) ok "curl -p (CONNECT $RELAY_TARGET:80) is not tunnelled (HTTP $code)" ;;
esac

# ---- hydra: the Mirai password last, after wrong ones that are in no list the honeypot accepts
# (--accept listed takes every Mirai pair: root/123456 would rightly log in). SSH: one task, so all
# five go over one connection in order and hydra stops at the pair. Telnet: five tasks, one pair
# each on its own connection, because hydra 9.4's telnet module garbles the second and later
# pairs on a connection to a busybox-style login (it types "oot" for "root"; the honeypot records
# exactly that; /work/shared/reference/peer-baselines.md saw the same against real busybox).
printf '%s\n' hunter2x letmein42 tr0ub4dor q9Zr7wLx "$MIRAI_PASS" >"$RUN/passwords"
for svc in telnet ssh; do
	[ "$svc" = ssh ] && hopts=(-t 1 -f) || hopts=(-t 5)
	(cd "$RUN" && in_cl timeout 60 hydra -I -V "${hopts[@]}" -l "$MIRAI_USER" -P "$RUN/passwords" "$svc://$HP_ADDR" \
		>"$RUN/hydra-$svc.log" 2>&1 </dev/null)
	if grep -qE "host: $HP_ADDR +login: $MIRAI_USER +password: $MIRAI_PASS\$" "$RUN/hydra-$svc.log"; then
		ok "hydra $svc finds $MIRAI_USER/$MIRAI_PASS ($(grep -c '\[ATTEMPT\]' "$RUN/hydra-$svc.log") attempts)"
	else
		bad "hydra $svc did not find $MIRAI_USER/$MIRAI_PASS:"
		grep -E 'host:|ERROR|\[ATTEMPT\]' "$RUN/hydra-$svc.log" | head -10
	fi
done

# ---- nmap -sV: what it names each port, and never a honeypot
in_cl timeout 60 nmap -sV -n -Pn -T4 -p 22,23,80,1883 "$HP_ADDR" >"$RUN/nmap.txt" 2>&1
st=$?
grep -E '^[0-9]+/tcp' "$RUN/nmap.txt" | sed 's/^/     nmap: /'
if [ $st != 0 ] || [ "$(grep -cE '^[0-9]+/tcp +open' "$RUN/nmap.txt")" != 4 ]; then
	bad "nmap -sV (exit $st) did not see the 4 ports open"
	cat "$RUN/nmap.txt"
elif grep -qiE 'honeypot|cowrie' "$RUN/nmap.txt"; then
	bad "nmap says honeypot/cowrie: $(grep -iE 'honeypot|cowrie' "$RUN/nmap.txt")"
else
	ok "nmap -sV: 4 open ports, no 'honeypot' or 'Cowrie'"
fi

# ---- stop: identities once more (the sensor must not have been replaced), then SIGTERM
if [ -n "$SENSOR_PID" ] && [ -d "/proc/$SENSOR_PID" ]; then
	check_ids "$SENSOR_PID" "sensor after the clients"
else
	bad "the sensor (pid $SENSOR_PID) is gone before the stop: $(tail -5 "$RUN/honeypot.err")"
fi
kill -TERM "$HP_PID"
for _ in $(seq 100); do kill -0 "$HP_PID" 2>/dev/null || break; sleep 0.1; done
wait "$HP_PID"
st=$?
HP_PID=
[ $st = 0 ] && ok "SIGTERM: the honeypot exited 0" || {
	bad "SIGTERM: exit $st"
	tail -20 "$RUN/honeypot.err"
}
sleep 0.5
kill "$TCPDUMP_PID" 2>/dev/null
wait "$TCPDUMP_PID" 2>/dev/null
TCPDUMP_PID=

# ---- what the honeypot recorded
cat >"$RUN/spec.json" <<EOF
{"src": "$CL_ADDR", "ssh_pass": ["$MIRAI_USER", "$MIRAI_PASS"], "ssh_wrong": "$WRONG",
 "telnet_pass": ["$TN_USER", "$TN_PASS"], "mqtt_pass": ["$MIRAI_USER", "$MIRAI_PASS"],
 "hydra": {"telnet": "$RUN/hydra-telnet.log", "ssh": "$RUN/hydra-ssh.log"},
 "hydra_user": "$MIRAI_USER", "hydra_good": "$MIRAI_PASS"}
EOF
if [ -s "$OUT/events.jsonl" ]; then
	$PY "$CLIENTS/check_events.py" "$OUT/events.jsonl" "$OUT/hp.db" "$RUN/spec.json" | sed 's/^/     /'
	[ "${PIPESTATUS[0]}" = 0 ] && ok "events: every client recorded as expected" || bad "events (FAIL lines above)"
else
	bad "no events written"
fi

# ---- the capture: the honeypot spoke only to its client, nothing else crossed hp0
total=$(tcpdump -n -r "$RUN/hp0.pcap" 2>/dev/null | wc -l)
ip_total=$(tcpdump -n -r "$RUN/hp0.pcap" ip 2>/dev/null | wc -l)
from_hp_elsewhere=$(tcpdump -n -r "$RUN/hp0.pcap" "src host $HP_ADDR and not dst host $CL_ADDR" 2>/dev/null | wc -l)
other_pairs=$(tcpdump -n -r "$RUN/hp0.pcap" \
	"not (src host $HP_ADDR and dst host $CL_ADDR) and not (src host $CL_ADDR and dst host $HP_ADDR) and not arp" \
	2>/dev/null | wc -l)
relay=$(tcpdump -n -r "$RUN/hp0.pcap" "host $RELAY_TARGET" 2>/dev/null | wc -l)
if [ "$ip_total" -lt 200 ]; then
	bad "capture: only $ip_total IP packets (the clients alone make thousands); capture broken?"
elif [ "$from_hp_elsewhere" = 0 ] && [ "$other_pairs" = 0 ] && [ "$relay" = 0 ]; then
	ok "capture: $total packets on hp0, $ip_total IP, all between $HP_ADDR and $CL_ADDR; 0 from $HP_ADDR elsewhere, 0 to/from $RELAY_TARGET"
else
	bad "capture: $from_hp_elsewhere packets from $HP_ADDR to others, $other_pairs between other addresses, $relay with $RELAY_TARGET"
	tcpdump -n -r "$RUN/hp0.pcap" "not (host $HP_ADDR and host $CL_ADDR) and not arp" 2>/dev/null | head -10
fi

echo "test_hp_clients: $([ $fail = 0 ] && echo PASS || echo FAIL) in $(($(date +%s) - t0)) s"
exit $fail
