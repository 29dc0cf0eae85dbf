#!/usr/bin/python3
"""Helpers of bench/survey-vs-peers.sh (and, as a module, of bench/lib/fleetbench.py): run a tool under measurement, parse each tool's output, count
attempts in the lab daemons' logs, and print the comparison table.

  peerbench.py run [--ns NS] --timeout S --time-file F --out O --err E --cwd D -- CMD...
      runs `[ip netns exec NS] /usr/bin/time -v -o F timeout -k 5 S CMD...`, samples the summed RSS of the
      tool's whole process tree every 0.1 s, prints one JSON object (wall, max RSS, tree RSS, CPU, status)
  peerbench.py logmark --out MARK FILE...        record the current size of each log file
  peerbench.py logcount --proto P --mark MARK    attempts the daemons logged since the mark
  peerbench.py pcapcount --pcap F               telnet password prompts the servers sent (capture)
  peerbench.py parse --tool T --dir D            the pairs a tool reported and the attempts it counted
  peerbench.py table --results R --manifest M --secrets S [--protos LIST] [--runs N]
      the markdown tables: one per protocol, medians over runs, ratios toride/peer

Exit status 0, or 2 on bad input. Only reads and parses: every packet is sent by the tools, inside the
scanner namespace, by the shell script.
"""
import argparse
import glob
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import time

# Sampling period of the process-tree RSS: short enough to see hydra's forked children, long enough to
# cost the 2-core machine nothing measurable.
TREE_SAMPLE_S = 0.1
# Grace after the timeout's TERM before KILL, so a tool can still print what it found.
KILL_GRACE_S = 5


# ----------------------------------------------------------------------------------------------- run

def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: the ppid is the 2nd field after the last ')'.
        rest = st[st.rfind(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(d))
    return kids


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root):
    """Summed RSS of the tool's process tree: root (/usr/bin/time) and its child (timeout) are the
    measuring wrappers and not counted; everything below them is."""
    kids = children_map()
    total = 0
    stack = []
    for wrapper in kids.get(root, []):
        stack.extend(kids.get(wrapper, []))
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, []))
        total += rss_kb(pid)
    return total


def parse_time_file(path):
    out = {"maxrss_kb": None, "cpu_s": None, "exit": None, "time_wall_s": None}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return out
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["maxrss_kb"] = int(m.group(1))
    u = re.search(r"User time \(seconds\): ([\d.]+)", text)
    s = re.search(r"System time \(seconds\): ([\d.]+)", text)
    if u and s:
        out["cpu_s"] = round(float(u.group(1)) + float(s.group(1)), 2)
    m = re.search(r"Exit status: (\d+)", text)
    if m:
        out["exit"] = int(m.group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["time_wall_s"] = round(secs, 2)
    return out


def run_measured(cmd, timeout, time_file, out_path, err_path, cwd, ns=None):
    """Run cmd under `/usr/bin/time -v` and `timeout` (inside network namespace ns when given), sample
    the summed RSS of its process tree; return wall, max RSS, tree RSS, CPU, exit and status."""
    full = (["ip", "netns", "exec", ns] if ns else []) + ["/usr/bin/time", "-v", "-o", time_file,
                                                          "timeout", "-k", str(KILL_GRACE_S), str(timeout)] + cmd
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                             start_new_session=True)
        peak = 0
        while p.poll() is None:
            peak = max(peak, tree_rss_kb(p.pid))
            time.sleep(TREE_SAMPLE_S)
        wall = time.monotonic() - t0
    t = parse_time_file(time_file)
    status = "ok"
    if t["exit"] in (124, 137) or p.returncode in (124, 137):
        status = "timeout"
    return {"wall_s": t["time_wall_s"] if t["time_wall_s"] is not None else round(wall, 2),
            "maxrss_kb": t["maxrss_kb"], "tree_rss_kb": max(peak, t["maxrss_kb"] or 0),
            "cpu_s": t["cpu_s"], "exit": t["exit"] if t["exit"] is not None else p.returncode,
            "status": status}


def cmd_run(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        print("peerbench: run needs a command", file=sys.stderr)
        return 2
    print(json.dumps(run_measured(cmd, a.timeout, a.time_file, a.out, a.err, a.cwd, a.ns or None)))
    return 0


# ------------------------------------------------------------------------------------ peer commands

# Modules of each peer (Debian 12 versions: hydra 9.4, medusa 2.2, ncrack 0.7). None: no module.
PEER_MODULES = {
    "hydra": {"telnet": ["telnet"], "ssh": ["ssh"], "http": ["http-get", "/"], "ftp": ["ftp"], "mqtt": None},
    "medusa": {"telnet": ["-M", "telnet"], "ssh": ["-M", "ssh"], "http": ["-M", "http", "-m", "DIR:/"],
               "ftp": ["-M", "ftp"], "mqtt": None},
    "ncrack": {"telnet": "telnet", "ssh": "ssh", "http": "http", "ftp": "ftp", "mqtt": "mqtt"},
}


def peer_cannot(tool, proto):
    """Why tool is not run on proto ("" when it is)."""
    if PEER_MODULES.get(tool, {}).get(proto, "") is None:
        return "%s has no %s module" % (tool, proto.upper())
    return ""


def write_peer_creds(pairs, d):
    """The one credential list (user, password) in each peer's format, in directory d: creds.txt
    (user:password, hydra -C and toride --creds), creds.medusa (:user:password, medusa -C with the host
    left empty), ncrack.users / ncrack.passwords (--pairwise walks them in step; ncrack skips empty lines
    of a password file, so pairs with an empty password are left out for ncrack only). Returns the
    pairs ncrack gets."""
    with open(os.path.join(d, "creds.txt"), "w") as f:
        f.writelines("%s:%s\n" % p for p in pairs)
    with open(os.path.join(d, "creds.medusa"), "w") as f:
        f.writelines(":%s:%s\n" % p for p in pairs)
    nc = [p for p in pairs if p[1] != ""]
    with open(os.path.join(d, "ncrack.users"), "w") as f:
        f.writelines("%s\n" % p[0] for p in nc)
    with open(os.path.join(d, "ncrack.passwords"), "w") as f:
        f.writelines("%s\n" % p[1] for p in nc)
    return nc


def peer_command(tool, proto, hostports, creds_dir, out_dir, per_host=4, total=64):
    """The command line of a peer for hostports [(addr, port)], all at once, per_host connections per
    host, total connections overall, stopping a host at its first valid pair (the settings of
    /work/shared/reference/peer-baselines.md). Writes the host files it needs into out_dir. medusa takes
    one port per run (-n): several ports become parallel runs under one sh. Returns argv."""
    mod = PEER_MODULES[tool][proto]
    ports = sorted({p for _, p in hostports})
    if tool == "hydra":
        hp = os.path.join(out_dir, "hostports")
        with open(hp, "w") as f:
            f.writelines("%s:%d\n" % h for h in hostports)
        # hydra -T is at most 64 (its MAXTASKS); it lowers -t when hosts x -t exceeds -T.
        return ["hydra", "-I", "-V", "-C", os.path.join(creds_dir, "creds.txt"), "-M", hp, "-t", str(per_host),
                "-T", str(min(total, 64)), "-f", "-o", os.path.join(out_dir, "hydra.found")] + mod
    if tool == "medusa":
        lines = ["set -u"]
        for port in ports:
            hosts = os.path.join(out_dir, "hosts.%d" % port)
            with open(hosts, "w") as f:
                f.writelines("%s\n" % a for a, p in hostports if p == port)
            # -T: hosts at once, -t: logins at once per host
            lines.append("medusa %s -H '%s' -n %d -C '%s' -t %d -T %d -f >'%s' 2>&1 &" % (
                " ".join(mod), hosts, port, os.path.join(creds_dir, "creds.medusa"), per_host,
                max(1, total // per_host), os.path.join(out_dir, "medusa.%d.out" % port)))
        lines.append("wait")
        with open(os.path.join(out_dir, "medusa.sh"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return ["sh", os.path.join(out_dir, "medusa.sh")]
    if tool == "ncrack":
        return (["ncrack", "-v", "-d1", "-U", os.path.join(creds_dir, "ncrack.users"), "-P",
                 os.path.join(creds_dir, "ncrack.passwords"), "--pairwise", "-f", "-g", "CL=%d" % per_host,
                 "--connection-limit", str(total), "-oN", os.path.join(out_dir, "ncrack.txt")] +
                ["%s://%s:%d" % (mod, a, p) for a, p in hostports])
    raise ValueError("unknown peer %s" % tool)


# ------------------------------------------------------------------------------------------ log counts

def cmd_logmark(a):
    mark = {}
    for path in a.files:
        try:
            mark[path] = os.path.getsize(path)
        except OSError:
            mark[path] = 0
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(mark, f)
    return 0


def new_lines(mark):
    for path, off in mark.items():
        try:
            with open(path, "rb") as f:
                f.seek(off)
                data = f.read()
        except OSError:
            continue
        for line in data.decode("utf-8", "replace").splitlines():
            yield path, line


# What one credential attempt looks like in each daemon's log (see tests/integration/lab.sh for the
# log settings). busybox telnetd/login log nothing per attempt in the lab, so telnet has no server count.
DROPBEAR_ATTEMPT = re.compile(r"Bad password attempt for|Password auth succeeded for|"
                              r"Login attempt for nonexistent user")
LIGHTTPD_WITH_AUTH = re.compile(r'auth-hdr="(?!-")')
# busybox httpd -vv logs one "response:" line per request, with or without credentials: an upper bound.
BBHTTPD_RESPONSE = re.compile(r": response:\d+")
MOSQUITTO_ATTEMPT = re.compile(r"disconnected, not authorised|New client connected from .* u'")


# busybox login sends this prompt once per attempt, after the user name: counted in the scanner-side
# capture of the telnet servers' bytes, it is the servers' own view of how many logins were tried.
TELNET_PASSWORD_PROMPT = b"Password: "
PCAP_LINKTYPE_ETHERNET = 1


def pcap_payloads(path):
    """TCP payloads of an Ethernet/IPv4 libpcap capture (what tcpdump -w writes on a veth)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        return
    if struct.unpack(end + "I", data[20:24])[0] != PCAP_LINKTYPE_ETHERNET:
        return
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00" or pkt[14] >> 4 != 4 or pkt[23] != 6:
            continue
        ip = 14 + (pkt[14] & 0x0F) * 4
        if len(pkt) < ip + 20:
            continue
        tcp = ip + (pkt[ip + 12] >> 4) * 4
        total = struct.unpack(">H", pkt[16:18])[0]
        yield pkt[tcp:14 + total]


def cmd_pcapcount(a):
    print(sum(p.count(TELNET_PASSWORD_PROMPT) for p in pcap_payloads(a.pcap)))
    return 0


def cmd_logcount(a):
    with open(a.mark, encoding="utf-8") as f:
        mark = json.load(f)
    n = 0
    for path, line in new_lines(mark):
        base = os.path.basename(path)
        if a.proto == "ssh" and base.startswith("ssh-") and DROPBEAR_ATTEMPT.search(line):
            n += 1
        elif a.proto == "http" and base == "lighttpd.access.log" and LIGHTTPD_WITH_AUTH.search(line):
            n += 1
        elif a.proto == "http" and base.startswith("http-") and BBHTTPD_RESPONSE.search(line):
            n += 1
        elif a.proto == "mqtt" and base.endswith(".mlog") and MOSQUITTO_ATTEMPT.search(line):
            n += 1
    print(n if mark else "")
    return 0


# ------------------------------------------------------------------------------------------- parsing

def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def parse_toride(d):
    pairs, noauth, attempts = [], [], 0
    for line in read(os.path.join(d, "out.jsonl")).splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("type") == "observation" and ev.get("kind") == "login_attempt":
            attempts += 1
        if ev.get("type") != "finding" or ev.get("verdict") != "fail":
            continue
        if ev.get("requirement") == "JP-34-10-2" and isinstance(ev.get("credential"), dict):
            c = ev["credential"]
            pairs.append([ev["addr"], int(ev["port"]), c.get("user", ""), c.get("password", "")])
        elif ev.get("requirement") == "JP-34-10-1":
            noauth.append([ev["addr"], int(ev["port"])])
    return {"pairs": pairs, "noauth": noauth, "attempts_tool": attempts}


HYDRA_FOUND = re.compile(r"^\[(\d+)\]\[[\w-]+\] host: (\S+)\s+login: (.*?)\s+password:(?: (.*))?$")


def parse_hydra(d):
    text = read(os.path.join(d, "stdout"))
    pairs = []
    for line in text.splitlines():
        m = HYDRA_FOUND.match(line.rstrip("\r"))
        if m:
            pairs.append([m.group(2), int(m.group(1)), m.group(3), m.group(4) or ""])
    attempts = sum(1 for line in text.splitlines() if line.startswith("[ATTEMPT]"))
    notes = []
    nonsense = text.count("sent nonsense data")
    if nonsense:
        notes.append("%d x 'child sent nonsense data'" % nonsense)
    return {"pairs": pairs, "attempts_tool": attempts, "notes": notes}


MEDUSA_FOUND = re.compile(r"ACCOUNT FOUND: \[[\w-]+\] Host: (\S+) User: (.*) Password: (.*) \[SUCCESS\]")


# medusa reports a failed attempt both as an "ERROR: ..." line and in its ACCOUNT line; count the first
# (lines of parallel threads can run into each other, so it is not anchored at the line start).
MEDUSA_ERROR = re.compile(r"ERROR: (.*)$")


def parse_medusa(d):
    pairs, attempts, notes, errors = [], 0, [], {}
    for path in sorted(glob.glob(os.path.join(d, "medusa.*.out"))):
        port = int(path.rsplit(".", 2)[-2])
        text = read(path)
        for line in text.splitlines():
            m = MEDUSA_FOUND.search(line)
            if m:
                pairs.append([m.group(1), port, m.group(2), m.group(3)])
            if line.startswith("ACCOUNT CHECK"):
                attempts += 1
            m = MEDUSA_ERROR.search(line)
            if m:
                msg = re.sub(r" for \S+:\S*", "", m.group(1))
                errors[msg] = errors.get(msg, 0) + 1
    for msg, n in sorted(errors.items(), key=lambda kv: -kv[1]):
        notes.append("%d x error '%s'" % (n, msg))
    return {"pairs": pairs, "attempts_tool": attempts, "notes": notes}


NCRACK_FOUND = re.compile(r"Discovered credentials on \w+://([\d.]+):(\d+) '(.*)' '(.*)'$")
NCRACK_ATTEMPTS = re.compile(r"^\w+://([\d.]+:\d+) \(EID \d+\) Attempts: total \d+ completed (\d+)")


def parse_ncrack(d):
    text = read(os.path.join(d, "stdout"))
    pairs, done = [], {}
    for line in text.splitlines():
        m = NCRACK_FOUND.search(line)
        if m:
            p = [m.group(1), int(m.group(2)), m.group(3), m.group(4)]
            if p not in pairs:
                pairs.append(p)
        m = NCRACK_ATTEMPTS.search(line)
        if m:
            # ncrack's counter is per service and only grows: its largest value is the service's total
            done[m.group(1)] = max(done.get(m.group(1), 0), int(m.group(2)))
    finished = len(re.findall(r"^\w+://\S+ finished\.$", text, re.M))
    notes = ["%d services finished" % finished]
    # On a normal end ncrack prints its own total; when stopped, the per-service counters are all there is.
    m = re.search(r"^Probes sent: (\d+)", text, re.M)
    attempts = int(m.group(1)) if m else sum(done.values())
    return {"pairs": pairs, "attempts_tool": attempts, "notes": notes}


def parse_nmap(d):
    text = read(os.path.join(d, "nmap.txt"))
    pairs, noauth, attempts, host, port = [], [], 0, None, None
    for line in text.splitlines():
        m = re.match(r"Nmap scan report for (\S+)", line)
        if m:
            host, port = m.group(1), None
            continue
        m = re.match(r"(\d+)/tcp\s+open\s", line)
        if m:
            port = int(m.group(1))
            continue
        m = re.match(r"\|\s+(.*?):(.*) - Valid credentials$", line)
        if m and host and port:
            pairs.append([host, port, m.group(1), m.group(2)])
            continue
        m = re.search(r"Statistics: Performed (\d+) guesses", line)
        if m:
            attempts += int(m.group(1))
        # http-brute says so when the page asks for no credentials: nmap's own no-authentication finding
        if re.match(r'\|_?\s+Path "\S*" does not require authentication', line) and host and port:
            noauth.append([host, port])
    res = {"pairs": pairs, "attempts_tool": attempts, "notes": []}
    if "http-brute" in text:
        res["noauth"] = noauth
    return res


PARSERS = {"toride": parse_toride, "hydra": parse_hydra, "medusa": parse_medusa, "ncrack": parse_ncrack,
           "nmap": parse_nmap}


def cmd_parse(a):
    print(json.dumps(PARSERS[a.tool](a.dir)))
    return 0


# --------------------------------------------------------------------------------------------- table

def load_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("addr\t"):
                continue
            c = line.split("\t")
            rows.append(dict(zip(("addr", "port", "proto", "daemon", "user", "kind", "expected", "in_scope",
                                  "password"), c)))
    return rows


def truth(manifest, secrets, proto):
    """(addr, port) -> (kind, user, password) for the protocol's in-scope services."""
    strong = {}
    for line in read(secrets).splitlines():
        c = line.split("\t")
        if len(c) == 4:
            strong[(c[0], int(c[1]))] = c[3]
    t = {}
    for r in manifest:
        if r["proto"] != proto or r["in_scope"] != "yes" or r["port"] == "-":
            continue
        key = (r["addr"], int(r["port"]))
        pw = strong.get(key, "") if r["password"] == "*" else r["password"]
        t[key] = (r["kind"], r["user"], pw, r["expected"])
    return t


def score(res, t):
    """weak found, wrong pairs (and how many of them on services without authentication)."""
    found, wrong, wrong_noauth = set(), set(), set()
    for addr, port, user, pw in res.get("pairs", []):
        key = (addr, int(port))
        if key not in t:
            wrong.add((addr, port, user, pw))
            continue
        kind, tu, tp, _ = t[key]
        if kind in ("weak", "strong") and (user, pw) == (tu, tp):
            if kind == "weak":
                found.add(key)
        else:
            wrong.add((addr, port, user, pw))
            if kind == "none":
                wrong_noauth.add((addr, port, user, pw))
    noauth = {(a, int(p)) for a, p in res.get("noauth", [])}
    return found, wrong, wrong_noauth, noauth


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fnum(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and v >= 100:
        return "%.0f" % v
    return ("%%.%df" % nd) % v


TOOLS = ["toride", "hydra", "medusa", "ncrack", "nmap"]


def cmd_table(a):
    manifest = load_manifest(a.manifest)
    results = [json.loads(line) for line in read(a.results).splitlines() if line.strip()]
    out = []
    for proto in a.protos.split(","):
        t = truth(manifest, a.secrets, proto)
        weak_total = sum(1 for v in t.values() if v[0] == "weak")
        noauth_total = sum(1 for v in t.values() if "JP-34-10-1:fail" in v[3])
        out.append("### %s: %d services in scope, %d with a weak (listed) credential, %d without "
                   "authentication\n" % (proto, len(t), weak_total, noauth_total))
        out.append("| tool | status | wall s (median) | attempts (server side) | attempts (tool) | attempts/s "
                   "| peak RSS MB (largest process) | tree RSS MB | CPU s | weak found | wrong pairs "
                   "| no-auth found | wall toride/peer | tree RSS toride/peer |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        rows = {}
        notes = []
        for tool in TOOLS:
            rs = [r for r in results if r["proto"] == proto and r["tool"] == tool]
            if not rs:
                continue
            if all(r.get("status") == "cannot" for r in rs):
                rows[tool] = None
                out.append("| %s | cannot | - | - | - | - | - | - | - | - | - | - | - | - |" % tool)
                notes.append("%s: %s" % (tool, rs[0].get("reason", "")))
                continue
            statuses = sorted({r["status"] for r in rs})
            wall = med([r.get("wall_s") for r in rs])
            att_srv = med([r.get("attempts_server") for r in rs])
            att_tool = med([r.get("attempts_tool") for r in rs])
            att = att_srv if att_srv is not None else att_tool
            rate = att / wall if att is not None and wall else None
            maxrss = med([r.get("maxrss_kb") for r in rs])
            tree = med([r.get("tree_rss_kb") for r in rs])
            cpu = med([r.get("cpu_s") for r in rs])
            founds, wrongs, wrong_na, noauths = [], [], [], []
            for r in rs:
                f, w, wn, na = score(r, t)
                founds.append(len(f))
                wrongs.append(len(w))
                wrong_na.append(len(wn))
                noauths.append(len(na & {k for k, v in t.items() if "JP-34-10-1:fail" in v[3]}))
                missed = sorted(k for k, v in t.items() if v[0] == "weak" and k not in f)
                if missed:
                    notes.append("%s run %s: missed weak %s" % (
                        tool, r["run"], ", ".join("%s:%d (%s:%s)" % (k[0], k[1], t[k][1], t[k][2]) for k in missed)))
                for p in sorted(w):
                    notes.append("%s run %s: wrong pair %s:%s %s:%s%s" % (
                        tool, r["run"], p[0], p[1], p[2], p[3],
                        " (service has no authentication)" if p in wn else ""))
                for n in r.get("notes", []):
                    notes.append("%s run %s: %s" % (tool, r["run"], n))
            # A tool stopped by the cap in every run: its wall is a lower bound, the ratio an upper one.
            capped = all(r.get("status") == "timeout" for r in rs)
            rows[tool] = (wall, tree)
            found_s = ",".join(str(x) for x in founds) + " /%d" % weak_total
            wrong_s = ",".join(str(x) for x in wrongs)
            # Only toride and nmap's http-brute say anything about services without authentication.
            measured = any("noauth" in r for r in rs)
            noauth_s = (",".join(str(x) for x in noauths) + " /%d" % noauth_total) if measured else "n/a"
            ratio_w = ratio_m = "-"
            if tool != "toride" and rows.get("toride") and wall and rows["toride"][0] is not None:
                ratio_w = ("<" if capped else "") + "%.2f" % (rows["toride"][0] / wall)
                if tree and rows["toride"][1]:
                    ratio_m = "%.2f" % (rows["toride"][1] / tree)
            srv_s = fnum(att_srv, 0) if att_srv is not None else "n/a"
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                tool, "/".join(statuses), (">" if capped else "") + fnum(wall, 2), srv_s, fnum(att_tool, 0), fnum(rate, 1),
                fnum(maxrss / 1024 if maxrss else None), fnum(tree / 1024 if tree else None), fnum(cpu, 2),
                found_s, wrong_s, noauth_s, ratio_w, ratio_m))
        if notes:
            out.append("")
            for n in notes:
                out.append("- " + n)
        out.append("")
    print("\n".join(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    r = sub.add_parser("run")
    r.add_argument("--ns", default="", help="network namespace (default: none)")
    r.add_argument("--timeout", type=int, required=True)
    r.add_argument("--time-file", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--err", required=True)
    r.add_argument("--cwd", required=True)
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    m = sub.add_parser("logmark")
    m.add_argument("--out", required=True)
    m.add_argument("files", nargs="*")
    c = sub.add_parser("logcount")
    c.add_argument("--proto", required=True)
    c.add_argument("--mark", required=True)
    q = sub.add_parser("pcapcount")
    q.add_argument("--pcap", required=True)
    p = sub.add_parser("parse")
    p.add_argument("--tool", required=True, choices=sorted(PARSERS))
    p.add_argument("--dir", required=True)
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--manifest", required=True)
    t.add_argument("--secrets", required=True)
    t.add_argument("--protos", default="telnet,ssh,http,mqtt")
    a = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return {"run": cmd_run, "logmark": cmd_logmark, "logcount": cmd_logcount, "pcapcount": cmd_pcapcount,
            "parse": cmd_parse,
            "table": cmd_table}[a.sub](a)


if __name__ == "__main__":
    sys.exit(main())
