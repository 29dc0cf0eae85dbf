#!/usr/bin/env bash
# `toride survey` holds >= 20,000 check sessions open at once with <= 16 KiB of memory per session
# (issue 7), and still reports exactly the ground truth. Loopback only (127.80.0.0/16), < 3 min.
#
# The fleet: `toride lab` WITH its realistic delays (a wrong password costs a 1 s pause, three per
# connection, as busybox login does), so login conversations stay open. Devices are telnet-only
# copies of real profiles (the other services are dropped to save the lab's descriptors): mostly
# ZTE F668 (per-device password: every listed pair fails, the session stays busy for the whole
# list), plus Xiongmai (root/xc3511, JP-34-10-2), HiSilicon open shell (JP-34-10-1) and Eltex
# (root with an empty password, JP-34-10-2). One login at a time per host means one session per
# service, so the fleet has 20 % more services than the sessions we want.
#
# The survey: `--max-concurrency 25000 --rate 0` (clamped to what the descriptor limit allows), a
# list of SCALE_PAIRS (600) pairs, Mirai's table first, and a budget of SCALE_BUDGET (12) attempts
# per host. A sampler reads every 0.2 s each survey process's VmRSS and open sockets (/proc/PID/fd;
# a session is one open check connection with its service and host). Checks:
#   - peak sessions (all survey processes at the same sample) >= SCALE_SESSIONS (20,000), held for
#     at least 5 samples (not just the burst of connects at the start);
#   - per survey process, (RSS - RSS just before its first session) / sessions, at the worst sample
#     of the steady state (>= 90 % of its own peak: every service in a login conversation, modules
#     and transcripts grown) <= SCALE_KIB_PER_SESSION (16 KiB, the goal). Normal builds only:
#     ASan's redzones and quarantine make RSS meaningless; an ASan build runs 2,000 sessions for
#     the functional checks;
#   - the failing findings equal the truth (tests/integration/fleet_compare.py).
# Measured on 2 cores (2 shards of 11,160 steady sessions each): 4,800 bytes per session (RSS 20.5
# MiB -> 70 MiB per shard). Before the service walked the shared credential list and the read
# buffer was shared, the same run cost 69,900 bytes per session (748 MiB per shard: every service
# copied the 600 pairs) and missed findings under the load; 14,500 with Mirai's 61 pairs alone.
#
# Descriptors: a process cannot hold more sockets than its RLIMIT_NOFILE hard limit, and only
# CAP_SYS_RESOURCE may raise that. The lab needs two descriptors per session (listener + peer), so
# the fleet is split over several `toride lab` processes (one /18 each); when the hard limit is
# below SCALE_SESSIONS plus a reserve, the survey is split into shards (--shard I/N, run at the
# same time) and the peak counts the sessions of all shards at the same sample. Each process is
# still measured on its own. The test prints which case ran.
set -u
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
top=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TORIDE_BIN:-$top/build/toride}
here=$(cd "$(dirname "$0")" && pwd)
py=$(command -v /usr/bin/python3 || command -v python3)
sessions=${SCALE_SESSIONS:-20000}
kib=${SCALE_KIB_PER_SESSION:-16}
pairs=${SCALE_PAIRS:-600}
budget=${SCALE_BUDGET:-12}
memcheck=1
if ldd "$bin" 2>/dev/null | grep -q libasan || nm "$bin" 2>/dev/null | grep -q __asan_init; then
	memcheck=0
	sessions=${SCALE_SESSIONS_ASAN:-2000}
	echo "ASan build: $sessions sessions, no memory bound"
fi
work=$(mktemp -d)
labs=()
cleanup() {
	local p
	for p in "${labs[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${labs[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
ulimit -n "$hard" || fail "cannot raise the descriptor limit to $hard"
# Descriptors a process keeps for itself (stdio, epoll, eventfds, output file, data files).
reserve=200
per_proc=$((hard - reserve))
[ "$per_proc" -ge 1000 ] || fail "descriptor limit $hard is too small for this test"
services=$((sessions * 6 / 5))
# The lab: a listener per service plus a peer per session.
nlabs=$(((2 * services + per_proc - 1) / per_proc))
per_lab=$(((services + nlabs - 1) / nlabs))
[ "$per_lab" -le 16000 ] || fail "a /18 holds at most 16,000 devices here; raise nlabs"
[ "$nlabs" -le 4 ] || fail "127.80.0.0/16 holds 4 labs of a /18"
maxc=25000
[ "$maxc" -le "$per_proc" ] || maxc=$per_proc
shards=$(((services + maxc - 1) / maxc))
if [ "$shards" -gt 1 ]; then
	echo "descriptor hard limit $hard (raising it needs CAP_SYS_RESOURCE): $shards survey shards of" \
		"--max-concurrency $maxc at the same time"
fi

# Telnet-only copies of real profiles.
"$py" - "$top/data/profiles" "$work/profiles" <<'PY' || fail "profiles"
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
for pid in ("zte-f668-gpon", "xiongmai-ahb7008t-dvr", "hisilicon-dvr-open-shell", "eltex-nv102-stb"):
    p = json.load(open(os.path.join(src, pid + ".json")))
    p["services"] = [s for s in p["services"] if s["proto"] == "telnet"]
    p["source"] += "; telnet service only (test_survey_concurrency.sh)"
    json.dump(p, open(os.path.join(dst, pid + ".json"), "w"), indent=1)
PY
# The credential list: Mirai's table, then vendor defaults up to SCALE_PAIRS pairs (NOTICE tries
# ~600): memory per session must not depend on the list's length. The budget of attempts per host
# keeps the run short; every working pair in this fleet is within the first 12 (root/xc3511 is
# Mirai's first pair, root with an empty password its 12th).
"$py" - "$top/data/credentials" "$pairs" >"$work/creds.txt" <<'PY' || fail "creds"
import sys
d, want = sys.argv[1], int(sys.argv[2])
seen, out = set(), []
def add(u, p):
    if (u, p) in seen or ":" in u or len(u) > 128 or len(p) > 128 or len(out) >= want:
        return
    seen.add((u, p))
    out.append(u + ":" + p)
for line in open(d + "/mirai.tsv"):
    f = line.rstrip("\r\n").split("\t")
    if line.startswith("#") or len(f) != 3 or f[:2] == ["user", "password"]:
        continue
    add(f[0], f[1])
for line in list(open(d + "/vendor-defaults.csv"))[1:]:
    f = line.rstrip("\r\n").split(",", 2)
    if len(f) == 3:
        add(*("" if x.lower() == "<blank>" else x for x in f[1:]))
print("\n".join(out))
PY
echo "fleet: $((per_lab * nlabs)) telnet devices in $nlabs lab processes; $(wc -l <"$work/creds.txt") pairs," \
	"$budget attempts per host"
# Ports below 1024 need root; otherwise the lab serves telnet at 10023.
offset=0
[ "$(id -u)" -eq 0 ] || offset=10000
port=$((23 + offset))

mix="zte-f668-gpon=90,xiongmai-ahb7008t-dvr=4,hisilicon-dvr-open-shell=3,eltex-nv102-stb=3"
for i in $(seq 0 $((nlabs - 1))); do
	"$bin" lab --devices "$per_lab" --net "127.80.$((i * 64)).0/18" --profiles "$work/profiles" --mix "$mix" \
		--seed $((i + 1)) --no-ssh --port-offset "$offset" --max-sessions "$per_proc" --truth "$work/truth$i.json" \
		--ready-file "$work/ready$i" >"$work/lab$i.log" 2>&1 &
	labs+=($!)
done
for i in $(seq 0 $((nlabs - 1))); do
	wait_ready "$work/ready$i" "${labs[$i]}" || { cat "$work/lab$i.log"; fail "lab $i did not come up"; }
done
"$py" - "$work" "$nlabs" <<'PY' || fail "truth"
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
devs = []
for i in range(n):
    devs += json.load(open("%s/truth%d.json" % (w, i)))["devices"]
json.dump({"devices": devs}, open(w + "/truth.json", "w"))
open(w + "/scope.txt", "w").write("".join(d["addr"] + "\n" for d in devs))
PY

# Run the shards at the same time and sample them.
start=$(date +%s)
"$py" - "$work" "$bin" "$shards" "$maxc" "$sessions" "$kib" "$memcheck" "$budget" "$port" <<'PY'
import os, subprocess, sys, time
w, binp, shards, maxc, want, kib, memcheck, budget, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1", sys.argv[8], sys.argv[9]
verbose = bool(os.environ.get("SCALE_VERBOSE"))

def rss(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None

def sockets(pid):
    n = 0
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for f in names:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, f)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n

def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None

procs, base, other = [], [], []
for i in range(shards):
    cmd = [binp, "survey", "--scope-file", w + "/scope.txt", "--allow-reserved", "127.80.0.0/16", "-p", port,
           "--creds", w + "/creds.txt", "--no-vendor-creds", "--max-attempts-per-host", budget,
           "--max-concurrency", maxc, "--rate", "0", "--shard", "%d/%d" % (i + 1, shards), "-q",
           "-o", "%s/survey%d.jsonl" % (w, i)]
    if i == 0:
        print("survey:", " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open("%s/survey%d.log" % (w, i), "w"))
    # The RSS before the first session: the last sample (1 ms apart) with no socket open. Loading
    # the data files takes tens of ms; the first loop tick then opens thousands of connections.
    b = o = None
    while p.poll() is None:
        r, n, s = rss(p.pid), nfds(p.pid), sockets(p.pid)
        if s is None or r is None or n is None:
            continue
        if s > 0:
            break
        b, o = r, n
        time.sleep(0.001)
    if b is None:
        print("FAIL: missed the survey's start (no sample before its first connection)")
        sys.exit(1)
    procs.append(p)
    base.append(b)
    other.append(o)

# Every 0.2 s: (sockets, RSS) of each shard. Sockets = open descriptors minus the non-socket ones
# (stdio, epoll, output, data files), counted exactly every 25th sample: reading 20,000 links
# each time would take longer than the period.
def sample(i, p):
    if p.poll() is not None:
        return (0, 0)
    if len(samples) % 25 == 0:
        n, s = nfds(p.pid), sockets(p.pid)
        if n is not None and s is not None and n >= s:
            other[i] = n - s
    n, r = nfds(p.pid), rss(p.pid)
    return (max(0, n - other[i]), r) if n is not None and r is not None else (0, 0)

samples = []
t0 = time.time()
while any(p.poll() is None for p in procs):
    row = [sample(i, p) for i, p in enumerate(procs)]
    samples.append(row)
    if verbose:
        print("  t", " ".join("%d/%.1fM" % (s, r / 2**20) for s, r in row), flush=True)
    time.sleep(max(0, 0.2 * len(samples) - (time.time() - t0)))
rcs = [p.wait() for p in procs]
ok = True
peak_row = max(samples, key=lambda row: sum(s for s, _ in row)) if samples else []
peak = sum(s for s, _ in peak_row)
print("peak: %d sessions open at once (%s)" % (peak, " + ".join(str(s) for s, _ in peak_row)))
# Held, not a burst of connects: at least 1 s worth of samples with >= want sessions open.
held = sum(1 for row in samples if sum(s for s, _ in row) >= want)
print("  >= %d sessions open in %d samples (%.1f s of %.1f s)" % (want, held, held * 0.2, len(samples) * 0.2))
if peak < want or held < 5:
    print("FAIL: peak %d sessions, %d samples with >= %d, wanted at least 5" % (peak, held, want))
    ok = False
# Bytes per session: at the peak sample, and the worst sample of the steady state (>= 90 % of the
# shard's own peak: all services in login conversations, their modules and transcripts grown).
for i in range(shards):
    mine = [row[i] for row in samples if row[i][0] > 0]
    if not mine:
        continue
    top = max(s for s, _ in mine)
    s0, r0 = peak_row[i]
    at_peak = (r0 - base[i]) / s0 if s0 else 0
    steady = max((r - base[i]) / s for s, r in mine if s >= 0.9 * top)
    hwm = max(r for _, r in mine)
    print("  survey %d: RSS %.1f MiB before the first session, %.1f MiB with %d sessions (peak), %.1f MiB "
          "highest; %.0f bytes per session at the peak, %.0f at worst in the steady state (>= %d sessions); "
          "bound %d KiB" % (i + 1, base[i] / 2**20, r0 / 2**20, s0, hwm / 2**20, at_peak, steady,
                            int(0.9 * top + 0.999), kib))
    if memcheck and steady > kib * 1024:
        print("FAIL: survey %d uses %.0f bytes per session, over %d KiB" % (i + 1, steady, kib))
        ok = False
for i, rc in enumerate(rcs):
    log = open("%s/survey%d.log" % (w, i)).read()
    if "Sanitizer" in log or "runtime error" in log:
        print("FAIL: survey %d: sanitizer report" % (i + 1))
        sys.stdout.write(log[-4000:])
        ok = False
    if rc > 1:
        print("FAIL: survey %d exit status %d" % (i + 1, rc))
        sys.stdout.write(open("%s/survey%d.log" % (w, i)).read()[-2000:])
        ok = False
with open(w + "/survey.jsonl", "w") as out:
    for i in range(shards):
        out.write(open("%s/survey%d.jsonl" % (w, i)).read())
sys.exit(0 if ok else 1)
PY
rc=$?
echo "survey took $(($(date +%s) - start)) s"
"$py" "$here/fleet_compare.py" "$work/truth.json" "$work/creds.txt" "$work/survey.jsonl" || rc=1
for i in $(seq 0 $((nlabs - 1))); do
	kill -0 "${labs[$i]}" 2>/dev/null || { echo "FAIL: lab $i died under the load"; rc=1; }
	if grep -qE "Sanitizer|runtime error" "$work/lab$i.log"; then
		echo "FAIL: lab $i: sanitizer report"
		tail -40 "$work/lab$i.log"
		rc=1
	fi
done
[ "$rc" -eq 0 ] && echo "PASS" || echo "FAIL"
exit "$rc"
