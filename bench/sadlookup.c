/* Micro-benchmark: inbound SPI lookup (sad_lookup_in, the first step of every
 * received ESP packet) with 1,000 to 100,000 inbound SAs installed: ns per
 * lookup for SPIs that exist (random order) and for SPIs that do not (an
 * invalid-SPI flood). O(1) means the figures stay flat as the table grows. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "esp/dp.h"
#include "esp/sad.h"

static const uint8_t key[36] = {0x5a}; /* AES-256 key + 4-byte salt; the value does not matter */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*x >> 32);
}

int main(void)
{
	static const unsigned sizes[] = {1000, 10000, 100000};
	const struct dp_sa_path path = {.local = 0x0100007f, .peer = 0x0200007f};
	const unsigned lookups = 5000000;
	uint32_t *spis = malloc(100000 * sizeof(*spis));
	unsigned have = 0;
	uint64_t x = 42;

	if (!spis || sad_init())
		return 1;
	printf("sadlookup: %u lookups per case\n", lookups);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (; have < sizes[k]; have++) {
			struct esp_sa_params p = {.cipher = CFG_ESP_GCM_256,
			                          .auth = CFG_ESP_AUTH_NONE,
			                          .enc_key = key,
			                          .enc_key_len = sizeof(key),
			                          .replay_window = 64};
			p.spi = spis[have] = 0x10000000u + have * 7919u;
			if (dp_sa_install_in(have % 64, esp_sa_new(&p, 1), &path)) {
				fprintf(stderr, "sadlookup: install %u failed\n", have);
				return 1;
			}
		}
		unsigned found = 0;
		double t0 = now_s();
		for (unsigned i = 0; i < lookups; i++)
			found += sad_lookup_in(spis[rnd(&x) % have]) != NULL;
		double hit = (now_s() - t0) * 1e9 / lookups;
		t0 = now_s();
		for (unsigned i = 0; i < lookups; i++)
			found += sad_lookup_in(rnd(&x) | 0x80000000u) !=
			         NULL; /* none installed up there */
		double miss = (now_s() - t0) * 1e9 / lookups;
		printf("  %6u SAs: hit %5.1f ns, miss %5.1f ns (found %u)\n", have, hit, miss,
		       found);
	}
	sad_free();
	free(spis);
	return 0;
}
