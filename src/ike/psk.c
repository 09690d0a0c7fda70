/* PSK AUTH payload computation; comparison is the caller's (CRYPTO_memcmp). */
#include "ike/psk.h"
#include <openssl/crypto.h>
#include "crypto/prf.h"

static const char psk_pad[] = "Key Pad for IKEv2"; /* 17 octets, no NUL */

int psk_auth(int prf_id, const uint8_t *psk, size_t psk_len, const uint8_t *msg, size_t msg_len,
	     const uint8_t *nonce, size_t nonce_len, const uint8_t *skp, size_t skp_len,
	     const uint8_t *id_body, size_t id_len, uint8_t *out)
{
	uint8_t macid[PRF_MAX_LEN], key[PRF_MAX_LEN];
	size_t hl = prf_len(prf_id);
	int rc = -1;

	if (!hl || prf(prf_id, skp, skp_len, id_body, id_len, macid) ||
	    prf(prf_id, psk, psk_len, psk_pad, sizeof(psk_pad) - 1, key))
		goto out;
	struct prf_iov v[3] = {{msg, msg_len}, {nonce, nonce_len}, {macid, hl}};
	rc = prf_v(prf_id, key, hl, v, 3, out);
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
