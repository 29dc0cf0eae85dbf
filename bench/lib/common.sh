# shellcheck shell=bash
# Shared by the bench scripts: source it after setting SRC (the repository root).

# bench_toride_bin: TORIDE_BIN (default build/toride), built into build-bench when absent, made absolute.
bench_toride_bin() {
	TORIDE_BIN=${TORIDE_BIN:-$SRC/build/toride}
	if [ ! -x "$TORIDE_BIN" ]; then
		echo "bench: no toride at $TORIDE_BIN: building into $SRC/build-bench"
		cmake -S "$SRC" -B "$SRC/build-bench" >/dev/null
		make -C "$SRC/build-bench" -j"$(nproc)" toride >/dev/null
		TORIDE_BIN=$SRC/build-bench/toride
	fi
	TORIDE_BIN=$(cd "$(dirname "$TORIDE_BIN")" && pwd)/$(basename "$TORIDE_BIN")
}

# ncrack saves a restore file in ~/.ncrack whenever it is stopped: bench_ncrack_mark notes the files
# there before the bench, bench_ncrack_clean removes only the ones made since.
bench_ncrack_mark() {
	NCRACK_STATE=${HOME:-/root}/.ncrack
	ncrack_before=$(ls "$NCRACK_STATE" 2>/dev/null || true)
}
bench_ncrack_clean() {
	[ -d "${NCRACK_STATE:-}" ] || return 0
	local f
	for f in "$NCRACK_STATE"/*; do
		[ -e "$f" ] || continue
		grep -qxF "${f##*/}" <<<"$ncrack_before" || rm -f "$f"
	done
	rmdir "$NCRACK_STATE" 2>/dev/null || true
}

# bench_work_done: remove $WORK, or keep it and say where with BENCH_KEEP=1.
bench_work_done() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: raw outputs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
