/* The invalid-SPI flow table: exact log line, once per interval per flow,
 * the global line cap, bounded memory under a random-SPI flood, the hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "ops/log.h"
#include "sync/invalid_spi.h"
#include "util/out.h"

static int nlines;
static char last[1024];

static void capture(int sev, const char *line, void *arg)
{
	if (!strstr(line, "RECVD_PKT_INV_SPI"))
		return;
	nlines++;
	snprintf(last, sizeof(last), "%s", line);
}

static struct dp_event ev(const char *src, const char *dst, uint32_t spi)
{
	struct dp_event e = {.type = DP_EV_INVALID_SPI, .spi = spi};
	inet_pton(AF_INET, src, &e.src);
	inet_pton(AF_INET, dst, &e.dst);
	snprintf(e.ifname, sizeof(e.ifname), "veth-a");
	return e;
}

static int setup(void **st)
{
	nlines = 0;
	last[0] = '\0';
	log_set_rate_cap(100000);
	invalid_spi_set_interval(60);
	invalid_spi_set_line_cap(10);
	log_add_hook(capture, NULL);
	return invalid_spi_init(0);
}

static int teardown(void **st)
{
	log_del_hook(capture, NULL);
	invalid_spi_free();
	return 0;
}

static void test_exact_line(void **st)
{
	struct dp_event e = ev("192.0.2.2", "192.0.2.1", 0x1DB73BBB);

	assert_non_null(invalid_spi_record(&e, 1000));
	assert_int_equal(nlines, 1);
	assert_string_equal(last, "%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid "
				  "spi for destaddr=192.0.2.1, prot=50, spi=0x1DB73BBB(498547643), "
				  "srcaddr=192.0.2.2, input interface=veth-a");
}

static void test_once_per_interval(void **st)
{
	struct dp_event e = ev("192.0.2.2", "192.0.2.1", 0xB1);
	struct invalid_spi_flow *f;
	uint64_t t = 5000;

	for (int i = 0; i < 100; i++, t += 100) /* 10 s of packets */
		f = invalid_spi_record(&e, t);
	assert_int_equal(nlines, 1);
	assert_int_equal(f->count, 100);
	assert_int_equal(f->first_ms, 5000);
	assert_int_equal(f->last_ms, t - 100);
	/* just before the minute: still quiet; at the minute: a second line */
	invalid_spi_record(&e, 5000 + 59999);
	assert_int_equal(nlines, 1);
	invalid_spi_record(&e, 5000 + 60000);
	assert_int_equal(nlines, 2);
	assert_int_equal(invalid_spi_find(e.src, e.dst, 0xB1)->count, 102);
	/* a second flow (other SPI) logs on its own */
	struct dp_event e2 = ev("192.0.2.2", "192.0.2.1", 0xB2);
	invalid_spi_record(&e2, t);
	assert_int_equal(nlines, 3);
	assert_non_null(strstr(last, "spi=0xB2(178)"));
	/* shorter interval from the config */
	invalid_spi_set_interval(2);
	invalid_spi_record(&e2, t + 1999);
	assert_int_equal(nlines, 3);
	invalid_spi_record(&e2, t + 2000);
	assert_int_equal(nlines, 4);
}

static void test_line_cap_and_flood(void **st)
{
	struct invalid_spi_stats s;
	uint32_t x = 12345;
	uint64_t t = 1000;

	invalid_spi_free();
	assert_int_equal(invalid_spi_init(256), 0);
	/* 100k random SPIs in 1 s: bounded table, at most cap+refill lines */
	for (int i = 0; i < 100000; i++) {
		x = x * 1103515245u + 12345u;
		struct dp_event e = ev("198.51.100.7", "192.0.2.1", x | 0x100);
		assert_non_null(invalid_spi_record(&e, t + (uint64_t)i / 100));
	}
	invalid_spi_stats(&s);
	assert_int_equal(s.slots, 256);
	assert_true(s.in_use <= 256);
	assert_true(s.evictions >= 100000 - 256);
	assert_int_equal(s.events, 100000);
	assert_true(nlines <= 10 + 10 + 1);
	assert_true(nlines >= 10);
	assert_int_equal(s.lines, (uint64_t)nlines);
	assert_int_equal(s.lines + s.lines_capped, s.flows_created);
}

static int hook_calls, hook_new;
static void hook(struct invalid_spi_flow *f, int is_new, void *arg)
{
	hook_calls++;
	hook_new += is_new;
	f->cls = INVSPI_CLASS_PERSISTENT;
	f->action = INVSPI_ACT_COUNT_ONLY;
}

static void test_hook_and_show(void **st)
{
	struct dp_event e = ev("192.0.2.2", "192.0.2.1", 0xFF0000A1);
	struct out o;

	hook_calls = hook_new = 0;
	invalid_spi_set_hook(hook, NULL);
	for (int i = 0; i < 5; i++)
		invalid_spi_record(&e, 100 + i);
	invalid_spi_set_hook(NULL, NULL);
	assert_int_equal(hook_calls, 5);
	assert_int_equal(hook_new, 1);
	out_init(&o);
	invalid_spi_show(&o);
	assert_non_null(o.buf);
	assert_non_null(strstr(o.buf, "192.0.2.2"));
	assert_non_null(strstr(o.buf, "0xFF0000A1(4278190241)"));
	assert_non_null(strstr(o.buf, "persistent"));
	assert_non_null(strstr(o.buf, " 5 "));
	out_free(&o);
	invalid_spi_clear();
	assert_null(invalid_spi_find(e.src, e.dst, e.spi));
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(test_exact_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_once_per_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_cap_and_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_and_show, setup, teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
