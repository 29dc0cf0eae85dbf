#!/usr/bin/env bash
# Proof strength (loopback only): a restricted CLI that accepts admin:admin but cannot echo is
# reported as JP-34-10-2 fail with proof "weak"; a fake that shows '# ' after any password and
# hangs up at the first command is not reported as failing at all.
set -u
bin=${TORIDE_BIN:-build/toride}
here=$(cd "$(dirname "$0")" && pwd)
addr=127.0.77.2
work=$(mktemp -d)
py=$(command -v /usr/bin/python3 || command -v python3)
"$py" "$here/hostile/restricted_cli.py" "$addr" >"$work/servers.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q READY "$work/servers.log" && break; sleep 0.1; done
printf 'root:xc3511\nadmin:admin\n' >"$work/creds"
timeout 120 "$bin" survey --scope $addr --allow-reserved 127.0.0.0/8 -p 2401,2402 --creds "$work/creds" \
	--no-vendor-creds --read-timeout 2000 -o "$work/s.jsonl" -q 2>/dev/null
rc=$?
fail=0
got=$("$py" - "$work/s.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "finding" and e["verdict"] == "fail":
        c = e.get("credential") or {}
        print(e["port"], e["requirement"], e["proof"], c.get("user", ""), c.get("password", ""))
PY
)
want="2401 JP-34-10-2 weak admin admin"
if [ "$got" = "$want" ]; then echo "ok   failing findings: $got"; else echo "FAIL findings: got [$got], want [$want]"; fail=1; fi
if [ "$rc" != 1 ]; then echo "FAIL exit $rc, want 1 (failing device found)"; fail=1; fi
[ "$fail" = 0 ] && echo "test_survey_proof: all passed"
exit $fail
