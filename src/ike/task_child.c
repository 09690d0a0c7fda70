/* CREATE_CHILD_SA (RFC 7296 §1.3): a new CHILD_SA, a CHILD_SA rekey and an
 * IKE SA rekey, in both roles, with PFS and the simultaneous-rekey rules.
 *
 *   HDR, SK {[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr}  -->  (CHILD_SA)
 *   HDR, SK {SA, Ni, KEi}                             -->  (IKE SA)
 *
 * Make-before-break (the seeds' rekey bugs):
 *  - responder: the new inbound SA is installed before the response; the
 *    outbound switches when the initiator deletes the old SA (it has
 *    installed the new one by then), or after CHILD_OUT_FALLBACK_MS;
 *  - initiator: inbound, then outbound, when the response arrives; then the
 *    old SA is deleted. Its inbound half lives CHILD_GRACE_MS longer.
 *
 * Collisions (§2.8.1): when both ends rekey the same SA, the new SA created
 * with the lowest nonce of its exchange is redundant and its creator (the
 * exchange initiator) deletes it; the survivor's creator deletes the old SA.
 * Both ends compare the same four nonces, so they agree without talking. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ike/ts.h"
#include "ops/debug.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"

static void ts_from_range(const uint32_t r[2], struct ike_ts *t)
{
	ts_any(t);
	t->saddr = ntohl(r[0]);
	t->eaddr = ntohl(r[1]);
}

static void ts_to_range(const struct ike_ts *t, uint32_t r[2])
{
	r[0] = htonl(t->saddr);
	r[1] = htonl(t->eaddr);
}

void task_child_add_ts(struct ike_pb *b, const struct child_sa *c, int initiator_view)
{
	struct ike_ts l, p;

	ts_from_range(c->ci.ts_local, &l);
	ts_from_range(c->ci.ts_peer, &p);
	ike_pld_ts_put(b, IKE_PLD_TSI, initiator_view ? &l : &p, 1);
	ike_pld_ts_put(b, IKE_PLD_TSR, initiator_view ? &p : &l, 1);
}

static int ts_get(const struct ike_msg *m, uint8_t type, struct ike_ts *v, int *n)
{
	const struct ike_pld *p = ike_msg_find(m, type);
	return p ? ike_pld_ts_parse(p->p, p->len, v, IKE_MAX_TS, n) : -1;
}

/* Initiator: the answer must lie within what we proposed (narrowing accepted).
 * Responder: narrow the proposal to what we allow (an sVTI allows all). */
int task_child_take_ts(struct child_sa *c, const struct ike_msg *m, int we_initiated)
{
	struct ike_ts ti[IKE_MAX_TS], tr[IKE_MAX_TS], ol, op, ni[IKE_MAX_TS], nr[IKE_MAX_TS];
	int nti, ntr, k1, k2;

	if (ts_get(m, IKE_PLD_TSI, ti, &nti) || ts_get(m, IKE_PLD_TSR, tr, &ntr) || !nti || !ntr)
		return -1;
	if (!c->ci.ts_local[1] && !c->ci.ts_peer[1]) {
		ts_any(&ol);
		ts_any(&op);
	} else {
		ts_from_range(c->ci.ts_local, &ol);
		ts_from_range(c->ci.ts_peer, &op);
	}
	if (we_initiated) {
		if (!ts_subset(ti, nti, &ol, 1) || !ts_subset(tr, ntr, &op, 1))
			return -1;
		ts_to_range(&ti[0], c->ci.ts_local);
		ts_to_range(&tr[0], c->ci.ts_peer);
		return 0;
	}
	if (ts_narrow(&op, 1, ti, nti, ni, IKE_MAX_TS, &k1) || ts_narrow(&ol, 1, tr, ntr, nr, IKE_MAX_TS, &k2))
		return -1;
	ts_to_range(&ni[0], c->ci.ts_peer);
	ts_to_range(&nr[0], c->ci.ts_local);
	return 0;
}

/* A new (not rekeying) CHILD_SA for a tunnel replaces an older one left
 * behind, e.g. the stale pair of a lost DELETE: an sVTI carries one pair.
 * Pairs made within a second of each other (both ends creating at once) are
 * both kept: they are equally good and expire on their own. */
static void child_supersede(struct child_sa *c)
{
	for (struct child_sa *o = c->ike->children; o; o = o->next)
		if (o != c && o->ci.tunnel == c->ci.tunnel && o->ci.tunnel != IKE_TUNNEL_NONE &&
		    o->state == CHILD_INSTALLED && c->created_ms > o->created_ms + 1000) {
			DBG(DBG_IKE, c->ike->peer, "IKEv2:CHILD_SA 0x%08X superseded by 0x%08X, deleting it",
			    o->ci.spi_in, c->ci.spi_in);
			xchg_queue(c->ike, T_DEL_CHILD, o->ci.spi_in);
		}
}

static void child_up(struct child_sa *c)
{
	child_sa_set_state(c, CHILD_INSTALLED);
	child_sa_arm(c);
	flightrec_record(c->ike->peer, FR_CHILD_INSTALL, c->ci.spi_in, c->ci.spi_out, c->ci.tunnel);
	if (c->pred)
		flightrec_record(c->ike->peer, FR_REKEY_DONE, 0, c->pred->ci.spi_in, c->ci.spi_in);
	else
		child_supersede(c);
	DBG(DBG_IPSEC, c->ike->peer, "IPSEC: CHILD_SA up: Tunnel%u spi in 0x%08X out 0x%08X%s%s",
	    c->ci.tunnel, c->ci.spi_in, c->ci.spi_out, c->pred ? " (rekey)" : "",
	    c->out_pending ? ", outbound waits for the peer's DELETE" : "");
	ike_emit(c->ike, IKE_EV_CHILD_UP, c->ci.spi_in);
}

void task_child_out_now(struct child_sa *c)
{
	if (!c->out_pending || c->redundant)
		return;
	c->out_pending = 0;
	timer_cancel(&c->t_out);
	child_sa_install_out(c);
	DBG(DBG_IPSEC, c->ike->peer, "IPSEC: Tunnel%u outbound now spi 0x%08X", c->ci.tunnel, c->ci.spi_out);
	/* A collision loser we created, still carrying traffic until now, can go. */
	for (struct child_sa *s = c->ike->children; s; s = s->next)
		if (s != c && c->pred && s->pred == c->pred && s->redundant && s->we_initiated &&
		    s->state != CHILD_DELETING)
			xchg_queue(s->ike, T_DEL_CHILD, s->ci.spi_in);
}

static void child_out_fallback(struct timer *t, void *arg)
{
	(void)t;
	task_child_out_now(arg);
}

/* A new SA that lost a rekey collision: never used, gone after a wait, DELETE or not. */
static void child_redundant(struct child_sa *c)
{
	c->redundant = 1;
	c->out_pending = 0;
	child_sa_arm(c);
	timer_cancel(&c->t_rekey);
	timer_cancel(&c->t_out);
	timer_arm(&c->t_expire, CHILD_REKEYED_WAIT_MS);
}

/* An SA that lost or finished a rekey goes away after a wait, DELETE or not. */
static void child_retire(struct child_sa *c)
{
	child_sa_set_state(c, CHILD_REKEYED);
	timer_cancel(&c->t_rekey);
	timer_arm(&c->t_expire, CHILD_REKEYED_WAIT_MS);
}

static int child_nonce(const struct ike_msg *m, const uint8_t **n, size_t *nl)
{
	const struct ike_pld *p = ike_msg_find(m, IKE_PLD_NONCE);
	if (!p || ike_pld_nonce_check(p->len))
		return -1;
	*n = p->p, *nl = p->len;
	return 0;
}

static int child_ke(const struct ike_msg *m, uint16_t *g, const uint8_t **ke, size_t *kel)
{
	const struct ike_pld *p = ike_msg_find(m, IKE_PLD_KE);
	if (!p) {
		*g = 0;
		return 0;
	}
	return ike_pld_ke_parse(p->p, p->len, g, ke, kel);
}

static int child_new_nonce(struct ike_sa *sa)
{
	sa->x_nonce_len = IKE_NONCE_LEN;
	return RAND_bytes(sa->x_nonce, (int)sa->x_nonce_len) == 1 ? 0 : -1;
}

/* ---------------- IKE SA rekey ---------------- */

static int child_ike_rekey_start(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	struct ike_prop props[PROP_MAX_CFG];
	uint8_t pub[DH_MAX_PUB];
	size_t publen;
	struct ike_sa *n;
	struct ike_pb b;
	int np;

	if (sa->state != IKE_SA_ESTABLISHED || sa->x_new)
		return -1;
	if (!(n = ike_sa_new(ike, 1, sa->local, sa->lport, sa->peer, sa->pport)))
		return -1;
	n->parent = sa;
	sa->x_new = n;
	dh_free(sa->x_dh);
	if (!(sa->x_dh = dh_new(sa->alg.dh)) || dh_pub(sa->x_dh, pub, sizeof(pub), &publen) ||
	    child_new_nonce(sa))
		goto fail;
	np = prop_ike_offer(ike->props, ike->n_props, 8, n->spi_i, props, PROP_MAX_CFG);
	pb_init(&b);
	ike_pld_sa_put(&b, props, np);
	ike_pld_nonce_put(&b, sa->x_nonce, sa->x_nonce_len);
	ike_pld_ke_put(&b, sa->alg.dh, pub, publen);
	ike_sa_set_state(sa, IKE_SA_REKEYING);
	flightrec_record(sa->peer, FR_REKEY_START, 1, sa->spi_i, 0);
	if (xchg_send_request(sa, CREATE_CHILD_SA, &b))
		goto fail;
	return 0;
fail:
	ike_sa_set_state(sa, IKE_SA_ESTABLISHED);
	sa->x_new = NULL;
	ike_sa_destroy(n);
	return -1;
}

/* Keys and identity of a new IKE SA that replaces old. */
static int child_ike_keys(struct ike_sa *old, struct ike_sa *n, const uint8_t *gir, size_t girl)
{
	uint8_t seed[PRF_MAX_LEN];
	int rc;

	/* §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old SA's PRF. */
	rc = keymat_skeyseed_rekey(old->k.prf, old->k.sk_d, old->k.prf_len, gir, girl, n->ni, n->ni_len,
				   n->nr, n->nr_len, seed) ||
	     keymat_ike(&n->k, &n->alg, seed, n->ni, n->ni_len, n->nr, n->nr_len, n->spi_i, n->spi_r);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (rc)
		return -1;
	n->pc = old->pc;
	n->have_pc = old->have_pc;
	n->id_l = old->id_l;
	n->id_r = old->id_r;
	n->natt = old->natt, n->nat_local = old->nat_local, n->nat_peer = old->nat_peer;
	n->parent = old;
	n->msgid_next = n->msgid_peer = 0;
	ike_sa_set_nonce_min(n, n->ni, n->ni_len, n->nr, n->nr_len);
	ike_sa_set_state(n, IKE_SA_ESTABLISHED);
	n->established_ms = loop_now_ms();
	ike_sa_arm_timers(n);
	return 0;
}

static void child_ike_retire(struct ike_sa *old, struct ike_sa *n)
{
	ike_sa_adopt_children(n, old);
	ike_sa_set_state(old, IKE_SA_REKEYED);
	old->replaced_by = n;
	timer_cancel(&old->t_rekey);
	timer_cancel(&old->t_dpd);
	ike_tun_sa_up(n);
	DBG(DBG_IKE, old->peer, "IKEv2:(SA ID %016llx):IKE SA rekeyed, new SA ID %016llx",
	    (unsigned long long)ike_sa_local_spi(old), (unsigned long long)ike_sa_local_spi(n));
}

static void child_rekeyed_expire(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	(void)t;
	ike_sa_destroy(sa);
}

static void child_ike_rekey_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike *ike = sa->ike;
	struct ike_sa *n = sa->x_new, *twin = sa->collide;
	struct ike_prop rx[IKE_MAX_PROPS];
	const struct ike_pld *sap = ike_msg_find(m, IKE_PLD_SA);
	const uint8_t *ke, *nr;
	uint8_t gir[DH_MAX_SECRET];
	size_t kel, nrl, girl = 0;
	uint16_t g;
	int nrx;

	sa->x_new = NULL;
	if (!n)
		return;
	if (ike_msg_error(m) || !sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) ||
	    nrx != 1 || rx[0].proto != IKE_PROTO_IKE || rx[0].spi_size != 8 || !rx[0].spi ||
	    child_nonce(m, &nr, &nrl) || child_ke(m, &g, &ke, &kel) || g != sa->alg.dh ||
	    prop_ike_select(ike->props, ike->n_props, rx, 1, g, &n->alg) != 0 ||
	    dh_derive(sa->x_dh, ke, kel, gir, sizeof(gir), &girl))
		goto fail;
	n->spi_r = rx[0].spi;
	memcpy(n->ni, sa->x_nonce, sa->x_nonce_len), n->ni_len = sa->x_nonce_len;
	memcpy(n->nr, nr, nrl), n->nr_len = nrl;
	if (child_ike_keys(sa, n, gir, girl))
		goto fail;
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(sa->x_dh);
	sa->x_dh = NULL;
	metrics_inc(MC_REKEYS_IKE);
	flightrec_record(sa->peer, FR_REKEY_DONE, 1, sa->spi_i, n->spi_i);
	if (twin && !twin->destroyed) {
		metrics_inc(MC_REKEY_COLLISIONS);
		/* Both ends rekeyed this IKE SA: the new SA with the lowest nonce goes. */
		if (ike_nonce_cmp(n->nonce_min, n->nonce_min_len, twin->nonce_min, twin->nonce_min_len) < 0) {
			DBG(DBG_IKE, sa->peer, "IKEv2:IKE SA rekey collision: ours is redundant, deleting it");
			/* The old SA no longer points at n: a parent link would dangle when it goes. */
			n->parent = NULL;
			n->replaced_by = twin;
			xchg_queue(n, T_DEL_IKE, 0);
			return; /* the peer deletes the old SA */
		}
		DBG(DBG_IKE, sa->peer, "IKEv2:IKE SA rekey collision: ours survives");
		ike_sa_adopt_children(n, twin);
		twin->replaced_by = n;
		ike_sa_set_state(twin, IKE_SA_REKEYED);
		timer_init(&twin->t_expire, child_rekeyed_expire, twin);
		timer_arm(&twin->t_expire, IKE_REKEYED_WAIT_MS);
	}
	ike_emit(n, IKE_EV_ESTABLISHED, 0);
	child_ike_retire(sa, n);
	xchg_queue(sa, T_DEL_IKE, 0);
	return;
fail:
	OPENSSL_cleanse(gir, sizeof(gir));
	DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):IKE SA rekey failed",
	    (unsigned long long)ike_sa_local_spi(sa));
	ike_sa_set_state(sa, IKE_SA_ESTABLISHED);
	ike_sa_destroy(n);
	ike_sa_rekey_retry(sa); /* the lifetime still ends on time (ike_sa_hard_expire) */
}

static void child_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *m, const struct ike_prop *rx,
				    int nrx)
{
	struct ike *ike = sa->ike;
	struct ike_prop chosen;
	struct ike_sel sel;
	struct ike_sa *n = NULL;
	struct dh *dh = NULL;
	const uint8_t *ke, *ni;
	uint8_t pub[DH_MAX_PUB], gir[DH_MAX_SECRET], gb[2];
	size_t kel, nil, publen, girl = 0;
	struct ike_pb b;
	uint16_t g, err = N_NO_PROPOSAL_CHOSEN;
	int rc;

	pb_init(&b);
	if (sa->state != IKE_SA_ESTABLISHED && sa->state != IKE_SA_REKEYING) {
		err = N_TEMPORARY_FAILURE;
		goto refuse;
	}
	if (child_nonce(m, &ni, &nil) || child_ke(m, &g, &ke, &kel) || !g) {
		err = N_INVALID_SYNTAX;
		goto refuse;
	}
	rc = prop_ike_select(ike->props, ike->n_props, rx, nrx, g, &sel);
	if (rc > 0) {
		put_be16(gb, sel.dh);
		ike_pld_n_put(&b, 0, NULL, 0, N_INVALID_KE_PAYLOAD, gb, 2);
		xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
		return;
	}
	if (rc < 0 || sel.spi == 0)
		goto refuse;
	if (!(n = ike_sa_new(ike, 0, sa->local, sa->lport, sa->peer, sa->pport)))
		goto fail;
	ike_sa_set_spi_r(n, sel.spi);
	ike_sa_unhash_init(n); /* authenticated through the old SA: not half-open */
	n->alg = sel;
	memcpy(n->ni, ni, nil), n->ni_len = nil;
	n->nr_len = IKE_NONCE_LEN;
	if (!n->spi_r || RAND_bytes(n->nr, (int)n->nr_len) != 1 || !(dh = dh_new(g)) ||
	    dh_pub(dh, pub, sizeof(pub), &publen) || dh_derive(dh, ke, kel, gir, sizeof(gir), &girl) ||
	    child_ike_keys(sa, n, gir, girl))
		goto fail;
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(dh);
	prop_from_sel(&sel, IKE_PROTO_IKE, 8, n->spi_r, &chosen);
	ike_pld_sa_put(&b, &chosen, 1);
	ike_pld_nonce_put(&b, n->nr, n->nr_len);
	ike_pld_ke_put(&b, g, pub, publen);
	if (sa->x_new) /* we are rekeying it too: decided when our response arrives */
		sa->collide = n;
	ike_emit(n, IKE_EV_ESTABLISHED, 0);
	child_ike_retire(sa, n);
	/* The initiator deletes the old SA; if its DELETE is lost, we do it later. */
	timer_init(&sa->t_expire, child_rekeyed_expire, sa);
	timer_arm(&sa->t_expire, IKE_REKEYED_WAIT_MS);
	xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
	return;
fail:
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(dh);
	if (n)
		ike_sa_destroy(n);
	err = N_TEMPORARY_FAILURE;
refuse:
	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, err, NULL, 0);
	xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
}

/* ---------------- CHILD_SA create / rekey ---------------- */

int task_child_start(struct ike_sa *sa, const struct ike_task *t)
{
	struct child_sa *old = NULL, *c;
	struct ike_prop prop;
	uint8_t pub[DH_MAX_PUB], spib[4];
	size_t publen = 0;
	struct ike_pb b;
	uint32_t spi;
	int pfs = sa->pc.esp.pfs;

	if (t->kind == T_IKE_REKEY)
		return child_ike_rekey_start(sa);
	if (sa->state != IKE_SA_ESTABLISHED || !sa->pc.esp.present)
		return -1;
	if (t->kind == T_CHILD_REKEY) {
		old = child_sa_by_in(sa->ike, t->arg);
		if (old && old->ike != sa) { /* moved to a rekeyed IKE SA meanwhile */
			xchg_queue(old->ike, T_CHILD_REKEY, t->arg);
			return -1;
		}
		if (!old || old->state != CHILD_INSTALLED)
			return -1;
	} else {
		for (c = sa->children; c; c = c->next)
			if (c->ci.tunnel == t->arg && c->out_installed && c->state == CHILD_INSTALLED)
				return -1; /* already there */
	}
	if (!(spi = task_alloc_spi(sa)) || !(c = child_sa_new(sa, spi)))
		return -1;
	prop_esp_ids(sa->pc.esp.cipher, sa->pc.esp.auth, &c->sel.encr, &c->sel.klen, &c->sel.integ);
	if (old) {
		memcpy(c->ci.ts_local, old->ci.ts_local, sizeof(c->ci.ts_local));
		memcpy(c->ci.ts_peer, old->ci.ts_peer, sizeof(c->ci.ts_peer));
		c->pred = old;
	} else {
		c->ci.ts_local[1] = c->ci.ts_peer[1] = 0xffffffffu;
	}
	dh_free(sa->x_dh);
	sa->x_dh = NULL;
	if (child_new_nonce(sa) || (pfs && (!(sa->x_dh = dh_new(pfs)) ||
					    dh_pub(sa->x_dh, pub, sizeof(pub), &publen))))
		goto fail;
	prop_esp_offer(sa->pc.esp.cipher, sa->pc.esp.auth, (uint16_t)pfs, spi, &prop);
	pb_init(&b);
	if (old) {
		put_be32(spib, old->ci.spi_in);
		ike_pld_n_put(&b, IKE_PROTO_ESP, spib, 4, N_REKEY_SA, NULL, 0);
	}
	ike_pld_sa_put(&b, &prop, 1);
	ike_pld_nonce_put(&b, sa->x_nonce, sa->x_nonce_len);
	if (pfs)
		ike_pld_ke_put(&b, (uint16_t)pfs, pub, publen);
	task_child_add_ts(&b, c, 1);
	sa->x_child = c;
	sa->x_old = old;
	if (old) {
		child_sa_set_state(old, CHILD_REKEYING);
		flightrec_record(sa->peer, FR_REKEY_START, 0, old->ci.spi_in, 0);
	}
	if (xchg_send_request(sa, CREATE_CHILD_SA, &b)) {
		if (old)
			child_sa_set_state(old, CHILD_INSTALLED);
		sa->x_child = sa->x_old = NULL;
		goto fail;
	}
	return 0;
fail:
	child_sa_destroy(c, 0);
	return -1;
}

/* Our rekey of old completed with c; settle a collision with the peer's twin.
 * old is NULL when the peer deleted it meanwhile (c->collide then names the twin). */
static void child_rekey_settle(struct ike_sa *sa, struct child_sa *old, struct child_sa *c)
{
	struct child_sa *twin = old ? old->collide : c->collide;

	metrics_inc(MC_REKEYS_CHILD);
	if (twin) {
		metrics_inc(MC_REKEY_COLLISIONS);
		flightrec_record(sa->peer, FR_REKEY_COLLISION, 0,
				 ike_nonce_cmp(c->nonce_min, c->nonce_min_len, twin->nonce_min, twin->nonce_min_len) > 0,
				 old ? old->ci.spi_in : 0);
	}

	if (twin && ike_nonce_cmp(c->nonce_min, c->nonce_min_len, twin->nonce_min, twin->nonce_min_len) < 0) {
		/* Ours is redundant: the peer's twin carries the traffic. The peer
		 * installs the twin's inbound half only when our response reaches it,
		 * so keep sending on old until the peer deletes old (or the fallback). */
		DBG(DBG_IKE, sa->peer, "IKEv2:CHILD_SA rekey collision: ours (0x%08X) is redundant", c->ci.spi_in);
		child_redundant(c);
		if (old)
			child_retire(old);
		xchg_queue(c->ike, T_DEL_CHILD, c->ci.spi_in);
		return;
	}
	if (twin) {
		DBG(DBG_IKE, sa->peer, "IKEv2:CHILD_SA rekey collision: ours (0x%08X) survives", c->ci.spi_in);
		child_redundant(twin);
	}
	child_sa_install_out(c);
	if (old) {
		child_retire(old);
		xchg_queue(old->ike, T_DEL_CHILD, old->ci.spi_in);
	}
}

void task_child_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct child_sa *c = sa->x_child, *old = sa->x_old;
	struct ike_prop rx[IKE_MAX_PROPS];
	const struct ike_pld *sap;
	const uint8_t *ke = NULL, *nr;
	uint8_t gir[DH_MAX_SECRET];
	size_t kel = 0, nrl, girl = 0;
	struct ike_sel sel;
	uint16_t g, err;
	int nrx, pfs = sa->pc.esp.pfs;

	if (sa->cur.kind == T_IKE_REKEY) {
		child_ike_rekey_response(sa, m);
		return;
	}
	sa->x_child = sa->x_old = NULL;
	if (!c)
		return;
	if ((err = ike_msg_error(m))) {
		const char *nm = ike_notify_name(err) ? ike_notify_name(err) : "error notify";
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):CREATE_CHILD_SA refused: %s",
		    (unsigned long long)ike_sa_local_spi(sa), nm);
		/* A one-sided change (a PFS group, a transform) shows only here, and
		 * the tunnel goes down at the hard lifetime: say so, once a minute. */
		if (!sa->child_fail_log_ms || loop_now_ms() - sa->child_fail_log_ms >= CHILD_FAIL_LOG_MS) {
			log_ios(LOG_SEV_NOTICE, "IKEV2", "CHILD_SA_FAILED",
				"CHILD_SA with IKE SA %016llx refused by the peer: %s (%s; retried until the lifetime runs out)",
				(unsigned long long)ike_sa_local_spi(sa), nm, old ? "rekey" : "new CHILD_SA");
			sa->child_fail_log_ms = loop_now_ms() ? loop_now_ms() : 1;
		}
		child_sa_destroy(c, 0);
		if (old && err == N_CHILD_SA_NOT_FOUND) {
			/* The peer lost it: replace it outright. */
			unsigned tun = old->ci.tunnel;
			xchg_queue(old->ike, T_DEL_CHILD, old->ci.spi_in);
			xchg_queue(sa, T_CHILD, tun);
		} else if (old && old->state == CHILD_REKEYING) {
			child_sa_set_state(old, CHILD_INSTALLED);
			timer_arm(&old->t_rekey, 5000); /* try again soon, before the hard lifetime */
		}
		return;
	}
	sap = ike_msg_find(m, IKE_PLD_SA);
	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) || nrx != 1 ||
	    child_nonce(m, &nr, &nrl) || child_ke(m, &g, &ke, &kel) || g != (uint16_t)pfs ||
	    prop_esp_select(sa->pc.esp.cipher, sa->pc.esp.auth, pfs, rx, 1, pfs, &sel) || sel.spi < 256 ||
	    task_child_take_ts(c, m, 1) ||
	    (pfs && dh_derive(sa->x_dh, ke, kel, gir, sizeof(gir), &girl)))
		goto bad;
	c->sel = sel;
	if (child_sa_keys(c, pfs ? gir : NULL, girl, sa->x_nonce, sa->x_nonce_len, nr, nrl, 1))
		goto bad;
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(sa->x_dh);
	sa->x_dh = NULL;
	c->ci.spi_out = (uint32_t)sel.spi;
	if (child_sa_install_in(c))
		goto bad;
	if (sa->replaced_by && !sa->replaced_by->destroyed)
		child_sa_move(c, sa->replaced_by); /* the IKE SA was rekeyed meanwhile */
	if ((old && old->state != CHILD_DELETING) || (!old && c->collide)) {
		child_rekey_settle(sa, old, c);
	} else {
		child_sa_install_out(c);
	}
	if (!c->redundant)
		child_up(c);
	return;
bad:
	OPENSSL_cleanse(gir, sizeof(gir));
	sa->ike->rx_bad++;
	child_sa_destroy(c, 0);
	if (old && old->state == CHILD_REKEYING)
		child_sa_set_state(old, CHILD_INSTALLED);
}

/* The peer rekeys old (which we rekeyed already, with successor ours): collision found late. */
static void child_late_collision(struct ike_sa *sa, struct child_sa *old, struct child_sa *c)
{
	struct child_sa *ours = NULL;

	for (struct child_sa *o = sa->children; o; o = o->next)
		if (o != c && o->pred == old && o->we_initiated)
			ours = o;
	if (!ours) {
		c->out_pending = 1;
		return;
	}
	metrics_inc(MC_REKEY_COLLISIONS);
	flightrec_record(sa->peer, FR_REKEY_COLLISION, 0, 3, old->ci.spi_in);
	if (ike_nonce_cmp(c->nonce_min, c->nonce_min_len, ours->nonce_min, ours->nonce_min_len) < 0) {
		child_redundant(c); /* the peer created it, the peer deletes it */
		return;
	}
	/* Ours was redundant: the peer's carries the traffic once the peer has it
	 * installed (its DELETE of old, or shortly after our response); ours is
	 * deleted when c takes over (task_child_out_now). */
	ours->redundant = 1;
	child_retire(ours);
	c->out_pending = 1;
	c->out_soon = 1;
}

void task_child_respond(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_pld *sap = ike_msg_find(m, IKE_PLD_SA);
	struct ike_prop rx[IKE_MAX_PROPS], chosen;
	struct ike_notify_pld n;
	struct child_sa *old = NULL, *c = NULL;
	const uint8_t *ke = NULL, *ni;
	uint8_t pub[DH_MAX_PUB], gir[DH_MAX_SECRET], nr[IKE_NONCE_LEN], gb[2];
	size_t kel = 0, nil, publen = 0, girl = 0;
	struct dh *dh = NULL;
	struct ike_sel sel;
	struct ike_pb b;
	uint16_t g, err = N_NO_PROPOSAL_CHOSEN;
	uint32_t spi;
	int nrx, rc;

	pb_init(&b);
	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) || !nrx) {
		err = N_INVALID_SYNTAX;
		goto refuse;
	}
	if (rx[0].proto == IKE_PROTO_IKE) {
		child_ike_rekey_respond(sa, m, rx, nrx);
		return;
	}
	if (sa->state != IKE_SA_ESTABLISHED && sa->state != IKE_SA_REKEYING) {
		err = N_TEMPORARY_FAILURE;
		goto refuse;
	}
	if (!sa->pc.esp.present)
		goto refuse;
	for (int i = 0; i < m->n; i++)
		if (m->pld[i].type == IKE_PLD_N && !ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &n) &&
		    n.type == N_REKEY_SA) {
			if (n.proto != IKE_PROTO_ESP || n.spi_size != 4) {
				err = N_INVALID_SYNTAX;
				goto refuse;
			}
			if (!(old = child_sa_by_out(sa, get_be32(n.spi))) || old->state == CHILD_DELETING ||
			    old->state == CHILD_INSTALLING) {
				err = N_CHILD_SA_NOT_FOUND;
				goto refuse;
			}
		}
	/* A peer cannot make us hold CHILD_SAs (and data-plane SAs) without end:
	 * new ones stop at IKE_MAX_CHILDREN, rekeys at twice that. */
	if (sa->n_children >= (old ? 2u : 1u) * IKE_MAX_CHILDREN) {
		err = N_NO_ADDITIONAL_SAS;
		goto refuse;
	}
	if (child_nonce(m, &ni, &nil) || child_ke(m, &g, &ke, &kel)) {
		err = N_INVALID_SYNTAX;
		goto refuse;
	}
	rc = prop_esp_select(sa->pc.esp.cipher, sa->pc.esp.auth, sa->pc.esp.pfs, rx, nrx, g, &sel);
	if (rc > 0) {
		put_be16(gb, sel.dh);
		ike_pld_n_put(&b, 0, NULL, 0, N_INVALID_KE_PAYLOAD, gb, 2);
		xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
		return;
	}
	if (rc < 0 || sel.spi < 256)
		goto refuse;
	if (!(spi = task_alloc_spi(sa)) || !(c = child_sa_new(sa, spi))) {
		err = N_TEMPORARY_FAILURE;
		goto refuse;
	}
	c->sel = sel;
	if (old) {
		memcpy(c->ci.ts_local, old->ci.ts_local, sizeof(c->ci.ts_local));
		memcpy(c->ci.ts_peer, old->ci.ts_peer, sizeof(c->ci.ts_peer));
	}
	if (task_child_take_ts(c, m, 0)) {
		err = N_TS_UNACCEPTABLE;
		goto refuse;
	}
	if (RAND_bytes(nr, sizeof(nr)) != 1 ||
	    (g && (!(dh = dh_new(g)) || dh_pub(dh, pub, sizeof(pub), &publen) ||
		   dh_derive(dh, ke, kel, gir, sizeof(gir), &girl))) ||
	    child_sa_keys(c, g ? gir : NULL, girl, ni, nil, nr, sizeof(nr), 0)) {
		err = N_TEMPORARY_FAILURE;
		goto refuse;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(dh);
	dh = NULL;
	c->ci.spi_out = (uint32_t)sel.spi;
	if (child_sa_install_in(c)) {
		err = N_TEMPORARY_FAILURE;
		goto refuse;
	}
	if (!old) {
		child_sa_install_out(c);
	} else {
		c->pred = old;
		timer_init(&c->t_out, child_out_fallback, c);
		if (old->state == CHILD_REKEYING) {
			old->collide = c; /* settled when our own rekey's response arrives */
			flightrec_record(sa->peer, FR_REKEY_COLLISION, 0, 2, old->ci.spi_in);
			c->out_pending = 1;
		} else if (old->state == CHILD_REKEYED) {
			child_late_collision(sa, old, c);
		} else {
			c->out_pending = 1;
			child_retire(old);
		}
		if (c->out_pending)
			timer_arm(&c->t_out, c->out_soon ? CHILD_OUT_COLLISION_MS : CHILD_OUT_FALLBACK_MS);
	}
	prop_from_sel(&sel, IKE_PROTO_ESP, 4, spi, &chosen);
	ike_pld_sa_put(&b, &chosen, 1);
	ike_pld_nonce_put(&b, nr, sizeof(nr));
	if (g)
		ike_pld_ke_put(&b, g, pub, publen);
	task_child_add_ts(&b, c, 0);
	if (!c->redundant)
		child_up(c);
	xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
	return;
refuse:
	OPENSSL_cleanse(gir, sizeof(gir));
	dh_free(dh);
	if (c)
		child_sa_destroy(c, 0);
	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, err, NULL, 0);
	xchg_send_response(sa, CREATE_CHILD_SA, m->msgid, &b);
}
