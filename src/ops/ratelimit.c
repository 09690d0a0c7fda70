#include "ops/ratelimit.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finaliser: cheap and well distributed; the random seed keeps
	 * an attacker from aiming a flood at one set. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int ratelimit_init(struct ratelimit *rl, size_t nslots, uint64_t interval_ms)
{
	size_t sets = 1;
	memset(rl, 0, sizeof(*rl));
	while (sets * RL_WAYS < nslots)
		sets <<= 1;
	rl->slots = calloc(sets * RL_WAYS, sizeof(*rl->slots));
	if (rl->slots == NULL)
		return -1;
	rl->nsets = sets;
	rl->interval_ms = interval_ms;
	if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1)
		rl->seed = 0x9e3779b97f4a7c15ULL;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->slots);
	rl->slots = NULL;
}

int ratelimit_allow(struct ratelimit *rl, const struct rl_key *key, uint64_t now_ms,
		    uint32_t *suppressed)
{
	uint64_t h = mix(key->a ^ rl->seed) ^ mix(key->b + rl->seed);
	struct rl_slot *set = &rl->slots[(h & (rl->nsets - 1)) * RL_WAYS], *victim = &set[0];
	/* now_ms 0 is reserved for "empty". */
	if (now_ms == 0)
		now_ms = 1;
	if (suppressed)
		*suppressed = 0;
	for (int i = 0; i < RL_WAYS; i++) {
		struct rl_slot *s = &set[i];
		if (s->last_ms && s->key.a == key->a && s->key.b == key->b) {
			if (now_ms - s->last_ms < rl->interval_ms) {
				s->suppressed++;
				return 0;
			}
			if (suppressed)
				*suppressed = s->suppressed;
			s->suppressed = 0;
			s->last_ms = now_ms;
			return 1;
		}
		if (s->last_ms < victim->last_ms)
			victim = s;
	}
	if (victim->last_ms)
		rl->evictions++;
	victim->key = *key;
	victim->last_ms = now_ms;
	victim->suppressed = 0;
	return 1;
}

void tokbucket_init(struct tokbucket *tb, uint32_t per_sec, uint32_t burst)
{
	tb->rate_milli = (uint64_t)per_sec * 1000;
	tb->burst_milli = (uint64_t)(burst ? burst : 1) * 1000;
	tb->tokens_milli = tb->burst_milli;
	tb->last_ms = 0;
}

int tokbucket_take(struct tokbucket *tb, uint64_t now_ms)
{
	if (tb->last_ms && now_ms > tb->last_ms) {
		uint64_t add = (now_ms - tb->last_ms) * tb->rate_milli / 1000;
		tb->tokens_milli = tb->tokens_milli + add > tb->burst_milli ? tb->burst_milli
									    : tb->tokens_milli + add;
	}
	tb->last_ms = now_ms;
	if (tb->tokens_milli < 1000)
		return 0;
	tb->tokens_milli -= 1000;
	return 1;
}
