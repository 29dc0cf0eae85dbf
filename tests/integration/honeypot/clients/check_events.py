#!/usr/bin/env python3
"""Check what `toride honeypot run` recorded of test_hp_clients.sh's real clients.

    check_events.py EVENTS.jsonl DB.sqlite SPEC.json

SPEC: {"src": client address, "ssh_pass": [user, password] (the Mirai pair OpenSSH used),
"ssh_wrong": wrong password, "telnet_pass": [user, password] (busybox telnet),
"mqtt_pass": [user, password], "hydra": {"telnet": FILE, "ssh": FILE} (hydra -V outputs),
"hydra_user": user, "hydra_good": password}.
Prints one ok/FAIL line per check (and what the honeypot saw per session); exit 1 on any FAIL.
"""
import json
import re
import sqlite3
import sys

fails = 0


def report(ok, what):
    global fails
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    fails += 0 if ok else 1


def logins(s):
    return [(l.get("user"), l.get("password"), bool(l.get("ok"))) for l in s.get("logins", [])]


def commands(s):
    return [c.get("line", "") for c in s.get("commands", [])]


def hydra_attempts(path):
    """Passwords hydra -V says it tried, and the pairs it reported found."""
    tried, found = [], []
    for line in open(path, errors="replace"):
        m = re.search(r'\[ATTEMPT\] target \S+ - login "(.*)" - pass "(.*)" - \d+ of \d+', line)
        if m:
            tried.append((m.group(1), m.group(2)))
        m = re.search(r"host: \S+\s+login: (\S+)\s+password: (\S*)", line)
        if m:
            found.append((m.group(1), m.group(2)))
    return tried, found


def main():
    events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    spec = json.load(open(sys.argv[3]))
    src = spec["src"]
    sessions = [e for e in events if e.get("type") == "hp_session"]
    report(len(sessions) > 0, "%d hp_session events" % len(sessions))
    by_proto = {}
    for s in sessions:
        by_proto.setdefault(s.get("proto"), []).append(s)
    print("     sessions per protocol: %s" % ", ".join("%s %d" % (p, len(v)) for p, v in sorted(by_proto.items())))
    others = sorted({s.get("src") for s in sessions} - {src})
    report(not others, "every session comes from the client %s (others: %s)" % (src, others or "none"))
    for s in sessions:
        for k in ("session", "start", "end", "src", "src_port", "dst", "dst_port", "proto", "profile", "end_reason",
                  "bytes_in", "bytes_out", "logins", "commands", "downloads", "transcript"):
            if k not in s:
                report(False, "session %s lacks %s" % (s.get("session"), k))
                break

    # OpenSSH + sshpass with the Mirai pair, commands recorded
    user, pw = spec["ssh_pass"]
    ssh = by_proto.get("ssh", [])
    good = [s for s in ssh if (user, pw, True) in logins(s)]
    report(bool(good), "ssh: a session logged in with %s/%s" % (user, pw))
    lines = " ; ".join(c for s in good for c in commands(s))
    report("uname -a" in lines and "cat /proc/cpuinfo" in lines,
           "ssh: commands 'uname -a' and 'cat /proc/cpuinfo' recorded (%s)" % lines[:200])
    report(any((user, spec["ssh_wrong"], False) in logins(s) for s in ssh),
           "ssh: the wrong password was recorded as a failed login")

    # busybox telnet
    user, pw = spec["telnet_pass"]
    tn = by_proto.get("telnet", [])
    good = [s for s in tn if (user, pw, True) in logins(s)]
    report(bool(good), "telnet: busybox telnet's login %s/%s recorded as successful" % (user, pw))
    lines = [c for s in good for c in commands(s)]
    report(any("echo hello-busybox-telnet" in c for c in lines) and any("/bin/busybox ECCHI" in c for c in lines),
           "telnet: busybox telnet's commands recorded (%d lines)" % len(lines))
    urls = [d.get("url") for s in good for d in s.get("downloads", [])]
    report("http://198.51.100.7/bins/mirai.arm7" in urls, "telnet: the wget URL recorded as a download (%s)" % urls)
    dl = [d for s in good for d in s.get("downloads", []) if d.get("url") == "http://198.51.100.7/bins/mirai.arm7"]
    report(bool(dl) and dl[0].get("host") == "198.51.100.7" and dl[0].get("port") == 80 and
           dl[0].get("path") == "/bins/mirai.arm7", "telnet: download split into host/port/path")

    # MQTT
    user, pw = spec["mqtt_pass"]
    mq = by_proto.get("mqtt", [])
    report(any(user == l[0] and pw == l[1] for s in mq for l in logins(s)),
           "mqtt: mosquitto_pub's credentials %s/%s recorded" % (user, pw))

    # HTTP (curl as a proxy client, nmap's probes)
    report(len(by_proto.get("http", [])) > 0, "http: %d sessions recorded" % len(by_proto.get("http", [])))

    # hydra: every pair it tried is in the records, the one it found logged in
    for proto, path in sorted(spec["hydra"].items()):
        tried, found = hydra_attempts(path)
        recorded = [(u, p) for s in by_proto.get(proto, []) for (u, p, _) in logins(s)]
        missing = [t for t in tried if t not in recorded]
        report(tried and not missing, "hydra %s: all %d pairs it tried were recorded (%d login events for them; missing %s)"
               % (proto, len(set(tried)), sum(1 for r in recorded if r in tried), missing))
        want = (spec["hydra_user"], spec["hydra_good"])
        report(want in found, "hydra %s: found %s/%s (reported: %s)" % (proto, want[0], want[1], found))
        report(any((want[0], want[1], True) in logins(s) for s in by_proto.get(proto, [])),
               "hydra %s: the honeypot recorded the pair as a successful login" % proto)

    # SQLite holds the same sessions
    db = sqlite3.connect(sys.argv[2])
    n = db.execute("SELECT count(*) FROM hp_session").fetchone()[0]
    report(n == len(sessions), "sqlite: hp_session has %d rows, JSON Lines %d sessions" % (n, len(sessions)))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
