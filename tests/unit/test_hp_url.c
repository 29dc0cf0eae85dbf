/*
 * hp_url_parse: URLs as droppers type them (Mirai loader "http://%s:%d/bins/%s.%s", Gafgyt
 * "wget http://.../bins.sh", "tftp://...", ftpget with userinfo, IPv6 literals), and the inputs
 * it must refuse cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/error.h"
#include "honeypot/hp.h"

static void
expect_url(const char *in, const char *scheme, const char *host, unsigned port, const char *path)
{
	struct hp_url u;
	int r = hp_url_parse(in, &u);
	if (r != 0)
		fail_msg("refused: %s", in);
	assert_string_equal(u.scheme, scheme);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.path, path);
}

static void
expect_refused(const char *in)
{
	struct hp_url u;
	memset(&u, 0x5a, sizeof u);
	if (hp_url_parse(in, &u) != TORIDE_EPARSE)
		fail_msg("accepted: %s", in);
	/* a refused URL leaves nothing half-filled behind */
	assert_string_equal(u.scheme, "");
	assert_string_equal(u.host, "");
	assert_int_equal(u.port, 0);
}

static void
test_dropper_forms(void **state)
{
	(void)state;
	expect_url("http://1.2.3.4/bins/mirai.arm7", "http", "1.2.3.4", 80, "/bins/mirai.arm7");
	expect_url("1.2.3.4:8080/x.sh", "http", "1.2.3.4", 8080, "/x.sh");
	expect_url("1.2.3.4/x.sh", "http", "1.2.3.4", 80, "/x.sh");
	expect_url("tftp://1.2.3.4/mips", "tftp", "1.2.3.4", 69, "/mips");
	expect_url("ftp://user:pw@host/file", "ftp", "host", 21, "/file");
	expect_url("[2001:db8::1]:80/x", "http", "2001:db8::1", 80, "/x");
	expect_url("https://[2001:db8::1]/", "https", "2001:db8::1", 443, "/");
	/* the Mirai loader's wget line after printf: http://%s:%d/bins/%s.%s */
	expect_url("http://198.51.100.7:80/bins/dvrHelper.arm7", "http", "198.51.100.7", 80,
	           "/bins/dvrHelper.arm7");
}

static void
test_normalisation(void **state)
{
	(void)state;
	/* scheme and host are case-insensitive; the path is not */
	expect_url("HTTP://Audi.Example.COM/Dingdong.sh", "http", "audi.example.com", 80, "/Dingdong.sh");
	/* no path, empty port, query kept, fragment dropped, scheme-relative */
	expect_url("http://example.org", "http", "example.org", 80, "/");
	expect_url("http://example.org:/a", "http", "example.org", 80, "/a");
	expect_url("http://example.org/a.sh?x=1#frag", "http", "example.org", 80, "/a.sh?x=1");
	expect_url("http://example.org?x=1", "http", "example.org", 80, "/?x=1");
	expect_url("//example.org/z", "http", "example.org", 80, "/z");
	expect_url("http://a@b@example.org:65535/z", "http", "example.org", 65535, "/z");
}

static void
test_refused(void **state)
{
	(void)state;
	expect_refused("");
	expect_refused("http://");
	expect_refused("http:///x");
	expect_refused("gopher://example.org/x"); /* not a download scheme of busybox tools */
	expect_refused("file:///etc/passwd");
	expect_refused("http://example.org:0/x");
	expect_refused("http://example.org:65536/x");
	expect_refused("http://example.org:123456/x");
	expect_refused("http://example.org:8o/x");
	expect_refused("http://exa mple.org/x");
	expect_refused("http://example.org/x y");
	expect_refused("http://example.org/\x01");
	expect_refused("http://ex\xc3\xa4mple.org/");
	expect_refused("http://[2001:db8::1/x");
	expect_refused("http://[not-v6]/x");
	expect_refused("http://[1.2.3.4]/x");
	expect_refused("http://[2001:db8::1]x/y");
	expect_refused("http://exa%6dple.org/");
	expect_refused("http://@/x");
	expect_refused(NULL);
}

static void
test_long_parts_are_cut(void **state)
{
	(void)state;
	/* a long host or path is cut, not refused (the record keeps the whole URL) */
	char in[3000], host[600];
	memset(host, 'a', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(in, sizeof in, "http://%s/", host);
	struct hp_url u;
	assert_int_equal(hp_url_parse(in, &u), 0);
	assert_int_equal(strlen(u.host), HP_URL_HOST_MAX - 1);
	char path[2000];
	memset(path, 'p', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	snprintf(in, sizeof in, "http://h/%s", path);
	assert_int_equal(hp_url_parse(in, &u), 0);
	assert_int_equal(strlen(u.path), HP_URL_PATH_MAX - 1);
	assert_int_equal(u.path[0], '/');
	/* past the input cap: refused without reading further */
	static char huge[10000];
	memset(huge, 'x', sizeof huge - 1);
	memcpy(huge, "http://h/", 9);
	assert_int_equal(hp_url_parse(huge, &u), TORIDE_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dropper_forms),
		cmocka_unit_test(test_normalisation),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_parts_are_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
