/* Honeypot campaigns (hp_campaigns_build): every edge kind links two sessions, a common credential
 * pair links only inside HP_CAMPAIGN_CRED_WINDOW_S, ids are UUIDv5 of the earliest session (checked
 * against Python's uuid.uuid5), and the result does not depend on the input order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/event.h"
#include "jsonl.h"
#include "honeypot/export_int.h"
#include "honeypot/hp.h"

#define FIX_DIR TORIDE_TEST_DATA "/honeypot"

static json_t *
load_jsonl(const char *path)
{
	json_t *arr = test_load_jsonl(path);
	assert_non_null(arr);
	return arr;
}

/* A session with optionally one successful login at +login_ms, one download host/URL and one
 * written file. */
static json_t *
mk_session(const char *id, const char *start, const char *src, const char *user, const char *pass, int login_ms,
	   const char *host, const char *url, const char *file_sha)
{
	json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[], s:[], s:[]}", "type", "hp_session", "session", id,
			      "start", start, "src", src, "logins", "downloads", "files", "families");
	assert_non_null(s);
	if (user != NULL)
		json_array_append_new(json_object_get(s, "logins"),
				      json_pack("{s:i, s:s, s:s, s:b}", "t_ms", login_ms, "user", user, "password", pass,
						"ok", 1));
	if (host != NULL || url != NULL)
		json_array_append_new(json_object_get(s, "downloads"),
				      json_pack("{s:s, s:s?, s:s?}", "tool", "wget", "host", host, "url", url));
	if (file_sha != NULL)
		json_array_append_new(json_object_get(s, "files"),
				      json_pack("{s:s, s:i, s:s}", "path", "/tmp/x", "size", 10, "sha256", file_sha));
	return s;
}

#define SHA_X "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_Y "2222222222222222222222222222222222222222222222222222222222222222"

/* Number of campaigns built from two sessions (and samples). */
static size_t
campaigns_of(json_t *a, json_t *b, json_t *samples)
{
	json_t *sessions = json_pack("[o, o]", a, b), *camps = NULL;
	assert_int_equal(hp_campaigns_build(sessions, samples, &camps), 0);
	size_t n = json_array_size(camps);
	json_decref(camps);
	json_decref(sessions);
	json_decref(samples);
	return n;
}

static void
test_each_edge_links(void **state)
{
	(void)state;
	/* Unrelated: different sources, no shared values. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-01T00:00:01.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, NULL), NULL),
			 2);
	/* Same download host, compared without case. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0,
						 "CNC.Example.NET", "http://CNC.Example.NET/a", NULL),
				      mk_session("s2", "2026-03-05T00:00:00.000Z", "192.0.2.2", NULL, NULL, 0,
						 "cnc.example.net", "http://cnc.example.net/b", NULL),
				      NULL),
			 1);
	/* Same written file. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0, NULL, NULL, SHA_X),
				      mk_session("s2", "2026-03-09T00:00:00.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, SHA_X), NULL),
			 1);
	/* A sample fetched from s1's URL is the file s2 wrote. */
	json_t *fetched = json_pack("[{s:s, s:s, s:s}]", "sha256", SHA_X, "origin", "fetch", "url", "http://203.0.113.5/x.sh");
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0, "203.0.113.5",
						 "http://203.0.113.5/x.sh", NULL),
				      mk_session("s2", "2026-03-09T00:00:00.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, SHA_X), fetched),
			 1);
	/* The same URL without a fetched sample, and a sample of another URL, do not link. */
	fetched = json_pack("[{s:s, s:s, s:s}]", "sha256", SHA_X, "origin", "fetch", "url", "http://203.0.113.5/other.sh");
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0, NULL,
						 "http://203.0.113.5/x.sh", NULL),
				      mk_session("s2", "2026-03-09T00:00:00.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, SHA_X), fetched),
			 2);
	/* A sample first seen in s1 (e.g. an upload whose file record was cut) is the file s2 wrote. */
	json_t *first = json_pack("[{s:s, s:s, s:s}]", "sha256", SHA_Y, "origin", "upload", "session", "s1");
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", NULL, NULL, 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-09T00:00:00.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, SHA_Y), first),
			 1);
	/* Same source address (IPv6 in two spellings), a week apart. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "2001:DB8::1", NULL, NULL, 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-08T00:00:00.000Z", "2001:db8:0::1", NULL, NULL, 0, NULL, NULL, NULL), NULL),
			 1);
	/* Same successful pair 100 s apart (scanner then loader, from elsewhere). */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 800, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-01T00:01:40.000Z", "192.0.2.2", "root", "xc3511", 200, NULL, NULL, NULL), NULL),
			 1);
}

static void
test_common_pair_outside_window_does_not_link(void **state)
{
	(void)state;
	/* root/xc3511 is in every Mirai build: 10 minutes apart it is not evidence of one campaign. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-01T00:10:00.000Z", "192.0.2.2", "root", "xc3511", 0, NULL, NULL, NULL), NULL),
			 2);
	/* The window is measured between the logins, not the connections: 119 s + 2 s of login delay. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-01T00:01:59.000Z", "192.0.2.2", "root", "xc3511", 2000, NULL, NULL, NULL), NULL),
			 2);
	/* Another password is another pair. */
	assert_int_equal(campaigns_of(mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 0, NULL, NULL, NULL),
				      mk_session("s2", "2026-03-01T00:00:05.000Z", "192.0.2.2", "root", "vizxv", 0, NULL, NULL, NULL), NULL),
			 2);
	/* A failed attempt with the pair does not count. */
	json_t *a = mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 0, NULL, NULL, NULL);
	json_t *b = mk_session("s2", "2026-03-01T00:00:05.000Z", "192.0.2.2", NULL, NULL, 0, NULL, NULL, NULL);
	json_array_append_new(json_object_get(b, "logins"),
			      json_pack("{s:i, s:s, s:s, s:b}", "t_ms", 0, "user", "root", "password", "xc3511", "ok", 0));
	assert_int_equal(campaigns_of(a, b, NULL), 2);

	/* A chain inside the window links its ends (0 s, 100 s, 200 s). */
	json_t *sessions = json_pack("[o, o, o]",
				     mk_session("s1", "2026-03-01T00:00:00.000Z", "192.0.2.1", "root", "xc3511", 0, NULL, NULL, NULL),
				     mk_session("s2", "2026-03-01T00:01:40.000Z", "192.0.2.2", "root", "xc3511", 0, NULL, NULL, NULL),
				     mk_session("s3", "2026-03-01T00:03:20.000Z", "192.0.2.3", "root", "xc3511", 0, NULL, NULL, NULL));
	json_t *camps = NULL;
	assert_int_equal(hp_campaigns_build(sessions, NULL, &camps), 0);
	assert_int_equal(json_array_size(camps), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(camps, 0), "sessions")), 3);
	json_decref(camps);
	json_decref(sessions);
}

static const char *
str_at(const json_t *obj, const char *key, size_t i)
{
	return json_string_value(json_array_get(json_object_get(obj, key), i));
}

static void
test_fixture_campaigns(void **state)
{
	(void)state;
	json_t *sessions = load_jsonl(FIX_DIR "/sessions.jsonl"), *samples = load_jsonl(FIX_DIR "/samples.jsonl");
	json_t *camps = NULL;
	assert_int_equal(hp_campaigns_build(sessions, samples, &camps), 0);
	assert_int_equal(json_array_size(camps), 4);

	/* Mirai: scanner and loader share root/xc3511 within 45 s; the next day's loader shares the
	 * download host. The SSH session with the same pair 20 minutes later is not part of it. */
	const json_t *a = json_array_get(camps, 0);
	/* uuid.uuid5(UUID('6ad15da1-93d7-41ad-be85-80daa4b17167'), 'campaign:a1b2c3d4e5f60001') */
	assert_string_equal(json_string_value(json_object_get(a, "id")), "campaign--502d8974-b6aa-5eb4-a237-9c5e5759b997");
	assert_string_equal(json_string_value(json_object_get(a, "first_seen")), "2026-03-01T10:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(a, "last_seen")), "2026-03-02T08:30:04.000Z");
	assert_int_equal(json_array_size(json_object_get(a, "sessions")), 3);
	assert_string_equal(str_at(a, "sessions", 0), "a1b2c3d4e5f60001");
	assert_string_equal(str_at(a, "sessions", 1), "a1b2c3d4e5f60002");
	assert_string_equal(str_at(a, "sessions", 2), "a1b2c3d4e5f60003");
	assert_int_equal(json_array_size(json_object_get(a, "sources")), 3);
	assert_string_equal(str_at(a, "download_hosts", 0), "198.51.100.7");
	assert_int_equal(json_array_size(json_object_get(a, "urls")), 2);
	assert_int_equal(json_array_size(json_object_get(a, "credentials")), 2); /* root/vizxv, root/xc3511 */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "credentials"), 1), "password")),
			    "xc3511");
	assert_int_equal(json_array_size(json_object_get(a, "samples")), 1);
	assert_string_equal(str_at(a, "samples", 0), "66d643c690f917b15aae33903a45362546c12e905fb8bb766412c2e6b95d85ae");
	assert_int_equal(json_array_size(json_object_get(a, "families")), 1);
	assert_string_equal(str_at(a, "families", 0), "mirai");

	/* Echo-uploaded dropper written in two sessions from unrelated sources. */
	const json_t *c = json_array_get(camps, 1);
	assert_string_equal(json_string_value(json_object_get(c, "id")), "campaign--2c08dfea-7fe8-5da6-9843-c1acacdf014d");
	assert_int_equal(json_array_size(json_object_get(c, "sessions")), 2);
	assert_string_equal(str_at(c, "sources", 0), "2001:db8::66");
	assert_string_equal(str_at(c, "samples", 0), "1f4b43713fc434cb7b49a7e7c70c11b3650ae7ab61d7daca888efedac16c9a8a");

	/* Same source an hour later (only failed logins then). Family from the fetched sample too. */
	const json_t *b = json_array_get(camps, 2);
	assert_string_equal(json_string_value(json_object_get(b, "id")), "campaign--544969ab-657a-5a97-90cb-b8a740410242");
	assert_int_equal(json_array_size(json_object_get(b, "sessions")), 2);
	assert_int_equal(json_array_size(json_object_get(b, "credentials")), 1);
	assert_string_equal(str_at(b, "families", 0), "gafgyt");
	assert_string_equal(str_at(b, "download_hosts", 0), "cnc.example.net");

	/* tftp download fetched by the collector; the next day another source writes the same
	 * bytes: linked only through the fetched sample (their admin/admin is 24 h apart). */
	const json_t *d = json_array_get(camps, 3);
	assert_string_equal(json_string_value(json_object_get(d, "id")), "campaign--b901c8fe-1c0f-57db-83a3-4315f7b89843");
	assert_int_equal(json_array_size(json_object_get(d, "sessions")), 2);
	assert_string_equal(str_at(d, "samples", 0), "6caab8020739f899d2fc077663422b88cbc1da3b4b82886170f548e533b680dd");

	json_decref(camps);
	json_decref(sessions);
	json_decref(samples);
}

static void
test_stable_under_permutation(void **state)
{
	(void)state;
	json_t *sessions = load_jsonl(FIX_DIR "/sessions.jsonl"), *samples = load_jsonl(FIX_DIR "/samples.jsonl");
	json_t *ref = NULL;
	assert_int_equal(hp_campaigns_build(sessions, samples, &ref), 0);
	char *ref_text = json_dumps(ref, JSON_SORT_KEYS | JSON_COMPACT);
	size_t n = json_array_size(sessions), m = json_array_size(samples);
	/* Fisher-Yates with a fixed LCG: 20 different orders of sessions and samples. */
	uint32_t seed = 12345;
	for (int round = 0; round < 20; round++) {
		json_t *ps = json_array(), *pm = json_array();
		size_t idx[64], jdx[64];
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t i = 0; i < m; i++)
			jdx[i] = i;
		for (size_t i = n; i > 1; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 8) % i, t = idx[i - 1];
			idx[i - 1] = idx[j];
			idx[j] = t;
		}
		for (size_t i = m; i > 1; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 8) % i, t = jdx[i - 1];
			jdx[i - 1] = jdx[j];
			jdx[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			json_array_append(ps, json_array_get(sessions, idx[i]));
		for (size_t i = 0; i < m; i++)
			json_array_append(pm, json_array_get(samples, jdx[i]));
		json_t *got = NULL;
		assert_int_equal(hp_campaigns_build(ps, pm, &got), 0);
		char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
		assert_string_equal(text, ref_text);
		free(text);
		json_decref(got);
		json_decref(ps);
		json_decref(pm);
	}
	free(ref_text);
	json_decref(ref);
	json_decref(sessions);
	json_decref(samples);
}

static void
test_bad_input(void **state)
{
	(void)state;
	json_t *camps = NULL, *obj = json_object();
	assert_int_equal(hp_campaigns_build(obj, NULL, &camps), TORIDE_EINVAL);
	assert_int_equal(hp_campaigns_build(NULL, NULL, &camps), TORIDE_EINVAL);
	json_decref(obj);
	/* Entries without an id, a parsable start or an IP source are left out, not fatal. */
	json_t *sessions = json_pack("[i, {s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, o]", 5, "session", "x", "session", "y",
				     "start", "not a time", "src", "192.0.2.1", "session", "z", "start",
				     "2026-03-01T00:00:00Z", "src", "host.example",
				     mk_session("ok", "2026-03-01T00:00:00Z", "192.0.2.9", NULL, NULL, 0, NULL, NULL, NULL));
	assert_int_equal(hp_campaigns_build(sessions, NULL, &camps), 0);
	assert_int_equal(json_array_size(camps), 1);
	assert_string_equal(str_at(json_array_get(camps, 0), "sessions", 0), "ok");
	json_decref(camps);
	json_decref(sessions);
	/* No sessions, no campaigns. */
	sessions = json_array();
	assert_int_equal(hp_campaigns_build(sessions, NULL, &camps), 0);
	assert_int_equal(json_array_size(camps), 0);
	json_decref(camps);
	json_decref(sessions);
}

static void
test_helpers(void **state)
{
	(void)state;
	int64_t ms = 0;
	char out[32], u[37];
	assert_int_equal(hp_time_parse_ms("2026-03-01T10:00:45.25Z", &ms), 0);
	assert_int_equal(ms, INT64_C(1772359245250));
	hp_time_format_ms(ms, out);
	assert_string_equal(out, "2026-03-01T10:00:45.250Z");
	assert_int_equal(hp_time_parse_ms("2026-03-01T10:00:45Z", &ms), 0);
	assert_int_equal(hp_time_parse_ms("2026-03-01 10:00:45Z", &ms), TORIDE_EPARSE);
	assert_int_equal(hp_time_parse_ms("2026-03-01T10:00:45.Z", &ms), TORIDE_EPARSE);
	assert_int_equal(hp_time_parse_ms("2026-03-01T10:00:45+09:00", &ms), TORIDE_EPARSE);
	/* uuid.uuid5(uuid.UUID('00abedb4-aa42-466c-9c01-fed23315a9b7'), '{"value":"198.51.100.3"}') */
	assert_int_equal(hp_uuid5(hp_stix_sco_ns, "{\"value\":\"198.51.100.3\"}", 24, u), 0);
	assert_string_equal(u, "28bb3599-77cd-5a82-a950-b5bc3caf07c4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_edge_links),
		cmocka_unit_test(test_common_pair_outside_window_does_not_link),
		cmocka_unit_test(test_fixture_campaigns),
		cmocka_unit_test(test_stable_under_permutation),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
