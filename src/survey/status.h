/*
 * The survey status line (docs/survey-scale.md "Progress and resume"), ZMap-like:
 *
 *   0:42 37% (1:11 left); sent 1,234,567 29.4 Kp/s; replies 4,321 (hits 0.31%); checks 812 in flight, 120 queued; findings 17
 *
 * A pure formatter so that the command line only decides when and where to print it.
 */
#ifndef TORIDE_SURVEY_STATUS_H
#define TORIDE_SURVEY_STATUS_H

#include <stddef.h>

#include "survey/survey.h"

/* A buffer this long always holds the line: six 64-bit counters with separators (26 bytes each),
 * two clocks, a rate and the fixed words come to under 250 bytes. */
#define TORIDE_SURVEY_STATUS_MAX 256

/* Format p as one status line (no newline, no terminal codes) into out[len]:
 *   elapsed as m:ss (h:mm:ss from an hour on); done/total as a whole percent, rounded down (a
 *   survey with total 0 is 100 %); "(m:ss left)" from eta, rounded up, omitted when eta is < 0 or
 *   not finite; "sent" with thousands separators and send_rate with a unit: "p/s" on the SYN path
 *   (p->syn), "conn/s" on the connect path, "K" from 1,000 and "M" from 1,000,000 per second with
 *   one decimal; "replies"; hits = open / sent (pairs found open per probe sent; with several
 *   probes per pair this is per packet, as ZMap's is per target only when it knows the count);
 *   "checks" in_flight and queued; "findings" = findings_fail.
 * Returns 0, TORIDE_EINVAL (out or p NULL, or len 0) or TORIDE_ETOOBIG (the line was cut to fit;
 * out still holds a NUL-terminated prefix). */
int toride_survey_status_format(char *out, size_t len, const struct toride_survey_progress *p);

#endif
