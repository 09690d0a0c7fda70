/* Data-plane internals shared by dp.c, dp_pkt.c, tun.c, route.c, xmit.c,
 * dp_events.c and show_dp.c. Not for use outside src/esp/. */
#ifndef INSYNC_DP_INT_H
#define INSYNC_DP_INT_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "esp/dp.h"
#include "esp/sad.h"
#include "ops/config.h"
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define DP_MAX_THREADS 8
#define DP_BATCH 64          /* packets per recvmmsg/sendmmsg/TUN read burst */
#define DP_BUF_SIZE 2048     /* one packet buffer: headroom + MTU + tailroom */
#define DP_TUN_MTU 1400      /* inner MTU: 1500 - IP/UDP/ESP/IV/ICV/pad overhead, rounded */
#define DP_SOCK_BUF (8 << 20)
#define DP_MAX_HANDLES 4096  /* epoll registrations (TUN queues) across threads */
#define DP_EV_RING 4096      /* events per data-plane thread */
#define DP_IKE_SLOTS 16      /* IKE messages a data-plane thread can hand over at once */
#define DP_IKE_SLOT_MAX 2048 /* larger ones (IKE_AUTH with certificates) are not expected there */

/* Datapath-wide counters (show crypto datapath drops). Atomic: every thread adds. */
struct dp_stats {
	_Atomic uint64_t drops[ESP_DROP_MAX];
	_Atomic uint64_t esp_in, esp_out, udp_in, raw_in;
	_Atomic uint64_t keepalives, ike_in, ike_out, ike_misrouted;
	_Atomic uint64_t ike_handoff; /* IKE that GRO merged behind ESP, passed to the control thread */
	_Atomic uint64_t tun_gso, tun_trunc, ev_dropped, rx_trunc, not_ipv4;
	_Atomic uint64_t tun_tso; /* TCPv4 super-packets read and segmented */
	_Atomic uint64_t tun_writes, tun_merged; /* TUN writes; packets merged into them by GRO */
	_Atomic uint64_t held, held_sent, held_expired;
	_Atomic uint64_t inv_unreported; /* invalid SPIs over the gate's new-flow budget */
};
extern struct dp_stats dp_stats;

static inline void dp_stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* A drop cause's count, with the kernel SPI filter's share of invalid SPIs. */
uint64_t dp_drops(enum esp_drop d);

/* Packets routed into a tunnel that has no outbound SA yet (not up, or idle
 * timed out) wait here while IKE works, instead of being dropped. Owned by the
 * worker that reads the queue; sent when the SA is installed. */
#define DP_HOLD_MAX 8
#define DP_HOLD_MS 5000 /* older held packets are dropped */
struct dp_hold {
	int n;
	int flushing; /* dp_pkt_hold_flush: its earlier slots may still be queued to send */
	uint16_t len[DP_HOLD_MAX];
	uint64_t ms[DP_HOLD_MAX];
	uint8_t buf[DP_HOLD_MAX][DP_BUF_SIZE];
};

/* A TUN queue as the packet path sees it; freed (fd closed) after a grace period. */
struct dp_tunq {
	int fd;
	unsigned num;
	int worker; /* the only thread that reads fd and encrypts for the tunnel; fixed */
	struct sad_tun *st;
	struct dp_hold *hold;
};



/* A tunnel device, owned by the control thread (dp.c). */
struct dp_tunnel {
	unsigned num;
	char name[16];
	int ifindex;
	int worker;                  /* the one worker that reads q: tunnel number mod workers */
	struct dp_tunq *q;
	int handle;                  /* q's epoll handle, -1 while not registered */
	struct sad_tun *st;
	uint32_t addr, mask;         /* ip address, network order */
	uint32_t src, dst;           /* outer addresses, network order */
	int admin_up;
	char profile[CFG_NAME_MAX];
	/* manual keys as installed, to reinstall only when they change */
	int has_manual;
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	struct dp_sa_path mpath;
	struct cfg_session_key key_in, key_out;
	uint32_t manual_in_spi;
	int seen;
	struct dp_tunnel *next;
};
extern struct dp_tunnel *dp_tunnels;
struct dp_tunnel *dp_tunnel_find(unsigned num);
int dp_nthreads(void);

/* --- tun.c --- */
/* Open one queue of device name (IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE|IFF_VNET_HDR),
 * non-blocking; *ifindex gets the device's index. Returns the fd or -1. */
int tun_open(const char *name, int *ifindex);
/* Tunnels carry IPv4 only (`tunnel mode ipsec ipv4`): without this the kernel
 * gives the device an IPv6 link-local address and sends router solicitations
 * into the tunnel, encrypted, so an idle tunnel never looks idle. */
void tun_no_ipv6(const char *name);
/* Read one packet to dst (cap bytes); handles the virtio_net_hdr: finishes a
 * partial checksum; an IPv4/TCP super-packet comes back whole with its MSS in
 * *gso_mss (0 for a plain packet). >0 length, 0 nothing/dropped (counted),
 * -1 EAGAIN. */
int tun_read(int fd, uint8_t *dst, size_t cap, uint16_t *gso_mss);
/* Write one IP packet with a zero virtio_net_hdr in front. 0 or -1. */
int tun_write(int fd, const uint8_t *p, size_t len);

/* --- route.c (rtnetlink via libmnl; control thread) --- */
int route_link_set(int ifindex, int up, unsigned mtu);
int route_addr(int ifindex, uint32_t addr, int plen, int add);
int route_route(uint32_t prefix, int plen, int ifindex, uint32_t gw, int add);
int route_mask_len(uint32_t mask_be); /* -1 if not contiguous */
/* Make installed routes match cfg for the tunnels that exist (dp_tunnels). */
void route_apply(const struct config *cfg);
void route_flush(void);
/* First IPv4 address of a named interface, network order; 0 if none. */
uint32_t route_if_addr(const char *ifname);

/* --- xmit.c (sockets) --- */
struct dp_xmit {
	int raw_fd;  /* IPPROTO_ESP raw socket, ESP in and out */
	int udp_fd;  /* UDP 4500, ESP in UDP (reuseport group member 1) */
	int ike_fd;  /* UDP 4500, non-ESP-marker traffic (member 0), control thread */
	int steered; /* the reuseport BPF program is attached */
	int udp_gro; /* udp_fd delivers coalesced datagrams (UDP_GRO) */
};
extern struct dp_xmit dp_xmit;
int xmit_open(void);
void xmit_close(void);
/* Room for one IP_PKTINFO control message. */
#define XMIT_CMSG_SPACE CMSG_SPACE(sizeof(struct in_pktinfo))
/* Fill msg's control buffer cbuf so the packet leaves from src (0 = kernel picks). */
static inline void xmit_set_src(struct msghdr *m, void *cbuf, uint32_t src)
{
	struct cmsghdr *c;
	struct in_pktinfo pi;

	if (!src) {
		m->msg_control = NULL;
		m->msg_controllen = 0;
		return;
	}
	memset(cbuf, 0, XMIT_CMSG_SPACE);
	m->msg_control = cbuf;
	m->msg_controllen = XMIT_CMSG_SPACE;
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memset(&pi, 0, sizeof(pi));
	pi.ipi_spec_dst.s_addr = src;
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}
/* Read IP_PKTINFO from a received message: destination address and ifindex. */
static inline void xmit_get_dst(const struct msghdr *m, uint32_t *dst, int *ifindex)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*dst = pi.ipi_addr.s_addr;
			*ifindex = pi.ipi_ifindex;
		}
	}
}

/* --- dp_events.c --- */
int dp_events_init(int nrings);
void dp_events_free(void);
/* Producer side (data-plane thread `ring`): never blocks; full ring = drop + count. */
void dp_events_push(int ring, const struct dp_event *ev);
/* End of a batch: wake the control thread if anything was pushed. */
void dp_events_kick(int ring);
/* An IKE message (non-ESP marker stripped) a data-plane thread read from the
 * ESP socket, for the control thread; 0, or -1 (too big or no room: dropped). */
int dp_events_push_ike(int ring, const uint8_t *p, size_t len, uint32_t src, uint16_t sport,
		       uint32_t dst);

/* --- xmit.c --- */
/* Control thread: hand one IKE message from port 4500 to the IKE handler. */
void xmit_ike_deliver(const uint8_t *p, size_t len, uint32_t src, uint16_t sport, uint32_t dst);
/* The segment size of a coalesced datagram (UDP_GRO), 0 if it is a plain one. */
size_t xmit_gro_size(const struct msghdr *m);

/* --- dp_pkt.c (the per-thread packet path) --- */
struct dp_thread;
struct dp_thread *dp_pkt_new(int idx);
/* Send what q holds if its tunnel has an outbound SA now (worker thread). */
void dp_pkt_hold_flush(struct dp_thread *t, struct dp_tunq *q);
void dp_pkt_free(struct dp_thread *t);
/* Handle readiness of the raw socket, UDP socket or a TUN queue. */
void dp_pkt_raw(struct dp_thread *t);
void dp_pkt_udp(struct dp_thread *t);
void dp_pkt_tun(struct dp_thread *t, struct dp_tunq *q);
void dp_pkt_batch_start(struct dp_thread *t);
void dp_pkt_batch_end(struct dp_thread *t); /* after a wakeup's packets, before the kick */
#endif
