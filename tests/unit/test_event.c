/* Events: time format, new events, JSON Lines parsing, sinks to a file and a store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "store/store.h"

static void
test_time_format(void **state)
{
	(void)state;
	char t[32];
	toride_time_iso8601(0.0, t);
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	toride_time_iso8601(1795306363.123, t); /* 2026-11-22T00:12:43Z */
	assert_string_equal(t, "2026-11-22T00:12:43.123Z");
	/* Truncated, never rounded into the next second. */
	toride_time_iso8601(1795306363.9999, t);
	assert_string_equal(t, "2026-11-22T00:12:43.999Z");
	toride_time_iso8601(-5.0, t);
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	double now = toride_time_now();
	assert_true(now > 1.7e9);
}

static void
test_event_new(void **state)
{
	(void)state;
	json_t *ev = toride_event_new("finding", "s-1");
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "finding");
	assert_string_equal(json_string_value(json_object_get(ev, "survey")), "s-1");
	const char *t = json_string_value(json_object_get(ev, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	const char *sensor = json_string_value(json_object_get(ev, "sensor"));
	assert_non_null(strstr(sensor, " toride/" TORIDE_VERSION));
	json_decref(ev);
	ev = toride_event_new("session", NULL);
	assert_null(json_object_get(ev, "survey"));
	json_decref(ev);
	assert_null(toride_event_new(NULL, "s"));
}

static void
test_parse_line(void **state)
{
	(void)state;
	json_t *ev = NULL;
	const char *ok = "{\"type\":\"probe_done\",\"survey\":\"s\",\"addr\":\"10.0.0.1\",\"port\":23,\"state\":\"open\"}\r\n";
	assert_int_equal(toride_event_parse_line(ok, strlen(ok), &ev), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "state")), "open");
	json_decref(ev);
	assert_int_equal(toride_event_parse_line("[1]", 3, &ev), TORIDE_EPARSE);
	assert_int_equal(toride_event_parse_line("{\"survey\":\"s\"}", 14, &ev), TORIDE_EPARSE);
	assert_int_equal(toride_event_parse_line("{\"type\":\"\"}", 11, &ev), TORIDE_EPARSE);
	assert_int_equal(toride_event_parse_line("{\"type\":\"a\",\"type\":\"b\"}", 23, &ev), TORIDE_EPARSE);
	assert_int_equal(toride_event_parse_line("{\"type\":\"a\"} {}", 15, &ev), TORIDE_EPARSE);
	assert_int_equal(toride_event_parse_line("", 0, &ev), TORIDE_EPARSE);
	size_t big = TORIDE_EVENT_LINE_MAX + 10;
	char *line = malloc(big);
	assert_non_null(line);
	memset(line, ' ', big);
	memcpy(line, "{\"type\":\"x\"}", 12);
	assert_int_equal(toride_event_parse_line(line, big, &ev), TORIDE_ETOOBIG);
	free(line);
}

static void
test_sink_jsonl_and_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/toride-test-sink-XXXXXX", jl[256], db[256], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(jl, sizeof jl, "%s/events.jsonl", dir);
	snprintf(db, sizeof db, "%s/events.db", dir);
	struct toride_sink *s = NULL;
	assert_int_equal(toride_sink_open(&s, jl, db, err, sizeof err), 0);
	assert_non_null(toride_sink_store(s));

	json_t *e1 = toride_event_new("probe_done", "s-sink");
	json_object_set_new(e1, "addr", json_string("127.0.0.1"));
	json_object_set_new(e1, "port", json_integer(2323));
	json_object_set_new(e1, "state", json_string("closed"));
	json_t *e2 = toride_event_new("alert", "s-sink"); /* not a store type: still logged */
	json_object_set_new(e2, "note", json_string("line1\nline2"));
	assert_int_equal(toride_sink_emit(s, e1), 0);
	assert_int_equal(toride_sink_emit(s, e2), 0);
	/* emit does not steal the reference */
	assert_int_equal(e1->refcount, 1);
	bool done = false;
	assert_int_equal(toride_store_probe_is_done(toride_sink_store(s), "s-sink", "127.0.0.1", 2323, &done), 0);
	assert_true(done);
	/* The line is on disk before close (flushed per event). */
	FILE *f = fopen(jl, "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0;
	int lines = 0;
	ssize_t n;
	json_t *back[2] = {NULL, NULL};
	while ((n = getline(&line, &cap, f)) > 0) {
		assert_true(lines < 2);
		assert_int_equal(toride_event_parse_line(line, (size_t)n, &back[lines]), 0);
		lines++;
	}
	fclose(f);
	free(line);
	assert_int_equal(lines, 2);
	assert_true(json_equal(back[0], e1));
	assert_true(json_equal(back[1], e2)); /* the embedded newline did not split the line */
	json_decref(back[0]);
	json_decref(back[1]);
	toride_sink_close(s);
	json_decref(e1);
	json_decref(e2);

	/* A sink appends: reopening keeps the earlier lines. */
	assert_int_equal(toride_sink_open(&s, jl, NULL, err, sizeof err), 0);
	assert_null(toride_sink_store(s));
	json_t *e3 = toride_event_new("survey", "s-sink");
	json_object_set_new(e3, "status", json_string("started"));
	assert_int_equal(toride_sink_emit(s, e3), 0);
	toride_sink_close(s);
	json_decref(e3);
	f = fopen(jl, "r");
	lines = 0;
	for (int c; (c = fgetc(f)) != EOF;)
		lines += c == '\n';
	fclose(f);
	assert_int_equal(lines, 3);

	assert_int_equal(toride_sink_open(&s, "/nonexistent-dir/x.jsonl", NULL, err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent-dir/x.jsonl"));

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_event_new),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_sink_jsonl_and_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
