#!/usr/bin/env bash
# libtoride-device against RAUC: install time and peak memory for the same image in the same run, and
# the library's stripped code size. See docs/bench-device.md for what is compared and the caveats.
#
#   bench/device-vs-rauc.sh [--runs N] [--size MIB] [--only both|toride|rauc|size] [--cold] [--no-size]
#
#   --runs N    measured installs per installer; the table shows medians (default $RUNS or 5)
#   --size MIB  size of the random image (default $SIZE or 64)
#   --only X    both (default), toride or rauc (one installer), size (code size only)
#   --cold      drop the page cache before every install (default: the bundle is read once first,
#               as on a device that has just downloaded it)
#   --no-size   skip the code-size part
#
# Environment: TORIDE_BIN and TORIDE_DEVICED_BIN (default: built into build-bench-device/),
# BENCH_KEEP=1 keeps the work directory (path printed at the end).
# Needs root (RAUC mounts its bundle through a loop device). Installs rauc, squashfs-tools, dbus and
# binutils when missing. Sends nothing over any network: RAUC's D-Bus is a private bus in the work dir.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and awk with a decimal point

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
DB=$HERE/lib/devbench.py
PY=/usr/bin/python3

RUNS=${RUNS:-5}
SIZE=${SIZE:-64}
ONLY=both
COLD=0
DO_SIZE=1
TARGET=toride-bench       # hardware target / RAUC compatible string of the simulated device
OLD_VERSION=1.0.0         # factory firmware in slot A
NEW_VERSION=2.0.0         # the bundle's firmware
SERVICE_WAIT_S=10         # longest wait for the RAUC service to own its bus name

usage() {
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	--size) SIZE=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	--cold) COLD=1; shift ;;
	--no-size) DO_SIZE=0; shift ;;
	-h|--help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ "$SIZE" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --size must be a positive integer (MiB)" >&2; exit 2; }
case "$ONLY" in both|toride|rauc|size) ;; *) echo "bench: --only must be both, toride, rauc or size" >&2; exit 2 ;; esac
[ "$ONLY" = size ] && DO_SIZE=1
DO_TORIDE=0; DO_RAUC=0
case "$ONLY" in both) DO_TORIDE=1; DO_RAUC=1 ;; toride) DO_TORIDE=1 ;; rauc) DO_RAUC=1 ;; esac

if [ "$(id -u)" != 0 ] && { [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; }; then
	echo "bench: needs root (RAUC mounts the bundle on a loop device); --only size does not" >&2
	exit 1
fi

# ------------------------------------------------------------------------------------------ packages

need_pkgs=()
if [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; then
	command -v rauc >/dev/null || need_pkgs+=(rauc)
	command -v mksquashfs >/dev/null || need_pkgs+=(squashfs-tools)
	command -v dbus-daemon >/dev/null || need_pkgs+=(dbus-daemon)
	command -v dbus-send >/dev/null || need_pkgs+=(dbus-bin)
	command -v openssl >/dev/null || need_pkgs+=(openssl)
	[ -x /usr/bin/time ] || need_pkgs+=(time)
fi
command -v strip >/dev/null || need_pkgs+=(binutils)
command -v cmake >/dev/null || need_pkgs+=(cmake)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing ${need_pkgs[*]}; install them or run as root" >&2
		exit 1
	fi
	echo "bench: installing ${need_pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------------------------- build

BUILD=$SRC/build-bench-device
BUILD_OS=$SRC/build-bench-device-os
BUILD_TYPE=RelWithDebInfo # the project's default (CMakeLists.txt); strip removes the debug info
build_targets=()
if [ -z "${TORIDE_BIN:-}" ] && [ $DO_TORIDE = 1 ]; then build_targets+=(toride); fi
if [ -z "${TORIDE_DEVICED_BIN:-}" ] && [ $DO_TORIDE = 1 ]; then build_targets+=(toride-deviced); fi
if [ $DO_SIZE = 1 ] || [ $DO_TORIDE = 1 ]; then build_targets+=(toride_device_shared); fi
if [ $DO_SIZE = 1 ]; then build_targets+=(toride_device); fi
if [ ${#build_targets[@]} -gt 0 ]; then
	echo "bench: building ${build_targets[*]} in $BUILD"
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
	make -C "$BUILD" -j"$(nproc)" "${build_targets[@]}" >"$BUILD/bench-make.log" 2>&1 ||
		{ tail -30 "$BUILD/bench-make.log" >&2; echo "bench: build failed (log: $BUILD/bench-make.log)" >&2; exit 1; }
fi
if [ $DO_SIZE = 1 ]; then
	# The same library built for size (-Os), the usual choice for a device.
	cmake -S "$SRC" -B "$BUILD_OS" -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
	make -C "$BUILD_OS" -j"$(nproc)" toride_device_shared >"$BUILD_OS/bench-make.log" 2>&1 ||
		{ tail -30 "$BUILD_OS/bench-make.log" >&2; echo "bench: build failed (log: $BUILD_OS/bench-make.log)" >&2; exit 1; }
fi
TORIDE_BIN=${TORIDE_BIN:-$BUILD/toride}
TORIDE_DEVICED_BIN=${TORIDE_DEVICED_BIN:-$BUILD/toride-deviced}

# ------------------------------------------------------------------------------------------ work dir

# Both installers write their slots into this directory, so they write to the same file system. /tmp
# may be a tmpfs (fsync is free there); /var/tmp is on disk on Debian.
WORK=$(mktemp -d /var/tmp/toride-bench-device.XXXXXX)
WORK_FS=$(findmnt -n -o FSTYPE -T "$WORK")
DBUS_PID=
RAUC_PID=
WATCH_PID=

# Background daemons get SIGTERM if this shell dies without running its EXIT trap (setpriv execs the
# daemon in place, so $! is the daemon's pid).
ORPHAN_KILL="setpriv --pdeathsig TERM"

stop_pid() { # pid: TERM, wait up to 5 s, then KILL; only processes this script started
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local mnt dev
	stop_pid "$WATCH_PID"
	stop_pid "$RAUC_PID"
	stop_pid "$DBUS_PID"
	# RAUC unmounts its bundle and frees the loop device itself; this is for an interrupted install.
	while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done < <(awk -v w="$WORK" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r)
	while read -r dev; do losetup -d "$dev" 2>/dev/null || true; done < <(losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v w="$WORK" 'index($2, w) == 1 {print $1}')
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: work directory kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date -u +%FT%TZ)
RESULTS=$WORK/results.tsv
BREAKDOWN=$WORK/breakdown.jsonl
: >"$RESULTS"
: >"$BREAKDOWN"
mkdir -p "$WORK/slots" "$WORK/log"

# Wall time in seconds since an EPOCHREALTIME stamp (microsecond resolution; /usr/bin/time's %e has
# 10 ms, too coarse for a 100 ms install).
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f", b - a}'; }

# Before every measured install: flush what earlier steps left dirty (so their writeback does not land in
# the next install's fsync), and put the page cache in the same state for both installers.
settle() {
	sync
	if [ $COLD = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
		# The programs themselves are loaded on a device: only the bundle starts cold.
		rauc --version >/dev/null 2>&1 || true
		"$TORIDE_DEVICED_BIN" --help >/dev/null 2>&1 || true
	else
		cat "$1" >/dev/null
	fi
}

# ------------------------------------------------------------------------------------ image + bundles

if [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; then
	echo "bench: work directory $WORK ($WORK_FS); ${SIZE} MiB random images"
	[ "$WORK_FS" = tmpfs ] && echo "bench: warning: $WORK is on tmpfs, fsync costs nothing there" >&2
	head -c $((SIZE << 20)) /dev/urandom >"$WORK/factory.img"
	head -c $((SIZE << 20)) /dev/urandom >"$WORK/new.img"
fi

# RAUC: an X.509 CA (the device's keyring) and a signing certificate it issued, both made here.
make_rauc_bundle() {
	local pki=$WORK/pki content=$WORK/rauc-content
	mkdir -p "$pki" "$content"
	openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -keyout "$pki/ca.key" -out "$pki/ca.pem" \
		-subj "/O=toride bench/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>"$WORK/log/openssl.log"
	openssl req -newkey rsa:4096 -nodes -keyout "$pki/signer.key" -out "$pki/signer.csr" \
		-subj "/O=toride bench/CN=bench signer" 2>>"$WORK/log/openssl.log"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$pki/signer.ext"
	openssl x509 -req -days 3650 -in "$pki/signer.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
		-CAcreateserial -extfile "$pki/signer.ext" -out "$pki/signer.pem" 2>>"$WORK/log/openssl.log"
	# A hard link, not a copy: the bundle's image is the same bytes as toride's.
	ln "$WORK/new.img" "$content/rootfs.img"
	cat >"$content/manifest.raucm" <<-EOF
		[update]
		compatible=$TARGET
		version=$NEW_VERSION

		[bundle]
		format=plain

		[image.rootfs]
		filename=rootfs.img
	EOF
	rauc bundle --cert "$pki/signer.pem" --key "$pki/signer.key" --keyring "$pki/ca.pem" \
		"$content" "$WORK/bundle.raucb" >"$WORK/log/rauc-bundle.log" 2>&1 ||
		{ cat "$WORK/log/rauc-bundle.log" >&2; return 1; }
}

# RAUC's side of the device: system.conf with two raw slots (files next to toride's), a custom boot
# loader backend that records the A/B choice durably in a file (what fw_setenv does on U-Boot), and a
# private D-Bus "system" bus for the service and the `rauc install` client.
setup_rauc() {
	mkdir -p "$WORK/rauc-mnt" "$WORK/rauc-data" "$WORK/dbus"
	cat >"$WORK/rauc-backend.sh" <<-'EOF'
		#!/bin/sh
		# RAUC custom boot loader backend of the bench: primary slot and slot states in one file,
		# replaced atomically and durably (temp file, fsync, rename, fsync).
		f=${RAUC_BENCH_BOOTENV:?}
		put() { grep -v "^$1=" "$f" >"$f.tmp"; echo "$1=$2" >>"$f.tmp"; sync "$f.tmp"; mv "$f.tmp" "$f"; sync "$f"; }
		case "$1" in
		get-primary) sed -n 's/^primary=//p' "$f" ;;
		get-state) sed -n "s/^state-$2=//p" "$f" ;;
		set-primary) put primary "$2" ;;
		set-state) put "state-$2" "$3" ;;
		*) exit 1 ;;
		esac
	EOF
	chmod 0755 "$WORK/rauc-backend.sh"
	cat >"$WORK/system.conf" <<-EOF
		[system]
		compatible=$TARGET
		bootloader=custom
		mountprefix=$WORK/rauc-mnt
		data-directory=$WORK/rauc-data
		bundle-formats=plain

		[handlers]
		bootloader-custom-backend=$WORK/rauc-backend.sh

		[keyring]
		path=$WORK/pki/ca.pem

		[slot.rootfs.0]
		device=$WORK/slots/rauc-a.img
		type=raw
		bootname=A

		[slot.rootfs.1]
		device=$WORK/slots/rauc-b.img
		type=raw
		bootname=B
	EOF
	cat >"$WORK/dbus.conf" <<-EOF
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig>
		  <type>system</type>
		  <listen>unix:path=$WORK/dbus/system_bus_socket</listen>
		  <auth>EXTERNAL</auth>
		  <policy context="default">
		    <allow user="root"/>
		    <allow own="de.pengutronix.rauc"/>
		    <allow send_destination="*"/>
		    <allow receive_sender="*"/>
		  </policy>
		</busconfig>
	EOF
	$ORPHAN_KILL dbus-daemon --config-file="$WORK/dbus.conf" --nofork --nopidfile >"$WORK/log/dbus.log" 2>&1 &
	DBUS_PID=$!
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/dbus/system_bus_socket
	export RAUC_BENCH_BOOTENV=$WORK/rauc-bootenv
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$WORK/dbus/system_bus_socket" ] && return 0
		sleep 0.1
	done
	echo "bench: private dbus-daemon did not start: $(cat "$WORK/log/dbus.log")" >&2
	return 1
}

rauc_service_ready() {
	dbus-send --system --print-reply --reply-timeout=1000 --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:de.pengutronix.rauc 2>/dev/null | grep -q 'boolean true'
}

# user+sys CPU seconds of a live process and its waited-for children (the boot loader backend), from
# /proc/PID/stat fields 14-17, in clock ticks.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.4f", ($12 + $13 + $14 + $15) / hz}' "/proc/$1/stat"
}

# One RAUC install: a fresh service (booted from A, as the bootname override says: a container has no
# rauc.slot= on the kernel command line), factory state, then the timed `rauc install` client. The
# service does the work; its VmHWM is read after the install and before it is stopped.
# Appends "rauc RUN wall cpu service_hwm client_rss" to RESULTS; with `breakdown`, samples instead.
rauc_once() {
	local run=$1 mode=${2:-measure} t0 wall cpu0 cpu1 hwm client stamp
	cp "$WORK/factory.img" "$WORK/slots/rauc-a.img"
	: >"$WORK/slots/rauc-b.img" # empty, like toride's new slot file: both allocate the image's blocks
	printf 'primary=A\nstate-A=good\nstate-B=good\n' >"$RAUC_BENCH_BOOTENV"
	rm -rf "${WORK:?}/rauc-data" && mkdir -p "$WORK/rauc-data"
	$ORPHAN_KILL rauc -c "$WORK/system.conf" service --override-boot-slot=A >"$WORK/log/rauc-service.$run.log" 2>&1 &
	RAUC_PID=$!
	local i
	for ((i = 0; i < SERVICE_WAIT_S * 20; i++)); do
		rauc_service_ready && break
		kill -0 "$RAUC_PID" 2>/dev/null || break
		sleep 0.05
	done
	rauc_service_ready || { cat "$WORK/log/rauc-service.$run.log" >&2; echo "bench: rauc service did not start" >&2; return 1; }
	settle "$WORK/bundle.raucb"
	if [ "$mode" = breakdown ]; then
		stamp=$WORK/watch.stop
		rm -f "$stamp"
		"$PY" "$DB" watch --pid "$RAUC_PID" --stop "$stamp" --out "$WORK/watch.json" &
		WATCH_PID=$!
		sleep 0.1 # the sampler's first sample before the install starts
		rauc -c "$WORK/system.conf" install "$WORK/bundle.raucb" >"$WORK/log/rauc-install.$run.log" 2>&1 ||
			{ cat "$WORK/log/rauc-install.$run.log" >&2; return 1; }
		touch "$stamp"
		wait "$WATCH_PID" || true
		WATCH_PID=
		"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); r["name"]="rauc service"; print(json.dumps(r))' \
			"$WORK/watch.json" >>"$BREAKDOWN"
	else
		cpu0=$(proc_cpu "$RAUC_PID")
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M %U %S' -o "$WORK/time.out" \
			rauc -c "$WORK/system.conf" install "$WORK/bundle.raucb" >"$WORK/log/rauc-install.$run.log" 2>&1 ||
			{ cat "$WORK/log/rauc-install.$run.log" >&2; return 1; }
		wall=$(since "$t0")
		cpu1=$(proc_cpu "$RAUC_PID")
		hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$RAUC_PID/status")
		read -r client cu cs <"$WORK/time.out"
		cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v u="$cu" -v s="$cs" 'BEGIN {printf "%.4f", b - a + u + s}')
		printf 'rauc\t%s\t%s\t%s\t%s\t%s\n' "$run" "$wall" "$cpu" "$hwm" "$client" >>"$RESULTS"
	fi
	stop_pid "$RAUC_PID"
	wait "$RAUC_PID" 2>/dev/null || true
	RAUC_PID=
	# The install must have done its job: the new image in slot B and B the next boot's primary.
	cmp -s "$WORK/new.img" "$WORK/slots/rauc-b.img" || { echo "bench: rauc run $run: slot B does not hold the image" >&2; return 1; }
	grep -qx 'primary=B' "$RAUC_BENCH_BOOTENV" || { echo "bench: rauc run $run: B is not primary" >&2; return 1; }
}

# toride: a vendor key from `toride sign keygen`, the bundle from `toride bundle create`.
make_toride_bundle() {
	mkdir -p "$WORK/vendor"
	"$TORIDE_BIN" sign keygen -o "$WORK/vendor/bench" >"$WORK/log/toride-keygen.log" 2>&1 ||
		{ cat "$WORK/log/toride-keygen.log" >&2; return 1; }
	"$TORIDE_BIN" bundle create --key "$WORK/vendor/bench.key" --target "$TARGET" --version "$NEW_VERSION" \
		--image "$WORK/new.img" -o "$WORK/bundle.toride" >"$WORK/log/toride-bundle.log" 2>&1 ||
		{ cat "$WORK/log/toride-bundle.log" >&2; return 1; }
}

# The smallest installer on the library alone (public API, libtoride-device.so + libsodium).
build_dev_install() {
	cc -O2 -Wall -Wextra -Werror -I"$SRC/include" "$HERE/lib/dev-install.c" -o "$WORK/dev-install" \
		-L"$BUILD" -ltoride-device -lsodium -Wl,-rpath,"$BUILD"
}

# One toride install: a freshly provisioned device (factory image in slot A), then the timed install by
# one process doing everything (verify, write the inactive slot, fsync, durable boot record):
# KIND deviced = `toride-deviced install` (the reference device's binary), lib = bench/lib/dev-install.c.
# Appends "toride|toride-lib RUN wall cpu peak_rss 0" to RESULTS; with MODE breakdown, samples instead.
toride_once() {
	local run=$1 mode=$2 kind=$3 state=$WORK/toride-state t0 wall rss cu cs cpu name label
	local -a cmd
	if [ "$kind" = lib ]; then
		cmd=("$WORK/dev-install" "$state" "$TARGET" "$WORK/bundle.toride")
		name=toride-lib label="libtoride-device alone"
	else
		cmd=("$TORIDE_DEVICED_BIN" install --state "$state" "$WORK/bundle.toride")
		name=toride label="toride-deviced install"
	fi
	rm -rf "$state" && mkdir -p "$state"
	"$TORIDE_DEVICED_BIN" provision --state "$state" --target "$TARGET" --mode unique \
		--key "$WORK/vendor/bench.pub" --factory-image "$WORK/factory.img" \
		--factory-version "$OLD_VERSION" >"$WORK/log/toride-provision.$run.log" 2>&1 ||
		{ cat "$WORK/log/toride-provision.$run.log" >&2; return 1; }
	settle "$WORK/bundle.toride"
	if [ "$mode" = breakdown ]; then
		"$PY" "$DB" run --out "$WORK/run.json" -- "${cmd[@]}" >"$WORK/log/$name-install.$run.log" 2>&1 ||
			{ cat "$WORK/log/$name-install.$run.log" >&2; return 1; }
		"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); r["name"]=sys.argv[2]; print(json.dumps(r))' \
			"$WORK/run.json" "$label" >>"$BREAKDOWN"
	else
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M %U %S' -o "$WORK/time.out" "${cmd[@]}" >"$WORK/log/$name-install.$run.log" 2>&1 ||
			{ cat "$WORK/log/$name-install.$run.log" >&2; return 1; }
		wall=$(since "$t0")
		read -r rss cu cs <"$WORK/time.out"
		cpu=$(awk -v u="$cu" -v s="$cs" 'BEGIN {printf "%.4f", u + s}')
		printf '%s\t%s\t%s\t%s\t%s\t0\n' "$name" "$run" "$wall" "$cpu" "$rss" >>"$RESULTS"
	fi
	cmp -s "$WORK/new.img" "$state/slot-b" || { echo "bench: $name run $run: slot-b does not hold the image" >&2; return 1; }
	"$TORIDE_DEVICED_BIN" status --state "$state" >"$WORK/log/$name-status.$run.log" 2>&1
	grep -q 'trial=1' "$WORK/log/$name-status.$run.log" ||
		{ cat "$WORK/log/$name-status.$run.log" >&2; echo "bench: $name run $run: slot B is not the next boot's trial" >&2; return 1; }
}

# ---------------------------------------------------------------------------------------------- runs

if [ $DO_RAUC = 1 ]; then
	echo "bench: RAUC $(rauc --version | awk '{print $2}'): CA, signer, plain bundle"
	make_rauc_bundle
	setup_rauc
fi
if [ $DO_TORIDE = 1 ]; then
	for b in "$TORIDE_BIN" "$TORIDE_DEVICED_BIN"; do
		[ -x "$b" ] || { echo "bench: $b missing (the toride half needs toride and toride-deviced)" >&2; exit 1; }
	done
	echo "bench: toride: vendor key, bundle, bench/lib/dev-install"
	make_toride_bundle
	build_dev_install
fi

if [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; then
	# Installers are called as plain commands (never in `&&` or `if`) so that set -e stays on inside.
	# One unmeasured install each first (loads programs and libraries into the page cache).
	if [ $DO_RAUC = 1 ]; then rauc_once warmup; fi
	if [ $DO_TORIDE = 1 ]; then toride_once warmup measure deviced; toride_once warmup measure lib; fi
	sed -i '/\twarmup\t/d' "$RESULTS"
	order=(toride rauc toride-lib)
	for ((r = 1; r <= RUNS; r++)); do
		# Rotate who goes first, so a slow phase of the machine does not always hit the same one.
		for ((k = 0; k < 3; k++)); do
			who=${order[$(((r + k) % 3))]}
			if [ "$who" = toride ] && [ $DO_TORIDE = 1 ]; then toride_once "$r" measure deviced; fi
			if [ "$who" = toride-lib ] && [ $DO_TORIDE = 1 ]; then toride_once "$r" measure lib; fi
			if [ "$who" = rauc ] && [ $DO_RAUC = 1 ]; then rauc_once "$r"; fi
		done
		echo "bench: run $r/$RUNS: $(awk -v r="$r" -F'\t' '$2 == r {printf "%s %.3f s %.1f MiB  ", $1, $3, $5 / 1024}' "$RESULTS")"
	done
	if [ $DO_TORIDE = 1 ]; then toride_once breakdown breakdown deviced; toride_once breakdown breakdown lib; fi
	if [ $DO_RAUC = 1 ]; then rauc_once breakdown breakdown; fi
fi

# ----------------------------------------------------------------------------------------- code size

# text/data/bss of a file as "text data bss" (sum over the objects of an archive).
sizes() { size -t "$1" | awk 'END {print $1, $2, $3}'; }

size_report() {
	local so=$BUILD/libtoride-device.so ar=$BUILD/libtoride_device.a d=$WORK/size t dt b fsz
	mkdir -p "$d"
	cp "$so" "$d/libtoride-device.so"
	strip --strip-all "$d/libtoride-device.so"
	cp "$ar" "$d/libtoride_device.a"
	strip --strip-unneeded "$d/libtoride_device.a"
	local -a rows=()
	read -r t dt b < <(sizes "$d/libtoride-device.so")
	fsz=$(stat -c %s "$d/libtoride-device.so")
	SO_TEXT=$t
	SO_FILE=$fsz
	rows+=("| libtoride-device.so, $BUILD_TYPE, stripped | $t | $dt | $b | $fsz |")
	cp "$BUILD_OS/libtoride-device.so" "$d/libtoride-device-Os.so"
	strip --strip-all "$d/libtoride-device-Os.so"
	read -r t dt b < <(sizes "$d/libtoride-device-Os.so")
	rows+=("| libtoride-device.so, MinSizeRel (-Os), stripped | $t | $dt | $b | $(stat -c %s "$d/libtoride-device-Os.so") |")
	read -r t dt b < <(sizes "$d/libtoride_device.a")
	fsz=$(stat -c %s "$d/libtoride_device.a")
	rows+=("| libtoride_device.a, $BUILD_TYPE (all objects, strip --strip-unneeded) | $t | $dt | $b | $fsz |")
	local sodium
	sodium=$(readlink -f "$(ldconfig -p | awk '/libsodium\.so\.[0-9]+ .*x86-64/ {print $NF; exit}')" 2>/dev/null || true)
	if [ -n "$sodium" ] && [ -f "$sodium" ]; then
		read -r t dt b < <(sizes "$sodium")
		rows+=("| (dependency) ${sodium##*/} | $t | $dt | $b | $(stat -c %s "$sodium") |")
	fi
	if [ -x /usr/bin/rauc ]; then
		read -r t dt b < <(sizes /usr/bin/rauc)
		rows+=("| (context) /usr/bin/rauc $(rauc --version | awk '{print $2}') | $t | $dt | $b | $(stat -c %s /usr/bin/rauc) |")
		# RAUC's shared libraries beyond libc (glib, gio, openssl, curl, ...): what a device ships for it.
		local libs_total=0 lib n=0
		while read -r lib; do
			case "${lib##*/}" in libc.so*|libm.so*|ld-linux*|libpthread*|libdl*|librt*) continue ;; esac
			libs_total=$((libs_total + $(stat -L -c %s "$lib")))
			n=$((n + 1))
		done < <(ldd /usr/bin/rauc | awk '$3 ~ /^\// {print $3}')
		rows+=("| (context) the $n shared libraries /usr/bin/rauc loads besides libc | | | | $libs_total |")
	fi
	echo "Code size (x86-64, $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /'), bytes; size's text column counts code and read-only data):"
	echo
	echo "| file | text | data | bss | file size |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	# `size` counts every read-only allocated section as text (.rodata, .eh_frame, dynamic symbol
	# tables too); the machine code alone is the .text section.
	local code code_os
	code=$(readelf -SW "$d/libtoride-device.so" | awk '$2 == ".text" {print $6}')
	code=$((16#$code))
	code_os=$(readelf -SW "$d/libtoride-device-Os.so" | awk '$2 == ".text" {print $6}')
	code_os=$((16#$code_os))
	echo "Per object (size's text, $BUILD_TYPE): $(size "$d/libtoride_device.a" | awk 'NR > 1 {sub(/\.c\.o$/, ".c", $6); printf "%s%s %d", sep, $6, $1; sep = ", "}')."
	echo
	local goal=$((64 * 1024))
	echo "Machine code (.text section) of the stripped .so: $code bytes ($BUILD_TYPE), $code_os bytes (MinSizeRel);" \
		"size's text (code + read-only data): $SO_TEXT; file: $SO_FILE ($BUILD_TYPE)."
	if [ "$code" -lt $goal ]; then
		echo "Goal (code under 64 KiB = $goal bytes): met, .text is $((code * 100 / goal))% of it."
	else
		echo "Goal (code under 64 KiB = $goal bytes): NOT met, .text is $((code * 100 / goal))% of it."
	fi
	if [ "$SO_FILE" -lt $goal ]; then
		echo "The whole stripped .so file is also under 64 KiB."
	else
		echo "The whole stripped .so file is $SO_FILE bytes, over 64 KiB."
	fi
}

# --------------------------------------------------------------------------------------------- report

REPORT=$WORK/report.md
{
	echo "# libtoride-device vs RAUC, $started"
	echo
	echo "Machine: $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)."
	echo "toride $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(command -v rauc >/dev/null && echo ", RAUC $(rauc --version | awk '{print $2}') (Debian package)")."
	if [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; then
		echo "Work dir on $WORK_FS; page cache: $([ $COLD = 1 ] && echo "dropped before each install" || echo "bundle read once before each install")."
	fi
	echo
	if [ $DO_TORIDE = 1 ] || [ $DO_RAUC = 1 ]; then
		"$PY" "$DB" table --results "$RESULTS" --breakdown "$BREAKDOWN" --runs "$RUNS" --size "$SIZE"
		echo
		bsz=()
		[ -f "$WORK/bundle.toride" ] && bsz+=("toride $(stat -c %s "$WORK/bundle.toride")")
		[ -f "$WORK/bundle.raucb" ] && bsz+=("RAUC $(stat -c %s "$WORK/bundle.raucb")")
		echo "Bundle sizes (bytes): ${bsz[*]}; image $((SIZE << 20))."
		echo
	fi
	if [ $DO_SIZE = 1 ]; then
		size_report
	fi
} >"$REPORT"

cat "$REPORT"
mkdir -p "$HERE/results"
out=$HERE/results/device-$(date -u +%Y-%m-%dT%H%M%SZ).md
cp "$REPORT" "$out"
echo
echo "bench: written to $out ($(($(date +%s) - $(date -d "$started" +%s))) s)"
