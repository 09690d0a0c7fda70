/* TCP coalescing before the TUN write (gro.c). One context per data-plane
 * thread; a run never outlives the receive burst that built it. */
#ifndef INSYNC_GRO_H
#define INSYNC_GRO_H
#include <stddef.h>
#include <stdint.h>

#define GRO_MAX 65535 /* IPv4 total length */

struct gro {
	int fd, n;            /* TUN fd of the run, segments in it */
	size_t len, ihl, thl; /* the run: bytes, IP and TCP header lengths */
	uint16_t mss;
	uint32_t next_seq;
	uint64_t writes, segs_out, errors; /* for counters; errors in segments */
	uint8_t buf[GRO_MAX];
};

/* Add one decrypted packet bound for TUN fd: merged into the run, or the run
 * is written and a new one starts (non-TCP packets are written at once).
 * 0, or -1 when a write failed (this packet's, or the previous run's: lost
 * segments are counted in errors either way). */
int gro_add(struct gro *g, int fd, const uint8_t *p, size_t len);
/* Write the run, if any. 0 or -1. */
int gro_flush(struct gro *g);
#endif
