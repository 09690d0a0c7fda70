/* Packets held while a tunnel has no outbound SA, and the SA going away again
 * while they are flushed (white-box: the packet path is compiled in, and
 * RAND_bytes and sendmmsg are this file's own).
 *
 * Regression: a held packet encrypted in place was still queued to send when
 * the next one, finding no SA, was held again into the same slot; the queued
 * ESP packet then carried the next packet's plaintext. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../src/esp/dp_pkt.c"
#include <openssl/rand.h>
#include "esp/sad.h"

static struct sad_tun *tun;
static struct sad_sa *cleared;
static int clear_sa_on_rand; /* the "control thread" removes the SA mid-flush */
static size_t sent, sent_plain;

/* CBC takes its IV from here: the first packet's encryption is the moment
 * the SA disappears. */
int RAND_bytes(unsigned char *b, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(0x5a ^ i);
	if (clear_sa_on_rand) {
		clear_sa_on_rand = 0;
		cleared = atomic_exchange(&tun->out, NULL);
	}
	return 1;
}

/* Count what would go on the wire, and the plaintext bytes in it. */
int sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
	(void)fd, (void)flags;
	for (unsigned i = 0; i < n; i++) {
		const struct iovec *v = m[i].msg_hdr.msg_iov;
		const uint8_t *p = v[0].iov_base;
		for (size_t k = 0; k < v[0].iov_len; k++)
			sent_plain += p[k] == 'B';
		sent++;
	}
	return (int)n;
}

static void test_sa_gone_during_flush(void **st)
{
	static uint8_t ek[32], ak[32];
	struct esp_sa_params p = {.spi = 0x1000, .cipher = CFG_ESP_AES_256, .auth = CFG_ESP_SHA256,
				  .enc_key = ek, .enc_key_len = 32, .auth_key = ak, .auth_key_len = 32};
	struct dp_sa_path path = {.peer = htonl(0x0a000002)};
	struct dp_tunq q = {.fd = -1, .num = 1};
	struct dp_thread *t;

	(void)st;
	assert_int_equal(sad_init(), 0);
	assert_int_equal(sad_set_out(1, esp_sa_new(&p, 0), &path, 0, 1), 0);
	tun = sad_tun_get(1, 0);
	assert_non_null(tun);
	assert_non_null(t = dp_pkt_new(0));
	assert_non_null(q.hold = calloc(1, sizeof(*q.hold)));
	q.st = tun;
	dp_pkt_batch_start(t);
	atomic_store(&tun->need_sa_ms, t->now_ms ? t->now_ms : 1); /* no NEED_SA event */
	for (int k = 0; k < 2; k++) {
		uint8_t *ip = q.hold->buf[k] + ESP_HEADROOM;
		memset(ip, k ? 'B' : 'A', 200);
		ip[0] = 0x45, ip[2] = 0, ip[3] = 200;
		q.hold->len[k] = 200;
		q.hold->ms[k] = t->now_ms;
	}
	q.hold->n = 2;
	dp_xmit.raw_fd = 99;
	clear_sa_on_rand = 1;
	dp_pkt_hold_flush(t, &q);
	assert_int_equal(sent, 1);       /* the first packet, encrypted */
	assert_int_equal(sent_plain, 0); /* none of the second's plaintext */
	assert_int_equal(q.hold->n, 1);  /* the second is held again */
	assert_int_equal(q.hold->buf[0][ESP_HEADROOM + 20], 'B');
	free(q.hold);
	dp_pkt_free(t);
	atomic_store(&tun->out, cleared); /* back, for sad_free to free */
	sad_free();
}

/* No SA comes: packets that waited too long are counted as dropped at the
 * next look (each TUN read looks), not only once an SA appears; the fresh
 * one stays held. */
static void test_expire_without_sa(void **st)
{
	struct dp_tunq q = {.fd = -1, .num = 2};
	struct dp_thread *t;

	(void)st;
	assert_int_equal(sad_init(), 0);
	assert_non_null(q.st = sad_tun_get(2, 1));
	assert_non_null(t = dp_pkt_new(0));
	assert_non_null(q.hold = calloc(1, sizeof(*q.hold)));
	dp_pkt_batch_start(t);
	for (int k = 0; k < 3; k++) {
		memset(q.hold->buf[k] + ESP_HEADROOM, 'a' + k, 100);
		q.hold->len[k] = 100;
		q.hold->ms[k] = k == 1 ? t->now_ms : t->now_ms - DP_HOLD_MS - 1000;
	}
	q.hold->n = 3;
	dp_pkt_hold_flush(t, &q);
	assert_int_equal(q.hold->n, 1);
	assert_int_equal(q.hold->buf[0][ESP_HEADROOM], 'b');
	assert_int_equal(atomic_load(&q.st->ctr.out_no_sa), 2);
	assert_int_equal(atomic_load(&q.st->ctr.out_drops), 2);
	free(q.hold);
	dp_pkt_free(t);
	sad_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_gone_during_flush),
		cmocka_unit_test(test_expire_without_sa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
