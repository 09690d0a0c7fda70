/* Wiring between the IKE engine, the ESP data plane and the sync policy:
 * the UDP 500 socket, the engine's environment callbacks (CHILD_SA keys become
 * ESP SAs in the SAD), IKE packets arriving on 4500 through the data plane,
 * and data-plane events routed to the invalid-SPI table and recovery. */
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "esp/dp.h"
#include "esp/esp.h"
#include "esp/sad.h"
#include "esp/show_dp.h"
#include "ops/debug.h"
#include "ike/ike.h"
#include "ops/config.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "sync/invalid_spi.h"
#include "sync/recovery.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define IKE_PORT 500
#define IKE_NATT_PORT 4500
#define IKE_MSG_MAX 65535
#define IKE_SOCK_RCVBUF (4 << 20)

static int ike_fd = -1;

static int glue_natka(void *arg, uint32_t local, uint32_t peer, uint16_t pport)
{
	(void)arg;
	return dp_send_natka(local, peer, pport);
}

static int glue_send(void *arg, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		     const uint8_t *p, size_t len)
{
	if (lport == IKE_NATT_PORT)
		return dp_send_ike(local, peer, pport, p, len);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(pport), .sin_addr.s_addr = peer};
	struct iovec iov = {(void *)p, len};
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1};
	memset(cbuf, 0, sizeof(cbuf));
	if (local) {
		/* Answer from the address the peer used. */
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);
		pi->ipi_spec_dst.s_addr = local;
	}
	return sendmsg(ike_fd, &mh, MSG_DONTWAIT) < 0 ? -1 : 0;
}

static struct esp_sa *make_sa(const struct ike_child_info *c, int inbound)
{
	struct esp_sa_params p = {
		.spi = inbound ? c->spi_in : c->spi_out,
		.cipher = c->cipher,
		.auth = c->auth,
		.enc_key = inbound ? c->enc_in : c->enc_out,
		.enc_key_len = c->enc_len,
		.auth_key = inbound ? c->auth_in : c->auth_out,
		.auth_key_len = c->auth_len,
		.replay_window = c->replay_window,
	};
	return esp_sa_new(&p, inbound);
}

static void path_of(const struct ike_child_info *c, struct dp_sa_path *path)
{
	path->local = c->local;
	path->peer = c->peer;
	path->udp_encap = c->udp_encap;
	path->peer_port = c->udp_encap ? c->peer_port : 0;
}

static int glue_install_in(void *arg, const struct ike_child_info *c)
{
	struct dp_sa_path path;
	if (c->tunnel == IKE_TUNNEL_NONE)
		return 0; /* dynamic peer without an interface: nothing to route into */
	struct esp_sa *sa = make_sa(c, 1);
	if (sa == NULL)
		return -1;
	path_of(c, &path);
	if (dp_sa_install_in(c->tunnel, sa, &path) < 0)
		return -1;
	sad_set_lifetime(c->tunnel, c->spi_in, 1, c->lifetime_sec, c->lifetime_kb);
	DBG(DBG_ENGINE, c->peer, "CRYPTO_ENGINE: Tunnel%u: inbound SA spi 0x%08X installed (%s)", c->tunnel,
	    c->spi_in, c->udp_encap ? "ESP in UDP" : "ESP");
	recovery_sa_installed(c->peer, c->spi_in, c->spi_out);
	return 0;
}

static int glue_install_out(void *arg, const struct ike_child_info *c)
{
	struct dp_sa_path path;
	if (c->tunnel == IKE_TUNNEL_NONE)
		return 0;
	struct esp_sa *sa = make_sa(c, 0);
	if (sa == NULL)
		return -1;
	path_of(c, &path);
	if (dp_sa_set_out(c->tunnel, sa, &path) < 0)
		return -1;
	sad_set_lifetime(c->tunnel, c->spi_out, 0, c->lifetime_sec, c->lifetime_kb);
	DBG(DBG_ENGINE, c->peer, "CRYPTO_ENGINE: Tunnel%u: outbound SA spi 0x%08X installed, now current",
	    c->tunnel, c->spi_out);
	recovery_sa_installed(c->peer, c->spi_in, c->spi_out);
	return 0;
}

static void glue_remove(void *arg, const struct ike_child_info *c, uint32_t grace_ms)
{
	if (c->tunnel == IKE_TUNNEL_NONE)
		return;
	struct esp_sa *out = dp_sa_out(c->tunnel);
	if (out && out->spi == c->spi_out)
		dp_sa_clear_out(c->tunnel);
	if (c->spi_in)
		dp_sa_remove_in(c->spi_in, grace_ms);
	DBG(DBG_ENGINE, c->peer, "CRYPTO_ENGINE: Tunnel%u: SA pair in 0x%08X out 0x%08X removed (inbound after %u ms)",
	    c->tunnel, c->spi_in, c->spi_out, grace_ms);
	recovery_sa_removed(c->peer, c->spi_in, c->spi_out);
}

static uint32_t glue_alloc_spi(void *arg, uint32_t peer)
{
	uint32_t spi = dp_alloc_spi();
	/* ESP on it may beat the exchange that installs it: a blip, not a desync. */
	recovery_spi_reserved(peer, spi);
	return spi;
}

static int glue_activity(void *arg, uint32_t spi_in, uint32_t spi_out, uint64_t *last_in,
			 uint64_t *last_out)
{
	struct sad_sa *in = sad_lookup_in(spi_in);
	*last_in = *last_out = 0;
	if (in == NULL)
		return -1;
	*last_in = atomic_load(&in->esp->ctr.last_ms);
	if (in->tun) {
		struct sad_sa *out = sad_out(in->tun);
		if (out && out->esp->spi == spi_out)
			*last_out = atomic_load(&out->esp->ctr.last_ms);
	}
	return 0;
}

static void glue_ike_event(void *arg, int ev, const struct ike_sa_info *sa)
{
	recovery_ike_event(ev, sa);
}

static void on_ike_udp(int fd, uint32_t events, void *arg)
{
	static uint8_t buf[IKE_MSG_MAX];
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in from;
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		uint32_t local = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO)
				local = ((struct in_pktinfo *)CMSG_DATA(cm))->ipi_addr.s_addr;
		ike_input(local, IKE_PORT, from.sin_addr.s_addr, ntohs(from.sin_port), buf, (size_t)n);
	}
}

static void on_ike_4500(const uint8_t *p, size_t len, uint32_t src, uint16_t sport, uint32_t dst,
			uint16_t dport, void *arg)
{
	ike_input(dst, dport, src, sport, p, len);
}

/* The data plane records invalid SPIs itself (dp_events.c); the rest is ours. */
static void on_dp_event(const struct dp_event *ev, void *arg)
{
	if (ev->type != DP_EV_INVALID_SPI)
		recovery_dp_event(ev);
}

static void glue_show_tunnel(struct out *o, unsigned tunnel, void *arg);

int glue_init(void)
{
	static const struct ike_env env = {
		.send = glue_send,
		.child_install_in = glue_install_in,
		.child_install_out = glue_install_out,
		.child_remove = glue_remove,
		.alloc_spi = glue_alloc_spi,
		.event = glue_ike_event,
		.child_activity = glue_activity,
		.send_natka = glue_natka,
	};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(IKE_PORT)};
	int one = 1, rcvbuf = IKE_SOCK_RCVBUF;
	ike_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Hundreds of peers start IKE_SA_INIT at once after a reboot; the default
	 * 208 KiB held about 150 of them and the rest waited a retransmit. */
	if (ike_fd >= 0 && setsockopt(ike_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(ike_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (ike_fd < 0 || setsockopt(ike_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    bind(ike_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    loop_add_fd(ike_fd, EPOLLIN, on_ike_udp, NULL) < 0) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "IKE_SOCKET", "cannot open UDP port %d: %s", IKE_PORT,
			strerror(errno));
		if (ike_fd >= 0)
			close(ike_fd);
		ike_fd = -1;
		return -1;
	}
	if (ike_init(&env) < 0)
		return -1;
	recovery_init();
	dp_set_ike_handler(on_ike_4500, NULL);
	show_dp_set_tunnel_hook(glue_show_tunnel, NULL);
	/* Lab: INSYNC_REKEY_JITTER=0 makes both ends rekey at once (collision tests). */
	if (getenv("INSYNC_REKEY_JITTER") && !strcmp(getenv("INSYNC_REKEY_JITTER"), "0"))
		ike_set_jitter(0);
	dp_set_event_handler(on_dp_event, NULL);
	return 0;
}

void glue_apply(const struct config *c)
{
	invalid_spi_set_interval(c->invalid_spi_log_interval);
	recovery_apply(c);
	ike_apply_config(c);
}

void glue_shutdown(void)
{
	dp_set_event_handler(NULL, NULL);
	dp_set_ike_handler(NULL, NULL);
	show_dp_set_tunnel_hook(NULL, NULL);
	ike_shutdown();
	recovery_shutdown();
	if (ike_fd >= 0) {
		loop_del_fd(ike_fd);
		close(ike_fd);
	}
	ike_fd = -1;
}

/* IKE's lines in `show crypto ipsec sa`, per tunnel. */
static void glue_show_tunnel(struct out *o, unsigned tunnel, void *arg)
{
	struct ike_tunnel_info ti;

	if (ike_tunnel_info(tunnel, &ti) || !ti.has_ike) {
		out_printf(o, "     IKEv2 SA: none\n");
		return;
	}
	/* As IOS prints it, from the exchange that made the current CHILD_SA:
	 * the first (in IKE_AUTH) never has a KE, a rekey with `set pfs` does. */
	if (ti.spi_in) {
		if (ti.child_dh)
			out_printf(o, "     PFS (Y/N): Y, DH group: group%d\n", ti.child_dh);
		else
			out_printf(o, "     PFS (Y/N): N, DH group: none\n");
	}
	out_printf(o, "     IKEv2 SA: %s, %s, %s/%s, DH group %d, local spi %016llX remote spi %016llX%s\n",
		   ike_sa_state_name(ti.sa.state), ti.sa.initiator ? "initiator" : "responder", ti.sa.encr,
		   ti.sa.prf, ti.sa.dh_group,
		   (unsigned long long)(ti.sa.initiator ? ti.sa.spi_i : ti.sa.spi_r),
		   (unsigned long long)(ti.sa.initiator ? ti.sa.spi_r : ti.sa.spi_i), ti.sa.nat ? ", NAT-T" : "");
	if (ti.spi_in)
		out_printf(o, "     CHILD_SA: spi in 0x%X out 0x%X, age %u s of %u s, %s\n", ti.spi_in, ti.spi_out,
			   ti.child_age_sec, ti.child_lifetime_sec, ti.udp_encap ? "UDP-encapsulated (4500)" : "ESP");
}

/* --- exec commands that act across IKE and the data plane --- */

static int cmd_clear_sa(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	const struct config *c = daemon_config();
	struct in_addr peer = {0};
	int n = 0;
	if (argc > 4 && inet_pton(AF_INET, argv[argc - 1], &peer) != 1)
		return 1;
	for (const struct cfg_tunnel *t = c ? c->tunnels : NULL; t; t = t->next) {
		struct ike_tunnel_info ti;
		if (peer.s_addr && t->dst != peer.s_addr)
			continue;
		if (ike_tunnel_info(t->num, &ti) == 0 && ti.spi_in && ike_delete_child(ti.spi_in) == 0)
			n++;
	}
	out_printf(o, "%d IPsec SA pair(s) deleted\n", n);
	return 0;
}

/* The peer's tunnel address as far as the configuration tells it (there is no
 * NHRP to learn it from): the next hop of `ip route`s inside the tunnel's
 * subnet, if they agree, else the one other host of a /30 or /31. Network
 * order; 0 when unknown. */
static uint32_t dmvpn_peer_tunnel_addr(const struct config *c, const struct cfg_tunnel *t)
{
	uint32_t mask, self, net, bcast, found = 0;

	if (!t->has_addr)
		return 0;
	mask = ntohl(t->mask);
	self = ntohl(t->addr);
	net = self & mask;
	bcast = net | ~mask;
	for (const struct cfg_route *r = c->routes; r; r = r->next) {
		uint32_t nh = ntohl(r->nexthop);
		if (!r->nexthop || (nh & mask) != net || nh == self ||
		    (mask < 0xfffffffeu && (nh == net || nh == bcast)))
			continue;
		if (found && found != nh)
			return 0; /* two peers on one point-to-point link: cannot tell */
		found = nh;
	}
	if (!found && mask == 0xfffffffeu)
		found = self ^ 1;
	else if (!found && mask == 0xfffffffcu && (self == net + 1 || self == net + 2))
		found = self == net + 1 ? net + 2 : net + 1;
	return htonl(found);
}

/* show dmvpn [detail]: insync has no mGRE/NHRP; its tunnels are static VTIs,
 * listed in DMVPN's table shape so scripts written for hubs still read them. */
static int cmd_show_dmvpn(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	const struct config *c = daemon_config();
	char peer[INET_ADDRSTRLEN], paddr[INET_ADDRSTRLEN];
	int n = 0;

	for (const struct cfg_tunnel *t = c ? c->tunnels : NULL; t; t = t->next)
		n += t->mode_ipsec_v4 && t->dst;
	if (!n) {
		out_printf(o, "%% No DMVPN (mGRE/NHRP) tunnels are configured\n");
		return 0;
	}
	out_printf(o, "Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete\n"
		      "        N - NATed, L - Local, X - No Socket\n"
		      "        # Ent --> Number of NHRP entries with same NBMA peer\n"
		      "Note: insync tunnels are static VTIs (no NHRP); each peer is static.\n\n"
		      "==========================================================================\n");
	for (const struct cfg_tunnel *t = c->tunnels; t; t = t->next) {
		struct ike_tunnel_info ti;
		uint32_t pa;
		int up;
		if (!t->mode_ipsec_v4 || !t->dst)
			continue;
		up = ike_tunnel_info(t->num, &ti) == 0 && ti.spi_in;
		inet_ntop(AF_INET, &t->dst, peer, sizeof(peer));
		/* The peer's tunnel address, not ours; IOS's word when unknown. */
		if ((pa = dmvpn_peer_tunnel_addr(c, t)))
			inet_ntop(AF_INET, &pa, paddr, sizeof(paddr));
		else
			snprintf(paddr, sizeof(paddr), "UNKNOWN");
		out_printf(o, "\nInterface: Tunnel%u, IPv4 sVTI Details \nType:Static VTI, Peers:1, \n\n", t->num);
		out_printf(o, " # Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb\n");
		out_printf(o, " ----- --------------- --------------- ----- -------- -----\n");
		out_printf(o, "     1 %-15s %-15s %-5s %8s %5s\n", peer, paddr, up ? "UP" : "DOWN",
			   up ? "-" : "never", ti.udp_encap ? "SN" : "S");
		if (argc > 2 && up)
			out_printf(o, "       IKEv2 SA %s, CHILD_SA in 0x%X out 0x%X, age %u s\n",
				   ike_sa_state_name(ti.sa.state), ti.spi_in, ti.spi_out, ti.child_age_sec);
	}
	return 0;
}

static int cmd_test_drop_deletes(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	ike_x_test_drop_deletes(ike_default(), (unsigned)strtoul(argv[argc - 1], NULL, 0));
	return 0;
}

/* test crypto rekey child NUM | test crypto rekey ike A.B.C.D */
static int cmd_test_rekey(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct ike_tunnel_info ti;
	struct in_addr a;

	if (!strcmp(argv[3], "ike")) {
		if (inet_pton(AF_INET, argv[4], &a) != 1 || ike_x_rekey_ike(ike_default(), a.s_addr)) {
			out_printf(o, "%% No established IKE SA with %s\n", argv[4]);
			return 1;
		}
		return 0;
	}
	if (ike_tunnel_info((unsigned)strtoul(argv[4], NULL, 0), &ti) || !ti.spi_in ||
	    ike_x_rekey_child(ike_default(), ti.spi_in)) {
		out_printf(o, "%% Tunnel%s has no CHILD_SA to rekey\n", argv[4]);
		return 1;
	}
	return 0;
}

void glue_register_commands(void)
{
	exec_register("clear crypto sa", cmd_clear_sa, "Delete IPsec SAs (with DELETE)");
	exec_register("clear crypto sa peer A.B.C.D", cmd_clear_sa, "Delete IPsec SAs of one peer");
	exec_register("show dmvpn", cmd_show_dmvpn, "Tunnel peers in DMVPN form (insync: static VTIs)");
	exec_register("show dmvpn detail", cmd_show_dmvpn, "Tunnel peers in DMVPN form, with SAs");
	/* Fault injection for the lab only: never registered in production. */
	if (getenv("INSYNC_TEST_HOOKS"))
		exec_register("test crypto drop-deletes NUM", cmd_test_drop_deletes,
			      "Skip sending the next N DELETE requests (lab)"),
		exec_register("test crypto rekey child NUM", cmd_test_rekey, "Rekey TunnelNUM's CHILD_SA now (lab)"),
		exec_register("test crypto rekey ike A.B.C.D", cmd_test_rekey, "Rekey the IKE SA with a peer now (lab)");
}
