/* TCP segmentation of TUN super-packets (TSO done in userspace).
 *
 * With TUNSETOFFLOAD(TSO4) the kernel hands the TUN reader one IPv4/TCP
 * packet of up to 64 KiB with gso_size = MSS instead of 40 small ones: one
 * read instead of 40, and a TCP stack that works per super-packet. We cut it
 * back into MSS-sized segments, each a complete IPv4/TCP packet with correct
 * checksums (the peer may be any IPsec implementation), and encrypt each.
 *
 *   IPv4 header: total length, identification (+1 per segment), checksum.
 *   TCP header:  sequence (+MSS per segment); FIN and PSH only on the last
 *                segment, CWR only on the first; checksum over the pseudo
 *                header and the segment (RFC 793, RFC 1071). */
#include <string.h>
#include "esp/gso.h"
#include "esp/csum.h"
#include "util/buf.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

int gso_tcp4_init(struct gso_tcp4 *g, const uint8_t *pkt, size_t len, uint16_t mss)
{
	size_t ihl, thl, tot;

	/* Validate everything before the first segment is cut. */
	if (len < 40 || mss == 0 || pkt[0] >> 4 != 4 || pkt[9] != 6)
		return -1;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get_be16(pkt + 2);
	if (ihl < 20 || len < ihl + 20 || (tot != len && tot != 0))
		return -1;
	thl = (size_t)(pkt[ihl + 12] >> 4) * 4;
	if (thl < 20 || ihl + thl > len || ihl + thl > GSO_HDR_MAX)
		return -1;
	g->pkt = pkt;
	g->len = len;
	g->hlen = ihl + thl;
	g->ihl = ihl;
	g->mss = mss;
	g->off = g->hlen;
	g->k = 0;
	g->done = 0;
	g->id = get_be16(pkt + 4);
	g->seq = get_be32(pkt + ihl + 4);
	g->flags = pkt[ihl + 13];
	return 0;
}

size_t gso_tcp4_next(struct gso_tcp4 *g, uint8_t *dst, size_t cap)
{
	size_t plen, n, ihl = g->ihl;
	uint8_t *tcp = dst + ihl, flags = g->flags;
	uint64_t s, psum;
	int last;

	if (g->done)
		return 0;
	plen = g->len - g->off;
	if (plen > g->mss)
		plen = g->mss;
	n = g->hlen + plen;
	if (n > cap)
		return 0;
	last = g->off + plen >= g->len;
	memcpy(dst, g->pkt, g->hlen);
	/* The TCP header is a whole number of 32-bit words, so the payload's sum
	 * lines up with the header's 16-bit words and can be taken on its own. */
	psum = csum_copy(dst + g->hlen, g->pkt + g->off, plen);
	/* IPv4 */
	put_be16(dst + 2, (uint16_t)n);
	put_be16(dst + 4, (uint16_t)(g->id + g->k));
	dst[10] = dst[11] = 0;
	s = csum_add(0, dst, ihl);
	{
		uint16_t c = csum_finish(s);
		memcpy(dst + 10, &c, 2);
	}
	/* TCP */
	put_be32(tcp + 4, g->seq + (uint32_t)(g->off - g->hlen));
	if (!last)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (g->k)
		flags &= (uint8_t)~TCP_CWR;
	tcp[13] = flags;
	tcp[16] = tcp[17] = 0;
	s = csum_add(psum + csum_pseudo4(dst, 6, n - ihl), tcp, g->hlen - ihl);
	{
		uint16_t c = csum_finish(s);
		memcpy(tcp + 16, &c, 2);
	}
	g->off += plen;
	g->k++;
	g->done = g->off >= g->len; /* a header-only packet makes one segment */
	return n;
}
