/* The data plane's sockets: raw ESP (IP protocol 50) and UDP 4500 (RFC 3948).
 *
 * Port 4500 carries both IKE (prefixed with the 4-byte non-ESP marker) and
 * ESP. Two sockets share it in one SO_REUSEPORT group and a classic BPF
 * program picks the socket per packet by its first four payload bytes:
 *   marker (zero)            -> member 0, ike_fd, read by the control thread
 *   anything else (an SPI)   -> member 1, udp_fd, read by a data-plane thread
 * A payload shorter than 4 bytes (the 0xFF NAT keepalive) makes the load fail,
 * the program returns 0 and it lands on ike_fd, where it is counted and ignored.
 * With more data-plane threads the ESP branch can return 1 + SPI % n, so each
 * SA's inbound traffic (and its replay window) stays on one thread.
 *
 * GRO coalesces a flow's datagrams before this steering runs, and only by
 * the first one: IKE merged behind ESP reaches a data-plane thread, which
 * hands it to the control thread (dp_events_push_ike); ESP merged behind IKE
 * reaches the IKE socket and is dropped and counted as misrouted.
 *
 * RFC 3948 §2.2 non-ESP marker / §2.3 keepalive:
 *   0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |        Source Port            |      Destination Port         |
 *   |           Length              |           Checksum            |
 *   |                      Non-ESP Marker (0)                       |  <- IKE
 *   |                      IKE header ...                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   keepalive: UDP payload is the single byte 0xFF. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <sys/epoll.h>
#include "daemon/loop.h"
#include "esp/dp_int.h"
#include "esp/spi_filter.h"
#include <netinet/udp.h>
#include "ops/log.h"
#include "util/buf.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define IKE_MAX_MSG 65536

struct dp_xmit dp_xmit = {-1, -1, -1, 0, 0};
static dp_ike_fn ike_fn;
static void *ike_arg;
static uint8_t ike_buf[IKE_MAX_MSG];

static void set_bufs(int fd)
{
	int sz = DP_SOCK_BUF;

	/* FORCE variants lift the sysctl ceiling when we have CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int udp4500(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4500)};
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	set_bufs(fd);
	return fd;
}

/* A = payload[0..4); return A == 0 ? 0 (IKE) : 1 (ESP). */
static int attach_steering(int fd)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 1),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

size_t xmit_gro_size(const struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	return 0;
}

void xmit_ike_deliver(const uint8_t *p, size_t len, uint32_t src, uint16_t sport, uint32_t dst)
{
	dp_stat_add(&dp_stats.ike_in, 1);
	if (ike_fn)
		ike_fn(p, len, src, sport, dst, 4500, ike_arg);
}

/* One datagram (or GRO segment) on the IKE socket. */
static void ike_one(const uint8_t *p, size_t len, const struct sockaddr_in *from, uint32_t dst)
{
	if (len == 1 && p[0] == 0xFF) {
		dp_stat_add(&dp_stats.keepalives, 1);
		return;
	}
	if (len < 4) {
		dp_stat_add(&dp_stats.drops[ESP_DROP_MALFORMED], 1);
		return;
	}
	if (get_be32(p) != 0) {
		/* ESP that GRO merged behind an IKE message: its replay window
		 * belongs to a data-plane thread, so it is dropped (and counted). */
		dp_stat_add(&dp_stats.ike_misrouted, 1);
		return;
	}
	xmit_ike_deliver(p + 4, len - 4, from->sin_addr.s_addr, ntohs(from->sin_port), dst);
}

/* Control thread: IKE (and keepalives) from port 4500. The socket has UDP_GRO
 * too, so that a flow the kernel's GRO hashes to it is coalesced all the same
 * (the steering then sends its ESP to the data plane); a datagram may so hold
 * several segments. */
static void on_ike(int fd, uint32_t events, void *arg)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		char cbuf[256];
		struct iovec iov = {ike_buf, sizeof(ike_buf)};
		struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				   .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		uint32_t dst = 0;
		int ifindex = 0;
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
		size_t seg;

		if (n < 0)
			return;
		if (m.msg_flags & MSG_TRUNC) {
			dp_stat_add(&dp_stats.drops[ESP_DROP_MALFORMED], 1);
			continue;
		}
		xmit_get_dst(&m, &dst, &ifindex);
		seg = xmit_gro_size(&m);
		if (!seg || seg > (size_t)n)
			seg = (size_t)n;
		size_t off = 0;
		do { /* once even for an empty datagram */
			ike_one(ike_buf + off, (size_t)n - off < seg ? (size_t)n - off : seg, &from, dst);
			off += seg;
		} while (off < (size_t)n);
	}
}

int xmit_open(void)
{
	int one = 1;

	dp_xmit.raw_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (dp_xmit.raw_fd < 0) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_SOCKET", "raw ESP socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(dp_xmit.raw_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	set_bufs(dp_xmit.raw_fd);
	/* Order matters: the IKE socket must be member 0 of the group. */
	if ((dp_xmit.ike_fd = udp4500()) < 0 || (dp_xmit.udp_fd = udp4500()) < 0) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_SOCKET", "UDP 4500 socket: %s", strerror(errno));
		goto fail;
	}
	dp_xmit.steered = attach_steering(dp_xmit.ike_fd) == 0;
	/* ESP in UDP may arrive as one GSO super-datagram (UDP_GRO): the data
	 * plane splits it by the segment size the kernel reports. The kernel
	 * decides whether to coalesce a flow by the socket its hash picks, before
	 * the steering runs: both sockets ask for it, or the flows hashed to the
	 * IKE socket would never be coalesced. */
	dp_xmit.udp_gro = setsockopt(dp_xmit.udp_fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	if (dp_xmit.udp_gro && setsockopt(dp_xmit.ike_fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
		log_ios(LOG_SEV_WARN, "CRYPTO", "DP_SOCKET",
			"UDP GRO on the IKE socket: %s (flows hashed to it are not coalesced)", strerror(errno));
	if (!dp_xmit.steered)
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_SOCKET",
			"cannot steer port 4500 (SO_ATTACH_REUSEPORT_CBPF: %s)", strerror(errno));
	spi_filter_open(dp_xmit.raw_fd, dp_xmit.udp_fd);
	if (loop_add_fd(dp_xmit.ike_fd, EPOLLIN, on_ike, NULL))
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_SOCKET", "cannot watch the IKE socket");
	return 0;
fail:
	xmit_close();
	return -1;
}

void xmit_close(void)
{
	spi_filter_close();
	if (dp_xmit.ike_fd >= 0) {
		loop_del_fd(dp_xmit.ike_fd);
		close(dp_xmit.ike_fd);
	}
	if (dp_xmit.udp_fd >= 0)
		close(dp_xmit.udp_fd);
	if (dp_xmit.raw_fd >= 0)
		close(dp_xmit.raw_fd);
	dp_xmit = (struct dp_xmit){-1, -1, -1, 0, 0};
}

void dp_set_ike_handler(dp_ike_fn fn, void *arg)
{
	ike_fn = fn;
	ike_arg = arg;
}

int dp_send_natka(uint32_t src, uint32_t dst, uint16_t dport)
{
	static const uint8_t ka = 0xff;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dport)};
	struct iovec iov = {(void *)&ka, 1};
	char cbuf[XMIT_CMSG_SPACE];
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1};

	if (dp_xmit.ike_fd < 0 || !dport)
		return -1;
	to.sin_addr.s_addr = dst;
	xmit_set_src(&m, cbuf, src);
	return sendmsg(dp_xmit.ike_fd, &m, 0) == 1 ? 0 : -1;
}

int dp_send_ike(uint32_t src, uint32_t dst, uint16_t dport, const uint8_t *p, size_t len)
{
	static const uint8_t marker[4];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dport)};
	struct iovec iov[2] = {{(void *)marker, sizeof(marker)}, {(void *)p, len}};
	char cbuf[XMIT_CMSG_SPACE];
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = iov, .msg_iovlen = 2};

	if (dp_xmit.ike_fd < 0 || !p || !len || len > IKE_MAX_MSG - 4 - 28)
		return -1;
	to.sin_addr.s_addr = dst;
	xmit_set_src(&m, cbuf, src);
	if (sendmsg(dp_xmit.ike_fd, &m, 0) != (ssize_t)(len + 4))
		return -1;
	dp_stat_add(&dp_stats.ike_out, 1);
	return 0;
}
