/* Credential lists: the real Mirai table, vendor defaults, user files and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "survey/creds.h"

static void
test_mirai_table(void **state)
{
	(void)state;
	struct toride_creds c;
	char err[256];
	toride_creds_init(&c);
	assert_int_equal(toride_creds_load_mirai(&c, TORIDE_SOURCE_DIR "/data/credentials/mirai.tsv", err, sizeof err), 0);
	/* 62 entries, guest/12345 twice: 61 distinct pairs, source order kept */
	assert_int_equal(c.n, 61);
	assert_string_equal(c.v[0].user, "root");
	assert_string_equal(c.v[0].pass, "xc3511");
	assert_string_equal(c.v[3].user, "admin");
	assert_string_equal(c.v[3].pass, "admin");
	/* the empty password of root is kept as an empty string */
	bool empty = false;
	for (size_t i = 0; i < c.n; i++)
		empty |= strcmp(c.v[i].user, "root") == 0 && c.v[i].pass[0] == '\0';
	assert_true(empty);
	toride_creds_free(&c);
}

static void
test_vendor_defaults(void **state)
{
	(void)state;
	struct toride_creds c;
	char err[256];
	toride_creds_init(&c);
	int n = toride_creds_load_vendor(&c, TORIDE_SOURCE_DIR "/data/credentials/vendor-defaults.csv", "hikvision", err,
	                                 sizeof err);
	assert_true(n > 0);
	assert_int_equal((size_t)n, c.n);
	bool has12345 = false;
	for (size_t i = 0; i < c.n; i++)
		has12345 |= strcmp(c.v[i].user, "admin") == 0 && strcmp(c.v[i].pass, "12345") == 0;
	assert_true(has12345);
	assert_int_equal(toride_creds_load_vendor(&c, TORIDE_SOURCE_DIR "/data/credentials/vendor-defaults.csv",
	                                          "no-such-vendor-xyz", err, sizeof err),
	                 0);
	/* punctuation and suffixes do not hide a vendor: "D-Link" finds "Dlink (web)" and "D-Link DIR845L" */
	struct toride_creds d;
	toride_creds_init(&d);
	int nd = toride_creds_load_vendor(&d, TORIDE_SOURCE_DIR "/data/credentials/vendor-defaults.csv", "D-Link", err,
	                                  sizeof err);
	assert_true(nd >= 10);
	toride_creds_free(&d);
	toride_creds_free(&c);
}

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/toride-creds-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_user_file(void **state)
{
	(void)state;
	struct toride_creds c;
	char err[256];
	char *p = write_tmp("# comment\nadmin:admin\nroot\tpass:with:colons\nuser:<blank>\nadmin:admin\n");
	toride_creds_init(&c);
	assert_int_equal(toride_creds_load_file(&c, p, err, sizeof err), 0);
	assert_int_equal(c.n, 3); /* duplicate dropped */
	assert_string_equal(c.v[1].user, "root");
	assert_string_equal(c.v[1].pass, "pass:with:colons");
	assert_string_equal(c.v[2].pass, "");
	toride_creds_free(&c);
	unlink(p);
	free(p);

	p = write_tmp("admin:admin\nno-separator-here\n");
	toride_creds_init(&c);
	assert_int_equal(toride_creds_load_file(&c, p, err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, ":2:"));
	toride_creds_free(&c);
	unlink(p);
	free(p);

	p = write_tmp("# only comments\n");
	toride_creds_init(&c);
	assert_int_equal(toride_creds_load_file(&c, p, err, sizeof err), TORIDE_EINVAL);
	toride_creds_free(&c);
	unlink(p);
	free(p);

	toride_creds_init(&c);
	assert_int_equal(toride_creds_load_file(&c, "/nonexistent/creds", err, sizeof err), TORIDE_EIO);
	toride_creds_free(&c);
}

static void
test_field_cap(void **state)
{
	(void)state;
	struct toride_creds c;
	char big[TORIDE_CRED_FIELD_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	toride_creds_init(&c);
	assert_int_equal(toride_creds_add(&c, big, "x", "file"), TORIDE_ETOOBIG);
	assert_int_equal(c.n, 0);
	toride_creds_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirai_table),
		cmocka_unit_test(test_vendor_defaults),
		cmocka_unit_test(test_user_file),
		cmocka_unit_test(test_field_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
