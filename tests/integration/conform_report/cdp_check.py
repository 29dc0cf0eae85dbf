#!/usr/bin/env python3
"""Open a toride conform HTML report in headless Chromium and check it the way a reviewer would see it.

Talks the Chrome DevTools protocol over --remote-debugging-pipe (fd 3/4, NUL-separated JSON), so it
needs nothing but python3 and chromium. The page is our own file:// page; Chromium runs with a private
profile, background networking off and name resolution disabled.

Checks (each failure is printed; exit status 1 if any):
  - every expected requirement row is there with its verdict, and the overall verdict;
  - no broken layout: at a desktop width (1280 px) and at the printable width of A4 with the print
    stylesheet (703 px = 186 mm at 96 dpi), nothing is wider than the page: the document, body,
    tables, cells, <pre> blocks and sections have scrollWidth <= clientWidth and no box ends right of
    the viewport;
  - Japanese text is drawn with a CJK font: CSS.getPlatformFontsForNode on every Japanese title and
    reason of the summary names only CJK-capable fonts (no fallback font, no tofu);
  - the screenshot (PNG) is a real page: decoded here, it has the expected size, a share of
    non-white pixels and many distinct colours, and ink inside the box of a Japanese title.
Optionally saves the screenshot (--png FILE, the top --png-height pixels of the page at 1280 px).
"""
import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

TIMEOUT_S = 60          # the whole session: start, load, evaluate, screenshot
DESKTOP_W = 1280
A4_PRINT_W = 703        # 210 mm - 2 x 12 mm margins (the page's @page) at 96 px/inch
CJK_FONT_HINTS = ("CJK", " JP", "Hiragino", "Yu Gothic", "IPA", "Takao", "VL Gothic", "Droid Sans Fallback")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


class Cdp:
    def __init__(self, chromium):
        self.tmp = tempfile.mkdtemp(prefix="toride-cdp-")
        to_chrome_r, self.to_chrome_w = os.pipe()
        self.from_chrome_r, from_chrome_w = os.pipe()
        args = [chromium, "--headless=new", "--disable-gpu", "--remote-debugging-pipe",
                "--user-data-dir=" + os.path.join(self.tmp, "profile"), "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-default-apps", "--disable-breakpad",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=127.0.0.1:9", "about:blank"]
        if os.geteuid() == 0:
            # Chromium refuses to run its sandbox as root; the page is our own local file.
            args.insert(2, "--no-sandbox")

        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        # Make sure the pipe ends do not sit on 3/4 themselves before the dup2s.
        env = dict(os.environ, HOME=self.tmp, XDG_CONFIG_HOME=self.tmp, XDG_CACHE_HOME=self.tmp)
        self.log = open(os.path.join(self.tmp, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     preexec_fn=fds, close_fds=False, env=env, start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT_S

    def close(self):
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _read_message(self):
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            r, _, _ = select.select([self.from_chrome_r], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_chrome_r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe (see its log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method):
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message())


def png_decode(data):
    """(width, height, rows of RGB(A) bytes, bytes per pixel) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[p], bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


LAYOUT_JS = r"""
(() => {
  const de = document.documentElement, vw = de.clientWidth, bad = [];
  const name = el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '');
  if (de.scrollWidth > vw) bad.push('document ' + de.scrollWidth + ' > ' + vw);
  if (document.body.scrollWidth > document.body.clientWidth) bad.push('body ' + document.body.scrollWidth);
  for (const el of document.querySelectorAll('table, td, th, pre, section, header, div, p, dl, h1, h2, h3')) {
    if (el.scrollWidth > el.clientWidth + 1) bad.push(name(el) + ' scrollWidth ' + el.scrollWidth + ' > ' + el.clientWidth);
    const r = el.getBoundingClientRect();
    if (r.right > vw + 0.5) bad.push(name(el) + ' ends at ' + Math.round(r.right) + ' > ' + vw);
  }
  const rows = [...document.querySelectorAll('tr[data-requirement]')].map(r => [r.dataset.requirement, r.dataset.verdict]);
  const o = document.getElementById('overall');
  const ja = document.querySelector('tr[data-requirement] td div[lang=ja]');
  const jr = ja ? ja.getBoundingClientRect() : null;
  return {vw, nbad: bad.length, bad: bad.slice(0, 15), rows, overall: o ? o.dataset.verdict : null,
          height: de.scrollHeight, ja: jr ? [jr.x, jr.y + window.scrollY, jr.width, jr.height] : null,
          sections: document.querySelectorAll('section.check').length};
})()
"""


def evaluate(cdp, session, expr):
    r = cdp.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
    return r["result"]["value"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--expect", required=True, help='JSON: {"rows": {"JP-34-10-1": "pass", ...}, "overall": "fail"}')
    ap.add_argument("--png", help="save the screenshot here")
    ap.add_argument("--png-height", type=int, default=1800)
    a = ap.parse_args()
    expect = json.loads(a.expect)
    url = "file://" + os.path.abspath(a.html)

    cdp = Cdp(a.chromium)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        cdp.send("Page.enable", {}, s)
        results = {}
        for label, width, media in (("desktop", DESKTOP_W, "screen"), ("A4 print", A4_PRINT_W, "print")):
            cdp.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, s)
            cdp.send("Emulation.setEmulatedMedia", {"media": media}, s)
            cdp.send("Page.navigate", {"url": url}, s)
            cdp.wait_event("Page.loadEventFired")
            r = evaluate(cdp, s, LAYOUT_JS)
            results[label] = r
            if r["nbad"]:
                fail("%s layout (%d px): %d overflowing boxes, e.g. %s" % (label, r["vw"], r["nbad"], r["bad"]))
        r = results["A4 print"]
        rows = dict((k, v) for k, v in r["rows"])
        if len(rows) != len(r["rows"]):
            fail("a requirement row appears twice: %s" % r["rows"])
        for req, verdict in expect["rows"].items():
            if rows.get(req) != verdict:
                fail("row %s: expected %s, rendered %s" % (req, verdict, rows.get(req)))
        if r["overall"] != expect["overall"]:
            fail("overall verdict: expected %s, rendered %s" % (expect["overall"], r["overall"]))

        # Back to the desktop view for fonts and the screenshot.
        cdp.send("Emulation.setDeviceMetricsOverride",
                 {"width": DESKTOP_W, "height": 900, "deviceScaleFactor": 1, "mobile": False}, s)
        cdp.send("Emulation.setEmulatedMedia", {"media": "screen"}, s)
        cdp.send("Page.navigate", {"url": url}, s)
        cdp.wait_event("Page.loadEventFired")
        desk = evaluate(cdp, s, LAYOUT_JS)

        cdp.send("DOM.enable", {}, s)
        cdp.send("CSS.enable", {}, s)
        root = cdp.send("DOM.getDocument", {"depth": 1}, s)["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll",
                         {"nodeId": root, "selector": "tr[data-requirement] td div[lang=ja]"}, s)["nodeIds"]
        if not nodes:
            fail("no Japanese text in the summary table")
        used = {}
        for n in nodes:
            for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": n}, s)["fonts"]:
                used[f["familyName"]] = used.get(f["familyName"], 0) + f["glyphCount"]
        not_cjk = [f for f in used if not any(h in f for h in CJK_FONT_HINTS)]
        if not used or not_cjk:
            fail("Japanese text drawn with non-CJK fonts %s (all: %s); install fonts-noto-cjk" % (not_cjk, used))

        height = min(desk["height"], a.png_height)
        shot = cdp.send("Page.captureScreenshot",
                        {"format": "png", "captureBeyondViewport": True,
                         "clip": {"x": 0, "y": 0, "width": DESKTOP_W, "height": height, "scale": 1}}, s)
        png = base64.b64decode(shot["data"])
        w, h, pix, bpp = png_decode(png)
        if (w, h) != (DESKTOP_W, height):
            fail("screenshot is %dx%d, expected %dx%d" % (w, h, DESKTOP_W, height))
        ink, colours = 0, set()
        for y in range(0, h, 2):
            line = pix[y]
            for x in range(0, w * bpp, 2 * bpp):
                px = bytes(line[x:x + 3])
                colours.add(px)
                if sum(px) < 600:
                    ink += 1
        total = (h // 2 + h % 2) * ((w + 1) // 2)
        if ink < total * 0.02 or len(colours) < 50:
            fail("screenshot looks blank: %.1f%% ink, %d colours" % (100.0 * ink / total, len(colours)))
        jx, jy, jw, jh = [int(v) for v in desk["ja"]] if desk["ja"] else (0, 0, 0, 0)
        ja_ink = sum(1 for y in range(jy, min(jy + jh, h)) for x in range(jx, min(jx + jw, w))
                     if sum(pix[y][x * bpp:x * bpp + 3]) < 384)
        if jw * jh == 0 or ja_ink < jw * jh * 0.03:
            fail("no ink where the first Japanese title is (%d dark pixels in %dx%d)" % (ja_ink, jw, jh))
        if a.png:
            with open(a.png, "wb") as f:
                f.write(png)
        print(json.dumps({"rows": rows, "overall": r["overall"], "sections": desk["sections"],
                          "fonts": used, "png": [w, h, len(png)], "ink_pct": round(100.0 * ink / total, 1),
                          "colours": len(colours), "page_height": desk["height"]}, ensure_ascii=False))
    finally:
        cdp.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
