#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

static void
test_append_respects_cap(void **state)
{
	(void)state;
	struct toride_buf b;
	toride_buf_init(&b, 8);
	assert_int_equal(toride_buf_append(&b, "abcd", 4), 0);
	assert_int_equal(toride_buf_append(&b, "efghi", 5), TORIDE_ETOOBIG);
	assert_int_equal(b.len, 4);
	assert_int_equal(toride_buf_append(&b, "efgh", 4), 0);
	const char *s;
	assert_int_equal(toride_buf_cstr(&b, &s), 0);
	assert_string_equal(s, "abcdefgh");
	toride_buf_consume(&b, 3);
	assert_int_equal(toride_buf_cstr(&b, &s), 0);
	assert_string_equal(s, "defgh");
	toride_buf_free(&b);
}

static void
test_printf_truncates_at_cap(void **state)
{
	(void)state;
	struct toride_buf b;
	toride_buf_init(&b, 5);
	assert_int_equal(toride_buf_printf(&b, "%d-%s", 42, "xyzzy"), TORIDE_ETOOBIG);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "42-xy", 5);
	toride_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_respects_cap),
		cmocka_unit_test(test_printf_truncates_at_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
