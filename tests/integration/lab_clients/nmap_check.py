#!/usr/bin/env python3
"""Print the service table of an `nmap -sV -oX` run against emulated devices and check it against
the devices' profiles.

    nmap_check.py NMAP.xml TRUTH.json PROFILES_DIR

Checks (one ok/FAIL line each): every SSH port is named with the product and version its version
line announces (SSH-2.0-dropbear_2015.67 -> "Dropbear sshd" "2015.67"); every negotiating telnet
port of a busybox device is named "BusyBox telnetd"; every HTTP port whose
profile sends a Server header is named after that header's product; and no port, product,
extra info, device type or unmatched fingerprint says "honeypot". Exit 1 on any FAIL.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def main():
    root = ET.parse(sys.argv[1]).getroot()
    truth = json.load(open(sys.argv[2]))
    pdir = sys.argv[3]
    by_addr = {d["addr"]: d for d in truth["devices"]}
    fails = 0

    def report(ok, what):
        nonlocal fails
        print("  %s nmap %s" % ("ok  " if ok else "FAIL", what))
        fails += 0 if ok else 1

    rows = []
    for host in root.findall("host"):
        addr = host.find("address").get("addr")
        dev = by_addr.get(addr)
        prof = json.load(open(os.path.join(pdir, dev["profile"] + ".json"))) if dev else {}
        for port in host.findall("ports/port"):
            st = port.find("state").get("state")
            s = port.find("service")
            a = s.attrib if s is not None else {}
            rows.append((addr, dev["profile"] if dev else "?", int(port.get("portid")), st, a, prof))
    print("  %-14s %-30s %5s %-6s %-8s %s" % ("address", "profile", "port", "state", "service", "product / version / info"))
    for addr, pid, pn, st, a, _ in rows:
        if st != "open":
            continue
        desc = " ".join(x for x in (a.get("product", ""), a.get("version", ""),
                                    "(" + a["extrainfo"] + ")" if a.get("extrainfo") else "",
                                    "[" + a["devicetype"] + "]" if a.get("devicetype") else "") if x)
        print("  %-14s %-30s %5d %-6s %-8s %s" % (addr, pid, pn, st, a.get("name", "") + ("?" if a.get("method") == "table" else ""), desc))

    honeypots = []
    for addr, pid, pn, st, a, prof in rows:
        psvc = next((s for s in prof.get("services", []) if s.get("port") == pn), None)
        if psvc is None:
            continue
        blob = " ".join(str(v) for v in a.values()).lower()
        if "honeypot" in blob:
            honeypots.append("%s:%d" % (addr, pn))
        if st != "open":
            report(False, "%s:%d (%s) open (nmap says %s)" % (addr, pn, pid, st))
            continue
        if psvc["proto"] == "ssh":
            banner = psvc.get("banner", "")
            prod, ver = a.get("product", ""), a.get("version", "")
            ok = a.get("name") == "ssh" and prod != "" and prod.split()[0].lower() in banner.lower()
            m = re.search(r"[_-](\d[\w.]*)", banner[len("SSH-2.0-"):])
            if m:
                ok = ok and ver != "" and ver.split()[0] in banner
            report(ok, "%s:%d (%s) ssh named from %r: %r %r" % (addr, pn, pid, banner, prod, ver))
        elif psvc["proto"] == "telnet" and prof.get("busybox") and psvc.get("negotiate", True):
            # busybox devices negotiate byte for byte as busybox telnetd, which nmap knows.
            prod = a.get("product", "")
            report(a.get("name") == "telnet" and "busybox" in prod.lower(),
                   "%s:%d (%s) telnet named BusyBox telnetd: %r" % (addr, pn, pid, prod))
        elif psvc["proto"] == "http" and psvc.get("server"):
            server = psvc["server"]
            prod, ver = a.get("product", ""), a.get("version", "")
            words = [w.lower() for w in re.split(r"[\s/,]+", prod) if len(w) > 2]
            ok = a.get("name") == "http" and prod != "" and (
                any(w in server.lower() for w in words) or (ver != "" and ver in server))
            report(ok, "%s:%d (%s) http named from Server %r: %r %r" % (addr, pn, pid, server, prod, ver))
    report(not honeypots, "no service is called a honeypot %s" % " ".join(honeypots))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
