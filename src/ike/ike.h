/* The IKEv2 engine's public API (RFC 7296, PSK authentication).
 *
 * The engine knows nothing about sockets or the ESP data plane: it talks to
 * them through a struct ike_env of callbacks. It runs on the control thread
 * only and uses the loop.h timers, so unit tests can run two engines in one
 * process and drive time with timer_run_due().
 *
 * Conventions: IPv4 addresses are in network byte order; ports, ESP SPIs and
 * IKE SPIs are in host order. IKE messages passed to ike_input() and to
 * env->send() never carry the 4-byte non-ESP marker of port 4500: the glue
 * strips/adds it (dp_send_ike does that already).
 *
 * Two APIs: the instance API (ike_new/ike_free and ike_x_* taking a struct
 * ike *) for tests that run several engines, and the daemon API (ike_init,
 * ike_input, ...) that works on one default instance, which the exec
 * commands also show. */
#ifndef INSYNC_IKE_H
#define INSYNC_IKE_H
#include <stddef.h>
#include <stdint.h>
#include "ops/config.h"

#define IKE_TUNNEL_NONE 0xffffffffu /* CHILD_SA of a dynamic peer (no Tunnel interface) */
#define IKE_ESP_KEY_MAX 64
#define IKE_ID_MAX 64

/* Keys and addresses of one CHILD_SA, handed to the data plane. */
struct ike_child_info {
	unsigned tunnel;           /* TunnelN, or IKE_TUNNEL_NONE */
	uint32_t local, peer;      /* outer addresses, network order */
	int udp_encap;             /* ESP in UDP (RFC 3948): NAT found or forced */
	uint16_t local_port, peer_port; /* host order; 4500/4500 (or NAT port) when udp_encap */
	uint32_t spi_in, spi_out;  /* host order */
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	/* Key bytes per direction. For GCM: key || 4-byte salt (RFC 4106). */
	uint8_t enc_in[IKE_ESP_KEY_MAX], enc_out[IKE_ESP_KEY_MAX];
	size_t enc_len;
	uint8_t auth_in[IKE_ESP_KEY_MAX], auth_out[IKE_ESP_KEY_MAX];
	size_t auth_len;
	uint32_t lifetime_sec;     /* hard lifetime; the engine rekeys before it */
	uint64_t lifetime_kb;
	uint32_t replay_window;
	uint32_t ts_local[2], ts_peer[2]; /* negotiated selectors: first/last address, network order */
};

/* IKE SA states (ike_sa_set_state is the only place that changes them). */
enum ike_sa_state {
	IKE_SA_CREATED = 0,
	IKE_SA_CONNECTING,
	IKE_SA_ESTABLISHED,
	IKE_SA_REKEYING,
	IKE_SA_REKEYED,
	IKE_SA_DELETING,
	IKE_SA_DEAD,
};

/* A snapshot of an IKE SA for events and for show commands. */
struct ike_sa_info {
	unsigned tunnel;           /* IKE_TUNNEL_NONE for dynamic peers */
	uint32_t local, peer;      /* network order */
	uint16_t local_port, peer_port;
	uint64_t spi_i, spi_r;
	int initiator;             /* we initiated this IKE SA */
	enum ike_sa_state state;
	int nat;                   /* NAT detected (or forced): IKE on 4500, ESP in UDP */
	char local_id[IKE_ID_MAX], remote_id[IKE_ID_MAX]; /* printable */
	char encr[24], prf[16], integ[16];
	int dh_group;
	uint32_t lifetime_sec, age_sec;
	uint32_t spi;              /* IKE_EV_INVALID_SPI*: the ESP SPI concerned */
	unsigned n_child;
	uint32_t id;               /* stays with the SA: Tunnel-id, Session-id, conn-id in show */
};

enum ike_event {
	IKE_EV_ESTABLISHED = 1,    /* IKE SA authenticated (first CHILD_SA may follow) */
	IKE_EV_DELETED,            /* IKE SA deleted (by us, by the peer, or replaced) */
	IKE_EV_DEAD,               /* liveness failed: peer declared dead */
	IKE_EV_CHILD_UP,           /* a CHILD_SA completed (info.spi = its inbound SPI) */
	IKE_EV_CHILD_DOWN,         /* a CHILD_SA was deleted (info.spi = its inbound SPI) */
	IKE_EV_INVALID_SPI_RECEIVED, /* protected INVALID_SPI for our outbound SPI info.spi: acted on */
	IKE_EV_INVALID_SPI_HINT,   /* unprotected INVALID_SPI (info.spi): liveness check started */
	IKE_EV_INITIAL_CONTACT,    /* peer sent INITIAL_CONTACT: its other SAs were deleted */
};

struct ike_env {
	void *arg;
	/* Send one IKE message (no non-ESP marker) from local:lport to peer:pport. */
	int (*send)(void *arg, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		    const uint8_t *p, size_t len);
	/* CHILD_SA keys ready: inbound is installed before the message announcing
	 * it is sent; outbound when the exchange completes. Return 0 or -1. */
	int (*child_install_in)(void *arg, const struct ike_child_info *c);
	int (*child_install_out)(void *arg, const struct ike_child_info *c);
	/* Remove the CHILD_SA's inbound SA after grace_ms; if it is still the
	 * tunnel's outbound SA (spi_out), clear that too. */
	void (*child_remove)(void *arg, const struct ike_child_info *c, uint32_t grace_ms);
	/* A fresh random inbound SPI (> 255, unused) for a CHILD_SA with peer. */
	uint32_t (*alloc_spi)(void *arg, uint32_t peer);
	/* Optional (may be NULL). */
	void (*event)(void *arg, int ev, const struct ike_sa_info *sa);
	/* Optional: last inbound/outbound ESP activity of a CHILD_SA (loop_now_ms
	 * clock, 0 = never), for on-demand DPD and idle detection. */
	int (*child_activity)(void *arg, uint32_t spi_in, uint32_t spi_out, uint64_t *last_in_ms,
			      uint64_t *last_out_ms);
	/* Optional: send one NAT-keepalive (RFC 3948 §2.3: a UDP payload of
	 * 0xFF) from local:4500 to peer:pport. Return 0 or -1. */
	int (*send_natka)(void *arg, uint32_t local, uint32_t peer, uint16_t pport);
};

/* Per-tunnel IKE information for "show crypto ipsec sa" (data-plane helper). */
struct ike_tunnel_info {
	int has_ike;               /* an IKE SA exists for the tunnel */
	struct ike_sa_info sa;     /* the best one (established first) */
	uint32_t spi_in, spi_out;  /* current CHILD_SA, 0 if none */
	uint32_t child_lifetime_sec, child_age_sec;
	int child_dh;              /* the current CHILD_SA's PFS group, 0 if its exchange had no KE */
	int udp_encap;
	uint16_t local_port, peer_port;
};

/* ---- instance API ---- */
struct ike;
/* env is copied. Returns NULL on allocation failure. */
struct ike *ike_new(const struct ike_env *env);
/* Delete everything silently (no messages) and free. Accepts NULL. */
void ike_free(struct ike *ike);
/* Adopt the tunnels/profiles/keyrings of cfg (copied; cfg may be freed after).
 * New tunnels are initiated, removed or changed ones torn down, unchanged left alone. */
int ike_x_apply_config(struct ike *ike, const struct config *cfg);
/* Start an IKE SA (+ first CHILD_SA) for TunnelN unless one exists or is being set up. */
int ike_x_initiate(struct ike *ike, unsigned tunnel);
/* A received IKE message (UDP payload, marker stripped). */
void ike_x_input(struct ike *ike, uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport,
		 const uint8_t *p, size_t len);
/* Protected INFORMATIONAL with N(INVALID_SPI) (proto ESP, SPI in the data) to
 * every established IKE SA with peer. -1 if there is none. Rate-limiting is the caller's. */
int ike_x_send_invalid_spi(struct ike *ike, uint32_t peer, uint32_t spi);
/* DELETE (ESP) naming spi, an inbound SPI we do not have, on an established
 * IKE SA with peer: a peer that ignores INVALID_SPI drops its stale outbound SA. */
int ike_x_delete_peer_spi(struct ike *ike, uint32_t peer, uint32_t spi);
/* Invalid-SPI recovery: no IKE SA with a static peer: initiate TunnelN's IKE SA
 * with INITIAL_CONTACT, then send INVALID_SPI for spi over it. */
int ike_x_recover(struct ike *ike, unsigned tunnel, uint32_t spi);
/* 1 if an IKE SA with peer is established (or being rekeyed), else 0. */
int ike_x_has_sa(struct ike *ike, uint32_t peer);
/* Send an empty INFORMATIONAL now on the peer's IKE SA (DPD rules apply). */
int ike_x_liveness_check(struct ike *ike, uint32_t peer);
/* Delete the CHILD_SA with this inbound SPI (sends DELETE); used for idle timeout. */
int ike_x_delete_child(struct ike *ike, uint32_t spi_in);
/* Rekey the CHILD_SA with this inbound SPI now. */
int ike_x_rekey_child(struct ike *ike, uint32_t spi_in);
/* Rekey the IKE SA with peer now. */
int ike_x_rekey_ike(struct ike *ike, uint32_t peer);
/* Delete IKE SAs (with DELETE) for peer, or all when peer == 0 ("clear crypto ..."). */
int ike_x_clear(struct ike *ike, uint32_t peer);
int ike_x_tunnel_info(struct ike *ike, unsigned tunnel, struct ike_tunnel_info *ti);
/* Snapshot up to max IKE SAs; returns how many exist. */
size_t ike_x_list(struct ike *ike, struct ike_sa_info *v, size_t max);

/* One CHILD_SA of an IKE SA, for show commands. */
struct ike_child_brief {
	uint32_t spi_in, spi_out;
	const char *state;
	unsigned tunnel;
	uint32_t age_sec, lifetime_sec;
	int udp_encap;
};
/* The CHILD_SAs of the IKE SA whose local SPI is local_spi; returns how many exist. */
size_t ike_x_children(struct ike *ike, uint64_t local_spi, struct ike_child_brief *v, size_t max);

struct ike_counters {
	uint64_t rx, tx, rx_bad, rx_dropped, retransmits, cookies_sent, natka_sent;
	uint64_t rej_sa_limit, rej_nego_in, rej_out; /* refused by crypto ikev2 limit */
	uint64_t evicted; /* unverified half-open SAs that gave way at a limit */
	unsigned half_open, nego_out;
	uint32_t max_sa, max_nego_in, max_nego_out; /* 0: none */
	size_t n_sa, n_child;
};
void ike_x_counters(const struct ike *ike, struct ike_counters *c);

/* ---- daemon API (default instance) ---- */
int ike_init(const struct ike_env *env);
void ike_shutdown(void);
struct ike *ike_default(void);
int ike_apply_config(const struct config *cfg);
int ike_initiate(unsigned tunnel);
void ike_input(uint32_t local, uint16_t lport, uint32_t peer, uint16_t pport, const uint8_t *p,
	       size_t len);
int ike_send_invalid_spi(uint32_t peer, uint32_t spi);
int ike_recover(unsigned tunnel, uint32_t spi);
int ike_delete_peer_spi(uint32_t peer, uint32_t spi);
int ike_has_sa(uint32_t peer);
int ike_liveness_check(uint32_t peer);
int ike_delete_child(uint32_t spi_in);
int ike_tunnel_info(unsigned tunnel, struct ike_tunnel_info *ti);
/* Registers: show crypto ikev2 sa [detail], show crypto isakmp sa, show crypto
 * session [detail], show crypto sockets, clear crypto session [remote A.B.C.D],
 * clear crypto ikev2 sa. */
void ike_register_commands(void);

/* ---- tunables (tests, lab) ---- */
/* Rekey jitter on/off (default on). Off makes both sides rekey at the same time. */
void ike_set_jitter(int on);
/* Test hook: skip sending the next n DELETE requests (lab scenario "lost DELETE"). */
void ike_x_test_drop_deletes(struct ike *ike, unsigned n);

const char *ike_sa_state_name(enum ike_sa_state s);
#endif
