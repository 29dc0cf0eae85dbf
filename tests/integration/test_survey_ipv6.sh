#!/usr/bin/env bash
# IPv6 end to end on the connect path. In a network namespace of its own (lo up, an AnyIP local
# route for fd96::/112 to lo, no other route), `toride lab` runs 200 emulated devices on
# fd96::/112 and `toride survey --scope fd96::/118` surveys the block they sit in. Checked:
#  1. the failing findings equal the fleet's ground truth exactly (fleet_compare.py);
#  2. every protocol works over IPv6: each of telnet, ssh, http, rtsp, mqtt and ftp is present in
#     the fleet, every truth service is identified with its protocol, and each protocol has
#     failing findings to get right;
#  3. requests name the target the IPv6 way: every HTTP "Host:" is "[addr]:port" and every RTSP URL
#     is "rtsp://[addr]:port/..." of the finding's own address and port;
#  4. nothing outside the surveyed /118 was probed;
#  5. `toride report` on the database (text, json, csv) shows the same failing findings with the
#     IPv6 addresses written correctly.
# Needs root and ip netns (prints SKIP and exits 0 otherwise). The namespace and the lab are always
# taken down (trap). Traffic never leaves the namespace: it has no route but the local one.
set -u
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${TORIDE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=${TORIDE_BIN:-$src/build/toride}
py=$(command -v /usr/bin/python3 || command -v python3)
ns=tv6-survey
net=fd96::/112
# The survey covers the /118 the devices sit in (1,024 addresses): the whole /112 is 589,824 connects,
# 60-90 s of the CI budget for nothing the /118 does not show.
scope=fd96::/118
devices=${TORIDE_V6_DEVICES:-200}
# Upper bound for the survey (about 45 s for 65,536 addresses x 9 ports on 2 cores).
survey_timeout=${TORIDE_V6_SURVEY_TIMEOUT_S:-170}

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root / ip netns"
	exit 0
fi
case "$bin" in /*) ;; *) bin=$(pwd)/$bin ;; esac
if [ ! -x "$bin" ]; then
	echo "FAIL: toride binary not found at $bin (set TORIDE_BIN)"
	exit 1
fi

work=$(mktemp -d)
lab=
cleanup() {
	if [ -n "$lab" ]; then
		kill "$lab" 2>/dev/null
		wait "$lab" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# A namespace left over by a killed run would hold a stale lab: start clean.
ip netns del "$ns" 2>/dev/null
ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
ip -n "$ns" link set lo up
ip -n "$ns" -6 route add local "$net" dev lo || { echo "FAIL: AnyIP route for $net"; exit 1; }
if [ -n "$(ip -n "$ns" route show default)$(ip -n "$ns" -6 route show default)" ]; then
	echo "FAIL: namespace $ns has a default route"
	exit 1
fi

start=$(date +%s)
ip netns exec "$ns" "$bin" lab --devices "$devices" --net "$net" --no-delays --truth "$work/truth.json" \
	--ready-file "$work/ready" --hostkeys "$work/hostkeys" >"$work/lab.log" 2>&1 &
lab=$!
if ! wait_ready "$work/ready" "$lab" 30; then
	echo "FAIL: the IPv6 lab did not come up"
	cat "$work/lab.log"
	exit 1
fi
ready=$(date +%s)
ports=$("$py" -c '
import json, sys
t = json.load(open(sys.argv[1]))
print(",".join(str(p) for p in sorted({s["port"] for d in t["devices"] for s in d["services"]})))' "$work/truth.json")
grep -v '^#' "$src/data/credentials/mirai.tsv" | tail -n +2 | awk -F'\t' '{print $1":"$2}' >"$work/creds.txt"

# The connect path explicitly where the survey knows the choice (SYN discovery is tested elsewhere).
disco=()
if "$bin" survey --help 2>&1 | grep -q -- '--discovery'; then
	disco=(--discovery connect)
fi
ip netns exec "$ns" timeout "$survey_timeout" "$bin" survey --scope "$scope" --allow-reserved "$scope" \
	-p "$ports" --creds "$work/creds.txt" --no-vendor-creds "${disco[@]}" --db "$work/s.db" \
	-o "$work/s.jsonl" -q --max-concurrency 4096 --rate 0 2>"$work/survey.log"
rc=$?
echo "lab up in $(( ready - start )) s; survey of $scope ($devices devices, ports $ports) took $(( $(date +%s) - ready )) s"
fail=0
if [ "$rc" != 1 ]; then
	echo "FAIL: survey exit $rc, want 1 (failing devices found)"
	cat "$work/survey.log"
	fail=1
fi

# 1. findings = truth
if "$py" "$here/fleet_compare.py" "$work/truth.json" "$work/creds.txt" "$work/s.jsonl"; then
	echo "ok   findings match the truth"
else
	echo "FAIL: findings differ from the truth"
	fail=1
fi

# 2-4. per protocol, request targets, scope
"$py" - "$work/truth.json" "$work/s.jsonl" "$work/creds.txt" "$scope" <<'PY' || fail=1
import ipaddress, json, re, sys
from collections import Counter

truth = json.load(open(sys.argv[1]))
creds = {tuple(l.rstrip("\n").split(":", 1)) for l in open(sys.argv[3]) if ":" in l}
net = ipaddress.ip_network(sys.argv[4])
bad = 0

def fail(msg):
    global bad
    bad += 1
    if bad <= 20:
        print("FAIL: " + msg)

services, fails, probed = {}, Counter(), 0
want_fail = Counter()
for d in truth["devices"]:
    for s in d["services"]:
        services[(d["addr"], s["port"])] = s["proto"]
        if s["open"] or ("login" in s and (s["login"]["user"], s["login"]["password"]) in creds):
            want_fail[s["proto"]] += 1
ident = {}
rtsps = hosts = 0
for line in open(sys.argv[2]):
    e = json.loads(line)
    a = e.get("addr")
    if a is not None:
        ip = ipaddress.ip_address(a)
        if ip not in net:
            fail("probed %s, outside %s" % (a, net))
        if str(ip) != a:
            fail("address %s is not in canonical text form (%s)" % (a, ip))
    if e["type"] == "probe_done":
        probed += 1
    elif e["type"] == "observation" and e.get("kind") == "service":
        ident[(a, e["port"])] = e["proto"]
    elif e["type"] == "finding":
        if e["verdict"] == "fail":
            fails[e["proto"]] += 1
        tr = (e.get("evidence") or {}).get("transcript", "")
        want = "[%s]:%d" % (a, e["port"])
        # transcripts are escaped text: CR LF is written as \r\n
        for h in re.findall(r"Host: (.*?)\\r\\n", tr):
            hosts += 1
            if h != want:
                fail("%s:%d: HTTP Host %r, want %r" % (a, e["port"], h, want))
        for u in re.findall(r"rtsp://([^/\s\\]*)", tr):
            rtsps += 1
            if u != want:
                fail("%s:%d: RTSP URL host %r, want %r" % (a, e["port"], u, want))

nports = len({p for _, p in services})
if probed != net.num_addresses * nports:
    fail("%d probes done, want %d (every address x port once)" % (probed, net.num_addresses * nports))
for proto in ("telnet", "ssh", "http", "rtsp", "mqtt", "ftp"):
    n = sum(1 for p in services.values() if p == proto)
    if n == 0:
        fail("the fleet has no %s service: the test cannot check it" % proto)
    if want_fail[proto] == 0:
        fail("no %s service should fail: the test cannot check its login over IPv6" % proto)
    if fails[proto] != want_fail[proto]:
        fail("%s: %d failing findings, want %d" % (proto, fails[proto], want_fail[proto]))
for k, proto in services.items():
    if ident.get(k) != proto:
        fail("[%s]:%d: identified as %s, truth %s" % (k[0], k[1], ident.get(k), proto))
if hosts == 0 or rtsps == 0:
    fail("no HTTP Host header (%d) or RTSP URL (%d) in the evidence to check" % (hosts, rtsps))
if bad:
    print("FAIL: %d problems" % bad)
    sys.exit(1)
print("ok   %d services identified by protocol (%s); failing per protocol %s; %d Host headers and %d RTSP "
      "URLs name [addr]:port; %d probes, all inside %s" % (len(services), dict(Counter(services.values())),
      dict(fails), hosts, rtsps, probed, net))
PY

# 5. the report over the database
"$bin" report --db "$work/s.db" >"$work/r.txt" 2>"$work/report.log" &&
	"$bin" report --db "$work/s.db" --format json -o "$work/r.json" 2>>"$work/report.log" &&
	"$bin" report --db "$work/s.db" --format csv -o "$work/r.csv" 2>>"$work/report.log"
if [ $? != 0 ]; then
	echo "FAIL: toride report"
	cat "$work/report.log"
	fail=1
elif "$py" - "$work/s.jsonl" "$work/r.txt" "$work/r.json" "$work/r.csv" <<'PY'; then
import csv, json, re, sys
want = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "finding" and e["verdict"] == "fail":
        want.add((e["addr"], e["port"], e["proto"], e["requirement"]))
txt = set(re.findall(r"^\[\d+\] (\S+) port (\d+)/(\S+)\s+(\S+) FAIL$", open(sys.argv[2]).read(), re.M))
txt = {(a, int(p), pr, r) for a, p, pr, r in txt}
js = {(f["addr"], f["port"], f["proto"], f["requirement"]) for f in json.load(open(sys.argv[3]))["findings"]
      if f.get("verdict") == "fail"}
cs = {(r["addr"], int(r["port"]), r["proto"], r["requirement"]) for r in csv.DictReader(open(sys.argv[4]))
      if r["verdict"] == "fail"}
ok = True
for name, got in (("text", txt), ("json", js), ("csv", cs)):
    if got != want:
        ok = False
        print("FAIL: report %s: %d failing findings, want %d; e.g. missing %s, extra %s" % (
              name, len(got), len(want), sorted(want - got)[:3], sorted(got - want)[:3]))
if not ok:
    sys.exit(1)
print("ok   report (text, json, csv): the same %d failing findings, IPv6 addresses as written" % len(want))
PY
	:
else
	fail=1
fi

[ "$fail" = 0 ] && echo "test_survey_ipv6: all passed"
exit $fail
