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

#include "core/addr.h"
#include "core/error.h"
#include "emu/emu.h"
#include "survey/fingerprint.h"

#define PROFILE_DIR TORIDE_SOURCE_DIR "/data/profiles"
#define MIRAI_TSV TORIDE_SOURCE_DIR "/data/credentials/mirai.tsv"
#define VENDOR_CSV TORIDE_SOURCE_DIR "/data/credentials/vendor-defaults.csv"

static int
load_real(void **state)
{
	struct emu_profiles *p = calloc(1, sizeof *p);
	char err[512];
	assert_non_null(p);
	int rc = emu_profiles_load_dir(p, PROFILE_DIR, err, sizeof err);
	if (rc != 0)
		fail_msg("loading %s: %s", PROFILE_DIR, err);
	*state = p;
	return 0;
}

static int
free_real(void **state)
{
	emu_profiles_free(*state);
	free(*state);
	return 0;
}

static void
test_real_dir_counts(void **state)
{
	const struct emu_profiles *p = *state;
	unsigned pol[5] = {0}, proto[EMU_PROTO_COUNT] = {0};
	assert_true(p->n >= 40);
	for (size_t i = 0; i < p->n; i++) {
		pol[p->v[i].policy]++;
		assert_true(p->v[i].nservices >= 1 && p->v[i].nservices <= 5);
		for (size_t j = 0; j < p->v[i].nservices; j++) {
			proto[p->v[i].services[j].proto]++;
			assert_int_not_equal(p->v[i].services[j].port, 0);
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(p->v[i].id, p->v[j].id);
		assert_ptr_equal(emu_profiles_find(p, p->v[i].id), &p->v[i]);
	}
	assert_null(emu_profiles_find(p, "no-such-profile"));
	assert_true(pol[EMU_CRED_FACTORY_DEFAULT] > p->n / 2);
	assert_true(pol[EMU_CRED_UNIQUE] >= 4);
	assert_true(pol[EMU_CRED_FORCED_CHANGE] >= 3);
	assert_true(pol[EMU_CRED_NO_AUTH] >= 4);
	assert_true(pol[EMU_CRED_KEY_ONLY] >= 2);
	for (int i = 0; i < EMU_PROTO_COUNT; i++)
		if (proto[i] == 0)
			fail_msg("no profile has a %s service", emu_proto_name((enum emu_proto)i));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(emu_proto_name(EMU_TELNET), "telnet");
	assert_string_equal(emu_proto_name(EMU_FTP), "ftp");
	assert_string_equal(emu_proto_name(EMU_PROTO_COUNT), "unknown");
	assert_string_equal(emu_cred_policy_name(EMU_CRED_FACTORY_DEFAULT), "factory-default");
	assert_string_equal(emu_cred_policy_name(EMU_CRED_KEY_ONLY), "key-only");
	assert_string_equal(emu_cred_policy_name((enum emu_cred_policy)99), "unknown");
}

/* Is user/pass a row of mirai.tsv? */
static bool
in_mirai(const char *user, const char *pass)
{
	FILE *f = fopen(MIRAI_TSV, "r");
	char line[256];
	bool found = false;
	assert_non_null(f);
	while (!found && fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#')
			continue;
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL)
			continue;
		*t1 = '\0';
		*t2 = '\0';
		found = strcmp(line, user) == 0 && strcmp(t1 + 1, pass) == 0;
	}
	fclose(f);
	return found;
}

static void
first_word(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s && *s != ' ' && *s != ',' && k + 1 < n; s++) {
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[k++] = c;
	}
	out[k] = '\0';
}

/* Is user/pass in vendor-defaults.csv under a vendor whose first word is that of vendor? */
static bool
in_vendor_csv(const char *vendor, const char *user, const char *pass)
{
	FILE *f = fopen(VENDOR_CSV, "r");
	char line[512], want[64], have[64];
	bool found = false;
	assert_non_null(f);
	first_word(vendor, want, sizeof want);
	while (!found && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *c1 = strchr(line, ',');
		char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *u = strcmp(c1 + 1, "<blank>") == 0 ? "" : c1 + 1;
		const char *pw = strcmp(c2 + 1, "<blank>") == 0 ? "" : c2 + 1;
		first_word(line, have, sizeof have);
		found = strcmp(have, want) == 0 && strcmp(u, user) == 0 && strcmp(pw, pass) == 0;
	}
	fclose(f);
	return found;
}

static void
test_factory_pairs_are_listed(void **state)
{
	const struct emu_profiles *p = *state;
	unsigned mirai = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct emu_profile *pr = &p->v[i];
		bool listed = in_mirai(pr->user, pr->pass);
		if (pr->default_in_mirai && !listed)
			fail_msg("%s: default_in_mirai but %s/%s is not in mirai.tsv", pr->id, pr->user, pr->pass);
		if (pr->policy == EMU_CRED_FACTORY_DEFAULT && !pr->default_in_mirai) {
			if (listed)
				fail_msg("%s: %s/%s is in mirai.tsv; set default_in_mirai", pr->id, pr->user, pr->pass);
			if (!in_vendor_csv(pr->vendor, pr->user, pr->pass))
				fail_msg("%s: %s/%s is in neither mirai.tsv nor vendor-defaults.csv under %s", pr->id,
				         pr->user, pr->pass, pr->vendor);
		}
		mirai += pr->default_in_mirai;
	}
	assert_true(mirai > p->n / 2); /* most IoT defaults are Mirai's */
}

/* Vendor first word of what recog names from this service's banners, "" when nothing matches. */
static void
service_vendors(const struct toride_fpdb *db, const struct emu_service *s, char out[4][64])
{
	char text[1200];
	struct { enum toride_fp_kind k; const char *t; } in[4];
	size_t n = 0;
	switch (s->proto) {
	case EMU_TELNET:
		snprintf(text, sizeof text, "%s%s", s->banner, s->login_prompt[0] ? s->login_prompt : s->password_prompt);
		in[n++] = (typeof(in[0])){TORIDE_FP_TELNET_BANNER, text};
		break;
	case EMU_SSH:
		in[n++] = (typeof(in[0])){TORIDE_FP_SSH_BANNER, s->banner};
		break;
	case EMU_FTP:
		in[n++] = (typeof(in[0])){TORIDE_FP_FTP_BANNER, s->banner};
		break;
	case EMU_HTTP:
	case EMU_RTSP:
		if (s->realm[0] != '\0') {
			snprintf(text, sizeof text, "%s realm=\"%s\"",
			         s->http_auth == EMU_HTTP_AUTH_DIGEST ? "Digest" : "Basic", s->realm);
			in[n++] = (typeof(in[0])){TORIDE_FP_HTTP_WWWAUTH, text};
		}
		in[n++] = (typeof(in[0])){s->proto == EMU_RTSP ? TORIDE_FP_RTSP_SERVER : TORIDE_FP_HTTP_SERVER, s->server};
		if (s->proto == EMU_HTTP)
			in[n++] = (typeof(in[0])){TORIDE_FP_HTML_TITLE, s->title};
		break;
	default:
		break;
	}
	for (size_t i = 0; i < 4; i++) {
		out[i][0] = '\0';
		struct toride_fp_match m;
		if (i < n && in[i].t[0] != '\0' && toride_fpdb_match(db, in[i].k, in[i].t, strlen(in[i].t), &m) == 0)
			first_word(m.vendor, out[i], 64);
	}
}

/* The survey adds vendor defaults only for the vendor it fingerprints: a factory pair that is not
 * Mirai's must be reachable that way, or the lab's truth would say "weak" where no survey can know. */
static void
test_vendor_pairs_are_fingerprinted(void **state)
{
	const struct emu_profiles *p = *state;
	struct toride_fpdb *db = NULL;
	char err[256], want[64], got[4][64];
	unsigned named = 0;
	assert_int_equal(toride_fpdb_load_dir(&db, TORIDE_SOURCE_DIR "/data/fingerprints/recog", err, sizeof err), 0);
	for (size_t i = 0; i < p->n; i++) {
		const struct emu_profile *pr = &p->v[i];
		bool own = false;
		first_word(pr->vendor, want, sizeof want);
		for (size_t j = 0; j < pr->nservices; j++) {
			service_vendors(db, &pr->services[j], got);
			for (int k = 0; k < 4; k++)
				own = own || strcmp(got[k], want) == 0;
		}
		named += own;
		if (pr->policy == EMU_CRED_FACTORY_DEFAULT && !pr->default_in_mirai && !own)
			fail_msg("%s: factory pair not in Mirai and recog does not name vendor %s", pr->id, pr->vendor);
	}
	/* the personas are real devices: recog recognises most of them by their own vendor */
	if (named * 2 < p->n)
		fail_msg("only %u of %zu profiles fingerprinted as their vendor", named, p->n);
	toride_fpdb_free(db);
}

/* ---- refusals: each bad profile fails and the message names the file ---------------------- */

static const char good[] =
	"{\"id\":\"%s\",\"vendor\":\"Acme\",\"product\":\"Cam\",\"type\":\"IP Camera\",\"source\":\"test\","
	"\"policy\":\"factory-default\",\"user\":\"root\",\"pass\":\"xc3511\",\"default_in_mirai\":true,"
	"\"services\":[{\"proto\":\"telnet\",\"port\":23}]}";

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
clean_dir(const char *dir, const char *const *names, size_t n)
{
	char path[512];
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Load a dir holding good a.json plus bad.json = text; expect failure naming bad.json and want. */
static void
expect_refused(const char *text, const char *want)
{
	char dir[] = "/tmp/toride-profiles-XXXXXX";
	char buf[1024], err[512];
	struct emu_profiles p;
	assert_non_null(mkdtemp(dir));
	snprintf(buf, sizeof buf, good, "good-one");
	write_file(dir, "a.json", buf);
	write_file(dir, "bad.json", text);
	int rc = emu_profiles_load_dir(&p, dir, err, sizeof err);
	const char *names[] = {"a.json", "bad.json"};
	clean_dir(dir, names, 2);
	if (rc == 0)
		fail_msg("accepted: %s", text);
	assert_null(p.v);
	if (strstr(err, "bad.json") == NULL || strstr(err, want) == NULL)
		fail_msg("message \"%s\" does not name bad.json and \"%s\"", err, want);
}

static void
test_refusals(void **state)
{
	(void)state;
	char buf[2048];
	/* duplicate id */
	snprintf(buf, sizeof buf, good, "good-one");
	expect_refused(buf, "already used by a.json");
	/* bad JSON */
	expect_refused("{\"id\":\"x\",", "not valid JSON");
	/* missing services, empty services */
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false}", "services");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[]}", "services");
	/* unknown proto, unknown policy, unknown field, port 0, wrong type */
	snprintf(buf, sizeof buf, good, "x");
	char *t = strstr(buf, "\"telnet\"");
	memcpy(t, "\"gopher\"", 8);
	expect_refused(buf, "unknown value \"gopher\"");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"whatever\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"mqtt\","
	               "\"port\":1883}]}", "policy");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"mqtt\","
	               "\"port\":1883,\"anonymus\":true}]}", "unknown field \"anonymus\"");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"mqtt\","
	               "\"port\":0}]}", "services[0].port");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":\"yes\",\"services\":[{\"proto\":\"mqtt\","
	               "\"port\":1883}]}", "default_in_mirai");
	/* two services on one port */
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"mqtt\","
	               "\"port\":1883},{\"proto\":\"telnet\",\"port\":1883}]}", "already used");
	/* policy contradictions: an open MQTT on a factory-default device, Basic auth on a no-auth one,
	 * password SSH on a key-only one, a factory-default profile without a pass */
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"factory-default\",\"user\":\"a\",\"pass\":\"b\",\"default_in_mirai\":false,"
	               "\"services\":[{\"proto\":\"mqtt\",\"port\":1883,\"anonymous\":true}]}", "anonymous");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"http\","
	               "\"port\":80,\"http_auth\":\"basic\",\"realm\":\"r\"}]}", "http_auth");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"key-only\",\"user\":\"root\",\"default_in_mirai\":false,\"services\":[{\"proto\":"
	               "\"ssh\",\"port\":22,\"banner\":\"SSH-2.0-dropbear\",\"ssh_password\":true}]}", "key-only");
	expect_refused("{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	               "\"policy\":\"factory-default\",\"user\":\"root\",\"default_in_mirai\":false,"
	               "\"services\":[{\"proto\":\"telnet\",\"port\":23}]}", "\"pass\"");
	/* over-long string: a 600-byte banner */
	char big[700];
	memset(big, 'A', 600);
	big[600] = '\0';
	snprintf(buf, sizeof buf, "{\"id\":\"x\",\"vendor\":\"A\",\"product\":\"B\",\"type\":\"C\",\"source\":\"s\","
	         "\"policy\":\"no-auth\",\"default_in_mirai\":false,\"services\":[{\"proto\":\"telnet\","
	         "\"port\":23,\"banner\":\"%s\"}]}", big);
	expect_refused(buf, "services[0].banner");
	/* bad id */
	snprintf(buf, sizeof buf, good, "Bad Id");
	expect_refused(buf, "id");
}

static void
test_missing_dir(void **state)
{
	(void)state;
	struct emu_profiles p;
	char err[256];
	assert_int_equal(emu_profiles_load_dir(&p, "/nonexistent/toride/profiles", err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent/toride/profiles"));
}

/* ---- devices -------------------------------------------------------------------------------- */

static const struct emu_profile *
first_with(const struct emu_profiles *p, enum emu_cred_policy pol)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].policy == pol)
			return &p->v[i];
	fail_msg("no profile with policy %s", emu_cred_policy_name(pol));
	return NULL;
}

static void
test_device_init_deterministic(void **state)
{
	const struct emu_profiles *p = *state;
	struct toride_addr a;
	struct emu_device d1, d2, d3;
	assert_int_equal(toride_addr_parse("127.0.3.7", &a), 0);
	const struct emu_profile *u = first_with(p, EMU_CRED_UNIQUE);
	assert_int_equal(emu_device_init(&d1, u, &a, 42, 7), 0);
	assert_int_equal(emu_device_init(&d2, u, &a, 42, 7), 0);
	assert_int_equal(emu_device_init(&d3, u, &a, 42, 8), 0);
	assert_string_equal(d1.addr_str, "127.0.3.7");
	assert_ptr_equal(d1.profile, u);
	assert_string_equal(d1.pass, d2.pass);
	assert_string_equal(d1.hostname, d2.hostname);
	assert_memory_equal(d1.mac, d2.mac, 6);
	assert_true(d1.seed == d2.seed);
	assert_true(d1.boot_time + 2 >= d2.boot_time && d2.boot_time + 2 >= d1.boot_time);
	assert_int_equal(strlen(d1.pass), 16);
	assert_string_not_equal(d1.pass, d3.pass);
	assert_memory_not_equal(d1.mac, d3.mac, 6);
	assert_true(d1.seed != d3.seed);
	assert_false(d1.mac[0] & 1); /* unicast */
	/* another fleet seed, same index: another device */
	assert_int_equal(emu_device_init(&d3, u, &a, 43, 7), 0);
	assert_string_not_equal(d1.pass, d3.pass);
	/* uptime 1..90 days */
	uint64_t now = (uint64_t)time(NULL);
	assert_true(d1.boot_time <= now - 86400 && d1.boot_time >= now - 91 * 86400ull);
	/* unique passwords differ across a fleet */
	char seen[64][17];
	for (unsigned i = 0; i < 64; i++) {
		assert_int_equal(emu_device_init(&d1, u, &a, 1, i), 0);
		memcpy(seen[i], d1.pass, 17);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	/* factory default keeps the factory pass */
	const struct emu_profile *f = first_with(p, EMU_CRED_FACTORY_DEFAULT);
	assert_int_equal(emu_device_init(&d1, f, &a, 42, 7), 0);
	assert_string_equal(d1.pass, f->pass);
}

static void
test_device_hostname_and_oui(void **state)
{
	const struct emu_profiles *p = *state;
	struct toride_addr a;
	struct emu_device d;
	char want[64];
	assert_int_equal(toride_addr_parse("127.0.0.9", &a), 0);
	const struct emu_profile *nas = emu_profiles_find(p, "netgear-readynas-rn104");
	assert_non_null(nas);
	assert_string_equal(nas->hostname, "nas-%m");
	assert_int_equal(emu_device_init(&d, nas, &a, 5, 5), 0);
	snprintf(want, sizeof want, "nas-%02x%02x%02x", d.mac[3], d.mac[4], d.mac[5]);
	assert_string_equal(d.hostname, want);
	/* Netgear's registered OUI A0:40:A0 */
	assert_int_equal(d.mac[0], 0xa0);
	assert_int_equal(d.mac[1], 0x40);
	assert_int_equal(d.mac[2], 0xa0);
	/* unknown vendor: locally administered */
	struct emu_profile x = *nas;
	snprintf(x.vendor, sizeof x.vendor, "Nobody Known");
	assert_int_equal(emu_device_init(&d, &x, &a, 5, 5), 0);
	assert_int_equal(d.mac[0], 0x02);
	assert_int_equal(emu_device_init(&d, NULL, &a, 5, 5), TORIDE_EINVAL);
}

static void
test_check_login(void **state)
{
	const struct emu_profiles *p = *state;
	struct toride_addr a;
	struct emu_device d;
	assert_int_equal(toride_addr_parse("127.0.0.10", &a), 0);

	const struct emu_profile *f = emu_profiles_find(p, "xiongmai-ahb7008t-dvr");
	assert_non_null(f);
	assert_int_equal(emu_device_init(&d, f, &a, 1, 1), 0);
	assert_true(emu_device_check_login(&d, "root", "xc3511"));
	assert_false(emu_device_check_login(&d, "root", "xc351"));
	assert_false(emu_device_check_login(&d, "root", "xc35111"));
	assert_false(emu_device_check_login(&d, "admin", "xc3511"));
	assert_false(emu_device_check_login(&d, "root", ""));
	assert_false(emu_device_check_login(&d, NULL, "xc3511"));

	const struct emu_profile *u = first_with(p, EMU_CRED_UNIQUE);
	assert_int_equal(emu_device_init(&d, u, &a, 1, 2), 0);
	assert_true(emu_device_check_login(&d, u->user, d.pass));
	assert_false(emu_device_check_login(&d, u->user, ""));
	assert_false(emu_device_check_login(&d, u->user, "admin"));
	assert_false(emu_device_check_login(&d, "root", d.pass));

	const struct emu_profile *fc = first_with(p, EMU_CRED_FORCED_CHANGE);
	assert_int_equal(emu_device_init(&d, fc, &a, 1, 3), 0);
	assert_true(emu_device_check_login(&d, fc->user, fc->pass));
	snprintf(d.pass, sizeof d.pass, "%s", "N3w-Secret-99");
	d.pass_changed = true;
	assert_false(emu_device_check_login(&d, fc->user, fc->pass));
	assert_true(emu_device_check_login(&d, fc->user, "N3w-Secret-99"));

	const struct emu_profile *na = first_with(p, EMU_CRED_NO_AUTH);
	assert_int_equal(emu_device_init(&d, na, &a, 1, 4), 0);
	assert_true(emu_device_check_login(&d, "anyone", "anything"));
	assert_true(emu_device_check_login(&d, "", ""));

	const struct emu_profile *k = first_with(p, EMU_CRED_KEY_ONLY);
	assert_int_equal(emu_device_init(&d, k, &a, 1, 5), 0);
	assert_int_equal(strlen(d.pass), 16);
	assert_false(emu_device_check_login(&d, k->user, d.pass));
	assert_false(emu_device_check_login(&d, k->user, ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test_setup_teardown(test_real_dir_counts, load_real, free_real),
		cmocka_unit_test_setup_teardown(test_factory_pairs_are_listed, load_real, free_real),
		cmocka_unit_test_setup_teardown(test_vendor_pairs_are_fingerprinted, load_real, free_real),
		cmocka_unit_test_setup_teardown(test_device_init_deterministic, load_real, free_real),
		cmocka_unit_test_setup_teardown(test_device_hostname_and_oui, load_real, free_real),
		cmocka_unit_test_setup_teardown(test_check_login, load_real, free_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
