/* Honeypot tables of the event store (schema version 2): hp_session / hp_sample puts, ordering and
 * "since" of toride_store_foreach_hp, replace vs first-seen-wins, validation, and the migration of
 * a real version 1 database (tests/data/honeypot/store-v1.sql, dumped from the v1 code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "store/store.h"

#define FIX_DIR TORIDE_TEST_DATA "/honeypot"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/toride-test-hp-store-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_in_tmp(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Put every event of a JSON Lines fixture; returns how many. */
static int
put_jsonl(struct toride_store *st, const char *path)
{
	char *text = read_file(path), *save = NULL;
	int n = 0;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = NULL;
		assert_int_equal(toride_event_parse_line(line, strlen(line), &ev), 0);
		int rc = toride_store_put_event(st, ev);
		if (rc != 0)
			fail_msg("%s line %d: %s (%s)", path, n + 1, toride_strerror(rc), toride_store_errmsg(st));
		json_decref(ev);
		n++;
	}
	free(text);
	return n;
}

static int
put_text(struct toride_store *st, const char *line)
{
	json_t *ev = NULL;
	int rc = toride_event_parse_line(line, strlen(line), &ev);
	if (rc != 0)
		return rc;
	rc = toride_store_put_event(st, ev);
	json_decref(ev);
	return rc;
}

static long long
count_rows(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long n = -1;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* Collects the events the iteration hands over. */
struct collect {
	json_t *events;
	int stop_after; /* 0 = never */
};

static int
collect_cb(void *arg, json_t *event)
{
	struct collect *c = arg;
	json_array_append(c->events, event);
	if (c->stop_after > 0 && (int)json_array_size(c->events) >= c->stop_after)
		return 7;
	return 0;
}

static json_t *
list_hp(struct toride_store *st, const char *table, const char *since)
{
	struct collect c = {.events = json_array()};
	assert_int_equal(toride_store_foreach_hp(st, table, since, collect_cb, &c), 0);
	return c.events;
}

static void
assert_ids(const json_t *events, const char *key, const char *const *want, size_t n)
{
	assert_int_equal(json_array_size(events), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(events, i), key)), want[i]);
}

static const char *const all_sessions_in_order[] = {
	"a1b2c3d4e5f60001", "a1b2c3d4e5f60002", "c0c0c0c0c0c00006", "b0b0b0b0b0b00004", "b0b0b0b0b0b00005",
	"a1b2c3d4e5f60003", "c0c0c0c0c0c00007", "d0d0d0d0d0d00008", "d0d0d0d0d0d00009",
};

static void
test_sessions_and_samples_round_trip(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "hp.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	/* Honeypot events carry no survey: they are stored all the same. */
	assert_int_equal(put_jsonl(st, FIX_DIR "/sessions.jsonl"), 9);
	assert_int_equal(put_jsonl(st, FIX_DIR "/samples.jsonl"), 4);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM hp_session"), 9);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM hp_sample"), 4);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM survey"), 0);
	/* Indexed columns: canonical source address, port, protocol, profile. */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM hp_session WHERE session = 'c0c0c0c0c0c00006'"
					" AND src = '2001:db8::66' AND dst_port = 22 AND proto = 'ssh'"
					" AND profile = 'hikvision-ds2cd' AND \"end\" = '2026-03-01T10:20:30.000Z'"),
			 1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE name IN"
					" ('hp_session_by_start', 'hp_session_by_src')"),
			 2);

	/* Read back read-only, in start order, whole events. */
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), 0);
	json_t *all = list_hp(st, "hp_session", NULL);
	assert_ids(all, "session", all_sessions_in_order, 9);
	const json_t *s2 = json_array_get(all, 1);
	assert_int_equal(json_array_size(json_object_get(s2, "commands")), 13);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(s2, "downloads"), 0), "url")),
			    "http://198.51.100.7:80/bins/mirai.arm7");
	json_decref(all);
	json_t *since = list_hp(st, "hp_session", "2026-03-02");
	assert_ids(since, "session", all_sessions_in_order + 5, 4);
	json_decref(since);
	json_t *none = list_hp(st, "hp_session", "2027-01-01T00:00:00.000Z");
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	json_t *samples = list_hp(st, "hp_sample", NULL);
	static const char *const sample_order[] = {
		"66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae",
		"1f4b43713fc434cb7b49a7e7c70c11b3650ae7ab61d7daca888efedac16c9a8a",
		"5d05b3d8fa1cd949d7c06f8ee55c924eed3aa3c874a156973ea81a179d1da56d",
		"6caab8020739f899d2fc077663422b88cbc1da3b4b82886170f548e533b680dd",
	};
	assert_ids(samples, "sha256", sample_order, 4);
	json_decref(samples);
	samples = list_hp(st, "hp_sample", "2026-03-02T00:00:00.000Z");
	assert_ids(samples, "sha256", sample_order + 3, 1);
	json_decref(samples);

	/* A callback's non-zero return stops the iteration and is returned. */
	struct collect c = {.events = json_array(), .stop_after = 2};
	assert_int_equal(toride_store_foreach_hp(st, "hp_session", NULL, collect_cb, &c), 7);
	assert_int_equal(json_array_size(c.events), 2);
	json_decref(c.events);
	assert_int_equal(toride_store_foreach_hp(st, "finding", NULL, collect_cb, &c), TORIDE_EINVAL);
	assert_int_equal(toride_store_foreach_hp(st, NULL, NULL, collect_cb, &c), TORIDE_EINVAL);
	toride_store_close(st);
}

static void
test_session_replaces_sample_first_wins(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	const char *s_a = "{\"type\":\"hp_session\",\"session\":\"00000000000000aa\",\"start\":\"2026-03-01T00:00:00.000Z\","
			  "\"src\":\"192.0.2.1\",\"dst_port\":23,\"proto\":\"telnet\",\"end_reason\":\"closed\"}";
	const char *s_b = "{\"type\":\"hp_session\",\"session\":\"00000000000000aa\",\"start\":\"2026-03-01T00:00:00.000Z\","
			  "\"src\":\"192.0.2.1\",\"dst_port\":23,\"proto\":\"telnet\",\"end_reason\":\"shutdown\"}";
	assert_int_equal(put_text(st, s_a), 0);
	assert_int_equal(put_text(st, s_b), 0);
	json_t *all = list_hp(st, "hp_session", NULL);
	assert_int_equal(json_array_size(all), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "end_reason")), "shutdown");
	json_decref(all);

	const char *x1 = "{\"type\":\"hp_sample\",\"sha256\":\"66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae\","
			 "\"first_seen\":\"2026-03-01T10:00:49.000Z\",\"origin\":\"fetch\",\"session\":\"first\"}";
	const char *x2 = "{\"type\":\"hp_sample\",\"sha256\":\"66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae\","
			 "\"first_seen\":\"2026-03-09T10:00:49.000Z\",\"origin\":\"upload\",\"session\":\"later\"}";
	assert_int_equal(put_text(st, x1), 0);
	assert_int_equal(put_text(st, x2), 0);
	json_t *samples = list_hp(st, "hp_sample", NULL);
	assert_int_equal(json_array_size(samples), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(samples, 0), "session")), "first");
	json_decref(samples);
	toride_store_close(st);
}

static void
test_rejects_malformed_hp_events(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	static const char *const bad[] = {
		/* no session id */
		"{\"type\":\"hp_session\",\"start\":\"2026-03-01T00:00:00.000Z\",\"src\":\"192.0.2.1\"}",
		/* no start */
		"{\"type\":\"hp_session\",\"session\":\"x\",\"src\":\"192.0.2.1\"}",
		/* start is not a time */
		"{\"type\":\"hp_session\",\"session\":\"x\",\"start\":\"yesterday'); DROP TABLE hp_session;--\",\"src\":\"192.0.2.1\"}",
		/* src is not an address */
		"{\"type\":\"hp_session\",\"session\":\"x\",\"start\":\"2026-03-01T00:00:00.000Z\",\"src\":\"bot.example\"}",
		/* port out of range */
		"{\"type\":\"hp_session\",\"session\":\"x\",\"start\":\"2026-03-01T00:00:00.000Z\",\"src\":\"192.0.2.1\",\"dst_port\":70000}",
		/* sha256: upper case, short, missing */
		"{\"type\":\"hp_sample\",\"sha256\":\"66D643C690F917B15AAE33903A45362546C12E905FB8BB766412C2E6B95D85AE\"}",
		"{\"type\":\"hp_sample\",\"sha256\":\"66d643\"}",
		"{\"type\":\"hp_sample\",\"first_seen\":\"2026-03-01T00:00:00.000Z\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = put_text(st, bad[i]);
		if (rc != TORIDE_EINVAL)
			fail_msg("bad event %zu: got %s", i, toride_strerror(rc));
	}
	/* A NUL inside the id would let two ids share one key. */
	json_t *nul = json_pack("{s:s, s:o, s:s, s:s}", "type", "hp_session", "session", json_stringn("a\0b", 3),
				"start", "2026-03-01T00:00:00.000Z", "src", "192.0.2.1");
	assert_int_equal(toride_store_put_event(st, nul), TORIDE_EINVAL);
	json_decref(nul);
	json_t *all = list_hp(st, "hp_session", NULL);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
	/* Other event types still need their survey. */
	assert_int_equal(put_text(st, "{\"type\":\"finding\"}"), TORIDE_EINVAL);
	toride_store_close(st);
}

static void
test_v1_database_is_migrated(void **state)
{
	(void)state;
	char db[512], fresh[512], err[256];
	struct toride_store *st = NULL;
	sqlite3 *h;
	path_in_tmp(db, sizeof db, "v1.db");
	path_in_tmp(fresh, sizeof fresh, "fresh.db");
	char *sql = read_file(FIX_DIR "/store-v1.sql");
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	free(sql);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), 1);

	/* Read-only refuses to migrate and says how to. */
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), TORIDE_EDB);
	assert_non_null(strstr(err, "open it once for writing"));

	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	/* Migrated through every later version too (v3: discovery checkpoints, test_store.c). */
	assert_int_equal(count_rows(db, "PRAGMA user_version"), TORIDE_STORE_SCHEMA_VERSION);
	/* The migrated schema is exactly a new database's schema. */
	assert_int_equal(toride_store_open(&st, fresh, err, sizeof err), 0);
	toride_store_close(st);
	const char *schema_sql = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_schema ORDER BY name)";
	sqlite3 *a, *b;
	sqlite3_stmt *sa, *sb;
	assert_int_equal(sqlite3_open_v2(db, &a, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(fresh, &b, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(a, schema_sql, -1, &sa, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(b, schema_sql, -1, &sb, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(sa), SQLITE_ROW);
	assert_int_equal(sqlite3_step(sb), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(sa, 0), "CREATE TABLE hp_session"));
	assert_string_equal((const char *)sqlite3_column_text(sa, 0), (const char *)sqlite3_column_text(sb, 0));
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	sqlite3_close(a);
	sqlite3_close(b);

	/* The v1 survey is still there and readable; honeypot events go in beside it. */
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	json_t *info = NULL;
	assert_int_equal(toride_store_survey_info(st, "v1-survey", &info), 0);
	assert_string_equal(json_string_value(json_object_get(info, "status")), "finished");
	json_decref(info);
	uint64_t nobs = 0;
	assert_int_equal(toride_store_count_observations(st, "v1-survey", "login_attempt", &nobs), 0);
	assert_int_equal(nobs, 1);
	assert_int_equal(put_jsonl(st, FIX_DIR "/sessions.jsonl"), 9);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM finding WHERE verdict = 'fail'"), 1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM hp_session"), 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_and_samples_round_trip),
		cmocka_unit_test(test_session_replaces_sample_first_wins),
		cmocka_unit_test(test_rejects_malformed_hp_events),
		cmocka_unit_test(test_v1_database_is_migrated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
