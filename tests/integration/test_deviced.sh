#!/usr/bin/env bash
# toride-deviced, the reference compliant device, seen by real clients in network namespaces:
#   - telnet (the real client, driven by expect): the factory default logs in only to change it,
#     the policy refuses a banned password and says why, then the new password works and the old
#     one fails; a throttled source is told when to retry and hung up on;
#   - curl: no access without a session (401), the forced-change state answers 403 with a
#     pointer, lockout of an attacking address (429 + Retry-After) while the owner's correct login
#     from another address works after at most the per-account delay;
#   - updates: a good bundle (2.0) runs on trial, then confirms; a bundle whose firmware never
#     confirms (3.0, selftest=fail) is rolled back after its tries; an older bundle is refused as
#     a downgrade, the installed one as a replay, a tampered one for its signature;
#   - automatic update over HTTPS (lighttpd + a test CA): the first download is cut (lighttpd
#     rate-limited, then killed), the next check resumes it (HTTP 206), installs 4.0 and reboots.
#
# Topology (addresses exist only inside the two namespaces this script creates):
#   client ns  10.78.0.2/30 (attacker, and the HTTPS update server) <-> device ns 10.78.0.1
#              10.78.1.2/30 (owner)                                 <-> device ns 10.78.1.1
# Needs root, iproute2, telnet, expect, curl, openssl, lighttpd with mod_openssl.
set -u
BUILD=${TORIDE_BUILD_DIR:-$(dirname "${TORIDE_BIN:-build/toride}")}
TORIDE=${TORIDE_BIN:-$BUILD/toride}
DEVD=$BUILD/toride-deviced
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXP=$HERE/deviced

ATT_ADDR=10.78.0.2
DEV_ADDR0=10.78.0.1
OWN_ADDR=10.78.1.2
DEV_ADDR1=10.78.1.1
UPD_PORT=8443
FACTORY_PW=admin1234
BANNED_PW=password123
NEW_PW='Tsukuba-Kaede-4711'
WRONG_PW='wrong-guess-123'
# Lab throttle (the library defaults take ~90 s to reach a lockout): 3 free failures, 200 ms
# doubling, per-account cap 1 s, source lockout after 6 failures for 60 s.
THROTTLE=3,200,1000,6,60000
ACCOUNT_CAP_S=1

fail=0
t0=$(date +%s)
ok() { echo "ok   [$(( $(date +%s) - t0 ))s] $*"; }
bad() { echo "FAIL [$(( $(date +%s) - t0 ))s] $*"; fail=1; }
die() { echo "test_deviced: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "test_deviced: SKIP (needs root for network namespaces)"; exit 0; }
for t in ip telnet expect curl openssl lighttpd perl; do
	command -v "$t" >/dev/null || die "needs $t"
done
[ -x "$DEVD" ] || die "no $DEVD (build first)"
[ -x "$TORIDE" ] || die "no $TORIDE (build first)"
MODDIR=$(dirname "$(dpkg -L lighttpd 2>/dev/null | grep -m1 '/mod_.*\.so$')" 2>/dev/null)
[ -e "${MODDIR:-/usr/lib/lighttpd}/mod_openssl.so" ] || die "needs lighttpd's mod_openssl (Debian: lighttpd-mod-openssl)"

DEV_NS=tdevd$$-dev
CLI_NS=tdevd$$-cli
RUN=$(mktemp -d /tmp/toride-deviced-test.XXXXXX)
DEVD_PID=
HTTPD_PID=

cleanup() {
	local ns pids
	[ -n "$DEVD_PID" ] && kill "$DEVD_PID" 2>/dev/null
	[ -n "$HTTPD_PID" ] && kill "$HTTPD_PID" 2>/dev/null
	for ns in "$DEV_NS" "$CLI_NS"; do
		# Every process in these namespaces was started by this script.
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	sleep 0.2
	ip netns delete "$DEV_NS" 2>/dev/null
	ip netns delete "$CLI_NS" 2>/dev/null
	if [ "$fail" != 0 ] && [ -f "$RUN/deviced.log" ]; then
		echo "---- toride-deviced log (last 60 lines) ----"
		tail -60 "$RUN/deviced.log"
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT

# ---- network -------------------------------------------------------------------------------
ip netns add "$DEV_NS" || die "ip netns add"
ip netns add "$CLI_NS" || die "ip netns add"
ip link add tdv0 netns "$CLI_NS" type veth peer name tdv0 netns "$DEV_NS" || die "veth"
ip link add tdv1 netns "$CLI_NS" type veth peer name tdv1 netns "$DEV_NS" || die "veth"
for ns in "$DEV_NS" "$CLI_NS"; do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$CLI_NS" addr add "$ATT_ADDR/30" dev tdv0
ip -n "$CLI_NS" addr add "$OWN_ADDR/30" dev tdv1
ip -n "$DEV_NS" addr add "$DEV_ADDR0/30" dev tdv0
ip -n "$DEV_NS" addr add "$DEV_ADDR1/30" dev tdv1
for ns in "$DEV_NS" "$CLI_NS"; do
	ip -n "$ns" link set tdv0 up
	ip -n "$ns" link set tdv1 up
done

in_cli() { ip netns exec "$CLI_NS" "$@"; }
# curl from the owner's or the attacker's address (the route picks the source address).
OWN_URL=http://$DEV_ADDR1
ATT_URL=http://$DEV_ADDR0
ccurl() { in_cli curl -s --max-time 20 "$@"; }

# ---- vendor key, firmware images, bundles ------------------------------------------------------
cd "$RUN" || die "cd"
"$TORIDE" sign keygen -o vendor >/dev/null || die "toride sign keygen"
"$TORIDE" sign keygen -o rogue >/dev/null || die "toride sign keygen (rogue)"
fw() { # fw VERSION SELFTEST [PAD_KIB]
	{
		printf 'toride-demo-firmware version=%s selftest=%s\n' "$1" "$2"
		echo "demo firmware for the toride reference device"
		[ "${3:-0}" -gt 0 ] && head -c $(($3 * 1024)) /dev/urandom | base64
	} >"fw-$1.img"
}
fw 1.0 ok
fw 1.5 ok
fw 2.0 ok
fw 3.0 fail
fw 4.0 ok 1536
bundle() { # bundle VERSION [KEY]
	"$TORIDE" bundle create --key "${2:-vendor}.key" --target toride-cam --version "$1" \
		--image "fw-$1.img" -o "b-$1${2:+-$2}.tbd" >/dev/null || die "bundle create $1"
}
bundle 1.5
bundle 2.0
bundle 3.0
bundle 4.0
bundle 2.0 rogue
# Tampered: 2.0's manifest edited to claim 9.0 (the signature no longer matches).
perl -0777 -pe 's/version=2\.0/version=9.0/' b-2.0.tbd >b-tampered.tbd
cmp -s b-2.0.tbd b-tampered.tbd && die "tampering did not change the bundle"

# ---- provision (default mode) and start the device -----------------------------------------------
"$DEVD" provision --state "$RUN/state" --target toride-cam --mode default --user admin \
	--default-password "$FACTORY_PW" --key vendor.pub --model TC-100 --serial TC100-000042 \
	--mac 02:00:5e:10:00:42 --factory-image fw-1.0.img --factory-version 1.0 >label.txt 2>provision.log \
	|| { cat provision.log; die "provision failed"; }
grep -q "must be changed" label.txt && ok "label says the factory password must be changed" || bad "label text: $(cat label.txt)"
"$DEVD" provision --state "$RUN/state" --target toride-cam --mode default --default-password x \
	--key vendor.pub --factory-image fw-1.0.img --factory-version 1.0 >/dev/null 2>&1
[ $? = 1 ] && ok "second provisioning refused" || bad "second provisioning not refused"

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=toride test CA" \
	>/dev/null 2>&1 || die "openssl CA"
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=$ATT_ADDR" >/dev/null 2>&1
printf 'subjectAltName=IP:%s\n' "$ATT_ADDR" >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile srv.ext \
	>/dev/null 2>&1 || die "openssl server cert"

ip netns exec "$DEV_NS" "$DEVD" run --state "$RUN/state" --listen 0.0.0.0 --telnet-port 23 --http-port 80 \
	--throttle "$THROTTLE" --health-ms 2500 --watchdog-ms 600 \
	--update-url "https://$ATT_ADDR:$UPD_PORT/fw/" --update-interval 2 --ca "$RUN/ca.pem" \
	>"$RUN/deviced.log" 2>&1 &
DEVD_PID=$!
for _ in $(seq 50); do
	grep -q "listening on" "$RUN/deviced.log" && break
	sleep 0.1
done
grep -q "listening on" "$RUN/deviced.log" || die "toride-deviced did not start: $(cat "$RUN/deviced.log")"
ok "toride-deviced booted: $(grep -m1 'boot 1:' "$RUN/deviced.log" | sed 's/.*toride-deviced: //')"

# ---- HTTP: access control before anything --------------------------------------------------------
code=$(ccurl -o /dev/null -w '%{http_code}' "$OWN_URL/status")
[ "$code" = 401 ] && ok "GET /status without a session: 401" || bad "GET /status without session: $code"
code=$(ccurl -o /dev/null -w '%{http_code}' -X POST --data-binary @b-2.0.tbd "$OWN_URL/update")
[ "$code" = 401 ] && ok "POST /update without a session: 401" || bad "POST /update without session: $code"
code=$(ccurl -o /dev/null -w '%{http_code}' -X POST "$OWN_URL/reboot")
[ "$code" = 401 ] && ok "POST /reboot without a session: 401" || bad "POST /reboot without session: $code"
ccurl "$OWN_URL/" | grep -q 'type="password"' && ok "GET / shows the login form" || bad "no login form"

hdr=$(ccurl -D - -o /dev/null -c jar-factory --data-urlencode user=admin --data-urlencode "password=$FACTORY_PW" "$OWN_URL/login")
grep -q '^HTTP/1.1 303' <<<"$hdr" && grep -qi '^Set-Cookie: session=.*HttpOnly; SameSite=Strict; Path=/' <<<"$hdr" \
	&& ok "factory login gives a session cookie (HttpOnly, SameSite=Strict)" || bad "factory login: $hdr"
out=$(ccurl -w '\n%{http_code}' -b jar-factory "$OWN_URL/status")
[ "$(tail -1 <<<"$out")" = 403 ] && grep -q '"change_password":"/password"' <<<"$out" \
	&& ok "must-change session: GET /status answers 403 with the password page" || bad "must-change /status: $out"
code=$(ccurl -o /dev/null -w '%{http_code}' -b jar-factory -X POST --data-binary @b-2.0.tbd "$OWN_URL/update")
[ "$code" = 403 ] && ok "must-change session: POST /update 403" || bad "must-change /update: $code"
ccurl -b jar-factory "$OWN_URL/" | grep -q "factory default password" && ok "GET / shows the forced-change page" \
	|| bad "no forced-change page"
out=$(ccurl -w '\n%{http_code}' -b jar-factory -H 'Origin: http://evil.example' \
	--data-urlencode "old=$FACTORY_PW" --data-urlencode "new=$NEW_PW" "$OWN_URL/password")
[ "$(tail -1 <<<"$out")" = 403 ] && ok "cross-origin POST refused" || bad "cross-origin POST: $out"

# ---- hostile input is bounded -------------------------------------------------------------------
raw() { # raw PORT [SECONDS]: stdin to the device's port from the owner's address, answer on stdout
	in_cli timeout "${2:-10}" bash -c "exec 3<>/dev/tcp/$DEV_ADDR1/$1; cat >&3; cat <&3" 2>/dev/null
}
out=$( { printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Pad: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } | raw 80 | head -1)
grep -q ' 431 ' <<<"$out" && ok "20 KB request head: 431" || bad "oversized head: $out"
out=$(printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n' | raw 80 | head -1)
grep -q ' 400 ' <<<"$out" && ok "non-HTTP bytes: 400" || bad "garbage: $out"
out=$(printf 'POST /update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' | raw 80 | head -1)
grep -q ' 411 ' <<<"$out" && ok "chunked POST /update: 411" || bad "chunked: $out"
out=$(printf 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n' | raw 80 | head -1)
grep -q ' 413 ' <<<"$out" && ok "oversized login body: 413" || bad "big body: $out"
out=$(printf 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n' | raw 80 | head -1)
grep -q ' 400 ' <<<"$out" && ok "bad Content-Length: 400" || bad "bad length: $out"
out=$( { head -c 300000 /dev/zero | tr '\0' A; printf '\r\n'; printf '\xff\xfa\x18'; head -c 100000 /dev/zero | tr '\0' '\001'; } | raw 23 3 | tr -d '\0' | tr -c '[:print:]\n' '.' | grep -c 'login')
[ "$out" -ge 1 ] && ok "telnet: 300 KB line and an unterminated subnegotiation survived" || bad "telnet flood: $out"
flood=()
for _ in $(seq 80); do
	in_cli timeout 3 bash -c "exec 3<>/dev/tcp/$DEV_ADDR0/80; sleep 2" 2>/dev/null &
	flood+=($!)
done
sleep 0.5
code=$(ccurl -o /dev/null -w '%{http_code}' "$OWN_URL/status")
wait "${flood[@]}"
code2=$(ccurl -o /dev/null -w '%{http_code}' "$OWN_URL/status")
[ "$code" = 401 ] && ok "80 idle connections from $ATT_ADDR: the owner is still served (per-address cap)" \
	|| bad "owner during a connection flood: $code"
[ "$code2" = 401 ] && ok "served normally after the flood" || bad "after connection flood: $code2"
kill -0 "$DEVD_PID" 2>/dev/null && ok "toride-deviced still running after hostile input" || bad "toride-deviced died"

# ---- telnet: forced change with the real client ---------------------------------------------------
if out=$(in_cli expect "$EXP/forced_change_only.exp" "$DEV_ADDR1" 23 admin "$FACTORY_PW" 2>&1); then
	ok "telnet: the factory password allows nothing but the change (commands never run, hang-up)"
else
	bad "telnet forced-change-only: $(tail -5 <<<"$out")"
fi
if out=$(in_cli expect "$EXP/forced_change.exp" "$DEV_ADDR1" 23 admin "$FACTORY_PW" "$BANNED_PW" "$NEW_PW" 2>&1); then
	ok "telnet: forced change; banned password refused: $(grep -m1 '^REASON:' <<<"$out" | tr -d '\r')"
else
	bad "telnet forced change: $(tail -8 <<<"$out")"
fi
if in_cli expect "$EXP/login.exp" "$DEV_ADDR1" 23 admin "$FACTORY_PW" incorrect >/dev/null 2>&1; then
	ok "telnet: the factory password no longer works"
else
	bad "telnet: factory password still accepted"
fi
if in_cli expect "$EXP/login.exp" "$DEV_ADDR1" 23 admin "$NEW_PW" ok >/dev/null 2>&1; then
	ok "telnet: the new password works"
else
	bad "telnet: new password refused"
fi
code=$(ccurl -o /dev/null -w '%{http_code}' -b jar-factory "$OWN_URL/status")
[ "$code" = 401 ] && ok "the change ended the factory session (401)" || bad "factory session after change: $code"

# Owner login over HTTP; waits out a per-account delay (429 + Retry-After) if there is one.
# Prints the number of seconds waited; fails after 5 tries.
owner_login() {
	local waited=0 hdr ra
	for _ in 1 2 3 4 5; do
		hdr=$(ccurl -D - -o /dev/null -c jar-owner --data-urlencode user=admin \
			--data-urlencode "password=$NEW_PW" "$OWN_URL/login")
		if grep -q '^HTTP/1.1 303' <<<"$hdr"; then
			echo "$waited"
			return 0
		fi
		ra=$(grep -i '^Retry-After:' <<<"$hdr" | tr -dc '0-9')
		[ -n "$ra" ] || ra=1
		sleep "$ra"
		waited=$((waited + ra))
	done
	return 1
}

# ---- lockout of an attacking address; the owner still gets in ------------------------------------
locked=0
for i in $(seq 1 14); do
	hdr=$(ccurl -D - -o /dev/null --data-urlencode user=admin --data-urlencode "password=$WRONG_PW-$i" "$ATT_URL/login")
	st=$(head -1 <<<"$hdr" | awk '{print $2}')
	ra=$(grep -i '^Retry-After:' <<<"$hdr" | tr -dc '0-9')
	if [ "$st" = 429 ] && [ "${ra:-0}" -gt 10 ]; then
		locked=$i
		break
	fi
	# A per-account delay (short 429) is honoured, as a patient attacker would.
	[ "$st" = 429 ] && sleep "${ra:-1}"
done
if [ "$locked" -gt 0 ]; then
	ok "attacker $ATT_ADDR locked out after $((locked - 1)) wrong passwords: 429, Retry-After: $ra s"
else
	bad "no source lockout after 14 wrong passwords"
fi
hdr=$(ccurl -D - -o /dev/null --data-urlencode user=admin --data-urlencode "password=$NEW_PW" "$ATT_URL/login")
grep -q '^HTTP/1.1 429' <<<"$hdr" && ok "locked-out address refused even with the right password" \
	|| bad "locked-out address with the right password: $(head -1 <<<"$hdr")"
if out=$(in_cli expect "$EXP/login.exp" "$DEV_ADDR0" 23 admin "$NEW_PW" throttled 2>&1); then
	ok "telnet from the locked-out address: $(grep -m1 'Too many' <<<"$out" | tr -d '\r')"
else
	bad "telnet throttled message: $(tail -4 <<<"$out")"
fi
if waited=$(owner_login); then
	[ "$waited" -le "$ACCOUNT_CAP_S" ] && ok "owner from $OWN_ADDR logged in after ${waited} s (per-account cap ${ACCOUNT_CAP_S} s)" \
		|| bad "owner waited ${waited} s, more than the per-account cap"
else
	bad "owner could not log in during the attack"
fi

# ---- update cycle ------------------------------------------------------------------------------
status() { ccurl -b jar-owner "$OWN_URL/status"; }
jfield() { sed -n "s/.*\"$1\":\\(\"[^\"]*\"\\|[a-z0-9]*\\).*/\\1/p" | tr -d '"'; }
# After a reboot: sessions are gone (memory only); log in again once the device answers.
relogin() {
	for _ in $(seq 60); do
		if ccurl -o /dev/null "$OWN_URL/" 2>/dev/null && owner_login >/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-2.0-rogue.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 400 ] && grep -q '"code":"signature"' <<<"$out" && ok "bundle signed by an unknown key refused: signature" \
	|| bad "rogue-signed bundle: $out"
out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-2.0.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 200 ] && grep -q '"installed":"2.0"' <<<"$out" && ok "POST /update 2.0: installed" \
	|| bad "update 2.0: $out"
ccurl -b jar-owner -X POST "$OWN_URL/reboot" >/dev/null
sleep 0.5
relogin || bad "no login after reboot"
s=$(status)
[ "$(jfield version <<<"$s")" = 2.0 ] && [ "$(jfield trial <<<"$s")" = true ] && ok "after reboot: 2.0 on trial" \
	|| bad "after reboot status: $s"
for _ in $(seq 40); do
	s=$(status)
	[ "$(jfield trial <<<"$s")" = false ] && break
	sleep 0.2
done
[ "$(jfield version <<<"$s")" = 2.0 ] && [ "$(jfield confirmed <<<"$s")" = true ] && [ "$(jfield floor <<<"$s")" = 2.0 ] \
	&& ok "2.0 confirmed itself; downgrade floor 2.0" || bad "2.0 not confirmed: $s"

out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-3.0.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 200 ] && ok "POST /update 3.0 (self-test fails): installed" || bad "update 3.0: $out"
ccurl -b jar-owner -X POST "$OWN_URL/reboot" >/dev/null
for _ in $(seq 100); do
	grep -q "rollback: firmware 3.0 never confirmed" "$RUN/deviced.log" && break
	sleep 0.2
done
sleep 0.3
relogin || bad "no login after the rollback"
s=$(status)
trial_boots=$(grep -c "version 3.0, trial" "$RUN/deviced.log")
[ "$(jfield version <<<"$s")" = 2.0 ] && [ "$(jfield rolled_back_version <<<"$s")" = 3.0 ] \
	&& ok "3.0 never confirmed: $trial_boots trial boots, rolled back to 2.0, status reports it" || bad "rollback: $s"

out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-1.5.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 409 ] && grep -q '"code":"downgrade"' <<<"$out" \
	&& ok "POST 1.5: refused as a downgrade ($(jfield error <<<"$out"))" || bad "downgrade: $out"
out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-2.0.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 409 ] && grep -q '"code":"downgrade"' <<<"$out" && ok "replay of the installed 2.0 refused" \
	|| bad "replay: $out"
out=$(ccurl -w '\n%{http_code}' -b jar-owner -H 'Content-Type: application/octet-stream' --data-binary @b-tampered.tbd "$OWN_URL/update")
[ "$(tail -1 <<<"$out")" = 400 ] && grep -q '"code":"signature"' <<<"$out" \
	&& ok "tampered bundle refused: $(jfield error <<<"$out")" || bad "tampered: $out"
s=$(status)
[ "$(jfield version <<<"$s")" = 2.0 ] && [ "$(jfield trial <<<"$s")" = false ] && ok "refused bundles left 2.0 running, nothing on trial" \
	|| bad "after refusals: $s"

# ---- automatic update over HTTPS, with an interrupted and resumed download ----------------------
mkdir -p www/fw
cp b-4.0.tbd www/fw/
printf 'version=4.0\nurl=b-4.0.tbd\n' >www/fw/latest
size=$(stat -c %s b-4.0.tbd)
httpd_conf() { # httpd_conf NAME RATE_KIB
	cat >"$1" <<EOF
server.modules = ("mod_openssl", "mod_accesslog")
server.bind = "$ATT_ADDR"
server.port = $UPD_PORT
server.document-root = "$RUN/www"
server.errorlog = "$RUN/httpd-error.log"
accesslog.filename = "$RUN/httpd-access.log"
server.pid-file = "$RUN/httpd-$1.pid"
ssl.engine = "enable"
ssl.pemfile = "$RUN/srv.pem"
ssl.privkey = "$RUN/srv.key"
EOF
	[ "$2" -gt 0 ] && echo "connection.kbytes-per-second = $2" >>"$1"
}
httpd_conf slow.conf 96
httpd_conf fast.conf 0
# Not through in_cli: a backgrounded function is a subshell, and $! must be lighttpd itself.
ip netns exec "$CLI_NS" lighttpd -D -f slow.conf >httpd.out 2>&1 &
HTTPD_PID=$!
part=$RUN/state/download.part
for _ in $(seq 150); do
	have=$(stat -c %s "$part" 2>/dev/null || echo 0)
	[ "$have" -gt 200000 ] && break
	sleep 0.1
done
kill "$HTTPD_PID" 2>/dev/null
wait "$HTTPD_PID" 2>/dev/null
HTTPD_PID=
sleep 0.5
have=$(stat -c %s "$part" 2>/dev/null || echo 0)
if [ "$have" -gt 0 ] && [ "$have" -lt "$size" ]; then
	ok "first download cut at $have of $size bytes (server killed)"
else
	bad "download not interrupted mid-way ($have of $size bytes)"
fi
ip netns exec "$CLI_NS" lighttpd -D -f fast.conf >>httpd.out 2>&1 &
HTTPD_PID=$!
for _ in $(seq 150); do
	grep -q "confirmed firmware 4.0" "$RUN/deviced.log" && break
	sleep 0.2
done
resumed=$(grep -o 'resumed from [0-9]*' "$RUN/deviced.log" | tail -1 | tr -dc '0-9')
# The device's own record of the transfer (lighttpd buffers its access log).
if [ "${resumed:-0}" -gt 0 ] && grep -q "resumed from $resumed, HTTP 206" "$RUN/deviced.log"; then
	ok "download resumed after $resumed bytes (HTTP 206), not restarted"
else
	bad "no resumed download (resumed_from=${resumed:-none}): $(grep -E 'download' "$RUN/deviced.log" | tail -4)"
fi
grep -q "update: installed 4.0" "$RUN/deviced.log" && ok "automatic update installed 4.0 and rebooted" \
	|| bad "automatic update did not install 4.0"
relogin || bad "no login after the automatic update"
s=$(status)
[ "$(jfield version <<<"$s")" = 4.0 ] && [ "$(jfield confirmed <<<"$s")" = true ] \
	&& ok "running 4.0, confirmed ($(jfield last_update <<<"$s"))" || bad "after automatic update: $s"
[ -e "$part" ] && bad "part file left behind" || ok "part file removed after the install"

# ---- offline tools on the final state (exit codes) -------------------------------------------------
kill "$DEVD_PID" 2>/dev/null
wait "$DEVD_PID" 2>/dev/null
DEVD_PID=
"$DEVD" install --state "$RUN/state" b-2.0.tbd >/dev/null 2>&1
[ $? = 1 ] && ok "offline install of an old bundle: exit 1" || bad "offline install old bundle exit code"
out=$("$DEVD" status --state "$RUN/state")
grep -q "slot_a=4.0\|slot_b=4.0" <<<"$out" && ok "offline status: $out" || bad "offline status: $out"

echo "test_deviced: $(( $(date +%s) - t0 )) s"
[ "$fail" = 0 ] && echo "test_deviced: all passed" || echo "test_deviced: FAILED"
exit $fail
