/* Anti-replay window (RFC 4303 App. A) table tests, including ESN wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "esp/esp.h"

enum op {
	END = 0,
	ACCEPT, /* check must pass with seq64 == want, then commit */
	REJECT, /* check must fail */
	PEEK,   /* check must pass with seq64 == want; no commit */
	FORCE,  /* replay_commit(seq) directly: position the window */
};
struct step {
	enum op op;
	uint64_t seq; /* wire seq_lo for ACCEPT/REJECT/PEEK, 64-bit for FORCE */
	uint64_t want;
};
struct scenario {
	const char *name;
	uint32_t window;
	int esn;
	struct step steps[24];
};

#define A(s) {ACCEPT, (s), (s)}
#define AE(lo, s64) {ACCEPT, (lo), (s64)}
#define R(s) {REJECT, (s), 0}
#define P(lo, s64) {PEEK, (lo), (s64)}
#define F(s64) {FORCE, (s64), 0}

static const struct scenario scenarios[] = {
	{"in order, duplicate, zero", 64, 0,
	 {R(0), A(1), R(1), A(2), A(3), R(2), R(3), A(4)}},
	{"out of order within the window", 64, 0,
	 {A(10), A(5), A(9), R(5), A(1), A(6), R(10), A(11), R(9)}},
	{"too old, window 64", 64, 0,
	 {A(100), R(36), A(37), R(37), A(99), R(100), A(50)}},
	{"small slide keeps seen bits", 64, 0,
	 {A(10), A(20), A(70), R(10), R(20), A(7), R(6), R(70), A(69)}},
	{"big jump clears the ring", 64, 0,
	 {A(10), A(11), A(200), R(11), A(137), R(136), R(200), A(199), A(150)}},
	{"window 4096 edges", 4096, 0,
	 {A(5000), R(904), A(905), R(905), A(4999), A(1000), A(9095), R(5000), R(4999), A(5001)}},
	{"window 4096 spanning words", 4096, 0,
	 {A(1), A(4096), A(4097), R(1), A(2), A(8191), A(8192), R(4096), A(4200), R(4200)}},
	{"window rounded up to 64 multiple", 100, 0,
	 {A(200), R(72), A(73)}},
	{"non-ESN: no wrap past 2^32", 64, 0,
	 {F(0xFFFFFFF0), R(5), A(0xFFFFFFFF), R(0xFFFFFFBF), A(0xFFFFFFC0)}},
	{"ESN: first packets, nothing below zero", 64, 1,
	 {R(0), R(0xFFFFFFF0), A(1), A(3), A(2), R(2), P(0xFFFFFFC1, 0xFFFFFFC1)}},
	{"ESN: seq_lo wraps into the next block", 64, 1,
	 {F(0xFFFFFFF0), A(0xFFFFFFF1), AE(5, 0x100000005), R(0xFFFFFFF0), R(0xFFFFFFF1),
	  AE(0xFFFFFFF2, 0xFFFFFFF2), AE(0xFFFFFFC6, 0xFFFFFFC6), AE(3, 0x100000003),
	  AE(0, 0x100000000), R(0)}},
	{"ESN: low half below window guesses next block", 64, 1,
	 {F(0x100000005), P(0xFFFFFFC5, 0x1FFFFFFC5), P(0x40, 0x100000040), P(0xFFFFFFC6, 0xFFFFFFC6)}},
	{"ESN: window inside one block", 128, 1,
	 {F(0x300000200), R(0x200), P(0x181, 0x300000181), P(0x180, 0x400000180),
	  P(0x10000, 0x300010000)}},
	{"ESN: 4096 window straddling the wrap", 4096, 1,
	 {F(0x200000010), AE(0xFFFFF020, 0x1FFFFF020), R(0xFFFFF020), AE(0xFFFFFFFF, 0x1FFFFFFFF),
	  AE(0x11, 0x200000011), R(0x11), AE(0x1000, 0x200001000), P(0xFFFFFFFF, 0x2FFFFFFFF), R(0x11)}},
	{"ESN: top of the 64-bit space", 64, 1,
	 {F(0xFFFFFFFFFFFFFFF0), AE(0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF), R(0)}},
};

static void run(const struct scenario *sc)
{
	struct replay r;
	uint64_t s64, *bits;
	int i;

	/* Exactly the words the window needs: ASan sees any overrun. */
	bits = malloc(replay_window_bits(sc->window) / 8);
	assert_non_null(bits);
	replay_init(&r, sc->window, bits);
	for (i = 0; sc->steps[i].op != END; i++) {
		const struct step *st = &sc->steps[i];
		int rc;

		if (st->op == FORCE) {
			replay_commit(&r, st->seq);
			continue;
		}
		s64 = 0xdeadbeef;
		rc = replay_check(&r, (uint32_t)st->seq, sc->esn, &s64);
		if ((st->op == REJECT) != (rc != 0))
			fail_msg("%s: step %d seq 0x%llx: rc %d", sc->name, i, (unsigned long long)st->seq, rc);
		if (st->op == REJECT)
			continue;
		if (s64 != st->want)
			fail_msg("%s: step %d: seq64 0x%llx want 0x%llx", sc->name, i, (unsigned long long)s64,
				 (unsigned long long)st->want);
		if (st->op == ACCEPT)
			replay_commit(&r, s64);
	}
	free(bits);
}

static void test_scenarios(void **state)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
}

static void test_window_bounds(void **state)
{
	struct replay r;
	uint64_t bits[REPLAY_MAX_WINDOW / 64];

	replay_init(&r, 0, bits);
	assert_int_equal(r.window, 64);
	replay_init(&r, 64, bits);
	assert_int_equal(r.window, 64);
	replay_init(&r, 4096, bits);
	assert_int_equal(r.window, 4096);
	replay_init(&r, 100000, bits);
	assert_int_equal(r.window, REPLAY_MAX_WINDOW);
	replay_init(&r, 65, bits);
	assert_int_equal(r.window, 128);
}

/* Every number in a long shuffled-but-bounded stream is accepted exactly once;
 * compares the ring bitmap against a plain "seen" array. */
static void test_against_model(void **state)
{
	static uint8_t seen[200000];
	uint32_t windows[] = {64, 128, 1024, 4096};
	uint64_t x = 88172645463325252ull;

	for (size_t w = 0; w < 4; w++) {
		struct replay r;
		uint64_t top = 0, *bits = malloc(windows[w] / 8);

		assert_non_null(bits);
		replay_init(&r, windows[w], bits);
		memset(seen, 0, sizeof(seen));
		for (int n = 0; n < 150000; n++) {
			uint64_t s, got;
			int rc, want;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly near the top, sometimes ahead, sometimes far behind */
			s = top + 40 - x % (windows[w] + 200);
			if ((int64_t)s < 1)
				s = 1 + x % 8;
			if (s >= sizeof(seen))
				break;
			want = !seen[s] && (s > top || top - s < windows[w]);
			rc = replay_check(&r, (uint32_t)s, 0, &got);
			if ((rc == 0) != want)
				fail_msg("window %u seq %llu top %llu: rc %d want %d", windows[w],
					 (unsigned long long)s, (unsigned long long)top, rc, want);
			if (rc == 0) {
				replay_commit(&r, got);
				seen[s] = 1;
				if (s > top)
					top = s;
			}
		}
		free(bits);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_window_bounds),
		cmocka_unit_test(test_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
