/* HMAC through EVP_MAC. One context per PRF, made once with its digest set:
 * each call only re-keys it (EVP_MAC_init with no params). Making a context
 * and naming the digest per call fetched the digest every time: about 70 % of
 * a 1 us PRF, and an IKE setup makes some 16 PRF calls. The context holds key
 * state between calls, so each call ends by re-keying it with the empty key.
 * Control thread only. */
#include "crypto/prf.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

static const char *prf_digest(int alg)
{
	switch (alg) {
	case PRF_HMAC_SHA2_256:
		return "SHA2-256";
	case PRF_HMAC_SHA2_384:
		return "SHA2-384";
	case PRF_HMAC_SHA2_512:
		return "SHA2-512";
	}
	return NULL;
}

static EVP_MAC_CTX *prf_ctx(int alg)
{
	static EVP_MAC *hmac;
	static EVP_MAC_CTX *ctx[3];
	static const uint8_t zero;
	const char *md = prf_digest(alg);
	int i = alg - PRF_HMAC_SHA2_256;

	if (!md || i < 0 || i > 2)
		return NULL;
	if (ctx[i])
		return ctx[i];
	if (!hmac && !(hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
	    OSSL_PARAM_construct_end(),
	};
	if (!(ctx[i] = EVP_MAC_CTX_new(hmac)) || !EVP_MAC_init(ctx[i], &zero, 0, params)) {
		EVP_MAC_CTX_free(ctx[i]);
		ctx[i] = NULL;
	}
	return ctx[i];
}

size_t prf_len(int alg)
{
	switch (alg) {
	case PRF_HMAC_SHA2_256:
		return 32;
	case PRF_HMAC_SHA2_384:
		return 48;
	case PRF_HMAC_SHA2_512:
		return 64;
	}
	return 0;
}

int prf_v(int alg, const uint8_t *key, size_t klen, const struct prf_iov *iov, size_t n,
	  uint8_t *out)
{
	EVP_MAC_CTX *ctx = prf_ctx(alg);
	size_t olen = 0;
	int rc = -1;
	static const uint8_t zero;

	/* HMAC accepts an empty key; OpenSSL wants a non-NULL pointer for it. */
	if (!ctx || !EVP_MAC_init(ctx, klen ? key : &zero, klen, NULL))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (iov[i].len && !EVP_MAC_update(ctx, iov[i].p, iov[i].len))
			goto out;
	if (!EVP_MAC_final(ctx, out, &olen, PRF_MAX_LEN) || olen != prf_len(alg))
		goto out;
	rc = 0;
out:
	EVP_MAC_init(ctx, &zero, 0, NULL); /* no key state left behind */
	return rc;
}

int prf(int alg, const uint8_t *key, size_t klen, const void *data, size_t dlen, uint8_t *out)
{
	struct prf_iov v = {data, dlen};
	return prf_v(alg, key, klen, &v, 1, out);
}

int prf_plus(int alg, const uint8_t *key, size_t klen, const struct prf_iov *seed, size_t nseed,
	     uint8_t *out, size_t outlen)
{
	size_t hl = prf_len(alg), done = 0;
	uint8_t t[PRF_MAX_LEN];
	struct prf_iov v[10];
	uint8_t ctr = 1;
	int rc = -1;

	if (!hl || nseed > 8 || outlen > 255 * hl)
		goto out;
	while (done < outlen) {
		size_t k = 0;
		if (ctr > 1)
			v[k++] = (struct prf_iov){t, hl};
		for (size_t i = 0; i < nseed; i++)
			v[k++] = seed[i];
		v[k++] = (struct prf_iov){&ctr, 1};
		if (prf_v(alg, key, klen, v, k, t))
			goto out;
		size_t take = outlen - done < hl ? outlen - done : hl;
		memcpy(out + done, t, take);
		done += take;
		ctr++;
	}
	rc = 0;
out:
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}
