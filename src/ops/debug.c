/* Debug categories and peer conditions. The category bit is tested before
 * anything is formatted (DEBUG_ON); conditions narrow output to some peers. */
#include "ops/debug.h"
#include "ops/log.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#define DEBUG_MAX_COND 16

unsigned debug_mask;
static uint32_t conds[DEBUG_MAX_COND];
static int nconds;

int debug_enabled(unsigned cat, uint32_t peer_be)
{
	if (!(debug_mask & cat))
		return 0;
	if (nconds == 0 || peer_be == 0)
		return 1;
	for (int i = 0; i < nconds; i++)
		if (conds[i] == peer_be)
			return 1;
	return 0;
}

void debug_log(unsigned cat, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_raw(LOG_SEV_DEBUG, "%s", buf);
}

void debug_set(unsigned cats, int on)
{
	if (on)
		debug_mask |= cats;
	else
		debug_mask &= ~cats;
}

int debug_cond_add(uint32_t peer_be)
{
	for (int i = 0; i < nconds; i++)
		if (conds[i] == peer_be)
			return 0;
	if (nconds >= DEBUG_MAX_COND)
		return -1;
	conds[nconds++] = peer_be;
	return 0;
}

int debug_cond_del(uint32_t peer_be)
{
	for (int i = 0; i < nconds; i++)
		if (conds[i] == peer_be) {
			conds[i] = conds[--nconds];
			return 0;
		}
	return -1;
}

void debug_cond_clear(void)
{
	nconds = 0;
}

void debug_reset(void)
{
	debug_mask = 0;
	nconds = 0;
}

void debug_show(struct out *o)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {
		{DBG_ISAKMP, "Crypto ISAKMP debugging is on"},
		{DBG_IKEV2, "IKEv2 default debugging is on"},
		{DBG_IPSEC, "Crypto IPSEC debugging is on"},
		{DBG_ENGINE, "Crypto Engine debugging is on"},
	};
	if (debug_mask) {
		out_printf(o, "Cryptographic Subsystem:\n");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (debug_mask & names[i].bit)
				out_printf(o, "  %s\n", names[i].text);
	}
	if (nconds) { /* shown on their own too: they filter whatever is turned on later */
		out_printf(o, "\nCrypto conditional debug currently is turned ON\n");
		out_printf(o, "IKE peer IP address filters:\n");
		for (int i = 0; i < nconds; i++) {
			char a[INET_ADDRSTRLEN];
			struct in_addr ia = {conds[i]};
			inet_ntop(AF_INET, &ia, a, sizeof(a));
			out_printf(o, "%s\n", a);
		}
	}
}
