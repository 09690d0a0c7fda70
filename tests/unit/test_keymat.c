/* Key derivation known answers: the HMAC PRFs against RFC 4231, prf+ (RFC 7296
 * §2.13), SKEYSEED and the IKE SA keys (§2.14), CHILD_SA KEYMAT (§2.17) and the
 * PSK AUTH value (§2.15). Every derived value is checked against a second
 * computation written here with OpenSSL's one-shot HMAC(), and a few against
 * constants computed outside C (Python hmac/hashlib). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hex.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "crypto/prf.h"
#include "ike/keymat.h"
#include "ike/psk.h"

static const EVP_MD *md_of(int alg)
{
	switch (alg) {
	case PRF_HMAC_SHA2_256:
		return EVP_sha256();
	case PRF_HMAC_SHA2_384:
		return EVP_sha384();
	case PRF_HMAC_SHA2_512:
		return EVP_sha512();
	}
	return NULL;
}

/* The reference HMAC: one contiguous input, OpenSSL's one-shot API. */
static size_t ref_hmac(int alg, const void *key, size_t klen, const void *d, size_t dlen,
                       uint8_t *out)
{
	static const uint8_t nokey;
	unsigned int olen = 0;

	assert_non_null(HMAC(md_of(alg), klen ? key : &nokey, (int)klen, d, dlen, out, &olen));
	return olen;
}

/* The reference prf+, written from the RFC text:
 *   T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), ... */
static void ref_prf_plus(int alg, const uint8_t *k, size_t kl, const uint8_t *s, size_t sl,
                         uint8_t *out, size_t outlen)
{
	static uint8_t in[PRF_MAX_LEN + 4096 + 1];
	uint8_t t[PRF_MAX_LEN];
	size_t tl = 0, done = 0;

	assert_true(sl <= 4096);
	for (unsigned n = 1; done < outlen; n++) {
		size_t il = 0, take;
		memcpy(in, t, tl);
		il += tl;
		memcpy(in + il, s, sl);
		il += sl;
		in[il++] = (uint8_t)n;
		tl = ref_hmac(alg, k, kl, in, il, t);
		take = outlen - done < tl ? outlen - done : tl;
		memcpy(out + done, t, take);
		done += take;
	}
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i + (i >> 3));
}

static const int algs[] = {PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512};

/* ---- the PRFs ---- */

struct hmac_kat {
	int alg;
	const char *key_hex;
	const char *data;
	const char *mac_hex;
};

/* RFC 4231 §4.2 (test case 1), §4.3 (test case 2) and §4.7 (test case 6). */
static const struct hmac_kat rfc4231[] = {
    {PRF_HMAC_SHA2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {PRF_HMAC_SHA2_384, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
     "faea9ea9076ede7f4af152e8b2fa9cb6"},
    {PRF_HMAC_SHA2_512, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {PRF_HMAC_SHA2_256, "4a656665", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {PRF_HMAC_SHA2_384, "4a656665", "what do ya want for nothing?",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
     "8e2240ca5e69e2c78b3239ecfab21649"},
    {PRF_HMAC_SHA2_512, "4a656665", "what do ya want for nothing?",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {PRF_HMAC_SHA2_256,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
};

static void test_hmac_rfc4231(void **state)
{
	for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		const struct hmac_kat *v = &rfc4231[i];
		uint8_t key[256], want[PRF_MAX_LEN], got[PRF_MAX_LEN];
		size_t kl = unhex(v->key_hex, key, sizeof(key));
		size_t ml = unhex(v->mac_hex, want, sizeof(want));
		size_t dl = strlen(v->data);

		assert_int_equal(prf_len(v->alg), ml);
		memset(got, 0, sizeof(got));
		assert_int_equal(prf(v->alg, key, kl, v->data, dl, got), 0);
		assert_memory_equal(got, want, ml);

		/* The same input cut into pieces gives the same MAC. */
		struct prf_iov iov[3] = {
		    {v->data, 1}, {v->data + 1, 0}, {(const char *)v->data + 1, dl - 1}};
		memset(got, 0, sizeof(got));
		assert_int_equal(prf_v(v->alg, key, kl, iov, 3, got), 0);
		assert_memory_equal(got, want, ml);
	}
}

static void test_prf_basics(void **state)
{
	uint8_t out[PRF_MAX_LEN], want[PRF_MAX_LEN];

	assert_int_equal(prf_len(PRF_HMAC_SHA2_256), 32);
	assert_int_equal(prf_len(PRF_HMAC_SHA2_384), 48);
	assert_int_equal(prf_len(PRF_HMAC_SHA2_512), 64);
	assert_int_equal(prf_len(0), 0);
	assert_int_equal(prf_len(2), 0); /* PRF_HMAC_SHA1: not offered */
	assert_int_equal(prf(2, (const uint8_t *)"k", 1, "d", 1, out), -1);
	/* Empty key and empty data are legal HMAC inputs. */
	for (size_t i = 0; i < 3; i++) {
		size_t n = ref_hmac(algs[i], NULL, 0, "", 0, want);
		assert_int_equal(prf(algs[i], NULL, 0, "", 0, out), 0);
		assert_memory_equal(out, want, n);
	}
}

/* ---- prf+ ---- */

static void test_prf_plus_reference(void **state)
{
	static uint8_t got[255 * PRF_MAX_LEN], want[255 * PRF_MAX_LEN];
	uint8_t key[80], seed[300];

	fill(key, sizeof(key), 0x31);
	fill(seed, sizeof(seed), 0x9c);
	for (size_t a = 0; a < 3; a++) {
		int alg = algs[a];
		size_t hl = prf_len(alg);
		size_t lens[] = {1, hl - 1, hl, hl + 1, 2 * hl, 3 * hl + 5, 7 * 64, 255 * hl};
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			/* The seed in one piece and in three (Ni | Nr | SPIi SPIr). */
			struct prf_iov one = {seed, sizeof(seed)};
			struct prf_iov three[3] = {
			    {seed, 100}, {seed + 100, 184}, {seed + 284, 16}};

			ref_prf_plus(alg, key, hl, seed, sizeof(seed), want, lens[li]);
			memset(got, 0, lens[li]);
			assert_int_equal(prf_plus(alg, key, hl, &one, 1, got, lens[li]), 0);
			assert_memory_equal(got, want, lens[li]);
			memset(got, 0, lens[li]);
			assert_int_equal(prf_plus(alg, key, hl, three, 3, got, lens[li]), 0);
			assert_memory_equal(got, want, lens[li]);
		}
		/* Key lengths other than the output length. */
		ref_prf_plus(alg, key, 5, seed, 40, want, 3 * hl);
		struct prf_iov s = {seed, 40};
		assert_int_equal(prf_plus(alg, key, 5, &s, 1, got, 3 * hl), 0);
		assert_memory_equal(got, want, 3 * hl);
	}
}

/* Constants from Python: K = "insync prf+ key", S = "Ni"*8 | "Nr"*8. */
static void test_prf_plus_kat(void **state)
{
	static const char *k = "insync prf+ key";
	static const char *s = "NiNiNiNiNiNiNiNiNrNrNrNrNrNrNrNr";
	uint8_t got[100], want[100];
	struct prf_iov seed = {s, strlen(s)};
	size_t n;

	n = unhex("1e239261fd25cd90c705dda318fc8b9024824af016d8c2cc05cab3cbf3c07fdc"
	          "43397e96d12fcaa1f06049adf593606149d01e4622d48b54379e319a2ea9cb47"
	          "2c382c98f7c2de0426b20cdedfd8ad70",
	          want, sizeof(want));
	assert_int_equal(
	    prf_plus(PRF_HMAC_SHA2_256, (const uint8_t *)k, strlen(k), &seed, 1, got, n), 0);
	assert_memory_equal(got, want, n);
	n = unhex("3e52185ee6fef15af66f3ac8261ae1b2d478d23fd7ea2cf2a68876bf7a7b0152"
	          "77b5a5224afc2d73cc9bb1a28fe0c0da26d4e01546ad19209860b45c314c9f70"
	          "1e2c55e5baba0921a424b538edb10c84c7e0958a33f78046eb5c844e0793e9bb"
	          "1df274b2",
	          want, sizeof(want));
	assert_int_equal(
	    prf_plus(PRF_HMAC_SHA2_384, (const uint8_t *)k, strlen(k), &seed, 1, got, n), 0);
	assert_memory_equal(got, want, n);
}

static void test_prf_plus_limits(void **state)
{
	static uint8_t out[255 * PRF_MAX_LEN + 1];
	uint8_t key[32] = {1};
	struct prf_iov s[9];

	for (int i = 0; i < 9; i++)
		s[i] = (struct prf_iov){key, 4};
	/* §2.13: at most 255 iterations. */
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 1, out, 255 * 32), 0);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 1, out, 255 * 32 + 1), -1);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_512, key, 32, s, 1, out, 255 * 64 + 1), -1);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 8, out, 64), 0);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 9, out, 64), -1);
	assert_int_equal(prf_plus(0, key, 32, s, 1, out, 64), -1);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 1, out, 0), 0);
}

/* ---- SKEYSEED and the IKE SA keys ---- */

static void test_skeyseed(void **state)
{
	uint8_t ni[IKE_NONCE_MAX + 1], nr[IKE_NONCE_MAX], gir[256], skd[64], in[1024];
	uint8_t got[PRF_MAX_LEN], want[PRF_MAX_LEN];

	/* Constant from Python: Ni = 01*32, Nr = 02*32, g^ir = 00 01 .. 1f. */
	memset(ni, 1, 32);
	memset(nr, 2, 32);
	for (int i = 0; i < 32; i++)
		gir[i] = (uint8_t)i;
	unhex("f3f46aa7d784636823a99f2533529b78a801c0654d9f7c6a23f76636a6b8dc6e", want, 32);
	assert_int_equal(keymat_skeyseed(PRF_HMAC_SHA2_256, ni, 32, nr, 32, gir, 32, got), 0);
	assert_memory_equal(got, want, 32);

	fill(ni, sizeof(ni), 0x10);
	fill(nr, sizeof(nr), 0x20);
	fill(gir, sizeof(gir), 0x30);
	fill(skd, sizeof(skd), 0x40);
	for (size_t a = 0; a < 3; a++) {
		int alg = algs[a];
		size_t nls[][2] = {{16, 16}, {32, 48}, {IKE_NONCE_MAX, IKE_NONCE_MAX}};
		for (size_t j = 0; j < 3; j++) {
			size_t nil = nls[j][0], nrl = nls[j][1], hl;
			/* SKEYSEED = prf(Ni | Nr, g^ir) */
			memcpy(in, ni, nil);
			memcpy(in + nil, nr, nrl);
			hl = ref_hmac(alg, in, nil + nrl, gir, sizeof(gir), want);
			assert_int_equal(
			    keymat_skeyseed(alg, ni, nil, nr, nrl, gir, sizeof(gir), got), 0);
			assert_memory_equal(got, want, hl);
			/* Rekey: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) */
			memcpy(in, gir, sizeof(gir));
			memcpy(in + sizeof(gir), ni, nil);
			memcpy(in + sizeof(gir) + nil, nr, nrl);
			ref_hmac(alg, skd, hl, in, sizeof(gir) + nil + nrl, want);
			assert_int_equal(keymat_skeyseed_rekey(alg, skd, hl, gir, sizeof(gir), ni,
			                                       nil, nr, nrl, got),
			                 0);
			assert_memory_equal(got, want, hl);
		}
	}
	/* Nonces longer than §2.10 allows are refused, not copied. */
	assert_int_equal(
	    keymat_skeyseed(PRF_HMAC_SHA2_256, ni, IKE_NONCE_MAX + 1, nr, 32, gir, 32, got), -1);
	assert_int_equal(
	    keymat_skeyseed(PRF_HMAC_SHA2_256, ni, 32, nr, IKE_NONCE_MAX + 1, gir, 32, got), -1);
}

struct ike_case {
	const char *name;
	struct ike_sel sel;
	size_t prf_len, ek_len, salt_len, ak_len, icv_len;
	int aead, integ_prf;
};

static const struct ike_case ike_cases[] = {
    {"AES-GCM-16-256, PRF-HMAC-SHA-256",
     {.encr = ENCR_AES_GCM_16, .klen = 256, .prf = PRF_HMAC_SHA2_256, .integ = AUTH_NONE},
     32,
     32,
     4,
     0,
     16,
     1,
     0},
    {"AES-GCM-16-128, PRF-HMAC-SHA-512",
     {.encr = ENCR_AES_GCM_16, .klen = 128, .prf = PRF_HMAC_SHA2_512, .integ = AUTH_NONE},
     64,
     16,
     4,
     0,
     16,
     1,
     0},
    {"AES-CBC-256, HMAC-SHA-256-128, PRF-HMAC-SHA-256",
     {.encr = ENCR_AES_CBC, .klen = 256, .prf = PRF_HMAC_SHA2_256, .integ = AUTH_HMAC_SHA2_256_128},
     32,
     32,
     0,
     32,
     16,
     0,
     PRF_HMAC_SHA2_256},
    {"AES-CBC-256, HMAC-SHA-384-192, PRF-HMAC-SHA-384",
     {.encr = ENCR_AES_CBC, .klen = 256, .prf = PRF_HMAC_SHA2_384, .integ = AUTH_HMAC_SHA2_384_192},
     48,
     32,
     0,
     48,
     24,
     0,
     PRF_HMAC_SHA2_384},
    {"AES-CBC-128, HMAC-SHA-512-256, PRF-HMAC-SHA-512",
     {.encr = ENCR_AES_CBC, .klen = 128, .prf = PRF_HMAC_SHA2_512, .integ = AUTH_HMAC_SHA2_512_256},
     64,
     16,
     0,
     64,
     32,
     0,
     PRF_HMAC_SHA2_512},
};

static void test_keymat_ike(void **state)
{
	uint8_t skeyseed[PRF_MAX_LEN], ni[40], nr[24], seed[40 + 24 + 16], want[7 * 64];
	static const uint8_t spis[16] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	                                 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

	fill(ni, sizeof(ni), 0x51);
	fill(nr, sizeof(nr), 0x62);
	memcpy(seed, ni, sizeof(ni));
	memcpy(seed + sizeof(ni), nr, sizeof(nr));
	memcpy(seed + sizeof(ni) + sizeof(nr), spis, 16);
	for (size_t i = 0; i < sizeof(ike_cases) / sizeof(ike_cases[0]); i++) {
		const struct ike_case *c = &ike_cases[i];
		size_t el = c->ek_len + c->salt_len, al = c->ak_len, pl = c->prf_len;
		const uint8_t *q = want;
		struct ike_keys k;
		struct ike_sk sk;

		fill(skeyseed, sizeof(skeyseed), (uint8_t)(0x70 + i));
		ref_prf_plus(c->sel.prf, skeyseed, pl, seed, sizeof(seed), want,
		             3 * pl + 2 * al + 2 * el);
		assert_int_equal(keymat_ike(&k, &c->sel, skeyseed, ni, sizeof(ni), nr, sizeof(nr),
		                            0xfedcba9876543210ull, 0x0123456789abcdefull),
		                 0);
		if (k.prf_len != pl || k.ek_len != c->ek_len || k.salt_len != c->salt_len ||
		    k.ak_len != al || k.icv_len != c->icv_len || k.aead != c->aead ||
		    k.integ_prf != c->integ_prf || k.prf != c->sel.prf)
			fail_msg("%s: lengths %zu/%zu/%zu/%zu/%zu aead %d integ %d", c->name,
			         k.prf_len, k.ek_len, k.salt_len, k.ak_len, k.icv_len, k.aead,
			         k.integ_prf);
		/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} in this order. */
		assert_memory_equal(k.sk_d, q, pl);
		q += pl;
		if (al) {
			assert_memory_equal(k.sk_ai, q, al);
			assert_memory_equal(k.sk_ar, q + al, al);
			q += 2 * al;
		}
		assert_memory_equal(k.sk_ei, q, el);
		assert_memory_equal(k.sk_er, q + el, el);
		q += 2 * el;
		assert_memory_equal(k.sk_pi, q, pl);
		assert_memory_equal(k.sk_pr, q + pl, pl);

		/* SK parameters for each direction. */
		keymat_sk(&k, 1, &sk);
		assert_ptr_equal(sk.ek, k.sk_ei);
		assert_ptr_equal(sk.ak, k.sk_ai);
		assert_int_equal(sk.ek_len, c->ek_len);
		assert_int_equal(sk.aead, c->aead);
		assert_int_equal(sk.icv_len, c->icv_len);
		assert_int_equal(sk.integ_prf, c->integ_prf);
		keymat_sk(&k, 0, &sk);
		assert_ptr_equal(sk.ek, k.sk_er);
		assert_ptr_equal(sk.ak, k.sk_ar);
		keymat_wipe(&k);
		assert_int_equal(k.prf_len, 0);
		keymat_wipe(NULL);
	}
}

static void test_keymat_ike_refuses(void **state)
{
	static const struct ike_sel bad[] = {
	    {.encr = ENCR_AES_GCM_16,
	     .klen = 256,
	     .prf = PRF_HMAC_SHA2_256,
	     .integ = AUTH_HMAC_SHA2_256_128},
	    {.encr = ENCR_AES_CBC, .klen = 256, .prf = PRF_HMAC_SHA2_256, .integ = AUTH_NONE},
	    {.encr = ENCR_AES_CBC,
	     .klen = 192,
	     .prf = PRF_HMAC_SHA2_256,
	     .integ = AUTH_HMAC_SHA2_256_128},
	    {.encr = 3 /* 3DES */,
	     .klen = 0,
	     .prf = PRF_HMAC_SHA2_256,
	     .integ = AUTH_HMAC_SHA2_256_128},
	    {.encr = ENCR_AES_GCM_16, .klen = 256, .prf = 2 /* SHA-1 */, .integ = AUTH_NONE},
	    {.encr = ENCR_AES_CBC, .klen = 128, .prf = PRF_HMAC_SHA2_256, .integ = 2},
	};
	uint8_t skeyseed[64] = {0}, n[32] = {0};
	struct ike_keys k;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(keymat_ike(&k, &bad[i], skeyseed, n, 32, n, 32, 1, 2), -1);
}

static void test_esp_lengths(void **state)
{
	static const struct {
		uint16_t encr, klen, integ;
		int rc;
		size_t el, al;
	} t[] = {
	    {ENCR_AES_GCM_16, 128, AUTH_NONE, 0, 20, 0},
	    {ENCR_AES_GCM_16, 256, AUTH_NONE, 0, 36, 0},
	    {ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, 0, 16, 32},
	    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128, 0, 32, 32},
	    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_384_192, 0, 32, 48},
	    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_512_256, 0, 32, 64},
	    {ENCR_AES_CBC, 256, AUTH_NONE, -1, 0, 0},
	    {ENCR_AES_GCM_16, 256, AUTH_HMAC_SHA2_256_128, -1, 0, 0},
	    {ENCR_AES_GCM_16, 192, AUTH_NONE, -1, 0, 0},
	    {ENCR_AES_CBC, 0, AUTH_HMAC_SHA2_256_128, -1, 0, 0},
	    {ENCR_AES_CBC, 256, 99, -1, 0, 0},
	    {99, 256, AUTH_NONE, -1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t el = 0, al = 0;
		int rc = keymat_esp_lengths(t[i].encr, t[i].klen, t[i].integ, &el, &al);
		if (rc != t[i].rc || (rc == 0 && (el != t[i].el || al != t[i].al)))
			fail_msg("row %zu: rc %d el %zu al %zu", i, rc, el, al);
	}
}

/* ---- CHILD_SA KEYMAT ---- */

static void test_keymat_child(void **state)
{
	static const size_t lens[][2] = {{36, 0}, {20, 0}, {32, 32}, {16, 32}, {32, 64}, {64, 64}};
	uint8_t skd[PRF_MAX_LEN], ni[32], nr[48], gir[96], seed[96 + 32 + 48], want[4 * 64];
	uint8_t ei[64], ai[64], er[64], ar[64];

	fill(skd, sizeof(skd), 0xd0);
	fill(ni, sizeof(ni), 0x01);
	fill(nr, sizeof(nr), 0x02);
	fill(gir, sizeof(gir), 0x03);
	for (size_t a = 0; a < 3; a++) {
		int alg = algs[a];
		size_t hl = prf_len(alg);
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			size_t el = lens[j][0], al = lens[j][1];
			for (int pfs = 0; pfs < 2; pfs++) {
				/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
				size_t sl = 0;
				if (pfs) {
					memcpy(seed, gir, sizeof(gir));
					sl = sizeof(gir);
				}
				memcpy(seed + sl, ni, sizeof(ni));
				sl += sizeof(ni);
				memcpy(seed + sl, nr, sizeof(nr));
				sl += sizeof(nr);
				ref_prf_plus(alg, skd, hl, seed, sl, want, 2 * (el + al));
				memset(ei, 0, sizeof(ei));
				memset(ai, 0, sizeof(ai));
				memset(er, 0, sizeof(er));
				memset(ar, 0, sizeof(ar));
				assert_int_equal(keymat_child(alg, skd, hl, pfs ? gir : NULL,
				                              sizeof(gir), ni, sizeof(ni), nr,
				                              sizeof(nr), el, al, ei, ai, er, ar),
				                 0);
				/* §2.17: initiator-to-responder keys first, encryption before
				 * integrity. */
				assert_memory_equal(ei, want, el);
				if (al)
					assert_memory_equal(ai, want + el, al);
				assert_memory_equal(er, want + el + al, el);
				if (al)
					assert_memory_equal(ar, want + 2 * el + al, al);
			}
		}
	}
	assert_int_equal(keymat_child(PRF_HMAC_SHA2_256, skd, 32, NULL, 0, ni, 32, nr, 32, 65, 0,
	                              ei, ai, er, ar),
	                 -1);
	assert_int_equal(keymat_child(PRF_HMAC_SHA2_256, skd, 32, NULL, 0, ni, 32, nr, 32, 32, 65,
	                              ei, ai, er, ar),
	                 -1);
	assert_int_equal(keymat_child(0, skd, 32, NULL, 0, ni, 32, nr, 32, 32, 32, ei, ai, er, ar),
	                 -1);
}

/* ---- PSK AUTH ---- */

static void ref_psk(int alg, const uint8_t *psk, size_t pl, const uint8_t *msg, size_t ml,
                    const uint8_t *nonce, size_t nl, const uint8_t *skp, size_t skl,
                    const uint8_t *idb, size_t il, uint8_t *out)
{
	static uint8_t in[4096];
	uint8_t key[PRF_MAX_LEN], macid[PRF_MAX_LEN];
	size_t hl;

	ref_hmac(alg, psk, pl, "Key Pad for IKEv2", 17, key);
	hl = ref_hmac(alg, skp, skl, idb, il, macid);
	assert_true(ml + nl + hl <= sizeof(in));
	memcpy(in, msg, ml);
	memcpy(in + ml, nonce, nl);
	memcpy(in + ml + nl, macid, hl);
	ref_hmac(alg, key, hl, in, ml + nl + hl, out);
}

static void test_psk_auth(void **state)
{
	static const char psk[] = "correct horse";
	uint8_t msg[1000], nonce[64], skp[64], idb[4 + 17], got[PRF_MAX_LEN], want[PRF_MAX_LEN];

	/* Constant from Python (PRF-HMAC-SHA-256). */
	for (int i = 0; i < 100; i++)
		msg[i] = (uint8_t)i;
	memset(nonce, 0x11, 32);
	memset(skp, 0x22, 32);
	memcpy(idb, "\x02\x00\x00\x00initiator.example", sizeof(idb));
	unhex("493822aa91819d190bddb9e4f1c7a586051599e8fe03bda1260fe884d05d7b7a", want, 32);
	assert_int_equal(psk_auth(PRF_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), msg, 100,
	                          nonce, 32, skp, 32, idb, sizeof(idb), got),
	                 0);
	assert_memory_equal(got, want, 32);

	fill(msg, sizeof(msg), 0x0f);
	fill(nonce, sizeof(nonce), 0x1f);
	fill(skp, sizeof(skp), 0x2f);
	for (size_t a = 0; a < 3; a++) {
		int alg = algs[a];
		size_t hl = prf_len(alg);
		/* A long PSK is hashed down by HMAC; a one-octet PSK is padded. */
		static const char *psks[] = {"x", "correct horse battery staple",
		                             "0123456789abcdef0123456789abcdef0123456789abcdef"
		                             "0123456789abcdef0123456789abcdef0123456789abcdef"
		                             "0123456789abcdef0123456789abcdef0123456789abcdef"};
		for (size_t p = 0; p < 3; p++) {
			size_t pl = strlen(psks[p]);
			ref_psk(alg, (const uint8_t *)psks[p], pl, msg, sizeof(msg), nonce, 48, skp,
			        hl, idb, sizeof(idb), want);
			assert_int_equal(psk_auth(alg, (const uint8_t *)psks[p], pl, msg,
			                          sizeof(msg), nonce, 48, skp, hl, idb, sizeof(idb),
			                          got),
			                 0);
			assert_memory_equal(got, want, hl);
		}
		/* Each input matters: a different ID changes the value. */
		idb[4] ^= 1;
		assert_int_equal(psk_auth(alg, (const uint8_t *)psk, 13, msg, sizeof(msg), nonce,
		                          48, skp, hl, idb, sizeof(idb), got),
		                 0);
		idb[4] ^= 1;
		ref_psk(alg, (const uint8_t *)psk, 13, msg, sizeof(msg), nonce, 48, skp, hl, idb,
		        sizeof(idb), want);
		assert_memory_not_equal(got, want, hl);
	}
	assert_int_equal(psk_auth(0, (const uint8_t *)psk, 13, msg, 10, nonce, 32, skp, 32, idb,
	                          sizeof(idb), got),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hmac_rfc4231),       cmocka_unit_test(test_prf_basics),
	    cmocka_unit_test(test_prf_plus_reference), cmocka_unit_test(test_prf_plus_kat),
	    cmocka_unit_test(test_prf_plus_limits),    cmocka_unit_test(test_skeyseed),
	    cmocka_unit_test(test_keymat_ike),         cmocka_unit_test(test_keymat_ike_refuses),
	    cmocka_unit_test(test_esp_lengths),        cmocka_unit_test(test_keymat_child),
	    cmocka_unit_test(test_psk_auth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
