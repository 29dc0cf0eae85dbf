/*
 * HTML report: one self-contained page. Inline CSS and inline SVG only; a Content-Security-Policy
 * that forbids every external resource and every script, so even a missed escape could not load
 * or run anything. Every string from the database goes through put_html.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

/* Geometry of the bar charts, in SVG user units. */
#define CHART_LABEL_W 170
#define CHART_BAR_W 420
#define CHART_ROW_H 24
#define CHART_COUNT_W 120

static void
put_html(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			/* Control characters are not allowed in HTML text: show them as escapes. */
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
}

static void
put_dd(FILE *out, const char *label, const char *value)
{
	fprintf(out, "<tr><th>%s</th><td>", label);
	put_html(out, value[0] ? value : "-");
	fputs("</td></tr>\n", out);
}

static void
put_value(FILE *out, const json_t *v)
{
	if (json_is_string(v)) {
		put_html(out, json_string_value(v));
		return;
	}
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	put_html(out, t != NULL ? t : "?");
	free(t);
}

/* A horizontal stacked bar chart of fail/pass/unknown per row of rows[key]. */
static void
put_chart(FILE *out, const char *title, const json_t *rows, const char *key)
{
	size_t i, n = json_array_size(rows);
	const json_t *r;
	long long max = 1;
	json_array_foreach(rows, i, r) {
		long long t = toride_report_int(r, "fail") + toride_report_int(r, "pass") + toride_report_int(r, "unknown");
		if (t > max)
			max = t;
	}
	int h = (int)(n + 1) * CHART_ROW_H + 8;
	int w = CHART_LABEL_W + CHART_BAR_W + CHART_COUNT_W;
	fprintf(out, "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\"><title>", w, h, w, h);
	put_html(out, title);
	fputs("</title>\n", out);
	json_array_foreach(rows, i, r) {
		long long v[3] = {toride_report_int(r, "fail"), toride_report_int(r, "pass"), toride_report_int(r, "unknown")};
		static const char *const cls[3] = {"fail", "pass", "unknown"};
		int y = (int)i * CHART_ROW_H + 4;
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", CHART_LABEL_W - 8, y + 16);
		put_html(out, toride_report_str(r, key));
		fputs("</text>", out);
		double x = CHART_LABEL_W;
		for (int k = 0; k < 3; k++) {
			double bw = (double)v[k] * CHART_BAR_W / (double)max;
			if (v[k] > 0)
				fprintf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>", cls[k], x,
					y + 2, bw, CHART_ROW_H - 6);
			x += bw;
		}
		fprintf(out, "<text x=\"%.1f\" y=\"%d\">%lld / %lld / %lld</text>\n", x + 6, y + 16, v[0], v[1], v[2]);
	}
	int ly = (int)n * CHART_ROW_H + 20;
	fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"legend\">fail / pass / unknown</text>", CHART_LABEL_W, ly);
	fputs("</svg>\n", out);
}

static void
put_count_table(FILE *out, const char *heading, const json_t *rows, const char *key)
{
	size_t i;
	const json_t *r;
	fprintf(out, "<table class=\"counts\"><tr><th>%s</th><th>fail</th><th>pass</th><th>unknown</th></tr>\n", heading);
	json_array_foreach(rows, i, r) {
		fputs("<tr><td>", out);
		put_html(out, toride_report_str(r, key));
		fprintf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n",
			toride_report_int(r, "fail"), toride_report_int(r, "pass"), toride_report_int(r, "unknown"));
	}
	if (json_array_size(rows) == 0)
		fputs("<tr><td colspan=\"4\">no findings</td></tr>\n", out);
	fputs("</table>\n", out);
}

static void
put_list(FILE *out, const char *scheme, const json_t *arr)
{
	if (json_array_size(arr) == 0)
		return;
	size_t i;
	const json_t *e;
	fprintf(out, "<span class=\"map\">%s ", scheme);
	json_array_foreach(arr, i, e) {
		if (i > 0)
			fputs(", ", out);
		put_html(out, json_string_value(e) ? json_string_value(e) : "");
	}
	fputs("</span> ", out);
}

static void
put_requirements(FILE *out, const json_t *reqs)
{
	size_t i;
	const json_t *r;
	fputs("<table class=\"reqs\"><tr><th>requirement</th><th>title</th><th>severity</th><th>fail</th><th>pass</th>"
	      "<th>unknown</th><th>mapped to</th></tr>\n", out);
	json_array_foreach(reqs, i, r) {
		const json_t *m = json_object_get(r, "mappings");
		fputs("<tr><td>", out);
		put_html(out, toride_report_str(r, "id"));
		fputs("</td><td>", out);
		put_html(out, toride_report_str(r, "title")[0] ? toride_report_str(r, "title") : "(not in catalog)");
		fputs("<br><span lang=\"ja\">", out);
		put_html(out, toride_report_str(r, "title_ja"));
		fputs("</span></td><td>", out);
		put_html(out, toride_report_str(r, "severity"));
		fprintf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
			toride_report_int(r, "fail"), toride_report_int(r, "pass"), toride_report_int(r, "unknown"));
		put_list(out, "ETSI EN 303 645", json_object_get(m, "etsi_en_303_645"));
		put_list(out, "JC-STAR ★1", json_object_get(m, "jc_star_1"));
		put_list(out, "UK PSTI", json_object_get(m, "uk_psti"));
		put_list(out, "NISTIR 8259A", json_object_get(m, "nistir_8259a"));
		put_list(out, "NISTIR 8425", json_object_get(m, "nistir_8425"));
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void
put_finding(FILE *out, const json_t *f)
{
	const json_t *dev = json_object_get(f, "device");
	const json_t *cred = json_object_get(f, "credential");
	const json_t *ev = json_object_get(f, "evidence");
	fputs("<article class=\"finding\"><h3>", out);
	put_html(out, toride_report_str(f, "addr"));
	fprintf(out, " port %lld/", toride_report_int(f, "port"));
	put_html(out, toride_report_str(f, "proto")[0] ? toride_report_str(f, "proto") : "unknown");
	fputs(" &mdash; ", out);
	put_html(out, toride_report_str(f, "requirement"));
	fputs(" <span class=\"badge\">FAIL</span></h3>\n<table>\n", out);
	fputs("<tr><th>requirement</th><td>", out);
	put_html(out, toride_report_str(f, "title"));
	fputs("<br><span lang=\"ja\">", out);
	put_html(out, toride_report_str(f, "title_ja"));
	fputs("</span></td></tr>\n", out);
	put_dd(out, "summary", toride_report_str(f, "summary"));
	if (json_is_object(cred)) {
		fputs("<tr><th>credential</th><td><code>", out);
		put_html(out, toride_report_str(cred, "user"));
		fputs("</code> / <code>", out);
		put_html(out, toride_report_str(cred, "password"));
		fputs("</code></td></tr>\n", out);
	}
	put_dd(out, "proof", toride_report_str(f, "proof"));
	put_dd(out, "vendor", toride_report_str(dev, "vendor"));
	put_dd(out, "product", toride_report_str(dev, "product"));
	put_dd(out, "device type", toride_report_str(dev, "type"));
	put_dd(out, "started", toride_report_str(ev, "started"));
	put_dd(out, "ended", toride_report_str(ev, "ended"));
	if (toride_report_str(ev, "marker")[0])
		put_dd(out, "marker", toride_report_str(ev, "marker"));
	if (toride_report_str(ev, "note")[0])
		put_dd(out, "note", toride_report_str(ev, "note"));
	put_dd(out, "sensor", toride_report_str(f, "sensor"));
	fputs("</table>\n", out);
	const char *tr = toride_report_str(ev, "transcript");
	if (tr[0]) {
		fprintf(out, "<p class=\"small\">transcript (escaped bytes, %lld in total%s)</p><pre>",
			toride_report_int(ev, "transcript_bytes"),
			json_is_true(json_object_get(ev, "transcript_truncated")) ? "; excerpt" : "");
		/* One line per "\n" escape so the session reads naturally. */
		for (const char *p = tr; *p != '\0'; p++) {
			char one[2] = {*p, '\0'};
			if (p[0] == '\\' && p[1] == 'n') {
				fputs("\\n\n", out);
				p++;
			} else if (p[0] == '\\' && p[1] != '\0') {
				fputc(p[0], out);
				put_html(out, (char[2]){p[1], '\0'});
				p++;
			} else {
				put_html(out, one);
			}
		}
		fputs("</pre>\n", out);
	}
	fputs("</article>\n", out);
}

static const char style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;"
	"margin:2em auto;max-width:70em;color:#222;padding:0 1em}"
	"h1{border-bottom:3px solid #333}h2{margin-top:2em;border-bottom:1px solid #aaa}"
	"table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;"
	"text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"pre{background:#f5f5f5;border:1px solid #ddd;padding:.5em;overflow-x:auto;white-space:pre-wrap;"
	"word-break:break-all}.finding{border-left:4px solid #c0392b;padding-left:1em;margin:1.5em 0}"
	".badge{background:#c0392b;color:#fff;border-radius:3px;padding:0 .4em;font-size:.8em}"
	".small{font-size:.85em;color:#555}.map{white-space:nowrap;font-size:.85em}"
	"svg.chart text{font-size:12px;font-family:inherit}svg .fail{fill:#c0392b}svg .pass{fill:#27ae60}"
	"svg .unknown{fill:#95a5a6}svg .legend{fill:#555}";

int
toride_report_render_html(const json_t *model, FILE *out)
{
	const json_t *sv = json_object_get(model, "survey");
	const json_t *params = json_object_get(sv, "params");
	const json_t *probes = json_object_get(model, "probes");
	const json_t *obs = json_object_get(model, "observations");
	size_t i, n = 0;
	const json_t *f;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	      "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "toride survey report: ", out);
	put_html(out, toride_report_str(sv, "id"));
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
	fputs("<h1>toride survey report <span lang=\"ja\">（調査報告）</span></h1>\n<h2>Survey</h2>\n<table>\n", out);
	put_dd(out, "id", toride_report_str(sv, "id"));
	put_dd(out, "status", toride_report_str(sv, "status"));
	put_dd(out, "started", toride_report_str(sv, "started"));
	put_dd(out, "ended", toride_report_str(sv, "ended"));
	put_dd(out, "sensor", toride_report_str(sv, "sensor"));
	if (json_is_object(params)) {
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)params, k, v) {
			fputs("<tr><th>", out);
			put_html(out, k);
			fputs("</th><td>", out);
			put_value(out, v);
			fputs("</td></tr>\n", out);
		}
	}
	fputs("</table>\n<h2>Summary</h2>\n<table>\n", out);
	fprintf(out, "<tr><th>probes</th><td>%lld total, %lld open, %lld closed, %lld timeout, %lld error</td></tr>\n",
		toride_report_int(probes, "total"), toride_report_int(probes, "open"), toride_report_int(probes, "closed"),
		toride_report_int(probes, "timeout"), toride_report_int(probes, "error"));
	fprintf(out, "<tr><th>observed</th><td>%lld services, %lld fingerprints, %lld login attempts</td></tr>\n",
		toride_report_int(obs, "services"), toride_report_int(obs, "fingerprints"),
		toride_report_int(obs, "login_attempts"));
	fprintf(out, "<tr><th>failing devices</th><td>%lld</td></tr>\n</table>\n",
		toride_report_int(model, "failing_devices"));

	fputs("<h2>Findings per requirement <span lang=\"ja\">（要件別）</span></h2>\n", out);
	put_chart(out, "Findings per requirement", json_object_get(model, "requirements"), "id");
	put_requirements(out, json_object_get(model, "requirements"));
	fputs("<h2>Findings per protocol</h2>\n", out);
	put_chart(out, "Findings per protocol", json_object_get(model, "by_protocol"), "proto");
	put_count_table(out, "protocol", json_object_get(model, "by_protocol"), "proto");
	fputs("<h2>Findings per device type</h2>\n", out);
	put_count_table(out, "device type", json_object_get(model, "by_device_type"), "type");

	fputs("<h2>Failing devices with evidence <span lang=\"ja\">（不適合機器と証跡）</span></h2>\n", out);
	json_array_foreach(json_object_get(model, "findings"), i, f) {
		if (strcmp(toride_report_str(f, "verdict"), "fail") == 0) {
			put_finding(out, f);
			n++;
		}
	}
	if (n == 0)
		fputs("<p>No failing device.</p>\n", out);
	fprintf(out, "<footer class=\"small\"><p>Generated by ");
	put_html(out, toride_report_str(model, "generator"));
	fputs(". Credentials shown are public factory defaults; evidence is kept in the survey database.</p>"
	      "</footer>\n</body>\n</html>\n", out);
	return ferror(out) ? TORIDE_EIO : 0;
}
