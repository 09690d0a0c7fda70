/* Events from the data-plane threads to the control thread.
 *
 * One bounded single-producer/single-consumer ring per data-plane thread and a
 * single eventfd on the control loop. The producer never blocks and never
 * allocates: a full ring drops the event and counts it. It writes the eventfd
 * at most once per batch, and only when the consumer has not been signalled
 * since its last drain, so a flood costs a handful of syscalls per second.
 * All formatting (logs, show) happens here, on the control thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "daemon/loop.h"
#include "esp/dp_int.h"
#include "ops/log.h"
#include "sync/invalid_spi.h"

#define DRAIN_BUDGET 65536

struct ring {
	_Atomic uint32_t head; /* written by the producer */
	char pad0[60];
	_Atomic uint32_t tail; /* written by the consumer */
	char pad1[60];
	_Atomic int signalled;
	int pending;           /* producer-local: pushed since the last kick */
	_Atomic uint64_t dropped;
	struct dp_event ev[DP_EV_RING];
	/* IKE messages found on the ESP socket (see dp_events_push_ike) */
	_Atomic uint32_t ike_head, ike_tail;
	struct ike_slot {
		uint32_t src, dst;
		uint16_t sport, len;
		uint8_t p[DP_IKE_SLOT_MAX];
	} ike[DP_IKE_SLOTS];
};

static struct ring *rings;
static int nrings;
static int efd = -1;
static dp_event_fn user_fn;
static void *user_arg;

void dp_set_event_handler(dp_event_fn fn, void *arg)
{
	user_fn = fn;
	user_arg = arg;
}

void dp_events_push(int r, const struct dp_event *ev)
{
	struct ring *q = &rings[r];
	uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (h - t >= DP_EV_RING) {
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		dp_stat_add(&dp_stats.ev_dropped, 1);
		return;
	}
	q->ev[h & (DP_EV_RING - 1)] = *ev;
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	q->pending = 1;
}

/* GRO merges datagrams of one flow into one before the port-4500 steering
 * sees them, so an IKE message (a DPD, a rekey) can arrive on the ESP socket
 * behind ESP packets. The data plane cannot run IKE: it copies the message
 * here and the control thread takes it as if from the IKE socket. */
int dp_events_push_ike(int r, const uint8_t *p, size_t len, uint32_t src, uint16_t sport, uint32_t dst)
{
	struct ring *q = &rings[r];
	uint32_t h = atomic_load_explicit(&q->ike_head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&q->ike_tail, memory_order_acquire);
	struct ike_slot *s;

	if (len > DP_IKE_SLOT_MAX || h - t >= DP_IKE_SLOTS)
		return -1;
	s = &q->ike[h % DP_IKE_SLOTS];
	s->src = src, s->dst = dst, s->sport = sport, s->len = (uint16_t)len;
	memcpy(s->p, p, len);
	atomic_store_explicit(&q->ike_head, h + 1, memory_order_release);
	q->pending = 1;
	return 0;
}

void dp_events_kick(int r)
{
	struct ring *q = &rings[r];
	uint64_t one = 1;

	if (!q->pending)
		return;
	q->pending = 0;
	if (!atomic_exchange(&q->signalled, 1) && write(efd, &one, sizeof(one)) < 0)
		atomic_store(&q->signalled, 0); /* retry on the next kick */
}

/* The control thread's own reactions, before the user's handler. */
static void handle(const struct dp_event *ev)
{
	struct sad_tun *t;
	struct sad_sa *s;

	switch (ev->type) {
	case DP_EV_INVALID_SPI:
		invalid_spi_record(ev, loop_now_ms());
		break;
	case DP_EV_SEQ_EXHAUSTED:
		/* A manual SA cannot be rekeyed: it stops sending; say so once. */
		t = sad_tun_get(ev->tunnel, 0);
		s = t ? sad_out(t) : NULL;
		if (s && s->manual && s->esp->spi == ev->spi &&
		    atomic_load(&s->esp->seq) >= UINT32_MAX &&
		    !(atomic_fetch_or(&s->flags, SAD_F_SEQ_LOGGED) & SAD_F_SEQ_LOGGED))
			log_ios(LOG_SEV_ERR, "CRYPTO", "IPSEC_SEQ_EXHAUSTED",
				"Tunnel%u: manual SA spi 0x%X(%u) used all sequence numbers; "
				"it stops sending until new keys are configured",
				ev->tunnel, ev->spi, ev->spi);
		break;
	default:
		break;
	}
	if (user_fn)
		user_fn(ev, user_arg);
}

static void on_events(int fd, uint32_t events, void *arg)
{
	uint64_t v;
	int budget = DRAIN_BUDGET, more = 0;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (int r = 0; r < nrings; r++) {
		struct ring *q = &rings[r];
		atomic_store(&q->signalled, 0);
		uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		uint32_t h = atomic_load(&q->head);
		for (; t != h && budget > 0; t++, budget--) {
			struct dp_event ev = q->ev[t & (DP_EV_RING - 1)];
			atomic_store_explicit(&q->tail, t + 1, memory_order_release);
			handle(&ev);
		}
		if (t != h)
			more = 1;
		/* What is there now, at most a ring's worth: a data plane that keeps
		 * refilling it must not hold the control thread here. */
		h = atomic_load(&q->ike_head);
		for (t = atomic_load_explicit(&q->ike_tail, memory_order_relaxed); t != h; t++) {
			const struct ike_slot *s = &q->ike[t % DP_IKE_SLOTS];
			xmit_ike_deliver(s->p, s->len, s->src, s->sport, s->dst);
			atomic_store_explicit(&q->ike_tail, t + 1, memory_order_release);
		}
		if (atomic_load(&q->ike_head) != h)
			more = 1;
	}
	if (more) {
		/* Leave the rest for the next turn of the loop: timers and the CLI run too. */
		v = 1;
		if (write(fd, &v, sizeof(v)) < 0)
			log_ios(LOG_SEV_ERR, "CRYPTO", "DP_EVENTS", "cannot re-arm the event fd");
	}
}

int dp_events_init(int n)
{
	dp_events_free();
	if (n <= 0 || posix_memalign((void **)&rings, 64, sizeof(*rings) * (size_t)n)) {
		rings = NULL;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		atomic_init(&rings[i].head, 0);
		atomic_init(&rings[i].tail, 0);
		atomic_init(&rings[i].signalled, 0);
		atomic_init(&rings[i].dropped, 0);
		atomic_init(&rings[i].ike_head, 0);
		atomic_init(&rings[i].ike_tail, 0);
		rings[i].pending = 0;
	}
	nrings = n;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || loop_add_fd(efd, EPOLLIN, on_events, NULL)) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "DP_EVENTS", "cannot set up the event fd");
		return -1;
	}
	return 0;
}

void dp_events_free(void)
{
	if (efd >= 0) {
		loop_del_fd(efd);
		close(efd);
	}
	efd = -1;
	free(rings);
	rings = NULL;
	nrings = 0;
}
