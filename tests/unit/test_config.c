/* Config parser tests: every shipped example loads, the printed config parses
 * back to the same text (round trip), malformed configs each give their exact
 * "FILE:LINE:COL: message" line, "no" forms undo, secrets are masked, EEM
 * action labels sort the IOS way, lookups work, and hostile bytes are safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ops/config.h"
#include "ops/config_util.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const examples[] = { "site-a", "site-b", "manual-a", "manual-b",
					"eem-hub", "eem-spoke" };

static void example_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "examples/%s.conf", name); /* tests run from the repo root */
}

/* Parse text; returns the model or NULL and leaves errors in *err. */
static struct config *parse(const char *text, struct out *err)
{
	struct config *c = NULL;
	out_reset(err);
	int rc = config_parse("t.conf", text, strlen(text), &c, err);
	assert_true((rc == 0) == (c != NULL));
	return c;
}

static char *print_cfg(const struct config *c, int unmasked)
{
	struct out o;
	out_init(&o);
	config_print(c, unmasked, &o);
	assert_false(o.oom);
	return o.buf; /* caller frees */
}

static void test_examples_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[256];
		struct config *c = NULL;
		struct out err;
		out_init(&err);
		example_path(path, sizeof(path), examples[i]);
		int rc = config_load_file(path, &c, &err);
		if (rc != 0)
			fprintf(stderr, "%s", err.buf ? err.buf : "?");
		assert_int_equal(rc, 0);
		assert_non_null(c);
		assert_non_null(c->tunnels);
		assert_non_null(c->tunnels->protection);
		assert_non_null(c->tunnels->protection->ts);
		assert_int_equal(c->tunnels->protection->ts->cipher, CFG_ESP_GCM_256);
		assert_true(c->tunnels->mode_ipsec_v4);
		assert_non_null(c->routes);
		assert_int_equal(c->log_buffered_size, 4096);
		config_free(c);
		out_free(&err);
	}
}

static void test_example_site_a_model(void **state)
{
	(void)state;
	struct config *c = NULL;
	assert_int_equal(config_load_file("examples/site-a.conf", &c, NULL), 0);
	assert_string_equal(c->hostname, "site-a");
	assert_int_equal(c->proposals->n_encr, 2);
	assert_int_equal(c->proposals->encr[0], CFG_ENCR_AES_GCM_256);
	assert_int_equal(c->proposals->n_group, 3);
	assert_int_equal(c->proposals->group[1], 31);
	assert_ptr_equal(c->policies->proposals[0], c->proposals);
	const struct cfg_keyring_peer *kp = c->keyrings->peers;
	assert_string_equal(kp->psk, "insync-example-key-0123456789abcdef");
	assert_int_equal(kp->addr, htonl(0xC0000202));
	const struct cfg_ike_profile *ip = c->ike_profiles;
	assert_int_equal(ip->match_remote.type, CFG_ID_ADDR);
	assert_int_equal(ip->match_remote.mask, 0xffffffffu);
	assert_int_equal(ip->local.addr, htonl(0xC0000201));
	assert_true(ip->auth_local_psk && ip->auth_remote_psk);
	assert_ptr_equal(ip->keyring, c->keyrings);
	assert_int_equal(ip->lifetime, 3600);
	assert_int_equal(ip->dpd_interval, 10);
	assert_int_equal(ip->dpd_retry, 2);
	assert_int_equal(ip->dpd_mode, CFG_DPD_ON_DEMAND);
	const struct cfg_ipsec_profile *x = c->ipsec_profiles;
	assert_ptr_equal(x->ike_profile, ip);
	assert_int_equal(x->lifetime_sec, 1800);
	assert_int_equal(x->pfs_group, 19);
	assert_true(c->invalid_spi_recovery);
	assert_true(c->has_keepalive);
	assert_int_equal(c->keepalive_sec, 60);
	assert_int_equal(c->keepalive_retry, 2);
	assert_int_equal(c->keepalive_mode, CFG_DPD_ON_DEMAND);
	assert_int_equal(c->sa_idle_time, 120);
	assert_int_equal(c->replay_window, 64);
	assert_int_equal(c->invalid_spi_log_interval, 60);
	const struct cfg_tunnel *t = config_tunnel_by_name(c, "Tunnel0");
	assert_non_null(t);
	assert_ptr_equal(config_tunnel_by_name(c, "tu0"), t);
	assert_null(config_tunnel_by_name(c, "Tunnel1"));
	assert_ptr_equal(config_tunnel_by_dst(c, htonl(0xC0000202)), t);
	assert_null(config_tunnel_by_dst(c, htonl(0xC0000203)));
	assert_int_equal(t->src, htonl(0xC0000201));
	assert_int_equal(c->routes->prefix, htonl(0x0A000200));
	assert_string_equal(c->routes->ifname, "Tunnel0");
	config_free(c);
}

static void test_example_manual_and_eem(void **state)
{
	(void)state;
	struct config *c = NULL;
	assert_int_equal(config_load_file("examples/manual-a.conf", &c, NULL), 0);
	const struct cfg_ipsec_profile *x = c->ipsec_profiles;
	assert_true(x->key_in.present && x->key_out.present);
	assert_int_equal(x->key_in.spi, 0xFF0000A1u);
	assert_int_equal(x->key_out.spi, 0xB1u);
	assert_int_equal(x->key_in.cipher_len, 36);
	assert_int_equal(x->key_in.cipher[0], 0xa2);
	assert_int_equal(x->key_in.auth_len, 0);
	config_free(c);

	assert_int_equal(config_load_file("examples/eem-hub.conf", &c, NULL), 0);
	assert_true(c->snmp_traps_eem && c->snmp_manager);
	assert_int_equal(c->snmp_manager_port, 162);
	assert_int_equal(c->snmp_hosts->version, 1);
	assert_true(c->snmp_hosts->traps_event_manager);
	assert_string_equal(c->snmp_hosts->community, "public");
	const struct cfg_applet *a = c->applets;
	assert_int_equal(a->event, EEM_EV_SYSLOG);
	assert_string_equal(a->pattern, "CRYPTO-4-RECVD_PKT_INV_SPI.*srcaddr=192.0.2.2");
	assert_int_equal(a->maxrun, 20);
	const char *order[] = { "1", "2", "3", "4", "5", "6", "7", "8", "8.1", "9" };
	const struct cfg_eem_action *ac = a->actions;
	for (size_t i = 0; i < 10; i++, ac = ac->next) {
		assert_non_null(ac);
		assert_string_equal(ac->label, order[i]);
	}
	assert_null(ac);
	ac = a->actions->next; /* 2: priority after msg */
	assert_int_equal(ac->kind, EEM_ACT_SYSLOG);
	assert_int_equal(ac->priority, 6);
	assert_string_equal(ac->text, "command_hub is running ...");
	for (ac = a->actions; strcmp(ac->label, "8.1") != 0; ac = ac->next)
		;
	assert_int_equal(ac->kind, EEM_ACT_SNMP_TRAP);
	assert_int_equal(ac->intdata1, 2323232);
	assert_string_equal(ac->text, "");
	for (ac = a->actions; strcmp(ac->label, "7") != 0; ac = ac->next)
		;
	assert_int_equal(ac->wait_sec, 18);
	config_free(c);

	assert_int_equal(config_load_file("examples/eem-spoke.conf", &c, NULL), 0);
	a = c->applets;
	assert_int_equal(a->event, EEM_EV_SNMP_NOTIF);
	assert_string_equal(a->oid, "1.3.6.1.4.1.9.10.91.1.2.3.1.9.");
	assert_string_equal(a->oid_val, "2323232");
	assert_int_equal(a->op, EEM_OP_EQ);
	assert_int_equal(a->src_ip, htonl(0xC0000201));
	assert_int_equal(a->maxrun, 35);
	assert_string_equal(a->actions->label, "1.0");
	assert_int_equal(a->actions->priority, -1);
	config_free(c);
}

/* parse -> print unmasked -> parse -> print: the two texts are identical. */
static void round_trip(const char *text)
{
	struct out err;
	out_init(&err);
	struct config *c1 = parse(text, &err);
	if (c1 == NULL)
		fprintf(stderr, "%s", err.buf);
	assert_non_null(c1);
	char *t1 = print_cfg(c1, 1);
	struct config *c2 = parse(t1, &err);
	if (c2 == NULL)
		fprintf(stderr, "reparse:\n%s\n%s", t1, err.buf);
	assert_non_null(c2);
	char *t2 = print_cfg(c2, 1);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	config_free(c1);
	config_free(c2);
	out_free(&err);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_round_trip_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[256];
		example_path(path, sizeof(path), examples[i]);
		round_trip(slurp(path));
	}
}

/* Everything the printer can emit at least once. */
static const char everything[] =
	"hostname r1\n"
	"logging buffered 8192 warnings\n"
	"logging trap errors\n"
	"logging host 192.0.2.9\n"
	"logging host 192.0.2.10 transport udp port 5514\n"
	"crypto ikev2 proposal CBC\n encryption aes-cbc-256 aes-cbc-128\n integrity sha512 sha256\n group 20 14\n"
	"crypto ikev2 proposal GCM\n encryption aes-gcm-128\n prf sha384\n group 31\n"
	"crypto ikev2 policy POL\n match fvrf any\n proposal GCM\n proposal CBC\n"
	"crypto ikev2 keyring K\n peer a\n  address 192.0.2.0 255.255.255.0\n  pre-shared-key 0 \"two words\"\n"
	" peer b\n  identity fqdn b.example\n  pre-shared-key local same\n  pre-shared-key remote same\n"
	" peer c\n  address 198.51.100.7\n  identity key-id kid7\n  pre-shared-key !bang\n"
	"crypto ikev2 profile P1\n match identity remote fqdn b.example\n identity local key-id me\n"
	" authentication local pre-share\n authentication remote pre-share\n keyring local K\n dpd 30 5 periodic\n"
	"crypto ikev2 profile P2\n match identity remote address 198.51.100.0 255.255.255.0\n identity local fqdn me.example\n"
	" authentication local pre-share\n authentication remote pre-share\n keyring local K\n lifetime 120\n"
	"crypto ipsec transform-set T1 esp-aes 256 esp-sha384-hmac\n mode tunnel\n"
	"crypto ipsec transform-set T2 esp-sha512-hmac esp-aes\n"
	"crypto ipsec transform-set T3 esp-gcm\n"
	"crypto ipsec profile X1\n set transform-set T1\n set ikev2-profile P1\n"
	" set security-association lifetime seconds 86400\n set security-association lifetime kilobytes 2560\n"
	" set security-association idle-time 60\n set pfs group31\n set udp-encapsulation\n"
	"crypto ipsec profile X2\n"
	" set session-key inbound esp 4096 cipher 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	" authenticator 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f\n"
	" set transform-set T1\n"
	"crypto ipsec profile X3\n set transform-set T3\n"
	" set session-key outbound esp 0x100 cipher 000102030405060708090a0b0c0d0e0f10111213\n"
	"crypto isakmp invalid-spi-recovery\n"
	"crypto isakmp keepalive 10 60 periodic\n"
	"crypto ikev2 nat keepalive 20\n"
	"crypto ikev2 cookie-challenge 1000\n"
	"crypto ikev2 limit max-sa 5000\n"
	"crypto ikev2 limit max-in-negotiation-sa 100\n"
	"crypto ipsec security-association lifetime seconds 7200\n"
	"crypto ipsec security-association lifetime kilobytes 4294967295\n"
	"crypto ipsec security-association idle-time 86400\n"
	"crypto ipsec security-association replay window-size 4096\n"
	"crypto ipsec invalid-spi log-interval 1\n"
	"interface Tunnel7\n description Link to  site B \"quoted\"\n ip address 10.9.0.1 255.255.255.254\n"
	" tunnel source eth0\n tunnel destination 203.0.113.5\n tunnel mode ipsec ipv4\n"
	" tunnel protection ipsec profile X1\n shutdown\n"
	"interface tunnel8\n tunnel source 203.0.113.1\n"
	"ip route 0.0.0.0 0.0.0.0 203.0.113.254\n"
	"ip route 10.8.0.0 255.255.0.0 Tu7\n"
	"snmp-server enable traps event-manager\n"
	"snmp-server host 192.0.2.20 version 2c private\n"
	"snmp-server manager port 1162\n"
	"metrics listen 127.0.0.1 9100\n"
	"event manager applet T\n event timer watchdog time 30 maxrun 100\n action 1 wait 1\n"
	"event manager applet C\n event timer countdown time 5\n action 1 cli command \"show version\"\n"
	"event manager applet N\n event none\n action 1 snmp-trap intdata1 -5 intdata2 7 strdata \"x y\"\n"
	"event manager applet S\n event syslog occurs 3 pattern \"a b\" period 60 maxrun 5\n"
	" action 1 syslog msg \"m\" priority critical\n"
	"event manager applet O\n event snmp-notification op ge oid 1.3.6.1 oid-val \"5\"\n"
	" action 1 syslog msg \"hello\"\n"
	"end\n";

static void test_round_trip_everything(void **state)
{
	(void)state;
	round_trip(everything);
}

static void test_print_everything(void **state)
{
	(void)state;
	struct out err;
	out_init(&err);
	struct config *c = parse(everything, &err);
	assert_non_null(c);
	char *t = print_cfg(c, 1);
	const char *want[] = {
		"logging buffered 8192 warnings\n",
		"logging host 192.0.2.10 transport udp port 5514\n",
		" prf sha512 sha256\n", /* aes-cbc: prf defaults to the integrity list */
		"  pre-shared-key \"two words\"\n",
		"  identity key-id kid7\n",
		"crypto ipsec transform-set T2 esp-aes 128 esp-sha512-hmac\n",
		"crypto ipsec transform-set T3 esp-gcm 128\n",
		" set session-key outbound esp 0x00000100 cipher 000102030405060708090a0b0c0d0e0f10111213\n",
		"crypto isakmp keepalive 10 60 periodic\n",
		"crypto ikev2 nat keepalive 20\n",
		"crypto ikev2 cookie-challenge 1000\n",
		"crypto ikev2 limit max-sa 5000\n",
		"crypto ikev2 limit max-in-negotiation-sa 100 incoming\n",
		"crypto ikev2 limit max-in-negotiation-sa 100 outgoing\n",
		" description Link to  site B \"quoted\"\n",
		"interface Tunnel8\n",
		"ip route 10.8.0.0 255.255.0.0 Tunnel7\n",
		"snmp-server host 192.0.2.20 version 2c private\n",
		" event syslog pattern \"a b\" occurs 3 period 60 maxrun 5\n",
		" action 1 syslog priority critical msg \"m\"\n",
		" event snmp-notification oid 1.3.6.1 oid-val \"5\" op ge\n",
		" action 1 snmp-trap intdata1 -5 intdata2 7 strdata \"x y\"\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(t, want[i]) == NULL)
			fprintf(stderr, "missing: %s\n--- got:\n%s", want[i], t);
		assert_non_null(strstr(t, want[i]));
	}
	free(t);
	config_free(c);
	out_free(&err);
}

/* FILE printed masked holds masked and not secret; unmasked, it holds clear. */
static void expect_masked(const char *file, const char *secret, const char *masked, const char *clear)
{
	struct config *c = NULL;
	char *t;
	assert_int_equal(config_load_file(file, &c, NULL), 0);
	t = print_cfg(c, 0);
	assert_null(strstr(t, secret));
	assert_non_null(strstr(t, masked));
	free(t);
	t = print_cfg(c, 1);
	assert_non_null(strstr(t, clear));
	free(t);
	config_free(c);
}

static void test_masked(void **state)
{
	(void)state;
	expect_masked("examples/manual-a.conf", "a20cc6a5", " set session-key inbound esp 0xFF0000A1 cipher *****\n",
		      "cipher a20cc6a5");
	expect_masked("examples/site-a.conf", "insync-example-key", "  pre-shared-key *****\n",
		      "insync-example-key-0123456789abcdef");
	expect_masked("examples/eem-hub.conf", " public ", "snmp-server host 192.0.2.2 ***** event-manager\n",
		      "snmp-server host 192.0.2.2 public event-manager\n");
}

/* ---- "no" forms ---- */

static void expect_print(const char *text, const char *want)
{
	struct out err;
	out_init(&err);
	struct config *c = parse(text, &err);
	if (c == NULL)
		fprintf(stderr, "%s", err.buf);
	assert_non_null(c);
	char *t = print_cfg(c, 1);
	assert_string_equal(t, want);
	free(t);
	config_free(c);
	out_free(&err);
}

/* The parser refuses what the running daemon could not hold: a reload must
 * not report success and then drop part of the config. */
static void test_runtime_limits(void **state)
{
	struct out err, t;
	struct config *c;
	(void)state;
	out_init(&err);
	out_init(&t);
	for (int i = 1; i <= 33; i++)
		out_printf(&t, "snmp-server host 192.0.2.%d public\n", i);
	assert_null(parse(t.buf, &err));
	assert_string_equal(err.buf, "t.conf:33:18: too many snmp-server hosts (more than 32)\n");
	out_reset(&t);
	for (int i = 1; i <= 32; i++)
		out_printf(&t, "snmp-server host 192.0.2.%d public\n", i);
	assert_non_null(c = parse(t.buf, &err));
	config_free(c);
	out_reset(&t);
	out_printf(&t, "event manager applet A\n event none\n");
	for (int i = 1; i <= 1001; i++)
		out_printf(&t, " action %d syslog msg \"m\"\n", i);
	assert_null(parse(t.buf, &err));
	assert_string_equal(err.buf, "t.conf:1003:9: too many actions in one applet (more than 1000)\n");
	out_free(&t);
	out_free(&err);
}

static void test_no_forms_global(void **state)
{
	(void)state;
	expect_print("hostname a\nno hostname\n"
		     "logging buffered 8192\nno logging buffered\n"
		     "logging trap 3\nno logging trap\n"
		     "logging host 192.0.2.9\nlogging host 192.0.2.8\nno logging host 192.0.2.9\n"
		     "crypto isakmp invalid-spi-recovery\nno crypto isakmp invalid-spi-recovery\n"
		     "crypto isakmp keepalive 30\nno crypto isakmp keepalive\n"
		     "crypto ikev2 nat keepalive 20\nno crypto ikev2 nat keepalive\n"
		     "crypto ikev2 cookie-challenge 5\nno crypto ikev2 cookie-challenge\n"
		     "crypto ikev2 cookie-challenge 64\n"
		     "crypto ikev2 limit max-sa 10\nno crypto ikev2 limit max-sa 10\n"
		     "crypto ikev2 limit max-sa 20\nno crypto ikev2 limit max-sa\n"
		     "crypto ikev2 limit max-in-negotiation-sa 5\n"
		     "no crypto ikev2 limit max-in-negotiation-sa incoming\n"
		     "no crypto ikev2 limit max-in-negotiation-sa 5 outgoing\n"
		     "crypto ipsec security-association idle-time 300\n"
		     "no crypto ipsec security-association idle-time\n"
		     "crypto ipsec security-association lifetime seconds 300\n"
		     "no crypto ipsec security-association lifetime seconds\n"
		     "crypto ipsec security-association replay window-size 128\n"
		     "no crypto ipsec security-association replay window-size\n"
		     "crypto ipsec invalid-spi log-interval 5\nno crypto ipsec invalid-spi log-interval\n"
		     "snmp-server enable traps event-manager\nno snmp-server enable traps event-manager\n"
		     "snmp-server host 192.0.2.1 public\nno snmp-server host 192.0.2.1\n"
		     "snmp-server manager\nno snmp-server manager\n"
		     "metrics listen 127.0.0.1 9100\nno metrics listen\n"
		     "interface Tunnel1\n"
		     "ip route 10.1.0.0 255.255.0.0 Tunnel1\nip route 10.2.0.0 255.255.0.0 192.0.2.1\n"
		     "no ip route 10.1.0.0 255.255.0.0 Tunnel1\nno ip route 10.2.0.0 255.255.0.0\n"
		     "no interface Tunnel1\n"
		     "event manager applet A\n event none\nno event manager applet A\n",
		     "logging host 192.0.2.8\n!\nend\n");
}

static void test_no_forms_submodes(void **state)
{
	(void)state;
	expect_print("crypto ikev2 proposal P\n encryption aes-gcm-256 aes-gcm-128\n"
		     " no encryption aes-gcm-128\n prf sha256 sha384\n no prf\n prf sha512\n group 19\n"
		     "crypto ikev2 keyring K\n peer a\n  address 192.0.2.1\n  identity fqdn x\n"
		     "  no identity\n  pre-shared-key k\n peer b\n  address 192.0.2.2\n  pre-shared-key k\n"
		     " no peer b\n"
		     "crypto ikev2 profile PR\n authentication local pre-share\n authentication remote pre-share\n"
		     " keyring local K\n lifetime 600\n no lifetime\n dpd 10 2 periodic\n no dpd\n"
		     " identity local fqdn me\n no identity local\n"
		     " match identity remote address 192.0.2.1\n no match identity remote\n"
		     " match identity remote key-id k9\n",
		     "crypto ikev2 proposal P\n encryption aes-gcm-256\n prf sha512\n group 19\n!\n"
		     "crypto ikev2 keyring K\n peer a\n  address 192.0.2.1\n  pre-shared-key k\n !\n!\n"
		     "crypto ikev2 profile PR\n match identity remote key-id k9\n"
		     " authentication remote pre-share\n authentication local pre-share\n"
		     " keyring local K\n!\nend\n");
}

static void test_no_forms_submodes2(void **state)
{
	(void)state;
	expect_print("crypto ipsec transform-set TS esp-gcm 256\n no mode\n"
		     "crypto ipsec profile X\n set transform-set TS\n set pfs group14\n no set pfs\n"
		     " set udp-encapsulation\n no set udp-encapsulation\n"
		     " set security-association idle-time 100\n no set security-association idle-time\n"
		     " set session-key inbound esp 300 cipher 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223\n"
		     " no set session-key inbound\n"
		     "interface Tunnel0\n description hello\n no description\n shutdown\n no shutdown\n"
		     " ip address 10.0.0.1 255.255.255.0\n no ip address\n tunnel destination 192.0.2.2\n"
		     " no tunnel destination\n tunnel mode ipsec ipv4\n no tunnel mode ipsec ipv4\n"
		     " tunnel protection ipsec profile X\n no tunnel protection ipsec profile\n"
		     "event manager applet A\n event none\n action 2 wait 2\n action 1 wait 1\n no action 2\n"
		     "end\n",
		     "crypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n!\n"
		     "crypto ipsec profile X\n set transform-set TS\n!\n"
		     "interface Tunnel0\n!\n"
		     "event manager applet A\n event none\n action 1 wait 1\n!\nend\n");
}

/* ---- ordering, exit/end, lookups ---- */

static void test_action_order(void **state)
{
	(void)state;
	expect_print("event manager applet A\n event none\n action 10 wait 1\n action 2 wait 1\n"
		     " action 1.0 wait 1\n action 8.1 wait 1\n action 1 wait 1\n action 8.10 wait 1\n"
		     " action 8.2 wait 1\n action 01 wait 1\n",
		     "event manager applet A\n event none\n action 01 wait 1\n action 1 wait 1\n"
		     " action 1.0 wait 1\n action 2 wait 1\n action 8.1 wait 1\n action 8.2 wait 1\n"
		     " action 8.10 wait 1\n action 10 wait 1\n!\nend\n");
}

static void test_exit_end_comments(void **state)
{
	(void)state;
	expect_print("! comment\r\n\r\nhostname a\r\n"
		     "crypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n exit\n"
		     "crypto ikev2 keyring K\n peer a\n  address 192.0.2.1\n  pre-shared-key k\n  exit\n"
		     " peer b\n\t\taddress 192.0.2.2\n  ! indented comment\n  pre-shared-key k\n"
		     "end\n! trailing comment\n\n",
		     "hostname a\n!\ncrypto ikev2 keyring K\n peer a\n  address 192.0.2.1\n"
		     "  pre-shared-key k\n !\n peer b\n  address 192.0.2.2\n  pre-shared-key k\n !\n!\n"
		     "crypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n!\nend\n");
}

static void test_keyring_lookup(void **state)
{
	(void)state;
	struct out err;
	out_init(&err);
	struct config *c = parse("crypto ikev2 keyring K\n"
				 " peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key k0\n"
				 " peer net\n  address 192.0.2.0 255.255.255.0\n  pre-shared-key k1\n"
				 " peer host\n  address 192.0.2.7\n  pre-shared-key k2\n",
				 &err);
	assert_non_null(c);
	assert_string_equal(config_keyring_lookup(c->keyrings, htonl(0xC0000207))->psk, "k2");
	assert_string_equal(config_keyring_lookup(c->keyrings, htonl(0xC0000208))->psk, "k1");
	assert_string_equal(config_keyring_lookup(c->keyrings, htonl(0x0A000001))->psk, "k0");
	assert_null(config_keyring_lookup(NULL, 0));
	config_free(c);
	config_free(NULL);
	out_free(&err);
}

static void test_util(void **state)
{
	(void)state;
	uint32_t a;
	char b[CFG_IP_STRLEN];
	assert_int_equal(cfg_ip_parse("10.0.0.1", &a), 0);
	assert_string_equal(cfg_ip_str(a, b), "10.0.0.1");
	assert_int_equal(cfg_ip_parse("010.0.0.1", &a), -1);
	assert_int_equal(cfg_ip_parse("1.2.3", &a), -1);
	assert_int_equal(cfg_ip_parse("1.2.3.4.", &a), -1);
	assert_int_equal(cfg_ip_parse("1.2.3.256", &a), -1);
	assert_true(cfg_mask_valid(htonl(0xFFFFFF00)));
	assert_true(cfg_mask_valid(0));
	assert_false(cfg_mask_valid(htonl(0xFF00FF00)));
	assert_int_equal(cfg_mask_len(htonl(0xFFFFFFFC)), 30);
	assert_int_equal(cfg_level_parse("debugging"), 7);
	assert_int_equal(cfg_level_parse("inf"), 6);
	assert_int_equal(cfg_level_parse("3"), 3);
	assert_int_equal(cfg_level_parse("e"), -1); /* emergencies or errors */
	assert_int_equal(cfg_esp_cipher_keylen(CFG_ESP_GCM_128), 20);
	assert_int_equal(cfg_esp_auth_keylen(CFG_ESP_SHA384), 48);
}

/* ---- malformed configs: exact error lines ---- */

struct bad {
	const char *text;
	const char *err;
};

static const struct bad bad_cases[] = {
	{ "hostnme r1\n",
	  "t.conf:1:1: % Invalid input \"hostnme\": expected one of: crypto, event, hostname, interface, ip, logging, metrics, no, snmp-server" },
	{ "hostname\n",
	  "t.conf:1:10: % Incomplete command: expected hostname" },
	{ "hostname bad$name\n",
	  "t.conf:1:10: % Invalid input \"bad$name\": expected hostname (1-63 letters, digits, '-', '_', '.')" },
	{ "logging buffered 100\n",
	  "t.conf:1:18: % Invalid input \"100\": expected buffer size (4096-2147483647)" },
	{ "logging buffered 4096 loud\n",
	  "t.conf:1:23: % Invalid input \"loud\": expected a level (0-7 or emergencies, alerts, critical, errors, warnings, notifications, informational, debugging)" },
	{ "logging host 300.1.1.1\n",
	  "t.conf:1:14: % Invalid input \"300.1.1.1\": expected log host address (A.B.C.D)" },
	{ "logging host 192.0.2.9 transport udp port 70000\n",
	  "t.conf:1:43: % Invalid input \"70000\": expected UDP port (1-65535)" },
	{ "no logging host 192.0.2.9\n",
	  "t.conf:1:17: logging host 192.0.2.9 is not configured" },
	{ "crypto ikev2 proposal P\n" " encryption aes-gcm-512\n",
	  "t.conf:2:13: % Invalid input \"aes-gcm-512\": expected one of: aes-cbc-128, aes-cbc-256, aes-gcm-128, aes-gcm-256" },
	{ "crypto ikev2 proposal P\n" " encryption aes-gcm-256\n" " prf sha256\n" " group 2\n",
	  "t.conf:4:8: % Invalid input \"2\": expected one of: 14, 19, 20, 31" },
	{ "crypto ikev2 proposal P\n" " encryption aes-gcm-256\n" " group 19\n",
	  "t.conf:1:23: crypto ikev2 proposal P is incomplete: expected prf" },
	{ "crypto ikev2 proposal P\n" " encryption aes-cbc-256\n" " prf sha256\n" " group 19\n",
	  "t.conf:1:23: crypto ikev2 proposal P is incomplete: expected integrity with aes-cbc" },
	{ "crypto ikev2 policy POL\n" " proposal NOPE\n",
	  "t.conf:2:11: crypto ikev2 proposal NOPE is not defined" },
	{ "crypto ikev2 keyring K\n" " peer a\n" "  address 192.0.2.1\n",
	  "t.conf:2:7: peer a is incomplete: expected pre-shared-key" },
	{ "crypto ikev2 keyring K\n" " peer a\n" "  address 192.0.2.1\n" "  pre-shared-key 6 abc\n",
	  "t.conf:4:18: % Invalid input \"6\": only key type 0 (unencrypted) is supported" },
	{ "crypto ikev2 keyring K\n" " peer a\n" "  address 192.0.2.1\n" "  pre-shared-key local aaa\n" "  pre-shared-key remote bbb\n",
	  "t.conf:5:25: pre-shared-key remote differs from the local key: asymmetric keys are not supported" },
	{ "crypto ikev2 profile PR\n" " keyring local NOPE\n",
	  "t.conf:2:16: crypto ikev2 keyring NOPE is not defined" },
	{ "crypto ikev2 profile PR\n" " lifetime 60\n",
	  "t.conf:2:11: % Invalid input \"60\": expected lifetime seconds (120-86400)" },
	{ "crypto ikev2 profile PR\n" " dpd 10 2 sometimes\n",
	  "t.conf:2:11: % Invalid input \"sometimes\": expected one of: on-demand, periodic" },
	{ "crypto ipsec transform-set TS esp-aes 256\n",
	  "t.conf:1:43: % Incomplete command: esp-aes needs one of: esp-sha256-hmac, esp-sha384-hmac, esp-sha512-hmac" },
	{ "crypto ipsec transform-set TS esp-gcm 256 esp-sha256-hmac\n",
	  "t.conf:1:31: esp-gcm cannot be combined with an integrity transform" },
	{ "crypto ipsec transform-set TS esp-gcm 192\n",
	  "t.conf:1:39: % Invalid input \"192\": expected one of: 128, 256" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" " mode transport\n",
	  "t.conf:3:7: % Invalid input \"transport\": only mode tunnel is supported" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec transform-set TS esp-gcm 128\n",
	  "t.conf:3:28: crypto ipsec transform-set TS is already defined" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TX\n",
	  "t.conf:4:20: crypto ipsec transform-set TX is not defined" },
	{ "crypto ipsec profile P\n" " set pfs group19\n",
	  "t.conf:1:22: crypto ipsec profile P is incomplete: expected set transform-set" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TS\n" " set session-key inbound esp 0x1000 cipher 0011\n",
	  "t.conf:5:26: session key cipher is 2 bytes: transform-set TS (esp-gcm 256) needs 36 (key and 4-byte salt)" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TS\n" " set session-key inbound esp 0 cipher 00\n",
	  "t.conf:5:30: % Invalid input \"0\": expected SPI (0x1-0xFFFFFFFF)" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TS\n" " set session-key outbound esp 0x1000 cipher 0g\n",
	  "t.conf:5:45: % Invalid input: expected cipher key as an even number of hex digits (at most 128 bytes)" },
	{ "crypto ipsec transform-set T2 esp-aes 128 esp-sha256-hmac\n" "crypto ipsec profile P\n" " set transform-set T2\n" " set session-key inbound esp 4096 cipher 00112233445566778899aabbccddeeff authenticator 0011\n",
	  "t.conf:4:26: session key authenticator is 2 bytes: transform-set T2 (esp-sha256-hmac) needs 32" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TS\n" " set security-association lifetime seconds 100000\n",
	  "t.conf:5:44: % Invalid input \"100000\": expected seconds (120-86400)" },
	{ "crypto ikev2 nat keepalive 4\n",
	  "t.conf:1:28: % Invalid input \"4\": expected keepalive seconds (5-3600)" },
	{ "crypto ikev2 nat keepalive\n",
	  "t.conf:1:28: % Incomplete command: expected keepalive seconds" },
	/* A key split by a space: the rest of it must not reach the error line (syslog). */
	{ "crypto ikev2 keyring K\n peer a\n  address 192.0.2.1\n  pre-shared-key Sup3r s3cretPart\n",
	  "t.conf:4:24: % Invalid input after the key (not shown): expected end of line" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " mode tunnel\n" "crypto ipsec profile P\n" " set transform-set TS\n"
	  " set session-key outbound esp 0x1000 cipher 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 20212223\n",
	  "t.conf:5:110: % Invalid input after the key (not shown): expected end of line" },
	{ "crypto ikev2 cookie-challenge 0\n",
	  "t.conf:1:31: % Invalid input \"0\": expected half-open SAs (1-1000)" },
	{ "crypto ikev2 cookie-challenge 1001\n",
	  "t.conf:1:31: % Invalid input \"1001\": expected half-open SAs (1-1000)" },
	{ "crypto ikev2 cookie-challenge\n",
	  "t.conf:1:31: % Incomplete command: expected half-open SAs" },
	{ "crypto ikev2 cookie-challenge 10 20\n",
	  "t.conf:1:34: % Invalid input \"20\": expected end of line" },
	{ "crypto ikev2 limit max-sa 0\n",
	  "t.conf:1:27: % Invalid input \"0\": expected number of SAs (1-1000000)" },
	{ "crypto ikev2 limit max-in-negotiation-sa 8193\n",
	  "t.conf:1:42: % Invalid input \"8193\": expected number of SAs (1-8192)" },
	{ "crypto ikev2 limit max-in-negotiation-sa 5 sideways\n",
	  "t.conf:1:44: % Invalid input \"sideways\": expected one of: incoming, outgoing" },
	{ "crypto ikev2 limit max-sa 5 incoming\n",
	  "t.conf:1:29: % Invalid input \"incoming\": expected end of line" },
	{ "crypto ikev2 limit\n",
	  "t.conf:1:20: % Incomplete command: expected one of: max-sa, max-in-negotiation-sa" },
	{ "crypto ikev2 limit max-sa\n",
	  "t.conf:1:27: % Incomplete command: expected number of SAs" },
	{ "crypto isakmp keepalive 5\n",
	  "t.conf:1:25: % Invalid input \"5\": expected keepalive seconds (10-3600)" },
	{ "crypto isakmp keepalive 60 2 sometimes\n",
	  "t.conf:1:30: % Invalid input \"sometimes\": expected one of: on-demand, periodic" },
	{ "crypto ipsec security-association replay window-size 100\n",
	  "t.conf:1:54: % Invalid input \"100\": window size must be a multiple of 64" },
	{ "crypto ipsec invalid-spi log-interval 0\n",
	  "t.conf:1:39: % Invalid input \"0\": expected log interval seconds (1-86400)" },
	{ "interface Ethernet0\n",
	  "t.conf:1:11: % Invalid input \"Ethernet0\": expected TunnelN (N 0-65535)" },
	{ "interface Tunnel0\n" " tunnel destination 192.0.2.300\n",
	  "t.conf:2:21: % Invalid input \"192.0.2.300\": expected destination address (A.B.C.D)" },
	{ "interface Tunnel0\n" " tunnel protection ipsec profile NOPE\n",
	  "t.conf:2:34: crypto ipsec profile NOPE is not defined" },
	{ "interface Tunnel0\n" " ip address 10.0.0.1 255.0.255.0\n",
	  "t.conf:2:22: % Invalid input \"255.0.255.0\": mask is not contiguous" },
	{ "interface Tunnel0\n" "interface Tunnel0\n",
	  "t.conf:2:11: interface Tunnel0 is already defined" },
	{ "interface Tunnel0\n" " tunnel destination 192.0.2.2\n" "interface Tunnel1\n" " tunnel destination 192.0.2.2\n",
	  "t.conf:4:21: tunnel destination 192.0.2.2 is already used by Tunnel0" },
	{ "ip route 10.0.0.0 255.255.255.0 Tunnel9\n",
	  "t.conf:1:33: interface Tunnel9 is not defined" },
	{ "ip route 10.0.0.1 255.255.255.0 192.0.2.1\n",
	  "t.conf:1:10: % Inconsistent address and mask" },
	{ "ip route 10.0.0.0 255.255.255.0 192.0.2.1\n" "ip route 10.0.0.0 255.255.255.0 192.0.2.1\n",
	  "t.conf:2:33: duplicate ip route" },
	{ "no ip route 10.0.0.0 255.255.255.0\n",
	  "t.conf:1:13: no such ip route" },
	{ "snmp-server host 192.0.2.1 version 3 public\n",
	  "t.conf:1:36: % Invalid input \"3\": expected one of: 1, 2c" },
	{ "metrics listen 127.0.0.1\n",
	  "t.conf:1:26: % Incomplete command: expected TCP port" },
	{ "event manager applet A\n" " event syslog pattern \"(unclosed\"\n",
	  "t.conf:2:23: % Invalid regular expression: Unmatched ( or \\(" },
	{ "event manager applet A\n" " event snmp-notification oid 1.3.x oid-val \"1\" op eq\n",
	  "t.conf:2:30: % Invalid input \"1.3.x\": expected an OID (dotted decimal, trailing '.' for a prefix)" },
	{ "event manager applet A\n" " event none\n" " action 1 wait 5\n" " action 1 wait 6\n",
	  "t.conf:4:9: action label 1 is already used in applet A" },
	{ "event manager applet A\n" " action 1 wait 5\n",
	  "t.conf:1:22: event manager applet A is incomplete: expected event" },
	{ "event manager applet A\n" " event none\n" " action 1..2 wait 5\n",
	  "t.conf:3:9: % Invalid input \"1..2\": expected an action label (like 1, 8.1 or 1.0)" },
	{ "event manager applet A\n" " event none\n" " action 1 syslog priority informational\n",
	  "t.conf:3:41: % Incomplete command: expected msg" },
	{ "event manager applet A\n" " event none\n" " action 1 cli command \"unterminated\n",
	  "t.conf:3:23: unterminated quoted string" },
	{ " hostname x\n",
	  "t.conf:1:2: indented line outside a sub-mode" },
	{ "hostname a\n" "exit\n",
	  "t.conf:2:1: % Invalid input \"exit\": no sub-mode to leave" },
	{ "hostname a\n" "end\n" "hostname b\n",
	  "t.conf:3:1: % Invalid input \"hostname\": text after \"end\"" },
	{ "hostname a\x01""\n",
	  "t.conf:1:11: invalid control character" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" "crypto ipsec profile P\n" " set transform-set TS\n" "interface Tunnel0\n" " tunnel protection ipsec profile P\n" "no crypto ipsec profile P\n",
	  "t.conf:6:25: crypto ipsec profile P is in use by Tunnel0" },
	{ "no crypto isakmp keepalive 60\n",
	  "t.conf:1:28: % Invalid input \"60\": expected end of line" },
	{ "crypto ikev2 proposal P\n" " encryption aes-gcm-256 aes-gcm-256\n",
	  "t.conf:2:25: encryption aes-gcm-256 is listed twice" },
	{ "hostname r1 extra\n",
	  "t.conf:1:13: % Invalid input \"extra\": expected end of line" },
	{ "crypto ipsec transform-set TS esp-gcm 256\n" " set transform-set TS\n",
	  "t.conf:2:2: % Invalid input \"set\": expected one of: mode, no" },
};

static void test_bad(void **state)
{
	const struct bad *b = *state;
	struct out err;
	out_init(&err);
	struct config *c = parse(b->text, &err);
	assert_null(c);
	char want[1024];
	snprintf(want, sizeof(want), "%s\n", b->err);
	assert_string_equal(err.buf, want);
	out_free(&err);
}

static void test_bad_count(void **state)
{
	(void)state;
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 30);
}

/* ---- hostile bytes ---- */

static void test_hostile(void **state)
{
	(void)state;
	struct out err;
	out_init(&err);
	struct config *c = NULL;
	/* a NUL inside a line */
	assert_int_equal(config_parse("t.conf", "hostname a\0b\n", 13, &c, &err), -1);
	assert_string_equal(err.buf, "t.conf:1:11: invalid control character\n");
	/* a line longer than the cap */
	size_t n = 10000;
	char *big = malloc(n + 1);
	memset(big, 'a', n);
	memcpy(big, "hostname ", 9);
	big[n] = '\0';
	out_reset(&err);
	assert_null(parse(big, &err));
	assert_string_equal(err.buf, "t.conf:1:4097: line too long (more than 4096 characters)\n");
	/* many words, deep indentation, lots of errors: bounded output */
	for (size_t i = 0; i < n; i++)
		big[i] = i % 2 ? ' ' : 'x';
	out_reset(&err);
	assert_null(parse(big, &err));
	for (size_t i = 0; i < n; i++)
		big[i] = i % 50 == 49 ? '\n' : ' ';
	big[n - 1] = 'x';
	out_reset(&err);
	assert_null(parse(big, &err));
	for (size_t i = 0; i < n; i++)
		big[i] = i % 4 == 3 ? '\n' : 'x';
	out_reset(&err);
	assert_null(parse(big, &err));
	assert_non_null(strstr(err.buf, "too many errors"));
	free(big);
	/* empty and NULL text are a valid, empty config */
	assert_int_equal(config_parse("t.conf", "", 0, &c, &err), 0);
	config_free(c);
	assert_int_equal(config_parse("t.conf", NULL, 0, &c, &err), 0);
	config_free(c);
	out_free(&err);
	/* a missing file */
	out_init(&err);
	assert_int_equal(config_load_file("/nonexistent/x.conf", &c, &err), -1);
	assert_null(c);
	assert_non_null(strstr(err.buf, "/nonexistent/x.conf:0:0: cannot open"));
	out_free(&err);
}

/* A block opened with an error hides its lines; a good block keeps going. */
static void test_multiple_errors(void **state)
{
	(void)state;
	struct out err;
	out_init(&err);
	assert_null(parse("crypto ipsec profile P\n set transform-set NOPE\n set pfs group19\n"
			  "hostname ok\nhostname ba$d\ncrypto ikev2 proposal\n encryption x\n",
			  &err));
	assert_string_equal(err.buf,
			    "t.conf:2:20: crypto ipsec transform-set NOPE is not defined\n"
			    "t.conf:5:10: % Invalid input \"ba$d\": expected hostname (1-63 letters, digits, '-', '_', '.')\n"
			    "t.conf:6:23: % Incomplete command: expected name\n");
	out_free(&err);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_example_site_a_model),
		cmocka_unit_test(test_example_manual_and_eem),
		cmocka_unit_test(test_round_trip_examples),
		cmocka_unit_test(test_round_trip_everything),
		cmocka_unit_test(test_print_everything),
		cmocka_unit_test(test_masked),
		cmocka_unit_test(test_no_forms_global),
		cmocka_unit_test(test_no_forms_submodes),
		cmocka_unit_test(test_no_forms_submodes2),
		cmocka_unit_test(test_action_order),
		cmocka_unit_test(test_exit_end_comments),
		cmocka_unit_test(test_keyring_lookup),
		cmocka_unit_test(test_util),
		cmocka_unit_test(test_bad_count),
		cmocka_unit_test(test_runtime_limits),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_multiple_errors),
	};
	enum { NF = sizeof(fixed) / sizeof(fixed[0]), NB = sizeof(bad_cases) / sizeof(bad_cases[0]) };
	static struct CMUnitTest tests[NF + NB];
	static char names[NB][32];
	memcpy(tests, fixed, sizeof(fixed));
	for (int i = 0; i < NB; i++) {
		snprintf(names[i], sizeof(names[i]), "test_bad_%02d", i + 1);
		tests[NF + i] = (struct CMUnitTest){ names[i], test_bad, NULL, NULL,
						     (void *)&bad_cases[i] };
	}
	return _cmocka_run_group_tests("config", tests, NF + NB, NULL, NULL);
}
