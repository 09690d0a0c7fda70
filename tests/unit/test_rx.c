/* Bounded regex compilation: patterns that would make regcomp build
 * millions of nodes are refused before regcomp sees them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "util/rx.h"

static void ok(const char *s)
{
	regex_t re;
	assert_int_equal(rx_compile(&re, s, REG_EXTENDED | REG_NOSUB), 0);
	regfree(&re);
}

static void refused(const char *s)
{
	regex_t re;
	assert_int_equal(rx_compile(&re, s, REG_EXTENDED | REG_NOSUB), REG_ESIZE);
}

static void test_limits(void **state)
{
	char big[RX_MAX_LEN + 2];
	(void)state;
	ok("CRYPTO-4-RECVD_PKT_INV_SPI.*srcaddr=11.1.1.3");
	ok("a{3}b{2,5}c{4,}");
	ok("(ab){10}(cd){100}");
	ok("\\{99999\\}");         /* escaped braces are literals */
	refused("((a{255}){255}){255}");
	refused("a{1001}");
	refused("(a{40}){40}");
	refused("a{2,99999}");
	refused("((a{,255}){,255}){,255}");
	refused("d++++++++++++++++++++++++++++++++"); /* the fuzzer's find */
	refused("a*{9}");
	ok("(a+)(b+)(c*)(d?)");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	refused(big);
	big[RX_MAX_LEN] = 0;
	ok(big);
}

/* Back references would make every match exponential: refused. */
static void test_backrefs(void **state)
{
	regex_t re;
	(void)state;
	assert_int_equal(rx_compile(&re, "(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x", REG_EXTENDED | REG_NOSUB),
			 REG_ESUBREG);
	assert_int_equal(rx_compile(&re, "(a)\\1", REG_EXTENDED | REG_NOSUB), REG_ESUBREG);
	ok("a\\\\1"); /* an escaped backslash, then the digit */
	ok("\\.\\(x\\)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_limits), cmocka_unit_test(test_backrefs)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
