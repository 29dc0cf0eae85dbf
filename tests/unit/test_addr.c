#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "core/addr.h"
#include "core/error.h"

static void
test_parse_format_roundtrip(void **state)
{
	(void)state;
	/* input, canonical text */
	static const char *const cases[][2] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "0.0.0.0", "0.0.0.0" },
		{ "255.255.255.255", "255.255.255.255" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "::", "::" },
		{ "::1", "::1" },
		{ "::ffff:192.0.2.7", "::ffff:192.0.2.7" },
		{ "fe80:0:0:0:1:2:3:4", "fe80::1:2:3:4" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct toride_addr a, b;
		char text[TORIDE_ADDR_STRLEN];
		assert_int_equal(toride_addr_parse(cases[i][0], &a), 0);
		assert_int_equal(toride_addr_format(&a, text, sizeof text), 0);
		assert_string_equal(text, cases[i][1]);
		assert_int_equal(toride_addr_parse(text, &b), 0);
		assert_int_equal(toride_addr_cmp(&a, &b), 0);
		assert_memory_equal(&a, &b, sizeof a);
	}
	struct toride_addr a;
	assert_int_equal(toride_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, 4);
	static const uint8_t want[16] = { 192, 0, 2, 1 };
	assert_memory_equal(a.b, want, 16); /* v4 in b[0..3], rest zero */
	assert_int_equal(toride_addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(a.b[0], 0x20);
	assert_int_equal(a.b[15], 1);
}

static void
test_parse_rejects_ambiguous_and_junk(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04", "0x1.2.3.4",
		" 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "1.2.3.4/32", "1.2.3.4:80", "fe80::1%eth0",
		"1::2::3", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3", "2001:db8::g", "localhost",
		"2001:0db8:0000:0000:0000:0000:0000:0001:", /* too long and malformed */
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", /* over the length cap */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct toride_addr a;
		memset(&a, 0xaa, sizeof a);
		assert_int_equal(toride_addr_parse(bad[i], &a), TORIDE_EPARSE);
		assert_int_equal(a.family, 0); /* zeroed on failure */
	}
	struct toride_addr a;
	assert_int_equal(toride_addr_parse(NULL, &a), TORIDE_EPARSE);
}

static void
test_format_small_buffer(void **state)
{
	(void)state;
	struct toride_addr a;
	char small[8];
	assert_int_equal(toride_addr_parse("192.0.2.100", &a), 0);
	assert_int_equal(toride_addr_format(&a, small, sizeof small), TORIDE_ETOOBIG);
	assert_string_equal(small, "");
	char exact[12];
	assert_int_equal(toride_addr_format(&a, exact, sizeof exact), 0);
	assert_string_equal(exact, "192.0.2.100");
	a.family = 5;
	assert_int_equal(toride_addr_format(&a, exact, sizeof exact), TORIDE_EINVAL);
}

static void
test_cmp_orders_v4_before_v6(void **state)
{
	(void)state;
	/* ascending */
	static const char *const order[] = {
		"0.0.0.0", "9.255.255.255", "10.0.0.0", "10.0.0.1", "255.255.255.255",
		"::", "::1", "::ffff:0.0.0.1", "2001:db8::", "ffff::",
	};
	size_t n = sizeof order / sizeof order[0];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			struct toride_addr a, b;
			assert_int_equal(toride_addr_parse(order[i], &a), 0);
			assert_int_equal(toride_addr_parse(order[j], &b), 0);
			int c = toride_addr_cmp(&a, &b);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	}
}

static void
test_sockaddr_roundtrip(void **state)
{
	(void)state;
	static const char *const addrs[] = { "127.0.0.1", "::1", "2001:db8::23" };
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		struct toride_addr a, b;
		struct sockaddr_storage ss;
		socklen_t len = 0;
		uint16_t port = 0;
		assert_int_equal(toride_addr_parse(addrs[i], &a), 0);
		assert_int_equal(toride_addr_to_sockaddr(&a, 2323, &ss, &len), 0);
		if (a.family == 4) {
			assert_int_equal(ss.ss_family, AF_INET);
			assert_int_equal(len, sizeof(struct sockaddr_in));
			assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(2323));
		} else {
			assert_int_equal(ss.ss_family, AF_INET6);
			assert_int_equal(len, sizeof(struct sockaddr_in6));
		}
		assert_int_equal(toride_addr_from_sockaddr((struct sockaddr *)&ss, &b, &port), 0);
		assert_int_equal(port, 2323);
		assert_memory_equal(&a, &b, sizeof a);
		assert_int_equal(toride_addr_from_sockaddr((struct sockaddr *)&ss, &b, NULL), 0);
	}
	struct toride_addr a = { .family = 9 };
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(toride_addr_to_sockaddr(&a, 1, &ss, &len), TORIDE_EINVAL);
	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	assert_int_equal(toride_addr_from_sockaddr((struct sockaddr *)&ss, &a, NULL), TORIDE_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_roundtrip),
		cmocka_unit_test(test_parse_rejects_ambiguous_and_junk),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_cmp_orders_v4_before_v6),
		cmocka_unit_test(test_sockaddr_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
