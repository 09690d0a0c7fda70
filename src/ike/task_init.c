/* IKE_SA_INIT (RFC 7296 §1.2) in both roles, with the INVALID_KE_PAYLOAD
 * retry (§1.3), COOKIE (§2.6) and NAT detection (§2.23).
 *
 *   Initiator                         Responder
 *   HDR, [N(COOKIE),] SA, KE, Ni,
 *        N(NAT_D_S), N(NAT_D_D)  -->
 *                                <--  HDR, SA, KE, Nr, N(NAT_D_S), N(NAT_D_D)
 *
 * Simultaneous initiation between two configured peers: when an IKE_SA_INIT
 * request arrives while our own IKE SA with that peer is still being set up,
 * the IKE SA initiated by the peer with the numerically higher IPv4 address
 * survives. The lower side abandons its own attempt and answers; the higher
 * side ignores the request (the peer abandons it on receiving ours). When
 * exactly one side is behind a NAT (the request's NAT-D payloads say which,
 * the same way on both sides), that side's IKE SA survives instead: addresses
 * differ on either side of a NAT, and the other side's requests may never
 * get through it. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ike/natd.h"
#include "ops/debug.h"
#include "ops/log.h"

static void task_init_natd_put(struct ike_pb *b, uint64_t spi_i, uint64_t spi_r, uint32_t src,
			       uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint8_t h[NATD_LEN];
	if (!natd_hash(spi_i, spi_r, src, sport, h))
		ike_pld_n_put(b, 0, NULL, 0, N_NAT_DETECTION_SOURCE_IP, h, NATD_LEN);
	if (!natd_hash(spi_i, spi_r, dst, dport, h))
		ike_pld_n_put(b, 0, NULL, 0, N_NAT_DETECTION_DESTINATION_IP, h, NATD_LEN);
}

/* NAT-D payloads of a received IKE_SA_INIT: the peer's view of its source
 * (src/sport as we saw it) and of its destination (us). */
static void task_init_natd(const struct ike_msg *m, uint64_t spi_i, uint64_t spi_r, uint32_t local,
			   uint16_t lport, uint32_t peer, uint16_t pport, int *nat_local, int *nat_peer)
{
	uint8_t hs[NATD_LEN], hd[NATD_LEN];
	int have_s = 0, have_d = 0, match_s = 0, match_d = 0;

	natd_hash(spi_i, spi_r, peer, pport, hs);
	natd_hash(spi_i, spi_r, local, lport, hd);
	for (int i = 0; i < m->n; i++) {
		struct ike_notify_pld n;
		if (m->pld[i].type != IKE_PLD_N || ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &n))
			continue;
		if (n.type == N_NAT_DETECTION_SOURCE_IP) {
			have_s = 1;
			match_s |= n.data_len == NATD_LEN && !CRYPTO_memcmp(n.data, hs, NATD_LEN);
		} else if (n.type == N_NAT_DETECTION_DESTINATION_IP) {
			have_d = 1;
			match_d |= n.data_len == NATD_LEN && !CRYPTO_memcmp(n.data, hd, NATD_LEN);
		}
	}
	*nat_peer = have_s && !match_s;
	*nat_local = have_d && !match_d;
}

static void task_init_natd_check(struct ike_sa *sa, const struct ike_msg *m, uint64_t spi_r,
				 uint16_t lport, uint16_t pport)
{
	task_init_natd(m, sa->spi_i, spi_r, sa->local, lport, sa->peer, pport, &sa->nat_local,
		       &sa->nat_peer);
	sa->natt = sa->nat_peer || sa->nat_local;
	if (sa->natt)
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):NAT detected (%s%s)",
		    (unsigned long long)ike_sa_local_spi(sa), sa->nat_local ? "local " : "",
		    sa->nat_peer ? "remote" : "");
}

int task_init_start(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	struct ike_prop props[PROP_MAX_CFG];
	uint8_t pub[DH_MAX_PUB];
	size_t publen;
	struct ike_pb b;
	int np;

	if (!ike->n_props)
		return -1;
	if (!sa->ke_group)
		sa->ke_group = ike->props[0].dh[0];
	if (!sa->dh && !(sa->dh = dh_new(sa->ke_group)))
		return -1;
	if (!sa->ni_len) {
		sa->ni_len = IKE_NONCE_LEN;
		if (RAND_bytes(sa->ni, (int)sa->ni_len) != 1)
			return -1;
	}
	if (dh_pub(sa->dh, pub, sizeof(pub), &publen))
		return -1;
	np = prop_ike_offer(ike->props, ike->n_props, 0, 0, props, PROP_MAX_CFG);
	pb_init(&b);
	if (sa->cookie_len)
		ike_pld_n_put(&b, 0, NULL, 0, N_COOKIE, sa->cookie, sa->cookie_len);
	ike_pld_sa_put(&b, props, np);
	ike_pld_ke_put(&b, sa->ke_group, pub, publen);
	ike_pld_nonce_put(&b, sa->ni, sa->ni_len);
	task_init_natd_put(&b, sa->spi_i, 0, sa->local, sa->lport, sa->peer, sa->pport);
	ike_sa_set_state(sa, IKE_SA_CONNECTING);
	sa->msgid_next = 0;
	return xchg_send_request(sa, IKE_SA_INIT, &b);
}

static int task_ke_parse(const struct ike_msg *m, uint16_t *group, const uint8_t **ke, size_t *kel)
{
	const struct ike_pld *p = ike_msg_find(m, IKE_PLD_KE);
	return p ? ike_pld_ke_parse(p->p, p->len, group, ke, kel) : -1;
}

static int task_nonce(const struct ike_msg *m, const uint8_t **n, size_t *nl)
{
	const struct ike_pld *p = ike_msg_find(m, IKE_PLD_NONCE);
	if (!p || ike_pld_nonce_check(p->len))
		return -1;
	*n = p->p;
	*nl = p->len;
	return 0;
}

/* SKEYSEED and the seven keys from our DH and the peer's KE. */
static int task_init_keys(struct ike_sa *sa, const uint8_t *ke, size_t kel)
{
	uint8_t gir[DH_MAX_SECRET], seed[PRF_MAX_LEN];
	size_t girl;
	int rc = -1;

	if (dh_derive(sa->dh, ke, kel, gir, sizeof(gir), &girl) ||
	    keymat_skeyseed(sa->alg.prf, sa->ni, sa->ni_len, sa->nr, sa->nr_len, gir, girl, seed) ||
	    keymat_ike(&sa->k, &sa->alg, seed, sa->ni, sa->ni_len, sa->nr, sa->nr_len, sa->spi_i,
		       sa->spi_r))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
}

void task_init_response(struct ike_sa *sa, const struct ike_msg *m, uint32_t local, uint16_t lport,
			uint16_t pport)
{
	struct ike *ike = sa->ike;
	struct ike_notify_pld n;
	struct ike_prop rx[IKE_MAX_PROPS];
	const struct ike_pld *sap;
	const uint8_t *ke, *nr;
	size_t kel, nrl;
	uint16_t group, err;
	int nrx;
	(void)local;

	xchg_log_msg(sa, 0, m, sa->peer, pport);
	if (ike_msg_notify(m, N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t g = n.data_len == 2 ? get_be16(n.data) : 0;
		int ok = 0;
		for (int i = 0; i < ike->n_props; i++)
			for (int j = 0; j < ike->props[i].n_dh; j++)
				ok |= ike->props[i].dh[j] == g;
		if (!ok || g == sa->ke_group || sa->init_retries++ >= 3) {
			ike_sa_fail(sa, "IKE_SA_INIT", "INVALID_KE_PAYLOAD");
			return;
		}
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):INVALID_KE_PAYLOAD, retrying with group %u",
		    (unsigned long long)sa->spi_i, g);
		xchg_cancel(sa);
		dh_free(sa->dh);
		sa->dh = NULL;
		sa->ke_group = g;
		if (task_init_start(sa))
			ike_sa_fail(sa, "IKE_SA_INIT", "cannot retry");
		return;
	}
	if (ike_msg_notify(m, N_COOKIE, &n)) {
		if (!n.data_len || n.data_len > sizeof(sa->cookie) || sa->init_retries++ >= 3) {
			ike_sa_fail(sa, "IKE_SA_INIT", "bad COOKIE");
			return;
		}
		memcpy(sa->cookie, n.data, n.data_len);
		sa->cookie_len = n.data_len;
		xchg_cancel(sa);
		if (task_init_start(sa))
			ike_sa_fail(sa, "IKE_SA_INIT", "cannot retry");
		return;
	}
	if ((err = ike_msg_error(m))) {
		const char *nm = ike_notify_name(err);
		ike_sa_fail(sa, "IKE_SA_INIT", nm ? nm : "error notify");
		return;
	}
	/* Validate everything before changing the SA. */
	sap = ike_msg_find(m, IKE_PLD_SA);
	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) || nrx != 1 ||
	    task_ke_parse(m, &group, &ke, &kel) || task_nonce(m, &nr, &nrl) || !m->spi_r)
		goto bad;
	if (group != sa->ke_group ||
	    prop_ike_select(ike->props, ike->n_props, rx, 1, group, &sa->alg) != 0)
		goto bad;
	sa->spi_r = m->spi_r;
	memcpy(sa->nr, nr, nrl);
	sa->nr_len = nrl;
	if (task_init_keys(sa, ke, kel))
		goto bad;
	task_init_natd_check(sa, m, sa->spi_r, sa->lport, sa->pport);
	free(sa->init_i);
	free(sa->init_r);
	sa->init_i = sa->req, sa->init_i_len = sa->req_len;
	sa->req = NULL;
	sa->init_r = malloc(m->raw_len);
	if (!sa->init_r)
		goto bad;
	memcpy(sa->init_r, m->raw, m->raw_len);
	sa->init_r_len = m->raw_len;
	dh_free(sa->dh);
	sa->dh = NULL;
	xchg_request_done(sa);
	if (sa->natt || sa->pc.esp.udp_encap) {
		sa->natt = 1;
		sa->lport = 4500;
		if (sa->pport == 500)
			sa->pport = 4500;
	}
	sa->cur = (struct ike_task){T_AUTH, 0};
	if (task_auth_start(sa))
		ike_sa_fail(sa, "IKE_SA_INIT", "cannot build IKE_AUTH");
	return;
bad:
	ike->rx_bad++;
	ike_sa_fail(sa, "IKE_SA_INIT", "invalid IKE_SA_INIT response");
}

static void task_init_stateless(struct ike *ike, const struct ike_msg *m, uint32_t local,
				uint16_t lport, uint32_t peer, uint16_t pport, uint16_t type,
				const uint8_t *data, size_t dlen)
{
	struct ike_hdr h = {m->spi_i, 0, IKE_SA_INIT, IKE_FLAG_R, 0};
	struct ike_pb b;
	uint8_t out[512];
	int n;

	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, type, data, dlen);
	n = ike_msg_build(&h, &b, NULL, out, sizeof(out));
	DBG(DBG_IKE, peer, "IKEv2:Sending IKE_SA_INIT RESPONSE N(%s) (no state kept)",
	    ike_notify_name(type) ? ike_notify_name(type) : "?");
	if (n > 0)
		xchg_send_raw(ike, local, lport, peer, pport, out, (size_t)n);
}

/* Our own IKE SA with peer still being set up? Apply the collision rule.
 * When the peer wins, ours is kept until the peer's SA authenticates
 * (ike_tun_sa_up): an IKE_SA_INIT proves nothing about its source, and
 * dropping ours for a forged one would keep the tunnel down. */
static int task_init_collision(struct ike *ike, const struct ike_msg *m, uint32_t local, uint16_t lport,
			       uint32_t peer, uint16_t pport)
{
	int nat_local, nat_peer, ours;

	task_init_natd(m, m->spi_i, 0, local, lport, peer, pport, &nat_local, &nat_peer);
	ours = nat_local != nat_peer ? nat_local : ntohl(local) > ntohl(peer);
	for (struct ike_sa *o = ike_sa_first_by_peer(ike, peer), *nx; o; o = nx) {
		nx = ike_sa_next_by_peer(o);
		if (!o->initiator || o->state != IKE_SA_CONNECTING || o->pc.tunnel == IKE_TUNNEL_NONE)
			continue;
		if (ours) {
			DBG(DBG_IKE, peer, "IKEv2:Simultaneous initiation: ours wins (%s)",
			    nat_local != nat_peer ? "we are behind the NAT" : "higher address");
			return 1;
		}
		DBG(DBG_IKE, peer, "IKEv2:Simultaneous initiation: peer wins (%s), ours goes when its SA authenticates",
		    nat_local != nat_peer ? "it is behind a NAT" : "higher address");
	}
	return 0;
}

/* Half-open responder SAs from one address (only those that returned a
 * COOKIE if verified), counted up to the limit. */
static unsigned task_init_half_open_from(struct ike *ike, uint32_t peer, int verified)
{
	unsigned n = 0;

	for (struct ike_sa *o = ike_sa_first_by_peer(ike, peer); o && n < IKE_HALF_OPEN_PER_PEER;
	     o = ike_sa_next_by_peer(o))
		n += !o->destroyed && o->half_open && (!verified || o->cookie_ok);
	return n;
}

static void task_init_halfopen_expire(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	(void)t;
	if (sa->state == IKE_SA_CONNECTING)
		ike_sa_destroy(sa);
}

void task_init_respond(struct ike *ike, const struct ike_msg *m, uint32_t local, uint16_t lport,
		       uint32_t peer, uint16_t pport)
{
	struct ike_prop rx[IKE_MAX_PROPS], chosen;
	struct ike_notify_pld cn;
	const struct ike_pld *sap;
	struct ike_sel sel;
	struct ike_sa *sa = NULL;
	const uint8_t *ke, *ni;
	size_t kel, nil, publen;
	uint8_t pub[DH_MAX_PUB], g[2];
	uint16_t group;
	struct ike_pb b;
	int nrx, rc, cookie_ok = 0;

	if (DEBUG_ON(DBG_IKE, peer)) {
		char plds[256];
		ike_msg_describe(m, plds, sizeof(plds));
		debug_log(DBG_IKE, "IKEv2:Received Packet [From %u.%u.%u.%u:%u] Initiator SPI : %016llX "
			  "Message id: 0 IKEv2 IKE_SA_INIT Exchange REQUEST Payload contents: %s",
			  ((uint8_t *)&peer)[0], ((uint8_t *)&peer)[1], ((uint8_t *)&peer)[2],
			  ((uint8_t *)&peer)[3], pport, (unsigned long long)m->spi_i, plds);
	}
	if (m->unknown_critical) {
		uint8_t t = m->unknown_critical;
		task_init_stateless(ike, m, local, lport, peer, pport, N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}
	sap = ike_msg_find(m, IKE_PLD_SA);
	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) || !nrx ||
	    task_ke_parse(m, &group, &ke, &kel) || task_nonce(m, &ni, &nil)) {
		ike->rx_bad++;
		return;
	}
	if (ike->half_open >= IKE_HALF_OPEN_HARD_MAX) {
		ike->rx_dropped++;
		return;
	}
	/* A COOKIE is asked for past the global threshold, at a `crypto ikev2
	 * limit` (a request that returns it may take the slot of one that did
	 * not), and from an address that already has IKE_HALF_OPEN_PER_PEER
	 * half-open SAs: forged requests under its address then cannot lock the
	 * real host out. */
	if (ike->half_open >= ike->cookie_threshold || ike_sa_at_limit(ike) ||
	    task_init_half_open_from(ike, peer, 0) >= IKE_HALF_OPEN_PER_PEER) {
		uint8_t c[COOKIE_LEN];
		/* §2.6: the COOKIE notify must be the first payload. */
		if (m->n && m->pld[0].type == IKE_PLD_N && !ike_pld_n_parse(m->pld[0].p, m->pld[0].len, &cn) &&
		    cn.type == N_COOKIE &&
		    !cookie_check(&ike->cookie, loop_now_ms(), ni, nil, peer, m->spi_i, cn.data, cn.data_len)) {
			cookie_ok = 1;
		} else {
			if (cookie_make(&ike->cookie, loop_now_ms(), ni, nil, peer, m->spi_i, c))
				return;
			ike->cookies_sent++;
			task_init_stateless(ike, m, local, lport, peer, pport, N_COOKIE, c, sizeof(c));
			return;
		}
	}
	rc = prop_ike_select(ike->props, ike->n_props, rx, nrx, group, &sel);
	if (rc < 0) {
		task_init_stateless(ike, m, local, lport, peer, pport, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		log_ios(LOG_SEV_NOTICE, "IKEV2", "NEGOTIATION_FAILED",
			"IKE_SA_INIT from %u.%u.%u.%u: no proposal chosen", ((uint8_t *)&peer)[0],
			((uint8_t *)&peer)[1], ((uint8_t *)&peer)[2], ((uint8_t *)&peer)[3]);
		return;
	}
	if (rc > 0) {
		put_be16(g, sel.dh);
		task_init_stateless(ike, m, local, lport, peer, pport, N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}
	if (cookie_ok && task_init_half_open_from(ike, peer, 1) >= IKE_HALF_OPEN_PER_PEER) {
		ike->rx_dropped++; /* one host that answers COOKIEs cannot fill the table */
		return;
	}
	if (task_init_collision(ike, m, local, lport, peer, pport))
		return;
	/* Past a limit the request is dropped unanswered and the initiator
	 * retransmits: IKE_SA_INIT has no error that means "later". */
	if (!ike_sa_admit(ike, 1, cookie_ok, peer))
		return;
	if (!(sa = ike_sa_new(ike, 0, local, lport, peer, pport)))
		return;
	sa->cookie_ok = cookie_ok;
	ike_sa_set_spi_r(sa, m->spi_i);
	/* Recorded once it holds state (past the COOKIE gate): a forged flood
	 * answered statelessly takes no flight-recorder rings. */
	xchg_log_msg(sa, 0, m, peer, pport);
	sa->alg = sel;
	memcpy(sa->ni, ni, nil);
	sa->ni_len = nil;
	sa->nr_len = IKE_NONCE_LEN;
	if (!sa->spi_r || !(sa->dh = dh_new(sel.dh)) || RAND_bytes(sa->nr, (int)sa->nr_len) != 1 ||
	    dh_pub(sa->dh, pub, sizeof(pub), &publen) || task_init_keys(sa, ke, kel))
		goto fail;
	task_init_natd_check(sa, m, 0, lport, pport);
	if (!(sa->init_i = malloc(m->raw_len)))
		goto fail;
	memcpy(sa->init_i, m->raw, m->raw_len);
	sa->init_i_len = m->raw_len;
	prop_from_sel(&sel, IKE_PROTO_IKE, 0, 0, &chosen);
	pb_init(&b);
	ike_pld_sa_put(&b, &chosen, 1);
	ike_pld_ke_put(&b, sel.dh, pub, publen);
	ike_pld_nonce_put(&b, sa->nr, sa->nr_len);
	task_init_natd_put(&b, sa->spi_i, sa->spi_r, local, lport, peer, pport);
	ike_sa_set_state(sa, IKE_SA_CONNECTING);
	sa->msgid_peer = 1;
	if (xchg_send_response(sa, IKE_SA_INIT, 0, &b) || !sa->resp)
		goto fail;
	if (!(sa->init_r = malloc(sa->resp_len)))
		goto fail;
	memcpy(sa->init_r, sa->resp, sa->resp_len);
	sa->init_r_len = sa->resp_len;
	dh_free(sa->dh);
	sa->dh = NULL;
	/* Half-open SAs expire: unauthenticated peers cannot hold state for long. */
	timer_init(&sa->t_expire, task_init_halfopen_expire, sa);
	timer_arm(&sa->t_expire, IKE_HALF_OPEN_TIMEOUT_MS);
	return;
fail:
	if (sa)
		ike_sa_destroy(sa);
}
