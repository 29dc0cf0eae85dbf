/*
 * FTP replies (RFC 959 4.2): single- and multi-line, bare LF, streaming, real greetings from
 * rapid7/recog's ftp_banners.xml, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "proto/ftp.h"

static int
parse(const char *s, size_t *used, int *code, char *text, size_t textlen)
{
	return toride_ftp_parse_reply((const uint8_t *)s, strlen(s), used, code, text, textlen);
}

/* Greetings of embedded devices and servers, as recog records them (BSD-2-Clause). */
static const char *const real_greetings[] = {
	"ProFTPD 1.3.0rc2 Server (LinksysWRT350N) [host]",
	"ProFTPD 1.3.3g Server (NETGEAR ReadyNAS) [192.168.1.10]",
	"foo.bar Microsoft FTP Service (Version 5.0).",
	"example.com FTP server (Version wu-2.6.2(1) Sat Jul 19 16:21:30 UTC 2008) ready.",
	"ProFTPD FTP Server ready.",
};

static void
test_single_line(void **state)
{
	(void)state;
	char text[256], buf[300];
	int code = 0;
	size_t used;
	for (size_t i = 0; i < sizeof(real_greetings) / sizeof(real_greetings[0]); i++) {
		int n = snprintf(buf, sizeof buf, "220 %s\r\n", real_greetings[i]);
		assert_int_equal(parse(buf, &used, &code, text, sizeof text), 0);
		assert_int_equal(used, (size_t)n);
		assert_int_equal(code, 220);
		assert_string_equal(text, real_greetings[i]);
	}
	/* USER/PASS answers back to back: consumed stops after the first. */
	const char *two = "331 Password required for admin.\r\n530 Login incorrect.\r\n";
	assert_int_equal(parse(two, &used, &code, text, sizeof text), 0);
	assert_int_equal(code, 331);
	assert_string_equal(text, "Password required for admin.");
	assert_int_equal(parse(two + used, &used, &code, text, sizeof text), 0);
	assert_int_equal(code, 530);
	/* Bare LF, no text, text not wanted */
	assert_int_equal(parse("230\n", &used, &code, text, sizeof text), 0);
	assert_int_equal(code, 230);
	assert_string_equal(text, "");
	assert_int_equal(parse("230 Login successful.\n", &used, &code, NULL, 0), 0);
	assert_int_equal(used, 22);
}

static void
test_multi_line(void **state)
{
	(void)state;
	char text[256];
	int code = 0;
	size_t used;
	/* RFC 959 4.2 example shape, with a middle line that looks like another code. */
	const char *s = "220-Welcome to the NAS\r\n"
	                "220-Authorized users only\r\n"
	                "   indented line\r\n"
	                "331 not the end: other code\r\n"
	                "220 Ready.\r\n"
	                "trailing";
	assert_int_equal(parse(s, &used, &code, text, sizeof text), 0);
	assert_int_equal(code, 220);
	assert_int_equal(used, strlen(s) - strlen("trailing"));
	assert_string_equal(text, "Welcome to the NAS\nAuthorized users only\n   indented line\n331 not the end: other code\nReady.");
	/* Every prefix that stops before the final line is incomplete. */
	for (size_t i = 0; i < used; i++) {
		int r = toride_ftp_parse_reply((const uint8_t *)s, i, &used, &code, text, sizeof text);
		assert_int_equal(r, TORIDE_EINCOMPLETE);
		assert_int_equal(used, 0);
	}
	/* Text cut to the buffer */
	char small[10];
	assert_int_equal(parse(s, &used, &code, small, sizeof small), 0);
	assert_string_equal(small, "Welcome t");
}

static void
test_hostile(void **state)
{
	(void)state;
	char text[64];
	int code = 0;
	size_t used;
	/* Not FTP: refused from the first bytes */
	assert_int_equal(parse("SSH-2.0-OpenSSH_7.4\r\n", &used, &code, text, sizeof text), TORIDE_EPARSE);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\n", &used, &code, text, sizeof text), TORIDE_EPARSE);
	assert_int_equal(parse("22", &used, &code, text, sizeof text), TORIDE_EINCOMPLETE);
	assert_int_equal(parse("220x", &used, &code, text, sizeof text), TORIDE_EPARSE);
	assert_int_equal(parse("22\r\n", &used, &code, text, sizeof text), TORIDE_EPARSE);
	/* Codes out of range */
	assert_int_equal(parse("099 x\r\n", &used, &code, text, sizeof text), TORIDE_EPARSE);
	assert_int_equal(parse("600 x\r\n", &used, &code, text, sizeof text), TORIDE_EPARSE);
	/* NUL */
	static const uint8_t nul[] = "220 a\0b\r\n";
	assert_int_equal(toride_ftp_parse_reply(nul, sizeof nul - 1, &used, &code, text, sizeof text), TORIDE_EPARSE);
	/* No line end at all, and a multi-line reply that never ends */
	static uint8_t big[TORIDE_FTP_MAX_REPLY + 100];
	memcpy(big, "220 ", 4);
	memset(big + 4, 'a', sizeof big - 4);
	assert_int_equal(toride_ftp_parse_reply(big, sizeof big, &used, &code, text, sizeof text), TORIDE_ETOOBIG);
	assert_int_equal(toride_ftp_parse_reply(big, 100, &used, &code, text, sizeof text), TORIDE_EINCOMPLETE);
	memcpy(big, "220-", 4);
	for (size_t i = 10; i < sizeof big; i += 10)
		big[i] = '\n';
	assert_int_equal(toride_ftp_parse_reply(big, sizeof big, &used, &code, text, sizeof text), TORIDE_ETOOBIG);
	assert_int_equal(toride_ftp_parse_reply(big, 4000, &used, &code, text, sizeof text), TORIDE_EINCOMPLETE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
