/* CSV report: one row per finding, RFC 4180 (CRLF line ends, quoted cells, "" for a quote). */
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

/* A quoted cell. A cell that a spreadsheet would read as a formula (starting with = + - @, or TAB
 * or CR which some spreadsheets strip first) gets a leading ' so it stays text (OWASP "CSV
 * injection"): banners and passwords are chosen by whoever runs the device. */
static void
put_cell(FILE *out, const char *s, bool first)
{
	if (!first)
		fputc(',', out);
	fputc('"', out);
	if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')
		fputc('\'', out);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

int
toride_report_render_csv(const json_t *model, FILE *out)
{
	static const char *const header[] = {
		"survey", "addr", "port", "proto", "requirement", "title", "verdict", "proof", "user", "password",
		"vendor", "product", "device_type", "summary", "started", "ended", "time", "sensor",
		"transcript_excerpt",
	};
	const char *survey = toride_report_str(json_object_get(model, "survey"), "id");
	size_t i;
	const json_t *f;

	for (size_t h = 0; h < sizeof header / sizeof header[0]; h++)
		fprintf(out, "%s%s", h ? "," : "", header[h]);
	fputs("\r\n", out);
	json_array_foreach(json_object_get(model, "findings"), i, f) {
		const json_t *cred = json_object_get(f, "credential");
		const json_t *dev = json_object_get(f, "device");
		const json_t *ev = json_object_get(f, "evidence");
		put_cell(out, survey, true);
		put_cell(out, toride_report_str(f, "addr"), false);
		/* The port is a number we validated on store: no quoting needed or wanted. */
		fprintf(out, ",%lld", toride_report_int(f, "port"));
		put_cell(out, toride_report_str(f, "proto"), false);
		put_cell(out, toride_report_str(f, "requirement"), false);
		put_cell(out, toride_report_str(f, "title"), false);
		put_cell(out, toride_report_str(f, "verdict"), false);
		put_cell(out, toride_report_str(f, "proof"), false);
		put_cell(out, toride_report_str(cred, "user"), false);
		put_cell(out, toride_report_str(cred, "password"), false);
		put_cell(out, toride_report_str(dev, "vendor"), false);
		put_cell(out, toride_report_str(dev, "product"), false);
		put_cell(out, toride_report_str(dev, "type"), false);
		put_cell(out, toride_report_str(f, "summary"), false);
		put_cell(out, toride_report_str(ev, "started"), false);
		put_cell(out, toride_report_str(ev, "ended"), false);
		put_cell(out, toride_report_str(f, "time"), false);
		put_cell(out, toride_report_str(f, "sensor"), false);
		put_cell(out, toride_report_str(ev, "transcript"), false);
		fputs("\r\n", out);
	}
	return ferror(out) ? TORIDE_EIO : 0;
}
