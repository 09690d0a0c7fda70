/* The per-flow invalid-SPI table and its rate-limited log line (see invalid_spi.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "ops/log.h"
#include "ops/ratelimit.h"
#include "sync/invalid_spi.h"
#include "util/out.h"

#define INVSPI_WAYS 4
#define INVSPI_DEFAULT_SLOTS 4096
#define INVSPI_DEFAULT_CAP 10

static struct invalid_spi_flow *tab;
static size_t nsets; /* power of two */
static uint64_t seed;
static uint64_t interval_ms = 60000;
static unsigned line_cap = INVSPI_DEFAULT_CAP;
static struct tokbucket lines_tb;
static invalid_spi_hook_fn hook;
static void *hook_arg;
static struct invalid_spi_stats stats;

int invalid_spi_init(size_t nslots)
{
	size_t n = 16;

	if (!nslots)
		nslots = INVSPI_DEFAULT_SLOTS;
	while (n < nslots)
		n <<= 1;
	invalid_spi_free();
	if (!(tab = calloc(n, sizeof(*tab))))
		return -1;
	nsets = n / INVSPI_WAYS;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = 0x5bd1e995u;
	tokbucket_init(&lines_tb, line_cap, line_cap);
	memset(&stats, 0, sizeof(stats));
	stats.slots = n;
	return 0;
}

void invalid_spi_free(void)
{
	free(tab);
	tab = NULL;
	nsets = 0;
}

void invalid_spi_set_interval(uint32_t sec)
{
	interval_ms = (uint64_t)sec * 1000;
}

void invalid_spi_set_line_cap(unsigned per_sec)
{
	line_cap = per_sec ? per_sec : 1;
	tokbucket_init(&lines_tb, line_cap, line_cap);
}

void invalid_spi_set_hook(invalid_spi_hook_fn fn, void *arg)
{
	hook = fn;
	hook_arg = arg;
}

/* Keyed mix (splitmix64 finaliser) so a sender cannot aim SPIs at one set. */
static size_t set_of(uint32_t src, uint32_t dst, uint32_t spi)
{
	uint64_t h = ((uint64_t)src << 32 | dst) ^ seed;
	h ^= (uint64_t)spi * 0x9E3779B97F4A7C15ull;
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBull;
	h ^= h >> 31;
	return (size_t)h & (nsets - 1);
}

struct invalid_spi_flow *invalid_spi_find(uint32_t src, uint32_t dst, uint32_t spi)
{
	struct invalid_spi_flow *set;

	if (!tab)
		return NULL;
	set = &tab[set_of(src, dst, spi) * INVSPI_WAYS];
	for (int i = 0; i < INVSPI_WAYS; i++)
		if (set[i].in_use && set[i].src == src && set[i].dst == dst && set[i].spi == spi)
			return &set[i];
	return NULL;
}

/* Find the flow or take the set's free / least recently seen slot. */
static struct invalid_spi_flow *get_flow(const struct dp_event *ev, int *is_new)
{
	struct invalid_spi_flow *set = &tab[set_of(ev->src, ev->dst, ev->spi) * INVSPI_WAYS];
	struct invalid_spi_flow *victim = NULL;

	*is_new = 0;
	for (int i = 0; i < INVSPI_WAYS; i++) {
		struct invalid_spi_flow *f = &set[i];
		if (f->in_use && f->src == ev->src && f->dst == ev->dst && f->spi == ev->spi)
			return f;
		if (!f->in_use) {
			if (!victim || victim->in_use)
				victim = f;
		} else if (!victim || (victim->in_use && f->last_ms < victim->last_ms)) {
			victim = f;
		}
	}
	if (victim->in_use)
		stats.evictions++;
	else
		stats.in_use++;
	memset(victim, 0, sizeof(*victim));
	victim->in_use = 1;
	victim->src = ev->src;
	victim->dst = ev->dst;
	victim->spi = ev->spi;
	stats.flows_created++;
	*is_new = 1;
	return victim;
}

static void log_flow(struct invalid_spi_flow *f)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	struct in_addr a;

	a.s_addr = f->src;
	inet_ntop(AF_INET, &a, s, sizeof(s));
	a.s_addr = f->dst;
	inet_ntop(AF_INET, &a, d, sizeof(d));
	log_ios(LOG_SEV_WARN, "CRYPTO", "RECVD_PKT_INV_SPI",
		"decaps: rec'd IPSEC packet has invalid spi for destaddr=%s, prot=50, spi=0x%X(%u), "
		"srcaddr=%s, input interface=%s",
		d, f->spi, f->spi, s, f->ifname[0] ? f->ifname : "unknown");
}

struct invalid_spi_flow *invalid_spi_record(const struct dp_event *ev, uint64_t now_ms)
{
	struct invalid_spi_flow *f;
	int is_new;

	if (!ev || (!tab && invalid_spi_init(0)))
		return NULL;
	stats.events++;
	f = get_flow(ev, &is_new);
	f->sport = ev->sport;
	f->dport = ev->dport;
	f->udp_encap = ev->udp_encap;
	memcpy(f->ifname, ev->ifname, sizeof(f->ifname));
	f->ifname[sizeof(f->ifname) - 1] = '\0';
	f->last_add = ev->count ? ev->count : 1; /* the data plane aggregates a flow's packets */
	f->count += f->last_add;
	f->last_ms = now_ms;
	f->last_real = time(NULL);
	if (is_new) {
		f->first_ms = now_ms;
		f->first_real = f->last_real;
	}
	/* Once per interval per flow, then the global cap. */
	if (!f->last_log_ms || now_ms - f->last_log_ms >= interval_ms) {
		if (tokbucket_take(&lines_tb, now_ms)) {
			f->last_log_ms = now_ms ? now_ms : 1;
			f->logged++;
			stats.lines++;
			log_flow(f);
		} else {
			stats.lines_capped++;
			f->suppressed++;
		}
	} else {
		f->suppressed++;
	}
	if (hook)
		hook(f, is_new, hook_arg);
	return f;
}

void invalid_spi_foreach(invalid_spi_flow_fn fn, void *arg)
{
	for (size_t i = 0; tab && i < nsets * INVSPI_WAYS; i++)
		if (tab[i].in_use)
			fn(&tab[i], arg);
}

void invalid_spi_stats(struct invalid_spi_stats *st)
{
	*st = stats;
}

const char *invalid_spi_class_name(enum invalid_spi_class c)
{
	switch (c) {
	case INVSPI_CLASS_REKEY_TRANSIENT: return "rekey-transient";
	case INVSPI_CLASS_PERSISTENT: return "persistent";
	case INVSPI_CLASS_NON_PEER: return "non-peer";
	case INVSPI_CLASS_RECOVERED: return "recovered";
	default: return "-";
	}
}

const char *invalid_spi_action_name(enum invalid_spi_action a)
{
	switch (a) {
	case INVSPI_ACT_COUNT_ONLY: return "count";
	case INVSPI_ACT_NOTIFY_SENT: return "notify";
	case INVSPI_ACT_INITIATED: return "initiate";
	case INVSPI_ACT_RATE_LIMITED: return "rate-limited";
	default: return "-";
	}
}

static int by_last_desc(const void *a, const void *b)
{
	const struct invalid_spi_flow *x = *(struct invalid_spi_flow *const *)a;
	const struct invalid_spi_flow *y = *(struct invalid_spi_flow *const *)b;
	return x->last_ms < y->last_ms ? 1 : x->last_ms > y->last_ms ? -1 : 0;
}

static void fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, cap, "%H:%M:%S", &tm);
}

void invalid_spi_show(struct out *o)
{
	struct invalid_spi_flow **v = NULL;
	size_t n = 0, nslots = nsets * INVSPI_WAYS;

	out_printf(o, "Invalid SPI flows: %zu of %zu slots, %llu packets, %llu evicted, "
		      "%llu lines logged, %llu lines over the cap\n",
		   stats.in_use, nslots, (unsigned long long)stats.events,
		   (unsigned long long)stats.evictions, (unsigned long long)stats.lines,
		   (unsigned long long)stats.lines_capped);
	out_printf(o, "Log interval %llu s per flow, %u lines/s in total\n\n",
		   (unsigned long long)(interval_ms / 1000), line_cap);
	if (!tab || !stats.in_use)
		return;
	if (!(v = malloc(stats.in_use * sizeof(*v)))) {
		out_printf(o, "%% out of memory\n");
		return;
	}
	for (size_t i = 0; i < nslots && n < stats.in_use; i++)
		if (tab[i].in_use)
			v[n++] = &tab[i];
	qsort(v, n, sizeof(*v), by_last_desc);
	out_printf(o, "%-15s %-15s %-24s %-5s %10s %-8s %-8s %-15s %s\n", "Source", "Destination",
		   "SPI", "Encap", "Count", "First", "Last", "Class", "Action");
	for (size_t i = 0; i < n; i++) {
		struct invalid_spi_flow *f = v[i];
		char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], spi[32], t1[16], t2[16];
		struct in_addr a;
		a.s_addr = f->src;
		inet_ntop(AF_INET, &a, s, sizeof(s));
		a.s_addr = f->dst;
		inet_ntop(AF_INET, &a, d, sizeof(d));
		snprintf(spi, sizeof(spi), "0x%X(%u)", f->spi, f->spi);
		fmt_time(f->first_real, t1, sizeof(t1));
		fmt_time(f->last_real, t2, sizeof(t2));
		out_printf(o, "%-15s %-15s %-24s %-5s %10llu %-8s %-8s %-15s %s", s, d, spi,
			   f->udp_encap ? "udp" : "esp", (unsigned long long)f->count, t1, t2,
			   invalid_spi_class_name(f->cls), invalid_spi_action_name(f->action));
		if (f->cls == INVSPI_CLASS_RECOVERED)
			out_printf(o, " (in %llu ms)", (unsigned long long)f->recovered_ms);
		out_printf(o, "\n");
	}
	free(v);
}

void invalid_spi_clear(void)
{
	if (tab)
		memset(tab, 0, nsets * INVSPI_WAYS * sizeof(*tab));
	uint64_t slots = stats.slots;
	memset(&stats, 0, sizeof(stats));
	stats.slots = slots;
}
