/* Engine internals shared by the src/ike/ files (not a public API). */
#ifndef INSYNC_IKE_INT_H
#define INSYNC_IKE_INT_H
#include <stdint.h>
#include "crypto/dh.h"
#include "crypto/prf.h"
#include "daemon/loop.h"
#include "ike/cookie.h"
#include "ike/ike.h"
#include "ike/ike_msg.h"
#include "ike/keymat.h"
#include "ike/proposal.h"
#include "ops/debug.h"

/* IKE debug output shows under `debug crypto ikev2` and under `debug crypto
 * isakmp`, which is what the seeds (and IOS habits) turn on. */
#define DBG_IKE (DBG_IKEV2 | DBG_ISAKMP)

/* Retransmission (documented in docs/ike.md): first after 500 ms, doubling,
 * capped at 8 s; after 6 retransmissions (~31.5 s) the peer is unreachable.
 * Liveness checks retransmit every DPD retry interval, 3 times, then dead. */
#define XCHG_RETX_FIRST_MS 500
#define XCHG_RETX_CAP_MS 8000
#define XCHG_RETX_MAX 6
#define XCHG_DPD_RETX_MAX 3
#define IKE_HALF_OPEN_TIMEOUT_MS 30000
#define IKE_HALF_OPEN_HARD_MAX 8192
#define IKE_HALF_OPEN_PER_PEER 32 /* from one address, COOKIE or not */
#define IKE_MAX_CHILDREN 32 /* CHILD_SAs per IKE SA the peer may create (NO_ADDITIONAL_SAS beyond) */
#define IKE_COOKIE_THRESHOLD 64
#define IKE_QUEUE_MAX 16
#define CHILD_GRACE_MS 2000       /* old inbound SA kept after the peer's DELETE */
#define CHILD_REKEYED_WAIT_MS 10000 /* REKEYED SA removed if no DELETE comes */
/* A rekey responder switches outbound even without the initiator's DELETE of
 * the old SA: late enough for a peer that lost our response to retransmit
 * its request (strongSwan: after 4 s) and install the new SA first. */
#define CHILD_OUT_FALLBACK_MS 6000
#define CHILD_OUT_COLLISION_MS 200  /* ...after a late collision: once the peer has our response */
#define IKE_REKEYED_WAIT_MS 10000   /* rekeyed IKE SA removed if no DELETE comes */
#define IKE_REKEY_RETRY_MS 10000    /* a failed IKE SA rekey is retried until the lifetime ends */
#define CHILD_FAIL_LOG_MS 60000 /* at most one CHILD_SA_FAILED a minute per IKE SA */
#define TUN_BACKOFF_FIRST_MS 1000
#define TUN_DEFER_MAX_MS 3000 /* longest wait for the peer's own IKE SA before we initiate */
#define TUN_BACKOFF_MAX_MS 30000

struct ike_kr_peer {
	uint32_t addr, mask;
	int has_addr;
	char identity[CFG_NAME_MAX];
	uint8_t psk[CFG_PSK_MAX];
	size_t psk_len;
};

struct ike_espcfg {
	int present;
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	uint32_t lifetime_sec;
	uint64_t lifetime_kb;
	uint32_t idle_time; /* 0 = the global idle-time */
	int pfs, udp_encap;
};

struct ike_prof {
	char name[CFG_NAME_MAX];
	struct cfg_identity match_remote, local;
	int n_kr;
	struct ike_kr_peer *kr;
	uint32_t lifetime;
	int has_dpd;
	uint32_t dpd_interval, dpd_retry;
	enum cfg_dpd_mode dpd_mode;
	struct ike_espcfg esp; /* the first ipsec profile using this ikev2 profile */
};

struct ike_tun {
	/* from config */
	unsigned num;
	uint32_t src, dst;
	char src_if[CFG_NAME_MAX];
	int shutdown;
	char prof[CFG_NAME_MAX];
	struct ike_espcfg esp;
	/* runtime */
	struct ike *ike;
	struct ike_sa *sa;
	struct timer t_retry;
	uint32_t backoff_ms;
	int contacted;   /* an IKE SA was established since start: no more INITIAL_CONTACT */
	uint64_t defer_since; /* waiting for the peer's half-open SA since (ms), 0 = not */
	int limited;          /* its last initiation was refused by crypto ikev2 limit */
	int force_ic;
	uint32_t pending_invalid_spi;
	int seen;        /* config diff mark */
};

/* What an IKE SA keeps from config (copied: config may be reloaded). */
struct ike_peercfg {
	unsigned tunnel;
	char prof[CFG_NAME_MAX];
	struct ike_id local_id;
	uint32_t ike_lifetime;
	int has_dpd;
	uint32_t dpd_interval, dpd_retry;
	enum cfg_dpd_mode dpd_mode;
	struct ike_espcfg esp;
};

enum task_kind {
	T_NONE = 0,
	T_INIT,
	T_AUTH,
	T_CHILD,        /* new CHILD_SA (after a failed first one, or recreation) */
	T_CHILD_REKEY,  /* arg: inbound SPI of the child */
	T_IKE_REKEY,
	T_DEL_CHILD,    /* arg: inbound SPI */
	T_DEL_IKE,
	T_DPD,
	T_INVALID_SPI,  /* arg: the unknown SPI to report */
	T_DEL_PEER_SPI, /* arg: an unknown inbound SPI: DELETE it so the peer drops its outbound SA */
};

struct ike_task {
	uint8_t kind;
	uint32_t arg;
};

enum child_state {
	CHILD_INSTALLING = 0,
	CHILD_INSTALLED,
	CHILD_REKEYING,
	CHILD_REKEYED,
	CHILD_DELETING,
};

struct child_sa {
	struct child_sa *next;   /* in the IKE SA's list */
	struct child_sa *h_next; /* engine hash by spi_in */
	struct ike_sa *ike;
	enum child_state state;
	struct ike_child_info ci;
	struct ike_sel sel;
	int we_initiated;        /* we sent the request that created it */
	uint8_t nonce_min[IKE_NONCE_MAX]; /* lowest nonce of the creating exchange (§2.8.1) */
	size_t nonce_min_len;
	struct child_sa *collide; /* peer-created twin during a simultaneous rekey */
	struct child_sa *pred;    /* the CHILD_SA this one rekeys */
	int out_installed;
	int out_pending;          /* rekey responder: outbound waits for the peer's DELETE of pred */
	int redundant;            /* lost a rekey collision: its creator deletes it */
	int out_soon;             /* late collision: take over outbound shortly, not on DELETE */
	struct timer t_out;       /* out_pending fallback */
	uint64_t created_ms;
	struct timer t_rekey, t_expire;
};

struct ike_sa {
	struct ike *ike;
	struct ike_sa *h_spi_next, *h_init_next, *h_peer_next, *all_next, *all_prev;
	uint64_t spi_i, spi_r;
	int initiator;
	enum ike_sa_state state;
	uint32_t local, peer;
	uint16_t lport, pport;
	int nat_local, nat_peer, natt;
	int have_pc;
	int lifetime_over;        /* hard lifetime reached during a rekey: a failed rekey ends it */
	struct ike_peercfg pc;
	struct ike_sel alg;
	struct ike_keys k;
	/* IKE_SA_INIT / rekey exchange context */
	struct dh *dh;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t *init_i, *init_r; /* IKE_SA_INIT messages, kept until IKE_AUTH completes */
	size_t init_i_len, init_r_len;
	uint8_t cookie[64];
	size_t cookie_len;
	uint16_t ke_group;
	int init_retries;
	int half_open;
	int nego_out;  /* initiator, counted in ike->nego_out until it is up or gone */
	uint64_t child_fail_log_ms; /* last CHILD_SA_FAILED for a refused CREATE_CHILD_SA */
	uint32_t id;   /* for show: numbered in creation order, never reused while it lives */
	int cookie_ok; /* responder: its IKE_SA_INIT returned our COOKIE */
	int unver;     /* in ike->unver: half-open, never returned a COOKIE */
	struct ike_sa *unver_prev, *unver_next;
	struct ike_id id_l, id_r;
	int send_ic;             /* put INITIAL_CONTACT in our IKE_AUTH */
	/* exchanges (xchg.c) */
	uint32_t msgid_next, msgid_peer;
	struct ike_task cur;
	uint8_t *req;
	size_t req_len;
	uint8_t req_exch;
	unsigned retx;
	uint32_t retx_ms;
	uint8_t *resp;
	size_t resp_len;
	uint32_t resp_msgid;
	int resp_valid;
	struct ike_task q[IKE_QUEUE_MAX];
	int nq;
	struct timer t_retx, t_rekey, t_dpd, t_expire, t_natka;
	/* CREATE_CHILD_SA in progress (as initiator) */
	struct child_sa *x_child, *x_old;
	struct ike_sa *x_new;     /* IKE rekey: the new IKE SA */
	struct dh *x_dh;
	uint8_t x_nonce[IKE_NONCE_MAX];
	size_t x_nonce_len;
	/* IKE rekey collision (§2.8.1) */
	struct ike_sa *collide, *replaced_by;
	struct ike_sa *parent;    /* the IKE SA whose rekey created this one, while it
	                           * still points here (x_new, collide or replaced_by) */
	uint8_t nonce_min[IKE_NONCE_MAX];
	size_t nonce_min_len;
	uint64_t created_ms, established_ms, last_rx_ms;
	uint32_t dpd_fails;
	uint64_t hint_ms;         /* last liveness check from an unprotected INVALID_SPI */
	struct child_sa *children;
	unsigned n_children;
	int destroyed;
};

struct ike {
	struct ike_env env;
	int n_props;
	struct ike_cfgprop props[PROP_MAX_CFG];
	int n_prof;
	struct ike_prof *prof;
	int n_tun;
	struct ike_tun **tun;
	int has_ka;
	uint32_t natka_ms;        /* crypto ikev2 nat keepalive (0: off) */
	uint64_t natka_sent;
	uint32_t ka_sec, ka_retry;
	enum cfg_dpd_mode ka_mode;
	uint32_t replay_window;
	uint32_t def_lifetime_sec;
	uint64_t def_lifetime_kb;
	uint32_t idle_time;
	/* SA tables */
	size_t hsize, n_sa;
	struct ike_sa **h_spi, **h_init, **h_peer;
	size_t csize, n_child;
	struct child_sa **h_child;
	struct ike_sa *all;
	unsigned half_open, cookie_threshold, nego_out;
	uint32_t next_id;
	uint32_t max_sa, max_nego_in, max_nego_out; /* crypto ikev2 limit (0: none) */
	struct ike_sa *unver_head, *unver_tail;      /* oldest first: first to give way */
	uint64_t limit_log_ms;
	uint32_t limit_log_suppressed;
	struct cookie_gen cookie;
	unsigned drop_deletes;
	/* counters */
	uint64_t rx, tx, rx_bad, rx_dropped, retransmits, cookies_sent;
	uint64_t rej_sa_limit, rej_nego_in, rej_out;
	uint64_t evicted; /* unverified half-open SAs that gave way at a limit */
};

/* ike.c */
struct ike_tun *ike_tun_find(struct ike *ike, unsigned num);
struct ike_tun *ike_tun_by_peer(struct ike *ike, uint32_t peer);
const struct ike_prof *ike_prof_find(const struct ike *ike, const char *name);
void ike_emit(struct ike_sa *sa, int ev, uint32_t spi);
uint32_t ike_jitter(uint32_t base_ms, unsigned pct);
void ike_peercfg_from_tun(struct ike *ike, const struct ike_tun *t, uint32_t local, struct ike_peercfg *pc);
void ike_id_from_cfg(const struct cfg_identity *c, uint32_t local, struct ike_id *id);
void ike_tun_sa_gone(struct ike_sa *sa, int retry);
void ike_tun_sa_up(struct ike_sa *sa);
void ike_peercfg_from_prof(struct ike *ike, const struct ike_prof *p, uint32_t local,
			   struct ike_peercfg *pc);

/* ike_sa.c */
struct ike_sa *ike_sa_new(struct ike *ike, int initiator, uint32_t local, uint16_t lport,
			  uint32_t peer, uint16_t pport);
/* crypto ikev2 limit: may a new IKE SA (incoming: from an IKE_SA_INIT,
 * verified: one that returned our COOKIE; else one we initiate) be created
 * now? May evict an unverified half-open SA to make room. Counts and logs a
 * refusal. */
int ike_sa_admit(struct ike *ike, int incoming, int verified, uint32_t peer);
/* An incoming request would meet a limit: ask for a COOKIE first. */
int ike_sa_at_limit(const struct ike *ike);
void ike_sa_nego_out(struct ike_sa *sa);
void ike_sa_unver_del(struct ike_sa *sa);
void ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state st);
void ike_sa_destroy(struct ike_sa *sa);
/* Setup failed at stage ("IKE_SA_INIT", "IKE_AUTH"): log, count, retry the tunnel later, destroy. */
void ike_sa_fail(struct ike_sa *sa, const char *stage, const char *why);
/* Shutdown: destroy every IKE SA silently and release all memory now. */
void ike_sa_free_all(struct ike *ike);
uint64_t ike_sa_local_spi(const struct ike_sa *sa);
void ike_sa_set_spi_r(struct ike_sa *sa, uint64_t spi_r);
struct ike_sa *ike_sa_by_spi(struct ike *ike, uint64_t spi);
struct ike_sa *ike_sa_by_init(struct ike *ike, uint32_t peer, uint64_t spi_i);
void ike_sa_unhash_init(struct ike_sa *sa);
struct ike_sa *ike_sa_first_by_peer(struct ike *ike, uint32_t peer);
struct ike_sa *ike_sa_next_by_peer(struct ike_sa *sa);
void ike_sa_info(const struct ike_sa *sa, struct ike_sa_info *i);
void ike_sa_arm_timers(struct ike_sa *sa); /* established: rekey, hard lifetime, DPD */
void ike_sa_rekey_retry(struct ike_sa *sa);
void ike_sa_delete(struct ike_sa *sa, int notify_peer);
void ike_sa_adopt_children(struct ike_sa *to, struct ike_sa *from);
void ike_sa_clear_ctx(struct ike_sa *sa);
int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
void ike_sa_set_nonce_min(struct ike_sa *sa, const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

/* child_sa.c */
struct child_sa *child_sa_new(struct ike_sa *sa, uint32_t spi_in);
void child_sa_set_state(struct child_sa *c, enum child_state st);
/* Derive keys from sa (gir may be NULL), fill c->ci for our role. */
int child_sa_keys(struct child_sa *c, const uint8_t *gir, size_t girl, const uint8_t *ni,
		  size_t nil, const uint8_t *nr, size_t nrl, int we_initiated);
int child_sa_install_in(struct child_sa *c);
int child_sa_install_out(struct child_sa *c);
void child_sa_destroy(struct child_sa *c, uint32_t grace_ms);
struct child_sa *child_sa_by_in(struct ike *ike, uint32_t spi_in);
struct child_sa *child_sa_by_out(struct ike_sa *sa, uint32_t spi_out);
void child_sa_arm(struct child_sa *c);
void child_sa_move(struct child_sa *c, struct ike_sa *to);
const char *child_sa_state_name(enum child_state s);

/* xchg.c */
void xchg_queue(struct ike_sa *sa, uint8_t kind, uint32_t arg);
void xchg_kick(struct ike_sa *sa);
int xchg_send_request(struct ike_sa *sa, uint8_t exch, const struct ike_pb *b);
int xchg_send_response(struct ike_sa *sa, uint8_t exch, uint32_t msgid, const struct ike_pb *b);
void xchg_request_done(struct ike_sa *sa);
void xchg_cancel(struct ike_sa *sa);
int xchg_send_raw(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		  const uint8_t *p, size_t len);
void xchg_input(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		const uint8_t *p, size_t len);
void xchg_log_msg(const struct ike_sa *sa, int out, const struct ike_msg *m, uint32_t peer,
		  uint16_t port);

/* task_*.c */
int task_init_start(struct ike_sa *sa);
void task_init_respond(struct ike *ike, const struct ike_msg *m, uint32_t local, uint16_t lport,
		       uint32_t peer, uint16_t pport);
void task_init_response(struct ike_sa *sa, const struct ike_msg *m, uint32_t local, uint16_t lport,
			uint16_t pport);
int task_auth_start(struct ike_sa *sa);
void task_auth_respond(struct ike_sa *sa, const struct ike_msg *m);
void task_auth_response(struct ike_sa *sa, const struct ike_msg *m);
int task_child_start(struct ike_sa *sa, const struct ike_task *t);
void task_child_respond(struct ike_sa *sa, const struct ike_msg *m);
void task_child_response(struct ike_sa *sa, const struct ike_msg *m);
int task_info_start(struct ike_sa *sa, const struct ike_task *t);
void task_info_respond(struct ike_sa *sa, const struct ike_msg *m);
void task_info_response(struct ike_sa *sa, const struct ike_msg *m);
void task_info_unprotected(struct ike *ike, const struct ike_msg *m, uint32_t peer);
void task_dpd_arm(struct ike_sa *sa);
void task_natka_arm(struct ike_sa *sa); /* NAT keepalives, when we are behind a NAT */
void task_peer_dead(struct ike_sa *sa);
uint32_t task_alloc_spi(struct ike_sa *sa);
void task_child_out_now(struct child_sa *c);
/* Shared helpers (task_child.c) */
void task_child_add_ts(struct ike_pb *b, const struct child_sa *c, int initiator_view);
int task_child_take_ts(struct child_sa *c, const struct ike_msg *m, int we_initiated);
#endif
