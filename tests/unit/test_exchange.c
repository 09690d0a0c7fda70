/* In-process two-peer IKEv2 exchange tests: two engines (A = 192.0.2.1 with
 * examples/site-a.conf, B = 192.0.2.2 with examples/site-b.conf) built with
 * ike_new() talk through an in-memory network of two FIFOs. After each
 * scenario both sides' SA tables are checked: one IKE SA each, one CHILD_SA
 * pair, A's outbound SPI and keys equal to B's inbound ones and vice versa.
 *
 * The network: env.send appends a copy of the message to the FIFO of the
 * other engine; pump() delivers the heads of both FIFOs in turn (to A, then
 * to B) and, when both are empty, runs the timers that are due now (the 0 ms
 * ones: tunnel start, freeing destroyed SAs), until nothing moves. A hook can
 * drop or duplicate messages; deliver_pick() delivers one message out of
 * order to force reorderings (rekey collisions).
 *
 * Time: timers run on the real monotonic clock; advance(ms) fires every
 * timer due within ms from now. While it runs the timer scale is raised so
 * that timers re-armed by callbacks (the 1 s DPD tick, retransmissions) land
 * beyond the window instead of starving the others out of timer_run_due's
 * budget.
 *
 * XCHG_DEBUG=1 in the environment prints the engines' debug output and every
 * delivery on stderr; XCHG_TEST=name runs only the tests matching name.
 *
 * Tests marked "Regression" once exposed engine bugs (now fixed); each says which
 * sequence of events exposes the bug. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "daemon/loop.h"
#include "ike/ike.h"
#include "ike/cookie.h"
#include "ike/ike_int.h" /* white-box: the peer-abuse tests queue exchanges directly */
#include "ike/ike_msg.h"
#include "ike/ike_wire.h"
#include "ops/config.h"
#include "ops/debug.h"
#include "ops/log.h"
#include "util/buf.h"
#include "util/out.h"

#define PA 0 /* peer index of A */
#define PB 1
#define QMAX 256
#define NIN 256
#define PUMP_MAX 4000
#define SITE_PSK "insync-example-key-0123456789abcdef"
#define WRONG_PSK "insync-example-key-0123456789abcdeX"

struct msg {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint8_t *p;
	size_t len;
};

struct queue {
	struct msg m[QMAX];
	int n;
};

/* One inbound SA as the data plane would hold it. */
struct inb {
	uint32_t spi;
	unsigned tunnel;
	uint8_t enc[IKE_ESP_KEY_MAX], auth[IKE_ESP_KEY_MAX];
	size_t enc_len, auth_len;
	int live;
	uint32_t grace; /* child_remove's grace_ms */
};

/* The tunnel's current outbound SA (only Tunnel0 exists here). */
struct outb {
	int set;
	uint32_t spi_out, spi_in;
	uint8_t enc[IKE_ESP_KEY_MAX], auth[IKE_ESP_KEY_MAX];
	size_t enc_len, auth_len;
};

struct peer {
	int idx;
	uint32_t addr;
	struct ike *ike;
	struct config *cfg;
	struct inb in[NIN];
	int n_in;
	struct outb out;
	unsigned ev[16];
	unsigned n_install_in, n_install_out, n_remove, n_remove_unknown;
	unsigned anomalies; /* duplicate inbound SPI, outbound before inbound, bad addresses */
	unsigned child_up_not_installed; /* IKE_EV_CHILD_UP for a CHILD_SA not INSTALLED */
	unsigned natka;                  /* NAT keepalives sent */
	uint16_t natka_port;             /* ... to this peer port */
	uint8_t *init_req;               /* the first IKE_SA_INIT request it sent */
	size_t init_req_len;
};

enum hook_act { H_DELIVER = 0, H_DROP, H_DUP };
typedef enum hook_act (*hook_fn)(int dst, const struct msg *m, void *arg);

struct net {
	struct peer p[2];
	struct queue q[2]; /* q[i]: messages to peer i */
	hook_fn hook;
	void *hook_arg;
	uint64_t rng;
	unsigned delivered, dropped;
	int debug;
	int in_child; /* running in run_isolated()'s child: failures exit */
};

static struct net N;

/* ---------------- helpers: messages ---------------- */

static uint8_t m_exch(const struct msg *m)
{
	return m->len > 18 ? m->p[18] : 0;
}

static int m_resp(const struct msg *m)
{
	return m->len > 19 && (m->p[19] & IKE_FLAG_R);
}

static uint32_t m_msgid(const struct msg *m)
{
	return m->len >= 24 ? (uint32_t)m->p[20] << 24 | (uint32_t)m->p[21] << 16 |
	                          (uint32_t)m->p[22] << 8 | m->p[23]
	                    : 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static const char *exch_name(uint8_t e)
{
	switch (e) {
	case IKE_SA_INIT:
		return "IKE_SA_INIT";
	case IKE_AUTH:
		return "IKE_AUTH";
	case CREATE_CHILD_SA:
		return "CREATE_CHILD_SA";
	case INFORMATIONAL:
		return "INFORMATIONAL";
	}
	return "?";
}

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic SPIs and garbage for every run. */
	N.rng ^= N.rng >> 12;
	N.rng ^= N.rng << 25;
	N.rng ^= N.rng >> 27;
	return N.rng * 0x2545F4914F6CDD1Dull;
}

static struct msg msg_copy(const struct msg *m)
{
	struct msg c = *m;
	c.p = malloc(m->len ? m->len : 1);
	assert_non_null(c.p);
	memcpy(c.p, m->p, m->len);
	return c;
}

static void q_push(int dst, const struct msg *m)
{
	struct queue *q = &N.q[dst];

	if (q->n >= QMAX) {
		N.p[1 - dst].anomalies++;
		free(m->p);
		return;
	}
	q->m[q->n++] = *m;
}

/* Remove message k of q[dst] (ownership passes to the caller). */
static struct msg q_take(int dst, int k)
{
	struct queue *q = &N.q[dst];
	struct msg m = q->m[k];

	memmove(&q->m[k], &q->m[k + 1], (size_t)(q->n - k - 1) * sizeof(q->m[0]));
	q->n--;
	return m;
}

static void q_flush(int dst)
{
	while (N.q[dst].n) {
		struct msg m = q_take(dst, 0);
		free(m.p);
	}
}

/* Hand a message to peer dst's engine as the network would (no hook). */
static void inject(int dst, const struct msg *m)
{
	if (N.debug)
		fprintf(stderr, "---- deliver to %c: %s %s msgid %u (%zu bytes)\n", "AB"[dst],
		        exch_name(m_exch(m)), m_resp(m) ? "response" : "request", m_msgid(m),
		        m->len);
	N.delivered++;
	if (N.p[dst].ike)
		ike_x_input(N.p[dst].ike, m->dst, m->dport, m->src, m->sport, m->p, m->len);
}

/* Deliver message k of q[dst] through the hook. */
static void deliver_at(int dst, int k)
{
	struct msg m = q_take(dst, k);
	enum hook_act a = N.hook ? N.hook(dst, &m, N.hook_arg) : H_DELIVER;

	if (a == H_DROP) {
		if (N.debug)
			fprintf(stderr, "---- drop %s %s to %c\n", exch_name(m_exch(&m)),
			        m_resp(&m) ? "response" : "request", "AB"[dst]);
		N.dropped++;
	} else {
		inject(dst, &m);
		if (a == H_DUP)
			inject(dst, &m);
	}
	free(m.p);
}

enum pick { HEAD, REQ, RESP };

/* Deliver the first message to dst of the kind asked (out of FIFO order). */
static int deliver_pick(int dst, enum pick k)
{
	for (int i = 0; i < N.q[dst].n; i++)
		if (k == HEAD || (k == RESP) == !!m_resp(&N.q[dst].m[i])) {
			deliver_at(dst, i);
			return 0;
		}
	return -1;
}

/* Deliver until both FIFOs are empty and no timer is due now; 0 when settled. */
static int pump_n(unsigned max)
{
	for (unsigned n = 0; n < max;) {
		int moved = 0;
		for (int i = 0; i < 2; i++)
			if (N.q[i].n) {
				deliver_at(i, 0);
				moved = 1;
				n++;
			}
		if (moved)
			continue;
		timer_run_due(loop_now_ms());
		if (!N.q[0].n && !N.q[1].n)
			return 0;
	}
	return -1;
}

static void dump_state(void);

#define CHILD_FAILED 20

static void check_failed(const char *file, int line, const char *what)
{
	dump_state();
	print_error("%s:%d: check failed: %s\n", file, line, what);
	if (N.in_child) {
		fflush(NULL);
		_exit(CHILD_FAILED);
	}
	_fail(file, line);
}

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			check_failed(__FILE__, __LINE__, #c);                                      \
	} while (0)

/* Run fn in a child process: a crash there (the engine bugs below corrupt
 * the timer heap or call a NULL timer callback) fails this test only, and
 * cmocka's own signal handlers do not carry on with the suite in the child. */
static void run_isolated(void (*fn)(void), const char *bug)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		N.in_child = 1;
		fn();
		fflush(NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("%s: the engine crashed (signal %d)", bug, WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: %s (exit status %d)", bug,
		         WEXITSTATUS(status) == CHILD_FAILED
		             ? "a check failed (above)"
		             : "the child failed (sanitizer report above?)",
		         WEXITSTATUS(status));
}

static void pump(void)
{
	CHECK(pump_n(PUMP_MAX) == 0);
}

/* Fire every timer due within ms from now (see the header comment). */
static void advance(uint64_t ms)
{
	loop_set_time_scale((unsigned)(1000 * (ms / 400 + 2)));
	timer_run_due(loop_now_ms() + ms);
	loop_set_time_scale(1000);
}

/* ---------------- the engines' environment ---------------- */

static struct inb *find_in(struct peer *s, uint32_t spi)
{
	for (int i = 0; i < s->n_in; i++)
		if (s->in[i].live && s->in[i].spi == spi)
			return &s->in[i];
	return NULL;
}

static struct inb *find_in_any(struct peer *s, uint32_t spi)
{
	for (int i = s->n_in - 1; i >= 0; i--)
		if (s->in[i].spi == spi)
			return &s->in[i];
	return NULL;
}

static int n_live_in(const struct peer *s)
{
	int n = 0;
	for (int i = 0; i < s->n_in; i++)
		n += s->in[i].live;
	return n;
}

static uint32_t live_in_spi(const struct peer *s)
{
	for (int i = 0; i < s->n_in; i++)
		if (s->in[i].live)
			return s->in[i].spi;
	return 0;
}

static int env_send(void *arg, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
                    const uint8_t *p, size_t len)
{
	struct peer *s = arg;
	int dst = 1 - s->idx;
	struct msg m = {local, peer, lport, pport, (uint8_t *)p, len};

	if (local != s->addr || peer != N.p[dst].addr || (lport != 500 && lport != 4500) ||
	    (pport != 500 && pport != 4500))
		s->anomalies++;
	if (len > 19 && p[18] == IKE_SA_INIT && !(p[19] & IKE_FLAG_R) && !s->init_req) {
		s->init_req = malloc(len);
		assert_non_null(s->init_req);
		memcpy(s->init_req, p, len);
		s->init_req_len = len;
	}
	m = msg_copy(&m);
	q_push(dst, &m);
	return 0;
}

static int env_natka(void *arg, uint32_t local, uint32_t peer, uint16_t pport)
{
	struct peer *s = arg;

	if (local != s->addr || peer != N.p[1 - s->idx].addr)
		s->anomalies++;
	s->natka++;
	s->natka_port = pport;
	return 0;
}

static int env_install_in(void *arg, const struct ike_child_info *c)
{
	struct peer *s = arg;
	struct inb *e;

	s->n_install_in++;
	if (find_in(s, c->spi_in) || c->local != s->addr || c->peer != N.p[1 - s->idx].addr ||
	    c->enc_len > IKE_ESP_KEY_MAX || c->auth_len > IKE_ESP_KEY_MAX || s->n_in >= NIN) {
		s->anomalies++;
		return s->n_in >= NIN ? -1 : 0;
	}
	e = &s->in[s->n_in++];
	memset(e, 0, sizeof(*e));
	e->spi = c->spi_in;
	e->tunnel = c->tunnel;
	e->enc_len = c->enc_len;
	e->auth_len = c->auth_len;
	memcpy(e->enc, c->enc_in, c->enc_len);
	memcpy(e->auth, c->auth_in, c->auth_len);
	e->live = 1;
	return 0;
}

static int env_install_out(void *arg, const struct ike_child_info *c)
{
	struct peer *s = arg;

	s->n_install_out++;
	/* Make-before-break: the inbound half is always in place first. */
	if (!find_in(s, c->spi_in) || c->tunnel != 0 || c->enc_len > IKE_ESP_KEY_MAX ||
	    c->auth_len > IKE_ESP_KEY_MAX)
		s->anomalies++;
	memset(&s->out, 0, sizeof(s->out));
	s->out.set = 1;
	s->out.spi_out = c->spi_out;
	s->out.spi_in = c->spi_in;
	s->out.enc_len = c->enc_len < IKE_ESP_KEY_MAX ? c->enc_len : IKE_ESP_KEY_MAX;
	s->out.auth_len = c->auth_len < IKE_ESP_KEY_MAX ? c->auth_len : IKE_ESP_KEY_MAX;
	memcpy(s->out.enc, c->enc_out, s->out.enc_len);
	memcpy(s->out.auth, c->auth_out, s->out.auth_len);
	return 0;
}

static void env_remove(void *arg, const struct ike_child_info *c, uint32_t grace_ms)
{
	struct peer *s = arg;
	struct inb *e = find_in(s, c->spi_in);

	s->n_remove++;
	if (e) {
		e->live = 0;
		e->grace = grace_ms;
	} else {
		s->n_remove_unknown++; /* never installed (a rekey that did not finish) */
	}
	if (s->out.set && c->spi_out && s->out.spi_out == c->spi_out)
		s->out.set = 0;
}

static uint32_t env_alloc_spi(void *arg, uint32_t peer)
{
	return 256 + (uint32_t)(rnd() % (0xffffffffu - 256));
}

static void env_event(void *arg, int ev, const struct ike_sa_info *sa)
{
	struct peer *s = arg;
	struct ike_child_brief cb[16];
	size_t n;
	int ok = 0;

	if (ev > 0 && ev < 16)
		s->ev[ev]++;
	if (ev != IKE_EV_CHILD_UP || !s->ike)
		return;
	/* A CHILD_SA announced up is INSTALLED (a read-only look from the callback). */
	n = ike_x_children(s->ike, sa->initiator ? sa->spi_i : sa->spi_r, cb, 16);
	for (size_t i = 0; i < n && i < 16; i++)
		ok |= cb[i].spi_in == sa->spi && !strcmp(cb[i].state, "INSTALLED");
	s->child_up_not_installed += !ok;
}

/* ---------------- configs and engines ---------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Parse a config file; when from is given, its first occurrence is replaced by to. */
static struct config *load_cfg(const char *path, const char *from, const char *to)
{
	struct config *cfg = NULL;
	struct out err;
	size_t len;
	char *text = slurp(path, &len);

	if (from) {
		char *k = strstr(text, from), *t;
		size_t head, fl = strlen(from), tl = strlen(to);
		assert_non_null(k);
		head = (size_t)(k - text);
		t = malloc(len - fl + tl + 1);
		assert_non_null(t);
		memcpy(t, text, head);
		memcpy(t + head, to, tl);
		memcpy(t + head + tl, k + fl, len - head - fl + 1);
		free(text);
		text = t;
		len = len - fl + tl;
	}
	out_init(&err);
	if (config_parse(path, text, len, &cfg, &err))
		fail_msg("%s does not parse", path);
	out_free(&err);
	free(text);
	return cfg;
}

static void peer_reset(int i)
{
	struct peer *s = &N.p[i];

	free(s->init_req);
	memset(s, 0, sizeof(*s));
	s->idx = i;
	inet_pton(AF_INET, i == PA ? "192.0.2.1" : "192.0.2.2", &s->addr);
}

/* Create peer i's engine and give it its config (its tunnel starts from a 0 ms timer). */
static void peer_start(int i, const char *psk)
{
	struct peer *s = &N.p[i];
	struct ike_env env = {
	    .arg = s,
	    .send = env_send,
	    .child_install_in = env_install_in,
	    .child_install_out = env_install_out,
	    .child_remove = env_remove,
	    .alloc_spi = env_alloc_spi,
	    .event = env_event,
	    .send_natka = env_natka,
	};

	s->cfg = load_cfg(i == PA ? "examples/site-a.conf" : "examples/site-b.conf",
	                  psk ? SITE_PSK : NULL, psk);
	s->ike = ike_new(&env);
	assert_non_null(s->ike);
	assert_int_equal(ike_x_apply_config(s->ike, s->cfg), 0);
}

static void peer_stop(int i)
{
	struct peer *s = &N.p[i];

	ike_free(s->ike);
	s->ike = NULL;
	config_free(s->cfg);
	s->cfg = NULL;
	q_flush(i);
}

static int setup(void **st)
{
	(void)st;
	memset(&N, 0, sizeof(N));
	N.rng = 0x9e3779b97f4a7c15ull;
	N.debug = getenv("XCHG_DEBUG") != NULL;
	if (N.debug) {
		log_set_stderr(1);
		log_set_rate_cap(1000000);
		debug_set(DBG_IKEV2 | DBG_IPSEC, 1);
	}
	peer_reset(PA);
	peer_reset(PB);
	loop_set_time_scale(1000);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	peer_stop(PA);
	peer_stop(PB);
	peer_reset(PA);
	peer_reset(PB);
	/* Both engines are gone: no timer of theirs may stay on the global heap. */
	assert_int_equal(timer_count(), 0);
	return 0;
}

/* ---------------- state checks ---------------- */

static size_t list_sa(int i, struct ike_sa_info *v, size_t max)
{
	return N.p[i].ike ? ike_x_list(N.p[i].ike, v, max) : 0;
}

static uint64_t local_spi(const struct ike_sa_info *s)
{
	return s->initiator ? s->spi_i : s->spi_r;
}

static void dump_state(void)
{
	for (int i = 0; i < 2; i++) {
		struct peer *s = &N.p[i];
		struct ike_sa_info v[8];
		struct ike_counters c;
		size_t n = list_sa(i, v, 8);

		print_message("  peer %c: %zu IKE SA(s), queue %d, anomalies %u\n", "AB"[i], n,
		              N.q[i].n, s->anomalies);
		for (size_t k = 0; k < n && k < 8; k++) {
			struct ike_child_brief cb[8];
			size_t nc = ike_x_children(s->ike, local_spi(&v[k]), cb, 8);
			print_message("    SA %016llx/%016llx %s %s children %zu\n",
			              (unsigned long long)v[k].spi_i,
			              (unsigned long long)v[k].spi_r, v[k].initiator ? "I" : "R",
			              ike_sa_state_name(v[k].state), nc);
			for (size_t j = 0; j < nc && j < 8; j++)
				print_message("      child in %08x out %08x %s\n", cb[j].spi_in,
				              cb[j].spi_out, cb[j].state);
		}
		for (int k = 0; k < s->n_in; k++)
			if (s->in[k].live)
				print_message("    installed in %08x\n", s->in[k].spi);
		if (s->out.set)
			print_message("    installed out %08x (pair in %08x)\n", s->out.spi_out,
			              s->out.spi_in);
		if (s->ike) {
			ike_x_counters(s->ike, &c);
			print_message(
			    "    rx %llu bad %llu dropped %llu retx %llu n_sa %zu n_child "
			    "%zu\n",
			    (unsigned long long)c.rx, (unsigned long long)c.rx_bad,
			    (unsigned long long)c.rx_dropped, (unsigned long long)c.retransmits,
			    c.n_sa, c.n_child);
		}
	}
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Exactly one IKE SA each side, ESTABLISHED, the same SPIs on both, one
 * INSTALLED CHILD_SA each, and exactly one installed pair whose keys match. */
static void check_one_pair(void)
{
	struct ike_sa_info a, b;
	struct ike_child_brief ca[4], cbr[4];

	for (int i = 0; i < 2; i++) {
		struct peer *s = &N.p[i], *o = &N.p[1 - i];
		struct inb *e;

		CHECK(s->anomalies == 0);
		CHECK(n_live_in(s) == 1);
		CHECK(s->out.set);
		CHECK(s->out.spi_in == live_in_spi(s));
		/* i's outbound SA is o's inbound SA, with the same keys. */
		e = find_in(o, s->out.spi_out);
		CHECK(e != NULL);
		CHECK(o->out.spi_out == s->out.spi_in);
		CHECK(e->enc_len == s->out.enc_len && e->auth_len == s->out.auth_len);
		CHECK(e->enc_len > 0 && !all_zero(e->enc, e->enc_len));
		CHECK(!memcmp(e->enc, s->out.enc, e->enc_len));
		CHECK(!memcmp(e->auth, s->out.auth, e->auth_len));
	}
	CHECK(list_sa(PA, &a, 1) == 1);
	CHECK(list_sa(PB, &b, 1) == 1);
	CHECK(a.state == IKE_SA_ESTABLISHED && b.state == IKE_SA_ESTABLISHED);
	CHECK(a.spi_i == b.spi_i && a.spi_r == b.spi_r && a.initiator != b.initiator);
	CHECK(ike_x_children(N.p[PA].ike, local_spi(&a), ca, 4) == 1);
	CHECK(ike_x_children(N.p[PB].ike, local_spi(&b), cbr, 4) == 1);
	CHECK(!strcmp(ca[0].state, "INSTALLED") && !strcmp(cbr[0].state, "INSTALLED"));
	CHECK(ca[0].spi_in == N.p[PA].out.spi_in && ca[0].spi_out == N.p[PA].out.spi_out);
	CHECK(cbr[0].spi_in == N.p[PB].out.spi_in && cbr[0].spi_out == N.p[PB].out.spi_out);
}

/* What bad input must not change. */
struct snap {
	size_t n_sa;
	struct {
		uint64_t spi_i, spi_r;
		int state;
		unsigned n_child;
	} sa[8];
	int n_in;
	uint32_t in[16];
	struct outb out;
	unsigned n_install_in, n_install_out, n_remove;
};

static void snap_take(int i, struct snap *x)
{
	struct ike_sa_info v[8];
	struct peer *s = &N.p[i];

	memset(x, 0, sizeof(*x));
	x->n_sa = list_sa(i, v, 8);
	for (size_t k = 0; k < x->n_sa && k < 8; k++) {
		x->sa[k].spi_i = v[k].spi_i;
		x->sa[k].spi_r = v[k].spi_r;
		x->sa[k].state = v[k].state;
		x->sa[k].n_child = v[k].n_child;
	}
	for (int k = 0; k < s->n_in && x->n_in < 16; k++)
		if (s->in[k].live)
			x->in[x->n_in++] = s->in[k].spi;
	x->out = s->out;
	x->n_install_in = s->n_install_in;
	x->n_install_out = s->n_install_out;
	x->n_remove = s->n_remove;
}

static int snap_same(int i, const struct snap *x)
{
	struct snap y;
	snap_take(i, &y);
	return !memcmp(x, &y, sizeof(y));
}

static uint64_t bad_count(int i)
{
	struct ike_counters c;
	ike_x_counters(N.p[i].ike, &c);
	return c.rx_bad + c.rx_dropped;
}

static uint64_t retransmits(int i)
{
	struct ike_counters c;
	ike_x_counters(N.p[i].ike, &c);
	return c.retransmits;
}

static void establish(void)
{
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	pump();
	check_one_pair();
}

/* ---------------- (1) simultaneous start ---------------- */

static void test_simultaneous_start(void **st)
{
	(void)st;
	establish();
	for (int i = 0; i < 2; i++) {
		CHECK(N.p[i].ev[IKE_EV_ESTABLISHED] == 1);
		CHECK(N.p[i].ev[IKE_EV_CHILD_UP] == 1);
		CHECK(N.p[i].ev[IKE_EV_DELETED] == 0);
		CHECK(N.p[i].n_install_in == 1 && N.p[i].n_install_out == 1);
	}
	/* The peer with the higher address initiates the surviving IKE SA (docs/ike.md). */
	{
		struct ike_sa_info b;
		CHECK(list_sa(PB, &b, 1) == 1 && b.initiator);
	}
	/* Nothing moves afterwards: the out-fallback and half-open timers change nothing. */
	advance(2500);
	pump();
	check_one_pair();
	CHECK(N.p[PA].n_install_in == 1 && N.p[PB].n_install_in == 1);
}

/* B's tunnel starts while A's IKE_SA_INIT is already being answered by B.
 *
 * Regression (task_init.c simultaneous initiation + ike_x_initiate): B ends
 * with two IKE SAs and two CHILD_SAs, A with one. Sequence: A sends
 * IKE_SA_INIT; B (its tunnel not started yet) answers it and keeps a half-open
 * responder SA; B's tunnel starts: ike_x_initiate() only looks at t->sa, so B
 * initiates too; A gets B's IKE_SA_INIT answer and sends IKE_AUTH; B
 * authenticates it (responder SA ESTABLISHED, CHILD_SA installed); A then gets
 * B's IKE_SA_INIT request while its own SA is CONNECTING (in IKE_AUTH), so
 * task_init_collision() has A (lower address) destroy its own SA silently
 * although B already established it; B's IKE_AUTH answer for it is dropped at
 * A. B's own SA then completes. B's first SA (and its CHILD_SA) has no
 * counterpart at A and stays until DPD or rekey fails. */
static void test_staggered_start(void **st)
{
	(void)st;
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms()); /* A's IKE_SA_INIT request is on its way to B */
	CHECK(N.q[PB].n == 1);
	peer_start(PB, NULL);
	CHECK(deliver_pick(PB, HEAD) == 0); /* B answers A's IKE_SA_INIT ... */
	timer_run_due(loop_now_ms());       /* ... and then its own tunnel starts */
	pump();
	check_one_pair();
}

/* ---------------- (2) CHILD_SA rekey ---------------- */

static void rekey_child_from(int who)
{
	uint32_t old_in[2] = {N.p[PA].out.spi_in, N.p[PB].out.spi_in};
	struct inb *e;

	CHECK(ike_x_rekey_child(N.p[who].ike, old_in[who]) == 0);
	pump();
	check_one_pair();
	for (int i = 0; i < 2; i++) {
		CHECK(N.p[i].out.spi_in != old_in[i]);
		CHECK(N.p[i].out.spi_out != old_in[1 - i]);
		/* The old inbound SA went, with a grace period for packets in flight. */
		e = find_in_any(&N.p[i], old_in[i]);
		CHECK(e && !e->live && e->grace > 0);
	}
}

static void test_rekey_child(void **st)
{
	(void)st;
	establish();
	rekey_child_from(PA);
	rekey_child_from(PB);
	rekey_child_from(PA);
	/* Later timers (responder's outbound fallback, grace) change nothing. */
	advance(2500);
	pump();
	check_one_pair();
	for (int i = 0; i < 2; i++)
		CHECK(N.p[i].ev[IKE_EV_CHILD_UP] == 4);
}

/* ---------------- (3) CHILD_SA rekey collisions ---------------- */

struct step {
	int dst;
	enum pick k;
};

/* Orders of delivery for two crossing rekeys (run after both requests are sent). */
struct script {
	const char *name;
	int n;
	struct step s[6];
};

static const struct script scripts[] = {
    {"FIFO: both requests, then both responses", 0, {{0, HEAD}}},
    {"both requests, A gets its response first", 3, {{PB, REQ}, {PA, REQ}, {PA, RESP}}},
    {"both requests, B gets its response first", 3, {{PB, REQ}, {PA, REQ}, {PB, RESP}}},
    {"A's exchange completes before B's request arrives", 2, {{PB, REQ}, {PA, RESP}}},
    {"B's exchange completes before A's request arrives", 2, {{PA, REQ}, {PB, RESP}}},
    {"A's exchange and its DELETE arrive before B's request",
     3,
     {{PB, REQ}, {PA, RESP}, {PB, REQ}}},
    {"B's exchange and its DELETE arrive before A's request",
     3,
     {{PA, REQ}, {PB, RESP}, {PA, REQ}}},
    {"A's exchange and DELETE complete before B's request",
     4,
     {{PB, REQ}, {PA, RESP}, {PB, REQ}, {PA, RESP}}},
    {"B settles first; A handles B's DELETE before its own response",
     5,
     {{PB, REQ}, {PA, REQ}, {PB, RESP}, {PA, REQ}, {PA, RESP}}},
};

static void run_script(const struct script *sc)
{
	for (int k = 0; k < sc->n; k++)
		if (deliver_pick(sc->s[k].dst, sc->s[k].k)) {
			print_error("script \"%s\": step %d has no message to deliver\n", sc->name,
			            k);
			CHECK(!"script step");
		}
	pump();
}

static void collide_child(const struct script *sc)
{
	uint32_t a = N.p[PA].out.spi_in, b = N.p[PB].out.spi_in;

	if (N.debug)
		fprintf(stderr, "==== CHILD_SA rekey collision: %s\n", sc->name);
	CHECK(ike_x_rekey_child(N.p[PA].ike, a) == 0);
	CHECK(ike_x_rekey_child(N.p[PB].ike, b) == 0);
	CHECK(N.q[PA].n == 1 && N.q[PB].n == 1);
	run_script(sc);
	print_message("    %s\n", sc->name);
	check_one_pair();
	CHECK(N.p[PA].out.spi_in != a && N.p[PB].out.spi_in != b);
}

static void collisions_child(int first, int last)
{
	for (int v = first; v <= last; v++) {
		setup(NULL);
		establish();
		/* Nonces decide which twin survives: a few rounds see both outcomes. */
		for (int r = 0; r < 4; r++)
			collide_child(&scripts[v]);
		advance(11000);
		pump();
		check_one_pair();
		teardown(NULL);
	}
}

static void test_rekey_child_collision_crossing(void **st)
{
	(void)st;
	collisions_child(0, 2);
}

static void test_rekey_child_collision_one_first(void **st)
{
	(void)st;
	collisions_child(3, 7);
}

/* Regression (task_child.c, child_sa.c): B wins the collision and deletes
 * the old SA before A's own response arrives. A lost the collision record
 * with the old SA, installed its redundant SA as a fresh one and deleted B's
 * surviving twin: no pair was left until a new CHILD_SA came up (a ~1.4 s
 * outage in test_rekey's forced-collision run). */
static void test_rekey_child_collision_delete_first(void **st)
{
	(void)st;
	collisions_child(8, 8);
}

/* A's NOT_FOUND answer to B's late rekey overtakes A's DELETE of the old SA
 * (UDP may reorder two messages from A). */
static void test_rekey_child_collision_reordered(void **st)
{
	(void)st;
	establish();
	for (int r = 0; r < 4; r++) {
		uint32_t a = N.p[PA].out.spi_in, b = N.p[PB].out.spi_in;
		CHECK(ike_x_rekey_child(N.p[PA].ike, a) == 0);
		CHECK(ike_x_rekey_child(N.p[PB].ike, b) == 0);
		CHECK(deliver_pick(PB, REQ) == 0);  /* A's request to B */
		CHECK(deliver_pick(PA, RESP) == 0); /* B's answer: A switches, sends DELETE(old) */
		CHECK(deliver_pick(PA, REQ) == 0);  /* B's request: A answers CHILD_SA_NOT_FOUND */
		CHECK(deliver_pick(PB, RESP) == 0); /* ... which reaches B before A's DELETE */
		pump();
		check_one_pair();
	}
}

/* Regression (minor, task_child.c): the loser of a CHILD_SA rekey collision
 * announces its own redundant SA as up. child_rekey_settle() queues
 * T_DEL_CHILD for it, which starts at once (the window is free), so the SA is
 * DELETING; task_child_response() then calls child_up() on it anyway: the
 * DELETING -> INSTALLED change is refused, child_sa_arm() arms its lifetime
 * timers and IKE_EV_CHILD_UP is emitted for an SA that is being deleted. */
static void test_rekey_child_collision_events(void **st)
{
	(void)st;
	establish();
	for (int r = 0; r < 4; r++)
		collide_child(&scripts[0]);
	CHECK(N.p[PA].child_up_not_installed + N.p[PB].child_up_not_installed == 0);
}

/* A's window is busy (a liveness check queued behind its rekey), so after its
 * rekey completes its DELETE of the old SA waits: B's rekey of that old SA
 * arrives while it is REKEYED (child_late_collision).
 *
 * Regression (task_child.c): when the peer's new SA c loses
 * (c->redundant), child_late_collision() arms c->t_expire, then
 * task_child_respond() calls child_up(c) -> child_sa_arm(c), whose
 * timer_init() zeroes the armed timer's heap_idx and timer_arm() inserts it a
 * second time. When B deletes c, child_sa_destroy() cancels one heap entry and
 * frees c; the other entry still points into the freed (cleansed: when_ms 0,
 * cb NULL) child_sa, and the next timer_run_due() calls NULL (use after free
 * under ASan). Which twin loses depends on the nonces: 8 rounds hit it with
 * probability 1 - 2^-8. */
static void busy_window(void)
{
	establish();
	for (int r = 0; r < 8; r++) {
		uint32_t a = N.p[PA].out.spi_in, b = N.p[PB].out.spi_in;
		CHECK(ike_x_rekey_child(N.p[PA].ike, a) == 0);
		CHECK(ike_x_liveness_check(N.p[PA].ike, N.p[PB].addr) == 0);
		CHECK(ike_x_rekey_child(N.p[PB].ike, b) == 0);
		CHECK(deliver_pick(PB, REQ) == 0);  /* A's rekey to B */
		CHECK(deliver_pick(PA, RESP) == 0); /* B's answer: A sends the liveness check */
		CHECK(deliver_pick(PA, REQ) == 0);  /* B's rekey of A's REKEYED old SA */
		pump();
		check_one_pair();
		CHECK(N.p[PA].out.spi_in != a && N.p[PB].out.spi_in != b);
	}
	advance(11000);
	pump();
	check_one_pair();
	peer_stop(PA);
	peer_stop(PB);
	CHECK(timer_count() == 0);
}

static void test_rekey_child_collision_busy_window(void **st)
{
	(void)st;
	run_isolated(busy_window,
	             "regression: late CHILD_SA rekey collision (child_late_collision)");
}

/* A CHILD_SA rekey by `who` crosses an IKE SA rekey by the other side,
 * delivered in the order of script v. */
static void crossing(int v, int who)
{
	struct ike_sa_info before[2], after[2];

	setup(NULL);
	establish();
	for (int i = 0; i < 2; i++)
		CHECK(list_sa(i, &before[i], 1) == 1);
	if (N.debug)
		fprintf(stderr, "==== CHILD_SA rekey by %c, IKE rekey by %c: %s\n", "AB"[who],
		        "AB"[1 - who], scripts[v].name);
	CHECK(ike_x_rekey_child(N.p[who].ike, N.p[who].out.spi_in) == 0);
	CHECK(ike_x_rekey_ike(N.p[1 - who].ike, N.p[who].addr) == 0);
	CHECK(N.q[PA].n == 1 && N.q[PB].n == 1);
	run_script(&scripts[v]);
	print_message("    CHILD_SA rekey by %c, IKE SA rekey by %c: %s\n", "AB"[who],
	              "AB"[1 - who], scripts[v].name);
	check_one_pair();
	for (int i = 0; i < 2; i++) {
		CHECK(list_sa(i, &after[i], 1) == 1);
		CHECK(after[i].spi_i != before[i].spi_i);
	}
	/* The CHILD_SA can be rekeyed again, over the new IKE SA. */
	rekey_child_from(who);
	advance(11000);
	pump();
	check_one_pair();
	teardown(NULL);
}

static void test_rekey_child_crossing_ike_rekey(void **st)
{
	(void)st;
	for (int v = 0; v <= 2; v++)
		for (int who = 0; who < 2; who++)
			crossing(v, who);
	/* One CHILD_SA rekey completes before the other side's IKE SA rekey arrives. */
	crossing(3, PA);
	crossing(4, PB);
}

/* Regression (a CHILD_SA rekey lost with the old IKE SA): the IKE SA rekey
 * by one side completes, and its DELETE of the old IKE SA is sent, before the
 * other side's CHILD_SA rekey request (sent on the old IKE SA) arrives.
 * Sequence with B rekeying the CHILD_SA and A the IKE SA: B sends
 * CREATE_CHILD_SA(REKEY_SA) on old IKE SA O, its CHILD_SA goes REKEYING; A's
 * CREATE_CHILD_SA(IKE) reaches B, B answers, moves the CHILD_SA (REKEYING) to
 * the new IKE SA N and keeps its own exchange on O; A gets the answer, sends
 * DELETE(O); B's rekey request reaches A on O (DELETING): A answers
 * TEMPORARY_FAILURE; B receives DELETE(O) first: ike_sa_destroy(O) cancels
 * B's exchange and drops x_old without resetting it; the TEMPORARY_FAILURE is
 * dropped (no SA). B's CHILD_SA stays REKEYING on N for ever: its soft
 * lifetime timer (child_sa_rekey_due) and ike_x_rekey_child() both require
 * INSTALLED, so it is never rekeyed and dies at its hard lifetime. */
static void test_rekey_child_crossing_ike_rekey_old_deleted(void **st)
{
	(void)st;
	/* A's IKE SA rekey and DELETE complete before B's CHILD_SA rekey arrives. */
	crossing(3, PB);
	/* The same with the roles swapped. */
	crossing(4, PA);
}

/* A rekeys, but its DELETE of the old SA is lost: B switches its outbound
 * after CHILD_OUT_FALLBACK_MS (6 s) and removes the old SA itself after
 * CHILD_REKEYED_WAIT_MS (10 s). */
static void test_rekey_child_lost_delete(void **st)
{
	uint32_t a, b;

	(void)st;
	establish();
	a = N.p[PA].out.spi_in;
	b = N.p[PB].out.spi_in;
	ike_x_test_drop_deletes(N.p[PA].ike, 1);
	CHECK(ike_x_rekey_child(N.p[PA].ike, a) == 0);
	pump();
	CHECK(N.p[PA].out.spi_in != a && find_in(&N.p[PA], a) == NULL);
	CHECK(N.p[PB].out.spi_in == b); /* still sending on the old SA: no DELETE came */
	advance(6100);
	pump();
	CHECK(N.p[PB].out.spi_in != b && N.p[PB].out.spi_out == N.p[PA].out.spi_in);
	/* advance() counts from now, not from the previous call. */
	advance(10100); /* REKEYED_WAIT (10 s): B deletes the old SA itself */
	pump();
	advance(2100); /* the inbound grace (2 s) */
	pump();
	check_one_pair();
	CHECK(find_in(&N.p[PB], b) == NULL);
}

/* ---------------- (4) IKE SA rekey ---------------- */

static void rekey_ike_from(int who, int collide, const struct script *sc)
{
	struct ike_sa_info before[2], after[2];
	uint32_t in[2] = {N.p[PA].out.spi_in, N.p[PB].out.spi_in};
	unsigned removes[2] = {N.p[PA].n_remove, N.p[PB].n_remove};

	for (int i = 0; i < 2; i++)
		CHECK(list_sa(i, &before[i], 1) == 1);
	if (collide) {
		CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);
		CHECK(ike_x_rekey_ike(N.p[PB].ike, N.p[PA].addr) == 0);
		run_script(sc);
	} else {
		CHECK(ike_x_rekey_ike(N.p[who].ike, N.p[1 - who].addr) == 0);
		pump();
	}
	if (sc)
		print_message("    %s\n", sc->name);
	check_one_pair();
	for (int i = 0; i < 2; i++) {
		CHECK(list_sa(i, &after[i], 1) == 1);
		CHECK(after[i].spi_i != before[i].spi_i && after[i].spi_r != before[i].spi_r);
		/* The CHILD_SAs moved over untouched. */
		CHECK(N.p[i].out.spi_in == in[i]);
		CHECK(N.p[i].n_remove == removes[i]);
	}
	/* The new IKE SA works: its SK_d gives matching CHILD_SA keys. */
	rekey_child_from(who);
}

static void test_rekey_ike(void **st)
{
	(void)st;
	establish();
	rekey_ike_from(PA, 0, NULL);
	rekey_ike_from(PB, 0, NULL);
	advance(2500);
	pump();
	check_one_pair();
}

static void test_rekey_ike_collision(void **st)
{
	(void)st;
	for (int v = 0; v <= 4; v++) {
		setup(NULL);
		establish();
		for (int r = 0; r < 3; r++)
			rekey_ike_from(PA, 1, &scripts[v]);
		advance(11000);
		pump();
		check_one_pair();
		teardown(NULL);
	}
}

/* Regression (task_child.c, child_ike_rekey_response, "ours survives"):
 * after an IKE SA rekey collision the winner arms the losing twin's t_expire
 * (IKE_REKEYED_WAIT_MS) but that timer was never given a callback: the twin
 * was made by ike_sa_new() (timer_init(&t_expire, NULL, ...)) in
 * child_ike_rekey_respond(). When the loser's DELETE of the twin does not
 * arrive within 10 s, timer_run_due() calls a NULL function pointer.
 * Sequence: established; both sides ike_x_rekey_ike(); both requests cross,
 * both responses arrive; every DELETE is lost (ike_x_test_drop_deletes);
 * 10 s later the winner's timer fires. */
static void lost_delete(void)
{
	struct ike_sa_info v[4];

	establish();
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);
	CHECK(ike_x_rekey_ike(N.p[PB].ike, N.p[PA].addr) == 0);
	CHECK(deliver_pick(PB, REQ) == 0);
	CHECK(deliver_pick(PA, REQ) == 0);
	ike_x_test_drop_deletes(N.p[PA].ike, 4);
	ike_x_test_drop_deletes(N.p[PB].ike, 4);
	pump();
	advance(11000);
	pump();
	/* The REKEYED SAs are gone on both sides; the survivor keeps the CHILD_SA. */
	for (int i = 0; i < 2; i++) {
		CHECK(list_sa(i, v, 4) == 1);
		CHECK(v[0].state == IKE_SA_ESTABLISHED && v[0].n_child == 1);
	}
	peer_stop(PA);
	peer_stop(PB);
	CHECK(timer_count() == 0);
}

static void test_rekey_ike_collision_lost_delete(void **st)
{
	(void)st;
	run_isolated(lost_delete, "regression: IKE SA rekey collision, REKEYED twin's t_expire "
	                          "armed without a callback");
}

/* Regression (task_child.c child_ike_rekey_response, collision loser): the
 * losing new IKE SA kept its parent link to the old SA although the old SA no
 * longer pointed at it, so nothing cleared the link when the old SA went.
 * When the peer's DELETE of the old SA was handled (and the old SA freed)
 * before the answer to our DELETE of the loser arrived, destroying the loser
 * read the freed old SA (use after free, seen in test_rekey under ASan).
 * Sequence: both sides rekey the IKE SA; the requests cross; both responses
 * arrive; both DELETE requests are answered; the old SAs are freed; then
 * the DELETE responses arrive. */
static void ike_collision_delete_order(void)
{
	struct ike_sa_info v[4];

	establish();
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);
	CHECK(ike_x_rekey_ike(N.p[PB].ike, N.p[PA].addr) == 0);
	CHECK(deliver_pick(PB, REQ) == 0);
	CHECK(deliver_pick(PA, REQ) == 0);
	CHECK(deliver_pick(PA, RESP) == 0);
	CHECK(deliver_pick(PB, RESP) == 0);
	CHECK(deliver_pick(PA, REQ) == 0);
	CHECK(deliver_pick(PB, REQ) == 0);
	advance(1); /* the deleted old SAs are released */
	pump();
	check_one_pair();
	for (int i = 0; i < 2; i++) {
		CHECK(list_sa(i, v, 4) == 1);
		CHECK(v[0].state == IKE_SA_ESTABLISHED && v[0].n_child == 1);
	}
	peer_stop(PA);
	peer_stop(PB);
	CHECK(timer_count() == 0);
}

static void test_rekey_ike_collision_delete_order(void **st)
{
	(void)st;
	run_isolated(ike_collision_delete_order,
		     "regression: IKE SA rekey collision loser kept a dangling parent link");
}

/* Regression (task_child.c child_ike_rekey_response, fail path): a refused
 * IKE SA rekey re-arms the old SA's timers with ike_sa_arm_timers(), whose
 * timer_init() on t_rekey (armed: the manual rekey left it) and on t_dpd (the
 * DPD tick is always armed) zeroes their heap_idx and timer_arm() inserts
 * them a second time. When the IKE SA is later destroyed, one entry of each
 * stays on the heap and points into the freed ike_sa (use after free).
 * Sequence: established; B reloads a config whose proposal has only DH group
 * 14 (the tunnel is unchanged, so its SAs stay); A rekeys the IKE SA with
 * group 19; B answers INVALID_KE_PAYLOAD; A falls back to ESTABLISHED; the
 * engines are freed: timers must be gone. */
static void rekey_ike_refused(void)
{
	struct config *cfg = load_cfg("examples/site-b.conf", " group 19 31 14", " group 14");
	struct ike_sa_info a0, a1;

	establish();
	CHECK(list_sa(PA, &a0, 1) == 1);
	CHECK(ike_x_apply_config(N.p[PB].ike, cfg) == 0);
	config_free(N.p[PB].cfg);
	N.p[PB].cfg = cfg;
	pump();
	check_one_pair(); /* the reload left the tunnel alone */
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);
	pump();
	check_one_pair();
	CHECK(list_sa(PA, &a1, 1) == 1);
	CHECK(a1.spi_i == a0.spi_i && a1.spi_r == a0.spi_r); /* the old IKE SA carries on */
	rekey_child_from(PA);
	peer_stop(PA);
	peer_stop(PB);
	advance(2000); /* a timer left behind points into a freed SA */
	CHECK(timer_count() == 0);
}

static void test_rekey_ike_refused(void **st)
{
	(void)st;
	run_isolated(rekey_ike_refused, "regression: refused IKE SA rekey re-inits armed timers");
}

/* Each side refuses the other's IKE SA rekey (A now takes only group 19, B
 * only group 14), so no rekey can succeed. The IKE SA must still end at its
 * lifetime (3600 s in site-a.conf): it is deleted on both sides, and once the
 * configs agree again the tunnel comes back through a fresh IKE SA. */
static void ike_hard_expiry(void)
{
	struct config *ca = load_cfg("examples/site-a.conf", " group 19 31 14", " group 19");
	struct config *cb = load_cfg("examples/site-b.conf", " group 19 31 14", " group 14");
	struct ike_sa_info a0, a1;

	establish();
	CHECK(list_sa(PA, &a0, 1) == 1);
	CHECK(ike_x_apply_config(N.p[PA].ike, ca) == 0);
	CHECK(ike_x_apply_config(N.p[PB].ike, cb) == 0);
	config_free(N.p[PA].cfg);
	config_free(N.p[PB].cfg);
	N.p[PA].cfg = ca;
	N.p[PB].cfg = cb;
	pump();
	check_one_pair();
	advance(3300000); /* both rekey (at 90 % of the lifetime, less jitter): refused */
	pump();
	CHECK(list_sa(PA, &a1, 1) == 1);
	CHECK(a1.spi_i == a0.spi_i && a1.spi_r == a0.spi_r); /* still the first IKE SA */
	CHECK(N.p[PA].ev[IKE_EV_DELETED] == 0 && N.p[PB].ev[IKE_EV_DELETED] == 0);
	advance(3700000); /* past the lifetime */
	pump();
	CHECK(N.p[PA].ev[IKE_EV_DELETED] >= 1 && N.p[PB].ev[IKE_EV_DELETED] >= 1);
	for (int i = 0; i < 2; i++) {
		struct ike_sa_info v[4];
		size_t n = list_sa(i, v, 4);
		for (size_t j = 0; j < n; j++)
			CHECK(v[j].spi_i != a0.spi_i);
	}
	/* Agreement again: A's tunnel retries and comes back. */
	peer_stop(PA);
	peer_stop(PB);
	establish();
}

static void test_ike_hard_expiry(void **st)
{
	(void)st;
	run_isolated(ike_hard_expiry, "IKE SA past its lifetime with every rekey refused");
}

/* A's window is busy and its task queue full (INVALID_SPI notifies for 20
 * SPIs toward a peer that has not answered yet): `clear crypto session` must
 * still delete the IKE SA. Before, the DELETE was dropped with the rest. */
static void test_clear_behind_full_queue(void **st)
{
	(void)st;
	establish();
	for (uint32_t spi = 0x5000; spi < 0x5000 + 20; spi++)
		CHECK(ike_x_send_invalid_spi(N.p[PA].ike, N.p[PB].addr, spi) == 0);
	CHECK(ike_x_clear(N.p[PA].ike, N.p[PB].addr) == 1);
	pump();
	CHECK(N.p[PA].ev[IKE_EV_DELETED] == 1 && N.p[PB].ev[IKE_EV_DELETED] == 1);
	CHECK(list_sa(PA, NULL, 0) == 0 && list_sa(PB, NULL, 0) == 0);
}

/* A NAT in front of peer *(int *)arg: the other peer sees its ports 500 and
 * 4500 as 4501 and 4502, answers are mapped back, and nobody can open a
 * session toward the peer behind it (IKE_SA_INIT requests to it are
 * dropped). The hook rewrites messages in flight. */
static enum hook_act nat_hook(int dst, const struct msg *cm, void *arg)
{
	struct msg *m = (struct msg *)cm;
	int behind = *(const int *)arg;

	if (dst == behind && m_exch(m) == IKE_SA_INIT && !m_resp(m))
		return H_DROP;
	if (dst != behind)
		m->sport = m->sport == 500 ? 4501 : m->sport == 4500 ? 4502 : m->sport;
	else
		m->dport = m->dport == 4501 ? 500 : m->dport == 4502 ? 4500 : m->dport;
	return H_DELIVER;
}

/* Reconfigure peer i with a global line added to its site config. */
static void set_global(int i, const char *line)
{
	const char *site = i == PA ? "examples/site-a.conf" : "examples/site-b.conf";
	char to[128];

	snprintf(to, sizeof(to), "%scrypto ikev2 proposal PROP-GCM", line);
	struct config *cfg = load_cfg(site, "crypto ikev2 proposal PROP-GCM", to);
	CHECK(ike_x_apply_config(N.p[i].ike, cfg) == 0);
	config_free(N.p[i].cfg);
	N.p[i].cfg = cfg;
}

/* The NAT in front of A, the lower address, with both ends starting at
 * once. B cannot reach A, so the address rule alone (B, the higher, ignores
 * A's request and waits for an answer to its own) would stall until B's
 * attempt timed out. The request's NAT-D payloads show that A is behind the
 * NAT, so B answers A at once: one IKE SA, initiated by A. */
static void test_simultaneous_start_behind_nat(void **st)
{
	struct ike_sa_info a;

	static int behind = PA;

	(void)st;
	N.hook = nat_hook;
	N.hook_arg = &behind;
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	pump();
	CHECK(list_sa(PA, &a, 1) == 1 && list_sa(PB, NULL, 0) == 1);
	CHECK(a.state == IKE_SA_ESTABLISHED && a.nat && a.initiator);
	CHECK(N.p[PA].out.spi_out && N.p[PB].out.spi_out);
	N.hook = NULL;
}

/* NAT keepalives (RFC 3948): only with `crypto ikev2 nat keepalive`, only
 * from the side behind the NAT, to the peer's NAT-T port; reconfiguring
 * starts and stops them on the SA that is up. */
static void test_nat_keepalive(void **st)
{
	static int behind = PB; /* B has the higher address: A answers B's request */
	struct ike_sa_info b;

	(void)st;
	N.hook = nat_hook;
	N.hook_arg = &behind;
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	pump();
	CHECK(list_sa(PB, &b, 1) == 1 && b.nat && b.state == IKE_SA_ESTABLISHED);
	CHECK(N.p[PA].out.spi_out && N.p[PB].out.spi_out);
	advance(30000);
	pump();
	CHECK(N.p[PA].natka == 0 && N.p[PB].natka == 0); /* off by default, as on IOS */
	set_global(PA, "crypto ikev2 nat keepalive 20\n");
	set_global(PB, "crypto ikev2 nat keepalive 20\n");
	advance(20500);
	CHECK(N.p[PB].natka == 1 && N.p[PB].natka_port == 4500);
	/* It re-arms itself (inside advance() the next one is scaled far out). */
	advance(1100000);
	pump();
	CHECK(N.p[PB].natka == 2);
	CHECK(N.p[PA].natka == 0); /* A is not behind the NAT */
	size_t armed = timer_count();
	set_global(PB, ""); /* off again: the SA's keepalive timer goes */
	CHECK(timer_count() == armed - 1);
	CHECK(N.p[PB].anomalies == 0);
	N.hook = NULL;
}

/* ---------------- (5) INVALID_SPI ---------------- */

static void test_invalid_spi(void **st)
{
	struct ike_sa_info a0, a1;
	struct snap sa, sb;
	uint32_t old_a, old_b;

	(void)st;
	establish();
	CHECK(list_sa(PA, &a0, 1) == 1);
	old_a = N.p[PA].out.spi_in;
	old_b = N.p[PB].out.spi_in;
	/* A reports B's outbound SPI as unknown: B deletes that pair and makes a new one. */
	CHECK(N.p[PB].out.spi_out == old_a);
	CHECK(ike_x_send_invalid_spi(N.p[PA].ike, N.p[PB].addr, old_a) == 0);
	pump();
	check_one_pair();
	CHECK(N.p[PB].ev[IKE_EV_INVALID_SPI_RECEIVED] == 1);
	CHECK(N.p[PA].out.spi_in != old_a && N.p[PB].out.spi_in != old_b);
	CHECK(find_in(&N.p[PA], old_a) == NULL && find_in(&N.p[PB], old_b) == NULL);
	CHECK(list_sa(PA, &a1, 1) == 1);
	CHECK(a1.spi_i == a0.spi_i && a1.spi_r == a0.spi_r); /* same IKE SA */

	/* Unknown SPIs (never used, or one of B's inbound SPIs) change nothing. */
	snap_take(PA, &sa);
	snap_take(PB, &sb);
	CHECK(ike_x_send_invalid_spi(N.p[PA].ike, N.p[PB].addr, 0x12345678) == 0);
	pump();
	CHECK(ike_x_send_invalid_spi(N.p[PA].ike, N.p[PB].addr, N.p[PB].out.spi_in) == 0);
	pump();
	CHECK(ike_x_send_invalid_spi(N.p[PA].ike, N.p[PB].addr, old_a) == 0); /* already replaced */
	pump();
	CHECK(snap_same(PA, &sa) && snap_same(PB, &sb));
	CHECK(N.p[PB].ev[IKE_EV_INVALID_SPI_RECEIVED] == 1);
	check_one_pair();
	/* No IKE SA with that peer: nothing to send on. */
	CHECK(ike_x_send_invalid_spi(N.p[PA].ike, htonl(0xC0000263), old_a) == -1);
}

/* ---------------- COOKIE (§2.6) ---------------- */

/* With `crypto ikev2 cookie-challenge 1` and one half-open SA, B answers the
 * next IKE_SA_INIT with a COOKIE and keeps nothing; A repeats its request with
 * the cookie, and the tunnel comes up. The half-open SA is a stale request
 * from A's address under another SPI that never goes on to IKE_AUTH. */
static void test_cookie_challenge(void **st)
{
	struct ike_counters c;
	struct msg stale;

	(void)st;
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms()); /* A's IKE_SA_INIT request waits for B */
	CHECK(N.q[PB].n == 1 && m_exch(&N.q[PB].m[0]) == IKE_SA_INIT);
	peer_start(PB, NULL);
	set_global(PB, "crypto ikev2 cookie-challenge 1\n");
	stale = msg_copy(&N.q[PB].m[0]);
	stale.p[0] ^= 0x5a; /* another initiator SPI */
	inject(PB, &stale);
	free(stale.p);
	q_flush(PA); /* B's answer to the stale request */
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 1 && c.cookies_sent == 0);
	CHECK(deliver_pick(PB, HEAD) == 0);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 1 && c.cookies_sent == 1); /* a COOKIE, no new state */
	CHECK(N.q[PA].n == 1 && m_resp(&N.q[PA].m[0]) && m_exch(&N.q[PA].m[0]) == IKE_SA_INIT);
	pump();
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.cookies_sent == 1); /* the cookie was accepted the first time */
	advance(31000); /* the stale half-open SA expires (30 s) */
	pump();
	check_one_pair();
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 0 && c.cookies_sent == 1);
}

/* ---------------- crypto ikev2 limit ---------------- */

/* A copy of A's first IKE_SA_INIT request under another initiator SPI, as
 * if from src (network order; 0: A's own address). */
static struct msg other_init(uint32_t src)
{
	struct msg m;

	CHECK(N.p[PA].init_req != NULL);
	m.p = malloc(N.p[PA].init_req_len);
	assert_non_null(m.p);
	memcpy(m.p, N.p[PA].init_req, N.p[PA].init_req_len);
	m.len = N.p[PA].init_req_len;
	m.p[0] ^= 0x5a;
	m.src = src ? src : N.p[PA].addr;
	m.dst = N.p[PB].addr;
	m.sport = m.dport = 500;
	return m;
}

/* m (an IKE_SA_INIT request to engine i) with the COOKIE engine i asks for
 * in front (§2.6), as an initiator that answered the challenge sends it. */
static struct msg with_cookie(int i, const struct msg *m)
{
	struct ike_msg im;
	const struct ike_pld *np;
	uint8_t c[COOKIE_LEN], *n;
	size_t nl = 8 + COOKIE_LEN; /* generic header, protocol, SPI size, type */
	struct msg r = *m;

	CHECK(ike_msg_parse(&im, m->p, m->len) == 0);
	CHECK((np = ike_msg_find(&im, IKE_PLD_NONCE)) != NULL);
	CHECK(cookie_make(&N.p[i].ike->cookie, loop_now_ms(), np->p, np->len, m->src, im.spi_i, c) == 0);
	ike_msg_clear(&im);
	r.len = m->len + nl;
	r.p = malloc(r.len);
	assert_non_null(r.p);
	memcpy(r.p, m->p, IKE_HDR_LEN);
	n = r.p + IKE_HDR_LEN;
	n[0] = m->p[16], n[1] = 0; /* the old first payload comes next */
	put_be16(n + 2, (uint16_t)nl);
	n[4] = 0, n[5] = 0;
	put_be16(n + 6, N_COOKIE);
	memcpy(n + 8, c, COOKIE_LEN);
	memcpy(r.p + IKE_HDR_LEN + nl, m->p + IKE_HDR_LEN, m->len - IKE_HDR_LEN);
	r.p[16] = IKE_PLD_N;
	put_be32(r.p + 24, (uint32_t)r.len);
	return r;
}

/* Deliver m to i, then drop whatever i answered (to an address that is not
 * the harness's other peer). */
static void inject_from_elsewhere(int i, struct msg *m)
{
	inject(i, m);
	free(m->p);
	q_flush(1 - i);
	N.p[i].anomalies = 0;
}

#define ELSEWHERE(k) htonl(0xc6336400u + (k)) /* 198.51.100.k */

/* `max-sa 1` at B with A's IKE SA up. Another host's request gets a COOKIE
 * (no state); answered, it is refused and counted. A request from A's own
 * address (A rebooted) is let in: its new SA replaces the stale one. */
static void test_limit_max_sa(void **st)
{
	struct ike_counters c;
	struct msg m;

	(void)st;
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	set_global(PB, "crypto ikev2 limit max-sa 1\n");
	pump();
	check_one_pair();
	ike_x_counters(N.p[PB].ike, &c);
	uint64_t cookies = c.cookies_sent;
	m = other_init(ELSEWHERE(7));
	inject_from_elsewhere(PB, &m);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_sa == 1 && c.half_open == 0 && c.cookies_sent == cookies + 1 && c.rej_sa_limit == 0);
	m = other_init(ELSEWHERE(7));
	struct msg mc = with_cookie(PB, &m);
	free(m.p);
	inject_from_elsewhere(PB, &mc);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_sa == 1 && c.half_open == 0 && c.rej_sa_limit == 1 && c.max_sa == 1);
	m = other_init(0); /* from A's address */
	mc = with_cookie(PB, &m);
	free(m.p);
	inject(PB, &mc);
	free(mc.p);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_sa == 2 && c.half_open == 1 && c.rej_sa_limit == 1);
	CHECK(N.q[PA].n == 1 && m_resp(&N.q[PA].m[0]));
	q_flush(PA);
	/* One replacement at a time: the next one from A's address is refused. */
	m = other_init(0);
	m.p[1] ^= 0x33;
	mc = with_cookie(PB, &m);
	free(m.p);
	inject(PB, &mc);
	free(mc.p);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_sa == 2 && c.rej_sa_limit == 2 && N.q[PA].n == 0);
	set_global(PB, "no crypto ikev2 limit max-sa\n");
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.max_sa == 0);
	/* Past a lowered limit, one unanswered SA giving way would not make
	 * room: none is taken. */
	m = other_init(ELSEWHERE(8));
	inject_from_elsewhere(PB, &m);
	set_global(PB, "crypto ikev2 limit max-sa 1\n");
	m = other_init(ELSEWHERE(9));
	mc = with_cookie(PB, &m);
	free(m.p);
	inject_from_elsewhere(PB, &mc);
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_sa == 3 && c.evicted == 0 && c.rej_sa_limit == 3);
}

/* `max-in-negotiation-sa 1 incoming` at B. A half-open request that never
 * answered a COOKIE gives way to one that did; two that did fill the limit,
 * and the next is refused until the first expires. */
static void test_limit_in_negotiation(void **st)
{
	struct ike_counters c;
	struct msg m, mc;

	(void)st;
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms());
	CHECK(N.q[PB].n == 1);
	peer_start(PB, NULL);
	set_global(PB, "crypto ikev2 limit max-in-negotiation-sa 1 incoming\n");
	m = other_init(ELSEWHERE(1));
	inject_from_elsewhere(PB, &m); /* below the limit: no COOKIE, half-open */
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 1 && c.cookies_sent == 0);
	m = other_init(ELSEWHERE(2));
	mc = with_cookie(PB, &m);
	free(m.p);
	inject_from_elsewhere(PB, &mc); /* verified: takes the unverified one's slot */
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 1 && c.n_sa == 1 && c.rej_nego_in == 0);
	CHECK(deliver_pick(PB, HEAD) == 0); /* A's own request: a COOKIE */
	CHECK(deliver_pick(PA, HEAD) == 0); /* A repeats it with the COOKIE */
	CHECK(deliver_pick(PB, HEAD) == 0); /* verified, but nothing left to give way */
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 1 && c.rej_nego_in == 1 && N.q[PA].n == 0);
	CHECK(c.max_nego_in == 1 && c.max_nego_out == 0);
	advance(31000); /* the verified half-open SA expires */
	pump();
	check_one_pair();
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.half_open == 0 && c.rej_nego_in == 1);
}

/* A restarted with `max-sa 1` (its first request is kept as a sample) and a
 * half-open request from another host in its table; with verified, that
 * request answered A's COOKIE. A's own tunnel is not started yet. */
static void outgoing_setup(int verified)
{
	struct ike_counters c;
	struct msg m, mc;

	peer_start(PA, NULL);
	timer_run_due(loop_now_ms());
	q_flush(PB);
	peer_stop(PA);
	peer_start(PA, NULL);
	set_global(PA, "crypto ikev2 limit max-sa 1\n");
	m = other_init(ELSEWHERE(9));
	m.dst = N.p[PA].addr;
	inject_from_elsewhere(PA, &m); /* unverified, and A is at its limit */
	if (verified) {
		m = other_init(ELSEWHERE(10));
		m.dst = N.p[PA].addr;
		mc = with_cookie(PA, &m);
		free(m.p);
		inject_from_elsewhere(PA, &mc); /* takes the unverified one's slot */
	}
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(c.n_sa == 1 && c.half_open == 1 && N.q[PB].n == 0);
}

/* An unverified half-open request gives way to A's own tunnel. While A
 * negotiates, its SA counts as outgoing. */
static void test_limit_outgoing(void **st)
{
	struct ike_counters c;

	(void)st;
	outgoing_setup(0);
	timer_run_due(loop_now_ms());
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(N.q[PB].n == 1 && c.n_sa == 1 && c.half_open == 0 && c.nego_out == 1 && c.rej_out == 0);
	peer_start(PB, NULL);
	pump();
	check_one_pair();
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(c.nego_out == 0 && c.n_sa == 1);
}

/* A verified one holds the slot: A's initiation waits (counted, nothing
 * sent), and its retry brings the tunnel up once that SA expires. */
static void test_limit_outgoing_waits(void **st)
{
	struct ike_counters c;

	(void)st;
	outgoing_setup(1);
	timer_run_due(loop_now_ms());
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(N.q[PB].n == 0 && c.rej_out >= 1 && c.nego_out == 0);
	advance(31000); /* the half-open SA expires */
	advance(200000); /* A's retry: advance() stretched its 2 s back-off to 158 s */
	CHECK(N.q[PB].n >= 1);
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(c.nego_out == 1 && c.n_sa == 1);
	peer_start(PB, NULL);
	pump();
	check_one_pair();
}

/* Both ends start at once and A has one slot: its own attempt takes it, and
 * B's request (B has the higher address, so B's attempt wins) must still get
 * in, or nothing moves until both attempts time out. */
static void test_limit_simultaneous(void **st)
{
	struct ike_counters c;

	(void)st;
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	set_global(PA, "crypto ikev2 limit max-sa 1\n");
	pump();
	check_one_pair();
	ike_x_counters(N.p[PA].ike, &c);
	CHECK(c.rej_sa_limit == 0 && c.rej_out == 0);
}

/* The ids show prints (Tunnel-id, Session-id, conn-id) stay with their SA:
 * another SA arriving must not renumber the ones already listed. */
static void test_show_ids_stable(void **st)
{
	struct ike_sa_info v[4];
	uint32_t id;
	struct msg m;
	size_t n;

	(void)st;
	establish();
	CHECK(ike_x_list(N.p[PB].ike, v, 4) == 1 && v[0].id != 0);
	id = v[0].id;
	m = other_init(ELSEWHERE(3));
	inject_from_elsewhere(PB, &m); /* a half-open SA, listed first */
	n = ike_x_list(N.p[PB].ike, v, 4);
	CHECK(n == 2);
	CHECK((v[0].state == IKE_SA_ESTABLISHED ? v[0].id : v[1].id) == id);
	CHECK(v[0].id != v[1].id);
}

/* ---------------- peer abuse (found by review) ---------------- */

static struct ike_sa *established_sa(int i)
{
	for (struct ike_sa *x = N.p[i].ike->all; x; x = x->all_next)
		if (!x->destroyed && x->state == IKE_SA_ESTABLISHED)
			return x;
	return NULL;
}

/* Regression (child_sa.c, use after free): B rekeys its CHILD_SA on IKE SA O;
 * A rekeys O (B moves the CHILD_SA to the new IKE SA N) and then deletes the
 * CHILD_SA on N; B's rekey response then arrives on O, whose exchange still
 * pointed at the freed CHILD_SA. */
static void test_child_deleted_after_ike_rekey(void **st)
{
	(void)st;
	establish();
	CHECK(ike_x_rekey_child(N.p[PB].ike, N.p[PB].out.spi_in) == 0); /* B -> A on O, held */
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);        /* A -> B on O */
	CHECK(deliver_pick(PB, REQ) == 0);  /* B answers the IKE rekey: the CHILD_SA moves to N */
	CHECK(deliver_pick(PA, RESP) == 0); /* A completes it and sends DELETE(O) */
	CHECK(ike_x_delete_child(N.p[PA].ike, N.p[PA].out.spi_in) == 0);
	for (int i = 0; i < N.q[PB].n; i++) /* DELETE(CHILD_SA) on N first, not DELETE(O) */
		if (!m_resp(&N.q[PB].m[i]) && m_exch(&N.q[PB].m[i]) == INFORMATIONAL &&
		    m_msgid(&N.q[PB].m[i]) == 0) {
			deliver_at(PB, i);
			break;
		}
	CHECK(deliver_pick(PA, REQ) == 0);  /* B's rekey request: A refuses it on O */
	CHECK(deliver_pick(PB, RESP) == 0); /* ... and B reads the refusal */
	pump();
	advance(12000);
	pump();
	for (int i = 0; i < 2; i++)
		CHECK(established_sa(i) != NULL);
}

/* Regression (task_child.c, crash): while B's own CREATE_CHILD_SA is in
 * flight (its new CHILD_SA has no peer SPI yet), A asks to rekey SPI 0. B
 * took that for its new CHILD_SA and armed a timer that had no callback. */
static void test_rekey_spi_zero(void **st)
{
	struct ike_sa *sa;
	struct child_sa *fake;

	(void)st;
	establish();
	CHECK(ike_x_rekey_child(N.p[PB].ike, N.p[PB].out.spi_in) == 0); /* B -> A, held */
	CHECK((sa = established_sa(PA)) != NULL);
	CHECK((fake = child_sa_new(sa, 0)) != NULL); /* makes A send REKEY_SA(0) */
	fake->state = CHILD_INSTALLED;
	fake->ci.ts_local[1] = fake->ci.ts_peer[1] = 0xffffffffu;
	xchg_queue(sa, T_CHILD_REKEY, 0);
	CHECK(deliver_pick(PB, REQ) == 0); /* B answers CHILD_SA_NOT_FOUND */
	q_flush(PA);
	advance(11000);
	CHECK(established_sa(PB) != NULL);
}

/* An authenticated peer asks for 200 more CHILD_SAs: B holds at most
 * IKE_MAX_CHILDREN and answers the rest NO_ADDITIONAL_SAS. */
static void test_child_sa_limit(void **st)
{
	struct ike_counters c;
	struct ike_sa *sa;

	(void)st;
	establish();
	CHECK((sa = established_sa(PA)) != NULL);
	for (int k = 0; k < 200; k++) {
		xchg_queue(sa, T_CHILD, 7);
		pump();
	}
	ike_x_counters(N.p[PB].ike, &c);
	CHECK(c.n_child == IKE_MAX_CHILDREN);
	CHECK(established_sa(PB) != NULL);
}

/* Regression (task_init.c, ike.c): forged IKE_SA_INITs "from" B that win
 * the collision rule (B has the higher address) made A drop its own
 * IKE_SA_INIT and then wait for B's SA, which never came; a new one every
 * 30 s kept A's tunnel down. A now keeps its SA until a peer SA
 * authenticates, so when B answers, the tunnel comes up. */
static void test_forged_init_keeps_ours(void **st)
{
	struct ike_sa_info v[8];
	struct msg forged;
	size_t n, k;
	int ours;

	(void)st;
	peer_start(PB, NULL);
	timer_run_due(loop_now_ms());
	CHECK(N.q[PA].n == 1 && m_exch(&N.q[PA].m[0]) == IKE_SA_INIT);
	forged = q_take(PA, 0); /* an IKE_SA_INIT with B's address on it */
	peer_stop(PB);
	peer_reset(PB);
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms()); /* A initiates; B is silent */
	q_flush(PB);
	for (int round = 0; round < 3; round++) {
		forged.p[0] ^= (uint8_t)(round + 1); /* a fresh SPIi each time */
		inject(PA, &forged);
		q_flush(PB); /* A's answer goes nowhere */
		n = list_sa(PA, v, 8);
		for (k = 0, ours = 0; k < n && k < 8; k++)
			ours += v[k].initiator && v[k].state == IKE_SA_CONNECTING;
		CHECK(ours == 1); /* A's own attempt survives the forged request */
		advance(1500);
		q_flush(PB);
	}
	free(forged.p);
	peer_start(PB, NULL); /* B comes back */
	pump();
	advance(31000); /* the forged half-open SAs expire */
	pump();
	check_one_pair();
}

/* Requests forged with A's address fill A's quota of half-open SAs
 * (IKE_HALF_OPEN_PER_PEER) below the global COOKIE threshold; past it B asks
 * for a COOKIE instead of keeping state, so the forger cannot lock A out: A
 * returns the COOKIE, which only a host at that address can, and comes up. */
static void test_half_open_per_peer(void **st)
{
	struct ike_counters c0, c1;
	struct msg req, forged;

	(void)st;
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms());
	CHECK(N.q[PB].n == 1 && m_exch(&N.q[PB].m[0]) == IKE_SA_INIT);
	req = q_take(PB, 0); /* A's real request, held back */
	forged = msg_copy(&req);
	peer_start(PB, NULL);
	set_global(PB, "crypto ikev2 cookie-challenge 1000\n"); /* the global threshold is out of the way */
	ike_x_counters(N.p[PB].ike, &c0);
	for (int k = 0; k < IKE_HALF_OPEN_PER_PEER + 8; k++) {
		forged.p[1] = (uint8_t)(k + 1), forged.p[2] = 0xee; /* a fresh SPIi each time */
		inject(PB, &forged);
	}
	free(forged.p);
	q_flush(PA);
	ike_x_counters(N.p[PB].ike, &c1);
	CHECK(c1.half_open == IKE_HALF_OPEN_PER_PEER);
	CHECK(c1.cookies_sent - c0.cookies_sent == 8 && c1.rx_dropped == c0.rx_dropped);
	inject(PB, &req); /* the real A: a COOKIE, then its repeat with it is taken */
	free(req.p);
	ike_x_counters(N.p[PB].ike, &c1);
	CHECK(c1.cookies_sent - c0.cookies_sent == 9);
	pump();
	advance(31000); /* the forged half-open SAs expire */
	pump();
	check_one_pair();
}

/* Each end's outbound CHILD_SA is live inbound at the other end, same keys. */
static void check_both_ways(void)
{
	for (int i = 0; i < 2; i++) {
		const struct outb *o = &N.p[i].out;
		const struct inb *in = find_in(&N.p[1 - i], o->spi_out);
		CHECK(o->set && in != NULL);
		CHECK(in->enc_len == o->enc_len && !memcmp(in->enc, o->enc, o->enc_len));
	}
}

static int drop_auth_to_b;
static enum hook_act auth_hook(int dst, const struct msg *m, void *arg)
{
	(void)arg;
	if (drop_auth_to_b && dst == PB && m_exch(m) == IKE_AUTH && !m_resp(m))
		return H_DROP;
	return H_DELIVER;
}

static int find_msg(int dst, uint8_t exch, int resp)
{
	for (int i = 0; i < N.q[dst].n; i++)
		if (m_exch(&N.q[dst].m[i]) == exch && !!m_resp(&N.q[dst].m[i]) == resp)
			return i;
	return -1;
}

/* Regression (found by review): A's IKE_AUTH is lost for longer than B waits
 * for A's half-open SA (3 s), so B initiates too; A answers B and keeps its
 * own attempt, now in IKE_AUTH; A's retransmitted IKE_AUTH reaches B. Each
 * end then authenticated the other's SA; when A dropped its own (already
 * established at B) without a DELETE, each end was left with only the
 * other's SA and no traffic got through. An attempt past IKE_SA_INIT now
 * completes: two IKE SAs, and traffic flows both ways. */
static void test_auth_lost_crossing(void **st)
{
	int k;

	(void)st;
	N.hook = auth_hook;
	peer_start(PA, NULL);
	timer_run_due(loop_now_ms());
	CHECK(N.q[PB].n == 1);
	peer_start(PB, NULL);
	CHECK(deliver_pick(PB, HEAD) == 0); /* B answers A's IKE_SA_INIT: half-open */
	timer_run_due(loop_now_ms());       /* B's tunnel starts and waits for A's SA */
	drop_auth_to_b = 1;
	pump(); /* A's IKE_AUTH is lost */
	usleep(3100000);
	timer_run_due(loop_now_ms()); /* B stops waiting and initiates; A retransmits */
	CHECK((k = find_msg(PA, IKE_SA_INIT, 0)) >= 0);
	deliver_at(PA, k); /* A loses the collision rule: answers, keeps its own */
	CHECK((k = find_msg(PB, IKE_SA_INIT, 1)) >= 0);
	deliver_at(PB, k); /* B sends IKE_AUTH for its SA */
	drop_auth_to_b = 0;
	if ((k = find_msg(PB, IKE_AUTH, 0)) < 0) {
		advance(3000);
		k = find_msg(PB, IKE_AUTH, 0);
	}
	CHECK(k >= 0);
	deliver_at(PB, k); /* A's IKE_AUTH retransmit reaches B */
	pump();
	for (int r = 0; r < 10; r++) {
		advance(30000);
		pump();
	}
	for (int i = 0; i < 2; i++)
		CHECK(established_sa(i) != NULL);
	check_both_ways();
}

static uint64_t o_spi;
static uint64_t m_spi_i(const struct msg *m)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | m->p[i];
	return v;
}

static enum hook_act dbl_hook(int dst, const struct msg *m, void *arg)
{
	(void)arg;
	if (m_spi_i(m) == o_spi && !m_resp(m) &&
	    ((dst == PA && m_exch(m) == CREATE_CHILD_SA) || (dst == PB && m_exch(m) == INFORMATIONAL)))
		return H_DROP;
	return H_DELIVER;
}

/* Regression (child_sa.c, use after free; found by review): B's rekey of
 * CHILD_SA c waits on IKE SA O; A rekeys O into N and N into N2 (c moves
 * along), then rekeys c and deletes it. O still pointed at c. */
static void test_child_deleted_after_two_ike_rekeys(void **st)
{
	struct ike_sa_info a;

	(void)st;
	establish();
	CHECK(list_sa(PA, &a, 1) == 1);
	o_spi = a.spi_i;
	N.hook = dbl_hook;
	CHECK(ike_x_rekey_child(N.p[PB].ike, N.p[PB].out.spi_in) == 0); /* on O, never answered */
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0);       /* O -> N */
	pump();
	CHECK(ike_x_rekey_ike(N.p[PA].ike, N.p[PB].addr) == 0); /* N -> N2 */
	pump();
	CHECK(ike_x_rekey_child(N.p[PA].ike, N.p[PA].out.spi_in) == 0); /* A rekeys c, deletes it */
	pump();
	advance(6100);
	pump();
	advance(12000); /* B's O goes */
	pump();
	advance(35000);
	pump();
	N.hook = NULL;
	for (int i = 0; i < 2; i++)
		CHECK(established_sa(i) != NULL);
	check_both_ways();
}

/* ---------------- (6) INITIAL_CONTACT ---------------- */

static void test_initial_contact(void **st)
{
	struct ike_sa_info b0, b1;
	uint32_t old_b;

	(void)st;
	establish();
	CHECK(list_sa(PB, &b0, 1) == 1);
	old_b = N.p[PB].out.spi_in;
	/* A restarts: no DELETE, its state is gone. */
	peer_stop(PA);
	peer_reset(PA);
	peer_start(PA, NULL);
	pump();
	check_one_pair();
	CHECK(list_sa(PB, &b1, 1) == 1);
	CHECK(b1.spi_i != b0.spi_i && b1.spi_r != b0.spi_r);
	CHECK(N.p[PB].ev[IKE_EV_INITIAL_CONTACT] == 1);
	CHECK(find_in(&N.p[PB], old_b) == NULL);
	CHECK(N.p[PB].out.spi_in != old_b);
	/* The new pair works for rekeying. */
	rekey_child_from(PB);
}

/* ---------------- (7) retransmission ---------------- */

struct drop_spec {
	uint8_t exch;
	int resp;
	unsigned n; /* how many to drop */
};

static enum hook_act drop_hook(int dst, const struct msg *m, void *arg)
{
	struct drop_spec *d = arg;

	if (d->n && m_exch(m) == d->exch && !!m_resp(m) == d->resp) {
		d->n--;
		return H_DROP;
	}
	return H_DELIVER;
}

static enum hook_act dup_hook(int dst, const struct msg *m, void *arg)
{
	return H_DUP;
}

static void test_retransmit_ike_auth(void **st)
{
	struct drop_spec d = {IKE_AUTH, 1, 1};
	struct ike_sa_info a, b;

	(void)st;
	N.hook = drop_hook;
	N.hook_arg = &d;
	peer_start(PA, NULL);
	peer_start(PB, NULL);
	pump();
	CHECK(d.n == 0);
	/* The responder (A) is up; the initiator (B) waits for the lost response. */
	CHECK(list_sa(PB, &b, 1) == 1 && b.initiator && b.state == IKE_SA_CONNECTING);
	CHECK(list_sa(PA, &a, 1) == 1 && a.state == IKE_SA_ESTABLISHED);
	CHECK(!N.p[PB].out.set);
	advance(600);
	CHECK(retransmits(PB) == 1);
	pump();
	check_one_pair();
	CHECK(N.p[PA].n_install_in == 1 && N.p[PB].n_install_in == 1);
	N.hook = NULL;
}

static void test_retransmit_child_rekey(void **st)
{
	struct drop_spec d = {CREATE_CHILD_SA, 1, 1};
	uint32_t old_a;

	(void)st;
	establish();
	old_a = N.p[PA].out.spi_in;
	N.hook = drop_hook;
	N.hook_arg = &d;
	CHECK(ike_x_rekey_child(N.p[PA].ike, old_a) == 0);
	pump();
	CHECK(d.n == 0);
	CHECK(N.p[PA].out.spi_in == old_a); /* no answer yet */
	CHECK(n_live_in(&N.p[PB]) == 2);    /* B has the new inbound SA already */
	advance(600);
	CHECK(retransmits(PA) == 1);
	pump();
	check_one_pair();
	CHECK(N.p[PA].out.spi_in != old_a);
	CHECK(N.p[PB].n_install_in == 2); /* the cached response created nothing */
	N.hook = NULL;
}

/* A request delivered twice gets the cached response, byte for byte. */
static void test_duplicate_request(void **st)
{
	struct msg req, r1, r2;
	uint64_t drops;

	(void)st;
	establish();
	CHECK(ike_x_rekey_child(N.p[PA].ike, N.p[PA].out.spi_in) == 0);
	CHECK(N.q[PB].n == 1);
	req = q_take(PB, 0);
	inject(PB, &req);
	inject(PB, &req);
	free(req.p);
	CHECK(N.q[PA].n == 2);
	r1 = N.q[PA].m[0];
	r2 = N.q[PA].m[1];
	CHECK(m_resp(&r1) && r1.len == r2.len && !memcmp(r1.p, r2.p, r1.len));
	CHECK(N.p[PB].n_install_in == 2);
	drops = bad_count(PA);
	pump();
	check_one_pair();
	CHECK(bad_count(PA) == drops + 1); /* the second copy answered nothing */
	CHECK(N.p[PA].n_install_in == 2 && N.p[PB].n_install_in == 2);
}

/* A copy of a request from another address gets no cached response (it is
 * not authenticated before the cache answers: that would be a reflector). */
static void test_duplicate_from_elsewhere(void **st)
{
	struct msg req;

	(void)st;
	establish();
	CHECK(ike_x_rekey_child(N.p[PA].ike, N.p[PA].out.spi_in) == 0);
	req = q_take(PB, 0);
	inject(PB, &req);
	CHECK(N.q[PA].n == 1);
	inet_pton(AF_INET, "203.0.113.9", &req.src);
	req.sport = htons(7777);
	inject(PB, &req);
	free(req.p);
	CHECK(N.q[PA].n == 1); /* nothing sent toward the other address */
	pump();
	check_one_pair();
}

/* Every message delivered twice, from the first IKE_SA_INIT through rekeys. */
static void test_duplicate_everything(void **st)
{
	(void)st;
	N.hook = dup_hook;
	establish();
	CHECK(N.p[PA].n_install_in == 1 && N.p[PB].n_install_in == 1);
	rekey_child_from(PA);
	rekey_child_from(PB);
	rekey_ike_from(PA, 0, NULL);
	N.hook = NULL;
}

/* ---------------- (8) malformed input ---------------- */

/* Feed m to dst: it must be counted as bad or dropped, answered by nothing,
 * and change no SA. */
static void expect_ignored(int dst, const uint8_t *p, size_t len, const char *what)
{
	struct snap sa, sb;
	uint64_t before = bad_count(dst);
	struct msg m = {N.p[1 - dst].addr, N.p[dst].addr, 500, 500, (uint8_t *)p, len};

	snap_take(PA, &sa);
	snap_take(PB, &sb);
	inject(dst, &m);
	if (bad_count(dst) != before + 1 || N.q[1 - dst].n || N.q[dst].n || !snap_same(PA, &sa) ||
	    !snap_same(PB, &sb)) {
		dump_state();
		fail_msg("%s (%zu bytes) to %c: counters %llu -> %llu, %d answer(s), state %s",
		         what, len, "AB"[dst], (unsigned long long)before,
		         (unsigned long long)bad_count(dst), N.q[1 - dst].n,
		         snap_same(PA, &sa) && snap_same(PB, &sb) ? "unchanged" : "CHANGED");
	}
}

/* Malformed variants of a protected message m sent to dst. */
static void malform_protected(int dst, const struct msg *m)
{
	uint8_t buf[IKE_MSG_MAX];
	size_t len = m->len,
	       cuts[] = {0, 1, 8, 27, 28, 31, 32, len / 2, len - 17, len - 16, len - 1};

	/* An empty INFORMATIONAL: header, SK header, 8-byte IV, pad length, 16-byte ICV. */
	CHECK(len >= 57 && len <= sizeof(buf));
	/* Truncated as is: the header's length no longer matches. */
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++)
		expect_ignored(dst, m->p, cuts[k], "truncated");
	/* Truncated with the header and SK lengths made consistent: the ICV fails. */
	for (size_t cut = 1; cut <= 24; cut += 7) {
		memcpy(buf, m->p, len);
		put32(buf + 24, (uint32_t)(len - cut));
		buf[30] = (uint8_t)((len - cut - IKE_HDR_LEN) >> 8);
		buf[31] = (uint8_t)(len - cut - IKE_HDR_LEN);
		expect_ignored(dst, buf, len - cut, "truncated SK payload");
	}
	/* One flipped bit anywhere in the SK payload or the header it authenticates. */
	for (size_t off = 16; off < len; off += off < 40 ? 1 : 13) {
		if (off >= 20 && off < 28)
			continue; /* message ID and length: below */
		memcpy(buf, m->p, len);
		buf[off] ^= 0x01;
		expect_ignored(dst, buf, len, "flipped bit");
	}
	memcpy(buf, m->p, len);
	buf[len - 1] ^= 0x80;
	expect_ignored(dst, buf, len, "flipped ICV");
	/* Wrong SPIs, wrong flags, wrong message IDs. */
	for (int k = 0; k < 16; k++) {
		memcpy(buf, m->p, len);
		buf[k] ^= 0x40;
		expect_ignored(dst, buf, len, "wrong IKE SPI");
	}
	memcpy(buf, m->p, len);
	buf[19] ^= IKE_FLAG_I;
	expect_ignored(dst, buf, len, "wrong I flag");
	memcpy(buf, m->p, len);
	buf[19] ^= IKE_FLAG_R;
	expect_ignored(dst, buf, len, "wrong R flag");
	for (uint32_t d = 1; d < 4; d++) {
		memcpy(buf, m->p, len);
		put32(buf + 20, m_msgid(m) + d);
		expect_ignored(dst, buf, len, "wrong message ID");
	}
	memcpy(buf, m->p, len);
	put32(buf + 24, (uint32_t)len + 1);
	expect_ignored(dst, buf, len, "length field too long");
	/* Unprotected garbage after a valid header. */
	for (int k = 0; k < 64; k++) {
		size_t n = IKE_HDR_LEN + (size_t)(rnd() % 200);
		memcpy(buf, m->p, IKE_HDR_LEN);
		for (size_t i = IKE_HDR_LEN; i < n; i++)
			buf[i] = (uint8_t)rnd();
		put32(buf + 24, (uint32_t)n);
		if (k & 1)
			buf[16] = IKE_PLD_SK;
		expect_ignored(dst, buf, n, "garbage payloads");
	}
}

static void test_malformed(void **st)
{
	struct msg req, resp;
	uint8_t buf[IKE_MSG_MAX];
	size_t ilen;

	(void)st;
	establish();
	/* A request from A to B (a liveness check), taken off the wire. */
	CHECK(ike_x_liveness_check(N.p[PA].ike, N.p[PB].addr) == 0);
	CHECK(N.q[PB].n == 1);
	req = q_take(PB, 0);
	CHECK(m_exch(&req) == INFORMATIONAL && !m_resp(&req));
	malform_protected(PB, &req);
	/* The real request is still welcome: bad input consumed no message ID. */
	inject(PB, &req);
	free(req.p);
	CHECK(N.q[PA].n == 1);
	resp = q_take(PA, 0);
	CHECK(m_resp(&resp));
	/* The same against A's response path: A's request stays outstanding. */
	malform_protected(PA, &resp);
	inject(PA, &resp);
	free(resp.p);
	CHECK(N.q[PB].n == 0);
	/* A's window is free again: a rekey goes out at once. */
	CHECK(ike_x_rekey_child(N.p[PA].ike, N.p[PA].out.spi_in) == 0);
	CHECK(N.q[PB].n == 1);
	pump();
	check_one_pair();
	CHECK(retransmits(PA) == 0 && retransmits(PB) == 0);

	/* IKE_SA_INIT requests that do not parse create no half-open SA. */
	ilen = N.p[PA].init_req_len;
	CHECK(N.p[PA].init_req && ilen > 60);
	for (size_t cut = 0; cut < ilen; cut += cut < 40 ? 1 : 17)
		expect_ignored(PB, N.p[PA].init_req, cut, "truncated IKE_SA_INIT");
	memcpy(buf, N.p[PA].init_req, ilen);
	buf[IKE_HDR_LEN + 2] = 0xff, buf[IKE_HDR_LEN + 3] = 0xff; /* first payload's length */
	expect_ignored(PB, buf, ilen, "IKE_SA_INIT with a payload longer than the message");
	memcpy(buf, N.p[PA].init_req, ilen);
	buf[IKE_HDR_LEN + 2] = 0, buf[IKE_HDR_LEN + 3] = 3; /* shorter than its header */
	expect_ignored(PB, buf, ilen, "IKE_SA_INIT with a payload shorter than its header");
	memcpy(buf, N.p[PA].init_req, ilen);
	buf[17] = 0x30; /* IKE version 3 */
	expect_ignored(PB, buf, ilen, "IKE_SA_INIT of another major version");
	check_one_pair();
}

/* ---------------- (9) PSK mismatch ---------------- */

static void check_nothing_up(void)
{
	for (int i = 0; i < 2; i++) {
		struct ike_sa_info v[8];
		size_t n = list_sa(i, v, 8);
		for (size_t k = 0; k < n && k < 8; k++)
			CHECK(v[k].state != IKE_SA_ESTABLISHED);
		CHECK(n_live_in(&N.p[i]) == 0);
		CHECK(!N.p[i].out.set);
		CHECK(N.p[i].n_install_out == 0);
		CHECK(N.p[i].ev[IKE_EV_ESTABLISHED] == 0 && N.p[i].ev[IKE_EV_CHILD_UP] == 0);
		CHECK(N.p[i].anomalies == 0);
	}
}

static void test_psk_mismatch(void **st)
{
	(void)st;
	peer_start(PA, NULL);
	peer_start(PB, WRONG_PSK);
	pump();
	check_nothing_up();
	/* The initiator retries with backoff; it keeps failing the same way. */
	for (int k = 0; k < 3; k++) {
		advance(2100);
		pump();
		check_nothing_up();
	}
}

/* The same with A initiating alone (B's tunnel starts later). */
static void test_psk_mismatch_a_initiates(void **st)
{
	(void)st;
	peer_start(PA, WRONG_PSK);
	timer_run_due(loop_now_ms());
	peer_start(PB, NULL);
	pump();
	check_nothing_up();
	advance(2100);
	pump();
	check_nothing_up();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_simultaneous_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_staggered_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_crossing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_one_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_delete_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ike_hard_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_behind_full_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nat_keepalive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_simultaneous_start_behind_nat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_reordered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_collision_busy_window, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_crossing_ike_rekey, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_crossing_ike_rekey_old_deleted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_child_lost_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_ike, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_ike_collision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_ike_collision_lost_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_ike_collision_delete_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_ike_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_spi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cookie_challenge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit_max_sa, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit_in_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit_outgoing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit_outgoing_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit_simultaneous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show_ids_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_deleted_after_ike_rekey, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_spi_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_sa_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_init_keeps_ours, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_open_per_peer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_lost_crossing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_deleted_after_two_ike_rekeys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_initial_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmit_ike_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmit_child_rekey, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_from_elsewhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_psk_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_psk_mismatch_a_initiates, setup, teardown),
	};
	if (getenv("XCHG_TEST"))
		cmocka_set_test_filter(getenv("XCHG_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
