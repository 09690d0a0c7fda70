/* The per-flow invalid-SPI table (control thread only).
 *
 * Every DP_EV_INVALID_SPI event lands here; one event may stand for several
 * packets of a flow (esp/invspi_gate.h). The flow (source, destination, SPI)
 * is counted, `%CRYPTO-4-RECVD_PKT_INV_SPI` is logged at most once per
 * log interval per flow and at most `line cap` times per second overall, and
 * the sync code is told through a hook. The table has a fixed number of slots
 * (set-associative, least-recently-seen eviction, keyed with a random seed), so
 * a flood of random SPIs cannot grow memory or aim evictions at one flow.
 *
 * prot= in the log line is 50 for ESP over raw IP and for ESP in UDP alike:
 * the SPI belongs to ESP either way (IOS prints 50 for NAT-T traffic too). */
#ifndef INSYNC_INVALID_SPI_H
#define INSYNC_INVALID_SPI_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "esp/dp.h"

struct out;

/* Filled in by the sync code (issue 5); UNKNOWN until it classifies a flow. */
enum invalid_spi_class {
	INVSPI_CLASS_UNKNOWN = 0,
	INVSPI_CLASS_REKEY_TRANSIENT, /* a few packets around a rekey */
	INVSPI_CLASS_PERSISTENT,      /* SAs out of sync with a known peer */
	INVSPI_CLASS_NON_PEER,        /* source is no configured peer */
	INVSPI_CLASS_RECOVERED,       /* repaired; recovered_ms says how fast */
};
enum invalid_spi_action {
	INVSPI_ACT_NONE = 0,
	INVSPI_ACT_COUNT_ONLY,
	INVSPI_ACT_NOTIFY_SENT,   /* INVALID_SPI notify over an existing IKE SA */
	INVSPI_ACT_INITIATED,     /* new IKE SA with INITIAL_CONTACT */
	INVSPI_ACT_RATE_LIMITED,
};

struct invalid_spi_flow {
	uint32_t src, dst, spi;   /* addresses network order */
	uint16_t sport, dport;    /* host order, 0 for raw ESP */
	int udp_encap;
	char ifname[16];
	uint64_t count;
	uint32_t last_add;        /* packets the latest event added to count */
	uint64_t first_ms, last_ms; /* monotonic */
	time_t first_real, last_real;
	uint64_t last_log_ms;     /* 0 = never logged */
	uint64_t logged, suppressed;
	enum invalid_spi_class cls;
	enum invalid_spi_action action;
	uint64_t recovered_ms;    /* time from first packet to repair */
	int in_use;
};

struct invalid_spi_stats {
	uint64_t events, flows_created, evictions, lines, lines_capped;
	size_t slots, in_use;
};

/* is_new: the flow was just created (first packet, or re-created after eviction). */
typedef void (*invalid_spi_hook_fn)(struct invalid_spi_flow *f, int is_new, void *arg);

/* nslots is rounded up to a power of two (min 16); 0 = default 4096. */
int invalid_spi_init(size_t nslots);
void invalid_spi_free(void);
void invalid_spi_set_interval(uint32_t sec);    /* default 60; 0 = every packet */
void invalid_spi_set_line_cap(unsigned per_sec); /* default 10 lines/s in total */
void invalid_spi_set_hook(invalid_spi_hook_fn fn, void *arg);
/* Account one invalid-SPI packet; logs if due, calls the hook. Returns the flow. */
struct invalid_spi_flow *invalid_spi_record(const struct dp_event *ev, uint64_t now_ms);
/* Borrowed; NULL if not in the table. */
struct invalid_spi_flow *invalid_spi_find(uint32_t src, uint32_t dst, uint32_t spi);
/* Visit every flow in the table (the recovery code marks repaired ones). */
typedef void (*invalid_spi_flow_fn)(struct invalid_spi_flow *f, void *arg);
void invalid_spi_foreach(invalid_spi_flow_fn fn, void *arg);
void invalid_spi_stats(struct invalid_spi_stats *st);
/* `show crypto ipsec invalid-spi` */
void invalid_spi_show(struct out *o);
void invalid_spi_clear(void);
const char *invalid_spi_class_name(enum invalid_spi_class c);
const char *invalid_spi_action_name(enum invalid_spi_action a);
#endif
