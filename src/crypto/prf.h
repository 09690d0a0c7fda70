/* HMAC-SHA2 PRFs and integrity MACs (RFC 4868) and prf+ (RFC 7296 §2.13),
 * thin wrappers over OpenSSL EVP_MAC. */
#ifndef INSYNC_PRF_H
#define INSYNC_PRF_H
#include <stddef.h>
#include <stdint.h>

/* IANA IKEv2 transform IDs (type 2, PRF). */
enum prf_alg { PRF_HMAC_SHA2_256 = 5, PRF_HMAC_SHA2_384 = 6, PRF_HMAC_SHA2_512 = 7 };
#define PRF_MAX_LEN 64

/* Output (= preferred key) length in bytes, 0 if unknown. */
size_t prf_len(int alg);
/* A piece of a concatenated input. */
struct prf_iov {
	const void *p;
	size_t len;
};
/* out = HMAC(key, iov[0] | iov[1] | ...); out holds prf_len(alg) bytes. 0 or -1. */
int prf_v(int alg, const uint8_t *key, size_t klen, const struct prf_iov *iov, size_t n,
	  uint8_t *out);
int prf(int alg, const uint8_t *key, size_t klen, const void *data, size_t dlen, uint8_t *out);
/* prf+ (K, S) = T1 | T2 | ..., Tn = prf(K, Tn-1 | S | n); outlen <= 255 * prf_len. */
int prf_plus(int alg, const uint8_t *key, size_t klen, const struct prf_iov *seed, size_t nseed,
	     uint8_t *out, size_t outlen);
#endif
