/* Internet checksum helpers (RFC 1071) shared by segmentation (gso.c),
 * coalescing (gro.c) and the TUN read path (tun.c). Sums are of native-order
 * 16-bit words: stored without swapping, the folded result is right in
 * network order (RFC 1071 §2(B)). */
#ifndef INSYNC_CSUM_H
#define INSYNC_CSUM_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t csum_add(uint64_t s, const uint8_t *p, size_t len)
{
	uint32_t w;
	uint16_t h;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t b[2] = {p[0], 0};
		memcpy(&h, b, 2);
		s += h;
	}
	return s;
}

/* Copy len bytes and return their sum as csum_add(0, src, len) would. Eight
 * bytes at a time, each split into its 32-bit halves, in two independent
 * sums: one pass instead of a memcpy and a 4-byte-serial sum. The sums
 * cannot wrap: 64 KiB adds less than 2^46. */
static inline uint64_t csum_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
	uint64_t a = 0, b = 0, w0, w1;

	for (; len >= 16; src += 16, dst += 16, len -= 16) {
		memcpy(&w0, src, 8);
		memcpy(&w1, src + 8, 8);
		memcpy(dst, &w0, 8);
		memcpy(dst + 8, &w1, 8);
		a += (w0 & 0xffffffffu) + (w0 >> 32);
		b += (w1 & 0xffffffffu) + (w1 >> 32);
	}
	memcpy(dst, src, len);
	return csum_add(a + b, dst, len);
}

static inline uint16_t csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The checksum field's value: the folded sum, complemented. */
static inline uint16_t csum_finish(uint64_t s)
{
	return (uint16_t)~csum_fold(s);
}

/* Sum of the IPv4 TCP/UDP pseudo-header for an L4 length of l4len. */
static inline uint64_t csum_pseudo4(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	return csum_add(0, ph, sizeof(ph));
}
#endif
