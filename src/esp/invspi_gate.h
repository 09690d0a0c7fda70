/* The invalid-SPI gate: a per-data-plane-thread filter in front of the event
 * ring to the control thread.
 *
 * A desynced peer sends a steady flow on one stale SPI; a flood sends random
 * SPIs. Both must cost the data plane no more than a couple of table probes
 * per packet and the control thread no more than a bounded event rate.
 *
 * - A flow seen twice within a short while (a compact "doorkeeper" array of
 *   fingerprints remembers the first sighting) is admitted to a small
 *   direct-mapped table. From then on it is reported at most once per
 *   INVSPI_GATE_REPORT_MS with the packets it sent meanwhile, so the control
 *   thread keeps exact per-flow counts.
 * - A table slot goes to a new flow only when its occupant has been quiet for
 *   a report interval. Random SPIs never repeat, so a flood cannot push out a
 *   flow that keeps arriving.
 * - Any other packet is reported alone if a token is left (INVSPI_GATE_RATE
 *   per ms, burst INVSPI_GATE_BURST); otherwise it is only counted in the
 *   datapath drops. */
#ifndef INSYNC_INVSPI_GATE_H
#define INSYNC_INVSPI_GATE_H
#include <stdint.h>

#define INVSPI_GATE_SLOTS 256 /* power of two */
#define INVSPI_GATE_REPORT_MS 50
#define INVSPI_GATE_RATE 16 /* new-flow reports per ms (16,000/s per thread) */
#define INVSPI_GATE_BURST 256
#define INVSPI_GATE_DOOR 16384 /* fingerprints of flows seen once (64 KB), power of two */

/* One flow (addresses network order, ports host order) and a packet count. */
struct invspi_rec {
	uint32_t src, dst, spi;
	uint16_t sport, dport;
	uint8_t udp;
	int ifindex;
	uint32_t count;
};

struct invspi_slot {
	struct invspi_rec r; /* r.count: packets not reported yet */
	uint64_t seen_ms, reported_ms;
	uint8_t used;
};

struct invspi_gate {
	uint64_t seed;
	uint64_t tick_ms, swept_ms;
	uint32_t tokens;
	uint32_t door[INVSPI_GATE_DOOR];
	struct invspi_slot s[INVSPI_GATE_SLOTS];
};

void invspi_gate_init(struct invspi_gate *g, uint64_t seed);

/* Offer one packet of flow pkt (its count is ignored) at now_ms. Fills out
 * with the records to report now, each with its packet count: a quiet flow
 * displaced from the table with its remainder, and/or this flow. Returns how
 * many (0-2), or -1 when the packet is over the new-flow budget and goes
 * unreported. */
int invspi_gate_offer(struct invspi_gate *g, const struct invspi_rec *pkt, uint64_t now_ms,
                      struct invspi_rec out[2]);

/* The end of a burst stays pending until the flow's next packet: hand every
 * remainder older than a report interval to fn. Cheap to call per wakeup:
 * it scans at most once per interval. */
typedef void (*invspi_flush_fn)(const struct invspi_rec *r, void *arg);
void invspi_gate_sweep(struct invspi_gate *g, uint64_t now_ms, invspi_flush_fn fn, void *arg);
#endif
