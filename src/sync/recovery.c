/* Invalid-SPI recovery policy and flow classification (see recovery.h). */
#include "sync/recovery.h"
#include "daemon/loop.h"
#include "esp/dp.h"
#include "ike/ike.h"
#include "ops/config.h"
#include "ops/exec.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "ops/ratelimit.h"
#include "sync/invalid_spi.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Tunables (documented in docs/recovery.md). */
#define NOTIFY_INTERVAL_MS 1000     /* INVALID_SPI per peer+SPI at most once a second */
#define TRANSIENT_WINDOW_MS 5000    /* an SPI seen this soon after a rekey/delete is a rekey blip */
#define TRANSIENT_GRACE_MS 250      /* ...but if it keeps coming this long, act on it */
#define PERSISTENT_AFTER_MS 10000   /* unrecovered this long: persistent */
#define RECENT_FLOW_MS 2000         /* a flow this fresh when new SAs come up counts as repaired */
#define PEER_BUCKET_PER_SEC 1       /* recovery initiations per static peer */
#define PEER_BUCKET_BURST 2
#define GLOBAL_BUCKET_PER_SEC 20    /* recovery initiations overall */
#define NOTIFY_BUCKET_PER_SEC 10    /* INVALID_SPI exchanges per peer: a flood of forged */
#define NOTIFY_BUCKET_BURST 20      /* random SPIs in a peer's name costs it little */
#define GLOBAL_BUCKET_BURST 40
#define HIST_SLOTS 1024             /* recently retired SPIs, for classification */
#define PEER_SLOTS 256

struct spi_hist {
	uint32_t spi, peer;
	uint64_t ms;
	int reserved; /* handed to IKE, not installed yet (else: removed) */
};
enum { HIST_RESERVED = 1, HIST_REMOVED };

struct peer_state {
	uint32_t peer;
	uint64_t last_change_ms; /* last CHILD_SA install/remove */
	unsigned open_flows;     /* invalid-SPI flows seen since its last repair */
	struct tokbucket bucket;        /* recovery IKE initiations */
	struct tokbucket notify_bucket; /* INVALID_SPI/DELETE exchanges, whatever the SPI */
};

/* DELETEs for a peer's stale SPIs, sent from the loop rather than from
 * inside the IKE event that found them (that exchange is still on the stack). */
struct stale_spi {
	uint32_t peer, spi;
};

static const struct config *cfg;
static struct spi_hist hist[HIST_SLOTS];
#define STALE_MAX 32
static struct stale_spi stale_q[STALE_MAX];
static unsigned n_stale;
static struct timer stale_timer;
static struct peer_state peers[PEER_SLOTS];
static struct ratelimit notify_rl;
static struct tokbucket global_bucket;
static struct recovery_stats stats;

static struct peer_state *peer_get(uint32_t peer, int create)
{
	uint32_t h = (peer * 2654435761u) % PEER_SLOTS;
	for (int i = 0; i < 8; i++) {
		struct peer_state *p = &peers[(h + (uint32_t)i) % PEER_SLOTS];
		if (p->peer == peer)
			return p;
		if (p->peer == 0 && create) {
			p->peer = peer;
			tokbucket_init(&p->bucket, PEER_BUCKET_PER_SEC, PEER_BUCKET_BURST);
			tokbucket_init(&p->notify_bucket, NOTIFY_BUCKET_PER_SEC, NOTIFY_BUCKET_BURST);
			return p;
		}
	}
	if (!create)
		return NULL;
	/* Table full around this hash: reuse the home slot (bounded memory). */
	struct peer_state *p = &peers[h];
	memset(p, 0, sizeof(*p));
	p->peer = peer;
	tokbucket_init(&p->bucket, PEER_BUCKET_PER_SEC, PEER_BUCKET_BURST);
	tokbucket_init(&p->notify_bucket, NOTIFY_BUCKET_PER_SEC, NOTIFY_BUCKET_BURST);
	return p;
}

static void hist_add(uint32_t peer, uint32_t spi, uint64_t now, int reserved)
{
	if (spi == 0)
		return;
	struct spi_hist *h = &hist[(spi * 2654435761u) % HIST_SLOTS];
	*h = (struct spi_hist){spi, peer, now, reserved};
}

/* HIST_RESERVED, HIST_REMOVED, or 0 when the SPI is not a recent one of peer's. */
static int hist_recent(uint32_t peer, uint32_t spi, uint64_t now)
{
	const struct spi_hist *h = &hist[(spi * 2654435761u) % HIST_SLOTS];
	if (h->spi != spi || h->peer != peer || now - h->ms >= TRANSIENT_WINDOW_MS)
		return 0;
	return h->reserved ? HIST_RESERVED : HIST_REMOVED;
}

static const char *ip(uint32_t a, char *buf)
{
	struct in_addr ia = {a};
	return inet_ntop(AF_INET, &ia, buf, INET_ADDRSTRLEN);
}

/* Mark this peer's open flows recovered once a fresh SA pair is in place. */
static void flows_recovered(uint32_t peer, uint64_t now)
{
	/* The table is walked through show's iterator-free API: we only know flows
	 * by key, so recovery marks flows as they are next seen (see on_flow) and
	 * here records the time of the repair. */
	struct peer_state *p = peer_get(peer, 1);
	p->last_change_ms = now;
}

void recovery_sa_installed(uint32_t peer, uint32_t spi_in, uint32_t spi_out)
{
	flows_recovered(peer, loop_now_ms());
}

void recovery_spi_reserved(uint32_t peer, uint32_t spi)
{
	hist_add(peer, spi, loop_now_ms(), 1);
}

void recovery_sa_removed(uint32_t peer, uint32_t spi_in, uint32_t spi_out)
{
	uint64_t now = loop_now_ms();
	hist_add(peer, spi_in, now, 0);
	peer_get(peer, 1)->last_change_ms = now;
}

static const struct cfg_tunnel *static_peer(uint32_t src)
{
	if (cfg == NULL)
		return NULL;
	for (const struct cfg_tunnel *t = cfg->tunnels; t; t = t->next)
		if (t->dst == src && t->protection && t->protection->ike_profile && !t->shutdown)
			return t;
	return NULL;
}

static int is_peer(uint32_t src)
{
	if (cfg == NULL)
		return 0;
	for (const struct cfg_tunnel *t = cfg->tunnels; t; t = t->next)
		if (t->dst == src)
			return 1;
	return ike_has_sa(src);
}

static void log_persistent(struct invalid_spi_flow *f)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	stats.persistent++;
	metrics_inc(MC_RECOVERIES_FAILED); /* not repaired within the persistence time */
	flightrec_dump_file(f->src, "persistent invalid SPI", NULL, 0);
	log_ios(LOG_SEV_WARN, "CRYPTO", "INVALID_SPI_PERSISTENT",
		"SAs out of sync with peer %s: spi=0x%X(%u) to %s seen %llu times over %llu s; action: %s",
		ip(f->src, s), f->spi, f->spi, ip(f->dst, d), (unsigned long long)f->count,
		(unsigned long long)((f->last_ms - f->first_ms) / 1000),
		invalid_spi_action_name(f->action));
}

static void act(struct invalid_spi_flow *f, uint64_t now)
{
	struct rl_key k = {(uint64_t)f->src << 32 | f->spi, f->dst};
	const struct cfg_tunnel *t;
	uint32_t sup;

	if (ike_has_sa(f->src)) {
		struct peer_state *ps = peer_get(f->src, 1);
		if (!ratelimit_allow(&notify_rl, &k, now, &sup))
			return;
		if (!tokbucket_take(&ps->notify_bucket, now)) {
			stats.rate_limited++;
			return;
		}
		/* Still coming a second after our INVALID_SPI: the peer ignores it
		 * (strongSwan does). Send a DELETE for that SPI as IOS does (the peer
		 * drops its stale outbound SA), and if our tunnel has no CHILD_SA (we
		 * dropped ours, the DELETE was lost) bring one up. */
		if (f->action == INVSPI_ACT_NOTIFY_SENT) {
			ike_delete_peer_spi(f->src, f->spi);
			if ((t = static_peer(f->src)))
				ike_initiate(t->num);
		}
		if (ike_send_invalid_spi(f->src, f->spi) == 0) {
			if (f->action != INVSPI_ACT_NOTIFY_SENT)
				flightrec_record(f->src, FR_RECOVERY_START, FR_R_INVALID_SPI, f->spi, 0);
			f->action = INVSPI_ACT_NOTIFY_SENT;
			stats.notifies_sent++;
			metrics_inc(MC_INVALID_SPI_SENT);
		}
		return;
	}
	t = static_peer(f->src);
	if (t == NULL || !cfg->invalid_spi_recovery) {
		if (f->action == INVSPI_ACT_NONE)
			stats.count_only++;
		f->action = INVSPI_ACT_COUNT_ONLY;
		return;
	}
	struct peer_state *p = peer_get(f->src, 1);
	if (!tokbucket_take(&p->bucket, now) || !tokbucket_take(&global_bucket, now)) {
		if (f->action != INVSPI_ACT_INITIATED)
			f->action = INVSPI_ACT_RATE_LIMITED;
		stats.rate_limited++;
		return;
	}
	if (ike_recover(t->num, f->spi) == 0) {
		char s[INET_ADDRSTRLEN];
		f->action = INVSPI_ACT_INITIATED;
		flightrec_record(f->src, FR_RECOVERY_START, FR_R_INITIAL_CONTACT, f->spi, 0);
		stats.initiations++;
		log_ios(LOG_SEV_NOTICE, "CRYPTO", "INVALID_SPI_RECOVERY",
			"Invalid SPI recovery: initiating IKE SA with INITIAL_CONTACT to %s for spi=0x%X",
			ip(f->src, s), f->spi);
	}
}

/* The static tunnel to peer has a CHILD_SA installed. */
static int has_fresh_child(uint32_t peer)
{
	const struct cfg_tunnel *t = static_peer(peer);
	struct ike_tunnel_info ti;

	return t && ike_tunnel_info(t->num, &ti) == 0 && ti.spi_in != 0;
}

static void on_flow(struct invalid_spi_flow *f, int is_new, void *arg)
{
	uint64_t now = loop_now_ms();
	struct peer_state *p = peer_get(f->src, 0);

	if (is_new || f->count / 64 != (f->count - f->last_add) / 64) /* every 64 packets */
		flightrec_record(f->src, FR_INVALID_SPI, f->spi, f->count, 0);

	if (f->cls == INVSPI_CLASS_RECOVERED && !is_new) {
		/* The same SPI again after a repair: the desync is back. */
		f->cls = INVSPI_CLASS_UNKNOWN;
		f->first_ms = now;
	}
	if (!is_peer(f->src)) {
		f->cls = INVSPI_CLASS_NON_PEER;
		if (f->action == INVSPI_ACT_NONE)
			stats.count_only++;
		f->action = INVSPI_ACT_COUNT_ONLY;
		return;
	}
	p = peer_get(f->src, 1);
	p->open_flows++;
	if (f->cls == INVSPI_CLASS_UNKNOWN || f->cls == INVSPI_CLASS_REKEY_TRANSIENT) {
		int h = hist_recent(f->src, f->spi, now);
		if (h == HIST_RESERVED) {
			/* Our new SPI, used before its exchange completed: never a reason to
			 * act (the seeds' CSCvn31824 deleted the new SA here). */
			f->cls = INVSPI_CLASS_REKEY_TRANSIENT;
			return;
		}
		if (h == HIST_REMOVED) {
			/* An SA we removed: the peer still sends on it. Transient by
			 * origin, but tell the peer now (harmless if it has moved on
			 * already). When a fresh CHILD_SA is already up, its repair has
			 * run: if our DELETE was lost, the peer switches to the fresh SA
			 * and keeps this one for good, so repeat the DELETE now. */
			f->cls = INVSPI_CLASS_REKEY_TRANSIENT;
			if (is_new && has_fresh_child(f->src) && tokbucket_take(&p->notify_bucket, now))
				ike_delete_peer_spi(f->src, f->spi);
			act(f, now);
			return;
		}
		if (p && now - p->last_change_ms < TRANSIENT_WINDOW_MS && is_new &&
		    now - f->first_ms < TRANSIENT_GRACE_MS) {
			/* An unknown SPI right after a rekey: give it a moment. */
			f->cls = INVSPI_CLASS_REKEY_TRANSIENT;
			return;
		}
		f->cls = INVSPI_CLASS_UNKNOWN;
	}
	if (f->cls != INVSPI_CLASS_PERSISTENT && now - f->first_ms >= PERSISTENT_AFTER_MS) {
		f->cls = INVSPI_CLASS_PERSISTENT;
		act(f, now);
		log_persistent(f);
		return;
	}
	act(f, now);
}

struct repair {
	uint32_t peer;
	uint64_t now;
	unsigned n;             /* flows repaired by this CHILD_SA */
	uint64_t longest_ms;    /* the oldest one's time to repair */
	uint32_t spi;           /* and its SPI */
	uint32_t stale[8];      /* SPIs the peer may still hold an SA for */
	unsigned nstale;
};

/* A flow we acted on, from a peer that now has a fresh CHILD_SA: repaired. */
static void repair_flow(struct invalid_spi_flow *f, void *arg)
{
	struct repair *r = arg;

	if (f->src != r->peer || f->cls == INVSPI_CLASS_RECOVERED || f->cls == INVSPI_CLASS_NON_PEER)
		return;
	/* Repaired: a flow we acted on, or one still arriving when the fresh SAs
	 * came up (after a restart, INITIAL_CONTACT repairs before we act). */
	if (f->action != INVSPI_ACT_NOTIFY_SENT && f->action != INVSPI_ACT_INITIATED &&
	    r->now - f->last_ms > RECENT_FLOW_MS)
		return;
	/* The fresh SA can come up before the peer acted on our INVALID_SPI (or
	 * it never does: strongSwan), and the peer then stops sending on the
	 * stale SPI but keeps that SA. A DELETE for it leaves no stale SA behind;
	 * INITIAL_CONTACT already covered flows we recovered by initiating. */
	if (f->action != INVSPI_ACT_INITIATED && r->nstale < sizeof(r->stale) / sizeof(r->stale[0]) &&
	    hist_recent(r->peer, f->spi, r->now) != HIST_RESERVED)
		r->stale[r->nstale++] = f->spi;
	f->cls = INVSPI_CLASS_RECOVERED;
	f->recovered_ms = r->now - f->first_ms;
	if (!r->n++ || f->recovered_ms > r->longest_ms) {
		r->longest_ms = f->recovered_ms;
		r->spi = f->spi;
	}
}

/* One repair is one event, however many flows (SPIs) it covers: one log
 * line, one histogram sample, one flight-recorder dump. */
static void mark_recovered(uint32_t peer, uint64_t now)
{
	struct repair r = {.peer = peer, .now = now};
	struct peer_state *p = peer_get(peer, 0);
	char s[INET_ADDRSTRLEN];

	/* Most CHILD_SAs come up with nothing to repair: no table walk then. */
	if (!p || !p->open_flows)
		return;
	p->open_flows = 0;
	invalid_spi_foreach(repair_flow, &r);
	if (!r.n)
		return;
	for (unsigned i = 0; i < r.nstale && n_stale < STALE_MAX && tokbucket_take(&p->notify_bucket, now); i++)
		stale_q[n_stale++] = (struct stale_spi){peer, r.stale[i]};
	if (n_stale && !timer_armed(&stale_timer))
		timer_arm(&stale_timer, 0);
	stats.recovered += r.n;
	metrics_inc(MC_RECOVERIES_OK);
	metrics_observe(MH_RECOVERY_SECONDS, (double)r.longest_ms / 1000.0);
	flightrec_record(peer, FR_RECOVERY_DONE, r.longest_ms, 1, 0);
	flightrec_dump_file(peer, "recovery", NULL, 0);
	log_ios(LOG_SEV_NOTICE, "CRYPTO", "INVALID_SPI_RECOVERED",
		"SAs with peer %s back in sync: spi=0x%X(%u)%s repaired %llu ms after the first invalid packet",
		ip(peer, s), r.spi, r.spi, r.n > 1 ? " and other SPIs" : "", (unsigned long long)r.longest_ms);
}

static void send_stale_deletes(struct timer *t, void *arg)
{
	(void)t;
	(void)arg;
	for (unsigned i = 0; i < n_stale; i++)
		ike_delete_peer_spi(stale_q[i].peer, stale_q[i].spi);
	n_stale = 0;
}

void recovery_ike_event(int ev, const struct ike_sa_info *sa)
{
	switch (ev) {
	case IKE_EV_CHILD_UP:
		mark_recovered(sa->peer, loop_now_ms());
		break;
	case IKE_EV_INVALID_SPI_RECEIVED:
		stats.invalid_spi_received++;
		metrics_inc(MC_INVALID_SPI_RECV);
		break;
	case IKE_EV_INVALID_SPI_HINT:
		stats.invalid_spi_hints++;
		break;
	case IKE_EV_INITIAL_CONTACT:
		stats.initial_contacts++;
		break;
	case IKE_EV_DEAD:
		stats.dead_peers++;
		flightrec_dump_file(sa->peer, "dead peer", NULL, 0);
		metrics_inc(MC_DPD_FAILED);
		break;
	default:
		break;
	}
}

void recovery_dp_event(const struct dp_event *ev)
{
	switch (ev->type) {
	case DP_EV_NEED_SA:
		/* A packet is waiting in a tunnel with no SA (idle timeout or not up
		 * yet): bring the tunnel up. */
		ike_initiate(ev->tunnel);
		break;
	case DP_EV_SEQ_EXHAUSTED:
	case DP_EV_LIFETIME_KB: {
		struct ike_tunnel_info ti;
		if (ike_tunnel_info(ev->tunnel, &ti) == 0 && ti.spi_in)
			ike_x_rekey_child(ike_default(), ti.spi_in);
		break;
	}
	default:
		break;
	}
}

void recovery_get_stats(struct recovery_stats *st)
{
	*st = stats;
}

void recovery_init(void)
{
	memset(hist, 0, sizeof(hist));
	memset(peers, 0, sizeof(peers));
	memset(&stats, 0, sizeof(stats));
	ratelimit_init(&notify_rl, 4096, NOTIFY_INTERVAL_MS);
	tokbucket_init(&global_bucket, GLOBAL_BUCKET_PER_SEC, GLOBAL_BUCKET_BURST);
	n_stale = 0;
	timer_init(&stale_timer, send_stale_deletes, NULL);
	invalid_spi_set_hook(on_flow, NULL);
}

void recovery_apply(const struct config *c)
{
	cfg = c;
}

void recovery_shutdown(void)
{
	invalid_spi_set_hook(NULL, NULL);
	timer_cancel(&stale_timer);
	n_stale = 0;
	ratelimit_free(&notify_rl);
	cfg = NULL;
}

static int cmd_show_recovery(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	out_printf(o, "Invalid SPI recovery: %s\n",
		   cfg && cfg->invalid_spi_recovery ? "enabled" : "disabled (notify over existing IKE SAs only)");
	out_printf(o, "  INVALID_SPI notifies sent      : %llu\n", (unsigned long long)stats.notifies_sent);
	out_printf(o, "  Recovery IKE SAs initiated     : %llu\n", (unsigned long long)stats.initiations);
	out_printf(o, "  Rate-limited (token buckets)   : %llu\n", (unsigned long long)stats.rate_limited);
	out_printf(o, "  Counted only (non-peer/dynamic): %llu\n", (unsigned long long)stats.count_only);
	out_printf(o, "  Persistent flows               : %llu\n", (unsigned long long)stats.persistent);
	out_printf(o, "  Recovered flows                : %llu\n", (unsigned long long)stats.recovered);
	out_printf(o, "  INVALID_SPI received (acted on): %llu\n", (unsigned long long)stats.invalid_spi_received);
	out_printf(o, "  INVALID_SPI hints (unprotected): %llu\n", (unsigned long long)stats.invalid_spi_hints);
	out_printf(o, "  INITIAL_CONTACT received       : %llu\n", (unsigned long long)stats.initial_contacts);
	out_printf(o, "  Dead peers                     : %llu\n", (unsigned long long)stats.dead_peers);
	return 0;
}

void sync_register_commands(void)
{
	exec_register("show crypto recovery", cmd_show_recovery, "Invalid-SPI recovery statistics");
}
