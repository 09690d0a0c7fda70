/* The configuration model's life cycle and lookups. Secrets (pre-shared keys
 * and manual session keys) are wiped with OPENSSL_cleanse before memory goes. */
#include "ops/config.h"
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->log_buffered_level = CFG_DEFAULT_BUFFERED_LEVEL;
	c->log_trap_level = CFG_DEFAULT_TRAP_LEVEL;
	c->keepalive_retry = CFG_DEFAULT_KEEPALIVE_RETRY;
	c->ikev2_cookie_challenge = CFG_DEFAULT_COOKIE_CHALLENGE;
	c->keepalive_mode = CFG_DPD_ON_DEMAND;
	c->sa_lifetime_sec = CFG_DEFAULT_SA_LIFETIME_SEC;
	c->sa_lifetime_kb = CFG_DEFAULT_SA_LIFETIME_KB;
	c->replay_window = CFG_DEFAULT_REPLAY_WINDOW;
	c->invalid_spi_log_interval = CFG_DEFAULT_INV_SPI_LOG_INTERVAL;
	c->snmp_manager_port = CFG_DEFAULT_SNMP_MANAGER_PORT;
	return c;
}

void cfg_keyring_peer_free(struct cfg_keyring_peer *kp)
{
	if (kp == NULL)
		return;
	OPENSSL_cleanse(kp, sizeof(*kp));
	free(kp);
}

void cfg_keyring_free(struct cfg_keyring *k)
{
	if (k == NULL)
		return;
	while (k->peers) {
		struct cfg_keyring_peer *n = k->peers->next;
		cfg_keyring_peer_free(k->peers);
		k->peers = n;
	}
	free(k);
}

void cfg_ipsec_profile_free(struct cfg_ipsec_profile *x)
{
	if (x == NULL)
		return;
	OPENSSL_cleanse(&x->key_in, sizeof(x->key_in));
	OPENSSL_cleanse(&x->key_out, sizeof(x->key_out));
	free(x);
}

void cfg_applet_free(struct cfg_applet *a)
{
	if (a == NULL)
		return;
	while (a->actions) {
		struct cfg_eem_action *n = a->actions->next;
		free(a->actions);
		a->actions = n;
	}
	free(a);
}

#define FREE_LIST(head, type, fn)                       \
	do {                                            \
		while (head) {                          \
			struct type *n_ = (head)->next; \
			fn(head);                       \
			(head) = n_;                    \
		}                                       \
	} while (0)

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	FREE_LIST(c->proposals, cfg_proposal, free);
	FREE_LIST(c->policies, cfg_policy, free);
	FREE_LIST(c->keyrings, cfg_keyring, cfg_keyring_free);
	FREE_LIST(c->ike_profiles, cfg_ike_profile, free);
	FREE_LIST(c->transform_sets, cfg_transform_set, free);
	FREE_LIST(c->ipsec_profiles, cfg_ipsec_profile, cfg_ipsec_profile_free);
	FREE_LIST(c->tunnels, cfg_tunnel, free);
	FREE_LIST(c->routes, cfg_route, free);
	FREE_LIST(c->log_hosts, cfg_log_host, free);
	FREE_LIST(c->snmp_hosts, cfg_snmp_host, free);
	FREE_LIST(c->applets, cfg_applet, cfg_applet_free);
	free(c);
}

struct cfg_tunnel *config_tunnel_by_dst(const struct config *c, uint32_t dst)
{
	if (c == NULL)
		return NULL;
	for (struct cfg_tunnel *t = c->tunnels; t; t = t->next)
		if (t->dst == dst && dst != 0)
			return t;
	return NULL;
}

struct cfg_tunnel *config_tunnel_by_name(const struct config *c, const char *name)
{
	unsigned num;
	if (c == NULL || name == NULL || cfgp_tunnel_num(name, &num))
		return NULL;
	for (struct cfg_tunnel *t = c->tunnels; t; t = t->next)
		if (t->num == num)
			return t;
	return NULL;
}

const struct cfg_keyring_peer *config_keyring_lookup(const struct cfg_keyring *k, uint32_t addr)
{
	const struct cfg_keyring_peer *best = NULL;
	if (k == NULL)
		return NULL;
	for (const struct cfg_keyring_peer *kp = k->peers; kp; kp = kp->next) {
		if (!kp->has_addr || (addr & kp->mask) != kp->addr)
			continue;
		if (kp->mask == 0xffffffffu)
			return kp; /* exact match wins */
		/* Otherwise the most specific prefix; the spec's "widest" reads as the
		 * longest match, which is what IOS keyrings do. */
		if (best == NULL || ntohl(kp->mask) > ntohl(best->mask))
			best = kp;
	}
	return best;
}
