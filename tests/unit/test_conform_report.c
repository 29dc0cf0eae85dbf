/*
 * The conform HTML report (src/conform/report_html.c) on the sample result documents of
 * tests/data/conform/: one row per requirement with the right verdict, catalog titles in both
 * languages, hostile evidence escaped, missing and mistyped fields tolerated; the shared HTML
 * escaper (core/escape.h); the PDF entry point's error when Chromium is missing.
 *
 * The program doubles as a small renderer for the integration test (until then and besides
 * `toride conform report`): test_conform_report --render RESULT.json OUT.html [OUT.pdf].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conform/conform.h"
#include "core/catalog.h"
#include "core/error.h"
#include "core/escape.h"

#define SAMPLES TORIDE_TEST_DATA "/conform/"

static json_t *
load(const char *name)
{
	char path[1024];
	json_error_t jerr;
	snprintf(path, sizeof path, "%s%s", SAMPLES, name);
	/* The hostile sample carries \u0000 inside strings. */
	json_t *j = json_load_file(path, JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	return j;
}

/* Renders to memory; the result is NUL-terminated and *len is its size (a NUL inside would make
 * strlen differ from it). */
static char *
render(const json_t *result, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	assert_int_equal(conform_report_html(result, f), 0);
	assert_int_equal(fclose(f), 0);
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
escaped(const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	toride_escape_html(f, s, strlen(s));
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t c = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		c++;
	return c;
}

/* The row of requirement id exists exactly once and carries verdict v. */
static void
assert_row(const char *html, const char *id, const char *v)
{
	char want[256], any[160];
	snprintf(any, sizeof any, "<tr data-requirement=\"%s\"", id);
	snprintf(want, sizeof want, "<tr data-requirement=\"%s\" data-verdict=\"%s\"", id, v);
	if (count(html, any) != 1)
		fail_msg("row %s appears %zu times", id, count(html, any));
	if (strstr(html, want) == NULL)
		fail_msg("row %s is not %s", id, v);
}

/* Nothing a device sent can be markup or a terminal/bidi control in the page. */
static void
assert_inert(const char *html, size_t len)
{
	assert_int_equal(strlen(html), len); /* no NUL byte */
	assert_null(strcasestr(html, "<script"));
	assert_null(strcasestr(html, "<img"));
	assert_null(strchr(html, 0x1b));
	assert_null(strchr(html, 0x07));
	assert_null(strstr(html, "\xe2\x80\xae")); /* U+202E */
	assert_null(strstr(html, "\xc2\x85"));     /* U+0085 */
	assert_null(strstr(html, "\xc2\x9b"));     /* U+009B */
	/* Self-contained: no script, and a CSP forbidding every external resource. */
	assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"));
	assert_null(strstr(html, "src=\""));
	assert_null(strcasestr(html, "<link"));
	assert_null(strcasestr(html, "<iframe"));
	assert_null(strstr(html, "href=\"http"));
}

/* The catalog's titles of the five requirements, in both languages, are in the page. */
static void
assert_titles(const char *html)
{
	struct toride_catalog *cat = NULL;
	char err[256];
	static const char *const ids[] = {"JP-34-10-1", "JP-34-10-2", "JP-34-10-3", "JP-34-10-4", "TORIDE-BRUTE"};
	assert_int_equal(toride_catalog_load(&cat, TORIDE_SOURCE_DIR "/data/catalog.json", err, sizeof err), 0);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		const struct toride_requirement *r = toride_catalog_get(cat, ids[i]);
		assert_non_null(r);
		char *en = escaped(r->title), *ja = escaped(r->title_ja);
		if (strstr(html, en) == NULL || strstr(html, ja) == NULL)
			fail_msg("titles of %s missing", ids[i]);
		free(en);
		free(ja);
	}
	toride_catalog_free(cat);
}

static void
test_deviced_pass(void **state)
{
	(void)state;
	json_t *r = load("deviced-pass.json");
	size_t len;
	char *html = render(r, &len);
	assert_inert(html, len);
	assert_titles(html);
	static const char *const ids[] = {"JP-34-10-1", "JP-34-10-2", "JP-34-10-3", "JP-34-10-4", "TORIDE-BRUTE"};
	for (size_t i = 0; i < 5; i++)
		assert_row(html, ids[i], "pass");
	assert_int_equal(count(html, "<tr data-requirement="), 5);
	assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"pass\""));
	/* Colour is never the only signal: the verdict is also words in both languages. */
	assert_non_null(strstr(html, "PASS <span lang=\"ja\">適合</span>"));
	assert_non_null(strstr(html, "<html lang=\"en\">"));
	/* Device identity, tool version, dates, clauses, reasons in both languages, measurements. */
	assert_non_null(strstr(html, "toride-deviced reference"));
	assert_non_null(strstr(html, "0.1.0"));
	assert_non_null(strstr(html, "2026-11-22T03:30:00.101Z"));
	assert_non_null(strstr(html, "S1.1-04"));
	assert_non_null(strstr(html, "5.1-5"));
	assert_non_null(strstr(html, "Schedule 1 para 1"));
	assert_non_null(strstr(html, "初期パスワードではパスワード変更のみ可能で"));
	assert_non_null(strstr(html, "guess_rate_per_min</th><td>2.4<"));
	/* Six check sections with their steps; no warning about the overall verdict. */
	assert_int_equal(count(html, "<section class=\"check\""), 6);
	assert_null(strstr(html, "class=\"warn\""));
	free(html);
	json_decref(r);
}

static void
test_busybox_fail(void **state)
{
	(void)state;
	json_t *r = load("busybox-telnetd-fail.json");
	size_t len;
	char *html = render(r, &len);
	assert_inert(html, len);
	assert_titles(html);
	assert_row(html, "JP-34-10-1", "pass");
	assert_row(html, "JP-34-10-2", "fail"); /* credentials and known-defaults both fail */
	assert_row(html, "JP-34-10-3", "unknown");
	assert_row(html, "JP-34-10-4", "unknown");
	assert_row(html, "TORIDE-BRUTE", "fail");
	assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"fail\""));
	assert_non_null(strstr(html, "FAIL <span lang=\"ja\">不適合</span>"));
	/* Hostile transcript bytes are visible as text, not interpreted. */
	assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;issue&#39;)&lt;/script&gt;"));
	assert_non_null(strstr(html, "\\x1b[31mRED"));
	assert_non_null(strstr(html, "\\u{202e}evil"));
	assert_non_null(strstr(html, "\\u{009b}2J"));
	assert_non_null(strstr(html, "&lt;img src=x"));
	assert_non_null(strstr(html, "玄関カメラ NC-200"));
	/* Escaped transcripts break at "\n" escapes; the 5000-byte line is cut with a note. */
	assert_non_null(strstr(html, "cam login: root\\r\\n\nPassword: "));
	char run[4100];
	memset(run, 'A', sizeof run - 1);
	run[sizeof run - 1] = '\0';
	assert_null(strstr(html, run));
	assert_non_null(strstr(html, "more bytes in result.json"));
	assert_non_null(strstr(html, "guess_rate_per_min</th><td>142<"));
	free(html);
	json_decref(r);
}

/* A result written by `toride conform run` (busybox telnetd, factory password admin/admin). */
static void
test_real_busybox(void **state)
{
	(void)state;
	json_t *r = load("real-busybox-telnetd-fail.json");
	size_t len;
	char *html = render(r, &len);
	assert_inert(html, len);
	assert_titles(html);
	assert_row(html, "JP-34-10-1", "pass");
	assert_row(html, "JP-34-10-2", "fail");
	assert_row(html, "JP-34-10-3", "unknown");
	assert_row(html, "JP-34-10-4", "unknown");
	assert_row(html, "TORIDE-BRUTE", "fail");
	assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"fail\""));
	assert_null(strstr(html, "class=\"warn\""));
	assert_int_equal(count(html, "<section class=\"check\""), 6);
	free(html);
	json_decref(r);
}

static void
test_hostile_types(void **state)
{
	(void)state;
	json_t *r = load("hostile-types.json");
	size_t len;
	char *html = render(r, &len);
	assert_inert(html, len);
	/* A verdict of "PASS" or "unknown\0pass" is not a pass; an unknown requirement id gets its own
	 * row, escaped inside the attribute; ids with a NUL fall into the "invalid" row. */
	assert_row(html, "JP-34-10-1", "pass");
	assert_row(html, "JP-34-10-4", "unknown");
	assert_row(html, "JP-34-10-3", "none");
	assert_row(html, "TORIDE-BRUTE", "na");
	assert_row(html, "JP-34-10-9&quot;&gt;&lt;script&gt;alert(&#39;req&#39;)&lt;/script&gt;", "fail");
	assert_row(html, "invalid", "unknown");
	assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"fail\""));
	/* The document's overall verdict is not valid: the page says so. */
	assert_non_null(strstr(html, "class=\"warn\""));
	/* NUL inside strings is shown, not a truncation point. */
	assert_non_null(strstr(html, "raw NUL:\\x00 after it"));
	assert_non_null(strstr(html, "nul \\x00 esc \\x1b[2J bidi \\u{202e} evil \\u{2066}x\\u{2069} c1 \\u{0085}"));
	assert_non_null(strstr(html, "trailing backslash \\<"));
	free(html);
	json_decref(r);
}

/* Escaped transcripts (toride_escape_bytes, as the engine stores them): Japanese in \\xHH shows as
 * text, everything else stays the escape it was; markup decoded from \\x3c stays inert. */
static void
test_escaped_evidence(void **state)
{
	(void)state;
	json_t *r = json_pack("{s:[{s:s, s:s, s:[{s:s}]}]}", "items", "requirement", "JP-34-10-1", "verdict", "pass",
	                      "steps", "evidence",
	                      "\\xe7\\x8e\\x84\\xe9\\x96\\xa2 login:\\r\\n\\xff\\xfd\\x01 \\x1b[0m "
	                      "\\xe2\\x80\\xae \\\\xe7\\x8e\\x84 \\x3cscript\\x3e \\x00 \\xe7\\x8e end");
	size_t len;
	char *html = render(r, &len);
	assert_inert(html, len);
	const char *want = "玄関 login:\\r\\n\n\\xff\\xfd\\x01 \\x1b[0m \\u{202e} \\\\xe7\\x8e\\x84 &lt;script&gt; "
	                   "\\x00 \\xe7\\x8e end</pre>";
	if (strstr(html, want) == NULL)
		fail_msg("evidence not rendered as expected:\n%s", strstr(html, "<pre") ? strstr(html, "<pre") : html);
	free(html);
	json_decref(r);
}

static void
test_missing_fields(void **state)
{
	(void)state;
	size_t len;
	/* Not an object at all, NULL, an empty object, an item with nothing but a requirement. */
	json_t *docs[] = {json_integer(5), NULL, json_object(), json_array(),
	                  json_pack("{s:[{s:s}]}", "items", "requirement", "JP-34-10-1")};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		char *html = render(docs[i], &len);
		assert_inert(html, len);
		assert_int_equal(count(html, "<tr data-requirement="), 5);
		assert_non_null(strstr(html, "—"));
		/* Nothing decided is never a pass. */
		assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"unknown\""));
		if (i == 4) {
			assert_row(html, "JP-34-10-1", "unknown");
			assert_non_null(strstr(html, "verdict missing or invalid"));
		} else {
			assert_row(html, "JP-34-10-1", "none");
		}
		assert_row(html, "JP-34-10-2", "none");
		free(html);
		json_decref(docs[i]);
	}
}

/* A document claiming "pass" whose items failed shows the failure and a warning. */
static void
test_overall_mismatch(void **state)
{
	(void)state;
	json_t *r = load("busybox-telnetd-fail.json");
	json_object_set_new(r, "verdict", json_string("pass"));
	char *html = render(r, NULL);
	assert_non_null(strstr(html, "id=\"overall\" data-verdict=\"fail\""));
	assert_non_null(strstr(html, "states the overall verdict &quot;PASS&quot;"));
	free(html);
	json_decref(r);
}

/* Without the catalog the titles come from the items (requirement_title*). */
static void
test_without_catalog(void **state)
{
	(void)state;
	json_t *r = load("deviced-pass.json");
	setenv("TORIDE_DATA_DIR", "/nonexistent-toride-data", 1);
	char *html = render(r, NULL);
	unsetenv("TORIDE_DATA_DIR");
	assert_titles(html);
	assert_row(html, "JP-34-10-3", "pass");
	free(html);
	json_decref(r);
}

/* Many steps and items are bounded, with a note. */
static void
test_bounds(void **state)
{
	(void)state;
	json_t *items = json_array();
	for (int i = 0; i < 100; i++) {
		json_t *steps = json_array();
		for (int k = 0; k < 300; k++)
			json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "outcome", "info", "action", "try",
			                                       "observed", "Login incorrect"));
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:o}", "check", "brute-force", "requirement",
		                                       "TORIDE-BRUTE", "verdict", "pass", "steps", steps));
	}
	json_t *r = json_pack("{s:o}", "items", items);
	char *html = render(r, NULL);
	assert_int_equal(count(html, "<section class=\"check\""), 64);
	assert_int_equal(count(html, "<tr class=\"step\">"), 64 * 200);
	assert_non_null(strstr(html, "100 more steps in result.json"));
	assert_non_null(strstr(html, "The document has 100 items; the first 64 are shown."));
	free(html);
	json_decref(r);
}

static void
test_write_error(void **state)
{
	(void)state;
	json_t *r = load("deviced-pass.json");
	FILE *f = fopen("/dev/null", "r"); /* writes fail */
	assert_non_null(f);
	assert_int_equal(conform_report_html(r, f), TORIDE_EIO);
	fclose(f);
	json_decref(r);
}

static void
test_escape_html(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"<a href='x'>&\"", 14, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"},
		{"a\0b", 3, "a\\x00b"},
		{"line\nnext\ttab\r", 14, "line\nnext\ttab\\x0d"},
		{"\x1b[2J\x7f", 5, "\\x1b[2J\\x7f"},
		{"\xff\xfe ok", 5, "\\xff\\xfe ok"},
		{"\xe3\x81", 2, "\\xe3\\x81"},                 /* truncated sequence */
		{"\xc0\xbc", 2, "\\xc0\\xbc"},                 /* overlong '<' */
		{"\xed\xa0\x80", 3, "\\xed\\xa0\\x80"},        /* surrogate */
		{"\xe2\x80\xae!", 4, "\\u{202e}!"},             /* bidi override */
		{"\xc2\x9b", 2, "\\u{009b}"},                   /* C1 CSI */
		{"日本語 é", 12, "日本語 é"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);
		toride_escape_html(f, cases[i].in, cases[i].n);
		fclose(f);
		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\"", i, buf);
		free(buf);
	}
}

static void
test_pdf_without_chromium(void **state)
{
	(void)state;
	char err[512];
	setenv("TORIDE_CHROMIUM", "/nonexistent/chromium", 1);
	int rc = conform_report_pdf(SAMPLES "deviced-pass.json", "/tmp/never.pdf", err, sizeof err);
	unsetenv("TORIDE_CHROMIUM");
	assert_int_equal(rc, TORIDE_ENOTFOUND);
	assert_non_null(strstr(err, "chromium not found"));
	/* A missing HTML file is refused before Chromium is started. */
	rc = conform_report_pdf("/nonexistent/report.html", "/tmp/never.pdf", err, sizeof err);
	assert_true(rc == TORIDE_EINVAL || rc == TORIDE_ENOTFOUND);
}

/* --render RESULT OUT.html [OUT.pdf]: what the integration test uses when the CLI is absent. */
static int
render_main(int argc, char **argv)
{
	json_error_t jerr;
	char err[512];
	json_t *r = json_load_file(argv[2], JSON_ALLOW_NUL, &jerr);
	if (r == NULL) {
		fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
		return 1;
	}
	FILE *f = fopen(argv[3], "w");
	if (f == NULL || conform_report_html(r, f) != 0 || fclose(f) != 0) {
		fprintf(stderr, "%s: cannot write\n", argv[3]);
		return 1;
	}
	json_decref(r);
	if (argc > 4 && conform_report_pdf(argv[3], argv[4], err, sizeof err) != 0) {
		fprintf(stderr, "pdf: %s\n", err);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "--render") == 0)
		return render_main(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deviced_pass),
		cmocka_unit_test(test_busybox_fail),
		cmocka_unit_test(test_real_busybox),
		cmocka_unit_test(test_hostile_types),
		cmocka_unit_test(test_escaped_evidence),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_overall_mismatch),
		cmocka_unit_test(test_without_catalog),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_escape_html),
		cmocka_unit_test(test_pdf_without_chromium),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
