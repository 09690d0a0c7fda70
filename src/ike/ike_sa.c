/* The IKE SA object: creation, the one state-change function, hash tables by
 * our SPI / by (peer, SPIi) for IKE_SA_INIT retransmits / by peer address,
 * and teardown. Lookups are O(1); the tables double when they fill up. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ops/debug.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"

static size_t h_spi(uint64_t spi, size_t n)
{
	return (size_t)((spi ^ (spi >> 29)) * 0x9E3779B97F4A7C15ull >> 20) & (n - 1);
}
static size_t h_addr(uint32_t a, size_t n)
{
	return (size_t)((uint64_t)a * 0x9E3779B97F4A7C15ull >> 24) & (n - 1);
}
static size_t h_init(uint32_t a, uint64_t spi, size_t n)
{
	return h_spi(spi ^ ((uint64_t)a << 17), n);
}

uint64_t ike_sa_local_spi(const struct ike_sa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}

static void ike_sa_hash_add(struct ike *ike, struct ike_sa *sa)
{
	size_t i;
	if (ike_sa_local_spi(sa)) {
		i = h_spi(ike_sa_local_spi(sa), ike->hsize);
		sa->h_spi_next = ike->h_spi[i];
		ike->h_spi[i] = sa;
	}
	if (!sa->initiator && sa->half_open) {
		i = h_init(sa->peer, sa->spi_i, ike->hsize);
		sa->h_init_next = ike->h_init[i];
		ike->h_init[i] = sa;
	}
	i = h_addr(sa->peer, ike->hsize);
	sa->h_peer_next = ike->h_peer[i];
	ike->h_peer[i] = sa;
}

static void ike_sa_unlink(struct ike_sa **pp, struct ike_sa *sa, size_t off)
{
	while (*pp) {
		if (*pp == sa) {
			*pp = *(struct ike_sa **)((char *)sa + off);
			return;
		}
		pp = (struct ike_sa **)((char *)*pp + off);
	}
}

static void ike_sa_hash_del(struct ike *ike, struct ike_sa *sa)
{
	if (ike_sa_local_spi(sa))
		ike_sa_unlink(&ike->h_spi[h_spi(ike_sa_local_spi(sa), ike->hsize)], sa,
			      offsetof(struct ike_sa, h_spi_next));
	ike_sa_unhash_init(sa);
	ike_sa_unlink(&ike->h_peer[h_addr(sa->peer, ike->hsize)], sa,
		      offsetof(struct ike_sa, h_peer_next));
}

/* Responder half-open SAs that never returned a COOKIE, oldest first: the
 * ones that give way when a limit is met (ike_sa_admit). */
static void ike_sa_unver_add(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;

	sa->unver = 1;
	sa->unver_next = NULL;
	sa->unver_prev = ike->unver_tail;
	if (ike->unver_tail)
		ike->unver_tail->unver_next = sa;
	else
		ike->unver_head = sa;
	ike->unver_tail = sa;
}

void ike_sa_unver_del(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;

	if (!sa->unver)
		return;
	if (sa->unver_prev)
		sa->unver_prev->unver_next = sa->unver_next;
	else
		ike->unver_head = sa->unver_next;
	if (sa->unver_next)
		sa->unver_next->unver_prev = sa->unver_prev;
	else
		ike->unver_tail = sa->unver_prev;
	sa->unver = 0;
	sa->unver_prev = sa->unver_next = NULL;
}

void ike_sa_unhash_init(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	if (!sa->initiator && sa->half_open) {
		ike_sa_unver_del(sa);
		ike_sa_unlink(&ike->h_init[h_init(sa->peer, sa->spi_i, ike->hsize)], sa,
			      offsetof(struct ike_sa, h_init_next));
		sa->half_open = 0;
		ike->half_open--;
	}
}

/* Double the tables when the load passes 2. */
static int ike_sa_grow(struct ike *ike)
{
	size_t n = ike->hsize ? ike->hsize * 2 : 1024;
	struct ike_sa **a = calloc(n, sizeof(*a)), **b = calloc(n, sizeof(*b)),
		      **c = calloc(n, sizeof(*c));
	if (!a || !b || !c) {
		free(a), free(b), free(c);
		return -1;
	}
	free(ike->h_spi), free(ike->h_init), free(ike->h_peer);
	ike->h_spi = a, ike->h_init = b, ike->h_peer = c;
	ike->hsize = n;
	for (struct ike_sa *sa = ike->all; sa; sa = sa->all_next)
		if (!sa->destroyed)
			ike_sa_hash_add(ike, sa);
	return 0;
}

struct ike_sa *ike_sa_by_spi(struct ike *ike, uint64_t spi)
{
	if (!ike->hsize || !spi)
		return NULL;
	for (struct ike_sa *sa = ike->h_spi[h_spi(spi, ike->hsize)]; sa; sa = sa->h_spi_next)
		if (ike_sa_local_spi(sa) == spi)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_by_init(struct ike *ike, uint32_t peer, uint64_t spi_i)
{
	if (!ike->hsize)
		return NULL;
	for (struct ike_sa *sa = ike->h_init[h_init(peer, spi_i, ike->hsize)]; sa; sa = sa->h_init_next)
		if (sa->peer == peer && sa->spi_i == spi_i)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_first_by_peer(struct ike *ike, uint32_t peer)
{
	if (!ike->hsize)
		return NULL;
	for (struct ike_sa *sa = ike->h_peer[h_addr(peer, ike->hsize)]; sa; sa = sa->h_peer_next)
		if (sa->peer == peer)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_next_by_peer(struct ike_sa *cur)
{
	for (struct ike_sa *sa = cur->h_peer_next; sa; sa = sa->h_peer_next)
		if (sa->peer == cur->peer)
			return sa;
	return NULL;
}

static uint64_t ike_sa_rand_spi(struct ike *ike)
{
	uint64_t spi = 0;
	for (int i = 0; i < 8 && (!spi || ike_sa_by_spi(ike, spi)); i++)
		if (RAND_bytes((uint8_t *)&spi, sizeof(spi)) != 1)
			spi = 0;
	return spi;
}

static void ike_sa_timer_free(struct timer *t, void *arg);

struct ike_sa *ike_sa_new(struct ike *ike, int initiator, uint32_t local, uint16_t lport,
			  uint32_t peer, uint16_t pport)
{
	struct ike_sa *sa;

	if (ike->n_sa + 1 > ike->hsize * 2 && ike_sa_grow(ike))
		return NULL;
	if (!(sa = calloc(1, sizeof(*sa))))
		return NULL;
	sa->ike = ike;
	sa->initiator = initiator;
	sa->state = IKE_SA_CREATED;
	sa->local = local, sa->lport = lport, sa->peer = peer, sa->pport = pport;
	sa->created_ms = sa->last_rx_ms = loop_now_ms();
	sa->pc.tunnel = IKE_TUNNEL_NONE;
	if (!++ike->next_id)
		ike->next_id = 1; /* 0 is no id */
	sa->id = ike->next_id;
	timer_init(&sa->t_retx, NULL, sa);
	timer_init(&sa->t_rekey, NULL, sa);
	timer_init(&sa->t_dpd, NULL, sa);
	timer_init(&sa->t_expire, NULL, sa);
	if (initiator) {
		sa->spi_i = ike_sa_rand_spi(ike);
		if (!sa->spi_i) {
			free(sa);
			return NULL;
		}
	}
	sa->all_next = ike->all;
	if (ike->all)
		ike->all->all_prev = sa;
	ike->all = sa;
	ike->n_sa++;
	if (initiator)
		ike_sa_hash_add(ike, sa);
	return sa;
}

/* Responder: adopt the initiator's SPI, pick ours, and hash as half-open. */
void ike_sa_set_spi_r(struct ike_sa *sa, uint64_t spi_i)
{
	sa->spi_i = spi_i;
	sa->spi_r = ike_sa_rand_spi(sa->ike);
	sa->half_open = 1;
	sa->ike->half_open++;
	if (!sa->cookie_ok)
		ike_sa_unver_add(sa);
	ike_sa_hash_add(sa->ike, sa);
}

void ike_sa_nego_out(struct ike_sa *sa)
{
	sa->nego_out = 1;
	sa->ike->nego_out++;
}

static void ike_sa_nego_done(struct ike_sa *sa)
{
	if (sa->nego_out) {
		sa->nego_out = 0;
		sa->ike->nego_out--;
	}
}

#define IKE_LIMIT_LOG_MS 10000

int ike_sa_at_limit(const struct ike *ike)
{
	return (ike->max_sa && ike->n_sa >= ike->max_sa) ||
	       (ike->max_nego_in && ike->half_open >= ike->max_nego_in);
}

/* The peer already has an IKE SA here that is more than an unanswered
 * request: it rebooted (its new SA replaces the stale one by INITIAL_CONTACT)
 * or it is setting one up with us at the same time (one of the two goes). */
static int ike_sa_replaces(struct ike *ike, uint32_t peer)
{
	unsigned up = 0, half = 0;

	for (struct ike_sa *o = ike_sa_first_by_peer(ike, peer); o && up + half < 3; o = ike_sa_next_by_peer(o))
		if (!o->destroyed)
			(!o->initiator && o->half_open) ? half++ : up++;
	/* One replacement at a time: a peer (or hosts behind its NAT) that keeps
	 * its old SA cannot go past the limit by more than one. */
	return up == 1 && half == 0;
}

int ike_sa_admit(struct ike *ike, int incoming, int verified, uint32_t peer)
{
	const uint8_t *a = (const uint8_t *)&peer;
	const char *what = NULL;
	uint32_t lim = 0;
	uint64_t now = loop_now_ms();
	int over_sa = ike->max_sa && ike->n_sa >= ike->max_sa && !(incoming && ike_sa_replaces(ike, peer));
	int over_in = incoming && ike->max_nego_in && ike->half_open >= ike->max_nego_in;
	int over_out = !incoming && ike->max_nego_out && ike->nego_out >= ike->max_nego_out;

	/* Room at a limit: the oldest half-open SA that never returned a COOKIE
	 * gives way to a request that did, or to one of our own tunnels, so
	 * forged requests cannot hold the slots. Only when that one SA is all
	 * that is missing (a limit lowered below the count stays refused) and
	 * no other limit refuses anyway. */
	if ((over_sa || over_in) && !over_out && (!incoming || verified) && ike->unver_head &&
	    (!over_sa || ike->n_sa == ike->max_sa) && (!over_in || ike->half_open == ike->max_nego_in)) {
		ike_sa_destroy(ike->unver_head);
		ike->evicted++;
		over_sa = over_in = 0;
	}
	if (over_sa) {
		what = "max-sa", lim = ike->max_sa;
		incoming ? ike->rej_sa_limit++ : ike->rej_out++;
	} else if (over_in) {
		what = "max-in-negotiation-sa incoming", lim = ike->max_nego_in;
		ike->rej_nego_in++;
	} else if (over_out) {
		what = "max-in-negotiation-sa outgoing", lim = ike->max_nego_out;
		ike->rej_out++;
	}
	if (!what)
		return 1;
	/* A flood would hit this per packet: one line per interval, with a count. */
	if (ike->limit_log_ms && now - ike->limit_log_ms < IKE_LIMIT_LOG_MS) {
		ike->limit_log_suppressed++;
		return 0;
	}
	char more[64] = "";
	if (ike->limit_log_suppressed)
		snprintf(more, sizeof(more), " (and %u more since the last message)", ike->limit_log_suppressed);
	log_ios(LOG_SEV_NOTICE, "IKEV2", "SA_REJECTED_LIMIT_REACHED",
		"%s IKE SA %s %u.%u.%u.%u refused: crypto ikev2 limit %s %u reached%s",
		incoming ? "Incoming" : "Outgoing", incoming ? "from" : "to", a[0], a[1], a[2], a[3], what, lim, more);
	ike->limit_log_ms = now ? now : 1;
	ike->limit_log_suppressed = 0;
	return 0;
}

const char *ike_sa_state_name(enum ike_sa_state s)
{
	static const char *n[] = {"CREATED", "CONNECTING", "ESTABLISHED", "REKEYING",
				  "REKEYED", "DELETING", "DEAD"};
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

/* Legal moves: forward through the life cycle; REKEYING may fall back to
 * ESTABLISHED (rekey failed or lost a collision); anything may die. */
static int ike_sa_legal(enum ike_sa_state from, enum ike_sa_state to)
{
	switch (to) {
	case IKE_SA_CONNECTING:
		return from == IKE_SA_CREATED;
	case IKE_SA_ESTABLISHED:
		return from == IKE_SA_CONNECTING || from == IKE_SA_CREATED || from == IKE_SA_REKEYING;
	case IKE_SA_REKEYING:
		return from == IKE_SA_ESTABLISHED;
	case IKE_SA_REKEYED:
		return from == IKE_SA_ESTABLISHED || from == IKE_SA_REKEYING;
	case IKE_SA_DELETING:
		return from != IKE_SA_DEAD;
	case IKE_SA_DEAD:
		return 1;
	default:
		return 0;
	}
}

void ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state st)
{
	char a[INET_ADDRSTRLEN];

	if (sa->state == st)
		return;
	if (!ike_sa_legal(sa->state, st)) {
		DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx): refused state change %s -> %s",
		    (unsigned long long)ike_sa_local_spi(sa), ike_sa_state_name(sa->state),
		    ike_sa_state_name(st));
		return;
	}
	inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
	DBG(DBG_IKE, sa->peer, "IKEv2:(SA ID %016llx): peer %s: state %s -> %s",
	    (unsigned long long)ike_sa_local_spi(sa), a, ike_sa_state_name(sa->state),
	    ike_sa_state_name(st));
	flightrec_record(sa->peer, FR_IKE_STATE, sa->state, st, sa->spi_i);
	sa->state = st;
	if (st != IKE_SA_CONNECTING)
		ike_sa_nego_done(sa);
}

int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = memcmp(a, b, n);
	return c ? c : (al > bl) - (al < bl);
}

void ike_sa_set_nonce_min(struct ike_sa *sa, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (ike_nonce_cmp(a, al, b, bl) > 0) {
		a = b;
		al = bl;
	}
	memcpy(sa->nonce_min, a, al);
	sa->nonce_min_len = al;
}

void ike_sa_info(const struct ike_sa *sa, struct ike_sa_info *i)
{
	uint64_t now = loop_now_ms();

	memset(i, 0, sizeof(*i));
	i->tunnel = sa->pc.tunnel;
	i->local = sa->local, i->peer = sa->peer;
	i->local_port = sa->lport, i->peer_port = sa->pport;
	i->spi_i = sa->spi_i, i->spi_r = sa->spi_r;
	i->initiator = sa->initiator;
	i->state = sa->state;
	i->nat = sa->natt;
	ike_id_str(&sa->id_l, i->local_id, sizeof(i->local_id));
	ike_id_str(&sa->id_r, i->remote_id, sizeof(i->remote_id));
	if (sa->alg.encr) {
		snprintf(i->encr, sizeof(i->encr), "%s", prop_encr_name(sa->alg.encr, sa->alg.klen));
		snprintf(i->prf, sizeof(i->prf), "%s", prop_prf_name(sa->alg.prf));
		snprintf(i->integ, sizeof(i->integ), "%s", prop_integ_name(sa->alg.integ));
	}
	i->dh_group = sa->alg.dh;
	i->lifetime_sec = sa->pc.ike_lifetime;
	i->age_sec = (uint32_t)((now - (sa->established_ms ? sa->established_ms : sa->created_ms)) / 1000);
	i->n_child = sa->n_children;
	i->id = sa->id;
}

void ike_sa_clear_ctx(struct ike_sa *sa)
{
	dh_free(sa->dh);
	sa->dh = NULL;
	dh_free(sa->x_dh);
	sa->x_dh = NULL;
	free(sa->init_i);
	free(sa->init_r);
	sa->init_i = sa->init_r = NULL;
	sa->init_i_len = sa->init_r_len = 0;
}

static void ike_sa_free(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;

	if (sa->all_prev)
		sa->all_prev->all_next = sa->all_next;
	else
		ike->all = sa->all_next;
	if (sa->all_next)
		sa->all_next->all_prev = sa->all_prev;
	ike_sa_clear_ctx(sa);
	free(sa->req);
	free(sa->resp);
	keymat_wipe(&sa->k);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

static void ike_sa_timer_free(struct timer *t, void *arg)
{
	(void)t;
	ike_sa_free(arg);
}

/* Remove everything now; memory is released from a 0 ms timer so that callers
 * up the stack may still look at the (dead) object. */
void ike_sa_destroy(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	struct ike_sa *o;

	if (!sa || sa->destroyed)
		return;
	ike_sa_set_state(sa, IKE_SA_DEAD);
	xchg_cancel(sa);
	timer_cancel(&sa->t_rekey);
	timer_cancel(&sa->t_dpd);
	timer_cancel(&sa->t_expire);
	timer_cancel(&sa->t_natka);
	/* A CHILD_SA moved to a rekeyed IKE SA while we rekeyed it: its rekey died
	 * with us; it must be rekeyable again, soon. */
	if (sa->x_old && sa->x_old->ike != sa && sa->x_old->state == CHILD_REKEYING) {
		child_sa_set_state(sa->x_old, CHILD_INSTALLED);
		timer_arm(&sa->x_old->t_rekey, 1000);
	}
	while (sa->children)
		child_sa_destroy(sa->children, 0);
	sa->x_child = sa->x_old = NULL;
	/* Unlink references between rekey partners (no scan: parent links). */
	if ((o = sa->parent)) {
		if (o->x_new == sa)
			o->x_new = NULL;
		if (o->collide == sa)
			o->collide = NULL;
		if (o->replaced_by == sa)
			o->replaced_by = NULL;
	}
	if (sa->x_new && sa->x_new->parent == sa)
		sa->x_new->parent = NULL;
	if (sa->collide && sa->collide->parent == sa)
		sa->collide->parent = NULL;
	if (sa->replaced_by && sa->replaced_by->parent == sa)
		sa->replaced_by->parent = NULL;
	if (sa->x_new && sa->x_new->state == IKE_SA_CREATED)
		ike_sa_destroy(sa->x_new);
	ike_sa_hash_del(ike, sa);
	ike_tun_sa_gone(sa, 0);
	ike_sa_nego_done(sa);
	ike->n_sa--;
	sa->destroyed = 1;
	timer_init(&sa->t_expire, ike_sa_timer_free, sa);
	timer_arm(&sa->t_expire, 0);
}

void ike_sa_fail(struct ike_sa *sa, const char *stage, const char *why)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
	log_ios(LOG_SEV_NOTICE, "IKEV2", "NEGOTIATION_FAILED", "%s with %s failed: %s", stage, a, why);
	metrics_inc(MC_IKE_SA_FAILED);
	ike_tun_sa_gone(sa, 1);
	ike_sa_destroy(sa);
}

void ike_sa_free_all(struct ike *ike)
{
	for (struct ike_sa *sa = ike->all; sa; sa = sa->all_next)
		ike_sa_destroy(sa);
	while (ike->all) {
		timer_cancel(&ike->all->t_expire);
		ike_sa_free(ike->all);
	}
}

void ike_sa_delete(struct ike_sa *sa, int notify_peer)
{
	if (sa->destroyed)
		return;
	if (notify_peer && (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_REKEYING ||
			    sa->state == IKE_SA_REKEYED)) {
		xchg_queue(sa, T_DEL_IKE, 0);
		return;
	}
	ike_emit(sa, IKE_EV_DELETED, 0);
	ike_sa_destroy(sa);
}

/* Move CHILD_SAs to a rekeyed IKE SA. One still being negotiated on `from`
 * stays: its keys come from from's SK_d; it moves when its exchange ends. */
void ike_sa_adopt_children(struct ike_sa *to, struct ike_sa *from)
{
	for (struct child_sa *c = from->children, *nx; c; c = nx) {
		nx = c->next;
		if (c != from->x_child)
			child_sa_move(c, to);
	}
}

static void ike_sa_rekey_due(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	(void)t;
	if (sa->state == IKE_SA_ESTABLISHED)
		xchg_queue(sa, T_IKE_REKEY, 0);
}

/* The lifetime ran out and no rekey succeeded (the peer refuses, or never
 * answers a rekey while answering liveness checks): delete the SA, as IOS
 * does. A static tunnel comes back through a fresh IKE SA. */
static void ike_sa_hard_expire(struct timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	char a[INET_ADDRSTRLEN];
	(void)t;

	if (sa->state == IKE_SA_REKEYING) { /* the rekey in flight may still make it */
		sa->lifetime_over = 1;
		return;
	}
	if (sa->state != IKE_SA_ESTABLISHED)
		return;
	inet_ntop(AF_INET, &sa->peer, a, sizeof(a));
	log_ios(LOG_SEV_NOTICE, "IKEV2", "SA_EXPIRED",
		"IKE SA with %s reached its lifetime of %u s without a successful rekey: deleting it", a,
		sa->pc.ike_lifetime ? sa->pc.ike_lifetime : 86400);
	ike_tun_sa_gone(sa, 1);
	xchg_queue(sa, T_DEL_IKE, 0);
}

void ike_sa_arm_timers(struct ike_sa *sa)
{
	uint32_t life = sa->pc.ike_lifetime ? sa->pc.ike_lifetime : 86400;
	uint64_t ms = (uint64_t)life * 1000;
	/* Rekey ahead of the lifetime: 10% early (at most 5 min), minus jitter. */
	uint64_t margin = ms / 10 < 300000 ? ms / 10 : 300000;

	timer_init(&sa->t_rekey, ike_sa_rekey_due, sa);
	timer_arm(&sa->t_rekey, ike_jitter((uint32_t)(ms - margin), 5));
	/* t_expire is free while established (half-open before, REKEYED after). */
	timer_init(&sa->t_expire, ike_sa_hard_expire, sa);
	timer_arm(&sa->t_expire, ms);
	task_dpd_arm(sa);
	task_natka_arm(sa);
}

void ike_sa_rekey_retry(struct ike_sa *sa)
{
	if (sa->lifetime_over)
		ike_sa_hard_expire(&sa->t_expire, sa);
	else
		timer_arm(&sa->t_rekey, IKE_REKEY_RETRY_MS);
}
