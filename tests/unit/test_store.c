/* SQLite event store: schema, idempotent puts, finding precedence, validation, resume, safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "store/store.h"

#include "events_fixture.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/toride-test-store-XXXXXX");
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

static int
put_line(struct toride_store *st, const char *line)
{
	json_t *ev = NULL;
	int rc = toride_event_parse_line(line, strlen(line), &ev);
	if (rc != 0)
		return rc;
	rc = toride_store_put_event(st, ev);
	json_decref(ev);
	return rc;
}

static void
put_fixture(struct toride_store *st)
{
	for (size_t i = 0; i < FIXTURE_COUNT; i++) {
		int rc = put_line(st, fixture_events[i]);
		if (rc != 0)
			fail_msg("fixture event %zu: %s (%s)", i, toride_strerror(rc), toride_store_errmsg(st));
	}
}

/* Count rows with plain SQLite, independent of the store's own read side. */
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

static void
test_create_sets_schema_and_wal(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "new.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), TORIDE_STORE_SCHEMA_VERSION);
	assert_int_equal(count_rows(db, "PRAGMA application_id"), TORIDE_STORE_APPLICATION_ID);
	sqlite3 *h;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(h);
	/* Reopening an up-to-date database is fine and keeps the version. */
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), TORIDE_STORE_SCHEMA_VERSION);
}

static void
test_idempotent_puts(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "idem.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	put_fixture(st);
	toride_store_close(st);
	long long f1 = count_rows(db, "SELECT count(*) FROM finding");
	long long o1 = count_rows(db, "SELECT count(*) FROM observation");
	long long p1 = count_rows(db, "SELECT count(*) FROM probe_done");
	long long s1 = count_rows(db, "SELECT count(*) FROM survey");
	assert_int_equal(f1, 5);
	assert_int_equal(o1, 5);
	assert_int_equal(p1, 7);
	assert_int_equal(s1, 1);
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	assert_int_equal(toride_store_begin(st), 0);
	put_fixture(st);
	assert_int_equal(toride_store_commit(st), 0);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM finding"), f1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM observation"), o1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM probe_done"), p1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM survey"), s1);
	/* The full event is kept, the password as given (ISPs need it for the notice). */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM finding WHERE cred_password = 'xc3511'"
					" AND json_extract(event, '$.evidence.marker') = 'toride-7f3c9a'"), 1);
	/* Survey row: finished, started time of the first event, params of the start event. */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM survey WHERE status = 'finished'"
					" AND started = '2026-11-22T00:12:43.123Z' AND ended = '2026-11-22T00:13:02.777Z'"
					" AND json_extract(params, '$.creds') = 'mirai' AND json_extract(counts, '$.findings') = 5"),
			 1);
}

struct verdict_seen {
	char verdict[16], proof[16];
	int rows;
};

static int
record_verdict(void *arg, const json_t *ev, const json_t *fp)
{
	struct verdict_seen *v = arg;
	(void)fp;
	snprintf(v->verdict, sizeof v->verdict, "%s", json_string_value(json_object_get(ev, "verdict")));
	snprintf(v->proof, sizeof v->proof, "%s", json_string_value(json_object_get(ev, "proof")));
	v->rows++;
	return 0;
}

static void
test_finding_never_weakens(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	const char *base = "{\"type\":\"finding\",\"survey\":\"s1\",\"addr\":\"192.0.2.1\",\"port\":23,"
			   "\"requirement\":\"JP-34-10-2\",";
	char line[512];
	const char *seq[][2] = {
		{"unknown", "none"}, {"fail", "weak"}, {"unknown", "none"}, {"pass", "strong"}, {"fail", "strong"}, {"fail", "weak"},
	};
	const char *expect[][2] = {
		{"unknown", "none"}, {"fail", "weak"}, {"fail", "weak"}, {"fail", "weak"}, {"fail", "strong"}, {"fail", "strong"},
	};
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		snprintf(line, sizeof line, "%s\"verdict\":\"%s\",\"proof\":\"%s\",\"summary\":\"step %zu\"}", base,
			 seq[i][0], seq[i][1], i);
		assert_int_equal(put_line(st, line), 0);
		struct verdict_seen v = {0};
		assert_int_equal(toride_store_foreach_finding(st, "s1", NULL, record_verdict, &v), 0);
		assert_int_equal(v.rows, 1);
		assert_string_equal(v.verdict, expect[i][0]);
		assert_string_equal(v.proof, expect[i][1]);
	}
	toride_store_close(st);
}

static void
test_rejects_malformed_events(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	static const char *const bad[] = {
		"{\"type\":\"finding\",\"addr\":\"192.0.2.1\",\"port\":23,\"requirement\":\"R\",\"verdict\":\"fail\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"example.com\",\"port\":23,\"requirement\":\"R\",\"verdict\":\"fail\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":70000,\"requirement\":\"R\",\"verdict\":\"fail\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":\"23\",\"requirement\":\"R\",\"verdict\":\"fail\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":23,\"requirement\":\"R\",\"verdict\":\"maybe\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":23,\"verdict\":\"fail\"}",
		"{\"type\":\"finding\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":23,\"requirement\":\"R\",\"verdict\":\"fail\",\"credential\":\"root\"}",
		"{\"type\":\"observation\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":23,\"kind\":\"pwned\"}",
		"{\"type\":\"observation\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":23,\"kind\":\"login_attempt\",\"data\":{\"user\":\"a\",\"password\":\"x\"}}",
		"{\"type\":\"survey\",\"survey\":\"s\",\"status\":\"done\"}",
		"{\"type\":\"probe_done\",\"survey\":\"s\",\"addr\":\"192.0.2.1\",\"port\":-1,\"state\":\"open\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = put_line(st, bad[i]);
		if (rc != TORIDE_EINVAL)
			fail_msg("bad event %zu accepted or wrong error %d", i, rc);
		assert_true(toride_store_errmsg(st)[0] != '\0');
	}
	/* A NUL inside a credential would alias another user/password key. */
	json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:o, s:s, s:s}}", "type", "observation", "survey", "s",
			       "addr", "192.0.2.1", "port", 23, "kind", "login_attempt", "data", "user",
			       json_stringn("a\0b", 3), "password", "x", "result", "accepted");
	assert_non_null(ev);
	assert_int_equal(toride_store_put_event(st, ev), TORIDE_EINVAL);
	json_decref(ev);
	/* A well-formed event of another type is not an error of the event, just not stored. */
	assert_int_equal(put_line(st, "{\"type\":\"alert\",\"survey\":\"s\"}"), TORIDE_EUNSUPPORTED);
	/* Nothing of the refused events reached the database, not even a survey placeholder. */
	json_t *list = NULL;
	assert_int_equal(toride_store_list_surveys(st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	toride_store_close(st);
}

static void
test_resume_lookups(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	bool done = true;
	json_t *params = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	put_fixture(st);
	assert_int_equal(toride_store_probe_is_done(st, FIX_SURVEY, "10.77.1.5", 23, &done), 0);
	assert_true(done);
	assert_int_equal(toride_store_probe_is_done(st, FIX_SURVEY, "10.77.1.5", 2323, &done), 0);
	assert_false(done);
	assert_int_equal(toride_store_probe_is_done(st, "other", "10.77.1.5", 23, &done), 0);
	assert_false(done);
	/* IPv6 is stored canonically, so any spelling finds it. */
	assert_int_equal(put_line(st, "{\"type\":\"probe_done\",\"survey\":\"s6\",\"addr\":\"2001:DB8:0:0::17\",\"port\":23,\"state\":\"closed\"}"), 0);
	assert_int_equal(toride_store_probe_is_done(st, "s6", "2001:db8::17", 23, &done), 0);
	assert_true(done);
	assert_int_equal(toride_store_survey_params(st, FIX_SURVEY, &params), 0);
	assert_string_equal(json_string_value(json_object_get(params, "shard")), "1/1");
	assert_int_equal(json_integer_value(json_object_get(params, "rate")), 500);
	json_decref(params);
	assert_int_equal(toride_store_survey_params(st, "s6", &params), TORIDE_ENOTFOUND);
	assert_int_equal(toride_store_survey_params(st, "nope", &params), TORIDE_ENOTFOUND);
	toride_store_close(st);
}

static int
collect_addr(void *arg, const json_t *ev, const json_t *fp)
{
	(void)fp;
	json_array_append_new(arg, json_sprintf("%s:%lld", json_string_value(json_object_get(ev, "addr")),
						(long long)json_integer_value(json_object_get(ev, "port"))));
	return 0;
}

static void
test_read_side(void **state)
{
	(void)state;
	char err[256], *id = NULL;
	struct toride_store *st = NULL;
	json_t *o = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	assert_int_equal(toride_store_latest_survey(st, &id), TORIDE_ENOTFOUND);
	put_fixture(st);
	assert_int_equal(put_line(st, "{\"type\":\"survey\",\"survey\":\"older\",\"time\":\"2026-11-01T00:00:00.000Z\",\"status\":\"started\"}"), 0);
	assert_int_equal(toride_store_latest_survey(st, &id), 0);
	assert_string_equal(id, FIX_SURVEY);
	free(id);
	/* A survey that stopped on an error (cmd_survey's "failed") is ended, and stays the older one. */
	assert_int_equal(put_line(st, "{\"type\":\"survey\",\"survey\":\"older\",\"time\":\"2026-11-01T00:05:00.000Z\",\"status\":\"failed\"}"), 0);
	assert_int_equal(toride_store_survey_info(st, "older", &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
	assert_string_equal(json_string_value(json_object_get(o, "started")), "2026-11-01T00:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(o, "ended")), "2026-11-01T00:05:00.000Z");
	json_decref(o);
	assert_int_equal(toride_store_latest_survey(st, &id), 0);
	assert_string_equal(id, FIX_SURVEY);
	free(id);
	assert_int_equal(toride_store_survey_info(st, FIX_SURVEY, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "finished");
	assert_string_equal(json_string_value(json_object_get(o, "sensor")), "lab1 toride/0.1.0");
	json_decref(o);
	assert_int_equal(toride_store_probe_counts(st, FIX_SURVEY, &o), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "total")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "open")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "closed")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "timeout")), 1);
	json_decref(o);
	/* Findings come in numeric address order, not string order (10.77.1.10 after .9). */
	json_t *addrs = json_array();
	assert_int_equal(toride_store_foreach_finding(st, FIX_SURVEY, NULL, collect_addr, addrs), 0);
	const char *want[] = {"10.77.1.5:23", "10.77.1.7:22", "10.77.1.9:1883", "10.77.1.10:80", "10.77.1.66:2323"};
	assert_int_equal(json_array_size(addrs), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_array_get(addrs, i)), want[i]);
	json_array_clear(addrs);
	assert_int_equal(toride_store_foreach_finding(st, FIX_SURVEY, "pass", collect_addr, addrs), 0);
	assert_int_equal(json_array_size(addrs), 1);
	json_decref(addrs);
	uint64_t n = 0;
	assert_int_equal(toride_store_count_observations(st, FIX_SURVEY, "login_attempt", &n), 0);
	assert_int_equal(n, 2);
	toride_store_close(st);
}

/* A survey killed right after a put loses nothing: the put committed before it returned. */
static void
test_put_is_durable_across_kill(void **state)
{
	(void)state;
	char db[512], err[256];
	path_in_tmp(db, sizeof db, "kill.db");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct toride_store *st = NULL;
		if (toride_store_open(&st, db, err, sizeof err) != 0 || put_line(st, fixture_events[6]) != 0)
			_exit(1);
		_exit(0); /* no close, no flush: as if killed */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM finding WHERE verdict = 'fail'"), 1);
}

static void
test_refuses_foreign_and_newer_databases(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	sqlite3 *h;

	path_in_tmp(db, sizeof db, "newer.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	st = NULL;
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), TORIDE_EDB);
	assert_null(st);
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, "99"));

	path_in_tmp(db, sizeof db, "foreign.db");
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), TORIDE_EDB);
	assert_non_null(strstr(err, "not a toride database"));

	path_in_tmp(db, sizeof db, "text.db");
	FILE *f = fopen(db, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file long enough to have a header........\n", f);
	fclose(f);
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), TORIDE_EDB);
	assert_non_null(strstr(err, "not a toride database"));

	path_in_tmp(db, sizeof db, "missing.db");
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), TORIDE_ENOTFOUND);
	assert_int_equal(access(db, F_OK), -1); /* a read-only open never creates */
}

static void
test_batch_state(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	assert_int_equal(toride_store_commit(st), TORIDE_ESTATE);
	assert_int_equal(toride_store_begin(st), 0);
	assert_int_equal(toride_store_begin(st), TORIDE_ESTATE);
	/* A refused event inside a batch does not undo the batch's earlier puts. */
	assert_int_equal(put_line(st, fixture_events[0]), 0);
	assert_int_equal(put_line(st, "{\"type\":\"finding\",\"survey\":\"x\"}"), TORIDE_EINVAL);
	assert_int_equal(toride_store_commit(st), 0);
	json_t *p = NULL;
	assert_int_equal(toride_store_survey_params(st, FIX_SURVEY, &p), 0);
	json_decref(p);
	toride_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_sets_schema_and_wal),
		cmocka_unit_test(test_idempotent_puts),
		cmocka_unit_test(test_finding_never_weakens),
		cmocka_unit_test(test_rejects_malformed_events),
		cmocka_unit_test(test_resume_lookups),
		cmocka_unit_test(test_read_side),
		cmocka_unit_test(test_put_is_durable_across_kill),
		cmocka_unit_test(test_refuses_foreign_and_newer_databases),
		cmocka_unit_test(test_batch_state),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
