#!/usr/bin/env bash
# Install what toride needs on a fresh Debian 12, as root, non-interactively.
#
#   scripts/deps.sh            build + test/lab dependencies
#   scripts/deps.sh bench      the above plus the peer tools the benchmarks compare against
#   scripts/deps.sh --check    only report what is missing (exit 1 if anything is)
#
# Idempotent: installed packages are detected with dpkg-query, so a second run does nothing and
# `apt-get update` runs only when something is missing. Daemons used by the integration lab
# (lighttpd, mosquitto, vsftpd, dropbear) must never stay running system-wide on 0.0.0.0: the lab
# starts its own instances inside network namespaces. We block service start-up during the install
# with a temporary policy-rc.d (exit 101) and disable the services afterwards.
set -euo pipefail

BUILD_PKGS=(
	cmake make gcc pkg-config
	libuv1-dev libssh-dev libtelnet-dev libjansson-dev libsqlite3-dev libpcre2-dev
	libxml2-dev libcmocka-dev libssl-dev libsodium-dev libcurl4-openssl-dev
	libyara-dev libseccomp-dev libpcap-dev
	clang libclang-rt-14-dev sqlite3
)
# busybox-static instead of busybox: Debian's dynamic busybox has no telnetd applet, which the lab
# needs. busybox-static Provides/Replaces busybox (same version), so nothing that depends on busybox
# breaks.
LAB_PKGS=(
	python3 busybox-static dropbear-bin lighttpd lighttpd-mod-openssl mosquitto mosquitto-clients vsftpd telnet expect
	tcpdump iproute2 procps time curl openssh-client sshpass openssl
	python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
	chromium fonts-noto-cjk python3-jsonschema
)
BENCH_PKGS=(nmap hydra ncrack medusa zmap masscan)
# Services some of the packages above register; none may keep running on the host.
SERVICES=(lighttpd mosquitto vsftpd dropbear)

usage() {
	echo "usage: $0 [bench] [--check]" >&2
	exit 2
}

want_bench=0
check_only=0
for arg in "$@"; do
	case "$arg" in
	bench) want_bench=1 ;;
	--check) check_only=1 ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done

pkgs=("${BUILD_PKGS[@]}" "${LAB_PKGS[@]}")
if [ "$want_bench" = 1 ]; then
	pkgs+=("${BENCH_PKGS[@]}")
fi

# A package counts as present only when dpkg says "install ok installed".
missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "deps: missing: ${missing[*]}"
if [ "$check_only" = 1 ]; then
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root to install (try: sudo $0 $*)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Block service start-up only if nobody else has a policy-rc.d in place (containers often do).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# toride deps.sh: no service starts during package installation\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
cleanup() {
	if [ "$own_policy" = 1 ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Make sure the lab's daemons are not enabled or running system-wide. Only the named services are
# touched, through the init system, never by killing processes by name.
for svc in "${SERVICES[@]}"; do
	if [ -d /run/systemd/system ]; then
		if systemctl list-unit-files "$svc.service" >/dev/null 2>&1; then
			systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
		fi
	elif [ -x "/etc/init.d/$svc" ]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
	fi
done

echo "deps: installed: ${missing[*]}"
