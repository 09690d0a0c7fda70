/* TCP coalescing of decrypted packets before the TUN write (GRO in userspace).
 *
 * Consecutive in-order segments of one IPv4/TCP flow, as a bulk sender's TSO
 * burst produces them, are merged into one super-packet and written to the
 * TUN with a virtio_net_hdr that says GSO TCPv4, MSS = the first segment's
 * payload: one write and one pass through the receiving TCP stack instead of
 * forty. Anything else (another flow, a gap, different flags, options or
 * ACK, a short segment) ends the run; a run of one is written as is.
 *
 * The merged packet carries CHECKSUM_PARTIAL semantics: its TCP checksum
 * field holds the pseudo-header sum and csum_start/offset point at it, so the
 * receiving stack does not check the segments' checksums again: gro_add does,
 * and a segment whose checksum is wrong is written alone. ESP authenticated
 * every segment, but only from the peer on; this catches what was corrupt
 * before the peer encrypted it, as kernel GRO would. */
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "esp/csum.h"
#include "esp/gro.h"
#include "util/buf.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

static int gro_write(int fd, const struct virtio_net_hdr *vh, const uint8_t *p, size_t len)
{
	struct iovec iov[2] = {{(void *)vh, sizeof(*vh)}, {(void *)p, len}};
	return writev(fd, iov, 2) == (ssize_t)(sizeof(*vh) + len) ? 0 : -1;
}

int gro_flush(struct gro *g)
{
	struct virtio_net_hdr vh;
	uint8_t *ip = g->buf, *tcp;
	uint16_t c;
	int rc;

	if (!g->n)
		return 0;
	memset(&vh, 0, sizeof(vh));
	if (g->n > 1) {
		size_t ihl = g->ihl, tl = g->len - ihl;
		tcp = ip + ihl;
		put_be16(ip + 2, (uint16_t)g->len);
		ip[10] = ip[11] = 0;
		c = csum_finish(csum_add(0, ip, ihl));
		memcpy(ip + 10, &c, 2);
		/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, uncomplemented. */
		c = csum_fold(csum_pseudo4(ip, 6, tl));
		memcpy(tcp + 16, &c, 2);
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh.hdr_len = (uint16_t)(ihl + g->thl);
		vh.gso_size = g->mss;
		vh.csum_start = (uint16_t)ihl;
		vh.csum_offset = 16;
	}
	rc = gro_write(g->fd, &vh, ip, g->len);
	g->segs_out += g->n;
	g->writes++;
	if (rc)
		g->errors += g->n;
	g->n = 0;
	return rc;
}

/* Is p (an IPv4/TCP packet with plain ACK flags) something a run may hold? */
static int gro_eligible(const uint8_t *p, size_t len, size_t *ihl, size_t *thl)
{
	if (len < 40 || p[0] != 0x45 || p[9] != 6 || (get_be16(p + 6) & 0x3fff) ||
	    get_be16(p + 2) != len)
		return 0;
	*ihl = 20;
	*thl = (size_t)(p[20 + 12] >> 4) * 4;
	if (*thl < 20 || 20 + *thl >= len)
		return 0; /* no payload: nothing to merge */
	return !(p[20 + 13] & (TCP_SYN | TCP_RST | TCP_URG | TCP_FIN)) && (p[20 + 13] & TCP_ACK);
}

/* Written alone, as it came: the receiving stack checks it. */
static int gro_write_one(struct gro *g, int fd, const uint8_t *p, size_t len)
{
	struct virtio_net_hdr vh;
	int rc = gro_flush(g);

	memset(&vh, 0, sizeof(vh));
	if (gro_write(fd, &vh, p, len)) {
		g->errors++;
		return -1;
	}
	g->writes++;
	g->segs_out++;
	return rc;
}

/* A segment's own TCP checksum, from the sum of its TCP header and payload:
 * a merged run goes up as CHECKSUM_PARTIAL and is not checked again, so a
 * segment that was corrupt before the peer encrypted it must not join one. */
static int gro_csum_ok(const uint8_t *ip, size_t len, size_t ihl, uint64_t tcp_sum)
{
	return csum_fold(tcp_sum + csum_pseudo4(ip, 6, len - ihl)) == 0xffff;
}

int gro_add(struct gro *g, int fd, const uint8_t *p, size_t len)
{
	size_t ihl, thl, pl;
	const uint8_t *tcp;
	uint8_t *gt;
	uint64_t sum;
	int rc;

	if (!gro_eligible(p, len, &ihl, &thl))
		return gro_write_one(g, fd, p, len);
	tcp = p + ihl;
	pl = len - ihl - thl;
	gt = g->buf + g->ihl;
	if (g->n && fd == g->fd && thl == g->thl && g->len + pl <= GRO_MAX &&
	    !memcmp(p + 12, g->buf + 12, 8) &&          /* addresses */
	    !memcmp(tcp, gt, 4) &&                       /* ports */
	    get_be32(tcp + 4) == g->next_seq &&          /* in order, no gap */
	    !memcmp(tcp + 8, gt + 8, 4) &&               /* same ACK */
	    (tcp[13] & ~TCP_PSH) == (gt[13] & ~TCP_PSH) && !memcmp(tcp + 14, gt + 14, 2) && /* flags, window */
	    !memcmp(tcp + 20, gt + 20, thl - 20) &&      /* options (timestamps) */
	    p[1] == g->buf[1] && p[8] == g->buf[8] &&    /* TOS, TTL */
	    pl <= g->mss && !(gt[13] & TCP_PSH)) {
		/* Copied past the run's end and summed in one pass; kept only if good. */
		sum = csum_add(csum_copy(g->buf + g->len, p + ihl + thl, pl), tcp, thl);
		if (!gro_csum_ok(p, len, ihl, sum))
			return gro_write_one(g, fd, p, len);
		g->len += pl;
		g->next_seq += (uint32_t)pl;
		g->n++;
		gt[13] |= tcp[13] & TCP_PSH; /* a pushed segment ends the run */
		if (pl < g->mss || (tcp[13] & TCP_PSH))
			return gro_flush(g);
		return 0;
	}
	rc = gro_flush(g); /* the new packet starts a run either way */
	memcpy(g->buf, p, ihl);
	if (!gro_csum_ok(p, len, ihl, csum_copy(g->buf + ihl, tcp, len - ihl))) {
		int r2 = gro_write_one(g, fd, p, len);
		return rc ? rc : r2;
	}
	g->fd = fd;
	g->len = len;
	g->ihl = ihl;
	g->thl = thl;
	g->mss = (uint16_t)pl;
	g->next_seq = get_be32(tcp + 4) + (uint32_t)pl;
	g->n = 1;
	return rc;
}
