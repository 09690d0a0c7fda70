/* Loader and map upkeep for the kernel-side SPI filter (see spi_filter.h).
 * The BPF object is built from bpf/spi_filter.bpf.c by clang and embedded
 * (the build generates spi_filter_obj.h). */
#include "esp/spi_filter.h"
#include "esp/dp_int.h"
#include "ops/log.h"
#include "spi_filter_obj.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { C_DROPPED_RAW, C_DROPPED_UDP, C_SAMPLED, C_NCTR }; /* the program's ctr slots */

static struct {
	struct bpf_object *obj;
	int spis_fd, peers_fd, ctr_fd;
	int fds[2];      /* sockets it is attached to */
	int ncpu;
	uint64_t *percpu; /* ncpu counter values, for reading ctr */
	uint64_t map_errors;
	uint64_t base[C_NCTR]; /* added to the kernel counters: a closed filter's totals, minus a clear's */
} f = {.fds = {-1, -1}};

/* libbpf's own chatter (feature probes, verifier logs) stays out of the
 * router's log unless something fails: spi_filter_open logs the outcome. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int attach(int sock, const char *prog)
{
	struct bpf_program *p = bpf_object__find_program_by_name(f.obj, prog);
	int fd = p ? bpf_program__fd(p) : -1;

	if (fd < 0 || setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &fd, sizeof(fd)))
		return -1;
	return 0;
}

static int map_fd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(f.obj, name);
	return m ? bpf_map__fd(m) : -1;
}

static uint64_t ctr_sum(uint32_t slot)
{
	uint64_t sum = 0;

	if (!f.obj || !f.percpu || bpf_map_lookup_elem(f.ctr_fd, &slot, f.percpu))
		return 0;
	for (int i = 0; i < f.ncpu; i++)
		sum += f.percpu[i];
	return sum;
}

int spi_filter_open(int raw_fd, int udp_fd)
{
	const char *env = getenv("INSYNC_SPI_FILTER");
	const char *why = NULL;

	if (env && !strcmp(env, "off"))
		return -1;
	libbpf_set_print(quiet);
	if (!(f.obj = bpf_object__open_mem(spi_filter_obj, sizeof(spi_filter_obj), NULL)))
		why = "cannot open the BPF object";
	else if (bpf_object__load(f.obj))
		why = "the kernel refused the BPF program";
	else if ((f.spis_fd = map_fd("spis")) < 0 || (f.peers_fd = map_fd("peers")) < 0 ||
		 (f.ctr_fd = map_fd("ctr")) < 0)
		why = "BPF maps missing";
	else if ((f.ncpu = libbpf_num_possible_cpus()) <= 0 || !(f.percpu = calloc((size_t)f.ncpu, sizeof(uint64_t))))
		why = "cannot size the per-CPU counters";
	else if (attach(raw_fd, "esp_raw"))
		why = "SO_ATTACH_BPF failed on the ESP socket";
	else if ((f.fds[0] = raw_fd) >= 0 && udp_fd >= 0 && attach(udp_fd, "esp_udp"))
		why = "SO_ATTACH_BPF failed on the UDP 4500 socket";
	if (why) {
		int e = errno;
		spi_filter_close();
		log_ios(LOG_SEV_WARN, "CRYPTO", "SPI_FILTER",
			"kernel SPI filter off (%s: %s); invalid-SPI packets are dropped in user space", why,
			strerror(e));
		return -1;
	}
	f.fds[1] = udp_fd;
	return 0;
}

void spi_filter_close(void)
{
	for (uint32_t i = 0; i < C_NCTR; i++)
		f.base[i] += ctr_sum(i);
	for (int i = 0; i < 2; i++)
		if (f.fds[i] >= 0) {
			int zero = 0;
			setsockopt(f.fds[i], SOL_SOCKET, SO_DETACH_BPF, &zero, sizeof(zero));
		}
	bpf_object__close(f.obj); /* NULL-safe */
	f.obj = NULL;
	free(f.percpu);
	f.percpu = NULL;
	f.fds[0] = f.fds[1] = -1;
}

/* A map the filter cannot keep in step with the SAD would drop real ESP:
 * fail open, detach, and say so once. */
static void failed(const char *what)
{
	int e = errno;
	f.map_errors++;
	spi_filter_close();
	log_ios(LOG_SEV_ERR, "CRYPTO", "SPI_FILTER", "kernel SPI filter off: %s: %s", what, strerror(e));
}

void spi_filter_peer_hold(uint32_t peer)
{
	uint32_t n = 0;

	if (!f.obj || !peer)
		return;
	bpf_map_lookup_elem(f.peers_fd, &peer, &n);
	n++;
	if (bpf_map_update_elem(f.peers_fd, &peer, &n, BPF_ANY))
		failed("peer map update");
}

void spi_filter_peer_release(uint32_t peer)
{
	uint32_t n = 0;

	if (!f.obj || !peer || bpf_map_lookup_elem(f.peers_fd, &peer, &n))
		return;
	if (n > 1) {
		n--;
		if (bpf_map_update_elem(f.peers_fd, &peer, &n, BPF_EXIST))
			failed("peer map update");
	} else {
		bpf_map_delete_elem(f.peers_fd, &peer);
	}
}

void spi_filter_sa_add(uint32_t spi, uint32_t peer)
{
	uint8_t one = 1;

	if (!f.obj)
		return;
	if (bpf_map_update_elem(f.spis_fd, &spi, &one, BPF_ANY)) {
		failed("SPI map update");
		return;
	}
	spi_filter_peer_hold(peer);
}

void spi_filter_sa_del(uint32_t spi, uint32_t peer)
{
	if (!f.obj)
		return;
	bpf_map_delete_elem(f.spis_fd, &spi);
	spi_filter_peer_release(peer);
}

void spi_filter_get_stats(struct spi_filter_stats *st)
{
	st->active = f.obj != NULL;
	st->map_errors = f.map_errors;
	st->dropped_raw = f.base[C_DROPPED_RAW] + ctr_sum(C_DROPPED_RAW);
	st->dropped_udp = f.base[C_DROPPED_UDP] + ctr_sum(C_DROPPED_UDP);
	st->sampled = f.base[C_SAMPLED] + ctr_sum(C_SAMPLED);
}

/* The kernel's counters keep running (per-CPU, lock-free): a clear takes
 * their current values as the new zero. */
void spi_filter_clear_stats(void)
{
	for (uint32_t i = 0; i < C_NCTR; i++)
		f.base[i] = -ctr_sum(i);
	f.map_errors = 0;
}

uint64_t dp_drops(enum esp_drop d)
{
	uint64_t n = atomic_load_explicit(&dp_stats.drops[d], memory_order_relaxed);

	if (d == ESP_DROP_NO_SA_V4)
		n += f.base[C_DROPPED_RAW] + ctr_sum(C_DROPPED_RAW);
	else if (d == ESP_DROP_NO_SA_UDP)
		n += f.base[C_DROPPED_UDP] + ctr_sum(C_DROPPED_UDP);
	return n;
}
