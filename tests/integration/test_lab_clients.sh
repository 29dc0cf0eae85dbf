#!/usr/bin/env bash
# Real clients against `toride lab` (one device per profile on 127.30.0.0/16, loopback only):
# telnetlib, the Mirai scanner+loader dialogue, OpenSSH (sshpass), curl (Basic, Digest, form,
# FTP, RTSP OPTIONS), libcurl RTSP DESCRIBE, mosquitto_pub/sub, nmap -sV and hydra. Devices are
# picked from the lab's ground truth by policy and protocol (lab_clients/pick.py). Every check
# prints ok/FAIL; exit 1 on any FAIL. The lab is always stopped.
set -u
# shellcheck source=tests/integration/wait-ready.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
top=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TORIDE_BIN:-$top/build/toride}
here=$top/tests/integration/lab_clients
py=$(command -v /usr/bin/python3 || command -v python3)
work=$(mktemp -d)
lab=
cleanup() {
	if [ -n "$lab" ]; then
		kill "$lab" 2>/dev/null
		wait "$lab" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
ok() { echo "  ok   $*"; }
section() { echo "== $1 (at $(($(date +%s) - start)) s)"; }
bad() { echo "  FAIL $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$work/out" | tail -15; fi
}
start=$(date +%s)
need=(nmap hydra sshpass ssh curl mosquitto_pub mosquitto_sub)
for t in "${need[@]}"; do
	command -v "$t" >/dev/null || { bash "$top/scripts/deps.sh" bench; break; }
done
for t in "${need[@]}"; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed"; exit 1; }
done

"$bin" lab --devices 62 --mix all --net 127.30.0.0/16 --truth "$work/truth.json" --ready-file "$work/ready" \
	--hostkeys "$work/hostkeys" --no-delays >"$work/lab.log" 2>&1 &
lab=$!
if ! wait_ready "$work/ready" "$lab" 30; then
	echo "FAIL: the lab did not come up"
	cat "$work/lab.log"
	exit 1
fi
"$py" "$here/pick.py" "$work/truth.json" "$top/data/profiles" >"$work/picks.sh" || { echo "FAIL: pick.py"; exit 1; }
# shellcheck disable=SC1091
. "$work/picks.sh"
picked() { # picked NAME...: every named pick exists, else FAIL and false
	local n r=0
	for n in "$@"; do
		if [ -z "${!n}" ]; then bad "the fleet has no device for $n"; r=1; fi
	done
	return $r
}

section "telnet (python telnetlib)"
if picked TN_WEAK TN_UNIQUE TN_OPEN; then
	tc="$here/telnet_client.py"
	check "telnet $TN_WEAK ($TN_WEAK_PROFILE): factory pair $TN_WEAK_USER:$TN_WEAK_PASS gives a shell, echo hi prints hi" \
		"$py" "$tc" login "$TN_WEAK" "$TN_WEAK_PORT" "$TN_WEAK_USER" "$TN_WEAK_PASS"
	check "telnet $TN_WEAK: a wrong pair gets '$TN_WEAK_FAIL' and the login prompt again" \
		"$py" "$tc" wrong "$TN_WEAK" "$TN_WEAK_PORT" "$TN_WEAK_USER" "${TN_WEAK_PASS}x" "$TN_WEAK_FAIL"
	check "telnet $TN_UNIQUE ($TN_UNIQUE_PROFILE): the factory pair of another device is refused" \
		"$py" "$tc" wrong "$TN_UNIQUE" "$TN_UNIQUE_PORT" "$TN_UNIQUE_USER" "$TN_WEAK_PASS" "incorrect"
	check "telnet $TN_UNIQUE: its own unique pair gives a shell" \
		"$py" "$tc" login "$TN_UNIQUE" "$TN_UNIQUE_PORT" "$TN_UNIQUE_USER" "$TN_UNIQUE_PASS"
	check "telnet $TN_OPEN ($TN_OPEN_PROFILE): a shell at once without login" \
		"$py" "$tc" open "$TN_OPEN" "$TN_OPEN_PORT"
fi

section "Mirai scanner + loader dialogue over TCP"
if picked TN_WEAK; then
	echo "  device $TN_WEAK ($TN_WEAK_PROFILE) $TN_WEAK_USER:$TN_WEAK_PASS"
	if "$py" "$here/mirai_replay.py" "$top/tests/data/mirai/mirai_telnet_sequences.tsv" \
		"$TN_WEAK" "$TN_WEAK_PORT" "$TN_WEAK_USER" "$TN_WEAK_PASS" >"$work/mirai" 2>&1; then
		cat "$work/mirai"
	else
		cat "$work/mirai"
		bad "the Mirai dialogue (lines above)"
	fi
fi

section "OpenSSH client (sshpass + ssh)"
sshopt=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5
	-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1)
ssh_echo() { # ssh_echo HOST PORT USER PASS: ssh runs `echo hi` and prints exactly hi
	local out
	out=$(timeout 20 sshpass -p "$4" ssh "${sshopt[@]}" -p "$2" "$3@$1" 'echo hi' 2>&1) || { echo "$out"; return 1; }
	[ "$(printf '%s' "$out" | tr -d '\r')" = hi ] || { echo "output: $out"; return 1; }
}
ssh_refused() { # ssh_refused HOST PORT USER PASS: the pair does not log in
	local rc
	timeout 20 sshpass -p "$4" ssh "${sshopt[@]}" -p "$2" "$3@$1" 'echo hi' >"$work/ssh.out" 2>&1
	rc=$?
	cat "$work/ssh.out"
	# sshpass 5 = wrong password; ssh 255 = "Permission denied"
	[ $rc -eq 5 ] || { [ $rc -eq 255 ] && grep -q "Permission denied" "$work/ssh.out"; }
}
if picked SSH_WEAK SSH_UNIQUE SSH_KEYONLY; then
	check "ssh $SSH_WEAK ($SSH_WEAK_PROFILE): factory pair $SSH_WEAK_USER:$SSH_WEAK_PASS runs echo hi" \
		ssh_echo "$SSH_WEAK" "$SSH_WEAK_PORT" "$SSH_WEAK_USER" "$SSH_WEAK_PASS"
	check "ssh $SSH_WEAK: a wrong password is refused" \
		ssh_refused "$SSH_WEAK" "$SSH_WEAK_PORT" "$SSH_WEAK_USER" "${SSH_WEAK_PASS}x"
	check "ssh $SSH_UNIQUE ($SSH_UNIQUE_PROFILE): the weak pair is refused" \
		ssh_refused "$SSH_UNIQUE" "$SSH_UNIQUE_PORT" "$SSH_UNIQUE_USER" "$SSH_WEAK_PASS"
	check "ssh $SSH_UNIQUE: its unique pair runs echo hi" \
		ssh_echo "$SSH_UNIQUE" "$SSH_UNIQUE_PORT" "$SSH_UNIQUE_USER" "$SSH_UNIQUE_PASS"
	keyonly() {
		ssh_refused "$SSH_KEYONLY" "$SSH_KEYONLY_PORT" root "$1" || return 1
		# The server offers public key only.
		timeout 20 ssh "${sshopt[@]}" -o BatchMode=yes -o PubkeyAuthentication=yes -p "$SSH_KEYONLY_PORT" \
			"root@$SSH_KEYONLY" true 2>&1 | grep -q "Permission denied (publickey)"
	}
	check "ssh $SSH_KEYONLY ($SSH_KEYONLY_PROFILE): key-only refuses passwords, offers publickey only" \
		keyonly "$SSH_WEAK_PASS"
fi

section "curl HTTP (Basic, Digest, open page, form login)"
code() { curl -s -m 10 -o "$work/body" -w '%{http_code}' "$@"; }
is() { # is WANT CURL-ARGS...: curl answers HTTP status WANT
	local want=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$want" ] || { echo "status $got, want $want"; head -c 400 "$work/body"; return 1; }
}
if picked HTTP_BASIC HTTP_DIGEST HTTP_OPEN HTTP_FORM; then
	u="http://$HTTP_BASIC:$HTTP_BASIC_PORT/"
	check "curl --basic $u ($HTTP_BASIC_PROFILE) with $HTTP_BASIC_USER:$HTTP_BASIC_PASS -> 200" \
		is 200 --basic -u "$HTTP_BASIC_USER:$HTTP_BASIC_PASS" "$u"
	check "curl --basic $u wrong pair -> 401" is 401 --basic -u "$HTTP_BASIC_USER:${HTTP_BASIC_PASS}x" "$u"
	check "curl $u without credentials -> 401" is 401 "$u"
	u="http://$HTTP_DIGEST:$HTTP_DIGEST_PORT/"
	check "curl --digest $u ($HTTP_DIGEST_PROFILE) with $HTTP_DIGEST_USER:$HTTP_DIGEST_PASS -> 200" \
		is 200 --digest -u "$HTTP_DIGEST_USER:$HTTP_DIGEST_PASS" "$u"
	check "curl --digest $u wrong pair -> 401" is 401 --digest -u "$HTTP_DIGEST_USER:${HTTP_DIGEST_PASS}x" "$u"
	check "curl --basic $u: a Digest-only device refuses Basic -> 401" \
		is 401 --basic -u "$HTTP_DIGEST_USER:$HTTP_DIGEST_PASS" "$u"
	u="http://$HTTP_OPEN:$HTTP_OPEN_PORT/"
	open_page() { is 200 "$u" && grep -qF "<title>$HTTP_OPEN_TITLE</title>" "$work/body"; }
	check "curl $u ($HTTP_OPEN_PROFILE), no auth -> 200 titled '$HTTP_OPEN_TITLE'" open_page
	u="http://$HTTP_FORM:$HTTP_FORM_PORT"
	form_ok() {
		rm -f "$work/jar"
		is 302 -c "$work/jar" --data-urlencode "username=$HTTP_FORM_USER" \
			--data-urlencode "password=$HTTP_FORM_PASS" "$u/login" || return 1
		grep -q . "$work/jar" && is 200 -b "$work/jar" "$u/admin" && grep -q 'value="Save"' "$work/body" || return 1
		# Without the cookie the admin page is not served.
		is 302 "$u/admin"
	}
	form_bad() {
		rm -f "$work/jar"
		is 200 -c "$work/jar" --data-urlencode "username=$HTTP_FORM_USER" \
			--data-urlencode "password=${HTTP_FORM_PASS}x" "$u/login" || return 1
		! grep -q 'value="Save"' "$work/body" && ! grep -qv '^#' <(grep . "$work/jar")
	}
	check "curl form login $u/login ($HTTP_FORM_PROFILE) $HTTP_FORM_USER:$HTTP_FORM_PASS -> cookie -> admin page" form_ok
	check "curl form login with a wrong pair: no cookie, no admin page" form_bad
fi

section "mosquitto_pub / mosquitto_sub"
if picked MQTT_ANON MQTT_AUTH; then
	check "mosquitto_pub $MQTT_ANON ($MQTT_ANON_PROFILE) anonymous is accepted" \
		timeout 10 mosquitto_pub -h "$MQTT_ANON" -p "$MQTT_ANON_PORT" -t toride/test -m hi
	sub_ok() { # mosquitto_sub connects and subscribes: it times out waiting (27), not refused
		timeout 10 mosquitto_sub "$@" -t 'toride/#' -W 1 >/dev/null 2>"$work/sub.err"
		local rc=$?
		cat "$work/sub.err"
		[ $rc -eq 27 ] && grep -q "Timed out" "$work/sub.err"
	}
	check "mosquitto_sub $MQTT_ANON anonymous subscribes" sub_ok -h "$MQTT_ANON" -p "$MQTT_ANON_PORT"
	refused() { ! timeout 10 mosquitto_pub "$@" -t toride/test -m hi; }
	check "mosquitto_pub $MQTT_AUTH ($MQTT_AUTH_PROFILE) without credentials is refused" \
		refused -h "$MQTT_AUTH" -p "$MQTT_AUTH_PORT"
	check "mosquitto_pub $MQTT_AUTH with a wrong pair is refused" \
		refused -h "$MQTT_AUTH" -p "$MQTT_AUTH_PORT" -u "$MQTT_AUTH_USER" -P "${MQTT_AUTH_PASS}x"
	check "mosquitto_pub $MQTT_AUTH with $MQTT_AUTH_USER:$MQTT_AUTH_PASS is accepted" \
		timeout 10 mosquitto_pub -h "$MQTT_AUTH" -p "$MQTT_AUTH_PORT" -u "$MQTT_AUTH_USER" -P "$MQTT_AUTH_PASS" \
		-t toride/test -m hi
	check "mosquitto_sub $MQTT_AUTH with the pair subscribes" \
		sub_ok -h "$MQTT_AUTH" -p "$MQTT_AUTH_PORT" -u "$MQTT_AUTH_USER" -P "$MQTT_AUTH_PASS"
fi

section "RTSP (curl OPTIONS; libcurl DESCRIBE)"
describe() { # describe WANT-STATUS URL [auth user pass]
	local want=$1
	shift
	"$py" "$here/rtsp_describe.py" "$@" >"$work/rtsp" 2>&1
	read -r st _ <"$work/rtsp"
	[ "$st" = "$want" ] || { cat "$work/rtsp"; return 1; }
	[ "$want" != 200 ] || grep -q '^m=video' "$work/rtsp" || { cat "$work/rtsp"; return 1; }
}
if picked RTSP_OPEN RTSP_BASIC RTSP_DIGEST; then
	u="rtsp://$RTSP_OPEN:$RTSP_OPEN_PORT$RTSP_OPEN_ROUTE"
	options() {
		curl -s -m 10 -v "$1" >"$work/opt" 2>&1
		if ! grep -q '^< RTSP/1.0 200' "$work/opt" || ! grep -q '^< Public: .*DESCRIBE' "$work/opt"; then
			cat "$work/opt"
			return 1
		fi
	}
	check "curl $u ($RTSP_OPEN_PROFILE) OPTIONS -> 200 with Public: ... DESCRIBE" options "$u"
	check "DESCRIBE $u without auth -> 200 and an SDP with a video stream" describe 200 "$u"
	check "DESCRIBE rtsp://$RTSP_OPEN:$RTSP_OPEN_PORT/nosuchstream -> 404" \
		describe 404 "rtsp://$RTSP_OPEN:$RTSP_OPEN_PORT/nosuchstream"
	u="rtsp://$RTSP_BASIC:$RTSP_BASIC_PORT$RTSP_BASIC_ROUTE"
	check "DESCRIBE $u ($RTSP_BASIC_PROFILE) without auth -> 401" describe 401 "$u"
	check "DESCRIBE $u Basic $RTSP_BASIC_USER:$RTSP_BASIC_PASS -> 200" \
		describe 200 "$u" basic "$RTSP_BASIC_USER" "$RTSP_BASIC_PASS"
	check "DESCRIBE $u Basic wrong pair -> 401" describe 401 "$u" basic "$RTSP_BASIC_USER" "${RTSP_BASIC_PASS}x"
	u="rtsp://$RTSP_DIGEST:$RTSP_DIGEST_PORT$RTSP_DIGEST_ROUTE"
	check "DESCRIBE $u ($RTSP_DIGEST_PROFILE) Digest $RTSP_DIGEST_USER:$RTSP_DIGEST_PASS -> 200" \
		describe 200 "$u" digest "$RTSP_DIGEST_USER" "$RTSP_DIGEST_PASS"
	check "DESCRIBE $u Digest wrong pair -> 401" describe 401 "$u" digest "$RTSP_DIGEST_USER" "${RTSP_DIGEST_PASS}x"
fi

section "curl FTP"
# The emulated FTP has no data connection (no PASV/EPSV), so the checks log in with curl -I
# (login + PWD, no listing); see the report of this test for the gap.
if picked FTP_ANON FTP_AUTH; then
	check "curl -I ftp://$FTP_ANON ($FTP_ANON_PROFILE) anonymous login is accepted" \
		curl -s -m 10 -I "ftp://$FTP_ANON:$FTP_ANON_PORT/"
	ftp_refused() { curl -s -m 10 -I "$@"; [ $? -eq 67 ]; }
	check "curl -I ftp://$FTP_AUTH ($FTP_AUTH_PROFILE) anonymous is refused (530)" \
		ftp_refused "ftp://$FTP_AUTH:$FTP_AUTH_PORT/"
	check "curl -I ftp://$FTP_AUTH with $FTP_AUTH_USER:$FTP_AUTH_PASS is accepted" \
		curl -s -m 10 -I -u "$FTP_AUTH_USER:$FTP_AUTH_PASS" "ftp://$FTP_AUTH:$FTP_AUTH_PORT/"
	check "curl -I ftp://$FTP_AUTH with a wrong pair is refused" \
		ftp_refused -u "$FTP_AUTH_USER:${FTP_AUTH_PASS}x" "ftp://$FTP_AUTH:$FTP_AUTH_PORT/"
fi

section "hydra"
if picked HTTP_BASIC HTTP_BASIC_UNIQUE TN_WEAK TN_UNIQUE; then
	printf '%s:%s\n' admin 1234 root vizxv "$HTTP_BASIC_USER" "$HTTP_BASIC_PASS" "$TN_WEAK_USER" "$TN_WEAK_PASS" \
		admin password support support >"$work/combo"
	printf '%s\n' "$HTTP_BASIC" "$HTTP_BASIC_UNIQUE" >"$work/http-targets"
	(cd "$work" && timeout 60 hydra -I -t 1 -C "$work/combo" -M "$work/http-targets" -s "$HTTP_BASIC_PORT" \
		http-get / >"$work/hydra-http" 2>&1 </dev/null)
	echo "  hydra http-get took $(($(date +%s) - start)) s since the start"
	hydra_http() {
		grep '^\[' "$work/hydra-http" | grep 'host:'
		[ "$(grep -c 'host:' "$work/hydra-http")" = 1 ] &&
			grep -qE "host: $HTTP_BASIC +login: $HTTP_BASIC_USER +password: $HTTP_BASIC_PASS\$" "$work/hydra-http"
	}
	check "hydra http-get (Basic) on $HTTP_BASIC (factory) and $HTTP_BASIC_UNIQUE (unique) finds exactly $HTTP_BASIC $HTTP_BASIC_USER:$HTTP_BASIC_PASS" \
		hydra_http
	# hydra 9.4's telnet module garbles the 2nd and later pairs on a connection against a
	# busybox-style login (see /work/shared/reference/peer-baselines.md): reported, not asserted.
	printf '%s\n' "$TN_WEAK" "$TN_UNIQUE" >"$work/tn-targets"
	(cd "$work" && timeout 60 hydra -I -t 1 -C "$work/combo" -M "$work/tn-targets" telnet >"$work/hydra-tn" 2>&1 </dev/null)
	echo "  info hydra telnet (not asserted, hydra's telnet is unreliable on busybox logins): $(grep -c 'host:' "$work/hydra-tn") found"
	grep 'host:' "$work/hydra-tn" | sed 's/^/       /'
fi

section "nmap -sV"
if picked SSH_WEAK TN_WEAK HTTP_BASIC RTSP_OPEN MQTT_ANON FTP_ANON SSH_UNIQUE; then
	mapfile -t hosts < <(printf '%s\n' "$SSH_WEAK" "$TN_WEAK" "$HTTP_BASIC" "$RTSP_OPEN" "$MQTT_ANON" "$FTP_ANON" \
		"$SSH_UNIQUE" "$RTSP_DIGEST" | sort -u)
	ports=$("$py" -c '
import json, sys
t = json.load(open(sys.argv[1])); hs = set(sys.argv[2:])
print(",".join(str(p) for p in sorted({s["port"] for d in t["devices"] if d["addr"] in hs for s in d["services"]})))' \
		"$work/truth.json" "${hosts[@]}")
	echo "  nmap -sV -Pn -n -p $ports ${hosts[*]}"
	if timeout 150 nmap -sV -Pn -n -p "$ports" -oX "$work/nmap.xml" "${hosts[@]}" >"$work/nmap.txt" 2>&1; then
		"$py" "$here/nmap_check.py" "$work/nmap.xml" "$work/truth.json" "$top/data/profiles" >"$work/nmapc" 2>&1
		rc=$?
		cat "$work/nmapc"
		[ $rc -eq 0 ] || bad "nmap names (lines above)"
	else
		cat "$work/nmap.txt"
		bad "nmap -sV did not run"
	fi
fi

if kill -0 "$lab" 2>/dev/null; then ok "the lab is still up after all clients"; else bad "the lab died during the test"; fi
echo "test_lab_clients: $fails FAIL, $(($(date +%s) - start)) s"
[ "$fails" -eq 0 ]
