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

/* The walk gives exactly the list a service used to copy: own pairs, then base pairs not in it. */
static void
test_walk_small(void **state)
{
	(void)state;
	struct toride_creds base;
	struct toride_creds_walk w;
	toride_creds_init(&base);
	const char *b[][2] = {{"root", "a"}, {"root", "b"}, {"admin", "c"}, {"admin", "d"}};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(toride_creds_add(&base, b[i][0], b[i][1], "file"), 0);
	toride_creds_walk_init(&w, &base);
	assert_int_equal(toride_creds_add(&w.own, "admin", "c", "vendor"), 0);
	assert_int_equal(toride_creds_add(&w.own, "x", "y", "vendor"), 0);
	assert_int_equal(toride_creds_add(&w.own, "root", "a", "vendor"), 0);
	assert_int_equal(toride_creds_walk_seal(&w), 0);
	const char *want[][2] = {{"admin", "c"}, {"x", "y"}, {"root", "a"}, {"root", "b"}, {"admin", "d"}};
	assert_int_equal(toride_creds_walk_count(&w), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct toride_cred *c = toride_creds_walk_at(&w, i);
		assert_non_null(c);
		assert_string_equal(c->user, want[i][0]);
		assert_string_equal(c->pass, want[i][1]);
	}
	assert_null(toride_creds_walk_at(&w, 5));
	/* base pairs are the base list's own storage: shared, not copied */
	assert_ptr_equal(toride_creds_walk_at(&w, 3), &base.v[1]);
	toride_creds_walk_free(&w);
	/* no own pairs: the base list as it is; no base: the own pairs only */
	toride_creds_walk_init(&w, &base);
	assert_int_equal(toride_creds_walk_seal(&w), 0);
	assert_int_equal(toride_creds_walk_count(&w), 4);
	assert_ptr_equal(toride_creds_walk_at(&w, 0), &base.v[0]);
	toride_creds_walk_free(&w);
	toride_creds_walk_init(&w, NULL);
	assert_int_equal(toride_creds_add(&w.own, "x", "y", "vendor"), 0);
	assert_int_equal(toride_creds_walk_seal(&w), 0);
	assert_int_equal(toride_creds_walk_count(&w), 1);
	assert_null(toride_creds_walk_at(&w, 1));
	toride_creds_walk_free(&w);
	toride_creds_free(&base);
}

/* Real lists: Mirai's table as the base, each vendor's defaults as the own list; the walk must
 * equal the copied list (vendor pairs, then every base pair not already there). */
static void
test_walk_matches_copy(void **state)
{
	(void)state;
	static const char *vendors[] = {"Dahua", "Hikvision", "ZTE", "D-Link", "Huawei", "TP-Link", "Xiongmai",
	                                "Ubiquiti", "Netgear", "Avtech"};
	const char *csv = TORIDE_SOURCE_DIR "/data/credentials/vendor-defaults.csv";
	char err[256];
	struct toride_creds base;
	toride_creds_init(&base);
	assert_int_equal(toride_creds_load_mirai(&base, TORIDE_SOURCE_DIR "/data/credentials/mirai.tsv", err, sizeof err),
	                 0);
	size_t skipped = 0;
	for (size_t v = 0; v < sizeof vendors / sizeof vendors[0]; v++) {
		struct toride_creds copy;
		struct toride_creds_walk w;
		toride_creds_init(&copy);
		assert_true(toride_creds_load_vendor(&copy, csv, vendors[v], err, sizeof err) >= 0);
		for (size_t i = 0; i < base.n; i++)
			assert_int_equal(toride_creds_add(&copy, base.v[i].user, base.v[i].pass, base.v[i].origin), 0);
		toride_creds_walk_init(&w, &base);
		assert_true(toride_creds_load_vendor(&w.own, csv, vendors[v], err, sizeof err) >= 0);
		assert_int_equal(toride_creds_walk_seal(&w), 0);
		skipped += w.nskip;
		assert_int_equal(toride_creds_walk_count(&w), copy.n);
		for (size_t i = 0; i < copy.n; i++) {
			const struct toride_cred *c = toride_creds_walk_at(&w, i);
			assert_non_null(c);
			assert_string_equal(c->user, copy.v[i].user);
			assert_string_equal(c->pass, copy.v[i].pass);
			assert_string_equal(c->origin, copy.v[i].origin);
		}
		assert_null(toride_creds_walk_at(&w, copy.n));
		toride_creds_walk_free(&w);
		toride_creds_free(&copy);
	}
	assert_true(skipped > 0); /* the vendors' lists do repeat Mirai pairs: the skip path ran */
	toride_creds_free(&base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirai_table),
		cmocka_unit_test(test_vendor_defaults),
		cmocka_unit_test(test_user_file),
		cmocka_unit_test(test_field_cap),
		cmocka_unit_test(test_walk_small),
		cmocka_unit_test(test_walk_matches_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
