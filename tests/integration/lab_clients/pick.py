#!/usr/bin/env python3
"""Pick the devices each real-client check of test_lab_clients.sh needs from a `toride lab`
truth file (and the profiles it names), and print them as shell assignments.

    pick.py TRUTH.json PROFILES_DIR  ->  NAME=value lines for `eval`

Every pick is made from the truth (policy, protocol, auth kind, login pair), never from fixed
addresses, so the test follows the fleet when profiles are added or reordered. A pick that the
fleet cannot supply is printed empty; the test reports that check as FAIL.
"""
import json
import os
import shlex
import sys


def main():
    truth = json.load(open(sys.argv[1]))
    pdir = sys.argv[2]
    profiles = {}
    for d in truth["devices"]:
        pid = d["profile"]
        if pid not in profiles:
            with open(os.path.join(pdir, pid + ".json")) as f:
                profiles[pid] = json.load(f)
    out = {}

    def svc(d, proto):
        for s in d["services"]:
            if s["proto"] == proto:
                return s
        return None

    def psvc(d, proto):
        for s in profiles[d["profile"]]["services"]:
            if s["proto"] == proto:
                return s
        return None

    def first(pred):
        for d in truth["devices"]:
            try:
                if pred(d):
                    return d
            except (KeyError, TypeError):
                continue
        return None

    def put(prefix, d, proto, extra=None):
        if d is None:
            out[prefix] = ""
            return
        s = svc(d, proto)
        out[prefix] = d["addr"]
        out[prefix + "_PORT"] = str(s["port"])
        out[prefix + "_PROFILE"] = d["profile"]
        login = s.get("login") or {}
        out[prefix + "_USER"] = login.get("user", "")
        out[prefix + "_PASS"] = login.get("password", "")
        for k, v in (extra or {}).items():
            out[prefix + "_" + k] = v

    fd = lambda d: d["policy"] == "factory-default"
    uq = lambda d: d["policy"] == "unique"
    na = lambda d: d["policy"] == "no-auth"
    ko = lambda d: d["policy"] == "key-only"

    # telnet: a factory-default busybox device whose pair is in Mirai's table (the Mirai replay
    # needs busybox), a unique one, and a device that gives a shell without login.
    tw = first(lambda d: fd(d) and svc(d, "telnet") and profiles[d["profile"]].get("busybox")
               and profiles[d["profile"]].get("default_in_mirai") and svc(d, "telnet")["login"]["password"])
    put("TN_WEAK", tw, "telnet", {"PROMPT": psvc(tw, "telnet").get("login_prompt", "") if tw else "",
                                  "FAIL": (psvc(tw, "telnet").get("fail_message") or "Login incorrect").strip()
                                  if tw else ""})
    put("TN_UNIQUE", first(lambda d: uq(d) and svc(d, "telnet")), "telnet")
    put("TN_OPEN", first(lambda d: na(d) and svc(d, "telnet") and svc(d, "telnet")["open"]
                         and profiles[d["profile"]].get("busybox")), "telnet")

    # ssh: factory-default with a password, unique, key-only.
    sw = first(lambda d: fd(d) and svc(d, "ssh") and svc(d, "ssh")["login"]["password"])
    put("SSH_WEAK", sw, "ssh")
    put("SSH_UNIQUE", first(lambda d: uq(d) and svc(d, "ssh")), "ssh")
    put("SSH_KEYONLY", first(lambda d: ko(d) and svc(d, "ssh")), "ssh")

    # http: Basic and Digest with a non-empty factory pair, a unique Basic device (hydra), an
    # open admin page (with its title), a form login.
    def http_pick(auth, pol):
        return first(lambda d: pol(d) and svc(d, "http") and svc(d, "http").get("http_auth") == auth
                     and (auth == "none" or svc(d, "http")["login"]["password"]))
    put("HTTP_BASIC", http_pick("basic", fd), "http")
    put("HTTP_DIGEST", http_pick("digest", fd), "http")
    put("HTTP_BASIC_UNIQUE", http_pick("basic", uq), "http")
    ho = first(lambda d: svc(d, "http") and svc(d, "http")["open"] and psvc(d, "http").get("title"))
    put("HTTP_OPEN", ho, "http", {"TITLE": psvc(ho, "http")["title"] if ho else ""})
    # The truth names no pair for form logins (the survey does not try forms); the device's
    # factory pair is the profile's.
    hf = first(lambda d: fd(d) and svc(d, "http") and svc(d, "http").get("http_auth") == "form"
               and profiles[d["profile"]].get("pass"))
    put("HTTP_FORM", hf, "http", {"USER": profiles[hf["profile"]]["user"] if hf else "",
                                  "PASS": profiles[hf["profile"]]["pass"] if hf else ""})

    # mqtt: anonymous broker, password broker.
    put("MQTT_ANON", first(lambda d: svc(d, "mqtt") and svc(d, "mqtt")["open"]), "mqtt")
    put("MQTT_AUTH", first(lambda d: svc(d, "mqtt") and not svc(d, "mqtt")["open"]
                           and svc(d, "mqtt")["login"]["password"]), "mqtt")

    # rtsp: open stream, Basic and Digest streams (route from the profile).
    def rtsp_pick(prefix, pred):
        d = first(lambda d: svc(d, "rtsp") and pred(d))
        put(prefix, d, "rtsp", {"ROUTE": psvc(d, "rtsp").get("route", "/") if d else ""})
    rtsp_pick("RTSP_OPEN", lambda d: svc(d, "rtsp")["open"])
    rtsp_pick("RTSP_BASIC", lambda d: fd(d) and svc(d, "rtsp").get("http_auth") == "basic"
              and svc(d, "rtsp")["login"]["password"])
    rtsp_pick("RTSP_DIGEST", lambda d: fd(d) and svc(d, "rtsp").get("http_auth") == "digest"
              and svc(d, "rtsp")["login"]["password"])

    # ftp: anonymous device, a device with a factory pair (anonymous refused there).
    put("FTP_ANON", first(lambda d: svc(d, "ftp") and svc(d, "ftp")["open"]), "ftp")
    put("FTP_AUTH", first(lambda d: fd(d) and svc(d, "ftp") and not svc(d, "ftp")["open"]
                          and svc(d, "ftp")["login"]["password"]), "ftp")

    for k in sorted(out):
        print("%s=%s" % (k, shlex.quote(out[k])))


if __name__ == "__main__":
    main()
