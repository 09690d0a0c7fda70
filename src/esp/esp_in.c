/* Inbound ESP (layout in esp_wire.h). The caller found the SA by SPI; here:
 * replay check, ICV verify + decrypt, commit the window, then padding, next
 * header and inner-packet checks (RFC 4303 §3.4). Nothing is read past len,
 * and the replay window moves only for packets whose ICV verified. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "esp/esp.h"
#include "esp/esp_wire.h"
#include "util/buf.h"

static int open_gcm(struct esp_sa *sa, uint8_t *pkt, size_t ct_len, uint32_t seq_hi)
{
	EVP_CIPHER_CTX *ctx = sa->evp;
	uint8_t *iv = pkt + ESP_HDR_LEN, *ct = iv + ESP_GCM_IV_LEN;
	int outl;

	if (esp_sa_gcm_start(sa, pkt, iv, seq_hi))
		return -1;
	if (!EVP_CipherUpdate(ctx, ct, &outl, ct, (int)ct_len) || (size_t)outl != ct_len)
		return -1;
	OSSL_PARAM tag[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + ct_len,
								 ESP_GCM_ICV_LEN),
			     OSSL_PARAM_construct_end()};
	if (EVP_CIPHER_CTX_set_params(ctx, tag) != 1) /* cheaper than the ctrl wrapper */
		return -1;
	return EVP_CipherFinal_ex(ctx, ct + ct_len, &outl) > 0 ? 0 : -1;
}

static int open_cbc(struct esp_sa *sa, uint8_t *pkt, size_t ct_len, uint32_t seq_hi)
{
	EVP_CIPHER_CTX *ctx = sa->evp;
	uint8_t *iv = pkt + ESP_HDR_LEN, *ct = iv + ESP_CBC_IV_LEN;
	uint8_t md[ESP_MAX_ICV * 2];
	int outl, fl;

	/* Encrypt-then-MAC: authenticate before decrypting anything. */
	if (esp_sa_hmac(sa, pkt, ESP_HDR_LEN + ESP_CBC_IV_LEN + ct_len, seq_hi, md))
		return -1;
	if (CRYPTO_memcmp(md, ct + ct_len, sa->icv_len) != 0)
		return -1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1))
		return -1;
	if (!EVP_CipherUpdate(ctx, ct, &outl, ct, (int)ct_len) || (size_t)outl != ct_len)
		return -1;
	return EVP_CipherFinal_ex(ctx, ct + ct_len, &fl) && fl == 0 ? 0 : -1;
}

/* The inner packet must agree with its own headers. Bytes after the IP total
 * length are TFC padding (RFC 4303 §2.7) and are cut off. */
static enum esp_drop check_inner(const uint8_t *p, size_t len, uint8_t nh, size_t *out_len)
{
	size_t tot;

	if (nh == ESP_NH_IPV4) {
		if (len < 20 || p[0] >> 4 != 4 || (p[0] & 0x0f) < 5)
			return ESP_DROP_INNER;
		tot = get_be16(p + 2);
		if (tot < (size_t)(p[0] & 0x0f) * 4 || tot > len)
			return ESP_DROP_INNER;
	} else {
		if (len < 40 || p[0] >> 4 != 6)
			return ESP_DROP_INNER;
		tot = 40 + (size_t)get_be16(p + 4);
		if (tot > len)
			return ESP_DROP_INNER;
	}
	*out_len = tot;
	return ESP_OK;
}

enum esp_drop esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t *inner_off,
			size_t *inner_len, uint8_t *next_hdr)
{
	size_t pre, ct_len, pad, i, plain_len;
	uint8_t *pt, nh;
	uint32_t seq_lo;
	uint64_t seq;
	int bad;

	if (!sa || !sa->inbound || !pkt)
		return ESP_DROP_MALFORMED;
	/* Lengths first: header, IV, at least the trailer, the ICV; CBC needs whole
	 * blocks; EVP takes an int. */
	pre = ESP_HDR_LEN + sa->iv_len;
	if (len < pre + ESP_TRAILER_LEN + sa->icv_len || len > 65535 + pre + sa->icv_len)
		return ESP_DROP_MALFORMED;
	ct_len = len - pre - sa->icv_len;
	if (ct_len % sa->block != 0 && !esp_sa_is_gcm(sa))
		return ESP_DROP_MALFORMED;
	if (get_be32(pkt) != sa->spi)
		return ESP_DROP_MALFORMED; /* the caller looked up a different SPI */

	seq_lo = get_be32(pkt + 4);
	if (replay_check(&sa->replay, seq_lo, sa->esn, &seq))
		return ESP_DROP_REPLAY;
	bad = esp_sa_is_gcm(sa) ? open_gcm(sa, pkt, ct_len, (uint32_t)(seq >> 32))
				: open_cbc(sa, pkt, ct_len, (uint32_t)(seq >> 32));
	if (bad)
		return ESP_DROP_ICV;
	replay_commit(&sa->replay, seq);

	/* Authenticated from here on, yet still checked: a peer bug must not
	 * become a bad TUN write. */
	pt = pkt + pre;
	pad = pt[ct_len - 2];
	nh = pt[ct_len - 1];
	if (pad + ESP_TRAILER_LEN > ct_len)
		return ESP_DROP_PAD;
	plain_len = ct_len - ESP_TRAILER_LEN - pad;
	for (i = 0; i < pad; i++)
		if (pt[plain_len + i] != (uint8_t)(i + 1))
			return ESP_DROP_PAD;
	if (nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6)
		return ESP_DROP_NEXTHDR; /* includes 59, the dummy packet: dropped quietly */
	if (check_inner(pt, plain_len, nh, &plain_len) != ESP_OK)
		return ESP_DROP_INNER;
	*inner_off = pre;
	*inner_len = plain_len;
	*next_hdr = nh;
	return ESP_OK;
}
