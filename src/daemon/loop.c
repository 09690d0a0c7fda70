/* Control-thread event loop: epoll + one timerfd over a binary min-heap of
 * timers. Callbacks run on this thread only, so nothing here locks. */
#include "daemon/loop.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_FDS 1024

struct fd_slot {
	loop_fd_cb cb;
	void *arg;
	int used;
};

static int epfd = -1, tfd = -1;
static int running;
static struct fd_slot slots[LOOP_MAX_FDS];
/* Each heap entry carries its deadline, so sifting compares within the array
 * instead of reaching into timers scattered over SAs (a cache miss per level
 * with tens of thousands of SAs). */
struct hent {
	uint64_t when;
	struct timer *t;
};
static struct hent *heap;
static size_t heap_len, heap_cap;
static unsigned time_scale = 1000;

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_scaled_ms(uint64_t ms)
{
	return ms * time_scale / 1000;
}

void loop_set_time_scale(unsigned per_mille)
{
	time_scale = per_mille ? per_mille : 1000;
}

/* --- timer heap --- */

static void heap_swap(size_t a, size_t b)
{
	struct hent e = heap[a];
	heap[a] = heap[b];
	heap[b] = e;
	heap[a].t->heap_idx = a + 1;
	heap[b].t->heap_idx = b + 1;
}

static void heap_up(size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (heap[p].when <= heap[i].when)
			break;
		heap_swap(i, p);
		i = p;
	}
}

static void heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < heap_len && heap[l].when < heap[m].when)
			m = l;
		if (r < heap_len && heap[r].when < heap[m].when)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
}

static void heap_remove(size_t i)
{
	struct timer *moved;

	heap[i].t->heap_idx = 0;
	heap_len--;
	if (i == heap_len)
		return;
	heap[i] = heap[heap_len];
	moved = heap[i].t;
	moved->heap_idx = i + 1;
	heap_up(i);
	heap_down(moved->heap_idx - 1);
}

/* The timerfd is programmed with an absolute deadline, and only when the
 * earliest timer moves earlier than what is programmed: arming a later timer
 * or cancelling one costs no system call (setup-rate profiles showed one
 * timerfd_settime per arm and cancel). An early wake-up is harmless: it runs
 * nothing and programs the real deadline. */
static uint64_t tfd_when; /* programmed deadline in ms, 0 if none */

static void timerfd_rearm(void)
{
	struct itimerspec its;
	uint64_t when;

	if (tfd < 0 || heap_len == 0)
		return;
	when = heap[0].when ? heap[0].when : 1;
	if (tfd_when && tfd_when <= when)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(when / 1000);
	its.it_value.tv_nsec = (long)(when % 1000) * 1000000;
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		tfd_when = when;
}

void timer_init(struct timer *t, timer_cb cb, void *arg)
{
	/* Re-initialising an armed timer must not leave it in the heap. Timers
	 * live in zeroed memory before their first init, so heap_idx is 0 then. */
	if (t->heap_idx && t->heap_idx <= heap_len && heap[t->heap_idx - 1].t == t)
		timer_cancel(t);
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

int timer_armed(const struct timer *t)
{
	return t->heap_idx != 0;
}

size_t timer_count(void)
{
	return heap_len;
}

void timer_cancel(struct timer *t)
{
	if (t == NULL || t->heap_idx == 0)
		return;
	heap_remove(t->heap_idx - 1);
	timerfd_rearm();
}

void timer_arm(struct timer *t, uint64_t delay_ms)
{
	if (t->heap_idx)
		heap_remove(t->heap_idx - 1);
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct hent *n = realloc(heap, cap * sizeof(*n));
		if (n == NULL)
			abort(); /* the loop cannot run without its timers */
		heap = n;
		heap_cap = cap;
	}
	t->when_ms = loop_now_ms() + delay_ms * time_scale / 1000;
	heap[heap_len] = (struct hent){t->when_ms, t};
	t->heap_idx = ++heap_len;
	heap_up(heap_len - 1);
	timerfd_rearm();
}

int64_t timer_next_delay(uint64_t now_ms)
{
	if (heap_len == 0)
		return -1;
	return heap[0].when > now_ms ? (int64_t)(heap[0].when - now_ms) : 0;
}

void timer_run_due(uint64_t now_ms)
{
	/* Bounded: a callback that re-arms at 0 delay runs again next round. */
	size_t budget = heap_len + 64;
	while (heap_len > 0 && heap[0].when <= now_ms && budget-- > 0) {
		struct timer *t = heap[0].t;
		heap_remove(0);
		if (t->cb) /* armed before it was given a callback: a bug, not a crash */
			t->cb(t, t->arg);
	}
	if (tfd_when <= now_ms)
		tfd_when = 0; /* it has fired */
	timerfd_rearm();
}

/* --- fds --- */

int loop_add_fd(int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (fd < 0 || fd >= LOOP_MAX_FDS || epfd < 0)
		return -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	slots[fd] = (struct fd_slot){cb, arg, 1};
	return 0;
}

int loop_mod_fd(int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (fd < 0 || fd >= LOOP_MAX_FDS || !slots[fd].used)
		return -1;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

void loop_del_fd(int fd)
{
	if (fd < 0 || fd >= LOOP_MAX_FDS || !slots[fd].used)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&slots[fd], 0, sizeof(slots[fd]));
}

static void on_timerfd(int fd, uint32_t events, void *arg)
{
	uint64_t n;
	while (read(fd, &n, sizeof(n)) == sizeof(n))
		;
	timer_run_due(loop_now_ms());
}

int loop_init(void)
{
	const char *s = getenv("INSYNC_TIME_SCALE");
	if (s && *s)
		loop_set_time_scale((unsigned)strtoul(s, NULL, 10));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (epfd < 0 || tfd < 0)
		return -1;
	return loop_add_fd(tfd, EPOLLIN, on_timerfd, NULL);
}

void loop_stop(void)
{
	running = 0;
}

int loop_run(void)
{
	struct epoll_event evs[64];
	running = 1;
	while (running) {
		int n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && running; i++) {
			int fd = evs[i].data.fd;
			if (fd >= 0 && fd < LOOP_MAX_FDS && slots[fd].used)
				slots[fd].cb(fd, evs[i].events, slots[fd].arg);
		}
	}
	return 0;
}

void loop_free(void)
{
	for (size_t i = 0; i < heap_len; i++)
		heap[i].t->heap_idx = 0;
	free(heap);
	heap = NULL;
	heap_len = heap_cap = 0;
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	tfd = epfd = -1;
	tfd_when = 0;
	memset(slots, 0, sizeof(slots));
}
