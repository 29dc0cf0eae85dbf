/* toride-deviced's input parsing (src/proto/form.c): form bodies, cookies, command lines,
 * update announcements and URL resolution, including hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/error.h"
#include "proto/form.h"

static int
form(const char *body, const char *name, char *out, size_t cap)
{
	return toride_form_get(body, strlen(body), name, out, cap);
}

static void
test_form_decodes_fields(void **state)
{
	(void)state;
	char v[64];
	/* What curl --data-urlencode and browsers send. */
	const char *b = "user=admin&password=p%40ss+w%C3%B6rd%21&next=%2Fstatus";
	assert_int_equal(form(b, "user", v, sizeof(v)), 0);
	assert_string_equal(v, "admin");
	assert_int_equal(form(b, "password", v, sizeof(v)), 0);
	assert_string_equal(v, "p@ss w\xc3\xb6rd!");
	assert_int_equal(form(b, "next", v, sizeof(v)), 0);
	assert_string_equal(v, "/status");
	assert_int_equal(form(b, "pass", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(form(b, "passwordx", v, sizeof(v)), TORIDE_ENOTFOUND);
	/* First occurrence wins; a field without '=' is empty. */
	assert_int_equal(form("a=1&a=2&flag", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(form("a=1&a=2&flag", "flag", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	/* Not NUL-terminated input: only len bytes are read. */
	assert_int_equal(toride_form_get("user=adminXXXX", 10, "user", v, sizeof(v)), 0);
	assert_string_equal(v, "admin");
}

static void
test_form_refuses_hostile(void **state)
{
	(void)state;
	char v[8];
	assert_int_equal(form("p=%", "p", v, sizeof(v)), TORIDE_EPARSE);
	assert_int_equal(form("p=%4", "p", v, sizeof(v)), TORIDE_EPARSE);
	assert_int_equal(form("p=%zz", "p", v, sizeof(v)), TORIDE_EPARSE);
	/* A decoded NUL, CR or LF could cut a password or inject a line: refused. */
	assert_int_equal(form("p=ab%00cd", "p", v, sizeof(v)), TORIDE_EPARSE);
	assert_int_equal(form("p=ab%0d%0acd", "p", v, sizeof(v)), TORIDE_EPARSE);
	assert_int_equal(form("p=ab%7f", "p", v, sizeof(v)), TORIDE_EPARSE);
	/* Exactly fits (7 bytes + NUL) vs one too many. */
	assert_int_equal(form("p=1234567", "p", v, sizeof(v)), 0);
	assert_int_equal(form("p=12345678", "p", v, sizeof(v)), TORIDE_ETOOBIG);
	assert_int_equal(form("p=1", "p", v, 0), TORIDE_EINVAL);
	/* Fields past the cap are not searched. */
	char big[TORIDE_FORM_MAX_FIELDS * 4 + 16];
	size_t o = 0;
	for (int i = 0; i < TORIDE_FORM_MAX_FIELDS; i++) {
		memcpy(big + o, "x=1&", 4);
		o += 4;
	}
	memcpy(big + o, "p=2", 4);
	assert_int_equal(form(big, "p", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(form(big + 4, "p", v, sizeof(v)), 0);
}

static void
test_cookie(void **state)
{
	(void)state;
	char v[80];
	assert_int_equal(toride_cookie_get("theme=dark; session=abc123; x=y", "session", v, sizeof(v)), 0);
	assert_string_equal(v, "abc123");
	assert_int_equal(toride_cookie_get("session=abc", "session", v, sizeof(v)), 0);
	assert_string_equal(v, "abc");
	assert_int_equal(toride_cookie_get("session=\"q\"", "session", v, sizeof(v)), 0);
	assert_string_equal(v, "q");
	assert_int_equal(toride_cookie_get("mysession=abc", "session", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(toride_cookie_get("sessionx=abc;", "session", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(toride_cookie_get("", "session", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(toride_cookie_get("session=0123456789", "session", v, 5), TORIDE_ETOOBIG);
}

static void
test_cmd_split(void **state)
{
	(void)state;
	char *argv[3];
	char l1[] = "  set   hostname   My  Camera  ";
	assert_int_equal(toride_cmd_split(l1, argv, 3), 3);
	assert_string_equal(argv[0], "set");
	assert_string_equal(argv[1], "hostname");
	assert_string_equal(argv[2], "My  Camera");
	char l2[] = "status";
	assert_int_equal(toride_cmd_split(l2, argv, 3), 1);
	assert_string_equal(argv[0], "status");
	char l3[] = " \t ";
	assert_int_equal(toride_cmd_split(l3, argv, 3), 0);
	char l4[] = "show\tconfig";
	assert_int_equal(toride_cmd_split(l4, argv, 3), 2);
	assert_string_equal(argv[1], "config");
}

static void
test_kvtext(void **state)
{
	(void)state;
	char v[64];
	const char *t = "# update announcement\r\nversion=2.1\r\n\r\nurl=bundles/fw-2.1.tbd\r\n";
	assert_int_equal(toride_kvtext_get(t, strlen(t), "version", v, sizeof(v)), 0);
	assert_string_equal(v, "2.1");
	assert_int_equal(toride_kvtext_get(t, strlen(t), "url", v, sizeof(v)), 0);
	assert_string_equal(v, "bundles/fw-2.1.tbd");
	assert_int_equal(toride_kvtext_get(t, strlen(t), "ver", v, sizeof(v)), TORIDE_ENOTFOUND);
	assert_int_equal(toride_kvtext_get("version=1\x01", 10, "version", v, sizeof(v)), TORIDE_EPARSE);
	assert_int_equal(toride_kvtext_get("version=123", 11, "version", v, 3), TORIDE_ETOOBIG);
}

static void
test_url_resolve(void **state)
{
	(void)state;
	char u[128];
	assert_int_equal(toride_url_resolve("https://upd.example/fw/latest", "b-2.tbd", u, sizeof(u)), 0);
	assert_string_equal(u, "https://upd.example/fw/b-2.tbd");
	assert_int_equal(toride_url_resolve("https://upd.example/fw/latest", "/other/b.tbd", u, sizeof(u)), 0);
	assert_string_equal(u, "https://upd.example/other/b.tbd");
	assert_int_equal(toride_url_resolve("https://upd.example:8443", "latest", u, sizeof(u)), 0);
	assert_string_equal(u, "https://upd.example:8443/latest");
	assert_int_equal(toride_url_resolve("https://a/x", "https://b/y", u, sizeof(u)), 0);
	assert_string_equal(u, "https://b/y");
	assert_int_equal(toride_url_resolve("nohost", "x", u, sizeof(u)), TORIDE_EINVAL);
	assert_int_equal(toride_url_resolve("https://a/x", "b c", u, sizeof(u)), TORIDE_EINVAL);
	assert_int_equal(toride_url_resolve("https://a/x", "y\r\nHost: z", u, sizeof(u)), TORIDE_EINVAL);
	assert_int_equal(toride_url_resolve("https://a/x", "0123456789", u, 12), TORIDE_ETOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decodes_fields),
		cmocka_unit_test(test_form_refuses_hostile),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_cmd_split),
		cmocka_unit_test(test_kvtext),
		cmocka_unit_test(test_url_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
