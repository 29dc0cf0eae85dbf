#!/usr/bin/env bash
# The command line as a user meets it: --help/--version, clear usage errors, "no scope, no
# survey", default exclusions and their explicit lift, --dry-run order and shards. No traffic.
set -u
bin=${TORIDE_BIN:-build/toride}
fail=0
check() { # check NAME EXPECTED_RC CMD... ; output kept in $out
	local name=$1 want=$2; shift 2
	out=$("$@" 2>&1); local rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, want $want"; echo "$out" | head -5 | sed 's/^/    /'; fail=1
	else
		echo "ok   $name"
	fi
}
contains() { # contains NAME TEXT
	if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2'"; fail=1; else echo "ok   $1"; fi
}

check "version" 0 "$bin" --version;                  contains "version text" "toride "
check "help" 0 "$bin" --help;                        contains "help lists survey" "survey"
check "survey --help" 0 "$bin" survey --help;         contains "survey help names --scope" "--scope"
check "report --help" 0 "$bin" report --help
check "unknown command" 2 "$bin" frobnicate
check "no scope" 2 "$bin" survey -p 23;              contains "no scope message" "no scope"
check "bad spec" 2 "$bin" survey --scope 10.0.0.0/33 --dry-run
check "host bits" 2 "$bin" survey --scope 192.0.2.1/24 --dry-run
check "bad port" 2 "$bin" survey --scope 127.0.0.1 -p 70000 --dry-run
check "bad shard" 2 "$bin" survey --scope 127.0.0.1 --shard 3/2 --dry-run
check "reserved excluded by default" 2 "$bin" survey --scope 127.0.0.0/30 --dry-run
contains "says how to lift" "--allow-reserved"
check "documentation range excluded" 2 "$bin" survey --scope 192.0.2.0/24 --dry-run

check "dry run with lift" 0 "$bin" survey --scope 127.0.0.0/29 --allow-reserved 127.0.0.0/8 -p 23,2323 --seed 5 --dry-run
contains "lift is logged" "lifted"
pairs=$(grep -E '^127\.0\.0\.[0-7] (23|2323)$' <<<"$out" | sort)
if [ "$(wc -l <<<"$pairs")" = 16 ] && [ "$(sort -u <<<"$pairs" | wc -l)" = 16 ]; then
	echo "ok   dry run lists every pair once"
else
	echo "FAIL dry run pairs: $(wc -l <<<"$pairs")"; fail=1
fi

# shards: disjoint and together complete
all=""
for i in 1 2 3; do
	s=$("$bin" survey --scope 127.0.0.0/29 --allow-reserved 127.0.0.0/8 -p 23,2323 --seed 5 --shard $i/3 --dry-run 2>/dev/null)
	all+="$s"$'\n'
done
if [ "$(grep -c . <<<"$all")" = 16 ] && [ "$(grep . <<<"$all" | sort -u)" = "$pairs" ]; then
	echo "ok   shards 1..3 disjoint and complete"
else
	echo "FAIL shards"; fail=1
fi
# exclusions cannot be lifted
check "exclusion respected" 0 "$bin" survey --scope 127.0.0.0/29 --allow-reserved 127.0.0.0/8 --exclude 127.0.0.3 -p 23 --dry-run
if grep -q '^127\.0\.0\.3 ' <<<"$out"; then echo "FAIL excluded address listed"; fail=1; else echo "ok   excluded address not listed"; fi

check "report on missing db" 3 "$bin" report --db /nonexistent/x.db
[ "$fail" = 0 ] && echo "test_cli: all passed" || echo "test_cli: FAILED"
exit $fail
