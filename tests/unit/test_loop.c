/* Timers: heap ordering, re-arm, cancel, and callbacks that re-arm themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include "daemon/loop.h"

static int order[64], norder;

static void cb(struct timer *t, void *arg)
{
	order[norder++] = (int)(long)arg;
}

static void test_order(void **s)
{
	struct timer t[20] = {0};
	uint64_t now = loop_now_ms();
	norder = 0;
	for (int i = 0; i < 20; i++) {
		timer_init(&t[i], cb, (void *)(long)i);
		timer_arm(&t[i], (uint64_t)((i * 7) % 20) * 10 + 1000);
	}
	assert_int_equal(timer_count(), 20);
	timer_cancel(&t[3]);
	timer_cancel(&t[3]); /* idempotent */
	timer_arm(&t[5], 5000); /* re-arm moves it */
	assert_int_equal(timer_count(), 19);
	timer_run_due(now + 999);
	assert_int_equal(norder, 0);
	timer_run_due(now + 3000);
	assert_int_equal(norder, 18);
	for (int i = 1; i < norder; i++)
		assert_true(((order[i - 1] * 7) % 20) <= ((order[i] * 7) % 20));
	assert_true(timer_next_delay(now) > 0);
	timer_run_due(now + 6000);
	assert_int_equal(norder, 19);
	assert_int_equal(order[18], 5);
	assert_int_equal(timer_count(), 0);
	assert_int_equal(timer_next_delay(now), -1);
}

static int rearms;
static void rearm_cb(struct timer *t, void *arg)
{
	if (++rearms < 5)
		timer_arm(t, 0);
}

static void test_rearm_bounded(void **s)
{
	struct timer t = {0};
	timer_init(&t, rearm_cb, NULL);
	timer_arm(&t, 0);
	for (int i = 0; i < 10 && timer_armed(&t); i++)
		timer_run_due(loop_now_ms() + 1);
	assert_int_equal(rearms, 5);
	assert_false(timer_armed(&t));
}

static void test_many(void **s)
{
	enum { N = 10000 };
	struct timer *t = calloc(N, sizeof(*t));
	uint64_t now = loop_now_ms();
	norder = 0;
	for (int i = 0; i < N; i++) {
		timer_init(&t[i], cb, NULL);
		timer_arm(&t[i], (uint64_t)(rand() % 100000) + 10);
	}
	for (int i = 0; i < N; i += 2)
		timer_cancel(&t[i]);
	assert_int_equal(timer_count(), N / 2);
	uint64_t prev = 0;
	while (timer_count() > 0) {
		int64_t d = timer_next_delay(now);
		assert_true(d >= 0);
		assert_true((uint64_t)d >= prev);
		prev = (uint64_t)d;
		norder = 0;
		timer_run_due(now + (uint64_t)d);
	}
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_rearm_bounded),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
