/* The IKE engine instance: configuration adopted from the typed model,
 * tunnels (sVTI peers we initiate to), the instance API used by the sync
 * policy and the exec commands, and the default instance the daemon runs.
 *
 * A tunnel owns at most one IKE SA (t->sa). It comes up when the daemon
 * starts, when traffic is routed into it (DP_EV_NEED_SA) and, after a failure
 * or a dead peer, again with exponential backoff (1 s doubling to 30 s).
 * A tunnel whose SAs were deleted on purpose (DELETE from the peer, `clear
 * crypto session`, idle timeout) waits for traffic instead, as IOS does. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ike/ike_int.h"
#include "ops/debug.h"
#include "ops/log.h"

static int jitter_on = 1;

void ike_set_jitter(int on)
{
	jitter_on = on;
}

uint32_t ike_jitter(uint32_t base_ms, unsigned pct)
{
	uint32_t r = 0, span = (uint32_t)((uint64_t)base_ms * pct / 100);

	if (!jitter_on || !span)
		return base_ms;
	if (RAND_bytes((uint8_t *)&r, sizeof(r)) != 1)
		return base_ms;
	return base_ms - r % (span + 1);
}

void ike_emit(struct ike_sa *sa, int ev, uint32_t spi)
{
	struct ike_sa_info i;

	if (!sa->ike->env.event)
		return;
	ike_sa_info(sa, &i);
	i.spi = spi;
	sa->ike->env.event(sa->ike->env.arg, ev, &i);
}

struct ike_tun *ike_tun_find(struct ike *ike, unsigned num)
{
	for (int i = 0; i < ike->n_tun; i++)
		if (ike->tun[i]->num == num)
			return ike->tun[i];
	return NULL;
}

struct ike_tun *ike_tun_by_peer(struct ike *ike, uint32_t peer)
{
	for (int i = 0; i < ike->n_tun; i++)
		if (ike->tun[i]->dst == peer && !ike->tun[i]->shutdown)
			return ike->tun[i];
	return NULL;
}

const struct ike_prof *ike_prof_find(const struct ike *ike, const char *name)
{
	for (int i = 0; i < ike->n_prof; i++)
		if (!strcmp(ike->prof[i].name, name))
			return &ike->prof[i];
	return NULL;
}

void ike_id_from_cfg(const struct cfg_identity *c, uint32_t local, struct ike_id *id)
{
	memset(id, 0, sizeof(*id));
	switch (c ? c->type : CFG_ID_NONE) {
	case CFG_ID_FQDN:
	case CFG_ID_KEYID:
		id->type = c->type == CFG_ID_FQDN ? ID_FQDN : ID_KEY_ID;
		id->len = strnlen(c->value, sizeof(c->value));
		memcpy(id->data, c->value, id->len);
		break;
	case CFG_ID_ADDR:
		local = c->addr;
		/* fall through */
	default:
		id->type = ID_IPV4_ADDR;
		id->len = 4;
		memcpy(id->data, &local, 4);
		break;
	}
}

static void ike_dpd_from(const struct ike *ike, const struct ike_prof *p, struct ike_peercfg *pc)
{
	if (p && p->has_dpd) {
		pc->has_dpd = 1;
		pc->dpd_interval = p->dpd_interval;
		pc->dpd_retry = p->dpd_retry;
		pc->dpd_mode = p->dpd_mode;
	} else if (ike->has_ka) {
		pc->has_dpd = 1;
		pc->dpd_interval = ike->ka_sec;
		pc->dpd_retry = ike->ka_retry;
		pc->dpd_mode = ike->ka_mode;
	}
}

void ike_peercfg_from_tun(struct ike *ike, const struct ike_tun *t, uint32_t local, struct ike_peercfg *pc)
{
	const struct ike_prof *p = ike_prof_find(ike, t->prof);

	memset(pc, 0, sizeof(*pc));
	pc->tunnel = t->num;
	snprintf(pc->prof, sizeof(pc->prof), "%s", t->prof);
	ike_id_from_cfg(p ? &p->local : NULL, local, &pc->local_id);
	pc->ike_lifetime = p && p->lifetime ? p->lifetime : 86400;
	ike_dpd_from(ike, p, pc);
	pc->esp = t->esp;
}

/* Peer configuration for an IKE SA a dynamic peer initiated (no tunnel). */
void ike_peercfg_from_prof(struct ike *ike, const struct ike_prof *p, uint32_t local,
			   struct ike_peercfg *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->tunnel = IKE_TUNNEL_NONE;
	snprintf(pc->prof, sizeof(pc->prof), "%s", p->name);
	ike_id_from_cfg(&p->local, local, &pc->local_id);
	pc->ike_lifetime = p->lifetime ? p->lifetime : 86400;
	ike_dpd_from(ike, p, pc);
	pc->esp = p->esp;
}

/* The source address of a tunnel: configured, the interface's, or the one the
 * kernel would pick toward the destination. */
static uint32_t ike_tun_local(const struct ike_tun *t)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(500), .sin_addr.s_addr = t->dst};
	socklen_t sl = sizeof(sin);
	struct ifaddrs *ifa, *i;
	uint32_t a = 0;
	int fd;

	if (t->src)
		return t->src;
	if (t->src_if[0] && !getifaddrs(&ifa)) {
		for (i = ifa; i && !a; i = i->ifa_next)
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, t->src_if))
				a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		freeifaddrs(ifa);
		return a;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && !getsockname(fd, (struct sockaddr *)&sin, &sl))
		a = sin.sin_addr.s_addr;
	close(fd);
	return a;
}

static void ike_tun_retry(struct timer *tm, void *arg)
{
	struct ike_tun *t = arg;
	(void)tm;
	ike_x_initiate(t->ike, t->num);
}

/* Try again later, each time twice as late up to TUN_BACKOFF_MAX_MS. */
static void ike_tun_backoff(struct ike_tun *t)
{
	if (!t->backoff_ms)
		t->backoff_ms = TUN_BACKOFF_FIRST_MS;
	timer_arm(&t->t_retry, ike_jitter(t->backoff_ms, 10));
	t->backoff_ms = t->backoff_ms * 2 > TUN_BACKOFF_MAX_MS ? TUN_BACKOFF_MAX_MS : t->backoff_ms * 2;
}

void ike_tun_sa_gone(struct ike_sa *sa, int retry)
{
	struct ike_tun *t = ike_tun_find(sa->ike, sa->pc.tunnel);

	if (!t || t->sa != sa)
		return;
	t->sa = NULL;
	/* A surviving sibling (rekeyed or peer-initiated) takes over the tunnel. */
	for (struct ike_sa *o = ike_sa_first_by_peer(sa->ike, sa->peer); o; o = ike_sa_next_by_peer(o))
		if (o != sa && !o->destroyed && o->pc.tunnel == t->num && o->state == IKE_SA_ESTABLISHED) {
			t->sa = o;
			return;
		}
	if (!retry || t->shutdown)
		return;
	ike_tun_backoff(t);
}

void ike_tun_sa_up(struct ike_sa *sa)
{
	struct ike_tun *t = ike_tun_find(sa->ike, sa->pc.tunnel);

	if (!t)
		return;
	/* Our own attempt lost a simultaneous initiation (task_init_collision).
	 * Only while it is in IKE_SA_INIT: past that the peer may have
	 * authenticated it already, and dropping it silently could leave each end
	 * with the other's SA only. It then completes, a duplicate that works. */
	if (t->sa && t->sa != sa && !t->sa->destroyed && t->sa->initiator &&
	    t->sa->state == IKE_SA_CONNECTING && t->sa->cur.kind == T_INIT)
		ike_sa_destroy(t->sa);
	t->sa = sa;
	t->defer_since = 0;
	t->contacted = 1;
	t->backoff_ms = 0;
	timer_cancel(&t->t_retry);
	if (t->pending_invalid_spi) {
		xchg_queue(sa, T_INVALID_SPI, t->pending_invalid_spi);
		t->pending_invalid_spi = 0;
	}
}

struct ike *ike_new(const struct ike_env *env)
{
	struct ike *ike = calloc(1, sizeof(*ike));

	if (!ike)
		return NULL;
	ike->env = *env;
	ike->cookie_threshold = IKE_COOKIE_THRESHOLD;
	ike->replay_window = 64;
	ike->def_lifetime_sec = 3600;
	ike->def_lifetime_kb = 4608000;
	return ike;
}

static void ike_prof_wipe(struct ike_prof *p, int n)
{
	for (int i = 0; i < n; i++) {
		if (p[i].kr)
			OPENSSL_cleanse(p[i].kr, (size_t)p[i].n_kr * sizeof(*p[i].kr));
		free(p[i].kr);
	}
	free(p);
}

static void ike_tun_free(struct ike_tun *t)
{
	timer_cancel(&t->t_retry);
	free(t);
}

void ike_free(struct ike *ike)
{
	if (!ike)
		return;
	ike_sa_free_all(ike);
	for (int i = 0; i < ike->n_tun; i++)
		ike_tun_free(ike->tun[i]);
	free(ike->tun);
	ike_prof_wipe(ike->prof, ike->n_prof);
	free(ike->h_spi), free(ike->h_init), free(ike->h_peer), free(ike->h_child);
	cookie_wipe(&ike->cookie);
	OPENSSL_cleanse(ike, sizeof(*ike));
	free(ike);
}

static void ike_esp_from(const struct cfg_ipsec_profile *ip, struct ike_espcfg *e)
{
	memset(e, 0, sizeof(*e));
	if (!ip || !ip->ts)
		return;
	e->present = 1;
	e->cipher = ip->ts->cipher;
	e->auth = ip->ts->auth;
	e->lifetime_sec = ip->lifetime_sec;
	e->lifetime_kb = ip->lifetime_kb;
	e->idle_time = ip->idle_time;
	e->pfs = ip->pfs_group;
	e->udp_encap = ip->udp_encap;
}

/* Everything but tunnels: built aside, then swapped in, so a failure changes nothing. */
static int ike_load_profiles(struct ike *ike, const struct config *cfg)
{
	struct ike_cfgprop props[PROP_MAX_CFG];
	struct ike_prof *prof = NULL;
	int np = 0, n = 0, i;

	for (const struct cfg_policy *po = cfg->policies; po; po = po->next)
		for (i = 0; i < po->n_proposals && np < PROP_MAX_CFG; i++)
			np += prop_from_cfg(po->proposals[i], &props[np], PROP_MAX_CFG - np);
	if (!cfg->policies)
		for (const struct cfg_proposal *p = cfg->proposals; p && np < PROP_MAX_CFG; p = p->next)
			np += prop_from_cfg(p, &props[np], PROP_MAX_CFG - np);
	for (const struct cfg_ike_profile *p = cfg->ike_profiles; p; p = p->next)
		n++;
	if (n && !(prof = calloc((size_t)n, sizeof(*prof))))
		return -1;
	i = 0;
	for (const struct cfg_ike_profile *p = cfg->ike_profiles; p; p = p->next, i++) {
		struct ike_prof *x = &prof[i];
		int k = 0;
		snprintf(x->name, sizeof(x->name), "%s", p->name);
		x->match_remote = p->match_remote;
		x->local = p->local;
		x->lifetime = p->lifetime;
		x->has_dpd = p->has_dpd;
		x->dpd_interval = p->dpd_interval;
		x->dpd_retry = p->dpd_retry;
		x->dpd_mode = p->dpd_mode;
		for (const struct cfg_ipsec_profile *ip = cfg->ipsec_profiles; ip; ip = ip->next)
			if (ip->ike_profile == p) {
				ike_esp_from(ip, &x->esp);
				break;
			}
		if (!p->keyring)
			continue;
		for (const struct cfg_keyring_peer *kp = p->keyring->peers; kp; kp = kp->next)
			k++;
		if (k && !(x->kr = calloc((size_t)k, sizeof(*x->kr)))) {
			ike_prof_wipe(prof, n);
			return -1;
		}
		for (const struct cfg_keyring_peer *kp = p->keyring->peers; kp; kp = kp->next) {
			struct ike_kr_peer *y = &x->kr[x->n_kr++];
			y->addr = kp->addr, y->mask = kp->mask, y->has_addr = kp->has_addr;
			snprintf(y->identity, sizeof(y->identity), "%s", kp->identity);
			y->psk_len = kp->psk_len < sizeof(y->psk) ? kp->psk_len : sizeof(y->psk);
			memcpy(y->psk, kp->psk, y->psk_len);
		}
	}
	ike_prof_wipe(ike->prof, ike->n_prof);
	ike->prof = prof;
	ike->n_prof = n;
	memcpy(ike->props, props, sizeof(props));
	ike->n_props = np;
	ike->natka_ms = cfg->ikev2_nat_keepalive * 1000u;
	ike->cookie_threshold = cfg->ikev2_cookie_challenge ? cfg->ikev2_cookie_challenge : IKE_COOKIE_THRESHOLD;
	/* Lowered limits refuse new SAs only; the SAs already there stay. Changed
	 * ones let the tunnels a limit held back try again now, not after their
	 * back-off. */
	if (ike->max_sa != cfg->ikev2_max_sa || ike->max_nego_out != cfg->ikev2_max_nego_out)
		for (int i = 0; i < ike->n_tun; i++)
			if (ike->tun[i]->limited && !ike->tun[i]->sa && !ike->tun[i]->shutdown &&
			    timer_armed(&ike->tun[i]->t_retry)) {
				ike->tun[i]->backoff_ms = 0;
				timer_arm(&ike->tun[i]->t_retry, 0);
			}
	ike->max_sa = cfg->ikev2_max_sa;
	ike->max_nego_in = cfg->ikev2_max_nego_in;
	ike->max_nego_out = cfg->ikev2_max_nego_out;
	for (struct ike_sa *sa = ike->all; sa; sa = sa->all_next)
		if (!sa->destroyed && sa->state == IKE_SA_ESTABLISHED)
			task_natka_arm(sa); /* started, stopped or re-timed */
	ike->has_ka = cfg->has_keepalive;
	ike->ka_sec = cfg->keepalive_sec;
	ike->ka_retry = cfg->keepalive_retry ? cfg->keepalive_retry : 2;
	ike->ka_mode = cfg->keepalive_mode ? cfg->keepalive_mode : CFG_DPD_ON_DEMAND;
	ike->replay_window = cfg->replay_window ? cfg->replay_window : 64;
	ike->def_lifetime_sec = cfg->sa_lifetime_sec ? cfg->sa_lifetime_sec : 3600;
	ike->def_lifetime_kb = cfg->sa_lifetime_kb ? cfg->sa_lifetime_kb : 4608000;
	ike->idle_time = cfg->sa_idle_time;
	return 0;
}

/* Tear down a tunnel's SAs (with DELETE) because its configuration went away or changed. */
static void ike_tun_teardown(struct ike *ike, struct ike_tun *t)
{
	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, t->dst), *nx; sa; sa = nx) {
		nx = ike_sa_next_by_peer(sa);
		if (sa->pc.tunnel == t->num && !sa->destroyed)
			ike_sa_delete(sa, 1);
	}
	t->sa = NULL;
}

static int ike_tun_same(const struct ike_tun *t, const struct cfg_tunnel *c, const struct ike_espcfg *e)
{
	return t->src == c->src && !strcmp(t->src_if, c->src_if) && t->dst == c->dst &&
	       t->shutdown == c->shutdown && !strcmp(t->prof, c->protection->ike_profile->name) &&
	       !memcmp(&t->esp, e, sizeof(*e));
}

int ike_x_apply_config(struct ike *ike, const struct config *cfg)
{
	struct ike_tun **nt = NULL;
	int n = 0, k = 0;

	if (ike_load_profiles(ike, cfg))
		return -1;
	for (const struct cfg_tunnel *c = cfg->tunnels; c; c = c->next)
		n++;
	if (n && !(nt = calloc((size_t)n, sizeof(*nt))))
		return -1;
	for (int i = 0; i < ike->n_tun; i++)
		ike->tun[i]->seen = 0;
	for (const struct cfg_tunnel *c = cfg->tunnels; c; c = c->next) {
		struct ike_espcfg e;
		struct ike_tun *t;
		if (!c->mode_ipsec_v4 || !c->protection || !c->protection->ike_profile || !c->dst)
			continue; /* manual keys or no IKE: not ours */
		ike_esp_from(c->protection, &e);
		t = ike_tun_find(ike, c->num);
		if (t && !ike_tun_same(t, c, &e)) {
			ike_tun_teardown(ike, t);
			t->seen = 2; /* changed: re-initiate below */
		} else if (t) {
			t->seen = 1;
		} else {
			if (!(t = calloc(1, sizeof(*t))))
				break;
			t->ike = ike;
			t->num = c->num;
			timer_init(&t->t_retry, ike_tun_retry, t);
			t->seen = 2;
		}
		t->src = c->src;
		snprintf(t->src_if, sizeof(t->src_if), "%s", c->src_if);
		t->dst = c->dst;
		t->shutdown = c->shutdown;
		snprintf(t->prof, sizeof(t->prof), "%s", c->protection->ike_profile->name);
		t->esp = e;
		nt[k++] = t;
	}
	for (int i = 0; i < ike->n_tun; i++)
		if (!ike->tun[i]->seen) {
			ike_tun_teardown(ike, ike->tun[i]);
			ike_tun_free(ike->tun[i]);
		}
	free(ike->tun);
	ike->tun = nt;
	ike->n_tun = k;
	/* New and changed tunnels come up by themselves, from the loop. */
	for (int i = 0; i < k; i++)
		if (nt[i]->seen == 2 && !nt[i]->shutdown)
			timer_arm(&nt[i]->t_retry, 0);
	return 0;
}

static int ike_sa_usable(const struct ike_sa *sa)
{
	return !sa->destroyed && (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_REKEYING);
}

static int ike_tun_has_child(const struct ike_sa *sa, unsigned num)
{
	for (const struct child_sa *c = sa->children; c; c = c->next)
		if (c->ci.tunnel == num && (c->state == CHILD_INSTALLED || c->state == CHILD_REKEYING ||
					    c->state == CHILD_INSTALLING))
			return 1;
	return 0;
}

int ike_x_initiate(struct ike *ike, unsigned num)
{
	struct ike_tun *t = ike_tun_find(ike, num);
	struct ike_sa *sa;
	uint32_t local;

	if (!t || t->shutdown || !ike->n_props)
		return -1;
	if (t->sa && !t->sa->destroyed) {
		/* IKE SA in place: bring the CHILD_SA back if it is missing. */
		if (ike_sa_usable(t->sa) && !ike_tun_has_child(t->sa, num))
			xchg_queue(t->sa, T_CHILD, num);
		return 0;
	}
	/* After a failure the back-off decides when to try again: traffic routed
	 * into the tunnel (NEED_SA) or invalid-SPI recovery must not turn a
	 * misconfigured peer into an attempt, and its log lines, every second. */
	if (t->backoff_ms && timer_armed(&t->t_retry))
		return 0;
	/* The peer may be setting one up with us right now (we answered its
	 * IKE_SA_INIT): a second IKE SA would have no twin. Look again later,
	 * but not for long: a forged IKE_SA_INIT must not hold the tunnel down. */
	for (sa = ike_sa_first_by_peer(ike, t->dst); sa; sa = ike_sa_next_by_peer(sa))
		if (!sa->destroyed && !sa->initiator && sa->state == IKE_SA_CONNECTING) {
			if (!t->defer_since)
				t->defer_since = loop_now_ms();
			if (loop_now_ms() - t->defer_since >= TUN_DEFER_MAX_MS)
				break;
			timer_arm(&t->t_retry, TUN_BACKOFF_FIRST_MS);
			return 0;
		}
	t->defer_since = 0;
	if (!(local = ike_tun_local(t)))
		return -1;
	if (!ike_sa_admit(ike, 0, 0, t->dst)) {
		t->limited = 1;
		ike_tun_backoff(t);
		return -1;
	}
	t->limited = 0;
	if (!(sa = ike_sa_new(ike, 1, local, 500, t->dst, 500)))
		return -1;
	ike_sa_nego_out(sa);
	ike_peercfg_from_tun(ike, t, local, &sa->pc);
	sa->have_pc = 1;
	sa->send_ic = !t->contacted || t->force_ic;
	t->force_ic = 0;
	t->sa = sa;
	DBG(DBG_IKE, t->dst, "IKEv2:(SA ID %016llx):Tunnel%u: initiating%s",
	    (unsigned long long)sa->spi_i, num, sa->send_ic ? " with INITIAL_CONTACT" : "");
	xchg_queue(sa, T_INIT, 0);
	return 0;
}

void ike_x_input(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		 const uint8_t *p, size_t len)
{
	xchg_input(ike, local, lport, peer, pport, p, len);
}

int ike_x_send_invalid_spi(struct ike *ike, uint32_t peer, uint32_t spi)
{
	int n = 0;

	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa))
		if (ike_sa_usable(sa)) {
			xchg_queue(sa, T_INVALID_SPI, spi);
			n++;
		}
	return n ? 0 : -1;
}

int ike_x_delete_peer_spi(struct ike *ike, uint32_t peer, uint32_t spi)
{
	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa))
		if (ike_sa_usable(sa) && !child_sa_by_in(ike, spi)) {
			xchg_queue(sa, T_DEL_PEER_SPI, spi);
			return 0;
		}
	return -1;
}

int ike_x_recover(struct ike *ike, unsigned num, uint32_t spi)
{
	struct ike_tun *t = ike_tun_find(ike, num);

	if (!t || t->shutdown)
		return -1;
	if (t->sa && ike_sa_usable(t->sa)) {
		xchg_queue(t->sa, T_INVALID_SPI, spi);
		return 0;
	}
	t->pending_invalid_spi = spi;
	if (t->sa && !t->sa->destroyed)
		return 0; /* already being set up: INVALID_SPI follows */
	t->force_ic = 1;
	return ike_x_initiate(ike, num);
}

int ike_x_has_sa(struct ike *ike, uint32_t peer)
{
	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa))
		if (ike_sa_usable(sa) || (!sa->destroyed && sa->state == IKE_SA_REKEYED))
			return 1;
	return 0;
}

int ike_x_liveness_check(struct ike *ike, uint32_t peer)
{
	int n = 0;

	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa))
		if (ike_sa_usable(sa)) {
			xchg_queue(sa, T_DPD, 0);
			n++;
		}
	return n ? 0 : -1;
}

int ike_x_delete_child(struct ike *ike, uint32_t spi_in)
{
	struct child_sa *c = child_sa_by_in(ike, spi_in);

	if (!c || c->ike->destroyed)
		return -1;
	xchg_queue(c->ike, T_DEL_CHILD, spi_in);
	return 0;
}

int ike_x_rekey_child(struct ike *ike, uint32_t spi_in)
{
	struct child_sa *c = child_sa_by_in(ike, spi_in);

	if (!c || c->state != CHILD_INSTALLED)
		return -1;
	xchg_queue(c->ike, T_CHILD_REKEY, spi_in);
	return 0;
}

int ike_x_rekey_ike(struct ike *ike, uint32_t peer)
{
	for (struct ike_sa *sa = ike_sa_first_by_peer(ike, peer); sa; sa = ike_sa_next_by_peer(sa))
		if (!sa->destroyed && sa->state == IKE_SA_ESTABLISHED) {
			xchg_queue(sa, T_IKE_REKEY, 0);
			return 0;
		}
	return -1;
}

int ike_x_clear(struct ike *ike, uint32_t peer)
{
	int n = 0;

	for (struct ike_sa *sa = ike->all, *nx; sa; sa = nx) {
		nx = sa->all_next;
		if (sa->destroyed || (peer && sa->peer != peer))
			continue;
		ike_sa_delete(sa, 1);
		n++;
	}
	return n;
}

int ike_x_tunnel_info(struct ike *ike, unsigned num, struct ike_tunnel_info *ti)
{
	struct ike_tun *t = ike_tun_find(ike, num);
	struct ike_sa *sa = t ? t->sa : NULL;
	const struct child_sa *best = NULL;

	memset(ti, 0, sizeof(*ti));
	if (!t)
		return -1;
	if (!sa || sa->destroyed)
		for (sa = ike_sa_first_by_peer(ike, t->dst); sa; sa = ike_sa_next_by_peer(sa))
			if (!sa->destroyed && sa->pc.tunnel == num && ike_sa_usable(sa))
				break;
	if (!sa)
		return 0;
	ti->has_ike = 1;
	ike_sa_info(sa, &ti->sa);
	for (const struct child_sa *c = sa->children; c; c = c->next)
		if (c->ci.tunnel == num && c->out_installed &&
		    (!best || c->state == CHILD_INSTALLED || (best->state != CHILD_INSTALLED && c->created_ms > best->created_ms)))
			best = c;
	if (best) {
		ti->spi_in = best->ci.spi_in;
		ti->spi_out = best->ci.spi_out;
		ti->child_lifetime_sec = best->ci.lifetime_sec;
		ti->child_age_sec = (uint32_t)((loop_now_ms() - best->created_ms) / 1000);
		ti->child_dh = best->sel.dh;
		ti->udp_encap = best->ci.udp_encap;
		ti->local_port = best->ci.local_port;
		ti->peer_port = best->ci.peer_port;
	}
	return 0;
}

size_t ike_x_list(struct ike *ike, struct ike_sa_info *v, size_t max)
{
	size_t n = 0;

	for (struct ike_sa *sa = ike->all; sa; sa = sa->all_next) {
		if (sa->destroyed)
			continue;
		if (n < max)
			ike_sa_info(sa, &v[n]);
		n++;
	}
	return n;
}

size_t ike_x_children(struct ike *ike, uint64_t local_spi, struct ike_child_brief *v, size_t max)
{
	struct ike_sa *sa = ike_sa_by_spi(ike, local_spi);
	size_t n = 0;

	if (!sa)
		return 0;
	for (const struct child_sa *c = sa->children; c; c = c->next) {
		if (n < max) {
			v[n].spi_in = c->ci.spi_in;
			v[n].spi_out = c->ci.spi_out;
			v[n].state = child_sa_state_name(c->state);
			v[n].tunnel = c->ci.tunnel;
			v[n].age_sec = (uint32_t)((loop_now_ms() - c->created_ms) / 1000);
			v[n].lifetime_sec = c->ci.lifetime_sec;
			v[n].udp_encap = c->ci.udp_encap;
		}
		n++;
	}
	return n;
}

void ike_x_test_drop_deletes(struct ike *ike, unsigned n)
{
	ike->drop_deletes = n;
}

void ike_x_counters(const struct ike *ike, struct ike_counters *c)
{
	c->rx = ike->rx, c->tx = ike->tx, c->rx_bad = ike->rx_bad, c->rx_dropped = ike->rx_dropped;
	c->retransmits = ike->retransmits, c->cookies_sent = ike->cookies_sent;
	c->natka_sent = ike->natka_sent;
	c->half_open = ike->half_open, c->nego_out = ike->nego_out;
	c->max_sa = ike->max_sa, c->max_nego_in = ike->max_nego_in, c->max_nego_out = ike->max_nego_out;
	c->rej_sa_limit = ike->rej_sa_limit, c->rej_nego_in = ike->rej_nego_in;
	c->rej_out = ike->rej_out, c->evicted = ike->evicted;
	c->n_sa = ike->n_sa, c->n_child = ike->n_child;
}

/* ---- the daemon's default instance ---- */
static struct ike *def;

int ike_init(const struct ike_env *env)
{
	if (def)
		return 0;
	return (def = ike_new(env)) ? 0 : -1;
}

void ike_shutdown(void)
{
	ike_free(def);
	def = NULL;
}

struct ike *ike_default(void)
{
	return def;
}

int ike_apply_config(const struct config *cfg)
{
	return def ? ike_x_apply_config(def, cfg) : -1;
}

int ike_initiate(unsigned tunnel)
{
	return def ? ike_x_initiate(def, tunnel) : -1;
}

void ike_input(uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport, const uint8_t *p,
	       size_t len)
{
	if (def)
		ike_x_input(def, local, lport, peer, pport, p, len);
}

int ike_send_invalid_spi(uint32_t peer, uint32_t spi)
{
	return def ? ike_x_send_invalid_spi(def, peer, spi) : -1;
}

int ike_delete_peer_spi(uint32_t peer, uint32_t spi)
{
	return def ? ike_x_delete_peer_spi(def, peer, spi) : -1;
}

int ike_recover(unsigned tunnel, uint32_t spi)
{
	return def ? ike_x_recover(def, tunnel, spi) : -1;
}

int ike_has_sa(uint32_t peer)
{
	return def ? ike_x_has_sa(def, peer) : 0;
}

int ike_liveness_check(uint32_t peer)
{
	return def ? ike_x_liveness_check(def, peer) : -1;
}

int ike_delete_child(uint32_t spi_in)
{
	return def ? ike_x_delete_child(def, spi_in) : -1;
}

int ike_tunnel_info(unsigned tunnel, struct ike_tunnel_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	return def ? ike_x_tunnel_info(def, tunnel, ti) : -1;
}
