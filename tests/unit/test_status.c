/* The survey status line: fixed progress snapshots must give exactly these lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "survey/status.h"

static void
expect_line(const struct toride_survey_progress *p, const char *want)
{
	char out[TORIDE_SURVEY_STATUS_MAX];
	memset(out, 'x', sizeof out);
	int rc = toride_survey_status_format(out, sizeof out, p);
	if (rc != 0 || strcmp(out, want) != 0)
		fail_msg("rc %d\n got: %s\nwant: %s", rc, out, want);
}

/* The example of docs/survey-scale.md, from the numbers behind it. */
static void
test_syn_example_line(void **state)
{
	(void)state;
	struct toride_survey_progress p = {
		.total = 1000000, .done = 370000, .in_flight = 812, .open = 3827, .findings_fail = 17,
		.elapsed = 42.7, .syn = true, .sent = 1234567, .send_rate = 29400, .replies = 4321,
		.queued = 120, .eta = 70.2,
	};
	/* 3827 / 1234567 = 0.30999 % -> 0.31 %; eta 70.2 s rounds up to 1:11. */
	expect_line(&p, "0:42 37% (1:11 left); sent 1,234,567 29.4 Kp/s; replies 4,321 (hits 0.31%); "
			"checks 812 in flight, 120 queued; findings 17");
}

/* Connect path: "conn/s"; past an hour h:mm:ss; unknown ETA omitted; nothing sent yet. */
static void
test_connect_path_and_unknowns(void **state)
{
	(void)state;
	struct toride_survey_progress p = {
		.total = 50, .done = 0, .elapsed = 3725.9, .eta = -1,
	};
	expect_line(&p, "1:02:05 0%; sent 0 0 conn/s; replies 0 (hits 0.00%); checks 0 in flight, 0 queued; findings 0");
	p.eta = NAN;
	p.elapsed = -3;
	expect_line(&p, "0:00 0%; sent 0 0 conn/s; replies 0 (hits 0.00%); checks 0 in flight, 0 queued; findings 0");
	p.eta = INFINITY;
	p.elapsed = 59.99;
	p.sent = 999;
	p.open = 999;
	p.replies = 1000;
	p.send_rate = 999.4;
	expect_line(&p, "0:59 0%; sent 999 999 conn/s; replies 1,000 (hits 100.00%); checks 0 in flight, 0 queued; findings 0");
}

/* Units switch at the rounding points; percent rounds down; ETA rounds up; big counters. */
static void
test_units_and_rounding(void **state)
{
	(void)state;
	struct toride_survey_progress p = {
		.total = 1000, .done = 999, .syn = true, .send_rate = 999.6, .eta = 0.2, .elapsed = 600,
		.sent = 1000, .open = 1,
	};
	expect_line(&p, "10:00 99% (0:01 left); sent 1,000 1.0 Kp/s; replies 0 (hits 0.10%); checks 0 in flight, 0 queued; findings 0");
	p.syn = false;
	p.send_rate = 999949;
	p.done = 1000;
	p.eta = 0;
	expect_line(&p, "10:00 100% (0:00 left); sent 1,000 999.9 Kconn/s; replies 0 (hits 0.10%); checks 0 in flight, 0 queued; findings 0");
	p.syn = true;
	p.send_rate = 1490000;
	p.done = 2000; /* more than total (a re-queued pair counted twice) is still 100 % */
	p.eta = 7200.1;
	p.sent = UINT64_MAX;
	p.replies = 1000000;
	p.in_flight = 65536;
	p.queued = 123456789;
	p.findings_fail = 1001;
	p.elapsed = 86400 * 3 + 1;
	expect_line(&p, "72:00:01 100% (2:00:01 left); sent 18,446,744,073,709,551,615 1.5 Mp/s; replies 1,000,000 "
			"(hits 0.00%); checks 65,536 in flight, 123,456,789 queued; findings 1,001");
	/* An empty scope is done from the start. */
	struct toride_survey_progress empty = {.eta = -1};
	expect_line(&empty, "0:00 100%; sent 0 0 conn/s; replies 0 (hits 0.00%); checks 0 in flight, 0 queued; findings 0");
}

/* A short buffer gets a NUL-terminated prefix and TORIDE_ETOOBIG; bad arguments TORIDE_EINVAL. */
static void
test_short_buffer_and_bad_arguments(void **state)
{
	(void)state;
	struct toride_survey_progress p = {.total = 4, .done = 1, .elapsed = 5, .eta = 15};
	char out[12];
	assert_int_equal(toride_survey_status_format(out, sizeof out, &p), TORIDE_ETOOBIG);
	assert_string_equal(out, "0:05 25% (0");
	assert_int_equal(toride_survey_status_format(out, 0, &p), TORIDE_EINVAL);
	assert_int_equal(toride_survey_status_format(NULL, sizeof out, &p), TORIDE_EINVAL);
	assert_int_equal(toride_survey_status_format(out, sizeof out, NULL), TORIDE_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_example_line),
		cmocka_unit_test(test_connect_path_and_unknowns),
		cmocka_unit_test(test_units_and_rounding),
		cmocka_unit_test(test_short_buffer_and_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
