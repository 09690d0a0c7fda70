/* Exec commands of the data plane (show_dp.c). */
#ifndef INSYNC_SHOW_DP_H
#define INSYNC_SHOW_DP_H
struct out;

/* Registers: show crypto ipsec sa, show crypto datapath drops, clear crypto
 * datapath counters, show crypto ipsec invalid-spi, show ip interface brief,
 * show interfaces [TunnelN]. */
void dp_register_commands(void);

/* IKE adds its details to `show crypto ipsec sa` through this hook: called once
 * per tunnel after the counters, before the SA list. */
typedef void (*show_dp_tunnel_fn)(struct out *o, unsigned tunnel, void *arg);
void show_dp_set_tunnel_hook(show_dp_tunnel_fn fn, void *arg);
#endif
