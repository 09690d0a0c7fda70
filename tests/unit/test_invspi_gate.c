/* The data plane's invalid-SPI gate: a steady flow is reported once per
 * interval with exact counts, new flows are budgeted, a flood cannot displace
 * a flow that keeps arriving, and no packet is counted twice or lost between
 * reports, the budget and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "esp/invspi_gate.h"

static struct invspi_gate g;

static struct invspi_rec flow(uint32_t src, uint32_t spi)
{
	struct invspi_rec r = {src, 0x0100000a, spi, 0, 0, 0, 3, 1};
	return r;
}

static void test_steady_flow(void **st)
{
	struct invspi_rec a = flow(0x0200000a, 0xdead), out[2];
	(void)st;
	invspi_gate_init(&g, 42);
	assert_int_equal(invspi_gate_offer(&g, &a, 1000, out), 1); /* first packet: at once */
	assert_int_equal(out[0].count, 1);
	assert_int_equal(out[0].spi, 0xdead);
	assert_int_equal(out[0].ifindex, 3);
	assert_int_equal(invspi_gate_offer(&g, &a, 1000, out), 1); /* second: admitted, reported */
	assert_int_equal(out[0].count, 1);
	for (int i = 0; i < 99; i++) /* the next 49 ms: held, counted */
		assert_int_equal(invspi_gate_offer(&g, &a, 1001 + (uint64_t)i / 3, out), 0);
	assert_int_equal(invspi_gate_offer(&g, &a, 1000 + INVSPI_GATE_REPORT_MS, out), 1);
	assert_int_equal(out[0].count, 100);
	assert_int_equal(invspi_gate_offer(&g, &a, 1000 + INVSPI_GATE_REPORT_MS + 1, out), 0);
}

static void test_new_flow_budget(void **st)
{
	struct invspi_rec r, out[2];
	int reported = 0, over = 0;
	(void)st;
	invspi_gate_init(&g, 7);
	for (uint32_t i = 0; i < 10000; i++) { /* 10,000 new flows within one ms */
		r = flow(0x0300000a, 0x10000 + i);
		int n = invspi_gate_offer(&g, &r, 5000, out);
		if (n < 0)
			over++;
		else
			reported += n;
	}
	assert_true(reported >= INVSPI_GATE_BURST && reported <= INVSPI_GATE_BURST + 2);
	assert_int_equal(over + reported >= 10000 - 2, 1);
	/* Tokens come back with time, INVSPI_GATE_RATE per ms. */
	reported = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		r = flow(0x0300000a, 0x90000 + i);
		if (invspi_gate_offer(&g, &r, 5002, out) > 0)
			reported++;
	}
	assert_int_equal(reported, 2 * INVSPI_GATE_RATE);
}

/* A desynced peer at 100 packets/s beside a 1 Mpps random-SPI flood: it is
 * admitted within a few packets, keeps its slot, and from then on is reported
 * every interval with every packet counted. */
static void test_flood_does_not_displace(void **st)
{
	struct invspi_rec peer = flow(0x0400000a, 0xabcdef), r, out[2];
	uint64_t seen = 0, counted = 0, reports = 0, x = 1;
	(void)st;
	invspi_gate_init(&g, 99);
	for (uint64_t ms = 0; ms < 2000; ms++) {
		for (int k = 0; k < 1000; k++) { /* 1 Mpps of random SPIs */
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			r = flow((uint32_t)(x >> 32), (uint32_t)x);
			int n = invspi_gate_offer(&g, &r, 10000 + ms, out);
			for (int i = 0; i < n; i++)
				if (out[i].src == peer.src && out[i].spi == peer.spi)
					counted += out[i].count;
		}
		if (ms % 10 == 0) {
			seen++;
			int n = invspi_gate_offer(&g, &peer, 10000 + ms, out);
			for (int i = 0; i < n; i++)
				if (out[i].src == peer.src && out[i].spi == peer.spi) {
					counted += out[i].count;
					reports++;
				}
		}
	}
	/* Lost at most to the first, unadmitted packets and the ones since the last report. */
	assert_true(counted <= seen);
	assert_true(counted + 50 >= seen);
	assert_true(reports >= 2000 / INVSPI_GATE_REPORT_MS - 10);
}

static uint64_t flushed;

static void add_flushed(const struct invspi_rec *r, void *arg)
{
	(void)arg;
	flushed += r->count;
}

/* Every offered packet ends up reported, over budget, or pending in a slot
 * until the sweep hands it over. */
static void test_conservation(void **st)
{
	struct invspi_rec r, out[2];
	uint64_t offered = 0, reported = 0, over = 0, pending = 0, x = 5;
	(void)st;
	invspi_gate_init(&g, 1234);
	for (uint64_t ms = 0; ms < 3000; ms++) {
		for (int k = 0; k < 50; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			/* a few hundred recurring flows and some one-offs */
			uint32_t id = (x >> 33) % 4 ? (uint32_t)(x >> 40) % 300 : (uint32_t)x;
			r = flow(0x0500000a + (id % 7), id);
			offered++;
			int n = invspi_gate_offer(&g, &r, ms, out);
			if (n < 0)
				over++;
			for (int i = 0; i < n; i++)
				reported += out[i].count;
		}
	}
	for (int i = 0; i < INVSPI_GATE_SLOTS; i++)
		if (g.s[i].used)
			pending += g.s[i].r.count;
	assert_int_equal(offered, reported + over + pending);
	/* The sweep hands every remainder over once its interval has passed. */
	flushed = 0;
	invspi_gate_sweep(&g, 3000 + INVSPI_GATE_REPORT_MS, add_flushed, NULL);
	assert_int_equal(flushed, pending);
	for (int i = 0; i < INVSPI_GATE_SLOTS; i++)
		assert_int_equal(g.s[i].r.count, 0);
	invspi_gate_sweep(&g, 3000 + INVSPI_GATE_REPORT_MS + 1, add_flushed, NULL);
	assert_int_equal(flushed, pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_steady_flow),
	    cmocka_unit_test(test_new_flow_budget),
	    cmocka_unit_test(test_flood_does_not_displace),
	    cmocka_unit_test(test_conservation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
