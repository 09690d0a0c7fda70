/* The sync policy: what insync does about an unknown inbound SPI, and how each
 * invalid-SPI flow is classified (rekey-transient, persistent, non-peer,
 * recovered). Control thread only.
 *
 *  - An IKE SA with the sender exists: send INVALID_SPI over it (rate-limited
 *    per peer and SPI). The peer deletes and replaces the stale CHILD_SA.
 *  - No IKE SA, the sender is a static peer (a Tunnel's destination) and
 *    `crypto isakmp invalid-spi-recovery` is on: initiate an IKE SA with
 *    INITIAL_CONTACT, then send INVALID_SPI over it (token buckets per peer and
 *    global bound the IKE work a flood can cause).
 *  - Anything else: log and count only. */
#ifndef INSYNC_RECOVERY_H
#define INSYNC_RECOVERY_H
#include <stdint.h>

struct config;
struct dp_event;
struct ike_sa_info;

void recovery_init(void);
void recovery_apply(const struct config *c);
void recovery_shutdown(void);

/* SA bookkeeping from the IKE glue (for classification and "recovered"). */
void recovery_sa_installed(uint32_t peer, uint32_t spi_in, uint32_t spi_out);
void recovery_sa_removed(uint32_t peer, uint32_t spi_in, uint32_t spi_out);
/* An inbound SPI handed to IKE but not installed yet (classified as transient). */
void recovery_spi_reserved(uint32_t peer, uint32_t spi);
void recovery_ike_event(int ev, const struct ike_sa_info *sa);
/* Data-plane events other than invalid SPI (packet waiting for an SA, ...). */
void recovery_dp_event(const struct dp_event *ev);

struct recovery_stats {
	uint64_t notifies_sent, initiations, rate_limited, count_only, recovered, persistent;
	uint64_t invalid_spi_received, invalid_spi_hints, initial_contacts, dead_peers;
};
void recovery_get_stats(struct recovery_stats *st);
void sync_register_commands(void);
#endif
