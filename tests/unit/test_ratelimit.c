/* The keyed rate limiter (once per interval per key, bounded memory) and the
 * token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "ops/ratelimit.h"

static void test_once_per_interval(void **s)
{
	struct ratelimit rl;
	struct rl_key k = {1, 2}, k2 = {1, 3};
	uint32_t sup;
	assert_int_equal(ratelimit_init(&rl, 64, 60000), 0);
	assert_int_equal(ratelimit_allow(&rl, &k, 1000, &sup), 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_allow(&rl, &k, 1000 + i * 1000, &sup), 0);
	assert_int_equal(ratelimit_allow(&rl, &k2, 2000, &sup), 1);
	assert_int_equal(ratelimit_allow(&rl, &k, 61000, &sup), 1);
	assert_int_equal(sup, 10);
	ratelimit_free(&rl);
}

static void test_bounded_under_flood(void **s)
{
	struct ratelimit rl;
	uint32_t sup;
	assert_int_equal(ratelimit_init(&rl, 1024, 60000), 0);
	size_t slots = rl.nsets * RL_WAYS;
	/* A million distinct keys: the table never grows, old keys are evicted. */
	for (uint64_t i = 0; i < 1000000; i++) {
		struct rl_key k = {i, i * 7};
		assert_int_equal(ratelimit_allow(&rl, &k, 5000, &sup), 1);
	}
	assert_int_equal(rl.nsets * RL_WAYS, slots);
	assert_true(rl.evictions >= 1000000 - slots);
	ratelimit_free(&rl);
}

static void test_tokbucket(void **s)
{
	struct tokbucket tb;
	tokbucket_init(&tb, 2, 3);
	int got = 0;
	for (int i = 0; i < 10; i++)
		got += tokbucket_take(&tb, 1000);
	assert_int_equal(got, 3);
	assert_int_equal(tokbucket_take(&tb, 1400), 0);
	assert_int_equal(tokbucket_take(&tb, 1500), 1); /* 2/s refills one in 500 ms */
	assert_int_equal(tokbucket_take(&tb, 1500), 0);
	got = 0;
	for (int i = 0; i < 10; i++)
		got += tokbucket_take(&tb, 100000);
	assert_int_equal(got, 3); /* capped at the burst */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_per_interval),
		cmocka_unit_test(test_bounded_under_flood),
		cmocka_unit_test(test_tokbucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
