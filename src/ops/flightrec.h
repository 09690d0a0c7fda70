/* The flight recorder: an always-on, per-peer ring of compact binary event
 * records (IKE exchanges, SA state changes, CHILD_SA installs/removals, rekeys,
 * DPD, invalid SPIs, recoveries). Recording costs a lock, a small hash lookup
 * and a 40-byte copy: no formatting, no allocation. Text is produced only when
 * a ring is dumped (show command or an automatic dump to disk0:).
 *
 * Memory is bounded: FR_MAX_PEERS rings of FR_RING_RECORDS 40-byte records
 * (5 MiB at most); when all rings are in use the least recently active peer's
 * ring is reused.
 * flightrec_record() may be called from any thread. */
#ifndef INSYNC_FLIGHTREC_H
#define INSYNC_FLIGHTREC_H
#include <stddef.h>
#include <stdint.h>

#define FR_MAX_PEERS 512 /* ~10 KiB each, touched only when used */
#define FR_RING_RECORDS 256   /* per peer, power of two */
#define FR_DUMP_INTERVAL_MS 60000 /* at most one automatic dump per peer per minute */
#define FR_DUMP_FILES_MAX 32      /* older flightrec-*.txt files are removed */

/* Payload mask helper for FR_IKE_SENT/RECV: one bit per IKEv2 payload type
 * (RFC 7296 section 3.2, types 32..95), e.g. FR_PLD_BIT(33) for SA. */
#define FR_PLD_BIT(t) ((t) >= 32 && (t) < 96 ? (uint64_t)1 << ((t) - 32) : 0)

/* Events and the meaning of a, b, c (unused fields: pass 0). SPIs of ESP are
 * host order; IKE SPIs are the 64-bit initiator SPI. */
enum fr_event {
	FR_NONE = 0,
	FR_IKE_SENT,          /* a=exchange type, b=message ID, c=payload mask (| 1<<63 if response) */
	FR_IKE_RECV,          /* same as FR_IKE_SENT */
	FR_IKE_RETRANSMIT,    /* a=exchange type, b=message ID, c=attempt number */
	FR_IKE_STATE,         /* a=old state, b=new state (enum ike_sa_state), c=IKE SPIi */
	FR_IKE_ERROR,         /* a=notify type (error), b=message ID, c=1 if sent, 0 if received */
	FR_CHILD_INSTALL,     /* a=SPI in, b=SPI out, c=TunnelN (or ~0) */
	FR_CHILD_REMOVE,      /* a=SPI in, b=SPI out, c=reason (enum fr_reason) */
	FR_REKEY_START,       /* a=kind (0=CHILD, 1=IKE), b=old SPI (in / IKE SPIi) */
	FR_REKEY_DONE,        /* a=kind, b=old SPI, c=new SPI */
	FR_REKEY_COLLISION,   /* a=kind, b=0 ours lost, 1 ours won, 2 seen as responder, 3 seen late; c=SPI */
	FR_DPD_SENT,          /* a=message ID, b=attempt */
	FR_DPD_ACK,           /* a=message ID, b=round-trip ms */
	FR_DPD_DEAD,          /* a=attempts made */
	FR_INVALID_SPI,       /* a=SPI, b=count so far */
	FR_INVALID_SPI_NOTIFY_SENT, /* a=SPI */
	FR_INVALID_SPI_NOTIFY_RECV, /* a=SPI */
	FR_DELETE_SENT,       /* a=protocol (1=IKE, 3=ESP), b=SPI (first), c=number of SPIs */
	FR_DELETE_RECV,       /* same as FR_DELETE_SENT */
	FR_INITIAL_CONTACT,   /* a=1 if sent, 0 if received */
	FR_RECOVERY_START,    /* a=trigger (enum fr_reason), b=SPI concerned */
	FR_RECOVERY_DONE,     /* a=duration ms, b=1 ok / 0 failed */
	FR_NOTE,              /* a=free-form code, b, c: module-specific */
	FR_EVENT_COUNT
};

/* Reasons for FR_CHILD_REMOVE and triggers for FR_RECOVERY_START. */
enum fr_reason {
	FR_R_NONE = 0,
	FR_R_DELETE,       /* DELETE exchange */
	FR_R_REKEY,        /* replaced by a rekey */
	FR_R_EXPIRE,       /* lifetime */
	FR_R_IDLE,         /* idle timer */
	FR_R_DPD,          /* peer dead */
	FR_R_INVALID_SPI,  /* invalid SPI seen / INVALID_SPI notify */
	FR_R_INITIAL_CONTACT,
	FR_R_ADMIN,        /* clear command, config change */
};

/* Record one event for peer (network order; 0 is ignored). Never blocks for
 * long, never allocates, never fails. */
void flightrec_record(uint32_t peer_be, enum fr_event ev, uint64_t a, uint64_t b, uint64_t c);

struct out;
/* Format the rings, oldest record first: one peer, or all peers if 0. */
void flightrec_dump(uint32_t peer_be, struct out *o);

/* Write one peer's ring (0 = all) to disk0:flightrec-<peer>-<time>.txt and log
 * %CRYPTO-5-FLIGHTREC_DUMP naming the file. At most one dump per peer per
 * FR_DUMP_INTERVAL_MS; FR_DUMP_FILES_MAX files are kept. The file name
 * ("disk0:...") goes to name_out if given. Returns 0 when written, 1 when
 * suppressed by the rate limit, 2 when the peer has no records (nothing is
 * written, logged or counted, and no ring is created), -1 on error. */
int flightrec_dump_file(uint32_t peer_be, const char *reason, char *name_out, size_t cap);

/* Exec commands: show crypto flight-recorder [peer A.B.C.D], crypto flight-recorder
 * dump [peer A.B.C.D], clear crypto flight-recorder. */
void flightrec_register_commands(void);

/* Number of records currently held for a peer (tests). */
size_t flightrec_count(uint32_t peer_be);
/* Number of peers with a ring (tests). */
size_t flightrec_peers(void);
/* Forget everything, including dump rate-limit state (tests, clear command). */
void flightrec_clear(void);
/* Override the dump rate-limit interval (tests); 0 disables the limit. */
void flightrec_set_dump_interval(uint64_t ms);
/* Turn recording off/on (benchmarks measure the difference). Default on. */
void flightrec_set_enabled(int on);

const char *flightrec_event_name(enum fr_event ev);
#endif
