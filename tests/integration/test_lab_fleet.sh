#!/usr/bin/env bash
# `toride survey` against a fleet of 1,000 emulated devices (`toride lab`, loopback only) must
# report exactly the ground truth: every service that needs no login fails JP-34-10-1, every
# service whose working pair is in Mirai's table fails JP-34-10-2, and nothing else fails.
set -u
bin=${TORIDE_BIN:-build/toride}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=$(command -v /usr/bin/python3 || command -v python3)
start=$(date +%s)
SURVEY_ARGS="-q --max-concurrency 1024 --rate 0" bash "$here/../../scripts/fleet-survey.sh" "$bin" "$work" \
	"${FLEET_DEVICES:-1000}" --no-delays --net 127.20.0.0/16 || { echo "FAIL: fleet survey did not run"; exit 1; }
echo "fleet survey took $(( $(date +%s) - start )) s"
"$py" "$here/fleet_compare.py" "$work/truth.json" "$work/creds.txt" "$work/survey.jsonl"
