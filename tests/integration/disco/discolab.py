#!/usr/bin/python3
"""The discovery lab's plan, truth and checks (used by tests/integration/disco-lab.sh, the discovery
test and bench/discovery-vs-peers.sh). Only computes, reads and listens: it never sends a probe.

  discolab.py plan --mode default|big --seed N --out DIR
      decide the lab (live addresses, open pairs, sentinels) and write into DIR:
      plan.json, routes4.batch / routes6.batch (`ip -batch` input for the target namespace),
      listeners.tsv (addr, port: the open services), env.sh (shell variables)
  discolab.py truth --plan DIR/plan.json --out DIR [--family 4|6]
      open.tsv (every open (addr, port) inside scope minus exclusions), closed-sample.tsv,
      silent-sample.tsv, sentinels.tsv (live addresses that are out of scope or excluded)
  discolab.py listen --listeners FILE --ready FILE
      hold one listening socket per line (accept and close), create the ready file when all listen
  discolab.py keepalive --if IF --pps N
      send N frames a second of an unused EtherType out of IF (from the target namespace): the scanner's
      kernel drops them without an answer, but masscan's receive loop needs some packet to notice that
      its --wait is over (in a silent lab it never exits)
  discolab.py verify --plan FILE
      from the scanner namespace: every sample behaves as planned (open: connect succeeds; closed:
      refused; silent: no answer within VERIFY_TIMEOUT_S). Independent of toride. Exit 1 on deviation.
  discolab.py compare --plan FILE --family 4|6|all --jsonl FILE [--jsonl FILE...] [--format toride|zmap|masscan|nmap]
      recall and precision of a tool's "open" pairs against the truth; --disjoint: the files must not
      share a pair (shards). Exit 1 unless recall and precision are both 100 %.
  discolab.py pcap --plan FILE --family 4|6|all --pcap FILE [--require-syn] [--min-syn-per-pair K]
      every IP packet the scanner namespace sent (source MAC = its veth) to a non-link address went to
      an address inside scope minus exclusions; zero packets to the sentinels; --require-syn: every
      open address got a SYN; K: at least K SYNs per in-scope pair are in the capture (a capture that
      lost packets cannot pass). Exit 1 otherwise.
"""
import argparse
import ipaddress
import json
import os
import random
import resource
import select
import socket
import struct
import sys
import time

# Fixed MACs on the link so that zmap (-G) and masscan (--router-mac) can be told the gateway without
# an ARP exchange, and the pcap check knows which frames the scanner sent.
SCAN_MAC = "02:95:00:00:00:02"
TGT_MAC = "02:95:00:00:00:01"
LINK4 = "10.96.0.0/30"
SCAN4, TGT4 = "10.96.0.2", "10.96.0.1"
LINK6 = "fd95:ffff::/64"
SCAN6, TGT6 = "fd95:ffff::2", "fd95:ffff::1"
# Every target address lives in these blocks (the scanner's only routes besides the link).
BLOCK4, BLOCK6 = "10.95.0.0/16", "fd95::/32"
# Block of the `toride lab` fleet used by the pipeline check: AnyIP-local (RST on every port) while no
# fleet runs, never given scattered live addresses or listeners by the plan.
FLEET4 = "10.95.60.0/24"

# Sizes. default: a test that finishes in seconds; big: a bench where sending takes long enough to
# measure a rate (65,536 x 4 = 262,144 probes).
MODES = {
    "default": {"scope4": "10.95.0.0/18", "live4": 1000, "open4": 200, "ports": [22, 23, 80, 8080, 2323]},
    "big": {"scope4": "10.95.0.0/16", "live4": 4000, "open4": 1000, "ports": [22, 23, 80, 2323]},
}
# IPv6: the same in both modes (a /112 is 65,536 addresses; v6 scans are hit-list scans in practice).
SCOPE6 = "fd95::/112"
LIVE6, OPEN6 = 300, 50
# Sentinels: live addresses with open listeners on every port that a scan must never touch. The excluded
# block is inside the scope and given with --exclude; the outside block is beyond the scope.
EXCL4, OUTSIDE4 = "10.95.40.0/24", "10.95.64.0/24"
EXCL6, OUTSIDE6 = "fd95::c800/120", "fd95::1:0/120"
SENTINEL_HOSTS = 4          # listening addresses per sentinel block (.1-.4), on every port
SAMPLES = 200               # closed and silent samples written by `truth`
VERIFY_SAMPLES = 60         # samples per kind `verify` connects to
VERIFY_TIMEOUT_S = 1.5      # a silent sample must stay silent this long; open/closed answer in < 1 ms
LISTEN_BACKLOG = 64         # accepts are immediate; a scanner's handshakes never queue for long


def net(s):
    return ipaddress.ip_network(s, strict=False)


def in_any(a, nets):
    return any(a in n for n in nets)


def akey(x):
    """Sort key of an address or an (address, port) pair across IPv4 and IPv6."""
    if isinstance(x, tuple):
        return (x[0].version, int(x[0]), x[1])
    return (x.version, int(x))


def plan_family(rng, scope, excl, outside, fleet, nlive, nopen, ports):
    """Scattered live addresses in scope (not in the excluded, outside or fleet block), open pairs
    among them, and the sentinels' listeners."""
    avoid = [n for n in (excl, outside, fleet) if n is not None]
    live = set()
    while len(live) < nlive:
        a = scope.network_address + rng.randrange(scope.num_addresses)
        if in_any(a, avoid) or a == scope.network_address or a == scope.broadcast_address:
            continue
        live.add(a)
    live = sorted(live)
    pairs = set()
    while len(pairs) < nopen:
        pairs.add((rng.choice(live), rng.choice(ports)))
    listeners = sorted(pairs)
    for block in (excl, outside):
        for i in range(1, SENTINEL_HOSTS + 1):
            for p in ports:
                listeners.append((block.network_address + i, p))
    return live, listeners


def cmd_plan(a):
    m = MODES[a.mode]
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    scope4, scope6 = net(m["scope4"]), net(SCOPE6)
    live4, lis4 = plan_family(rng, scope4, net(EXCL4), net(OUTSIDE4), net(FLEET4), m["live4"], m["open4"], m["ports"])
    live6, lis6 = plan_family(rng, scope6, net(EXCL6), net(OUTSIDE6), None, LIVE6, OPEN6, m["ports"])
    plan = {
        "mode": a.mode, "seed": a.seed, "ports": m["ports"],
        "scope4": m["scope4"], "exclude4": EXCL4, "outside4": OUTSIDE4, "fleet4": FLEET4,
        "scope6": SCOPE6, "exclude6": EXCL6, "outside6": OUTSIDE6,
        "live4": [str(x) for x in live4], "live6": [str(x) for x in live6],
        # Whole blocks that answer (AnyIP): sentinels and the fleet block.
        "live_blocks4": [EXCL4, OUTSIDE4, FLEET4], "live_blocks6": [EXCL6, OUTSIDE6],
        "listeners": [[str(x), p] for x, p in lis4 + lis6],
    }
    with open(os.path.join(a.out, "plan.json"), "w") as f:
        json.dump(plan, f, indent=0)
    # AnyIP: one local route per live address (or block) makes the target namespace's kernel answer
    # for it (RST on closed ports, bind() allowed) without thousands of `ip addr` entries.
    with open(os.path.join(a.out, "routes4.batch"), "w") as f:
        for x in plan["live_blocks4"]:
            f.write("route add local %s dev lo\n" % x)
        for x in live4:
            f.write("route add local %s/32 dev lo\n" % x)
    with open(os.path.join(a.out, "routes6.batch"), "w") as f:
        for x in plan["live_blocks6"]:
            f.write("route add local %s dev lo\n" % x)
        for x in live6:
            f.write("route add local %s/128 dev lo\n" % x)
    with open(os.path.join(a.out, "listeners.tsv"), "w") as f:
        for x, p in plan["listeners"]:
            f.write("%s\t%d\n" % (x, p))
    with open(os.path.join(a.out, "env.sh"), "w") as f:
        kv = {
            "DL_MODE": a.mode, "DL_PORTS": ",".join(str(p) for p in m["ports"]),
            "DL_SCOPE4": m["scope4"], "DL_EXCLUDE4": EXCL4, "DL_OUTSIDE4": OUTSIDE4, "DL_FLEET4": FLEET4,
            "DL_SCOPE6": SCOPE6, "DL_EXCLUDE6": EXCL6, "DL_OUTSIDE6": OUTSIDE6,
            "DL_SCAN4": SCAN4, "DL_TGT4": TGT4, "DL_SCAN6": SCAN6, "DL_TGT6": TGT6,
            "DL_SCAN_MAC": SCAN_MAC, "DL_TGT_MAC": TGT_MAC,
            "DL_LIVE4": len(live4), "DL_LIVE6": len(live6), "DL_LISTENERS": len(plan["listeners"]),
        }
        for k, v in kv.items():
            f.write("%s=%s\n" % (k, v))
    return 0


# ------------------------------------------------------------------------------------------- truth

class Truth:
    """The lab's behaviour, from the plan: open pairs, live addresses, and the effective scope."""

    def __init__(self, plan_path, family="all"):
        with open(plan_path) as f:
            p = json.load(f)
        self.plan = p
        self.ports = p["ports"]
        fams = ["4", "6"] if family == "all" else [family]
        self.versions = set(int(x) for x in fams)
        self.scope = [net(p["scope" + x]) for x in fams]
        self.exclude = [net(p["exclude" + x]) for x in fams]
        self.live_blocks = [net(b) for b in p["live_blocks4"] + p["live_blocks6"]]
        self.live = set(ipaddress.ip_address(x) for x in p["live4"] + p["live6"])
        self.listeners = set((ipaddress.ip_address(x), port) for x, port in p["listeners"])

    def in_scope(self, a):
        return in_any(a, self.scope) and not in_any(a, self.exclude)

    def is_live(self, a):
        return a in self.live or in_any(a, self.live_blocks)

    def open_pairs(self):
        return sorted(((a, p) for a, p in self.listeners if self.in_scope(a) and p in self.ports), key=akey)

    def sentinels(self):
        """Listening addresses a scan of this scope must never touch."""
        return sorted(set(a for a, _ in self.listeners if a.version in self.versions and not self.in_scope(a)),
                      key=akey)

    def state(self, a, p):
        if (a, p) in self.listeners:
            return "open"
        return "closed" if self.is_live(a) else "silent"


def closed_and_silent(t, rng, n):
    closed, silent = set(), set()
    scattered = sorted((a for a in t.live if t.in_scope(a)), key=akey)
    tries = 0
    while (len(closed) < n or len(silent) < n) and tries < 100 * n:
        tries += 1
        if len(closed) < n and scattered:
            a, p = rng.choice(scattered), rng.choice(t.ports)
            if (a, p) not in t.listeners:
                closed.add((a, p))
        s = rng.choice(t.scope)
        a = s.network_address + rng.randrange(s.num_addresses)
        if len(silent) < n and t.in_scope(a) and not t.is_live(a):
            silent.add((a, rng.choice(t.ports)))
    return sorted(closed, key=akey), sorted(silent, key=akey)


def write_pairs(path, pairs):
    with open(path, "w") as f:
        for a, p in pairs:
            f.write("%s\t%d\n" % (a, p))


def cmd_truth(a):
    t = Truth(a.plan, a.family)
    os.makedirs(a.out, exist_ok=True)
    closed, silent = closed_and_silent(t, random.Random(7), SAMPLES)
    write_pairs(os.path.join(a.out, "open.tsv"), t.open_pairs())
    write_pairs(os.path.join(a.out, "closed-sample.tsv"), closed)
    write_pairs(os.path.join(a.out, "silent-sample.tsv"), silent)
    with open(os.path.join(a.out, "sentinels.tsv"), "w") as f:
        for x in t.sentinels():
            f.write("%s\n" % x)
    print("truth (family %s): %d open pairs in scope, %d closed and %d silent samples, %d sentinel "
          "addresses -> %s" % (a.family, len(t.open_pairs()), len(closed), len(silent), len(t.sentinels()), a.out))
    return 0


# ------------------------------------------------------------------------------------------ listen

def cmd_listen(a):
    lines = [l.split() for l in open(a.listeners) if l.strip()]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = len(lines) + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, soft), max(need, hard)))
    ep = select.epoll()
    socks = {}
    for addr, port in lines:
        ip = ipaddress.ip_address(addr)
        s = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ip.version == 6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, int(port)))
        s.listen(LISTEN_BACKLOG)
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        socks[s.fileno()] = s
    with open(a.ready, "w") as f:
        f.write("%d\n" % len(socks))
    while True:
        for fd, _ in ep.poll():
            s = socks[fd]
            while True:
                try:
                    c, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                c.close()


# --------------------------------------------------------------------------------------- keepalive

# IEEE 802 "Local Experimental EtherType 1": no protocol handler in a kernel, so nobody answers.
KEEPALIVE_ETHERTYPE = 0x88b5


def cmd_keepalive(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.ifname, 0))
    dst = bytes.fromhex(SCAN_MAC.replace(":", ""))
    src = bytes.fromhex(TGT_MAC.replace(":", ""))
    frame = dst + src + struct.pack(">H", KEEPALIVE_ETHERTYPE) + b"disco-lab keepalive".ljust(46, b"\0")
    while True:
        s.send(frame)
        time.sleep(1.0 / a.pps)


# ------------------------------------------------------------------------------------------ verify

def cmd_verify(a):
    t = Truth(a.plan, "all")
    rng = random.Random(11)
    closed, silent = closed_and_silent(t, rng, VERIFY_SAMPLES)
    opens = t.open_pairs()
    opens = rng.sample(opens, min(VERIFY_SAMPLES, len(opens)))
    sentinel_pairs = sorted(((x, p) for x, p in t.listeners if not t.in_scope(x)), key=akey)[:VERIFY_SAMPLES]
    want = [(x, p, "open") for x, p in opens + sentinel_pairs]
    want += [(x, p, "closed") for x, p in closed] + [(x, p, "silent") for x, p in silent]
    pending = {}
    for x, p, w in want:
        s = socket.socket(socket.AF_INET6 if x.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((str(x), p))
        pending[s.fileno()] = (s, x, p, w)
    got = {}
    ep = select.epoll()
    for fd in pending:
        ep.register(fd, select.EPOLLOUT | select.EPOLLERR)
    deadline = time.monotonic() + VERIFY_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for fd, _ in ep.poll(max(0.0, deadline - time.monotonic())):
            s, x, p, w = pending.pop(fd)
            ep.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            got[(x, p)] = "open" if err == 0 else ("closed" if err == 111 else "error %d" % err)
            s.close()
    for s, x, p, w in pending.values():
        got[(x, p)] = "silent"
        s.close()
    bad = [(x, p, w, got[(x, p)]) for x, p, w in want if got[(x, p)] != w]
    for x, p, w, g in bad[:20]:
        print("  DEVIATION %s port %d: planned %s, got %s" % (x, p, w, g))
    print("verify: %d samples (%d open incl. %d sentinel, %d closed, %d silent): %d deviations" % (
        len(want), len(opens) + len(sentinel_pairs), len(sentinel_pairs), len(closed), len(silent), len(bad)))
    return 1 if bad else 0


# ----------------------------------------------------------------------------------------- compare

def read_found(path, fmt):
    """(address, port) pairs a tool reported open."""
    found = set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if fmt == "toride":
                e = json.loads(line)
                if e.get("type") == "observation" and e.get("kind") == "open":
                    found.add((ipaddress.ip_address(e["addr"]), int(e["port"])))
            elif fmt == "zmap":
                # zmap -O csv -f saddr,sport; the port file name carries no port, so lines are addr,port.
                if line.startswith("saddr"):
                    continue
                x, p = line.split(",")[:2]
                found.add((ipaddress.ip_address(x), int(p)))
            elif fmt == "masscan":
                # -oL: "open tcp PORT ADDR TIMESTAMP"
                w = line.split()
                if len(w) >= 4 and w[0] == "open" and w[1] == "tcp":
                    found.add((ipaddress.ip_address(w[3]), int(w[2])))
            elif fmt == "nmap":
                # -oG: "Host: ADDR ()\tPorts: 22/open/tcp//ssh///, 80/closed/..."
                if not line.startswith("Host:") or "Ports:" not in line:
                    continue
                x = line.split()[1]
                for item in line.split("Ports:", 1)[1].split(","):
                    fields = item.strip().split("/")
                    if len(fields) >= 2 and fields[1] == "open":
                        found.add((ipaddress.ip_address(x), int(fields[0])))
    return found


def cmd_compare(a):
    t = Truth(a.plan, a.family)
    truth = set(t.open_pairs())
    sets = [read_found(p, a.format) for p in a.jsonl]
    found = set().union(*sets)
    overlap = 0
    if a.disjoint:
        seen = set()
        for s in sets:
            overlap += len(seen & s)
            seen |= s
    missed = sorted(truth - found, key=akey)
    false = sorted(found - truth, key=akey)
    tp = len(truth & found)
    recall = 100.0 * tp / len(truth) if truth else 100.0
    precision = 100.0 * tp / len(found) if found else 100.0
    res = {"truth": len(truth), "found": len(found), "true_pos": tp, "missed": len(missed), "false": len(false),
           "recall": recall, "precision": precision, "overlap": overlap}
    if a.json:
        print(json.dumps(res))
    else:
        print("compare (%s, family %s): truth %d open pairs, reported %d, missed %d, false %d: recall %.2f %%, "
              "precision %.2f %%%s" % (a.format, a.family, len(truth), len(found), len(missed), len(false), recall,
                                       precision, (", %d pairs in more than one file" % overlap) if a.disjoint else ""))
        for x, p in missed[:10]:
            print("  MISSED %s port %d" % (x, p))
        for x, p in false[:10]:
            print("  FALSE %s port %d (%s%s)" % (x, p, t.state(x, p), "" if t.in_scope(x) else ", OUT OF SCOPE"))
    return 1 if missed or false or overlap else 0


# -------------------------------------------------------------------------------------------- pcap

def read_pcap(path):
    """Yields (src_mac, dst_ip, ip_proto, tcp_flags or None) per Ethernet frame carrying IPv4/IPv6."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            e = "<"
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            e = ">"
        else:
            raise ValueError("%s: not a pcap file" % path)
        linktype = struct.unpack(e + "I", hdr[20:24])[0]
        if linktype != 1:
            raise ValueError("%s: link type %d, want Ethernet" % (path, linktype))
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            incl = struct.unpack(e + "IIII", rh)[2]
            d = f.read(incl)
            if len(d) < 14:
                continue
            src_mac = ":".join("%02x" % b for b in d[6:12])
            et = struct.unpack(">H", d[12:14])[0]
            off = 14
            if et == 0x8100 and len(d) >= 18:
                et = struct.unpack(">H", d[16:18])[0]
                off = 18
            if et == 0x0800 and len(d) >= off + 20:
                ihl = (d[off] & 0x0f) * 4
                proto = d[off + 9]
                dst = ipaddress.IPv4Address(d[off + 16:off + 20])
                th = off + ihl
            elif et == 0x86dd and len(d) >= off + 40:
                proto = d[off + 6]
                dst = ipaddress.IPv6Address(d[off + 24:off + 40])
                th = off + 40
            else:
                continue
            flags = d[th + 13] if proto == 6 and len(d) >= th + 14 else None
            yield src_mac, dst, proto, flags


def cmd_pcap(a):
    t = Truth(a.plan, a.family)
    link = [net(LINK4), net(LINK6), net("fe80::/10"), net("ff00::/8"), net("224.0.0.0/4"), net("255.255.255.255/32")]
    sentinels = set(t.sentinels())
    sent = bad = to_sentinel = syns = 0
    bad_dsts = set()
    syn_dst = set()
    for src_mac, dst, proto, flags in read_pcap(a.pcap):
        if src_mac != SCAN_MAC:
            continue
        if in_any(dst, link):
            continue
        sent += 1
        if flags is not None and flags & 0x02 and not flags & 0x10:
            syns += 1
            syn_dst.add(dst)
        if dst in sentinels:
            to_sentinel += 1
        if not t.in_scope(dst):
            bad += 1
            bad_dsts.add(dst)
    open_addrs = set(x for x, _ in t.open_pairs())
    unseen = open_addrs - syn_dst if a.require_syn else set()
    # Probes expected: every address of the effective scope x every port x the probes per pair.
    n_eff = sum(n.num_addresses for n in t.scope) - sum(
        x.num_addresses for x in t.exclude if in_any(x.network_address, t.scope))
    want_syn = n_eff * len(t.ports) * a.min_syn_per_pair
    print("pcap (family %s): %d packets from the scanner to targets (%d SYN), %d outside scope minus exclusions "
          "(%d distinct), %d to the %d sentinel addresses%s" % (
              a.family, sent, syns, bad, len(bad_dsts), to_sentinel, len(sentinels),
              (", %d open addresses got no SYN" % len(unseen)) if a.require_syn else ""))
    for x in sorted(bad_dsts, key=akey)[:10]:
        print("  OUT OF SCOPE packet to %s" % x)
    if syns < want_syn:
        print("  only %d SYNs in the capture, expected at least %d (%d pairs x %d): packets were lost" % (
            syns, want_syn, want_syn // a.min_syn_per_pair, a.min_syn_per_pair))
        return 1
    if a.require_syn and sent == 0:
        print("  the capture saw no probe at all")
        return 1
    return 1 if bad or to_sentinel or unseen else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--mode", choices=sorted(MODES), default="default")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    p = sub.add_parser("truth")
    p.add_argument("--plan", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--family", choices=["4", "6", "all"], default="all")
    p = sub.add_parser("listen")
    p.add_argument("--listeners", required=True)
    p.add_argument("--ready", required=True)
    p = sub.add_parser("keepalive")
    p.add_argument("--if", dest="ifname", required=True)
    p.add_argument("--pps", type=float, default=20.0)
    p = sub.add_parser("verify")
    p.add_argument("--plan", required=True)
    p = sub.add_parser("compare")
    p.add_argument("--plan", required=True)
    p.add_argument("--family", choices=["4", "6", "all"], default="all")
    p.add_argument("--jsonl", action="append", required=True)
    p.add_argument("--format", choices=["toride", "zmap", "masscan", "nmap"], default="toride")
    p.add_argument("--disjoint", action="store_true")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("pcap")
    p.add_argument("--plan", required=True)
    p.add_argument("--family", choices=["4", "6", "all"], default="all")
    p.add_argument("--pcap", required=True)
    p.add_argument("--require-syn", action="store_true")
    p.add_argument("--min-syn-per-pair", type=int, default=0)
    a = ap.parse_args()
    return {"plan": cmd_plan, "truth": cmd_truth, "listen": cmd_listen, "keepalive": cmd_keepalive, "verify": cmd_verify,
            "compare": cmd_compare, "pcap": cmd_pcap}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
