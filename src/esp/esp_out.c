/* Outbound ESP: wrap an inner packet in place (layout in esp_wire.h).
 *
 *   buf: [ .. free .. | SPI | seq | IV | inner packet | pad | pl | nh | ICV ]
 *        ^buf          ^*esp_off        ^buf+ESP_HEADROOM
 *
 * GCM's explicit IV is the 64-bit sequence number: unique per key, which is all
 * RFC 4106 §3.1 asks, and it costs no randomness. CBC's IV must be
 * unpredictable (RFC 3602 §2), so it comes from the OpenSSL DRBG. */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "esp/esp.h"
#include "esp/esp_wire.h"
#include "util/buf.h"

/* Take the next sequence number, refusing to wrap (RFC 4303 §3.3.3): the
 * 32-bit space without ESN, the 64-bit one with it. Lock-free. */
static int seq_next(struct esp_sa *sa, uint64_t *seq)
{
	uint64_t cur = atomic_load_explicit(&sa->seq, memory_order_relaxed);
	uint64_t max = sa->esn ? UINT64_MAX : UINT32_MAX;

	do {
		if (cur >= max)
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(&sa->seq, &cur, cur + 1, memory_order_relaxed,
							memory_order_relaxed));
	*seq = cur + 1;
	return 0;
}

static int seal_gcm(struct esp_sa *sa, uint8_t *hdr, uint64_t seq, size_t ct_len)
{
	EVP_CIPHER_CTX *ctx = sa->evp;
	uint8_t *iv = hdr + ESP_HDR_LEN, *ct = iv + ESP_GCM_IV_LEN;
	int outl;

	put_be32(iv, (uint32_t)(seq >> 32));
	put_be32(iv + 4, (uint32_t)seq);
	if (esp_sa_gcm_start(sa, hdr, iv, (uint32_t)(seq >> 32)))
		return -1;
	if (!EVP_CipherUpdate(ctx, ct, &outl, ct, (int)ct_len) || (size_t)outl != ct_len)
		return -1;
	if (!EVP_CipherFinal_ex(ctx, ct + ct_len, &outl))
		return -1;
	/* The tag as a param: the ctrl wrapper would build this array and more. */
	OSSL_PARAM tag[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + ct_len,
								 ESP_GCM_ICV_LEN),
			     OSSL_PARAM_construct_end()};
	return EVP_CIPHER_CTX_get_params(ctx, tag) == 1 ? 0 : -1;
}

static int seal_cbc(struct esp_sa *sa, uint8_t *hdr, uint64_t seq, size_t ct_len)
{
	EVP_CIPHER_CTX *ctx = sa->evp;
	uint8_t *iv = hdr + ESP_HDR_LEN, *ct = iv + ESP_CBC_IV_LEN;
	uint8_t md[ESP_MAX_ICV * 2];
	int outl, fl;

	if (RAND_bytes(iv, ESP_CBC_IV_LEN) != 1)
		return -1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1))
		return -1;
	if (!EVP_CipherUpdate(ctx, ct, &outl, ct, (int)ct_len) || (size_t)outl != ct_len)
		return -1;
	if (!EVP_CipherFinal_ex(ctx, ct + ct_len, &fl) || fl != 0)
		return -1;
	if (esp_sa_hmac(sa, hdr, ESP_HDR_LEN + ESP_CBC_IV_LEN + ct_len, (uint32_t)(seq >> 32), md))
		return -1;
	memcpy(ct + ct_len, md, sa->icv_len);
	return 0;
}

enum esp_drop esp_encap(struct esp_sa *sa, uint8_t *buf, size_t inner_len, uint8_t next_hdr,
			size_t *esp_off, size_t *esp_len)
{
	uint8_t *inner, *hdr, *t;
	size_t pad, ct_len, i;
	uint64_t seq;

	/* Validate before a sequence number is spent. The ESP payload must also
	 * fit an int for EVP and leave room for an outer header in 64 KiB. */
	if (!sa || sa->inbound || !buf || inner_len == 0 || inner_len > 65535)
		return ESP_DROP_MALFORMED;
	inner = buf + ESP_HEADROOM; /* only now: offsetting NULL is undefined */
	pad = (sa->block - (inner_len + ESP_TRAILER_LEN) % sa->block) % sa->block;
	ct_len = inner_len + pad + ESP_TRAILER_LEN;
	if (seq_next(sa, &seq))
		return ESP_DROP_SEQ_EXHAUSTED;

	/* Trailer: the default padding is 1, 2, 3, ... (RFC 4303 §2.4). */
	t = inner + inner_len;
	for (i = 0; i < pad; i++)
		t[i] = (uint8_t)(i + 1);
	t[pad] = (uint8_t)pad;
	t[pad + 1] = next_hdr;

	hdr = inner - sa->iv_len - ESP_HDR_LEN;
	put_be32(hdr, sa->spi);
	put_be32(hdr + 4, (uint32_t)seq); /* only the low half goes on the wire */
	if (esp_sa_is_gcm(sa) ? seal_gcm(sa, hdr, seq, ct_len) : seal_cbc(sa, hdr, seq, ct_len))
		return ESP_DROP_SEND_ERR; /* crypto library failure: nothing sane to send */
	*esp_off = (size_t)(hdr - buf);
	*esp_len = ESP_HDR_LEN + sa->iv_len + ct_len + sa->icv_len;
	return ESP_OK;
}
