#!/usr/bin/python3
"""Minimal TCP super-server (like busybox tcpsvd / inetd, which Debian's busybox-static lacks).

    tcpsvd.py --addr 10.77.1.10 --port 23 [--max 64] -- /bin/busybox telnetd -i -l /path/to/login

Listens on ADDR:PORT and runs CMD once per connection with the socket as stdin, stdout and stderr
(inetd "nowait" style). Used by the lab for busybox telnetd in inetd mode (-i): standalone busybox
telnetd (1.35, static glibc) updates utmp from its SIGCHLD handler and can deadlock forever under
concurrent sessions, killing the device for the rest of the run; one telnetd per connection keeps
a rare deadlock to that one connection. Also gives a real listen backlog (busybox uses 1).
"""
import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time

# Concurrent sessions per device; more are closed at once, as tcpsvd -c does. Well above what any
# scanner in the lab opens per host, small enough that a runaway client cannot fork-bomb the machine.
MAX_CHILDREN = 64
# Per-session time limit (busybox login itself gives up after 60 s).
SESSION_LIMIT_S = 120


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max", type=int, default=MAX_CHILDREN)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        ap.error("no command")

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(128)
    children = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("tcpsvd: %s:%d -> %s" % (args.addr, args.port, " ".join(cmd)), file=sys.stderr, flush=True)
    while not stop:
        try:
            ready, _, _ = select.select([srv], [], [], 1.0)
        except InterruptedError:
            continue
        now = time.monotonic()
        for pid in list(children):
            p, started = children[pid]
            if p.poll() is not None:
                del children[pid]
            elif now - started > SESSION_LIMIT_S:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        if not ready:
            continue
        try:
            conn, peer = srv.accept()
        except OSError:
            continue
        if len(children) >= args.max:
            conn.close()
            continue
        try:
            p = subprocess.Popen(cmd, stdin=conn, stdout=conn, stderr=conn, close_fds=True,
                                 start_new_session=True)
            children[p.pid] = (p, time.monotonic())
            print("tcpsvd: %s:%d pid %d" % (peer[0], peer[1], p.pid), file=sys.stderr, flush=True)
        except OSError as e:
            print("tcpsvd: cannot start: %s" % e, file=sys.stderr, flush=True)
        conn.close()
    srv.close()
    for p, _started in children.values():
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
