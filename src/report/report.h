/*
 * Survey reports (`toride report`): a model built from the store, rendered as text, JSON, CSV or
 * one self-contained HTML page. The model is a JSON object (documented in docs/schema.md, "report
 * model") so the JSON format is simply the model, and every other format renders the same facts.
 */
#ifndef TORIDE_REPORT_REPORT_H
#define TORIDE_REPORT_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "core/catalog.h"
#include "store/store.h"

/* Transcript bytes (escaped text) shown per finding in text, CSV and HTML reports: enough for the
 * login exchange and the marker echo that prove a finding; the full transcript stays in the
 * database and in the JSON report. */
#define TORIDE_REPORT_EXCERPT_MAX 1024

enum toride_report_format {
	TORIDE_REPORT_TEXT,
	TORIDE_REPORT_JSON,
	TORIDE_REPORT_CSV,
	TORIDE_REPORT_HTML,
};

/* "text", "json", "csv" or "html" to a format; TORIDE_EINVAL for anything else. */
int toride_report_format_parse(const char *name, enum toride_report_format *out);

/* Build the report model of one survey: {report, generator, survey, probes, observations,
 * failing_devices, requirements[], by_protocol[], by_device_type[], findings[]}. requirements
 * lists every catalog entry in catalog order with its fail/pass/unknown counts, followed by any
 * requirement id found in the store but missing from the catalog (title null). findings holds
 * every finding (all verdicts), ordered by address, port, requirement; a finding's device falls
 * back to the address's fingerprint observation when the finding names none. excerpt_max > 0
 * cuts each transcript to that many bytes (never inside an escape sequence) and sets
 * "transcript_truncated"; 0 keeps it whole. cat may be NULL (no titles). Returns 0,
 * TORIDE_ENOTFOUND (no such survey), TORIDE_EDB or TORIDE_ENOMEM. */
int toride_report_build(struct toride_store *st, const char *survey, const struct toride_catalog *cat,
			size_t excerpt_max, json_t **model_out);

/* Render a model built by toride_report_build to out. Text shows the failing findings in detail;
 * CSV has one row per finding (RFC 4180, CRLF, every text cell quoted, cells starting with
 * = + - @ TAB CR prefixed with ' against formula injection); HTML is one page with inline CSS and
 * SVG and no external resource, all strings escaped. Control bytes in stored strings are shown
 * escaped (\xHH) in text output so a hostile banner cannot drive the terminal. Returns 0 or
 * TORIDE_EIO (write failed), TORIDE_EINVAL (bad format). */
int toride_report_render(const json_t *model, enum toride_report_format fmt, FILE *out);

/* Build and render in one call, with the excerpt size the format needs (JSON: full). */
int toride_report_write(struct toride_store *st, const char *survey, const struct toride_catalog *cat,
			enum toride_report_format fmt, FILE *out);

/* Renderers (report_text.c, report_csv.c, report_html.c); same contract as toride_report_render. */
int toride_report_render_text(const json_t *model, FILE *out);
int toride_report_render_csv(const json_t *model, FILE *out);
int toride_report_render_html(const json_t *model, FILE *out);

/* Helpers shared by the renderers: a member as a string ("" if absent/not a string) and as an
 * integer (0 if absent). */
const char *toride_report_str(const json_t *obj, const char *key);
long long toride_report_int(const json_t *obj, const char *key);

#endif
