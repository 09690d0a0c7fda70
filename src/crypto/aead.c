/* AES-GCM and AES-CBC through EVP_CIPHER. The ciphers are fetched once:
 * naming one per call (EVP_aes_256_gcm() and friends) makes OpenSSL 3 look
 * the implementation up again on every IKE message. */
#include "crypto/aead.h"
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static const EVP_CIPHER *aead_cipher(const char *name128, const char *name256, size_t klen)
{
	static struct {
		const char *name;
		EVP_CIPHER *c;
	} cache[8]; /* control thread only */
	const char *name = klen == 16 ? name128 : klen == 32 ? name256 : NULL;

	if (!name)
		return NULL;
	for (int i = 0; i < 8; i++) {
		if (cache[i].name == name)
			return cache[i].c;
		if (!cache[i].name) {
			if (!(cache[i].c = EVP_CIPHER_fetch(NULL, name, NULL)))
				return NULL;
			cache[i].name = name;
			return cache[i].c;
		}
	}
	return NULL;
}

static const EVP_CIPHER *aead_gcm_cipher(size_t klen)
{
	return aead_cipher("AES-128-GCM", "AES-256-GCM", klen);
}

static int aead_gcm(int enc, const uint8_t *key, size_t klen, const uint8_t nonce[12],
		    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
		    uint8_t *tag)
{
	const EVP_CIPHER *c = aead_gcm_cipher(klen);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, rc = -1;

	if (!c || !ctx || len > 0x7fffffff || aadlen > 0x7fffffff)
		goto out;
	OSSL_PARAM tp[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
			    OSSL_PARAM_construct_end()};
	/* 12 bytes is GCM's default IV length: no IVLEN parameter needed. */
	if (!EVP_CipherInit_ex2(ctx, c, key, nonce, enc, NULL))
		goto out;
	if (aadlen && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
		goto out;
	if (!enc && !EVP_CIPHER_CTX_set_params(ctx, tp))
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) <= 0)
		goto out;
	if (enc && !EVP_CIPHER_CTX_get_params(ctx, tp))
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int aead_gcm_seal(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	return aead_gcm(1, key, klen, nonce, aad, aadlen, in, len, out, tag);
}

int aead_gcm_open(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[16])
{
	return aead_gcm(0, key, klen, nonce, aad, aadlen, in, len, out, (uint8_t *)tag);
}

int aead_cbc(int enc, const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in,
	     size_t len, uint8_t *out)
{
	const EVP_CIPHER *c = aead_cipher("AES-128-CBC", "AES-256-CBC", klen);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, rc = -1;

	if (!c || !ctx || len % 16 || len > 0x7fffffff)
		goto out;
	if (!EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) || !EVP_CIPHER_CTX_set_padding(ctx, 0))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) <= 0)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
