#!/usr/bin/env python3
"""Check a MISP feed directory as MISP pulls it (and as PyMISP's feed generator writes it).

usage: misp_check.py FEED_DIR

- manifest.json: {event uuid: {info, Orgc{name, uuid}, analysis, threat_level_id, timestamp, date, Tag[]}};
  its keys are exactly the <uuid>.json files of the directory.
- <uuid>.json: {"Event": {uuid (= file name), info, date, timestamp, publish_timestamp, published,
  analysis, threat_level_id, Orgc, Tag, Attribute[]}}, the manifest entry agrees with the event.
- every Attribute has uuid, type, category, value, to_ids, timestamp, comment; (category, type) is a
  valid MISP pair (table below, from MISP's describeTypes.json); values fit their type (addresses,
  hashes, URLs); attribute uuids are unique.
- hashes.csv: one "md5(value),event uuid" line per attribute value (composite "a|b" types: one per
  part, as PyMISP's hash_values), and nothing else.

Exit 0 if the feed is consistent; else prints the first problem and exits 1 (2 on usage errors).
"""
import hashlib
import ipaddress
import json
import os
import re
import sys

# (category -> types) for the types a honeypot feed can hold; from MISP describeTypes.json
# category_type_mappings (a subset: every pair listed is valid in MISP).
CATEGORY_TYPES = {
    "Network activity": {"ip-src", "ip-dst", "ip-dst|port", "ip-src|port", "port", "hostname", "domain",
                         "domain|ip", "url", "uri", "user-agent", "AS", "comment", "text", "other"},
    "Payload delivery": {"md5", "sha1", "sha256", "sha512", "ssdeep", "filename", "filename|md5",
                         "filename|sha1", "filename|sha256", "ip-src", "ip-dst", "hostname", "domain",
                         "url", "user-agent", "AS", "malware-sample", "malware-type", "comment", "text",
                         "other", "link", "yara"},
    "Payload installation": {"md5", "sha1", "sha256", "filename", "malware-sample", "malware-type",
                             "comment", "text", "other", "yara"},
    "Artifacts dropped": {"md5", "sha1", "sha256", "filename", "malware-sample", "comment", "text",
                          "other", "yara"},
    "External analysis": {"md5", "sha1", "sha256", "filename", "ip-src", "ip-dst", "hostname", "domain",
                          "domain|ip", "url", "link", "comment", "text", "other"},
    "Attribution": {"threat-actor", "campaign-name", "campaign-id", "comment", "text", "other"},
    "Other": {"comment", "text", "other", "datetime", "counter", "port"},
}
ATTR_FIELDS = ("uuid", "type", "category", "value", "to_ids", "timestamp", "comment")
EVENT_FIELDS = ("uuid", "info", "date", "timestamp", "publish_timestamp", "published", "analysis",
                "threat_level_id", "Orgc", "Tag", "Attribute")
MANIFEST_FIELDS = ("info", "Orgc", "analysis", "threat_level_id", "timestamp", "date", "Tag")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}


def fail(msg, code=1):
    print("misp_check: " + msg)
    sys.exit(code)


def value_ok(atype, value):
    if atype in HEX:
        return bool(re.fullmatch("[0-9a-f]{%d}" % HEX[atype], value))
    if atype in ("ip-src", "ip-dst"):
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    if atype == "url":
        return "://" in value or "/" in value
    if atype in ("hostname", "domain"):
        return bool(re.fullmatch(r"[A-Za-z0-9._-]+", value)) and not value.startswith(".")
    return isinstance(value, str) and value != ""


def parts(atype, value):
    return value.split("|") if "|" in atype or atype == "malware-sample" else [value]


def main(argv):
    if len(argv) != 2:
        fail("usage: misp_check.py FEED_DIR", 2)
    d = argv[1]
    try:
        with open(os.path.join(d, "manifest.json"), encoding="utf-8") as fh:
            manifest = json.load(fh)
        with open(os.path.join(d, "hashes.csv"), encoding="utf-8") as fh:
            csv_lines = [l.rstrip("\n") for l in fh if l.strip()]
    except (OSError, ValueError) as e:
        fail("%s: %s" % (d, e))
    if not isinstance(manifest, dict):
        fail("manifest.json is not an object")
    files = {f[:-5] for f in os.listdir(d) if f.endswith(".json") and f != "manifest.json"}
    if set(manifest) != files:
        fail("manifest keys %s != event files %s" % (sorted(set(manifest) - files), sorted(files - set(manifest))))
    if not manifest:
        fail("empty feed: no events")
    want_hashes = []
    attr_uuids = set()
    for uuid in sorted(manifest):
        m = manifest[uuid]
        if not UUID_RE.match(uuid):
            fail("manifest key %r is not a UUID" % uuid)
        for f in MANIFEST_FIELDS:
            if f not in m:
                fail("manifest[%s]: missing %s" % (uuid, f))
        if not isinstance(m["Orgc"], dict) or not m["Orgc"].get("name") or not UUID_RE.match(m["Orgc"].get("uuid", "")):
            fail("manifest[%s]: Orgc needs name and uuid" % uuid)
        with open(os.path.join(d, uuid + ".json"), encoding="utf-8") as fh:
            doc = json.load(fh)
        ev = doc.get("Event") if isinstance(doc, dict) else None
        if not isinstance(ev, dict):
            fail("%s.json: no Event object" % uuid)
        for f in EVENT_FIELDS:
            if f not in ev:
                fail("%s.json: Event has no %s" % (uuid, f))
        if ev["uuid"] != uuid:
            fail("%s.json: Event uuid %s differs from the file name" % (uuid, ev["uuid"]))
        for f in ("info", "date", "Orgc"):
            if ev[f] != m[f]:
                fail("%s.json: Event %s %r differs from the manifest's %r" % (uuid, f, ev[f], m[f]))
        for f in ("analysis", "threat_level_id", "timestamp"):
            if str(ev[f]) != str(m[f]):
                fail("%s.json: Event %s %r differs from the manifest's %r" % (uuid, f, ev[f], m[f]))
        if [t.get("name") for t in ev["Tag"]] != [t.get("name") for t in m["Tag"]]:
            fail("%s.json: Tag list differs from the manifest's" % uuid)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ev["date"]):
            fail("%s.json: date %r is not YYYY-MM-DD" % (uuid, ev["date"]))
        if str(ev["analysis"]) not in ("0", "1", "2") or str(ev["threat_level_id"]) not in ("1", "2", "3", "4"):
            fail("%s.json: analysis/threat_level_id out of range" % uuid)
        for f in ("timestamp", "publish_timestamp"):
            if not str(ev[f]).isdigit():
                fail("%s.json: %s %r is not a unix time" % (uuid, f, ev[f]))
        if not any(t.get("name", "").startswith("tlp:") for t in ev["Tag"]):
            fail("%s.json: no tlp: tag" % uuid)
        if not ev["Attribute"]:
            fail("%s.json: no attributes" % uuid)
        for i, a in enumerate(ev["Attribute"]):
            where = "%s.json: Attribute %d" % (uuid, i)
            for f in ATTR_FIELDS:
                if f not in a:
                    fail("%s: missing %s" % (where, f))
            if a["category"] not in CATEGORY_TYPES or a["type"] not in CATEGORY_TYPES[a["category"]]:
                fail("%s: (%r, %r) is not a valid MISP category/type pair" % (where, a["category"], a["type"]))
            if not isinstance(a["to_ids"], bool) or not str(a["timestamp"]).isdigit():
                fail("%s: to_ids must be a boolean and timestamp a unix time" % where)
            if not isinstance(a["value"], str) or not value_ok(a["type"], a["value"]):
                fail("%s: value %r does not fit type %s" % (where, a["value"], a["type"]))
            if not UUID_RE.match(a["uuid"]) or a["uuid"] in attr_uuids:
                fail("%s: uuid %r is not a UUID or not unique" % (where, a["uuid"]))
            attr_uuids.add(a["uuid"])
            for p in parts(a["type"], a["value"]):
                want_hashes.append("%s,%s" % (hashlib.md5(p.encode("utf-8")).hexdigest(), uuid))
    if sorted(csv_lines) != sorted(want_hashes):
        extra = sorted(set(csv_lines) - set(want_hashes))
        missing = sorted(set(want_hashes) - set(csv_lines))
        fail("hashes.csv inconsistent: %d lines, want %d; extra %s missing %s" %
             (len(csv_lines), len(want_hashes), extra[:3], missing[:3]))
    print("misp_check: %s: %d events, %d attributes, hashes.csv consistent" % (d, len(manifest), len(attr_uuids)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
