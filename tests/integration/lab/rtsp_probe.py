#!/usr/bin/python3
"""Independent RTSP check for the lab: GStreamer's rtspsrc client (DESCRIBE, SETUP, PLAY over TCP).

    rtsp_probe.py URL [--user U --password-file F] [--timeout S]

Prints one word and exits with its code:
  media 0         the first RTP buffer of the stream arrived (access granted)
  unauthorized 3  the server answered 401 (rtspsrc reports "Unauthorized")
  error 4         anything else (connection refused, timeout, bad answer)

curl cannot send DESCRIBE from its command line (it always sends OPTIONS for rtsp://), so verify
uses this client, which goes all the way to media; rtspsrc retries Basic and Digest by itself.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--user")
    ap.add_argument("--password-file")
    ap.add_argument("--password")
    ap.add_argument("--timeout", type=float, default=6.0)
    args = ap.parse_args()

    Gst.init(None)
    pipe = Gst.parse_launch("rtspsrc name=src protocols=tcp latency=0 ! fakesink name=sink signal-handoffs=true")
    src = pipe.get_by_name("src")
    src.set_property("location", args.url)
    src.set_property("timeout", int(args.timeout * 1e6))
    src.set_property("tcp-timeout", int(args.timeout * 1e6))
    if args.user is not None:
        pw = args.password or ""
        if args.password_file:
            with open(args.password_file, encoding="utf-8") as f:
                pw = f.read().strip("\n")
        src.set_property("user-id", args.user)
        src.set_property("user-pw", pw)

    got = {"media": False}

    def on_handoff(_sink, _buf, _pad):
        got["media"] = True

    pipe.get_by_name("sink").connect("handoff", on_handoff)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    result, code = "error", 4
    deadline_ns = int(args.timeout * Gst.SECOND)
    waited = 0
    step = int(0.05 * Gst.SECOND)
    while waited < deadline_ns:
        if got["media"]:
            result, code = "media", 0
            break
        msg = bus.timed_pop_filtered(step, Gst.MessageType.ERROR)
        waited += step
        if msg is not None:
            err, dbg = msg.parse_error()
            text = "%s %s" % (err.message, dbg or "")
            if "Unauthorized" in text or "401" in text:
                result, code = "unauthorized", 3
            else:
                result, code = "error", 4
                print(text, file=sys.stderr)
            break
    pipe.set_state(Gst.State.NULL)
    print(result)
    return code


if __name__ == "__main__":
    sys.exit(main())
