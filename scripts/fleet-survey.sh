#!/usr/bin/env bash
# Start `toride lab` (an emulated fleet on loopback, no root needed), survey it, and stop it.
#   scripts/fleet-survey.sh TORIDE_BIN WORKDIR DEVICES [extra toride-lab options...]
# Leaves in WORKDIR: truth.json, scope.txt, ports.txt, creds.txt (Mirai's table), survey.db,
# survey.jsonl, lab.log. The survey uses Mirai's table explicitly (--creds, --no-vendor-creds) so
# that the expected findings follow from the truth alone (tests/integration/fleet_compare.py).
set -euo pipefail
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/wait-ready.sh"
bin=$1 work=$2 devices=$3
shift 3
top=$(cd "$(dirname "$0")/.." && pwd)
py=$(command -v /usr/bin/python3 || command -v python3)
mkdir -p "$work"
rm -f "$work/ready" "$work/survey.db" "$work/survey.db-wal" "$work/survey.db-shm" "$work/survey.jsonl"
"$bin" lab --devices "$devices" --truth "$work/truth.json" --ready-file "$work/ready" \
	--hostkeys "$work/hostkeys" "$@" >"$work/lab.log" 2>&1 &
lab=$!
trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null || true' EXIT
wait_ready "$work/ready" "$lab" || { echo "fleet-survey: the lab did not come up" >&2; cat "$work/lab.log" >&2; exit 3; }
"$py" - "$work" <<'PY'
import json, sys
w = sys.argv[1]
t = json.load(open(w + "/truth.json"))
open(w + "/scope.txt", "w").write("".join(d["addr"] + "\n" for d in t["devices"]))
open(w + "/ports.txt", "w").write(",".join(str(p) for p in sorted({s["port"] for d in t["devices"] for s in d["services"]})))
PY
grep -v '^#' "$top/data/credentials/mirai.tsv" | tail -n +2 | awk -F'\t' '{print $1":"$2}' >"$work/creds.txt"
set +e
"$bin" survey --scope-file "$work/scope.txt" --allow-reserved 127.0.0.0/8 -p "$(cat "$work/ports.txt")" \
	--creds "$work/creds.txt" --no-vendor-creds --db "$work/survey.db" -o "$work/survey.jsonl" \
	${SURVEY_ARGS:-}
rc=$?
set -e
[ "$rc" -le 1 ] || exit "$rc"
exit 0
