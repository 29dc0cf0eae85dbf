# shellcheck shell=bash
# Shared by the namespace labs (lab.sh, disco-lab.sh): source it, do not run it.

# ns_exists NAME: true if the network namespace exists.
ns_exists() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"
}

# ns_teardown NS...: stop every process of each namespace, then delete it. Every process of a lab runs
# in one of its namespaces, so `ip netns pids` names exactly those (killing recorded pids blindly
# could hit an unrelated process that reused the number). TERM, up to 2 s, then KILL.
ns_teardown() {
	local ns pids
	for ns in "$@"; do
		ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				pids=$(ip netns pids "$ns" 2>/dev/null || true)
				[ -z "$pids" ] && break
				sleep 0.2
			done
			if [ -n "$pids" ]; then
				# shellcheck disable=SC2086
				kill -KILL $pids 2>/dev/null || true
				sleep 0.2
			fi
		fi
		ip netns delete "$ns" 2>/dev/null || true
	done
}
