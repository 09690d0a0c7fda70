/* ESP SA objects: key checks, one EVP context per SA prepared once, and the
 * small per-packet crypto helpers (GCM nonce/AAD, HMAC) used by esp_in/esp_out.
 * Keys live only inside the OpenSSL contexts, which cleanse them on free. */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "esp/esp.h"
#include "esp/esp_wire.h"
#include "util/buf.h"

static const char *const drop_names[ESP_DROP_MAX] = {
	[ESP_OK] = "ok",
	[ESP_DROP_NO_SA_V4] = "IN_US_V4_PKT_SA_NOT_FOUND_SPI",
	[ESP_DROP_NO_SA_V6] = "IN_US_V6_PKT_SA_NOT_FOUND_SPI",
	[ESP_DROP_NO_SA_UDP] = "IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI",
	[ESP_DROP_REPLAY] = "replay",
	[ESP_DROP_ICV] = "icv-failure",
	[ESP_DROP_PAD] = "bad-padding",
	[ESP_DROP_MALFORMED] = "malformed",
	[ESP_DROP_NEXTHDR] = "bad-next-header",
	[ESP_DROP_INNER] = "inner-packet-invalid",
	[ESP_DROP_NO_OUT_SA] = "no-sa-for-route",
	[ESP_DROP_SEQ_EXHAUSTED] = "seq-exhausted",
	[ESP_DROP_TUN_ERR] = "tun-error",
	[ESP_DROP_SEND_ERR] = "send-error",
};

const char *esp_drop_name(enum esp_drop d)
{
	if ((unsigned)d >= ESP_DROP_MAX)
		return "unknown";
	return drop_names[d];
}

int esp_key_lengths(enum cfg_esp_cipher c, enum cfg_esp_auth a, size_t *enc, size_t *auth)
{
	size_t e, m;

	switch (c) {
	case CFG_ESP_GCM_128: e = 16 + ESP_GCM_SALT_LEN; break;
	case CFG_ESP_GCM_256: e = 32 + ESP_GCM_SALT_LEN; break;
	case CFG_ESP_AES_128: e = 16; break;
	case CFG_ESP_AES_256: e = 32; break;
	default: return -1;
	}
	switch (a) {
	case CFG_ESP_AUTH_NONE: m = 0; break;
	case CFG_ESP_SHA256: m = 32; break; /* RFC 4868: key = hash output size */
	case CFG_ESP_SHA384: m = 48; break;
	case CFG_ESP_SHA512: m = 64; break;
	default: return -1;
	}
	/* GCM carries its own ICV; CBC without integrity is not offered. */
	if ((c == CFG_ESP_GCM_128 || c == CFG_ESP_GCM_256) != (m == 0))
		return -1;
	if (enc)
		*enc = e;
	if (auth)
		*auth = m;
	return 0;
}

static const EVP_CIPHER *cipher_of(enum cfg_esp_cipher c)
{
	switch (c) {
	case CFG_ESP_GCM_128: return EVP_aes_128_gcm();
	case CFG_ESP_GCM_256: return EVP_aes_256_gcm();
	case CFG_ESP_AES_128: return EVP_aes_128_cbc();
	case CFG_ESP_AES_256: return EVP_aes_256_cbc();
	}
	return NULL;
}

static const char *digest_of(enum cfg_esp_auth a, size_t *icv_len)
{
	switch (a) {
	case CFG_ESP_SHA256: *icv_len = 16; return "SHA256"; /* RFC 4868 §2.3 truncation */
	case CFG_ESP_SHA384: *icv_len = 24; return "SHA384";
	case CFG_ESP_SHA512: *icv_len = 32; return "SHA512";
	default: return NULL;
	}
}

static int setup_cipher(struct esp_sa *sa, const struct esp_sa_params *p)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int gcm = esp_sa_is_gcm(sa);
	size_t klen = p->enc_key_len - (gcm ? ESP_GCM_SALT_LEN : 0);

	if (!ctx)
		return -1;
	sa->evp = ctx;
	if (!EVP_CipherInit_ex(ctx, cipher_of(sa->cipher), NULL, NULL, NULL, !sa->inbound))
		return -1;
	if (gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
				       ESP_GCM_SALT_LEN + ESP_GCM_IV_LEN, NULL) != 1)
		return -1;
	if ((size_t)EVP_CIPHER_CTX_get_key_length(ctx) != klen)
		return -1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, p->enc_key, NULL, -1))
		return -1;
	/* ESP does its own padding; the cipher must not add or strip any. */
	if (!gcm && !EVP_CIPHER_CTX_set_padding(ctx, 0))
		return -1;
	if (gcm)
		memcpy(sa->salt, p->enc_key + klen, ESP_GCM_SALT_LEN);
	return 0;
}

static int setup_mac(struct esp_sa *sa, const struct esp_sa_params *p)
{
	const char *md = digest_of(sa->auth, &sa->icv_len);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2];

	sa->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the ctx holds its own reference */
	if (!md || !sa->mac)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* Keyed once here; per packet EVP_MAC_init(ctx, NULL, ...) restarts from the
	 * precomputed inner/outer pads without touching the key again. */
	if (!EVP_MAC_init(sa->mac, p->auth_key, p->auth_key_len, params))
		return -1;
	return 0;
}

struct esp_sa *esp_sa_new(const struct esp_sa_params *p, int inbound)
{
	struct esp_sa *sa = NULL;
	size_t enc_len, auth_len;
	uint32_t window;

	if (!p || esp_key_lengths(p->cipher, p->auth, &enc_len, &auth_len))
		return NULL;
	/* SPI 0 is never valid. 1-255 are IANA-reserved (RFC 4303 §2.1): IKE never
	 * allocates them, but a manual key may use one (the shipped examples do). */
	if (p->spi == 0 || p->enc_key_len != enc_len || !p->enc_key)
		return NULL;
	if (p->auth_key_len != auth_len || (auth_len && !p->auth_key))
		return NULL;
	/* Only an inbound SA checks replay: only it carries the bitmap. */
	window = inbound ? replay_window_bits(p->replay_window ? p->replay_window : 64) : 0;
	sa = calloc(1, sizeof(*sa) + window / 8);
	if (!sa)
		return NULL;
	sa->spi = p->spi;
	sa->inbound = inbound ? 1 : 0;
	sa->cipher = p->cipher;
	sa->auth = p->auth;
	sa->esn = p->esn ? 1 : 0;
	atomic_init(&sa->seq, 0);
	if (esp_sa_is_gcm(sa)) {
		sa->iv_len = ESP_GCM_IV_LEN;
		sa->icv_len = ESP_GCM_ICV_LEN;
		sa->block = 4; /* RFC 4303 §2.4: 4-byte alignment for stream-like ciphers */
	} else {
		sa->iv_len = ESP_CBC_IV_LEN;
		sa->block = 16;
	}
	if (setup_cipher(sa, p) || (!esp_sa_is_gcm(sa) && setup_mac(sa, p)))
		goto fail;
	if (inbound)
		replay_init(&sa->replay, window, sa->replay_bits);
	return sa;
fail:
	esp_sa_free(sa);
	return NULL;
}

void esp_sa_free(struct esp_sa *sa)
{
	if (!sa)
		return;
	/* Both free functions cleanse the key schedules they hold. */
	EVP_CIPHER_CTX_free(sa->evp);
	EVP_MAC_CTX_free(sa->mac);
	OPENSSL_cleanse(sa->salt, sizeof(sa->salt));
	free(sa);
}

int esp_sa_gcm_start(struct esp_sa *sa, const uint8_t *hdr, const uint8_t *iv8, uint32_t seq_hi)
{
	EVP_CIPHER_CTX *ctx = sa->evp;
	uint8_t nonce[ESP_GCM_SALT_LEN + ESP_GCM_IV_LEN], aad[12];
	size_t aad_len = 8;
	int outl;

	memcpy(nonce, sa->salt, ESP_GCM_SALT_LEN);
	memcpy(nonce + ESP_GCM_SALT_LEN, iv8, ESP_GCM_IV_LEN);
	memcpy(aad, hdr, 4);
	if (sa->esn) {
		put_be32(aad + 4, seq_hi);
		memcpy(aad + 8, hdr + 4, 4);
		aad_len = 12;
	} else {
		memcpy(aad + 4, hdr + 4, 4);
	}
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, -1))
		return -1;
	if (!EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len))
		return -1;
	return 0;
}

int esp_sa_hmac(struct esp_sa *sa, const uint8_t *p, size_t len, uint32_t seq_hi, uint8_t *md)
{
	EVP_MAC_CTX *ctx = sa->mac;
	uint8_t hi[4];
	size_t outl;

	if (!EVP_MAC_init(ctx, NULL, 0, NULL) || !EVP_MAC_update(ctx, p, len))
		return -1;
	if (sa->esn) {
		put_be32(hi, seq_hi);
		if (!EVP_MAC_update(ctx, hi, sizeof(hi)))
			return -1;
	}
	if (!EVP_MAC_final(ctx, md, &outl, ESP_MAX_ICV * 2) || outl < sa->icv_len)
		return -1;
	return 0;
}
