/* ESP (RFC 4303) tunnel-mode SA and the per-packet transforms.
 *
 * One EVP context per direction per SA, set up once at esp_sa_new(); encryption
 * is in place. The datapath owns buffers: esp_encap() is given an inner packet
 * that sits at buf+ESP_HEADROOM with ESP_TAILROOM free after it, and writes the
 * ESP header in front of it and trailer+ICV behind it. esp_decap() verifies and
 * decrypts in place. Neither allocates nor locks: an SA is used by one thread
 * at a time (its contexts hold per-packet state), which the data plane ensures
 * by giving each tunnel one worker. */
#ifndef INSYNC_ESP_H
#define INSYNC_ESP_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "ops/config.h"

#define ESP_HDR_LEN 8       /* SPI + sequence number */
#define ESP_MAX_IV 16
#define ESP_MAX_ICV 32
/* Room an outer IPv4/IPv6 + UDP header, ESP header and IV need before the inner packet. */
#define ESP_HEADROOM 64
/* Padding (to 16) + pad length + next header + ICV. */
#define ESP_TAILROOM (16 + 2 + ESP_MAX_ICV)

/* Drop causes, one counter each (IOS's names where IOS has one, see esp_drop_name). */
enum esp_drop {
	ESP_OK = 0,
	ESP_DROP_NO_SA_V4,      /* IN_US_V4_PKT_SA_NOT_FOUND_SPI */
	ESP_DROP_NO_SA_V6,      /* IN_US_V6_PKT_SA_NOT_FOUND_SPI */
	ESP_DROP_NO_SA_UDP,     /* IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI */
	ESP_DROP_REPLAY,
	ESP_DROP_ICV,
	ESP_DROP_PAD,
	ESP_DROP_MALFORMED,
	ESP_DROP_NEXTHDR,
	ESP_DROP_INNER,         /* inner packet not sane */
	ESP_DROP_NO_OUT_SA,     /* routed into a tunnel with no SA */
	ESP_DROP_SEQ_EXHAUSTED,
	ESP_DROP_TUN_ERR,
	ESP_DROP_SEND_ERR,
	ESP_DROP_MAX
};
const char *esp_drop_name(enum esp_drop d);

/* Anti-replay window (RFC 4303 App. A, ESN aware). The bitmap is sized to the
 * configured window (64..4096 bits) and lives with its owner: an SA with the
 * default window spends 8 bytes on it, not 512. */
#define REPLAY_MAX_WINDOW 4096
struct replay {
	uint64_t top;     /* highest authenticated sequence number (64-bit, ESN) */
	uint32_t window;  /* bits, 64..4096, multiple of 64 */
	uint64_t *bitmap; /* window / 64 words */
};
/* The window actually used for a configured size: clamped, rounded up to 64. */
uint32_t replay_window_bits(uint32_t window);
/* bits: replay_window_bits(window) / 64 words, owned by the caller. */
void replay_init(struct replay *r, uint32_t window, uint64_t *bits);
/* Infer the full 64-bit sequence from the 32-bit wire value (ESN) and check it.
 * Returns 0 and *seq64 if the packet may be accepted, -1 if replayed/too old. */
int replay_check(const struct replay *r, uint32_t seq_lo, int esn, uint64_t *seq64);
/* Mark seq64 seen; call only after the ICV verified. */
void replay_commit(struct replay *r, uint64_t seq64);

struct esp_counters {
	_Atomic uint64_t pkts, bytes;
	_Atomic uint64_t drops[ESP_DROP_MAX];
	_Atomic uint64_t last_ms; /* CLOCK_MONOTONIC ms of the last packet */
};

struct esp_sa_params {
	uint32_t spi;
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	const uint8_t *enc_key; /* for GCM: key || 4-byte salt */
	size_t enc_key_len;
	const uint8_t *auth_key;
	size_t auth_key_len;
	int esn;
	uint32_t replay_window;
};

struct esp_sa {
	uint32_t spi;
	int inbound;
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	int esn;
	size_t iv_len, icv_len, block;
	void *evp;  /* EVP_CIPHER_CTX* */
	void *mac;  /* EVP_MAC_CTX* (CBC+HMAC), NULL for GCM */
	uint8_t salt[4];
	_Atomic uint64_t seq;  /* outbound: last sequence number sent */
	struct replay replay;  /* inbound: owned by the one thread that decaps this SA */
	struct esp_counters ctr;
	uint64_t replay_bits[]; /* inbound only: the replay bitmap */
};

/* Returns NULL on bad parameters (wrong key length for the transform). */
struct esp_sa *esp_sa_new(const struct esp_sa_params *p, int inbound);
/* Frees and wipes keys. Accepts NULL. */
void esp_sa_free(struct esp_sa *sa);
/* Key bytes a transform needs: cipher (incl. salt for GCM) and auth. */
int esp_key_lengths(enum cfg_esp_cipher c, enum cfg_esp_auth a, size_t *enc, size_t *auth);

/* Encapsulate: inner packet of inner_len bytes at buf+ESP_HEADROOM (buf has room
 * for ESP_HEADROOM + inner_len + ESP_TAILROOM). On ESP_OK, *esp_off and *esp_len give
 * the ESP packet inside buf. next_hdr is 4 (IPv4) or 41 (IPv6). */
enum esp_drop esp_encap(struct esp_sa *sa, uint8_t *buf, size_t inner_len, uint8_t next_hdr,
			size_t *esp_off, size_t *esp_len);
/* Decapsulate an ESP packet (starting at the SPI) in place. On ESP_OK, the inner
 * packet is at pkt+*inner_off for *inner_len bytes, *next_hdr is set. Replay
 * window is committed only after the ICV verifies. */
enum esp_drop esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t *inner_off,
			size_t *inner_len, uint8_t *next_hdr);
#endif
