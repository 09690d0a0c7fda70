/* Debug categories as IOS names them, tested with a bit test before any
 * formatting, and optional peer conditions that filter them. */
#ifndef INSYNC_DEBUG_H
#define INSYNC_DEBUG_H
#include <stdint.h>

enum {
	DBG_ISAKMP = 1u << 0,
	DBG_IKEV2 = 1u << 1,
	DBG_IPSEC = 1u << 2,
	DBG_ENGINE = 1u << 3,
};

extern unsigned debug_mask;

/* True when cat is on and peer (network order, 0 = unknown) passes the conditions. */
int debug_enabled(unsigned cat, uint32_t peer_be);
#define DEBUG_ON(cat, peer) (debug_mask & (cat) ? debug_enabled((cat), (peer)) : 0)

/* Emit a debug line; call only after DEBUG_ON. */
void debug_log(unsigned cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define DBG(cat, peer, ...)                                                                        \
	do {                                                                                       \
		if (DEBUG_ON(cat, peer))                                                           \
			debug_log(cat, __VA_ARGS__);                                               \
	} while (0)

void debug_set(unsigned cats, int on);
int debug_cond_add(uint32_t peer_be);
/* Remove one peer condition: 0, or -1 if there was none for it. */
int debug_cond_del(uint32_t peer_be);
void debug_cond_clear(void);
struct out;
void debug_show(struct out *o);
void debug_reset(void);
#endif
