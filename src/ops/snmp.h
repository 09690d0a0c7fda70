/* SNMP for the event manager, with net-snmp's BER codec: `action snmp-trap`
 * sends CISCO-EMBEDDED-EVENT-MGR-MIB cEventMgrPolicyEvent traps to the
 * `snmp-server host ... event-manager` receivers, and `snmp-server manager`
 * receives notifications on UDP (162 by default) in the event loop and feeds
 * `event snmp-notification` applets. Received datagrams are untrusted. */
#ifndef INSYNC_SNMP_H
#define INSYNC_SNMP_H
#include "ops/eem.h"
#include <stddef.h>
#include <stdint.h>

struct config;
struct out;

#define SNMP_MAX_DGRAM 4096 /* larger datagrams are dropped */
#define SNMP_MAX_VB 32      /* more varbinds: the notification is dropped */
#define SNMP_COMMUNITY_MAX 64

/* CISCO-EMBEDDED-EVENT-MGR-MIB */
#define SNMP_OID_EEM_POLICY_EVENT "1.3.6.1.4.1.9.10.91.2.0.1"   /* cEventMgrPolicyEvent */
#define SNMP_OID_EEM_HISTORY_ENTRY "1.3.6.1.4.1.9.10.91.1.2.3.1" /* ceeHistoryEventEntry */

/* A decoded notification. */
struct snmp_notif {
	long version; /* 0 = v1, 1 = v2c */
	char community[SNMP_COMMUNITY_MAX + 1];
	size_t community_len;
	int pdu_type; /* net-snmp SNMP_MSG_* */
	size_t n_vb;
	struct eem_varbind vb[SNMP_MAX_VB];
};

/* Decode one SNMPv1/v2c message. 0 on success; a negative SNMP_E* on any
 * malformation, bad version, non-notification PDU or too many varbinds. */
enum {
	SNMP_E_MALFORMED = -1,
	SNMP_E_VERSION = -2,
	SNMP_E_PDU_TYPE = -3,
	SNMP_E_TOO_BIG = -4,
};
int snmp_notif_parse(const uint8_t *p, size_t len, struct snmp_notif *n);

/* Handle one datagram received from src (network order): parse, check the
 * community against `snmp-server host src ... COMMUNITY`, feed the event
 * manager. Returns 0 when delivered, negative when dropped (and counted). */
int snmp_rx_datagram(uint32_t src_be, const uint8_t *p, size_t len);

/* Send cEventMgrPolicyEvent for `applet` to every event-manager trap host, if
 * `snmp-server enable traps event-manager` is on. Returns the number of traps
 * sent, or -1 when traps are off or none could be sent. Never blocks. */
int snmp_send_eem_trap(const char *applet, unsigned job, long long intdata1, long long intdata2,
		       const char *strdata);

/* Apply cfg: host list, trap switch, manager socket (opened, moved or closed). */
int snmp_apply(const struct config *cfg);
/* `show snmp` with the counters. */
void snmp_register_commands(void);
/* Close sockets and drop hosts. Not snmp_shutdown: libnetsnmp owns that name. */
void snmp_stop(void);
void snmp_show(struct out *o);

struct snmp_counters {
	uint64_t in_pkts, bad_versions, bad_community, unknown_source, parse_errors, too_big;
	uint64_t bad_pdu_type, delivered, traps_out, trap_errors;
};
void snmp_get_counters(struct snmp_counters *c);
#endif
