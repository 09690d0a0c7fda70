/* The data plane's show commands (show_dp.c) and show dmvpn (glue.c), without
 * the network: the tunnels (dp_tunnels) and SAs are set up by hand, the
 * running configuration is loaded by daemon_start(), and the commands run
 * through the exec table as insyncctl would run them.
 *
 * Regressions from an acceptance pass on the two-site lab:
 *  - `show crypto ipsec sa detail peer A.B.C.D` was refused (only `peer X detail`);
 *  - `PFS (Y/N): N, DH group: none` was printed for every tunnel, even one
 *    keyed by IKE with `set pfs group19`;
 *  - detail's replay/verify failures were the datapath's totals under every
 *    tunnel, and `#pkts invalid sa (rcv)` was repeated per tunnel;
 *  - show dmvpn put our own tunnel address in "Peer Tunnel Add";
 *  - `show interfaces Tu0` / `tu0` were invalid; `show ip interface brief`
 *    listed the host's interfaces; the description was not shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daemon/daemon.h"
#include "esp/dp_int.h"
#include "esp/esp.h"
#include "esp/sad.h"
#include "esp/show_dp.h"
#include "ops/exec.h"
#include "util/out.h"

void glue_register_commands(void);

static const char conf[] =
	"hostname site-a\n"
	"crypto ikev2 proposal PROP\n encryption aes-gcm-256\n prf sha256\n group 19\n"
	"crypto ikev2 policy POL\n proposal PROP\n"
	"crypto ikev2 keyring KEYS\n peer b\n  address 192.0.2.2\n  pre-shared-key k-0123456789abcdef\n"
	"crypto ikev2 profile PROF\n match identity remote address 192.0.2.2 255.255.255.255\n"
	" authentication remote pre-share\n authentication local pre-share\n keyring local KEYS\n"
	"crypto ipsec transform-set TS esp-gcm 256\n"
	"crypto ipsec profile IPSEC\n set transform-set TS\n set ikev2-profile PROF\n set pfs group19\n"
	/* /30: the peer is the other host */
	"interface Tunnel0\n description Link to site B\n ip address 10.255.0.1 255.255.255.252\n"
	" tunnel source 192.0.2.1\n tunnel destination 192.0.2.2\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile IPSEC\n"
	/* /24 and no next hop in it: unknown */
	"interface Tunnel1\n ip address 10.255.1.1 255.255.255.0\n"
	" tunnel source 192.0.2.1\n tunnel destination 192.0.2.3\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile IPSEC\n"
	/* /24 with a route's next hop in it */
	"interface Tunnel2\n ip address 10.255.2.1 255.255.255.0\n"
	" tunnel source 192.0.2.1\n tunnel destination 192.0.2.4\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile IPSEC\n"
	/* /31 */
	"interface Tunnel3\n ip address 10.255.3.1 255.255.255.254\n"
	" tunnel source 192.0.2.1\n tunnel destination 192.0.2.5\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile IPSEC\n"
	"ip route 10.0.2.0 255.255.255.0 Tunnel0\n"
	"ip route 10.0.4.0 255.255.255.0 10.255.2.9\n"
	"end\n";

static struct dp_tunnel tun[2];
static struct out o;

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static struct esp_sa *sa(uint32_t spi, int inbound)
{
	static uint8_t ek[32], ak[32];
	struct esp_sa_params p = {.spi = spi, .cipher = CFG_ESP_AES_256, .auth = CFG_ESP_SHA256,
				  .enc_key = ek, .enc_key_len = 32, .auth_key = ak, .auth_key_len = 32,
				  .replay_window = 64};
	struct esp_sa *e = esp_sa_new(&p, inbound);
	assert_non_null(e);
	return e;
}

static void add_tunnel(struct dp_tunnel *t, unsigned num, const char *addr, const char *dst)
{
	t->num = num;
	snprintf(t->name, sizeof(t->name), "Tunnel%u", num);
	t->addr = ip(addr);
	t->mask = ip("255.255.255.252");
	t->src = ip("192.0.2.1");
	t->dst = ip(dst);
	t->admin_up = 1;
	t->handle = -1;
	snprintf(t->profile, sizeof(t->profile), "IPSEC");
	assert_non_null(t->st = sad_tun_get(num, 1));
}

static int setup(void **st)
{
	char path[] = "/tmp/insync-show-dp-XXXXXX";
	int fd = mkstemp(path);
	struct daemon_opts opts = {.config_path = path};
	struct dp_sa_path p0 = {.local = ip("192.0.2.1"), .peer = ip("192.0.2.2")};
	struct dp_sa_path p1 = {.local = ip("192.0.2.1"), .peer = ip("192.0.2.3")};
	struct sad_sa *s;

	(void)st;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, sizeof(conf) - 1), (ssize_t)(sizeof(conf) - 1));
	close(fd);
	assert_int_equal(daemon_start(&opts), 0);
	unlink(path);
	assert_int_equal(sad_init(), 0);
	add_tunnel(&tun[0], 0, "10.255.0.1", "192.0.2.2");
	add_tunnel(&tun[1], 1, "10.255.1.1", "192.0.2.3");
	tun[0].next = &tun[1];
	dp_tunnels = &tun[0];
	/* Tunnel0 keyed by IKE, Tunnel1 by manual keys. */
	assert_int_equal(sad_install_in(0, sa(0x1000, 1), &p0, 0, sad_now_ms()), 0);
	assert_int_equal(sad_set_out(0, sa(0x2000, 0), &p0, 0, sad_now_ms()), 0);
	assert_int_equal(sad_install_in(1, sa(0x1001, 1), &p1, 1, sad_now_ms()), 0);
	assert_int_equal(sad_set_out(1, sa(0x2001, 0), &p1, 1, sad_now_ms()), 0);
	/* Drops: per SA, and (larger) datapath-wide. */
	assert_non_null(s = sad_lookup_in(0x1000));
	atomic_store(&s->esp->ctr.drops[ESP_DROP_REPLAY], 3);
	atomic_store(&s->esp->ctr.drops[ESP_DROP_ICV], 4);
	assert_non_null(s = sad_lookup_in(0x1001));
	atomic_store(&s->esp->ctr.drops[ESP_DROP_REPLAY], 7);
	atomic_store(&dp_stats.drops[ESP_DROP_REPLAY], 100);
	atomic_store(&dp_stats.drops[ESP_DROP_ICV], 200);
	atomic_store(&dp_stats.drops[ESP_DROP_NO_SA_V4], 5);
	atomic_store(&dp_stats.drops[ESP_DROP_NO_SA_UDP], 6);
	/* Output drops: 9 in all on Tunnel0, 2 of them for want of an SA. */
	atomic_store(&sad_tun_get(0, 0)->ctr.out_drops, 9);
	atomic_store(&sad_tun_get(0, 0)->ctr.out_no_sa, 2);
	dp_register_commands();
	glue_register_commands();
	out_init(&o);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	out_free(&o);
	dp_tunnels = NULL;
	sad_free();
	exec_unregister_all();
	return 0;
}

static int run(const char *line)
{
	struct exec_ctx ctx = {0};
	out_reset(&o);
	int rc = exec_run(&ctx, line, &o);
	out_printf(&o, "%s", ""); /* a buffer even when nothing was printed */
	return rc;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The text of one tunnel's block of show crypto ipsec sa (caller frees). */
static char *block(const char *text, const char *ifname)
{
	char head[64];
	const char *b, *e;
	snprintf(head, sizeof(head), "\ninterface: %s\n", ifname);
	assert_non_null(b = strstr(text, head));
	e = strstr(b + 1, "\ninterface: ");
	if (!e)
		e = strstr(b + 1, "\nTotals");
	if (!e)
		e = b + strlen(b);
	return strndup(b, (size_t)(e - b));
}

static void test_sa_detail_peer_either_order(void **st)
{
	(void)st;
	assert_int_equal(run("show crypto ipsec sa detail peer 192.0.2.2"), 0);
	assert_non_null(strstr(o.buf, "interface: Tunnel0"));
	assert_null(strstr(o.buf, "interface: Tunnel1"));
	assert_non_null(strstr(o.buf, "#pkts replay failed (rcv)"));
	assert_int_equal(run("sh cry ipsec sa det peer 192.0.2.3"), 0);
	assert_null(strstr(o.buf, "interface: Tunnel0"));
	assert_non_null(strstr(o.buf, "interface: Tunnel1"));
	assert_int_equal(run("show crypto ipsec sa peer 192.0.2.2 detail"), 0);
	assert_non_null(strstr(o.buf, "#pkts replay failed (rcv)"));
}

static void test_sa_pfs_only_when_known(void **st)
{
	char *b0, *b1;
	(void)st;
	assert_int_equal(run("show crypto ipsec sa"), 0);
	b0 = block(o.buf, "Tunnel0");
	b1 = block(o.buf, "Tunnel1");
	/* IKE-keyed with `set pfs group19`: not known per SA, so no line (not "N"). */
	assert_null(strstr(b0, "PFS (Y/N)"));
	/* Manual keys: no DH, truly. */
	assert_non_null(strstr(b1, "     PFS (Y/N): N, DH group: none\n"));
	free(b0);
	free(b1);
}

static void test_sa_detail_counters_per_tunnel(void **st)
{
	char *b0, *b1;
	const char *tot;
	(void)st;
	assert_int_equal(run("show crypto ipsec sa detail"), 0);
	b0 = block(o.buf, "Tunnel0");
	b1 = block(o.buf, "Tunnel1");
	assert_non_null(strstr(b0, "#pkts replay failed (rcv): 3, #pkts verify failed: 4\n"));
	assert_non_null(strstr(b0, "#pkts no sa (send) 2\n"));
	assert_non_null(strstr(b0, "#send errors 9,"));
	assert_non_null(strstr(b1, "#pkts replay failed (rcv): 7, #pkts verify failed: 0\n"));
	assert_null(strstr(b0, "invalid sa"));
	assert_null(strstr(b1, "invalid sa"));
	/* Once, after the tunnels, as a total. */
	assert_int_equal(count(o.buf, "#pkts invalid sa (rcv)"), 1);
	assert_non_null(tot = strstr(o.buf, "\nTotals, all interfaces"));
	assert_non_null(strstr(tot, "#pkts invalid sa (rcv) 11\n"));
	free(b0);
	free(b1);
	/* Without detail, no totals. */
	assert_int_equal(run("show crypto ipsec sa"), 0);
	assert_null(strstr(o.buf, "invalid sa"));
}

static void test_dmvpn_peer_tunnel_address(void **st)
{
	(void)st;
	assert_int_equal(run("show dmvpn"), 0);
	assert_non_null(strstr(o.buf, "\n     1 192.0.2.2       10.255.0.2      DOWN"));
	assert_non_null(strstr(o.buf, "\n     1 192.0.2.3       UNKNOWN         DOWN"));
	assert_non_null(strstr(o.buf, "\n     1 192.0.2.4       10.255.2.9      DOWN"));
	assert_non_null(strstr(o.buf, "\n     1 192.0.2.5       10.255.3.0      DOWN"));
	/* Never our own. */
	assert_null(strstr(o.buf, "10.255.0.1"));
	assert_null(strstr(o.buf, "10.255.1.1"));
	assert_null(strstr(o.buf, "10.255.3.1"));
}

static void test_show_interfaces_abbrev(void **st)
{
	static const char *const ok[] = {"Tunnel0", "tunnel0", "Tu0", "tu0", "TUN0", "tunn0"};
	static const char *const bad[] = {"T0", "Tux0", "Tunnels0", "Tu", "Tu0x", "Tu-1", "veth-a", "lo",
					  "Tunnel9", "Tu123456"};
	char line[64];
	(void)st;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		snprintf(line, sizeof(line), "show interfaces %s", ok[i]);
		assert_int_equal(run(line), 0);
		assert_true(!strncmp(o.buf, "Tunnel0 is up, line protocol is up\n", 35));
		assert_null(strstr(o.buf, "Tunnel1 is"));
	}
	assert_int_equal(run("sh int tu1"), 0);
	assert_true(!strncmp(o.buf, "Tunnel1 is up", 13));
	assert_int_equal(run("show interfaces tunnel 1"), 0); /* name and number apart */
	assert_true(!strncmp(o.buf, "Tunnel1 is up", 13));
	assert_int_equal(run("show interfaces tunnel 9"), 1);
	/* A name with its number already, then another number: refused, not joined. */
	assert_int_equal(run("show interfaces Tunnel0 1"), 1);
	assert_non_null(strstr(o.buf, "% Invalid interface Tunnel0 1"));
	assert_int_equal(run("show interfaces Tu1 0"), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(line, sizeof(line), "show interfaces %s", bad[i]);
		assert_int_equal(run(line), 1);
		assert_non_null(strstr(o.buf, "% Invalid interface"));
	}
}

static void test_show_interfaces_description(void **st)
{
	(void)st;
	assert_int_equal(run("show interfaces Tunnel0"), 0);
	assert_non_null(strstr(o.buf, "Tunnel0 is up, line protocol is up\n"
				      "  Hardware is Tunnel"));
	assert_non_null(strstr(o.buf, "data-plane worker insync-dp0)\n  Description: Link to site B\n"));
	assert_int_equal(run("show interfaces Tunnel1"), 0);
	assert_null(strstr(o.buf, "Description"));
	/* All of them: each its own. */
	assert_int_equal(run("show interfaces"), 0);
	assert_int_equal(count(o.buf, "  Description: "), 1);
}

/* The host's interfaces (the underlay) first, one line each even with
 * several addresses, then the tunnels. */
static void test_ip_brief(void **st)
{
	char *save = NULL, *copy, *l, names[64][24];
	int n = 0, tunnels = 0;
	(void)st;
	assert_int_equal(run("show ip interface brief"), 0);
	copy = strdup(o.buf);
	for (l = strtok_r(copy, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save), n++) {
		if (n == 0) {
			assert_true(!strncmp(l, "Interface ", 10));
			continue;
		}
		sscanf(l, "%23s", names[n]);
		for (int k = 1; k < n; k++)
			assert_string_not_equal(names[k], names[n]);
		if (!strncmp(l, "Tunnel", 6))
			tunnels++;
		else
			assert_int_equal(tunnels, 0); /* host interfaces come first */
	}
	free(copy);
	assert_int_equal(tunnels, 2);
	assert_non_null(strstr(o.buf, "\nTunnel0                10.255.0.1      YES manual up                    up\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_detail_peer_either_order),
		cmocka_unit_test(test_sa_pfs_only_when_known),
		cmocka_unit_test(test_sa_detail_counters_per_tunnel),
		cmocka_unit_test(test_dmvpn_peer_tunnel_address),
		cmocka_unit_test(test_show_interfaces_abbrev),
		cmocka_unit_test(test_show_interfaces_description),
		cmocka_unit_test(test_ip_brief),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
