/* SA database: install/lookup, outbound swap, timed removal, grace-period
 * reclamation with a registered reader, SPI allocation never below 256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "esp/dp.h"
#include "esp/sad.h"

static const uint8_t key[36] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36};

static struct esp_sa *mk(uint32_t spi, int inbound)
{
	struct esp_sa_params p = {
		.spi = spi, .cipher = CFG_ESP_GCM_256, .auth = CFG_ESP_AUTH_NONE,
		.enc_key = key, .enc_key_len = sizeof(key), .replay_window = 64,
	};
	struct esp_sa *sa = esp_sa_new(&p, inbound);
	assert_non_null(sa);
	return sa;
}

static const struct dp_sa_path path = {.local = 0x0100007f, .peer = 0x0200007f, .peer_port = 4500};

static int setup(void **st)
{
	return sad_init();
}

static int teardown(void **st)
{
	sad_free();
	return 0;
}

static void test_install_lookup(void **st)
{
	assert_int_equal(dp_sa_install_in(0, mk(0xFF0000A1, 1), &path), 0);
	assert_int_equal(dp_sa_install_in(0, mk(0x1000, 1), &path), 0);
	assert_non_null(dp_sa_in(0xFF0000A1));
	assert_int_equal(dp_sa_in(0xFF0000A1)->spi, 0xFF0000A1);
	assert_non_null(dp_sa_in(0x1000));
	assert_null(dp_sa_in(0x1001));
	/* duplicate SPI refused (and consumed) */
	assert_int_equal(dp_sa_install_in(0, mk(0x1000, 1), &path), -1);
	/* reserved SPIs never install, never match */
	assert_int_equal(dp_sa_install_in(0, NULL, &path), -1);
	assert_null(dp_sa_in(255));
	assert_null(dp_sa_in(0));
	/* an outbound SA is not an inbound one */
	assert_int_equal(dp_sa_install_in(0, mk(0x2000, 0), &path), -1);
	assert_int_equal(sad_count_in(), 2);
}

static void test_many_and_grow(void **st)
{
	/* Enough to force several resizes; every one stays findable. */
	for (uint32_t i = 0; i < 3000; i++)
		assert_int_equal(dp_sa_install_in(i % 7, mk(0x10000 + i * 7919, 1), &path), 0);
	for (uint32_t i = 0; i < 3000; i++)
		assert_non_null(dp_sa_in(0x10000 + i * 7919));
	for (uint32_t i = 0; i < 3000; i += 2)
		assert_int_equal(dp_sa_remove_in(0x10000 + i * 7919, 0), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		if (i % 2)
			assert_non_null(dp_sa_in(0x10000 + i * 7919));
		else
			assert_null(dp_sa_in(0x10000 + i * 7919));
	}
	assert_int_equal(sad_count_in(), 1500);
	/* reinstall over tombstones */
	for (uint32_t i = 0; i < 3000; i += 2)
		assert_int_equal(dp_sa_install_in(1, mk(0x10000 + i * 7919, 1), &path), 0);
	assert_int_equal(sad_count_in(), 3000);
	sad_reclaim();
}

static void test_swap_out(void **st)
{
	struct esp_sa *a = mk(0x3000, 0), *b = mk(0x3001, 0);

	assert_null(dp_sa_out(5));
	assert_int_equal(dp_sa_set_out(5, a, &path), 0);
	assert_ptr_equal(dp_sa_out(5), a);
	assert_int_equal(dp_sa_set_out(5, b, &path), 0);
	assert_ptr_equal(dp_sa_out(5), b);
	assert_ptr_equal(sad_out(sad_tun_get(5, 0))->esp, b);
	assert_int_equal(sad_out(sad_tun_get(5, 0))->path.peer, path.peer);
	assert_int_equal(dp_sa_clear_out(5), 0);
	assert_null(dp_sa_out(5));
	assert_int_equal(dp_sa_clear_out(99), -1);
	/* inbound SA is refused as outbound */
	assert_int_equal(dp_sa_set_out(5, mk(0x3002, 1), &path), -1);
	assert_int_equal(sad_reclaim(), 0);
}

static void test_timed_remove(void **st)
{
	uint64_t now = 1000000;

	assert_int_equal(sad_install_in(0, mk(0x4000, 1), &path, 0, now), 0);
	assert_int_equal(sad_remove_in(0x4000, now + 500, now), 0);
	assert_int_equal(sad_expire(now + 100), 400);
	assert_non_null(dp_sa_in(0x4000)); /* kept for the grace period */
	assert_int_equal(sad_expire(now + 499), 1);
	assert_non_null(dp_sa_in(0x4000));
	assert_int_equal(sad_expire(now + 500), -1);
	assert_null(dp_sa_in(0x4000));
	assert_int_equal(sad_remove_in(0x4000, 0, now), -1);
}

static void test_grace_reader(void **st)
{
	int r = sad_reader_register();
	struct sad_sa *held;

	assert_true(r >= 0);
	assert_int_equal(dp_sa_install_in(0, mk(0x5000, 1), &path), 0);
	sad_reader_online(r);
	held = sad_lookup_in(0x5000); /* a packet in flight */
	assert_non_null(held);
	assert_int_equal(dp_sa_remove_in(0x5000, 0), 0);
	assert_null(dp_sa_in(0x5000));
	/* the reader has not passed a quiescent point: nothing freed */
	assert_true(sad_reclaim() >= 1);
	assert_int_equal(held->esp->spi, 0x5000); /* still valid memory */
	sad_reader_online(r); /* quiescent point between batches */
	assert_int_equal(sad_reclaim(), 0);
	/* an offline (sleeping) reader never holds up reclaim */
	sad_reader_offline(r);
	assert_int_equal(dp_sa_install_in(0, mk(0x5001, 1), &path), 0);
	assert_int_equal(dp_sa_remove_in(0x5001, 0), 0);
	assert_int_equal(sad_reclaim(), 0);
	sad_reader_unregister(r);
}

/* Regression: a worker's lookup raced the control thread turning the slot
 * into a tombstone and could return the tombstone (no ESP SA: the packet
 * path crashed). One thread installs and removes an SPI, another looks it
 * up; every hit must be a real SA. */
static atomic_int race_stop;
static int race_reader;

static void *race_lookups(void *arg)
{
	long *bad = arg;

	sad_reader_online(race_reader);
	while (!atomic_load(&race_stop)) {
		struct sad_sa *s = sad_lookup_in(0x6000);
		*bad += s && !s->esp;
		sad_reader_online(race_reader); /* quiescent point */
	}
	sad_reader_offline(race_reader);
	return NULL;
}

static void test_lookup_races_remove(void **st)
{
	pthread_t th;
	long bad = 0;

	race_reader = sad_reader_register();
	assert_true(race_reader >= 0);
	atomic_store(&race_stop, 0);
	assert_int_equal(pthread_create(&th, NULL, race_lookups, &bad), 0);
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(dp_sa_install_in(0, mk(0x6000, 1), &path), 0);
		assert_int_equal(dp_sa_remove_in(0x6000, 0), 0);
		if (i % 64 == 0)
			sad_reclaim();
	}
	atomic_store(&race_stop, 1);
	pthread_join(th, NULL);
	sad_reader_unregister(race_reader);
	assert_int_equal(bad, 0);
}

static void test_alloc_spi(void **st)
{
	for (int i = 0; i < 20000; i++) {
		uint32_t spi = dp_alloc_spi();
		assert_true(spi >= 256);
		assert_null(dp_sa_in(spi));
	}
}

static void test_tun_remove(void **st)
{
	assert_int_equal(dp_sa_install_in(7, mk(0x6000, 1), &path), 0);
	assert_int_equal(dp_sa_install_in(8, mk(0x6001, 1), &path), 0);
	assert_int_equal(dp_sa_set_out(7, mk(0x6002, 0), &path), 0);
	sad_tun_remove(7);
	assert_null(dp_sa_in(0x6000));
	assert_non_null(dp_sa_in(0x6001));
	assert_null(sad_tun_get(7, 0));
	assert_null(dp_sa_out(7));
	assert_int_equal(sad_reclaim(), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(test_install_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_and_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timed_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grace_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_races_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_spi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tun_remove, setup, teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
