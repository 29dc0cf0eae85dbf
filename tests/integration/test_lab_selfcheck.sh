#!/usr/bin/env bash
# Integration self-check of the lab itself, without toride: build the lab under its own prefix, check
# every device against the manifest with real clients (lab.sh verify), check `up` is idempotent, tear it
# down and check nothing is left. Needs root and ip netns; prints SKIP and exits 0 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root / ip netns"
	exit 0
fi
missing=$(bash "$HERE/../../scripts/deps.sh" --check 2>/dev/null | sed -n 's/^deps: missing: //p' || true)
if [ -n "$missing" ]; then
	echo "FAIL: lab packages missing (run scripts/deps.sh as root): $missing"
	exit 1
fi

export TORIDE_LAB_PREFIX=${TORIDE_LAB_PREFIX:-trselfck}
export TORIDE_LAB_RUN_DIR=${TORIDE_LAB_RUN_DIR:-/tmp/$TORIDE_LAB_PREFIX-lab}
trap 'bash "$LAB" down >/dev/null 2>&1 || true' EXIT

fail=0
t0=$(date +%s.%N)
bash "$LAB" up
t1=$(date +%s.%N)
up_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
echo "up took ${up_s}s"
if awk -v s="$up_s" 'BEGIN{exit !(s >= 20)}'; then
	echo "FAIL: lab up took ${up_s}s (limit 20 s)"
	fail=1
fi

if ! bash "$LAB" verify; then
	echo "FAIL: lab verify found deviations"
	fail=1
fi

# A second `up` on a running lab must keep it as it is (same processes), and fast.
before=$(ip netns pids "$TORIDE_LAB_PREFIX-dev" | sort | tr '\n' ' ')
out=$(bash "$LAB" up)
after=$(ip netns pids "$TORIDE_LAB_PREFIX-dev" | sort | tr '\n' ' ')
if [[ "$out" != *"already up"* ]] || [ "$before" != "$after" ]; then
	echo "FAIL: second up was not a no-op ($out)"
	fail=1
else
	echo "ok: second up is a no-op"
fi

bash "$LAB" down
trap - EXIT
for ns in "$TORIDE_LAB_PREFIX-scan" "$TORIDE_LAB_PREFIX-dev"; do
	if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
		echo "FAIL: namespace $ns left after down"
		fail=1
	fi
done
if [ "$fail" = 0 ]; then
	echo "lab self-check: 1 passed, 0 failed"
else
	echo "lab self-check: 0 passed, 1 failed"
fi
exit $fail
