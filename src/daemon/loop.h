/* The control thread's event loop: epoll for fds, one timerfd driving a binary
 * heap of timers (O(log n) arm/cancel), signals via signalfd. Only the control
 * thread calls these; data-plane threads run their own epoll. */
#ifndef INSYNC_LOOP_H
#define INSYNC_LOOP_H
#include <stddef.h>
#include <stdint.h>

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);

struct timer;
typedef void (*timer_cb)(struct timer *t, void *arg);

struct timer {
	uint64_t when_ms; /* absolute, loop_now_ms() clock */
	size_t heap_idx;  /* 0 = not armed, else index+1 */
	timer_cb cb;
	void *arg;
};

int loop_init(void);
void loop_free(void);
/* Run until loop_stop(); returns 0. */
int loop_run(void);
void loop_stop(void);

int loop_add_fd(int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(int fd, uint32_t events);
void loop_del_fd(int fd);

/* Monotonic milliseconds. */
uint64_t loop_now_ms(void);

/* Set t's callback; an armed t is cancelled first. t must start zeroed. */
void timer_init(struct timer *t, timer_cb cb, void *arg);
/* (Re)arm t to fire delay_ms from now. */
void timer_arm(struct timer *t, uint64_t delay_ms);
void timer_cancel(struct timer *t);
int timer_armed(const struct timer *t);
/* Number of armed timers (tests). */
size_t timer_count(void);
/* Fire all timers due at or before now_ms (used by loop and by unit tests). */
void timer_run_due(uint64_t now_ms);
/* Milliseconds until the next timer, or -1 if none. */
int64_t timer_next_delay(uint64_t now_ms);

/* Test hook: multiply all timer delays by scale/1000 (INSYNC_TIME_SCALE env, per mille). */
void loop_set_time_scale(unsigned per_mille);
/* A duration as timers see it under that scale (for durations compared with loop_now_ms). */
uint64_t loop_scaled_ms(uint64_t ms);
#endif
