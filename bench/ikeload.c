/* ikeload: IKEv2 setup-rate load generator built on insync's own IKE engine.
 *
 *   ikeload -r RESPONDER -s FIRST_SRC -n N [-w WINDOW] [-k PSK] [-g GROUP] [-T SECONDS] [-X]
 *   ikeload -m N        (memory of N ESP SA pairs, no network)
 *
 * Setup mode: N initiators, each a separate engine instance (ike_new) with a
 * one-tunnel config (interface TunnelK, tunnel source FIRST_SRC+K, tunnel
 * destination RESPONDER, PSK, AES-GCM-256 / PRF-SHA256 / group GROUP, ESP
 * AES-GCM-256), so every IKE SA has a distinct source address and a distinct
 * IKEv2 identity (ID_IPV4_ADDR = its source). At most WINDOW (default 32)
 * setups are in flight at once; a new one starts as soon as one completes.
 * A setup is complete when the initiator installs the outbound half of the
 * first CHILD_SA, i.e. after IKE_SA_INIT + IKE_AUTH (two round trips).
 *
 * The sources must be local addresses in this namespace (the bench adds
 * `ip route add local FIRST_SRC/16 dev lo`); one UDP socket on port 500 sends
 * with IP_PKTINFO and demultiplexes replies by destination address. The
 * engine's timers are driven here with timer_run_due(); no daemon loop.
 *
 * Output (one line each, parsed by bench/run.sh):
 *   ikeload: established OK/N failed F in S s = R setups/s; latency ms p50 A p90 B p99 C max D; retransmits X cookies Y
 *
 * Blind mode (-X) models a spoofed-source IKE_SA_INIT flood: every reply is
 * read and thrown away, so no initiator gets past IKE_SA_INIT (not even with
 * a COOKIE); all N start at once and retransmit until -T runs out. Output:
 *   ikeload: blind N initiators for S s; udp tx X rx Y
 *
 * Memory mode (-m): creates N inbound+outbound AES-GCM-256 ESP SA objects as
 * the data plane would for N tunnels, and prints the heap growth per pair
 * (mallinfo2 uordblks), to add to a responder's per-tunnel RSS, which does not
 * include data-plane SAs for dynamic peers. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "daemon/loop.h"
#include "esp/esp.h"
#include "ike/ike.h"
#include "ops/config.h"

#define IKE_PORT 500
#define MAX_N 200000

struct slot {
	struct ike *ike;
	uint64_t start_ms, done_ms;
	int failed;
};

static struct slot *slots;
static unsigned n_total, n_done, n_failed;
static uint32_t base_src; /* host order */
static int fd = -1;
static uint64_t tx_pkts, tx_err, rx_pkts, rx_stray;
static uint32_t next_spi;

static int env_send(void *arg, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		    const uint8_t *p, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(pport), .sin_addr.s_addr = peer};
	struct iovec iov = {(void *)p, len};
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	struct in_pktinfo pi;

	if (lport != IKE_PORT) { /* no NAT here: IKE never moves to 4500 */
		tx_err++;
		return -1;
	}
	memset(cbuf, 0, sizeof(cbuf));
	memset(&pi, 0, sizeof(pi));
	pi.ipi_spec_dst.s_addr = local;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	for (int tries = 0; tries < 100; tries++) {
		if (sendmsg(fd, &mh, 0) >= 0) {
			tx_pkts++;
			return 0;
		}
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			break;
		usleep(100);
	}
	tx_err++;
	return -1;
}

static int env_in(void *arg, const struct ike_child_info *c)
{
	return 0;
}

static int env_out(void *arg, const struct ike_child_info *c)
{
	struct slot *s = arg;

	if (!s->done_ms && !s->failed) {
		s->done_ms = loop_now_ms();
		n_done++;
	}
	return 0;
}

static void env_remove(void *arg, const struct ike_child_info *c, uint32_t grace_ms)
{
}

static uint32_t env_spi(void *arg, uint32_t peer)
{
	return next_spi++;
}

static void env_event(void *arg, int ev, const struct ike_sa_info *sa)
{
	struct slot *s = arg;

	if ((ev == IKE_EV_DELETED || ev == IKE_EV_DEAD) && !s->done_ms && !s->failed) {
		s->failed = 1;
		n_failed++;
	}
}

static const char cfg_fmt[] =
	"hostname ikeload\n"
	"crypto ikev2 proposal P\n encryption aes-gcm-256\n prf sha256\n group %d\n!\n"
	"crypto ikev2 policy POL\n proposal P\n!\n"
	"crypto ikev2 keyring KR\n peer r\n  address %s\n  pre-shared-key %s\n !\n!\n"
	"crypto ikev2 profile PROF\n match identity remote address %s 255.255.255.255\n"
	" authentication remote pre-share\n authentication local pre-share\n keyring local KR\n!\n"
	"crypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n!\n"
	"crypto ipsec profile IPS\n set transform-set TS\n set ikev2-profile PROF\n!\n"
	"interface Tunnel0\n tunnel source %s\n tunnel destination %s\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile IPS\n!\nend\n";

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int blind;

static void drain(void)
{
	static uint8_t buf[65536];

	for (int k = 0; k < 256; k++) {
		struct sockaddr_in from;
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		uint32_t local = 0, idx;

		if (n < 0)
			return;
		rx_pkts++;
		if (blind)
			continue;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				local = pi.ipi_addr.s_addr;
			}
		idx = ntohl(local) - base_src;
		if (!local || idx >= n_total || !slots[idx].ike) {
			rx_stray++;
			continue;
		}
		ike_x_input(slots[idx].ike, local, IKE_PORT, from.sin_addr.s_addr, ntohs(from.sin_port),
			    buf, (size_t)n);
	}
}

static int esp_mem(unsigned n)
{
	uint8_t key[36];
	struct esp_sa **v = calloc((size_t)n * 2, sizeof(*v));
	struct mallinfo2 a, b;

	if (!v)
		return 1;
	memset(key, 0x5a, sizeof(key));
	a = mallinfo2();
	for (unsigned i = 0; i < 2 * n; i++) {
		struct esp_sa_params p = {.spi = 0x1000 + i, .cipher = CFG_ESP_GCM_256, .auth = CFG_ESP_AUTH_NONE,
					  .enc_key = key, .enc_key_len = sizeof(key), .replay_window = 64};
		if (!(v[i] = esp_sa_new(&p, (int)(i & 1)))) {
			fprintf(stderr, "ikeload: esp_sa_new failed\n");
			return 1;
		}
	}
	b = mallinfo2();
	printf("ikeload: esp-sa-memory %u pairs (AES-GCM-256, in+out) heap +%zu bytes = %.0f bytes per pair "
	       "(struct esp_sa %zu bytes + OpenSSL contexts)\n",
	       n, b.uordblks - a.uordblks, (double)(b.uordblks - a.uordblks) / n, sizeof(struct esp_sa));
	for (unsigned i = 0; i < 2 * n; i++)
		esp_sa_free(v[i]);
	free(v);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ikeload -r RESPONDER -s FIRST_SRC -n N [-w WINDOW] [-k PSK] [-g GROUP] [-T SECONDS] [-X]\n"
			"       ikeload -m N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *resp = NULL, *src = NULL, *psk = "insync-bench-psk-0123456789abcdef";
	unsigned window = 32, group = 19, memn = 0;
	double limit_s = 60;
	struct in_addr ra, sa;
	struct config *cfg = NULL;
	char *text;
	int c, one = 1;

	while ((c = getopt(argc, argv, "r:s:n:w:k:g:T:m:X")) != -1) {
		switch (c) {
		case 'r': resp = optarg; break;
		case 's': src = optarg; break;
		case 'n': n_total = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'w': window = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': psk = optarg; break;
		case 'g': group = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'T': limit_s = atof(optarg); break;
		case 'm': memn = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'X': blind = 1; break;
		default: usage();
		}
	}
	if (memn)
		return esp_mem(memn);
	if (!resp || !src || inet_pton(AF_INET, resp, &ra) != 1 || inet_pton(AF_INET, src, &sa) != 1 ||
	    n_total < 1 || n_total > MAX_N || window < 1 || limit_s <= 0 || limit_s > 600)
		usage();
	base_src = ntohl(sa.s_addr);
	if (blind)
		window = n_total;
	if (asprintf(&text, cfg_fmt, group, resp, psk, resp, src, resp) < 0)
		return 1;
	if (config_parse("ikeload.conf", text, strlen(text), &cfg, NULL) || !cfg || !cfg->tunnels) {
		fprintf(stderr, "ikeload: internal config does not parse\n");
		return 1;
	}
	free(text);
	if (!(slots = calloc(n_total, sizeof(*slots))))
		return 1;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(IKE_PORT)};
	int sz = 8 << 20;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("ikeload: UDP port 500");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	next_spi = 0x10000000u | ((uint32_t)getpid() << 8);
	ike_set_jitter(0);

	unsigned started = 0;
	uint64_t t0 = loop_now_ms(), deadline = t0 + (uint64_t)(limit_s * 1000), now = t0;
	while (n_done + n_failed < n_total && now < deadline) {
		while (started < n_total && started - n_done - n_failed < window) {
			struct slot *s = &slots[started];
			struct ike_env env = {.arg = s, .send = env_send, .child_install_in = env_in,
					      .child_install_out = env_out, .child_remove = env_remove,
					      .alloc_spi = env_spi, .event = env_event};
			cfg->tunnels->num = started;
			cfg->tunnels->src = htonl(base_src + started);
			if (!(s->ike = ike_new(&env)) || ike_x_apply_config(s->ike, cfg)) {
				fprintf(stderr, "ikeload: engine instance %u failed\n", started);
				return 1;
			}
			s->start_ms = loop_now_ms();
			started++;
		}
		timer_run_due(loop_now_ms());
		int64_t d = timer_next_delay(loop_now_ms());
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, d < 0 || d > 10 ? 10 : (int)d) > 0)
			drain();
		now = loop_now_ms();
	}
	if (blind) {
		printf("ikeload: blind %u initiators for %.3f s; udp tx %llu rx %llu\n", started,
		       (double)(now - t0) / 1000.0, (unsigned long long)tx_pkts, (unsigned long long)rx_pkts);
		config_free(cfg);
		return 0;
	}
	uint64_t t1 = 0, *lat = calloc(n_total, sizeof(*lat));
	unsigned nl = 0;
	struct ike_counters tot = {0};
	for (unsigned i = 0; i < started; i++) {
		struct ike_counters k;
		if (slots[i].done_ms) {
			lat[nl++] = slots[i].done_ms - slots[i].start_ms;
			if (slots[i].done_ms > t1)
				t1 = slots[i].done_ms;
		}
		ike_x_counters(slots[i].ike, &k);
		tot.retransmits += k.retransmits;
		tot.cookies_sent += k.cookies_sent;
	}
	qsort(lat, nl, sizeof(*lat), cmp_u64);
	double secs = (double)((t1 ? t1 : now) - t0) / 1000.0;
#define PCT(p) (nl ? (unsigned long long)lat[(size_t)((nl - 1) * (p) / 100)] : 0ull)
	printf("ikeload: established %u/%u failed %u in %.3f s = %.0f setups/s; latency ms p50 %llu p90 %llu "
	       "p99 %llu max %llu; retransmits %llu; udp tx %llu rx %llu stray %llu tx-errors %llu; window %u group %u\n",
	       n_done, n_total, n_failed, secs, secs > 0 ? n_done / secs : 0.0, PCT(50), PCT(90), PCT(99),
	       PCT(100), (unsigned long long)tot.retransmits, (unsigned long long)tx_pkts,
	       (unsigned long long)rx_pkts, (unsigned long long)rx_stray, (unsigned long long)tx_err, window,
	       group);
	/* No ike_free(): the process exits and the responder keeps its SAs (no DELETE). */
	config_free(cfg);
	return n_done == n_total ? 0 : 1;
}
