/* The SA database behind dp.h's dp_sa_* API, as the packet path sees it.
 *
 * Writers are the control thread only. Readers (data-plane threads) never lock:
 *  - inbound SAs sit in an open-addressing hash table of atomic pointers keyed
 *    by SPI (O(1); a resize publishes a new table with one pointer swap);
 *  - each tunnel has one atomic outbound pointer, swapped on rekey;
 *  - anything unpublished is handed to sad_retire() and freed only after every
 *    registered reader has passed a quiescent point (QSBR-style epochs: a
 *    reader announces the global epoch between batches and goes "offline"
 *    while it sleeps in epoll_wait, so an idle thread never stalls reclaim). */
#ifndef INSYNC_SAD_H
#define INSYNC_SAD_H
#include <stdatomic.h>
#include <stdint.h>
#include "esp/dp.h"

#define SAD_MAX_READERS 64
#define SAD_MIN_SPI 256 /* lowest SPI we allocate; 1..255 only by manual keys (RFC 4303 §2.1) */

/* Per-tunnel counters (show interfaces TunnelN). Atomics: any thread adds. */
struct sad_tun_ctr {
	_Atomic uint64_t in_pkts, in_bytes, out_pkts, out_bytes;
	_Atomic uint64_t in_drops, out_drops;
	_Atomic uint64_t out_no_sa; /* of out_drops: routed in while the tunnel had no SA */
};

struct sad_sa;

/* One tunnel's slot: its outbound SA and the TUN write side for inbound. */
struct sad_tun {
	unsigned num;
	_Atomic(struct sad_sa *) out;
	_Atomic int tun_fd;          /* where decapsulated packets go; -1 = none */
	_Atomic uint64_t need_sa_ms; /* last DP_EV_NEED_SA, to rate-limit it */
	struct sad_tun_ctr ctr;
	struct sad_tun *hnext;       /* control thread's lookup chain */
	int dead;
};

/* SEQ_EV: near the end of the sequence space; SEQ_HARD: reached it. */
enum { SAD_F_SEQ_EV = 1, SAD_F_KB_EV = 2, SAD_F_SEQ_LOGGED = 4, SAD_F_SEQ_HARD = 8 };

struct sad_sa {
	struct esp_sa *esp;
	struct dp_sa_path path;
	struct sad_tun *tun;
	uint64_t created_ms;   /* CLOCK_MONOTONIC */
	uint64_t created_real; /* wall clock seconds, for show */
	uint32_t life_sec;     /* 0 = none (manual) */
	_Atomic uint64_t life_kb; /* set by the control thread after publishing */
	int manual;
	_Atomic int flags;     /* SAD_F_*: one-shot events already raised */
	uint64_t remove_at;    /* inbound: pending removal deadline (ms), 0 = none */
};

/* Readers (data-plane threads). id from sad_reader_register(). */
int sad_reader_register(void);
void sad_reader_unregister(int id);
void sad_reader_online(int id);  /* call before touching SAD pointers */
void sad_reader_offline(int id); /* call before sleeping */

/* Lookups (readers and control). */
struct sad_sa *sad_lookup_in(uint32_t spi);
static inline struct sad_sa *sad_out(struct sad_tun *t)
{
	return atomic_load_explicit(&t->out, memory_order_acquire);
}

/* Control thread. */
int sad_init(void);
void sad_free(void); /* frees everything now: readers must be stopped */
struct sad_tun *sad_tun_get(unsigned num, int create);
/* Remove a tunnel: its outbound SA, all its inbound SAs, the slot itself. */
void sad_tun_remove(unsigned num);
/* Install with metadata; consumes sa (freed on failure). now_ms = monotonic. */
int sad_install_in(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path, int manual,
		   uint64_t now_ms);
int sad_set_out(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path, int manual,
		uint64_t now_ms);
/* Schedule removal at deadline_ms (<= now removes immediately). */
int sad_remove_in(uint32_t spi, uint64_t deadline_ms, uint64_t now_ms);
/* Remove inbound SAs whose deadline passed; returns ms until the next one or -1. */
int64_t sad_expire(uint64_t now_ms);
/* Lifetimes for show and the kilobyte event (0 = none). */
int sad_set_lifetime(unsigned tunnel, uint32_t spi, int inbound, uint32_t sec, uint64_t kb);
/* Hand an unpublished object to reclamation; fn(p) runs after a grace period. */
void sad_retire(void (*fn)(void *), void *p);
/* Free what is past its grace period; returns how many objects still wait. */
size_t sad_reclaim(void);
uint32_t sad_alloc_spi(void);

/* Iteration for show (control thread). */
typedef void (*sad_in_fn)(struct sad_sa *s, void *arg);
void sad_foreach_in(sad_in_fn fn, void *arg);
typedef void (*sad_tun_fn)(struct sad_tun *t, void *arg);
void sad_foreach_tun(sad_tun_fn fn, void *arg);
size_t sad_count_in(void);

uint64_t sad_now_ms(void); /* CLOCK_MONOTONIC in ms */
#endif
