/* The SA database: inbound SAs by SPI, one outbound SA per tunnel, published
 * to lock-free readers and reclaimed after a grace period (see sad.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include "esp/sad.h"
#include "esp/spi_filter.h"
#include "ops/log.h"

#define SAD_MIN_SLOTS 64u
#define SAD_TUN_BUCKETS 1024u
#define SAD_OFFLINE UINT64_MAX

/* A slot that held an SA that was removed: probing continues past it. */
static struct sad_sa tombstone;
#define TOMB (&tombstone)

/* Open addressing. key[i] is slot i's SPI (0: empty; SPI 0 is never valid)
 * and publishes it: written after slot[i]. Probes read only the dense key
 * array, so a lookup that misses (an invalid-SPI flood) never touches an SA
 * and a hit touches one. A removed SA's slot keeps its key and holds TOMB. */
struct sad_table {
	uint32_t mask;
	uint32_t used; /* live + tombstones */
	uint32_t live;
	_Atomic uint32_t *key;
	_Atomic(struct sad_sa *) slot[];
};

struct retired {
	struct retired *next;
	uint64_t epoch;
	void (*fn)(void *);
	void *p;
};

struct reader {
	_Atomic uint64_t epoch; /* last epoch seen, or SAD_OFFLINE */
	_Atomic int used;
	char pad[64 - sizeof(uint64_t) - sizeof(int)];
};

static _Atomic(struct sad_table *) in_tab;
static _Atomic uint64_t global_epoch = 1;
static struct reader readers[SAD_MAX_READERS];
static struct retired *retired_head;
static size_t retired_n;
static struct sad_tun *tun_hash[SAD_TUN_BUCKETS];
static struct sad_sa *pending[4096]; /* inbound SAs with a removal deadline */
static size_t npending;

uint64_t sad_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint32_t spi_hash(uint32_t spi)
{
	/* Fibonacci hashing: SPIs we pick are random, configured ones are not. */
	uint64_t h = (uint64_t)spi * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32);
}

/* ---- readers ---- */

int sad_reader_register(void)
{
	for (int i = 0; i < SAD_MAX_READERS; i++) {
		int z = 0;
		if (atomic_compare_exchange_strong(&readers[i].used, &z, 1)) {
			atomic_store(&readers[i].epoch, SAD_OFFLINE);
			return i;
		}
	}
	return -1;
}

void sad_reader_unregister(int id)
{
	if (id < 0 || id >= SAD_MAX_READERS)
		return;
	atomic_store(&readers[id].epoch, SAD_OFFLINE);
	atomic_store(&readers[id].used, 0);
}

void sad_reader_online(int id)
{
	atomic_store(&readers[id].epoch, atomic_load(&global_epoch));
	/* Store-load barrier: the announcement must be visible before we read
	 * pointers the writer may be about to retire. */
	atomic_thread_fence(memory_order_seq_cst);
}

void sad_reader_offline(int id)
{
	atomic_store(&readers[id].epoch, SAD_OFFLINE);
}

/* ---- reclamation ---- */

void sad_retire(void (*fn)(void *), void *p)
{
	struct retired *r;

	if (!p)
		return;
	r = malloc(sizeof(*r));
	if (!r) {
		/* Cannot track it: leaking is safer than a use-after-free. */
		log_ios(LOG_SEV_ERR, "CRYPTO", "SAD_NOMEM", "cannot queue object for reclamation");
		return;
	}
	r->fn = fn;
	r->p = p;
	r->epoch = atomic_fetch_add(&global_epoch, 1) + 1;
	r->next = retired_head;
	retired_head = r;
	retired_n++;
}

static uint64_t min_reader_epoch(void)
{
	uint64_t m = SAD_OFFLINE;

	atomic_thread_fence(memory_order_seq_cst);
	for (int i = 0; i < SAD_MAX_READERS; i++) {
		if (!atomic_load(&readers[i].used))
			continue;
		uint64_t e = atomic_load(&readers[i].epoch);
		if (e < m)
			m = e;
	}
	return m;
}

size_t sad_reclaim(void)
{
	struct retired **pp = &retired_head, *r;
	uint64_t min;

	if (!retired_head)
		return 0;
	min = min_reader_epoch();
	while ((r = *pp)) {
		if (min >= r->epoch) {
			*pp = r->next;
			r->fn(r->p);
			free(r);
			retired_n--;
		} else {
			pp = &r->next;
		}
	}
	return retired_n;
}

/* ---- objects ---- */

static void sa_free(void *p)
{
	struct sad_sa *s = p;

	if (!s)
		return;
	esp_sa_free(s->esp);
	free(s);
}

static struct sad_sa *sa_wrap(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path,
			      int manual, uint64_t now_ms)
{
	struct sad_tun *t = sad_tun_get(tunnel, 1);
	struct sad_sa *s;

	if (!t || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->esp = sa;
	if (path)
		s->path = *path;
	if (!s->path.peer_port)
		s->path.peer_port = 4500;
	s->tun = t;
	s->manual = manual;
	s->created_ms = now_ms;
	s->created_real = (uint64_t)time(NULL);
	return s;
}

static struct sad_table *table_new(uint32_t nslots)
{
	struct sad_table *t = calloc(1, sizeof(*t) + nslots * (sizeof(t->slot[0]) + sizeof(t->key[0])));

	if (t) {
		t->mask = nslots - 1;
		t->key = (_Atomic uint32_t *)(void *)&t->slot[nslots];
	}
	return t;
}

static void table_put(struct sad_table *t, struct sad_sa *s)
{
	uint32_t i = spi_hash(s->esp->spi) & t->mask;

	while (atomic_load_explicit(&t->key[i], memory_order_relaxed))
		i = (i + 1) & t->mask;
	atomic_store_explicit(&t->slot[i], s, memory_order_relaxed);
	atomic_store_explicit(&t->key[i], s->esp->spi, memory_order_release);
	t->used++;
	t->live++;
}

/* Rebuild into a table sized for live+1 entries at <= 50% load, drop tombstones,
 * publish it, retire the old one. */
static int table_grow(void)
{
	struct sad_table *old = atomic_load(&in_tab), *nt;
	uint32_t n = SAD_MIN_SLOTS;

	while (n < 4 * (old->live + 1))
		n <<= 1;
	if (!(nt = table_new(n)))
		return -1;
	for (uint32_t i = 0; i <= old->mask; i++) {
		struct sad_sa *s = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
		if (s && s != TOMB)
			table_put(nt, s);
	}
	atomic_store_explicit(&in_tab, nt, memory_order_release);
	sad_retire(free, old);
	return 0;
}

/* The slot holding spi and, in *sa, the SA read from it. The slot is read
 * once: a worker's lookup races the control thread turning it into a
 * tombstone, and a second read could return the tombstone itself. */
static _Atomic(struct sad_sa *) *table_find(struct sad_table *t, uint32_t spi, struct sad_sa **sa)
{
	uint32_t i = spi_hash(spi) & t->mask;

	for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		uint32_t k = atomic_load_explicit(&t->key[i], memory_order_acquire);
		struct sad_sa *s;
		if (!k)
			return NULL;
		if (k != spi)
			continue;
		/* A tombstone keeps its key: the same SPI may be live further on. */
		s = atomic_load_explicit(&t->slot[i], memory_order_acquire);
		if (s && s != TOMB) {
			*sa = s;
			return &t->slot[i];
		}
	}
	return NULL;
}

struct sad_sa *sad_lookup_in(uint32_t spi)
{
	struct sad_table *t = atomic_load_explicit(&in_tab, memory_order_acquire);
	struct sad_sa *s;

	if (!t || spi == 0)
		return NULL;
	return table_find(t, spi, &s) ? s : NULL;
}

/* ---- tunnels ---- */

struct sad_tun *sad_tun_get(unsigned num, int create)
{
	struct sad_tun **b = &tun_hash[num % SAD_TUN_BUCKETS], *t;

	for (t = *b; t; t = t->hnext)
		if (t->num == num)
			return t;
	if (!create || !(t = calloc(1, sizeof(*t))))
		return NULL;
	t->num = num;
	atomic_init(&t->tun_fd, -1);
	t->hnext = *b;
	*b = t;
	return t;
}

static void unpend(struct sad_sa *s)
{
	for (size_t i = 0; i < npending; i++)
		if (pending[i] == s) {
			pending[i] = pending[--npending];
			return;
		}
}

static void remove_in_now(_Atomic(struct sad_sa *) *slot)
{
	struct sad_table *t = atomic_load(&in_tab);
	struct sad_sa *s = atomic_load(slot);

	atomic_store_explicit(slot, TOMB, memory_order_release);
	spi_filter_sa_del(s->esp->spi, s->path.peer);
	t->live--;
	unpend(s);
	sad_retire(sa_free, s);
}

void sad_tun_remove(unsigned num)
{
	struct sad_tun **pp = &tun_hash[num % SAD_TUN_BUCKETS], *t;
	struct sad_table *tab = atomic_load(&in_tab);

	while ((t = *pp) && t->num != num)
		pp = &t->hnext;
	if (!t)
		return;
	sad_retire(sa_free, atomic_exchange(&t->out, NULL));
	for (uint32_t i = 0; tab && i <= tab->mask; i++) {
		struct sad_sa *s = atomic_load(&tab->slot[i]);
		if (s && s != TOMB && s->tun == t)
			remove_in_now(&tab->slot[i]);
	}
	*pp = t->hnext;
	t->dead = 1;
	sad_retire(free, t);
}

/* ---- install / remove ---- */

int sad_init(void)
{
	if (atomic_load(&in_tab))
		return 0;
	struct sad_table *t = table_new(SAD_MIN_SLOTS);
	if (!t)
		return -1;
	atomic_store(&in_tab, t);
	return 0;
}

int sad_install_in(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path, int manual,
		   uint64_t now_ms)
{
	struct sad_table *t;
	struct sad_sa *s = NULL;
	int rc = -1;

	if (!sa || !sa->inbound || sa->spi == 0 || sad_init())
		goto out;
	if (sad_lookup_in(sa->spi))
		goto out;
	t = atomic_load(&in_tab);
	/* Keep probes short: at most half the slots used, tombstones included. */
	if ((t->used + 1) * 2 > t->mask + 1) {
		if (table_grow())
			goto out;
		t = atomic_load(&in_tab);
	}
	if (!(s = sa_wrap(tunnel, sa, path, manual, now_ms)))
		goto out;
	/* The kernel filter learns the SPI first, so its first packet is not dropped there. */
	spi_filter_sa_add(sa->spi, path->peer);
	table_put(t, s);
	rc = 0;
out:
	if (rc)
		esp_sa_free(sa);
	return rc;
}

int sad_set_out(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path, int manual,
		uint64_t now_ms)
{
	struct sad_sa *s;

	if (!sa || sa->inbound || !(s = sa_wrap(tunnel, sa, path, manual, now_ms))) {
		esp_sa_free(sa);
		return -1;
	}
	sad_retire(sa_free, atomic_exchange_explicit(&s->tun->out, s, memory_order_acq_rel));
	return 0;
}

int sad_remove_in(uint32_t spi, uint64_t deadline_ms, uint64_t now_ms)
{
	struct sad_table *t = atomic_load(&in_tab);
	_Atomic(struct sad_sa *) *slot;
	struct sad_sa *s;

	if (!t || !(slot = table_find(t, spi, &s)))
		return -1;
	if (deadline_ms <= now_ms) {
		remove_in_now(slot);
		return 0;
	}
	if (!s->remove_at) {
		if (npending == sizeof(pending) / sizeof(pending[0])) {
			remove_in_now(slot); /* no room to wait: fail safe, remove now */
			return 0;
		}
		pending[npending++] = s;
	}
	s->remove_at = deadline_ms;
	return 0;
}

int64_t sad_expire(uint64_t now_ms)
{
	struct sad_table *t = atomic_load(&in_tab);
	int64_t next = -1;
	size_t i = 0;

	while (i < npending) {
		struct sad_sa *s = pending[i];
		if (s->remove_at <= now_ms) {
			struct sad_sa *found;
			_Atomic(struct sad_sa *) *slot = table_find(t, s->esp->spi, &found);
			if (slot)
				remove_in_now(slot); /* also unpends s */
			else
				pending[i] = pending[--npending];
			continue;
		}
		if (next < 0 || (int64_t)(s->remove_at - now_ms) < next)
			next = (int64_t)(s->remove_at - now_ms);
		i++;
	}
	return next;
}

int sad_set_lifetime(unsigned tunnel, uint32_t spi, int inbound, uint32_t sec, uint64_t kb)
{
	struct sad_tun *t;
	struct sad_sa *s = NULL;

	if (inbound)
		s = sad_lookup_in(spi);
	else if ((t = sad_tun_get(tunnel, 0)))
		s = sad_out(t);
	if (!s || (!inbound && s->esp->spi != spi))
		return -1;
	s->life_sec = sec;
	s->life_kb = kb;
	return 0;
}

uint32_t sad_alloc_spi(void)
{
	for (int i = 0; i < 1000; i++) {
		uint32_t spi;
		if (getrandom(&spi, sizeof(spi), 0) != sizeof(spi))
			return 0;
		if (spi >= SAD_MIN_SPI && !sad_lookup_in(spi))
			return spi;
	}
	return 0;
}

void sad_foreach_in(sad_in_fn fn, void *arg)
{
	struct sad_table *t = atomic_load(&in_tab);

	for (uint32_t i = 0; t && i <= t->mask; i++) {
		struct sad_sa *s = atomic_load(&t->slot[i]);
		if (s && s != TOMB)
			fn(s, arg);
	}
}

void sad_foreach_tun(sad_tun_fn fn, void *arg)
{
	for (unsigned b = 0; b < SAD_TUN_BUCKETS; b++)
		for (struct sad_tun *t = tun_hash[b]; t; t = t->hnext)
			fn(t, arg);
}

size_t sad_count_in(void)
{
	struct sad_table *t = atomic_load(&in_tab);
	return t ? t->live : 0;
}

void sad_free(void)
{
	struct sad_table *t = atomic_load(&in_tab);

	for (unsigned b = 0; b < SAD_TUN_BUCKETS; b++)
		while (tun_hash[b])
			sad_tun_remove(tun_hash[b]->num);
	for (uint32_t i = 0; t && i <= t->mask; i++) {
		struct sad_sa *s = atomic_load(&t->slot[i]);
		if (s && s != TOMB)
			sa_free(s); /* orphans whose tunnel slot is gone */
	}
	free(t);
	atomic_store(&in_tab, NULL);
	npending = 0;
	/* Readers are stopped: everything is past its grace period. */
	for (int i = 0; i < SAD_MAX_READERS; i++)
		sad_reader_unregister(i);
	sad_reclaim();
}

/* ---- dp.h API ---- */

int dp_sa_install_in(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path)
{
	return sad_install_in(tunnel, sa, path, 0, sad_now_ms());
}

int dp_sa_set_out(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path)
{
	int rc = sad_set_out(tunnel, sa, path, 0, sad_now_ms());

	if (rc == 0)
		dp_workers_wake(); /* packets held for this tunnel can go now */
	return rc;
}

int dp_sa_remove_in(uint32_t spi, uint32_t grace_ms)
{
	uint64_t now = sad_now_ms();
	return sad_remove_in(spi, now + grace_ms, now);
}

int dp_sa_clear_out(unsigned tunnel)
{
	struct sad_tun *t = sad_tun_get(tunnel, 0);

	if (!t)
		return -1;
	sad_retire(sa_free, atomic_exchange(&t->out, NULL));
	return 0;
}

struct esp_sa *dp_sa_in(uint32_t spi)
{
	struct sad_sa *s = sad_lookup_in(spi);
	return s ? s->esp : NULL;
}

struct esp_sa *dp_sa_out(unsigned tunnel)
{
	struct sad_tun *t = sad_tun_get(tunnel, 0);
	struct sad_sa *s = t ? sad_out(t) : NULL;
	return s ? s->esp : NULL;
}

uint32_t dp_alloc_spi(void)
{
	return sad_alloc_spi();
}
