/* config_print: the canonical IOS text of a model ("show running-config").
 * Objects come out in dependency order (a name is printed before anything that
 * refers to it) so that parsing the output yields the same model. Secrets are
 * printed as ***** unless unmasked. */
#include "ops/config.h"
#include "ops/config_util.h"
#include "util/out.h"
#include <string.h>

/* Quote a value only when the lexer needs it to read it back as one word. */
static void word(struct out *o, const char *s)
{
	int q = s[0] == '\0' || s[0] == '!';
	for (const char *c = s; *c && !q; c++)
		q = *c == ' ' || *c == '\t';
	out_printf(o, q ? "\"%s\"" : "%s", s);
}

static void print_hex(struct out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out_printf(o, "%02x", p[i]);
}

static void print_logging(const struct config *c, struct out *o)
{
	char ip[CFG_IP_STRLEN];
	int any = 0;
	if (c->log_buffered_size) {
		out_printf(o, "logging buffered %zu %s\n", c->log_buffered_size,
			   cfg_level_name(c->log_buffered_level));
		any = 1;
	}
	if (c->log_trap_level != CFG_DEFAULT_TRAP_LEVEL) {
		out_printf(o, "logging trap %s\n", cfg_level_name(c->log_trap_level));
		any = 1;
	}
	for (const struct cfg_log_host *h = c->log_hosts; h; h = h->next) {
		out_printf(o, "logging host %s", cfg_ip_str(h->addr, ip));
		if (h->port != CFG_DEFAULT_LOG_PORT)
			out_printf(o, " transport udp port %u", h->port);
		out_printf(o, "\n");
		any = 1;
	}
	if (any)
		out_printf(o, "!\n");
}

static void print_identity(struct out *o, const struct cfg_identity *id, int with_mask)
{
	char ip[CFG_IP_STRLEN];
	if (id->type == CFG_ID_ADDR) {
		out_printf(o, "address %s", cfg_ip_str(id->addr, ip));
		if (with_mask)
			out_printf(o, " %s", cfg_ip_str(id->mask, ip));
	} else {
		out_printf(o, "%s %s", id->type == CFG_ID_FQDN ? "fqdn" : "key-id", id->value);
	}
}

static void print_ikev2(const struct config *c, int unmasked, struct out *o)
{
	char ip[CFG_IP_STRLEN];
	for (const struct cfg_proposal *x = c->proposals; x; x = x->next) {
		out_printf(o, "crypto ikev2 proposal %s\n encryption", x->name);
		for (int i = 0; i < x->n_encr; i++)
			out_printf(o, " %s", cfg_encr_name(x->encr[i]));
		if (x->n_integ) {
			out_printf(o, "\n integrity");
			for (int i = 0; i < x->n_integ; i++)
				out_printf(o, " %s", cfg_integ_name(x->integ[i]));
		}
		out_printf(o, "\n prf");
		for (int i = 0; i < x->n_prf; i++)
			out_printf(o, " %s", cfg_prf_name(x->prf[i]));
		out_printf(o, "\n group");
		for (int i = 0; i < x->n_group; i++)
			out_printf(o, " %d", x->group[i]);
		out_printf(o, "\n!\n");
	}
	for (const struct cfg_policy *x = c->policies; x; x = x->next) {
		out_printf(o, "crypto ikev2 policy %s\n", x->name);
		for (int i = 0; i < x->n_proposals; i++)
			out_printf(o, " proposal %s\n", x->proposals[i]->name);
		out_printf(o, "!\n");
	}
	for (const struct cfg_keyring *k = c->keyrings; k; k = k->next) {
		out_printf(o, "crypto ikev2 keyring %s\n", k->name);
		for (const struct cfg_keyring_peer *p = k->peers; p; p = p->next) {
			out_printf(o, " peer %s\n", p->name);
			if (p->has_addr) {
				out_printf(o, "  address %s", cfg_ip_str(p->addr, ip));
				if (p->mask != 0xffffffffu)
					out_printf(o, " %s", cfg_ip_str(p->mask, ip));
				out_printf(o, "\n");
			}
			if (p->identity[0])
				out_printf(o, "  identity %s\n", p->identity);
			out_printf(o, "  pre-shared-key ");
			if (unmasked)
				word(o, p->psk);
			else
				out_printf(o, "*****");
			out_printf(o, "\n !\n");
		}
		out_printf(o, "!\n");
	}
	for (const struct cfg_ike_profile *x = c->ike_profiles; x; x = x->next) {
		out_printf(o, "crypto ikev2 profile %s\n", x->name);
		if (x->match_remote.type) {
			out_printf(o, " match identity remote ");
			print_identity(o, &x->match_remote, 1);
			out_printf(o, "\n");
		}
		if (x->local.type) {
			out_printf(o, " identity local ");
			print_identity(o, &x->local, 0);
			out_printf(o, "\n");
		}
		if (x->auth_remote_psk)
			out_printf(o, " authentication remote pre-share\n");
		if (x->auth_local_psk)
			out_printf(o, " authentication local pre-share\n");
		if (x->keyring)
			out_printf(o, " keyring local %s\n", x->keyring->name);
		if (x->lifetime != CFG_DEFAULT_IKE_LIFETIME)
			out_printf(o, " lifetime %u\n", x->lifetime);
		if (x->has_dpd)
			out_printf(o, " dpd %u %u %s\n", x->dpd_interval, x->dpd_retry,
				   cfg_dpd_mode_name(x->dpd_mode));
		out_printf(o, "!\n");
	}
}

static void print_session_key(struct out *o, const char *dir, const struct cfg_session_key *k,
			      int unmasked)
{
	if (!k->present)
		return;
	out_printf(o, " set session-key %s esp 0x%08X cipher ", dir, k->spi);
	if (unmasked)
		print_hex(o, k->cipher, k->cipher_len);
	else
		out_printf(o, "*****");
	if (k->auth_len) {
		out_printf(o, " authenticator ");
		if (unmasked)
			print_hex(o, k->auth, k->auth_len);
		else
			out_printf(o, "*****");
	}
	out_printf(o, "\n");
}

static void print_ipsec(const struct config *c, int unmasked, struct out *o)
{
	for (const struct cfg_transform_set *x = c->transform_sets; x; x = x->next) {
		out_printf(o, "crypto ipsec transform-set %s %s", x->name, cfg_esp_cipher_name(x->cipher));
		if (x->auth)
			out_printf(o, " %s", cfg_esp_auth_name(x->auth));
		out_printf(o, "\n mode tunnel\n!\n");
	}
	for (const struct cfg_ipsec_profile *x = c->ipsec_profiles; x; x = x->next) {
		out_printf(o, "crypto ipsec profile %s\n", x->name);
		if (x->ts)
			out_printf(o, " set transform-set %s\n", x->ts->name);
		if (x->ike_profile)
			out_printf(o, " set ikev2-profile %s\n", x->ike_profile->name);
		if (x->lifetime_sec)
			out_printf(o, " set security-association lifetime seconds %u\n", x->lifetime_sec);
		if (x->lifetime_kb)
			out_printf(o, " set security-association lifetime kilobytes %llu\n",
				   (unsigned long long)x->lifetime_kb);
		if (x->idle_time)
			out_printf(o, " set security-association idle-time %u\n", x->idle_time);
		if (x->pfs_group)
			out_printf(o, " set pfs group%d\n", x->pfs_group);
		if (x->udp_encap)
			out_printf(o, " set udp-encapsulation\n");
		print_session_key(o, "inbound", &x->key_in, unmasked);
		print_session_key(o, "outbound", &x->key_out, unmasked);
		out_printf(o, "!\n");
	}
}

static void print_crypto_globals(const struct config *c, struct out *o)
{
	int any = 0;
	if (c->invalid_spi_recovery) {
		out_printf(o, "crypto isakmp invalid-spi-recovery\n");
		any = 1;
	}
	if (c->ikev2_nat_keepalive) {
		out_printf(o, "crypto ikev2 nat keepalive %u\n", c->ikev2_nat_keepalive);
		any = 1;
	}
	if (c->ikev2_cookie_challenge != CFG_DEFAULT_COOKIE_CHALLENGE) {
		out_printf(o, "crypto ikev2 cookie-challenge %u\n", c->ikev2_cookie_challenge);
		any = 1;
	}
	if (c->ikev2_max_sa) {
		out_printf(o, "crypto ikev2 limit max-sa %u\n", c->ikev2_max_sa);
		any = 1;
	}
	if (c->ikev2_max_nego_in) {
		out_printf(o, "crypto ikev2 limit max-in-negotiation-sa %u incoming\n", c->ikev2_max_nego_in);
		any = 1;
	}
	if (c->ikev2_max_nego_out) {
		out_printf(o, "crypto ikev2 limit max-in-negotiation-sa %u outgoing\n", c->ikev2_max_nego_out);
		any = 1;
	}
	if (c->has_keepalive) {
		out_printf(o, "crypto isakmp keepalive %u %u%s\n", c->keepalive_sec, c->keepalive_retry,
			   c->keepalive_mode == CFG_DPD_PERIODIC ? " periodic" : "");
		any = 1;
	}
	if (c->sa_lifetime_sec != CFG_DEFAULT_SA_LIFETIME_SEC) {
		out_printf(o, "crypto ipsec security-association lifetime seconds %u\n",
			   c->sa_lifetime_sec);
		any = 1;
	}
	if (c->sa_lifetime_kb != CFG_DEFAULT_SA_LIFETIME_KB) {
		out_printf(o, "crypto ipsec security-association lifetime kilobytes %llu\n",
			   (unsigned long long)c->sa_lifetime_kb);
		any = 1;
	}
	if (c->sa_idle_time) {
		out_printf(o, "crypto ipsec security-association idle-time %u\n", c->sa_idle_time);
		any = 1;
	}
	if (c->replay_window != CFG_DEFAULT_REPLAY_WINDOW) {
		out_printf(o, "crypto ipsec security-association replay window-size %u\n",
			   c->replay_window);
		any = 1;
	}
	if (c->invalid_spi_log_interval != CFG_DEFAULT_INV_SPI_LOG_INTERVAL) {
		out_printf(o, "crypto ipsec invalid-spi log-interval %u\n",
			   c->invalid_spi_log_interval);
		any = 1;
	}
	if (any)
		out_printf(o, "!\n");
}

static void print_interfaces(const struct config *c, struct out *o)
{
	char ip[CFG_IP_STRLEN], ip2[CFG_IP_STRLEN];
	for (const struct cfg_tunnel *t = c->tunnels; t; t = t->next) {
		out_printf(o, "interface %s\n", t->name);
		if (t->description[0])
			out_printf(o, " description %s\n", t->description);
		if (t->has_addr)
			out_printf(o, " ip address %s %s\n", cfg_ip_str(t->addr, ip),
				   cfg_ip_str(t->mask, ip2));
		if (t->src)
			out_printf(o, " tunnel source %s\n", cfg_ip_str(t->src, ip));
		else if (t->src_if[0])
			out_printf(o, " tunnel source %s\n", t->src_if);
		if (t->dst)
			out_printf(o, " tunnel destination %s\n", cfg_ip_str(t->dst, ip));
		if (t->mode_ipsec_v4)
			out_printf(o, " tunnel mode ipsec ipv4\n");
		if (t->protection)
			out_printf(o, " tunnel protection ipsec profile %s\n", t->protection->name);
		if (t->shutdown)
			out_printf(o, " shutdown\n");
		out_printf(o, "!\n");
	}
	for (const struct cfg_route *r = c->routes; r; r = r->next) {
		out_printf(o, "ip route %s %s ", cfg_ip_str(r->prefix, ip), cfg_ip_str(r->mask, ip2));
		out_printf(o, "%s\n", r->ifname[0] ? r->ifname : cfg_ip_str(r->nexthop, ip));
	}
	if (c->routes)
		out_printf(o, "!\n");
}

static void print_snmp(const struct config *c, int unmasked, struct out *o)
{
	char ip[CFG_IP_STRLEN];
	int any = 0;
	if (c->snmp_traps_eem) {
		out_printf(o, "snmp-server enable traps event-manager\n");
		any = 1;
	}
	for (const struct cfg_snmp_host *h = c->snmp_hosts; h; h = h->next) {
		/* The community is the only check on notifications that applets act on. */
		out_printf(o, "snmp-server host %s %s%s%s\n", cfg_ip_str(h->addr, ip),
			   h->version == 2 ? "version 2c " : "", unmasked ? h->community : "*****",
			   h->traps_event_manager ? " event-manager" : "");
		any = 1;
	}
	if (c->snmp_manager) {
		out_printf(o, "snmp-server manager");
		if (c->snmp_manager_port != CFG_DEFAULT_SNMP_MANAGER_PORT)
			out_printf(o, " port %u", c->snmp_manager_port);
		out_printf(o, "\n");
		any = 1;
	}
	if (c->metrics_port) {
		out_printf(o, "metrics listen %s %u\n", cfg_ip_str(c->metrics_addr, ip), c->metrics_port);
		any = 1;
	}
	if (any)
		out_printf(o, "!\n");
}

static void print_applet(const struct cfg_applet *a, struct out *o)
{
	char ip[CFG_IP_STRLEN];
	out_printf(o, "event manager applet %s\n event ", a->name);
	switch (a->event) {
	case EEM_EV_NONE: out_printf(o, "none"); break;
	case EEM_EV_SYSLOG:
		out_printf(o, "syslog pattern \"%s\"", a->pattern);
		if (a->occurs)
			out_printf(o, " occurs %u", a->occurs);
		if (a->period)
			out_printf(o, " period %u", a->period);
		break;
	case EEM_EV_SNMP_NOTIF:
		out_printf(o, "snmp-notification oid %s oid-val \"%s\" op %s", a->oid, a->oid_val,
			   cfg_eem_op_name(a->op));
		if (a->src_ip)
			out_printf(o, " src-ip-address %s", cfg_ip_str(a->src_ip, ip));
		break;
	case EEM_EV_TIMER_COUNTDOWN:
	case EEM_EV_TIMER_WATCHDOG:
		out_printf(o, "timer %s time %u",
			   a->event == EEM_EV_TIMER_COUNTDOWN ? "countdown" : "watchdog", a->timer_sec);
		break;
	}
	if (a->maxrun != CFG_DEFAULT_EEM_MAXRUN)
		out_printf(o, " maxrun %u", a->maxrun);
	out_printf(o, "\n");
	for (const struct cfg_eem_action *x = a->actions; x; x = x->next) {
		out_printf(o, " action %s ", x->label);
		switch (x->kind) {
		case EEM_ACT_CLI: out_printf(o, "cli command \"%s\"", x->text); break;
		case EEM_ACT_WAIT: out_printf(o, "wait %u", x->wait_sec); break;
		case EEM_ACT_SYSLOG:
			out_printf(o, "syslog");
			if (x->priority >= 0)
				out_printf(o, " priority %s", cfg_level_name(x->priority));
			out_printf(o, " msg \"%s\"", x->text);
			break;
		case EEM_ACT_SNMP_TRAP:
			out_printf(o, "snmp-trap intdata1 %lld", x->intdata1);
			if (x->has_int2)
				out_printf(o, " intdata2 %lld", x->intdata2);
			out_printf(o, " strdata \"%s\"", x->text);
			break;
		}
		out_printf(o, "\n");
	}
	out_printf(o, "!\n");
}

void config_print(const struct config *c, int unmasked, struct out *o)
{
	if (c == NULL)
		return;
	if (c->hostname[0])
		out_printf(o, "hostname %s\n!\n", c->hostname);
	print_logging(c, o);
	print_ikev2(c, unmasked, o);
	print_ipsec(c, unmasked, o);
	print_crypto_globals(c, o);
	print_interfaces(c, o);
	print_snmp(c, unmasked, o);
	for (const struct cfg_applet *a = c->applets; a; a = a->next)
		print_applet(a, o);
	out_printf(o, "end\n");
}
