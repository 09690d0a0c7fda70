/* Rate limiting with bounded memory: a keyed "once per interval per key"
 * limiter (fixed, set-associative table with oldest-entry eviction, so a flood
 * of distinct keys cannot grow memory) and a token bucket. */
#ifndef INSYNC_RATELIMIT_H
#define INSYNC_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

struct rl_key {
	uint64_t a, b; /* callers pack their flow identity here */
};

struct rl_slot {
	struct rl_key key;
	uint64_t last_ms; /* 0 = empty */
	uint32_t suppressed;
};

struct ratelimit {
	struct rl_slot *slots;
	size_t nsets; /* power of two; RL_WAYS slots per set */
	uint64_t interval_ms;
	uint64_t seed;
	uint64_t evictions;
};
#define RL_WAYS 4

/* nslots is rounded up to a power-of-two multiple of RL_WAYS. */
int ratelimit_init(struct ratelimit *rl, size_t nslots, uint64_t interval_ms);
void ratelimit_free(struct ratelimit *rl);
/* 1 if an event for key may be emitted now (and records it), 0 if suppressed.
 * *suppressed gets the number of events swallowed since the last allowed one. */
int ratelimit_allow(struct ratelimit *rl, const struct rl_key *key, uint64_t now_ms,
		    uint32_t *suppressed);

struct tokbucket {
	uint64_t tokens_milli; /* tokens * 1000 */
	uint64_t rate_milli;   /* tokens per second * 1000 */
	uint64_t burst_milli;
	uint64_t last_ms;
};
void tokbucket_init(struct tokbucket *tb, uint32_t per_sec, uint32_t burst);
/* Take one token: 1 on success, 0 when empty. */
int tokbucket_take(struct tokbucket *tb, uint64_t now_ms);
#endif
