/* Plain-text report: aligned tables for the counts, then each failing finding with its evidence. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

/* Write s so that it cannot drive a terminal: C0 controls, DEL and the C1 controls (UTF-8
 * C2 80..C2 9F, e.g. the 8-bit CSI) are shown as \xHH; other UTF-8 (Japanese titles) passes. */
static void
put_safe(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(out, "\\x%02x\\x%02x", p[0], p[1]);
			p++;
		} else {
			fputc(*p, out);
		}
	}
}

/* Text width of an ASCII-or-not string for column alignment: counts UTF-8 characters. */
static int
text_width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;
	return w;
}

static void
put_padded(FILE *out, const char *s, int width)
{
	put_safe(out, s);
	for (int w = text_width(s); w < width; w++)
		fputc(' ', out);
}

static void
put_value(FILE *out, const json_t *v)
{
	if (json_is_string(v)) {
		put_safe(out, json_string_value(v));
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			if (i > 0)
				fputs(", ", out);
			put_value(out, e);
		}
	} else if (json_is_null(v) || v == NULL || json_is_array(v)) {
		fputs(json_is_array(v) ? "(none)" : "-", out);
	} else {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		put_safe(out, t != NULL ? t : "?");
		free(t);
	}
}

static void
put_field(FILE *out, const char *label, const char *value)
{
	fprintf(out, "  %-16s", label);
	put_safe(out, value[0] ? value : "-");
	fputc('\n', out);
}

/* A verdict table: label column then fail/pass/unknown. */
static void
put_table(FILE *out, const char *heading, const json_t *rows, const char *key)
{
	int w = (int)strlen(heading);
	size_t i;
	const json_t *r;
	json_array_foreach(rows, i, r) {
		int tw = text_width(toride_report_str(r, key));
		if (tw > w)
			w = tw;
	}
	fprintf(out, "  %-*s  %6s %6s %8s\n", w, heading, "fail", "pass", "unknown");
	if (json_array_size(rows) == 0)
		fprintf(out, "  (no findings)\n");
	json_array_foreach(rows, i, r) {
		fputs("  ", out);
		put_padded(out, toride_report_str(r, key), w);
		fprintf(out, "  %6lld %6lld %8lld\n", toride_report_int(r, "fail"), toride_report_int(r, "pass"),
			toride_report_int(r, "unknown"));
	}
}

/* Transcript excerpt, one output line per "\n" escape so the exchange reads like a session. */
static void
put_transcript(FILE *out, const char *t, bool truncated)
{
	bool line_start = true;
	for (const char *p = t; *p != '\0'; p++) {
		if (line_start)
			fputs("    | ", out);
		line_start = false;
		if (p[0] == '\\' && p[1] == 'n') {
			fputs("\\n\n", out);
			p++;
			line_start = true;
			continue;
		}
		if (p[0] == '\\' && p[1] != '\0') {
			/* keep every other escape as written (\\, \r, \t, \xHH) */
			fputc(p[0], out);
			fputc(p[1], out);
			p++;
			continue;
		}
		unsigned char c = (unsigned char)p[0], d = (unsigned char)p[1];
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\x%02x", c);
		} else if (c == 0xc2 && d >= 0x80 && d <= 0x9f) {
			fprintf(out, "\\x%02x\\x%02x", c, d); /* C1 control, e.g. 8-bit CSI */
			p++;
		} else {
			fputc(c, out);
		}
	}
	if (!line_start)
		fputc('\n', out);
	if (truncated)
		fputs("    | ... (excerpt; full transcript in the database and the JSON report)\n", out);
}

static void
put_finding(FILE *out, size_t n, const json_t *f)
{
	const json_t *dev = json_object_get(f, "device");
	const json_t *cred = json_object_get(f, "credential");
	const json_t *ev = json_object_get(f, "evidence");

	fprintf(out, "\n[%zu] ", n);
	put_safe(out, toride_report_str(f, "addr"));
	fprintf(out, " port %lld/", toride_report_int(f, "port"));
	put_safe(out, toride_report_str(f, "proto")[0] ? toride_report_str(f, "proto") : "unknown");
	fputs("  ", out);
	put_safe(out, toride_report_str(f, "requirement"));
	fputs(" FAIL\n", out);
	put_field(out, "requirement", toride_report_str(f, "title"));
	put_field(out, "", toride_report_str(f, "title_ja"));
	put_field(out, "summary", toride_report_str(f, "summary"));
	if (json_is_object(cred)) {
		fprintf(out, "  %-16s", "credential");
		put_safe(out, toride_report_str(cred, "user"));
		fputs(" / ", out);
		put_safe(out, toride_report_str(cred, "password"));
		fputc('\n', out);
	}
	put_field(out, "proof", toride_report_str(f, "proof"));
	fprintf(out, "  %-16s", "device");
	const char *v = toride_report_str(dev, "vendor"), *p = toride_report_str(dev, "product"),
		   *t = toride_report_str(dev, "type");
	if (!v[0] && !p[0] && !t[0]) {
		fputs("not identified\n", out);
	} else {
		put_safe(out, v[0] ? v : "?");
		fputc(' ', out);
		put_safe(out, p[0] ? p : "?");
		fputs(" (", out);
		put_safe(out, t[0] ? t : "type unknown");
		fputs(")\n", out);
	}
	put_field(out, "started", toride_report_str(ev, "started"));
	put_field(out, "ended", toride_report_str(ev, "ended"));
	if (toride_report_str(ev, "marker")[0])
		put_field(out, "marker", toride_report_str(ev, "marker"));
	if (toride_report_str(ev, "note")[0])
		put_field(out, "note", toride_report_str(ev, "note"));
	put_field(out, "sensor", toride_report_str(f, "sensor"));
	const char *tr = toride_report_str(ev, "transcript");
	if (tr[0]) {
		fprintf(out, "  transcript (escaped bytes, %lld in total):\n", toride_report_int(ev, "transcript_bytes"));
		put_transcript(out, tr, json_is_true(json_object_get(ev, "transcript_truncated")));
	}
}

int
toride_report_render_text(const json_t *model, FILE *out)
{
	const json_t *sv = json_object_get(model, "survey");
	const json_t *params = json_object_get(sv, "params");
	const json_t *probes = json_object_get(model, "probes");
	const json_t *obs = json_object_get(model, "observations");
	size_t i;
	const json_t *r;

	fputs("toride survey report\n====================\n\nSurvey\n", out);
	put_field(out, "id", toride_report_str(sv, "id"));
	put_field(out, "status", toride_report_str(sv, "status"));
	put_field(out, "started", toride_report_str(sv, "started"));
	put_field(out, "ended", toride_report_str(sv, "ended"));
	put_field(out, "sensor", toride_report_str(sv, "sensor"));
	if (json_is_object(params)) {
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)params, k, v) {
			fputs("  ", out);
			put_padded(out, k, 16);
			put_value(out, v);
			fputc('\n', out);
		}
	}
	fprintf(out, "\nProbes: %lld total, %lld open, %lld closed, %lld timeout, %lld error\n",
		toride_report_int(probes, "total"), toride_report_int(probes, "open"), toride_report_int(probes, "closed"),
		toride_report_int(probes, "timeout"), toride_report_int(probes, "error"));
	fprintf(out, "Observed: %lld services, %lld fingerprints, %lld login attempts\n",
		toride_report_int(obs, "services"), toride_report_int(obs, "fingerprints"),
		toride_report_int(obs, "login_attempts"));
	fprintf(out, "Failing devices (addresses with at least one failed requirement): %lld\n",
		toride_report_int(model, "failing_devices"));

	fputs("\nFindings per requirement\n", out);
	const json_t *reqs = json_object_get(model, "requirements");
	int w = (int)strlen("requirement");
	json_array_foreach(reqs, i, r) {
		int tw = text_width(toride_report_str(r, "id"));
		if (tw > w)
			w = tw;
	}
	fprintf(out, "  %-*s  %6s %6s %8s  %-8s  %s\n", w, "requirement", "fail", "pass", "unknown", "severity", "title");
	json_array_foreach(reqs, i, r) {
		long long fl = toride_report_int(r, "fail"), ps = toride_report_int(r, "pass"),
			  un = toride_report_int(r, "unknown");
		fputs("  ", out);
		put_padded(out, toride_report_str(r, "id"), w);
		fprintf(out, "  %6lld %6lld %8lld  ", fl, ps, un);
		put_padded(out, toride_report_str(r, "severity")[0] ? toride_report_str(r, "severity") : "-", 8);
		fputs("  ", out);
		put_safe(out, toride_report_str(r, "title")[0] ? toride_report_str(r, "title") : "(not in catalog)");
		if (fl + ps + un == 0)
			fputs(" [not checked]", out);
		fputc('\n', out);
		if (toride_report_str(r, "title_ja")[0]) {
			/* under the title column: id, 2, "fail pass unknown" (22), 2, severity (8), 2 */
			fprintf(out, "  %*s", w + 2 + 22 + 2 + 8 + 2, "");
			put_safe(out, toride_report_str(r, "title_ja"));
			fputc('\n', out);
		}
	}
	fputs("\nFindings per protocol\n", out);
	put_table(out, "protocol", json_object_get(model, "by_protocol"), "proto");
	fputs("\nFindings per device type\n", out);
	put_table(out, "device type", json_object_get(model, "by_device_type"), "type");

	fputs("\nFailing devices with evidence\n-----------------------------\n", out);
	size_t n = 0;
	json_array_foreach(json_object_get(model, "findings"), i, r) {
		if (strcmp(toride_report_str(r, "verdict"), "fail") == 0)
			put_finding(out, ++n, r);
	}
	if (n == 0)
		fputs("(none)\n", out);
	return ferror(out) ? TORIDE_EIO : 0;
}
