/*
 * Login throttling (src/device/throttle.c) with an injected clock: growing per-account delays
 * capped at max_account_delay_ms, a finite per-source lockout, resets on success, forgetting after
 * quiet time, and the bounded table under a flood of sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

struct clock {
	uint64_t now;
};

static uint64_t
clock_now(void *ctx)
{
	return ((struct clock *)ctx)->now;
}

static struct clock clk;

static int
setup(void **state)
{
	struct toride_dev *dev = calloc(1, sizeof(*dev));
	assert_non_null(dev);
	clk.now = 1000000;
	dev->now_ms = clock_now;
	dev->clock_ctx = &clk;
	dev_throttle_defaults(&dev->throttle);
	*state = dev;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static uint32_t
wait_for(struct toride_dev *dev, const char *source, const char *user)
{
	uint32_t w = 12345;
	int rc = dev_throttle_check(dev, source, user, &w);
	assert_int_equal(rc, w > 0 ? TORIDE_DEV_ETHROTTLED : 0);
	return w;
}

static void
test_defaults(void **state)
{
	(void)state;
	struct toride_dev_throttle_policy p;
	dev_throttle_defaults(&p);
	assert_int_equal(p.free_failures, 3);
	assert_int_equal(p.base_delay_ms, 1000);
	assert_int_equal(p.max_account_delay_ms, 30000);
	assert_int_equal(p.lockout_failures, 10);
	assert_int_equal(p.lockout_ms, 15 * 60 * 1000);
}

/* Failures for one account from ever new sources (a botnet): 3 free, then 1, 2, 4, 8, 16 s,
 * then never more than 30 s. */
static void
test_account_delay_grows_and_caps(void **state)
{
	struct toride_dev *dev = *state;
	static const uint32_t want[] = {0, 0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
	char src[32];
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(src, sizeof(src), "192.0.2.%u", i + 1);
		assert_int_equal(wait_for(dev, src, "admin"), 0);
		dev_throttle_failure(dev, src, "admin");
		/* A fresh source sees exactly the account's delay. */
		assert_int_equal(wait_for(dev, "198.51.100.7", "admin"), want[i]);
		clk.now += want[i];
	}
	/* 100 more failures: the cap holds. */
	for (unsigned i = 0; i < 100; i++) {
		snprintf(src, sizeof(src), "203.0.113.%u", i);
		dev_throttle_failure(dev, src, "admin");
		assert_int_equal(wait_for(dev, "console", "admin"), 30000);
		clk.now += 30000;
	}
	/* Other accounts are not slowed down by this one. */
	assert_int_equal(wait_for(dev, "198.51.100.7", "viewer"), 0);
	/* A success resets the account. */
	dev_throttle_success(dev, "console", "admin");
	assert_int_equal(wait_for(dev, "console", "admin"), 0);
	dev_throttle_failure(dev, "console", "admin");
	assert_int_equal(wait_for(dev, "console", "admin"), 0);
}

/* Unknown user names get entries too (no account enumeration through the throttle). */
static void
test_unknown_user_throttled_alike(void **state)
{
	struct toride_dev *dev = *state;
	for (int i = 0; i < 4; i++)
		dev_throttle_failure(dev, NULL, "no-such-user");
	assert_int_equal(wait_for(dev, NULL, "no-such-user"), 1000);
}

/* One source guessing many names: delays grow per source, and at 10 failures that source alone
 * is locked out for 15 minutes, then may try again. */
static void
test_source_lockout_expires(void **state)
{
	struct toride_dev *dev = *state;
	const char *bad = "203.0.113.66";
	char user[32];
	for (unsigned i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "guess%u", i);
		assert_int_equal(wait_for(dev, bad, "fresh"), 0);
		dev_throttle_failure(dev, bad, user);
		uint32_t w = wait_for(dev, bad, "fresh");
		if (i < 3)
			assert_int_equal(w, 0);
		else if (i < 9)
			assert_int_equal(w, (1000u << (i - 3)) < 30000 ? 1000u << (i - 3) : 30000);
		else
			assert_int_equal(w, 15 * 60 * 1000);
		clk.now += w;
		if (i == 9)
			clk.now -= w; /* stay inside the lockout */
	}
	/* Locked: also for the owner's account name, but only from this source. */
	assert_int_equal(wait_for(dev, bad, "admin"), 15 * 60 * 1000);
	assert_int_equal(wait_for(dev, "192.0.2.10", "admin"), 0);
	clk.now += 15 * 60 * 1000 - 1;
	assert_int_equal(wait_for(dev, bad, "admin"), 1);
	clk.now += 1;
	assert_int_equal(wait_for(dev, bad, "admin"), 0);
	/* Trying again at once and failing locks it again at once... */
	dev_throttle_failure(dev, bad, "guess10");
	assert_int_equal(wait_for(dev, bad, "fresh2"), 15 * 60 * 1000);
	/* ...while 15 quiet minutes after a lockout forget the source entirely. */
	clk.now += 2 * 15 * 60 * 1000;
	assert_int_equal(wait_for(dev, bad, "fresh2"), 0);
	dev_throttle_failure(dev, bad, "guess11");
	assert_int_equal(wait_for(dev, bad, "fresh2"), 0);
}

static void
test_success_resets_source(void **state)
{
	struct toride_dev *dev = *state;
	for (int i = 0; i < 6; i++)
		dev_throttle_failure(dev, "192.0.2.5", NULL);
	assert_true(wait_for(dev, "192.0.2.5", "x") > 0);
	dev_throttle_success(dev, "192.0.2.5", "admin");
	assert_int_equal(wait_for(dev, "192.0.2.5", "x"), 0);
}

static void
test_old_failures_forgotten(void **state)
{
	struct toride_dev *dev = *state;
	for (int i = 0; i < 3; i++)
		dev_throttle_failure(dev, "console", "admin");
	clk.now += 16 * 60 * 1000;
	/* Three failures long ago do not make the next one cost a delay. */
	dev_throttle_failure(dev, "console", "admin");
	assert_int_equal(wait_for(dev, "console", "admin"), 0);
}

/* A flood of sources fills the table; entries that still delay someone survive as long as idle
 * ones exist, and the table never grows. */
static void
test_table_bounded(void **state)
{
	struct toride_dev *dev = *state;
	char src[64];
	for (int i = 0; i < 5; i++)
		dev_throttle_failure(dev, "attacker", "admin");
	assert_int_equal(wait_for(dev, "owner", "admin"), 2000);
	clk.now += 1;
	/* 2000 single failures from distinct sources with no user: idle entries. */
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(src, sizeof(src), "2001:db8::%x", i);
		dev_throttle_failure(dev, src, NULL);
	}
	size_t used = 0;
	for (size_t i = 0; i < DEV_MAX_THROTTLE; i++)
		used += dev->throttle_tab[i].in_use;
	assert_int_equal(used, DEV_MAX_THROTTLE);
	/* The account's active delay survived the flood. */
	assert_int_equal(wait_for(dev, "owner", "admin"), 1999);
	/* All entries active: the least recently active one is reused, the table keeps its size. */
	for (size_t i = 0; i < DEV_MAX_THROTTLE; i++) {
		struct dev_throttle_entry *e = &dev->throttle_tab[i];
		e->next_ms = clk.now + 60000;
		e->last_ms = clk.now - (i == 7 ? 5000 : 1000);
	}
	dev_throttle_failure(dev, "newcomer", NULL);
	assert_string_equal(dev->throttle_tab[7].key, "newcomer");
	assert_true(dev->throttle_tab[7].is_source);
	used = 0;
	for (size_t i = 0; i < DEV_MAX_THROTTLE; i++)
		used += dev->throttle_tab[i].in_use;
	assert_int_equal(used, DEV_MAX_THROTTLE);
	/* A very long key is truncated, not overflowed. */
	char longkey[300];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	dev_throttle_failure(dev, longkey, longkey);
	assert_int_equal(wait_for(dev, longkey, longkey), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_account_delay_grows_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_user_throttled_alike, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_lockout_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_success_resets_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_failures_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
