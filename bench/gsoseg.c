/* Micro-benchmark: userspace TCP segmentation (src/esp/gso.c), the step
 * between a TUN read of a TSO super-packet and the encryption of each
 * segment. Cuts one IPv4/TCP super-packet of about 64 KiB (MSS 1448, as
 * iperf3 over a tunnel produces) into segments with their checksums, many
 * times, and prints ns per segment and per payload byte. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "esp/gso.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	enum { MSS = 1448, HLEN = 52, SEGS = 45, LEN = HLEN + SEGS * MSS, ROUNDS = 20000 };
	static uint8_t pkt[LEN], seg[2048];
	struct gso_tcp4 g;
	unsigned long segs = 0, sink = 0;
	double t0;

	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 131u + 7u);
	memset(pkt, 0, HLEN);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(LEN >> 8);
	pkt[3] = (uint8_t)LEN;
	pkt[8] = 64;
	pkt[9] = 6; /* TCP */
	memcpy(pkt + 12, "\x0a\x00\x01\x01\x0a\x00\x02\x01", 8);
	pkt[20 + 12] = 8 << 4; /* 32-byte TCP header: timestamps */
	pkt[20 + 13] = 0x18;   /* ACK PSH */

	t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		size_t n;
		if (gso_tcp4_init(&g, pkt, sizeof(pkt), MSS))
			return 1;
		while ((n = gso_tcp4_next(&g, seg, sizeof(seg))) > 0) {
			sink += seg[36] + n; /* the TCP checksum: keep the work observable */
			segs++;
		}
	}
	t0 = now_s() - t0;
	printf("gso_tcp4_next, %d-byte super-packet, MSS %d: %.1f ns per segment, %.3f ns per payload byte (%lu)\n",
	       LEN, MSS, t0 * 1e9 / (double)segs, t0 * 1e9 / ((double)segs * MSS), sink & 1);
	return 0;
}
