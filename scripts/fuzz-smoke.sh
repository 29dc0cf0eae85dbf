#!/usr/bin/env bash
# Run every libFuzzer target of a -DTORIDE_FUZZ=ON build for N seconds from a copy of its seed
# corpus (the checked-in seeds are never modified). Fails on the first crash, leak or timeout.
set -euo pipefail
build=${1:?usage: fuzz-smoke.sh BUILD_DIR SECONDS}
seconds=${2:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
mapfile -t bins < <(find "$build" -maxdepth 3 -type f -name 'fuzz_*' -perm -u+x | sort)
if [ "${#bins[@]}" = 0 ]; then
	echo "fuzz: no fuzz targets under $build" >&2
	exit 1
fi
for bin in "${bins[@]}"; do
	name=$(basename "$bin")
	mkdir -p "$work/$name"
	cp -r "$src/tests/fuzz/corpus/$name/." "$work/$name/" 2>/dev/null || true
	echo "fuzz: $name for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
		echo "fuzz: $name FAILED"; tail -n 40 "$work/$name.log"; status=1
		ls "$work/$name-"* 2>/dev/null || true
	else
		grep -E 'stat::number_of_executed_units' "$work/$name.log" | sed "s/^/  $name: /" || true
	fi
done
exit $status
