#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/permute.h"

/* pi must hit every value of [0, n) exactly once. */
static void
check_bijection(uint64_t n, uint64_t seed)
{
	struct toride_perm p;
	uint8_t *seen = calloc(n, 1);
	assert_non_null(seen);
	assert_int_equal(toride_perm_init(&p, n, seed), 0);
	for (uint64_t j = 0; j < n; j++) {
		uint64_t v = toride_perm_at(&p, j);
		assert_true(v < n);
		assert_int_equal(seen[v], 0);
		seen[v] = 1;
	}
	free(seen);
}

static void
test_bijection_small_and_odd_sizes(void **state)
{
	(void)state;
	for (uint64_t n = 1; n <= 300; n++)
		check_bijection(n, n * 7919);
	check_bijection(1023, 1);
	check_bijection(1024, 1);
	check_bijection(1025, 1);
	check_bijection(65537, 42);
	check_bijection(100003, 0);
	check_bijection(262144, UINT64_MAX);
}

/* Awkward domain sizes: the smallest, around every power of two up to 2^20 (where the Feistel width
 * changes and cycle-walking does the most or the least work) and a prime near 10^6. */
static void
test_bijection_awkward_sizes(void **state)
{
	(void)state;
	check_bijection(1, 0);
	check_bijection(2, 0);
	check_bijection(3, 0);
	for (unsigned k = 2; k <= 20; k++) {
		uint64_t p2 = UINT64_C(1) << k;
		check_bijection(p2 - 1, k);
		check_bijection(p2, k);
		check_bijection(p2 + 1, k);
	}
	check_bijection(999983, 1);
	check_bijection(999983, 0x5eed);
}

/* Consecutive positions must spread over the domain: for a /16 worth of addresses (n = 65536),
 * no 1,000 consecutive outputs may crowd into one /24 (256 consecutive values). A sequential or
 * strided walk puts up to 256 of them in the same /24; a random choice puts about 4 in each, and
 * rarely more than 15 in the fullest one (17 was the worst of 13,000 windows over 200 seeds). */
static void
test_consecutive_outputs_spread(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 0, 1, 42, 0xdeadbeef, UINT64_MAX };
	for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		struct toride_perm p;
		assert_int_equal(toride_perm_init(&p, 65536, seeds[s]), 0);
		for (uint64_t start = 0; start + 1000 <= 65536; start += 1000) {
			unsigned bins[256] = { 0 }, worst = 0, distinct = 0;
			for (uint64_t j = start; j < start + 1000; j++) {
				unsigned b = (unsigned)(toride_perm_at(&p, j) >> 8);
				if (bins[b]++ == 0)
					distinct++;
				if (bins[b] > worst)
					worst = bins[b];
			}
			if (worst > 20 || distinct < 230)
				fail_msg("seed %llu, positions %llu..+1000: %u in one /24, %u /24s hit",
				         (unsigned long long)seeds[s], (unsigned long long)start, worst, distinct);
		}
	}
}

static void
test_seed_determines_order(void **state)
{
	(void)state;
	struct toride_perm a, b, c;
	const uint64_t n = 10007;
	assert_int_equal(toride_perm_init(&a, n, 12345), 0);
	assert_int_equal(toride_perm_init(&b, n, 12345), 0);
	assert_int_equal(toride_perm_init(&c, n, 12346), 0);
	uint64_t differ = 0;
	for (uint64_t j = 0; j < n; j++) {
		assert_int_equal(toride_perm_at(&a, j), toride_perm_at(&b, j));
		if (toride_perm_at(&a, j) != toride_perm_at(&c, j))
			differ++;
	}
	/* a neighbouring seed must give an unrelated order, not a shifted copy */
	assert_true(differ > n * 9 / 10);
}

static void
test_not_sequential(void **state)
{
	(void)state;
	struct toride_perm p;
	const uint64_t n = 100000;
	assert_int_equal(toride_perm_init(&p, n, 99), 0);
	uint64_t adjacent = 0, fixed = 0;
	uint64_t prev = toride_perm_at(&p, 0);
	for (uint64_t j = 1; j < n; j++) {
		uint64_t v = toride_perm_at(&p, j);
		if (v == prev + 1 || v + 1 == prev)
			adjacent++;
		if (v == j)
			fixed++;
		prev = v;
	}
	assert_true(adjacent < n / 20);
	assert_true(fixed < n / 100); /* a random permutation has about one fixed point */
}

static void
test_limits(void **state)
{
	(void)state;
	struct toride_perm p;
	assert_int_equal(toride_perm_init(&p, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_perm_init(&p, TORIDE_PERM_MAX_N + 1, 1), TORIDE_ERANGE);
	assert_int_equal(toride_perm_init(&p, 1, 1), 0);
	assert_int_equal(toride_perm_at(&p, 0), 0);
	assert_int_equal(toride_perm_at(&p, 1), UINT64_MAX);
	/* the largest domain works and stays in range and injective on a sample */
	assert_int_equal(toride_perm_init(&p, TORIDE_PERM_MAX_N, 7), 0);
	uint64_t vals[64];
	for (int i = 0; i < 64; i++) {
		uint64_t j = i < 32 ? (uint64_t)i : TORIDE_PERM_MAX_N - 1 - (uint64_t)i;
		vals[i] = toride_perm_at(&p, j);
		assert_true(vals[i] < TORIDE_PERM_MAX_N);
		for (int k = 0; k < i; k++)
			assert_true(vals[k] != vals[i]);
	}
	/* an awkward size just above a power of four: cycle-walking does most work here */
	assert_int_equal(toride_perm_init(&p, (UINT64_C(1) << 40) + 1, 3), 0);
	for (uint64_t j = 0; j < 1000; j++)
		assert_true(toride_perm_at(&p, j) <= (UINT64_C(1) << 40));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bijection_small_and_odd_sizes),
		cmocka_unit_test(test_bijection_awkward_sizes),
		cmocka_unit_test(test_consecutive_outputs_spread),
		cmocka_unit_test(test_seed_determines_order),
		cmocka_unit_test(test_not_sequential),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
