/* The flight recorder: ring wrap, LRU reuse of rings, formatting of every
 * event, dumps to disk0: with their rate limit, file cap and log line, dumps
 * of peers without records, the exec commands, the payload lists of the IKE
 * messages the engine sends, and concurrent recording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ike/ike_int.h" /* white-box: xchg_build's record of what we send */
#include "ike/ike_msg.h"
#include "ops/exec.h"
#include "ops/flightrec.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "util/out.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static char logbuf[8192];

static void hook(int sev, const char *line, void *arg)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static int setup(void **s)
{
	flightrec_clear();
	flightrec_set_dump_interval(FR_DUMP_INTERVAL_MS);
	flightrec_set_enabled(1);
	logbuf[0] = '\0';
	return 0;
}

static char *dump(uint32_t peer, struct out *o)
{
	out_reset(o);
	flightrec_dump(peer, o);
	out_write(o, "", 1);
	return o->buf;
}

static void test_wrap(void **s)
{
	uint32_t p = ip("192.0.2.2");
	struct out o;
	out_init(&o);
	assert_int_equal(flightrec_count(p), 0);
	for (unsigned i = 0; i < 300; i++)
		flightrec_record(p, FR_INVALID_SPI, 0x1000 + i, i + 1, 0);
	assert_int_equal(flightrec_count(p), FR_RING_RECORDS);
	assert_int_equal(flightrec_peers(), 1);
	char *t = dump(p, &o);
	assert_non_null(strstr(t, "256 records shown, 300 recorded"));
	/* Oldest kept is #44 (300 - 256), newest #299. */
	assert_non_null(strstr(t, "#44 "));
	assert_null(strstr(t, "#43 "));
	assert_non_null(strstr(t, "spi=0x0000112b count=300"));
	assert_true(strstr(t, "#44 ") < strstr(t, "#299 "));
	/* peer 0 is not a peer; disabled recording records nothing. */
	flightrec_record(0, FR_DPD_SENT, 1, 1, 0);
	flightrec_set_enabled(0);
	flightrec_record(ip("192.0.2.3"), FR_DPD_SENT, 1, 1, 0);
	flightrec_set_enabled(1);
	assert_int_equal(flightrec_peers(), 1);
	t = dump(ip("198.51.100.9"), &o);
	assert_non_null(strstr(t, "198.51.100.9: no records"));
	out_free(&o);
}

static void test_format(void **s)
{
	uint32_t p = ip("203.0.113.7");
	struct out o;
	out_init(&o);
	flightrec_record(p, FR_IKE_SENT, 34, 0, FR_PLD_BIT(33) | FR_PLD_BIT(34) | FR_PLD_BIT(40) | FR_PLD_BIT(41));
	flightrec_record(p, FR_IKE_RECV, 35, 1, FR_PLD_BIT(46) | (1ull << 63));
	flightrec_record(p, FR_IKE_RETRANSMIT, 37, 5, 2);
	flightrec_record(p, FR_IKE_STATE, 2, 3, 0x1122334455667788ull);
	flightrec_record(p, FR_IKE_ERROR, 14, 1, 1);
	flightrec_record(p, FR_CHILD_INSTALL, 0xabcd, 0x1234, 1);
	flightrec_record(p, FR_CHILD_REMOVE, 0xabcd, 0x1234, FR_R_INVALID_SPI);
	flightrec_record(p, FR_REKEY_START, 0, 0xabcd, 0);
	flightrec_record(p, FR_REKEY_DONE, 1, 0x11, 0x22);
	flightrec_record(p, FR_REKEY_COLLISION, 0, 1, 0x99);
	flightrec_record(p, FR_DPD_SENT, 7, 1, 0);
	flightrec_record(p, FR_DPD_ACK, 7, 12, 0);
	flightrec_record(p, FR_DPD_DEAD, 5, 0, 0);
	flightrec_record(p, FR_INVALID_SPI_NOTIFY_SENT, 0xdeadbeef, 0, 0);
	flightrec_record(p, FR_INVALID_SPI_NOTIFY_RECV, 0xdeadbeef, 0, 0);
	flightrec_record(p, FR_DELETE_SENT, 3, 0xabcd, 1);
	flightrec_record(p, FR_DELETE_RECV, 1, 0x42, 1);
	flightrec_record(p, FR_INITIAL_CONTACT, 1, 0, 0);
	flightrec_record(p, FR_RECOVERY_START, FR_R_INVALID_SPI, 0xdeadbeef, 0);
	flightrec_record(p, FR_RECOVERY_DONE, 850, 1, 0);
	flightrec_record(p, FR_NOTE, 1, 2, 3);
	flightrec_record(p, (enum fr_event)999, 1, 2, 3);
	char *t = dump(p, &o);
	static const char *const want[] = {
		"IKE_SENT                IKE_SA_INIT request msgid=0 payloads=SA,KE,Nonce,N\n",
		"IKE_RECV                IKE_AUTH response msgid=1 payloads=SK\n",
		"IKE_RETRANSMIT          INFORMATIONAL msgid=5 attempt=2\n",
		"IKE_STATE               ESTABLISHED -> REKEYING spi_i=1122334455667788\n",
		"IKE_ERROR               notify=14 msgid=1 sent\n",
		"CHILD_INSTALL           spi_in=0x0000abcd spi_out=0x00001234 Tunnel1\n",
		"CHILD_REMOVE            spi_in=0x0000abcd spi_out=0x00001234 reason=invalid-spi\n",
		"REKEY_START             CHILD old_spi=0xabcd\n",
		"REKEY_DONE              IKE old_spi=0x11 new_spi=0x22\n",
		"REKEY_COLLISION         CHILD ours won spi=0x99\n",
		"DPD_SENT                msgid=7 attempt=1\n",
		"DPD_ACK                 msgid=7 rtt=12ms\n",
		"DPD_DEAD                after 5 attempts\n",
		"INVALID_SPI_NOTIFY_SENT spi=0xdeadbeef\n",
		"INVALID_SPI_NOTIFY_RECV spi=0xdeadbeef\n",
		"DELETE_SENT             ESP spi=0xabcd count=1\n",
		"DELETE_RECV             IKE spi=0x42 count=1\n",
		"INITIAL_CONTACT         sent\n",
		"RECOVERY_START          trigger=invalid-spi spi=0xdeadbeef\n",
		"RECOVERY_DONE           ok in 850ms\n",
		"NOTE                    a=0x1 b=0x2 c=0x3\n",
		"UNKNOWN                 a=0x1 b=0x2 c=0x3\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(t, want[i]) == NULL)
			fail_msg("missing %s in:\n%s", want[i], t);
	}
	assert_string_equal(flightrec_event_name(FR_DPD_DEAD), "DPD_DEAD");
	out_free(&o);
}

static void test_lru(void **s)
{
	/* Fill every ring, touch the first peer again, then a new peer reuses the
	 * ring of the least recently active one (the second). */
	for (uint32_t i = 1; i <= FR_MAX_PEERS; i++)
		flightrec_record(htonl(0x0a000000u + i), FR_DPD_SENT, i, 0, 0);
	assert_int_equal(flightrec_peers(), FR_MAX_PEERS);
	flightrec_record(htonl(0x0a000001u), FR_DPD_ACK, 1, 0, 0);
	flightrec_record(ip("192.0.2.200"), FR_DPD_SENT, 1, 0, 0);
	assert_int_equal(flightrec_peers(), FR_MAX_PEERS);
	assert_int_equal(flightrec_count(htonl(0x0a000001u)), 2);
	assert_int_equal(flightrec_count(htonl(0x0a000002u)), 0);
	assert_int_equal(flightrec_count(htonl(0x0a000003u)), 1);
	assert_int_equal(flightrec_count(ip("192.0.2.200")), 1);
	/* The reused ring does not keep the evicted peer's records. */
	struct out o;
	out_init(&o);
	char *t = dump(ip("192.0.2.200"), &o);
	assert_non_null(strstr(t, "1 records shown, 1 recorded"));
	t = dump(0, &o);
	char want[32];
	snprintf(want, sizeof(want), "%d peer(s)", FR_MAX_PEERS);
	assert_non_null(strstr(t, want));
	assert_non_null(strstr(t, "1 ring(s) reused"));
	out_free(&o);
}

static size_t count_dumps(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "flightrec-", 10) == 0;
	if (d)
		closedir(d);
	return n;
}

static void test_dump_file(void **s)
{
	char dir[] = "/tmp/insync-fr-XXXXXX", name[128], path[512];
	assert_non_null(mkdtemp(dir));
	exec_set_datadir(dir);
	log_add_hook(hook, NULL);
	uint32_t p = ip("192.0.2.2");
	flightrec_record(p, FR_INVALID_SPI, 0xdeadbeef, 10, 0);
	uint64_t before = metrics_get(MC_FLIGHTREC_DUMPS);
	assert_int_equal(flightrec_dump_file(p, "persistent invalid SPI", name, sizeof(name)), 0);
	assert_int_equal(metrics_get(MC_FLIGHTREC_DUMPS), before + 1);
	assert_int_equal(strncmp(name, "disk0:flightrec-192.0.2.2-", 26), 0);
	assert_non_null(strstr(logbuf, "%CRYPTO-5-FLIGHTREC_DUMP: flight recorder for peer 192.0.2.2 "
					"written to disk0:flightrec-192.0.2.2-"));
	assert_non_null(strstr(logbuf, "(reason: persistent invalid SPI)"));
	assert_non_null(strstr(logbuf, name));
	assert_int_equal(exec_resolve_file(name, path, sizeof(path)), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char body[4096];
	size_t n = fread(body, 1, sizeof(body) - 1, f);
	body[n] = '\0';
	fclose(f);
	assert_non_null(strstr(body, "reason: persistent invalid SPI"));
	assert_non_null(strstr(body, "spi=0xdeadbeef count=10"));

	/* Rate limit: a second dump for the same peer within the interval is
	 * suppressed; another peer and the all-peers dump are not. */
	assert_int_equal(flightrec_dump_file(p, "again", name, sizeof(name)), 1);
	flightrec_record(ip("192.0.2.3"), FR_DPD_DEAD, 5, 0, 0);
	assert_int_equal(flightrec_dump_file(ip("192.0.2.3"), "dead peer", name, sizeof(name)), 0);
	assert_int_equal(flightrec_dump_file(0, "all", name, sizeof(name)), 0);
	assert_int_equal(strncmp(name, "disk0:flightrec-all-", 20), 0);
	assert_int_equal(flightrec_dump_file(0, "all", name, sizeof(name)), 1);
	flightrec_set_dump_interval(0);
	assert_int_equal(flightrec_dump_file(p, "again", name, sizeof(name)), 0);

	/* File cap: old dumps are removed, other files are left alone. */
	for (int i = 0; i < FR_DUMP_FILES_MAX + 10; i++) {
		snprintf(path, sizeof(path), "%s/flightrec-10.0.0.%d-20000101-000000.txt", dir, i);
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/hub.txt", dir);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(flightrec_dump_file(p, "cap", name, sizeof(name)), 0);
	assert_int_equal(count_dumps(dir), FR_DUMP_FILES_MAX);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(exec_resolve_file(name, path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0); /* the newest survives */

	/* An unwritable data directory: error, no crash. */
	exec_set_datadir("/nonexistent-insync-fr");
	assert_int_equal(flightrec_dump_file(p, "x", name, sizeof(name)), -1);
	log_del_hook(hook, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Regression: a dump of a peer we never talked to wrote an empty file,
 * created a ring and counted; enough of them pushed real dumps out through
 * the file cap. Now nothing is written, created, logged or counted, and the
 * command fails with a % message. */
static void test_dump_unknown_peer(void **s)
{
	char dir[] = "/tmp/insync-fr-XXXXXX", name[128] = "", cmd[600];
	struct exec_ctx ctx = { 0 };
	struct out o;
	out_init(&o);
	assert_non_null(mkdtemp(dir));
	exec_set_datadir(dir);
	log_add_hook(hook, NULL);
	flightrec_register_commands();
	flightrec_set_dump_interval(0);
	uint32_t known = ip("192.0.2.2"), unknown = ip("203.0.113.50");
	flightrec_record(known, FR_DPD_DEAD, 3, 0, 0);
	assert_int_equal(flightrec_dump_file(known, "dead peer", name, sizeof(name)), 0);
	assert_int_equal(count_dumps(dir), 1);
	uint64_t before = metrics_get(MC_FLIGHTREC_DUMPS);
	logbuf[0] = '\0';

	assert_int_equal(flightrec_dump_file(unknown, "recovery", name, sizeof(name)), 2);
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "crypto flight-recorder dump peer 203.0.113.50", &o), 1);
	out_write(&o, "", 1);
	assert_string_equal(o.buf, "% No flight-recorder records for 203.0.113.50\n");
	/* More than the file cap: the genuine dump stays. */
	for (int i = 0; i < FR_DUMP_FILES_MAX + 1; i++) {
		snprintf(cmd, sizeof(cmd), "crypto flight-recorder dump peer 198.51.100.%d", i + 1);
		out_reset(&o);
		assert_int_equal(exec_run(&ctx, cmd, &o), 1);
	}
	assert_int_equal(count_dumps(dir), 1);
	char path[512];
	assert_int_equal(exec_resolve_file(name, path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(flightrec_peers(), 1);
	assert_int_equal(flightrec_count(unknown), 0);
	assert_int_equal(metrics_get(MC_FLIGHTREC_DUMPS), before);
	assert_null(strstr(logbuf, "FLIGHTREC_DUMP"));

	/* Showing an unknown peer creates no ring either. */
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "show crypto flight-recorder peer 203.0.113.50", &o), 0);
	out_write(&o, "", 1);
	assert_non_null(strstr(o.buf, "203.0.113.50: no records"));
	assert_int_equal(flightrec_peers(), 1);

	/* With every ring taken, a lookup must not reuse one either. */
	for (uint32_t i = 1; i < FR_MAX_PEERS; i++)
		flightrec_record(htonl(0x0a000000u + i), FR_DPD_SENT, i, 0, 0);
	assert_int_equal(flightrec_peers(), FR_MAX_PEERS);
	assert_int_equal(flightrec_dump_file(unknown, "x", name, sizeof(name)), 2);
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "show crypto flight-recorder peer 203.0.113.50", &o), 0);
	assert_int_equal(flightrec_count(known), 1);
	assert_int_equal(flightrec_count(htonl(0x0a000001u)), 1);
	char *t = dump(0, &o);
	assert_non_null(strstr(t, "0 ring(s) reused"));

	/* Once the peer has records, it dumps. */
	flightrec_record(unknown, FR_INVALID_SPI, 0x1234, 1, 0);
	assert_int_equal(flightrec_dump_file(unknown, "x", name, sizeof(name)), 0);
	assert_int_equal(metrics_get(MC_FLIGHTREC_DUMPS), before + 1);
	log_del_hook(hook, NULL);
	out_free(&o);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* What the engine puts on the wire, for the receive side of the test. */
static uint8_t sent[IKE_BUILD_MAX + 256];
static size_t sent_len;

static int capture(void *arg, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		   const uint8_t *p, size_t len)
{
	assert_true(len <= sizeof(sent));
	memcpy(sent, p, len);
	sent_len = len;
	return 0;
}

/* The payload list of the last IKE_SENT or IKE_RECV record: "SA,KE,Nonce,N". */
static void last_payloads(struct out *o, uint32_t peer, const char *ev, char *buf, size_t cap)
{
	char *t = dump(peer, o), *hit = NULL, *p;
	for (p = strstr(t, ev); p; p = strstr(p + 1, ev))
		hit = p;
	assert_non_null(hit);
	hit = strstr(hit, "payloads=");
	assert_non_null(hit);
	snprintf(buf, cap, "%.*s", (int)strcspn(hit + 9, "\n"), hit + 9);
}

/* Regression: sent messages were recorded with payloads=none. Each sent
 * message must list what it carries, as the receive side (xchg_log_msg, run
 * here on the very bytes sent) lists it: for an encrypted message the inner
 * payloads, not SK. */
static void test_sent_payloads(void **s)
{
	struct ike *ike = calloc(1, sizeof(*ike));
	struct ike_sa *sa = calloc(1, sizeof(*sa));
	struct ike_pb b;
	struct ike_msg m;
	struct ike_sk sk;
	struct out o;
	char got[128], want[128];
	uint8_t ke[32] = { 1 }, nonce[32] = { 2 }, natd[20] = { 3 };
	uint32_t spi = 0x1234;
	assert_non_null(ike);
	assert_non_null(sa);
	out_init(&o);
	ike->env.send = capture;
	sa->ike = ike;
	sa->initiator = 1;
	sa->peer = ip("192.0.2.2");
	sa->local = ip("192.0.2.1");
	sa->lport = sa->pport = 500;
	sa->spi_i = 0x1111222233334444ull;

	/* IKE_SA_INIT request: in clear. */
	pb_init(&b);
	pb_end(&b, pb_begin(&b, IKE_PLD_SA));
	ike_pld_ke_put(&b, 31, ke, sizeof(ke));
	ike_pld_nonce_put(&b, nonce, sizeof(nonce));
	ike_pld_n_put(&b, 0, NULL, 0, N_NAT_DETECTION_SOURCE_IP, natd, sizeof(natd));
	assert_int_equal(xchg_send_request(sa, IKE_SA_INIT, &b), 0);
	xchg_cancel(sa);
	char *t = dump(sa->peer, &o);
	assert_non_null(strstr(t, "IKE_SENT                "
				   "IKE_SA_INIT request msgid=0 payloads=SA,KE,Nonce,N\n"));
	assert_int_equal(ike_msg_parse(&m, sent, sent_len), 0);
	xchg_log_msg(sa, 0, &m, sa->peer, 500);
	ike_msg_clear(&m);
	last_payloads(&o, sa->peer, "IKE_SENT", want, sizeof(want));
	last_payloads(&o, sa->peer, "IKE_RECV", got, sizeof(got));
	assert_string_equal(got, want);

	/* INFORMATIONAL response: encrypted (AES-GCM-16 with a fixed key). */
	sa->spi_r = 0x5555666677778888ull;
	sa->k.aead = 1;
	sa->k.ek_len = 16;
	sa->k.salt_len = IKE_GCM_SALT_LEN;
	memset(sa->k.sk_ei, 0x42, sizeof(sa->k.sk_ei));
	memset(sa->k.sk_er, 0x43, sizeof(sa->k.sk_er));
	pb_init(&b);
	ike_pld_n_put(&b, IKE_PROTO_ESP, (const uint8_t *)&spi, 4, N_INVALID_SPI, NULL, 0);
	ike_pld_d_put(&b, IKE_PROTO_ESP, 4, &spi, 1);
	assert_int_equal(xchg_send_response(sa, INFORMATIONAL, 3, &b), 0);
	t = dump(sa->peer, &o);
	assert_non_null(strstr(t, "IKE_SENT                "
				   "INFORMATIONAL response msgid=3 payloads=N,D\n"));
	assert_int_equal(ike_msg_parse(&m, sent, sent_len), 0);
	keymat_sk(&sa->k, 1, &sk);
	assert_int_equal(ike_msg_decrypt(&m, &sk), 0);
	xchg_log_msg(sa, 0, &m, sa->peer, 500);
	ike_msg_clear(&m);
	last_payloads(&o, sa->peer, "IKE_SENT", want, sizeof(want));
	last_payloads(&o, sa->peer, "IKE_RECV", got, sizeof(got));
	assert_string_equal(got, want);

	/* An empty INFORMATIONAL (a liveness check) has nothing to list. */
	pb_init(&b);
	assert_int_equal(xchg_send_response(sa, INFORMATIONAL, 4, &b), 0);
	t = dump(sa->peer, &o);
	assert_non_null(strstr(t, "IKE_SENT                "
				   "INFORMATIONAL response msgid=4 payloads=none\n"));

	free(sa->resp);
	free(sa);
	free(ike);
	out_free(&o);
}

static void test_commands(void **s)
{
	struct out o;
	out_init(&o);
	struct exec_ctx ctx = { 0 };
	flightrec_register_commands();
	flightrec_record(ip("192.0.2.2"), FR_DPD_DEAD, 3, 0, 0);
	flightrec_record(ip("192.0.2.9"), FR_DPD_SENT, 3, 0, 0);
	assert_int_equal(exec_run(&ctx, "show crypto flight-recorder peer 192.0.2.2", &o), 0);
	out_write(&o, "", 1);
	assert_non_null(strstr(o.buf, "peer 192.0.2.2: 1 records shown"));
	assert_non_null(strstr(o.buf, "after 3 attempts"));
	assert_null(strstr(o.buf, "192.0.2.9"));
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "sh cry flight", &o), 0);
	out_write(&o, "", 1);
	assert_non_null(strstr(o.buf, "2 peer(s)"));
	assert_non_null(strstr(o.buf, "192.0.2.9"));
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "clear crypto flight-recorder", &o), 0);
	assert_int_equal(flightrec_peers(), 0);
	out_free(&o);
}

#define THREADS 4
#define PER_THREAD 20000

static void *writer(void *arg)
{
	uint32_t base = (uint32_t)(uintptr_t)arg;
	for (unsigned i = 0; i < PER_THREAD; i++)
		flightrec_record(htonl(0xc0000200u + (i % 8)), FR_INVALID_SPI, base, i, 0);
	return NULL;
}

static void test_threads(void **s)
{
	pthread_t t[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	struct out o;
	out_init(&o);
	char want[64];
	snprintf(want, sizeof(want), "%u recorded", THREADS * PER_THREAD / 8);
	for (uint32_t k = 0; k < 8; k++) {
		char *x = dump(htonl(0xc0000200u + k), &o);
		assert_non_null(strstr(x, want));
	}
	assert_int_equal(flightrec_peers(), 8);
	out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_wrap, setup),
		cmocka_unit_test_setup(test_format, setup),
		cmocka_unit_test_setup(test_lru, setup),
		cmocka_unit_test_setup(test_dump_file, setup),
		cmocka_unit_test_setup(test_dump_unknown_peer, setup),
		cmocka_unit_test_setup(test_sent_payloads, setup),
		cmocka_unit_test_setup(test_commands, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
