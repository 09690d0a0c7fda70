/* Event manager and SNMP notification tests: IOS action order, non-blocking
 * wait driven by timer_run_due, one instance at a time, maxrun, syslog
 * occurs/period, snmp-notification OID prefix and operators, and the trap
 * codec round trip over loopback, with malformed datagrams rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/loop.h"
#include "ops/config.h"
#include "ops/eem.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "ops/snmp.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- captured log lines ---- */

#define CAP_MAX 64
static char cap[CAP_MAX][256];
static int ncap;

static void capture(int sev, const char *line, void *arg)
{
	if (ncap < CAP_MAX)
		snprintf(cap[ncap++], sizeof(cap[0]), "%s", line);
}

static int cap_count(const char *needle)
{
	int n = 0;
	for (int i = 0; i < ncap; i++)
		n += strstr(cap[i], needle) != NULL;
	return n;
}

/* ---- config building ---- */

static struct config cfg;

static struct cfg_applet *applet(const char *name, enum cfg_eem_event ev)
{
	struct cfg_applet *a = calloc(1, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->event = ev;
	a->maxrun = 20;
	a->op = EEM_OP_EQ;
	struct cfg_applet **pp = &cfg.applets;
	while (*pp)
		pp = &(*pp)->next;
	*pp = a;
	return a;
}

static struct cfg_eem_action *action(struct cfg_applet *a, const char *label,
				     enum cfg_eem_action_kind kind, const char *text)
{
	struct cfg_eem_action *x = calloc(1, sizeof(*x));
	snprintf(x->label, sizeof(x->label), "%s", label);
	x->kind = kind;
	x->priority = -1;
	snprintf(x->text, sizeof(x->text), "%s", text ? text : "");
	struct cfg_eem_action **pp = &a->actions;
	while (*pp)
		pp = &(*pp)->next;
	*pp = x;
	return x;
}

static void cfg_clear(void)
{
	while (cfg.applets) {
		struct cfg_applet *a = cfg.applets;
		cfg.applets = a->next;
		while (a->actions) {
			struct cfg_eem_action *x = a->actions;
			a->actions = x->next;
			free(x);
		}
		free(a);
	}
	while (cfg.snmp_hosts) {
		struct cfg_snmp_host *h = cfg.snmp_hosts;
		cfg.snmp_hosts = h->next;
		free(h);
	}
	memset(&cfg, 0, sizeof(cfg));
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

static int setup(void **state)
{
	ncap = 0;
	cfg_clear();
	eem_set_clock(NULL);
	return 0;
}

static int teardown(void **state)
{
	eem_shutdown();
	snmp_stop();
	cfg_clear();
	/* drain timers left by a failed test */
	timer_run_due(UINT64_MAX / 2);
	return 0;
}

static void run_due(uint64_t ahead_ms)
{
	timer_run_due(loop_now_ms() + ahead_ms);
}

static int running(const char *name)
{
	struct eem_stats st;
	assert_int_equal(eem_applet_stats(name, &st), 0);
	return st.running;
}

/* ---- tests ---- */

static void test_order(void **state)
{
	struct cfg_applet *a = applet("ord", EEM_EV_NONE);
	/* given out of order; IOS sorts labels as strings */
	const char *labels[] = {"9", "8.1", "2", "1", "8", "10"};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "step %s", labels[i]);
		action(a, labels[i], EEM_ACT_SYSLOG, msg);
	}
	assert_int_equal(eem_apply(&cfg), 0);
	struct out o;
	out_init(&o);
	assert_int_equal(eem_run("ord", &o), 0);
	assert_int_equal(ncap, 0); /* nothing runs synchronously */
	run_due(0);
	const char *want[] = {"1", "10", "2", "8", "8.1", "9"};
	assert_int_equal(ncap, 6);
	for (int i = 0; i < 6; i++) {
		char exp[64];
		snprintf(exp, sizeof(exp), "%%HA_EM-6-LOG: ord: step %s", want[i]);
		assert_string_equal(cap[i], exp);
	}
	/* not event none */
	applet("sys", EEM_EV_SYSLOG);
	snprintf(cfg.applets->next->pattern, sizeof(cfg.applets->next->pattern), "x");
	assert_int_equal(eem_apply(&cfg), 0);
	assert_int_equal(eem_run("sys", &o), -1);
	assert_int_equal(eem_run("nope", &o), -1);
	assert_non_null(strstr(o.buf, "not registered"));
	out_free(&o);
}

static void test_priority(void **state)
{
	struct cfg_applet *a = applet("pri", EEM_EV_NONE);
	action(a, "1", EEM_ACT_SYSLOG, "hello")->priority = LOG_SEV_ERR;
	action(a, "2", EEM_ACT_SYSLOG, "DONE");
	eem_apply(&cfg);
	eem_run("pri", NULL);
	run_due(0);
	assert_int_equal(ncap, 2);
	assert_string_equal(cap[0], "%HA_EM-3-LOG: pri: hello");
	assert_string_equal(cap[1], "%HA_EM-6-LOG: pri: DONE");
}

static void test_wait_does_not_block(void **state)
{
	struct cfg_applet *a = applet("w", EEM_EV_NONE);
	action(a, "1", EEM_ACT_SYSLOG, "before");
	action(a, "2", EEM_ACT_WAIT, NULL)->wait_sec = 18;
	action(a, "3", EEM_ACT_SYSLOG, "after");
	eem_apply(&cfg);
	eem_run("w", NULL);
	run_due(0);
	/* back in the loop after the first action: the wait is a timer */
	assert_int_equal(cap_count("w: before"), 1);
	assert_int_equal(cap_count("w: after"), 0);
	assert_true(running("w"));
	run_due(17000);
	assert_int_equal(cap_count("w: after"), 0);
	run_due(18500);
	assert_int_equal(cap_count("w: after"), 1);
	assert_false(running("w"));
	struct eem_stats st;
	eem_applet_stats("w", &st);
	assert_int_equal(st.completed, 1);
}

static void test_one_instance(void **state)
{
	struct cfg_applet *a = applet("one", EEM_EV_NONE);
	action(a, "1", EEM_ACT_WAIT, NULL)->wait_sec = 5;
	action(a, "2", EEM_ACT_SYSLOG, "end");
	eem_apply(&cfg);
	assert_int_equal(eem_run("one", NULL), 0);
	run_due(0);
	struct out e;
	out_init(&e);
	assert_int_equal(eem_run("one", &e), -1); /* the operator is told, not left guessing */
	assert_non_null(strstr(e.buf, "%ERROR: applet one was not started: it is still running"));
	out_free(&e);
	eem_run("one", NULL);
	run_due(0);
	struct eem_stats st;
	eem_applet_stats("one", &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.skipped, 2);
	/* a reload keeps the running instance and the counters */
	eem_apply(&cfg);
	assert_true(running("one"));
	run_due(6000);
	assert_int_equal(cap_count("one: end"), 1);
	eem_applet_stats("one", &st);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.skipped, 2);
	/* now it may run again */
	eem_run("one", NULL);
	run_due(6000);
	assert_int_equal(cap_count("one: end"), 2);
	struct out o;
	out_init(&o);
	eem_show_history(&o);
	assert_non_null(strstr(o.buf, "skipped"));
	assert_non_null(strstr(o.buf, "success"));
	out_free(&o);
}

static void test_maxrun(void **state)
{
	struct cfg_applet *a = applet("slow", EEM_EV_NONE);
	a->maxrun = 5;
	action(a, "1", EEM_ACT_WAIT, NULL)->wait_sec = 30;
	action(a, "2", EEM_ACT_SYSLOG, "never");
	eem_apply(&cfg);
	eem_run("slow", NULL);
	run_due(0);
	run_due(6000);
	assert_false(running("slow"));
	assert_int_equal(cap_count("%HA_EM-3-FMPD_ERROR: Policy slow aborted: maxrun"), 1);
	run_due(40000);
	assert_int_equal(cap_count("never"), 0);
	struct eem_stats st;
	eem_applet_stats("slow", &st);
	assert_int_equal(st.aborted, 1);
	assert_int_equal(st.completed, 0);
}

static void test_syslog_pattern(void **state)
{
	struct cfg_applet *a = applet("command_hub", EEM_EV_SYSLOG);
	snprintf(a->pattern, sizeof(a->pattern), "CRYPTO-4-RECVD_PKT_INV_SPI.*srcaddr=192.0.2.2");
	action(a, "1", EEM_ACT_SYSLOG, "command_hub is running ...");
	/* an applet matching everything must not feed on HA_EM lines */
	struct cfg_applet *b = applet("greedy", EEM_EV_SYSLOG);
	snprintf(b->pattern, sizeof(b->pattern), ".*");
	action(b, "1", EEM_ACT_SYSLOG, "greedy saw a line");
	eem_apply(&cfg);
	log_ios(LOG_SEV_WARN, "CRYPTO", "RECVD_PKT_INV_SPI",
		"decaps: rec'd IPSEC packet has invalid spi for destaddr=192.0.2.1, prot=50, "
		"spi=0x68842105(1753489669), srcaddr=192.0.2.9, input interface=Tunnel0");
	run_due(0);
	assert_int_equal(cap_count("command_hub is running"), 0);
	assert_int_equal(cap_count("greedy saw a line"), 1);
	log_ios(LOG_SEV_WARN, "CRYPTO", "RECVD_PKT_INV_SPI",
		"decaps: rec'd IPSEC packet has invalid spi for destaddr=192.0.2.1, prot=50, "
		"spi=0x68842105(1753489669), srcaddr=192.0.2.2, input interface=Tunnel0");
	run_due(0);
	run_due(0);
	assert_int_equal(cap_count("%HA_EM-6-LOG: command_hub: command_hub is running ..."), 1);
	assert_int_equal(cap_count("greedy saw a line"), 2); /* not 3+: HA_EM lines ignored */
}

static void test_occurs_period(void **state)
{
	eem_set_clock(fake_clock);
	struct cfg_applet *a = applet("burst", EEM_EV_SYSLOG);
	snprintf(a->pattern, sizeof(a->pattern), "LINK-3-UPDOWN");
	a->occurs = 3;
	a->period = 10;
	action(a, "1", EEM_ACT_SYSLOG, "burst");
	struct cfg_applet *b = applet("third", EEM_EV_SYSLOG);
	snprintf(b->pattern, sizeof(b->pattern), "LINK-3-UPDOWN");
	b->occurs = 3;
	action(b, "1", EEM_ACT_SYSLOG, "third");
	eem_apply(&cfg);
	uint64_t t[] = {0, 20000, 40000, 60000, 61000, 62000};
	for (int i = 0; i < 6; i++) {
		fake_now = 1000000 + t[i];
		log_ios(LOG_SEV_ERR, "LINK", "UPDOWN", "Interface Tunnel0, changed state to down");
		run_due(0);
	}
	struct eem_stats st;
	eem_applet_stats("burst", &st);
	assert_int_equal(st.triggered, 1); /* only 60,61,62 s fall within 10 s */
	eem_applet_stats("third", &st);
	assert_int_equal(st.triggered, 2); /* every third line */
}

static void test_snmp_match(void **state)
{
	struct cfg_applet *a = applet("spoke_app", EEM_EV_SNMP_NOTIF);
	snprintf(a->oid, sizeof(a->oid), "1.3.6.1.4.1.9.10.91.1.2.3.1.9.");
	snprintf(a->oid_val, sizeof(a->oid_val), "2323232");
	inet_pton(AF_INET, "192.0.2.1", &a->src_ip);
	a->maxrun = 35;
	action(a, "1.0", EEM_ACT_SYSLOG, "Received trap from Hub...");
	struct cfg_applet *g = applet("big", EEM_EV_SNMP_NOTIF);
	snprintf(g->oid, sizeof(g->oid), "1.3.6.1.2.1.2.2.1.10.3");
	snprintf(g->oid_val, sizeof(g->oid_val), "1000");
	g->op = EEM_OP_GT;
	struct cfg_applet *s = applet("name_ne", EEM_EV_SNMP_NOTIF);
	snprintf(s->oid, sizeof(s->oid), "1.3.6.1.2.1.1.5.0");
	snprintf(s->oid_val, sizeof(s->oid_val), "hub");
	s->op = EEM_OP_NE;
	eem_apply(&cfg);

	uint32_t hub, other;
	inet_pton(AF_INET, "192.0.2.1", &hub);
	inet_pton(AF_INET, "192.0.2.7", &other);
	struct eem_varbind vb[2] = {0};
	snprintf(vb[0].oid, sizeof(vb[0].oid), "1.3.6.1.2.1.1.3.0");
	vb[0].numeric = 1;
	snprintf(vb[1].oid, sizeof(vb[1].oid), "1.3.6.1.4.1.9.10.91.1.2.3.1.9.17");
	vb[1].numeric = 1;
	vb[1].num = 2323232;
	snprintf(vb[1].val, sizeof(vb[1].val), "2323232");

	struct eem_stats st;
	eem_snmp_notify(other, vb, 2); /* wrong source */
	eem_applet_stats("spoke_app", &st);
	assert_int_equal(st.triggered, 0);
	vb[1].num = 2323233;
	eem_snmp_notify(hub, vb, 2); /* wrong value */
	eem_applet_stats("spoke_app", &st);
	assert_int_equal(st.triggered, 0);
	vb[1].num = 2323232;
	snprintf(vb[1].oid, sizeof(vb[1].oid), "1.3.6.1.4.1.9.10.91.1.2.3.1.90"); /* not under */
	eem_snmp_notify(hub, vb, 2);
	eem_applet_stats("spoke_app", &st);
	assert_int_equal(st.triggered, 0);
	snprintf(vb[1].oid, sizeof(vb[1].oid), "1.3.6.1.4.1.9.10.91.1.2.3.1.9.17");
	eem_snmp_notify(hub, vb, 2);
	run_due(0);
	eem_applet_stats("spoke_app", &st);
	assert_int_equal(st.triggered, 1);
	assert_int_equal(cap_count("%HA_EM-6-LOG: spoke_app: Received trap from Hub..."), 1);

	/* gt is numeric, on the exact OID only */
	struct eem_varbind c = {.numeric = 1, .num = 999};
	snprintf(c.oid, sizeof(c.oid), "1.3.6.1.2.1.2.2.1.10.3");
	eem_snmp_notify(other, &c, 1);
	eem_applet_stats("big", &st);
	assert_int_equal(st.triggered, 0);
	c.num = 1001;
	eem_snmp_notify(other, &c, 1);
	eem_applet_stats("big", &st);
	assert_int_equal(st.triggered, 1);
	snprintf(c.oid, sizeof(c.oid), "1.3.6.1.2.1.2.2.1.10.30");
	eem_snmp_notify(other, &c, 1);
	eem_applet_stats("big", &st);
	assert_int_equal(st.triggered, 1);
	/* a string value never satisfies gt */
	struct eem_varbind sv = {0};
	snprintf(sv.oid, sizeof(sv.oid), "1.3.6.1.2.1.2.2.1.10.3");
	snprintf(sv.val, sizeof(sv.val), "lots");
	eem_snmp_notify(other, &sv, 1);
	eem_applet_stats("big", &st);
	assert_int_equal(st.triggered, 1);
	/* ne on strings */
	snprintf(sv.oid, sizeof(sv.oid), "1.3.6.1.2.1.1.5.0");
	snprintf(sv.val, sizeof(sv.val), "hub");
	eem_snmp_notify(other, &sv, 1);
	eem_applet_stats("name_ne", &st);
	assert_int_equal(st.triggered, 0);
	snprintf(sv.val, sizeof(sv.val), "spoke");
	eem_snmp_notify(other, &sv, 1);
	eem_applet_stats("name_ne", &st);
	assert_int_equal(st.triggered, 1);
	run_due(0);
}

/* Send a trap with the real builder to a loopback socket of ours, then feed
 * the bytes back through the receive path. */
static size_t trap_roundtrip(int version, uint8_t *buf, size_t cap)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	char port[16];
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	setenv("INSYNC_SNMP_TRAP_PORT", port, 1);

	struct cfg_snmp_host *h = calloc(1, sizeof(*h));
	h->addr = htonl(INADDR_LOOPBACK);
	snprintf(h->community, sizeof(h->community), "public");
	h->version = version;
	h->traps_event_manager = 1;
	cfg.snmp_hosts = h;
	cfg.snmp_traps_eem = 1;
	assert_int_equal(snmp_apply(&cfg), 0);
	assert_int_equal(snmp_send_eem_trap("command_hub", 7, 2323232, 0, "hi"), 1);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	ssize_t n = recv(fd, buf, cap, 0);
	close(fd);
	unsetenv("INSYNC_SNMP_TRAP_PORT");
	assert_true(n > 0);
	return (size_t)n;
}

static void test_snmp_codec(void **state)
{
	struct cfg_applet *a = applet("spoke_app", EEM_EV_SNMP_NOTIF);
	snprintf(a->oid, sizeof(a->oid), "1.3.6.1.4.1.9.10.91.1.2.3.1.9.");
	snprintf(a->oid_val, sizeof(a->oid_val), "2323232");
	a->src_ip = htonl(INADDR_LOOPBACK);
	action(a, "1.0", EEM_ACT_SYSLOG, "Received trap from Hub...");
	eem_apply(&cfg);

	for (int version = 1; version <= 2; version++) {
		uint8_t pkt[SNMP_MAX_DGRAM];
		size_t len = trap_roundtrip(version, pkt, sizeof(pkt));
		struct snmp_notif *n = calloc(1, sizeof(*n));
		assert_int_equal(snmp_notif_parse(pkt, len, n), 0);
		assert_int_equal(n->version, version == 1 ? 0 : 1);
		assert_string_equal(n->community, "public");
		int seen_int1 = 0, seen_str = 0, seen_trapoid = 0;
		for (size_t i = 0; i < n->n_vb; i++) {
			if (strcmp(n->vb[i].oid, "1.3.6.1.4.1.9.10.91.1.2.3.1.9.7") == 0)
				seen_int1 = n->vb[i].numeric && n->vb[i].num == 2323232;
			if (strcmp(n->vb[i].oid, "1.3.6.1.4.1.9.10.91.1.2.3.1.11.7") == 0)
				seen_str = strcmp(n->vb[i].val, "hi") == 0;
			if (strcmp(n->vb[i].oid, "1.3.6.1.6.3.1.1.4.1.0") == 0)
				seen_trapoid = strcmp(n->vb[i].val, SNMP_OID_EEM_POLICY_EVENT) == 0;
		}
		assert_true(seen_int1);
		assert_true(seen_str);
		assert_int_equal(seen_trapoid, version == 2);

		/* every truncation and a flipped framing byte are rejected */
		struct snmp_counters c0, c1;
		snmp_get_counters(&c0);
		for (size_t l = 0; l < len; l++)
			assert_true(snmp_rx_datagram(htonl(INADDR_LOOPBACK), pkt, l) < 0);
		uint8_t bad[SNMP_MAX_DGRAM];
		memcpy(bad, pkt, len);
		bad[1] ^= 0x01;
		assert_true(snmp_rx_datagram(htonl(INADDR_LOOPBACK), bad, len) < 0);
		snmp_get_counters(&c1);
		assert_int_equal(c1.parse_errors - c0.parse_errors, len + 1);
		struct eem_stats st;
		eem_applet_stats("spoke_app", &st);
		assert_int_equal(st.triggered, (unsigned)version - 1);

		/* the right community from the right source triggers */
		assert_int_equal(snmp_rx_datagram(htonl(INADDR_LOOPBACK), pkt, len), 0);
		run_due(0);
		eem_applet_stats("spoke_app", &st);
		assert_int_equal(st.triggered, (unsigned)version);

		/* another source (no snmp-server host for it) is dropped */
		snmp_get_counters(&c0);
		assert_true(snmp_rx_datagram(htonl(0xC0000207), pkt, len) < 0);
		snmp_get_counters(&c1);
		assert_int_equal(c1.unknown_source - c0.unknown_source, 1);

		/* a wrong community is dropped */
		snprintf(cfg.snmp_hosts->community, sizeof(cfg.snmp_hosts->community), "private");
		snmp_apply(&cfg);
		assert_true(snmp_rx_datagram(htonl(INADDR_LOOPBACK), pkt, len) < 0);
		snmp_get_counters(&c1);
		assert_int_equal(c1.bad_community - c0.bad_community, 1);
		eem_applet_stats("spoke_app", &st);
		assert_int_equal(st.triggered, (unsigned)version);
		free(n);
		free(cfg.snmp_hosts);
		cfg.snmp_hosts = NULL;
	}
}

static void test_snmp_garbage(void **state)
{
	struct snmp_notif *n = calloc(1, sizeof(*n));
	uint8_t big[SNMP_MAX_DGRAM + 1] = {0x30};
	/* GetRequest, v2c, community "public": not a notification */
	static const uint8_t get[] = {0x30, 0x18, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b',
				      'l', 'i', 'c', 0xa0, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x01,
				      0x00, 0x02, 0x01, 0x00, 0x30, 0x00};
	/* version 3 */
	static const uint8_t v3[] = {0x30, 0x0b, 0x02, 0x01, 0x03, 0x04, 0x01, 'x',
				     0xa7, 0x03, 0x02, 0x01, 0x01};
	/* indefinite length */
	static const uint8_t indef[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00};
	assert_int_equal(snmp_notif_parse(get, sizeof(get), n), SNMP_E_PDU_TYPE);
	assert_int_equal(snmp_notif_parse(v3, sizeof(v3), n), SNMP_E_VERSION);
	assert_true(snmp_notif_parse(indef, sizeof(indef), n) < 0);
	assert_int_equal(snmp_notif_parse(big, sizeof(big), n), SNMP_E_TOO_BIG);
	/* random bytes behind a valid frame header */
	srand(1);
	for (int i = 0; i < 2000; i++) {
		uint8_t r[96];
		size_t len = 2 + (size_t)(rand() % 94);
		for (size_t k = 0; k < len; k++)
			r[k] = (uint8_t)rand();
		r[0] = 0x30;
		r[1] = (uint8_t)(len - 2);
		if (i % 2) { /* mostly well-formed prefix */
			memcpy(r, get, len < sizeof(get) ? len : sizeof(get));
			r[1] = (uint8_t)(len - 2);
			r[13] = 0xa7;
		}
		(void)snmp_notif_parse(r, len, n);
	}
	free(n);
}

static void test_show(void **state)
{
	struct cfg_applet *a = applet("command_hub", EEM_EV_SYSLOG);
	snprintf(a->pattern, sizeof(a->pattern), "CRYPTO-4-RECVD_PKT_INV_SPI");
	action(a, "1", EEM_ACT_CLI, "enable");
	action(a, "7", EEM_ACT_WAIT, NULL)->wait_sec = 18;
	struct cfg_eem_action *t = action(a, "8.1", EEM_ACT_SNMP_TRAP, "");
	t->intdata1 = 2323232;
	eem_apply(&cfg);
	struct out o;
	out_init(&o);
	eem_show_registered(&o);
	assert_non_null(strstr(o.buf, "command_hub"));
	assert_non_null(strstr(o.buf, "pattern {CRYPTO-4-RECVD_PKT_INV_SPI}"));
	assert_non_null(strstr(o.buf, "action 8.1 snmp-trap intdata1 2323232 strdata \"\""));
	assert_non_null(strstr(o.buf, "maxrun 20.000"));
	out_free(&o);
}

/* Two applets that run each other (cli "event manager run"): the chain
 * stops after EEM_MAX_DEPTH (8) starts beyond the first, with one error line. */
/* Run the loop until chains settle; the starts of ping and pong together. */
static unsigned chain_starts(void)
{
	struct eem_stats sa, sb;
	for (int k = 0; k < 100; k++)
		run_due(0);
	eem_applet_stats("ping", &sa);
	eem_applet_stats("pong", &sb);
	return sa.started + sb.started;
}

static void test_run_chain(void **state)
{
	struct cfg_applet *a = applet("ping", EEM_EV_NONE), *b = applet("pong", EEM_EV_NONE);

	action(a, "1", EEM_ACT_CLI, "event manager run pong");
	action(b, "1", EEM_ACT_CLI, "event manager run ping");
	assert_int_equal(eem_apply(&cfg), 0);
	assert_int_equal(eem_run("ping", NULL), 0);
	assert_int_equal(chain_starts(), 9);
	assert_int_equal(cap_count("not started: started by a chain of 9 applets (at most 8)"), 1);
	assert_false(running("ping"));
	assert_false(running("pong"));
	/* an operator's run starts a new chain */
	assert_int_equal(eem_run("pong", NULL), 0);
	assert_int_equal(chain_starts(), 18);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maxrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_pattern, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occurs_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snmp_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snmp_codec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snmp_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_chain, setup, teardown),
	};
	eem_register_commands();
	loop_init();
	loop_set_time_scale(1000);
	log_set_stderr(0);
	log_set_rate_cap(0);
	log_add_hook(capture, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
