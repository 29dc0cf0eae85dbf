#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/order.h"
#include "core/scope.h"

#define DEFAULTS TORIDE_SOURCE_DIR "/data/exclusions/special-purpose.txt"

static struct toride_scope *
make_scope(const char *const *inc, const char *const *exc, bool defaults, const char *const *lift)
{
	struct toride_scope *s;
	char err[512], note[512];
	assert_int_equal(toride_scope_new(&s), 0);
	if (defaults)
		assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	for (; inc != NULL && *inc != NULL; inc++)
		assert_int_equal(toride_scope_add(s, *inc, err, sizeof err), 0);
	for (; exc != NULL && *exc != NULL; exc++)
		assert_int_equal(toride_scope_exclude(s, *exc, "test", err, sizeof err), 0);
	for (; lift != NULL && *lift != NULL; lift++)
		assert_int_equal(toride_scope_allow_reserved(s, *lift, note, sizeof note, err,
		                                             sizeof err), 0);
	if (toride_scope_finalize(s, err, sizeof err) != 0)
		fail_msg("finalize: %s", err);
	return s;
}

/* Index of a in the scope's canonical order (binary search over addr_at). */
static uint64_t
addr_index(const struct toride_scope *s, const struct toride_addr *a)
{
	uint64_t lo = 0, hi = toride_scope_count(s);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct toride_addr m;
		assert_int_equal(toride_scope_addr_at(s, mid, &m), 0);
		int c = toride_addr_cmp(&m, a);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	fail_msg("address not in the scope's canonical order");
	return UINT64_MAX;
}

static size_t
port_index(const uint16_t *ports, size_t nports, uint16_t p)
{
	for (size_t i = 0; i < nports; i++)
		if (ports[i] == p)
			return i;
	fail_msg("port %u was not asked for", p);
	return SIZE_MAX;
}

/*
 * Walk every shard of (s, ports, seed) split n ways and check: each pair exactly once over all
 * shards, every address in scope, totals match. Returns the pair sequence of shard 0 as pair
 * numbers (address index * nports + port index) in *seq0 (malloc'd) when seq0 is not NULL.
 */
static void
check_complete(const struct toride_scope *s, const uint16_t *ports, size_t nports, uint64_t seed,
               uint32_t nshards, uint64_t **seq0)
{
	uint64_t count = toride_scope_count(s);
	uint64_t npairs = count * nports;
	uint8_t *seen = calloc(npairs, 1);
	assert_non_null(seen);
	uint64_t sum = 0;
	for (uint32_t sh = 0; sh < nshards; sh++) {
		struct toride_order *o;
		assert_int_equal(toride_order_new(&o, s, ports, nports, seed, sh, nshards), 0);
		uint64_t total = toride_order_total(o);
		uint64_t *seq = NULL;
		if (sh == 0 && seq0 != NULL) {
			seq = malloc((total ? total : 1) * sizeof *seq);
			assert_non_null(seq);
		}
		struct toride_addr a;
		uint16_t port;
		uint64_t got = 0;
		int r;
		while ((r = toride_order_next(o, &a, &port)) == 1) {
			assert_true(toride_scope_contains(s, &a));
			uint64_t pair = addr_index(s, &a) * nports + port_index(ports, nports, port);
			if (seen[pair])
				fail_msg("pair %llu visited twice (shard %u/%u)", (unsigned long long)pair,
				         sh + 1, nshards);
			seen[pair] = 1;
			if (seq != NULL)
				seq[got] = pair;
			got++;
			assert_int_equal(toride_order_position(o), got);
		}
		assert_int_equal(r, 0);
		assert_int_equal(got, total);
		/* done stays done */
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		sum += total;
		if (seq != NULL)
			*seq0 = seq;
		toride_order_free(o);
	}
	assert_int_equal(sum, npairs);
	for (uint64_t i = 0; i < npairs; i++)
		if (!seen[i])
			fail_msg("pair %llu never visited", (unsigned long long)i);
	free(seen);
}

static void
test_every_pair_once(void **state)
{
	(void)state;
	static const uint16_t p3[] = { 22, 23, 80 };
	static const uint16_t p1[] = { 23 };
	static const uint16_t pmix[] = { 23, 80, 2323, 8080, 554 };

	/* non-power-of-two v4 scope with a hole */
	static const char *const inc1[] = { "10.0.0.0/24", "10.0.1.0-10.0.1.99", NULL };
	static const char *const exc1[] = { "10.0.0.64/28", NULL };
	struct toride_scope *s = make_scope(inc1, exc1, false, NULL);
	assert_int_equal(toride_scope_count(s), 256 + 100 - 16);
	check_complete(s, p3, 3, 1, 1, NULL);
	check_complete(s, p3, 3, 0xdeadbeef, 1, NULL);
	check_complete(s, p1, 1, 7, 1, NULL);
	toride_scope_free(s);

	/* a single address and a single port */
	static const char *const inc2[] = { "127.0.0.1", NULL };
	static const char *const lift2[] = { "127.0.0.0/8", NULL };
	s = make_scope(inc2, NULL, true, lift2);
	check_complete(s, p1, 1, 5, 1, NULL);
	check_complete(s, pmix, 5, 5, 1, NULL);
	toride_scope_free(s);

	/* IPv4 and IPv6 mixed */
	static const char *const inc3[] = { "198.51.100.0/28", "2001:db8::/124", "2001:db8:1::5",
		                            "192.0.2.200-192.0.2.210", NULL };
	s = make_scope(inc3, NULL, false, NULL);
	assert_int_equal(toride_scope_count(s), 16 + 16 + 1 + 11);
	check_complete(s, pmix, 5, 99, 1, NULL);
	toride_scope_free(s);

	/* about 100k pairs, with default exclusions, a lift and a user exclusion */
	static const char *const inc4[] = { "10.1.0.0/17", "192.168.0.0/24", NULL };
	static const char *const exc4[] = { "10.1.5.0/24", NULL };
	static const char *const lift4[] = { "10.1.0.0/16", NULL };
	s = make_scope(inc4, exc4, true, lift4);
	assert_int_equal(toride_scope_count(s), 32768 - 256); /* 192.168/16 stays excluded */
	check_complete(s, p3, 3, 2024, 1, NULL);
	toride_scope_free(s);
}

static void
test_shards_disjoint_and_complete(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 23, 2323, 80 };
	static const char *const inc[] = { "10.0.0.0/23", "2001:db8::/122", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	for (uint32_t n = 1; n <= 7; n++)
		check_complete(s, ports, 3, 31337, n, NULL);
	check_complete(s, ports, 3, 31337, 1000, NULL);
	toride_scope_free(s);

	/* more shards than pairs: the first take one pair each, the rest nothing */
	static const char *const one[] = { "192.0.2.1", NULL };
	s = make_scope(one, NULL, false, NULL);
	uint64_t totals[3];
	for (uint32_t i = 0; i < 3; i++) {
		struct toride_order *o;
		assert_int_equal(toride_order_new(&o, s, ports, 2, 1, i, 3), 0);
		totals[i] = toride_order_total(o);
		toride_order_free(o);
	}
	assert_int_equal(totals[0], 1);
	assert_int_equal(totals[1], 1);
	assert_int_equal(totals[2], 0);
	toride_scope_free(s);
}

static void
test_seed_changes_order_and_order_is_scattered(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 23, 80, 8080 };
	static const char *const inc[] = { "10.2.0.0/17", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	uint64_t *a = NULL, *b = NULL, *c = NULL;
	check_complete(s, ports, 3, 1, 1, &a);
	check_complete(s, ports, 3, 2, 1, &b);
	check_complete(s, ports, 3, 1, 1, &c);
	uint64_t n = toride_scope_count(s) * 3, same = 0, adjacent = 0;
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(a[i], c[i]); /* same seed, same order */
		if (a[i] == b[i])
			same++;
		if (i > 0) {
			/* same port and neighbouring addresses (pair numbers differ by nports) */
			uint64_t d = a[i] > a[i - 1] ? a[i] - a[i - 1] : a[i - 1] - a[i];
			if (d == 3)
				adjacent++;
		}
	}
	assert_true(same < n / 100);
	assert_true(adjacent < n / 20);
	free(a);
	free(b);
	free(c);
	toride_scope_free(s);
}

static void
test_seek_resumes_exactly(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 21, 22, 23, 80 };
	static const char *const inc[] = { "10.3.0.0/22", "2001:db8::/120", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 4, 77, 1, 3), 0);
	uint64_t total = toride_order_total(o);
	struct toride_addr *as = malloc(total * sizeof *as);
	uint16_t *ps = malloc(total * sizeof *ps);
	assert_non_null(as);
	assert_non_null(ps);
	for (uint64_t i = 0; i < total; i++)
		assert_int_equal(toride_order_next(o, &as[i], &ps[i]), 1);
	toride_order_free(o);

	static const uint64_t at[] = { 0, 1, 2, 100, 1234 };
	for (size_t k = 0; k < sizeof at / sizeof at[0] + 1; k++) {
		uint64_t p = k < sizeof at / sizeof at[0] ? at[k] : total - 1;
		assert_int_equal(toride_order_new(&o, s, ports, 4, 77, 1, 3), 0);
		assert_int_equal(toride_order_seek(o, p), 0);
		assert_int_equal(toride_order_position(o), p);
		for (uint64_t i = p; i < total; i++) {
			struct toride_addr a;
			uint16_t port;
			assert_int_equal(toride_order_next(o, &a, &port), 1);
			assert_int_equal(toride_addr_cmp(&a, &as[i]), 0);
			assert_int_equal(port, ps[i]);
		}
		struct toride_addr a;
		uint16_t port;
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		/* seek to the end is allowed (nothing left), past it is not */
		assert_int_equal(toride_order_seek(o, total), 0);
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		assert_int_equal(toride_order_seek(o, total + 1), TORIDE_ERANGE);
		/* and back again */
		assert_int_equal(toride_order_seek(o, 0), 0);
		assert_int_equal(toride_order_next(o, &a, &port), 1);
		assert_int_equal(toride_addr_cmp(&a, &as[0]), 0);
		toride_order_free(o);
	}
	free(as);
	free(ps);
	toride_scope_free(s);
}

static void
test_order_new_refuses_bad_input(void **state)
{
	(void)state;
	struct toride_order *o = (struct toride_order *)1;
	struct toride_scope *raw;
	char err[256];
	static const uint16_t ok[] = { 23, 80 };
	static const uint16_t dup[] = { 23, 80, 23 };
	static const uint16_t zero[] = { 0 };

	/* not finalized: no order at all */
	assert_int_equal(toride_scope_new(&raw), 0);
	assert_int_equal(toride_scope_add(raw, "192.0.2.0/24", err, sizeof err), 0);
	assert_int_equal(toride_order_new(&o, raw, ok, 2, 1, 0, 1), TORIDE_ESTATE);
	assert_null(o);
	toride_scope_free(raw);

	static const char *const inc[] = { "192.0.2.0/24", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	assert_int_equal(toride_order_new(&o, s, dup, 3, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, zero, 1, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 0, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 1, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 0), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 65536), TORIDE_EINVAL);
	toride_scope_free(s);

	/* 2^48 addresses x 65535 ports is beyond the permutation */
	static const char *const huge[] = { "2001:db8::/80", NULL };
	s = make_scope(huge, NULL, false, NULL);
	uint16_t *all = malloc(65535 * sizeof *all);
	assert_non_null(all);
	for (uint32_t i = 0; i < 65535; i++)
		all[i] = (uint16_t)(i + 1);
	assert_int_equal(toride_order_new(&o, s, all, 65535, 1, 0, 1), TORIDE_ETOOBIG);
	/* but 2^48 x 3 ports works, and its first pairs are in scope */
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 1), 0);
	assert_true(toride_order_total(o) == (UINT64_C(1) << 49));
	for (int i = 0; i < 1000; i++) {
		struct toride_addr a;
		uint16_t port;
		assert_int_equal(toride_order_next(o, &a, &port), 1);
		assert_true(toride_scope_contains(s, &a));
		assert_true(port == 23 || port == 80);
	}
	toride_order_free(o);
	free(all);
	toride_scope_free(s);
}

static void
test_shard_parse(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint32_t i, n;
	} good[] = {
		{ "1/1", 0, 1 }, { "3/4", 2, 4 }, { "4/4", 3, 4 }, { "65535/65535", 65534, 65535 },
		{ "1/65535", 0, 65535 }, { "10/12", 9, 12 },
	};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
		uint32_t i = 99, n = 99;
		assert_int_equal(toride_shard_parse(good[k].s, &i, &n), 0);
		assert_int_equal(i, good[k].i);
		assert_int_equal(n, good[k].n);
	}
	static const char *const bad[] = {
		"", "0/4", "5/4", "1/0", "1/65536", "a/b", "1/", "/1", " 1/2", "1/2 ", "+1/2", "01/2",
		"1/02", "1//2", "1/2/3", "-1/2", "1", "100000/100000", "1/99999999999", "1:2",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		uint32_t i, n;
		if (toride_shard_parse(bad[k], &i, &n) != TORIDE_EPARSE)
			fail_msg("shard \"%s\" must be refused", bad[k]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair_once),
		cmocka_unit_test(test_shards_disjoint_and_complete),
		cmocka_unit_test(test_seed_changes_order_and_order_is_scattered),
		cmocka_unit_test(test_seek_resumes_exactly),
		cmocka_unit_test(test_order_new_refuses_bad_input),
		cmocka_unit_test(test_shard_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
