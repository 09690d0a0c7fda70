/* Config parser: the global commands outside crypto and EEM (hostname,
 * logging, interface TunnelN and its sub-mode, ip route, snmp-server, metrics)
 * and the dispatch of a global line. */
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- global: hostname, logging ---- */

static int do_hostname(struct cfgp *p)
{
	char name[CFG_NAME_MAX] = "";
	if (!p->neg) {
		const struct cfg_word *w;
		if (cfgp_word(p, "hostname", &w))
			return -1;
		int ok = !w->quoted && w->len > 0 && w->len < CFG_NAME_MAX;
		for (size_t i = 0; ok && i < w->len; i++) {
			char ch = w->s[i];
			ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		}
		if (!ok) {
			cfgp_err(p, w->col,
				 "%% Invalid input \"%.64s\": expected hostname (1-63 letters, digits, '-', '_', '.')",
				 w->s);
			return -1;
		}
		memcpy(name, w->s, w->len + 1);
	}
	if (cfgp_eol(p))
		return -1;
	memcpy(p->c->hostname, name, sizeof(name));
	return 0;
}

static int opt_level(struct cfgp *p, int *level)
{
	if (!cfgp_more(p))
		return 0;
	const struct cfg_word *w = &p->ln->w[p->pos];
	int l = w->quoted ? -1 : cfg_level_parse(w->s);
	if (l < 0) {
		cfgp_err(p, w->col,
			 "%% Invalid input \"%.64s\": expected a level (0-7 or emergencies, alerts, critical, errors, warnings, notifications, informational, debugging)",
			 w->s);
		return -1;
	}
	p->pos++;
	*level = l;
	return 0;
}

static struct cfg_log_host **log_host_find(struct config *c, uint32_t addr)
{
	struct cfg_log_host **pp = &c->log_hosts;
	while (*pp && (*pp)->addr != addr)
		pp = &(*pp)->next;
	return pp;
}

static int do_logging(struct cfgp *p)
{
	static const char *const kws[] = { "buffered", "host", "trap", NULL };
	struct config *c = p->c;
	int k;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 0) { /* buffered [SIZE] [LEVEL] */
		uint64_t size = CFG_DEFAULT_LOG_BUFFER;
		int level = CFG_DEFAULT_BUFFERED_LEVEL;
		if (!p->neg) {
			/* A lone digit is a level (0-7); a size has at least four digits. */
			const struct cfg_word *w = cfgp_more(p) ? &p->ln->w[p->pos] : NULL;
			if (w && w->s[0] >= '0' && w->s[0] <= '9' && w->len > 1 &&
			    cfgp_num(p, "buffer size", 4096, 2147483647, &size))
				return -1;
			if (opt_level(p, &level))
				return -1;
		}
		if (cfgp_eol(p))
			return -1;
		c->log_buffered_size = p->neg ? 0 : (size_t)size;
		c->log_buffered_level = level;
		return 0;
	}
	if (k == 1) { /* host A.B.C.D [transport udp port N] */
		static const char *const tr[] = { "transport", NULL };
		static const char *const udp[] = { "udp", NULL };
		static const char *const port[] = { "port", NULL };
		uint32_t addr, pn = 514;
		int i, col = cfgp_col(p);
		if (cfgp_ipv4(p, "log host address", &addr))
			return -1;
		const char *astr = p->ln->w[p->pos - 1].s;
		if (!p->neg && cfgp_opt_kw(p, tr, &i) &&
		    (cfgp_kw(p, udp, &i) || cfgp_kw(p, port, &i) ||
		     cfgp_u32(p, "UDP port", 1, 65535, &pn)))
			return -1;
		if (cfgp_eol(p))
			return -1;
		struct cfg_log_host **pp = log_host_find(c, addr);
		if (p->neg) {
			if (*pp == NULL) {
				cfgp_err(p, col, "logging host %s is not configured", astr);
				return -1;
			}
			struct cfg_log_host *h = *pp;
			*pp = h->next;
			free(h);
			return 0;
		}
		if (*pp) {
			cfgp_err(p, col, "logging host %s is already configured", astr);
			return -1;
		}
		size_t n = 0;
		for (struct cfg_log_host *h = c->log_hosts; h; h = h->next)
			n++;
		if (cfgp_list_full(p, n, "logging hosts"))
			return -1;
		struct cfg_log_host *h = cfgp_alloc(p, sizeof(*h));
		if (h == NULL)
			return -1;
		h->addr = addr;
		h->port = (uint16_t)pn;
		*pp = h;
		return 0;
	}
	/* trap [LEVEL] */
	int level = CFG_DEFAULT_TRAP_LEVEL;
	if (!p->neg && opt_level(p, &level))
		return -1;
	if (cfgp_eol(p))
		return -1;
	c->log_trap_level = level;
	return 0;
}

/* ---- interface TunnelN ---- */

static struct cfg_tunnel **tunnel_find(struct config *c, unsigned num)
{
	struct cfg_tunnel **pp = &c->tunnels;
	while (*pp && (*pp)->num != num)
		pp = &(*pp)->next;
	return pp;
}

static int do_interface(struct cfgp *p)
{
	const struct cfg_word *w;
	unsigned num;
	if (cfgp_word(p, "interface (TunnelN)", &w))
		return -1;
	if (w->quoted || cfgp_tunnel_num(w->s, &num)) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected TunnelN (N 0-65535)", w->s);
		return -1;
	}
	if (cfgp_eol(p))
		return -1;
	struct cfg_tunnel **pp = tunnel_find(p->c, num);
	if (p->neg) {
		if (*pp == NULL) {
			cfgp_err(p, w->col, "interface Tunnel%u is not configured", num);
			return -1;
		}
		for (struct cfg_route *r = p->c->routes; r; r = r->next) {
			if (strcmp(r->ifname, (*pp)->name) == 0) {
				cfgp_err(p, w->col, "interface Tunnel%u is in use by an ip route", num);
				return -1;
			}
		}
		struct cfg_tunnel *t = *pp;
		*pp = t->next;
		free(t);
		return 0;
	}
	if (*pp) {
		cfgp_err(p, w->col, "interface Tunnel%u is already defined", num);
		return -1;
	}
	size_t n = 0;
	for (struct cfg_tunnel *t = p->c->tunnels; t; t = t->next)
		n++;
	if (cfgp_list_full(p, n, "tunnel interfaces"))
		return -1;
	struct cfg_tunnel *t = cfgp_alloc(p, sizeof(*t));
	if (t == NULL)
		return -1;
	t->num = num;
	snprintf(t->name, sizeof(t->name), "Tunnel%u", num);
	*pp = t;
	cfgp_push(p, CM_TUNNEL, t, w->col);
	return 0;
}

static struct cfg_ipsec_profile *ipsec_profile_find(struct config *c, const char *name)
{
	for (struct cfg_ipsec_profile *x = c->ipsec_profiles; x; x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

int cfgp_tunnel_sub(struct cfgp *p)
{
	static const char *const kws[] = { "description", "ip", "tunnel", "shutdown", "no", NULL };
	static const char *const ip_kw[] = { "address", NULL };
	static const char *const tun_kw[] = { "source", "destination", "mode", "protection", NULL };
	static const char *const ipsec_kw[] = { "ipsec", NULL };
	static const char *const ipv4_kw[] = { "ipv4", NULL };
	static const char *const prof_kw[] = { "profile", NULL };
	struct cfg_tunnel *t = p->st[p->depth].obj;
	int k, i;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	switch (k) {
	case 0: { /* description LINE: the rest of the line as written */
		char d[sizeof(t->description)] = "";
		if (!p->neg) {
			if (!cfgp_more(p)) {
				cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected description text");
				return -1;
			}
			const struct cfg_word *w = &p->ln->w[p->pos];
			size_t from = (size_t)w->col - 1;
			size_t to = (size_t)p->ln->w[p->ln->nwords - 1].end_col - 1;
			if (to - from >= sizeof(d)) {
				cfgp_err(p, w->col, "%% Invalid input: description is longer than %zu characters",
					 sizeof(d) - 1);
				return -1;
			}
			memcpy(d, p->ln->raw + from, to - from);
			d[to - from] = '\0';
		}
		p->pos = p->ln->nwords;
		memcpy(t->description, d, sizeof(d));
		return 0;
	}
	case 1: { /* ip address A M */
		uint32_t a = 0, m = 0;
		int col;
		if (cfgp_kw(p, ip_kw, &i))
			return -1;
		col = cfgp_col(p);
		if (!p->neg && (cfgp_ipv4(p, "address", &a) || cfgp_mask(p, &m)))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (!p->neg && (a == 0 || (ntohl(a) >> 28) >= 14)) {
			cfgp_err(p, col, "%% Invalid input \"%s\": expected a unicast address", p->ln->w[p->pos - 2].s);
			return -1;
		}
		t->addr = a;
		t->mask = m;
		t->has_addr = !p->neg;
		return 0;
	}
	case 2:
		break;
	case 3: /* shutdown */
		if (cfgp_eol(p))
			return -1;
		t->shutdown = !p->neg;
		return 0;
	}
	if (cfgp_kw(p, tun_kw, &k))
		return -1;
	if (k == 0) { /* tunnel source A.B.C.D | IFNAME */
		uint32_t a = 0;
		char ifn[CFG_NAME_MAX] = "";
		if (!p->neg) {
			const struct cfg_word *w = cfgp_more(p) ? &p->ln->w[p->pos] : NULL;
			if (w && w->s[0] >= '0' && w->s[0] <= '9') {
				if (cfgp_ipv4(p, "source address", &a))
					return -1;
			} else if (cfgp_name(p, "source address or interface", ifn, sizeof(ifn))) {
				return -1;
			}
		}
		if (cfgp_eol(p))
			return -1;
		t->src = a;
		memcpy(t->src_if, ifn, sizeof(ifn));
		return 0;
	}
	if (k == 1) { /* tunnel destination A.B.C.D */
		uint32_t a = 0;
		int col = cfgp_col(p);
		if (!p->neg && cfgp_ipv4(p, "destination address", &a))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (!p->neg && (a == 0 || (ntohl(a) >> 28) >= 14)) {
			cfgp_err(p, col, "%% Invalid input \"%s\": expected a unicast address",
				 p->ln->w[p->pos - 1].s);
			return -1;
		}
		for (struct cfg_tunnel *o = p->c->tunnels; a && o; o = o->next) {
			if (o != t && o->dst == a) {
				cfgp_err(p, col, "tunnel destination %s is already used by %s",
					 p->ln->w[p->pos - 1].s, o->name);
				return -1;
			}
		}
		t->dst = a;
		return 0;
	}
	if (k == 2) { /* tunnel mode ipsec ipv4 */
		if (!p->neg && (cfgp_kw(p, ipsec_kw, &i) || cfgp_kw(p, ipv4_kw, &i)))
			return -1;
		if (p->neg && cfgp_opt_kw(p, ipsec_kw, &i)) /* "no tunnel mode ipsec ipv4" */
			cfgp_opt_kw(p, ipv4_kw, &i);
		if (cfgp_eol(p))
			return -1;
		t->mode_ipsec_v4 = !p->neg;
		return 0;
	}
	/* tunnel protection ipsec profile NAME */
	char name[CFG_NAME_MAX] = "";
	int col;
	if (cfgp_kw(p, ipsec_kw, &i) || cfgp_kw(p, prof_kw, &i))
		return -1;
	col = cfgp_col(p);
	if ((!p->neg || cfgp_more(p)) && cfgp_name(p, "ipsec profile name", name, sizeof(name)))
		return -1;
	if (cfgp_eol(p))
		return -1;
	if (p->neg) {
		if (name[0] && (t->protection == NULL || strcmp(t->protection->name, name) != 0)) {
			cfgp_err(p, col, "tunnel protection ipsec profile %s is not configured", name);
			return -1;
		}
		t->protection = NULL;
		return 0;
	}
	struct cfg_ipsec_profile *x = ipsec_profile_find(p->c, name);
	if (x == NULL) {
		cfgp_err(p, col, "crypto ipsec profile %s is not defined", name);
		return -1;
	}
	t->protection = x;
	return 0;
}

/* ---- ip route PREFIX MASK TunnelN|A.B.C.D ---- */

static int do_ip(struct cfgp *p)
{
	static const char *const kws[] = { "route", NULL };
	uint32_t pfx, mask, nh = 0;
	char ifn[CFG_NAME_MAX] = "";
	int k, col;
	if (cfgp_kw(p, kws, &k))
		return -1;
	col = cfgp_col(p);
	if (cfgp_ipv4(p, "destination prefix", &pfx) || cfgp_mask(p, &mask))
		return -1;
	if (pfx & ~mask) {
		cfgp_err(p, col, "%% Inconsistent address and mask");
		return -1;
	}
	int tcol = cfgp_col(p);
	if (!p->neg || cfgp_more(p)) {
		const struct cfg_word *w;
		unsigned num;
		if (cfgp_word(p, "TunnelN or next hop A.B.C.D", &w))
			return -1;
		if (!w->quoted && cfg_ip_parse(w->s, &nh) == 0) {
			if (nh == 0 || (ntohl(nh) >> 28) >= 14) {
				cfgp_err(p, w->col, "%% Invalid input \"%s\": expected a unicast next hop", w->s);
				return -1;
			}
		} else if (!w->quoted && cfgp_tunnel_num(w->s, &num) == 0) {
			snprintf(ifn, sizeof(ifn), "Tunnel%u", num);
			if (!p->neg && *tunnel_find(p->c, num) == NULL) {
				cfgp_err(p, w->col, "interface %s is not defined", ifn);
				return -1;
			}
		} else {
			cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected TunnelN or next hop A.B.C.D",
				 w->s);
			return -1;
		}
	}
	if (cfgp_eol(p))
		return -1;
	int have_target = nh || ifn[0];
	struct cfg_route **pp = &p->c->routes;
	size_t n = 0;
	int removed = 0;
	while (*pp) {
		struct cfg_route *r = *pp;
		int same = r->prefix == pfx && r->mask == mask &&
			   (!have_target || (r->nexthop == nh && strcmp(r->ifname, ifn) == 0));
		if (same && p->neg) {
			*pp = r->next;
			free(r);
			removed++;
			continue;
		}
		if (same) {
			cfgp_err(p, tcol, "duplicate ip route");
			return -1;
		}
		n++;
		pp = &r->next;
	}
	if (p->neg) {
		if (!removed) {
			cfgp_err(p, col, "no such ip route");
			return -1;
		}
		return 0;
	}
	if (cfgp_list_full(p, n, "ip routes"))
		return -1;
	struct cfg_route *r = cfgp_alloc(p, sizeof(*r));
	if (r == NULL)
		return -1;
	r->prefix = pfx;
	r->mask = mask;
	r->nexthop = nh;
	memcpy(r->ifname, ifn, sizeof(ifn));
	*pp = r;
	return 0;
}

/* ---- snmp-server, metrics ---- */

static int do_snmp(struct cfgp *p)
{
	static const char *const kws[] = { "enable", "host", "manager", NULL };
	static const char *const en_kw[] = { "traps", NULL };
	static const char *const em_kw[] = { "event-manager", NULL };
	static const char *const ver_kw[] = { "version", NULL };
	static const char *const vers[] = { "1", "2c", NULL };
	static const char *const port_kw[] = { "port", NULL };
	struct config *c = p->c;
	int k, i;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 0) { /* enable traps event-manager */
		if (cfgp_kw(p, en_kw, &i) || cfgp_kw(p, em_kw, &i) || cfgp_eol(p))
			return -1;
		c->snmp_traps_eem = !p->neg;
		return 0;
	}
	if (k == 2) { /* manager [port N] */
		uint32_t port = CFG_DEFAULT_SNMP_MANAGER_PORT;
		if (!p->neg && cfgp_opt_kw(p, port_kw, &i) &&
		    cfgp_u32(p, "UDP port", 1, 65535, &port))
			return -1;
		if (cfgp_eol(p))
			return -1;
		c->snmp_manager = !p->neg;
		c->snmp_manager_port = (uint16_t)port;
		return 0;
	}
	/* host A.B.C.D [version 1|2c] COMMUNITY [event-manager] */
	uint32_t addr;
	int version = 1, col = cfgp_col(p), em = 0;
	char comm[CFG_NAME_MAX];
	if (cfgp_ipv4(p, "trap receiver address", &addr))
		return -1;
	const char *astr = p->ln->w[p->pos - 1].s;
	if (!p->neg) {
		if (cfgp_opt_kw(p, ver_kw, &i)) {
			if (cfgp_kw(p, vers, &i))
				return -1;
			version = i + 1;
		}
		if (cfgp_name(p, "community string", comm, sizeof(comm)))
			return -1;
		em = cfgp_opt_kw(p, em_kw, &i);
	}
	if (cfgp_eol(p))
		return -1;
	struct cfg_snmp_host **pp = &c->snmp_hosts;
	size_t n = 0;
	while (*pp && (*pp)->addr != addr) {
		pp = &(*pp)->next;
		n++;
	}
	if (p->neg) {
		if (*pp == NULL) {
			cfgp_err(p, col, "snmp-server host %s is not configured", astr);
			return -1;
		}
		struct cfg_snmp_host *h = *pp;
		*pp = h->next;
		free(h);
		return 0;
	}
	if (*pp) {
		cfgp_err(p, col, "snmp-server host %s is already configured", astr);
		return -1;
	}
	if (n >= CFG_SNMP_HOSTS_MAX) {
		cfgp_err(p, col, "too many snmp-server hosts (more than %d)", CFG_SNMP_HOSTS_MAX);
		return -1;
	}
	struct cfg_snmp_host *h = cfgp_alloc(p, sizeof(*h));
	if (h == NULL)
		return -1;
	h->addr = addr;
	h->version = version;
	h->traps_event_manager = em;
	memcpy(h->community, comm, sizeof(comm));
	*pp = h;
	return 0;
}

static int do_metrics(struct cfgp *p)
{
	static const char *const kws[] = { "listen", NULL };
	uint32_t addr = 0, port = 0;
	int k;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (!p->neg && (cfgp_ipv4(p, "listen address", &addr) ||
			cfgp_u32(p, "TCP port", 1, 65535, &port)))
		return -1;
	if (cfgp_eol(p))
		return -1;
	p->c->metrics_addr = addr;
	p->c->metrics_port = (uint16_t)port;
	return 0;
}

int cfgp_global(struct cfgp *p)
{
	static const char *const kws[] = { "crypto",	  "event",   "hostname", "interface", "ip",
					   "logging",	  "metrics", "no",	 "snmp-server", NULL };
	int k;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	switch (k) {
	case 0: return cfgp_crypto(p);
	case 1: return cfgp_eem(p);
	case 2: return do_hostname(p);
	case 3: return do_interface(p);
	case 4: return do_ip(p);
	case 5: return do_logging(p);
	case 6: return do_metrics(p);
	default: return do_snmp(p);
	}
}

