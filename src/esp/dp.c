/* Data-plane lifecycle: worker threads, their epoll sets, and dp_apply(), which
 * makes TUN devices, addresses, routes and manual-key SAs match the config.
 *
 * Threads: one worker per data-plane core, each with its own epoll over the
 * TUN devices of its tunnels and the ESP sockets. This box has two cores and
 * the control thread needs one, so the default is one worker
 * (INSYNC_DP_THREADS overrides it, up to DP_MAX_THREADS; only worker 0 reads
 * the ESP sockets until per-thread steering lands).
 *
 * Workers share out tunnels, not flows: a tunnel belongs to worker (number mod
 * workers), so one thread takes an outbound SA's sequence numbers and sends
 * them in order. Two threads encrypting on one SA would each hold a batch of
 * numbered packets and send them late, and a peer whose replay window is
 * smaller than the gap (64 on IOS, 32 on strongSwan) would drop them.
 *
 * TUN queues are registered in epoll by a handle (slot + generation), never by
 * pointer: an event dequeued just before a tunnel is removed finds an empty
 * slot instead of freed memory. Removed queues are closed after a grace period. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "daemon/loop.h"
#include "esp/dp_int.h"
#include "esp/spi_filter.h"
#include "ops/log.h"
#include "sync/invalid_spi.h"

#define H_WAKE 0u
#define H_RAW 1u
#define H_UDP 2u
#define H_TUN0 16u
#define HOUSEKEEPING_MS 100

struct hslot {
	_Atomic(struct dp_tunq *) q;
	_Atomic uint32_t gen;
};

struct worker {
	pthread_t th;
	int ep, wake_fd, reader, started;
	_Atomic int stop;
	struct dp_thread *pkt;
};

struct dp_tunnel *dp_tunnels;
static struct worker workers[DP_MAX_THREADS];
static int nworkers, running;
static struct hslot hslots[DP_MAX_HANDLES];
static struct timer housekeeping;

int dp_nthreads(void)
{
	return nworkers;
}

struct dp_tunnel *dp_tunnel_find(unsigned num)
{
	for (struct dp_tunnel *t = dp_tunnels; t; t = t->next)
		if (t->num == num)
			return t;
	return NULL;
}

/* ---- worker threads ---- */

/* An outbound SA appeared somewhere: send what this worker's queues hold. */
static void worker_flush_held(struct worker *w)
{
	int idx = (int)(w - workers);

	for (uint32_t i = 0; i < DP_MAX_HANDLES; i++) {
		struct dp_tunq *q = atomic_load(&hslots[i].q);
		if (q && q->worker == idx && q->hold && q->hold->n)
			dp_pkt_hold_flush(w->pkt, q);
	}
}

void dp_workers_wake(void)
{
	uint64_t one = 1;

	for (int i = 0; i < nworkers; i++)
		if (workers[i].wake_fd >= 0 && write(workers[i].wake_fd, &one, sizeof(one)) < 0)
			continue; /* the counter is full: a wake is pending anyway */
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	sigset_t all;

	/* Signals belong to the control thread's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&w->stop)) {
		sad_reader_offline(w->reader);
		int n = epoll_wait(w->ep, evs, 64, 1000);
		sad_reader_online(w->reader);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		dp_pkt_batch_start(w->pkt);
		for (int i = 0; i < n; i++) {
			uint32_t h = (uint32_t)evs[i].data.u64, gen = (uint32_t)(evs[i].data.u64 >> 32);
			uint64_t v;
			struct dp_tunq *q;

			if (h == H_WAKE) {
				if (read(w->wake_fd, &v, sizeof(v)) < 0)
					continue;
				worker_flush_held(w);
			} else if (h == H_RAW) {
				dp_pkt_raw(w->pkt);
			} else if (h == H_UDP) {
				dp_pkt_udp(w->pkt);
			} else if (h >= H_TUN0 && h - H_TUN0 < DP_MAX_HANDLES) {
				struct hslot *s = &hslots[h - H_TUN0];
				/* The slot may have been given to another tunnel since
				 * the event: only a queue this worker owns is read, so one
				 * thread alone encrypts on each outbound SA. */
				q = atomic_load(&s->q);
				if (q && q->worker == (int)(w - workers) && atomic_load(&s->gen) == gen)
					dp_pkt_tun(w->pkt, q);
			}
		}
		dp_pkt_batch_end(w->pkt);
		dp_events_kick((int)(w - workers));
	}
	sad_reader_offline(w->reader);
	return NULL;
}

static int ep_add(int ep, int fd, uint64_t data)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = data};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int handle_add(struct dp_tunq *q)
{
	for (uint32_t i = 0; i < DP_MAX_HANDLES; i++) {
		struct hslot *s = &hslots[i];
		if (atomic_load(&s->q))
			continue;
		uint32_t gen = atomic_fetch_add(&s->gen, 1) + 1;
		atomic_store(&s->q, q);
		if (ep_add(workers[q->worker].ep, q->fd, (uint64_t)gen << 32 | (H_TUN0 + i))) {
			atomic_store(&s->q, NULL);
			return -1;
		}
		return (int)i;
	}
	return -1;
}

static void tunq_free(void *p)
{
	struct dp_tunq *q = p;

	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->hold);
	free(q);
}

static void handle_del(int h)
{
	struct hslot *s;
	struct dp_tunq *q;

	if (h < 0)
		return;
	s = &hslots[h];
	q = atomic_exchange(&s->q, NULL);
	atomic_fetch_add(&s->gen, 1);
	if (q)
		epoll_ctl(workers[q->worker].ep, EPOLL_CTL_DEL, q->fd, NULL);
	sad_retire(tunq_free, q);
}

static void on_housekeeping(struct timer *t, void *arg)
{
	sad_expire(sad_now_ms());
	sad_reclaim();
	timer_arm(t, HOUSEKEEPING_MS);
}

/* ---- tunnels ---- */

static void tunnel_destroy(struct dp_tunnel *t)
{
	struct dp_tunnel **pp = &dp_tunnels;

	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	if (t->st)
		atomic_store(&t->st->tun_fd, -1);
	if (t->handle >= 0)
		handle_del(t->handle); /* retires the queue: fd closed after grace */
	else if (t->q)
		sad_retire(tunq_free, t->q);
	sad_tun_remove(t->num);
	spi_filter_peer_release(t->dst);
	OPENSSL_cleanse(&t->key_in, sizeof(t->key_in));
	OPENSSL_cleanse(&t->key_out, sizeof(t->key_out));
	free(t);
}

static struct dp_tunnel *tunnel_create(unsigned num)
{
	struct dp_tunnel *t = calloc(1, sizeof(*t));
	struct dp_tunq *q;
	int rc = -1;

	if (!t)
		return NULL;
	t->num = num;
	t->worker = nworkers > 1 ? (int)(num % (unsigned)nworkers) : 0;
	t->handle = -1;
	snprintf(t->name, sizeof(t->name), "Tunnel%u", num);
	t->admin_up = -1;
	t->next = dp_tunnels;
	dp_tunnels = t;
	if (!(t->st = sad_tun_get(num, 1)))
		goto out;
	if (!(q = calloc(1, sizeof(*q))) || !(q->hold = calloc(1, sizeof(*q->hold)))) {
		free(q);
		goto out;
	}
	q->num = num;
	q->worker = t->worker;
	q->st = t->st;
	q->fd = tun_open(t->name, &t->ifindex);
	t->q = q;
	if (q->fd < 0) {
		log_ios(LOG_SEV_ERR, "TUN", "OPEN_FAIL", "cannot create %s: %s", t->name, strerror(errno));
		goto out;
	}
	if ((t->handle = handle_add(q)) < 0)
		goto out;
	atomic_store(&t->st->tun_fd, q->fd);
	tun_no_ipv6(t->name);
	rc = 0;
out:
	if (rc) {
		tunnel_destroy(t);
		return NULL;
	}
	return t;
}

static struct esp_sa *manual_sa(const struct cfg_transform_set *ts, const struct cfg_session_key *k,
				uint32_t window, int inbound)
{
	struct esp_sa_params p = {
		.spi = k->spi, .cipher = ts->cipher, .auth = ts->auth,
		.enc_key = k->cipher, .enc_key_len = k->cipher_len,
		.auth_key = k->auth_len ? k->auth : NULL, .auth_key_len = k->auth_len,
		.esn = 0, .replay_window = window ? window : 64,
	};
	return esp_sa_new(&p, inbound);
}

static void manual_remove(struct dp_tunnel *t)
{
	if (!t->has_manual)
		return;
	if (t->manual_in_spi)
		sad_remove_in(t->manual_in_spi, 0, 0);
	if (t->key_out.present)
		dp_sa_clear_out(t->num);
	t->has_manual = 0;
	t->manual_in_spi = 0;
	OPENSSL_cleanse(&t->key_in, sizeof(t->key_in));
	OPENSSL_cleanse(&t->key_out, sizeof(t->key_out));
}

/* Install the profile's `set session-key` SAs; untouched when nothing changed,
 * so a reload keeps counters and the replay window. */
static void manual_apply(struct dp_tunnel *t, const struct cfg_ipsec_profile *p,
			 const struct dp_sa_path *path, uint32_t window)
{
	uint64_t now = sad_now_ms(), seq = 0;
	int want = p && p->ts && (p->key_in.present || p->key_out.present);
	int same_keys = want && t->has_manual && t->cipher == p->ts->cipher && t->auth == p->ts->auth &&
			!memcmp(&t->key_in, &p->key_in, sizeof(p->key_in)) &&
			!memcmp(&t->key_out, &p->key_out, sizeof(p->key_out));
	struct sad_tun *st;
	struct sad_sa *old;
	struct esp_sa *out;

	if (same_keys && !memcmp(&t->mpath, path, sizeof(*path)))
		return;
	/* Only the path changed (tunnel source, udp-encapsulation): the new
	 * outbound SA has the old key, so it must go on from the old sequence
	 * number. Starting again at 1 would repeat GCM nonces under that key.
	 * The old SA is closed at its exact last number: a worker still on it
	 * gets no further one (that packet drops, without the exhaustion event),
	 * however long the switch takes. */
	if (same_keys && p->key_out.present && (st = sad_tun_get(t->num, 0)) && (old = sad_out(st)) &&
	    old->esp) {
		atomic_fetch_or(&old->flags, SAD_F_SEQ_HARD | SAD_F_SEQ_EV);
		seq = atomic_exchange(&old->esp->seq, UINT64_MAX);
	}
	manual_remove(t);
	if (!want)
		return;
	if (p->key_in.present) {
		if (sad_install_in(t->num, manual_sa(p->ts, &p->key_in, window, 1), path, 1, now))
			log_ios(LOG_SEV_ERR, "CRYPTO", "MANUAL_SA_FAIL",
				"%s: cannot install inbound SA spi 0x%X (bad key or SPI in use)",
				t->name, p->key_in.spi);
		else
			t->manual_in_spi = p->key_in.spi;
	}
	if (p->key_out.present) {
		if ((out = manual_sa(p->ts, &p->key_out, window, 0)))
			atomic_store(&out->seq, seq);
		if (sad_set_out(t->num, out, path, 1, now))
			log_ios(LOG_SEV_ERR, "CRYPTO", "MANUAL_SA_FAIL",
				"%s: cannot install outbound SA spi 0x%X (bad key)", t->name, p->key_out.spi);
	}
	t->has_manual = 1;
	t->cipher = p->ts->cipher;
	t->auth = p->ts->auth;
	t->mpath = *path;
	t->key_in = p->key_in;
	t->key_out = p->key_out;
}

/* Can we send from a? bind() refuses an address the host does not have. */
static int addr_is_ours(uint32_t a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = a};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 1; /* cannot tell: no warning */
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno != EADDRNOTAVAIL;
	close(fd);
	return ok;
}

static void tunnel_update(struct dp_tunnel *t, const struct cfg_tunnel *ct, const struct config *cfg)
{
	const struct cfg_ipsec_profile *p = ct->protection;
	struct dp_sa_path path;
	int plen = ct->has_addr ? route_mask_len(ct->mask) : -1, up = !ct->shutdown, rc;

	if (plen < 0)
		plen = 32;
	/* Address: replace only when it changed. */
	if (t->addr != (ct->has_addr ? ct->addr : 0) || t->mask != (ct->has_addr ? ct->mask : 0)) {
		if (t->addr)
			route_addr(t->ifindex, t->addr, route_mask_len(t->mask) < 0 ? 32 : route_mask_len(t->mask), 0);
		t->addr = ct->has_addr ? ct->addr : 0;
		t->mask = ct->has_addr ? ct->mask : 0;
		if (t->addr && (rc = route_addr(t->ifindex, t->addr, plen, 1)))
			log_ios(LOG_SEV_ERR, "TUN", "ADDR_FAIL", "%s: cannot set address: %s", t->name,
				strerror(-rc));
	}
	if (t->admin_up != up) {
		if ((rc = route_link_set(t->ifindex, up, DP_TUN_MTU)))
			log_ios(LOG_SEV_ERR, "TUN", "LINK_FAIL", "%s: cannot set link state: %s",
				t->name, strerror(-rc));
		t->admin_up = up;
	}
	t->src = ct->src ? ct->src : ct->src_if[0] ? route_if_addr(ct->src_if) : 0;
	/* Accepted (the address may come later), but said: otherwise IKE's
	 * unanswered requests would blame the peer. */
	if (ct->src && !addr_is_ours(ct->src)) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &ct->src, a, sizeof(a));
		log_ios(LOG_SEV_WARN, "CRYPTO", "TUNNEL_SOURCE",
			"%s: tunnel source %s is not an address of this host; nothing can be sent from it", t->name, a);
	}
	if (t->dst != ct->dst) {
		spi_filter_peer_release(t->dst);
		spi_filter_peer_hold(ct->dst);
	}
	t->dst = ct->dst;
	snprintf(t->profile, sizeof(t->profile), "%s", p ? p->name : "");
	memset(&path, 0, sizeof(path));
	path.local = t->src;
	path.peer = t->dst;
	path.udp_encap = p ? p->udp_encap : 0;
	path.peer_port = 4500;
	manual_apply(t, p, &path, cfg->replay_window);
}

int dp_apply(const struct config *cfg)
{
	struct dp_tunnel *t, *next;
	int rc = 0;

	if (!running || !cfg)
		return -1;
	invalid_spi_set_interval(cfg->invalid_spi_log_interval ? cfg->invalid_spi_log_interval : 60);
	for (t = dp_tunnels; t; t = t->next)
		t->seen = 0;
	for (const struct cfg_tunnel *ct = cfg->tunnels; ct; ct = ct->next) {
		if (!ct->mode_ipsec_v4)
			continue;
		if (!(t = dp_tunnel_find(ct->num)) && !(t = tunnel_create(ct->num))) {
			rc = -1; /* logged by tunnel_create */
			continue;
		}
		t->seen = 1;
		tunnel_update(t, ct, cfg);
	}
	for (t = dp_tunnels; t; t = next) {
		next = t->next;
		if (!t->seen)
			tunnel_destroy(t);
	}
	route_apply(cfg);
	return rc;
}

/* ---- lifecycle ---- */

int dp_init(void)
{
	const char *env = getenv("INSYNC_DP_THREADS");
	int rc = -1;

	if (running)
		return 0;
	for (int i = 0; i < DP_MAX_THREADS; i++)
		workers[i] = (struct worker){.ep = -1, .wake_fd = -1, .reader = -1};
	nworkers = env ? atoi(env) : 1;
	if (nworkers < 1 || nworkers > DP_MAX_THREADS)
		nworkers = 1;
	if (sad_init() || invalid_spi_init(0) || dp_events_init(nworkers) || xmit_open())
		goto out;
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->reader = sad_reader_register();
		w->pkt = dp_pkt_new(i);
		atomic_store(&w->stop, 0);
		if (w->ep < 0 || w->wake_fd < 0 || w->reader < 0 || !w->pkt ||
		    ep_add(w->ep, w->wake_fd, H_WAKE))
			goto out;
		if (i == 0 && (ep_add(w->ep, dp_xmit.raw_fd, H_RAW) || ep_add(w->ep, dp_xmit.udp_fd, H_UDP)))
			goto out;
		if (pthread_create(&w->th, NULL, worker_main, w))
			goto out;
		w->started = 1;
		/* Named for top -H and /proc/PID/task/N/comm: "insync-dp0", ... */
		char name[16];
		snprintf(name, sizeof(name), "insync-dp%d", i);
		pthread_setname_np(w->th, name);
	}
	running = 1;
	timer_init(&housekeeping, on_housekeeping, NULL);
	timer_arm(&housekeeping, HOUSEKEEPING_MS);
	rc = 0;
out:
	if (rc) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_INIT_FAIL", "data plane did not start: %s",
			strerror(errno));
		running = 1; /* let shutdown undo what was done */
		dp_shutdown();
	}
	return rc;
}

void dp_shutdown(void)
{
	uint64_t one = 1;

	if (!running)
		return;
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		atomic_store(&w->stop, 1);
		if (w->started && (w->wake_fd < 0 || write(w->wake_fd, &one, sizeof(one)) < 0))
			pthread_cancel(w->th);
		if (w->started)
			pthread_join(w->th, NULL);
		w->started = 0;
	}
	timer_cancel(&housekeeping);
	while (dp_tunnels)
		tunnel_destroy(dp_tunnels);
	route_flush();
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		if (w->ep >= 0)
			close(w->ep);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		dp_pkt_free(w->pkt);
		*w = (struct worker){.ep = -1, .wake_fd = -1, .reader = -1};
	}
	xmit_close();
	dp_events_free();
	sad_free(); /* workers are gone: everything retired is freed now */
	invalid_spi_free();
	running = 0;
}
