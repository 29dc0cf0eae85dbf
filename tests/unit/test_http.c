/*
 * HTTP/RTSP message parser and request builder: framing, streaming, tolerance of cheap devices,
 * hostile input, and real Server header values from rapid7/recog (tests/data/banners).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "proto/http.h"

static struct toride_http_msg *
msg_new(int is_response)
{
	struct toride_http_msg *m = NULL;
	assert_int_equal(toride_http_msg_new(&m, is_response), 0);
	return m;
}

static int
feed(struct toride_http_msg *m, const char *s, size_t *consumed)
{
	size_t c = 0;
	int r = toride_http_msg_parse(m, (const uint8_t *)s, strlen(s), consumed ? consumed : &c);
	return r;
}

static void
test_response_401_content_length(void **state)
{
	(void)state;
	const char *s = "HTTP/1.1 401 Unauthorized\r\n"
	                "Server: Hipcam RealServer/V1.0\r\n"
	                "WWW-Authenticate: Basic realm=\"IPCamera Login\"\r\n"
	                "Content-Length: 5\r\n"
	                "\r\n"
	                "hello";
	struct toride_http_msg *m = msg_new(1);
	size_t used;
	assert_int_equal(feed(m, s, &used), 0);
	assert_int_equal(used, strlen(s));
	assert_true(toride_http_msg_head_done(m));
	assert_int_equal(toride_http_msg_status(m), 401);
	assert_string_equal(toride_http_msg_protocol(m), "HTTP/1.1");
	assert_string_equal(toride_http_msg_reason(m), "Unauthorized");
	assert_false(toride_http_msg_is_rtsp(m));
	assert_string_equal(toride_http_msg_header(m, "www-authenticate", 0), "Basic realm=\"IPCamera Login\"");
	assert_string_equal(toride_http_msg_header(m, "SERVER", 0), "Hipcam RealServer/V1.0");
	assert_null(toride_http_msg_header(m, "Server", 1));
	assert_null(toride_http_msg_header(m, "Location", 0));
	assert_int_equal(toride_http_msg_header_count(m), 3);
	const char *n, *v;
	assert_int_equal(toride_http_msg_header_at(m, 2, &n, &v), 0);
	assert_string_equal(n, "Content-Length");
	assert_string_equal(v, "5");
	assert_int_equal(toride_http_msg_header_at(m, 3, &n, &v), TORIDE_ENOTFOUND);
	size_t blen;
	const uint8_t *b = toride_http_msg_body(m, &blen);
	assert_int_equal(blen, 5);
	assert_memory_equal(b, "hello", 5);
	assert_false(toride_http_msg_body_truncated(m));
	/* More calls after completion consume nothing. */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\n", &used), 0);
	assert_int_equal(used, 0);
	toride_http_msg_free(m);
}

/* Feeding one byte at a time must give the same message as one call. */
static void
test_byte_by_byte(void **state)
{
	(void)state;
	const char *s = "HTTP/1.0 200 OK\r\n"
	                "Server: GoAhead-Webs\r\n"
	                "Transfer-Encoding: chunked\r\n"
	                "\r\n"
	                "7\r\n<title>\r\n"
	                "a;ext=1\r\nDCS-932L</\r\n"
	                "7\r\ntitle>\n\r\n"
	                "0\r\n"
	                "X-Trailer: yes\r\n"
	                "\r\n"
	                "NEXT";
	struct toride_http_msg *m = msg_new(1);
	size_t total = strlen(s), i, used;
	int r = TORIDE_EINCOMPLETE;
	for (i = 0; i < total && r == TORIDE_EINCOMPLETE; i++) {
		r = toride_http_msg_parse(m, (const uint8_t *)s + i, 1, &used);
		assert_int_equal(used, 1);
	}
	assert_int_equal(r, 0);
	assert_string_equal(s + i, "NEXT"); /* the rest belongs to the next message */
	size_t blen;
	const uint8_t *b = toride_http_msg_body(m, &blen);
	assert_int_equal(blen, 24);
	assert_memory_equal(b, "<title>DCS-932L</title>\n", 24);
	char title[64];
	assert_int_equal(toride_http_msg_title(m, title, sizeof title), 0);
	assert_string_equal(title, "DCS-932L");

	/* Same bytes in one call: consumed stops before "NEXT". */
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, s, &used), 0);
	assert_int_equal(used, total - 4);
	b = toride_http_msg_body(m, &blen);
	assert_int_equal(blen, 24);
	toride_http_msg_free(m);
}

static void
test_bare_lf_and_folding(void **state)
{
	(void)state;
	const char *s = "\r\n\nHTTP/1.1 200\n"
	                "Server:   Boa/0.94.14rc21  \n"
	                "X-Long: first\n"
	                "   second\n"
	                "\tthird\n"
	                "junk line without colon\n"
	                "Bad Name: x\n"
	                "Content-Length : 2\n"
	                "\n"
	                "ok";
	struct toride_http_msg *m = msg_new(1);
	assert_int_equal(feed(m, s, NULL), 0);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_string_equal(toride_http_msg_reason(m), "");
	assert_string_equal(toride_http_msg_header(m, "Server", 0), "Boa/0.94.14rc21");
	assert_string_equal(toride_http_msg_header(m, "X-Long", 0), "first second third");
	assert_null(toride_http_msg_header(m, "Bad Name", 0));
	assert_string_equal(toride_http_msg_header(m, "content-length", 0), "2");
	assert_int_equal(toride_http_msg_header_count(m), 3);
	toride_http_msg_free(m);
}

static void
test_body_until_eof(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	assert_int_equal(toride_http_msg_eof(m), TORIDE_EINCOMPLETE); /* nothing ever arrived */
	assert_int_equal(feed(m, "HTTP/1.0 200 OK\r\nServer: uc-httpd 1.0.0\r\n\r\n<html>", NULL), TORIDE_EINCOMPLETE);
	assert_true(toride_http_msg_head_done(m));
	assert_int_equal(feed(m, "<title>NETSurveillance WEB</title></html>", NULL), TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), 0);
	char t[64];
	assert_int_equal(toride_http_msg_title(m, t, sizeof t), 0);
	assert_string_equal(t, "NETSurveillance WEB");
	toride_http_msg_free(m);

	/* A message cut short is malformed, but the head stays readable. */
	m = msg_new(1);
	assert_int_equal(feed(m, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 100\r\n\r\nabc", NULL),
	                 TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), TORIDE_EPARSE);
	assert_int_equal(toride_http_msg_status(m), 401);
	toride_http_msg_free(m);

	m = msg_new(1);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nServer: x\r\n", NULL), TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), TORIDE_EPARSE);
	assert_false(toride_http_msg_head_done(m));
	assert_int_equal(toride_http_msg_status(m), -1);
	toride_http_msg_free(m);
}

static void
test_no_body_statuses(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	size_t used;
	const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
	assert_int_equal(feed(m, two, &used), 0);
	assert_int_equal(toride_http_msg_status(m), 100);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, two + used, &used), 0);
	assert_int_equal(toride_http_msg_status(m), 304);
	toride_http_msg_reset(m);
	toride_http_msg_expect_no_body(m);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", NULL), 0);
	toride_http_msg_reset(m);
	/* reset clears expect_no_body */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", NULL), TORIDE_EINCOMPLETE);
	toride_http_msg_free(m);
}

static void
test_rtsp_response(void **state)
{
	(void)state;
	/* RTSP without Content-Length has no body (RFC 2326 12.14): complete at the empty line even
	 * though the server keeps the connection open. */
	const char *s = "RTSP/1.0 401 Unauthorized\r\n"
	                "CSeq: 1\r\n"
	                "WWW-Authenticate: Digest realm=\"4419b63f5e51\", nonce=\"8b84a3b789283a8bea8da7fa7d41f08b\"\r\n"
	                "Server: Dahua Rtsp Server\r\n"
	                "\r\n";
	struct toride_http_msg *m = msg_new(1);
	assert_int_equal(feed(m, s, NULL), 0);
	assert_true(toride_http_msg_is_rtsp(m));
	assert_string_equal(toride_http_msg_protocol(m), "RTSP/1.0");
	assert_int_equal(toride_http_msg_status(m), 401);
	assert_string_equal(toride_http_msg_header(m, "cseq", 0), "1");
	toride_http_msg_free(m);

	/* RTSP with a body (DESCRIBE answer). */
	m = msg_new(1);
	assert_int_equal(feed(m, "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 4\r\n\r\nv=0\n", NULL), 0);
	size_t blen;
	assert_memory_equal(toride_http_msg_body(m, &blen), "v=0\n", 4);
	toride_http_msg_free(m);
}

static void
test_requests(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(0);
	size_t used;
	const char *s = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n"
	                "POST /login.cgi HTTP/1.0\r\nContent-Length: 11\r\n\r\nuser=admin&";
	assert_int_equal(feed(m, s, &used), 0);
	assert_string_equal(toride_http_msg_method(m), "GET");
	assert_string_equal(toride_http_msg_target(m), "/index.html");
	assert_string_equal(toride_http_msg_protocol(m), "HTTP/1.1");
	assert_int_equal(toride_http_msg_status(m), -1);
	assert_string_equal(toride_http_msg_header(m, "authorization", 0), "Basic YWRtaW46YWRtaW4=");
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, s + used, &used), 0);
	assert_string_equal(toride_http_msg_method(m), "POST");
	size_t blen;
	assert_memory_equal(toride_http_msg_body(m, &blen), "user=admin&", 11);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "DESCRIBE rtsp://127.0.0.1:554/live/ch01_0 RTSP/1.0\r\nCSeq: 3\r\n\r\n", NULL), 0);
	assert_true(toride_http_msg_is_rtsp(m));
	assert_string_equal(toride_http_msg_target(m), "rtsp://127.0.0.1:554/live/ch01_0");
	toride_http_msg_reset(m);
	/* Refused request lines */
	assert_int_equal(feed(m, "GET /\r\n\r\n", NULL), TORIDE_EPARSE);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "GET / HTTP/2.0\r\n\r\n", NULL), TORIDE_EPARSE);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "\x16\x03\x01", NULL), TORIDE_EPARSE); /* TLS ClientHello */
	toride_http_msg_reset(m);
	/* A request with an unframeable Transfer-Encoding */
	assert_int_equal(feed(m, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", NULL), TORIDE_EPARSE);
	toride_http_msg_free(m);
}

/* Not HTTP: refused from the first bytes, without waiting for a line end. */
static void
test_not_http_refused_early(void **state)
{
	(void)state;
	const char *others[] = { "SSH-2.0-OpenSSH_7.4\r\n", "220 ProFTPD Server ready.\r\n", "\xff\xfd\x18", "login:",
		                 "HTTP/1.1 2OO OK\r\n", "HTTP/1.1 200OK\r\n", "HTTP/3.0 200 OK\r\n", "HTTP/1.1\r\n" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct toride_http_msg *m = msg_new(1);
		size_t used;
		int r = toride_http_msg_parse(m, (const uint8_t *)others[i], strlen(others[i]), &used);
		assert_int_equal(r, TORIDE_EPARSE);
		/* errors are sticky */
		assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\n\r\n", NULL), TORIDE_EPARSE);
		toride_http_msg_free(m);
	}
	struct toride_http_msg *m = msg_new(1);
	size_t used;
	assert_int_equal(toride_http_msg_parse(m, (const uint8_t *)"S", 1, &used), TORIDE_EPARSE);
	toride_http_msg_free(m);
}

static void
test_hostile_head(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	struct toride_buf b;
	toride_buf_init(&b, 1 << 20);

	/* Header bomb: one more header line than the cap. */
	assert_int_equal(toride_buf_append_str(&b, "HTTP/1.1 200 OK\r\n"), 0);
	for (int i = 0; i < TORIDE_HTTP_MAX_HEADERS; i++)
		assert_int_equal(toride_buf_printf(&b, "X-%d: y\r\n", i), 0);
	size_t used;
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), TORIDE_EINCOMPLETE);
	assert_int_equal(feed(m, "X-last: y\r\n", NULL), TORIDE_ETOOBIG);

	/* Exactly the cap of header lines is fine. */
	toride_http_msg_reset(m);
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), TORIDE_EINCOMPLETE);
	assert_int_equal(feed(m, "\r\n", NULL), TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_header_count(m), TORIDE_HTTP_MAX_HEADERS);

	/* A head larger than 16 KiB without any line end. */
	toride_http_msg_reset(m);
	toride_buf_reset(&b);
	assert_int_equal(toride_buf_append_str(&b, "HTTP/1.1 200 OK\r\nX-Big: "), 0);
	while (b.len < TORIDE_HTTP_MAX_HEAD + 10)
		assert_int_equal(toride_buf_append_str(&b, "AAAAAAAAAAAAAAAA"), 0);
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), TORIDE_ETOOBIG);

	/* A status line that never ends. */
	toride_http_msg_reset(m);
	toride_buf_reset(&b);
	assert_int_equal(toride_buf_append_str(&b, "HTTP/1.1 200 "), 0);
	while (b.len < TORIDE_HTTP_MAX_HEAD + 10)
		assert_int_equal(toride_buf_append_str(&b, "OKOKOKOK"), 0);
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), TORIDE_ETOOBIG);

	/* Endless empty lines before the start line are bounded too. */
	toride_http_msg_reset(m);
	toride_buf_reset(&b);
	while (b.len < TORIDE_HTTP_MAX_HEAD + 10)
		assert_int_equal(toride_buf_append_str(&b, "\r\n"), 0);
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), TORIDE_ETOOBIG);

	/* NUL bytes in the head. */
	toride_http_msg_reset(m);
	static const uint8_t nul[] = "HTTP/1.1 200 OK\r\nServer: a\0b\r\n\r\n";
	assert_int_equal(toride_http_msg_parse(m, nul, sizeof(nul) - 1, &used), TORIDE_EPARSE);

	toride_buf_free(&b);
	toride_http_msg_free(m);
}

static void
test_hostile_lengths(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	/* Content-Length overflow */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", NULL),
	                 TORIDE_EPARSE);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", NULL), TORIDE_EPARSE);
	toride_http_msg_reset(m);
	/* Conflicting lengths (smuggling shape); equal repeats are fine. */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", NULL),
	                 TORIDE_EPARSE);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", NULL), 0);
	toride_http_msg_reset(m);
	/* Chunk-size overflow */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", NULL),
	                 TORIDE_EPARSE);
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL), TORIDE_EPARSE);
	toride_http_msg_reset(m);
	/* Chunk data longer than announced */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", NULL),
	                 TORIDE_EPARSE);
	toride_http_msg_reset(m);
	/* Chunk extension bomb */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", NULL), TORIDE_EINCOMPLETE);
	char ext[TORIDE_HTTP_MAX_CHUNK_LINE + 1];
	memset(ext, 'e', sizeof(ext) - 1);
	ext[sizeof(ext) - 1] = '\0';
	assert_int_equal(feed(m, ext, NULL), TORIDE_ETOOBIG);
	toride_http_msg_free(m);
}

/* A huge but valid Content-Length: memory stays bounded, the extra bytes are consumed unkept. */
static void
test_big_body_truncated(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n", NULL), TORIDE_EINCOMPLETE);
	static uint8_t chunk[8192];
	memset(chunk, 'x', sizeof chunk);
	size_t used;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(toride_http_msg_parse(m, chunk, sizeof chunk, &used), TORIDE_EINCOMPLETE);
		assert_int_equal(used, sizeof chunk);
	}
	size_t blen;
	toride_http_msg_body(m, &blen);
	assert_int_equal(blen, TORIDE_HTTP_MAX_BODY);
	assert_true(toride_http_msg_body_truncated(m));
	assert_int_equal(toride_http_msg_body_total(m), 20 * sizeof chunk);
	assert_int_equal(toride_http_msg_eof(m), TORIDE_EPARSE);
	toride_http_msg_free(m);
}

static void
test_title(void **state)
{
	(void)state;
	struct toride_http_msg *m = msg_new(1);
	char t[TORIDE_HTTP_MAX_TITLE + 1];
	assert_int_equal(feed(m, "HTTP/1.0 200 OK\r\n\r\n"
	                         "<HTML><HEAD><TITLE lang=en>\r\n  NETGEAR &amp; Router\t&lt;R7000&gt; &#x263A;&#65;&bogus;"
	                         "  </Title></HEAD>",
	                      NULL),
	                 TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), 0);
	assert_int_equal(toride_http_msg_title(m, t, sizeof t), 0);
	assert_string_equal(t, "NETGEAR & Router <R7000> \xe2\x98\xba" "A&bogus;");
	/* Cut without splitting the UTF-8 sequence: 28 bytes would end inside U+263A. */
	char small[28];
	assert_int_equal(toride_http_msg_title(m, small, sizeof small), 0);
	assert_string_equal(small, "NETGEAR & Router <R7000>");
	assert_int_equal(toride_http_msg_title(m, small, 0), TORIDE_EINVAL);
	toride_http_msg_reset(m);

	/* <titlex> is not a title; no closing tag runs to the end of the body. */
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n<titlex>no</titlex><title>Web ", NULL),
	                 TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), TORIDE_EPARSE);
	assert_int_equal(toride_http_msg_title(m, t, sizeof t), 0);
	assert_string_equal(t, "Web");
	toride_http_msg_reset(m);
	assert_int_equal(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<h1>none</h1>", NULL), 0);
	assert_int_equal(toride_http_msg_title(m, t, sizeof t), TORIDE_ENOTFOUND);
	toride_http_msg_reset(m);

	/* Longer than the cap: cut at TORIDE_HTTP_MAX_TITLE bytes. */
	char body[600];
	int n = snprintf(body, sizeof body, "HTTP/1.1 200 OK\r\n\r\n<title>");
	memset(body + n, 'T', 400);
	body[n + 400] = '\0';
	assert_int_equal(feed(m, body, NULL), TORIDE_EINCOMPLETE);
	assert_int_equal(toride_http_msg_eof(m), 0);
	assert_int_equal(toride_http_msg_title(m, t, sizeof t), 0);
	assert_int_equal(strlen(t), TORIDE_HTTP_MAX_TITLE);
	toride_http_msg_free(m);
}

static bool
password_form(const char *body)
{
	struct toride_http_msg *m = msg_new(1);
	char head[128];
	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
	assert_int_equal(feed(m, head, NULL), TORIDE_EINCOMPLETE);
	assert_int_equal(feed(m, body, NULL), 0);
	bool r = toride_http_msg_has_password_form(m);
	toride_http_msg_free(m);
	return r;
}

static void
test_password_form(void **state)
{
	(void)state;
	assert_true(password_form("<form action=\"/login.cgi\" method=post><input type=\"text\" name=\"user\">"
	                          "<input type=\"password\" name=\"pwd\"></form>"));
	assert_true(password_form("<FORM NAME=f><INPUT NAME=p TYPE=PASSWORD></FORM>"));
	assert_true(password_form("<form><input\n  class='x'\n  type = 'Password' /></form>"));
	assert_false(password_form("<form><input type=\"text\" name=\"password\"></form>"));
	assert_false(password_form("<form><input data-type=\"password\"></form>"));
	assert_false(password_form("<input type=password>")); /* no form */
	assert_false(password_form("<form><inputs type=password></form>"));
	assert_false(password_form("<html><body>Welcome, no login</body></html>"));
}

static void
test_build_request(void **state)
{
	(void)state;
	struct toride_buf b;
	toride_buf_init(&b, 4096);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", "127.0.0.1:8080", 0, "toride/0.1", NULL),
	                 0);
	const char *s;
	assert_int_equal(toride_buf_cstr(&b, &s), 0);
	assert_string_equal(s, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: toride/0.1\r\n\r\n");

	toride_buf_reset(&b);
	assert_int_equal(toride_http_build_request(&b, "DESCRIBE", "rtsp://127.0.0.1/", "RTSP/1.0", "ignored", 2,
	                                           "toride/0.1", "Accept: application/sdp\r\n"),
	                 0);
	assert_int_equal(toride_buf_cstr(&b, &s), 0);
	assert_string_equal(s, "DESCRIBE rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: toride/0.1\r\n"
	                       "Accept: application/sdp\r\n\r\n");
	/* Round trip through the request parser. */
	struct toride_http_msg *m = msg_new(0);
	size_t used;
	assert_int_equal(toride_http_msg_parse(m, b.data, b.len, &used), 0);
	assert_int_equal(used, b.len);
	assert_string_equal(toride_http_msg_method(m), "DESCRIBE");
	assert_string_equal(toride_http_msg_header(m, "Accept", 0), "application/sdp");
	assert_string_equal(toride_http_msg_header(m, "CSeq", 0), "2");
	toride_http_msg_free(m);

	/* Header injection and malformed fields are refused and leave out unchanged. */
	toride_buf_reset(&b);
	assert_int_equal(toride_http_build_request(&b, "GET", "/ HTTP/1.1\r\nX: y", "HTTP/1.1", NULL, 0, NULL, NULL),
	                 TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", "a\r\nb", 0, NULL, NULL), TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", NULL, 0, "ua\n", NULL), TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "G T", "/", "HTTP/1.1", NULL, 0, NULL, NULL), TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", NULL, 0, NULL, "X: y"), TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", NULL, 0, NULL, "X: y\r\n\r\nZ: w\r\n"),
	                 TORIDE_EINVAL);
	assert_int_equal(toride_http_build_request(&b, "GET", "/", "HTTP/1.1", NULL, 0, NULL, "X: y\nZ: w\r\n"),
	                 TORIDE_EINVAL);
	assert_int_equal(b.len, 0);
	/* Over the buffer cap: all or nothing. */
	struct toride_buf small;
	toride_buf_init(&small, 20);
	assert_int_equal(toride_http_build_request(&small, "GET", "/", "HTTP/1.1", "127.0.0.1", 0, NULL, NULL),
	                 TORIDE_ETOOBIG);
	assert_int_equal(small.len, 0);
	toride_buf_free(&small);
	toride_buf_free(&b);
}

/* Undo the TSV escaping (\\ \t \n \r \xHH) in place. */
static void
tsv_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 't')
			*w++ = '\t';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 'r')
			*w++ = '\r';
		else if (*r == 'x' && r[1] && r[2]) {
			char hex[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

/* Every real Server value from recog (http_servers, rtsp_servers) survives a round trip through a
 * response head; returns how many were checked. */
static size_t
check_server_examples(const char *file, const char *proto)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/banners/%s", TORIDE_TEST_DATA, file);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096];
	size_t checked = 0;
	struct toride_http_msg *m = msg_new(1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || strncmp(line, "example\t", 8) == 0)
			continue;
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		tsv_unescape(line);
		/* Values with line breaks or NULs cannot be one header; trim like the parser does. */
		if (strpbrk(line, "\r\n") != NULL)
			continue;
		char *v = line;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t n = strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			v[--n] = '\0';
		char msg[5000];
		snprintf(msg, sizeof msg, "%s 200 OK\r\nServer: %s\r\nContent-Length: 0\r\n\r\n", proto, v);
		toride_http_msg_reset(m);
		size_t used;
		int r = toride_http_msg_parse(m, (const uint8_t *)msg, strlen(msg), &used);
		if (r != 0)
			fail_msg("%s: %s -> %d", file, v, r);
		const char *got = toride_http_msg_header(m, "Server", 0);
		assert_non_null(got);
		assert_string_equal(got, v);
		checked++;
	}
	toride_http_msg_free(m);
	fclose(f);
	return checked;
}

static void
test_real_server_headers(void **state)
{
	(void)state;
	assert_true(check_server_examples("http_servers.examples.tsv", "HTTP/1.1") > 700);
	assert_true(check_server_examples("rtsp_servers.examples.tsv", "RTSP/1.0") >= 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_401_content_length),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_bare_lf_and_folding),
		cmocka_unit_test(test_body_until_eof),
		cmocka_unit_test(test_no_body_statuses),
		cmocka_unit_test(test_rtsp_response),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_not_http_refused_early),
		cmocka_unit_test(test_hostile_head),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_big_body_truncated),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_password_form),
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_real_server_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
