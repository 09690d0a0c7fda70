/* TCP segmentation of TUN super-packets (gso.c). */
#ifndef INSYNC_GSO_H
#define INSYNC_GSO_H
#include <stddef.h>
#include <stdint.h>

#define GSO_HDR_MAX 120 /* IPv4 + TCP headers with options */

struct gso_tcp4 {
	const uint8_t *pkt;
	size_t len, hlen, ihl, off;
	uint16_t mss, id;
	uint32_t seq, k;
	uint8_t flags;
	int done;
};

/* Check an IPv4/TCP super-packet of len bytes (gso_size mss); 0 or -1. */
int gso_tcp4_init(struct gso_tcp4 *g, const uint8_t *pkt, size_t len, uint16_t mss);
/* Write the next segment to dst (cap bytes); its length, or 0 when done. */
size_t gso_tcp4_next(struct gso_tcp4 *g, uint8_t *dst, size_t cap);
#endif
