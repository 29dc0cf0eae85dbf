#!/usr/bin/env python3
"""A router-style restricted CLI on loopback: login + password, then a 'Router>' prompt that
answers every command with '% Unknown command' (it cannot echo). The survey must report the
accepted default credential with proof 'weak', and nothing for the second device, which prompts
like a shell after any password but closes at the first command (no proof at all).
Usage: restricted_cli.py ADDR (ports 2401 and 2402)"""
import asyncio
import sys

ADDR = sys.argv[1]


async def readline(r):
    line = await asyncio.wait_for(r.readline(), 20)
    return line.strip(b"\r\n\x00")


async def router(r, w):
    for _ in range(3):
        w.write(b"\r\nUser Access Verification\r\n\r\nUsername: ")
        await w.drain()
        user = await readline(r)
        w.write(b"Password: ")
        await w.drain()
        pw = await readline(r)
        if (user, pw) == (b"admin", b"admin"):
            w.write(b"\r\nRouter> ")
            await w.drain()
            while True:
                cmd = await readline(r)
                if cmd in (b"exit", b"quit", b"logout"):
                    return
                w.write(b"\r\n% Unknown command or computer name\r\nRouter> ")
                await w.drain()
        await asyncio.sleep(0.2)
        w.write(b"\r\n% Authentication failed\r\n")


async def fake(r, w):
    w.write(b"\r\nlogin: ")
    await w.drain()
    await readline(r)
    w.write(b"Password: ")
    await w.drain()
    await readline(r)
    w.write(b"\r\n# ")
    await w.drain()
    await readline(r)  # the marker command: no answer, just hang up


async def main():
    async def wrap(h):
        async def inner(r, w):
            try:
                await h(r, w)
            except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()
        return inner
    s1 = await asyncio.start_server(await wrap(router), ADDR, 2401)
    s2 = await asyncio.start_server(await wrap(fake), ADDR, 2402)
    print("READY", flush=True)
    await asyncio.gather(s1.serve_forever(), s2.serve_forever())


asyncio.run(main())
