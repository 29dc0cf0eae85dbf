#!/usr/bin/env bash
# toride integration lab: REAL daemons we did not write (busybox telnetd/login/httpd, dropbear, lighttpd,
# mosquitto, gst-rtsp-server, vsftpd) in two network namespaces, with a truth table
# (tests/integration/lab-manifest.tsv).
#
#   lab.sh up        build the namespaces and start every device (idempotent, < 20 s)
#   lab.sh down      stop every process of the lab and delete the namespaces
#   lab.sh status    namespaces, processes and listening sockets
#   lab.sh verify    check every device with real clients, independent of toride; exit 1 on deviation
#   lab.sh env       shell variables for other scripts: eval "$(lab.sh env)"
#   lab.sh exec CMD  run CMD inside the scanner namespace
#
# Environment: TORIDE_LAB_PREFIX (default "toride": namespaces <p>-scan and <p>-dev, run dir /tmp/<p>-lab),
# TORIDE_LAB_RUN_DIR (override the run dir).
#
# Safety: only 10.76.0.0/30 (the link) and 10.77.0.0/16 (devices) are ever configured; nothing is added to
# the host's own namespace; the scanner namespace has no default route, so a mistyped target cannot leave
# the lab. See docs/lab.md.
set -euo pipefail
# shellcheck source=tests/integration/netns-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns-lib.sh"

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MANIFEST=${TORIDE_LAB_MANIFEST:-$LAB_DIR/lab-manifest.tsv}
PREFIX=${TORIDE_LAB_PREFIX:-toride}
# The prefix names the namespaces and the run dir (interface names are fixed, per namespace): keep it
# a plain word so it can never reach a path or an option.
if ! [[ "$PREFIX" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ ]]; then
	echo "lab: TORIDE_LAB_PREFIX must match [A-Za-z0-9][A-Za-z0-9_-]{0,31}" >&2
	exit 2
fi
SCAN_NS=$PREFIX-scan
DEV_NS=$PREFIX-dev
RUN_DIR=${TORIDE_LAB_RUN_DIR:-/tmp/$PREFIX-lab}
SCAN_IF=scan0
DEV_IF=dev0
SCAN_ADDR=10.76.0.2
DEV_ADDR=10.76.0.1
LINK_NET=10.76.0.0/30
DEV_NET=10.77.0.0/16
SILENT_NET=10.77.2.0/24
TEST_SCOPE=10.77.1.0/25
TEST_EXCLUDE=10.77.1.7
PORTS=21,22,23,80,554,1883,2323,8080
# Debian's python3 (python3-gi, telnetlib); a python3 earlier on PATH (pyenv, venv) lacks gi.
PY=/usr/bin/python3
# How long `up` waits for all listeners; every daemon here binds in well under a second.
UP_WAIT_S=15

die() {
	echo "lab: $*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, mounts)"
	command -v ip >/dev/null || die "needs iproute2 (ip)"
}

# Manifest rows without comments and header: addr port proto daemon user kind expected in_scope password
manifest_rows() {
	grep -v -e '^#' -e '^addr' -e '^$' "$MANIFEST"
}

# The password of a device: weak ones from the manifest, strong ones from the run dir's secrets.
device_password() {
	local addr=$1 port=$2 pw
	pw=$(awk -F'\t' -v a="$addr" -v p="$port" '$1 == a && $2 == p {print $9}' < <(manifest_rows))
	if [ "$pw" = "*" ]; then
		pw=$(awk -F'\t' -v a="$addr" -v p="$port" '$1 == a && $2 == p {print $4}' "$RUN_DIR/secrets.tsv")
	fi
	printf '%s' "$pw"
}

# 20 alphanumeric characters from the kernel's CSPRNG: far outside any default-credential list.
gen_password() {
	local pw=""
	while [ "${#pw}" -lt 20 ]; do
		pw+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	done
	printf '%s' "${pw:0:20}"
}

sha512_hash() {
	openssl passwd -6 -stdin <<<"$1"
}

cmd_env() {
	cat <<EOF
PREFIX=$PREFIX
SCAN_NS=$SCAN_NS
DEV_NS=$DEV_NS
SCAN_IF=$SCAN_IF
SCAN_ADDR=$SCAN_ADDR
DEV_ADDR=$DEV_ADDR
RUN_DIR=$RUN_DIR
MANIFEST=$MANIFEST
SECRETS=$RUN_DIR/secrets.tsv
LAB_NET=$DEV_NET
SILENT_NET=$SILENT_NET
SCOPE=$TEST_SCOPE
EXCLUDE=$TEST_EXCLUDE
PORTS=$PORTS
EOF
}

# ---------------------------------------------------------------------------------------------- down

cmd_down() {
	need_root
	ns_teardown "$DEV_NS" "$SCAN_NS"
	# The pid files are a record for humans; the processes were all found through their namespace above
	# (killing a recorded pid blindly could hit an unrelated process that reused the number).
	rm -f "$RUN_DIR"/pids/*.pid 2>/dev/null || true
	rm -f "$RUN_DIR/up"
	echo "lab: down ($PREFIX)"
}

# ------------------------------------------------------------------------------------------------ up

# start NAME ACCOUNTS_DIR HOSTNAME CMD...: run CMD in the device namespace with its own mount and UTS
# namespaces: /etc/passwd, /etc/shadow, /etc/group and an empty /etc/motd bind-mounted from ACCOUNTS_DIR,
# an empty private /run and /var/log/wtmp, the host name set, working directory /; log and pid under the run dir. Each `exec` keeps the same
# process, so $! is the daemon itself.
# Why a private /run: busybox telnetd and login write utmp. With the host's /run/utmp shared, a telnetd
# that deadlocks inside glibc's utmp code (it updates utmp from its SIGCHLD handler) keeps the file's
# fcntl lock and every other telnetd blocks on it. Without a utmp file those calls fail at once, and lab
# logins stay out of the host's utmp/wtmp.
start() {
	local name=$1 accdir=$2 host=$3
	shift 3
	: >"$accdir/wtmp"
	# busybox login prints /etc/motd after a login: the host's is Debian's, which no camera shows.
	: >"$accdir/motd"
	ip netns exec "$DEV_NS" unshare --mount --uts --propagation private -- \
		/bin/sh -c 'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/shadow" /etc/shadow \
			&& mount --bind "$1/group" /etc/group && mount -t tmpfs -o size=1m,mode=755 lab-run /run \
			&& { [ ! -e /var/log/wtmp ] || mount --bind "$1/wtmp" /var/log/wtmp; } \
			&& { [ ! -e /etc/motd ] || mount --bind "$1/motd" /etc/motd; } \
			&& hostname "$2" && cd / && shift 2 && exec "$@"' \
		sh "$accdir" "$host" "$@" </dev/null >"$RUN_DIR/log/$name.log" 2>&1 &
	echo $! >"$RUN_DIR/pids/$name.pid"
}

# Private account files for one device: root, a few system users, ftp (vsftpd's anonymous user) and,
# when USER is not root, USER with uid 1000. PASSWORD is that user's (root gets it when USER is root,
# otherwise a random one so that only the listed account works).
make_accounts() {
	local dir=$1 user=$2 password=$3 roothash userhash now
	mkdir -p "$dir" "$RUN_DIR/home/$user"
	now=$(($(date +%s) / 86400))
	if [ "$user" = root ]; then
		roothash=$(sha512_hash "$password")
	else
		roothash=$(sha512_hash "$(gen_password)")
	fi
	cat >"$dir/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
ftp:x:101:101:ftp daemon:$RUN_DIR/ftp:/usr/sbin/nologin
EOF
	cat >"$dir/shadow" <<EOF
root:$roothash:$now:0:99999:7:::
daemon:*:$now:0:99999:7:::
nobody:*:$now:0:99999:7:::
ftp:*:$now:0:99999:7:::
EOF
	cat >"$dir/group" <<EOF
root:x:0:
daemon:x:1:
ftp:x:101:
nogroup:x:65534:
users:x:100:$user
EOF
	if [ "$user" != root ] && [ "$user" != - ]; then
		userhash=$(sha512_hash "$password")
		echo "$user:x:1000:100:$user:$RUN_DIR/home/$user:/bin/sh" >>"$dir/passwd"
		echo "$user:$userhash:$now:0:99999:7:::" >>"$dir/shadow"
		chown 1000:100 "$RUN_DIR/home/$user"
	fi
	chmod 644 "$dir/passwd" "$dir/group"
	chmod 600 "$dir/shadow"
}

write_www() {
	local d=$RUN_DIR/www
	mkdir -p "$d/basic" "$d/digest" "$d/admin" "$d/loginform" "$d/bbhttpd"
	cat >"$d/basic/index.html" <<'EOF'
<!DOCTYPE html><html><head><title>Wireless Router</title></head>
<body><h1>Wireless Router</h1><p>Status: connected</p></body></html>
EOF
	cat >"$d/digest/index.html" <<'EOF'
<!DOCTYPE html><html><head><title>Network Camera</title></head>
<body><h1>Network Camera</h1><p>Live view</p></body></html>
EOF
	cat >"$d/bbhttpd/index.html" <<'EOF'
<!DOCTYPE html><html><head><title>DVR Web Client</title></head>
<body><h1>DVR Web Client</h1></body></html>
EOF
	# An administration page served without any authentication (JP-34-10-1 fails): settings, no password.
	cat >"$d/admin/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Router Settings</title></head>
<body>
<h1>Router Settings</h1>
<form method="post" action="/apply.cgi">
  <fieldset><legend>WAN</legend>
    <label>Connection type <select name="wan_proto"><option>DHCP</option><option>PPPoE</option></select></label>
    <label>DNS server <input type="text" name="wan_dns" value="192.0.2.53"></label>
  </fieldset>
  <fieldset><legend>Wireless</legend>
    <label>SSID <input type="text" name="ssid" value="HomeRouter-5G"></label>
    <label>Channel <input type="number" name="channel" value="36"></label>
    <label>Remote management <input type="checkbox" name="remote_mgmt" checked></label>
  </fieldset>
  <input type="submit" value="Apply">
</form>
</body></html>
EOF
	# A login form (access control exists; nothing fails without credentials to try).
	cat >"$d/loginform/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Router Login</title></head>
<body>
<h1>Router Login</h1>
<form method="post" action="/login.cgi">
  <label>User name <input type="text" name="username"></label>
  <label>Password <input type="password" name="password"></label>
  <input type="submit" value="Log in">
</form>
</body></html>
EOF
}

# lighttpd: one process for every lighttpd device, one $SERVER["socket"] block (own document root,
# own user file, own auth method) per device address.
write_lighttpd_conf() {
	local conf=$RUN_DIR/conf/lighttpd.conf first=""
	local addr port daemon user _k _e _s _pw
	{
		echo 'server.modules = ("mod_auth", "mod_authn_file", "mod_accesslog")'
		echo "server.errorlog = \"$RUN_DIR/log/lighttpd.error.log\""
		echo "accesslog.filename = \"$RUN_DIR/log/lighttpd.access.log\""
		echo 'accesslog.format = "%h %t \"%r\" %>s auth-user=\"%u\" auth-hdr=\"%{Authorization}i\""'
		echo "server.pid-file = \"$RUN_DIR/pids/lighttpd.daemon.pid\""
		echo "server.document-root = \"$RUN_DIR/www/basic\""
		echo 'index-file.names = ("index.html")'
		echo 'mimetype.assign = (".html" => "text/html; charset=utf-8")'
		echo 'server.tag = "lighttpd/1.4"'
		while IFS=$'\t' read -r addr port _p daemon user _k _e _s _pw; do
			case "$daemon" in lighttpd-*) ;; *) continue ;; esac
			# The main socket must be a device address too, or lighttpd would also listen on 0.0.0.0.
			if [ -z "$first" ]; then
				first=$addr
				echo "server.bind = \"$addr\""
				echo "server.port = $port"
			fi
			echo "\$SERVER[\"socket\"] == \"$addr:$port\" {"
			case "$daemon" in
			lighttpd-basic|lighttpd-digest)
				local method=${daemon#lighttpd-} uf=$RUN_DIR/conf/lighttpd-$addr.users
				printf '%s:%s\n' "$user" "$(device_password "$addr" "$port")" >"$uf"
				chmod 600 "$uf"
				if [ "$method" = basic ]; then
					echo "  server.document-root = \"$RUN_DIR/www/basic\""
					echo '  auth.require = ("" => ("method" => "basic", "realm" => "Wireless Router", "require" => "valid-user"))'
				else
					echo "  server.document-root = \"$RUN_DIR/www/digest\""
					echo '  auth.require = ("" => ("method" => "digest", "realm" => "Network Camera", "require" => "valid-user"))'
				fi
				echo '  auth.backend = "plain"'
				echo "  auth.backend.plain.userfile = \"$uf\""
				;;
			lighttpd-noauth-admin)
				echo "  server.document-root = \"$RUN_DIR/www/admin\""
				;;
			lighttpd-noauth-loginform)
				echo "  server.document-root = \"$RUN_DIR/www/loginform\""
				;;
			*) die "unknown lighttpd variant $daemon" ;;
			esac
			echo "}"
		done < <(manifest_rows)
	} >"$conf"
}

write_mosquitto_conf() {
	local addr=$1 port=$2 daemon=$3 user=$4 conf=$RUN_DIR/conf/mosquitto-$1.conf
	{
		echo "listener $port $addr"
		echo "persistence false"
		echo "user root"
		echo "log_dest file $RUN_DIR/log/mosquitto-$addr.mlog"
		echo "log_type all"
		echo "connection_messages true"
		if [ "$daemon" = mosquitto-anonymous ]; then
			echo "allow_anonymous true"
		else
			local pf=$RUN_DIR/conf/mosquitto-$addr.passwd
			rm -f "$pf"
			mosquitto_passwd -c -b "$pf" "$user" "$(device_password "$addr" "$port")" >/dev/null
			chmod 600 "$pf"
			echo "allow_anonymous false"
			echo "password_file $pf"
		fi
	} >"$conf"
}

write_vsftpd_conf() {
	local addr=$1 port=$2 daemon=$3 conf=$RUN_DIR/conf/vsftpd-$1.conf
	mkdir -p "$RUN_DIR/ftp/pub" "$RUN_DIR/empty"
	echo "firmware-v1.2.3.bin placeholder" >"$RUN_DIR/ftp/pub/README.txt"
	chmod 755 "$RUN_DIR/ftp" "$RUN_DIR/empty"
	{
		echo "listen=YES"
		echo "listen_ipv6=NO"
		echo "listen_address=$addr"
		echo "listen_port=$port"
		echo "background=NO"
		echo "write_enable=NO"
		echo "secure_chroot_dir=$RUN_DIR/empty"
		echo "anon_root=$RUN_DIR/ftp"
		echo "seccomp_sandbox=NO"
		echo "isolate=NO"
		echo "isolate_network=NO"
		echo "pam_service_name=vsftpd"
		echo "xferlog_enable=YES"
		echo "xferlog_std_format=NO"
		echo "log_ftp_protocol=YES"
		echo "vsftpd_log_file=$RUN_DIR/log/vsftpd-$addr.vlog"
		echo "pasv_enable=YES"
		if [ "$daemon" = vsftpd-anonymous ]; then
			echo "anonymous_enable=YES"
			echo "no_anon_password=YES"
			echo "local_enable=NO"
		else
			echo "anonymous_enable=NO"
			echo "local_enable=YES"
			echo "chroot_local_user=NO"
		fi
	} >"$conf"
	chmod 600 "$conf"
}

setup_network() {
	ip netns add "$SCAN_NS"
	ip netns add "$DEV_NS"
	ip link add "$SCAN_IF" netns "$SCAN_NS" type veth peer name "$DEV_IF" netns "$DEV_NS"
	local ns
	for ns in "$SCAN_NS" "$DEV_NS"; do
		# IPv4 only: no IPv6 link-local chatter (router solicitations, MLD) in the captures.
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$SCAN_NS" addr add "$SCAN_ADDR/30" dev "$SCAN_IF"
	ip -n "$SCAN_NS" link set "$SCAN_IF" up
	ip -n "$SCAN_NS" route add "$DEV_NET" via "$DEV_ADDR" dev "$SCAN_IF"
	ip -n "$DEV_NS" addr add "$DEV_ADDR/30" dev "$DEV_IF"
	ip -n "$DEV_NS" link set "$DEV_IF" up
	# Forwarding stays off in the device namespace; unassigned 10.77.x.x addresses (the silent
	# 10.77.2.0/24 among them) hit a blackhole route: dropped without any answer, like empty space.
	ip netns exec "$DEV_NS" sysctl -q -w net.ipv4.ip_forward=0
	ip -n "$DEV_NS" route add blackhole "$DEV_NET"
	ip -n "$DEV_NS" route add blackhole "$SILENT_NET"
	local addr
	while read -r addr; do
		ip -n "$DEV_NS" addr add "$addr/32" dev lo
	done < <(manifest_rows | cut -f1 | sort -u)
}

start_devices() {
	local addr port proto daemon user kind _e _s _pw pw name host lighttpd_acc
	mkdir -p "$RUN_DIR/bin" "$RUN_DIR/keys" "$RUN_DIR/conf" "$RUN_DIR/log" "$RUN_DIR/pids" "$RUN_DIR/home" "$RUN_DIR/etc"
	ln -sf /bin/busybox "$RUN_DIR/bin/login"
	# No pre-login banner (the host's /etc/issue.net would announce Debian, which no camera does).
	: >"$RUN_DIR/etc/issue.net"
	write_www
	lighttpd_acc="$RUN_DIR/etc/lighttpd"
	make_accounts "$lighttpd_acc" root "$(gen_password)"
	local lighttpd_needed=0
	while IFS=$'\t' read -r addr port proto daemon user kind _e _s _pw; do
		[ "$port" = - ] && continue
		name=$proto-$addr-$port
		host=dev-${addr//./-}
		pw=$(device_password "$addr" "$port")
		case "$daemon" in
		busybox-telnetd-login)
			make_accounts "$RUN_DIR/etc/$name" "$user" "$pw"
			start "$name" "$RUN_DIR/etc/$name" "$host" "$PY" "$LAB_DIR/lab/tcpsvd.py" --addr "$addr" --port "$port" \
				-- /bin/busybox telnetd -i -f "$RUN_DIR/etc/issue.net" -l "$RUN_DIR/bin/login"
			;;
		busybox-telnetd-shell)
			make_accounts "$RUN_DIR/etc/$name" root "$(gen_password)"
			start "$name" "$RUN_DIR/etc/$name" "$host" "$PY" "$LAB_DIR/lab/tcpsvd.py" --addr "$addr" --port "$port" \
				-- /bin/busybox telnetd -i -f "$RUN_DIR/etc/issue.net" -l /bin/sh
			;;
		dropbear)
			make_accounts "$RUN_DIR/etc/$name" "$user" "$pw"
			[ -s "$RUN_DIR/keys/dropbear_ed25519" ] ||
				dropbearkey -t ed25519 -f "$RUN_DIR/keys/dropbear_ed25519" >/dev/null 2>&1
			start "$name" "$RUN_DIR/etc/$name" "$host" \
				/usr/sbin/dropbear -F -E -j -k -p "$addr:$port" -r "$RUN_DIR/keys/dropbear_ed25519" \
				-P "$RUN_DIR/pids/$name.daemon.pid"
			;;
		lighttpd-*)
			lighttpd_needed=1
			;;
		busybox-httpd-basic)
			make_accounts "$RUN_DIR/etc/$name" root "$(gen_password)"
			printf '/:%s:%s\n' "$user" "$pw" >"$RUN_DIR/conf/httpd-$addr.conf"
			chmod 600 "$RUN_DIR/conf/httpd-$addr.conf"
			start "$name" "$RUN_DIR/etc/$name" "$host" \
				/bin/busybox httpd -f -vv -p "$addr:$port" -h "$RUN_DIR/www/bbhttpd" \
				-c "$RUN_DIR/conf/httpd-$addr.conf" -r "DVR Web Client"
			;;
		mosquitto-*)
			make_accounts "$RUN_DIR/etc/$name" root "$(gen_password)"
			write_mosquitto_conf "$addr" "$port" "$daemon" "$user"
			start "$name" "$RUN_DIR/etc/$name" "$host" /usr/sbin/mosquitto -c "$RUN_DIR/conf/mosquitto-$addr.conf"
			;;
		gst-rtsp-server-*)
			make_accounts "$RUN_DIR/etc/$name" root "$(gen_password)"
			local mode=${daemon#gst-rtsp-server-}
			[ "$mode" = noauth ] && mode=none
			if [ "$mode" != none ]; then
				printf '%s\n' "$pw" >"$RUN_DIR/conf/rtsp-$addr.pw"
				chmod 600 "$RUN_DIR/conf/rtsp-$addr.pw"
			fi
			start "$name" "$RUN_DIR/etc/$name" "$host" \
				"$PY" "$LAB_DIR/lab/rtsp_server.py" --addr "$addr" --port "$port" --auth "$mode" \
				--user "$user" --password-file "$RUN_DIR/conf/rtsp-$addr.pw"
			;;
		vsftpd-*)
			make_accounts "$RUN_DIR/etc/$name" "$user" "$pw"
			write_vsftpd_conf "$addr" "$port" "$daemon"
			start "$name" "$RUN_DIR/etc/$name" "$host" /usr/sbin/vsftpd "$RUN_DIR/conf/vsftpd-$addr.conf"
			;;
		*) die "manifest: unknown daemon '$daemon' for $addr:$port" ;;
		esac
	done < <(manifest_rows)
	if [ "$lighttpd_needed" = 1 ]; then
		write_lighttpd_conf
		lighttpd -tt -f "$RUN_DIR/conf/lighttpd.conf" >"$RUN_DIR/log/lighttpd.check.log" 2>&1 ||
			die "lighttpd config rejected: $(cat "$RUN_DIR/log/lighttpd.check.log")"
		start lighttpd "$lighttpd_acc" dev-lighttpd /usr/sbin/lighttpd -D -f "$RUN_DIR/conf/lighttpd.conf"
	fi
}

# Wait until every manifest (addr, port) listens in the device namespace.
wait_listeners() {
	local want have missing i
	want=$(manifest_rows | awk -F'\t' '$2 != "-" {print $1 ":" $2}' | sort -u)
	for ((i = 0; i < UP_WAIT_S * 10; i++)); do
		have=$(ip netns exec "$DEV_NS" ss -Hltn | awk '{print $4}' | sort -u)
		missing=$(comm -23 <(echo "$want") <(echo "$have"))
		[ -z "$missing" ] && return 0
		sleep 0.1
	done
	echo "lab: not listening after ${UP_WAIT_S}s:" $missing >&2
	return 1
}

generate_secrets() {
	local addr port _p _d user kind _e _s _pw
	: >"$RUN_DIR/secrets.tsv"
	chmod 600 "$RUN_DIR/secrets.tsv"
	while IFS=$'\t' read -r addr port _p _d user kind _e _s _pw; do
		[ "$kind" = strong ] || continue
		printf '%s\t%s\t%s\t%s\n' "$addr" "$port" "$user" "$(gen_password)" >>"$RUN_DIR/secrets.tsv"
	done < <(manifest_rows)
}

lab_is_up() {
	[ -e "$RUN_DIR/up" ] && ns_exists "$SCAN_NS" && ns_exists "$DEV_NS" && wait_listeners_quick
}

wait_listeners_quick() {
	local want have
	want=$(manifest_rows | awk -F'\t' '$2 != "-" {print $1 ":" $2}' | sort -u)
	have=$(ip netns exec "$DEV_NS" ss -Hltn 2>/dev/null | awk '{print $4}' | sort -u)
	[ -z "$(comm -23 <(echo "$want") <(echo "$have"))" ]
}

cmd_up() {
	need_root
	[ -r "$MANIFEST" ] || die "no manifest at $MANIFEST"
	if lab_is_up; then
		echo "lab: already up ($PREFIX, run dir $RUN_DIR)"
		return 0
	fi
	# A half-built lab (crash, interrupted up) is torn down first: up always starts from nothing.
	cmd_down >/dev/null
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR"
	chmod 755 "$RUN_DIR"
	# Until the lab is complete, any failure or interrupt removes what was built.
	trap 'echo "lab: up failed or interrupted, tearing down" >&2; cmd_down >/dev/null 2>&1' EXIT
	trap 'exit 130' INT TERM
	generate_secrets
	setup_network
	start_devices
	if ! wait_listeners; then
		echo "lab: daemon logs:" >&2
		tail -n 5 "$RUN_DIR"/log/*.log >&2 || true
		exit 1
	fi
	trap - EXIT INT TERM
	date -u +%FT%TZ >"$RUN_DIR/up"
	echo "lab: up ($PREFIX): scanner ns $SCAN_NS ($SCAN_ADDR), devices ns $DEV_NS, run dir $RUN_DIR"
}

# -------------------------------------------------------------------------------------------- status

cmd_status() {
	need_root
	local ns
	for ns in "$SCAN_NS" "$DEV_NS"; do
		if ns_exists "$ns"; then
			echo "namespace $ns: $(ip netns pids "$ns" | wc -l) processes"
		else
			echo "namespace $ns: absent"
		fi
	done
	if ns_exists "$SCAN_NS"; then
		echo "scanner routes:"
		ip -n "$SCAN_NS" route show | sed 's/^/  /'
	fi
	if ns_exists "$DEV_NS"; then
		echo "device listeners:"
		ip netns exec "$DEV_NS" ss -Hltnp | awk '{print "  " $4, $6}' | sort -V
	fi
	[ -e "$RUN_DIR/up" ] && echo "up since $(cat "$RUN_DIR/up"), run dir $RUN_DIR"
	lab_is_up && echo "status: up" || { echo "status: down or incomplete"; return 1; }
}

# -------------------------------------------------------------------------------------------- verify

# Safety properties that need no packet: routes, addresses, listeners. Prints lines like the device table.
verify_safety() {
	local bad=0 routes wild host_routes
	routes=$(ip -n "$SCAN_NS" -4 route show table all | grep -v -e '^local ' -e '^broadcast ' -e '^multicast ' | sed 's/ *$//' | sort)
	local want
	want=$(printf '%s dev %s proto kernel scope link src %s\n%s via %s dev %s\n' \
		"$LINK_NET" "$SCAN_IF" "$SCAN_ADDR" "$DEV_NET" "$DEV_ADDR" "$SCAN_IF" | sort)
	if [ "$routes" = "$want" ]; then
		echo "ok    safety   scanner routes are only $LINK_NET and $DEV_NET (no default route)"
	else
		echo "FAIL  safety   scanner routes: $(echo "$routes" | tr '\n' ';')"
		bad=1
	fi
	# A route lookup sends nothing: it proves an address outside the lab has no way out.
	if ip netns exec "$SCAN_NS" ip route get 192.0.2.1 >/dev/null 2>&1; then
		echo "FAIL  safety   scanner has a route to 192.0.2.1"
		bad=1
	else
		echo "ok    safety   scanner: no route to 192.0.2.1 (outside the lab)"
	fi
	wild=$(ip netns exec "$DEV_NS" ss -Hltn | awk '{print $4}' | grep -v -E '^10\.77\.' || true)
	if [ -n "$wild" ]; then
		echo "FAIL  safety   device listeners outside 10.77.0.0/16: $(echo "$wild" | tr '\n' ' ')"
		bad=1
	else
		echo "ok    safety   every device listener binds a 10.77.x.x address (no wildcard)"
	fi
	host_routes=$(ip -4 route show table all 2>/dev/null | grep -E '10\.7[67]\.' || true)
	if [ -n "$host_routes" ]; then
		echo "WARN  safety   host namespace has routes in 10.76/10.77 (not made by this lab): $host_routes"
	else
		echo "ok    safety   host namespace untouched (no 10.76/10.77 routes)"
	fi
	return $bad
}

cmd_verify() {
	need_root
	lab_is_up || die "lab is not up (run: $0 up)"
	local rc=0
	verify_safety || rc=1
	ip netns exec "$SCAN_NS" "$PY" "$LAB_DIR/lab/verify.py" --manifest "$MANIFEST" \
		--secrets "$RUN_DIR/secrets.tsv" --silent "${SILENT_NET%.*}.1" --lab-dir "$LAB_DIR" || rc=1
	if [ "$rc" = 0 ]; then
		echo "verify: all devices match the manifest"
	else
		echo "verify: DEVIATIONS (see FAIL lines)"
	fi
	return $rc
}

cmd_exec() {
	need_root
	[ $# -gt 0 ] || die "exec needs a command"
	exec ip netns exec "$SCAN_NS" "$@"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
verify) cmd_verify ;;
env) cmd_env ;;
exec) shift; cmd_exec "$@" ;;
*)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
