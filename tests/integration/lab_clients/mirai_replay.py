#!/usr/bin/env python3
"""Replay the released Mirai's telnet dialogue (bot scanner, then loader) against one emulated
device over a real TCP connection, and check that every reply the bot and loader wait for arrives.

    mirai_replay.py SEQUENCES.tsv ADDR PORT USER PASS

SEQUENCES.tsv is tests/data/mirai/mirai_telnet_sequences.tsv (rows: component, step, state, send,
expect). Placeholders are filled as tests/unit/test_shell.c does; the C&C address given to wget
and tftp is 127.0.0.1 (the emulated shell only records downloads, and even if it did not, loopback
is the only address a test may name). Option negotiation is answered as the bot's
consume_iacs() does: DO NAWS -> WILL NAWS + SB NAWS 80x24; DO x -> WONT x; WILL x -> DO x.

Prints one line per step ("ok"/"FAIL") and exits 1 if any expected reply did not arrive.
"""
import re
import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NAWS = 31
CNC = "127.0.0.1"
STEP_TIMEOUT = 5.0
QUIET = 0.15  # no more bytes for this long after a prompt = the command's output is complete
PROMPT_END = re.compile(rb"[:>$#%] *$")


class Conn:
    def __init__(self, addr, port):
        self.s = socket.create_connection((addr, port), timeout=STEP_TIMEOUT)
        self.buf = bytearray()
        self.pending = bytearray()

    def _feed(self, data):
        """Strip telnet commands from data into self.buf, answering them like the bot."""
        data = self.pending + data
        self.pending = bytearray()
        i = 0
        while i < len(data):
            b = data[i]
            if b != IAC:
                self.buf.append(b)
                i += 1
                continue
            if i + 1 >= len(data):
                self.pending = data[i:]
                break
            cmd = data[i + 1]
            if cmd == IAC:
                self.buf.append(IAC)
                i += 2
                continue
            if cmd in (DO, DONT, WILL, WONT):
                if i + 2 >= len(data):
                    self.pending = data[i:]
                    break
                opt = data[i + 2]
                if cmd == DO and opt == NAWS:
                    self.s.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
                elif cmd == DO:
                    self.s.sendall(bytes([IAC, WONT, opt]))
                elif cmd == WILL:
                    self.s.sendall(bytes([IAC, DO, opt]))
                i += 3
                continue
            if cmd == SB:
                end = data.find(bytes([IAC, SE]), i)
                if end < 0:
                    self.pending = data[i:]
                    break
                i = end + 2
                continue
            i += 2

    def read_until(self, pred, timeout=STEP_TIMEOUT):
        """Read until pred(buf) holds; return (ok, everything read since the last call)."""
        deadline = time.monotonic() + timeout
        while not pred(bytes(self.buf)):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            self._feed(bytearray(d))
        out = bytes(self.buf)
        ok = pred(out)
        self.buf = bytearray()
        return ok, out

    def settle(self, want=None):
        """Read a command's output: until `want` (if given) has arrived and the output ends in a
        prompt; without `want`, until a prompt and then QUIET seconds without more bytes."""
        got = bytearray()
        done = lambda b: (want is None or want in b) and bool(PROMPT_END.search(b))
        ok, d = self.read_until(done)
        got += d
        if ok and want is None:
            while True:
                _, d = self.read_until(lambda b: False, timeout=QUIET)
                if not d:
                    break
                got += d
        return bytes(got)

    def send(self, line):
        self.s.sendall(line.encode("latin-1") + b"\r\n")


def load_rows(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#") or line.startswith("component\t"):
            continue
        cols = line.split("\t")
        cols += [""] * (5 - len(cols))
        rows.append(dict(component=cols[0], step=cols[1], state=cols[2], send=cols[3], expect=cols[4]))
    return rows


def fill(tmpl, vals):
    vals = list(vals)
    out = []
    i = 0
    while i < len(tmpl):
        if tmpl.startswith("%s", i):
            out.append(vals.pop(0) if vals else "")
            i += 2
        elif tmpl.startswith("%d", i):
            out.append("80")
            i += 2
        else:
            out.append(tmpl[i])
            i += 1
    return "".join(out)


def applet_reply(send):
    """The reply the loader waits for: "TOKEN: applet not found" for the last
    `/bin/busybox TOKEN` (ECCHI, IHCCE, MIRAI) of the line."""
    m = re.findall(r"/bin/busybox ([A-Z]+)\b", send)
    return (m[-1] + ": applet not found").encode() if m else None


def main():
    tsv, addr, port, user, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    rows = load_rows(tsv)
    fails = 0
    ran = 0

    def report(ok, what, data=b""):
        nonlocal fails
        print("  %s mirai %s" % ("ok  " if ok else "FAIL", what))
        if not ok:
            fails += 1
            sys.stdout.write("       got: %r\n" % data[-600:])

    def login(c, who):
        ok, d = c.read_until(lambda b: b"ogin" in b or b"enter" in b or bool(PROMPT_END.search(b)))
        report(ok and len(d) > 0, "%s: login prompt after negotiation" % who, d)
        c.send(user)
        ok, d = c.read_until(lambda b: b"assword" in b)
        report(ok, "%s: password prompt" % who, d)
        c.send(pw)

    # The bot's scanner: log in, then enable/system/shell/sh, each answered by a prompt, then
    # /bin/busybox MIRAI must answer "MIRAI: applet not found" (the bot's success test).
    c = Conn(addr, port)
    bot = [r for r in rows if r["component"] == "bot"]
    login(c, "bot")
    for r in bot:
        if r["send"].startswith("(") or r["send"].startswith("<"):
            continue
        c.send(r["send"])
        ran += 1
        want = applet_reply(r["send"])
        d = c.settle(want)
        if want:
            report(want in d and b"ncorrect" not in d, "bot %s %r -> %r" % (r["step"], r["send"], want.decode()), d)
        else:
            report(bool(PROMPT_END.search(d)) and b"ncorrect" not in d,
                   "bot %s %r -> a prompt" % (r["step"], r["send"]), d)
    c.s.close()

    # The loader on a fresh connection, as the real loader does.
    c = Conn(addr, port)
    login(c, "loader")
    writable = ""
    mounts = []
    for r in [r for r in rows if r["component"] == "loader"]:
        step, send = r["step"], r["send"]
        if "(username)" in send or "(password)" in send:
            continue
        if step == "22":
            c.send("\x03\x1akill %1")
            c.send("rm -rf dvrHelper upnp")
            d = c.settle()
            report(bool(PROMPT_END.search(d)), "loader 22 give-up: the shell stays usable", d)
            ran += 1
            continue
        if step == "9":
            for m in mounts:
                line = fill(send, [m, m, m, m])
                c.send(line)
                d = c.settle()
                if (b"kami" + m.encode() + b"\r\n") in d and not writable:
                    writable = m
            report(bool(writable), "loader 9 a writable mount echoes kami back (%s)" % (writable or "none"))
            ran += 1
            continue
        vals = []
        if step in ("12", "13"):
            vals = [writable] * 3
        elif step == "19a":
            vals = [CNC, "mirai", "arm7"]
        elif step == "19b":
            vals = ["dvrHelper", "mirai", "arm7", CNC]
        elif step.startswith("20"):
            vals = ["mirai", "arm7"]
        line = fill(send, vals)
        want = applet_reply(line)
        c.send(line)
        ran += 1
        d = c.settle(want)
        ok = bool(PROMPT_END.search(d)) and b"ncorrect" not in d
        what = "loader %s %r" % (step, line[:60])
        if want:
            ok = ok and want in d
            what += " -> %r" % want.decode()
        if step == "8":
            for ln in d.split(b"\n"):
                f = ln.split()
                if len(f) >= 4 and f[3].startswith(b"rw"):
                    mounts.append(f[1].decode("latin-1"))
            ok = ok and len(mounts) > 0
            what += " (rw mounts: %s)" % " ".join(mounts)
        if step == "15":
            # The loader reads the architecture from the ELF header of /bin/echo.
            ok = ok and b"\x7fELF" in d
            what += " -> an ELF header"
        if step == "18":
            ok = ok and b"ECCHI: applet not found" in d
            what += " -> wget/tftp present, ECCHI"
        if step.startswith("20"):
            # Nothing runs on the device: the bot never reports itself started.
            ok = ok and b"listening tun0" not in d
        report(ok, what, d)
        if step == "19c":
            # The echo upload the expect column describes: the dropper as \\xHH lines, > then >>.
            dropper = bytes((i * 7 + 3) & 0xFF for i in range(300))
            good = True
            for off in range(0, len(dropper), 128):
                hexs = "".join("\\x%02x" % b for b in dropper[off:off + 128])
                c.send("/bin/busybox echo -ne '%s' %s upnp; /bin/busybox ECCHI" % (hexs, ">" if off == 0 else ">>"))
                d = c.settle(b"ECCHI: applet not found")
                good = good and b"ECCHI: applet not found" in d
            c.send("/bin/busybox wc -c upnp; /bin/busybox ECCHI")
            d = c.settle(b"ECCHI: applet not found")
            report(good, "loader 19c echo upload of a 300-byte dropper", d)
    c.s.close()
    report(ran >= 22, "replayed %d scanner and loader commands" % ran)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
