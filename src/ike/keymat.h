/* Key derivation (RFC 7296 §2.13-2.18): SKEYSEED, the seven IKE SA keys,
 * rekeyed-IKE-SA SKEYSEED, and CHILD_SA KEYMAT (with or without PFS). */
#ifndef INSYNC_KEYMAT_H
#define INSYNC_KEYMAT_H
#include <stddef.h>
#include <stdint.h>
#include "ike/ike_msg.h"

/* A negotiated set of transforms (IKE or ESP). */
struct ike_sel {
	uint8_t num;       /* proposal number chosen */
	uint16_t encr;     /* ENCR_AES_CBC / ENCR_AES_GCM_16 */
	uint16_t klen;     /* bits */
	uint16_t prf;      /* PRF_HMAC_SHA2_* */
	uint16_t integ;    /* AUTH_* (0 for AEAD) */
	uint16_t dh;       /* group, 0 = none */
	uint64_t spi;      /* SPI in the chosen proposal */
};

struct ike_keys {
	int prf;
	size_t prf_len, ek_len, salt_len, ak_len, icv_len;
	int aead, integ_prf;
	uint8_t sk_d[64], sk_ai[64], sk_ar[64], sk_ei[36], sk_er[36], sk_pi[64], sk_pr[64];
};

/* SKEYSEED = prf(Ni | Nr, g^ir) */
int keymat_skeyseed(int prf, const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl,
		    const uint8_t *gir, size_t girl, uint8_t *out);
/* Rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) */
int keymat_skeyseed_rekey(int prf, const uint8_t *skd, size_t skdl, const uint8_t *gir,
			  size_t girl, const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl,
			  uint8_t *out);
/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
int keymat_ike(struct ike_keys *k, const struct ike_sel *s, const uint8_t *skeyseed,
	       const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl, uint64_t spi_i,
	       uint64_t spi_r);
/* SK parameters protecting messages sent by the original initiator (from_i) or responder. */
void keymat_sk(const struct ike_keys *k, int from_i, struct ike_sk *sk);
/* ESP key lengths for a transform: encryption (GCM includes the 4-byte salt), integrity. */
int keymat_esp_lengths(uint16_t encr, uint16_t klen, uint16_t integ, size_t *el, size_t *al);
/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr): initiator->responder encr, integ,
 * then responder->initiator encr, integ. gir may be NULL (no PFS). */
int keymat_child(int prf, const uint8_t *skd, size_t skdl, const uint8_t *gir, size_t girl,
		 const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl, size_t el, size_t al,
		 uint8_t *ei, uint8_t *ai, uint8_t *er, uint8_t *ar);
void keymat_wipe(struct ike_keys *k);
#endif
