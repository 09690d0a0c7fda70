/* Stateless cookies (RFC 7296 §2.6): Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>).
 * The secret rotates every COOKIE_ROTATE_MS; cookies made with the previous
 * secret stay valid for one more period. */
#ifndef INSYNC_COOKIE_H
#define INSYNC_COOKIE_H
#include <stddef.h>
#include <stdint.h>

#define COOKIE_LEN (4 + 16)
#define COOKIE_ROTATE_MS 60000

struct cookie_gen {
	uint32_t ver;
	uint8_t secret[2][32]; /* [ver & 1] */
	uint64_t rotated_ms;
	int init;
};
int cookie_make(struct cookie_gen *g, uint64_t now_ms, const uint8_t *ni, size_t nil,
		uint32_t ip_be, uint64_t spi_i, uint8_t out[COOKIE_LEN]);
/* 0 if the cookie is one we made recently for these values. */
int cookie_check(struct cookie_gen *g, uint64_t now_ms, const uint8_t *ni, size_t nil,
		 uint32_t ip_be, uint64_t spi_i, const uint8_t *c, size_t clen);
void cookie_wipe(struct cookie_gen *g);
#endif
