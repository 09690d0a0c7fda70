/* Data-plane exec commands: SAs, datapath drops, invalid-SPI flows and the
 * tunnel interfaces. Run on the control thread; counters are read with
 * relaxed atomic loads while the workers keep counting. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "daemon/daemon.h"
#include "esp/dp_int.h"
#include "esp/show_dp.h"
#include "esp/spi_filter.h"
#include "ops/exec.h"
#include "sync/invalid_spi.h"
#include "util/out.h"

static show_dp_tunnel_fn tunnel_hook;
static void *tunnel_hook_arg;

void show_dp_set_tunnel_hook(show_dp_tunnel_fn fn, void *arg)
{
	tunnel_hook = fn;
	tunnel_hook_arg = arg;
}

#define LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static const char *ip4(uint32_t a, char *buf)
{
	struct in_addr in = {.s_addr = a};
	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static void transform_name(const struct esp_sa *sa, char *buf, size_t cap)
{
	const char *c = "?", *a = "";

	switch (sa->cipher) {
	case CFG_ESP_GCM_128: c = "esp-gcm 128"; break;
	case CFG_ESP_GCM_256: c = "esp-gcm 256"; break;
	case CFG_ESP_AES_128: c = "esp-aes 128"; break;
	case CFG_ESP_AES_256: c = "esp-aes 256"; break;
	}
	switch (sa->auth) {
	case CFG_ESP_SHA256: a = " esp-sha256-hmac"; break;
	case CFG_ESP_SHA384: a = " esp-sha384-hmac"; break;
	case CFG_ESP_SHA512: a = " esp-sha512-hmac"; break;
	default: break;
	}
	snprintf(buf, cap, "%s%s", c, a);
}

static void print_sa(struct out *o, const struct sad_sa *s, uint64_t now)
{
	const struct esp_sa *e = s->esp;
	char tf[64];
	uint64_t last = LD(e->ctr.last_ms), age = (now - s->created_ms) / 1000;
	int any = 0;

	transform_name(e, tf, sizeof(tf));
	out_printf(o, "      spi: 0x%X(%u)\n", e->spi, e->spi);
	out_printf(o, "        transform: %s ,\n", tf);
	out_printf(o, "        in use settings ={Tunnel, %s}\n",
		   s->path.udp_encap ? "UDP-Encaps, " : "");
	out_printf(o, "        keying: %s, created %llu s ago\n", s->manual ? "manual" : "IKEv2",
		   (unsigned long long)age);
	if (s->life_sec || s->life_kb) {
		uint64_t kb = LD(e->ctr.bytes) >> 10;
		out_printf(o, "        sa timing: remaining key lifetime (k/sec): (%llu/%llu)\n",
			   (unsigned long long)(s->life_kb > kb ? s->life_kb - kb : 0),
			   (unsigned long long)(s->life_sec > age ? s->life_sec - age : 0));
	} else {
		out_printf(o, "        sa timing: remaining key lifetime: none (manual keys)\n");
	}
	out_printf(o, "        IV size: %zu bytes\n", e->iv_len);
	if (e->inbound)
		out_printf(o, "        replay detection support: Y, window %u%s\n", e->replay.window,
			   e->esn ? ", ESN" : "");
	out_printf(o, "        #pkts %llu, #bytes %llu", LD(e->ctr.pkts), LD(e->ctr.bytes));
	if (last)
		out_printf(o, ", last packet %llu ms ago", (unsigned long long)(now - last));
	out_printf(o, "\n        drops:");
	for (int d = 1; d < ESP_DROP_MAX; d++) {
		unsigned long long n = LD(e->ctr.drops[d]);
		if (n) {
			out_printf(o, " %s %llu", esp_drop_name((enum esp_drop)d), n);
			any = 1;
		}
	}
	out_printf(o, "%s\n", any ? "" : " none");
	if (s->remove_at)
		out_printf(o, "        Status: ACTIVE (old SA, removed in %lld ms)\n",
			   (long long)(s->remove_at - now));
	else
		out_printf(o, "        Status: ACTIVE\n");
	out_printf(o, "\n");
}

struct in_ctx {
	struct out *o;
	struct sad_tun *st;
	uint64_t now;
	int n;
	unsigned long long replay, icv; /* drops of the tunnel's inbound SAs */
};

static void print_in(struct sad_sa *s, void *arg)
{
	struct in_ctx *c = arg;
	if (s->tun != c->st)
		return;
	print_sa(c->o, s, c->now);
	c->n++;
}

static void sum_in(struct sad_sa *s, void *arg)
{
	struct in_ctx *c = arg;
	if (s->tun != c->st)
		return;
	c->replay += LD(s->esp->ctr.drops[ESP_DROP_REPLAY]);
	c->icv += LD(s->esp->ctr.drops[ESP_DROP_ICV]);
}

static int cmp_num(const void *a, const void *b)
{
	unsigned x = (*(struct dp_tunnel *const *)a)->num, y = (*(struct dp_tunnel *const *)b)->num;
	return x < y ? -1 : x > y;
}

/* Tunnels sorted by number; caller frees. */
static struct dp_tunnel **sorted_tunnels(size_t *n)
{
	struct dp_tunnel **v, *t;
	size_t k = 0;

	for (t = dp_tunnels; t; t = t->next)
		k++;
	if (!(v = calloc(k ? k : 1, sizeof(*v))))
		return NULL;
	k = 0;
	for (t = dp_tunnels; t; t = t->next)
		v[k++] = t;
	qsort(v, k, sizeof(*v), cmp_num);
	*n = k;
	return v;
}

static int cmd_show_sa(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	uint64_t now = sad_now_ms();
	size_t n = 0;
	struct dp_tunnel **v;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct in_addr peer = {0};
	int detail = 0;

	/* show crypto ipsec sa [detail] [peer A.B.C.D], either order */
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "detail"))
			detail = 1;
		else if (!strcmp(argv[i], "peer") && i + 1 < argc && inet_pton(AF_INET, argv[i + 1], &peer) == 1)
			i++;
	}
	if (!(v = sorted_tunnels(&n)))
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct dp_tunnel *t = v[i];
		struct sad_sa *out = sad_out(t->st);
		struct in_ctx c = {.o = o, .st = t->st, .now = now};
		if (peer.s_addr && t->dst != peer.s_addr)
			continue;
		ip4(t->src, a);
		ip4(t->dst, b);
		out_printf(o, "\ninterface: %s\n", t->name);
		out_printf(o, "    Crypto map tag: %s-head-0, local addr %s\n\n", t->name, a);
		out_printf(o, "   protected vrf: (none)\n");
		out_printf(o, "   local  ident (addr/mask/prot/port): (0.0.0.0/0.0.0.0/0/0)\n");
		out_printf(o, "   remote ident (addr/mask/prot/port): (0.0.0.0/0.0.0.0/0/0)\n");
		out_printf(o, "   current_peer %s port %u\n", b,
			   out && out->path.udp_encap ? out->path.peer_port : 500);
		out_printf(o, "     PERMIT, flags={origin_is_acl,}\n");
		out_printf(o, "    #pkts encaps: %llu, #pkts encrypt: %llu, #pkts digest: %llu\n",
			   LD(t->st->ctr.out_pkts), LD(t->st->ctr.out_pkts), LD(t->st->ctr.out_pkts));
		out_printf(o, "    #pkts decaps: %llu, #pkts decrypt: %llu, #pkts verify: %llu\n",
			   LD(t->st->ctr.in_pkts), LD(t->st->ctr.in_pkts), LD(t->st->ctr.in_pkts));
		if (detail) {
			/* Replay and ICV failures are counted per SA: the sum over the
			 * tunnel's inbound SAs (those still installed). */
			sad_foreach_in(sum_in, &c);
			out_printf(o, "    #pkts no sa (send) %llu\n", LD(t->st->ctr.out_no_sa));
			out_printf(o, "    #pkts replay failed (rcv): %llu, #pkts verify failed: %llu\n",
				   c.replay, c.icv);
		}
		out_printf(o, "    #send errors %llu, #recv errors %llu\n", LD(t->st->ctr.out_drops),
			   LD(t->st->ctr.in_drops));
		out_printf(o, "\n     local crypto endpt.: %s, remote crypto endpt.: %s\n", a, b);
		out_printf(o, "     plaintext mtu %d, path mtu 1500, ip mtu 1500\n", DP_TUN_MTU);
		if (out)
			out_printf(o, "     current outbound spi: 0x%X(%u)\n", out->esp->spi, out->esp->spi);
		else
			out_printf(o, "     current outbound spi: 0x0(0)\n");
		/* Manual keys had no DH. For IKE's, the data plane does not know, and
		 * `set pfs` cannot tell: the first CHILD_SA (IKE_AUTH) has no KE even
		 * with it, and without it a peer's rekey may bring one. No line
		 * rather than a guess. */
		if (out && out->manual)
			out_printf(o, "     PFS (Y/N): N, DH group: none\n");
		if (tunnel_hook)
			tunnel_hook(o, t->num, tunnel_hook_arg);
		out_printf(o, "\n     inbound esp sas:\n");
		sad_foreach_in(print_in, &c);
		out_printf(o, "\n     outbound esp sas:\n");
		if (out)
			print_sa(o, out, now);
	}
	free(v);
	/* A packet whose SPI has no SA has no tunnel either: datapath-wide. */
	if (detail)
		out_printf(o, "\nTotals, all interfaces:\n"
			      "    #pkts invalid sa (rcv) %llu\n",
			   (unsigned long long)(dp_drops(ESP_DROP_NO_SA_V4) + dp_drops(ESP_DROP_NO_SA_UDP)));
	return 0;
}

/* IOS's numbers for the causes it names (QFP datapath drops); ours follow. */
static int ios_num(int d)
{
	switch (d) {
	case ESP_DROP_NO_SA_V4: return 4;
	case ESP_DROP_NO_SA_UDP: return 7;
	case ESP_DROP_NO_SA_V6: return 12;
	default: return 100 + d;
	}
}

static int cmd_show_drops(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	static const int order[] = {ESP_DROP_NO_SA_V4, ESP_DROP_NO_SA_UDP, ESP_DROP_NO_SA_V6};
	struct spi_filter_stats sf;

	out_printf(o, "%-4s %-40s %20s\n", "", "Drop cause", "Packets");
	for (size_t i = 0; i < 3; i++)
		out_printf(o, "%4d %-40s %20llu\n", ios_num(order[i]), esp_drop_name(order[i]),
			   (unsigned long long)dp_drops(order[i]));
	for (int d = 1; d < ESP_DROP_MAX; d++) {
		if (d == ESP_DROP_NO_SA_V4 || d == ESP_DROP_NO_SA_UDP || d == ESP_DROP_NO_SA_V6)
			continue;
		out_printf(o, "%4d %-40s %20llu\n", ios_num(d), esp_drop_name((enum esp_drop)d),
			   LD(dp_stats.drops[d]));
	}
	out_printf(o, "\nInvalid SPIs over the per-flow reporting budget (counted above only): %llu\n",
		   LD(dp_stats.inv_unreported));
	spi_filter_get_stats(&sf);
	out_printf(o, "Kernel SPI filter: %s; dropped there (counted above) raw %llu, udp %llu; "
		      "sampled to user space %llu; map errors %llu\n",
		   sf.active ? "on" : "off", (unsigned long long)sf.dropped_raw,
		   (unsigned long long)sf.dropped_udp, (unsigned long long)sf.sampled,
		   (unsigned long long)sf.map_errors);
	out_printf(o, "Held while a tunnel had no SA: %llu (sent %llu, expired %llu)\n", LD(dp_stats.held),
		   LD(dp_stats.held_sent), LD(dp_stats.held_expired));
	out_printf(o, "ESP in %llu (raw %llu, udp %llu), ESP out %llu, NAT keepalives %llu\n",
		   LD(dp_stats.esp_in), LD(dp_stats.raw_in), LD(dp_stats.udp_in), LD(dp_stats.esp_out),
		   LD(dp_stats.keepalives));
	out_printf(o, "IKE on 4500 in %llu out %llu, handed over %llu, misrouted %llu, port steering %s, UDP GRO %s\n",
		   LD(dp_stats.ike_in), LD(dp_stats.ike_out), LD(dp_stats.ike_handoff), LD(dp_stats.ike_misrouted),
		   dp_xmit.steered ? "on" : "OFF", dp_xmit.udp_gro ? "on" : "off");
	out_printf(o, "TUN writes %llu carrying %llu packets (GRO)\n", LD(dp_stats.tun_writes),
		   LD(dp_stats.tun_merged));
	out_printf(o, "TUN: TCP super-packets segmented %llu, GSO refused %llu, truncated %llu, not IP %llu; "
		      "rx truncated %llu; events dropped %llu\n",
		   LD(dp_stats.tun_tso), LD(dp_stats.tun_gso), LD(dp_stats.tun_trunc), LD(dp_stats.not_ipv4),
		   LD(dp_stats.rx_trunc), LD(dp_stats.ev_dropped));
	return 0;
}

static void zero(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, 0, memory_order_relaxed);
}

static void clear_sa(struct sad_sa *s, void *arg)
{
	zero(&s->esp->ctr.pkts);
	zero(&s->esp->ctr.bytes);
	for (int d = 0; d < ESP_DROP_MAX; d++)
		zero(&s->esp->ctr.drops[d]);
}

static void clear_tun(struct sad_tun *t, void *arg)
{
	struct sad_sa *s = sad_out(t);

	zero(&t->ctr.in_pkts);
	zero(&t->ctr.in_bytes);
	zero(&t->ctr.out_pkts);
	zero(&t->ctr.out_bytes);
	zero(&t->ctr.in_drops);
	zero(&t->ctr.out_drops);
	zero(&t->ctr.out_no_sa);
	if (s)
		clear_sa(s, NULL);
}

static int cmd_clear(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	_Atomic uint64_t *c = (_Atomic uint64_t *)(void *)&dp_stats;

	for (size_t i = 0; i < sizeof(dp_stats) / sizeof(*c); i++)
		zero(&c[i]);
	sad_foreach_in(clear_sa, NULL);
	sad_foreach_tun(clear_tun, NULL);
	spi_filter_clear_stats();
	return 0;
}

static int cmd_invalid_spi(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	invalid_spi_show(o);
	return 0;
}

static int cmd_clear_invalid_spi(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	invalid_spi_clear();
	return 0;
}

static int tunnel_line_up(const struct dp_tunnel *t)
{
	return t->admin_up > 0 && sad_out(t->st) != NULL;
}

static int cmd_ip_brief(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	size_t n = 0;
	struct dp_tunnel **v = sorted_tunnels(&n);
	char a[INET_ADDRSTRLEN];

	out_printf(o, "%-22s %-15s %-3s %-6s %-21s %s\n", "Interface", "IP-Address", "OK?", "Method",
		   "Status", "Protocol");
	/* The host's own interfaces first (the tunnels' underlay), as a router
	 * lists its physical ones; one line each, with its first address. */
	struct ifaddrs *ifa = NULL;
	if (!getifaddrs(&ifa)) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			int seen = 0;
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !strncmp(i->ifa_name, "Tunnel", 6))
				continue;
			for (struct ifaddrs *j = ifa; j != i && !seen; j = j->ifa_next)
				seen = j->ifa_addr && j->ifa_addr->sa_family == AF_INET &&
				       !strcmp(j->ifa_name, i->ifa_name);
			if (seen)
				continue;
			ip4(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr, a);
			out_printf(o, "%-22s %-15s YES %-6s %-21s %s\n", i->ifa_name, a, "manual",
				   i->ifa_flags & IFF_UP ? "up" : "administratively down",
				   i->ifa_flags & IFF_RUNNING ? "up" : "down");
		}
		freeifaddrs(ifa);
	}
	for (size_t k = 0; v && k < n; k++) {
		struct dp_tunnel *t = v[k];
		out_printf(o, "%-22s %-15s YES %-6s %-21s %s\n", t->name,
			   t->addr ? ip4(t->addr, a) : "unassigned", t->addr ? "manual" : "unset",
			   t->admin_up > 0 ? "up" : "administratively down",
			   tunnel_line_up(t) ? "up" : "down");
	}
	free(v);
	return 0;
}

/* The tunnel's description in the running configuration, NULL if none. */
static const char *tunnel_description(unsigned num)
{
	const struct config *c = daemon_config();

	for (const struct cfg_tunnel *ct = c ? c->tunnels : NULL; ct; ct = ct->next)
		if (ct->num == num)
			return ct->description[0] ? ct->description : NULL;
	return NULL;
}

static void show_one_if(struct out *o, struct dp_tunnel *t)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct sad_sa *s = sad_out(t->st);
	unsigned long long ind = LD(t->st->ctr.in_drops);
	const char *descr = tunnel_description(t->num);
	out_printf(o, "%s is %s, line protocol is %s\n", t->name,
		   t->admin_up > 0 ? "up" : "administratively down", tunnel_line_up(t) ? "up" : "down");
	out_printf(o, "  Hardware is Tunnel (Linux TUN, ifindex %d, data-plane worker insync-dp%d)\n",
		   t->ifindex, t->worker);
	if (descr) /* after the hardware line, where IOS puts it */
		out_printf(o, "  Description: %s\n", descr);
	if (t->addr)
		out_printf(o, "  Internet address is %s/%d\n", ip4(t->addr, a), route_mask_len(t->mask));
	out_printf(o, "  MTU %d bytes\n", DP_TUN_MTU);
	out_printf(o, "  Tunnel source %s, destination %s\n", ip4(t->src, a), ip4(t->dst, b));
	out_printf(o, "  Tunnel protocol/transport IPSEC/%s\n",
		   s && s->path.udp_encap ? "UDP (ESP in UDP 4500)" : "IP");
	if (t->profile[0])
		out_printf(o, "  Tunnel protection via IPSec (profile \"%s\")\n", t->profile);
	out_printf(o, "     %llu packets input, %llu bytes, %llu input drops\n", LD(t->st->ctr.in_pkts),
		   LD(t->st->ctr.in_bytes), ind);
	out_printf(o, "     %llu packets output, %llu bytes, %llu output drops\n",
		   LD(t->st->ctr.out_pkts), LD(t->st->ctr.out_bytes), LD(t->st->ctr.out_drops));
}

/* "Tunnel7", "tunnel7", "Tu7": any case, any abbreviation of the type from
 * two letters on (as the configuration takes them), then the decimal number. */
static int tunnel_arg(const char *s, unsigned *num)
{
	size_t i = 0;
	unsigned long v = 0;

	while (s[i] && !(s[i] >= '0' && s[i] <= '9'))
		i++;
	if (i < 2 || i > 6 || strncasecmp(s, "tunnel", i) || !s[i] || strlen(s + i) > 5)
		return -1;
	for (const char *d = s + i; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		v = v * 10 + (unsigned long)(*d - '0');
	}
	if (v > 65535)
		return -1;
	*num = (unsigned)v;
	return 0;
}

static int cmd_show_if(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	size_t n = 0;
	struct dp_tunnel **v;
	const char *want = argc >= 3 ? argv[2] : NULL;
	unsigned num = 0;
	int found = 0;
	char joined[40];

	if (argc >= 4) { /* "tunnel 0", as IOS also takes it: the name alone, then the number */
		size_t l = strlen(argv[2]);
		if (l < 2 || l > 6 || strncasecmp(argv[2], "tunnel", l)) {
			out_printf(o, "%% Invalid interface %s %s\n", argv[2], argv[3]);
			return 1;
		}
		snprintf(joined, sizeof(joined), "%s%s", argv[2], argv[3]);
		want = joined;
	}

	if (want && tunnel_arg(want, &num)) {
		out_printf(o, "%% Invalid interface %s\n", want);
		return 1;
	}
	v = sorted_tunnels(&n);
	for (size_t k = 0; v && k < n; k++) {
		if (want && v[k]->num != num)
			continue;
		show_one_if(o, v[k]);
		found = 1;
	}
	free(v);
	if (want && !found) {
		out_printf(o, "%% Invalid interface %s\n", want);
		return 1;
	}
	return 0;
}

void dp_register_commands(void)
{
	exec_register("show crypto ipsec sa", cmd_show_sa, "IPsec security associations");
	exec_register("show crypto ipsec sa detail", cmd_show_sa, "IPsec SAs with drop counters");
	exec_register("show crypto ipsec sa peer A.B.C.D", cmd_show_sa, "IPsec SAs with one peer");
	exec_register("show crypto ipsec sa peer A.B.C.D detail", cmd_show_sa, "IPsec SAs with one peer, detailed");
	exec_register("show crypto ipsec sa detail peer A.B.C.D", cmd_show_sa, "IPsec SAs with one peer, detailed");
	exec_register("show crypto datapath drops", cmd_show_drops, "Data-plane drop counters by cause");
	exec_register("clear crypto datapath counters", cmd_clear, "Reset data-plane counters");
	exec_register("show crypto ipsec invalid-spi", cmd_invalid_spi, "Recent invalid-SPI flows");
	exec_register("clear crypto ipsec invalid-spi", cmd_clear_invalid_spi,
		      "Forget the invalid-SPI flows");
	exec_register("show ip interface brief", cmd_ip_brief, "Interface status summary");
	exec_register("show interfaces", cmd_show_if, "Tunnel interface status and counters");
	exec_register("show interfaces WORD", cmd_show_if, "One interface's status and counters");
	exec_register("show interfaces WORD NUM", cmd_show_if, "One interface, name and number apart");
}
