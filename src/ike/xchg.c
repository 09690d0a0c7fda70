/* The exchange manager of an IKE SA: message IDs with a window of 1, a queue
 * of tasks waiting for the window, retransmission of our request with
 * exponential backoff, the response cache for retransmitted requests, and the
 * dispatch of every received message (ike_x_input lands here). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ops/debug.h"
#include "ops/flightrec.h"
#include "ops/log.h"

int xchg_send_raw(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		  const uint8_t *p, size_t len)
{
	ike->tx++;
	return ike->env.send ? ike->env.send(ike->env.arg, local, lport, peer, pport, p, len) : -1;
}

static void xchg_log(const struct ike_sa *sa, int out, uint8_t exch, uint8_t flags, uint32_t msgid,
		     const char *plds)
{
	char a[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
	inet_ntop(AF_INET, &sa->local, l, sizeof(l));
	debug_log(DBG_IKE,
		  "IKEv2:(SA ID %016llx):%s Packet [%s %s:%u/%s %s:%u] Initiator SPI : %016llX - "
		  "Responder SPI : %016llX Message id: %u IKEv2 %s Exchange %s Payload contents: %s",
		  (unsigned long long)ike_sa_local_spi(sa), out ? "Sending" : "Received",
		  out ? "To" : "From", a, sa->pport, out ? "From" : "To", l, sa->lport,
		  (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, msgid,
		  ike_exch_name(exch), flags & IKE_FLAG_R ? "RESPONSE" : "REQUEST", plds);
}

void xchg_log_msg(const struct ike_sa *sa, int out, const struct ike_msg *m, uint32_t peer,
		  uint16_t port)
{
	char plds[256];
	uint64_t mask = m->flags & IKE_FLAG_R ? (uint64_t)1 << 63 : 0;
	(void)peer, (void)port;
	for (int i = 0; i < m->n; i++)
		mask |= FR_PLD_BIT(m->pld[i].type);
	flightrec_record(sa->peer, FR_IKE_RECV, m->exch, m->msgid, mask);
	if (!DEBUG_ON(DBG_IKE, sa->peer))
		return;
	ike_msg_describe(m, plds, sizeof(plds));
	xchg_log(sa, out, m->exch, m->flags, m->msgid, plds);
}

static int xchg_build(struct ike_sa *sa, uint8_t exch, uint8_t flags, uint32_t msgid,
		      const struct ike_pb *b, uint8_t *out, size_t cap)
{
	struct ike_hdr h = {sa->spi_i, sa->spi_r, exch, flags, msgid};
	struct ike_sk sk;
	uint64_t mask = flags & IKE_FLAG_R ? (uint64_t)1 << 63 : 0;
	uint8_t t = b->first;

	if (sa->initiator)
		h.flags |= IKE_FLAG_I;
	if (DEBUG_ON(DBG_IKE, sa->peer)) {
		char plds[256];
		ike_pb_describe(b, plds, sizeof(plds));
		xchg_log(sa, 1, exch, h.flags, msgid, plds);
	}
	/* The payloads we built, as the receive side lists them: the inner ones
	 * of an encrypted message, not SK. A walk of the generic headers in b,
	 * cheap enough for every message. */
	for (size_t off = 0; t != IKE_PLD_NONE && !b->w.err && off + IKE_PLD_HDR_LEN <= b->w.len;) {
		size_t len = get_be16(b->buf + off + 2);
		mask |= FR_PLD_BIT(t);
		if (len < IKE_PLD_HDR_LEN)
			break;
		t = b->buf[off];
		off += len;
	}
	flightrec_record(sa->peer, FR_IKE_SENT, exch, msgid, mask);
	if (exch == IKE_SA_INIT)
		return ike_msg_build(&h, b, NULL, out, cap);
	keymat_sk(&sa->k, sa->initiator, &sk);
	return ike_msg_build(&h, b, &sk, out, cap);
}

static void xchg_retransmit(struct timer *t, void *arg);

static uint32_t xchg_first_ms(const struct ike_sa *sa)
{
	if (sa->cur.kind == T_DPD && sa->pc.has_dpd && sa->pc.dpd_retry)
		return sa->pc.dpd_retry * 1000;
	return XCHG_RETX_FIRST_MS;
}

int xchg_send_request(struct ike_sa *sa, uint8_t exch, const struct ike_pb *b)
{
	uint8_t out[IKE_BUILD_MAX + 256];
	int n = xchg_build(sa, exch, 0, sa->msgid_next, b, out, sizeof(out));
	uint8_t *copy;

	if (n < 0 || !(copy = malloc((size_t)n)))
		return -1;
	memcpy(copy, out, (size_t)n);
	free(sa->req);
	sa->req = copy;
	sa->req_len = (size_t)n;
	sa->req_exch = exch;
	sa->retx = 0;
	sa->retx_ms = xchg_first_ms(sa);
	timer_init(&sa->t_retx, xchg_retransmit, sa);
	timer_arm(&sa->t_retx, sa->retx_ms);
	xchg_send_raw(sa->ike, sa->local, sa->lport, sa->peer, sa->pport, out, (size_t)n);
	return 0;
}

int xchg_send_response(struct ike_sa *sa, uint8_t exch, uint32_t msgid, const struct ike_pb *b)
{
	uint8_t out[IKE_BUILD_MAX + 256];
	int n = xchg_build(sa, exch, IKE_FLAG_R, msgid, b, out, sizeof(out));
	uint8_t *copy;

	if (n < 0)
		return -1;
	if ((copy = realloc(sa->resp, (size_t)n))) {
		memcpy(copy, out, (size_t)n);
		sa->resp = copy;
		sa->resp_len = (size_t)n;
		sa->resp_msgid = msgid;
		sa->resp_valid = 1;
	}
	return xchg_send_raw(sa->ike, sa->local, sa->lport, sa->peer, sa->pport, out, (size_t)n);
}

void xchg_cancel(struct ike_sa *sa)
{
	timer_cancel(&sa->t_retx);
	free(sa->req);
	sa->req = NULL;
	sa->req_len = 0;
}

void xchg_request_done(struct ike_sa *sa)
{
	xchg_cancel(sa);
	sa->msgid_next++;
	sa->cur.kind = T_NONE;
}

static void xchg_retransmit(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	unsigned max = sa->cur.kind == T_DPD ? XCHG_DPD_RETX_MAX : XCHG_RETX_MAX;
	char a[INET_ADDRSTRLEN];
	(void)t;

	if (!sa->req)
		return;
	if (sa->retx >= max) {
		inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx): %s: no response after %u retransmissions",
		    (unsigned long long)ike_sa_local_spi(sa), a, sa->retx);
		task_peer_dead(sa);
		return;
	}
	sa->retx++;
	sa->ike->retransmits++;
	if (sa->cur.kind != T_DPD) {
		sa->retx_ms *= 2;
		if (sa->retx_ms > XCHG_RETX_CAP_MS)
			sa->retx_ms = XCHG_RETX_CAP_MS;
	}
	flightrec_record(sa->peer, FR_IKE_RETRANSMIT, sa->req_exch, sa->msgid_next, sa->retx);
	DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):Retransmitting packet, attempt %u",
	    (unsigned long long)ike_sa_local_spi(sa), sa->retx);
	timer_arm(&sa->t_retx, sa->retx_ms);
	xchg_send_raw(sa->ike, sa->local, sa->lport, sa->peer, sa->pport, sa->req, sa->req_len);
}

void xchg_queue(struct ike_sa *sa, uint8_t kind, uint32_t arg)
{
	if (sa->destroyed)
		return;
	/* A replaced IKE SA only deletes itself; other work moves to its successor. */
	if (sa->replaced_by && kind != T_DEL_IKE && !sa->replaced_by->destroyed) {
		xchg_queue(sa->replaced_by, kind, arg);
		return;
	}
	for (int i = 0; i < sa->nq; i++)
		if (sa->q[i].kind == kind && sa->q[i].arg == arg)
			goto kick;
	if (sa->cur.kind == kind && sa->cur.arg == arg && sa->req)
		goto kick;
	if (sa->nq >= IKE_QUEUE_MAX) {
		if (kind != T_DEL_IKE) {
			sa->ike->rx_dropped++;
			DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):task queue full (%d), task %u dropped",
			    (unsigned long long)ike_sa_local_spi(sa), IKE_QUEUE_MAX, kind);
			return;
		}
		/* Deleting the IKE SA must never be lost (`clear crypto session`
		 * behind a backlog toward a slow peer): what waits is moot now. */
		sa->nq = 0;
	}
	/* Deleting the IKE SA goes first: nothing else matters after it. */
	if (kind == T_DEL_IKE) {
		memmove(&sa->q[1], &sa->q[0], (size_t)sa->nq * sizeof(sa->q[0]));
		sa->q[0] = (struct ike_task){kind, arg};
	} else {
		sa->q[sa->nq] = (struct ike_task){kind, arg};
	}
	sa->nq++;
kick:
	xchg_kick(sa);
}

void xchg_kick(struct ike_sa *sa)
{
	while (!sa->destroyed && !sa->req && sa->nq) {
		struct ike_task t = sa->q[0];
		int rc;

		if (t.kind != T_INIT && t.kind != T_AUTH && sa->state != IKE_SA_ESTABLISHED &&
		    sa->state != IKE_SA_REKEYING && sa->state != IKE_SA_REKEYED &&
		    sa->state != IKE_SA_DELETING)
			return; /* wait for the IKE SA */
		memmove(&sa->q[0], &sa->q[1], (size_t)(sa->nq - 1) * sizeof(sa->q[0]));
		sa->nq--;
		sa->cur = t;
		switch (t.kind) {
		case T_INIT:
			rc = task_init_start(sa);
			break;
		case T_AUTH:
			rc = task_auth_start(sa);
			break;
		case T_CHILD:
		case T_CHILD_REKEY:
		case T_IKE_REKEY:
			rc = task_child_start(sa, &t);
			break;
		default:
			rc = task_info_start(sa, &t);
			break;
		}
		if (rc && t.kind == T_INIT) {
			/* Left as it is, the SA would hold its tunnel (and a limit's
			 * slot) with nothing to retry it. */
			ike_sa_fail(sa, "IKE_SA_INIT", "could not be sent");
			return;
		}
		if (rc)
			sa->cur.kind = T_NONE;
	}
}

static void xchg_resend_cached(struct ike *ike, struct ike_sa *sa, uint32_t local, uint16_t lport,
			       uint32_t peer, uint16_t pport)
{
	DBG(DBG_IKE, peer, "IKEv2:(SA ID %016llx):Retransmitted request, resending cached response",
	    (unsigned long long)ike_sa_local_spi(sa));
	xchg_send_raw(ike, local, lport, peer, pport, sa->resp, sa->resp_len);
}

static void xchg_unsupported_critical(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike_pb b;
	uint8_t t = m->unknown_critical;
	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
	xchg_send_response(sa, m->exch, m->msgid, &b);
}

void xchg_input(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		const uint8_t *p, size_t len)
{
	struct ike_msg m;
	struct ike_sa *sa;
	struct ike_sk sk;
	uint64_t our;

	ike->rx++;
	if (ike_msg_parse(&m, p, len)) {
		ike->rx_bad++;
		DBG(DBG_IKE, peer, "IKEv2:Dropping malformed packet (%zu bytes)", len);
		goto out;
	}
	if (m.exch == IKE_SA_INIT) {
		if (!(m.flags & IKE_FLAG_R)) {
			if (!(m.flags & IKE_FLAG_I) || m.spi_r || m.msgid || !m.spi_i)
				goto drop;
			sa = ike_sa_by_init(ike, peer, m.spi_i);
			if (sa) {
				if (sa->resp_valid)
					xchg_resend_cached(ike, sa, local, lport, peer, pport);
				goto out;
			}
			task_init_respond(ike, &m, local, lport, peer, pport);
			goto out;
		}
		sa = ike_sa_by_spi(ike, m.spi_i);
		if (!sa || !sa->initiator || sa->state != IKE_SA_CONNECTING || sa->cur.kind != T_INIT ||
		    m.msgid != 0 || !sa->req)
			goto drop;
		task_init_response(sa, &m, local, lport, pport);
		goto out;
	}
	our = m.flags & IKE_FLAG_I ? m.spi_r : m.spi_i;
	sa = ike_sa_by_spi(ike, our);
	if (!sa) {
		if (m.exch == INFORMATIONAL && !m.sk)
			task_info_unprotected(ike, &m, peer);
		goto drop;
	}
	/* The sender's I flag must say it holds the other role, and both SPIs must match. */
	if (!!(m.flags & IKE_FLAG_I) == sa->initiator || m.spi_i != sa->spi_i || m.spi_r != sa->spi_r ||
	    !m.sk)
		goto drop;
	if (m.flags & IKE_FLAG_R) {
		struct ike_task t = sa->cur;
		if (!sa->req || m.msgid != sa->msgid_next || m.exch != sa->req_exch)
			goto drop;
		keymat_sk(&sa->k, !sa->initiator, &sk);
		if (ike_msg_decrypt(&m, &sk))
			goto bad;
		xchg_log_msg(sa, 0, &m, peer, pport);
		sa->last_rx_ms = loop_now_ms();
		sa->dpd_fails = 0;
		xchg_request_done(sa);
		sa->cur = t; /* handlers look at what was asked */
		switch (t.kind) {
		case T_AUTH:
			task_auth_response(sa, &m);
			break;
		case T_CHILD:
		case T_CHILD_REKEY:
		case T_IKE_REKEY:
			task_child_response(sa, &m);
			break;
		default:
			task_info_response(sa, &m);
			break;
		}
		/* A handler may have started the next request already (it owns cur then). */
		if (!sa->destroyed) {
			if (!sa->req)
				sa->cur.kind = T_NONE;
			xchg_kick(sa);
		}
		goto out;
	}
	if (sa->resp_valid && m.msgid == sa->resp_msgid && m.msgid + 1 == sa->msgid_peer) {
		/* Checked before any integrity check: only toward the peer's own
		 * address, or anyone knowing the SPIs could reflect it elsewhere. */
		if (peer == sa->peer)
			xchg_resend_cached(ike, sa, local, lport, peer, pport);
		goto out;
	}
	if (m.msgid != sa->msgid_peer)
		goto drop;
	if (sa->state == IKE_SA_CONNECTING && m.exch != IKE_AUTH)
		goto drop;
	if (sa->state == IKE_SA_CREATED || sa->state == IKE_SA_DEAD)
		goto drop;
	keymat_sk(&sa->k, !sa->initiator, &sk);
	if (ike_msg_decrypt(&m, &sk))
		goto bad;
	xchg_log_msg(sa, 0, &m, peer, pport);
	sa->msgid_peer++;
	sa->last_rx_ms = loop_now_ms();
	sa->dpd_fails = 0;
	/* Authenticated: follow the peer's port (NAT mapping, float to 4500), but
	 * only from its address (no MOBIKE): a copy relayed from elsewhere must
	 * not move it. */
	if (peer == sa->peer) {
		sa->lport = lport;
		sa->pport = pport;
	}
	if (m.unknown_critical) {
		xchg_unsupported_critical(sa, &m);
		goto out;
	}
	switch (m.exch) {
	case IKE_AUTH:
		if (sa->initiator || sa->state != IKE_SA_CONNECTING)
			goto out;
		task_auth_respond(sa, &m);
		break;
	case CREATE_CHILD_SA:
		task_child_respond(sa, &m);
		break;
	case INFORMATIONAL:
		task_info_respond(sa, &m);
		break;
	default:
		break;
	}
	goto out;
bad:
	ike->rx_bad++;
	DBG(DBG_IKE, peer, "IKEv2:(SA ID %016llx):Integrity check or decryption failed, dropped",
	    (unsigned long long)our);
	goto out;
drop:
	ike->rx_dropped++;
	DBG(DBG_IKE, peer, "IKEv2:Dropping %s %s message id %u (no matching SA or exchange)",
	    ike_exch_name(m.exch), m.flags & IKE_FLAG_R ? "response" : "request", m.msgid);
out:
	ike_msg_clear(&m);
}
