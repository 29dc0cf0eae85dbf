/* The survey status line (status.h). */
#include "survey/status.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "core/error.h"

/* "18,446,744,073,709,551,615" is 26 bytes; 32 with the NUL and room to spare. */
#define STATUS_COUNT_MAX 32
/* The longest clock is STATUS_CLOCK_CAP, "9999:59:59" (10 bytes); 32 leaves room. */
#define STATUS_CLOCK_MAX 32
/* Clocks stop at 9999:59:59 (over a year): a bigger value is a bug or garbage, not a survey. */
#define STATUS_CLOCK_CAP (9999.0 * 3600 + 3599)

/* n with a comma every three digits. */
static void
fmt_count(char out[STATUS_COUNT_MAX], uint64_t n)
{
	char digits[24];
	int nd = snprintf(digits, sizeof digits, "%" PRIu64, n);
	size_t o = 0;
	for (int i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* Seconds as m:ss, or h:mm:ss from an hour on. Negative or not a number counts as 0. */
static void
fmt_clock(char out[STATUS_CLOCK_MAX], double seconds)
{
	if (!(seconds > 0))
		seconds = 0;
	if (seconds > STATUS_CLOCK_CAP)
		seconds = STATUS_CLOCK_CAP;
	unsigned long s = (unsigned long)seconds;
	if (s >= 3600)
		snprintf(out, STATUS_CLOCK_MAX, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, STATUS_CLOCK_MAX, "%lu:%02lu", s / 60, s % 60);
}

int
toride_survey_status_format(char *out, size_t len, const struct toride_survey_progress *p)
{
	char elapsed[STATUS_CLOCK_MAX], left[STATUS_CLOCK_MAX + 16] = "", sent[STATUS_COUNT_MAX];
	char replies[STATUS_COUNT_MAX], flight[STATUS_COUNT_MAX], queued[STATUS_COUNT_MAX];
	char findings[STATUS_COUNT_MAX], rate[32];

	if (out == NULL || len == 0 || p == NULL)
		return TORIDE_EINVAL;
	fmt_clock(elapsed, p->elapsed);
	/* Whole percent rounded down: 100 % only when everything is done. */
	unsigned pct = 100;
	if (p->total > 0 && p->done < p->total)
		pct = (unsigned)((long double)p->done * 100 / (long double)p->total);
	if (p->eta >= 0 && isfinite(p->eta)) {
		char c[STATUS_CLOCK_MAX];
		/* Rounded up: never "0:00 left" while work remains. */
		fmt_clock(c, ceil(p->eta));
		snprintf(left, sizeof left, " (%s left)", c);
	}
	const char *unit = p->syn ? "p/s" : "conn/s";
	double r = p->send_rate > 0 && isfinite(p->send_rate) ? p->send_rate : 0;
	/* Thresholds at the rounding points so that "%.0f" never prints 1000 and "%.1f" never 1000.0. */
	if (r < 999.5)
		snprintf(rate, sizeof rate, "%.0f %s", r, unit);
	else if (r < 999950)
		snprintf(rate, sizeof rate, "%.1f K%s", r / 1e3, unit);
	else if (r < 1e15)
		snprintf(rate, sizeof rate, "%.1f M%s", r / 1e6, unit);
	else
		snprintf(rate, sizeof rate, "? %s", unit);
	double hits = p->sent > 0 ? 100.0 * (double)p->open / (double)p->sent : 0;
	fmt_count(sent, p->sent);
	fmt_count(replies, p->replies);
	fmt_count(flight, p->in_flight);
	fmt_count(queued, p->queued);
	fmt_count(findings, p->findings_fail);
	int n = snprintf(out, len, "%s %u%%%s; sent %s %s; replies %s (hits %.2f%%); checks %s in flight, %s queued; findings %s",
	                 elapsed, pct, left, sent, rate, replies, hits, flight, queued, findings);
	if (n < 0)
		return TORIDE_EINVAL;
	return (size_t)n >= len ? TORIDE_ETOOBIG : 0;
}
