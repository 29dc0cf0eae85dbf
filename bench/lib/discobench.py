#!/usr/bin/python3
"""Helpers of bench/discovery-vs-peers.sh: run each SYN scanner on the discovery lab under measurement
and print the comparison table. Runs INSIDE the lab's scanner namespace (the shell script starts it
with `ip netns exec`), so /sys/class/net/<veth> is the scanner's veth and every tool it starts runs
there too.

  discobench.py run --plan PLAN --work DIR --runs N --tools LIST --toride BIN --data-dir DIR
                    --cooldown S --timeout S --results FILE
      every run runs every tool once (tools in LIST order); one JSON object per tool run is appended to
      the results file
  discobench.py table --results FILE --plan PLAN --title TEXT
      the markdown report: medians over runs, ratios toride/peer, the verdict on the target

Per tool run: packets the tool says it sent; packets the veth sent (tx_packets before/after); the send
window measured on the wire (tx_packets sampled every SAMPLE_S: from the first packet to 99 % of the
run's packets) and packets/s inside it; wall time including the cool-down (/usr/bin/time -v); peak RSS;
recall and precision against the lab's truth (tests/integration/disco/discolab.py compare).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DISCOLAB = os.path.join(HERE, "..", "..", "tests", "integration", "disco", "discolab.py")
sys.path.insert(0, os.path.dirname(DISCOLAB))
import discolab  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerbench  # noqa: E402  (time -v parsing and medians, shared with the other benches)

# tx_packets sampling period: fine enough to time a send of ~0.2 s to a few percent, cheap enough
# (one sysfs read) not to slow a tool on the 2-core machine.
SAMPLE_S = 0.005
# Part of a run's packets that marks the end of the send window: the last 1 % are the kernel's RSTs
# to late SYN-ACKs and the cool-down's stragglers, not probes.
SEND_END_FRACTION = 0.99
SCAN_IF = "scan0"
# masscan's rate when asked for "as fast as possible" (its maximum is what it can do; 10 Mpps is far
# beyond this machine); nmap's --min-rate likewise.
MASSCAN_RATE = 10000000
NMAP_MIN_RATE = 1000000


def tx_packets():
    with open("/sys/class/net/%s/statistics/tx_packets" % SCAN_IF) as f:
        return int(f.read())


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []
        self.stop = False

    def run(self):
        while not self.stop:
            self.samples.append((time.monotonic(), tx_packets()))
            time.sleep(SAMPLE_S)
        self.samples.append((time.monotonic(), tx_packets()))

    def window(self):
        """(seconds, packets) of the send window: from the sample before the first packet to the first
        sample holding SEND_END_FRACTION of the run's packets."""
        s = self.samples
        base, total = s[0][1], s[-1][1] - s[0][1]
        if total <= 0:
            return 0.0, 0
        i0 = next(i for i, (_, c) in enumerate(s) if c > base) - 1
        i1 = next(i for i, (_, c) in enumerate(s) if c - base >= SEND_END_FRACTION * total)
        return s[i1][0] - s[max(i0, 0)][0], s[i1][1] - s[max(i0, 0)][1]


def run_part(cmd, tag, work, timeout):
    """One process under /usr/bin/time -v with the wire sampled; returns its measurements."""
    tf = os.path.join(work, tag + ".time")
    out = open(os.path.join(work, tag + ".out"), "w")
    err = open(os.path.join(work, tag + ".err"), "w")
    with open(os.path.join(work, tag + ".cmd"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    smp = Sampler()
    tx0 = tx_packets()
    smp.start()
    time.sleep(2 * SAMPLE_S)
    status = "ok"
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tf] + cmd, stdout=out, stderr=err, cwd=work)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        rc, status = -1, "timeout"
    smp.stop = True
    smp.join()
    tx1 = tx_packets()
    out.close()
    err.close()
    t = peerbench.parse_time_file(tf)
    wall, rss, cpu = t["time_wall_s"], t["maxrss_kb"], t["cpu_s"] or 0.0
    send_s, send_pkts = smp.window()
    return {"rc": rc, "status": status, "wall": wall, "rss_kb": rss, "cpu": cpu, "tx": tx1 - tx0,
            "send_s": send_s, "send_pkts": send_pkts}


def tool_counter(tool, tag, work):
    """Probes the tool says it sent (None when it does not say)."""
    def text(ext):
        try:
            return open(os.path.join(work, tag + ext), errors="replace").read()
        except OSError:
            return ""
    if tool == "zmap":
        try:
            return json.load(open(os.path.join(work, tag + ".meta.json")))["total_sent"]
        except (OSError, ValueError, KeyError):
            return None
    if tool == "nmap":
        m = re.search(r"Raw packets sent: (\d+)", text(".out") + text(".err"))
        return int(m.group(1)) if m else None
    if tool == "masscan":
        # masscan prints no total; it sends exactly hosts x ports probes (no retries by default).
        m = re.search(r"Scanning (\d+) hosts \[(\d+) port", text(".err") + text(".out"))
        return int(m.group(1)) * int(m.group(2)) if m else None
    if tool.startswith("toride"):
        # The closing "survey" event carries the counters: counts.packets = SYN probes sent.
        for line in reversed(text(".jsonl").splitlines()):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            c = e.get("counts") if e.get("type") == "survey" else None
            if isinstance(c, dict) and isinstance(c.get("packets"), int):
                return c["packets"]
        return None
    return None


def cmd_run(a):
    plan = json.load(open(a.plan))
    ports = plan["ports"]
    work = a.work
    allow = os.path.join(work, "allow.txt")
    block = os.path.join(work, "block.txt")
    with open(allow, "w") as f:
        f.write(plan["scope4"] + "\n")
    with open(block, "w") as f:
        f.write(plan["exclude4"] + "\n")
    cd = str(a.cooldown)
    tools = a.tools.split(",")
    for r in range(1, a.runs + 1):
        for tool in tools:
            tag = "%s.r%d" % (tool, r)
            parts = []
            if tool == "zmap":
                # zmap 2.1.1 scans one port per run: one run per port, back to back, summed.
                files = []
                for port in ports:
                    pt = "%s.p%d" % (tag, port)
                    cmd = ["zmap", "-q", "-i", SCAN_IF, "-S", discolab.SCAN4, "-G", discolab.TGT_MAC,
                           "-p", str(port), "-w", allow, "-b", block, "-r", "0", "-c", cd,
                           "-O", "csv", "-f", "saddr,sport", "--output-filter=success = 1 && repeat = 0",
                           "-o", pt + ".csv", "-m", pt + ".meta.json"]
                    m = run_part(cmd, pt, work, a.timeout)
                    m["counter"] = tool_counter("zmap", pt, work)
                    parts.append(m)
                    files.append(os.path.join(work, pt + ".csv"))
                fmt = "zmap"
            elif tool == "masscan":
                cmd = ["masscan", "-e", SCAN_IF, "--adapter-ip", discolab.SCAN4, "--adapter-mac", discolab.SCAN_MAC,
                       "--router-mac", discolab.TGT_MAC, "-p" + ",".join(str(p) for p in ports),
                       "--rate", str(MASSCAN_RATE), "--wait", cd, "-iL", allow, "--excludefile", block,
                       "-oL", tag + ".list"]
                m = run_part(cmd, tag, work, a.timeout)
                m["counter"] = tool_counter("masscan", tag, work)
                parts.append(m)
                files, fmt = [os.path.join(work, tag + ".list")], "masscan"
            elif tool == "nmap":
                cmd = ["nmap", "-n", "-sS", "-Pn", "-T5", "-v", "--min-rate", str(NMAP_MIN_RATE),
                       "--max-retries", "1", "-p", ",".join(str(p) for p in ports), "-iL", allow,
                       "--excludefile", block, "--open", "-oG", tag + ".gnmap"]
                m = run_part(cmd, tag, work, a.timeout)
                m["counter"] = tool_counter("nmap", tag, work)
                parts.append(m)
                files, fmt = [os.path.join(work, tag + ".gnmap")], "nmap"
            elif tool.startswith("toride"):
                probes = tool[len("toride"):] or "1"
                cmd = [a.toride, "survey", "--discovery", "syn", "--discover-only", "--rate", "0",
                       "--probes", probes, "--cooldown", cd, "--scope-file", allow, "--exclude-file", block,
                       "--allow-reserved", "10.0.0.0/8", "--data-dir", a.data_dir,
                       "-p", ",".join(str(p) for p in ports), "-q", "-o", tag + ".jsonl"]
                m = run_part(cmd, tag, work, a.timeout)
                m["counter"] = tool_counter(tool, tag, work)
                parts.append(m)
                files, fmt = [os.path.join(work, tag + ".jsonl")], "toride"
            else:
                print("discobench: unknown tool %s" % tool, file=sys.stderr)
                return 2
            files = [f for f in files if os.path.exists(f)]
            if files:
                cmp = subprocess.run([sys.executable, DISCOLAB, "compare", "--plan", a.plan, "--family", "4",
                                      "--format", fmt, "--json"] + sum((["--jsonl", f] for f in files), []),
                                     capture_output=True, text=True)
                acc = json.loads(cmp.stdout)
            else:
                acc = {"recall": 0.0, "precision": 0.0, "missed": None, "false": None, "found": 0, "truth": None}
            counters = [p["counter"] for p in parts]
            res = {
                "tool": tool, "run": r, "parts": len(parts),
                "status": "timeout" if any(p["status"] == "timeout" for p in parts) else
                          ("error" if any(p["rc"] not in (0, 1) for p in parts) else "ok"),
                "counter": None if any(c is None for c in counters) else sum(counters),
                "tx": sum(p["tx"] for p in parts),
                "send_s": sum(p["send_s"] for p in parts),
                "send_pkts": sum(p["send_pkts"] for p in parts),
                "wall": sum(p["wall"] or 0 for p in parts),
                "cpu": sum(p["cpu"] for p in parts),
                "rss_kb": max(p["rss_kb"] or 0 for p in parts),
                "recall": acc["recall"], "precision": acc["precision"], "missed": acc.get("missed"),
                "false": acc.get("false"), "found": acc.get("found"), "truth": acc.get("truth"),
            }
            res["pps"] = res["send_pkts"] / res["send_s"] if res["send_s"] > 0 else 0.0
            with open(a.results, "a") as f:
                f.write(json.dumps(res) + "\n")
            print("run %d %-8s %-7s sent %s (veth %d), send %.3f s, %.0f pps, wall %.2f s, recall %.2f %%, "
                  "precision %.2f %%, RSS %.1f MB" % (
                      r, tool, res["status"], res["counter"], res["tx"], res["send_s"], res["pps"], res["wall"],
                      res["recall"], res["precision"], res["rss_kb"] / 1024.0), flush=True)
            time.sleep(1)
    return 0


def cmd_table(a):
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    plan = json.load(open(a.plan))
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    agg = {}
    for t in tools:
        rs = [r for r in rows if r["tool"] == t]
        agg[t] = {
            "runs": len(rs), "status": ",".join(sorted(set(r["status"] for r in rs))),
            "counter": peerbench.med([r["counter"] for r in rs]), "tx": peerbench.med([r["tx"] for r in rs]),
            "send_s": peerbench.med([r["send_s"] for r in rs]), "pps": peerbench.med([r["pps"] for r in rs]),
            "pps_all": [r["pps"] for r in rs],
            "wall": peerbench.med([r["wall"] for r in rs]), "cpu": peerbench.med([r["cpu"] for r in rs]),
            "rss": peerbench.med([r["rss_kb"] / 1024.0 for r in rs]),
            "recall": [r["recall"] for r in rs], "precision": [r["precision"] for r in rs],
        }
    ref = "toride1" if "toride1" in agg else next((t for t in tools if t.startswith("toride")), None)
    n_addr = int(discolab.net(plan["scope4"]).num_addresses) - int(discolab.net(plan["exclude4"]).num_addresses)
    out = []
    out.append("## %s" % a.title)
    out.append("")
    out.append("Scope %s minus %s (%d addresses) x ports %s = %d probes per pass; truth %d open pairs. "
               "Medians of %d run(s); cool-down/wait %s s for every tool." % (
                   plan["scope4"], plan["exclude4"], n_addr, ",".join(str(p) for p in plan["ports"]),
                   n_addr * len(plan["ports"]), rows[0]["truth"] or 0, max(v["runs"] for v in agg.values()),
                   a.cooldown))
    out.append("")
    out.append("| tool | status | probes (tool's count) | veth tx packets | send s (wire) | packets/s (wire) | "
               "wall s | CPU s | peak RSS MB | recall % (every run) | precision % (every run) | "
               "toride pps / tool pps | tool wall / toride wall |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def f(v, fmt):
        return "-" if v is None else fmt % v
    for t in tools:
        g = agg[t]
        r_pps = (agg[ref]["pps"] / g["pps"]) if ref and g["pps"] else None
        r_wall = (g["wall"] / agg[ref]["wall"]) if ref and agg[ref]["wall"] else None
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label(t), g["status"], f(g["counter"], "%d"), f(g["tx"], "%d"), f(g["send_s"], "%.3f"),
            f(g["pps"], "%.0f"), f(g["wall"], "%.2f"), f(g["cpu"], "%.2f"), f(g["rss"], "%.1f"),
            " ".join("%.1f" % x for x in g["recall"]), " ".join("%.1f" % x for x in g["precision"]),
            "-" if t == ref else f(r_pps, "%.2f"), "-" if t == ref else f(r_wall, "%.2f")))
    out.append("")
    peers = [t for t in ("zmap", "masscan") if t in agg and agg[t]["pps"]]
    if ref and peers:
        best = max(peers, key=lambda t: agg[t]["pps"])
        ratio = agg[ref]["pps"] / agg[best]["pps"]
        full = all(x == 100.0 for x in agg[ref]["recall"]) and all(x == 100.0 for x in agg[ref]["precision"])
        ok = ratio >= 1.2 and full
        out.append("Target (toride --probes 1 pps >= 1.2 x the faster of zmap and masscan, 100 %% recall in every "
                   "run): %s -- %s %.0f pps vs %s %.0f pps = %.2fx; recall %s." % (
                       "MET" if ok else "NOT MET", label(ref), agg[ref]["pps"], best, agg[best]["pps"], ratio,
                       "100 % in every run" if full else "below 100 % in some run"))
        out.append("")
    print("\n".join(out))
    return 0


def label(t):
    if t.startswith("toride"):
        return "toride --probes %s" % (t[len("toride"):] or "1")
    if t == "zmap":
        return "zmap (one run per port, summed)"
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--plan", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--tools", default="zmap,masscan,nmap,toride1,toride2")
    p.add_argument("--toride", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--cooldown", type=int, default=2)
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--results", required=True)
    p = sub.add_parser("table")
    p.add_argument("--results", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--title", default="Discovery: toride vs zmap, masscan, nmap")
    p.add_argument("--cooldown", type=int, default=2)
    a = ap.parse_args()
    return cmd_run(a) if a.cmd == "run" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
