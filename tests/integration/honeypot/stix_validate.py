#!/usr/bin/env python3
"""Validate a STIX 2.1 bundle against the official OASIS JSON schemas, offline.

usage: stix_validate.py BUNDLE.json [--schemas DIR]

DIR defaults to tests/data/stix-schemas (a copy of cti-stix2-json-schemas/schemas). Every schema file
is loaded into a local registry under its $id, so no $ref is ever fetched from the network. The bundle
is checked against common/bundle.json, then every object against the schema of its type (sdos/,
sros/, observables/, common/ for marking-definition etc.). Formats are checked too ("uri" with
rfc3987 when installed, else with an RFC 3986 character check). Besides the schemas, a few MUSTs of
the specification that JSON Schema cannot express: ids unique, every *_ref/*_refs points to an object
in the bundle (or a marking definition), SDO/SRO spec_version "2.1".

Exit 0 if valid; else prints the first error and exits 1 (2 on usage or I/O errors).
Works with python3-jsonschema 4.10 (Debian 12, RefResolver) and newer (referencing).
"""
import json
import os
import re
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMAS = os.path.normpath(os.path.join(HERE, "..", "..", "data", "stix-schemas"))

# RFC 3986: scheme ":" then only unreserved / reserved / pct-encoded characters.
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def fail(msg, code=1):
    print("stix_validate: " + msg)
    sys.exit(code)


def load_schemas(root):
    by_id, by_rel = {}, {}
    for d in sorted(os.listdir(root)):
        sub = os.path.join(root, d)
        if not os.path.isdir(sub):
            continue
        for f in sorted(os.listdir(sub)):
            if not f.endswith(".json"):
                continue
            with open(os.path.join(sub, f), encoding="utf-8") as fh:
                schema = json.load(fh)
            by_id[schema["$id"]] = schema
            by_rel[d + "/" + f] = schema
    if "common/bundle.json" not in by_rel:
        fail("no common/bundle.json under " + root, 2)
    return by_id, by_rel


def format_checker():
    fc = jsonschema.FormatChecker()
    try:
        import rfc3987  # noqa: F401  (jsonschema uses it for "uri" when present)
        has_rfc3987 = "uri" in fc.checkers
    except ImportError:
        has_rfc3987 = False
    if not has_rfc3987:
        @fc.checks("uri")
        def _uri(value):
            return not isinstance(value, str) or bool(_URI_RE.match(value))
    return fc


def make_validator(schema, by_id):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    fc = format_checker()
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
        def retrieve_nothing(uri):
            raise KeyError("not in the local schema store: " + uri)
        registry = Registry(retrieve=retrieve_nothing).with_resources(
            [(sid, Resource.from_contents(s, default_specification=DRAFT202012)) for sid, s in by_id.items()])
        return cls(schema, registry=registry, format_checker=fc)
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(schema, store=dict(by_id))

        def no_remote(uri):
            raise jsonschema.exceptions.RefResolutionError("not in the local schema store: " + uri)
        resolver.resolve_remote = no_remote
        return cls(schema, resolver=resolver, format_checker=fc)


def first_error(validator, instance):
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    e = errors[0]
    # anyOf/oneOf errors: show the deepest cause, which names the failing property.
    while e.context:
        e = sorted(e.context, key=lambda c: -len(c.absolute_path))[0]
    path = "/".join(str(p) for p in e.absolute_path)
    return "%s (at %s)" % (e.message, path or "top")


SCHEMA_DIRS = ("sdos", "sros", "observables", "common")


def check_refs(objects, ids):
    for o in objects:
        for k, v in o.items():
            refs = v if k.endswith("_refs") and isinstance(v, list) else [v] if k.endswith("_ref") else []
            for r in refs:
                if isinstance(r, str) and r not in ids and not r.startswith("marking-definition--"):
                    return "%s: %s points to %s, which is not in the bundle" % (o.get("id"), k, r)
    return None


def main(argv):
    args = argv[1:]
    schemas = DEFAULT_SCHEMAS
    if "--schemas" in args:
        i = args.index("--schemas")
        if i + 1 >= len(args):
            fail("--schemas needs a directory", 2)
        schemas = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        fail("usage: stix_validate.py BUNDLE.json [--schemas DIR]", 2)
    try:
        with open(args[0], encoding="utf-8") as fh:
            bundle = json.load(fh)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (args[0], e), 2)
    by_id, by_rel = load_schemas(schemas)

    if not isinstance(bundle, dict) or not isinstance(bundle.get("objects"), list):
        fail("not a bundle: no \"objects\" array")
    objects = bundle["objects"]
    validators = {}
    ids = set()
    for n, o in enumerate(objects):
        if not isinstance(o, dict):
            fail("object %d: not a JSON object" % n)
        t = o.get("type")
        oid = o.get("id")
        if oid in ids:
            fail("object %d: duplicate id %s" % (n, oid))
        ids.add(oid)
        rel = next((d + "/" + t + ".json" for d in SCHEMA_DIRS if d + "/" + t + ".json" in by_rel), None)
        if rel is None:
            fail("object %d (%s): no schema for type %r" % (n, oid, t))
        if rel not in validators:
            validators[rel] = make_validator(by_rel[rel], by_id)
        err = first_error(validators[rel], o)
        if err:
            fail("object %d (%s, %s): %s" % (n, oid, rel, err))
        if not rel.startswith("observables/") and o.get("spec_version") != "2.1":
            fail("object %d (%s): spec_version is %r, not \"2.1\"" % (n, oid, o.get("spec_version")))
    # The bundle as a whole last: its anyOf over every type gives poor messages for a bad object,
    # which the per-type checks above have already reported.
    err = first_error(make_validator(by_rel["common/bundle.json"], by_id), bundle)
    if err:
        fail("bundle: " + err)
    err = check_refs(objects, ids)
    if err:
        fail(err)
    print("stix_validate: %s: valid STIX 2.1 bundle, %d objects" % (args[0], len(objects)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
