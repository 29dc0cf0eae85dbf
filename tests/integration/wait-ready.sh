# shellcheck shell=bash
# Shared by the tests and scripts that start `toride lab`: source it, do not run it.

# wait_ready FILE PID [SECONDS]: wait until FILE exists (the lab's --ready-file) while process PID
# lives, at most SECONDS (default 60). Returns 0 when ready, 1 if the process died or time ran out.
wait_ready() {
	local file=$1 pid=$2 tenths=$((${3:-60} * 10)) i
	for ((i = 0; i < tenths; i++)); do
		[ -e "$file" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -e "$file" ]
}
