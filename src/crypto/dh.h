/* Diffie-Hellman for IKEv2 through OpenSSL EVP_PKEY: groups 14 (MODP-2048,
 * RFC 3526), 19/20 (ECP-256/384, RFC 5903: public value x || y, no 0x04
 * prefix; shared secret x) and 31 (Curve25519, RFC 8031: 32 raw bytes). */
#ifndef INSYNC_DH_H
#define INSYNC_DH_H
#include <stddef.h>
#include <stdint.h>

#define DH_MAX_PUB 256
#define DH_MAX_SECRET 256

struct dh;
/* 1 if we implement the group. */
int dh_supported(int group);
/* Length of the public value (and of the shared secret for MODP) on the wire. */
size_t dh_pub_len(int group);
/* New key pair; NULL on unsupported group or failure. */
struct dh *dh_new(int group);
/* Test hook: a key pair from a fixed private key (X25519 only: 32 bytes). */
struct dh *dh_new_priv(int group, const uint8_t *priv, size_t len);
void dh_free(struct dh *d);
int dh_group(const struct dh *d);
/* Our public value as sent in KE: copies dh_pub_len() bytes. */
int dh_pub(const struct dh *d, uint8_t *out, size_t cap, size_t *len);
/* Validate the peer's public value and compute g^ir into out (cap >= DH_MAX_SECRET). */
int dh_derive(struct dh *d, const uint8_t *peer, size_t plen, uint8_t *out, size_t cap,
	      size_t *len);
#endif
