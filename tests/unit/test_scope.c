#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/scope.h"

#define DEFAULTS TORIDE_SOURCE_DIR "/data/exclusions/special-purpose.txt"

static struct toride_addr
A(const char *s)
{
	struct toride_addr a;
	assert_int_equal(toride_addr_parse(s, &a), 0);
	return a;
}

static bool
has(const struct toride_scope *s, const char *addr)
{
	struct toride_addr a = A(addr);
	return toride_scope_contains(s, &a);
}

/* Write text to a fresh temporary file; returns its malloc'd path. */
static char *
tmpfile_with(const char *text, size_t len)
{
	char *path = strdup("/tmp/toride-test-scope-XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_good_specs(void **state)
{
	(void)state;
	/* spec, count, first, last */
	static const struct {
		const char *spec;
		uint64_t count;
		const char *first, *last;
	} cases[] = {
		{ "10.0.0.0/8", 1u << 24, "10.0.0.0", "10.255.255.255" },
		{ "10.0.0.1-10.0.0.9", 9, "10.0.0.1", "10.0.0.9" },
		{ "10.0.0.5", 1, "10.0.0.5", "10.0.0.5" },
		{ "10.0.0.5/32", 1, "10.0.0.5", "10.0.0.5" },
		{ "0.0.0.0/0", UINT64_C(1) << 32, "0.0.0.0", "255.255.255.255" },
		{ "2001:db8::/120", 256, "2001:db8::", "2001:db8::ff" },
		{ "2001:db8::1-2001:db8::ff", 255, "2001:db8::1", "2001:db8::ff" },
		{ "2001:DB8::/127", 2, "2001:db8::", "2001:db8::1" },
		{ "::ffff:198.51.100.0/120", 256, "::ffff:198.51.100.0", "::ffff:198.51.100.255" },
		{ "2001:db8::/80", UINT64_C(1) << 48, "2001:db8::", "2001:db8::ffff:ffff:ffff" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct toride_scope *s;
		char err[256] = "";
		struct toride_addr f, l, want;
		assert_int_equal(toride_scope_new(&s), 0);
		assert_int_equal(toride_scope_add(s, cases[i].spec, err, sizeof err), 0);
		assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
		assert_true(toride_scope_count(s) == cases[i].count);
		assert_int_equal(toride_scope_nintervals(s), 1);
		assert_int_equal(toride_scope_interval(s, 0, &f, &l), 0);
		want = A(cases[i].first);
		assert_int_equal(toride_addr_cmp(&f, &want), 0);
		want = A(cases[i].last);
		assert_int_equal(toride_addr_cmp(&l, &want), 0);
		assert_true(toride_scope_contains(s, &f));
		assert_true(toride_scope_contains(s, &l));
		toride_scope_free(s);
	}
}

static void
test_bad_specs_are_refused_with_a_message(void **state)
{
	(void)state;
	/* spec, a word the message must contain */
	static const char *const cases[][2] = {
		{ "10.0.0.1/8", "host bits" },
		{ "10.0.0.0/33", "larger than 32" },
		{ "::/129", "larger than 128" },
		{ "1.2.3", "not an IPv4 or IPv6" },
		{ "1.2.3.0/24", NULL }, /* good: placeholder skipped below */
		{ "10.0.0.9-10.0.0.1", "reversed" },
		{ "2001:db8::ff-2001:db8::1", "reversed" },
		{ "10.0.0.1-2001:db8::1", "mixes IPv4 and IPv6" },
		{ "10.0.0.0/8x", "unexpected character" },
		{ "10.0.0.0/8 ", "whitespace" },
		{ " 10.0.0.0/8", "whitespace" },
		{ "10.0.0.1 - 10.0.0.9", "whitespace" },
		{ "10.0.0.0\t/8", "whitespace" },
		{ "", "empty" },
		{ "10.0.0.0/", "prefix length" },
		{ "10.0.0.0/08", "prefix length" },
		{ "10.0.0.0/+8", "unexpected character" },
		{ "/8", "before '/'" },
		{ "10.0.0.0/8/8", "more than one '/'" },
		{ "10.0.0.1-", "two full addresses" },
		{ "-10.0.0.1", "two full addresses" },
		{ "10.0.0.1--10.0.0.2", "more than one '-'" },
		{ "10.0.0.0/8-10.0.0.9", "mixes a prefix" },
		{ "010.0.0.1", "not an IPv4 or IPv6" },
		{ "10.0.0", "not an IPv4 or IPv6" },
		{ "fe80::1%eth0", "unexpected character" },
		{ "example.com", "unexpected character" },
		{ "2001:db8::/32\n", "whitespace" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i][1] == NULL)
			continue;
		struct toride_scope *s;
		char err[256] = "";
		assert_int_equal(toride_scope_new(&s), 0);
		int r = toride_scope_add(s, cases[i][0], err, sizeof err);
		if (r != TORIDE_EPARSE || strstr(err, cases[i][1]) == NULL)
			fail_msg("spec \"%s\": r=%d err=\"%s\" (want \"%s\")", cases[i][0], r, err,
			         cases[i][1]);
		/* the message names the input (control bytes escaped) */
		if (cases[i][0][0] != '\0' && strchr(cases[i][0], '\n') == NULL &&
		    strchr(cases[i][0], '\t') == NULL)
			assert_non_null(strstr(err, cases[i][0]));
		/* nothing was added: the scope is still empty */
		assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
		toride_scope_free(s);
	}
	/* host bits: the message says what the network would be */
	struct toride_scope *s;
	char err[256];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "192.168.1.77/24", err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "192.168.1.0/24"));
	assert_int_equal(toride_scope_add(s, "2001:db8::1/64", err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "2001:db8::/64"));
	/* a long spec is refused and quoted only in part */
	char longspec[400];
	memset(longspec, '1', sizeof longspec - 1);
	longspec[sizeof longspec - 1] = '\0';
	assert_int_equal(toride_scope_add(s, longspec, err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "too long"));
	toride_scope_free(s);
}

static void
test_overlapping_includes_merge(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[256];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "10.0.0.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.0.0.128/25", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.0.0.5", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.0.1.0-10.0.1.9", err, sizeof err), 0); /* touches */
	assert_int_equal(toride_scope_add(s, "10.0.0.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 266);
	assert_int_equal(toride_scope_nintervals(s), 1);
	/* every index gives a distinct address, ascending */
	struct toride_addr prev, a;
	for (uint64_t i = 0; i < 266; i++) {
		assert_int_equal(toride_scope_addr_at(s, i, &a), 0);
		if (i > 0)
			assert_true(toride_addr_cmp(&prev, &a) < 0);
		prev = a;
	}
	assert_int_equal(toride_scope_addr_at(s, 266, &a), TORIDE_ERANGE);
	/* no more adds after finalize */
	assert_int_equal(toride_scope_add(s, "10.9.0.0/24", err, sizeof err), TORIDE_ESTATE);
	assert_int_equal(toride_scope_exclude(s, "10.0.0.0/24", NULL, err, sizeof err), TORIDE_ESTATE);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_ESTATE);
	toride_scope_free(s);
}

static void
test_canonical_order_v4_then_v6(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[256];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8::/126", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "198.51.100.10-198.51.100.11", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "::1", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "192.0.2.1", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	static const char *const want[] = {
		"192.0.2.1", "198.51.100.10", "198.51.100.11", "::1",
		"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3",
	};
	assert_int_equal(toride_scope_count(s), 8);
	assert_int_equal(toride_scope_nintervals(s), 4);
	for (uint64_t i = 0; i < 8; i++) {
		struct toride_addr a;
		char text[TORIDE_ADDR_STRLEN];
		assert_int_equal(toride_scope_addr_at(s, i, &a), 0);
		assert_int_equal(toride_addr_format(&a, text, sizeof text), 0);
		assert_string_equal(text, want[i]);
	}
	assert_false(has(s, "192.0.2.2"));
	assert_false(has(s, "2001:db8::4"));
	assert_false(has(s, "::2"));
	/* an IPv4 struct with junk in the unused bytes is not an address */
	struct toride_addr bad = A("192.0.2.1");
	bad.b[7] = 1;
	assert_false(toride_scope_contains(s, &bad));
	toride_scope_free(s);
}

static void
test_scope_file(void **state)
{
	(void)state;
	static const char text[] =
		"# lab scope\n"
		"\n"
		"   10.1.0.0/24   # first lab net\r\n"
		"10.2.0.1-10.2.0.10\n"
		"\t2001:db8:1::/124\n"
		"10.3.0.7#no space before comment\n"
		"   \n"
		"10.4.0.1"; /* no final newline */
	char *path = tmpfile_with(text, sizeof text - 1);
	struct toride_scope *s;
	char err[512];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add_file(s, path, err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 256 + 10 + 16 + 1 + 1);
	assert_true(has(s, "10.3.0.7"));
	assert_true(has(s, "10.4.0.1"));
	assert_true(has(s, "2001:db8:1::f"));
	toride_scope_free(s);
	unlink(path);
	free(path);

	/* errors name file:line, and a typo is refused instead of meaning something else */
	static const struct {
		const char *text;
		int line;
		const char *word;
	} bad[] = {
		{ "10.0.0.0/24\n# ok\n10.0.0.0 /8\n", 3, "unexpected text" },
		{ "10.0.0.0/24\n10.0.0.1/24\n", 2, "host bits" },
		{ "10.0.0.0/24 10.0.1.0/24\n", 1, "unexpected text" },
		{ "\n\n\n\nfoo\n", 5, "unexpected character" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		path = tmpfile_with(bad[i].text, strlen(bad[i].text));
		char where[512];
		snprintf(where, sizeof where, "%s:%d: ", path, bad[i].line);
		assert_int_equal(toride_scope_new(&s), 0);
		assert_int_equal(toride_scope_add_file(s, path, err, sizeof err), TORIDE_EPARSE);
		if (strstr(err, where) == NULL || strstr(err, bad[i].word) == NULL)
			fail_msg("case %zu: err=\"%s\"", i, err);
		toride_scope_free(s);
		unlink(path);
		free(path);
	}

	/* missing file */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add_file(s, "/nonexistent/toride/scope.txt", err, sizeof err),
	                 TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent/toride/scope.txt"));
	toride_scope_free(s);
}

static void
test_buffer_hostile_lines(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512];
	/* NUL inside a line */
	static const char nul[] = "10.0.0.0/24\n10.0.1.0\0/24\n";
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add_buffer(s, nul, sizeof nul - 1, "mem", err, sizeof err),
	                 TORIDE_EPARSE);
	assert_non_null(strstr(err, "mem:2: "));
	assert_non_null(strstr(err, "NUL"));
	toride_scope_free(s);
	/* a line longer than the cap */
	size_t n = TORIDE_SCOPE_LINE_MAX * 3;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	big[n - 1] = '\n';
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add_buffer(s, big, n, "mem", err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "mem:1: line longer"));
	toride_scope_free(s);
	free(big);
	/* control bytes in the message are escaped */
	static const char ctl[] = "10.0.0.0/24\x1b[2J\n";
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add_buffer(s, ctl, sizeof ctl - 1, "mem", err, sizeof err),
	                 TORIDE_EPARSE);
	assert_null(strchr(err, '\x1b'));
	assert_non_null(strstr(err, "\\x1b"));
	toride_scope_free(s);
}

static void
test_default_exclusions(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_true(toride_scope_nexclusions(s) >= 30);
	for (size_t i = 0; i < toride_scope_nexclusions(s); i++) {
		struct toride_scope_exclusion e;
		assert_int_equal(toride_scope_exclusion(s, i, &e), 0);
		assert_int_equal(e.kind, TORIDE_SCOPE_EXCL_DEFAULT);
		assert_non_null(strstr(e.reason, "RFC ")); /* every entry cites its RFC */
		assert_true(e.line > 0);
	}
	assert_int_equal(toride_scope_add(s, "0.0.0.0/0", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	/* 2^32 minus the union of the IPv4 entries, computed independently with Python's ipaddress */
	assert_true(toride_scope_count(s) == UINT64_C(3702257664));
	static const char *const excluded[] = {
		"0.0.0.0", "0.255.255.255", "10.0.0.1", "100.64.0.1", "100.127.255.255", "127.0.0.1",
		"169.254.1.1", "172.16.0.1", "172.31.255.255", "192.0.0.9", "192.0.2.1", "192.88.99.1",
		"192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
	};
	for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++)
		if (has(s, excluded[i]))
			fail_msg("%s must be excluded by default", excluded[i]);
	static const char *const kept[] = {
		"1.0.0.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
		"128.0.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.255", "192.0.3.0", "192.167.255.255",
		"192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
	};
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (!has(s, kept[i]))
			fail_msg("%s must stay in scope", kept[i]);
	toride_scope_free(s);

	/* the IPv6 entries: a scope made of one /120 under each is empty */
	static const char *const v6[] = {
		"::/120", "::ffff:0:0/120", "64:ff9b::/120", "64:ff9b:1::/120", "100::/120",
		"100:0:0:1::/120", "2001::/120", "2001:1::/120", "2001:db8::/120", "2002::/120",
		"2620:4f:8000::/120", "3fff::/120", "5f00::/120", "fc00::/120", "fd12:3456::/120",
		"fe80::/120", "fec0::/120", "ff02::/120",
	};
	for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
		assert_int_equal(toride_scope_new(&s), 0);
		assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
		assert_int_equal(toride_scope_add(s, v6[i], err, sizeof err), 0);
		if (toride_scope_finalize(s, err, sizeof err) != TORIDE_EINVAL)
			fail_msg("%s must be excluded by default", v6[i]);
		toride_scope_free(s);
	}
	/* global unicast IPv6 stays */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2400:cb00::/120", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 256);
	toride_scope_free(s);

	/* a default file without reasons, or with junk, is refused with file:line */
	static const char noreason[] = "# c\n10.0.0.0/8\n";
	char *path = tmpfile_with(noreason, sizeof noreason - 1);
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, path, err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, ":2: "));
	assert_non_null(strstr(err, "reason"));
	toride_scope_free(s);
	unlink(path);
	free(path);
}

static void
test_private_lab_needs_explicit_lift(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512], note[512];

	/* 10.77.0.0/16 with the defaults: nothing left, and the message says why */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.77.0.0/16", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "no scope, no survey"));
	assert_non_null(strstr(err, "10.0.0.0/8"));
	assert_non_null(strstr(err, "RFC 1918"));
	assert_non_null(strstr(err, "--allow-reserved"));
	assert_false(toride_scope_is_finalized(s));
	assert_int_equal(toride_scope_count(s), 0);
	assert_false(has(s, "10.77.0.1"));

	/* lifting just the lab network works and is reported */
	assert_int_equal(toride_scope_allow_reserved(s, "10.77.0.0/16", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_string_equal(note, "default exclusion 10.0.0.0/8 (RFC 1918 private-use) lifted for "
	                          "10.77.0.0/16");
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 65536);
	assert_true(has(s, "10.77.255.255"));
	toride_scope_free(s);

	/* lifting the whole entry works too, but only for what was included */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.77.0.0/16", err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "10.0.0.0/8", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 65536);
	toride_scope_free(s);

	/* a lift is exactly as wide as asked */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "10.0.0.0/8", err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "10.77.0.0/16", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 65536);
	assert_false(has(s, "10.78.0.1"));
	assert_false(has(s, "10.76.255.255"));
	/* the log data: the 10/8 entry removed the rest of 10/8 */
	bool found = false;
	for (size_t i = 0; i < toride_scope_nexclusions(s); i++) {
		struct toride_scope_exclusion e;
		char fs[TORIDE_SCOPE_RANGE_STRLEN];
		assert_int_equal(toride_scope_exclusion(s, i, &e), 0);
		assert_int_equal(toride_scope_range_format(&e.first, &e.last, fs, sizeof fs), 0);
		if (strcmp(fs, "10.0.0.0/8") == 0) {
			found = true;
			assert_true(e.lifted);
			assert_int_equal(e.removed, (1u << 24) - 65536);
		} else {
			assert_false(e.lifted);
			assert_int_equal(e.removed, 0);
		}
	}
	assert_true(found);
	toride_scope_free(s);

	/* a lift reaching outside every default entry is refused */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "10.0.0.0/7", note, sizeof note, err,
	                                             sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "10.0.0.0/7"));
	assert_int_equal(toride_scope_allow_reserved(s, "8.8.8.0/24", note, sizeof note, err,
	                                             sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "not inside any default"));
	toride_scope_free(s);

	/* without defaults loaded there is nothing to lift */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "127.0.0.0/8", note, sizeof note, err,
	                                             sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "no default exclusions"));
	toride_scope_free(s);

	/* loopback lab: 127.0.0.0/8 lifted, IPv6 ::1 lifted (inside ::1/128 and ::/96) */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "127.0.0.1", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "::1", err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "127.0.0.0/8", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "::1", note, sizeof note, err, sizeof err), 0);
	assert_non_null(strstr(note, "default exclusion ::1 (RFC 4291 loopback)"));
	assert_non_null(strstr(note, "::/96"));
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 2);
	toride_scope_free(s);
}

static void
test_lift_touches_only_containing_entries(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512], note[512];
	/* 255.255.255.0/24 is inside 240/4 but contains the broadcast entry: that one stays */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "255.255.255.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "255.255.255.0/24", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_non_null(strstr(note, "240.0.0.0/4"));
	assert_null(strstr(note, "255.255.255.255/32"));
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 255);
	assert_false(has(s, "255.255.255.255"));
	toride_scope_free(s);
}

static void
test_user_and_optout_exclusions_cannot_be_lifted(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512], note[512];
	static const char optout[] =
		"# networks whose owners asked not to be surveyed\n"
		"198.51.100.0/28 # owner A\n"
		"2001:db8:77::/48\n";
	char *path = tmpfile_with(optout, sizeof optout - 1);

	/* outside the defaults: a user exclusion and an opt-out entry are final */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "100.0.0.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude(s, "100.0.0.0/28", "customer request", err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "100.0.0.0/28", note, sizeof note, err,
	                                             sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "never user exclusions or opt-out lists"));
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 256 - 16);
	assert_false(has(s, "100.0.0.15"));
	assert_true(has(s, "100.0.0.16"));
	toride_scope_free(s);

	/* inside a default entry: lifting the default leaves the user and opt-out entries in force */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude_file(s, path, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "198.51.100.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8:77::/120", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8:78::/120", err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude(s, "198.51.100.128/25", NULL, err, sizeof err), 0);
	assert_int_equal(toride_scope_allow_reserved(s, "198.51.100.0/24", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_non_null(strstr(note, "stay excluded"));
	assert_int_equal(toride_scope_allow_reserved(s, "2001:db8::/32", note, sizeof note, err,
	                                             sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), (128 - 16) + 256);
	assert_false(has(s, "198.51.100.1"));
	assert_false(has(s, "198.51.100.200"));
	assert_true(has(s, "198.51.100.16"));
	assert_false(has(s, "2001:db8:77::1"));
	assert_true(has(s, "2001:db8:78::1"));
	/* the log data names the opt-out file and line */
	size_t optouts = 0;
	for (size_t i = 0; i < toride_scope_nexclusions(s); i++) {
		struct toride_scope_exclusion e;
		assert_int_equal(toride_scope_exclusion(s, i, &e), 0);
		if (e.kind != TORIDE_SCOPE_EXCL_OPTOUT)
			continue;
		optouts++;
		assert_non_null(strstr(e.reason, path));
		assert_false(e.lifted);
		if (e.first.family == 4) {
			assert_int_equal(e.line, 2);
			assert_int_equal(e.removed, 16);
		} else {
			assert_int_equal(e.line, 3);
			assert_int_equal(e.removed, 256);
		}
	}
	assert_int_equal(optouts, 2);
	toride_scope_free(s);
	unlink(path);
	free(path);
}

static void
test_ipv6_spellings_of_excluded_ipv4(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512];
	/* an IPv4 opt-out also removes the IPv4-mapped, NAT64 and 6to4 forms */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_exclude(s, "198.51.100.0/25", "opt-out", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "::ffff:198.51.100.0/120", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "64:ff9b::198.51.100.0/120", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2002:c633:6400::-2002:c633:6400::ff", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2002:c633:6480::-2002:c633:6480::ff", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 2 * 128 + 256);
	assert_false(has(s, "::ffff:198.51.100.1"));
	assert_true(has(s, "::ffff:198.51.100.129"));
	assert_false(has(s, "64:ff9b::198.51.100.127"));
	assert_false(has(s, "2002:c633:6400::1")); /* 198.51.100.0 in 6to4 */
	assert_true(has(s, "2002:c633:6480::1"));  /* 198.51.100.128 in 6to4 */
	toride_scope_free(s);
}

static void
test_empty_and_too_big(void **state)
{
	(void)state;
	struct toride_scope *s;
	char err[512];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "no scope, no survey"));
	toride_scope_free(s);

	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "198.51.100.0/24", err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude(s, "198.51.100.0/23", "test", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "no scope, no survey"));
	assert_non_null(strstr(err, "198.51.100.0/23"));
	toride_scope_free(s);

	/* 2^48 is the limit: /80 passes, /79 and ::/0 fail with the hint */
	static const char *const big[] = { "2001:db8::/79", "::/0", "2001:db8::/64" };
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
		assert_int_equal(toride_scope_new(&s), 0);
		assert_int_equal(toride_scope_add(s, big[i], err, sizeof err), 0);
		assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
		assert_non_null(strstr(err, "IPv6 prefix too large to enumerate; give a smaller prefix or a "
		                            "hit-list"));
		toride_scope_free(s);
	}
	/* two /80s together are too big too */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8::/80", err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8:1::/80", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	toride_scope_free(s);
	/* ::/0 minus everything but a /120 is fine */
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "::/0", err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude(s, "::-2001:db8::ff", NULL, err, sizeof err), 0);
	assert_int_equal(toride_scope_exclude(s, "2001:db8::200-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	                                      NULL, err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	assert_int_equal(toride_scope_count(s), 256);
	assert_true(has(s, "2001:db8::100"));
	toride_scope_free(s);
}

static void
test_range_format(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		{ "10.0.0.0", "10.255.255.255", "10.0.0.0/8" },
		{ "0.0.0.0", "255.255.255.255", "0.0.0.0/0" },
		{ "10.0.0.5", "10.0.0.5", "10.0.0.5" },
		{ "10.0.0.1", "10.0.0.2", "10.0.0.1-10.0.0.2" },
		{ "10.0.0.0", "10.0.0.2", "10.0.0.0-10.0.0.2" },
		{ "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0" },
		{ "2001:db8::", "2001:db8::ff", "2001:db8::/120" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct toride_addr f = A(cases[i][0]), l = A(cases[i][1]);
		char out[TORIDE_SCOPE_RANGE_STRLEN];
		assert_int_equal(toride_scope_range_format(&f, &l, out, sizeof out), 0);
		assert_string_equal(out, cases[i][2]);
	}
	struct toride_addr f = A("10.0.0.2"), l = A("10.0.0.1"), v6 = A("::1");
	char out[TORIDE_SCOPE_RANGE_STRLEN];
	assert_int_equal(toride_scope_range_format(&f, &l, out, sizeof out), TORIDE_EINVAL);
	assert_int_equal(toride_scope_range_format(&f, &v6, out, sizeof out), TORIDE_EINVAL);
	assert_int_equal(toride_scope_range_format(&l, &f, out, 5), TORIDE_ETOOBIG);
}

/*
 * Model check: random includes and excludes inside 10.0.0.0/22 against a bitmap. count, contains,
 * addr_at and the intervals must all agree with the model.
 */
static void
test_random_against_model(void **state)
{
	(void)state;
	enum { BASE = 10 << 24, SPAN = 1024 };
	uint64_t rng = 0x1234567;
	for (int trial = 0; trial < 300; trial++) {
		uint8_t model[SPAN] = { 0 }, excl[SPAN] = { 0 };
		struct toride_scope *s;
		char err[256], spec[64];
		assert_int_equal(toride_scope_new(&s), 0);
		int nops = 1 + trial % 12;
		for (int op = 0; op < nops; op++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t a = (uint32_t)(rng >> 33) % SPAN;
			uint32_t len = 1 + (uint32_t)(rng >> 20) % 200;
			uint32_t b = a + len - 1 < SPAN ? a + len - 1 : SPAN - 1;
			snprintf(spec, sizeof spec, "10.0.%u.%u-10.0.%u.%u", (BASE + a) >> 8 & 255,
			         a & 255, (BASE + b) >> 8 & 255, b & 255);
			bool is_excl = op > 0 && (rng >> 60) % 3 == 0;
			if (is_excl) {
				assert_int_equal(toride_scope_exclude(s, spec, NULL, err, sizeof err), 0);
				for (uint32_t x = a; x <= b; x++)
					excl[x] = 1;
			} else {
				assert_int_equal(toride_scope_add(s, spec, err, sizeof err), 0);
				for (uint32_t x = a; x <= b; x++)
					model[x] = 1;
			}
		}
		uint64_t want = 0;
		for (int x = 0; x < SPAN; x++) {
			model[x] = model[x] && !excl[x];
			want += model[x];
		}
		int r = toride_scope_finalize(s, err, sizeof err);
		if (want == 0) {
			assert_int_equal(r, TORIDE_EINVAL);
			toride_scope_free(s);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(toride_scope_count(s), want);
		uint64_t idx = 0;
		for (int x = 0; x < SPAN; x++) {
			struct toride_addr a = { .family = 4 };
			uint32_t v = BASE + (uint32_t)x;
			a.b[0] = v >> 24;
			a.b[1] = v >> 16 & 255;
			a.b[2] = v >> 8 & 255;
			a.b[3] = v & 255;
			assert_int_equal(toride_scope_contains(s, &a), model[x]);
			if (model[x]) {
				struct toride_addr got;
				assert_int_equal(toride_scope_addr_at(s, idx, &got), 0);
				assert_int_equal(toride_addr_cmp(&got, &a), 0);
				idx++;
			}
		}
		/* just outside the model's span */
		assert_false(has(s, "10.0.4.0"));
		assert_false(has(s, "9.255.255.255"));
		/* intervals are disjoint, sorted and not touching */
		uint64_t sum = 0;
		for (size_t i = 0; i < toride_scope_nintervals(s); i++) {
			struct toride_addr f, l;
			assert_int_equal(toride_scope_interval(s, i, &f, &l), 0);
			uint32_t fv = (uint32_t)f.b[2] << 8 | f.b[3], lv = (uint32_t)l.b[2] << 8 | l.b[3];
			assert_true(fv <= lv);
			assert_true(fv == 0 || !model[fv - 1]);
			assert_true(lv == SPAN - 1 || !model[lv + 1]);
			sum += lv - fv + 1;
		}
		assert_int_equal(sum, want);
		toride_scope_free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_specs),
		cmocka_unit_test(test_bad_specs_are_refused_with_a_message),
		cmocka_unit_test(test_overlapping_includes_merge),
		cmocka_unit_test(test_canonical_order_v4_then_v6),
		cmocka_unit_test(test_scope_file),
		cmocka_unit_test(test_buffer_hostile_lines),
		cmocka_unit_test(test_default_exclusions),
		cmocka_unit_test(test_private_lab_needs_explicit_lift),
		cmocka_unit_test(test_lift_touches_only_containing_entries),
		cmocka_unit_test(test_user_and_optout_exclusions_cannot_be_lifted),
		cmocka_unit_test(test_ipv6_spellings_of_excluded_ipv4),
		cmocka_unit_test(test_empty_and_too_big),
		cmocka_unit_test(test_range_format),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
