#!/usr/bin/env bash
# Power and factory-reset hooks of data/conform/toride-deviced.json for an emulated device:
# "power" is kill -9 of the daemon and a restart with the same state directory (what a power cut
# leaves on flash), "reset" is the owner's factory reset (toride-deviced reset) with the daemon
# stopped. The device runs in its own network namespace; everything comes from the environment:
#   DEVD (toride-deviced), DEVD_STATE, DEVD_NS, DEVD_LOG, DEVD_PIDFILE, DEVD_THROTTLE, DEVD_FAULT
# usage: devctl.sh start|cut|restore|reset|stop
set -u
: "${DEVD:?}" "${DEVD_STATE:?}" "${DEVD_NS:?}" "${DEVD_LOG:?}" "${DEVD_PIDFILE:?}"

up() { ip netns exec "$DEVD_NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/80' 2>/dev/null; }

start() {
	ip netns exec "$DEVD_NS" "$DEVD" run --state "$DEVD_STATE" --listen 0.0.0.0 --telnet-port 23 --http-port 80 \
		${DEVD_THROTTLE:+--throttle "$DEVD_THROTTLE"} --health-ms 300 ${DEVD_FAULT:+--fault "$DEVD_FAULT"} \
		</dev/null >>"$DEVD_LOG" 2>&1 &
	echo $! >"$DEVD_PIDFILE"
	for _ in $(seq 100); do
		up && return 0
		sleep 0.05
	done
	echo "devctl: toride-deviced did not come up" >&2
	return 1
}

stop() { # stop SIGNAL
	local pid
	pid=$(cat "$DEVD_PIDFILE" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "-$1" "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	: >"$DEVD_PIDFILE"
}

case "${1:-}" in
start | restore) start ;;
cut) echo "$(date -u +%H:%M:%S.%3N) devctl: POWER CUT (kill -9)" >>"$DEVD_LOG"; stop KILL ;;
stop) stop TERM ;;
reset) stop TERM && "$DEVD" reset --state "$DEVD_STATE" >>"$DEVD_LOG" 2>&1 && start ;;
*) echo "usage: devctl.sh start|cut|restore|reset|stop" >&2; exit 2 ;;
esac
