/* IKE_AUTH (RFC 7296 §1.2) with pre-shared keys (§2.15), in both roles, and
 * the first CHILD_SA it carries.
 *
 *   Initiator                              Responder
 *   HDR, SK {IDi, [N(INITIAL_CONTACT)],
 *            AUTH, SA, TSi, TSr}      -->
 *                                     <--  HDR, SK {IDr, AUTH, SA, TSi, TSr}
 *
 * The initiator knows the first CHILD_SA's keys once IKE_SA_INIT is done
 * (KEYMAT = prf+(SK_d, Ni | Nr) and it offers a single transform), so its
 * inbound SA is installed before the request goes out. The responder installs
 * inbound and outbound before it answers. A CHILD_SA failure (no proposal,
 * unacceptable selectors) leaves the IKE SA up (§1.2). */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ike/psk.h"
#include "ike/ts.h"
#include "ops/debug.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"

/* Does a received ID satisfy `match identity remote`? */
static int auth_id_matches(const struct cfg_identity *m, const struct ike_id *id)
{
	uint32_t a;

	switch (m->type) {
	case CFG_ID_NONE:
		return 1;
	case CFG_ID_ADDR:
		if (id->type != ID_IPV4_ADDR || id->len != 4)
			return 0;
		memcpy(&a, id->data, 4);
		return (a & m->mask) == (m->addr & m->mask);
	case CFG_ID_FQDN:
	case CFG_ID_KEYID:
		return id->type == (m->type == CFG_ID_FQDN ? ID_FQDN : ID_KEY_ID) &&
		       id->len == strnlen(m->value, sizeof(m->value)) && !memcmp(id->data, m->value, id->len);
	}
	return 0;
}

/* The keyring entry for a peer: the longest address match, else a matching identity. */
static const struct ike_kr_peer *auth_psk(const struct ike_prof *p, uint32_t peer, const struct ike_id *id)
{
	const struct ike_kr_peer *best = NULL;
	char ids[IKE_ID_MAX];

	if (!p)
		return NULL;
	for (int i = 0; i < p->n_kr; i++) {
		const struct ike_kr_peer *k = &p->kr[i];
		if (k->has_addr && (peer & k->mask) == (k->addr & k->mask) &&
		    (!best || ntohl(k->mask) > ntohl(best->mask)))
			best = k;
	}
	if (best || !id)
		return best;
	ike_id_str(id, ids, sizeof(ids));
	for (int i = 0; i < p->n_kr; i++)
		if (p->kr[i].identity[0] && !strcmp(p->kr[i].identity, ids))
			return &p->kr[i];
	return NULL;
}

/* The body of an ID payload as AUTH signs it: ID Type | RESERVED | data. */
static size_t auth_id_body(const struct ike_id *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4 + id->len;
}

/* Our AUTH value, or the one we expect: msg is the signer's IKE_SA_INIT
 * message, nonce the other side's nonce, from_i whether the signer is the
 * original initiator. */
static int auth_compute(const struct ike_sa *sa, const struct ike_kr_peer *k, int from_i,
			const struct ike_id *id, uint8_t *out)
{
	uint8_t body[4 + sizeof(id->data)];
	size_t bl = auth_id_body(id, body);

	return psk_auth(sa->k.prf, k->psk, k->psk_len, from_i ? sa->init_i : sa->init_r,
			from_i ? sa->init_i_len : sa->init_r_len, from_i ? sa->nr : sa->ni,
			from_i ? sa->nr_len : sa->ni_len, from_i ? sa->k.sk_pi : sa->k.sk_pr, sa->k.prf_len,
			body, bl, out);
}

static int auth_parse_id(const struct ike_msg *m, uint8_t type, struct ike_id *id)
{
	const struct ike_pld *p = ike_msg_find(m, type);
	return p ? ike_pld_id_parse(p->p, p->len, id) : -1;
}

static int auth_parse_auth(const struct ike_msg *m, const uint8_t **d, size_t *dl)
{
	const struct ike_pld *p = ike_msg_find(m, IKE_PLD_AUTH);
	uint8_t method;

	if (!p || ike_pld_auth_parse(p->p, p->len, &method, d, dl) || method != IKE_AUTH_PSK)
		return -1;
	return 0;
}

static void auth_log_up(struct ike_sa *sa)
{
	char a[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN], rid[IKE_ID_MAX];

	inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
	inet_ntop(AF_INET, &sa->local, l, sizeof(l));
	ike_id_str(&sa->id_r, rid, sizeof(rid));
	log_ios(LOG_SEV_NOTICE, "IKEV2", "SA_UP",
		"IKE SA UP: local %s:%u remote %s:%u remote id %s, %s %s, %s, DH group %u%s", l, sa->lport, a,
		sa->pport, rid, sa->initiator ? "initiator" : "responder",
		prop_encr_name(sa->alg.encr, sa->alg.klen), prop_prf_name(sa->alg.prf), sa->alg.dh,
		sa->natt ? ", NAT-T" : "");
}

/* The IKE SA is authenticated: move it to ESTABLISHED and start its timers. */
static void auth_established(struct ike_sa *sa)
{
	ike_sa_unhash_init(sa);
	timer_cancel(&sa->t_expire);
	ike_sa_set_state(sa, IKE_SA_ESTABLISHED);
	sa->established_ms = loop_now_ms();
	ike_sa_arm_timers(sa);
	metrics_inc(MC_IKE_SA_ESTABLISHED);
	metrics_observe(MH_IKE_SETUP_SECONDS, (double)(sa->established_ms - sa->created_ms) / 1000.0);
	auth_log_up(sa);
	ike_emit(sa, IKE_EV_ESTABLISHED, 0);
}

/* §2.4: INITIAL_CONTACT means the peer kept no state: every other IKE SA (and
 * its CHILD_SAs) with that identity is stale. Delete all of them, not one. */
static void auth_initial_contact(struct ike_sa *sa)
{
	unsigned n = 0;

	for (struct ike_sa *o = ike_sa_first_by_peer(sa->ike, sa->peer), *nx; o; o = nx) {
		nx = ike_sa_next_by_peer(o);
		if (o == sa || o->destroyed || o->state == IKE_SA_CONNECTING || o->state == IKE_SA_CREATED)
			continue;
		if (o->id_r.type && (o->id_r.type != sa->id_r.type || o->id_r.len != sa->id_r.len ||
				     memcmp(o->id_r.data, sa->id_r.data, sa->id_r.len)))
			continue;
		ike_emit(o, IKE_EV_DELETED, 0);
		ike_sa_destroy(o);
		n++;
	}
	DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx):INITIAL_CONTACT: deleted %u stale IKE SA(s)",
	    (unsigned long long)ike_sa_local_spi(sa), n);
	flightrec_record(sa->peer, FR_INITIAL_CONTACT, 0, n, 0);
	ike_emit(sa, IKE_EV_INITIAL_CONTACT, 0);
}

static void auth_child_up(struct child_sa *c)
{
	child_sa_set_state(c, CHILD_INSTALLED);
	child_sa_arm(c);
	flightrec_record(c->ike->peer, FR_CHILD_INSTALL, c->ci.spi_in, c->ci.spi_out, c->ci.tunnel);
	DBG(DBG_IPSEC, c->ike->peer, "IPSEC: CHILD_SA up: Tunnel%u spi in 0x%08X out 0x%08X%s", c->ci.tunnel,
	    c->ci.spi_in, c->ci.spi_out, c->ci.udp_encap ? " (UDP-encapsulated)" : "");
	ike_emit(c->ike, IKE_EV_CHILD_UP, c->ci.spi_in);
}

uint32_t task_alloc_spi(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	for (int i = 0; i < 8 && ike->env.alloc_spi; i++) {
		uint32_t spi = ike->env.alloc_spi(ike->env.arg, sa->peer);
		if (spi > 255 && !child_sa_by_in(ike, spi))
			return spi;
	}
	return 0;
}

int task_auth_start(struct ike_sa *sa)
{
	const struct ike_prof *p = ike_prof_find(sa->ike, sa->pc.prof);
	const struct ike_kr_peer *k = auth_psk(p, sa->peer, NULL);
	uint8_t auth[PRF_MAX_LEN];
	struct ike_prop prop;
	struct ike_ts any;
	struct child_sa *c = NULL;
	struct ike_pb b;
	uint32_t spi;
	int rc = -1;

	if (!k || !sa->pc.esp.present)
		return -1;
	sa->id_l = sa->pc.local_id;
	if (auth_compute(sa, k, 1, &sa->id_l, auth))
		goto out;
	/* The first CHILD_SA: keys are known now, so inbound goes in before we ask. */
	if (!(spi = task_alloc_spi(sa)) || !(c = child_sa_new(sa, spi)))
		goto out;
	prop_esp_offer(sa->pc.esp.cipher, sa->pc.esp.auth, 0, spi, &prop);
	prop_esp_ids(sa->pc.esp.cipher, sa->pc.esp.auth, &c->sel.encr, &c->sel.klen, &c->sel.integ);
	if (child_sa_keys(c, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, 1) || child_sa_install_in(c))
		goto out;
	sa->x_child = c;
	pb_init(&b);
	ike_pld_id_put(&b, IKE_PLD_IDI, &sa->id_l);
	if (sa->send_ic) {
		ike_pld_n_put(&b, 0, NULL, 0, N_INITIAL_CONTACT, NULL, 0);
		flightrec_record(sa->peer, FR_INITIAL_CONTACT, 1, 0, 0);
	}
	ike_pld_auth_put(&b, IKE_AUTH_PSK, auth, sa->k.prf_len);
	ike_pld_sa_put(&b, &prop, 1);
	ts_any(&any);
	ike_pld_ts_put(&b, IKE_PLD_TSI, &any, 1);
	ike_pld_ts_put(&b, IKE_PLD_TSR, &any, 1);
	rc = xchg_send_request(sa, IKE_AUTH, &b);
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	if (rc && c)
		child_sa_destroy(c, 0);
	return rc;
}

/* Validate the responder's CHILD_SA answer and complete it; 0 if it is up. */
static int auth_child_finish(struct ike_sa *sa, struct child_sa *c, const struct ike_msg *m)
{
	const struct ike_pld *sap = ike_msg_find(m, IKE_PLD_SA);
	struct ike_prop rx[IKE_MAX_PROPS];
	struct ike_sel sel;
	int nrx;

	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) || nrx != 1 ||
	    prop_esp_select(sa->pc.esp.cipher, sa->pc.esp.auth, 0, rx, 1, -1, &sel) || sel.spi < 256 ||
	    task_child_take_ts(c, m, 1))
		return -1;
	c->ci.spi_out = (uint32_t)sel.spi;
	if (child_sa_install_out(c))
		return -1;
	auth_child_up(c);
	return 0;
}

void task_auth_response(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_prof *p = ike_prof_find(sa->ike, sa->pc.prof);
	const struct ike_kr_peer *k = auth_psk(p, sa->peer, NULL);
	struct child_sa *c = sa->x_child;
	uint8_t want[PRF_MAX_LEN];
	const uint8_t *ad;
	size_t adl;
	uint16_t err;

	sa->x_child = NULL;
	if ((err = ike_msg_error(m)) && !ike_msg_find(m, IKE_PLD_AUTH)) {
		const char *nm = ike_notify_name(err);
		ike_sa_fail(sa, "IKE_AUTH", nm ? nm : "error notify");
		return;
	}
	if (auth_parse_id(m, IKE_PLD_IDR, &sa->id_r) || auth_parse_auth(m, &ad, &adl) || !k ||
	    !p || !auth_id_matches(&p->match_remote, &sa->id_r)) {
		ike_sa_fail(sa, "IKE_AUTH", "no valid IDr/AUTH");
		return;
	}
	if (auth_compute(sa, k, 0, &sa->id_r, want) || adl != sa->k.prf_len ||
	    CRYPTO_memcmp(ad, want, adl)) {
		OPENSSL_cleanse(want, sizeof(want));
		ike_sa_fail(sa, "IKE_AUTH", "AUTHENTICATION_FAILED (pre-shared key mismatch)");
		return;
	}
	OPENSSL_cleanse(want, sizeof(want));
	auth_established(sa);
	ike_sa_clear_ctx(sa);
	if (c && (err || auth_child_finish(sa, c, m))) {
		const char *nm = err ? ike_notify_name(err) : NULL;
		log_ios(LOG_SEV_NOTICE, "IKEV2", "CHILD_SA_FAILED", "CHILD_SA with IKE SA %016llx refused: %s",
			(unsigned long long)sa->spi_i, nm ? nm : "invalid SA/TS");
		child_sa_destroy(c, 0);
	}
	ike_tun_sa_up(sa);
}

/* Which profile does this initiator belong to? Its ID decides (match identity remote). */
static const struct ike_prof *auth_find_profile(struct ike *ike, const struct ike_id *id, uint32_t peer)
{
	const struct ike_tun *t = ike_tun_by_peer(ike, peer);
	const struct ike_prof *p = t ? ike_prof_find(ike, t->prof) : NULL;

	if (p && auth_id_matches(&p->match_remote, id))
		return p;
	for (int i = 0; i < ike->n_prof; i++)
		if (ike->prof[i].match_remote.type != CFG_ID_NONE &&
		    auth_id_matches(&ike->prof[i].match_remote, id) && ike->prof[i].esp.present)
			return &ike->prof[i];
	return NULL;
}

/* Responder side of the first CHILD_SA. Returns 0, or the notify to send. */
static uint16_t auth_child_respond(struct ike_sa *sa, const struct ike_msg *m, struct ike_pb *b)
{
	const struct ike_pld *sap = ike_msg_find(m, IKE_PLD_SA);
	struct ike_prop rx[IKE_MAX_PROPS], chosen;
	struct ike_sel sel;
	struct child_sa *c;
	uint32_t spi;
	int nrx;

	if (!sap || ike_pld_sa_parse(sap->p, sap->len, rx, IKE_MAX_PROPS, &nrx) ||
	    prop_esp_select(sa->pc.esp.cipher, sa->pc.esp.auth, 0, rx, nrx, -1, &sel) || sel.spi < 256)
		return N_NO_PROPOSAL_CHOSEN;
	if (!(spi = task_alloc_spi(sa)) || !(c = child_sa_new(sa, spi)))
		return N_TEMPORARY_FAILURE;
	if (task_child_take_ts(c, m, 0)) {
		child_sa_destroy(c, 0);
		return N_TS_UNACCEPTABLE;
	}
	c->sel = sel;
	if (child_sa_keys(c, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, 0)) {
		child_sa_destroy(c, 0);
		return N_NO_PROPOSAL_CHOSEN;
	}
	c->ci.spi_out = (uint32_t)sel.spi;
	if (child_sa_install_in(c) || child_sa_install_out(c)) {
		child_sa_destroy(c, 0);
		return N_TEMPORARY_FAILURE;
	}
	prop_from_sel(&sel, IKE_PROTO_ESP, 4, spi, &chosen);
	ike_pld_sa_put(b, &chosen, 1);
	task_child_add_ts(b, c, 0);
	auth_child_up(c);
	return 0;
}

void task_auth_respond(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_prof *p;
	const struct ike_kr_peer *k;
	uint8_t want[PRF_MAX_LEN], ours[PRF_MAX_LEN];
	const uint8_t *ad;
	size_t adl;
	struct ike_pb b;
	uint16_t err;
	int ic;

	pb_init(&b);
	if (auth_parse_id(m, IKE_PLD_IDI, &sa->id_r) || auth_parse_auth(m, &ad, &adl)) {
		ike_pld_n_put(&b, 0, NULL, 0, N_INVALID_SYNTAX, NULL, 0);
		goto reject;
	}
	p = auth_find_profile(sa->ike, &sa->id_r, sa->peer);
	k = auth_psk(p, sa->peer, &sa->id_r);
	if (!p || !k || auth_compute(sa, k, 1, &sa->id_r, want) || adl != sa->k.prf_len ||
	    CRYPTO_memcmp(ad, want, adl)) {
		ike_pld_n_put(&b, 0, NULL, 0, N_AUTHENTICATION_FAILED, NULL, 0);
		goto reject;
	}
	/* Authenticated. Bind the SA to its tunnel (a static peer) or to the profile. */
	{
		struct ike_tun *t = ike_tun_by_peer(sa->ike, sa->peer);
		if (t && !strcmp(t->prof, p->name))
			ike_peercfg_from_tun(sa->ike, t, sa->local, &sa->pc);
		else
			ike_peercfg_from_prof(sa->ike, p, sa->local, &sa->pc);
		sa->have_pc = 1;
	}
	sa->id_l = sa->pc.local_id;
	ic = ike_msg_notify(m, N_INITIAL_CONTACT, NULL);
	ike_pld_id_put(&b, IKE_PLD_IDR, &sa->id_l);
	if (auth_compute(sa, k, 0, &sa->id_l, ours)) {
		pb_init(&b);
		ike_pld_n_put(&b, 0, NULL, 0, N_AUTHENTICATION_FAILED, NULL, 0);
		goto reject;
	}
	ike_pld_auth_put(&b, IKE_AUTH_PSK, ours, sa->k.prf_len);
	OPENSSL_cleanse(ours, sizeof(ours));
	OPENSSL_cleanse(want, sizeof(want));
	auth_established(sa);
	if (ic)
		auth_initial_contact(sa);
	if (sa->pc.esp.present && (err = auth_child_respond(sa, m, &b))) {
		ike_pld_n_put(&b, 0, NULL, 0, err, NULL, 0);
		log_ios(LOG_SEV_NOTICE, "IKEV2", "CHILD_SA_FAILED", "CHILD_SA with IKE SA %016llx refused: %s",
			(unsigned long long)sa->spi_i, ike_notify_name(err));
	}
	xchg_send_response(sa, IKE_AUTH, m->msgid, &b);
	ike_sa_clear_ctx(sa);
	ike_tun_sa_up(sa);
	return;
reject:
	OPENSSL_cleanse(want, sizeof(want));
	xchg_send_response(sa, IKE_AUTH, m->msgid, &b);
	{
		char a[INET_ADDRSTRLEN], id[IKE_ID_MAX];
		inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
		ike_id_str(&sa->id_r, id, sizeof(id));
		log_ios(LOG_SEV_NOTICE, "IKEV2", "AUTH_FAILED", "IKE_AUTH from %s (id %s) rejected", a, id);
	}
	ike_sa_destroy(sa);
}
