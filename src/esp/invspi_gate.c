/* The invalid-SPI gate (see invspi_gate.h). Data-plane thread only: no locks,
 * no allocation, no formatting. */
#include <string.h>
#include "esp/invspi_gate.h"

void invspi_gate_init(struct invspi_gate *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed | 1;
	g->tokens = INVSPI_GATE_BURST;
}

static uint64_t hash_of(const struct invspi_gate *g, const struct invspi_rec *r)
{
	/* Keyed, so a sender cannot aim its SPIs at one slot. */
	uint64_t h = ((uint64_t)r->src << 32 | r->spi) ^ g->seed;
	h ^= (uint64_t)r->sport << 17 ^ (uint64_t)r->dst << 7 ^ r->udp;
	h *= 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

static int same_flow(const struct invspi_rec *a, const struct invspi_rec *b)
{
	return a->src == b->src && a->spi == b->spi && a->sport == b->sport && a->udp == b->udp &&
	       a->dst == b->dst && a->dport == b->dport;
}

static int take_token(struct invspi_gate *g, uint64_t now)
{
	if (now > g->tick_ms) {
		uint64_t add = (now - g->tick_ms) * INVSPI_GATE_RATE;
		g->tokens = add >= INVSPI_GATE_BURST || g->tokens + add >= INVSPI_GATE_BURST
		                ? INVSPI_GATE_BURST
		                : g->tokens + (uint32_t)add;
		g->tick_ms = now;
	}
	if (!g->tokens)
		return 0;
	g->tokens--;
	return 1;
}

int invspi_gate_offer(struct invspi_gate *g, const struct invspi_rec *pkt, uint64_t now_ms,
                      struct invspi_rec out[2])
{
	uint64_t h = hash_of(g, pkt);
	struct invspi_slot *s = &g->s[h & (INVSPI_GATE_SLOTS - 1)];
	uint32_t *door = &g->door[(h >> 16) & (INVSPI_GATE_DOOR - 1)];
	uint32_t fp = (uint32_t)(h >> 32) | 1;
	int n = 0;

	if (s->used && same_flow(&s->r, pkt)) {
		s->r.count++;
		s->seen_ms = now_ms;
		if (now_ms - s->reported_ms < INVSPI_GATE_REPORT_MS)
			return 0;
		out[0] = s->r;
		s->r.count = 0;
		s->reported_ms = now_ms;
		return 1;
	}
	if (*door == fp && (!s->used || now_ms - s->seen_ms >= INVSPI_GATE_REPORT_MS)) {
		/* Seen before: admit it, flushing the quiet occupant's remainder.
		 * No token: each slot turns over at most once per interval. */
		if (s->used && s->r.count)
			out[n++] = s->r;
		s->r = *pkt;
		s->r.count = 0;
		s->used = 1;
		s->seen_ms = s->reported_ms = now_ms;
	} else {
		*door = fp;
		if (!take_token(g, now_ms))
			return -1;
	}
	out[n] = *pkt;
	out[n].count = 1;
	return n + 1;
}

void invspi_gate_sweep(struct invspi_gate *g, uint64_t now_ms, invspi_flush_fn fn, void *arg)
{
	if (now_ms - g->swept_ms < INVSPI_GATE_REPORT_MS)
		return;
	g->swept_ms = now_ms;
	for (int i = 0; i < INVSPI_GATE_SLOTS; i++) {
		struct invspi_slot *s = &g->s[i];
		if (s->used && s->r.count && now_ms - s->reported_ms >= INVSPI_GATE_REPORT_MS) {
			fn(&s->r, arg);
			s->r.count = 0;
			s->reported_ms = now_ms;
		}
	}
}
