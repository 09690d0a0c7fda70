/* SNMP notifications for the event manager, on net-snmp's BER codec.
 *
 * Out: `action snmp-trap` becomes CISCO-EMBEDDED-EVENT-MGR-MIB
 * cEventMgrPolicyEvent, one datagram per `snmp-server host ... event-manager`
 * (SNMPv2c Trap-PDU, or an SNMPv1 Trap-PDU for `version 1` hosts, the IOS
 * default). Sending never blocks: a non-blocking UDP socket, and a full
 * socket buffer drops the trap (counted).
 *
 * In: `snmp-server manager` listens on UDP (162, or `port N`) inside the event
 * loop. A datagram is untrusted: size-capped, framing checked here, decoded
 * by net-snmp's sessionless parsers, and delivered to the event manager only
 * when its source is a configured `snmp-server host` and its community equals
 * that host's community. */
#include "ops/snmp.h"
#include "daemon/loop.h"
#include "ops/config.h"
#include "ops/eem.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "util/buf.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#define SNMP_RX_BURST 64 /* datagrams per wake-up, so a flood cannot starve the loop */
#define SNMP_DEFAULT_TRAP_PORT 162

struct snmp_host {
	uint32_t addr; /* network order */
	char community[CFG_NAME_MAX];
	int version; /* 1 or 2 (2c) */
	int traps_eem;
};

static struct snmp_host hosts[CFG_SNMP_HOSTS_MAX];
static size_t n_hosts;
static int traps_on;
static int rx_fd = -1;
static uint16_t rx_port;
static struct snmp_counters ctr;
static int lib_ready;
static uint64_t start_ms;

static void lib_init(void)
{
	if (lib_ready)
		return;
	/* No config files, MIBs or log output: only the codec is used. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_REVERSE_ENCODE, 1);
	snmp_disable_log();
	start_ms = loop_now_ms();
	lib_ready = 1;
}

/* Trusted dotted-decimal constant to an OID array; returns the arc count. */
static size_t oid_from(const char *s, oid *o, size_t cap)
{
	size_t n = 0;
	while (*s && n < cap) {
		char *end;
		o[n++] = (oid)strtoul(s, &end, 10);
		s = *end == '.' ? end + 1 : end;
		if (end == s && *s)
			break;
	}
	return n;
}

/* ---- receive ---- */

static int oid_str(const oid *o, size_t n, char *dst, size_t cap)
{
	size_t off = 0;
	if (n == 0 || n > MAX_OID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(dst + off, cap - off, i ? ".%lu" : "%lu", (unsigned long)o[i]);
		if (w < 0 || (size_t)w >= cap - off)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Decode one variable's value to text; -1 when its encoding is inconsistent. */
static int vb_value(const netsnmp_variable_list *v, struct eem_varbind *out)
{
	out->val[0] = '\0';
	out->numeric = 0;
	switch (v->type) {
	case ASN_INTEGER:
		if (v->val.integer == NULL || v->val_len != sizeof(long))
			return -1;
		out->num = *v->val.integer;
		out->numeric = 1;
		break;
	case ASN_COUNTER:
	case ASN_GAUGE:
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		if (v->val.integer == NULL || v->val_len != sizeof(long))
			return -1;
		out->num = (long long)(unsigned long)*v->val.integer;
		out->numeric = 1;
		break;
	case ASN_COUNTER64:
		if (v->val.counter64 == NULL || v->val_len != sizeof(struct counter64))
			return -1;
		out->num = (long long)(((uint64_t)v->val.counter64->high << 32) |
				       (uint32_t)v->val.counter64->low);
		out->numeric = 1;
		break;
	case ASN_OCTET_STR: {
		size_t n = v->val_len < EEM_VAL_MAX - 1 ? v->val_len : EEM_VAL_MAX - 1;
		if (n && v->val.string == NULL)
			return -1;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = v->val.string[i];
			out->val[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		out->val[n] = '\0';
		return 0;
	}
	case ASN_OBJECT_ID:
		if (v->val.objid == NULL || v->val_len % sizeof(oid))
			return -1;
		if (oid_str(v->val.objid, v->val_len / sizeof(oid), out->val, sizeof(out->val)))
			out->val[0] = '\0'; /* too long to match anything; keep the rest */
		return 0;
	case ASN_IPADDRESS:
		if (v->val.string == NULL || v->val_len != 4)
			return -1;
		inet_ntop(AF_INET, v->val.string, out->val, sizeof(out->val));
		return 0;
	default: /* NULL, opaque, v2 exceptions: no value to compare */
		return 0;
	}
	snprintf(out->val, sizeof(out->val), "%lld", out->num);
	return 0;
}

/* RFC 1157 / RFC 3416 community-based message:
 *
 *   Message ::= SEQUENCE {            30 LL
 *       version   INTEGER,            02 01 00|01
 *       community OCTET STRING,       04 LL cc ...
 *       data      PDU }               A4 (v1 Trap) | A7 (SNMPv2-Trap) LL ...
 *
 * The outer framing (definite length covering exactly the datagram) is checked
 * here before net-snmp sees a byte. */
static int frame_ok(const uint8_t *p, size_t len)
{
	struct rd r;
	uint8_t tag, l0, l1;
	uint16_t l2;
	size_t body;
	rd_init(&r, p, len);
	if (rd_u8(&r, &tag) || tag != 0x30 || rd_u8(&r, &l0))
		return 0;
	if (l0 < 0x80)
		body = l0;
	else if (l0 == 0x81 && rd_u8(&r, &l1) == 0)
		body = l1;
	else if (l0 == 0x82 && rd_u16(&r, &l2) == 0)
		body = l2;
	else
		return 0; /* indefinite or oversized length */
	return body == rd_left(&r) && body >= 7;
}

int snmp_notif_parse(const uint8_t *p, size_t len, struct snmp_notif *n)
{
	u_char buf[SNMP_MAX_DGRAM];
	u_char comm[SNMP_COMMUNITY_MAX + 1];
	size_t left = len, clen = sizeof(comm);
	long version = -1;
	netsnmp_pdu *pdu = NULL;
	u_char *data;
	int rc = SNMP_E_MALFORMED;

	memset(n, 0, sizeof(*n));
	if (len > sizeof(buf))
		return SNMP_E_TOO_BIG;
	if (!frame_ok(p, len))
		return SNMP_E_MALFORMED;
	lib_init();
	memcpy(buf, p, len); /* net-snmp's parsers take non-const buffers */
	data = snmp_comstr_parse(buf, &left, comm, &clen, &version);
	if (data == NULL)
		goto out;
	if (version != SNMP_VERSION_1 && version != SNMP_VERSION_2c) {
		rc = SNMP_E_VERSION;
		goto out;
	}
	if (clen > SNMP_COMMUNITY_MAX)
		goto out;
	pdu = snmp_pdu_create(0);
	if (pdu == NULL)
		goto out;
	pdu->version = version;
	if (snmp_pdu_parse(pdu, data, &left) != 0)
		goto out;
	if (!(version == SNMP_VERSION_2c && pdu->command == SNMP_MSG_TRAP2) &&
	    !(version == SNMP_VERSION_1 && pdu->command == SNMP_MSG_TRAP)) {
		rc = SNMP_E_PDU_TYPE;
		goto out;
	}
	for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
		struct eem_varbind *vb;
		if (n->n_vb == SNMP_MAX_VB) {
			rc = SNMP_E_TOO_BIG;
			goto out;
		}
		vb = &n->vb[n->n_vb];
		if (v->name == NULL || vb_value(v, vb))
			goto out;
		if (oid_str(v->name, v->name_length, vb->oid, sizeof(vb->oid)))
			continue; /* longer than any OID an applet can name */
		n->n_vb++;
	}
	n->version = version;
	memcpy(n->community, comm, clen);
	n->community[clen] = '\0';
	n->community_len = clen;
	n->pdu_type = pdu->command;
	rc = 0;
out:
	if (pdu)
		snmp_free_pdu(pdu);
	if (rc)
		memset(n, 0, sizeof(*n));
	return rc;
}

static const struct snmp_host *host_find(uint32_t addr)
{
	for (size_t i = 0; i < n_hosts; i++)
		if (hosts[i].addr == addr)
			return &hosts[i];
	return NULL;
}

int snmp_rx_datagram(uint32_t src_be, const uint8_t *p, size_t len)
{
	struct snmp_notif *n = NULL;
	const struct snmp_host *h;
	int rc = -1;

	ctr.in_pkts++;
	h = host_find(src_be);
	if (h == NULL) {
		ctr.unknown_source++;
		goto out;
	}
	n = malloc(sizeof(*n));
	if (n == NULL)
		goto out;
	switch (snmp_notif_parse(p, len, n)) {
	case 0:
		break;
	case SNMP_E_VERSION: ctr.bad_versions++; goto out;
	case SNMP_E_PDU_TYPE: ctr.bad_pdu_type++; goto out;
	case SNMP_E_TOO_BIG: ctr.too_big++; goto out;
	default: ctr.parse_errors++; goto out;
	}
	if (n->community_len != strlen(h->community) ||
	    memcmp(n->community, h->community, n->community_len) != 0) {
		ctr.bad_community++;
		goto out;
	}
	ctr.delivered++;
	eem_snmp_notify(src_be, n->vb, n->n_vb);
	rc = 0;
out:
	free(n);
	return rc;
}

static void on_rx(int fd, uint32_t events, void *arg)
{
	uint8_t buf[SNMP_MAX_DGRAM];
	for (int i = 0; i < SNMP_RX_BURST; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *)&sa,
				     &sl);
		if (r < 0)
			return;
		if ((size_t)r > sizeof(buf) || sl < sizeof(sa) || sa.sin_family != AF_INET) {
			ctr.in_pkts++;
			ctr.too_big++;
			continue;
		}
		snmp_rx_datagram(sa.sin_addr.s_addr, buf, (size_t)r);
	}
}

static void rx_close(void)
{
	if (rx_fd < 0)
		return;
	loop_del_fd(rx_fd);
	close(rx_fd);
	rx_fd = -1;
	rx_port = 0;
}

static int rx_open(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || loop_add_fd(fd, EPOLLIN, on_rx, NULL) < 0)
		goto fail;
	rx_fd = fd;
	rx_port = port;
	return 0;
fail:
	log_ios(LOG_SEV_ERR, "SNMP", "SOCKET", "cannot listen for notifications on UDP port %u: %s",
		port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- send ---- */

static uint16_t trap_port(void)
{
	/* Test-only knob: where traps go (IOS always uses 162). */
	const char *s = getenv("INSYNC_SNMP_TRAP_PORT");
	unsigned long v = s && *s ? strtoul(s, NULL, 10) : 0;
	return v > 0 && v < 65536 ? (uint16_t)v : SNMP_DEFAULT_TRAP_PORT;
}

static long clamp32(long long v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (long)v;
}

static void add_column(netsnmp_pdu *pdu, unsigned col, unsigned job, u_char type, const void *val,
		       size_t len)
{
	oid name[MAX_OID_LEN];
	size_t n = oid_from(SNMP_OID_EEM_HISTORY_ENTRY, name, MAX_OID_LEN - 2);
	name[n++] = col;
	name[n++] = job;
	snmp_pdu_add_variable(pdu, name, n, type, val, len);
}

/* Build one cEventMgrPolicyEvent for host h into a malloc'd *pkt; the encoded
 * message is the last *len bytes of it (net-snmp encodes back to front). */
static int trap_build(const struct snmp_host *h, uint32_t local_be, const char *applet, unsigned job,
		      long long i1, long long i2, const char *str, u_char **pkt, size_t *cap,
		      size_t *len)
{
	netsnmp_session s;
	netsnmp_pdu *pdu;
	oid trap_oid[MAX_OID_LEN];
	size_t trap_n = oid_from(SNMP_OID_EEM_POLICY_EVENT, trap_oid, MAX_OID_LEN);
	u_long ticks = (u_long)((loop_now_ms() - start_ms) / 10);
	long v1 = clamp32(i1), v2 = clamp32(i2), exit_status = 0;
	int rc = -1;

	snmp_sess_init(&s);
	s.version = h->version == 1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
	s.community = (u_char *)h->community;
	s.community_len = strlen(h->community);
	pdu = snmp_pdu_create(s.version == SNMP_VERSION_1 ? SNMP_MSG_TRAP : SNMP_MSG_TRAP2);
	if (pdu == NULL)
		return -1;
	pdu->version = s.version;
	if (s.version == SNMP_VERSION_1) {
		/* RFC 3584 3.2: v2 trap OID = enterprise.0.specific */
		pdu->enterprise = snmp_duplicate_objid(trap_oid, trap_n - 2);
		pdu->enterprise_length = trap_n - 2;
		pdu->trap_type = SNMP_TRAP_ENTERPRISESPECIFIC;
		pdu->specific_type = (long)trap_oid[trap_n - 1];
		pdu->time = ticks;
		memcpy(pdu->agent_addr, &local_be, 4);
		if (pdu->enterprise == NULL)
			goto out;
	} else {
		static const oid uptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
		static const oid trapoid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
		snmp_pdu_add_variable(pdu, uptime, OID_LENGTH(uptime), ASN_TIMETICKS, &ticks,
				      sizeof(ticks));
		snmp_pdu_add_variable(pdu, trapoid, OID_LENGTH(trapoid), ASN_OBJECT_ID, trap_oid,
				      trap_n * sizeof(oid));
	}
	/* ceeHistoryPolicyName, ...ExitStatus, ...IntData1, ...IntData2, ...StrData */
	add_column(pdu, 7, job, ASN_OCTET_STR, applet, strlen(applet));
	add_column(pdu, 8, job, ASN_INTEGER, &exit_status, sizeof(long));
	add_column(pdu, 9, job, ASN_INTEGER, &v1, sizeof(long));
	add_column(pdu, 10, job, ASN_INTEGER, &v2, sizeof(long));
	add_column(pdu, 11, job, ASN_OCTET_STR, str, strlen(str));
	*cap = 2048;
	*pkt = malloc(*cap);
	*len = 0;
	if (*pkt == NULL)
		goto out;
	if (snmp_build(pkt, cap, len, &s, pdu) != 0 || *len == 0 || *len > *cap ||
	    (*pkt)[*cap - *len] != 0x30)
		goto out;
	rc = 0;
out:
	snmp_free_pdu(pdu);
	return rc;
}

static int trap_send_one(const struct snmp_host *h, const char *applet, unsigned job, long long i1,
			 long long i2, const char *str)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(trap_port()),
				 .sin_addr.s_addr = h->addr};
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	u_char *pkt = NULL;
	size_t cap = 0, len = 0;
	int rc = -1;
	/* A connected socket per trap tells us the source address (the v1
	 * agent-addr) and keeps one host's ICMP errors away from the others. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		goto out;
	if (trap_build(h, me.sin_addr.s_addr, applet, job, i1, i2, str, &pkt, &cap, &len) < 0)
		goto out;
	if (send(fd, pkt + cap - len, len, MSG_DONTWAIT) != (ssize_t)len)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(pkt);
	if (rc == 0)
		ctr.traps_out++;
	else
		ctr.trap_errors++;
	return rc;
}

int snmp_send_eem_trap(const char *applet, unsigned job, long long intdata1, long long intdata2,
		       const char *strdata)
{
	int sent = 0;
	if (!traps_on)
		return -1;
	lib_init();
	for (size_t i = 0; i < n_hosts; i++)
		if (hosts[i].traps_eem &&
		    trap_send_one(&hosts[i], applet ? applet : "", job, intdata1, intdata2,
				  strdata ? strdata : "") == 0)
			sent++;
	return sent ? sent : -1;
}

/* ---- config, show ---- */

int snmp_apply(const struct config *cfg)
{
	int rc = 0;
	lib_init();
	n_hosts = 0;
	for (const struct cfg_snmp_host *h = cfg ? cfg->snmp_hosts : NULL; h; h = h->next) {
		if (n_hosts == CFG_SNMP_HOSTS_MAX) {
			rc = -1;
			break;
		}
		struct snmp_host *d = &hosts[n_hosts++];
		d->addr = h->addr;
		snprintf(d->community, sizeof(d->community), "%s", h->community);
		d->version = h->version;
		d->traps_eem = h->traps_event_manager;
	}
	traps_on = cfg ? cfg->snmp_traps_eem : 0;
	uint16_t port = cfg && cfg->snmp_manager
				? (cfg->snmp_manager_port ? cfg->snmp_manager_port : 162)
				: 0;
	if (port != rx_port) {
		uint16_t old = rx_port;
		rx_close();
		if (port && rx_open(port) < 0) {
			rc = -1;
			if (old) /* the new port is refused (logged): keep listening on the old one */
				rx_open(old);
		}
	}
	return rc;
}

void snmp_stop(void)
{
	rx_close();
	n_hosts = 0;
	traps_on = 0;
}

void snmp_get_counters(struct snmp_counters *c)
{
	*c = ctr;
}

void snmp_show(struct out *o)
{
	char ip[INET_ADDRSTRLEN];
	out_printf(o, "%llu SNMP packets input\n", (unsigned long long)ctr.in_pkts);
	out_printf(o, "    %llu Bad SNMP version errors\n", (unsigned long long)ctr.bad_versions);
	out_printf(o, "    %llu Unknown community name\n", (unsigned long long)ctr.bad_community);
	out_printf(o, "    %llu Unknown source address\n", (unsigned long long)ctr.unknown_source);
	out_printf(o, "    %llu Encoding errors\n", (unsigned long long)ctr.parse_errors);
	out_printf(o, "    %llu Oversized packets\n", (unsigned long long)ctr.too_big);
	out_printf(o, "    %llu Non-notification PDUs\n", (unsigned long long)ctr.bad_pdu_type);
	out_printf(o, "    %llu Notifications delivered to the event manager\n",
		   (unsigned long long)ctr.delivered);
	out_printf(o, "%llu SNMP packets output\n", (unsigned long long)ctr.traps_out);
	out_printf(o, "    %llu Trap PDUs\n", (unsigned long long)ctr.traps_out);
	out_printf(o, "    %llu Send errors\n", (unsigned long long)ctr.trap_errors);
	if (rx_fd >= 0)
		out_printf(o, "SNMP manager enabled, listening on UDP port %u\n", rx_port);
	else
		out_printf(o, "SNMP manager disabled\n");
	out_printf(o, "SNMP traps for event-manager %s\n", traps_on ? "enabled" : "disabled");
	for (size_t i = 0; i < n_hosts; i++)
		out_printf(o, "Notification host: %s udp-port: %u type: trap version: %s%s\n",
			   inet_ntop(AF_INET, &hosts[i].addr, ip, sizeof(ip)), trap_port(),
			   hosts[i].version == 1 ? "1" : "2c",
			   hosts[i].traps_eem ? " event-manager" : "");
}

static int cmd_show_snmp(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	snmp_show(o);
	return 0;
}

void snmp_register_commands(void)
{
	exec_register("show snmp", cmd_show_snmp, "SNMP statistics and notification hosts");
}
