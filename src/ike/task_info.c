/* INFORMATIONAL exchanges (RFC 7296 §1.4, §1.5, §2.21): DELETE of CHILD and
 * IKE SAs, liveness checks (DPD), and INVALID_SPI in both directions.
 *
 *   HDR, SK {[N], [D], ...}  -->
 *                           <--  HDR, SK {[N], [D], ...}
 *
 * INVALID_SPI is insync's repair path for out-of-sync SAs: a protected one
 * for one of our outbound SPIs means the peer lost that CHILD_SA, so we
 * delete it (sending DELETE) and negotiate a replacement at once. An
 * unprotected one is only a hint (§2.21.4): it never deletes anything; it
 * triggers one rate-limited liveness check of the IKE SA with that address.
 *
 * Liveness (the seeds' keepalive/DPD): periodic checks after INTERVAL with
 * nothing received; on-demand checks only when we sent ESP and received
 * nothing for INTERVAL (catches one-way failures). The check retransmits
 * every RETRY seconds; after the third unanswered retransmission the peer
 * is dead. The same tick enforces the CHILD_SA idle timeout. */
#include <arpa/inet.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ops/debug.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"

#define HINT_INTERVAL_MS 1000 /* unprotected INVALID_SPI: one liveness check per second per SA */
#define DPD_TICK_MS 1000

static const char *ipstr(uint32_t a, char *b)
{
	return inet_ntop(AF_INET, &a, b, INET_ADDRSTRLEN);
}

int task_info_start(struct ike_sa *sa, const struct ike_task *t)
{
	struct ike *ike = sa->ike;
	struct child_sa *c;
	struct ike_pb b;
	uint8_t spib[4];

	pb_init(&b);
	switch (t->kind) {
	case T_DEL_CHILD:
		c = child_sa_by_in(ike, t->arg);
		if (c && c->ike != sa) {
			xchg_queue(c->ike, T_DEL_CHILD, t->arg);
			return -1;
		}
		if (!c)
			return -1;
		child_sa_set_state(c, CHILD_DELETING);
		if (ike->drop_deletes) { /* lab hook: the DELETE is "lost" */
			ike->drop_deletes--;
			DBG(DBG_IKE, sa->peer, "IKEv2:test: DELETE for CHILD_SA 0x%08X not sent", c->ci.spi_in);
			child_sa_destroy(c, 0);
			return -1;
		}
		ike_pld_d_put(&b, IKE_PROTO_ESP, 4, &c->ci.spi_in, 1);
		flightrec_record(sa->peer, FR_DELETE_SENT, IKE_PROTO_ESP, c->ci.spi_in, 1);
		break;
	case T_DEL_IKE:
		ike_sa_set_state(sa, IKE_SA_DELETING);
		if (ike->drop_deletes) {
			ike->drop_deletes--;
			ike_emit(sa, IKE_EV_DELETED, 0);
			ike_sa_destroy(sa);
			return -1;
		}
		ike_pld_d_put(&b, IKE_PROTO_IKE, 0, NULL, 0);
		flightrec_record(sa->peer, FR_DELETE_SENT, IKE_PROTO_IKE, sa->spi_i, 0);
		break;
	case T_DPD:
		metrics_inc(MC_DPD_SENT);
		flightrec_record(sa->peer, FR_DPD_SENT, sa->msgid_next, 0, 0);
		break;
	case T_DEL_PEER_SPI:
		/* A DELETE names SPIs we would receive on (§3.11): for an SPI the
		 * peer still sends on but we no longer have, it makes a peer that
		 * ignores INVALID_SPI drop its stale outbound SA, as IOS does. */
		ike_pld_d_put(&b, IKE_PROTO_ESP, 4, &t->arg, 1);
		flightrec_record(sa->peer, FR_DELETE_SENT, IKE_PROTO_ESP, t->arg, 1);
		break;
	case T_INVALID_SPI:
		/* §3.10.1: protocol ESP, the SPI in the notification data. */
		put_be32(spib, t->arg);
		ike_pld_n_put(&b, IKE_PROTO_ESP, NULL, 0, N_INVALID_SPI, spib, 4);
		flightrec_record(sa->peer, FR_INVALID_SPI_NOTIFY_SENT, t->arg, 0, 0);
		break;
	default:
		return -1;
	}
	return xchg_send_request(sa, INFORMATIONAL, &b);
}

void task_info_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct child_sa *c;

	switch (sa->cur.kind) {
	case T_DEL_CHILD:
		/* The peer removed its side; our inbound half stays a little for stragglers. */
		if ((c = child_sa_by_in(sa->ike, sa->cur.arg)))
			child_sa_destroy(c, CHILD_GRACE_MS);
		break;
	case T_DEL_IKE:
		ike_emit(sa, IKE_EV_DELETED, 0);
		ike_sa_destroy(sa);
		break;
	case T_DPD:
		flightrec_record(sa->peer, FR_DPD_ACK, sa->msgid_next - 1, 0, 0);
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):Liveness check answered",
		    (unsigned long long)ike_sa_local_spi(sa));
		break;
	default:
		break;
	}
	(void)m;
}

/* A protected INVALID_SPI for spi: the peer cannot decrypt what we send on it. */
static void info_invalid_spi(struct ike_sa *sa, uint32_t spi)
{
	struct child_sa *c = child_sa_by_out(sa, spi);
	char a[INET_ADDRSTRLEN];
	unsigned tun;

	if (!c || c->state == CHILD_DELETING) {
		DBG(DBG_IKE, sa->peer, "IKEv2:INVALID_SPI for 0x%08X: not one of our outbound SPIs, ignored", spi);
		return;
	}
	tun = c->ci.tunnel;
	flightrec_record(sa->peer, FR_INVALID_SPI_NOTIFY_RECV, spi, 0, 0);
	log_ios(LOG_SEV_NOTICE, "CRYPTO", "INVALID_SPI_RECEIVED",
		"Peer %s cannot decrypt spi=0x%08X(%u): deleting that SA and negotiating a new one",
		ipstr(sa->peer, a), spi, spi);
	ike_emit(sa, IKE_EV_INVALID_SPI_RECEIVED, spi);
	/* DELETE (which also stops our sending on it), then a fresh pair. */
	xchg_queue(sa, T_DEL_CHILD, c->ci.spi_in);
	if (tun != IKE_TUNNEL_NONE)
		xchg_queue(sa, T_CHILD, tun);
}

static void info_delete(struct ike_sa *sa, const struct ike_delete_pld *d, uint32_t *ours, uint16_t *n,
			int *del_ike)
{
	flightrec_record(sa->peer, FR_DELETE_RECV, d->proto, d->num && d->spi_size == 4 ? get_be32(d->spis) : 0,
			 d->num);
	if (d->proto == IKE_PROTO_IKE) {
		*del_ike = 1;
		return;
	}
	if (d->proto != IKE_PROTO_ESP || d->spi_size != 4)
		return;
	for (uint16_t i = 0; i < d->num; i++) {
		uint32_t spi = get_be32(d->spis + 4 * (size_t)i);
		struct child_sa *c = child_sa_by_out(sa, spi);
		if (!c)
			continue;
		DBG(DBG_IKE, sa->peer, "IKEv2:Peer deleted CHILD_SA spi out 0x%08X (in 0x%08X)", spi, c->ci.spi_in);
		if (*n < 64)
			ours[(*n)++] = c->ci.spi_in;
		/* A rekey successor that waited for this DELETE may send now. */
		for (struct child_sa *s = sa->children; s; s = s->next)
			if (s->pred == c)
				task_child_out_now(s);
		if (c->state == CHILD_DELETING) {
			continue; /* our own DELETE crossed it: its response removes it */
		}
		child_sa_destroy(c, CHILD_GRACE_MS);
	}
}

void task_info_respond(struct ike_sa *sa, const struct ike_msg *m)
{
	uint32_t ours[64];
	uint16_t n = 0;
	int del_ike = 0;
	struct ike_pb b;

	/* Validate every payload before acting on any. */
	for (int i = 0; i < m->n; i++) {
		struct ike_delete_pld d;
		struct ike_notify_pld nt;
		if (m->pld[i].type == IKE_PLD_D && ike_pld_d_parse(m->pld[i].p, m->pld[i].len, &d))
			goto syntax;
		if (m->pld[i].type == IKE_PLD_N && ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &nt))
			goto syntax;
	}
	for (int i = 0; i < m->n; i++) {
		struct ike_delete_pld d;
		struct ike_notify_pld nt;
		if (m->pld[i].type == IKE_PLD_D && !ike_pld_d_parse(m->pld[i].p, m->pld[i].len, &d)) {
			info_delete(sa, &d, ours, &n, &del_ike);
		} else if (m->pld[i].type == IKE_PLD_N && !ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &nt) &&
			   nt.type == N_INVALID_SPI) {
			/* SPI size 0 with the SPI in the data is what the RFC asks; accept both. */
			if (nt.spi_size == 4)
				info_invalid_spi(sa, get_be32(nt.spi));
			else if (nt.spi_size == 0 && nt.data_len == 4)
				info_invalid_spi(sa, get_be32(nt.data));
		}
	}
	pb_init(&b);
	if (del_ike) {
		char a[INET_ADDRSTRLEN];
		xchg_send_response(sa, INFORMATIONAL, m->msgid, &b);
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):Peer %s deleted the IKE SA",
		    (unsigned long long)ike_sa_local_spi(sa), ipstr(sa->peer, a));
		ike_emit(sa, IKE_EV_DELETED, 0);
		ike_sa_destroy(sa);
		return;
	}
	if (n)
		ike_pld_d_put(&b, IKE_PROTO_ESP, 4, ours, n);
	xchg_send_response(sa, INFORMATIONAL, m->msgid, &b);
	return;
syntax:
	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, N_INVALID_SYNTAX, NULL, 0);
	xchg_send_response(sa, INFORMATIONAL, m->msgid, &b);
}

/* An unauthenticated INFORMATIONAL (no SK, or no SA of ours). Only a hint. */
void task_info_unprotected(struct ike *ike, const struct ike_msg *m, uint32_t peer)
{
	uint64_t now = loop_now_ms();

	for (int i = 0; i < m->n; i++) {
		struct ike_notify_pld nt;
		uint32_t spi = 0;
		if (m->pld[i].type != IKE_PLD_N || ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &nt) ||
		    nt.type != N_INVALID_SPI)
			continue;
		if (nt.spi_size == 4)
			spi = get_be32(nt.spi);
		else if (nt.data_len == 4)
			spi = get_be32(nt.data);
		for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa)) {
			if (sa->destroyed || sa->state != IKE_SA_ESTABLISHED || now - sa->hint_ms < HINT_INTERVAL_MS)
				continue;
			sa->hint_ms = now;
			DBG(DBG_IKE, peer, "IKEv2:Unprotected INVALID_SPI for 0x%08X: checking liveness only", spi);
			ike_emit(sa, IKE_EV_INVALID_SPI_HINT, spi);
			xchg_queue(sa, T_DPD, 0);
		}
		return;
	}
}

/* Retransmissions ran out. For a liveness check that is the seeds' dead peer. */
void task_peer_dead(struct ike_sa *sa)
{
	char a[INET_ADDRSTRLEN];

	ipstr(sa->peer, a);
	if (sa->state == IKE_SA_REKEYED || sa->state == IKE_SA_DELETING) {
		/* A DELETE nobody answered: the peer forgot this SA already. */
		ike_emit(sa, IKE_EV_DELETED, 0);
		ike_sa_destroy(sa);
		return;
	}
	if (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_REKEYING) {
		log_ios(LOG_SEV_NOTICE, "IKEV2", "PEER_DEAD",
			"Peer %s is not responding (%u retransmissions of a %s unanswered): deleting its SAs", a,
			sa->retx, sa->cur.kind == T_DPD ? "liveness check" : "request");
		flightrec_record(sa->peer, FR_DPD_DEAD, sa->retx, 0, 0);
		ike_emit(sa, IKE_EV_DEAD, 0);
	} else {
		log_ios(LOG_SEV_NOTICE, "IKEV2", "NEGOTIATION_FAILED", "No response from %s during %s", a,
			sa->state == IKE_SA_CONNECTING ? "IKE SA setup" : "an exchange");
	}
	ike_tun_sa_gone(sa, 1);
	ike_sa_destroy(sa);
}

/* Latest inbound and outbound ESP activity over the SA's CHILD_SAs. */
static void dpd_activity(struct ike_sa *sa, uint64_t *in, uint64_t *out)
{
	struct ike *ike = sa->ike;

	*in = *out = 0;
	if (!ike->env.child_activity)
		return;
	for (struct child_sa *c = sa->children; c; c = c->next) {
		uint64_t i = 0, o = 0;
		if (ike->env.child_activity(ike->env.arg, c->ci.spi_in, c->ci.spi_out, &i, &o))
			continue;
		*in = i > *in ? i : *in;
		*out = o > *out ? o : *out;
	}
}

/* Idle timeout: a CHILD_SA pair with no traffic either way for idle_time goes, with a DELETE. */
static void dpd_idle(struct ike_sa *sa, uint64_t now)
{
	struct ike *ike = sa->ike;

	if (!ike->env.child_activity)
		return;
	for (struct child_sa *c = sa->children; c; c = c->next) {
		uint32_t idle = c->ike->pc.esp.idle_time ? c->ike->pc.esp.idle_time : ike->idle_time;
		uint64_t i = 0, o = 0, last;
		if (!idle || c->state != CHILD_INSTALLED ||
		    ike->env.child_activity(ike->env.arg, c->ci.spi_in, c->ci.spi_out, &i, &o))
			continue;
		last = i > o ? i : o;
		if (last < c->created_ms)
			last = c->created_ms;
		if (now - last >= loop_scaled_ms((uint64_t)idle * 1000)) {
			log_ios(LOG_SEV_INFO, "CRYPTO", "IPSEC_SA_IDLE",
				"CHILD_SA spi in 0x%08X out 0x%08X idle for %u s: deleting", c->ci.spi_in,
				c->ci.spi_out, idle);
			xchg_queue(sa, T_DEL_CHILD, c->ci.spi_in);
		}
	}
}

static void dpd_tick(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	uint64_t now = loop_now_ms(), in, out, last_in, iv = loop_scaled_ms((uint64_t)sa->pc.dpd_interval * 1000);

	if (sa->destroyed || sa->state != IKE_SA_ESTABLISHED) {
		timer_arm(t, DPD_TICK_MS);
		return;
	}
	dpd_idle(sa, now);
	if (sa->pc.has_dpd && iv && !sa->req && sa->cur.kind == T_NONE) {
		dpd_activity(sa, &in, &out);
		last_in = in > sa->last_rx_ms ? in : sa->last_rx_ms;
		if (sa->pc.dpd_mode == CFG_DPD_PERIODIC) {
			if (now - last_in >= iv)
				xchg_queue(sa, T_DPD, 0);
		} else if (out > last_in && now - last_in >= iv) {
			/* on-demand: we are sending and hearing nothing back */
			xchg_queue(sa, T_DPD, 0);
		}
	}
	timer_arm(t, DPD_TICK_MS);
}

void task_dpd_arm(struct ike_sa *sa)
{
	timer_init(&sa->t_dpd, dpd_tick, sa);
	timer_arm(&sa->t_dpd, DPD_TICK_MS);
}

/* RFC 3948 §4: behind a NAT, a one-byte 0xFF from port 4500 keeps the
 * mapping open while nothing else goes out (`crypto ikev2 nat keepalive`;
 * IOS sends none unless configured). Only the side behind the NAT sends. */
static void natka_due(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	struct ike *ike = sa->ike;
	uint64_t now = loop_now_ms(), iv = loop_scaled_ms(ike->natka_ms), in, out;

	(void)t;
	if (!ike->natka_ms || !sa->nat_local || sa->destroyed)
		return;
	dpd_activity(sa, &in, &out);
	if ((!out || now - out >= iv) && ike->env.send_natka &&
	    ike->env.send_natka(ike->env.arg, sa->local, sa->peer, sa->pport) == 0) {
		ike->natka_sent++;
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):NAT keepalive sent to port %u",
		    (unsigned long long)ike_sa_local_spi(sa), sa->pport);
	}
	timer_arm(&sa->t_natka, ike->natka_ms);
}

void task_natka_arm(struct ike_sa *sa)
{
	timer_init(&sa->t_natka, natka_due, sa);
	if (sa->ike->natka_ms && sa->nat_local)
		timer_arm(&sa->t_natka, sa->ike->natka_ms);
}
