/* libFuzzer harness for inbound ESP (esp_in.c) on a fixed AES-GCM-256 SA and
 * a fixed AES-CBC-256/HMAC-SHA-256 SA. esp_decap() works in place, so it
 * always gets a private copy. Each input is used four ways:
 *   1. as a received packet, as is and with this SA's SPI written over it;
 *   2. as the plaintext (inner, padding, Pad Length, Next Header) of a packet
 *      sealed here with the GCM SA's key, so the checks after the ICV see
 *      fuzzed bytes; an accepted inner packet must be a prefix of the input;
 *   3. the same with the CBC SA, on the whole 16-octet blocks of the input;
 *   4. as an inner packet through esp_encap() and back through esp_decap(),
 *      which must give it back or call it ESP_DROP_INNER.
 * The replay windows are reset for every input, so runs are reproducible. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/aead.h"
#include "crypto/prf.h"
#include "esp/esp.h"
#include "util/buf.h"

#define SPI_GCM 0xff00c0deu
#define SPI_CBC 0x0000c0deu
#define MAXPKT (ESP_HEADROOM + 65535 + ESP_TAILROOM)

static uint8_t gcm_key[36], cbc_ek[32], cbc_ak[32];
static struct esp_sa *gcm_in, *gcm_out, *cbc_in, *cbc_out;
static uint8_t buf[MAXPKT];

static void check(int ok)
{
	if (!ok)
		abort();
}

static void sas_init(void)
{
	struct esp_sa_params g = {.spi = SPI_GCM,
	                          .cipher = CFG_ESP_GCM_256,
	                          .auth = CFG_ESP_AUTH_NONE,
	                          .enc_key = gcm_key,
	                          .enc_key_len = sizeof(gcm_key)};
	struct esp_sa_params c = {.spi = SPI_CBC,
	                          .cipher = CFG_ESP_AES_256,
	                          .auth = CFG_ESP_SHA256,
	                          .enc_key = cbc_ek,
	                          .enc_key_len = sizeof(cbc_ek),
	                          .auth_key = cbc_ak,
	                          .auth_key_len = sizeof(cbc_ak)};

	if (gcm_in)
		return;
	for (size_t i = 0; i < sizeof(gcm_key); i++)
		gcm_key[i] = (uint8_t)(0x10 + 3 * i);
	for (size_t i = 0; i < sizeof(cbc_ek); i++) {
		cbc_ek[i] = (uint8_t)(0x61 ^ i);
		cbc_ak[i] = (uint8_t)(0xc3 ^ (7 * i));
	}
	gcm_in = esp_sa_new(&g, 1);
	gcm_out = esp_sa_new(&g, 0);
	cbc_in = esp_sa_new(&c, 1);
	cbc_out = esp_sa_new(&c, 0);
	check(gcm_in && gcm_out && cbc_in && cbc_out);
}

/* Decap a copy; on ESP_OK the inner packet must lie inside it. */
static enum esp_drop decap(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t **inner,
                           size_t *inner_len)
{
	size_t off = 0, il = 0;
	uint8_t nh = 0;
	enum esp_drop d;

	memcpy(buf, pkt, len);
	replay_init(&sa->replay, sa->replay.window, sa->replay_bits); /* fresh window each input */
	d = esp_decap(sa, buf, len, &off, &il, &nh);
	check((unsigned)d < ESP_DROP_MAX);
	if (d == ESP_OK) {
		check(off <= len && il <= len - off && (nh == 4 || nh == 41));
		if (inner)
			*inner = buf + off;
		if (inner_len)
			*inner_len = il;
	}
	return d;
}

/* View 1 */
static void as_packet(const uint8_t *data, size_t size)
{
	static uint8_t pkt[MAXPKT];

	if (size > sizeof(pkt))
		return;
	decap(gcm_in, data, size, NULL, NULL);
	decap(cbc_in, data, size, NULL, NULL);
	if (size >= 4) {
		memcpy(pkt, data, size);
		put_be32(pkt, SPI_GCM);
		decap(gcm_in, pkt, size, NULL, NULL);
		put_be32(pkt, SPI_CBC);
		decap(cbc_in, pkt, size, NULL, NULL);
	}
}

/* Views 2 and 3 */
static void as_plaintext(const uint8_t *data, size_t size, int cbc)
{
	static uint8_t pkt[MAXPKT];
	size_t ptl = cbc ? size - size % 16 : size, ivl = cbc ? 16 : 8, len, il;
	uint8_t *iv = pkt + 8, *ct, nonce[12], mac[PRF_MAX_LEN], *inner;

	len = 8 + ivl + ptl + 16;
	if (ptl == 0 || len > sizeof(pkt))
		return;
	put_be32(pkt, cbc ? SPI_CBC : SPI_GCM);
	put_be32(pkt + 4, 1);
	memset(iv, 0x3c, ivl);
	ct = iv + ivl;
	if (!cbc) {
		memcpy(nonce, gcm_key + 32, 4);
		memcpy(nonce + 4, iv, 8);
		check(aead_gcm_seal(gcm_key, 32, nonce, pkt, 8, data, ptl, ct, ct + ptl) == 0);
	} else {
		check(aead_cbc(1, cbc_ek, 32, iv, data, ptl, ct) == 0);
		check(prf(PRF_HMAC_SHA2_256, cbc_ak, 32, pkt, 8 + ivl + ptl, mac) == 0);
		memcpy(ct + ptl, mac, 16);
	}
	if (decap(cbc ? cbc_in : gcm_in, pkt, len, &inner, &il) == ESP_OK)
		check(inner == buf + 8 + ivl && il + 2 <= ptl && !memcmp(inner, data, il));
}

/* View 4 */
static void as_inner(const uint8_t *data, size_t size, struct esp_sa *out, struct esp_sa *in)
{
	static uint8_t pkt[MAXPKT];
	size_t off, len, il;
	uint8_t *inner;
	enum esp_drop d;

	if (size == 0 || size > 65535)
		return;
	memcpy(pkt + ESP_HEADROOM, data, size);
	atomic_store(&out->seq, 0);
	check(esp_encap(out, pkt, size, (data[0] >> 4) == 6 ? 41 : 4, &off, &len) == ESP_OK);
	check(off + len <= sizeof(pkt));
	d = decap(in, pkt + off, len, &inner, &il);
	check(d == ESP_OK || d == ESP_DROP_INNER);
	if (d == ESP_OK)
		check(il <= size && !memcmp(inner, data, il));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sas_init();
	as_packet(data, size);
	as_plaintext(data, size, 0);
	as_plaintext(data, size, 1);
	as_inner(data, size, gcm_out, gcm_in);
	as_inner(data, size, cbc_out, cbc_in);
	return 0;
}
