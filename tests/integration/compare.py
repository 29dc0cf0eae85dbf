#!/usr/bin/python3
"""Compare a toride survey of the lab with the lab's truth (tests/integration/lab-manifest.tsv).

  compare.py creds    --manifest M --mirai data/credentials/mirai.tsv --first 12 > creds.txt
      the first N pairs of Mirai's table as user:password lines, plus every weak lab credential
      (in-scope or not) that is not among them
  compare.py findings --manifest M --jsonl S.jsonl [--report R.json] [--scope-filter in_scope=yes]
      the set of (addr, port, requirement) of failing findings must equal the manifest's in-scope
      expectations; prints missing and unexpected ones; the report, if given, must list the same set
  compare.py pcap     --pcap C --src 10.76.0.2 --scope CIDR [--exclude ADDR]... [--never ADDR]...
                      [--manifest M]
      every IPv4 packet the scanner sent goes to an address inside scope minus exclusions; --never
      addresses appear in no packet at all; with --manifest, a SYN reached every in-scope open port
  compare.py dbcount  --db S.db
      prints the number of findings rows in the store

Exit status 0 = match, 1 = mismatch (details on stdout), 2 = bad input.
"""
import argparse
import ipaddress
import json
import sqlite3
import struct
import sys


def load_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("addr\t"):
                continue
            c = line.split("\t")
            if len(c) != 9:
                raise SystemExit("compare: manifest row with %d columns: %r" % (len(c), line))
            rows.append(dict(zip(("addr", "port", "proto", "daemon", "user", "kind", "expected", "in_scope",
                                  "password"), c)))
    return rows


def expected_set(rows):
    want = set()
    for r in rows:
        if r["in_scope"] != "yes" or r["port"] == "-" or r["expected"] == "-":
            continue
        for item in r["expected"].split(","):
            req, _, verdict = item.partition(":")
            if verdict != "fail":
                raise SystemExit("compare: manifest expectation %r is not REQ:fail" % item)
            want.add((r["addr"], int(r["port"]), req))
    return want


def fmt(s):
    return "\n".join("    %s:%d %s" % t for t in sorted(s, key=lambda t: (ipaddress.ip_address(t[0]), t[1], t[2])))


# --------------------------------------------------------------------------------------------- creds

def cmd_creds(a):
    pairs = []
    with open(a.mirai, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("user\t"):
                continue
            user, password = line.split("\t")[:2]
            if (user, password) not in pairs:
                pairs.append((user, password))
            if len(pairs) == a.first:
                break
    for r in load_manifest(a.manifest):
        if r["kind"] == "weak" and (r["user"], r["password"]) not in pairs:
            pairs.append((r["user"], r["password"]))
    for u, p in pairs:
        print("%s:%s" % (u, p))
    return 0


# ------------------------------------------------------------------------------------------ findings

def jsonl_fails(path):
    got, n_lines, n_find = set(), 0, 0
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            n_lines += 1
            try:
                ev = json.loads(line)
            except ValueError as e:
                raise SystemExit("compare: %s:%d is not JSON: %s" % (path, i, e))
            if ev.get("type") != "finding":
                continue
            n_find += 1
            if ev.get("verdict") == "fail":
                got.add((ev["addr"], int(ev["port"]), ev["requirement"]))
    return got, n_lines, n_find


def report_fails(path):
    with open(path, encoding="utf-8") as f:
        rep = json.load(f)
    found = rep.get("findings") if isinstance(rep, dict) else None
    if not isinstance(found, list):
        # Tolerate another layout: any object that names addr, port and requirement.
        found = []

        def walk(o):
            if isinstance(o, dict):
                if {"addr", "port", "requirement"} <= o.keys():
                    found.append(o)
                for v in o.values():
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(rep)
    return {(f["addr"], int(f["port"]), f["requirement"]) for f in found if f.get("verdict", "fail") == "fail"}


def cmd_findings(a):
    want = expected_set(load_manifest(a.manifest))
    got, n_lines, n_find = jsonl_fails(a.jsonl)
    print("survey JSONL: %d events, %d findings, %d failing (addr, port, requirement); manifest expects %d"
          % (n_lines, n_find, len(got), len(want)))
    bad = 0
    missing, unexpected = want - got, got - want
    if missing:
        print("MISSING (expected failing, not reported):\n" + fmt(missing))
        bad = 1
    if unexpected:
        print("UNEXPECTED (reported failing, not in the manifest):\n" + fmt(unexpected))
        bad = 1
    if not bad:
        print("ok: failing findings equal the manifest exactly:\n" + fmt(got))
    if a.report:
        rep = report_fails(a.report)
        if rep != got:
            print("REPORT differs from the JSONL:\n  only in report:\n%s\n  only in JSONL:\n%s"
                  % (fmt(rep - got), fmt(got - rep)))
            bad = 1
        else:
            print("ok: report lists the same %d failing findings" % len(rep))
    return bad


# ---------------------------------------------------------------------------------------------- pcap

def pcap_packets(path):
    """Yields (src, dst, proto, tcp_flags or None, dport or None) for every IPv4 packet."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit("compare: %s is not a pcap file (too short)" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit("compare: %s: unknown pcap magic %r (pcapng is not supported)" % (path, magic))
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _ts, _us, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if linktype == 1:  # Ethernet
            l3, etype = 14, pkt[12:14]
            while etype in (b"\x81\x00", b"\x88\xa8") and len(pkt) >= l3 + 4:
                etype = pkt[l3 + 2:l3 + 4]
                l3 += 4
        elif linktype == 113:  # Linux cooked v1
            l3, etype = 16, pkt[14:16]
        elif linktype == 276:  # Linux cooked v2
            l3, etype = 20, pkt[0:2]
        elif linktype in (12, 101):  # raw IP
            l3, etype = 0, b"\x08\x00"
        else:
            raise SystemExit("compare: unsupported pcap link type %d" % linktype)
        if etype != b"\x08\x00" or len(pkt) < l3 + 20:
            continue
        ip = pkt[l3:]
        ihl = (ip[0] & 0x0F) * 4
        proto = ip[9]
        src = str(ipaddress.IPv4Address(ip[12:16]))
        dst = str(ipaddress.IPv4Address(ip[16:20]))
        flags = dport = None
        if proto == 6 and len(ip) >= ihl + 14:
            dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
            flags = ip[ihl + 13]
        elif proto == 17 and len(ip) >= ihl + 4:
            dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
        yield src, dst, proto, flags, dport


def cmd_pcap(a):
    scope = [ipaddress.ip_network(s) for s in a.scope]
    excl = [ipaddress.ip_network(s) for s in a.exclude]
    never = {str(ipaddress.ip_address(s)) for s in a.never}

    def allowed(addr):
        ip = ipaddress.ip_address(addr)
        return any(ip in n for n in scope) and not any(ip in n for n in excl)

    n_pkts = n_out = 0
    syn_dst = {}
    outside = {}
    touched_never = {}
    for src, dst, proto, flags, dport in pcap_packets(a.pcap):
        n_pkts += 1
        for x in (src, dst):
            if x in never:
                touched_never[x] = touched_never.get(x, 0) + 1
        if src != a.src:
            continue
        n_out += 1
        if not allowed(dst):
            outside[(dst, proto)] = outside.get((dst, proto), 0) + 1
        if proto == 6 and flags is not None and flags & 0x02 and not flags & 0x10:
            syn_dst.setdefault(dst, set()).add(dport)
    n_syn = sum(len(v) for v in syn_dst.values())
    print("capture: %d IPv4 packets, %d from the scanner %s, SYNs to %d addresses (%d addr:port pairs)"
          % (n_pkts, n_out, a.src, len(syn_dst), n_syn))
    bad = 0
    if n_out == 0 or not syn_dst:
        print("FAIL: the capture holds no SYN from the scanner: it did not see the survey")
        bad = 1
    if outside:
        print("FAIL: packets to addresses outside the scope:")
        for (dst, proto), n in sorted(outside.items()):
            print("    %s proto %d: %d packets" % (dst, proto, n))
        bad = 1
    else:
        print("ok: every packet from the scanner went to %s minus %s"
              % (",".join(a.scope), ",".join(a.exclude) or "nothing"))
    if touched_never:
        print("FAIL: never-touch addresses appear in the capture: %s"
              % ", ".join("%s (%d packets)" % kv for kv in sorted(touched_never.items())))
        bad = 1
    else:
        print("ok: %s never appear in any packet" % ", ".join(sorted(never)))
    if a.manifest:
        unprobed = []
        for r in load_manifest(a.manifest):
            if r["in_scope"] == "yes" and r["port"] != "-":
                if int(r["port"]) not in syn_dst.get(r["addr"], set()):
                    unprobed.append("%s:%s" % (r["addr"], r["port"]))
        if unprobed:
            print("FAIL: no SYN reached these in-scope open ports: %s" % " ".join(unprobed))
            bad = 1
        else:
            print("ok: a SYN reached every in-scope open port of the manifest")
    return bad


# ------------------------------------------------------------------------------------------- dbcount

def cmd_dbcount(a):
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        name = "finding" if "finding" in tables else next((t for t in tables if "finding" in t), None)
        if name is None:
            print("compare: %s has no findings table (tables: %s)" % (a.db, ", ".join(tables)), file=sys.stderr)
            return 2
        print(db.execute('SELECT count(*) FROM "%s"' % name).fetchone()[0])
    finally:
        db.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("creds")
    p.add_argument("--manifest", required=True)
    p.add_argument("--mirai", required=True)
    p.add_argument("--first", type=int, default=12)
    p = sub.add_parser("findings")
    p.add_argument("--manifest", required=True)
    p.add_argument("--jsonl", required=True)
    p.add_argument("--report")
    p = sub.add_parser("pcap")
    p.add_argument("--pcap", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--scope", action="append", required=True)
    p.add_argument("--exclude", action="append", default=[])
    p.add_argument("--never", action="append", default=[])
    p.add_argument("--manifest")
    p = sub.add_parser("dbcount")
    p.add_argument("--db", required=True)
    a = ap.parse_args()
    return {"creds": cmd_creds, "findings": cmd_findings, "pcap": cmd_pcap, "dbcount": cmd_dbcount}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
