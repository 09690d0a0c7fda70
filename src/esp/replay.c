/* Anti-replay window (RFC 4303 §3.4.3 and Appendix A) with ESN.
 *
 * The bitmap is a ring of `window` bits: sequence s lives at bit s % window.
 * The window covers (top - window, top]; sliding forward clears the slots of
 * the numbers it newly covers, a word at a time. Only the thread that decaps
 * the SA touches it, so there are no atomics. */
#include <string.h>
#include "esp/esp.h"

uint32_t replay_window_bits(uint32_t window)
{
	if (window < 64)
		window = 64;
	if (window > REPLAY_MAX_WINDOW)
		window = REPLAY_MAX_WINDOW;
	return (window + 63) / 64 * 64;
}

void replay_init(struct replay *r, uint32_t window, uint64_t *bits)
{
	r->top = 0;
	r->window = replay_window_bits(window);
	r->bitmap = bits;
	memset(bits, 0, r->window / 8);
}

static int bit_get(const struct replay *r, uint64_t s)
{
	uint32_t i = (uint32_t)(s % r->window);
	return (int)(r->bitmap[i / 64] >> (i % 64) & 1);
}

/* Infer the high 32 bits (RFC 4303 App. A2.2). The window is [T - W + 1, T];
 * a low half below the window's bottom must belong to the next 2^32 block. */
static int infer_seq(const struct replay *r, uint32_t seq_lo, uint64_t *seq64)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t w = r->window, bottom = tl - w + 1; /* mod 2^32 on purpose */
	uint32_t sh;

	if (tl >= w - 1) {
		/* Window lies within one 2^32 block. */
		sh = seq_lo >= bottom ? th : th + 1;
		if (sh < th) /* the 64-bit space is exhausted */
			return -1;
	} else {
		/* Window straddles a block boundary. */
		if (seq_lo >= bottom) {
			if (th == 0) /* would be below sequence number 0 */
				return -1;
			sh = th - 1;
		} else {
			sh = th;
		}
	}
	*seq64 = (uint64_t)sh << 32 | seq_lo;
	return 0;
}

int replay_check(const struct replay *r, uint32_t seq_lo, int esn, uint64_t *seq64)
{
	uint64_t s;

	if (esn) {
		if (infer_seq(r, seq_lo, &s))
			return -1;
	} else {
		s = seq_lo;
	}
	if (s == 0) /* the first packet of an SA carries 1; 0 is never sent */
		return -1;
	if (s > r->top) {
		*seq64 = s;
		return 0;
	}
	if (r->top - s >= r->window || bit_get(r, s))
		return -1;
	*seq64 = s;
	return 0;
}

/* Clear the slots of sequence numbers from..to (inclusive, fewer than window).
 * Counts down instead of comparing s <= to: `to` may be 2^64 - 1. */
static void clear_range(struct replay *r, uint64_t from, uint64_t to)
{
	uint64_t s = from, left = to - from + 1;

	while (left) {
		uint32_t i = (uint32_t)(s % r->window), bit = i % 64;
		uint64_t n = 64 - bit, mask;

		if (n > left)
			n = left;
		mask = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1) << bit;
		r->bitmap[i / 64] &= ~mask;
		s += n;
		left -= n;
	}
}

void replay_commit(struct replay *r, uint64_t seq64)
{
	uint32_t i;

	if (seq64 > r->top) {
		if (seq64 - r->top >= r->window)
			memset(r->bitmap, 0, r->window / 8);
		else
			clear_range(r, r->top + 1, seq64);
		r->top = seq64;
	} else if (r->top - seq64 >= r->window) {
		return; /* fell out of the window meanwhile: nothing to record */
	}
	i = (uint32_t)(seq64 % r->window);
	r->bitmap[i / 64] |= (uint64_t)1 << (i % 64);
}
