/* Micro-benchmark: the cost of flightrec_record() (ns per record) for one hot
 * peer, for many peers (hash lookups across rings), with more peers than rings
 * (LRU reuse on every record: the worst case), with recording turned off, and
 * with two threads contending for the lock. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ops/flightrec.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(unsigned n, unsigned peers)
{
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++)
		flightrec_record(htonl(0x0a000001u + i % peers), FR_IKE_RECV, 37, i, 0x2000);
	return (now_s() - t0) * 1e9 / n;
}

static void *thr(void *arg)
{
	double *ns = arg;
	*ns = run(2000000, 64);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5000000;
	if (n == 0)
		n = 1;
	run(n / 10 + 1, 1); /* warm up: fault in the ring pages */
	printf("flightrec: %u records per case, %zu-byte records, %d per peer, %d peers max\n", n,
	       (size_t)40, FR_RING_RECORDS, FR_MAX_PEERS);
	printf("  one peer            %6.1f ns/record\n", run(n, 1));
	printf("  64 peers            %6.1f ns/record\n", run(n, 64));
	printf("  %d peers           %6.1f ns/record\n", FR_MAX_PEERS, run(n, FR_MAX_PEERS));
	printf("  %d peers (LRU)     %6.1f ns/record\n", FR_MAX_PEERS * 2,
	       run(n / 20 + 1, FR_MAX_PEERS * 2));
	flightrec_set_enabled(0);
	printf("  disabled            %6.1f ns/record\n", run(n, 64));
	flightrec_set_enabled(1);
	pthread_t t[2];
	double ns[2] = { 0, 0 };
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, thr, &ns[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("  2 threads, 64 peers %6.1f / %.1f ns/record\n", ns[0], ns[1]);
	return 0;
}
