#!/usr/bin/python3
"""Helpers of bench/device-vs-rauc.sh: memory sampling of an install and the comparison table.

  devbench.py watch --pid P --stop FILE --out F
      samples /proc/P/status every SAMPLE_S until FILE exists or P exits; writes one JSON object:
      the largest RssAnon, RssFile and RssShmem seen, and the last VmHWM read (the kernel's own peak)
  devbench.py run --out F -- CMD...
      runs CMD (stdout/stderr inherited) and samples it the same way; exit status of CMD
  devbench.py table --results TSV --breakdown JSONL --runs N --size MIB [--order ORDER]
      the markdown table: medians over the runs, ratios toride/RAUC, and the memory breakdown

Only reads /proc and the files it is given; runs nothing but CMD.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# 2 ms between samples: an install of a 64 MiB image takes 100+ ms, so the peak of the anonymous and
# file-backed parts is seen to within a few pages, and the sampler costs a few % of one core.
SAMPLE_S = 0.002
FIELDS = ("VmHWM", "RssAnon", "RssFile", "RssShmem")
TOOLS = ("toride", "toride-lib", "rauc")  # row order of the table


def read_status(pid):
    """The FIELDS of /proc/pid/status in KiB, or None once the process is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in FIELDS:
                    out[key] = int(val.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out if "VmHWM" in out else None


class Peak:
    def __init__(self):
        self.max = {k: 0 for k in FIELDS}
        self.samples = 0

    def add(self, st):
        if st is None:
            return
        self.samples += 1
        for k, v in st.items():
            # VmHWM only grows; the rest can fall, so keep the largest value seen.
            self.max[k] = max(self.max[k], v)

    def dump(self, path):
        rec = {"hwm_kib": self.max["VmHWM"], "max_anon_kib": self.max["RssAnon"],
               "max_file_kib": self.max["RssFile"], "max_shmem_kib": self.max["RssShmem"],
               "samples": self.samples}
        with open(path, "w", encoding="ascii") as f:
            json.dump(rec, f)
            f.write("\n")


def cmd_watch(a):
    peak = Peak()
    while not os.path.exists(a.stop):
        st = read_status(a.pid)
        if st is None:
            break
        peak.add(st)
        time.sleep(SAMPLE_S)
    peak.add(read_status(a.pid))
    peak.dump(a.out)
    return 0


def cmd_run(a):
    if not a.cmd:
        print("devbench: run needs a command after --", file=sys.stderr)
        return 2
    peak = Peak()
    p = subprocess.Popen(a.cmd)
    while True:
        pid, status, _ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        peak.add(read_status(p.pid))
        time.sleep(SAMPLE_S)
    # wait4's ru_maxrss is not used: after fork+exec it keeps the forked Python's resident set, which
    # dwarfs a small C program. VmHWM read while the process lives is its own mm's peak.
    p.returncode = os.waitstatus_to_exitcode(status)
    peak.dump(a.out)
    return p.returncode if p.returncode >= 0 else 128 - p.returncode


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    if not b or a != a or b != b:
        return "n/a"
    return f"{a / b:.2f}"


def cmd_table(a):
    rows = {}
    with open(a.results, encoding="ascii") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            tool, _run, wall, cpu, peak, client = line.split("\t")
            r = rows.setdefault(tool, {"wall": [], "cpu": [], "peak": [], "client": []})
            r["wall"].append(float(wall))
            r["cpu"].append(float(cpu))
            r["peak"].append(int(peak))
            r["client"].append(int(client))
    med = {t: {k: median(v) for k, v in r.items()} for t, r in rows.items()}
    n = {t: len(r["wall"]) for t, r in rows.items()}

    out = []
    out.append(f"Install of one {a.size} MiB image into the inactive slot, medians over {a.runs} runs.")
    out.append("")
    out.append("| installer | runs | wall s | CPU s (user+sys) | peak RSS MiB | client peak RSS MiB |")
    out.append("|---|---|---|---|---|---|")
    names = {"toride": "toride-deviced install", "toride-lib": "libtoride-device alone (bench/lib/dev-install)",
             "rauc": "RAUC 1.8 (service + `rauc install`)"}
    for t in TOOLS:
        if t not in med:
            continue
        m = med[t]
        client = f"{m['client'] / 1024:.1f}" if t == "rauc" else "-"
        out.append(f"| {names[t]} | {n[t]} | {m['wall']:.3f} | {m['cpu']:.3f} | {m['peak'] / 1024:.1f} | {client} |")
    pairs = [t for t in ("toride", "toride-lib") if t in med and "rauc" in med]
    if pairs:
        out.append("")
        out.append("| ratio toride/RAUC (medians) | wall | CPU | peak RSS (vs the service) | peak RSS (vs service + client) |")
        out.append("|---|---|---|---|---|")
        r = med["rauc"]
        for name in pairs:
            t = med[name]
            out.append(f"| {names[name]} | {ratio(t['wall'], r['wall'])} | {ratio(t['cpu'], r['cpu'])} | "
                       f"{ratio(t['peak'], r['peak'])} | {ratio(t['peak'], r['peak'] + r['client'])} |")
    out.append("")
    out.append("Per run (wall s / peak RSS MiB): " + "; ".join(
        f"{t}: " + ", ".join(f"{w:.3f}/{p / 1024:.1f}" for w, p in zip(rows[t]["wall"], rows[t]["peak"]))
        for t in TOOLS if t in rows))

    if a.breakdown and os.path.exists(a.breakdown):
        out.append("")
        out.append("Memory breakdown (one extra run per installer, /proc/PID/status sampled every "
                   f"{SAMPLE_S * 1000:.0f} ms; largest value seen of each part, MiB):")
        out.append("")
        out.append("| process | VmHWM | anonymous | file-backed | shmem |")
        out.append("|---|---|---|---|---|")
        recs = {}
        with open(a.breakdown, encoding="ascii") as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                recs[rec["name"]] = rec
                out.append(f"| {rec['name']} | {rec['hwm_kib'] / 1024:.1f} | {rec['max_anon_kib'] / 1024:.1f} | "
                           f"{rec['max_file_kib'] / 1024:.1f} | {rec['max_shmem_kib'] / 1024:.1f} |")
        r = recs.get("rauc service")
        for name in ("toride-deviced install", "libtoride-device alone"):
            t = recs.get(name)
            if t and r:
                out.append(f"| ratio {name} / RAUC service | {ratio(t['hwm_kib'], r['hwm_kib'])} | "
                           f"{ratio(t['max_anon_kib'], r['max_anon_kib'])} | "
                           f"{ratio(t['max_file_kib'], r['max_file_kib'])} | |")
    print("\n".join(out))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--stop", required=True)
    w.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--breakdown")
    t.add_argument("--runs", type=int, required=True)
    t.add_argument("--size", type=int, required=True)
    a = ap.parse_args()
    if a.cmd_name == "run" and a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    return {"watch": cmd_watch, "run": cmd_run, "table": cmd_table}[a.cmd_name](a)


if __name__ == "__main__":
    sys.exit(main())
