/* ESP transforms (esp_out.c, esp_in.c, esp_sa.c): fixed keys, SPIs and
 * sequence numbers; the wire bytes esp_encap() writes are checked with plain
 * OpenSSL calls made here, and packets esp_encap() would never make (bad
 * padding, bad next header, bad inner packets) are sealed the same way so
 * that esp_decap() sees them after a valid ICV. Drop causes are the enum
 * esp_decap() returns; the per-SA counters are bumped by its caller (dp_pkt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "esp/esp.h"
#include "util/buf.h"

#define BUFSZ (ESP_HEADROOM + 2048 + ESP_TAILROOM)

struct suite {
	const char *name;
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	size_t ek_len, ak_len, iv_len, icv_len, block;
};

static const struct suite GCM256 = {
    "AES-GCM-256", CFG_ESP_GCM_256, CFG_ESP_AUTH_NONE, 36, 0, 8, 16, 4};
static const struct suite CBC256 = {
    "AES-CBC-256/SHA-256", CFG_ESP_AES_256, CFG_ESP_SHA256, 32, 32, 16, 16, 16};
static const struct suite suites[] = {
    {"AES-GCM-128", CFG_ESP_GCM_128, CFG_ESP_AUTH_NONE, 20, 0, 8, 16, 4},
    {"AES-GCM-256", CFG_ESP_GCM_256, CFG_ESP_AUTH_NONE, 36, 0, 8, 16, 4},
    {"AES-CBC-128/SHA-256", CFG_ESP_AES_128, CFG_ESP_SHA256, 16, 32, 16, 16, 16},
    {"AES-CBC-256/SHA-256", CFG_ESP_AES_256, CFG_ESP_SHA256, 32, 32, 16, 16, 16},
    {"AES-CBC-256/SHA-384", CFG_ESP_AES_256, CFG_ESP_SHA384, 32, 48, 16, 24, 16},
    {"AES-CBC-256/SHA-512", CFG_ESP_AES_256, CFG_ESP_SHA512, 32, 64, 16, 32, 16},
};

static uint8_t ek[36], ak[64];

static int setup_keys(void **state)
{
	for (size_t i = 0; i < sizeof(ek); i++)
		ek[i] = (uint8_t)(0x10 + 3 * i);
	for (size_t i = 0; i < sizeof(ak); i++)
		ak[i] = (uint8_t)(0xc3 ^ (7 * i));
	return 0;
}

static struct esp_sa *sa_new(const struct suite *s, uint32_t spi, int inbound, int esn)
{
	struct esp_sa_params p = {
	    .spi = spi,
	    .cipher = s->cipher,
	    .auth = s->auth,
	    .enc_key = ek,
	    .enc_key_len = s->ek_len,
	    .auth_key = s->ak_len ? ak : NULL,
	    .auth_key_len = s->ak_len,
	    .esn = esn,
	    .replay_window = 64,
	};
	struct esp_sa *sa = esp_sa_new(&p, inbound);

	assert_non_null(sa);
	return sa;
}

static int is_gcm(const struct suite *s)
{
	return s->cipher == CFG_ESP_GCM_128 || s->cipher == CFG_ESP_GCM_256;
}

/* An IPv4 packet of len octets (header + pattern), or IPv6 when v6. */
static void mk_inner(uint8_t *p, size_t len, int v6, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i);
	if (v6) {
		p[0] = 0x60;
		put_be16(p + 4, (uint16_t)(len - 40));
	} else {
		p[0] = 0x45;
		put_be16(p + 2, (uint16_t)len);
	}
}

/* esp_encap on a fresh buffer; returns the ESP packet (pointer into buf). */
static uint8_t *encap(struct esp_sa *out, uint8_t *buf, size_t inner_len, int v6, uint8_t seed,
                      size_t *len)
{
	size_t off = 0;

	mk_inner(buf + ESP_HEADROOM, inner_len, v6, seed);
	assert_int_equal(esp_encap(out, buf, inner_len, v6 ? 41 : 4, &off, len), ESP_OK);
	assert_true(off + *len <= BUFSZ);
	return buf + off;
}

/* Decap a private, exact-size copy (ASan sees any read past the end). */
static enum esp_drop decap_copy(struct esp_sa *in, const uint8_t *pkt, size_t len, uint8_t *inner,
                                size_t *inner_len, uint8_t *nh)
{
	uint8_t *c = malloc(len ? len : 1);
	size_t off = 0, il = 0;
	uint8_t h = 0;
	enum esp_drop d;

	assert_non_null(c);
	memcpy(c, pkt, len);
	d = esp_decap(in, c, len, &off, &il, &h);
	if (d == ESP_OK) {
		assert_true(off + il <= len);
		if (inner)
			memcpy(inner, c + off, il);
		if (inner_len)
			*inner_len = il;
		if (nh)
			*nh = h;
	}
	free(c);
	return d;
}

/* Seal arbitrary plaintext (inner, padding, Pad Length, Next Header) the way
 * RFC 4106 / RFC 3602+4868 say, with OpenSSL directly; no ESN. */
static size_t seal_raw(const struct suite *s, uint32_t spi, uint32_t seq, const uint8_t *pt,
                       size_t ptl, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t *iv = out + 8, *ct = iv + s->iv_len, nonce[12];
	size_t klen = s->ek_len - (is_gcm(s) ? 4 : 0);
	int n;

	assert_non_null(ctx);
	put_be32(out, spi);
	put_be32(out + 4, seq);
	for (size_t i = 0; i < s->iv_len; i++)
		iv[i] = (uint8_t)(0xa0 + i + seq);
	if (is_gcm(s)) {
		memcpy(nonce, ek + klen, 4);
		memcpy(nonce + 4, iv, 8);
		assert_int_equal(
		    EVP_EncryptInit_ex(ctx, klen == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(),
		                       NULL, NULL, NULL),
		    1);
		assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, ek, nonce), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, out, 8), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptl), 1);
		assert_int_equal(EVP_EncryptFinal_ex(ctx, ct + ptl, &n), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct + ptl), 1);
	} else {
		uint8_t md[64];
		unsigned ml;
		assert_int_equal(ptl % 16, 0);
		assert_int_equal(
		    EVP_EncryptInit_ex(ctx, klen == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(),
		                       NULL, ek, iv),
		    1);
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		assert_int_equal(EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptl), 1);
		assert_int_equal(EVP_EncryptFinal_ex(ctx, ct + ptl, &n), 1);
		assert_non_null(HMAC(s->auth == CFG_ESP_SHA256   ? EVP_sha256()
		                     : s->auth == CFG_ESP_SHA384 ? EVP_sha384()
		                                                 : EVP_sha512(),
		                     ak, (int)s->ak_len, out, 8 + s->iv_len + ptl, md, &ml));
		memcpy(ct + ptl, md, s->icv_len);
	}
	EVP_CIPHER_CTX_free(ctx);
	return 8 + s->iv_len + ptl + s->icv_len;
}

/* Plaintext = inner | pad | Pad Length | Next Header, padded to the suite's block. */
static size_t mk_plain(const struct suite *s, uint8_t *pt, size_t inner_len, int v6, uint8_t nh)
{
	size_t pad = (s->block - (inner_len + 2) % s->block) % s->block;

	mk_inner(pt, inner_len, v6, 0x33);
	for (size_t i = 0; i < pad; i++)
		pt[inner_len + i] = (uint8_t)(i + 1);
	pt[inner_len + pad] = (uint8_t)pad;
	pt[inner_len + pad + 1] = nh;
	return inner_len + pad + 2;
}

/* ---- round trips and wire format ---- */

static void test_gcm_wire_format(void **state)
{
	static uint8_t buf[BUFSZ];
	uint8_t plain[2048], nonce[12], inner[2048];
	struct esp_sa *out = sa_new(&GCM256, 0x12345678, 0, 0);
	struct esp_sa *in = sa_new(&GCM256, 0x12345678, 1, 0);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t len, ct_len, il;
	uint8_t *pkt, nh;
	int n;

	for (uint32_t seq = 1; seq <= 3; seq++) {
		pkt = encap(out, buf, 61, 0, (uint8_t)seq, &len);
		/* SPI, sequence number, then the 8-octet IV (the 64-bit counter). */
		static const uint8_t spi[4] = {0x12, 0x34, 0x56, 0x78};
		assert_memory_equal(pkt, spi, 4);
		assert_int_equal(get_be32(pkt + 4), seq);
		assert_int_equal(get_be32(pkt + 8), 0);
		assert_int_equal(get_be32(pkt + 12), seq);
		/* 61 + 2 rounds up to 64: one octet of padding. */
		ct_len = len - 8 - 8 - 16;
		assert_int_equal(ct_len, 64);

		/* Open it with EVP: nonce = salt | IV, AAD = SPI | seq (RFC 4106). */
		memcpy(nonce, ek + 32, 4);
		memcpy(nonce + 4, pkt + 8, 8);
		assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, ek, nonce), 1);
		assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, pkt, 8), 1);
		assert_int_equal(EVP_DecryptUpdate(ctx, plain, &n, pkt + 16, (int)ct_len), 1);
		assert_int_equal(
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, pkt + 16 + ct_len), 1);
		assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + n, &n), 1);
		mk_inner(inner, 61, 0, (uint8_t)seq); /* encap worked in place: rebuild it */
		assert_memory_equal(plain, inner, 61);
		assert_int_equal(plain[61], 1); /* padding 1 */
		assert_int_equal(plain[62], 1); /* Pad Length */
		assert_int_equal(plain[63], 4); /* Next Header: IPv4 */

		assert_int_equal(decap_copy(in, pkt, len, plain, &il, &nh), ESP_OK);
		assert_int_equal(il, 61);
		assert_int_equal(nh, 4);
		assert_memory_equal(plain, inner, 61);
	}
	EVP_CIPHER_CTX_free(ctx);
	esp_sa_free(out);
	esp_sa_free(in);
}

static void test_cbc_wire_format(void **state)
{
	static uint8_t buf[BUFSZ];
	uint8_t plain[2048], md[64], inner[2048];
	struct esp_sa *out = sa_new(&CBC256, 0xc0de0001, 0, 0);
	struct esp_sa *in = sa_new(&CBC256, 0xc0de0001, 1, 0);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t len, ct_len, il;
	unsigned ml;
	uint8_t *pkt, nh;
	int n;

	for (uint32_t seq = 1; seq <= 3; seq++) {
		pkt = encap(out, buf, 100, 0, (uint8_t)seq, &len);
		assert_int_equal(get_be32(pkt), 0xc0de0001);
		assert_int_equal(get_be32(pkt + 4), seq);
		ct_len = len - 8 - 16 - 16;
		assert_int_equal(ct_len, 112); /* 100 + 2 -> 7 blocks */
		/* ICV = HMAC-SHA-256(SPI .. ciphertext) truncated to 128 bits (RFC 4868). */
		assert_non_null(HMAC(EVP_sha256(), ak, 32, pkt, 8 + 16 + ct_len, md, &ml));
		assert_memory_equal(md, pkt + 8 + 16 + ct_len, 16);
		assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, ek, pkt + 8), 1);
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		assert_int_equal(EVP_DecryptUpdate(ctx, plain, &n, pkt + 24, (int)ct_len), 1);
		assert_int_equal(n, (int)ct_len);
		mk_inner(inner, 100, 0, (uint8_t)seq);
		assert_memory_equal(plain, inner, 100);
		for (int i = 0; i < 10; i++) /* RFC 4303 §2.4 default padding 1, 2, 3, ... */
			assert_int_equal(plain[100 + i], i + 1);
		assert_int_equal(plain[110], 10);
		assert_int_equal(plain[111], 4);

		assert_int_equal(decap_copy(in, pkt, len, plain, &il, &nh), ESP_OK);
		assert_int_equal(il, 100);
		assert_int_equal(nh, 4);
		assert_memory_equal(plain, inner, 100);
	}
	EVP_CIPHER_CTX_free(ctx);
	esp_sa_free(out);
	esp_sa_free(in);
}

static void test_all_suites_roundtrip(void **state)
{
	static uint8_t buf[BUFSZ];
	uint8_t inner[2048], got[2048], nh;
	static const size_t lens[] = {20, 21, 22, 23, 40, 41, 63, 64, 65, 1400, 2048};

	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		const struct suite *s = &suites[si];
		for (int esn = 0; esn < 2; esn++) {
			struct esp_sa *out = sa_new(s, 0x4000 + (uint32_t)si, 0, esn);
			struct esp_sa *in = sa_new(s, 0x4000 + (uint32_t)si, 1, esn);
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
				for (int v6 = 0; v6 < 2; v6++) {
					size_t len, il;
					uint8_t *pkt;
					if (v6 && lens[li] < 40)
						continue;
					pkt = encap(out, buf, lens[li], v6, (uint8_t)li, &len);
					assert_int_equal(
					    (len - 8 - s->iv_len - s->icv_len) % s->block, 0);
					mk_inner(inner, lens[li], v6, (uint8_t)li);
					if (decap_copy(in, pkt, len, got, &il, &nh) != ESP_OK)
						fail_msg("%s esn %d len %zu v6 %d", s->name, esn,
						         lens[li], v6);
					assert_int_equal(il, lens[li]);
					assert_int_equal(nh, v6 ? 41 : 4);
					assert_memory_equal(got, inner, il);
				}
			}
			esp_sa_free(out);
			esp_sa_free(in);
		}
	}
}

/* SPIs whose first octet is 0xFF (like the NAT-T keepalive octet) are ordinary,
 * and so are the reserved 1-255 a manual key may use. */
static void test_spi_ff(void **state)
{
	static const uint32_t spis[] = {0xff000000, 0xff000001, 0xffabcdef, 0xffffffff,
	                                0x100,      0xff,       1};
	static uint8_t buf[BUFSZ];

	for (size_t i = 0; i < sizeof(spis) / sizeof(spis[0]); i++) {
		for (int c = 0; c < 2; c++) {
			const struct suite *s = c ? &CBC256 : &GCM256;
			struct esp_sa *out = sa_new(s, spis[i], 0, 0),
			              *in = sa_new(s, spis[i], 1, 0);
			size_t len;
			uint8_t *pkt = encap(out, buf, 28, 0, 1, &len);
			assert_int_equal(get_be32(pkt), spis[i]);
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_OK);
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL),
			                 ESP_DROP_REPLAY);
			esp_sa_free(out);
			esp_sa_free(in);
		}
	}
}

/* ---- integrity ---- */

/* Every single-bit flip is dropped, and none of them moves the replay window:
 * the untouched packet is still accepted afterwards, exactly once. */
static void flip_all(const struct suite *s)
{
	static uint8_t buf[BUFSZ];
	struct esp_sa *out = sa_new(s, 0x00abcdef, 0, 0), *in = sa_new(s, 0x00abcdef, 1, 0);
	uint8_t copy[256];
	size_t len;
	uint8_t *pkt = encap(out, buf, 45, 0, 9, &len);

	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			enum esp_drop d;
			memcpy(copy, pkt, len);
			copy[i] ^= (uint8_t)(1 << bit);
			d = decap_copy(in, copy, len, NULL, NULL, NULL);
			if (i < 4)
				assert_int_equal(d, ESP_DROP_MALFORMED); /* not this SA's SPI */
			else if (i < 8)
				assert_true(d == ESP_DROP_ICV || d == ESP_DROP_REPLAY); /* seq 0 */
			else
				assert_int_equal(d, ESP_DROP_ICV);
		}
	}
	assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_OK);
	assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_DROP_REPLAY);
	esp_sa_free(out);
	esp_sa_free(in);
}

static void test_bit_flip(void **state)
{
	flip_all(&GCM256);
	flip_all(&CBC256);
}

static void test_wrong_key(void **state)
{
	static uint8_t buf[BUFSZ];

	for (int c = 0; c < 2; c++) {
		const struct suite *s = c ? &CBC256 : &GCM256;
		struct esp_sa *out = sa_new(s, 0x777, 0, 0), *in;
		size_t len;
		uint8_t *pkt = encap(out, buf, 40, 0, 2, &len);

		ek[0] ^= 1;
		in = sa_new(s, 0x777, 1, 0);
		ek[0] ^= 1;
		if (!c) {
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_DROP_ICV);
		} else {
			/* Encrypt-then-MAC with the right HMAC key: the ICV verifies and
			 * the garbage plaintext is caught by the trailer/inner checks. */
			assert_int_not_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_OK);
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL),
			                 ESP_DROP_REPLAY);
		}
		esp_sa_free(in);
		if (c) { /* CBC: the HMAC key alone */
			ak[5] ^= 0x80;
			in = sa_new(s, 0x777, 1, 0);
			ak[5] ^= 0x80;
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_DROP_ICV);
			esp_sa_free(in);
		}
		esp_sa_free(out);
	}
}

/* ---- malformed ---- */

static void test_short_packets(void **state)
{
	static uint8_t buf[BUFSZ];

	for (int c = 0; c < 2; c++) {
		const struct suite *s = c ? &CBC256 : &GCM256;
		struct esp_sa *out = sa_new(s, 0x1234, 0, 0), *in = sa_new(s, 0x1234, 1, 0);
		size_t len, min = 8 + s->iv_len + 2 + s->icv_len;
		uint8_t *pkt = encap(out, buf, 20, 0, 3, &len);

		/* Every prefix shorter than header + IV + trailer + ICV. */
		for (size_t l = 0; l < min; l++)
			assert_int_equal(decap_copy(in, pkt, l, NULL, NULL, NULL),
			                 ESP_DROP_MALFORMED);
		/* Truncated ICV: CBC loses whole blocks, GCM the tag position. */
		for (size_t cut = 1; cut < s->icv_len; cut++) {
			enum esp_drop d = decap_copy(in, pkt, len - cut, NULL, NULL, NULL);
			assert_int_equal(d, c ? ESP_DROP_MALFORMED : ESP_DROP_ICV);
		}
		/* The ICV cut off entirely, and octets appended. */
		assert_int_equal(decap_copy(in, pkt, len - s->icv_len, NULL, NULL, NULL),
		                 ESP_DROP_ICV);
		memset(pkt + len, 0, 3);
		assert_int_equal(decap_copy(in, pkt, len + 3, NULL, NULL, NULL),
		                 c ? ESP_DROP_MALFORMED : ESP_DROP_ICV);
		/* None of these moved the window. */
		assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_OK);
		esp_sa_free(out);
		esp_sa_free(in);
	}
}

static void test_oversize_and_misuse(void **state)
{
	static uint8_t big[ESP_HEADROOM + 70000 + ESP_TAILROOM];
	struct esp_sa *out = sa_new(&GCM256, 0x999, 0, 0), *in = sa_new(&GCM256, 0x999, 1, 0);
	size_t off, len, il;
	uint8_t nh;

	/* Longer than any ESP packet carried in IPv4 can be. */
	put_be32(big, 0x999);
	put_be32(big + 4, 1);
	assert_int_equal(esp_decap(in, big, 65535 + 16 + 16 + 1, &off, &il, &nh),
	                 ESP_DROP_MALFORMED);
	/* The wrong direction, NULL SA or buffer, empty and oversize inner packets. */
	assert_int_equal(esp_decap(out, big, 100, &off, &il, &nh), ESP_DROP_MALFORMED);
	assert_int_equal(esp_decap(NULL, big, 100, &off, &il, &nh), ESP_DROP_MALFORMED);
	assert_int_equal(esp_decap(in, NULL, 100, &off, &il, &nh), ESP_DROP_MALFORMED);
	assert_int_equal(esp_encap(in, big, 20, 4, &off, &len), ESP_DROP_MALFORMED);
	assert_int_equal(esp_encap(NULL, big, 20, 4, &off, &len), ESP_DROP_MALFORMED);
	assert_int_equal(esp_encap(out, NULL, 20, 4, &off, &len), ESP_DROP_MALFORMED);
	assert_int_equal(esp_encap(out, big, 0, 4, &off, &len), ESP_DROP_MALFORMED);
	assert_int_equal(esp_encap(out, big, 65536, 4, &off, &len), ESP_DROP_MALFORMED);
	/* Refusals spend no sequence number. */
	assert_int_equal(esp_encap(out, big, 20, 4, &off, &len), ESP_OK);
	assert_int_equal(get_be32(big + off + 4), 1);
	esp_sa_free(out);
	esp_sa_free(in);
}

struct trailer_case {
	const char *name;
	int v6;
	size_t inner_len;
	int (*mutate)(uint8_t *pt, size_t ptl, size_t inner_len); /* returns new ptl */
	enum esp_drop want;
};

static int m_none(uint8_t *pt, size_t ptl, size_t il)
{
	return (int)ptl;
}
static int m_pad_wrong_byte(uint8_t *pt, size_t ptl, size_t il)
{
	pt[il] ^= 0x10; /* first padding octet is 1, make it 0x11 */
	return (int)ptl;
}
static int m_pad_zero_bytes(uint8_t *pt, size_t ptl, size_t il)
{
	memset(pt + il, 0, ptl - 2 - il);
	return (int)ptl;
}
static int m_pad_len_overrun(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 2] = (uint8_t)(ptl - 1); /* Pad Length + 2 > plaintext */
	return (int)ptl;
}
static int m_pad_len_255(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 2] = 255;
	return (int)ptl;
}
static int m_nh_udp(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 1] = 17;
	return (int)ptl;
}
static int m_nh_dummy(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 1] = 59;
	return (int)ptl;
}
static int m_nh_zero(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 1] = 0;
	return (int)ptl;
}
static int m_nh_v4_on_v6(uint8_t *pt, size_t ptl, size_t il)
{
	pt[ptl - 1] = 4; /* claims IPv4, carries IPv6 */
	return (int)ptl;
}
static int m_v4_bad_ihl(uint8_t *pt, size_t ptl, size_t il)
{
	pt[0] = 0x44;
	return (int)ptl;
}
static int m_v4_total_too_long(uint8_t *pt, size_t ptl, size_t il)
{
	put_be16(pt + 2, (uint16_t)(il + 1));
	return (int)ptl;
}
static int m_v4_total_below_header(uint8_t *pt, size_t ptl, size_t il)
{
	put_be16(pt + 2, 19);
	return (int)ptl;
}
static int m_v4_tfc_padding(uint8_t *pt, size_t ptl, size_t il)
{
	put_be16(pt + 2, 20); /* the rest of the inner octets are TFC padding */
	return (int)ptl;
}
static int m_v6_payload_too_long(uint8_t *pt, size_t ptl, size_t il)
{
	put_be16(pt + 4, (uint16_t)(il - 40 + 1));
	return (int)ptl;
}

static const struct trailer_case trailer_cases[] = {
    {"valid IPv4", 0, 45, m_none, ESP_OK},
    {"valid IPv6", 1, 61, m_none, ESP_OK},
    {"padding octet wrong", 0, 45, m_pad_wrong_byte, ESP_DROP_PAD},
    {"padding all zero", 0, 45, m_pad_zero_bytes, ESP_DROP_PAD},
    {"pad length past the plaintext", 0, 45, m_pad_len_overrun, ESP_DROP_PAD},
    {"pad length 255", 0, 45, m_pad_len_255, ESP_DROP_PAD},
    {"next header UDP", 0, 45, m_nh_udp, ESP_DROP_NEXTHDR},
    {"next header 59 (dummy)", 0, 45, m_nh_dummy, ESP_DROP_NEXTHDR},
    {"next header 0", 0, 45, m_nh_zero, ESP_DROP_NEXTHDR},
    {"IPv6 packet labelled IPv4", 1, 61, m_nh_v4_on_v6, ESP_DROP_INNER},
    {"IPv4 IHL 4", 0, 45, m_v4_bad_ihl, ESP_DROP_INNER},
    {"IPv4 total length past the plaintext", 0, 45, m_v4_total_too_long, ESP_DROP_INNER},
    {"IPv4 total length below the header", 0, 45, m_v4_total_below_header, ESP_DROP_INNER},
    {"IPv4 with TFC padding", 0, 45, m_v4_tfc_padding, ESP_OK},
    {"IPv6 payload length past the plaintext", 1, 61, m_v6_payload_too_long, ESP_DROP_INNER},
    {"IPv4 shorter than its header", 0, 19, m_none, ESP_DROP_INNER},
    {"IPv6 shorter than its header", 1, 39, m_none, ESP_DROP_INNER},
};

static void test_trailer_and_inner(void **state)
{
	uint8_t pt[512], pkt[600];

	for (int c = 0; c < 2; c++) {
		const struct suite *s = c ? &CBC256 : &GCM256;
		struct esp_sa *in = sa_new(s, 0x5150, 1, 0);
		for (size_t i = 0; i < sizeof(trailer_cases) / sizeof(trailer_cases[0]); i++) {
			const struct trailer_case *t = &trailer_cases[i];
			uint32_t seq = (uint32_t)i + 1;
			size_t il = 0, ptl = mk_plain(s, pt, t->inner_len, t->v6, t->v6 ? 41 : 4),
			       len;
			enum esp_drop d;

			ptl = (size_t)t->mutate(pt, ptl, t->inner_len);
			len = seal_raw(s, 0x5150, seq, pt, ptl, pkt);
			d = decap_copy(in, pkt, len, NULL, &il, NULL);
			if (d != t->want)
				fail_msg("%s (%s): %s, want %s", t->name, s->name, esp_drop_name(d),
				         esp_drop_name(t->want));
			if (t->mutate == m_v4_tfc_padding)
				assert_int_equal(il, 20);
			/* Authenticated, so the window moved even when the contents were bad. */
			assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL),
			                 ESP_DROP_REPLAY);
		}
		esp_sa_free(in);
	}
}

/* ---- replay ---- */

static void test_replay(void **state)
{
	static uint8_t buf[BUFSZ];
	static uint8_t pkts[80][128];
	size_t lens[80];

	for (int c = 0; c < 2; c++) {
		const struct suite *s = c ? &CBC256 : &GCM256;
		struct esp_sa *out = sa_new(s, 0x8000, 0, 0), *in = sa_new(s, 0x8000, 1, 0);
		for (int i = 0; i < 80; i++) {
			uint8_t *p = encap(out, buf, 24, 0, (uint8_t)i, &lens[i]);
			assert_true(lens[i] <= sizeof(pkts[i]));
			memcpy(pkts[i], p, lens[i]);
		}
		/* Out of order inside the window is fine; each packet counts once. */
		assert_int_equal(decap_copy(in, pkts[9], lens[9], NULL, NULL, NULL), ESP_OK);
		assert_int_equal(decap_copy(in, pkts[2], lens[2], NULL, NULL, NULL), ESP_OK);
		assert_int_equal(decap_copy(in, pkts[9], lens[9], NULL, NULL, NULL),
		                 ESP_DROP_REPLAY);
		assert_int_equal(decap_copy(in, pkts[2], lens[2], NULL, NULL, NULL),
		                 ESP_DROP_REPLAY);
		/* Seq 80 moves the 64-packet window past 1..16. */
		assert_int_equal(decap_copy(in, pkts[79], lens[79], NULL, NULL, NULL), ESP_OK);
		assert_int_equal(decap_copy(in, pkts[0], lens[0], NULL, NULL, NULL),
		                 ESP_DROP_REPLAY);
		assert_int_equal(decap_copy(in, pkts[15], lens[15], NULL, NULL, NULL),
		                 ESP_DROP_REPLAY);
		assert_int_equal(decap_copy(in, pkts[16], lens[16], NULL, NULL, NULL), ESP_OK);
		assert_int_equal(decap_copy(in, pkts[78], lens[78], NULL, NULL, NULL), ESP_OK);
		esp_sa_free(out);
		esp_sa_free(in);
	}
}

/* ---- sequence numbers ---- */

static void test_seq_limits(void **state)
{
	static uint8_t buf[BUFSZ];

	for (int c = 0; c < 2; c++) {
		const struct suite *s = c ? &CBC256 : &GCM256;
		struct esp_sa *out = sa_new(s, 0xabc, 0, 0), *in;
		size_t len, off;
		uint8_t *pkt;

		/* RFC 4303 §3.3.3: never wrap the 32-bit counter. */
		atomic_store(&out->seq, UINT32_MAX - 1);
		pkt = encap(out, buf, 20, 0, 0, &len);
		assert_int_equal(get_be32(pkt + 4), UINT32_MAX);
		assert_int_equal(esp_encap(out, buf, 20, 4, &off, &len), ESP_DROP_SEQ_EXHAUSTED);
		esp_sa_free(out);

		/* ESN: the high half goes into the ICV, never onto the wire. */
		out = sa_new(s, 0xabc, 0, 1);
		in = sa_new(s, 0xabc, 1, 1);
		atomic_store(&out->seq, UINT32_MAX);
		replay_commit(&in->replay, 0xfffffff0ull);
		pkt = encap(out, buf, 20, 0, 0, &len);
		assert_int_equal(get_be32(pkt + 4), 0);
		assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_OK);
		assert_true(in->replay.top == 0x100000000ull);
		esp_sa_free(in);
		/* A receiver that infers the wrong high half fails the ICV. */
		in = sa_new(s, 0xabc, 1, 1);
		replay_commit(&in->replay, 0x200000005ull); /* infers 0x2_00000000 */
		assert_int_equal(decap_copy(in, pkt, len, NULL, NULL, NULL), ESP_DROP_ICV);
		esp_sa_free(in);
		esp_sa_free(out);
	}
}

/* ---- SA parameters ---- */

static void test_sa_new_refuses(void **state)
{
	struct esp_sa_params p = {.spi = 0x1000,
	                          .cipher = CFG_ESP_GCM_256,
	                          .auth = CFG_ESP_AUTH_NONE,
	                          .enc_key = ek,
	                          .enc_key_len = 36};
	struct esp_sa *sa;
	size_t e, a;

	sa = esp_sa_new(&p, 1);
	assert_non_null(sa);
	assert_int_equal(sa->iv_len, 8);
	assert_int_equal(sa->icv_len, 16);
	assert_int_equal(sa->replay.window, 64);
	esp_sa_free(sa);
	esp_sa_free(NULL);
	assert_null(esp_sa_new(NULL, 1));
	p.spi = 0; /* never valid; 1-255 are reserved but allowed for manual keys */
	assert_null(esp_sa_new(&p, 0));
	assert_null(esp_sa_new(&p, 1));
	p.spi = 0x1000;
	p.enc_key_len = 32; /* salt missing */
	assert_null(esp_sa_new(&p, 1));
	p.enc_key_len = 36;
	p.enc_key = NULL;
	assert_null(esp_sa_new(&p, 1));
	p.enc_key = ek;
	p.auth = CFG_ESP_SHA256; /* GCM carries its own ICV */
	p.auth_key = ak;
	p.auth_key_len = 32;
	assert_null(esp_sa_new(&p, 1));
	p.cipher = CFG_ESP_AES_256;
	p.enc_key_len = 32;
	sa = esp_sa_new(&p, 1);
	assert_non_null(sa);
	assert_int_equal(sa->iv_len, 16);
	assert_int_equal(sa->icv_len, 16);
	esp_sa_free(sa);
	p.auth_key_len = 16;
	assert_null(esp_sa_new(&p, 1));
	p.auth_key_len = 32;
	p.auth_key = NULL;
	assert_null(esp_sa_new(&p, 1));
	p.auth_key = ak;
	p.auth = CFG_ESP_AUTH_NONE; /* CBC without integrity is not offered */
	p.auth_key_len = 0;
	assert_null(esp_sa_new(&p, 1));
	p.cipher = 0;
	assert_null(esp_sa_new(&p, 1));

	assert_int_equal(esp_key_lengths(CFG_ESP_GCM_128, CFG_ESP_AUTH_NONE, &e, &a), 0);
	assert_true(e == 20 && a == 0);
	assert_int_equal(esp_key_lengths(CFG_ESP_AES_128, CFG_ESP_SHA512, &e, &a), 0);
	assert_true(e == 16 && a == 64);
	assert_int_equal(esp_key_lengths(CFG_ESP_AES_128, CFG_ESP_SHA384, NULL, NULL), 0);
	assert_int_equal(esp_key_lengths(CFG_ESP_AES_128, 9, &e, &a), -1);
}

static void test_drop_names(void **state)
{
	for (int i = 0; i < ESP_DROP_MAX; i++) {
		const char *n = esp_drop_name((enum esp_drop)i);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, esp_drop_name((enum esp_drop)j));
	}
	assert_string_equal(esp_drop_name(ESP_DROP_ICV), "icv-failure");
	assert_string_equal(esp_drop_name(ESP_DROP_MAX), "unknown");
	assert_string_equal(esp_drop_name((enum esp_drop) - 1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gcm_wire_format),
	    cmocka_unit_test(test_cbc_wire_format),
	    cmocka_unit_test(test_all_suites_roundtrip),
	    cmocka_unit_test(test_spi_ff),
	    cmocka_unit_test(test_bit_flip),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_short_packets),
	    cmocka_unit_test(test_oversize_and_misuse),
	    cmocka_unit_test(test_trailer_and_inner),
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_seq_limits),
	    cmocka_unit_test(test_sa_new_refuses),
	    cmocka_unit_test(test_drop_names),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
