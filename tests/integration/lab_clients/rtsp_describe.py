#!/usr/bin/env python3
"""RTSP DESCRIBE with libcurl (the library behind the curl tool, whose command line can only
send OPTIONS for rtsp:// URLs), loaded with ctypes so no Python binding is needed.

    rtsp_describe.py URL [basic|digest USER PASS]

Prints "<status> <bytes of SDP>" and, on a 200, the SDP. libcurl answers a 401 challenge itself
(Basic, or Digest with the server's nonce), as a real RTSP client does. Loopback only.
"""
import ctypes
import ctypes.util
import sys

CURLOPT_URL = 10002
CURLOPT_USERPWD = 10005
CURLOPT_TIMEOUT = 13
CURLOPT_HTTPAUTH = 107
CURLOPT_RTSP_REQUEST = 189
CURLOPT_RTSP_STREAM_URI = 10191
CURLOPT_WRITEFUNCTION = 20011
CURLOPT_NOSIGNAL = 99
CURL_RTSPREQ_DESCRIBE = 2
CURLAUTH_BASIC = 1
CURLAUTH_DIGEST = 2
CURLINFO_RESPONSE_CODE = 0x200002

WRITEFUNC = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p)


def main():
    url = sys.argv[1].encode()
    lib = ctypes.CDLL(ctypes.util.find_library("curl") or "libcurl.so.4")
    lib.curl_easy_init.restype = ctypes.c_void_p
    lib.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.curl_easy_perform.argtypes = [ctypes.c_void_p]
    lib.curl_easy_getinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.curl_easy_cleanup.argtypes = [ctypes.c_void_p]
    lib.curl_easy_strerror.restype = ctypes.c_char_p
    h = lib.curl_easy_init()
    body = bytearray()

    def on_data(ptr, size, n, _):
        body.extend(ctypes.string_at(ptr, size * n))
        return size * n
    cb = WRITEFUNC(on_data)

    def opt_long(o, v):
        return lib.curl_easy_setopt(h, o, ctypes.c_void_p(v))

    url_c = ctypes.c_char_p(url)
    lib.curl_easy_setopt(h, CURLOPT_URL, url_c)
    lib.curl_easy_setopt(h, CURLOPT_RTSP_STREAM_URI, url_c)
    opt_long(CURLOPT_RTSP_REQUEST, CURL_RTSPREQ_DESCRIBE)
    opt_long(CURLOPT_TIMEOUT, 5)
    opt_long(CURLOPT_NOSIGNAL, 1)
    lib.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctypes.cast(cb, ctypes.c_void_p))
    userpwd = None
    if len(sys.argv) >= 5:
        opt_long(CURLOPT_HTTPAUTH, CURLAUTH_DIGEST if sys.argv[2] == "digest" else CURLAUTH_BASIC)
        userpwd = ctypes.c_char_p(("%s:%s" % (sys.argv[3], sys.argv[4])).encode())
        lib.curl_easy_setopt(h, CURLOPT_USERPWD, userpwd)
    rc = lib.curl_easy_perform(h)
    code = ctypes.c_long(0)
    lib.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ctypes.byref(code))
    lib.curl_easy_cleanup(h)
    if rc != 0 and code.value == 0:
        print("000 0 %s" % lib.curl_easy_strerror(rc).decode())
        sys.exit(2)
    print("%d %d" % (code.value, len(body)))
    if code.value == 200:
        sys.stdout.write(body.decode("latin-1"))


if __name__ == "__main__":
    main()
