#!/usr/bin/python3
"""The driver of bench/fleet-vs-peers.sh: toride survey against hydra, medusa and ncrack on an emulated
fleet of thousands of devices (`toride lab`), per protocol: wall time, login attempts as the fleet
counted them, attempts per second, peak memory, and correctness against the fleet's ground truth.

  fleetbench.py --toride BIN --src DIR --work DIR [--runs N] [--devices N] [--protos LIST] [--creds N]
                [--timeout S] [--peer-hosts N] [--peer-conns N] [--concurrency N] [--no-delays]
                [--tools LIST] --out FILE.md

Running the tools, the peers' command lines and the parsing of their outputs come from peerbench.py
(the small-lab bench), so both benches measure the peers the same way.

Network safety: the fleet listens on 127.81.0.0/16 (loopback; the block of helper "fleet"), and every
tool is given only addresses of the fleet's truth file, all inside that block (checked before any run).
"""
import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerbench  # noqa: E402

# The fleet's block: loopback, so no namespace or root is needed, and nothing can leave the machine.
FLEET_NET = "127.81.0.0/16"
# Profiles chosen so that every protocol has many hosts, with the kinds a survey meets: weak
# (factory pair among Mirai's first pairs), strong (unique per device, or a default not in the
# list), no authentication, key-only SSH. Equal weights: with 4,000 devices, ~150 of each.
MIX = [
    # telnet, weak at list positions 1, 2, 3, 4, 5, 11, 12 (empty password)
    "xiongmai-ahb7008t-dvr", "dahua-ipc-hfw1320s", "huawei-hg8245", "asus-rt-ac68r", "dahua-dh-dvr0404le",
    "broadcom-bcm963268-router", "eltex-nv102-stb",
    # telnet: unique password, default not in the list, shell without login
    "zte-f668-gpon", "dahua-nvr4104", "hp-jetdirect-open",
    # ssh: weak root:admin, admin:password (x2); unique; default not listed; key-only
    "ddwrt-v24-sp2", "milesight-ug65-gateway", "netgear-readynas-rn104", "huawei-echolife-hg8245h",
    "dreambox-dm800se", "mikrotik-keyonly",
    # http: Basic weak (x2), Digest weak, Digest unique, no authentication (+ Basic of huawei, broadcom)
    "tplink-tl-wr740n", "netgear-r7000p", "lorex-nr900-dvr", "sercomm-cpe", "hipcam-rtsp-open",
    # mqtt: unique (homeassistant), anonymous broker (+ milesight weak)
    "homeassistant-green", "eclipse-mosquitto-open",
    # ftp: default not in 14 pairs, anonymous, unique (+ readynas weak)
    "xerox-workcentre-3615", "lexmark-t654-open", "avm-fritzbox-7490",
]
PORTS = {"telnet": None, "ssh": None, "http": None, "mqtt": None, "ftp": None}
TOOLS = ["toride", "hydra", "medusa", "ncrack"]
# How long the fleet may take to listen on every address (thousands of sockets, SSH host keys).
READY_WAIT_S = 120
# After a tool ends: the fleet's login counter must stand still this long to count as final
# (a device answers a failed login after its fail delay, 1 s by default).
SETTLE_S = 1.5
SETTLE_MAX_S = 20


def log(msg):
    print("fleetbench: " + msg, flush=True)


# ------------------------------------------------------------------------------------------ fleet

class Fleet:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.join(a.work, "fleet")
        os.makedirs(self.dir, exist_ok=True)
        self.truth_path = os.path.join(self.dir, "truth.json")
        self.stats_path = os.path.join(self.dir, "stats.json")
        self.ready = os.path.join(self.dir, "ready")
        self.proc = None
        self.cmd = [a.toride, "lab", "--devices", str(a.devices), "--net", FLEET_NET, "--mix",
                    ",".join("%s=1" % p for p in MIX), "--truth", self.truth_path, "--ready-file", self.ready,
                    "--stats-file", self.stats_path, "--hostkeys", os.path.join(self.dir, "hostkeys")]
        if a.no_delays:
            self.cmd.append("--no-delays")

    def start(self):
        for p in (self.ready, self.stats_path):
            if os.path.exists(p):
                os.unlink(p)
        self.log = open(os.path.join(self.dir, "lab.log"), "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        t0 = time.monotonic()
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() - t0 > READY_WAIT_S:
                raise RuntimeError("the fleet did not come up: see %s/lab.log" % self.dir)
            time.sleep(0.1)
        with open(self.truth_path) as f:
            self.truth = json.load(f)
        net = ipaddress.ip_network(FLEET_NET)
        for d in self.truth["devices"]:
            if ipaddress.ip_address(d["addr"]) not in net:
                raise RuntimeError("truth address %s outside %s" % (d["addr"], FLEET_NET))
        log("fleet up: %d devices (%s), pid %d" % (len(self.truth["devices"]), " ".join(self.cmd[1:9]),
                                                   self.proc.pid))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_kb(self):
        return peerbench.rss_kb(self.proc.pid)

    def stats(self):
        for _ in range(50):
            try:
                with open(self.stats_path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.02)
        raise RuntimeError("cannot read %s" % self.stats_path)

    def settle(self):
        """Wait until the login counter stands still (the last failed logins answered)."""
        last, since, t0 = self.stats()["logins"], time.monotonic(), time.monotonic()
        while time.monotonic() - since < SETTLE_S and time.monotonic() - t0 < SETTLE_MAX_S:
            time.sleep(0.1)
            cur = self.stats()["logins"]
            if cur != last:
                last, since = cur, time.monotonic()
        return self.stats()


def wait_quiet(timeout_s=30):
    """No TCP connection to the fleet left (a killed tool's sockets), so runs do not overlap."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        out = subprocess.run(["ss", "-Htn", "state", "established", "dst", FLEET_NET], capture_output=True,
                             text=True).stdout
        if not out.strip():
            return
        time.sleep(0.2)


# ------------------------------------------------------------------------------------ truth, scoring

def services(truth, proto):
    """(addr, port) -> service of the protocol. HTTP: Basic, Digest and no authentication (form logins
    are a different test that none of the peers' http modules does)."""
    out = {}
    for d in truth["devices"]:
        for s in d["services"]:
            if s["proto"] != proto:
                continue
            if proto == "http" and s.get("http_auth") == "form":
                continue
            out[(d["addr"], s["port"])] = dict(s, profile=d["profile"])
    return out


def subset(keys, n):
    """n of the keys spread evenly over the address order, so the mix of profiles stays the same."""
    keys = sorted(keys, key=lambda k: (ipaddress.ip_address(k[0]), k[1]))
    if n >= len(keys):
        return keys
    step = len(keys) / n
    return [keys[int(i * step)] for i in range(n)]


def score(res, svc, hosts, pairs):
    """found (weak services whose pair was reported), expected (weak services: truth pair in the
    tool's list), wrong pairs, of them on services without authentication, no-auth found."""
    pairset = set(pairs)
    expected = {k for k in hosts if "login" in svc[k] and
                (svc[k]["login"]["user"], svc[k]["login"]["password"]) in pairset}
    found, wrong, wrong_open = set(), set(), set()
    for addr, port, user, pw in res.get("pairs", []):
        k = (addr, int(port))
        s = svc.get(k)
        if s is not None and "login" in s and (user, pw) == (s["login"]["user"], s["login"]["password"]):
            found.add(k)
        else:
            wrong.add((addr, int(port), user, pw))
            if s is not None and s.get("open"):
                wrong_open.add((addr, int(port), user, pw))
    opens = {k for k in hosts if svc[k].get("open")}
    noauth = {(a, int(p)) for a, p in res.get("noauth", [])} & opens if "noauth" in res else None
    return {"found": len(found & set(hosts)), "expected": len(expected), "wrong": len(wrong),
            "wrong_open": len(wrong_open), "missed": sorted(expected - found)[:5], "wrong_list": sorted(wrong)[:5],
            "noauth": None if noauth is None else len(noauth), "open": len(opens)}


# --------------------------------------------------------------------------------------------- runs

def toride_command(a, hosts, port, d):
    addrs = os.path.join(d, "addrs")
    with open(addrs, "w") as f:
        f.writelines("%s\n" % h for h, _ in hosts)
    # --discovery connect: the peers get the service list and discover nothing; as root toride would
    # otherwise take the SYN path and wait out its cool-down after the last probe (5 s by default).
    return [a.toride, "survey", "--scope-file", addrs, "--allow-reserved", FLEET_NET, "-p", str(port), "--creds",
            os.path.join(a.work, "creds.txt"), "--no-vendor-creds", "--discovery", "connect", "--rate", "0",
            "--max-concurrency",
            str(a.concurrency), "-o", os.path.join(d, "out.jsonl"), "--quiet"]


def run_tool(a, fleet, tool, proto, hosts, run):
    d = os.path.join(a.work, proto, "%s.%d" % (tool, run))
    os.makedirs(d, exist_ok=True)
    ports = sorted({p for _, p in hosts})
    if tool == "toride":
        cmd = toride_command(a, hosts, ports[0], d)
    else:
        cmd = peerbench.peer_command(tool, proto, hosts, a.work, d, per_host=4, total=a.peer_conns)
    with open(os.path.join(d, "cmd"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    wait_quiet()
    before = fleet.settle()
    lab_rss0 = fleet.rss_kb()
    meas = peerbench.run_measured(cmd, a.timeout, os.path.join(d, "time.txt"), os.path.join(d, "stdout"),
                                  os.path.join(d, "stderr"), d)
    after = fleet.settle()
    meas.update(peerbench.PARSERS[tool](d))
    meas.update(tool=tool, proto=proto, run=run, hosts=len(hosts),
                attempts_server=after["logins"] - before["logins"],
                logins_ok=after["logins_ok"] - before["logins_ok"],
                sessions=after["sessions"] - before["sessions"], refused=after["refused"] - before["refused"],
                lab_rss_kb=max(lab_rss0, fleet.rss_kb()))
    return meas


def fnum(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and v >= 100:
        return "{:,.0f}".format(v)
    if isinstance(v, int):
        return "{:,}".format(v)
    return ("%%.%df" % nd) % v


def table(results, fleet_truth, pairs, nc_pairs, protos):
    out = []
    for proto in protos:
        svc = services(fleet_truth, proto)
        rs_p = [r for r in results if r["proto"] == proto]
        if not rs_p:
            continue
        out.append("### %s: %d services in the fleet (%d weak with a listed pair, %d without authentication)\n" % (
            proto, len(svc), sum(1 for s in svc.values() if "login" in s and
                                 (s["login"]["user"], s["login"]["password"]) in set(pairs)),
            sum(1 for s in svc.values() if s.get("open"))))
        out.append("| tool | hosts | status | wall s | attempts (fleet) | attempts (tool) | attempts/s | "
                   "peak RSS MB | tree RSS MB | CPU s | weak found / expected | wrong pairs (on no-auth) | "
                   "no-auth found | attempts/s toride/peer | tree RSS toride/peer |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        notes, base = [], None
        for tool in TOOLS:
            rs = [r for r in rs_p if r["tool"] == tool]
            if not rs:
                continue
            if rs[0].get("status") == "cannot":
                out.append("| %s | - | cannot | - | - | - | - | - | - | - | - | - | - | - | - |" % tool)
                notes.append("%s: %s" % (tool, rs[0]["reason"]))
                continue
            wall = peerbench.med([r["wall_s"] for r in rs])
            att = peerbench.med([r["attempts_server"] for r in rs])
            att_tool = peerbench.med([r.get("attempts_tool") for r in rs])
            rate = peerbench.med([r["attempts_server"] / r["wall_s"] if r["wall_s"] else None for r in rs])
            maxrss = peerbench.med([r.get("maxrss_kb") for r in rs])
            tree = peerbench.med([r.get("tree_rss_kb") for r in rs])
            cpu = peerbench.med([r.get("cpu_s") for r in rs])
            hosts = rs[0]["hosts"]
            sc = [score(r, svc, [tuple(h) for h in r["host_list"]], nc_pairs if tool == "ncrack" else pairs)
                  for r in rs]
            found = ",".join("%d" % s["found"] for s in sc) + " / %d" % sc[0]["expected"]
            wrong = ",".join("%d (%d)" % (s["wrong"], s["wrong_open"]) for s in sc)
            noauth = ",".join("%d" % s["noauth"] for s in sc) + " / %d" % sc[0]["open"] \
                if sc[0]["noauth"] is not None else "n/a"
            statuses = "/".join(sorted({r["status"] for r in rs}))
            capped = all(r["status"] == "timeout" for r in rs)
            if tool == "toride":
                base = (rate, tree)
            rr = mr = "-"
            if tool != "toride" and base and rate and base[0]:
                rr = "%.1f" % (base[0] / rate)
            if tool != "toride" and base and tree and base[1]:
                mr = "%.2f" % (base[1] / tree)
            out.append("| %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                tool, fnum(hosts), statuses, ">" if capped else "", fnum(wall, 2), fnum(att), fnum(att_tool),
                fnum(rate, 1), fnum(maxrss / 1024 if maxrss else None), fnum(tree / 1024 if tree else None),
                fnum(cpu, 2), found, wrong, noauth, rr, mr))
            for r, s in zip(rs, sc):
                if s["missed"]:
                    notes.append("%s run %d: missed %d weak, e.g. %s" % (
                        tool, r["run"], s["expected"] - s["found"],
                        ", ".join("%s:%d" % k for k in s["missed"][:3])))
                if s["wrong_list"]:
                    notes.append("%s run %d: wrong pairs, e.g. %s" % (
                        tool, r["run"], ", ".join("%s:%d %s:%s" % w for w in s["wrong_list"][:3])))
                for n in r.get("notes", [])[:3]:
                    notes.append("%s run %d: %s" % (tool, r["run"], n))
                if r.get("refused"):
                    notes.append("%s run %d: the fleet refused %d connections over its session cap" % (
                        tool, r["run"], r["refused"]))
            lab = peerbench.med([r.get("lab_rss_kb") for r in rs])
            if lab:
                notes.append("%s: fleet RSS during the runs %.0f MB" % (tool, lab / 1024))
        if notes:
            out.append("")
            out.extend("- " + n for n in notes)
        out.append("")
    return "\n".join(out)


def load_pairs(src, n):
    pairs = []
    with open(os.path.join(src, "data", "credentials", "mirai.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("user\t"):
                continue
            c = line.split("\t")
            pairs.append((c[0], c[1] if len(c) > 1 else ""))
            if len(pairs) == n:
                break
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--toride", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--devices", type=int, default=4000)
    ap.add_argument("--protos", default="telnet,ssh,http,mqtt,ftp")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--creds", type=int, default=14)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--peer-hosts", type=int, default=400)
    ap.add_argument("--peer-conns", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=4096)
    ap.add_argument("--no-delays", action="store_true")
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    protos = a.protos.split(",")
    for p in protos:
        if p not in PORTS:
            print("fleetbench: unknown protocol %s" % p, file=sys.stderr)
            return 2
    tools = [t for t in a.tools.split(",") if t]
    os.makedirs(a.work, exist_ok=True)
    pairs = load_pairs(a.src, a.creds)
    nc_pairs = peerbench.write_peer_creds(pairs, a.work)
    log("%d credential pairs (ncrack %d: no empty password)" % (len(pairs), len(nc_pairs)))
    fleet = Fleet(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    results = []
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.monotonic()
    try:
        fleet.start()
        lab_idle = fleet.rss_kb()
        for proto in protos:
            svc = services(fleet.truth, proto)
            if not svc:
                log("%s: no service in the fleet" % proto)
                continue
            for run in range(1, a.runs + 1):
                for tool in TOOLS:
                    if tool not in tools:
                        continue
                    why = peerbench.peer_cannot(tool, proto) if tool != "toride" else ""
                    if why:
                        results.append({"tool": tool, "proto": proto, "run": run, "status": "cannot", "reason": why})
                        continue
                    hosts = subset(svc.keys(), len(svc) if tool == "toride" else a.peer_hosts)
                    r = run_tool(a, fleet, tool, proto, hosts, run)
                    r["host_list"] = hosts
                    results.append(r)
                    log("%-6s %-6s run %d: %-7s %5d hosts, wall %7.2f s, %6d attempts (fleet) %6s (tool), "
                        "%7.1f/s, RSS %5.1f MB (tree %6.1f), %d pairs" % (
                            proto, tool, run, r["status"], len(hosts), r["wall_s"], r["attempts_server"],
                            r.get("attempts_tool"), r["attempts_server"] / r["wall_s"] if r["wall_s"] else 0,
                            (r.get("maxrss_kb") or 0) / 1024, (r.get("tree_rss_kb") or 0) / 1024, len(r["pairs"])))
        with open(os.path.join(a.work, "results.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)
    finally:
        fleet.stop()
    ver = {}
    for p in ("hydra", "medusa", "ncrack"):
        ver[p] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True).stdout
    commit = subprocess.run(["git", "-C", a.src, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    doc = ["# toride survey vs hydra, medusa, ncrack on an emulated fleet, %s" % started, "",
           "Command: `%s` (commit %s, %d CPUs, kernel %s, load average at the end %s)." % (
               a.command or "bench/fleet-vs-peers.sh", commit or "unknown", os.cpu_count(), os.uname().release,
               " ".join(open("/proc/loadavg").read().split()[:3])),
           "",
           "Fleet: `toride lab --devices %d --net %s%s` with %d profiles in equal shares (bench/lib/fleetbench.py "
           "MIX), %s; fleet RSS idle %.0f MB." % (
               a.devices, FLEET_NET, " --no-delays" if a.no_delays else "", len(MIX),
               "no fail delays (--no-delays)" if a.no_delays else
               "realistic fail delays (a device answers a wrong password after 1 s)", lab_idle / 1024),
           "",
           "Versions: %s." % ", ".join("%s %s" % kv for kv in ver.items()),
           "",
           "Credentials: the first %d pairs of Mirai's table (%s); ncrack %d (no empty password)." % (
               len(pairs), " ".join("%s:%s" % p for p in pairs), len(nc_pairs)),
           "toride: `survey -p PORT --creds LIST --no-vendor-creds --rate 0 --max-concurrency %d`, all hosts; "
           "peers: 4 connections per host, %d overall (hydra: its maximum, 64), stop a host at its first "
           "valid pair, the first %d hosts spread over the fleet (attempts/s stays comparable); every run "
           "capped at %d s; %d run(s), medians." % (a.concurrency, a.peer_conns, a.peer_hosts, a.timeout, a.runs),
           "Attempts (fleet) = logins the devices judged during the run (`toride lab --stats-file`).",
           "",
           table(results, fleet.truth, pairs, nc_pairs, protos),
           "Total bench time: %.0f s." % (time.monotonic() - t0)]
    with open(a.out, "w") as f:
        f.write("\n".join(doc) + "\n")
    print("\n".join(doc))
    log("table written to %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
