/* ESP in UDP as the data plane reads it (white-box: the packet path is
 * compiled in, and recvmmsg is this file's own).
 *
 * A NIC's GRO coalesces a flow's datagrams before the port-4500 steering
 * sees them, so an IKE message can arrive on the ESP socket as the last
 * segment behind ESP. Regression: it was dropped as misrouted (lost DPDs and
 * rekeys under load); it must reach the IKE handler on the control thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../src/esp/dp_pkt.c"
#include "daemon/loop.h"
#include "esp/sad.h"

#define ESP_SEG 120
#define IKE_LEN 60

static int served;

/* One coalesced datagram: an ESP packet (SPI 0x2000), then an IKE message
 * (non-ESP marker, then IKE_LEN bytes of 0x5a), segment size ESP_SEG. */
int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *to)
{
	struct msghdr *m = &v[0].msg_hdr;
	uint8_t *p = m->msg_iov[0].iov_base;
	struct sockaddr_in *from = m->msg_name;
	struct cmsghdr *c;
	int seg = ESP_SEG;

	(void)fd, (void)n, (void)flags, (void)to;
	if (served++) {
		errno = EAGAIN;
		return -1;
	}
	memset(p, 0x11, ESP_SEG);
	put_be32(p, 0x2000);
	put_be32(p + 4, 1);
	memset(p + ESP_SEG, 0, 4);
	memset(p + ESP_SEG + 4, 0x5a, IKE_LEN);
	v[0].msg_len = ESP_SEG + 4 + IKE_LEN;
	from->sin_family = AF_INET;
	from->sin_port = htons(4500);
	from->sin_addr.s_addr = htonl(0xc0000202);
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_GRO;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	m->msg_controllen = CMSG_SPACE(sizeof(int));
	m->msg_flags = 0;
	return 1;
}

static size_t got_len;
static uint32_t got_src;
static uint16_t got_sport;
static int got_ok;

static void on_ike_msg(const uint8_t *p, size_t len, uint32_t src, uint16_t sport, uint32_t dst,
		       uint16_t dport, void *arg)
{
	(void)dst, (void)arg;
	got_len = len, got_src = src, got_sport = sport;
	got_ok = dport == 4500;
	for (size_t i = 0; i < len; i++)
		got_ok &= p[i] == 0x5a;
}

static void stop(struct timer *tm, void *arg)
{
	(void)tm, (void)arg;
	loop_stop();
}

static void test_ike_behind_esp(void **st)
{
	static const uint8_t key[36] = {1};
	struct esp_sa_params sp = {.spi = 0x2000, .cipher = CFG_ESP_GCM_256, .auth = CFG_ESP_AUTH_NONE,
				   .enc_key = key, .enc_key_len = sizeof(key), .replay_window = 64};
	struct dp_sa_path path = {.peer = htonl(0xc0000202), .peer_port = 4500, .udp_encap = 1};
	struct dp_thread *t;
	struct timer tm = {0};

	(void)st;
	assert_int_equal(loop_init(), 0);
	assert_int_equal(sad_init(), 0);
	assert_int_equal(dp_events_init(1), 0);
	assert_int_equal(dp_sa_install_in(1, esp_sa_new(&sp, 1), &path), 0);
	dp_set_ike_handler(on_ike_msg, NULL);
	assert_non_null(t = dp_pkt_new(0));
	dp_pkt_batch_start(t);
	dp_pkt_udp(t);
	dp_events_kick(0);
	/* The ESP segment was read as ESP (its ICV fails), the IKE one handed over. */
	assert_int_equal(atomic_load(&dp_stats.drops[ESP_DROP_ICV]), 1);
	assert_int_equal(atomic_load(&dp_stats.ike_handoff), 1);
	assert_int_equal(atomic_load(&dp_stats.ike_misrouted), 0);
	timer_init(&tm, stop, NULL);
	timer_arm(&tm, 200);
	loop_run(); /* the control thread drains the hand-over */
	assert_int_equal(got_len, IKE_LEN);
	assert_int_equal(got_src, htonl(0xc0000202));
	assert_int_equal(got_sport, 4500);
	assert_true(got_ok);
	assert_int_equal(atomic_load(&dp_stats.ike_in), 1);
	dp_pkt_free(t);
	dp_events_free();
	sad_free();
	loop_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_behind_esp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
