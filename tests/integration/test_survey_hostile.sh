#!/usr/bin/env bash
# Hostile and broken services on loopback (tests/integration/hostile/servers.py): the survey must
# finish in bounded time without crashing, report no failing finding (nothing here accepts
# anything: a banner of '#' and '$' is not a shell, a silent prompt proves nothing), and keep its
# peak memory small. Loopback only: the scope is one 127.x address.
set -u
bin=${TORIDE_BIN:-build/toride}
here=$(cd "$(dirname "$0")" && pwd)
addr=127.0.77.1
work=$(mktemp -d)
py=$(command -v /usr/bin/python3 || command -v python3)
"$py" "$here/hostile/servers.py" "$addr" >"$work/servers.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q READY "$work/servers.log" && break; sleep 0.1; done
grep -q READY "$work/servers.log" || { echo "FAIL: hostile servers did not start"; cat "$work/servers.log"; exit 1; }
printf 'root:xc3511\nadmin:admin\nroot:root\n' >"$work/creds"
start=$(date +%s)
/usr/bin/time -v -o "$work/time" timeout 300 "$bin" survey --scope $addr --allow-reserved 127.0.0.0/8 \
	-p 2301-2312 --creds "$work/creds" --no-vendor-creds --read-timeout 2000 --connect-timeout 1000 \
	-o "$work/s.jsonl" --db "$work/s.db" -q
rc=$?
end=$(date +%s)
fail=0
if [ "$rc" != 0 ]; then echo "FAIL: survey exit $rc (want 0: no failing device)"; fail=1; fi
fails=$(grep -c '"verdict":"fail"' "$work/s.jsonl" || true)
if [ "$fails" != 0 ]; then echo "FAIL: $fails failing findings against services that accept nothing"; grep '"verdict":"fail"' "$work/s.jsonl" | head -3; fail=1; fi
done_pairs=$(grep -c '"type":"probe_done"' "$work/s.jsonl" || true)
if [ "$done_pairs" != 12 ]; then echo "FAIL: $done_pairs of 12 ports finished"; fail=1; fi
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time")
echo "survey over 12 hostile services: $((end - start)) s, peak RSS ${rss} KiB, exit $rc"
# Why 64 MiB: the fingerprint DB and libssh are ~20 MiB; a hostile peer must not add tens of MiB.
# A sanitizer build carries shadow memory and quarantine, so the bound applies to normal builds.
if ldd "$bin" 2>/dev/null | grep -q 'libasan'; then
	echo "note: sanitizer build, memory bound not checked"
elif [ -n "$rss" ] && [ "$rss" -gt 65536 ]; then
	echo "FAIL: peak RSS ${rss} KiB > 64 MiB"; fail=1
fi
[ "$fail" = 0 ] && echo "test_survey_hostile: all passed"
exit $fail
