/* ESP wire format (RFC 4303 §2) and the per-SA crypto helpers shared by
 * esp_out.c and esp_in.c. Internal to src/esp/.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
 * |               Security Parameters Index (SPI)                 | ^Int.
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
 * |                      Sequence Number                          | |ered
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
 * |                    IV (8 bytes GCM, 16 bytes CBC)             | |   ^
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
 * ~                 Inner IP packet (variable)                    ~ |Conf.
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
 * |               |     Padding (0-255 bytes): 1, 2, 3, ...       | |ered
 * +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
 * |                               |  Pad Length   | Next Header   | v   v
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
 * |         Integrity Check Value (16 GCM; 16/24/32 HMAC-SHA2)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * GCM (RFC 4106): nonce = salt(4) || IV(8); AAD = SPI || seq (|| with ESN:
 * SPI || seq_hi || seq_lo, §5); the ICV is the GCM tag over AAD + ciphertext.
 * CBC+HMAC (RFC 3602/4868): ICV = HMAC over SPI..ciphertext, followed by
 * seq_hi when ESN is on (RFC 4303 §3.3.2.1; seq_hi is never transmitted). */
#ifndef INSYNC_ESP_WIRE_H
#define INSYNC_ESP_WIRE_H
#include <stddef.h>
#include <stdint.h>
#include "esp/esp.h"

#define ESP_GCM_SALT_LEN 4
#define ESP_GCM_IV_LEN 8
#define ESP_GCM_ICV_LEN 16
#define ESP_CBC_IV_LEN 16
#define ESP_TRAILER_LEN 2 /* pad length + next header */

#define ESP_NH_IPV4 4
#define ESP_NH_IPV6 41
#define ESP_NH_NONE 59 /* dummy packet (RFC 4303 §2.6) */

static inline int esp_sa_is_gcm(const struct esp_sa *sa)
{
	return sa->cipher == CFG_ESP_GCM_128 || sa->cipher == CFG_ESP_GCM_256;
}

/* GCM: load the nonce (salt || iv8) and feed the AAD. 0 or -1. */
int esp_sa_gcm_start(struct esp_sa *sa, const uint8_t *hdr, const uint8_t *iv8, uint32_t seq_hi);
/* CBC+HMAC: compute the full HMAC of p[0..len) (|| seq_hi with ESN) into md
 * (ESP_MAX_ICV*2 bytes); the caller uses the first sa->icv_len bytes. 0 or -1. */
int esp_sa_hmac(struct esp_sa *sa, const uint8_t *p, size_t len, uint32_t seq_hi, uint8_t *md);
#endif
