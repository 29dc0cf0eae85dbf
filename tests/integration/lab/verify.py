#!/usr/bin/python3
"""Check every lab device with REAL clients, independent of toride (run inside the scanner namespace).

Called by `lab.sh verify`. For each manifest row it proves what the manifest claims:
  weak/strong credential   the right pair logs in, a wrong pair is refused
  no authentication        the service serves without any credential
  closed address           every lab port answers RST (connection refused)
and that the silent range drops packets without an answer. Clients: telnetlib (Python's telnet
client), OpenSSH via sshpass, curl (HTTP Basic/Digest, FTP, RTSP OPTIONS), mosquitto_pub, and
GStreamer's rtspsrc (lab/rtsp_probe.py) for RTSP DESCRIBE..PLAY.

Prints one line per device (ok / FAIL with the failing checks); exit 1 if any device deviates.
"""
import argparse
import concurrent.futures
import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import telnetlib  # deprecated in 3.11 but present; a plain telnet client is what we need

MARKER_CMD = b"echo TORIDE_$((6*7))\r\n"
MARKER = b"TORIDE_42"
WRONG_PASSWORD = "toride-wrong-Pw-1"
# Per-step network timeout. busybox login sleeps 3 s after a failure, lighttpd ~1 s, dropbear ~0.3 s.
T = 8.0
LAB_PORTS = (21, 22, 23, 80, 554, 1883, 2323, 8080)


def run(cmd, timeout=20, env=None, input_=None):
    """Run a client; returns (exit code, stdout+stderr text)."""
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, input=input_)
    except subprocess.TimeoutExpired:
        return 124, "timeout"
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------- telnet

def telnet_login(addr, port, user, password):
    """Returns 'shell' (marker echoed after login), 'refused' (Login incorrect), or 'error: ...'."""
    try:
        tn = telnetlib.Telnet(addr, port, timeout=T)
    except OSError as e:
        return "error: connect %s" % e
    try:
        idx, _, buf = tn.expect([rb"login: ?$", rb"[#$] ?$"], T)
        if idx != 0:
            return "error: no login prompt (%r)" % buf[-80:]
        tn.write(user.encode() + b"\r\n")
        idx, _, buf = tn.expect([rb"[Pp]assword: ?$"], T)
        if idx != 0:
            return "error: no password prompt (%r)" % buf[-80:]
        tn.write(password.encode() + b"\r\n")
        idx, _, buf = tn.expect([rb"Login incorrect", rb"[#$>] ?$"], T)
        if idx == 0:
            return "refused"
        if idx != 1:
            return "error: no answer after password (%r)" % buf[-80:]
        tn.write(MARKER_CMD)
        idx, _, buf = tn.expect([re.escape(MARKER)], T)
        if idx != 0:
            return "error: no marker (%r)" % buf[-80:]
        tn.write(b"exit\r\n")
        return "shell"
    except EOFError:
        return "error: connection closed"
    finally:
        tn.close()


def telnet_shell(addr, port):
    """No login at all: a shell prompt comes first and runs the marker command."""
    try:
        tn = telnetlib.Telnet(addr, port, timeout=T)
    except OSError as e:
        return "error: connect %s" % e
    try:
        idx, _, buf = tn.expect([rb"login: ?$", rb"[#$] ?$"], T)
        if idx == 0:
            return "login prompt"
        if idx != 1:
            return "error: no prompt (%r)" % buf[-80:]
        tn.write(MARKER_CMD)
        idx, _, buf = tn.expect([re.escape(MARKER)], T)
        if idx != 0:
            return "error: no marker (%r)" % buf[-80:]
        tn.write(b"exit\r\n")
        return "shell"
    except EOFError:
        return "error: connection closed"
    finally:
        tn.close()


# ------------------------------------------------------------------------------------------------- ssh

def ssh_login(addr, port, user, password):
    env = dict(os.environ, SSHPASS=password)
    cmd = ["sshpass", "-e", "ssh", "-F", "/dev/null", "-p", str(port),
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
           "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=%d" % T, "-o", "LogLevel=ERROR",
           "-o", "BatchMode=no", "%s@%s" % (user, addr), "echo TORIDE_$((6*7))"]
    rc, out = run(cmd, timeout=30, env=env)
    if rc == 0 and MARKER.decode() in out:
        return "shell"
    if rc == 5 or "Permission denied" in out:
        return "refused"
    return "error: rc=%d %s" % (rc, out.strip()[-120:])


# ------------------------------------------------------------------------------------------------ http

def http_get(addr, port, method=None, user=None, password=None):
    """Returns (status code, body, headers) using curl."""
    cmd = ["curl", "-s", "-S", "--max-time", str(int(T)), "-D", "-", "-o", "-", "-w", "\n%{http_code}"]
    if method:
        cmd += ["--" + method, "-u", "%s:%s" % (user, password)]
    cmd.append("http://%s:%d/" % (addr, port))
    rc, out = run(cmd)
    if rc != 0:
        return 0, "curl rc=%d %s" % (rc, out.strip()[-100:]), ""
    body, _, code = out.rpartition("\n")
    return int(code), body, body


def http_auth_checks(addr, port, method, user, password):
    res = []
    code, body, _ = http_get(addr, port)
    scheme = "Basic" if method == "basic" else "Digest"
    m = re.search(r"(?im)^WWW-Authenticate:\s*(\w+)", body)
    res.append(("no credentials -> 401 %s" % scheme,
                code == 401 and m is not None and m.group(1).lower() == scheme.lower(),
                "got %s %s" % (code, m.group(1) if m else "no WWW-Authenticate")))
    code, _, _ = http_get(addr, port, method, user, password)
    res.append(("%s:%s -> 200" % (user, "<pw>"), code == 200, "got %s" % code))
    code, _, _ = http_get(addr, port, method, user, WRONG_PASSWORD)
    res.append(("wrong password -> 401", code == 401, "got %s" % code))
    return res


def http_noauth_checks(addr, port, want_password_input):
    code, body, _ = http_get(addr, port)
    has_pw = re.search(r'<input[^>]*type="password"', body, re.I) is not None
    title = re.search(r"<title>([^<]*)</title>", body, re.I)
    res = [("GET / without credentials -> 200", code == 200, "got %s" % code)]
    if want_password_input:
        res.append(("page has a password input (login form)", has_pw, "title %r" % (title.group(1) if title else None)))
    else:
        res.append(("admin page 'Router Settings', no password input",
                    (not has_pw) and title is not None and title.group(1) == "Router Settings",
                    "title %r pw-input %s" % (title.group(1) if title else None, has_pw)))
    return res


# ------------------------------------------------------------------------------------------------ mqtt

def mqtt_connect(addr, port, user=None, password=None):
    cmd = ["mosquitto_pub", "-h", addr, "-p", str(port), "-t", "toride/lab/verify", "-m", "check",
           "-i", "toride-verify-%d" % os.getpid(), "-q", "1"]
    if user is not None:
        cmd += ["-u", user, "-P", password]
    rc, out = run(cmd, timeout=15)
    if rc == 0:
        return "accepted"
    if "not authori" in out.lower():
        return "refused"
    return "error: rc=%d %s" % (rc, out.strip()[-100:])


# ------------------------------------------------------------------------------------------------ rtsp

def rtsp_describe(lab_dir, addr, port, user=None, password=None):
    cmd = ["/usr/bin/python3", os.path.join(lab_dir, "lab", "rtsp_probe.py"),
           "rtsp://%s:%d/stream" % (addr, port), "--timeout", "6"]
    if user is not None:
        cmd += ["--user", user, "--password", password]
    rc, out = run(cmd, timeout=20)
    word = out.strip().splitlines()[-1] if out.strip() else ""
    return word if word in ("media", "unauthorized") else "error: rc=%d %s" % (rc, out.strip()[-120:])


def rtsp_options_server(addr, port):
    rc, out = run(["curl", "-s", "-i", "--max-time", "5", "rtsp://%s:%d/stream" % (addr, port)])
    m = re.search(r"(?im)^Server:\s*(.*?)\s*$", out)
    return rc == 0 and out.startswith("RTSP/1.0 200"), (m.group(1) if m else "")


# ------------------------------------------------------------------------------------------------- ftp

def ftp_list(addr, port, user=None, password=None):
    cmd = ["curl", "-s", "-S", "--max-time", str(int(T)), "ftp://%s:%d/" % (addr, port)]
    if user is not None:
        cmd += ["-u", "%s:%s" % (user, password)]
    rc, out = run(cmd)
    if rc == 0:
        return "listed"
    if rc == 67:  # CURLE_LOGIN_DENIED
        return "refused"
    return "error: rc=%d %s" % (rc, out.strip()[-100:])


# ------------------------------------------------------------------------------------------ raw probes

def tcp_state(addr, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        return "open"
    except ConnectionRefusedError:
        return "rst"
    except (socket.timeout, TimeoutError):
        return "silent"
    except OSError as e:
        return "error %s" % errno.errorcode.get(e.errno, e.errno)
    finally:
        s.close()


# ------------------------------------------------------------------------------------------ per device

def check_device(row, secrets, lab_dir):
    addr, port, proto, daemon, user, kind, expected, in_scope, pw = row
    if port == "-":
        states = {p: tcp_state(addr, p, 2.0) for p in LAB_PORTS}
        return [("RST on ports %s" % ",".join(map(str, LAB_PORTS)),
                 all(s == "rst" for s in states.values()),
                 " ".join("%d:%s" % kv for kv in states.items() if kv[1] != "rst"))]
    port = int(port)
    if pw == "*":
        pw = secrets[(addr, port)]
    res = []
    if daemon == "busybox-telnetd-login":
        r = telnet_login(addr, port, user, pw)
        res.append(("%s:<pw> logs in, runs echo" % user, r == "shell", r))
        r = telnet_login(addr, port, user, WRONG_PASSWORD)
        res.append(("wrong password refused", r == "refused", r))
    elif daemon == "busybox-telnetd-shell":
        r = telnet_shell(addr, port)
        res.append(("shell without login, runs echo", r == "shell", r))
    elif daemon == "dropbear":
        r = ssh_login(addr, port, user, pw)
        res.append(("%s:<pw> logs in, runs echo" % user, r == "shell", r))
        r = ssh_login(addr, port, user, WRONG_PASSWORD)
        res.append(("wrong password refused", r == "refused", r))
    elif daemon in ("lighttpd-basic", "busybox-httpd-basic"):
        res += http_auth_checks(addr, port, "basic", user, pw)
    elif daemon == "lighttpd-digest":
        res += http_auth_checks(addr, port, "digest", user, pw)
    elif daemon == "lighttpd-noauth-admin":
        res += http_noauth_checks(addr, port, False)
    elif daemon == "lighttpd-noauth-loginform":
        res += http_noauth_checks(addr, port, True)
    elif daemon == "mosquitto-anonymous":
        r = mqtt_connect(addr, port)
        res.append(("anonymous CONNECT + PUBLISH accepted", r == "accepted", r))
    elif daemon == "mosquitto-password":
        r = mqtt_connect(addr, port)
        res.append(("anonymous refused", r == "refused", r))
        r = mqtt_connect(addr, port, user, pw)
        res.append(("%s:<pw> accepted" % user, r == "accepted", r))
        r = mqtt_connect(addr, port, user, WRONG_PASSWORD)
        res.append(("wrong password refused", r == "refused", r))
    elif daemon.startswith("gst-rtsp-server-"):
        ok, server = rtsp_options_server(addr, port)
        res.append(("OPTIONS -> 200 (curl)", ok, server))
        r = rtsp_describe(lab_dir, addr, port)
        if daemon.endswith("-noauth"):
            res.append(("media without credentials", r == "media", r))
        else:
            res.append(("no credentials -> 401", r == "unauthorized", r))
            r = rtsp_describe(lab_dir, addr, port, user, pw)
            res.append(("%s:<pw> -> media" % user, r == "media", r))
            r = rtsp_describe(lab_dir, addr, port, user, WRONG_PASSWORD)
            res.append(("wrong password -> 401", r == "unauthorized", r))
    elif daemon == "vsftpd-anonymous":
        r = ftp_list(addr, port)
        res.append(("anonymous login lists /", r == "listed", r))
    elif daemon == "vsftpd-local":
        r = ftp_list(addr, port)
        res.append(("anonymous refused", r == "refused", r))
        r = ftp_list(addr, port, user, pw)
        res.append(("%s:<pw> lists /" % user, r == "listed", r))
        r = ftp_list(addr, port, user, WRONG_PASSWORD)
        res.append(("wrong password refused", r == "refused", r))
    else:
        res.append(("known daemon", False, daemon))
    return res


def load_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("addr\t"):
                continue
            cols = line.split("\t")
            if len(cols) != 9:
                raise SystemExit("manifest: bad row (%d columns): %r" % (len(cols), line))
            rows.append(cols)
    return rows


def load_secrets(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            a, p, _u, pw = line.rstrip("\n").split("\t")
            out[(a, int(p))] = pw
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--secrets", required=True)
    ap.add_argument("--silent", default="10.77.2.1", help="an address of the silent range")
    ap.add_argument("--lab-dir", required=True)
    ap.add_argument("--jobs", type=int, default=12)
    args = ap.parse_args()
    for tool in ("curl", "sshpass", "ssh", "mosquitto_pub"):
        if shutil.which(tool) is None:
            print("FAIL  missing client %s (scripts/deps.sh installs it)" % tool)
            return 1

    rows = load_manifest(args.manifest)
    secrets = load_secrets(args.secrets)
    t0 = time.monotonic()
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = [(row, ex.submit(check_device, row, secrets, args.lab_dir)) for row in rows]
        silent_addr = args.silent if args.silent.count(".") == 3 and not args.silent.endswith(".0") \
            else "10.77.2.1"
        silent = ex.submit(lambda: {p: tcp_state(silent_addr, p, 1.5) for p in (22, 23, 80)})
        print("%-5s %-16s %-6s %-26s %-9s %-16s %s" % ("", "address:port", "proto", "daemon", "scope",
                                                       "expected", "checks"))
        for row, fut in futs:
            addr, port, proto, daemon, _user, _kind, expected, in_scope, _pw = row
            try:
                res = fut.result()
            except Exception as e:  # a client crash is a deviation, not a verify crash
                res = [("client", False, repr(e))]
            failed = [r for r in res if not r[1]]
            bad += bool(failed)
            detail = "; ".join("%s [%s]" % (n, d) for n, _ok, d in failed) if failed else \
                "; ".join(n for n, _ok, _d in res)
            print("%-5s %-16s %-6s %-26s %-9s %-16s %s" % ("FAIL" if failed else "ok",
                                                           "%s:%s" % (addr, port), proto, daemon,
                                                           in_scope, expected, detail))
        st = silent.result()
        ok = all(s == "silent" for s in st.values())
        bad += not ok
        print("%-5s %-16s %-6s %-26s %-9s %-16s %s" % ("ok" if ok else "FAIL", silent_addr + ":*", "-",
                                                       "(silent range)", "-", "-",
                                                       "no answer: " + " ".join("%d:%s" % kv for kv in st.items())))
    print("verify: %d devices checked in %.1f s, %d deviating" % (len(rows), time.monotonic() - t0, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
