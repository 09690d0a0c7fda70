/* DH key pairs via EVP_PKEY. MODP secrets are padded to the modulus length
 * (RFC 7296 §2.14 uses g^ir as a fixed-length octet string). */
#include "crypto/dh.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/dh.h>
#include <openssl/bn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dh {
	int group;
	EVP_PKEY *key;
};

int dh_supported(int group)
{
	return group == 14 || group == 19 || group == 20 || group == 31;
}

size_t dh_pub_len(int group)
{
	switch (group) {
	case 14:
		return 256;
	case 19:
		return 64;
	case 20:
		return 96;
	case 31:
		return 32;
	}
	return 0;
}

/* Domain parameters of each curve, built once: creating the group by name
 * for every key and every peer value cost a fifth of an IKE setup. */
static EVP_PKEY *ec_tmpl[2];
static pthread_once_t ec_once = PTHREAD_ONCE_INIT;

static void ec_tmpl_init(void)
{
	static const char *curve[2] = {"P-256", "P-384"};

	for (int i = 0; i < 2; i++) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve[i], 0),
			OSSL_PARAM_construct_end(),
		};
		if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
		    EVP_PKEY_fromdata(ctx, &ec_tmpl[i], EVP_PKEY_KEY_PARAMETERS, p) <= 0)
			ec_tmpl[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
}

static EVP_PKEY *ec_params(int group)
{
	pthread_once(&ec_once, ec_tmpl_init);
	return group == 19 ? ec_tmpl[0] : group == 20 ? ec_tmpl[1] : NULL;
}

struct dh *dh_new(int group)
{
	struct dh *d = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	if (!dh_supported(group) || !(d = calloc(1, sizeof(*d))))
		goto fail;
	d->group = group;
	if (group == 31) {
		d->key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	} else if (group == 14) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "modp_2048", 0),
			OSSL_PARAM_construct_end(),
		};
		if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || !EVP_PKEY_CTX_set_params(ctx, p) ||
		    EVP_PKEY_generate(ctx, &d->key) <= 0)
			goto fail;
	} else {
		EVP_PKEY *tmpl = ec_params(group);
		if (!tmpl || !(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL)) ||
		    EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_generate(ctx, &d->key) <= 0)
			goto fail;
	}
	if (!d->key)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	return d;
fail:
	EVP_PKEY_CTX_free(ctx);
	dh_free(d);
	return NULL;
}

struct dh *dh_new_priv(int group, const uint8_t *priv, size_t len)
{
	struct dh *d;

	if (group != 31 || len != 32 || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->group = group;
	d->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, len);
	if (!d->key) {
		free(d);
		return NULL;
	}
	return d;
}

void dh_free(struct dh *d)
{
	if (!d)
		return;
	EVP_PKEY_free(d->key);
	free(d);
}

int dh_group(const struct dh *d)
{
	return d->group;
}

int dh_pub(const struct dh *d, uint8_t *out, size_t cap, size_t *len)
{
	size_t need = dh_pub_len(d->group), n = 0;
	uint8_t tmp[1 + 2 * 48];
	BIGNUM *bn = NULL;
	int rc = -1;

	if (cap < need)
		goto out;
	if (d->group == 31) {
		n = need;
		if (!EVP_PKEY_get_raw_public_key(d->key, out, &n) || n != need)
			goto out;
	} else if (d->group == 14) {
		if (!EVP_PKEY_get_bn_param(d->key, OSSL_PKEY_PARAM_PUB_KEY, &bn) ||
		    BN_bn2binpad(bn, out, (int)need) != (int)need)
			goto out;
	} else {
		/* Uncompressed point 0x04 || x || y; IKE drops the 0x04. */
		if (!EVP_PKEY_get_octet_string_param(d->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, tmp,
						     sizeof(tmp), &n) ||
		    n != need + 1 || tmp[0] != 0x04)
			goto out;
		memcpy(out, tmp + 1, need);
	}
	*len = need;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

/* Build an EVP_PKEY holding only the peer's public value, in d's group. */
static EVP_PKEY *dh_peer_key(const struct dh *d, const uint8_t *peer, size_t plen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t pt[1 + 2 * 48];
	BIGNUM *bn = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;

	if (d->group == 31)
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, plen);
	if (d->group == 14) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		bn = BN_bin2bn(peer, (int)plen, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (!ctx || !bn || !bld ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "modp_2048", 0) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, bn) ||
		    !(params = OSSL_PARAM_BLD_to_param(bld)))
			goto out;
	} else {
		EVP_PKEY *tmpl = ec_params(d->group);
		pt[0] = 0x04;
		memcpy(pt + 1, peer, plen);
		if (!tmpl || !(pk = EVP_PKEY_dup(tmpl)))
			return NULL;
		if (EVP_PKEY_set1_encoded_public_key(pk, pt, plen + 1) != 1) {
			EVP_PKEY_free(pk);
			return NULL;
		}
		return pk;
	}
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

int dh_derive(struct dh *d, const uint8_t *peer, size_t plen, uint8_t *out, size_t cap,
	      size_t *len)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	size_t n = cap;
	int rc = -1;

	if (plen != dh_pub_len(d->group) || cap < DH_MAX_SECRET)
		goto out;
	if (!(pk = dh_peer_key(d, peer, plen)))
		goto out;
	if (d->group != 31) {
		/* Point on the curve / 1 < y < p-1 (RFC 7296 §5, small-subgroup attacks).
		 * The quick check skips only the order multiplication, which proves
		 * nothing on these prime-order curves (cofactor 1) and cost a third
		 * of a setup. */
		chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		if (!chk || EVP_PKEY_public_check_quick(chk) != 1)
			goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, d->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0)
		goto out;
	if (d->group == 14 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0)
		goto out;
	if (EVP_PKEY_derive_set_peer(ctx, pk) <= 0 || EVP_PKEY_derive(ctx, out, &n) <= 0)
		goto out;
	if (d->group == 14 && n != 256)
		goto out;
	*len = n;
	rc = 0;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}
