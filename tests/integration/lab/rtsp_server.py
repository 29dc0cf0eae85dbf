#!/usr/bin/python3
"""Lab RTSP camera: GStreamer's gst-rtsp-server (a real RTSP server library we did not write).

Serves one live MJPEG test stream at rtsp://ADDR:PORT/PATH, optionally behind RTSP Basic or Digest
authentication. Used by tests/integration/lab.sh inside the lab's device namespace only.

    rtsp_server.py --addr 10.77.1.51 --port 554 --auth basic --user admin --password-file FILE

The password is read from a file (never from argv, which `ps` shows). Runs until SIGTERM/SIGINT.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PIPELINE = "( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,height=240,framerate=5/1 " \
           "! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
ROLE = "user"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=554)
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--auth", choices=("none", "basic", "digest"), default="none")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password-file")
    ap.add_argument("--realm", default="IP Camera")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.addr)
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE)
    factory.set_shared(True)

    if args.auth != "none":
        if not args.password_file:
            ap.error("--password-file is required with --auth")
        with open(args.password_file, encoding="utf-8") as f:
            password = f.read().strip("\n")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        if args.auth == "basic":
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        else:
            auth.add_digest(args.user, password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.set_realm(args.realm)
        server.set_auth(auth)
        role = Gst.Structure.new_from_string(
            "%s, media.factory.access=(boolean)true, media.factory.construct=(boolean)true" % ROLE)
        factory.add_role_from_structure(role)

    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print("rtsp_server: cannot listen on %s:%d" % (args.addr, args.port), file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("rtsp_server: listening on rtsp://%s:%d%s auth=%s" % (args.addr, args.port, args.path, args.auth),
          flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
