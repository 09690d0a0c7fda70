/* Pre-shared key authentication (RFC 7296 §2.15):
 * AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>), where
 * SignedOctets = RealMessage | NonceData(peer) | prf(SK_p, RestOfIDPayload). */
#ifndef INSYNC_PSK_H
#define INSYNC_PSK_H
#include <stddef.h>
#include <stdint.h>

/* id_body: the ID payload body (ID Type | RESERVED | data). out: prf_len bytes. */
int psk_auth(int prf, const uint8_t *psk, size_t psk_len, const uint8_t *msg, size_t msg_len,
	     const uint8_t *nonce, size_t nonce_len, const uint8_t *skp, size_t skp_len,
	     const uint8_t *id_body, size_t id_len, uint8_t *out);
#endif
