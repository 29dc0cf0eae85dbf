#!/usr/bin/env bash
# toride conform against real daemons we did not write, each examined through its description
# file in data/conform/ (the addresses there are this test's):
#   busybox telnetd + login, factory password admin/admin that stays valid
#       -> access pass, credentials fail, brute-force fail, known-defaults fail
#   dropbear with password logins disabled (-s), key-only
#       -> access pass, credentials pass, brute-force n/a, known-defaults n/a
#   mosquitto with allow_anonymous true
#       -> access fail, credentials fail (declared none), brute-force n/a, known-defaults n/a
# Each result document is validated against the schema of docs/conform.md, the exit status must
# match its overall verdict, and tcpdump on the examiner's only interface proves that nothing but
# the described address was contacted.
#
# Topology (exists only inside the two namespaces this script creates; 10.91.0.0/16 is c1's):
#   examiner ns  exam0 10.91.0.2/30  <->  device ns dev0 10.91.0.1/30, devices 10.91.1.1-3/32
# Needs root, iproute2, busybox, dropbear, mosquitto, tcpdump, /usr/bin/python3.
set -u
BUILD=${TORIDE_BUILD_DIR:-$(dirname "${TORIDE_BIN:-build/toride}")}
TORIDE=${TORIDE_BIN:-$BUILD/toride}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3

fail=0
t0=$(date +%s)
ok() { echo "ok   [$(( $(date +%s) - t0 ))s] $*"; }
bad() { echo "FAIL [$(( $(date +%s) - t0 ))s] $*"; fail=1; }
die() { echo "test_conform_daemons: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "test_conform_daemons: SKIP (needs root for network namespaces)"; exit 0; }
for t in ip busybox dropbear dropbearkey mosquitto tcpdump unshare; do
	command -v "$t" >/dev/null || die "needs $t"
done
[ -x "$TORIDE" ] || die "no $TORIDE (build first)"
TORIDE=$(cd "$(dirname "$TORIDE")" && pwd)/$(basename "$TORIDE")

EX_NS=tcfd$$-ex
DEV_NS=tcfd$$-dev
RUN=$(mktemp -d /tmp/toride-conform-daemons.XXXXXX)
chmod 755 "$RUN"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for ns in "$DEV_NS" "$EX_NS"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns delete "$ns" 2>/dev/null
	done
	rm -rf "$RUN"
}
trap cleanup EXIT

ip netns add "$EX_NS" && ip netns add "$DEV_NS" || die "cannot create namespaces"
ip link add exam0 netns "$EX_NS" type veth peer name dev0 netns "$DEV_NS" || die "veth"
ip -n "$EX_NS" addr add 10.91.0.2/30 dev exam0
ip -n "$DEV_NS" addr add 10.91.0.1/30 dev dev0
for a in 10.91.1.1 10.91.1.2 10.91.1.3; do ip -n "$DEV_NS" addr add "$a/32" dev dev0; done
ip -n "$EX_NS" link set lo up && ip -n "$EX_NS" link set exam0 up
ip -n "$DEV_NS" link set lo up && ip -n "$DEV_NS" link set dev0 up
# No default route in the examiner's namespace: only the device net is reachable at all.
ip -n "$EX_NS" route add 10.91.1.0/24 via 10.91.0.1

# Accounts of the telnet device: admin/admin (uid 1000), root with a random password; bind-mounted
# over /etc in a private mount namespace (the lab's way, tests/integration/lab.sh).
ACC=$RUN/acc
mkdir -p "$ACC" "$RUN/home/admin" "$RUN/bin" "$RUN/keys"
now=$(($(date +%s) / 86400))
cat >"$ACC/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
admin:x:1000:100:admin:$RUN/home/admin:/bin/sh
EOF
cat >"$ACC/shadow" <<EOF
root:$(openssl passwd -6 "$(head -c 24 /dev/urandom | base64)"):$now:0:99999:7:::
admin:$(openssl passwd -6 admin):$now:0:99999:7:::
EOF
printf 'root:x:0:\nusers:x:100:admin\n' >"$ACC/group"
: >"$ACC/motd"
: >"$RUN/issue.net"
chmod 644 "$ACC/passwd" "$ACC/group"
chmod 600 "$ACC/shadow"
ln -sf /bin/busybox "$RUN/bin/login"

start_dev() { # NAME CMD...: in the device namespace with private /etc accounts and /run
	local name=$1
	shift
	ip netns exec "$DEV_NS" unshare --mount --uts --propagation private -- \
		/bin/sh -c 'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/shadow" /etc/shadow \
			&& mount --bind "$1/group" /etc/group && mount -t tmpfs -o size=1m,mode=755 conform-run /run \
			&& { [ ! -e /etc/motd ] || mount --bind "$1/motd" /etc/motd; } \
			&& hostname cam && cd / && shift && exec "$@"' \
		sh "$ACC" "$@" </dev/null >"$RUN/$name.log" 2>&1 &
	PIDS+=($!)
	disown $! 2>/dev/null
}

start_dev telnetd "$PY" "$HERE/lab/tcpsvd.py" --addr 10.91.1.1 --port 23 \
	-- /bin/busybox telnetd -i -f "$RUN/issue.net" -l "$RUN/bin/login"
dropbearkey -t ed25519 -f "$RUN/keys/dropbear_ed25519" >/dev/null 2>&1 || die "dropbearkey"
start_dev dropbear /usr/sbin/dropbear -F -E -s -j -k -p 10.91.1.2:22 -r "$RUN/keys/dropbear_ed25519" \
	-P "$RUN/dropbear.pid"
cat >"$RUN/mosquitto.conf" <<EOF
listener 1883 10.91.1.3
allow_anonymous true
persistence false
user root
EOF
start_dev mosquitto /usr/sbin/mosquitto -c "$RUN/mosquitto.conf"

for _ in $(seq 100); do
	n=$(ip netns exec "$DEV_NS" ss -Hltn 2>/dev/null | grep -cE '10\.91\.1\.[123]:(23|22|1883) ')
	[ "$n" = 3 ] && break
	sleep 0.1
done
[ "$n" = 3 ] || { cat "$RUN"/*.log; die "daemons did not start ($n of 3 listening)"; }
ok "busybox telnetd, dropbear -s and mosquitto (anonymous) listening in $DEV_NS"

# ---- the schema of docs/conform.md, checked independently of toride ----
cat >"$RUN/validate.py" <<'EOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
def need(c, msg):
    if not c:
        print("schema:", msg); sys.exit(1)
need(doc.get("toride_conform") == 1, "toride_conform != 1")
need(doc["tool"]["name"] == "toride" and doc["tool"]["version"], "tool")
for k in ("name", "vendor", "model", "firmware", "address"):
    need(isinstance(doc["device"].get(k), str), "device." + k)
need(doc["device"]["address"] == sys.argv[2], "device.address")
need(iso.match(doc["started"]) and iso.match(doc["finished"]), "run timestamps")
need(doc["verdict"] in ("pass", "fail", "unknown"), "overall verdict")
need(isinstance(doc["items"], list) and doc["items"], "items")
for it in doc["items"]:
    for k in ("check", "requirement", "title", "title_ja", "reason", "reason_ja"):
        need(isinstance(it.get(k), str) and (it[k] or k == "title_ja" or k.startswith("reason")), it.get("check", "?") + "." + k)
    need(it["reason"] and it["reason_ja"], it["check"] + ": empty reason")
    for k in ("jc_star", "etsi", "uk_psti"):
        need(isinstance(it.get(k), list) and all(isinstance(x, str) for x in it[k]), it["check"] + "." + k)
    need(it["verdict"] in ("pass", "fail", "unknown", "n/a"), it["check"] + ".verdict")
    need(iso.match(it["started"]) and iso.match(it["finished"]), it["check"] + " timestamps")
    need(it["steps"], it["check"] + ": no steps")
    for st in it["steps"]:
        need(iso.match(st["at"]), it["check"] + ": step without timestamp")
        need(st["outcome"] in ("ok", "violation", "info", "error"), it["check"] + ": outcome " + st["outcome"])
        need(isinstance(st["action"], str) and st["action"] and isinstance(st["observed"], str), it["check"] + ": step fields")
        need("evidence" not in st or isinstance(st["evidence"], str), it["check"] + ": evidence")
cat = {r["id"]: r for r in json.load(open(sys.argv[3]))["requirements"]}
for it in doc["items"]:
    m = cat[it["requirement"]]["mappings"]
    need(it["jc_star"] == m["jc_star_1"] and it["etsi"] == m["etsi_en_303_645"] and it["uk_psti"] == m["uk_psti"],
         it["check"] + ": mappings differ from data/catalog.json")
print(" ".join("%s=%s" % (it["check"], it["verdict"]) for it in doc["items"]))
EOF

# examine NAME ADDRESS "check=verdict ..." : run conform with tcpdump on the examiner's interface
examine() {
	local name=$1 addr=$2 expect=$3 st got want cap=$RUN/$1.pcap
	ip netns exec "$EX_NS" tcpdump -i exam0 -n -U -s 96 -Z root -w "$cap" 2>"$RUN/$name.tcpdump.log" &
	local tpid=$!
	for _ in $(seq 50); do grep -q 'listening on' "$RUN/$name.tcpdump.log" 2>/dev/null && break; sleep 0.1; done
	ip netns exec "$EX_NS" timeout 200 "$TORIDE" conform run --describe "$SRC/data/conform/$name.json" \
		-o "$RUN/$name.result.json" 2>"$RUN/$name.progress"
	st=$?
	sleep 0.5
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	got=$($PY "$RUN/validate.py" "$RUN/$name.result.json" "$addr" "$SRC/data/catalog.json") ||
		{ bad "$name: result does not validate: $got"; tail -20 "$RUN/$name.progress"; return; }
	ok "$name: result validates against the schema ($got)"
	for want in $expect; do
		if [[ " $got " == *" $want "* ]]; then
			ok "$name: $want"
		else
			bad "$name: expected $want, got: $got"
			tail -40 "$RUN/$name.progress"
		fi
	done
	local overall
	overall=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$RUN/$name.result.json")
	case "$overall:$st" in
	pass:0 | fail:1 | unknown:4) ok "$name: exit status $st matches the overall verdict $overall" ;;
	*) bad "$name: exit status $st but overall verdict $overall" ;;
	esac
	# Every IPv4 packet on the examiner's only interface is between it and the described address.
	local others
	others=$(tcpdump -n -r "$cap" ip 2>/dev/null |
		awk '{print $3, $5}' | sed 's/:$//' | tr ' ' '\n' | sed -E 's/^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)(\..*)?$/\1/' |
		grep -vx -e 10.91.0.2 -e "$addr" | sort -u)
	local pkts
	pkts=$(tcpdump -n -r "$cap" ip 2>/dev/null | wc -l)
	if [ -n "$others" ]; then
		bad "$name: packets to/from other addresses: $others"
	elif [ "$pkts" -lt 100 ]; then
		bad "$name: only $pkts packets captured (the full port scan should show thousands)"
	else
		ok "$name: $pkts packets, all between 10.91.0.2 and $addr"
	fi
}

examine busybox-telnetd 10.91.1.1 "access=pass credentials=fail brute-force=fail known-defaults=fail"
grep -q '"violation"' "$RUN/busybox-telnetd.result.json" && ok "busybox-telnetd: violations recorded as steps" ||
	bad "busybox-telnetd: no violation step"
$PY - "$RUN/busybox-telnetd.result.json" <<'EOF' && ok "busybox-telnetd: the known-defaults evidence is the shell transcript of admin/admin" || bad "busybox-telnetd: known-defaults evidence"
import json, sys
doc = json.load(open(sys.argv[1]))
it = [i for i in doc["items"] if i["check"] == "known-defaults"][0]
v = [s for s in it["steps"] if s["outcome"] == "violation"]
assert v and "admin / admin" in v[0]["observed"] and "tr" in v[0].get("evidence", ""), v
b = [i for i in doc["items"] if i["check"] == "brute-force"][0]
assert b["measurements"]["guess_rate_per_min"] > 10, b["measurements"]
EOF
examine dropbear-keyonly 10.91.1.2 "access=pass credentials=pass brute-force=n/a known-defaults=n/a"
examine mosquitto-anonymous 10.91.1.3 "access=fail credentials=fail brute-force=n/a known-defaults=n/a"
grep -q 'MQTT\|mqtt' "$RUN/mosquitto-anonymous.result.json" && ok "mosquitto: the finding names MQTT" || bad "mosquitto: MQTT not named"

# describe --check refuses a typo and names the field
sed 's/"scan_rate"/"scan_rat"/' "$SRC/data/conform/dropbear-keyonly.json" >"$RUN/typo.json"
msg=$("$TORIDE" conform describe --check "$RUN/typo.json" 2>&1)
st=$?
[ "$st" = 1 ] && [[ "$msg" == *scan_rat* ]] && ok "describe --check refuses an unknown field and names it" ||
	bad "describe --check on a typo: status $st, '$msg'"

echo "test_conform_daemons: $([ $fail = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - t0 ))s"
exit $fail
