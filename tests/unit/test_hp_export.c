/* Honeypot export: the STIX 2.1 bundle and the MISP feed of the fixture sessions/samples are checked
 * by tests/integration/honeypot/stix_validate.py (official OASIS schemas, offline) and misp_check.py,
 * and by content; a mutated bundle and a tampered feed make the checkers fail (they can fail). Ids
 * are deterministic; SCO ids are the STIX-standard UUIDv5 values (computed with Python's uuid5). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "jsonl.h"
#include "honeypot/hp.h"

#define FIX_DIR TORIDE_TEST_DATA "/honeypot"
#define SCRIPTS TORIDE_SOURCE_DIR "/tests/integration/honeypot"

static char tmpdir[256];
static json_t *sessions, *samples, *campaigns;
static const struct hp_export_opts opts = {.sensor_name = "sensor-01.example", .now = 1772600000.5};

static json_t *
load_jsonl(const char *path)
{
	json_t *arr = test_load_jsonl(path);
	assert_non_null(arr);
	return arr;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/toride-test-hp-export-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	sessions = load_jsonl(FIX_DIR "/sessions.jsonl");
	samples = load_jsonl(FIX_DIR "/samples.jsonl");
	return hp_campaigns_build(sessions, samples, &campaigns) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[512];
	json_decref(sessions);
	json_decref(samples);
	json_decref(campaigns);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run a checker script on a path; its exit status. */
static int
run_script(const char *script, const char *path)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "python3 '%s/%s' '%s'", SCRIPTS, script, path);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
write_json(const char *path, const json_t *v)
{
	assert_int_equal(json_dump_file(v, path, JSON_INDENT(1)), 0);
}

/* The object with this id, or NULL. */
static json_t *
find_id(const json_t *bundle, const char *id)
{
	size_t k;
	json_t *o;
	json_array_foreach(json_object_get(bundle, "objects"), k, o) {
		if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0)
			return o;
	}
	return NULL;
}

static size_t
count_type(const json_t *bundle, const char *type)
{
	size_t k, n = 0;
	json_t *o;
	json_array_foreach(json_object_get(bundle, "objects"), k, o) {
		n += strcmp(json_string_value(json_object_get(o, "type")), type) == 0;
	}
	return n;
}

/* The first object of a type whose member key equals value. */
static json_t *
find_by(const json_t *bundle, const char *type, const char *key, const char *value)
{
	size_t k;
	json_t *o;
	json_array_foreach(json_object_get(bundle, "objects"), k, o) {
		const char *v = json_string_value(json_object_get(o, key));
		if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 && v != NULL && strcmp(v, value) == 0)
			return o;
	}
	return NULL;
}

static bool
has_relationship(const json_t *bundle, const char *src, const char *rtype, const char *dst)
{
	size_t k;
	json_t *o;
	json_array_foreach(json_object_get(bundle, "objects"), k, o) {
		if (strcmp(json_string_value(json_object_get(o, "type")), "relationship") == 0 &&
		    strcmp(json_string_value(json_object_get(o, "source_ref")), src) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "relationship_type")), rtype) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "target_ref")), dst) == 0)
			return true;
	}
	return false;
}

static void
test_stix_bundle_valid_and_complete(void **state)
{
	(void)state;
	char path[512];
	json_t *bundle = NULL, *again = NULL;
	assert_int_equal(hp_export_stix(sessions, samples, campaigns, &opts, &bundle), 0);
	snprintf(path, sizeof path, "%s/bundle.json", tmpdir);
	write_json(path, bundle);
	assert_int_equal(run_script("stix_validate.py", path), 0);

	/* Deterministic, and the same when the exporter builds the campaigns itself. */
	assert_int_equal(hp_export_stix(sessions, samples, NULL, &opts, &again), 0);
	assert_true(json_equal(bundle, again));
	json_decref(again);

	assert_string_equal(json_string_value(json_object_get(bundle, "type")), "bundle");
	assert_int_equal(count_type(bundle, "identity"), 1);
	assert_int_equal(count_type(bundle, "campaign"), 4);
	assert_int_equal(count_type(bundle, "observed-data"), 4);
	assert_int_equal(count_type(bundle, "malware"), 2);
	assert_int_equal(count_type(bundle, "indicator"), 8); /* 4 download URLs, 4 sample hashes */
	assert_int_equal(count_type(bundle, "ipv4-addr"), 7);
	assert_int_equal(count_type(bundle, "ipv6-addr"), 1);
	assert_int_equal(count_type(bundle, "url"), 4);
	assert_int_equal(count_type(bundle, "file"), 4);

	const json_t *ident = find_by(bundle, "identity", "name", "sensor-01.example");
	assert_non_null(ident);
	const char *ident_id = json_string_value(json_object_get(ident, "id"));
	/* The generation time, with milliseconds. */
	assert_string_equal(json_string_value(json_object_get(ident, "created")), "2026-03-04T04:53:20.500Z");

	/* SCO ids are the STIX-standard ones: uuid5(00abedb4-..., canonical JSON of the value). */
	assert_non_null(find_id(bundle, "ipv4-addr--ddcf16fe-7be7-5bc3-acb0-be69307e448b"));
	assert_non_null(find_id(bundle, "ipv6-addr--bac32532-6f80-5579-ad86-8f273ef5e7d7"));
	const json_t *url = find_id(bundle, "url--a6a7b0cb-dbfe-5f6d-b778-dccab85ec95f");
	assert_non_null(url);
	assert_string_equal(json_string_value(json_object_get(url, "value")), "http://198.51.100.7:80/bins/mirai.arm7");
	const json_t *file = find_id(bundle, "file--f24d857b-b90d-553d-857c-ef45e89ac0b1");
	assert_non_null(file);
	assert_string_equal(json_string_value(json_object_get(json_object_get(file, "hashes"), "MD5")),
			    json_string_value(json_object_get(json_array_get(samples, 0), "md5")));
	assert_int_equal(json_integer_value(json_object_get(file, "size")), 66);

	/* Mirai: indicators of its URL and its sample indicate the family and the campaign. */
	const json_t *camp = find_id(bundle, "campaign--502d8974-b6aa-5eb4-a237-9c5e5759b997");
	assert_non_null(camp);
	assert_string_equal(json_string_value(json_object_get(camp, "first_seen")), "2026-03-01T10:00:00.000Z");
	const json_t *mirai = find_by(bundle, "malware", "name", "mirai");
	assert_non_null(mirai);
	assert_true(json_is_true(json_object_get(mirai, "is_family")));
	const char *mirai_id = json_string_value(json_object_get(mirai, "id"));
	const json_t *ind = find_by(bundle, "indicator", "pattern", "[url:value = 'http://198.51.100.7:80/bins/mirai.arm7']");
	assert_non_null(ind);
	assert_string_equal(json_string_value(json_object_get(ind, "pattern_type")), "stix");
	/* valid_from: when the loader typed the wget (start 10:00:45.250 + 1.7 s). */
	assert_string_equal(json_string_value(json_object_get(ind, "valid_from")), "2026-03-01T10:00:46.950Z");
	const char *ind_id = json_string_value(json_object_get(ind, "id"));
	const char *camp_id = json_string_value(json_object_get(camp, "id"));
	assert_true(has_relationship(bundle, ind_id, "indicates", mirai_id));
	assert_true(has_relationship(bundle, ind_id, "indicates", camp_id));
	assert_true(has_relationship(bundle, camp_id, "uses", mirai_id));
	const json_t *hind = find_by(bundle, "indicator", "pattern",
				     "[file:hashes.'SHA-256' = '66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae']");
	assert_non_null(hind);
	assert_true(has_relationship(bundle, json_string_value(json_object_get(hind, "id")), "indicates", mirai_id));
	/* The sighting of the URL indicator: at this sensor, in the campaign's observed data. */
	const json_t *sight = find_by(bundle, "sighting", "sighting_of_ref", ind_id);
	assert_non_null(sight);
	assert_string_equal(json_string_value(json_array_get(json_object_get(sight, "where_sighted_refs"), 0)), ident_id);
	const json_t *od = find_id(bundle, json_string_value(json_array_get(json_object_get(sight, "observed_data_refs"), 0)));
	assert_non_null(od);
	assert_int_equal(json_integer_value(json_object_get(od, "number_observed")), 3);
	assert_int_equal(json_array_size(json_object_get(od, "object_refs")), 3 + 2 + 1); /* sources, URLs, file */
	json_decref(bundle);
}

static void
test_stix_validator_can_fail(void **state)
{
	(void)state;
	char path[512];
	json_t *bundle = NULL;
	assert_int_equal(hp_export_stix(sessions, samples, campaigns, &opts, &bundle), 0);
	snprintf(path, sizeof path, "%s/mutated.json", tmpdir);

	/* An indicator without spec_version. */
	json_t *copy = json_deep_copy(bundle);
	json_t *ind = find_by(copy, "indicator", "pattern_type", "stix");
	assert_int_equal(json_object_del(ind, "spec_version"), 0);
	write_json(path, copy);
	assert_int_equal(run_script("stix_validate.py", path), 1);
	json_decref(copy);

	/* A timestamp without milliseconds. */
	copy = json_deep_copy(bundle);
	json_object_set_new(find_by(copy, "campaign", "type", "campaign"), "created", json_string("2026-03-04T05:33:20Z"));
	write_json(path, copy);
	assert_int_equal(run_script("stix_validate.py", path), 1);
	json_decref(copy);

	/* A URL that is not a URI. */
	copy = json_deep_copy(bundle);
	json_object_set_new(find_by(copy, "url", "type", "url"), "value", json_string("http://198.51.100.7/a b"));
	write_json(path, copy);
	assert_int_equal(run_script("stix_validate.py", path), 1);
	json_decref(copy);

	/* A dangling reference. */
	copy = json_deep_copy(bundle);
	json_object_set_new(find_by(copy, "sighting", "type", "sighting"), "sighting_of_ref",
			    json_string("indicator--00000000-0000-5000-8000-000000000000"));
	write_json(path, copy);
	assert_int_equal(run_script("stix_validate.py", path), 1);
	json_decref(copy);
	json_decref(bundle);
}

static void
test_stix_hostile_strings(void **state)
{
	(void)state;
	/* Download URLs as bots type them, escaped by the sensor: no scheme, spaces, quotes, escapes,
	 * brackets, a bad port, an IPv6 literal; a source address the schemas must accept. */
	static const char *const urls[] = {
		"203.0.113.9/bins/x y.sh",
		"http://203.0.113.9/a'b\\x00\\xff.sh",
		"HTTP://user@host@203.0.113.9:80x/[q]?a=1#f#g",
		"http://[2001:db8::5]:8080/m%zz%41",
		"tftp://[not-v6]/a",
		"",
	};
	json_t *ss = json_array();
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		char id[32];
		snprintf(id, sizeof id, "e0e0e0e0e0e0000%zu", i);
		json_array_append_new(ss, json_pack("{s:s, s:s, s:s, s:s, s:[{s:i, s:s, s:s}], s:[{s:i, s:s, s:s, s:b}],"
						    " s:[s]}",
						    "type", "hp_session", "session", id, "start", "2026-03-06T00:00:00.000Z",
						    "src", "2001:db8::bad", "downloads", "t_ms", 5, "tool", "wget", "url", urls[i],
						    "logins", "t_ms", 1, "user", "r'o\\x00t", "password", "\\xff", "ok", 1,
						    "families", "mirai"));
	}
	json_t *bundle = NULL;
	assert_int_equal(hp_export_stix(ss, NULL, NULL, &opts, &bundle), 0);
	char path[512];
	snprintf(path, sizeof path, "%s/hostile.json", tmpdir);
	write_json(path, bundle);
	assert_int_equal(run_script("stix_validate.py", path), 0);
	assert_non_null(find_by(bundle, "url", "value", "http://203.0.113.9/bins/x%20y.sh"));
	assert_non_null(find_by(bundle, "url", "value", "http://203.0.113.9/a'b%5Cx00%5Cxff.sh"));
	assert_non_null(find_by(bundle, "indicator", "pattern", "[url:value = 'http://203.0.113.9/a\\'b%5Cx00%5Cxff.sh']"));
	assert_non_null(find_by(bundle, "url", "value", "http://[2001:db8::5]:8080/m%25zz%41"));
	json_decref(bundle);

	char dir[512];
	snprintf(dir, sizeof dir, "%s/hostile-feed", tmpdir);
	char err[256];
	assert_int_equal(hp_export_misp(ss, NULL, NULL, &opts, dir, err, sizeof err), 0);
	assert_int_equal(run_script("misp_check.py", dir), 0);
	json_decref(ss);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

static bool
has_attr(const json_t *event, const char *type, const char *category, const char *value)
{
	size_t k;
	json_t *a;
	json_array_foreach(json_object_get(json_object_get(event, "Event"), "Attribute"), k, a) {
		if (strcmp(json_string_value(json_object_get(a, "type")), type) == 0 &&
		    strcmp(json_string_value(json_object_get(a, "category")), category) == 0 &&
		    strcmp(json_string_value(json_object_get(a, "value")), value) == 0)
			return true;
	}
	return false;
}

static void
test_misp_feed(void **state)
{
	(void)state;
	char dir[512], path[600], err[256];
	snprintf(dir, sizeof dir, "%s/feed", tmpdir);
	assert_int_equal(hp_export_misp(sessions, samples, campaigns, &opts, dir, err, sizeof err), 0);
	assert_int_equal(run_script("misp_check.py", dir), 0);

	json_t *manifest = json_load_file((snprintf(path, sizeof path, "%s/manifest.json", dir), path), 0, NULL);
	assert_non_null(manifest);
	assert_int_equal(json_object_size(manifest), 4);
	/* Event uuid = the campaign's UUID. */
	const json_t *m = json_object_get(manifest, "502d8974-b6aa-5eb4-a237-9c5e5759b997");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "date")), "2026-03-01");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "Orgc"), "name")), "sensor-01.example");
	json_decref(manifest);

	snprintf(path, sizeof path, "%s/502d8974-b6aa-5eb4-a237-9c5e5759b997.json", dir);
	json_t *ev = json_load_file(path, 0, NULL);
	assert_non_null(ev);
	assert_true(has_attr(ev, "ip-src", "Network activity", "203.0.113.10"));
	assert_true(has_attr(ev, "ip-src", "Network activity", "198.51.100.21"));
	assert_true(has_attr(ev, "url", "Payload delivery", "http://198.51.100.7:80/bins/mirai.arm7"));
	assert_true(has_attr(ev, "ip-dst", "Network activity", "198.51.100.7"));
	assert_true(has_attr(ev, "sha256", "Payload delivery",
			     "66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae"));
	assert_true(has_attr(ev, "md5", "Payload delivery",
			     json_string_value(json_object_get(json_array_get(samples, 0), "md5"))));
	assert_true(has_attr(ev, "text", "Attribution", "mirai"));
	const json_t *tags = json_object_get(json_object_get(ev, "Event"), "Tag");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "name")), "tlp:amber");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 1), "name")),
			    "misp-galaxy:malpedia=\"Mirai\"");
	json_decref(ev);
	/* The gafgyt campaign's download host is a name: a hostname attribute. */
	snprintf(path, sizeof path, "%s/544969ab-657a-5a97-90cb-b8a740410242.json", dir);
	ev = json_load_file(path, 0, NULL);
	assert_non_null(ev);
	assert_true(has_attr(ev, "hostname", "Network activity", "cnc.example.net"));
	json_decref(ev);

	/* Deterministic: a second export writes the same bytes. */
	snprintf(path, sizeof path, "%s/hashes.csv", dir);
	char *h1 = slurp(path);
	assert_int_equal(hp_export_misp(sessions, samples, campaigns, &opts, dir, err, sizeof err), 0);
	char *h2 = slurp(path);
	assert_string_equal(h1, h2);
	free(h1);
	free(h2);

	/* No temporary files are left behind. */
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				fail_msg("temporary file left: %s", de->d_name);
			continue;
		}
		files++;
	}
	closedir(d);
	assert_int_equal(files, 4 + 2);

	/* A re-export with fewer campaigns removes the events the manifest no longer lists. */
	json_t *fewer = json_array();
	json_array_append(fewer, json_array_get(campaigns, 0));
	assert_int_equal(hp_export_misp(sessions, samples, fewer, &opts, dir, err, sizeof err), 0);
	json_decref(fewer);
	assert_int_equal(run_script("misp_check.py", dir), 0);
	snprintf(path, sizeof path, "%s/544969ab-657a-5a97-90cb-b8a740410242.json", dir);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_misp_checker_can_fail(void **state)
{
	(void)state;
	char dir[512], path[600], err[256];
	snprintf(dir, sizeof dir, "%s/feed-bad", tmpdir);
	assert_int_equal(hp_export_misp(sessions, samples, campaigns, &opts, dir, err, sizeof err), 0);
	assert_int_equal(run_script("misp_check.py", dir), 0);

	/* A line in hashes.csv that no attribute has. */
	snprintf(path, sizeof path, "%s/hashes.csv", dir);
	char *orig = slurp(path);
	FILE *f = fopen(path, "a");
	fputs("00000000000000000000000000000000,502d8974-b6aa-5eb4-a237-9c5e5759b997\n", f);
	fclose(f);
	assert_int_equal(run_script("misp_check.py", dir), 1);
	f = fopen(path, "w");
	fputs(orig, f);
	fclose(f);
	free(orig);
	assert_int_equal(run_script("misp_check.py", dir), 0);

	/* An attribute type in a category MISP does not allow it in. */
	snprintf(path, sizeof path, "%s/502d8974-b6aa-5eb4-a237-9c5e5759b997.json", dir);
	json_t *ev = json_load_file(path, 0, NULL);
	json_t *a = json_array_get(json_object_get(json_object_get(ev, "Event"), "Attribute"), 0);
	json_object_set_new(a, "category", json_string("Person"));
	write_json(path, ev);
	assert_int_equal(run_script("misp_check.py", dir), 1);
	json_decref(ev);

	/* An event file the manifest does not list. */
	snprintf(path, sizeof path, "%s/feed-bad2", tmpdir);
	assert_int_equal(hp_export_misp(sessions, samples, campaigns, &opts, path, err, sizeof err), 0);
	char extra[700];
	snprintf(extra, sizeof extra, "%s/00000000-0000-5000-8000-000000000000.json", path);
	f = fopen(extra, "w");
	fputs("{\"Event\":{}}", f);
	fclose(f);
	assert_int_equal(run_script("misp_check.py", path), 1);

	/* Errors are reported, not fatal. */
	assert_int_equal(hp_export_misp(sessions, samples, campaigns, &opts, "/nonexistent-dir/sub/feed", err, sizeof err),
			 TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent-dir/sub/feed"));
	assert_int_equal(hp_export_misp(NULL, samples, campaigns, &opts, dir, err, sizeof err), TORIDE_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stix_bundle_valid_and_complete),
		cmocka_unit_test(test_stix_validator_can_fail),
		cmocka_unit_test(test_stix_hostile_strings),
		cmocka_unit_test(test_misp_feed),
		cmocka_unit_test(test_misp_checker_can_fail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
