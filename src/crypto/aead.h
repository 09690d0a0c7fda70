/* Symmetric ciphers for the IKE SK payload: AES-GCM with a 16-byte ICV
 * (RFC 5282: 4-byte salt from the key material || 8-byte explicit IV) and
 * AES-CBC (RFC 3602) whose integrity is HMAC (prf.h). EVP only. */
#ifndef INSYNC_AEAD_H
#define INSYNC_AEAD_H
#include <stddef.h>
#include <stdint.h>

/* key: 16 or 32 bytes; nonce: 12 bytes; tag: 16 bytes. In-place allowed. */
int aead_gcm_seal(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
/* Returns -1 when the tag does not verify (out is then garbage). */
int aead_gcm_open(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[16]);
/* len must be a multiple of 16; no padding is added or removed. */
int aead_cbc(int enc, const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in,
	     size_t len, uint8_t *out);
#endif
