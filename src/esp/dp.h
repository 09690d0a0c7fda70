/* The ESP data plane's interface to the control thread: tunnel devices, the SA
 * database (install/remove for IKE and manual keys), the UDP 4500 socket that
 * IKE shares, and events flowing back (invalid SPI, packet waiting for an SA).
 *
 * All functions here are called on the control thread only. The packet path
 * reads the SA database without locks (pointers published with atomics, old
 * objects freed after a grace period). */
#ifndef INSYNC_DP_H
#define INSYNC_DP_H
#include <stddef.h>
#include <stdint.h>
#include "esp/esp.h"

struct config;
struct out;

/* Start/stop the data plane (threads, sockets). */
int dp_init(void);
void dp_shutdown(void);
/* Make tunnels/routes/manual SAs match cfg (create, update, remove devices).
 * Validation has happened already; errors here are logged, not fatal. */
int dp_apply(const struct config *cfg);

/* --- SA database (control thread) ---
 * Install make-before-break: inbound first, then swap outbound atomically. */
struct dp_sa_path {
	uint32_t local, peer;  /* outer addresses, network order */
	int udp_encap;         /* ESP-in-UDP (RFC 3948) */
	uint16_t peer_port;    /* host order; 4500 normally */
};
/* Takes ownership of sa. Fails (-1) if the SPI is in use. */
int dp_sa_install_in(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path);
/* Atomically replace the tunnel's outbound SA (takes ownership; old one freed after grace). */
int dp_sa_set_out(unsigned tunnel, struct esp_sa *sa, const struct dp_sa_path *path);
/* Wake every worker so it sends packets held while the tunnel had no SA. */
void dp_workers_wake(void);
/* Remove an inbound SA after grace_ms (0 = now). */
int dp_sa_remove_in(uint32_t spi, uint32_t grace_ms);
/* Drop the tunnel's outbound SA (packets then count as ESP_DROP_NO_OUT_SA and raise DP_EV_NEED_SA). */
int dp_sa_clear_out(unsigned tunnel);
/* Borrowed; valid until the next call that changes the SAD. */
struct esp_sa *dp_sa_in(uint32_t spi);
struct esp_sa *dp_sa_out(unsigned tunnel);
/* Pick a random unused inbound SPI (> 255). */
uint32_t dp_alloc_spi(void);

/* --- Events from the data plane, delivered on the control thread --- */
enum dp_event_type {
	DP_EV_INVALID_SPI = 1, /* ESP with an SPI that matches no inbound SA */
	DP_EV_NEED_SA,         /* a packet was routed into a tunnel without an outbound SA */
	DP_EV_SEQ_EXHAUSTED,   /* an outbound SA ran close to its sequence limit */
	DP_EV_LIFETIME_KB,     /* an SA reached its kilobyte lifetime */
};
struct dp_event {
	enum dp_event_type type;
	uint32_t src, dst, spi; /* network order addresses */
	uint16_t sport, dport;  /* host order; 0 for raw ESP */
	int udp_encap;
	unsigned tunnel;
	uint32_t count;         /* INVALID_SPI: packets this event stands for (0 means 1) */
	char ifname[16];        /* input interface */
};
typedef void (*dp_event_fn)(const struct dp_event *ev, void *arg);
void dp_set_event_handler(dp_event_fn fn, void *arg);

/* IKE on port 4500: packets with the non-ESP marker are handed to fn (marker stripped). */
typedef void (*dp_ike_fn)(const uint8_t *p, size_t len, uint32_t src, uint16_t sport,
			  uint32_t dst, uint16_t dport, void *arg);
void dp_set_ike_handler(dp_ike_fn fn, void *arg);
/* Send an IKE message from local:4500 to dst:dport, prefixing the non-ESP marker. */
int dp_send_ike(uint32_t src, uint32_t dst, uint16_t dport, const uint8_t *p, size_t len);
/* Send one NAT-keepalive (a single 0xFF byte, RFC 3948 §2.3) from src:4500 to dst:dport. */
int dp_send_natka(uint32_t src, uint32_t dst, uint16_t dport);
#endif
