#!/usr/bin/env bash
# The honeypot records real infections: `toride honeypot run` on 127.0.0.1 (a free port, telnet,
# pinned to the Xiongmai DVR profile whose root/xc3511 is Mirai's first pair) while
# tests/integration/honeypot/replay.py replays the Mirai scanner, the Mirai loader (wget path and
# echo-upload path) and a Hide-and-Seek-like dictionary session. Then, from the JSON Lines AND
# from the SQLite database: every credential pair tried and its outcome, every command line in
# the order sent, the download URLs, the echo-uploaded dropper as a file record and as a sample
# stored under its SHA-256 (bytes checked), `families` mirai / hide-and-seek from data/yara, and a
# clean SIGTERM (exit 0). Loopback only; nothing is ever fetched (198.51.100.0/24 is a
# documentation range). Takes a few seconds.
set -u
top=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TORIDE_BIN:-$top/build/toride}
py=$(command -v /usr/bin/python3 || command -v python3)
work=$(mktemp -d)
chmod 755 "$work" # the honeypot drops to an unprivileged user when started as root
hp=
cleanup() {
	if [ -n "$hp" ]; then
		kill "$hp" 2>/dev/null
		wait "$hp" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ -x "$bin" ] || { echo "FAIL: no toride binary at $bin"; exit 1; }

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" honeypot run --listen "127.0.0.1:$port/telnet=xiongmai-ahb7008t-dvr" --no-delays \
	--events "$work/ev.jsonl" --db "$work/hp.sqlite" --samples-dir "$work/samples" \
	--ready-file "$work/ready" --duration 80 >"$work/hp.out" 2>"$work/hp.err" &
hp=$!
for _ in $(seq 100); do
	[ -e "$work/ready" ] && break
	kill -0 "$hp" 2>/dev/null || break
	sleep 0.1
done
if [ ! -e "$work/ready" ]; then
	echo "FAIL: the honeypot did not start"
	cat "$work/hp.err"
	exit 1
fi

fails=0
echo "== replay (127.0.0.1:$port)"
if ! timeout 50 "$py" "$top/tests/integration/honeypot/replay.py" 127.0.0.1 "$port" \
	scanner loader-wget loader-echo hns --summary "$work/summary.json" >"$work/replay.out" 2>&1; then
	echo "  FAIL replay.py"
	fails=$((fails + 1))
fi
grep -v '^> ' "$work/replay.out"

kill -TERM "$hp"
wait "$hp"
rc=$?
hp=
if [ "$rc" -ne 0 ]; then
	echo "  FAIL honeypot exit status $rc after SIGTERM"
	sed 's/^/       /' "$work/hp.err" | tail -10
	fails=$((fails + 1))
else
	echo "  ok   honeypot exits 0 on SIGTERM"
fi

"$py" - "$work" <<'EOF' || fails=$((fails + 1))
import hashlib, json, os, re, sqlite3, sys

work = sys.argv[1]
fails = 0


def ok(cond, what):
    global fails
    print("  %s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails += 1
    return cond


def unescape(s):
    """Reverse of core/escape.h: \\\\ \\r \\n \\t \\xHH."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = s[i + 1]
        if n == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += {"\\": b"\\", "r": b"\r", "n": b"\n", "t": b"\t"}[n]
            i += 2
    return out.decode("latin-1")


summary = json.load(open(os.path.join(work, "summary.json")))
events = [json.loads(l) for l in open(os.path.join(work, "ev.jsonl"))]
db = sqlite3.connect(os.path.join(work, "hp.sqlite"))
db_sessions = [json.loads(r[0]) for r in db.execute("SELECT event FROM hp_session ORDER BY start")]
db_samples = [json.loads(r[0]) for r in db.execute("SELECT event FROM hp_sample")]


def check(source, sessions, samples):
    print("== from " + source)
    ok(len(sessions) == 5, "5 sessions (scanner wrong pair, scanner, two loaders, hns): %d" % len(sessions))
    ok(all(s.get("proto") == "telnet" and s.get("end_reason") == "closed" for s in sessions),
       "every session telnet, ended by the client")
    by_cmds = {}
    for s in sessions:
        by_cmds[tuple(unescape(c["line"]) for c in s.get("commands", []))] = s
    for name, want in summary.items():
        s = by_cmds.get(tuple(want["commands"]))
        if not ok(s is not None, "%s: a session with every command line, in the order sent (%d lines)"
                  % (name, len(want["commands"]))):
            continue
        logins = [(unescape(l["user"]), unescape(l["password"]), l["ok"]) for l in s["logins"]]
        exp = [(u, p, False) for u, p in want["failed_pairs"] if name != "scanner"] + \
              [(want["user"], want["password"], True)]
        ok(logins == exp, "%s: credentials tried %s" % (name, logins))
        urls = [unescape(d["url"]) for d in s.get("downloads", [])]
        ok(urls == want["urls"], "%s: download URLs %s" % (name, urls))
        fam = "hide-and-seek" if name == "hns" else "mirai"
        ok(fam in s.get("families", []), "%s: families %s has %s" % (name, s.get("families"), fam))
        if fam != "mirai":
            ok("mirai" not in s.get("families", []), "%s: not classified mirai" % name)
        if name == "loader-echo":
            files = [(unescape(f["path"]), f["size"], f["sha256"]) for f in s.get("files", [])]
            ok((want["upload_path"], 402, want["upload_sha256"]) in files,
               "loader-echo: dropper %s recorded with its sha256 %s" % (want["upload_path"], files))
            ex = [unescape(e["detail"]) for e in s.get("executions", [])]
            ok(want["upload_path"] in ex, "loader-echo: its execution recorded %s" % ex)
        if name == "scanner":
            # The scanner's wrong pair came in its own connection.
            wrong = [x for x in sessions if [(unescape(l["user"]), unescape(l["password"]), l["ok"])
                                             for l in x["logins"]] == [(want["user"], want["failed_pairs"][0][1], False)]]
            ok(len(wrong) == 1 and not wrong[0].get("commands"), "scanner: the wrong pair's connection (no shell)")
        if name == "loader-wget":
            ex = [unescape(e["detail"]) for e in s.get("executions", [])]
            ok(any(e.endswith("/dvrHelper mirai.arm7") for e in ex), "loader-wget: ./dvrHelper run recorded %s" % ex)
        text = "".join(unescape(t[2]) for t in s.get("transcript", []) if t[1] == "i")
        ok(all(c in text for c in want["commands"]), "%s: the transcript holds every command sent" % name)
    sha = summary["loader-echo"]["upload_sha256"]
    smp = [x for x in samples if x.get("sha256") == sha]
    ok(len(smp) == 1 and smp[0].get("origin") == "upload" and smp[0].get("size") == 402 and smp[0].get("arch") == "ARM",
       "hp_sample of the dropper: origin upload, 402 bytes, ARM")


check("JSON Lines", [e for e in events if e["type"] == "hp_session"], [e for e in events if e["type"] == "hp_sample"])
check("SQLite", db_sessions, db_samples)
ok(sorted(s["session"] for s in db_sessions) == sorted(e["session"] for e in events if e["type"] == "hp_session"),
   "SQLite and JSON Lines hold the same sessions")

sha = summary["loader-echo"]["upload_sha256"]
path = os.path.join(work, "samples", sha)
data = open(path, "rb").read() if os.path.exists(path) else b""
ok(hashlib.sha256(data).hexdigest() == sha, "samples dir: %s holds the uploaded bytes" % sha[:16])
ok(not any(os.stat(os.path.join(work, "samples", f)).st_mode & 0o111 for f in os.listdir(os.path.join(work, "samples"))),
   "samples are not executable")
sys.exit(1 if fails else 0)
EOF

if [ "$fails" -ne 0 ]; then
	echo "FAIL: $fails check group(s) failed"
	sed 's/^/       /' "$work/hp.err" | tail -10
	exit 1
fi
echo "PASS"
