#!/usr/bin/env python3
"""Hostile and broken 'devices' on loopback for the survey's robustness test.

Each listener misbehaves in one way a real tarpit, broken firmware or honeypot does. The survey
must finish in bounded time, never crash, never report a credential or an open interface here
(none of these accepts anything), and keep its memory bounded.
Usage: servers.py ADDR  (listens on ADDR ports 2301..2312, prints READY, runs until killed)
"""
import asyncio
import os
import sys

ADDR = sys.argv[1]
IAC, DO, WILL, SB, SE = 255, 253, 251, 250, 240


async def flood_hash(r, w):
    # A banner full of '#' and '$' (never a shell): 4 MiB, then silence.
    for _ in range(256):
        w.write(b"#$ " * 5000 + b"\r\n")
        await w.drain()
    await asyncio.sleep(30)


async def tarpit(r, w):
    # Accepts and never says a word.
    await asyncio.sleep(60)


async def random_bytes(r, w):
    w.write(os.urandom(65536))
    await w.drain()
    await asyncio.sleep(30)


async def password_forever(r, w):
    # Asks for a password, refuses everything, forever, one byte at a time (slow loris).
    w.write(bytes([IAC, WILL, 1, IAC, WILL, 3]))
    while True:
        for ch in b"\r\nPassword: ":
            w.write(bytes([ch]))
            await w.drain()
            await asyncio.sleep(0.01)
        try:
            await asyncio.wait_for(r.readline(), 10)
        except asyncio.TimeoutError:
            return
        w.write(b"\r\nLogin incorrect\r\n")


async def sb_bomb(r, w):
    # A subnegotiation that never ends.
    w.write(bytes([IAC, SB, 24]) + b"A" * (1 << 20))
    await w.drain()
    await asyncio.sleep(30)


async def http_header_bomb(r, w):
    await r.read(1024)
    w.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(100000):
        w.write(b"X-Junk-%d: %s\r\n" % (i, b"y" * 100))
        if i % 1000 == 0:
            await w.drain()
    await asyncio.sleep(30)


async def http_401_no_challenge(r, w):
    # 401 without WWW-Authenticate, then the same for every request, keep-alive.
    while True:
        data = await r.read(4096)
        if not data:
            return
        w.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        await w.drain()


async def http_200_for_any_auth(r, w):
    # Broken camera: 401 with Basic to a request without Authorization, but 401 again for
    # every credential: must end as "pass"/"unknown", never a finding.
    while True:
        data = await r.read(4096)
        if not data:
            return
        w.write(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\n'
                b"Content-Length: 0\r\n\r\n")
        await w.drain()


async def mqtt_garbage(r, w):
    await r.read(1024)
    w.write(b"\x20\xff\xff\xff\xff\x7f")  # CONNACK with an impossible length
    await w.drain()
    await asyncio.sleep(30)


async def rtsp_loop(r, w):
    # 302 to itself, forever.
    while True:
        data = await r.read(4096)
        if not data:
            return
        w.write(b"RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n")
        await w.drain()


async def ftp_multiline_forever(r, w):
    w.write(b"220-welcome\r\n")
    for _ in range(10000):
        w.write(b"220-more\r\n")
        await w.drain()
    await asyncio.sleep(30)


async def shell_no_echo(r, w):
    # A prompt that looks like a shell but answers nothing: no proof, so no finding.
    w.write(b"\r\n# ")
    await w.drain()
    while True:
        line = await r.readline()
        if not line:
            return
        w.write(b"\r\n")
        await w.drain()


HANDLERS = [flood_hash, tarpit, random_bytes, password_forever, sb_bomb, http_header_bomb,
            http_401_no_challenge, http_200_for_any_auth, mqtt_garbage, rtsp_loop,
            ftp_multiline_forever, shell_no_echo]


async def main():
    servers = []
    for i, h in enumerate(HANDLERS):
        async def wrap(r, w, h=h):
            try:
                await h(r, w)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()
        servers.append(await asyncio.start_server(wrap, ADDR, 2301 + i))
    print("READY", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
