#!/usr/bin/env python3
"""Scripted telnet dialogues against one emulated device, with Python's telnetlib (a real telnet
client: it answers the device's option negotiation as a terminal client would).

    telnet_client.py login ADDR PORT USER PASS        the pair gives a shell; `echo hi` prints hi
    telnet_client.py wrong ADDR PORT USER PASS FAIL   the pair is refused with the FAIL message
                                                       and the login prompt comes back
    telnet_client.py open ADDR PORT                   a shell at once, no login; `echo hi` works

Exit 0 when the device behaved so, 1 otherwise (the transcript goes to stderr). Loopback only.
"""
import re
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import telnetlib

TIMEOUT = 5
# A shell prompt as busybox devices print it: ends in # or $ (then a blank).
PROMPT = re.compile(rb"[#$>] ?$")
LOGIN = re.compile(rb"(ogin|sername|user|account)[^\n]*: ?$", re.I)
PASSWORD = re.compile(rb"assword: ?$", re.I)


def fail(msg, transcript):
    sys.stderr.write("%s\n--- transcript ---\n%r\n" % (msg, bytes(transcript)))
    sys.exit(1)


def expect(t, pats, transcript):
    i, _, data = t.expect(pats, TIMEOUT)
    transcript.extend(data)
    return i


def check_echo(t, transcript):
    t.write(b"echo hi\r\n")
    data = t.read_until(b"\r\nhi\r\n", TIMEOUT)
    # The command is echoed ("echo hi\r\n"), then its output "hi\r\n".
    transcript.extend(data)
    if not data.endswith(b"\nhi\r\n"):
        fail("echo hi did not print hi", transcript)
    if expect(t, [PROMPT], transcript) != 0:
        fail("no prompt after echo hi", transcript)


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    transcript = bytearray()
    t = telnetlib.Telnet(addr, port, TIMEOUT)
    try:
        if mode == "open":
            if expect(t, [PROMPT], transcript) != 0:
                fail("no shell prompt without login", transcript)
            check_echo(t, transcript)
        elif mode in ("login", "wrong"):
            user, pw = sys.argv[4], sys.argv[5]
            if expect(t, [LOGIN], transcript) != 0:
                fail("no login prompt", transcript)
            t.write(user.encode() + b"\r\n")
            if expect(t, [PASSWORD], transcript) != 0:
                fail("no password prompt", transcript)
            t.write(pw.encode() + b"\r\n")
            if mode == "login":
                if expect(t, [PROMPT, LOGIN], transcript) != 0:
                    fail("the pair did not give a shell", transcript)
                check_echo(t, transcript)
            else:
                failmsg = sys.argv[6].encode()
                data = t.read_until(failmsg, TIMEOUT)
                transcript.extend(data)
                if not data.endswith(failmsg):
                    fail("no failure message %r" % failmsg, transcript)
                if expect(t, [LOGIN], transcript) != 0:
                    fail("no login prompt after the failure", transcript)
        else:
            sys.exit("unknown mode " + mode)
    except (EOFError, OSError) as e:
        fail("connection: %s" % e, transcript)
    finally:
        t.close()


if __name__ == "__main__":
    main()
