/* The conform engine: hooks (shell-quoted placeholders, timeout, exit status, bounded output),
 * steps, verdicts, the result document's schema and catalog mappings (docs/conform.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conform/conform.h"
#include "core/error.h"

static struct conform_description desc;

static struct conform_run
mkrun(void)
{
	struct conform_run run = {.desc = &desc};
	return run;
}

static void
setup_desc(const char *json)
{
	char err[256];
	if (conform_describe_parse(json, strlen(json), &desc, err, sizeof err) != 0)
		fail_msg("description: %s", err);
}

static const char *
last_step_field(json_t *item, const char *k)
{
	json_t *steps = json_object_get(item, "steps");
	return json_string_value(json_object_get(json_array_get(steps, json_array_size(steps) - 1), k));
}

static void
test_hook_quotes_hostile_values(void **state)
{
	(void)state;
	setup_desc("{\"format\":1,\"device\":{\"name\":\"c\"},\"address\":\"127.0.0.1\",\"credentials\":{\"scheme\":\"key-only\"}}");
	struct conform_run run = mkrun();
	char dir[] = "/tmp/conform-hook-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char canary[64];
	snprintf(canary, sizeof canary, "%s/pwned", dir);
	/* values that would run commands if pasted unquoted */
	char v1[512], v2[512];
	snprintf(v1, sizeof v1, "'; touch %s; echo '", canary);
	snprintf(v2, sizeof v2, "$(touch %s)`touch %s`\"\\n{new}", canary, canary);
	const char *names[] = {"user", "new", "old"};
	const char *values[] = {v1, v2, "a b\tc\nd"};
	struct conform_hook h = {.timeout_s = 10};
	snprintf(h.command, sizeof h.command, "printf '%%s|' {user} {new} {old} {address} {unknown}");
	char out[4096];
	json_t *item = json_pack("{s:s, s:[]}", "check", "t", "steps");
	int st = conform_hook_run(&run, item, &h, names, values, 3, out, sizeof out);
	assert_int_equal(st, 0);
	assert_int_equal(access(canary, F_OK), -1); /* nothing ran */
	char want[2048];
	/* placeholders are replaced by the exact value, unknown placeholders stay as written, {new}
	 * inside a value is not expanded again */
	snprintf(want, sizeof want, "%s|%s|a b\tc\nd|127.0.0.1|{unknown}|", v1, v2);
	assert_string_equal(out, want);
	/* the same values inside quotes the author wrote: still the exact value, nothing runs */
	snprintf(h.command, sizeof h.command, "printf '%%s|' '{user}' \"{new}\" \"x{old}y\" 'p{user}q' \\'{old}");
	assert_int_equal(conform_hook_run(&run, item, &h, names, values, 3, out, sizeof out), 0);
	assert_int_equal(access(canary, F_OK), -1);
	snprintf(want, sizeof want, "%s|%s|xa b\tc\ndy|p%sq|'a b\tc\nd|", v1, v2, v1);
	assert_string_equal(out, want);
	assert_string_equal(last_step_field(item, "outcome"), "info");
	assert_non_null(strstr(last_step_field(item, "observed"), "exit status 0"));
	assert_non_null(strstr(last_step_field(item, "action"), "run hook: printf"));
	assert_non_null(last_step_field(item, "at"));
	json_decref(item);
	rmdir(dir);
}

static void
test_hook_status_timeout_and_caps(void **state)
{
	(void)state;
	setup_desc("{\"format\":1,\"device\":{\"name\":\"c\"},\"address\":\"127.0.0.1\",\"credentials\":{\"scheme\":\"key-only\"}}");
	struct conform_run run = mkrun();
	json_t *item = json_pack("{s:s, s:[]}", "check", "t", "steps");
	struct conform_hook h = {.timeout_s = 10};
	snprintf(h.command, sizeof h.command, "echo out; echo err >&2; exit 3");
	char out[64];
	assert_int_equal(conform_hook_run(&run, item, &h, NULL, NULL, 0, out, sizeof out), 3);
	assert_string_equal(out, "out\n");
	assert_non_null(strstr(last_step_field(item, "evidence"), "stderr: err"));
	/* output beyond the caller's buffer is cut, never overflowing it */
	snprintf(h.command, sizeof h.command, "head -c 100000 /dev/zero | tr '\\0' x");
	char small[8];
	assert_int_equal(conform_hook_run(&run, item, &h, NULL, NULL, 0, small, sizeof small), 0);
	assert_string_equal(small, "xxxxxxx");
	/* timeout: the hook and what it started are killed */
	h.timeout_s = 1;
	snprintf(h.command, sizeof h.command, "sleep 30 & sleep 30; echo late");
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(conform_hook_run(&run, item, &h, NULL, NULL, 0, out, sizeof out), TORIDE_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
	assert_string_equal(last_step_field(item, "outcome"), "error");
	assert_non_null(strstr(last_step_field(item, "observed"), "timed out"));
	/* not declared */
	struct conform_hook none = {0};
	assert_int_equal(conform_hook_run(&run, item, &none, NULL, NULL, 0, out, sizeof out), TORIDE_ENOTFOUND);
	json_decref(item);
}

static void
test_steps_and_verdicts(void **state)
{
	(void)state;
	struct conform_run run = mkrun();
	json_t *item = json_pack("{s:s}", "check", "t");
	conform_step(&run, item, "violation", "connect", "login: ", "shell after %d bytes", 7);
	json_t *st = json_array_get(json_object_get(item, "steps"), 0);
	assert_string_equal(json_string_value(json_object_get(st, "outcome")), "violation");
	assert_string_equal(json_string_value(json_object_get(st, "observed")), "shell after 7 bytes");
	assert_string_equal(json_string_value(json_object_get(st, "evidence")), "login: ");
	const char *at = json_string_value(json_object_get(st, "at"));
	assert_int_equal(strlen(at), 24);
	assert_int_equal(at[23], 'Z');
	/* evidence is capped */
	char *big = malloc(100000);
	memset(big, 'e', 99999);
	big[99999] = '\0';
	conform_step(&run, item, "info", "x", big, "y");
	assert_true(strlen(json_string_value(json_object_get(json_array_get(json_object_get(item, "steps"), 1), "evidence"))) <=
	            8192);
	free(big);
	conform_verdict_set(item, CONFORM_NA, "does not apply", "対象外");
	assert_string_equal(json_string_value(json_object_get(item, "verdict")), "n/a");
	assert_string_equal(json_string_value(json_object_get(item, "reason_ja")), "対象外");
	json_decref(item);
	assert_string_equal(conform_verdict_name(CONFORM_PASS), "pass");
	assert_string_equal(conform_verdict_name(CONFORM_FAIL), "fail");
	assert_string_equal(conform_verdict_name(CONFORM_UNKNOWN), "unknown");
}

static void
test_overall(void **state)
{
	(void)state;
	json_t *r = json_pack("{s:[{s:s},{s:s},{s:s}]}", "items", "verdict", "pass", "verdict", "n/a", "verdict", "pass");
	assert_int_equal(conform_overall(r), CONFORM_PASS);
	json_array_append_new(json_object_get(r, "items"), json_pack("{s:s}", "verdict", "unknown"));
	assert_int_equal(conform_overall(r), CONFORM_UNKNOWN);
	json_array_append_new(json_object_get(r, "items"), json_pack("{s:s}", "verdict", "fail"));
	assert_int_equal(conform_overall(r), CONFORM_FAIL);
	json_decref(r);
	r = json_pack("{s:[]}", "items");
	assert_int_equal(conform_overall(r), CONFORM_UNKNOWN); /* nothing examined is no pass */
	json_decref(r);
	r = json_pack("{s:[{s:s}]}", "items", "verdict", "maybe");
	assert_int_equal(conform_overall(r), CONFORM_UNKNOWN);
	json_decref(r);
}

static void
test_registry(void **state)
{
	(void)state;
	static const char *const mine[] = {"access", "credentials", "brute-force", "known-defaults"};
	for (size_t k = 0; k < 4; k++) {
		bool found = false;
		for (size_t i = 0; i < conform_n_checks; i++)
			found |= strcmp(conform_checks[i].id, mine[k]) == 0;
		assert_true(found);
	}
	assert_string_equal(conform_checks[0].id, "access"); /* fills run->services for the rest */
	for (size_t i = 0; i < conform_n_checks; i++) {
		assert_non_null(conform_checks[i].run);
		assert_true(strlen(conform_checks[i].title) > 0 && strlen(conform_checks[i].title_ja) > 0);
	}
}

/* A whole run against a closed loopback port: every item present with the schema's fields,
 * mappings from data/catalog.json, nothing decided is a pass. */
static void
test_run_all_schema(void **state)
{
	(void)state;
	setup_desc("{\"format\":1,\"device\":{\"name\":\"loop\",\"vendor\":\"v\",\"model\":\"m\",\"firmware\":\"1\"},"
	           "\"address\":\"127.0.0.1\",\"ports\":\"1\",\"credentials\":{\"scheme\":\"key-only\"},"
	           "\"brute_force_seconds\":1}");
	struct conform_run run = mkrun();
	run.only = "no-such-check";
	assert_int_equal(conform_run_all(&run), TORIDE_ENOTFOUND);
	run.only = "credentials";
	assert_int_equal(conform_run_all(&run), 0);
	json_t *items = json_object_get(run.result, "items");
	assert_int_equal(json_array_size(items), 1);
	json_t *it = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(it, "check")), "credentials");
	assert_string_equal(json_string_value(json_object_get(it, "requirement")), "JP-34-10-2");
	json_t *jc = json_object_get(it, "jc_star");
	assert_int_equal(json_array_size(jc), 2);
	assert_string_equal(json_string_value(json_array_get(jc, 0)), "S1.1-02");
	assert_string_equal(json_string_value(json_array_get(json_object_get(it, "etsi"), 0)), "5.1-1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(it, "uk_psti"), 0)), "Schedule 1 para 1");
	/* key-only with no service found at all: nothing examined, so not a pass */
	assert_string_equal(json_string_value(json_object_get(it, "verdict")), "unknown");
	json_decref(run.result);
	run.result = NULL;
	run.only = NULL;
	assert_int_equal(conform_run_all(&run), 0);
	json_t *r = run.result;
	assert_int_equal(json_integer_value(json_object_get(r, "toride_conform")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "tool"), "name")), "toride");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "device"), "address")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "device"), "model")), "m");
	assert_non_null(json_string_value(json_object_get(r, "started")));
	assert_non_null(json_string_value(json_object_get(r, "finished")));
	items = json_object_get(r, "items");
	assert_int_equal(json_array_size(items), conform_n_checks);
	size_t i;
	json_array_foreach(items, i, it) {
		static const char *const fields[] = {"check", "requirement", "title", "title_ja", "verdict", "reason", "reason_ja",
		                                     "started", "finished"};
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
			if (!json_is_string(json_object_get(it, fields[k])))
				fail_msg("item %zu lacks %s", i, fields[k]);
		assert_true(json_is_array(json_object_get(it, "jc_star")) && json_is_array(json_object_get(it, "etsi")) &&
		            json_is_array(json_object_get(it, "uk_psti")));
		assert_true(json_array_size(json_object_get(it, "steps")) > 0);
		assert_string_equal(json_string_value(json_object_get(it, "check")), conform_checks[i].id);
		assert_string_not_equal(json_string_value(json_object_get(it, "verdict")), "pass");
	}
	/* access found no open port: unknown, and the overall verdict can then not be a pass */
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "verdict")), "unknown");
	assert_string_not_equal(json_string_value(json_object_get(r, "verdict")), "pass");
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_quotes_hostile_values), cmocka_unit_test(test_hook_status_timeout_and_caps),
		cmocka_unit_test(test_steps_and_verdicts),          cmocka_unit_test(test_overall),
		cmocka_unit_test(test_registry),                    cmocka_unit_test(test_run_all_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
