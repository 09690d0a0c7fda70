/* IKEv2 key derivation through prf.h (HMAC-SHA2). */
#include "ike/keymat.h"
#include <openssl/crypto.h>
#include <string.h>
#include "crypto/prf.h"

int keymat_skeyseed(int prf_id, const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl,
		    const uint8_t *gir, size_t girl, uint8_t *out)
{
	uint8_t key[2 * IKE_NONCE_MAX];
	int rc;

	if (nil > IKE_NONCE_MAX || nrl > IKE_NONCE_MAX)
		return -1;
	memcpy(key, ni, nil);
	memcpy(key + nil, nr, nrl);
	rc = prf(prf_id, key, nil + nrl, gir, girl, out);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int keymat_skeyseed_rekey(int prf_id, const uint8_t *skd, size_t skdl, const uint8_t *gir,
			  size_t girl, const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl,
			  uint8_t *out)
{
	struct prf_iov v[3] = {{gir, girl}, {ni, nil}, {nr, nrl}};
	return prf_v(prf_id, skd, skdl, v, 3, out);
}

int keymat_esp_lengths(uint16_t encr, uint16_t klen, uint16_t integ, size_t *el, size_t *al)
{
	if ((encr != ENCR_AES_CBC && encr != ENCR_AES_GCM_16) || (klen != 128 && klen != 256))
		return -1;
	*el = klen / 8 + (encr == ENCR_AES_GCM_16 ? IKE_GCM_SALT_LEN : 0);
	switch (integ) {
	case AUTH_NONE:
		*al = 0;
		return encr == ENCR_AES_GCM_16 ? 0 : -1;
	case AUTH_HMAC_SHA2_256_128:
		*al = 32;
		break;
	case AUTH_HMAC_SHA2_384_192:
		*al = 48;
		break;
	case AUTH_HMAC_SHA2_512_256:
		*al = 64;
		break;
	default:
		return -1;
	}
	return encr == ENCR_AES_GCM_16 ? -1 : 0;
}

int keymat_ike(struct ike_keys *k, const struct ike_sel *s, const uint8_t *skeyseed,
	       const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl, uint64_t spi_i,
	       uint64_t spi_r)
{
	uint8_t spis[16], buf[7 * 64], *q = buf;
	size_t el, al, total;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	k->prf = s->prf;
	k->prf_len = prf_len(s->prf);
	if (!k->prf_len || keymat_esp_lengths(s->encr, s->klen, s->integ, &el, &al))
		goto out;
	k->aead = s->encr == ENCR_AES_GCM_16;
	k->salt_len = k->aead ? IKE_GCM_SALT_LEN : 0;
	k->ek_len = el - k->salt_len;
	k->ak_len = al;
	k->icv_len = k->aead ? IKE_GCM_ICV_LEN : al / 2;
	k->integ_prf = s->integ == AUTH_HMAC_SHA2_256_128   ? PRF_HMAC_SHA2_256
		       : s->integ == AUTH_HMAC_SHA2_384_192 ? PRF_HMAC_SHA2_384
		       : s->integ == AUTH_HMAC_SHA2_512_256 ? PRF_HMAC_SHA2_512
							    : 0;
	for (int i = 0; i < 8; i++) {
		spis[i] = (uint8_t)(spi_i >> (56 - 8 * i));
		spis[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
	}
	total = 3 * k->prf_len + 2 * al + 2 * el;
	struct prf_iov seed[3] = {{ni, nil}, {nr, nrl}, {spis, 16}};
	if (prf_plus(s->prf, skeyseed, k->prf_len, seed, 3, buf, total))
		goto out;
	memcpy(k->sk_d, q, k->prf_len), q += k->prf_len;
	memcpy(k->sk_ai, q, al), q += al;
	memcpy(k->sk_ar, q, al), q += al;
	memcpy(k->sk_ei, q, el), q += el;
	memcpy(k->sk_er, q, el), q += el;
	memcpy(k->sk_pi, q, k->prf_len), q += k->prf_len;
	memcpy(k->sk_pr, q, k->prf_len);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

void keymat_sk(const struct ike_keys *k, int from_i, struct ike_sk *sk)
{
	sk->aead = k->aead;
	sk->ek = from_i ? k->sk_ei : k->sk_er;
	sk->ek_len = k->ek_len;
	sk->integ_prf = k->integ_prf;
	sk->ak = from_i ? k->sk_ai : k->sk_ar;
	sk->ak_len = k->ak_len;
	sk->icv_len = k->icv_len;
}

int keymat_child(int prf_id, const uint8_t *skd, size_t skdl, const uint8_t *gir, size_t girl,
		 const uint8_t *ni, size_t nil, const uint8_t *nr, size_t nrl, size_t el, size_t al,
		 uint8_t *ei, uint8_t *ai, uint8_t *er, uint8_t *ar)
{
	uint8_t buf[4 * 64];
	struct prf_iov seed[3];
	size_t n = 0;
	int rc = -1;

	if (el > 64 || al > 64)
		goto out;
	if (gir)
		seed[n++] = (struct prf_iov){gir, girl};
	seed[n++] = (struct prf_iov){ni, nil};
	seed[n++] = (struct prf_iov){nr, nrl};
	if (prf_plus(prf_id, skd, skdl, seed, n, buf, 2 * (el + al)))
		goto out;
	memcpy(ei, buf, el);
	memcpy(ai, buf + el, al);
	memcpy(er, buf + el + al, el);
	memcpy(ar, buf + 2 * el + al, al);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

void keymat_wipe(struct ike_keys *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}
