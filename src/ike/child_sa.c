/* The CHILD_SA object: keys (§2.17), install/remove through the env, the one
 * state-change function, and the soft (rekey) and hard lifetimes. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include "ike/ike_int.h"
#include "ops/debug.h"
#include "ops/flightrec.h"

static size_t h_child(uint32_t spi, size_t n)
{
	return (size_t)((uint64_t)spi * 0x9E3779B97F4A7C15ull >> 24) & (n - 1);
}

static int child_grow(struct ike *ike)
{
	size_t n = ike->csize ? ike->csize * 2 : 1024;
	struct child_sa **t = calloc(n, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < ike->csize; i++) {
		struct child_sa *c = ike->h_child[i], *nx;
		for (; c; c = nx) {
			nx = c->h_next;
			size_t k = h_child(c->ci.spi_in, n);
			c->h_next = t[k];
			t[k] = c;
		}
	}
	free(ike->h_child);
	ike->h_child = t;
	ike->csize = n;
	return 0;
}

struct child_sa *child_sa_by_in(struct ike *ike, uint32_t spi_in)
{
	if (!ike->csize)
		return NULL;
	for (struct child_sa *c = ike->h_child[h_child(spi_in, ike->csize)]; c; c = c->h_next)
		if (c->ci.spi_in == spi_in)
			return c;
	return NULL;
}

struct child_sa *child_sa_by_out(struct ike_sa *sa, uint32_t spi_out)
{
	if (!spi_out)
		return NULL; /* a CHILD_SA we are still negotiating has no peer SPI yet */
	for (struct child_sa *c = sa->children; c; c = c->next)
		if (c->ci.spi_out == spi_out)
			return c;
	return NULL;
}

const char *child_sa_state_name(enum child_state s)
{
	static const char *n[] = {"INSTALLING", "INSTALLED", "REKEYING", "REKEYED", "DELETING"};
	return (unsigned)s < 5 ? n[s] : "?";
}

struct child_sa *child_sa_new(struct ike_sa *sa, uint32_t spi_in)
{
	struct ike *ike = sa->ike;
	struct child_sa *c;

	if (ike->n_child + 1 > ike->csize * 2 && child_grow(ike))
		return NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->ike = sa;
	c->state = CHILD_INSTALLING;
	c->ci.spi_in = spi_in;
	c->created_ms = loop_now_ms();
	timer_init(&c->t_rekey, NULL, c);
	timer_init(&c->t_expire, NULL, c);
	timer_init(&c->t_out, NULL, c);
	size_t k = h_child(spi_in, ike->csize);
	c->h_next = ike->h_child[k];
	ike->h_child[k] = c;
	ike->n_child++;
	c->next = sa->children;
	sa->children = c;
	sa->n_children++;
	return c;
}

/* INSTALLING -> INSTALLED -> REKEYING -> REKEYED -> (gone); DELETING from any;
 * REKEYING falls back to INSTALLED when the rekey fails. */
void child_sa_set_state(struct child_sa *c, enum child_state st)
{
	int ok;

	if (c->state == st)
		return;
	switch (st) {
	case CHILD_INSTALLED:
		ok = c->state == CHILD_INSTALLING || c->state == CHILD_REKEYING;
		break;
	case CHILD_REKEYING:
		ok = c->state == CHILD_INSTALLED;
		break;
	case CHILD_REKEYED:
		ok = c->state == CHILD_INSTALLED || c->state == CHILD_REKEYING;
		break;
	case CHILD_DELETING:
		ok = 1;
		break;
	default:
		ok = 0;
	}
	DBG(DBG_IKE, c->ike->peer, "IKEv2:(SA ID %016llx): CHILD_SA spi in %08x out %08x: %s%s -> %s",
	    (unsigned long long)ike_sa_local_spi(c->ike), c->ci.spi_in, c->ci.spi_out,
	    ok ? "" : "refused ", child_sa_state_name(c->state), child_sa_state_name(st));
	if (ok)
		c->state = st;
}

int child_sa_keys(struct child_sa *c, const uint8_t *gir, size_t girl, const uint8_t *ni,
		  size_t nil, const uint8_t *nr, size_t nrl, int we_initiated)
{
	struct ike_sa *sa = c->ike;
	struct ike_child_info *ci = &c->ci;
	uint8_t ei[64], ai[64], er[64], ar[64];
	size_t el, al;
	int rc = -1;

	if (keymat_esp_lengths(c->sel.encr, c->sel.klen, c->sel.integ, &el, &al) ||
	    el > IKE_ESP_KEY_MAX || al > IKE_ESP_KEY_MAX)
		goto out;
	if (keymat_child(sa->k.prf, sa->k.sk_d, sa->k.prf_len, gir, girl, ni, nil, nr, nrl, el, al,
			 ei, ai, er, ar))
		goto out;
	c->we_initiated = we_initiated;
	ci->tunnel = sa->pc.tunnel;
	ci->local = sa->local;
	ci->peer = sa->peer;
	ci->udp_encap = sa->natt || sa->pc.esp.udp_encap;
	ci->local_port = ci->udp_encap ? 4500 : 0;
	ci->peer_port = ci->udp_encap ? (sa->pport == 500 ? 4500 : sa->pport) : 0;
	ci->cipher = sa->pc.esp.cipher;
	ci->auth = sa->pc.esp.auth;
	ci->enc_len = el;
	ci->auth_len = al;
	memcpy(ci->enc_in, we_initiated ? er : ei, el);
	memcpy(ci->enc_out, we_initiated ? ei : er, el);
	memcpy(ci->auth_in, we_initiated ? ar : ai, al);
	memcpy(ci->auth_out, we_initiated ? ai : ar, al);
	ci->lifetime_sec = sa->pc.esp.lifetime_sec ? sa->pc.esp.lifetime_sec : sa->ike->def_lifetime_sec;
	ci->lifetime_kb = sa->pc.esp.lifetime_kb ? sa->pc.esp.lifetime_kb : sa->ike->def_lifetime_kb;
	ci->replay_window = sa->ike->replay_window;
	/* §2.8.1: remember the lowest nonce of the creating exchange. */
	if (ike_nonce_cmp(ni, nil, nr, nrl) <= 0)
		memcpy(c->nonce_min, ni, nil), c->nonce_min_len = nil;
	else
		memcpy(c->nonce_min, nr, nrl), c->nonce_min_len = nrl;
	rc = 0;
out:
	OPENSSL_cleanse(ei, sizeof(ei));
	OPENSSL_cleanse(er, sizeof(er));
	OPENSSL_cleanse(ai, sizeof(ai));
	OPENSSL_cleanse(ar, sizeof(ar));
	return rc;
}

int child_sa_install_in(struct child_sa *c)
{
	struct ike *ike = c->ike->ike;
	return ike->env.child_install_in ? ike->env.child_install_in(ike->env.arg, &c->ci) : 0;
}

int child_sa_install_out(struct child_sa *c)
{
	struct ike *ike = c->ike->ike;
	int rc = ike->env.child_install_out ? ike->env.child_install_out(ike->env.arg, &c->ci) : 0;

	c->out_installed = 1;
	/* The data plane has its own copies now. */
	OPENSSL_cleanse(c->ci.enc_in, sizeof(c->ci.enc_in));
	OPENSSL_cleanse(c->ci.enc_out, sizeof(c->ci.enc_out));
	OPENSSL_cleanse(c->ci.auth_in, sizeof(c->ci.auth_in));
	OPENSSL_cleanse(c->ci.auth_out, sizeof(c->ci.auth_out));
	return rc;
}

static void child_unlink(struct child_sa **pp, struct child_sa *c, int hash)
{
	while (*pp) {
		if (*pp == c) {
			*pp = hash ? c->h_next : c->next;
			return;
		}
		pp = hash ? &(*pp)->h_next : &(*pp)->next;
	}
}

void child_sa_move(struct child_sa *c, struct ike_sa *to)
{
	struct ike_sa *from = c->ike;

	child_unlink(&from->children, c, 0);
	from->n_children--;
	c->next = to->children;
	to->children = c;
	to->n_children++;
	c->ike = to;
	c->ci.tunnel = to->pc.tunnel;
}

/* Drop sa's references to c, which is going away. */
static void child_forget(struct ike_sa *sa, struct child_sa *c)
{
	if (sa->x_child == c)
		sa->x_child = NULL;
	if (sa->x_old == c) {
		/* The peer deleted the SA we are rekeying, typically because its
		 * twin won a collision: our response still needs the twin to settle. */
		sa->x_old = NULL;
		if (sa->x_child)
			sa->x_child->collide = c->collide;
	}
	for (struct child_sa *o = sa->children; o; o = o->next) {
		if (o->collide == c)
			o->collide = NULL;
		if (o->pred == c)
			o->pred = NULL;
	}
}

void child_sa_destroy(struct child_sa *c, uint32_t grace_ms)
{
	struct ike_sa *sa;
	struct ike *ike;

	if (!c)
		return;
	sa = c->ike;
	ike = sa->ike;
	timer_cancel(&c->t_rekey);
	timer_cancel(&c->t_expire);
	timer_cancel(&c->t_out);
	flightrec_record(sa->peer, FR_CHILD_REMOVE, c->ci.spi_in, c->ci.spi_out,
			 c->state == CHILD_REKEYED ? FR_R_REKEY : FR_R_DELETE);
	if (ike->env.child_remove)
		ike->env.child_remove(ike->env.arg, &c->ci, grace_ms);
	ike_emit(sa, IKE_EV_CHILD_DOWN, c->ci.spi_in);
	child_unlink(&ike->h_child[h_child(c->ci.spi_in, ike->csize)], c, 1);
	ike->n_child--;
	child_unlink(&sa->children, c, 0);
	sa->n_children--;
	child_forget(sa, c);
	/* IKE rekeys moved c here (once or more) while an exchange on an older
	 * IKE SA was rekeying it: that exchange still points at c. */
	for (struct ike_sa *o = ike_sa_first_by_peer(ike, sa->peer); o; o = ike_sa_next_by_peer(o))
		if (o != sa)
			child_forget(o, c);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static void child_sa_rekey_due(struct timer *t, void *arg)
{
	struct child_sa *c = arg;
	(void)t;
	if (c->state == CHILD_INSTALLED)
		xchg_queue(c->ike, T_CHILD_REKEY, c->ci.spi_in);
}

static void child_sa_expire(struct timer *t, void *arg)
{
	struct child_sa *c = arg;
	(void)t;
	/* Hard lifetime, or a replaced SA whose DELETE never came: delete it ourselves. */
	xchg_queue(c->ike, T_DEL_CHILD, c->ci.spi_in);
}

void child_sa_arm(struct child_sa *c)
{
	uint64_t ms = (uint64_t)c->ci.lifetime_sec * 1000;
	/* Soft lifetime: 10% before hard (at most 60 s), then up to 5% jitter earlier. */
	uint64_t margin = ms / 10 < 60000 ? ms / 10 : 60000;

	timer_init(&c->t_rekey, child_sa_rekey_due, c);
	timer_init(&c->t_expire, child_sa_expire, c);
	if (!ms)
		return;
	timer_arm(&c->t_rekey, ike_jitter((uint32_t)(ms - margin), 5));
	timer_arm(&c->t_expire, ms);
}
