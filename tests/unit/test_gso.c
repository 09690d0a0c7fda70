/* TCP segmentation (gso.c) and coalescing (gro.c) of IPv4/TCP packets.
 *
 * Every checksum is checked with an RFC 1071 sum written here, byte by byte
 * in network order, independent of the word-at-a-time sums in src/esp. The
 * GRO "TUN fd" is one end of an AF_UNIX datagram socketpair: each datagram
 * read back is one TUN write, a struct virtio_net_hdr and then the packet.
 * The GRO invariant checked everywhere: what comes out, split back into
 * segments at gso_size, is what went in, in the same order, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_net.h>
#include <cmocka.h>
#include "esp/gro.h"
#include "esp/gso.h"

#define MSS 1448
#define IHL 20
#define THL 32 /* 20 + NOP, NOP, timestamps (RFC 7323) */
#define HLEN (IHL + THL)
#define MAXPKT 65535

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define F_CWR 0x80

#define SADDR 0x0a010203u /* 10.1.2.3 */
#define DADDR 0xc0a80a07u /* 192.168.10.7 */
#define SPORT 40000
#define DPORT 5201
#define SEQ0 0xfffff000u /* wraps inside the larger packets */
#define ACK0 0x01020304u
#define ID0 0xfffd /* wraps inside the larger packets */
#define WIN 0x1f5a
#define TSVAL 0x11223344u
#define TSECR 0x55667788u

/* --- helpers independent of src/ ------------------------------------------ */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 1071: sum of big-endian 16-bit words, an odd last byte padded with 0. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Pseudo header (RFC 793): source, destination, zero, protocol, TCP length. */
static uint32_t pseudo_sum(const uint8_t *ip, size_t tcp_len)
{
	return sum16(0, ip + 12, 8) + 6 + (uint32_t)tcp_len;
}

static int ip_csum_ok(const uint8_t *ip)
{
	return fold16(sum16(0, ip, (size_t)(ip[0] & 0x0f) * 4)) == 0xffff;
}

static int tcp_csum_ok(const uint8_t *ip, size_t len)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	return fold16(pseudo_sum(ip, len - ihl) + sum16(0, ip + ihl, len - ihl)) == 0xffff;
}

/* Payload byte at stream offset pos: not periodic in MSS, so a misplaced
 * slice never compares equal by accident. */
static uint8_t pat(size_t pos)
{
	return (uint8_t)(pos * 131u + (pos >> 7) * 17u + (pos >> 15) + 3u);
}

struct spec {
	uint8_t ihl, doff; /* in 32-bit words */
	uint8_t proto, flags;
	uint16_t id, sport, win;
	uint32_t seq, ack, tsval;
	size_t plen, pos; /* payload bytes; stream offset of the first one */
};

static struct spec spec_default(void)
{
	struct spec s = {.ihl = 5,
	                 .doff = 8,
	                 .proto = 6,
	                 .flags = F_ACK,
	                 .id = ID0,
	                 .sport = SPORT,
	                 .win = WIN,
	                 .seq = SEQ0,
	                 .ack = ACK0,
	                 .tsval = TSVAL,
	                 .plen = 0,
	                 .pos = 0};
	return s;
}

/* A valid IPv4/TCP packet (or UDP when proto is 17); its length. */
static size_t build(uint8_t *p, const struct spec *s)
{
	size_t ihl = s->ihl * 4u, thl = s->proto == 6 ? s->doff * 4u : 8, len, i;
	uint8_t *t = p + ihl;

	len = ihl + thl + s->plen;
	memset(p, 0, ihl + thl);
	p[0] = (uint8_t)(0x40 | s->ihl);
	p[1] = 0x28; /* TOS */
	wr16(p + 2, (uint16_t)len);
	wr16(p + 4, s->id);
	wr16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = s->proto;
	wr32(p + 12, SADDR);
	wr32(p + 16, DADDR);
	memset(p + 20, 1, ihl - 20); /* IP options: NOPs */
	wr16(p + 10, (uint16_t)~fold16(sum16(0, p, ihl)));
	wr16(t, s->sport);
	wr16(t + 2, DPORT);
	for (i = 0; i < s->plen; i++)
		t[thl + i] = pat(s->pos + i);
	if (s->proto != 6) {
		wr16(t + 4, (uint16_t)(8 + s->plen));
		return len;
	}
	wr32(t + 4, s->seq);
	wr32(t + 8, s->ack);
	t[12] = (uint8_t)(s->doff << 4);
	t[13] = s->flags;
	wr16(t + 14, s->win);
	memset(t + 20, 1, thl - 20); /* NOPs */
	if (thl >= 32) {
		t[22] = 8; /* timestamps */
		t[23] = 10;
		wr32(t + 24, s->tsval);
		wr32(t + 28, TSECR);
	}
	wr16(t + 16, (uint16_t)~fold16(pseudo_sum(p, len - ihl) + sum16(0, t, len - ihl)));
	return len;
}

/* --- GSO -------------------------------------------------------------------- */

static uint8_t sup[MAXPKT + 1], seg[GSO_HDR_MAX + MAXPKT], reasm[MAXPKT];

/* Segment sup (len bytes) with mss and check every segment against it. */
static void gso_check(const uint8_t *p, size_t len, uint16_t mss)
{
	size_t ihl = (size_t)(p[0] & 0x0f) * 4, thl = (size_t)(p[ihl + 12] >> 4) * 4;
	size_t hlen = ihl + thl, n = len - hlen, want = n ? (n + mss - 1) / mss : 1;
	size_t off = 0, k = 0, sl;
	const uint8_t *pt = p + ihl;
	struct gso_tcp4 g;

	assert_int_equal(gso_tcp4_init(&g, p, len, mss), 0);
	/* A cap of exactly one full segment is enough. */
	while ((sl = gso_tcp4_next(&g, seg, hlen + mss)) > 0) {
		size_t plen = n - off < mss ? n - off : mss;
		int last = off + plen == n;
		uint8_t *t = seg + ihl, flags = pt[13];

		assert_true(k < want);
		assert_int_equal(sl, hlen + plen);
		/* IPv4: only total length, identification and checksum change. */
		assert_int_equal(rd16(seg + 2), sl);
		assert_int_equal(rd16(seg + 4), (uint16_t)(rd16(p + 4) + k));
		assert_true(ip_csum_ok(seg));
		assert_memory_equal(seg, p, 2);
		assert_memory_equal(seg + 6, p + 6, 4);
		assert_memory_equal(seg + 12, p + 12, ihl - 12);
		/* TCP: sequence, flags and checksum change; options are copied. */
		assert_int_equal(rd32(t + 4), (uint32_t)(rd32(pt + 4) + off));
		if (!last)
			flags &= (uint8_t) ~(F_FIN | F_PSH);
		if (k)
			flags &= (uint8_t)~F_CWR;
		assert_int_equal(t[13], flags);
		assert_memory_equal(t, pt, 4);
		assert_memory_equal(t + 8, pt + 8, 5);
		assert_memory_equal(t + 14, pt + 14, 2);
		assert_memory_equal(t + 18, pt + 18, thl - 18);
		assert_true(tcp_csum_ok(seg, sl));
		assert_memory_equal(seg + hlen, p + hlen + off, plen);
		memcpy(reasm + off, seg + hlen, plen);
		off += plen;
		k++;
	}
	assert_int_equal(k, want);
	assert_int_equal(off, n);
	assert_int_equal(gso_tcp4_next(&g, seg, sizeof(seg)), 0);
	assert_memory_equal(reasm, p + hlen, n);
}

static void test_gso_sizes(void **state)
{
	static const size_t sizes[] = {0, 1, 1447, 1448, 1449, 10000, MAXPKT - HLEN};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct spec s = spec_default();
		s.flags = F_ACK | F_PSH | F_FIN | F_CWR;
		s.plen = sizes[i];
		gso_check(sup, build(sup, &s), MSS);
	}
}

static void test_gso_plain_ack_and_small_mss(void **state)
{
	struct spec s = spec_default();

	/* No flags to strip: every segment keeps plain ACK. */
	s.plen = 5000;
	gso_check(sup, build(sup, &s), MSS);
	gso_check(sup, build(sup, &s), 536);
	gso_check(sup, build(sup, &s), 1); /* one byte per segment */
	gso_check(sup, build(sup, &s), 65535);
}

static void test_gso_header_variants(void **state)
{
	struct spec s = spec_default();

	/* IPv4 options: the TCP header and pseudo header move with IHL. */
	s.flags = F_ACK | F_PSH | F_CWR;
	s.ihl = 6;
	s.plen = 3000;
	gso_check(sup, build(sup, &s), MSS);
	/* Longest headers allowed: IHL 15, data offset 15 (120 bytes). */
	s.ihl = 15;
	s.doff = 15;
	gso_check(sup, build(sup, &s), MSS);
	/* No TCP options; header-only packet of exactly 40 bytes. */
	s = spec_default();
	s.doff = 5;
	s.flags = F_ACK | F_FIN;
	gso_check(sup, build(sup, &s), MSS);
	s.plen = 2 * MSS;
	gso_check(sup, build(sup, &s), MSS);
}

/* gso_tcp4_init on an exact-size heap copy, so ASan sees any over-read. */
static int init_copy(const uint8_t *p, size_t len, uint16_t mss)
{
	struct gso_tcp4 g;
	uint8_t *c = malloc(len ? len : 1);
	int rc;

	assert_non_null(c);
	memcpy(c, p, len);
	rc = gso_tcp4_init(&g, c, len, mss);
	free(c);
	return rc;
}

static void test_gso_malformed(void **state)
{
	uint8_t p[200];
	struct spec s = spec_default();
	size_t len, i;

	s.plen = 100;
	len = build(sup, &s);
	assert_int_equal(init_copy(sup, len, MSS), 0);
#define MUT(stmt)                                                                                  \
	do {                                                                                       \
		memcpy(p, sup, len);                                                               \
		stmt;                                                                              \
		assert_int_equal(init_copy(p, len, MSS), -1);                                      \
	} while (0)
	MUT(p[0] = 0x65);       /* IPv6 */
	MUT(p[0] = 0x05);       /* version 0 */
	MUT(p[9] = 17);         /* UDP */
	MUT(p[9] = 1);          /* ICMP */
	for (i = 0; i < 5; i++) /* IHL < 5 */
		MUT(p[0] = (uint8_t)(0x40 | i));
	for (i = 0; i < 5; i++) /* TCP data offset < 5 */
		MUT(p[IHL + 12] = (uint8_t)(i << 4));
	MUT(wr16(p + 2, (uint16_t)(len - 1))); /* total length inconsistent */
	MUT(wr16(p + 2, (uint16_t)(len + 1)));
	MUT(wr16(p + 2, 40));
	MUT(wr16(p + 2, 0xffff));
#undef MUT
	/* Buffer shorter than the total length says. */
	assert_int_equal(init_copy(sup, len - 1, MSS), -1);
	/* mss 0. */
	assert_int_equal(init_copy(sup, len, 0), -1);

	/* Headers longer than the packet: a 52-byte packet with data offset
	 * 15 (60 bytes of TCP header) or IHL 15 (60 bytes of IP header). */
	s = spec_default();
	len = build(sup, &s);
	assert_int_equal(len, HLEN);
	assert_int_equal(init_copy(sup, len, MSS), 0);
	memcpy(p, sup, len);
	p[IHL + 12] = 0xf0;
	assert_int_equal(init_copy(p, len, MSS), -1);
	memcpy(p, sup, len);
	p[0] = 0x4f;
	assert_int_equal(init_copy(p, len, MSS), -1);

	/* Shorter than 40 bytes, whatever the total length field says. */
	s.doff = 5;
	len = build(sup, &s);
	assert_int_equal(len, 40);
	assert_int_equal(init_copy(sup, len, MSS), 0);
	for (i = 0; i < 40; i++) {
		memcpy(p, sup, 40);
		wr16(p + 2, (uint16_t)i);
		assert_int_equal(init_copy(p, i, MSS), -1);
	}
}

static void test_gso_small_cap(void **state)
{
	struct spec s = spec_default();
	struct gso_tcp4 g;
	size_t len;

	s.flags = F_ACK | F_PSH | F_CWR;
	s.plen = 3000;
	len = build(sup, &s);
	assert_int_equal(gso_tcp4_init(&g, sup, len, MSS), 0);
	assert_int_equal(gso_tcp4_next(&g, seg, 0), 0);
	assert_int_equal(gso_tcp4_next(&g, seg, HLEN + MSS - 1), 0);
	/* A refusal consumes nothing: the first segment is still the first. */
	assert_int_equal(gso_tcp4_next(&g, seg, HLEN + MSS), HLEN + MSS);
	assert_int_equal(rd16(seg + 4), ID0);
	assert_int_equal(rd32(seg + IHL + 4), SEQ0);
	assert_int_equal(seg[IHL + 13], F_ACK | F_CWR);

	/* Header-only packet: a cap one byte short of the header. */
	s.plen = 0;
	len = build(sup, &s);
	assert_int_equal(gso_tcp4_init(&g, sup, len, MSS), 0);
	assert_int_equal(gso_tcp4_next(&g, seg, HLEN - 1), 0);
	assert_int_equal(gso_tcp4_next(&g, seg, HLEN), HLEN);
	assert_int_equal(gso_tcp4_next(&g, seg, sizeof(seg)), 0);
}

/* --- GRO -------------------------------------------------------------------- */

#define MAXW 128
#define MAXIN 128

struct wr {
	struct virtio_net_hdr vh;
	uint8_t *p;
	size_t len;
};

struct sink {
	int rfd, wfd;
	size_t n;
	struct wr w[MAXW];
};

struct pk {
	uint8_t b[2048];
	size_t len;
};

/* Everything a GRO test opens, released by the teardown even when an
 * assertion ends the test early. */
static struct {
	struct sink *s[32];
	struct gro *g[32];
	int fd[8];
	size_t ns, ng, nfd;
} fx;

static struct sink *sink_new(void)
{
	struct sink *s = calloc(1, sizeof(*s));
	int sv[2], big = 4 << 20;

	assert_non_null(s);
	assert_true(fx.ns < 32);
	fx.s[fx.ns++] = s;
	s->rfd = s->wfd = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	s->rfd = sv[0];
	s->wfd = sv[1];
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return s;
}

static void sink_free(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->w[i].p);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0)
		close(s->wfd);
	free(s);
}

static int fx_teardown(void **state)
{
	while (fx.ns)
		sink_free(fx.s[--fx.ns]);
	while (fx.ng)
		free(fx.g[--fx.ng]);
	while (fx.nfd)
		close(fx.fd[--fx.nfd]);
	return 0;
}

/* Read every datagram written so far. */
static void sink_drain(struct sink *s)
{
	static uint8_t b[sizeof(struct virtio_net_hdr) + GRO_MAX + 1];

	for (;;) {
		ssize_t r = recv(s->rfd, b, sizeof(b), MSG_DONTWAIT);
		struct wr *w;

		if (r < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			return;
		}
		assert_true((size_t)r > sizeof(struct virtio_net_hdr));
		assert_true((size_t)r < sizeof(b));
		assert_true(s->n < MAXW);
		w = &s->w[s->n++];
		memcpy(&w->vh, b, sizeof(w->vh));
		w->len = (size_t)r - sizeof(w->vh);
		w->p = malloc(w->len);
		assert_non_null(w->p);
		memcpy(w->p, b + sizeof(w->vh), w->len);
	}
}

static struct gro *gro_new(void)
{
	struct gro *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	assert_true(fx.ng < 32);
	fx.g[fx.ng++] = g;
	return g;
}

static void add(struct gro *g, struct sink *s, const struct pk *p)
{
	assert_int_equal(gro_add(g, s->wfd, p->b, p->len), 0);
	sink_drain(s);
}

static void flush(struct gro *g, struct sink *s)
{
	assert_int_equal(gro_flush(g), 0);
	sink_drain(s);
}

static size_t payload_off(const uint8_t *p)
{
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (p[9] == 6)
		return ihl + (size_t)(p[ihl + 12] >> 4) * 4;
	return ihl + 8;
}

/* Flow of a packet (protocol and ports; addresses are the same everywhere). */
static uint32_t flow_of(const uint8_t *p)
{
	return (uint32_t)p[9] << 16 | rd16(p + 20);
}

/* A merged write: its virtio_net_hdr and headers (first is its first segment). */
static void check_merged(const struct wr *w, const uint8_t *first)
{
	const uint8_t *p = w->p, *t = p + IHL, *ft = first + IHL;
	size_t thl = (size_t)(t[12] >> 4) * 4;

	assert_int_equal(w->vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(w->vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(w->vh.gso_size, rd16(first + 2) - payload_off(first));
	assert_int_equal(w->vh.csum_start, IHL);
	assert_int_equal(w->vh.csum_offset, 16);
	assert_int_equal(w->vh.hdr_len, IHL + thl);
	assert_true(w->len <= GRO_MAX);
	assert_int_equal(rd16(p + 2), w->len);
	assert_true(ip_csum_ok(p));
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
	assert_int_equal(rd16(t + 16), fold16(pseudo_sum(p, w->len - IHL)));
	/* Everything else is the first segment's header (PSH may be added). */
	assert_memory_equal(p, first, 2);
	assert_memory_equal(p + 4, first + 4, 6);
	assert_memory_equal(p + 12, first + 12, 8);
	assert_memory_equal(t, ft, 13);
	assert_int_equal(t[13] & ~F_PSH, ft[13] & ~F_PSH);
	assert_memory_equal(t + 14, ft + 14, 2);
	assert_memory_equal(t + 18, ft + 18, thl - 18);
}

static uint8_t cin[4][MAXPKT * 2], cout[4][MAXPKT * 2];

/* The writes, split back at gso_size, are the inputs in order, and the
 * payload of each flow reads the same going in and coming out. */
static void verify(const struct sink *s, const struct pk *in, size_t nin, size_t nwrites)
{
	static const struct virtio_net_hdr zero;
	uint32_t flows[4];
	size_t nflows = 0, lin[4] = {0}, lout[4] = {0}, k = 0, i, f;

	for (i = 0; i < nin; i++) {
		const uint8_t *p = in[i].b;
		size_t po = payload_off(p);

		for (f = 0; f < nflows && flows[f] != flow_of(p); f++)
			;
		if (f == nflows) {
			assert_true(nflows < 4);
			flows[nflows++] = flow_of(p);
		}
		memcpy(cin[f] + lin[f], p + po, in[i].len - po);
		lin[f] += in[i].len - po;
	}
	for (i = 0; i < s->n; i++) {
		const struct wr *w = &s->w[i];
		size_t po = payload_off(w->p), pl = w->len - po, mss, o;

		for (f = 0; f < nflows && flows[f] != flow_of(w->p); f++)
			;
		assert_true(f < nflows);
		memcpy(cout[f] + lout[f], w->p + po, pl);
		lout[f] += pl;
		if (w->vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
			/* Written alone: unchanged, all-zero virtio_net_hdr. */
			assert_memory_equal(&w->vh, &zero, sizeof(zero));
			assert_true(k < nin);
			assert_int_equal(w->len, in[k].len);
			assert_memory_equal(w->p, in[k].b, w->len);
			k++;
			continue;
		}
		assert_true(k < nin);
		check_merged(w, in[k].b);
		mss = w->vh.gso_size;
		assert_true(pl > mss); /* at least two segments */
		for (o = 0; o < pl; o += mss, k++) {
			const uint8_t *q = in[k].b, *qt = q + IHL;
			size_t ql = pl - o < mss ? pl - o : mss;

			assert_true(k < nin);
			assert_int_equal(in[k].len - payload_off(q), ql);
			assert_memory_equal(w->p + po + o, q + payload_off(q), ql);
			assert_int_equal(rd32(qt + 4), (uint32_t)(rd32(w->p + IHL + 4) + o));
			assert_int_equal(flow_of(q), flow_of(w->p));
			assert_memory_equal(qt + 8, w->p + IHL + 8, 4); /* ACK */
			assert_int_equal(qt[13] & ~F_PSH, w->p[IHL + 13] & ~F_PSH);
			assert_memory_equal(qt + 20, w->p + IHL + 20, payload_off(q) - IHL - 20);
		}
	}
	assert_int_equal(k, nin);
	for (f = 0; f < nflows; f++) {
		assert_int_equal(lout[f], lin[f]);
		assert_memory_equal(cout[f], cin[f], lin[f]);
	}
	assert_int_equal(s->n, nwrites);
}

/* Cut a super-packet of n payload bytes with gso into in[]; the count. */
static size_t gso_into(struct pk *in, uint8_t flags, size_t n)
{
	struct spec s = spec_default();
	struct gso_tcp4 g;
	size_t k = 0, len;

	s.flags = flags;
	s.plen = n;
	len = build(sup, &s);
	assert_int_equal(gso_tcp4_init(&g, sup, len, MSS), 0);
	while (k < MAXIN && (in[k].len = gso_tcp4_next(&g, in[k].b, sizeof(in[k].b))) > 0)
		k++;
	return k;
}

static struct pk in[MAXIN];

static void test_gro_bulk(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	size_t n = gso_into(in, F_ACK | F_PSH, 10000), i;
	const struct wr *w;
	const uint8_t *t;

	assert_int_equal(n, 7);
	for (i = 0; i < n; i++) {
		add(g, s, &in[i]);
		/* Nothing is written before the short, pushed last segment. */
		assert_int_equal(s->n, i + 1 < n ? 0 : 1);
	}
	flush(g, s);
	assert_int_equal(s->n, 1);
	w = &s->w[0];
	t = w->p + IHL;
	assert_int_equal(w->vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(w->vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(w->vh.gso_size, MSS);
	assert_int_equal(w->vh.csum_start, 20);
	assert_int_equal(w->vh.csum_offset, 16);
	assert_int_equal(w->vh.hdr_len, HLEN);
	assert_int_equal(w->len, HLEN + 10000);
	assert_int_equal(rd16(w->p + 2), HLEN + 10000);
	assert_int_equal(rd16(w->p + 4), ID0);
	assert_true(ip_csum_ok(w->p));
	assert_int_equal(rd16(t + 16), fold16(sum16(0, w->p + 12, 8) + 6 + THL + 10000));
	assert_int_equal(rd32(t + 4), SEQ0);
	assert_int_equal(rd32(t + 8), ACK0);
	assert_int_equal(t[13], F_ACK | F_PSH);
	assert_memory_equal(t + 20, sup + IHL + 20, THL - 20);
	assert_memory_equal(w->p + HLEN, sup + HLEN, 10000);
	verify(s, in, n, 1);
	assert_int_equal(g->writes, 1);
	assert_int_equal(g->segs_out, 7);
	assert_int_equal(g->errors, 0);
}

/* The super-packet of the GSO tests (ACK|PSH|FIN|CWR): gso puts CWR on the
 * first segment and FIN on the last, and each of those differs in flags from
 * the middle ones. However gro groups them, nothing is lost or reordered. */
static void test_gro_cwr_fin(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	size_t n = gso_into(in, F_ACK | F_PSH | F_FIN | F_CWR, 10000), i;

	for (i = 0; i < n; i++)
		add(g, s, &in[i]);
	flush(g, s);
	assert_true(s->n >= 1 && s->n <= 3);
	verify(s, in, n, s->n);
}

/* n full segments of the default flow, consecutive, plain ACK. */
static void stream(struct pk *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct spec s = spec_default();
		s.plen = MSS;
		s.pos = i * MSS;
		s.seq = SEQ0 + (uint32_t)s.pos;
		s.id = (uint16_t)(ID0 + i);
		p[i].len = build(p[i].b, &s);
	}
}

/* Rebuild p after changing its spec: shift the stream, keep the checksums. */
static void rebuild(struct pk *p, size_t i, void (*f)(struct spec *))
{
	struct spec s = spec_default();
	s.plen = p[i].len - HLEN;
	s.seq = rd32(p[i].b + IHL + 4);
	s.pos = s.seq - SEQ0;
	s.id = rd16(p[i].b + 4);
	f(&s);
	p[i].len = build(p[i].b, &s);
}

static void other_port(struct spec *s)
{
	s->sport = SPORT + 1;
	s->pos += 77; /* different bytes for a different flow */
}

static void other_ack(struct spec *s)
{
	s->ack = ACK0 + 2896;
}

static void other_ts(struct spec *s)
{
	s->tsval = TSVAL + 1;
}

static void other_win(struct spec *s)
{
	s->win = WIN + 1;
}

static void set_syn(struct spec *s)
{
	s->flags |= F_SYN;
}

static void set_psh(struct spec *s)
{
	s->flags |= F_PSH;
}

static void set_fin(struct spec *s)
{
	s->flags |= F_FIN;
}

static void one_byte_gap(struct spec *s)
{
	s->seq++;
	s->pos++;
}

static void run(const struct pk *p, size_t n, size_t nwrites)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	size_t i;

	for (i = 0; i < n; i++)
		add(g, s, &p[i]);
	flush(g, s);
	verify(s, p, n, nwrites);
	assert_int_equal(g->segs_out, n);
	assert_int_equal(g->errors, 0);
}

/* A segment whose TCP checksum is wrong (corrupt before the peer encrypted
 * it) joins no run: it is written alone, as it came, for the receiving stack
 * to check and drop; the segments around it still merge. */
static void test_gro_bad_csum(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	size_t i;

	stream(in, 5);
	in[2].b[HLEN + 10] ^= 1;
	for (i = 0; i < 5; i++)
		add(g, s, &in[i]);
	flush(g, s);
	verify(s, in, 5, 3); /* 0-1, 2, 3-4 */
	assert_int_equal(s->w[1].vh.flags, 0);
	assert_int_equal(s->w[1].vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(s->w[1].len, in[2].len);
	assert_memory_equal(s->w[1].p, in[2].b, in[2].len);
	/* The first segment of a run: it goes alone, the rest merge. */
	stream(in, 5);
	in[0].b[HLEN] ^= 0x80;
	run(in, 5, 2);
}

/* Runs up to GRO_MAX bytes: 45 full segments fit (52 + 45 * 1448 = 65212). */
static void test_gro_max(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	size_t n = 47, i;

	stream(in, n);
	for (i = 0; i < n; i++)
		add(g, s, &in[i]);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->w[0].len, HLEN + 45 * MSS);
	flush(g, s);
	verify(s, in, n, 2);
}

static void test_gro_run_ends(void **state)
{
	struct spec u = spec_default();
	size_t i;

	/* Gap: segment 2 never arrives; 0-1 and 3-4 merge. */
	stream(in, 5);
	memmove(&in[2], &in[3], 2 * sizeof(in[0]));
	run(in, 4, 2);
	/* Gap of one byte from segment 2 on. */
	stream(in, 5);
	for (i = 2; i < 5; i++)
		rebuild(in, i, one_byte_gap);
	run(in, 5, 2);
	/* Segment 2 of another flow (source port): 0-1, 2, 3-4. */
	stream(in, 5);
	rebuild(in, 2, other_port);
	run(in, 5, 3);
	/* Two flows interleaved: nothing merges. */
	for (i = 0; i < 6; i++) { /* each flow's stream stays consecutive */
		struct spec s = spec_default();
		s.plen = MSS;
		s.pos = (i / 2) * MSS + (i & 1) * 100000;
		s.seq = SEQ0 + (uint32_t)(i / 2) * MSS;
		s.sport = (uint16_t)(SPORT + (i & 1));
		in[i].len = build(in[i].b, &s);
	}
	run(in, 6, 6);
	/* ACK advances from segment 2 on: 0-1, 2-4. */
	stream(in, 5);
	for (i = 2; i < 5; i++)
		rebuild(in, i, other_ack);
	run(in, 5, 2);
	/* Only segment 2 has another ACK: 0-1, 2, 3-4. */
	stream(in, 5);
	rebuild(in, 2, other_ack);
	run(in, 5, 3);
	/* Timestamp value changes from segment 2 on: 0-1, 2-4. */
	stream(in, 5);
	for (i = 2; i < 5; i++)
		rebuild(in, i, other_ts);
	run(in, 5, 2);
	/* Window changes from segment 2 on: 0-1, 2-4. */
	stream(in, 5);
	for (i = 2; i < 5; i++)
		rebuild(in, i, other_win);
	run(in, 5, 2);
	/* SYN on segment 2 (never merged): 0-1, 2, 3-4. */
	stream(in, 5);
	rebuild(in, 2, set_syn);
	run(in, 5, 3);
	/* FIN on the last segment: 0-3, 4. */
	stream(in, 5);
	rebuild(in, 4, set_fin);
	run(in, 5, 2);
	/* PSH on segment 2 ends the run after it: 0-2, 3-4. */
	stream(in, 5);
	rebuild(in, 2, set_psh);
	run(in, 5, 2);
	/* UDP between segments 1 and 2: 0-1, UDP, 2-4. */
	stream(in, 6);
	memmove(&in[3], &in[2], 3 * sizeof(in[0]));
	u.proto = 17;
	u.plen = 300;
	u.pos = 200000;
	in[2].len = build(in[2].b, &u);
	run(in, 6, 3);
	/* Pure ACK (no payload) between segments 1 and 2: 0-1, ACK, 2-4. */
	stream(in, 6);
	memmove(&in[3], &in[2], 3 * sizeof(in[0]));
	u = spec_default();
	u.seq = SEQ0 + 2 * MSS;
	in[2].len = build(in[2].b, &u);
	run(in, 6, 3);
	/* A first segment shorter than the next: 0 alone, 1-4 merge. */
	stream(in, 5);
	for (i = 0; i < 5; i++) {
		struct spec s = spec_default();
		s.plen = i ? MSS : 1000;
		s.pos = i ? 1000 + (i - 1) * MSS : 0;
		s.seq = SEQ0 + (uint32_t)s.pos;
		in[i].len = build(in[i].b, &s);
	}
	run(in, 5, 2);
	/* A short segment in the middle ends the run after it: 0-2, 3-4. */
	for (i = 0; i < 5; i++) {
		struct spec s = spec_default();
		s.plen = i == 2 ? 1000 : MSS;
		s.pos = i <= 2 ? i * MSS : 2 * MSS + 1000 + (i - 3) * MSS;
		s.seq = SEQ0 + (uint32_t)s.pos;
		in[i].len = build(in[i].b, &s);
	}
	run(in, 5, 2);
}

/* Runs never cross TUN fds. */
static void test_gro_fd(void **state)
{
	struct sink *a = sink_new(), *b = sink_new();
	struct gro *g = gro_new();

	stream(in, 4);
	assert_int_equal(gro_add(g, a->wfd, in[0].b, in[0].len), 0);
	assert_int_equal(gro_add(g, a->wfd, in[1].b, in[1].len), 0);
	assert_int_equal(gro_add(g, b->wfd, in[2].b, in[2].len), 0);
	assert_int_equal(gro_add(g, b->wfd, in[3].b, in[3].len), 0);
	assert_int_equal(gro_flush(g), 0);
	sink_drain(a);
	sink_drain(b);
	verify(a, in, 2, 1);
	verify(b, in + 2, 2, 1);
}

static void test_gro_single(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	struct spec sp = spec_default();

	/* A run of one waits for the flush, then goes out as it came in. */
	stream(in, 1);
	add(g, s, &in[0]);
	assert_int_equal(s->n, 0);
	flush(g, s);
	verify(s, in, 1, 1);
	/* So does a short pushed one, and a UDP packet goes out at once. */
	sp.plen = 10;
	sp.flags = F_ACK | F_PSH;
	in[1].len = build(in[1].b, &sp);
	add(g, s, &in[1]);
	flush(g, s);
	sp.proto = 17;
	in[2].len = build(in[2].b, &sp);
	add(g, s, &in[2]);
	assert_int_equal(s->n, 3);
	verify(s, in, 3, 3);
	assert_int_equal(g->writes, 3);
	assert_int_equal(g->segs_out, 3);
}

static void test_gro_flush_empty(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();

	flush(g, s);
	assert_int_equal(s->n, 0);
	assert_int_equal(g->writes, 0);
	stream(in, 2);
	add(g, s, &in[0]);
	add(g, s, &in[1]);
	flush(g, s);
	assert_int_equal(s->n, 1);
	flush(g, s); /* the run was written once */
	flush(g, s);
	assert_int_equal(s->n, 1);
	assert_int_equal(g->writes, 1);
}

/* A failed TUN write: gro_flush and gro_add say -1 and count the segments.
 * The "TUN" is the read end of a pipe, which refuses writes (EBADF). */
static void test_gro_write_error(void **state)
{
	struct sink *s = sink_new();
	struct gro *g = gro_new();
	struct spec u = spec_default();
	struct pk other;
	int pf[2];

	assert_int_equal(pipe(pf), 0);
	fx.fd[fx.nfd++] = pf[0];
	fx.fd[fx.nfd++] = pf[1];
	stream(in, 3);
	/* gro_flush. */
	assert_int_equal(gro_add(g, pf[0], in[0].b, in[0].len), 0);
	assert_int_equal(gro_add(g, pf[0], in[1].b, in[1].len), 0);
	assert_int_equal(gro_flush(g), -1);
	assert_int_equal(g->errors, 2);
	assert_int_equal(gro_flush(g), 0); /* the run is gone */
	assert_int_equal(g->errors, 2);

	/* A packet written at once (UDP) after a run that fails. */
	u.proto = 17;
	u.plen = 100;
	other.len = build(other.b, &u);
	assert_int_equal(gro_add(g, pf[0], in[0].b, in[0].len), 0);
	assert_int_equal(gro_add(g, s->wfd, other.b, other.len), -1);
	assert_int_equal(g->errors, 3);
	sink_drain(s);
	verify(s, &other, 1, 1);

	/* A packet that starts a new run after a run that fails: the lost run
	 * must be reported the same way (gro.h: "-1 when a write failed"). */
	stream(&other, 1);
	rebuild(&other, 0, other_port);
	assert_int_equal(gro_add(g, pf[0], in[0].b, in[0].len), 0);
	assert_int_equal(gro_add(g, pf[0], in[1].b, in[1].len), 0);
	assert_int_equal(gro_add(g, s->wfd, other.b, other.len), -1);
	assert_int_equal(g->errors, 5);
	/* ... and the packet that started the new run is not lost with it. */
	assert_int_equal(gro_flush(g), 0);
	sink_drain(s);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->w[1].len, other.len);
	assert_memory_equal(s->w[1].p, other.b, other.len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gso_sizes),
	    cmocka_unit_test(test_gso_plain_ack_and_small_mss),
	    cmocka_unit_test(test_gso_header_variants),
	    cmocka_unit_test(test_gso_malformed),
	    cmocka_unit_test(test_gso_small_cap),
	    cmocka_unit_test_teardown(test_gro_bulk, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_cwr_fin, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_max, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_bad_csum, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_run_ends, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_fd, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_single, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_flush_empty, fx_teardown),
	    cmocka_unit_test_teardown(test_gro_write_error, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
