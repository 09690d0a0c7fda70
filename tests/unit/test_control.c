/* Control protocol request validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "ops/control.h"

static void test_parse(void **s)
{
	char line[CTL_REQ_MAX];
	int type;
	const uint8_t ok[] = {CTL_EXEC, 's', 'h', ' ', 'r', 'u', 'n'};
	assert_int_equal(control_parse_request(ok, sizeof(ok), &type, line, sizeof(line)), 0);
	assert_int_equal(type, CTL_EXEC);
	assert_string_equal(line, "sh run");
	const uint8_t empty[] = {CTL_HELP};
	assert_int_equal(control_parse_request(empty, 1, &type, line, sizeof(line)), 0);
	assert_string_equal(line, "");
	/* malformed */
	assert_int_equal(control_parse_request(ok, 0, &type, line, sizeof(line)), -1);
	const uint8_t badtype[] = {9, 'a'};
	assert_int_equal(control_parse_request(badtype, 2, &type, line, sizeof(line)), -1);
	const uint8_t nul[] = {CTL_EXEC, 'a', 0, 'b'};
	assert_int_equal(control_parse_request(nul, 4, &type, line, sizeof(line)), -1);
	const uint8_t ctl[] = {CTL_EXEC, 'a', '\n'};
	assert_int_equal(control_parse_request(ctl, 3, &type, line, sizeof(line)), -1);
	assert_int_equal(control_parse_request(ok, sizeof(ok), &type, line, 4), -1);
	static uint8_t big[CTL_REQ_MAX + 2];
	memset(big, 'a', sizeof(big));
	big[0] = CTL_EXEC;
	assert_int_equal(control_parse_request(big, sizeof(big), &type, line, sizeof(line)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
