/* Reports: counts, evidence, escaping and idempotence over a database built from real-shaped events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/error.h"
#include "core/event.h"
#include "report/report.h"
#include "store/store.h"

#include "events_fixture.h"

static struct toride_catalog *cat;

static int
setup(void **state)
{
	(void)state;
	char err[256];
	return toride_catalog_load(&cat, TORIDE_SOURCE_DIR "/data/catalog.json", err, sizeof err);
}

static int
teardown(void **state)
{
	(void)state;
	toride_catalog_free(cat);
	return 0;
}

static struct toride_store *
fixture_store(int times)
{
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	for (int t = 0; t < times; t++) {
		for (size_t i = 0; i < FIXTURE_COUNT; i++) {
			json_t *ev = NULL;
			assert_int_equal(toride_event_parse_line(fixture_events[i], strlen(fixture_events[i]), &ev), 0);
			assert_int_equal(toride_store_put_event(st, ev), 0);
			json_decref(ev);
		}
	}
	return st;
}

/* Render one format into a malloc'd string. */
static char *
render(struct toride_store *st, enum toride_report_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(toride_report_write(st, FIX_SURVEY, cat, fmt, f), 0);
	fclose(f);
	return buf;
}

static const json_t *
find_row(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	const json_t *r;
	json_array_foreach(arr, i, r) {
		if (strcmp(toride_report_str(r, key), val) == 0)
			return r;
	}
	fail_msg("no row %s=%s", key, val);
	return NULL;
}

static void
assert_counts(const json_t *row, long long fail, long long pass, long long unknown)
{
	assert_int_equal(toride_report_int(row, "fail"), fail);
	assert_int_equal(toride_report_int(row, "pass"), pass);
	assert_int_equal(toride_report_int(row, "unknown"), unknown);
}

static void
test_json_counts(void **state)
{
	(void)state;
	struct toride_store *st = fixture_store(1);
	char *out = render(st, TORIDE_REPORT_JSON);
	json_t *m = json_loads(out, 0, NULL);
	assert_non_null(m);
	assert_string_equal(toride_report_str(json_object_get(m, "survey"), "status"), "finished");
	assert_string_equal(toride_report_str(json_object_get(json_object_get(m, "survey"), "params"), "creds"), "mirai");
	const json_t *reqs = json_object_get(m, "requirements");
	assert_int_equal(json_array_size(reqs), 7);
	assert_counts(find_row(reqs, "id", "JP-34-10-2"), 3, 1, 0);
	assert_counts(find_row(reqs, "id", "JP-34-10-1"), 1, 0, 0);
	assert_counts(find_row(reqs, "id", "JP-34-10-3"), 0, 0, 0);
	assert_string_equal(toride_report_str(find_row(reqs, "id", "JP-34-10-2"), "title_ja"),
			    toride_catalog_get(cat, "JP-34-10-2")->title_ja);
	const json_t *protos = json_object_get(m, "by_protocol");
	assert_counts(find_row(protos, "proto", "telnet"), 2, 0, 0);
	assert_counts(find_row(protos, "proto", "http"), 1, 0, 0);
	assert_counts(find_row(protos, "proto", "mqtt"), 1, 0, 0);
	assert_counts(find_row(protos, "proto", "ssh"), 0, 1, 0);
	const json_t *types = json_object_get(m, "by_device_type");
	assert_counts(find_row(types, "type", "DVR"), 1, 0, 0); /* from the fingerprint observation */
	assert_counts(find_row(types, "type", "IP camera"), 1, 0, 0);
	assert_counts(find_row(types, "type", "router"), 1, 0, 0);
	assert_counts(find_row(types, "type", "unknown"), 1, 1, 0);
	assert_int_equal(toride_report_int(m, "failing_devices"), 4);
	assert_int_equal(toride_report_int(json_object_get(m, "probes"), "total"), 7);
	assert_int_equal(toride_report_int(json_object_get(m, "observations"), "login_attempts"), 2);
	const json_t *fs = json_object_get(m, "findings");
	assert_int_equal(json_array_size(fs), 5);
	const json_t *dvr = find_row(fs, "addr", "10.77.1.5");
	assert_string_equal(toride_report_str(json_object_get(dvr, "device"), "vendor"), "Dahua");
	assert_string_equal(toride_report_str(json_object_get(dvr, "device"), "source"), "fingerprint");
	assert_string_equal(toride_report_str(json_object_get(dvr, "credential"), "password"), "xc3511");
	/* JSON keeps the whole transcript. */
	const json_t *ev = json_object_get(dvr, "evidence");
	assert_false(json_is_true(json_object_get(ev, "transcript_truncated")));
	assert_non_null(strstr(toride_report_str(ev, "transcript"), "toride-7f3c9a\\r\\n# exit"));
	/* The upgraded finding of 10.77.1.10 shows the fail, not the earlier unknown. */
	assert_string_equal(toride_report_str(find_row(fs, "addr", "10.77.1.10"), "verdict"), "fail");
	json_decref(m);
	free(out);
	toride_store_close(st);
}

static void
test_text(void **state)
{
	(void)state;
	struct toride_store *st = fixture_store(1);
	char *out = render(st, TORIDE_REPORT_TEXT);
	assert_non_null(strstr(out, FIX_SURVEY));
	assert_non_null(strstr(out, "Probes: 7 total, 5 open, 1 closed, 1 timeout, 0 error"));
	assert_non_null(strstr(out, "Failing devices (addresses with at least one failed requirement): 4"));
	/* aligned row: id, fail, pass, unknown */
	assert_non_null(strstr(out, "JP-34-10-2           3      1        0  critical"));
	assert_non_null(strstr(out, toride_catalog_get(cat, "JP-34-10-2")->title_ja));
	assert_non_null(strstr(out, "[not checked]"));
	assert_non_null(strstr(out, "10.77.1.5 port 23/telnet  JP-34-10-2 FAIL"));
	assert_non_null(strstr(out, "root / xc3511"));
	assert_non_null(strstr(out, "Dahua DVR (DVR)"));
	assert_non_null(strstr(out, "# echo toride-7f3c9a\\r\\n\n"));
	/* the pass finding is counted but not listed among failing devices */
	assert_null(strstr(out, "10.77.1.7 port 22"));
	/* a terminal escape from a device is shown, not sent */
	assert_null(strchr(out, 0x1b));
	assert_non_null(strstr(out, "\\x1b[2J"));
	free(out);
	toride_store_close(st);
}

static void
test_csv(void **state)
{
	(void)state;
	struct toride_store *st = fixture_store(1);
	char *out = render(st, TORIDE_REPORT_CSV);
	assert_int_equal(strncmp(out, "survey,addr,port,proto,requirement,", 35), 0);
	int rows = 0;
	for (const char *p = out; (p = strstr(p, "\r\n")) != NULL; p += 2)
		rows++;
	assert_int_equal(rows, 1 + 5);
	assert_non_null(strstr(out, "\"" FIX_SURVEY "\",\"10.77.1.5\",23,\"telnet\",\"JP-34-10-2\","));
	/* RFC 4180 quote doubling plus formula-injection guard */
	assert_non_null(strstr(out, ",\"'=HYPERLINK(\"\"http://x\"\"), \"\"quoted\"\"\x1b[2J\","));
	assert_non_null(strstr(out, ",\"'@admin\",\"'-1+1\","));
	assert_null(strstr(out, ",\"=HYPERLINK"));
	free(out);
	toride_store_close(st);
}

static void
test_html(void **state)
{
	(void)state;
	struct toride_store *st = fixture_store(1);
	char *out = render(st, TORIDE_REPORT_HTML);
	assert_int_equal(strncmp(out, "<!DOCTYPE html>", 15), 0);
	assert_null(strstr(out, "<script"));
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(out, "<b>Evil"));
	assert_non_null(strstr(out, "&lt;b&gt;Evil&lt;/b&gt;"));
	assert_non_null(strstr(out, "<svg"));
	assert_non_null(strstr(out, "<rect class=\"fail\""));
	assert_non_null(strstr(out, toride_catalog_get(cat, "JP-34-10-1")->title_ja));
	assert_non_null(strstr(out, "<code>xc3511</code>"));
	/* self-contained: nothing is fetched from anywhere */
	assert_null(strstr(out, " src="));
	assert_null(strstr(out, "href="));
	assert_null(strstr(out, "<link"));
	assert_null(strstr(out, "url("));
	assert_null(strstr(out, "@import"));
	assert_null(strchr(out, 0x1b));
	assert_non_null(strstr(out, "</html>\n"));
	free(out);
	toride_store_close(st);
}

/* Storing the same events twice gives byte-identical reports in every format. */
static void
test_idempotent_reports(void **state)
{
	(void)state;
	struct toride_store *once = fixture_store(1), *twice = fixture_store(2);
	for (int fmt = TORIDE_REPORT_TEXT; fmt <= TORIDE_REPORT_HTML; fmt++) {
		char *a = render(once, fmt), *b = render(twice, fmt);
		if (strcmp(a, b) != 0)
			fail_msg("format %d differs after storing events twice", fmt);
		free(a);
		free(b);
	}
	toride_store_close(once);
	toride_store_close(twice);
}

static void
test_excerpt_and_unknown_requirement(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	json_t *m = NULL, *ev = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	const char *line = "{\"type\":\"finding\",\"survey\":\"x\",\"addr\":\"192.0.2.8\",\"port\":23,\"proto\":\"telnet\","
			   "\"requirement\":\"LOCAL-1\",\"verdict\":\"fail\",\"evidence\":{\"transcript\":"
			   "\"\\\\xff\\\\xfb\\\\x01abc\"}}";
	assert_int_equal(toride_event_parse_line(line, strlen(line), &ev), 0);
	assert_int_equal(toride_store_put_event(st, ev), 0);
	json_decref(ev);
	/* 10 bytes would cut the third escape: the excerpt stops before it. */
	assert_int_equal(toride_report_build(st, "x", cat, 10, &m), 0);
	const json_t *f = json_array_get(json_object_get(m, "findings"), 0);
	const json_t *e = json_object_get(f, "evidence");
	assert_string_equal(toride_report_str(e, "transcript"), "\\xff\\xfb");
	assert_true(json_is_true(json_object_get(e, "transcript_truncated")));
	assert_int_equal(toride_report_int(e, "transcript_bytes"), 15);
	/* a requirement unknown to the catalog is still reported, after the catalog's */
	const json_t *reqs = json_object_get(m, "requirements");
	assert_int_equal(json_array_size(reqs), 8);
	assert_string_equal(toride_report_str(json_array_get(reqs, 7), "id"), "LOCAL-1");
	assert_counts(json_array_get(reqs, 7), 1, 0, 0);
	json_decref(m);
	assert_int_equal(toride_report_build(st, "no-such-survey", cat, 0, &m), TORIDE_ENOTFOUND);
	enum toride_report_format fmt;
	assert_int_equal(toride_report_format_parse("html", &fmt), 0);
	assert_int_equal(fmt, TORIDE_REPORT_HTML);
	assert_int_equal(toride_report_format_parse("pdf", &fmt), TORIDE_EINVAL);
	toride_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_counts),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_idempotent_reports),
		cmocka_unit_test(test_excerpt_and_unknown_requirement),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
