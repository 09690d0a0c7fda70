/* TUN devices for TunnelN: one fd per queue, with offloads.
 *
 * Every read and write carries a struct virtio_net_hdr (IFF_VNET_HDR), and
 * TUNSETOFFLOAD(CSUM|TSO4) lets the kernel hand us IPv4/TCP super-packets of
 * up to 64 KiB (gso.c cuts them into MSS-sized segments before encryption):
 *  - VIRTIO_NET_HDR_F_NEEDS_CSUM on a plain packet: the checksum is finished
 *    here in software;
 *  - GSO TCPv4: returned with its MSS, checksums are the segmenter's job;
 *  - any other GSO type: refused and counted (we never asked for it). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include "esp/csum.h"
#include "esp/dp_int.h"

int tun_open(const char *name, int *ifindex)
{
	struct ifreq ifr;
	int fd, hdrsz = (int)sizeof(struct virtio_net_hdr), rc = -1;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR;
	if (strlen(name) >= sizeof(ifr.ifr_name))
		goto out;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0)
		goto out;
	/* Super-packets when the kernel can: without it we still work per packet. */
	ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
	if (ifindex && (*ifindex = (int)if_nametoindex(name)) == 0)
		goto out;
	rc = 0;
out:
	if (rc) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void tun_no_ipv6(const char *name)
{
	char path[96];
	int fd, n = snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);

	if (n < 0 || (size_t)n >= sizeof(path) || (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return; /* no IPv6 in this kernel or namespace: nothing to turn off */
	if (write(fd, "1", 1) != 1) {
		/* best effort: the tunnel works either way */
	}
	close(fd);
}

int tun_read(int fd, uint8_t *dst, size_t cap, uint16_t *gso_mss)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {dst, cap}};
	ssize_t n = readv(fd, iov, 2);
	size_t len, start, off;

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : 0;
	if ((size_t)n <= sizeof(vh))
		return 0;
	len = (size_t)n - sizeof(vh);
	if (len >= cap) {
		/* Could be cut short: never encrypt a truncated packet. */
		dp_stat_add(&dp_stats.tun_trunc, 1);
		return 0;
	}
	*gso_mss = 0;
	if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV4 && vh.gso_size) {
		*gso_mss = vh.gso_size;
		return (int)len;
	}
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		dp_stat_add(&dp_stats.tun_gso, 1);
		return 0;
	}
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		start = vh.csum_start;
		off = start + vh.csum_offset;
		if (start >= len || off + 2 > len) {
			dp_stat_add(&dp_stats.tun_trunc, 1);
			return 0;
		}
		/* The field holds the pseudo-header sum: sum from csum_start, invert.
		 * UDP sends a computed zero as all ones (RFC 768): zero means none. */
		uint16_t c = csum_finish(csum_add(0, dst + start, len - start));
		if (vh.csum_offset == 6 && !c)
			c = 0xffff;
		memcpy(dst + off, &c, 2);
	}
	return (int)len;
}

int tun_write(int fd, const uint8_t *p, size_t len)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)p, len}};

	memset(&vh, 0, sizeof(vh));
	return writev(fd, iov, 2) == (ssize_t)(sizeof(vh) + len) ? 0 : -1;
}
