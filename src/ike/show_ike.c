/* IKE exec commands, in IOS's words: show crypto ikev2 sa [detail], show
 * crypto isakmp sa, show crypto session [detail], show crypto sockets,
 * show crypto ikev2 stats, clear crypto session [remote A.B.C.D], clear
 * crypto ikev2 sa. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ike/ike.h"
#include "ops/exec.h"
#include "util/out.h"

#define SHOW_MAX 4096

static const char *ip4(uint32_t a, char *b)
{
	return inet_ntop(AF_INET, &a, b, INET_ADDRSTRLEN);
}

/* IOS status words for an IKEv2 SA. */
static const char *status_word(enum ike_sa_state s)
{
	switch (s) {
	case IKE_SA_ESTABLISHED:
	case IKE_SA_REKEYING:
		return "READY";
	case IKE_SA_REKEYED:
		return "READY-REKEYED";
	case IKE_SA_DELETING:
		return "DELETE";
	case IKE_SA_DEAD:
		return "DEAD";
	default:
		return "IN-NEG";
	}
}

/* The first SHOW_MAX SAs; *total says how many exist. */
static struct ike_sa_info *snapshot(size_t *n, size_t *total)
{
	struct ike *ike = ike_default();
	struct ike_sa_info *v;
	size_t k;

	*n = *total = 0;
	if (!ike || !(v = calloc(SHOW_MAX, sizeof(*v))))
		return NULL;
	k = ike_x_list(ike, v, SHOW_MAX);
	*total = k;
	*n = k < SHOW_MAX ? k : SHOW_MAX;
	return v;
}

static void more_note(struct out *o, size_t n, size_t total)
{
	if (total > n)
		out_printf(o, "%% %zu more IKE SAs not shown (show crypto ikev2 stats counts all)\n", total - n);
}

static void tunnel_name(unsigned t, char *b, size_t cap)
{
	if (t == IKE_TUNNEL_NONE)
		snprintf(b, cap, "none");
	else
		snprintf(b, cap, "Tunnel%u", t);
}

static void print_children(struct out *o, const struct ike_sa_info *s)
{
	struct ike_child_brief c[16];
	uint64_t spi = s->initiator ? s->spi_i : s->spi_r;
	size_t n = ike_x_children(ike_default(), spi, c, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		out_printf(o, "      Child sa: spi in 0x%08X out 0x%08X, %s, %s, age %u/%u sec\n", c[i].spi_in,
			   c[i].spi_out, c[i].state, c[i].udp_encap ? "UDP-encapsulated" : "ESP",
			   c[i].age_sec, c[i].lifetime_sec);
}

static int cmd_ikev2_sa(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	int detail = argc > 4 && !strcmp(argv[4], "detail");
	size_t n;
	size_t total;
	struct ike_sa_info *v = snapshot(&n, &total);
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN], tn[24], lp[32], rp[32];
	(void)ctx;

	out_printf(o, " IPv4 Crypto IKEv2  SA \n\n");
	out_printf(o, "Tunnel-id Local                 Remote                fvrf/ivrf            Status \n");
	for (size_t i = 0; i < n; i++) {
		const struct ike_sa_info *s = &v[i];
		tunnel_name(s->tunnel, tn, sizeof(tn));
		snprintf(lp, sizeof(lp), "%s/%u", ip4(s->local, l), s->local_port);
		snprintf(rp, sizeof(rp), "%s/%u", ip4(s->peer, r), s->peer_port);
		out_printf(o, "%-9u %-21s %-21s %-20s %s \n", s->id, lp, rp, "none/none", status_word(s->state));
		out_printf(o, "      Encr: %s, PRF: %s, Hash: %s, DH Grp:%d, Auth sign: PSK, Auth verify: PSK\n",
			   s->encr[0] ? s->encr : "unknown", s->prf[0] ? s->prf : "None",
			   s->integ[0] ? s->integ : "None", s->dh_group);
		out_printf(o, "      Life/Active Time: %u/%u sec\n", s->lifetime_sec, s->age_sec);
		if (!detail)
			continue;
		out_printf(o, "      CE id: 0, Session-id: %u\n", s->id);
		out_printf(o, "      Status Description: %s (%s)\n", status_word(s->state), ike_sa_state_name(s->state));
		out_printf(o, "      Local spi: %016llX       Remote spi: %016llX\n",
			   (unsigned long long)(s->initiator ? s->spi_i : s->spi_r),
			   (unsigned long long)(s->initiator ? s->spi_r : s->spi_i));
		out_printf(o, "      Local id: %s\n      Remote id: %s\n", s->local_id, s->remote_id);
		out_printf(o, "      Interface: %s\n", tn);
		out_printf(o, "      Initiator of SA : %s\n", s->initiator ? "Yes" : "No");
		out_printf(o, "      NAT-T is %s\n", s->nat ? "detected (ESP in UDP/4500)" : "not detected");
		print_children(o, s);
	}
	more_note(o, n, total);
	out_printf(o, "\n IPv6 Crypto IKEv2  SA \n\n");
	free(v);
	return 0;
}

static int cmd_isakmp_sa(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	size_t n;
	size_t total;
	struct ike_sa_info *v = snapshot(&n, &total);
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];
	(void)ctx, (void)argc, (void)argv;

	out_printf(o, "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id status\n");
	for (size_t i = 0; i < n; i++)
		out_printf(o, "%-15s %-15s %-14s %7llu %s (IKEv2)\n", ip4(v[i].peer, r), ip4(v[i].local, l),
			   status_word(v[i].state), 1000ull + v[i].id,
			   v[i].state == IKE_SA_ESTABLISHED || v[i].state == IKE_SA_REKEYING ? "ACTIVE" : "INACTIVE");
	more_note(o, n, total);
	out_printf(o, "\nIPv6 Crypto ISAKMP SA\n\n");
	free(v);
	return 0;
}

static int cmd_session(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	int detail = argc > 3 && !strcmp(argv[3], "detail");
	size_t n;
	size_t total;
	struct ike_sa_info *v = snapshot(&n, &total);
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN], tn[24];
	(void)ctx;

	out_printf(o, "Crypto session current status\n\n");
	for (size_t i = 0; i < n; i++) {
		const struct ike_sa_info *s = &v[i];
		int up = s->state == IKE_SA_ESTABLISHED || s->state == IKE_SA_REKEYING;
		tunnel_name(s->tunnel, tn, sizeof(tn));
		out_printf(o, "Interface: %s\n", tn);
		out_printf(o, "Session status: %s\n", up && s->n_child ? "UP-ACTIVE" : up ? "UP-IDLE" : "DOWN-NEGOTIATING");
		out_printf(o, "Peer: %s port %u\n", ip4(s->peer, r), s->peer_port);
		out_printf(o, "  Session ID: %u\n", s->id);
		out_printf(o, "  IKEv2 SA: local %s/%u remote %s/%u %s\n", ip4(s->local, l), s->local_port,
			   r, s->peer_port, up ? "Active" : "Inactive");
		out_printf(o, "  IPSEC FLOW: permit ip 0.0.0.0/0.0.0.0 0.0.0.0/0.0.0.0\n");
		out_printf(o, "        Active SAs: %u, origin: crypto map\n", s->n_child * 2);
		if (detail) {
			out_printf(o, "  Remote id: %s, Local id: %s\n", s->remote_id, s->local_id);
			print_children(o, s);
		}
		out_printf(o, "\n");
	}
	free(v);
	return 0;
}

static int cmd_sockets(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	size_t n, k = 0;
	size_t total;
	struct ike_sa_info *v = snapshot(&n, &total);
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];
	(void)ctx, (void)argc, (void)argv;

	for (size_t i = 0; i < n; i++)
		k += v[i].tunnel != IKE_TUNNEL_NONE;
	out_printf(o, "\nNumber of Crypto Socket connections %zu\n\n", k);
	for (size_t i = 0; i < n; i++) {
		const struct ike_sa_info *s = &v[i];
		int up = s->state == IKE_SA_ESTABLISHED || s->state == IKE_SA_REKEYING;
		if (s->tunnel == IKE_TUNNEL_NONE)
			continue;
		out_printf(o, "   Tu%u Peers (local/remote): %s/%s \n", s->tunnel, ip4(s->local, l), ip4(s->peer, r));
		out_printf(o, "       Local Ident  (addr/mask/port/prot): (0.0.0.0/0.0.0.0/0/0)\n");
		out_printf(o, "       Remote Ident (addr/mask/port/prot): (0.0.0.0/0.0.0.0/0/0)\n");
		out_printf(o, "       Socket State: %s\n", up ? "Open" : "Opening");
		out_printf(o, "       Client: \"TUNNEL SEC\" (Client State: %s)\n", up ? "Active" : "Inactive");
	}
	out_printf(o, "Crypto Sockets in Listen state:\n");
	out_printf(o, "Client: \"TUNNEL SEC\" Profile: \"IKEv2\" Map-name: \"Tunnel-head-0\"\n\n");
	free(v);
	return 0;
}

static const char *limit_str(uint32_t n, char *buf)
{
	if (!n)
		return "none";
	snprintf(buf, 12, "%u", n);
	return buf;
}

static int cmd_stats(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct ike_counters c;
	char l[3][12];
	(void)ctx, (void)argc, (void)argv;

	if (!ike_default())
		return 1;
	ike_x_counters(ike_default(), &c);
	out_printf(o, "IKEv2 SAs: %zu (half-open %u), CHILD_SAs: %zu\n", c.n_sa, c.half_open, c.n_child);
	out_printf(o, "Messages: in %llu, out %llu, malformed %llu, dropped %llu, retransmits %llu, cookies sent %llu\n",
		   (unsigned long long)c.rx, (unsigned long long)c.tx, (unsigned long long)c.rx_bad,
		   (unsigned long long)c.rx_dropped, (unsigned long long)c.retransmits,
		   (unsigned long long)c.cookies_sent);
	out_printf(o, "NAT keepalives sent: %llu\n", (unsigned long long)c.natka_sent);
	out_printf(o, "Max IKEv2 SAs: %s        Max in nego(in/out): %s/%s\n", limit_str(c.max_sa, l[0]),
		   limit_str(c.max_nego_in, l[1]), limit_str(c.max_nego_out, l[2]));
	out_printf(o, "In negotiation: incoming %u, outgoing %u\n", c.half_open, c.nego_out);
	out_printf(o, "Refused by crypto ikev2 limit: SA limit %llu, in-negotiation incoming %llu, own initiations %llu; "
		      "unanswered half-open SAs that gave way %llu\n",
		   (unsigned long long)c.rej_sa_limit, (unsigned long long)c.rej_nego_in,
		   (unsigned long long)c.rej_out, (unsigned long long)c.evicted);
	return 0;
}

static int cmd_clear(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	uint32_t peer = 0;
	(void)ctx;

	if (!ike_default())
		return 1;
	if (argc == 5 && inet_pton(AF_INET, argv[4], &peer) != 1) {
		out_printf(o, "%% Invalid address: %s\n", argv[4]);
		return 1;
	}
	ike_x_clear(ike_default(), peer);
	return 0;
}

void ike_register_commands(void)
{
	exec_register("show crypto ikev2 sa", cmd_ikev2_sa, "IKEv2 security associations");
	exec_register("show crypto ikev2 sa detail", cmd_ikev2_sa, "IKEv2 SAs with SPIs, identities and CHILD_SAs");
	exec_register("show crypto ikev2 stats", cmd_stats, "IKEv2 message and SA counters");
	exec_register("show crypto isakmp sa", cmd_isakmp_sa, "IKE SAs (the IKEv2 SAs, in ISAKMP form)");
	exec_register("show crypto session", cmd_session, "Crypto sessions");
	exec_register("show crypto session detail", cmd_session, "Crypto sessions with SAs");
	exec_register("show crypto sockets", cmd_sockets, "Crypto sockets (tunnel protection)");
	exec_register("clear crypto session", cmd_clear, "Delete all IKE and IPsec SAs (with DELETE)");
	exec_register("clear crypto session remote A.B.C.D", cmd_clear, "Delete the SAs with one peer");
	exec_register("clear crypto ikev2 sa", cmd_clear, "Delete all IKEv2 SAs (with DELETE)");
}
