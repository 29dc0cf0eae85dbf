#!/usr/bin/env python3
"""Compare a survey of an emulated fleet with the fleet's ground truth.

usage: fleet_compare.py TRUTH.json CREDS.txt SURVEY.jsonl
Expected failing findings, derived from the truth's facts and the credential list the survey used
(the survey ran with --creds CREDS.txt --no-vendor-creds):
  - a service that needs no login ("open": true)            -> (addr, port, JP-34-10-1)
  - a service whose working pair is in the list              -> (addr, port, JP-34-10-2)
Prints misses and false findings; exit 1 if the sets differ."""
import json
import sys


def main():
    truth = json.load(open(sys.argv[1]))
    creds = set()
    for line in open(sys.argv[2]):
        line = line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        u, _, p = line.partition(":")
        creds.add((u, p))
    want = set()
    for d in truth["devices"]:
        for s in d["services"]:
            if s["open"]:
                want.add((d["addr"], s["port"], "JP-34-10-1"))
            elif "login" in s and (s["login"]["user"], s["login"]["password"]) in creds:
                want.add((d["addr"], s["port"], "JP-34-10-2"))
    got = set()
    for line in open(sys.argv[3]):
        e = json.loads(line)
        if e.get("type") == "finding" and e.get("verdict") == "fail":
            got.add((e["addr"], e["port"], e["requirement"]))
    missed = sorted(want - got)
    false = sorted(got - want)
    print("fleet: %d devices, %d services; expected %d failing findings, survey reported %d; "
          "%d missed, %d false" % (len(truth["devices"]), sum(len(d["services"]) for d in truth["devices"]),
                                   len(want), len(got), len(missed), len(false)))
    byaddr = {d["addr"]: d for d in truth["devices"]}
    for kind, rows in (("MISSED", missed), ("FALSE", false)):
        for a, p, r in rows[:20]:
            d = byaddr.get(a, {})
            print("  %s %s:%s %s (profile %s, policy %s)" % (kind, a, p, r, d.get("profile"), d.get("policy")))
    return 1 if missed or false else 0


sys.exit(main())
