/* AES-GCM and AES-CBC through EVP_CIPHER. */
#include "crypto/aead.h"
#include <openssl/evp.h>

static const EVP_CIPHER *aead_gcm_cipher(size_t klen)
{
	return klen == 16 ? EVP_aes_128_gcm() : klen == 32 ? EVP_aes_256_gcm() : NULL;
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
	if (!EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) ||
	    !EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc))
		goto out;
	if (aadlen && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
		goto out;
	if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag))
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) <= 0)
		goto out;
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag))
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
	const EVP_CIPHER *c = klen == 16 ? EVP_aes_128_cbc() : klen == 32 ? EVP_aes_256_cbc() : NULL;
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
