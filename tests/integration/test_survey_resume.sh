#!/usr/bin/env bash
# A survey with --db that is killed (SIGKILL) or interrupted (SIGINT) after about a third of its
# work, then re-run with the same command, must end with exactly the findings of the ground truth
# and of an uninterrupted run, and must not check again any pair that was finished before the
# resume: no new login_attempt for a pair whose probe_done was stored (docs/survey-scale.md
# "Progress and resume"). Connect path (no root needed), and the SYN path too when this toride
# has --discovery and runs as root (raw sockets on lo); the fleet is `toride lab` on
# 127.71.0.0/16 (this test's block) with the devices' real delays after a wrong password, so that
# checks take seconds and the kill lands while many are in flight.
#
# Per discovery path, the three surveys (uninterrupted, SIGKILL, SIGINT) run at the same time
# against one fleet, each with its own database, to keep the test well under two minutes.
set -u
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
bin=${TORIDE_BIN:-build/toride}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
py=$(command -v /usr/bin/python3 || command -v python3)
devices=${RESUME_DEVICES:-300}
work=$(mktemp -d)
pids=()
# Every process this test starts is listed in $work/pids (the surveys run inside background
# subshells, whose own pids are not enough): an early exit kills exactly those.
cleanup() {
	for p in "${pids[@]}" $(cat "$work/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
start=$(date +%s)

# ---- the fleet ----
"$bin" lab --devices "$devices" --net 127.71.0.0/16 --truth "$work/truth.json" --ready-file "$work/ready" \
	--hostkeys "$work/hostkeys" >"$work/lab.log" 2>&1 &
lab=$!
echo "$lab" >>"$work/pids"
wait_ready "$work/ready" "$lab" || { cat "$work/lab.log"; fail "the lab did not come up"; }
"$py" - "$work" <<'PY' || fail "truth"
import json, sys
w = sys.argv[1]
t = json.load(open(w + "/truth.json"))
assert all(d["addr"].startswith("127.71.") for d in t["devices"]), "fleet outside 127.71.0.0/16"
open(w + "/scope.txt", "w").write("".join(d["addr"] + "\n" for d in t["devices"]))
open(w + "/ports.txt", "w").write(",".join(str(p) for p in sorted({s["port"] for d in t["devices"] for s in d["services"]})))
open(w + "/open_total", "w").write(str(sum(len(d["services"]) for d in t["devices"])))
PY
# Mirai's first 12 pairs: enough for ~170 findings, short enough that the slowest device (wrong
# passwords answered after a delay, one login at a time per host) finishes in ~30 s.
grep -v '^#' "$top/data/credentials/mirai.tsv" | tail -n +2 | awk -F'\t' '{print $1":"$2}' | head -12 >"$work/creds.txt"
open_total=$(cat "$work/open_total")

# The same command every time but for the database and the output (neither is part of the
# survey's identity, so all runs have the same survey id). exec: "survey ... &" must leave the
# pid of toride itself in $! (a signal to a subshell would not reach it); in the foreground, call
# wait for it.
survey() { # DB JSONL LOG; the discovery options in ${disco[@]}
	exec "$bin" survey --scope-file "$work/scope.txt" --allow-reserved 127.0.0.0/8 -p "$(cat "$work/ports.txt")" \
		--creds "$work/creds.txt" --no-vendor-creds "${disco[@]}" --db "$1" -o "$2" 2>>"$3"
}

# Open pairs finished (probe_done state open) in DB; 0 while the file is not there yet.
open_done() {
	"$py" - "$1" <<'PY'
import sqlite3, sys
try:
    c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
    print(c.execute("SELECT count(*) FROM probe_done WHERE state = 'open'").fetchone()[0])
except sqlite3.Error:
    print(0)
PY
}

# What a resume must not touch: every finished pair and the login attempts stored for them.
snapshot() { # DB OUT.json
	"$py" - "$1" "$2" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
done = [list(r) for r in c.execute("SELECT addr, port, state FROM probe_done")]
logins = [[a, p, k.hex(), t] for a, p, k, t in c.execute(
    "SELECT o.addr, o.port, o.key, o.time FROM observation o JOIN probe_done d"
    " ON d.survey = o.survey AND d.addr = o.addr AND d.port = o.port WHERE o.kind = 'login_attempt'")]
json.dump({"done": done, "logins": sorted(logins)}, open(sys.argv[2], "w"))
PY
}

# Interrupt a run with SIG after a third of the open pairs are finished, then resume it.
interrupt_and_resume() { # NAME SIG
	local name=$1 sig=$2 db="$work/$1.db" out="$work/$1.jsonl" log="$work/$1.log"
	survey "$db" "$out" "$log" &
	local pid=$!
	echo "$pid" >>"$work/pids"
	local n=0
	for _ in $(seq 600); do
		n=$(open_done "$db")
		[ "$n" -ge $((open_total / 3)) ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "-$sig" "$pid" 2>/dev/null || { echo "$name: finished before the $sig"; return 1; }
	local t0=$(date +%s) rc
	wait "$pid"
	rc=$?
	echo "$name: $sig after $n of $open_total open pairs finished; exit $rc after $(( $(date +%s) - t0 )) s"
	if [ "$sig" = KILL ]; then
		[ "$rc" -eq 137 ] || { echo "$name: not killed (exit $rc)"; return 1; }
	else
		# SIGINT: closes what is in flight, records "interrupted", exits 3 (TORIDE_EXIT_ERROR).
		[ "$rc" -eq 3 ] || { echo "$name: SIGINT exit $rc, want 3"; return 1; }
		grep -q '"status":"interrupted"' "$out" || { echo "$name: no interrupted event"; return 1; }
	fi
	snapshot "$db" "$work/$name.before.json"
	wc -l <"$out" >"$work/$name.lines"
	survey "$db" "$out" "$log" &
	pid=$!
	echo "$pid" >>"$work/pids"
	wait "$pid"
	rc=$?
	[ "$rc" -le 1 ] || { echo "$name: resumed run exit $rc"; cat "$log"; return 1; }
	return 0
}

# One round per discovery path: TAG, then the discovery options.
round() {
	local tag=$1
	shift
	disco=("$@")
	echo "== $tag discovery"
	survey "$work/$tag-ref.db" "$work/$tag-ref.jsonl" "$work/$tag-ref.log" &
	ref=$!
	echo "$ref" >>"$work/pids"
	interrupt_and_resume "$tag-kill" KILL >"$work/$tag-kill.out" 2>&1 &
	k=$!
	pids+=("$k")
	interrupt_and_resume "$tag-int" INT >"$work/$tag-int.out" 2>&1 &
	i=$!
	pids+=("$i")
	wait "$ref"
	ref_rc=$?
	wait "$k"
	k_rc=$?
	wait "$i"
	i_rc=$?
	cat "$work/$tag-kill.out" "$work/$tag-int.out"
	echo "$tag: surveys done after $(( $(date +%s) - start )) s"
	[ "$ref_rc" -le 1 ] || { cat "$work/$tag-ref.log"; echo "FAIL: $tag: uninterrupted run exit $ref_rc"; status=1; return; }
	[ "$k_rc" -eq 0 ] || { echo "FAIL: $tag: SIGKILL variant"; status=1; }
	[ "$i_rc" -eq 0 ] || { echo "FAIL: $tag: SIGINT variant"; status=1; return; }

	"$py" "$here/fleet_compare.py" "$work/truth.json" "$work/creds.txt" "$work/$tag-ref.jsonl" || status=1
	for name in "$tag-kill" "$tag-int"; do
		echo "-- $name:"
		"$py" "$here/fleet_compare.py" "$work/truth.json" "$work/creds.txt" "$work/$name.jsonl" || status=1
		"$py" - "$work" "$name" "$open_total" "$tag" <<'PY' || status=1
import json, sqlite3, sys
w, name, open_total, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
bad = 0
def check(ok, msg):
    global bad
    if not ok:
        print("  " + msg)
        bad += 1

def fails(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    return set(c.execute("SELECT addr, port, requirement FROM finding WHERE verdict = 'fail'"))

before = json.load(open("%s/%s.before.json" % (w, name)))
done_before = {(a, p) for a, p, _ in before["done"]}
open_before = sum(1 for _, _, s in before["done"] if s == "open")
check(0 < open_before < open_total, "interrupted with %d of %d open pairs done: not a partial run" % (open_before, open_total))

# Same failing findings as the uninterrupted run (and so as the truth, checked above).
ref, got = fails("%s/%s-ref.db" % (w, tag)), fails("%s/%s.db" % (w, name))
check(got == ref, "findings differ from the uninterrupted run: missing %s, extra %s" % (sorted(ref - got)[:5], sorted(got - ref)[:5]))

# Nothing finished before was checked again: not one login_attempt event for those pairs in the
# resumed run's output, and their stored login attempts are exactly as before.
lines = open("%s/%s.jsonl" % (w, name)).read().splitlines()
n0 = int(open("%s/%s.lines" % (w, name)).read())
again = [e for e in map(json.loads, lines[n0:]) if e.get("type") == "observation" and e.get("kind") == "login_attempt"
         and (e["addr"], e["port"]) in done_before]
check(not again, "%d login attempts repeated on finished pairs, e.g. %s" % (len(again), again[:1]))
c = sqlite3.connect("file:%s/%s.db?mode=ro" % (w, name), uri=True)
after = sorted([a, p, k.hex(), t] for a, p, k, t in c.execute(
    "SELECT o.addr, o.port, o.key, o.time FROM observation o WHERE o.kind = 'login_attempt'")
    if (a, p) in done_before)
check(after == before["logins"], "stored login attempts of finished pairs changed (%d before, %d after)" % (len(before["logins"]), len(after)))
# The resumed run skipped exactly the finished pairs and checked at least one pair itself.
fin = [e for e in map(json.loads, lines[n0:]) if e.get("type") == "survey" and e.get("status") == "finished"]
check(len(fin) == 1, "resumed run: %d finished events" % len(fin))
if tag == "connect":
    check(fin and fin[0]["counts"]["skipped"] == len(done_before),
          "resumed run: skipped %s, want %d" % (fin[0]["counts"].get("skipped") if fin else None, len(done_before)))
else:
    # SYN path: the discovery left a checkpoint (docs/survey-scale.md "Progress and resume").
    check(c.execute("SELECT count(*) FROM discovery_checkpoint").fetchone()[0] == 1, "no discovery_checkpoint")
new_logins = [e for e in map(json.loads, lines[n0:]) if e.get("type") == "observation" and e.get("kind") == "login_attempt"]
check(len(new_logins) > 0, "the resumed run made no login attempt: nothing was left to resume")
# Every pair is finished exactly once in the end.
total = c.execute("SELECT count(*) FROM probe_done").fetchone()[0]
ref_total = sqlite3.connect("file:%s/%s-ref.db?mode=ro" % (w, tag), uri=True).execute("SELECT count(*) FROM probe_done").fetchone()[0]
check(total == ref_total, "%d pairs done, the uninterrupted run did %d" % (total, ref_total))
print("  %s: %d pairs (%d open) done before the resume, %d failing findings, %d login attempts after it, none on finished pairs"
      % (name, len(done_before), open_before, len(got), len(new_logins)) if not bad else "  %s: %d problems" % (name, bad))
sys.exit(1 if bad else 0)
PY
	done
}

status=0
disco_help=$("$bin" survey --help 2>&1)
# The rounds run at the same time (each one's surveys mostly wait on the devices' login delays):
# ~45 s instead of ~85 s. Each writes its own output, shown in order afterwards.
run_round() {
	local tag=$1
	(status=0; round "$@"; exit "$status") >"$work/round-$tag.out" 2>&1 &
	round_pids+=("$!")
	round_tags+=("$tag")
}
round_pids=()
round_tags=()
if grep -q -- '--discovery' <<<"$disco_help"; then
	run_round connect --discovery connect
	if [ "$(id -u)" -eq 0 ]; then
		run_round syn --discovery syn
	else
		echo "SKIP the SYN round: needs root (raw sockets)"
	fi
else
	run_round connect
fi
pids+=("${round_pids[@]}")
for i in "${!round_pids[@]}"; do
	wait "${round_pids[$i]}" || status=1
	cat "$work/round-${round_tags[$i]}.out"
done

# The status line (non-tty: one line every 5 s) is in the logs.
grep -Eq '^[0-9]+:[0-9]{2} [0-9]+%.*; sent [0-9,]+ [0-9.]+ K?M?(p|conn)/s; replies [0-9,]+ \(hits [0-9.]+%\); checks [0-9,]+ in flight, [0-9,]+ queued; findings [0-9,]+$' \
	"$work/connect-ref.log" || { echo "FAIL: no status line in the survey's stderr"; head -5 "$work/connect-ref.log"; status=1; }
# A sanitizer build reports on stderr and exits 1, which is also "findings": look at the logs.
if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$work"/*.log 2>/dev/null; then
	echo "FAIL: sanitizer report in the logs above"
	status=1
fi
echo "resume test took $(( $(date +%s) - start )) s"
[ "$status" -eq 0 ] && echo "PASS" || echo "FAIL"
exit "$status"
