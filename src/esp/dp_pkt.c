/* The per-thread packet path.
 *
 *  TUN queue --read burst--> route (tunnel) -> outbound SA -> esp_encap in place
 *            --sendmmsg--> raw ESP socket or UDP 4500 socket
 *  raw ESP / UDP 4500 --recvmmsg--> outer checks -> SPI lookup -> esp_decap
 *            (replay, ICV, window commit, padding, next header, inner check)
 *            --> TUN write of the owning tunnel
 *
 * Each thread owns its buffers and message vectors (allocated once), reads the
 * SAD without locks, and reports to the control thread through its event ring.
 * No allocation, no locks and no formatting per packet. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/udp.h>
#include <openssl/rand.h>
#include "esp/dp_int.h"
#include "esp/gro.h"
#include "esp/gso.h"
#include "esp/invspi_gate.h"
#include "util/buf.h"

#define TUN_READ_MAX 65536 /* a TSO super-packet */
#define DP_UDP_GRO_MSGS 32
#define DP_UDP_GRO_BUF 65536

#define IFC_SLOTS 8

struct ifc {
	int ifindex;
	uint64_t ts;
	char name[IF_NAMESIZE];
};

/* UDP GSO (UDP_SEGMENT): the ESP packets of one TCP super-packet have one
 * size (the last may be shorter), so they leave in one sendmsg and travel as
 * one skb as far as the kernel can keep them together. */
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define TX_GSO_SEGS 64
#define TX_GSO_BYTES 65000
#define TX_CMSG_SPACE (XMIT_CMSG_SPACE + CMSG_SPACE(sizeof(uint16_t)))

struct tx {
	int n, niov;
	struct mmsghdr m[DP_BATCH];
	struct iovec iov[DP_BATCH];
	struct sockaddr_in to[DP_BATCH];
	uint32_t src[DP_BATCH];
	uint16_t seg[DP_BATCH];   /* segment size of message i's group */
	uint8_t open[DP_BATCH];   /* group i may take more segments */
	size_t bytes[DP_BATCH];
	char cbuf[DP_BATCH][TX_CMSG_SPACE];
};

static _Atomic int udp_gso_off; /* the kernel refused UDP_SEGMENT once: per packet from then on */

struct dp_thread {
	int idx; /* event ring */
	uint64_t now_ms;
	uint8_t (*buf)[DP_BUF_SIZE];
	uint8_t *big; /* one TUN read, before segmentation */
	struct gro *gro; /* decrypted TCP segments, merged before the TUN write */
	/* ESP in UDP: large receive buffers, for UDP_GRO's super-datagrams */
	uint8_t (*ubuf)[DP_UDP_GRO_BUF];
	struct mmsghdr urx[DP_UDP_GRO_MSGS];
	struct iovec uiov[DP_UDP_GRO_MSGS];
	struct sockaddr_in uname[DP_UDP_GRO_MSGS];
	char ucbuf[DP_UDP_GRO_MSGS][128];
	struct mmsghdr rx[DP_BATCH];
	struct iovec rxiov[DP_BATCH];
	struct sockaddr_in rxname[DP_BATCH];
	char rxcbuf[DP_BATCH][64];
	struct tx raw, udp;
	struct ifc ifc[IFC_SLOTS];
	unsigned ifc_next;
	struct invspi_gate gate;
};

struct dp_stats dp_stats;

struct dp_thread *dp_pkt_new(int idx)
{
	struct dp_thread *t = calloc(1, sizeof(*t));
	uint64_t seed;

	if (!t)
		return NULL;
	if (posix_memalign((void **)&t->buf, 64, (size_t)DP_BATCH * DP_BUF_SIZE) ||
	    posix_memalign((void **)&t->big, 64, TUN_READ_MAX) || !(t->gro = calloc(1, sizeof(*t->gro))) ||
	    posix_memalign((void **)&t->ubuf, 64, (size_t)DP_UDP_GRO_MSGS * DP_UDP_GRO_BUF)) {
		free(t->buf);
		free(t->big);
		free(t->gro);
		free(t);
		return NULL;
	}
	if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
		seed = (uint64_t)(uintptr_t)t ^ (uint64_t)time(NULL);
	invspi_gate_init(&t->gate, seed);
	t->idx = idx;
	return t;
}

void dp_pkt_free(struct dp_thread *t)
{
	if (!t)
		return;
	free(t->buf);
	free(t->big);
	free(t->gro);
	free(t->ubuf);
	free(t);
}

void dp_pkt_batch_start(struct dp_thread *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	t->now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drop(enum esp_drop d, struct sad_sa *s)
{
	dp_stat_add(&dp_stats.drops[d], 1);
	if (s)
		dp_stat_add(&s->esp->ctr.drops[d], 1);
}

/* Interface names for events, cached: a flood from one link costs no syscalls. */
static void ifname_of(struct dp_thread *t, int ifindex, char *out)
{
	struct ifc *c;

	for (int i = 0; i < IFC_SLOTS; i++) {
		c = &t->ifc[i];
		if (c->ifindex == ifindex && c->ts && t->now_ms - c->ts < 5000) {
			memcpy(out, c->name, IF_NAMESIZE);
			return;
		}
	}
	c = &t->ifc[t->ifc_next++ % IFC_SLOTS];
	memset(c->name, 0, sizeof(c->name));
	if (!ifindex || !if_indextoname((unsigned)ifindex, c->name))
		memcpy(c->name, "unknown", 8);
	c->ifindex = ifindex;
	c->ts = t->now_ms ? t->now_ms : 1;
	memcpy(out, c->name, IF_NAMESIZE);
}

static void raise_once(struct dp_thread *t, struct sad_sa *s, int flag, enum dp_event_type type)
{
	struct dp_event ev;

	if (atomic_fetch_or_explicit(&s->flags, flag, memory_order_relaxed) & flag)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.src = s->path.local;
	ev.dst = s->path.peer;
	ev.spi = s->esp->spi;
	ev.udp_encap = s->path.udp_encap;
	ev.tunnel = s->tun->num;
	dp_events_push(t->idx, &ev);
}

/* ---- inbound ---- */

static void invalid_spi_event(struct dp_thread *t, const struct invspi_rec *r)
{
	struct dp_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_INVALID_SPI;
	ev.src = r->src;
	ev.dst = r->dst;
	ev.spi = r->spi;
	ev.sport = r->sport;
	ev.dport = r->dport;
	ev.udp_encap = r->udp;
	ev.count = r->count;
	ifname_of(t, r->ifindex, ev.ifname);
	dp_events_push(t->idx, &ev);
}

static void invalid_spi_flush(const struct invspi_rec *r, void *arg)
{
	invalid_spi_event(arg, r);
}

void dp_pkt_batch_end(struct dp_thread *t)
{
	invspi_gate_sweep(&t->gate, t->now_ms, invalid_spi_flush, t);
}

/* GRO's writes and lost segments, with the datapath counters kept in step. */
static void dp_gro_count(struct dp_thread *t, uint64_t w0, uint64_t s0, uint64_t e0)
{
	if (t->gro->writes != w0) {
		dp_stat_add(&dp_stats.tun_writes, t->gro->writes - w0);
		dp_stat_add(&dp_stats.tun_merged, t->gro->segs_out - s0);
	}
	if (t->gro->errors != e0)
		dp_stat_add(&dp_stats.drops[ESP_DROP_TUN_ERR], t->gro->errors - e0);
}

static void dp_gro_add(struct dp_thread *t, int fd, const uint8_t *p, size_t len)
{
	uint64_t w0 = t->gro->writes, s0 = t->gro->segs_out, e0 = t->gro->errors;
	gro_add(t->gro, fd, p, len);
	dp_gro_count(t, w0, s0, e0);
}

static void dp_gro_flush(struct dp_thread *t)
{
	uint64_t w0 = t->gro->writes, s0 = t->gro->segs_out, e0 = t->gro->errors;
	gro_flush(t->gro);
	dp_gro_count(t, w0, s0, e0);
}

static void esp_in(struct dp_thread *t, uint8_t *p, size_t len, uint32_t src, uint32_t dst,
		   uint16_t sport, uint16_t dport, int udp, int ifindex)
{
	size_t off, ilen;
	struct sad_sa *s;
	enum esp_drop d;
	uint8_t nh;
	uint32_t spi;
	int fd;

	dp_stat_add(&dp_stats.esp_in, 1);
	if (len < ESP_HDR_LEN) {
		drop(ESP_DROP_MALFORMED, NULL);
		return;
	}
	spi = get_be32(p);
	if (!(s = sad_lookup_in(spi))) {
		struct invspi_rec pkt = {src, dst, spi, sport, dport, (uint8_t)udp, ifindex, 1}, rep[2];
		int n = invspi_gate_offer(&t->gate, &pkt, t->now_ms, rep);

		drop(udp ? ESP_DROP_NO_SA_UDP : ESP_DROP_NO_SA_V4, NULL);
		if (n < 0)
			dp_stat_add(&dp_stats.inv_unreported, 1);
		for (int i = 0; i < n; i++)
			invalid_spi_event(t, &rep[i]);
		return;
	}
	d = esp_decap(s->esp, p, len, &off, &ilen, &nh);
	if (d != ESP_OK) {
		drop(d, s);
		dp_stat_add(&s->tun->ctr.in_drops, 1);
		return;
	}
	fd = atomic_load_explicit(&s->tun->tun_fd, memory_order_acquire);
	if (fd < 0) {
		drop(ESP_DROP_TUN_ERR, s);
		dp_stat_add(&s->tun->ctr.in_drops, 1);
		return;
	}
	dp_gro_add(t, fd, p + off, ilen); /* a failed TUN write counts as TUN_ERR there */
	dp_stat_add(&s->esp->ctr.pkts, 1);
	dp_stat_add(&s->esp->ctr.bytes, ilen);
	atomic_store_explicit(&s->esp->ctr.last_ms, t->now_ms, memory_order_relaxed);
	dp_stat_add(&s->tun->ctr.in_pkts, 1);
	dp_stat_add(&s->tun->ctr.in_bytes, ilen);
	uint64_t life_kb = atomic_load_explicit(&s->life_kb, memory_order_relaxed);
	if (life_kb && (atomic_load_explicit(&s->esp->ctr.bytes, memory_order_relaxed) >> 10) >= life_kb)
		raise_once(t, s, SAD_F_KB_EV, DP_EV_LIFETIME_KB);
}

static int rx_batch(struct dp_thread *t, int fd)
{
	for (int i = 0; i < DP_BATCH; i++) {
		t->rxiov[i] = (struct iovec){t->buf[i], DP_BUF_SIZE};
		t->rx[i].msg_hdr = (struct msghdr){
			.msg_name = &t->rxname[i], .msg_namelen = sizeof(t->rxname[i]),
			.msg_iov = &t->rxiov[i], .msg_iovlen = 1,
			.msg_control = t->rxcbuf[i], .msg_controllen = sizeof(t->rxcbuf[i])};
		t->rx[i].msg_len = 0;
	}
	return recvmmsg(fd, t->rx, DP_BATCH, MSG_DONTWAIT, NULL);
}

/* Raw ESP: the kernel hands us the outer IPv4 header too (reassembled).
 *   0                   1                   2                   3
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |  Protocol=50  |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options (IHL > 5)  ...  ESP ...            | */
void dp_pkt_raw(struct dp_thread *t)
{
	for (int round = 0; round < 4; round++) {
		int n = rx_batch(t, dp_xmit.raw_fd);
		if (n <= 0)
			break;
		dp_stat_add(&dp_stats.raw_in, (uint64_t)n);
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &t->rx[i].msg_hdr;
			const uint8_t *ip;
			uint8_t vihl, proto;
			uint16_t tot, frag;
			uint32_t src, dst = 0;
			int ifindex = 0;
			size_t ihl;
			struct rd r;

			rd_init(&r, t->buf[i], t->rx[i].msg_len);
			if ((m->msg_flags & MSG_TRUNC) || rd_u8(&r, &vihl) || rd_skip(&r, 1) ||
			    rd_u16(&r, &tot) || rd_skip(&r, 2) || rd_u16(&r, &frag) || rd_skip(&r, 1) ||
			    rd_u8(&r, &proto) || rd_skip(&r, 2) || rd_u32(&r, &src) || rd_u32(&r, &dst)) {
				dp_stat_add(&dp_stats.rx_trunc, 1);
				drop(ESP_DROP_MALFORMED, NULL);
				continue;
			}
			ihl = (size_t)(vihl & 0x0f) * 4;
			if (vihl >> 4 != 4 || ihl < 20 || tot < ihl || tot > t->rx[i].msg_len ||
			    proto != IPPROTO_ESP || (frag & 0x3fff)) {
				drop(ESP_DROP_MALFORMED, NULL);
				continue;
			}
			ip = t->buf[i];
			/* rd_u32 gave host order; events and SAD use network order. */
			memcpy(&src, ip + 12, 4);
			memcpy(&dst, ip + 16, 4);
			xmit_get_dst(m, &(uint32_t){0}, &ifindex);
			esp_in(t, t->buf[i] + ihl, tot - ihl, src, dst, 0, 0, 0, ifindex);
		}
		if (n < DP_BATCH)
			break;
	}
	dp_gro_flush(t);
}

/* One UDP datagram on 4500: a NAT keepalive, IKE that missed the steering, or ESP. */
static void udp_one(struct dp_thread *t, uint8_t *p, size_t len, const struct sockaddr_in *from,
		    uint32_t dst, int ifindex)
{
	if (len == 1 && p[0] == 0xFF) {
		dp_stat_add(&dp_stats.keepalives, 1);
		return;
	}
	if (len >= 4 && get_be32(p) == 0) {
		/* IKE that GRO merged behind ESP: the control thread's. */
		if (dp_events_push_ike(t->idx, p + 4, len - 4, from->sin_addr.s_addr, ntohs(from->sin_port), dst))
			dp_stat_add(&dp_stats.ike_misrouted, 1);
		else
			dp_stat_add(&dp_stats.ike_handoff, 1);
		return;
	}
	esp_in(t, p, len, from->sin_addr.s_addr, dst, ntohs(from->sin_port), 4500, 1, ifindex);
}

/* ESP in UDP. With UDP_GRO a datagram may hold up to 64 KiB of ESP packets
 * of one size, cut apart here; without it each is one packet. */
void dp_pkt_udp(struct dp_thread *t)
{
	for (int round = 0; round < 8; round++) {
		int n;
		for (int i = 0; i < DP_UDP_GRO_MSGS; i++) {
			t->uiov[i] = (struct iovec){t->ubuf[i], DP_UDP_GRO_BUF};
			t->urx[i].msg_hdr = (struct msghdr){
				.msg_name = &t->uname[i], .msg_namelen = sizeof(t->uname[i]),
				.msg_iov = &t->uiov[i], .msg_iovlen = 1,
				.msg_control = t->ucbuf[i], .msg_controllen = sizeof(t->ucbuf[i])};
			t->urx[i].msg_len = 0;
		}
		n = recvmmsg(dp_xmit.udp_fd, t->urx, DP_UDP_GRO_MSGS, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &t->urx[i].msg_hdr;
			size_t len = t->urx[i].msg_len, seg = xmit_gro_size(m);
			uint32_t dst = 0;
			int ifindex = 0;

			if (m->msg_flags & MSG_TRUNC) {
				dp_stat_add(&dp_stats.rx_trunc, 1);
				drop(ESP_DROP_MALFORMED, NULL);
				continue;
			}
			xmit_get_dst(m, &dst, &ifindex);
			if (!seg || seg > len)
				seg = len;
			for (size_t off = 0; off < len; off += seg) {
				size_t sl = len - off < seg ? len - off : seg;
				dp_stat_add(&dp_stats.udp_in, 1);
				udp_one(t, t->ubuf[i] + off, sl, &t->uname[i], dst, ifindex);
			}
		}
		if (n < DP_UDP_GRO_MSGS)
			break;
	}
	dp_gro_flush(t);
}


/* ---- outbound ---- */

/* Give message i of a group of several segments its UDP_SEGMENT control message. */
static void tx_gso_cmsg(struct tx *q, int i)
{
	struct msghdr *m = &q->m[i].msg_hdr;
	struct cmsghdr *c;
	uint16_t seg = q->seg[i];

	if (m->msg_iovlen < 2)
		return;
	if (!m->msg_control) {
		memset(q->cbuf[i], 0, TX_CMSG_SPACE);
		m->msg_control = q->cbuf[i];
		m->msg_controllen = 0;
	}
	c = (struct cmsghdr *)((char *)m->msg_control + m->msg_controllen);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	m->msg_controllen += CMSG_SPACE(sizeof(seg));
}

/* The kernel refused GSO: messages from..n become one message per packet. */
static void tx_ungroup(struct tx *q, int from)
{
	static __thread struct tx old;
	int k;

	memcpy(&old, q, sizeof(old));
	k = (int)(old.m[from].msg_hdr.msg_iov - q->iov);
	q->n = q->niov = 0;
	for (int i = from; i < old.n; i++)
		for (size_t j = 0; j < old.m[i].msg_hdr.msg_iovlen; j++, k++) {
			int o = q->n++;
			q->iov[q->niov] = old.iov[k];
			q->to[o] = old.to[i];
			q->m[o].msg_hdr = (struct msghdr){.msg_name = &q->to[o], .msg_namelen = sizeof(q->to[o]),
							  .msg_iov = &q->iov[q->niov++], .msg_iovlen = 1};
			xmit_set_src(&q->m[o].msg_hdr, q->cbuf[o], old.src[i]);
		}
}

static void tx_flush(struct tx *q, int fd)
{
	int sent = 0;

	for (int i = 0; i < q->n; i++)
		tx_gso_cmsg(q, i);
	while (sent < q->n) {
		int r = sendmmsg(fd, q->m + sent, (unsigned)(q->n - sent), MSG_DONTWAIT);
		if (r > 0) {
			for (int i = sent; i < sent + r; i++)
				dp_stat_add(&dp_stats.esp_out, q->m[i].msg_hdr.msg_iovlen);
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EIO || errno == EINVAL) && q->m[sent].msg_hdr.msg_iovlen > 1 &&
		    !atomic_exchange(&udp_gso_off, 1)) {
			/* No UDP GSO on this path: send what is left packet by packet. */
			tx_ungroup(q, sent);
			sent = 0;
			continue;
		}
		/* One bad packet (e.g. no route) must not take the batch with it;
		 * a full socket buffer drops the rest. */
		int rest = r < 0 && (errno == EAGAIN || errno == ENOBUFS) ? q->n - sent : 1;
		for (int i = sent; i < sent + rest; i++)
			dp_stat_add(&dp_stats.drops[ESP_DROP_SEND_ERR], q->m[i].msg_hdr.msg_iovlen);
		sent += rest;
	}
	q->n = q->niov = 0;
}

static void tx_add(struct tx *q, uint8_t *p, size_t len, const struct dp_sa_path *path, int gso)
{
	uint16_t port = path->udp_encap ? htons(path->peer_port) : 0;
	int i = q->n - 1;

	if (gso && i >= 0 && q->open[i] && len <= q->seg[i] && q->src[i] == path->local &&
	    q->to[i].sin_addr.s_addr == path->peer && q->to[i].sin_port == port &&
	    q->m[i].msg_hdr.msg_iovlen < TX_GSO_SEGS && q->bytes[i] + len <= TX_GSO_BYTES &&
	    !atomic_load_explicit(&udp_gso_off, memory_order_relaxed)) {
		q->iov[q->niov++] = (struct iovec){p, len};
		q->m[i].msg_hdr.msg_iovlen++;
		q->bytes[i] += len;
		q->open[i] = len == q->seg[i]; /* a short one ends the group */
		return;
	}
	i = q->n++;
	q->iov[q->niov] = (struct iovec){p, len};
	q->to[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port};
	q->to[i].sin_addr.s_addr = path->peer;
	q->m[i].msg_hdr = (struct msghdr){.msg_name = &q->to[i], .msg_namelen = sizeof(q->to[i]),
					  .msg_iov = &q->iov[q->niov++], .msg_iovlen = 1};
	xmit_set_src(&q->m[i].msg_hdr, q->cbuf[i], path->local);
	q->src[i] = path->local;
	q->seg[i] = (uint16_t)len;
	q->open[i] = (uint8_t)gso;
	q->bytes[i] = len;
}

static void tx_flush_all(struct dp_thread *t)
{
	if (t->raw.n)
		tx_flush(&t->raw, dp_xmit.raw_fd);
	if (t->udp.n)
		tx_flush(&t->udp, dp_xmit.udp_fd);
}

static void esp_out(struct dp_thread *t, struct dp_tunq *q, uint8_t *buf, size_t len)
{
	struct sad_tun *st = q->st;
	const uint8_t *ip = buf + ESP_HEADROOM;
	struct sad_sa *s;
	size_t off, elen;
	enum esp_drop d;
	uint8_t nh;

	nh = ip[0] >> 4 == 4 ? 4 : ip[0] >> 4 == 6 ? 41 : 0;
	if (!nh || len < 20) {
		drop(ESP_DROP_INNER, NULL);
		dp_stat_add(&dp_stats.not_ipv4, 1);
		dp_stat_add(&st->ctr.out_drops, 1);
		return;
	}
	if (!(s = sad_out(st))) {
		uint64_t last = atomic_load_explicit(&st->need_sa_ms, memory_order_relaxed);
		struct dp_hold *h = q->hold;
		if (h && h->n < DP_HOLD_MAX && len <= DP_BUF_SIZE - ESP_HEADROOM - ESP_TAILROOM) {
			/* The SA went away during a hold flush: the slot may hold an
			 * encrypted packet still queued, so send before overwriting. */
			if (h->flushing)
				tx_flush_all(t);
			if (buf != h->buf[h->n]) /* else held again in place */
				memcpy(h->buf[h->n] + ESP_HEADROOM, ip, len);
			h->len[h->n] = (uint16_t)len;
			h->ms[h->n++] = t->now_ms;
			dp_stat_add(&dp_stats.held, 1);
		} else {
			drop(ESP_DROP_NO_OUT_SA, NULL);
			dp_stat_add(&st->ctr.out_drops, 1);
			dp_stat_add(&st->ctr.out_no_sa, 1);
		}
		/* At most one "need SA" a second per tunnel: IKE needs one nudge. */
		if (!last || t->now_ms - last >= 1000) {
			struct dp_event ev;
			atomic_store_explicit(&st->need_sa_ms, t->now_ms ? t->now_ms : 1,
					      memory_order_relaxed);
			memset(&ev, 0, sizeof(ev));
			ev.type = DP_EV_NEED_SA;
			ev.tunnel = st->num;
			if (nh == 4) {
				memcpy(&ev.src, ip + 12, 4);
				memcpy(&ev.dst, ip + 16, 4);
			}
			dp_events_push(t->idx, &ev);
		}
		return;
	}
	d = esp_encap(s->esp, buf, len, nh, &off, &elen);
	if (d != ESP_OK) {
		drop(d, s);
		dp_stat_add(&st->ctr.out_drops, 1);
		if (d == ESP_DROP_SEQ_EXHAUSTED)
			raise_once(t, s, SAD_F_SEQ_HARD, DP_EV_SEQ_EXHAUSTED);
		return;
	}
	tx_add(s->path.udp_encap ? &t->udp : &t->raw, buf + off, elen, &s->path, s->path.udp_encap);
	dp_stat_add(&s->esp->ctr.pkts, 1);
	dp_stat_add(&s->esp->ctr.bytes, len);
	atomic_store_explicit(&s->esp->ctr.last_ms, t->now_ms, memory_order_relaxed);
	dp_stat_add(&st->ctr.out_pkts, 1);
	dp_stat_add(&st->ctr.out_bytes, len);
	/* Ask for a rekey well before the 32-bit space runs out (no ESN). */
	if (!s->esp->esn &&
	    atomic_load_explicit(&s->esp->seq, memory_order_relaxed) >= UINT32_MAX - (1u << 20))
		raise_once(t, s, SAD_F_SEQ_EV, DP_EV_SEQ_EXHAUSTED);
	uint64_t life_kb = atomic_load_explicit(&s->life_kb, memory_order_relaxed);
	if (life_kb && (atomic_load_explicit(&s->esp->ctr.bytes, memory_order_relaxed) >> 10) >= life_kb)
		raise_once(t, s, SAD_F_KB_EV, DP_EV_LIFETIME_KB);
}

static void hold_expired(struct dp_tunq *q)
{
	dp_stat_add(&dp_stats.held_expired, 1);
	drop(ESP_DROP_NO_OUT_SA, NULL);
	dp_stat_add(&q->st->ctr.out_drops, 1);
	dp_stat_add(&q->st->ctr.out_no_sa, 1);
}

void dp_pkt_hold_flush(struct dp_thread *t, struct dp_tunq *q)
{
	struct dp_hold *h = q->hold;
	int n, k = 0;

	if (!h || !h->n)
		return;
	if (!sad_out(q->st)) {
		/* Still no SA: count what waited too long now, not whenever one comes. */
		for (int i = 0; i < h->n; i++) {
			if (t->now_ms - h->ms[i] > DP_HOLD_MS) {
				hold_expired(q);
				continue;
			}
			if (k != i) {
				memcpy(h->buf[k] + ESP_HEADROOM, h->buf[i] + ESP_HEADROOM, h->len[i]);
				h->len[k] = h->len[i], h->ms[k] = h->ms[i];
			}
			k++;
		}
		h->n = k;
		return;
	}
	n = h->n;
	h->n = 0; /* packets held again while flushing reuse the slots from 0 */
	h->flushing = 1;
	for (int i = 0; i < n; i++) {
		if (t->now_ms - h->ms[i] > DP_HOLD_MS) {
			hold_expired(q);
			continue;
		}
		esp_out(t, q, h->buf[i], h->len[i]);
		dp_stat_add(&dp_stats.held_sent, 1);
	}
	h->flushing = 0;
	tx_flush_all(t);
}

void dp_pkt_tun(struct dp_thread *t, struct dp_tunq *q)
{
	const size_t cap = DP_BUF_SIZE - ESP_HEADROOM - ESP_TAILROOM;
	int i = 0;

	dp_pkt_hold_flush(t, q); /* keep order: what waited goes first */
	/* Bounded: at most 4 bursts of reads, even when every read is refused. */
	for (int reads = 0; reads < 4 * DP_BATCH; reads++) {
		struct gso_tcp4 g;
		uint16_t mss;
		size_t sl;
		int n = tun_read(q->fd, t->big, TUN_READ_MAX, &mss);

		if (n < 0)
			break;
		if (n == 0)
			continue; /* dropped and counted by tun_read */
		if (!mss) {
			if ((size_t)n > cap) {
				dp_stat_add(&dp_stats.tun_trunc, 1);
				continue;
			}
			memcpy(t->buf[i] + ESP_HEADROOM, t->big, (size_t)n);
			esp_out(t, q, t->buf[i], (size_t)n);
			if (++i == DP_BATCH) {
				tx_flush_all(t);
				i = 0;
			}
			continue;
		}
		if (gso_tcp4_init(&g, t->big, (size_t)n, mss)) {
			drop(ESP_DROP_INNER, NULL);
			continue;
		}
		dp_stat_add(&dp_stats.tun_tso, 1);
		while ((sl = gso_tcp4_next(&g, t->buf[i] + ESP_HEADROOM, cap)) > 0) {
			esp_out(t, q, t->buf[i], sl);
			if (++i == DP_BATCH) {
				tx_flush_all(t);
				i = 0;
			}
		}
		if (!g.done) /* a segment larger than a buffer (MSS above ~1800) */
			drop(ESP_DROP_INNER, NULL);
	}
	tx_flush_all(t);
}
