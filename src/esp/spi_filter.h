/* The kernel-side SPI filter (bpf/spi_filter.bpf.c): drops a random-SPI ESP
 * flood in the socket's receive path, before the copy to user space. It
 * mirrors the SAD's inbound SPIs and the peers' addresses in BPF maps.
 *
 * Optional: when the program cannot be loaded (no BPF, no privilege, or
 * INSYNC_SPI_FILTER=off) every call is a no-op and the data plane drops the
 * flood in user space as before. Control thread only. */
#ifndef INSYNC_SPI_FILTER_H
#define INSYNC_SPI_FILTER_H
#include <stdint.h>

/* Load the program and attach it to the raw ESP and UDP 4500 ESP sockets;
 * -1 (logged) when it runs without. */
int spi_filter_open(int raw_fd, int udp_fd);
void spi_filter_close(void);

/* An inbound SA's SPI (host order) and its peer (network order): its SPI
 * passes, and so does any SPI from its peer while the peer has one. */
void spi_filter_sa_add(uint32_t spi, uint32_t peer);
void spi_filter_sa_del(uint32_t spi, uint32_t peer);
/* A tunnel destination: unknown SPIs from it always reach recovery. */
void spi_filter_peer_hold(uint32_t peer);
void spi_filter_peer_release(uint32_t peer);

/* Unknown SPI, not from a peer: dropped in the kernel (raw ESP, ESP in UDP),
 * or let through to user space as the 1-per-ms-per-CPU sample. */
struct spi_filter_stats {
	int active;
	uint64_t dropped_raw, dropped_udp, sampled;
	uint64_t map_errors;
};
void spi_filter_get_stats(struct spi_filter_stats *st);
void spi_filter_clear_stats(void); /* clear crypto datapath counters */
#endif
