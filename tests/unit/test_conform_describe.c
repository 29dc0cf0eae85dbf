/* The conform description parser: strict, bounded, errors name the field (docs/conform.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"
#include "core/error.h"

static struct conform_description d;
static char err[512];

static int
parse(const char *s)
{
	return conform_describe_parse(s, strlen(s), &d, err, sizeof err);
}

/* parse must fail and the message must name `field` */
static void
refused(const char *json, const char *field)
{
	int r = parse(json);
	if (r != TORIDE_EPARSE || strstr(err, field) == NULL)
		fail_msg("expected refusal naming '%s' for %s; got %d '%s'", field, json, r, err);
}

#define BASE "\"format\":1,\"device\":{\"name\":\"cam\"},\"address\":\"10.91.1.1\""
#define CREDS ",\"credentials\":{\"scheme\":\"key-only\"}"

static void
test_examples_in_repo_parse(void **state)
{
	(void)state;
	char path[4096];
	snprintf(path, sizeof path, "%s/data/conform/busybox-telnetd.json", TORIDE_SOURCE_DIR);
	assert_int_equal(conform_describe_load(path, &d, err, sizeof err), 0);
	assert_string_equal(d.address_text, "10.91.1.1");
	assert_int_equal(d.scheme, CONFORM_SCHEME_FORCED_CHANGE);
	assert_string_equal(d.user, "admin");
	assert_string_equal(d.factory_password, "admin");
	assert_int_equal(d.n_interfaces, 1);
	assert_int_equal(d.interfaces[0].port, 23);
	assert_true(d.interfaces[0].management);
	assert_int_equal(d.brute_force_seconds, 12);
	assert_int_equal(d.known_defaults_max_pairs, 20);
	assert_true(d.freshly_provisioned);
	snprintf(path, sizeof path, "%s/data/conform/dropbear-keyonly.json", TORIDE_SOURCE_DIR);
	assert_int_equal(conform_describe_load(path, &d, err, sizeof err), 0);
	assert_int_equal(d.scheme, CONFORM_SCHEME_KEY_ONLY);
	snprintf(path, sizeof path, "%s/data/conform/mosquitto-anonymous.json", TORIDE_SOURCE_DIR);
	assert_int_equal(conform_describe_load(path, &d, err, sizeof err), 0);
	assert_int_equal(d.scheme, CONFORM_SCHEME_NONE);
	assert_int_equal(conform_describe_load("/nonexistent/x.json", &d, err, sizeof err), TORIDE_EIO);
}

static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("{" BASE CREDS "}"), 0);
	assert_string_equal(d.ports, "1-65535");
	assert_int_equal(d.brute_force_seconds, 60);
	assert_int_equal(d.settle_s, 5);
	assert_int_equal(d.known_defaults_max_pairs, 0);
	assert_false(d.freshly_provisioned);
	assert_string_equal(d.change_password.command, "");
}

static void
test_full_description(void **state)
{
	(void)state;
	const char *s = "{\"format\":1,\"device\":{\"name\":\"TD\",\"vendor\":\"toride\",\"model\":\"TD-1\",\"firmware\":\"1.0.0\"},"
	                "\"address\":\"2001:DB8:0:0::2\",\"ports\":\"22,80,8000-8100\","
	                "\"interfaces\":[{\"service\":\"telnet\",\"port\":2323},{\"service\":\"http\",\"port\":8080,\"management\":false}],"
	                "\"credentials\":{\"scheme\":\"forced-change\",\"user\":\"admin\",\"factory_password\":\"admin\","
	                "\"adapter\":\"toride-deviced\",\"admin_url\":\"http://[2001:db8::2]:8080\","
	                "\"change_password\":{\"command\":\"chpw {user} {old} {new}\",\"timeout\":7},\"login_check\":\"lc {user} {old}\"},"
	                "\"update\":{\"command\":\"up {bundle}\",\"version\":\"ver\",\"bundles\":{\"newer\":\"v2.trb\",\"older\":\"v0.trb\","
	                "\"unsigned\":\"u.trb\",\"wrong_target\":\"w.trb\"},\"key\":\"vendor.key\",\"target\":\"toride-td1\"},"
	                "\"power\":{\"cut\":\"kill\",\"restore\":\"start\",\"settle_seconds\":3},\"factory_reset\":\"reset\","
	                "\"brute_force_seconds\":8,\"known_defaults_max_pairs\":100,\"scan_rate\":5000,\"comment\":\"lab\"}";
	assert_int_equal(parse(s), 0);
	assert_string_equal(d.address_text, "2001:db8::2"); /* canonical */
	assert_int_equal(d.address.family, 6);
	assert_int_equal(d.n_interfaces, 2);
	assert_false(d.interfaces[1].management);
	assert_string_equal(d.change_password.command, "chpw {user} {old} {new}");
	assert_int_equal(d.change_password.timeout_s, 7);
	assert_int_equal(d.login_check.timeout_s, 60);
	assert_string_equal(d.bundle_wrong_target, "w.trb");
	assert_string_equal(d.bundle_target, "toride-td1");
	assert_int_equal(d.settle_s, 3);
	assert_string_equal(d.factory_reset.command, "reset");
	assert_int_equal(d.scan_rate, 5000);
}

static void
test_unknown_fields_refused(void **state)
{
	(void)state;
	refused("{" BASE CREDS ",\"brute_force_second\":8}", "brute_force_second");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"key-only\",\"pasword\":\"x\"}}", "credentials.pasword");
	refused("{" BASE CREDS ",\"interfaces\":[{\"service\":\"ssh\",\"port\":22,\"prot\":1}]}", "interfaces[0].prot");
	refused("{" BASE CREDS ",\"power\":{\"cut\":\"x\",\"restor\":\"y\"}}", "power.restor");
	refused("{" BASE CREDS ",\"update\":{\"bundles\":{\"newest\":\"x\"}}}", "update.bundles.newest");
	refused("{" BASE CREDS ",\"factory_reset\":{\"command\":\"x\",\"timeout\":5,\"retries\":2}}", "factory_reset.retries");
	/* a hostile key is shown without its control bytes */
	assert_int_equal(parse("{" BASE CREDS ",\"a\\u001bb\":1}"), TORIDE_EPARSE);
	assert_null(strchr(err, 0x1b));
}

static void
test_address_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {"10.1", "010.0.0.1", "cam.local", "10.0.0.1/32", "10.0.0.1:23", " 10.0.0.1", "fe80::1%eth0", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char s[256];
		snprintf(s, sizeof s, "{\"format\":1,\"device\":{\"name\":\"c\"},\"address\":\"%s\"" CREDS "}", bad[i]);
		refused(s, "address");
	}
	refused("{\"format\":1,\"device\":{\"name\":\"c\"}" CREDS "}", "address");
	refused("{\"format\":1,\"device\":{\"name\":\"c\"},\"address\":167837953" CREDS "}", "address");
}

static void
test_ports_validated(void **state)
{
	(void)state;
	static const char *const bad[] = {"0", "65536", "10-5", "1-65536", "22, 80", "22,,80", "-5", "22,", "abc", "1-2-3", "000022x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char s[256];
		snprintf(s, sizeof s, "{" BASE CREDS ",\"ports\":\"%s\"}", bad[i]);
		refused(s, "ports");
	}
	assert_int_equal(parse("{" BASE CREDS ",\"ports\":\"22,23,2323,8000-8080\"}"), 0);
	uint16_t *p = NULL;
	size_t n = 0;
	extern int conform_ports_parse(const char *, uint16_t **, size_t *, char *, size_t);
	assert_int_equal(conform_ports_parse("80,22,79-81", &p, &n, err, sizeof err), 0);
	assert_int_equal(n, 4); /* duplicates once, ascending */
	assert_int_equal(p[0], 22);
	assert_int_equal(p[1], 79);
	assert_int_equal(p[3], 81);
	free(p);
	assert_int_equal(conform_ports_parse("1-65535", NULL, &n, err, sizeof err), 0);
	assert_int_equal(n, 65535);
}

static void
test_strings_bounded(void **state)
{
	(void)state;
	char *s = malloc(CONFORM_MAX_TEXT * 2 + 512);
	char *longv = malloc(CONFORM_MAX_TEXT + 2);
	memset(longv, 'a', CONFORM_MAX_TEXT);
	longv[CONFORM_MAX_TEXT] = '\0';
	/* user has 64 bytes: 63 fit, 64 do not */
	snprintf(s, 512, "{" BASE ",\"credentials\":{\"scheme\":\"factory-default\",\"user\":\"%.63s\",\"factory_password\":\"x\"}}", longv);
	assert_int_equal(parse(s), 0);
	snprintf(s, 512, "{" BASE ",\"credentials\":{\"scheme\":\"factory-default\",\"user\":\"%.64s\",\"factory_password\":\"x\"}}", longv);
	refused(s, "credentials.user");
	snprintf(s, CONFORM_MAX_TEXT * 2 + 512, "{" BASE CREDS ",\"factory_reset\":\"%s\"}", longv);
	refused(s, "factory_reset");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"factory-default\",\"user\":\"ad\\u0000min\",\"factory_password\":\"x\"}}",
	        "u0000"); /* jansson refuses NUL in strings; describe.c checks again */
	refused("{" BASE ",\"credentials\":{\"scheme\":\"factory-default\",\"user\":5,\"factory_password\":\"x\"}}", "credentials.user");
	free(s);
	free(longv);
	/* the whole file is bounded too */
	size_t big = CONFORM_MAX_FILE + 1;
	char *b = malloc(big);
	memset(b, ' ', big);
	assert_int_equal(conform_describe_parse(b, big, &d, err, sizeof err), TORIDE_ETOOBIG);
	free(b);
}

static void
test_semantics(void **state)
{
	(void)state;
	refused("{\"format\":2,\"device\":{\"name\":\"c\"},\"address\":\"10.0.0.1\"" CREDS "}", "format");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"forced\"}}", "credentials.scheme");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"forced-change\",\"user\":\"admin\"}}", "factory_password");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"unique\",\"user\":\"a\",\"unit_passwords\":[\"x\"]}}", "unit_passwords");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"key-only\",\"adapter\":\"other\"}}", "credentials.adapter");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"key-only\",\"adapter\":\"toride-deviced\"}}", "credentials.admin_url");
	/* an admin URL elsewhere would lead the examiner to another host */
	refused("{" BASE ",\"credentials\":{\"scheme\":\"key-only\",\"adapter\":\"toride-deviced\",\"admin_url\":\"http://10.91.1.2:8080\"}}",
	        "credentials.admin_url");
	refused("{" BASE ",\"credentials\":{\"scheme\":\"key-only\",\"admin_url\":\"http://evil.example/\"}}", "credentials.admin_url");
	refused("{" BASE CREDS ",\"interfaces\":[{\"service\":\"gopher\",\"port\":70}]}", "interfaces[0].service");
	refused("{" BASE CREDS ",\"interfaces\":[{\"service\":\"ssh\",\"port\":0}]}", "interfaces[0].port");
	refused("{" BASE CREDS ",\"interfaces\":[{\"service\":\"ssh\",\"port\":22},{\"service\":\"telnet\",\"port\":22}]}",
	        "interfaces[1].port");
	refused("{" BASE CREDS ",\"brute_force_seconds\":0}", "brute_force_seconds");
	refused("{" BASE CREDS ",\"power\":{\"settle_seconds\":-1}}", "power.settle_seconds");
	refused("{" BASE CREDS ",\"factory_reset\":{\"command\":\"x\",\"timeout\":0}}", "factory_reset.timeout");
	refused("{" BASE CREDS ",\"freshly_provisioned\":\"yes\"}", "freshly_provisioned");
	refused("{" BASE CREDS ",\"device\":{\"name\":\"x\"}}", "JSON"); /* duplicate key */
	refused("[1]", "object");
	refused("{" BASE CREDS, "JSON");
	refused("{\"format\":1,\"address\":\"10.0.0.1\"" CREDS "}", "device");
	/* a refused description is never half filled */
	assert_string_equal(d.address_text, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_in_repo_parse), cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_description),       cmocka_unit_test(test_unknown_fields_refused),
		cmocka_unit_test(test_address_strict),         cmocka_unit_test(test_ports_validated),
		cmocka_unit_test(test_strings_bounded),        cmocka_unit_test(test_semantics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
