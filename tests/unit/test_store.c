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
#include <time.h>
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

/* ---- SYN-path resume: discovery checkpoints and pending opens (schema version 3) ---- */

static int
put_checkpoint(struct toride_store *st, const char *survey, long long position, const char *time)
{
	char line[256];
	snprintf(line, sizeof line,
		 "{\"type\":\"discovery_checkpoint\",\"survey\":\"%s\",\"time\":\"%s\",\"position\":%lld}", survey,
		 time, position);
	return put_line(st, line);
}

static uint64_t
checkpoint_of(struct toride_store *st, const char *survey)
{
	uint64_t pos = 12345;
	assert_int_equal(toride_store_discovery_checkpoint(st, survey, &pos), 0);
	return pos;
}

static void
test_checkpoint_rejects_bad_positions(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	static const char *const bad[] = {
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":\"5\"}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":5.0}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":1.5}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":-1}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":true}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":null}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":[5]}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":{\"p\":5}}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\"}",
		"{\"type\":\"discovery_checkpoint\",\"position\":5}",
		"{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":5,\"time\":7}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = put_line(st, bad[i]);
		if (rc != TORIDE_EINVAL)
			fail_msg("bad checkpoint %zu accepted or wrong error %d", i, rc);
		assert_true(toride_store_errmsg(st)[0] != '\0');
	}
	/* Nothing stored, not even a survey placeholder. */
	assert_int_equal(checkpoint_of(st, "s"), 0);
	json_t *list = NULL;
	assert_int_equal(toride_store_list_surveys(st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* 0 and the largest JSON integer are valid positions. */
	assert_int_equal(put_line(st, "{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":0}"), 0);
	assert_int_equal(checkpoint_of(st, "s"), 0);
	assert_int_equal(put_line(st, "{\"type\":\"discovery_checkpoint\",\"survey\":\"s\",\"position\":9223372036854775807}"), 0);
	assert_true(checkpoint_of(st, "s") == UINT64_C(9223372036854775807));
	toride_store_close(st);
}

/* The stored position is the maximum ever put: a late or repeated checkpoint never moves it back,
 * surveys do not share it, and it survives a reopen. */
static void
test_checkpoint_keeps_max(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "ckpt.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	assert_int_equal(checkpoint_of(st, "a"), 0); /* none yet */
	assert_int_equal(put_checkpoint(st, "a", 1000, "2026-11-22T00:00:01.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "a"), 1000);
	assert_int_equal(put_checkpoint(st, "a", 400, "2026-11-22T00:00:02.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "a"), 1000);
	assert_int_equal(put_checkpoint(st, "a", 1000, "2026-11-22T00:00:03.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "a"), 1000);
	assert_int_equal(put_checkpoint(st, "a", 250000, "2026-11-22T00:00:04.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "a"), 250000);
	assert_int_equal(put_checkpoint(st, "b", 7, "2026-11-22T00:00:05.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "b"), 7);
	assert_int_equal(checkpoint_of(st, "a"), 250000);
	/* Inside a batch too; and a rolled-back checkpoint is not kept. */
	assert_int_equal(toride_store_begin(st), 0);
	assert_int_equal(put_checkpoint(st, "a", 10, "2026-11-22T00:00:06.000Z"), 0);
	assert_int_equal(put_checkpoint(st, "a", 300000, "2026-11-22T00:00:07.000Z"), 0);
	assert_int_equal(toride_store_commit(st), 0);
	toride_store_close(st);
	/* One row per survey; its time is when the maximum was reached. */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM discovery_checkpoint"), 2);
	assert_int_equal(count_rows(db, "SELECT position FROM discovery_checkpoint WHERE survey = 'a'"), 300000);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM discovery_checkpoint WHERE survey = 'a'"
					" AND time = '2026-11-22T00:00:07.000Z'"), 1);
	/* A checkpoint makes its survey known, like the other survey events. */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM survey WHERE id IN ('a', 'b')"), 2);
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), 0);
	assert_int_equal(checkpoint_of(st, "a"), 300000);
	assert_int_equal(checkpoint_of(st, "b"), 7);
	assert_int_equal(checkpoint_of(st, "c"), 0);
	toride_store_close(st);
}

struct pending_seen {
	char rows[32][64];
	size_t n;
	size_t stop_after; /* 0 = never stop */
};

static int
record_pending(const char *addr, uint16_t port, void *arg)
{
	struct pending_seen *p = arg;
	if (p->n < 32)
		snprintf(p->rows[p->n], sizeof p->rows[p->n], "%s %u", addr, (unsigned)port);
	p->n++;
	if (p->stop_after != 0 && p->n == p->stop_after)
		return 42;
	return 0;
}

static void
put_pair(struct toride_store *st, const char *survey, const char *type, const char *addr, int port,
	 const char *extra)
{
	char line[512];
	snprintf(line, sizeof line, "{\"type\":\"%s\",\"survey\":\"%s\",\"time\":\"2026-11-22T00:00:00.000Z\","
		 "\"addr\":\"%s\",\"port\":%d,%s}", type, survey, addr, port, extra);
	int rc = put_line(st, line);
	if (rc != 0)
		fail_msg("%s: %s (%s)", line, toride_strerror(rc), toride_store_errmsg(st));
}

#define OPEN_OBS "\"proto\":null,\"kind\":\"open\",\"data\":{}"
#define DONE_OPEN "\"state\":\"open\""

/* Pending = an "open" observation without a probe_done of the same survey, reported in numeric
 * address order (not text order: 10.0.0.9 before 10.0.0.10; IPv4 before IPv6) then port. */
static void
test_pending_open_walk(void **state)
{
	(void)state;
	char err[256];
	struct toride_store *st = NULL;
	assert_int_equal(toride_store_open(&st, ":memory:", err, sizeof err), 0);
	struct pending_seen seen = {0};
	assert_int_equal(toride_store_foreach_pending_open(st, "s", record_pending, &seen), 0);
	assert_int_equal(seen.n, 0);

	put_pair(st, "s", "observation", "2001:DB8::1", 23, OPEN_OBS); /* stored canonically */
	put_pair(st, "s", "observation", "10.0.0.10", 80, OPEN_OBS);
	put_pair(st, "s", "observation", "10.0.0.10", 23, OPEN_OBS);
	put_pair(st, "s", "observation", "10.0.0.9", 2323, OPEN_OBS);
	put_pair(st, "s", "observation", "10.0.0.9", 22, OPEN_OBS);
	put_pair(st, "s", "observation", "192.0.2.1", 23, OPEN_OBS);  /* done below */
	put_pair(st, "s", "observation", "192.0.2.2", 23, OPEN_OBS);  /* done in another survey only */
	put_pair(st, "s", "observation", "192.0.2.3", 23,
		 "\"proto\":null,\"kind\":\"closed\",\"data\":{}");       /* not open */
	put_pair(st, "s", "observation", "192.0.2.4", 80,
		 "\"proto\":\"http\",\"kind\":\"service\",\"data\":{}");  /* not an open observation */
	put_pair(st, "t", "observation", "192.0.2.5", 23, OPEN_OBS);  /* another survey */
	put_pair(st, "s", "observation", "10.0.0.9", 22, OPEN_OBS);    /* a repeat: one row */
	put_pair(st, "s", "probe_done", "192.0.2.1", 23, DONE_OPEN);
	put_pair(st, "t", "probe_done", "192.0.2.2", 23, DONE_OPEN);
	put_pair(st, "s", "probe_done", "10.0.0.10", 22, DONE_OPEN);   /* done, never seen open: irrelevant */

	static const char *const want[] = {
		"10.0.0.9 22", "10.0.0.9 2323", "10.0.0.10 23", "10.0.0.10 80", "192.0.2.2 23", "2001:db8::1 23",
	};
	memset(&seen, 0, sizeof seen);
	assert_int_equal(toride_store_foreach_pending_open(st, "s", record_pending, &seen), 0);
	assert_int_equal(seen.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < seen.n; i++)
		assert_string_equal(seen.rows[i], want[i]);

	/* Finishing a pair removes it; the order of the rest is unchanged. */
	put_pair(st, "s", "probe_done", "10.0.0.10", 23, "\"state\":\"error\"");
	memset(&seen, 0, sizeof seen);
	assert_int_equal(toride_store_foreach_pending_open(st, "s", record_pending, &seen), 0);
	assert_int_equal(seen.n, 5);
	assert_string_equal(seen.rows[2], "10.0.0.10 80");

	/* A non-zero return stops the walk and is returned; the statement is reusable after. */
	memset(&seen, 0, sizeof seen);
	seen.stop_after = 2;
	assert_int_equal(toride_store_foreach_pending_open(st, "s", record_pending, &seen), 42);
	assert_int_equal(seen.n, 2);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(toride_store_foreach_pending_open(st, "t", record_pending, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.rows[0], "192.0.2.5 23");
	memset(&seen, 0, sizeof seen);
	assert_int_equal(toride_store_foreach_pending_open(st, "nope", record_pending, &seen), 0);
	assert_int_equal(seen.n, 0);
	toride_store_close(st);
}

/* The walk must stay an index walk at a million rows: the partial covering index gives the order
 * (no sort, no table row read) and probe_done is probed by its primary key.
 * (Timing at scale: TORIDE_STORE_BENCH=1, below.) */
static void
test_pending_open_plan(void **state)
{
	(void)state;
	char db[512], err[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "plan.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	sqlite3 *h;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	/* The statement of sqlite.c, spelled the same way. */
	assert_int_equal(sqlite3_prepare_v2(h,
					    "EXPLAIN QUERY PLAN SELECT o.addr, o.port FROM observation o"
					    " INDEXED BY observation_open"
					    " WHERE o.survey = ?1 AND o.kind = 'open'"
					    "  AND NOT EXISTS (SELECT 1 FROM probe_done p"
					    "   WHERE p.survey = o.survey AND p.addr = o.addr AND p.port = o.port)"
					    " ORDER BY o.addr_key, o.port",
					    -1, &s, NULL),
			 SQLITE_OK);
	char plan[2048] = "";
	size_t used = 0;
	while (sqlite3_step(s) == SQLITE_ROW && used < sizeof plan - 1) {
		int n = snprintf(plan + used, sizeof plan - used, "%s\n", (const char *)sqlite3_column_text(s, 3));
		if (n > 0)
			used += (size_t)n < sizeof plan - used ? (size_t)n : sizeof plan - used - 1;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	if (strstr(plan, "COVERING INDEX observation_open") == NULL || strstr(plan, "TEMP B-TREE") != NULL ||
	    strstr(plan, "SEARCH p USING PRIMARY KEY") == NULL)
		fail_msg("pending walk plan is not index-only:\n%s", plan);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
count_pending(const char *addr, uint16_t port, void *arg)
{
	(void)addr;
	(void)port;
	(*(uint64_t *)arg)++;
	return 0;
}

/* TORIDE_STORE_BENCH=1: 1,000,000 open observations (250,000 addresses x 4 ports), 990,000 of them
 * with a probe_done, then time the walk of the 10,000 pending ones. Skipped otherwise (it takes
 * about a minute, most of it the inserts). */
static void
test_pending_open_scale(void **state)
{
	(void)state;
	const char *env = getenv("TORIDE_STORE_BENCH");
	if (env == NULL || strcmp(env, "1") != 0) {
		skip();
		return;
	}
	char db[512], err[256], line[256];
	struct toride_store *st = NULL;
	path_in_tmp(db, sizeof db, "scale.db");
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	static const int ports[] = {23, 80, 2323, 8080};
	const uint32_t naddr = 250000, total = naddr * 4, ndone = 990000;
	double t0 = now_s();
	assert_int_equal(toride_store_begin(st), 0);
	for (uint32_t i = 0; i < total; i++) {
		uint32_t a = 0x0a000000u + i / 4 * 7919u % (1u << 24); /* 10/8, not in address order */
		snprintf(line, sizeof line,
			 "{\"type\":\"observation\",\"survey\":\"big\",\"time\":\"2026-11-22T00:00:00.000Z\","
			 "\"addr\":\"%u.%u.%u.%u\",\"port\":%d,\"proto\":null,\"kind\":\"open\",\"data\":{}}",
			 a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, ports[i % 4]);
		assert_int_equal(put_line(st, line), 0);
		/* every 100th pair (1 %) stays pending */
		if (i % 100 != 99) {
			snprintf(line, sizeof line,
				 "{\"type\":\"probe_done\",\"survey\":\"big\",\"time\":\"2026-11-22T00:00:00.000Z\","
				 "\"addr\":\"%u.%u.%u.%u\",\"port\":%d,\"state\":\"open\"}",
				 a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, ports[i % 4]);
			assert_int_equal(put_line(st, line), 0);
		}
	}
	assert_int_equal(toride_store_commit(st), 0);
	double t1 = now_s();
	toride_store_close(st);
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		uint64_t n = 0;
		double a = now_s();
		assert_int_equal(toride_store_foreach_pending_open(st, "big", count_pending, &n), 0);
		double b = now_s();
		assert_int_equal(n, total - ndone);
		print_message("pending walk %d: %llu pending of %u opens in %.3f s\n", round, (unsigned long long)n,
			      total, b - a);
		if (b - a < best)
			best = b - a;
	}
	print_message("insert %u observations + %u probe_done: %.1f s; walk best of 5: %.3f s\n", total, ndone,
		      t1 - t0, best);
	toride_store_close(st);
}

/* A version 2 database (before discovery checkpoints), with rows of an interrupted survey, is
 * migrated in place on the first open for writing: its rows stay, the pending walk sees them, and
 * the schema is then exactly a new database's. */
static const char *const v2_schema =
	"CREATE TABLE survey ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  status TEXT NOT NULL,"
	"  started TEXT, ended TEXT, sensor TEXT,"
	"  params TEXT, counts TEXT,"
	"  event TEXT"
	") STRICT;"
	"CREATE TABLE survey_log ("
	"  survey TEXT NOT NULL, status TEXT NOT NULL, time TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, status, time)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE observation ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,"
	"  kind TEXT NOT NULL, key BLOB NOT NULL, proto TEXT, time TEXT, sensor TEXT,"
	"  result TEXT, vendor TEXT, product TEXT, dev_type TEXT,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, addr, port, kind, key)"
	") STRICT;"
	"CREATE INDEX observation_by_kind ON observation (survey, kind, addr_key, port);"
	"CREATE TABLE finding ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,"
	"  requirement TEXT NOT NULL, proto TEXT, verdict TEXT NOT NULL, proof TEXT NOT NULL,"
	"  rank INTEGER NOT NULL, summary TEXT, cred_user TEXT, cred_password TEXT,"
	"  vendor TEXT, product TEXT, dev_type TEXT, time TEXT, sensor TEXT,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, addr, port, requirement)"
	") STRICT;"
	"CREATE INDEX finding_by_order ON finding (survey, addr_key, port, requirement);"
	"CREATE INDEX finding_by_verdict ON finding (survey, verdict, requirement);"
	"CREATE TABLE probe_done ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, port INTEGER NOT NULL, state TEXT NOT NULL,"
	"  time TEXT,"
	"  PRIMARY KEY (survey, addr, port)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE hp_session ("
	"  session TEXT PRIMARY KEY, start TEXT, \"end\" TEXT, src TEXT, dst_port INTEGER,"
	"  proto TEXT, profile TEXT,"
	"  event TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX hp_session_by_start ON hp_session (start);"
	"CREATE INDEX hp_session_by_src ON hp_session (src);"
	"CREATE TABLE hp_sample ("
	"  sha256 TEXT PRIMARY KEY, first_seen TEXT,"
	"  event TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX hp_sample_by_first_seen ON hp_sample (first_seen);"
	"PRAGMA application_id = 1414484553; PRAGMA user_version = 2;";

static char *
schema_of(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	char *out = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT group_concat(sql, ';') FROM"
					    " (SELECT sql FROM sqlite_schema ORDER BY name)", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(h);
	assert_non_null(out);
	return out;
}

static void
test_v2_database_is_migrated(void **state)
{
	(void)state;
	char db[512], fresh[512], err[256];
	struct toride_store *st = NULL;
	sqlite3 *h;
	assert_int_equal(TORIDE_STORE_APPLICATION_ID, 1414484553);
	path_in_tmp(db, sizeof db, "v2.db");
	path_in_tmp(fresh, sizeof fresh, "fresh3.db");
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, v2_schema, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), 2);
	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), 3);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM discovery_checkpoint"), 0);

	/* Now with rows as a v2 toride wrote them: an interrupted survey, three opens, one done. */
	path_in_tmp(db, sizeof db, "v2rows.db");
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, v2_schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "INSERT INTO survey (id, status, started) VALUES ('old', 'interrupted', '2026-01-01');"
				      "INSERT INTO observation (survey, addr, addr_key, port, kind, key, event) VALUES"
				      " ('old', '10.0.0.9', X'00000000000000000000ffff0a000009', 23, 'open', X'', '{}'),"
				      " ('old', '10.0.0.10', X'00000000000000000000ffff0a00000a', 23, 'open', X'', '{}'),"
				      " ('old', '10.0.0.11', X'00000000000000000000ffff0a00000b', 80, 'open', X'', '{}');"
				      "INSERT INTO probe_done (survey, addr, port, state) VALUES ('old', '10.0.0.10', 23, 'open');",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	/* Read-only never migrates. */
	assert_int_equal(toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err), TORIDE_EDB);
	assert_non_null(strstr(err, "open it once for writing"));
	assert_int_equal(count_rows(db, "PRAGMA user_version"), 2);

	assert_int_equal(toride_store_open(&st, db, err, sizeof err), 0);
	struct pending_seen seen = {0};
	assert_int_equal(toride_store_foreach_pending_open(st, "old", record_pending, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.rows[0], "10.0.0.9 23");
	assert_string_equal(seen.rows[1], "10.0.0.11 80");
	assert_int_equal(checkpoint_of(st, "old"), 0);
	assert_int_equal(put_checkpoint(st, "old", 77, "2026-11-22T00:00:00.000Z"), 0);
	assert_int_equal(checkpoint_of(st, "old"), 77);
	toride_store_close(st);
	assert_int_equal(count_rows(db, "PRAGMA user_version"), TORIDE_STORE_SCHEMA_VERSION);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM observation"), 3);

	assert_int_equal(toride_store_open(&st, fresh, err, sizeof err), 0);
	toride_store_close(st);
	char *a = schema_of(db), *b = schema_of(fresh);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "discovery_checkpoint"));
	free(a);
	free(b);
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
		cmocka_unit_test(test_checkpoint_rejects_bad_positions),
		cmocka_unit_test(test_checkpoint_keeps_max),
		cmocka_unit_test(test_pending_open_walk),
		cmocka_unit_test(test_pending_open_plan),
		cmocka_unit_test(test_pending_open_scale),
		cmocka_unit_test(test_v2_database_is_migrated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
