/* tun_read: the checksum a packet from the TUN leaves to us
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM), read from a datagram socket pair standing in
 * for the TUN fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_net.h>
#include "esp/csum.h"
#include "esp/dp_int.h"

/* IPv4 (20) + UDP (8) + 2 bytes of payload, the UDP checksum field holding
 * the pseudo-header sum as the kernel leaves it. */
static size_t udp_pkt(uint8_t *p, uint16_t payload)
{
	memset(p, 0, 30);
	p[0] = 0x45, p[3] = 30, p[8] = 64, p[9] = 17;
	p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
	p[21] = 53, p[23] = 53, p[25] = 10;
	memcpy(p + 28, &payload, 2);
	uint16_t ph = csum_fold(csum_pseudo4(p, 17, 10));
	memcpy(p + 26, &ph, 2);
	return 30;
}

static uint16_t read_back(const uint8_t *pkt, size_t len, uint8_t *out)
{
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)pkt, len}};
	int sv[2];
	uint16_t mss = 0, c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_int_equal(writev(sv[1], iov, 2), (ssize_t)(sizeof(vh) + len));
	assert_int_equal(tun_read(sv[0], out, 2048, &mss), (int)len);
	close(sv[0]);
	close(sv[1]);
	memcpy(&c, out + 26, 2);
	return c;
}

static void test_udp_csum(void **st)
{
	uint8_t p[64], out[2048];
	uint64_t s;
	uint16_t x;

	(void)st;
	/* An ordinary datagram: the finished checksum verifies. */
	read_back(p, udp_pkt(p, 0x1234), out);
	assert_int_equal(csum_fold(csum_pseudo4(out, 17, 10) + csum_add(0, out + 20, 10)), 0xffff);
	/* A payload chosen so that the checksum computes to zero: sent as all
	 * ones, since zero in UDP means "no checksum" (RFC 768). */
	udp_pkt(p, 0);
	s = csum_add(0, p + 20, 10);
	x = (uint16_t)~csum_fold(s);
	assert_int_equal(read_back(p, udp_pkt(p, x), out), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_csum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
