/* COOKIE generation and verification with a rotating secret. */
#include "ike/cookie.h"
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include "crypto/prf.h"
#include "util/buf.h"

static int cookie_rotate(struct cookie_gen *g, uint64_t now_ms)
{
	if (!g->init) {
		if (RAND_bytes(g->secret[0], 32) != 1 || RAND_bytes(g->secret[1], 32) != 1)
			return -1;
		g->init = 1;
		g->rotated_ms = now_ms;
	}
	if (now_ms - g->rotated_ms >= COOKIE_ROTATE_MS) {
		g->ver++;
		if (RAND_bytes(g->secret[g->ver & 1], 32) != 1)
			return -1;
		g->rotated_ms = now_ms;
	}
	return 0;
}

static int cookie_hash(const struct cookie_gen *g, uint32_t ver, const uint8_t *ni, size_t nil,
		       uint32_t ip_be, uint64_t spi_i, uint8_t out[COOKIE_LEN])
{
	uint8_t spi[8], h[PRF_MAX_LEN];
	put_be32(spi, (uint32_t)(spi_i >> 32));
	put_be32(spi + 4, (uint32_t)spi_i);
	struct prf_iov v[3] = {{ni, nil}, {&ip_be, 4}, {spi, 8}};
	if (prf_v(PRF_HMAC_SHA2_256, g->secret[ver & 1], 32, v, 3, h))
		return -1;
	put_be32(out, ver);
	memcpy(out + 4, h, COOKIE_LEN - 4);
	return 0;
}

int cookie_make(struct cookie_gen *g, uint64_t now_ms, const uint8_t *ni, size_t nil,
		uint32_t ip_be, uint64_t spi_i, uint8_t out[COOKIE_LEN])
{
	if (cookie_rotate(g, now_ms))
		return -1;
	return cookie_hash(g, g->ver, ni, nil, ip_be, spi_i, out);
}

int cookie_check(struct cookie_gen *g, uint64_t now_ms, const uint8_t *ni, size_t nil,
		 uint32_t ip_be, uint64_t spi_i, const uint8_t *c, size_t clen)
{
	uint8_t want[COOKIE_LEN];
	uint32_t ver;

	if (clen != COOKIE_LEN || cookie_rotate(g, now_ms))
		return -1;
	ver = get_be32(c);
	if (ver != g->ver && ver + 1 != g->ver)
		return -1;
	if (cookie_hash(g, ver, ni, nil, ip_be, spi_i, want))
		return -1;
	return CRYPTO_memcmp(want, c, COOKIE_LEN) ? -1 : 0;
}

void cookie_wipe(struct cookie_gen *g)
{
	OPENSSL_cleanse(g, sizeof(*g));
}
